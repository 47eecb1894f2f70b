//! The case loop through the API: report (located, idempotent), the workflow with its roles,
//! refusals that change nothing, whistles, escalation, the board, deadline preview.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{App, apps, code, page, sign_in};

async fn unit_id(app: &App, token: &str, name: &str) -> String {
    let (_, v) = app.get(&format!("/api/v1/units?kind=department&q={name}"), token).await;
    v["items"][0]["id"].as_str().unwrap().to_string()
}

async fn act(app: &App, token: &str, id: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/api/v1/cases/{id}/actions"), token, body).await
}

async fn building_centre(app: &App, token: &str, code: &str) -> (f64, f64) {
    let (_, g) = app.get(&format!("/api/v1/grids/{code}"), token).await;
    (g["center"]["lat"].as_f64().unwrap(), g["center"]["lng"].as_f64().unwrap())
}

#[tokio::test]
async fn report_locates_and_is_idempotent() {
    for app in apps().await {
        let officer = app.token("building").await;
        let (lat, lng) = building_centre(&app, &officer, "411602001001001001").await;
        let before = app.count("cases").await;
        let body = json!({"category": "SQ03", "description": "3单元楼道内有电动车飞线充电", "lat": lat, "lng": lng});
        let send = |key: &'static str| {
            let (client, base, t, body) = (app.client.clone(), app.base.clone(), officer.clone(), body.clone());
            async move {
                client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(t)
                    .header("Idempotency-Key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = send("k-0001").await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let c: Value = r.json().await.unwrap();
        assert_eq!(c["status"], "reported");
        assert_eq!(
            c["grid"]["code"], "411602001001001001",
            "[{}] the point is in building 1",
            app.engine
        );
        assert_eq!(c["level"], 5);
        assert_eq!(c["source"], "officer");
        assert_eq!(c["category"]["name"], "飞线充电");
        assert_eq!(c["timeline"][0]["action"], "report");
        assert_eq!(c["tracking_code"].as_str().unwrap().len(), 10);
        // 24 clock hours for 飞线充电.
        let rep = c["reported_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        let due = c["due_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        assert_eq!(due.as_millisecond() - rep.as_millisecond(), 24 * 3_600_000);
        // Retried uploads, even concurrent ones, make no second case.
        let (r1, r2) = tokio::join!(send("k-0001"), send("k-0001"));
        for r in [r1, r2] {
            assert_eq!(r.status(), StatusCode::CREATED);
            assert_eq!(r.headers()["idempotent-replayed"], "true");
            assert_eq!(r.json::<Value>().await.unwrap()["id"], c["id"]);
        }
        assert_eq!(app.count("cases").await, before + 1, "[{}]", app.engine);
        // The same key with a different request is refused, not answered with the first case
        // (issue 11, item 7; before, the first case came back as if this one were filed).
        let r = app
            .client
            .post(format!("{}/api/v1/cases", app.base))
            .bearer_auth(&officer)
            .header("Idempotency-Key", "k-0001")
            .json(&json!({"category": "SQ07", "description": "楼道堆放杂物", "lat": lat, "lng": lng}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "[{}]", app.engine);
        assert_eq!(code(&r.json::<Value>().await.unwrap()), "idempotency_key_reused");
        assert_eq!(app.count("cases").await, before + 1);
        // Another person's key is not a way to read their case.
        let other = app.token("compound").await;
        let r = app
            .client
            .post(format!("{}/api/v1/cases", app.base))
            .bearer_auth(&other)
            .header("Idempotency-Key", "k-0001")
            .json(&body)
            .send()
            .await
            .unwrap();
        // Keys are scoped by who reports: the same key from someone else is their own new report.
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(r.headers().get("idempotent-replayed").is_none());
        assert_ne!(
            r.json::<Value>().await.unwrap()["id"],
            c["id"],
            "[{}] not the other person's case",
            app.engine
        );
        assert_eq!(app.count("cases").await, before + 2, "[{}]", app.engine);

        // Bad reports.
        let bad = [
            (
                json!({"category": "SQ", "description": "大类不能直接上报", "grid": "411602001001001001"}),
                "unknown_category",
            ),
            (
                json!({"category": "XX99", "description": "不存在", "grid": "411602001001001001"}),
                "unknown_category",
            ),
            (
                json!({"category": "SQ01", "description": "x", "grid": "411602001001001001"}),
                "invalid_description",
            ),
            (
                json!({"category": "SQ01", "description": "位置在区外", "lat": 39.9, "lng": 116.4}),
                "outside_district",
            ),
            (
                json!({"category": "SQ01", "description": "只有纬度", "lat": 33.6}),
                "invalid_location",
            ),
            (json!({"category": "SQ01", "description": "没有位置"}), "location_required"),
            (
                json!({"category": "SQ01", "description": "来源不对", "grid": "411602001001001001", "source": "rumour"}),
                "invalid_source",
            ),
        ];
        for (b, want) in bad {
            let (st, v) = app.post("/api/v1/cases", &officer, b).await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{}]", app.engine);
        }
        // Only the district imports past reports from devices and hotlines.
        let past = json!({"category": "SQ01", "description": "热线补录", "grid": "411602001001001001", "source": "hotline", "reported_at": "2026-01-05T09:00:00+08:00"});
        let (st, v) = app.post("/api/v1/cases", &officer, past.clone()).await;
        assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "source_not_allowed"));
        // A source names its channel: an officer cannot write a device alarm, a hotline ticket or
        // a council's opinion, even as of now (issue 11, item 9); nothing is written.
        let before = app.count("cases").await;
        for src in ["device", "hotline", "council", "open311"] {
            let b = json!({"category": "SQ01", "description": "冒充来源", "grid": "411602001001001001", "source": src});
            let (st, v) = app.post("/api/v1/cases", &officer, b).await;
            assert_eq!(
                (st, code(&v)),
                (StatusCode::FORBIDDEN, "source_not_allowed"),
                "[{}] {src}",
                app.engine
            );
        }
        assert_eq!(app.count("cases").await, before);
        let (st, v) = app
            .post(
                "/api/v1/cases",
                &officer,
                json!({"category": "SQ01", "description": "居民来电代报", "grid": "411602001001001001", "source": "resident"}),
            )
            .await;
        assert_eq!(
            (st, v["source"].as_str()),
            (StatusCode::CREATED, Some("resident")),
            "代报 stays open to officers"
        );
        // The past time alone is still only the district's.
        let past_officer =
            json!({"category": "SQ01", "description": "补录", "grid": "411602001001001001", "reported_at": "2026-01-05T09:00:00+08:00"});
        let (st, v) = app.post("/api/v1/cases", &officer, past_officer).await;
        assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "import_not_allowed"));
        let admin = app.token("admin").await;
        let (st, v) = app.post("/api/v1/cases", &admin, past).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        // 3 working days from Monday 5 January 2026 09:00.
        assert_eq!(v["due_at"], "2026-01-08T09:00:00+08:00");
        assert_eq!(v["overdue"], true);
    }
}

