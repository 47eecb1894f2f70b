//! Campaigns (专项整治行动): a drive from launch to clearance on both engines — who may launch
//! and read, the spot's phases through the API (no clearance without an after photo, the
//! re-inspection day, an escalation that becomes a case in the same transaction, a recurrence
//! that reopens), the figures against a recount from the rows, and the demo's 小菜园 drive as
//! seed 001 reports it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code};

fn tiny_png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(b"a spot after clearance");
    v
}

async fn user_id(app: &App, username: &str) -> String {
    let id: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(p)
        .await)
    .unwrap();
    id.to_string()
}

async fn upload(app: &App, token: &str, campaign: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let r = app
        .client
        .post(format!("{}/api/v1/campaigns/{campaign}/photos", app.base))
        .bearer_auth(token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap_or(Value::Null))
}

fn day(offset: i64) -> String {
    gongzhi::time::day_ms(gongzhi::db::now_ms() + offset * 86_400_000)
}

#[tokio::test]
async fn a_drive_from_survey_to_clearance() {
    for app in apps().await {
        let (street, community, building) = (app.token("street").await, app.token("community").await, app.token("building").await);
        let launch = json!({"title": "阳光社区楼道堆物清理", "kind": "corridor_clutter", "grid": "411602001001",
            "starts_on": day(-1), "deadline": day(10), "partners": "消防救援大队"});
        // A community does not launch; bad kinds and dates are refused in Chinese.
        let (st, v) = app.post("/api/v1/campaigns", &community, launch.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        for (patch, want) in [
            (json!({"kind": "parking"}), "invalid_kind"),
            (json!({"deadline": day(-5)}), "invalid_deadline"),
            (json!({"starts_on": "明天"}), "invalid_starts_on"),
            (json!({"reinspect_days": 0}), "invalid_reinspect_days"),
        ] {
            let mut body = launch.clone();
            for (k, x) in patch.as_object().unwrap() {
                body[k] = x.clone();
            }
            let (st, v) = app.post("/api/v1/campaigns", &street, body).await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{}] {v}", app.engine);
        }
        let (st, c) = app.post("/api/v1/campaigns", &street, launch).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {c}", app.engine);
        let id = c["id"].as_str().unwrap().to_string();
        assert_eq!(c["unit"], "处");

        // A team led by the street's cadre, the building officer in it, assigned the first compound.
        let team = json!({"name": "第一工作队", "leader": user_id(&app, "street").await,
            "members": [user_id(&app, "building").await], "grids": ["411602001001001"]});
        let (st, v) = app.post(&format!("/api/v1/campaigns/{id}/teams"), &building, team.clone()).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "only those who manage the drive's node form teams: {v}");
        let (st, v) = app.post(&format!("/api/v1/campaigns/{id}/teams"), &street, team.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (st, v) = app.post(&format!("/api/v1/campaigns/{id}/teams"), &street, team).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "duplicate_team"));

        // The officer registers two spots; a measure out of bounds or a place outside is refused.
        let spot = |place: &str, measure: f64| json!({"place": place, "measure": measure, "grid": "411602001001001001", "party": "王建国"});
        let (st, v) = app
            .post(&format!("/api/v1/campaigns/{id}/spots"), &building, spot("一楼楼道", -1.0))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_measure"));
        let mut far = spot("别的社区", 1.0);
        far["grid"] = json!("411602001002");
        let (st, v) = app.post(&format!("/api/v1/campaigns/{id}/spots"), &building, far).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "outside_campaign"), "{v}");
        let (st, a) = app
            .post(&format!("/api/v1/campaigns/{id}/spots"), &building, spot("一楼楼道", 3.0))
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {a}", app.engine);
        assert_eq!(
            (a["phase"].as_str(), a["party"].as_str()),
            (Some("surveyed"), Some("王**")),
            "masked"
        );
        let (_, b) = app
            .post(&format!("/api/v1/campaigns/{id}/spots"), &building, spot("消防通道", 2.0))
            .await;
        let (sa, sb) = (a["id"].as_str().unwrap().to_string(), b["id"].as_str().unwrap().to_string());
        let act = |spot: &str, body: Value| {
            let path = format!("/api/v1/campaigns/{id}/spots/{spot}/actions");
            let token = building.clone();
            let app = &app;
            async move { app.post(&path, &token, body).await }
        };

        // Persuasion: a refusal by two members.
        let (st, v) = act(&sa, json!({"action": "visit", "outcome": "refused", "people": 2})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["phase"].as_str(), v["visits"].as_i64(), v["refusals"].as_i64()),
            (Some("persuading"), Some(2), Some(1))
        );
        let (st, v) = act(&sa, json!({"action": "visit", "outcome": "agreed", "people": 51})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_people"));
        // No clearance without an after photo; a photo never uploaded is refused too.
        let actions_before = app.count("campaign_actions").await;
        let (st, v) = act(&sa, json!({"action": "self_cleared"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "after_photo_required"));
        let (st, v) = act(&sa, json!({"action": "cleared", "people": 3, "photo": "ab".repeat(32)})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_photo"));
        assert_eq!(
            app.count("campaign_actions").await,
            actions_before,
            "[{}] nothing half-written",
            app.engine
        );
        let (st, v) = upload(&app, &building, &id, b"not an image".to_vec()).await;
        assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
        let (st, v) = upload(&app, &building, &id, tiny_png()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let photo = v["photo"].as_str().unwrap().to_string();
        let (st, v) = act(&sa, json!({"action": "cleared", "people": 3, "photo": photo})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["phase"].as_str(), v["has_after_photo"].as_bool(), v["self_cleared"].as_bool()),
            (Some("cleared"), Some(true), Some(false))
        );
        // Only a re-inspection now, and not before its day.
        let (st, v) = act(&sa, json!({"action": "notice"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_action"));
        let (st, v) = act(&sa, json!({"action": "reinspect", "outcome": "held"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "reinspect_not_due"));
        // A recurrence (found by a re-inspection due now) reopens the spot.
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query("UPDATE campaign_spots SET reinspect_at = 0 WHERE id = $1")
            .bind(uuid::Uuid::parse_str(&sa).unwrap())
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = act(&sa, json!({"action": "reinspect", "outcome": "recurred"})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["phase"].as_str(), v["recurrences"].as_i64(), v["has_after_photo"].as_bool()),
            (Some("persuading"), Some(1), Some(false))
        );
        let (_, v) = act(&sa, json!({"action": "self_cleared", "photo": photo})).await;
        assert_eq!(
            (v["phase"].as_str(), v["self_cleared"].as_bool()),
            (Some("cleared"), Some(true)),
            "{v}"
        );

        // Escalation: a case for a department, in the spot's transaction.
        let cases = app.count("cases").await;
        let (st, v) = act(&sb, json!({"action": "escalate"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "category_required"));
        let (st, v) = act(&sb, json!({"action": "escalate", "category": "NOPE"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"));
        assert_eq!(app.count("cases").await, cases);
        let (st, v) = act(&sb, json!({"action": "escalate", "category": "SQ07", "note": "堆放大量纸箱"})).await;
        assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        assert_eq!(v["phase"], "escalated");
        let case = v["case"].as_str().unwrap().to_string();
        let (st, c) = app.get(&format!("/api/v1/cases/{case}"), &community).await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(
            (c["category"]["code"].as_str(), c["grid"]["code"].as_str()),
            (Some("SQ07"), Some("411602001001001001"))
        );
        assert!(c["description"].as_str().unwrap().contains("阳光社区楼道堆物清理"), "{c}");
        assert_eq!(app.count("cases").await, cases + 1);

        // The figures: the API's equal a recount from the rows.
        let (st, d) = app.get(&format!("/api/v1/campaigns/{id}"), &community).await;
        assert_eq!(st, StatusCode::OK, "{d}");
        let f = &d["figures"];
        assert_eq!(
            (
                f["spots"].as_i64(),
                f["cleared"].as_i64(),
                f["self_cleared"].as_i64(),
                f["remaining"].as_i64(),
                f["escalated"].as_i64()
            ),
            (Some(2), Some(1), Some(1), Some(1), Some(1)),
            "{d}"
        );
        assert_eq!(
            (f["visits"].as_i64(), f["refusals"].as_i64(), f["measure_restored"].as_f64()),
            (Some(2), Some(1), Some(3.0))
        );
        assert_eq!(d["teams"][0]["figures"]["spots"], 2);
        assert_eq!(d["communities"][0]["grid"], "411602001001");
        assert!(!d["progress"].as_array().unwrap().is_empty());
        let (_, listed) = app.get(&format!("/api/v1/campaigns/{id}/spots?phase=escalated"), &building).await;
        assert_eq!(listed["total"], 1);

        // Who reads: a resident no drive; the community not 金桂's 空中飞线 drive.
        let resident = app.token("resident").await;
        let (st, _) = app.get(&format!("/api/v1/campaigns/{id}"), &resident).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let wires: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT id FROM campaigns WHERE kind = 'flying_wires'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        let (st, _) = app.get(&format!("/api/v1/campaigns/{wires}"), &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (_, list) = app.get("/api/v1/campaigns", &community).await;
        let titles: Vec<&str> = list.as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
        assert!(
            titles.contains(&"阳光社区楼道堆物清理") && titles.iter().all(|t| !t.contains("空中飞线")),
            "{titles:?}"
        );
    }
}

/// The demo's 小菜园 drive as seed 001 reports it: 18 gardens cleared, 82 person-visits, about
/// 500 m²; and every demo drive's figures equal a recount in SQL.
#[tokio::test]
async fn the_demo_drives_add_up() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let (_, list) = app.get("/api/v1/campaigns", &admin).await;
        assert_eq!(list.as_array().unwrap().len(), 4, "[{}] {list}", app.engine);
        for c in list.as_array().unwrap() {
            let id = c["id"].as_str().unwrap();
            let (st, d) = app.get(&format!("/api/v1/campaigns/{id}"), &admin).await;
            assert_eq!(st, StatusCode::OK);
            let (spots, cleared, visits, measure): (i64, i64, i64, f64) = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
                "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN phase IN ('cleared', 'consolidated') THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(visits), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN phase IN ('cleared', 'consolidated') THEN measure ELSE 0 END), 0) AS DOUBLE PRECISION) \
                 FROM campaign_spots WHERE campaign_id = $1"
            )
            .bind(uuid::Uuid::parse_str(id).unwrap())
            .fetch_one(p)
            .await)
            .unwrap();
            let f = &d["figures"];
            assert_eq!(
                (f["spots"].as_i64(), f["cleared"].as_i64(), f["visits"].as_i64()),
                (Some(spots), Some(cleared), Some(visits)),
                "[{}] {}",
                app.engine,
                c["title"]
            );
            assert!((f["measure_restored"].as_f64().unwrap() - measure).abs() < 0.11);
            if c["kind"] == "civilised_city" {
                // The checklist's figures against a recount: each compound's latest inspection.
                let rows: Vec<(String, i64, uuid::Uuid, i64, Option<uuid::Uuid>)> = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
                    "SELECT grid_code, at_ms, id, failed, recheck_of FROM campaign_inspections WHERE campaign_id = $1"
                )
                .bind(uuid::Uuid::parse_str(id).unwrap())
                .fetch_all(p)
                .await)
                .unwrap();
                let mut latest: std::collections::BTreeMap<&str, (i64, uuid::Uuid, i64)> = Default::default();
                for (g, at, i, failed, _) in &rows {
                    let e = latest.entry(g.as_str()).or_insert((*at, *i, *failed));
                    if (*at, *i) > (e.0, e.1) {
                        *e = (*at, *i, *failed);
                    }
                }
                let cf = &d["checklist_figures"];
                let passing = latest.values().filter(|v| v.2 == 0).count() as i64;
                assert_eq!(d["checklist"].as_array().unwrap().len(), 8);
                assert_eq!(
                    (cf["places"].as_i64(), cf["passing"].as_i64(), cf["inspections"].as_i64()),
                    (Some(latest.len() as i64), Some(passing), Some(rows.len() as i64)),
                    "[{}] {cf}",
                    app.engine
                );
                assert_eq!(cf["rechecks"].as_i64(), Some(rows.iter().filter(|r| r.4.is_some()).count() as i64));
                assert!(
                    latest.len() >= 2 && passing > 0 && passing < latest.len() as i64,
                    "[{}] {cf}",
                    app.engine
                );
                let failing_sum: i64 = d["checklist"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["failing_places"].as_i64().unwrap())
                    .sum();
                let failing_items: i64 = latest.values().map(|v| v.2).sum();
                assert_eq!(failing_sum, failing_items, "[{}] per item against per place", app.engine);
            }
            if c["kind"] == "vegetable_plots" {
                assert_eq!((cleared, visits), (18, 82), "[{}] seed 001's figures", app.engine);
                assert!((450.0..=550.0).contains(&measure), "[{}] about 500 m²: {measure}", app.engine);
                assert!(d["teams"].as_array().unwrap().len() >= 2);
            }
        }
    }
}

#[tokio::test]
async fn a_checklist_from_inspection_to_recheck() {
    for app in apps().await {
        let (street, community, building) = (app.token("street").await, app.token("community").await, app.token("building").await);
        let mut launch = json!({"title": "阳光社区创文测评", "kind": "civilised_city", "grid": "411602001001",
            "starts_on": day(-1), "deadline": day(10), "checklist": ["楼道无堆物", "", "无乱贴乱画", "消防通道畅通"]});
        let mut twice = launch.clone();
        twice["checklist"] = json!(["楼道无堆物", " 楼道无堆物 "]);
        let (st, v) = app.post("/api/v1/campaigns", &street, twice).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_checklist"),
            "[{}] {v}",
            app.engine
        );
        let (st, c) = app.post("/api/v1/campaigns", &street, launch.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {c}", app.engine);
        let id = c["id"].as_str().unwrap().to_string();
        let (_, d) = app.get(&format!("/api/v1/campaigns/{id}"), &street).await;
        let items: Vec<String> = d["checklist"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(items.len(), 3, "a blank line is no item: {}", d["checklist"]);
        assert_eq!(d["checklist"][1]["text"], "无乱贴乱画");

        let path = format!("/api/v1/campaigns/{id}/inspections");
        let marks = |fail: &[usize], photo: Option<&str>| -> Value {
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let passed = !fail.contains(&i);
                    json!({"item": item, "passed": passed, "photo": if passed { None } else { photo }, "note": if passed { "" } else { "楼道堆放纸箱" }})
                })
                .collect()
        };
        let count = || async {
            gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM campaign_inspections WHERE campaign_id = $1"
            )
            .bind(uuid::Uuid::parse_str(&id).unwrap())
            .fetch_one(p)
            .await)
            .unwrap()
        };
        // Refused: the building's officer does not score the compound; a missing mark; a failure
        // without its photo; a photo never uploaded. None leaves a row.
        let body = |m: Value| json!({"grid": "411602001001001", "marks": m});
        let (st, v) = app.post(&path, &building, body(marks(&[], None))).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{}] {v}", app.engine);
        let mut short = marks(&[], None);
        short.as_array_mut().unwrap().pop();
        let (st, v) = app.post(&path, &community, body(short)).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "mark_missing"),
            "[{}] {v}",
            app.engine
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains("消防通道畅通"),
            "names the item: {v}"
        );
        let (st, v) = app.post(&path, &community, body(marks(&[1], None))).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "photo_required"),
            "[{}] {v}",
            app.engine
        );
        let never = "ab".repeat(32);
        let (st, v) = app.post(&path, &community, body(marks(&[1], Some(&never)))).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unknown_photo"),
            "[{}] {v}",
            app.engine
        );
        assert_eq!(count().await, 0, "[{}] nothing half-written", app.engine);

        // Scored: two items fail, each with its photo.
        let (st, kept) = upload(&app, &community, &id, tiny_png()).await;
        assert_eq!(st, StatusCode::CREATED, "{kept}");
        let sha = kept["photo"].as_str().unwrap().to_string();
        let (st, first) = app.post(&path, &community, body(marks(&[0, 2], Some(&sha)))).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {first}", app.engine);
        assert_eq!((first["passed"].as_i64(), first["failed"].as_i64()), (Some(1), Some(2)));
        let first_id = first["id"].as_str().unwrap().to_string();

        // The re-check scores exactly what failed: a mark for the passed item is refused.
        let recheck = |m: Value, of: &str| json!({"grid": "411602001001001", "recheck_of": of, "marks": m});
        let (st, v) = app.post(&path, &community, recheck(marks(&[2], Some(&sha)), &first_id)).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "unexpected_mark"),
            "[{}] {v}",
            app.engine
        );
        let only = |m: Value| {
            Value::Array(
                m.as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 1)
                    .map(|(_, x)| x.clone())
                    .collect(),
            )
        };
        let (st, second) = app.post(&path, &community, recheck(only(marks(&[2], Some(&sha))), &first_id)).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {second}", app.engine);
        assert_eq!((second["passed"].as_i64(), second["failed"].as_i64()), (Some(1), Some(1)));
        let second_id = second["id"].as_str().unwrap().to_string();
        // A re-check of an inspection that is no longer the latest is refused; so is a second
        // re-check of it racing the first.
        let (st, v) = app.post(&path, &community, recheck(only(marks(&[], None)), &first_id)).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "stale_recheck"), "[{}] {v}", app.engine);
        let last = json!([{"item": items[2], "passed": true}]);
        let (st, third) = app.post(&path, &community, recheck(last.clone(), &second_id)).await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {third}", app.engine);
        let (st, v) = app.post(&path, &community, recheck(last, third["id"].as_str().unwrap())).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "nothing_to_recheck"),
            "[{}] {v}",
            app.engine
        );
        assert_eq!(count().await, 3);

        // The figures: one place, passing now after two re-checks.
        let (_, d) = app.get(&format!("/api/v1/campaigns/{id}"), &street).await;
        let f = &d["checklist_figures"];
        assert_eq!(
            (
                f["places"].as_i64(),
                f["passing"].as_i64(),
                f["inspections"].as_i64(),
                f["rechecks"].as_i64(),
                f["item_pass_rate"].as_f64()
            ),
            (Some(1), Some(1), Some(3), Some(2), Some(100.0)),
            "[{}] {f}",
            app.engine
        );
        let (st, list) = app.get(&path, &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (list["total"].as_i64(), list["items"][0]["id"].as_str()),
            (Some(1), third["id"].as_str()),
            "the place's latest"
        );
        let (st, one) = app.get(&format!("{path}/{first_id}"), &street).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(one["marks"].as_array().unwrap().len(), 3);
        assert_eq!(
            (one["marks"][0]["passed"].as_bool(), one["marks"][0]["photo"].as_str()),
            (Some(false), Some(sha.as_str()))
        );

        // A drive without a checklist scores nothing.
        launch["checklist"] = json!([]);
        launch["title"] = json!("阳光社区楼道清理");
        let (_, plain) = app.post("/api/v1/campaigns", &street, launch).await;
        let (st, v) = app
            .post(
                &format!("/api/v1/campaigns/{}/inspections", plain["id"].as_str().unwrap()),
                &community,
                body(json!([])),
            )
            .await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "no_checklist"),
            "[{}] {v}",
            app.engine
        );
    }
}
