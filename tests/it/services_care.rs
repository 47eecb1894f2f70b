//! Care visits (关爱走访), on both engines: the building officer's due list (own buildings only,
//! earliest due first, the demo's overdue person escalated), a visit that moves the next due day
//! and is placed against the building, an absent call that does not, a tag given in the registry
//! that shows at once, the district's schedule that moves due days, who is refused, and the pages.

use reqwest::StatusCode;
use serde_json::{Value, json};

use gongzhi::services::care::rules;

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};

const BUILDING: &str = "411602001001001001";
const OUTSIDE_COMMUNITY: &str = "411602001002";

async fn due(app: &App, token: &str, query: &str) -> Value {
    let (st, v) = app.get(&format!("/api/v1/care/due{query}"), token).await;
    assert_eq!(st, StatusCode::OK, "[{}] due{query}: {v}", app.engine);
    v
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().unwrap().clone()
}

async fn audited(app: &App, action: &str, target: &str) -> i64 {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM audit_log WHERE action = $1 AND target_kind = 'resident' AND target_id = $2"
    )
    .bind(action)
    .bind(target)
    .fetch_one(p)
    .await)
    .unwrap()
}

#[tokio::test]
async fn due_list_visits_and_schedules() {
    for app in apps().await {
        let e = app.engine;
        let (admin, building, compound, department) = (
            app.token("admin").await,
            app.token("building").await,
            app.token("compound").await,
            app.token("department").await,
        );

        // The officer's list: building 1 only, earliest due first, the demo's overdue person on top.
        let list = due(&app, &building, "").await;
        let its = items(&list);
        assert!(!its.is_empty(), "[{e}] building 1 has someone due");
        assert_eq!(list["total"].as_i64().unwrap() as usize, its.len());
        assert!(its.iter().all(|i| i["grid"] == BUILDING), "[{e}] only the officer's building");
        let dues: Vec<&str> = its.iter().map(|i| i["due_at"].as_str().unwrap()).collect();
        assert!(dues.windows(2).all(|w| w[0] <= w[1]), "[{e}] earliest due first: {dues:?}");
        // The demo left building 1's first care-tagged person 13 days overdue.
        let first = its
            .iter()
            .find(|i| i["overdue"].as_i64().unwrap() >= 10)
            .unwrap_or_else(|| panic!("[{e}] the demo's overdue person: {its:?}"))
            .clone();
        assert_ne!(first["escalation"], "none", "[{e}] late beyond the grace: {first}");
        let rid = first["resident"].as_str().unwrap().to_string();
        // The compound's leader sees it among the escalated; the district can ask for one building.
        let esc = due(&app, &compound, "?escalated=compound").await;
        assert!(items(&esc).iter().any(|i| i["resident"] == rid.as_str()));
        assert!(items(&esc).iter().all(|i| i["escalation"] != "none"));
        let one = due(&app, &admin, &format!("?grid={BUILDING}")).await;
        assert_eq!(one["total"], list["total"]);
        // Outside the officer's grids: hidden; a department cannot read the list at all.
        let (st, v) = app.get(&format!("/api/v1/care/due?grid={OUTSIDE_COMMUNITY}"), &building).await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "[{e}]");
        let (st, _) = app.get("/api/v1/care/due", &department).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
        let (st, v) = app.get("/api/v1/care/due?within=99", &building).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_within"), "[{e}]");

        // A visit at the building's centre: in the building, next due a week on, off today's list.
        let (_, g) = app.get(&format!("/api/v1/grids/{BUILDING}"), &admin).await;
        let (lat, lng) = (g["center"]["lat"].as_f64().unwrap(), g["center"]["lng"].as_f64().unwrap());
        let visits_before = app.count("care_visits").await;
        let (st, v) = app
            .post(
                "/api/v1/care/visits",
                &building,
                json!({"resident": rid, "note": "身体良好，已提醒按时服药", "lat": lat, "lng": lng}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        assert_eq!(v["located"], "in_building");
        assert_eq!(v["condition"], "good");
        // Next due one period of the person's tag on (as the district's schedule says).
        let today = rules::day_of_ms(gongzhi::db::now_ms());
        let tag = first["tag"].as_str().unwrap().to_string();
        let (_, all) = app.get("/api/v1/care/schedules", &building).await;
        let sched = all.as_array().unwrap().iter().find(|s| s["tag"] == tag.as_str()).unwrap().clone();
        let every = rules::Every::parse(sched["unit"].as_str().unwrap(), sched["count"].as_i64().unwrap()).unwrap();
        let next = rules::next_due(today, every);
        assert!(v["next_due_at"].as_str().unwrap().starts_with(&next.to_string()), "[{e}] {v}");
        assert_eq!(app.count("care_visits").await, visits_before + 1);
        assert_eq!(audited(&app, "care.visit", &rid).await, 1, "[{e}] the visit is audited");
        let after = due(&app, &building, "").await;
        assert!(
            !items(&after).iter().any(|i| i["resident"] == rid.as_str()),
            "[{e}] visited: off the list"
        );
        assert_eq!(after["total"].as_i64().unwrap(), list["total"].as_i64().unwrap() - 1);
        let ahead = due(&app, &building, &format!("?within={}", (next - today).get_days())).await;
        let entry = items(&ahead)
            .into_iter()
            .find(|i| i["resident"] == rid.as_str())
            .expect("due again in one period");
        assert_eq!(entry["overdue"], 0);
        assert_eq!(entry["escalation"], "none");

        // Far from the building: recorded, marked outside; no position: unknown; absent: the due
        // day stays.
        let (st, v) = app
            .post(
                "/api/v1/care/visits",
                &building,
                json!({"resident": rid, "note": "在社区卫生服务站遇到老人", "lat": lat + 0.05, "lng": lng}),
            )
            .await;
        assert_eq!((st, v["located"].as_str()), (StatusCode::CREATED, Some("outside")), "[{e}] {v}");
        let (st, v) = app
            .post(
                "/api/v1/care/visits",
                &building,
                json!({"resident": rid, "note": "敲门无人应答", "condition": "absent"}),
            )
            .await;
        assert_eq!((st, v["located"].as_str()), (StatusCode::CREATED, Some("unknown")), "[{e}] {v}");
        assert!(v["next_due_at"].is_null(), "[{e}] an absent call sets no due day");

        // Refused: bad input, a person without a care tag, outside the officer's buildings, a role
        // that does not visit. Nothing is written.
        let before = app.count("care_visits").await;
        for (body, want) in [
            (json!({"resident": rid, "note": ""}), "invalid_note"),
            (json!({"resident": rid, "note": "x", "condition": "happy"}), "invalid_condition"),
            (json!({"resident": rid, "note": "x", "lat": 33.6}), "invalid_location"),
            (json!({"resident": rid, "note": "x", "lat": 91.0, "lng": 114.6}), "invalid_location"),
            (json!({"resident": rid, "note": "x".repeat(1001)}), "invalid_note"),
        ] {
            let (st, v) = app.post("/api/v1/care/visits", &building, body).await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{e}] {v}");
        }
        let (_, people) = app.get(&format!("/api/v1/residents?grid={BUILDING}&per_page=100"), &admin).await;
        let untagged = items(&people)
            .into_iter()
            .find(|r| {
                r["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|t| !gongzhi::services::care::rules::CARE_TAGS.contains(&t.as_str().unwrap()))
            })
            .expect("someone without a care tag");
        let uid = untagged["id"].as_str().unwrap().to_string();
        let (st, v) = app
            .post("/api/v1/care/visits", &building, json!({"resident": uid, "note": "x"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "not_cared"), "[{e}]");
        let (_, far) = app
            .get(
                &format!("/api/v1/residents?grid={OUTSIDE_COMMUNITY}&tag=独居老人&per_page=1"),
                &admin,
            )
            .await;
        let far_id = far["items"][0]["id"]
            .as_str()
            .expect("an elderly person living alone in 金桂社区")
            .to_string();
        let (st, v) = app
            .post("/api/v1/care/visits", &building, json!({"resident": far_id, "note": "x"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "[{e}]");
        let (st, v) = app
            .post("/api/v1/care/visits", &department, json!({"resident": rid, "note": "x"}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "[{e}]");
        assert_eq!(app.count("care_visits").await, before, "[{e}] refused visits write nothing");

        // A tag given in the registry shows at once: due today, not overdue.
        let mut tags: Vec<Value> = untagged["tags"].as_array().unwrap().clone();
        tags.push(json!("残疾人"));
        let (st, v) = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/residents/{uid}/tags"),
                Some(&admin),
                Some(json!({"tags": tags})),
            )
            .await;
        assert!(st.is_success(), "[{e}] {v}");
        let now_due = due(&app, &building, "").await;
        let fresh = items(&now_due)
            .into_iter()
            .find(|i| i["resident"] == uid.as_str())
            .expect("newly tagged");
        assert_eq!((fresh["tag"].as_str(), fresh["overdue"].as_i64()), (Some("残疾人"), Some(0)));
        assert!(fresh["last_visit_at"].is_null());

        // The district's schedule: only the district sets it, bounded; a change moves due days.
        let (st, _) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/care/schedules",
                Some(&building),
                Some(json!({"tag": "独居老人", "unit": "week", "count": 2, "grace_days": 2})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}]");
        for (body, want) in [
            (
                json!({"tag": "独居老人", "unit": "month", "count": 13, "grace_days": 2}),
                "invalid_schedule",
            ),
            (json!({"tag": "党员", "unit": "week", "count": 1, "grace_days": 2}), "unknown_tag"),
            (
                json!({"tag": "独居老人", "unit": "week", "count": 1, "grace_days": 61}),
                "invalid_grace",
            ),
        ] {
            let (st, v) = app
                .call(reqwest::Method::PUT, "/api/v1/care/schedules", Some(&admin), Some(body))
                .await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{e}] {v}");
        }
        let (st, v) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/care/schedules",
                Some(&admin),
                Some(json!({"tag": tag, "unit": "week", "count": 2, "grace_days": 3})),
            )
            .await;
        assert_eq!((st, v["label"].as_str()), (StatusCode::OK, Some("每2周")), "[{e}] {v}");
        let (_, all) = app.get("/api/v1/care/schedules", &building).await;
        let alone = all.as_array().unwrap().iter().find(|s| s["tag"] == tag.as_str()).unwrap().clone();
        assert_eq!((alone["count"].as_i64(), alone["grace_days"].as_i64()), (Some(2), Some(3)));
        let fortnight = due(&app, &building, "?within=14").await;
        let entry = items(&fortnight)
            .into_iter()
            .find(|i| i["resident"] == rid.as_str())
            .expect("due in two weeks");
        let two = rules::next_due(today, rules::Every::Weeks(2));
        assert!(entry["due_at"].as_str().unwrap().starts_with(&two.to_string()), "[{e}] {entry}");
        let (st, v) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/care/schedules",
                Some(&admin),
                Some(json!({"tag": "残疾人", "unit": "month", "count": 1, "grace_days": 5, "active": false})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "[{e}] {v}");
        let off = due(&app, &building, "").await;
        assert!(
            !items(&off).iter().any(|i| i["tag"] == "残疾人"),
            "[{e}] a paused tag is on no list"
        );
    }
}

#[tokio::test]
async fn pages_list_visit_and_settings() {
    for app in apps().await {
        let e = app.engine;
        let cookie = sign_in(&app, "building").await;
        let (st, html) = page(&app, &cookie, "/console/services/care").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("今日走访") && html.contains("逾期"), "[{e}]");
        let at = html.find("/console/services/care/visit/").expect("a visit link") + "/console/services/care/visit/".len();
        let rid = html[at..at + 36].to_string();
        let (st, form) = page(&app, &cookie, &format!("/console/services/care/visit/{rid}")).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(form.contains("走访情况") && form.contains("data-locate"), "[{e}]");
        let csrf = csrf_of(&form);
        // An empty note comes back to the form with the reason.
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/services/care/visits",
            &[("csrf", &csrf), ("resident", &rid), ("condition", "good"), ("note", " ")],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert!(loc.unwrap().contains("err="), "[{e}]");
        let (st, _, loc) = post(
            &app,
            &cookie,
            "/console/services/care/visits",
            &[
                ("csrf", &csrf),
                ("resident", &rid),
                ("condition", "poor"),
                ("note", "老人腿疼"),
                ("needs", "需要上门送药"),
                ("lat", ""),
                ("lng", ""),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        let to = loc.expect("to the done screen");
        assert!(to.starts_with("/console/services/care/visits/"), "[{e}] {to}");
        let (st, done) = page(&app, &cookie, &to).await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(
            done.contains("走访已记录") && done.contains("需要上门送药") && done.contains("未定位"),
            "[{e}]"
        );
        assert!(
            done.contains("action=\"/console/services/needs\"") && done.contains("name=\"source\" value=\"visit\""),
            "[{e}]"
        );
        // One tap to a case: private, in the building.
        let vid = to
            .trim_start_matches("/console/services/care/visits/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let (st, _, loc) = post(
            &app,
            &cookie,
            &format!("/console/services/care/visits/{vid}/case"),
            &[
                ("csrf", &csrf),
                ("category", "SQ01"),
                ("description", "关爱走访发现：楼道杂物堵塞通道"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        assert!(loc.unwrap().contains("msg="), "[{e}]");
        // Another officer's resident's visit is not shown; the settings are read-only here.
        let outsider = sign_in(&app, "department").await;
        let (st, _) = page(&app, &outsider, &to).await;
        assert!(st == StatusCode::NOT_FOUND || st == StatusCode::FORBIDDEN, "[{e}] {st}");
        let (st, settings) = page(&app, &cookie, "/console/services/care/schedules").await;
        assert_eq!(st, StatusCode::OK);
        assert!(settings.contains("独居老人") && !settings.contains("name=\"grace_days\""), "[{e}]");

        // The district changes a schedule from the page; the community sees its escalation list.
        let admin = sign_in(&app, "admin").await;
        let (_, settings) = page(&app, &admin, "/console/services/care/schedules").await;
        let csrf = csrf_of(&settings);
        let (st, _, loc) = post(
            &app,
            &admin,
            "/console/services/care/schedules",
            &[
                ("csrf", &csrf),
                ("tag", "低保"),
                ("unit", "month"),
                ("count", "２"),
                ("grace_days", "10"),
                ("active", "1"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert!(loc.unwrap().contains("msg="), "[{e}] full-width digits are read");
        let (_, settings) = page(&app, &admin, "/console/services/care/schedules").await;
        assert!(settings.contains("每2个月"), "[{e}]");
        let community = sign_in(&app, "community").await;
        let (st, html) = page(&app, &community, "/console/services/care/escalations").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(html.contains("上报社区"), "[{e}]");
    }
}