#[tokio::test]
async fn the_closed_loop_with_roles_and_refusals() {
    for app in apps().await {
        let officer = app.token("building").await;
        let community = app.token("community").await;
        let department = app.token("department").await;
        let street = app.token("street").await;
        let dept = unit_id(&app, &community, "区城市管理局").await;
        let (st, c) = app
            .post(
                "/api/v1/cases",
                &officer,
                json!({"category": "SQ05", "description": "楼顶私搭乱建彩钢房", "grid": "411602001001001001"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let id = c["id"].as_str().unwrap().to_string();

        // Out of order: 409, and nothing changes.
        let events = app.count("case_events").await;
        let (st, v) = act(&app, &community, &id, json!({"action": "verify"})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "invalid_transition"));
        assert!(v["error"]["message"].as_str().unwrap().contains("已上报"));
        assert_eq!(app.count("case_events").await, events);
        // Not theirs to take: 403 (a resident of the building sees it only as its reporter).
        let compound = app.token("compound").await;
        let (st, _) = act(&app, &compound, &id, json!({"action": "dispatch", "unit": dept})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "a compound sends work only to its property company");
        let (st, _) = act(&app, &department, &id, json!({"action": "accept"})).await;
        assert_eq!(
            st,
            StatusCode::NOT_FOUND,
            "[{}] not dispatched to the department yet, so not visible",
            app.engine
        );
        let (st, v) = act(&app, &community, &id, json!({"action": "fly"})).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));

        let steps: Vec<(&String, Value, &str)> = vec![
            (&community, json!({"action": "accept"}), "accepted"),
            (&community, json!({"action": "dispatch", "unit": dept}), "dispatched"),
            (&department, json!({"action": "start"}), "handling"),
            (&department, json!({"action": "handle", "note": "已拆除"}), "handled"),
            (&officer, json!({"action": "return", "note": "仍有残留"}), "dispatched"),
            (&department, json!({"action": "start"}), "handling"),
            (&department, json!({"action": "handle", "note": "已全部清除"}), "handled"),
            (&officer, json!({"action": "verify"}), "verified"),
        ];
        for (who, body, want) in steps {
            let (st, v) = act(&app, who, &id, body.clone()).await;
            assert_eq!(st, StatusCode::OK, "[{}] {body}: {v}", app.engine);
            assert_eq!(v["status"], want);
        }
        // 违建 closes at street level or above (close_level 2): the community may not.
        let (st, _) = act(&app, &community, &id, json!({"action": "close"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = act(&app, &street, &id, json!({"action": "close"})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["status"], "closed");
        assert_eq!(v["rework"], 1);
        assert_eq!(v["unit"]["name"], "区城市管理局");
        // After closing, only the reporter's one rating.
        let (st, _) = act(&app, &community, &id, json!({"action": "rate", "rating": "satisfied"})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = act(&app, &officer, &id, json!({"action": "rate", "rating": "basically_satisfied"})).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["rating"], "basically_satisfied");
        let (st, v) = act(&app, &officer, &id, json!({"action": "rate", "rating": "dissatisfied"})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_rated"));
        let (st, v) = act(&app, &street, &id, json!({"action": "supervise"})).await;
        assert_eq!(st, StatusCode::CONFLICT, "{v}");
        let (_, v) = app.get(&format!("/api/v1/cases/{id}"), &officer).await;
        let actions: Vec<&str> = v["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "report", "accept", "dispatch", "start", "handle", "return", "start", "handle", "verify", "close", "rate"
            ]
        );
        assert_eq!(v["timeline"][5]["note"], "仍有残留");
    }
}

#[tokio::test]
async fn whistles_escalation_and_the_board() {
    for app in apps().await {
        let community = app.token("community").await;
        let street = app.token("street").await;
        let department = app.token("department").await;
        let dept = unit_id(&app, &community, "区城市管理局").await;
        let police = unit_id(&app, &community, "公安局").await;
        let (_, c) = app
            .post(
                "/api/v1/cases",
                &community,
                json!({"category": "SQ08", "description": "邻里噪音纠纷多次调解未果", "grid": "411602001001002"}),
            )
            .await;
        let id = c["id"].as_str().unwrap().to_string();
        assert_eq!(c["level"], 4);
        let (st, v) = act(&app, &community, &id, json!({"action": "accept"})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        // A unit named twice is summoned once.
        let (st, v) = act(&app, &community, &id, json!({"action": "whistle", "units": [dept, police, dept]})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["whistles"].as_array().unwrap().len(), 2);
        // The summoned department sees the case and reports in, once.
        let (st, _) = app.get(&format!("/api/v1/cases/{id}"), &department).await;
        assert_eq!(st, StatusCode::OK);
        let (st, v) = act(&app, &department, &id, json!({"action": "acknowledge", "unit": dept})).await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            v["whistles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w["unit"]["id"] == dept.as_str() && w["acknowledged_at"].is_string())
        );
        let (st, _) = act(&app, &department, &id, json!({"action": "acknowledge", "unit": police})).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "one department cannot report for another");
        let (st, v) = act(&app, &department, &id, json!({"action": "acknowledge", "unit": dept})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_acknowledged"));
        // Escalate: the answering level moves up; the street supervises from above.
        for want in [3, 2] {
            let (st, v) = act(&app, &community, &id, json!({"action": "escalate"})).await;
            assert_eq!(st, StatusCode::OK, "{v}");
            assert_eq!((v["level"].as_i64().unwrap(), v["status"].as_str().unwrap()), (want, "accepted"));
        }
        // Now the street answers for it: the community no longer dispatches it.
        let (st, _) = act(&app, &community, &id, json!({"action": "dispatch", "unit": dept})).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let admin = app.token("admin").await;
        let (st, _) = act(&app, &admin, &id, json!({"action": "supervise"})).await;
        assert_eq!(st, StatusCode::OK);
        let (st, v) = act(
            &app,
            &street,
            &id,
            json!({"action": "dispatch", "unit": "0190c0de-0000-7000-8000-000000000000"}),
        )
        .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_unit"));

        // The board: scoped, filtered, paged; departments see what is theirs.
        let (st, b) = app.get("/api/v1/cases?status=accepted", &street).await;
        assert_eq!(st, StatusCode::OK);
        assert!(b["items"].as_array().unwrap().iter().any(|x| x["id"] == id.as_str()));
        assert!(b["items"].as_array().unwrap().iter().all(|x| x["status"] == "accepted"));
        let (_, b) = app.get("/api/v1/cases?category=SQ08&grid=411602001001", &community).await;
        assert!(b["total"].as_i64().unwrap() >= 1);
        let (st, v) = app.get("/api/v1/cases?status=lost", &street).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_status"));
        let (st, b) = app.get("/api/v1/cases", &department).await;
        assert_eq!(st, StatusCode::OK);
        let items = b["items"].as_array().unwrap();
        assert!(!items.is_empty(), "the department has cases on its board");
        assert!(items.iter().all(|x| x["unit"]["name"] == "区城市管理局"));
        let (st, _) = app.get("/api/v1/cases", &app.token("resident").await).await;
        assert_eq!(st, StatusCode::FORBIDDEN);

        // Categories and the deadline preview.
        let (_, cats) = app.get("/api/v1/case-categories", &street).await;
        assert!(
            cats["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["code"] == "SQ03" && c["limit"]["hours"] == 24)
        );
        let (_, d) = app
            .call(
                Method::GET,
                "/api/v1/calendar/due?from=2026-09-30T10:15:00%2B08:00&working_days=1",
                Some(&street),
                None,
            )
            .await;
        assert_eq!(d["due_at"], "2026-10-08T10:15:00+08:00");
        let (st, v) = app
            .call(Method::GET, "/api/v1/calendar/due?from=yesterday&hours=4", Some(&street), None)
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_time"));
    }
}

#[tokio::test]
async fn assessment_counts_what_happened() {
    for app in apps().await {
        let officer = app.token("building").await;
        let community = app.token("community").await;
        let department = app.token("department").await;
        let dept = unit_id(&app, &community, "区城市管理局").await;
        // The demo's year of history counts too; measure this test's cases in a window of their own.
        let from = jiff::Timestamp::from_millisecond(gongzhi::db::now_ms() - 1000).unwrap().to_string();
        let mut ids = Vec::new();
        for i in 0..3 {
            let (_, c) = app
                .post(
                    "/api/v1/cases",
                    &officer,
                    json!({"category": "SQ01", "description": format!("垃圾堆放 {i}"), "grid": "411602001001001001"}),
                )
                .await;
            ids.push(c["id"].as_str().unwrap().to_string());
        }
        // One case all the way round (with a rework), one dispatched, one left reported.
        let full = [
            (&community, json!({"action": "accept"})),
            (&community, json!({"action": "dispatch", "unit": dept})),
            (&department, json!({"action": "start"})),
            (&department, json!({"action": "handle", "note": "已清理"})),
            (&officer, json!({"action": "return", "note": "没清干净"})),
            (&department, json!({"action": "start"})),
            (&department, json!({"action": "handle", "note": "已清理干净"})),
            (&officer, json!({"action": "verify"})),
            (&community, json!({"action": "close"})),
            (&officer, json!({"action": "rate", "rating": "satisfied"})),
        ];
        for (who, body) in full {
            let (st, v) = act(&app, who, &ids[0], body).await;
            assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        }
        for body in [json!({"action": "accept"}), json!({"action": "dispatch", "unit": dept})] {
            let (st, v) = act(&app, &community, &ids[1], body).await;
            assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        }

        let (st, r) = app
            .get(
                &format!("/api/v1/assessment?by=community&from={}", from.replace('+', "%2B")),
                &community,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let row = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "411602001001")
            .unwrap()
            .clone();
        assert_eq!(
            (row["received"].as_i64(), row["closed"].as_i64()),
            (Some(3), Some(1)),
            "[{}]",
            app.engine
        );
        assert!((row["closure_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert!((row["on_time_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(row["rework_rate"], 1.0, "the one handled case was sent back once");
        assert_eq!(row["satisfaction_rate"], 1.0);
        assert_eq!(row["rank"], 1);
        let (_, r) = app
            .get(&format!("/api/v1/assessment?by=unit&from={}", from.replace('+', "%2B")), &community)
            .await;
        let unit_row = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == dept.as_str())
            .unwrap()
            .clone();
        assert_eq!(unit_row["received"], 2);
        assert_eq!(unit_row["name"], "区城市管理局");
        let (_, r) = app.get("/api/v1/assessment?by=street&from=2020-01-01", &community).await;
        let streets = r["items"].as_array().unwrap();
        assert!(!streets.is_empty(), "a street row for the community's street");
        assert!(streets.iter().all(|x| x["code"].as_str().unwrap().len() == 9));
        // A period with nothing in it, bad input, and roles without the right.
        let (_, r) = app
            .get("/api/v1/assessment?by=street&from=2020-01-01&to=2020-02-01", &community)
            .await;
        assert_eq!(r["items"].as_array().unwrap().len(), 0);
        let (st, v) = app.get("/api/v1/assessment?by=planet", &community).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_by"));
        let (st, v) = app
            .get("/api/v1/assessment?by=street&from=2026-02-01&to=2026-01-01", &community)
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_period"));
        let (st, _) = app.get("/api/v1/assessment?by=street", &department).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn photos_are_checked_by_content_and_served_only_to_those_who_see_the_case() {
    for app in apps().await {
        let officer = app.token("building").await;
        let (_, c) = app
            .post(
                "/api/v1/cases",
                &officer,
                json!({"category": "SQ07", "description": "楼道堆物（附照片）", "grid": "411602001001001001"}),
            )
            .await;
        let id = c["id"].as_str().unwrap();
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        png.extend_from_slice(b"not really pixels but a PNG by its signature");
        let up = |bytes: Vec<u8>, ct: &'static str, who: String| {
            let (client, base, id) = (app.client.clone(), app.base.clone(), id.to_string());
            async move {
                client
                    .post(format!("{base}/api/v1/cases/{id}/attachments"))
                    .bearer_auth(who)
                    .header("content-type", ct)
                    .body(bytes)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let r = up(png.clone(), "image/jpeg", officer.clone()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let a: Value = r.json().await.unwrap();
        assert_eq!(a["mime"], "image/png", "the bytes decide, not the header");
        // The same photo twice is one photo; a GIF or a script named .jpg is refused.
        assert_eq!(up(png.clone(), "image/png", officer.clone()).await.status(), StatusCode::CREATED);
        let r = up(b"GIF89a......".to_vec(), "image/jpeg", officer.clone()).await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(code(&r.json().await.unwrap()), "invalid_image");
        let r = up(vec![0xFF; 10 * 1024 * 1024 + 10], "image/jpeg", officer.clone()).await;
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (_, v) = app.get(&format!("/api/v1/cases/{id}"), &officer).await;
        assert_eq!(v["attachments"].as_array().unwrap().len(), 1);
        // The upload is audited once (the repeat added nothing), the refusals not at all.
        let admin = app.token("admin").await;
        let (_, log) = app.get("/api/v1/audit?action=case.attachment", &admin).await;
        let entries: Vec<&Value> = log["items"].as_array().unwrap().iter().filter(|e| e["target_id"] == id).collect();
        assert_eq!(entries.len(), 1, "[{}] {log}", app.engine);
        let url = v["attachments"][0]["url"].as_str().unwrap().to_string();
        let r = app
            .client
            .get(format!("{}{url}", app.base))
            .bearer_auth(&officer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/png");
        assert_eq!(r.bytes().await.unwrap().to_vec(), png);
        // Someone who may not see the case gets nothing.
        let dept = app.token("department").await;
        let r = app
            .client
            .get(format!("{}{url}", app.base))
            .bearer_auth(&dept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = up(png.clone(), "image/png", dept).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = app.client.get(format!("{}{url}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn likely_duplicates_are_flagged_merged_and_hear_the_outcome() {
    for app in apps().await {
        let (officer, community, admin) = (app.token("building").await, app.token("community").await, app.token("admin").await);
        let (lat, lng) = building_centre(&app, &officer, "411602001001001001").await;
        // The assessment below counts from here: the demo's own cases are all older.
        let started = gongzhi::db::now_ms();
        let report = |cat: &'static str, dlat: f64| {
            let (client, base, t) = (app.client.clone(), app.base.clone(), officer.clone());
            async move {
                let body = json!({"category": cat, "description": "同一处飞线充电", "lat": lat + dlat, "lng": lng});
                client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(t)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let a = report("SQ03", 0.0).await;
        let b = report("SQ03", 0.0001).await; // about 11 m north
        assert_eq!(b["duplicate_of"], a["id"], "[{}] same category, 11 m, minutes apart", app.engine);
        assert!(
            report("SQ01", 0.0001).await["duplicate_of"].is_null(),
            "another category is not a duplicate"
        );
        assert!(
            report("SQ03", 0.01).await["duplicate_of"].is_null(),
            "a kilometre away is not a duplicate"
        );

        let (aid, bid) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        // The case page names the case it likely repeats, by its code, with no stray spaces.
        let staff = sign_in(&app, "community").await;
        let a_code = a["tracking_code"].as_str().unwrap();
        let (_, html) = page(&app, &staff, &format!("/console/cases/{bid}")).await;
        assert!(
            html.contains(&format!("疑似与附近的案件<a href=\"/console/cases/{aid}\">{a_code}</a>（")),
            "[{}]",
            app.engine
        );
        let property = app.token("property").await;
        let (st, _) = app
            .post(&format!("/api/v1/cases/{bid}/merge"), &property, json!({"into": aid}))
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "merging is the grid's decision");
        let (st, v) = app
            .post(&format!("/api/v1/cases/{bid}/merge"), &community, json!({"into": aid}))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!((v["status"].as_str(), v["merged_into"].as_str()), (Some("declined"), Some(aid)));
        assert_eq!(v["status_label"], "已合并", "a merged duplicate is not shown as 不予立案");
        let (_, html) = page(&app, &staff, &format!("/console/cases/{bid}")).await;
        assert!(html.contains(&format!("已与案件<a href=\"/console/cases/{aid}\">{a_code}</a>（")) && html.contains(">已合并<"));
        let (st, v) = app
            .post(&format!("/api/v1/cases/{bid}/merge"), &community, json!({"into": aid}))
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "cannot_merge"));

        // The main case runs its course; the merged reporter hears how it ended.
        let dept = unit_id(&app, &community, "区城市管理局").await;
        let department = app.token("department").await;
        for (who, body) in [
            (&community, json!({"action": "accept"})),
            (&community, json!({"action": "dispatch", "unit": dept})),
            (&department, json!({"action": "start"})),
            (&department, json!({"action": "handle", "note": "已拆除飞线并劝导住户"})),
            (&officer, json!({"action": "verify"})),
            (&admin, json!({"action": "close"})),
        ] {
            let (st, v) = act(&app, who, aid, body).await;
            assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        }
        let (_, v) = app.get(&format!("/api/v1/cases/{bid}"), &officer).await;
        let last = v["timeline"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["action"], "outcome");
        assert!(last["note"].as_str().unwrap().contains("已拆除飞线并劝导住户"));
        // Merged cases do not count twice in the assessment.
        let from = jiff::Timestamp::from_millisecond(started).unwrap().to_string();
        let (_, r) = app.get(&format!("/api/v1/assessment?by=community&from={from}"), &community).await;
        let row = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["code"] == "411602001001")
            .unwrap()
            .clone();
        assert_eq!(
            row["received"], 3,
            "[{}] a, c, d — and the merged b is not counted: {row}",
            app.engine
        );
    }
}

#[tokio::test]
async fn the_district_edits_categories() {
    for app in apps().await {
        let (admin, community) = (app.token("admin").await, app.token("community").await);
        let (st, _) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&community),
                Some(json!({"limit_working_days": 1})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        for (body, want) in [
            (json!({"limit_working_days": 1, "limit_hours": 4}), "invalid_limit"),
            (json!({"limit_working_days": 0}), "invalid_limit"),
            (json!({"close_level": 9}), "invalid_close_level"),
        ] {
            let (st, v) = app
                .call(reqwest::Method::PATCH, "/api/v1/case-categories/SQ07", Some(&admin), Some(body))
                .await;
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, want));
        }
        let (st, v) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&admin),
                Some(json!({"limit_hours": 8, "name": "楼道堆物（含消防通道）"})),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["limit"]["hours"], 8);
        // New reports use the new limit.
        let (_, c) = app
            .post(
                "/api/v1/cases",
                &community,
                json!({"category": "SQ07", "description": "消防通道堆物", "grid": "411602001001001001"}),
            )
            .await;
        let rep = c["reported_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        let due = c["due_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
        assert_eq!(due.as_millisecond() - rep.as_millisecond(), 8 * 3_600_000);
        assert_eq!(c["category"]["name"], "楼道堆物（含消防通道）");
        let new = json!({"code": "SQ09", "parent": "SQ", "name": "电梯故障", "limit_hours": 24, "close_level": 3});
        let (st, v) = app.post("/api/v1/case-categories", &admin, new.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (st, v) = app.post("/api/v1/case-categories", &admin, new).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "duplicate_code"));
        let (st, v) = app
            .post(
                "/api/v1/case-categories",
                &admin,
                json!({"code": "XX01", "parent": "SQ", "name": "x", "limit_hours": 4, "close_level": 3}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_code"));
        // Retired categories take no new reports.
        let (st, _) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ09",
                Some(&admin),
                Some(json!({"active": false})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let (st, v) = app
            .post(
                "/api/v1/cases",
                &community,
                json!({"category": "SQ09", "description": "电梯困人", "grid": "411602001001001001"}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"));
    }
}

/// A merge checks its target as it is when the merge commits, not as it was read: a target that
/// changed in between is refused and the duplicate is left as it was.
#[tokio::test]
async fn merge_refuses_a_target_that_changed_since_it_was_read() {
    for app in apps().await {
        let (officer, community) = (app.token("building").await, app.token("community").await);
        let new_case = |description: &'static str| {
            let (app, officer) = (&app, officer.clone());
            async move {
                let body = json!({"category": "SQ03", "description": description, "grid": "411602001001001001"});
                let (st, v) = app.post("/api/v1/cases", &officer, body).await;
                assert_eq!(st, StatusCode::CREATED, "{v}");
                uuid::Uuid::parse_str(v["id"].as_str().unwrap()).unwrap()
            }
        };
        let (dup, target) = (new_case("楼道杂物堆放").await, new_case("楼道杂物堆放严重").await);
        let dup_row = gongzhi::cases::store::get(&app.db, dup).await.unwrap().unwrap();
        let stale = gongzhi::cases::store::get(&app.db, target).await.unwrap().unwrap();
        // Someone declines the target after it was read.
        let (st, v) = act(
            &app,
            &community,
            &target.to_string(),
            json!({"action": "decline", "reason": "不属于受理范围"}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        let r = gongzhi::cases::store::merge(&app.db, gongzhi::audit::Actor::System("test"), &dup_row, &stale).await;
        assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("concurrent_update"), "[{}]", app.engine);
        let after = gongzhi::cases::store::get(&app.db, dup).await.unwrap().unwrap();
        assert_eq!(
            (after.merged_into, after.version),
            (None, dup_row.version),
            "[{}] the duplicate is untouched",
            app.engine
        );
    }
}

/// A resident reads their own case as `/track` shows it: not the names of the staff who acted,
/// nor the instructions passed between offices (issue 11, item 9). Staff still see both.
#[tokio::test]
async fn residents_do_not_see_staff_names_in_the_timeline() {
    for app in apps().await {
        let resident = app.token("resident").await;
        let community = app.token("community").await;
        let department = app.token("department").await;
        let officer = app.token("building").await;
        let dept = unit_id(&app, &community, "区城市管理局").await;
        let (st, c) = app
            .post(
                "/api/v1/cases",
                &resident,
                json!({"category": "SQ05", "description": "楼顶私搭彩钢房", "grid": "411602001001001001"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap().to_string();
        for (who, body) in [
            (&community, json!({"action": "accept"})),
            (&community, json!({"action": "dispatch", "unit": dept})),
            (&department, json!({"action": "start"})),
            (&department, json!({"action": "handle", "note": "已拆除"})),
            (&officer, json!({"action": "return", "note": "请王科长返工，残留未清"})),
        ] {
            let (st, v) = act(&app, who, &id, body).await;
            assert_eq!(st, StatusCode::OK, "[{}] {v}", app.engine);
        }

        let staff_names: Vec<String> = {
            let (_, v) = app.get(&format!("/api/v1/cases/{id}"), &community).await;
            let tl = v["timeline"].as_array().unwrap();
            assert!(
                tl.iter().any(|e| e["note"].as_str().unwrap().contains("王科长")),
                "staff see the instruction"
            );
            tl.iter()
                .filter(|e| e["action"] != "report")
                .map(|e| e["actor"].as_str().unwrap().to_string())
                .collect()
        };
        assert!(!staff_names.is_empty());
        let (st, v) = app.get(&format!("/api/v1/cases/{id}"), &resident).await;
        assert_eq!(st, StatusCode::OK);
        let text = v["timeline"].to_string();
        for n in &staff_names {
            assert!(
                !text.contains(n.as_str()),
                "[{}] staff name {n} shown to the resident: {text}",
                app.engine
            );
        }
        assert!(!text.contains("王科长"), "internal instruction shown: {text}");
        assert!(text.contains("已拆除"), "the answer is shown: {text}");
        assert!(text.contains("工作人员"));
    }
}

/// The public grid page takes a few reports from one address, then holds it back; a report
/// refused for its content does not count (issue 11, item 8). Before, 100 reports in 0.1 s all
/// landed.
#[tokio::test]
async fn public_reports_are_throttled_per_address() {
    for app in apps().await {
        let path = format!("{}/g/411602001001001001/report", app.base);
        let send = |description: String| {
            let (client, path) = (app.client.clone(), path.clone());
            async move {
                let r = client
                    .post(path)
                    .form(&[("category", "SQ07"), ("description", description.as_str())])
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap())
            }
        };
        let before = app.count("cases").await;
        let (st, _) = send("x".into()).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "too short: refused, not counted");
        let free = gongzhi::cases::service::PUBLIC_ADDRESS_POLICY.free as i64;
        for i in 0..free {
            let (st, _) = send(format!("楼道堆物第{i}处，请清理")).await;
            assert_eq!(st, StatusCode::SEE_OTHER, "[{}] report {i}", app.engine);
        }
        let (st, html) = send("楼道又堆满杂物".into()).await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "[{}]", app.engine);
        assert!(html.contains("提交过于频繁"), "a Chinese page");
        assert_eq!(app.count("cases").await, before + free);
    }
}
