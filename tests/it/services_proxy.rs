//! Red proxy service (红色代办), on both engines: a matter registered for a resident, taken by an
//! agent, documents handed over and returned — none returned without the person's code, the
//! matter not closed while one is out — rated by the person; the community's watch list; who is
//! refused.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{App, apps, code, page, sign_in};

/// Building 1 of the first compound (the `building` account's).
const BUILDING: &str = "411602001001001001";
const COMMUNITY: &str = "411602001001";

async fn resident_in(app: &App, token: &str, grid: &str) -> String {
    let (st, v) = app.get(&format!("/api/v1/residents?grid={grid}"), token).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["items"][0]["id"].as_str().expect("a resident").to_string()
}

async fn first_kind(app: &App, token: &str) -> String {
    let (st, v) = app.get("/api/v1/proxy/kinds", token).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v.as_array().unwrap().iter().find(|k| k["active"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn states(app: &App, token: &str, id: &str) -> Value {
    let (st, v) = app.get(&format!("/api/v1/proxy/matters/{id}"), token).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn documents_come_back_only_with_the_persons_confirmation() {
    for app in apps().await {
        let agent = app.token("agent").await;
        let building = app.token("building").await;
        let resident = resident_in(&app, &agent, BUILDING).await;
        let kind = first_kind(&app, &agent).await;
        let (st, m) = app
            .post(
                "/api/v1/proxy/matters",
                &building,
                json!({"resident": resident, "kind": kind, "via": "building_officer", "note": "帮老人办社保"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {m}", app.engine);
        let id = m["id"].as_str().unwrap().to_string();
        let slip = m["code"].as_str().unwrap().to_string();
        assert_eq!(slip.len(), 6);
        assert!(m["due_at"].as_str().unwrap() > m["created_at"].as_str().unwrap());
        // The building officer registered it; the agent (a community worker) takes it.
        let (st, _) = app.post(&format!("/api/v1/proxy/matters/{id}/take"), &agent, json!({})).await;
        assert_eq!(st, StatusCode::OK);
        let (st, v) = app.post(&format!("/api/v1/proxy/matters/{id}/take"), &building, json!({})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "already_taken"));
        // Only the agent handles it.
        let (st, _) = app
            .post(
                &format!("/api/v1/proxy/matters/{id}/documents"),
                &building,
                json!({"name": "身份证原件"}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // A wrong code is refused and writes nothing.
        let before = app.count("proxy_documents").await;
        let (st, v) = app
            .post(
                &format!("/api/v1/proxy/matters/{id}/documents"),
                &agent,
                json!({"name": "身份证原件", "code": "000000"}),
            )
            .await;
        let wrong = if slip == "000000" { "nothing" } else { "wrong_code" };
        if wrong == "wrong_code" {
            assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "wrong_code"), "[{}]", app.engine);
            assert_eq!(app.count("proxy_documents").await, before);
        }
        // Handed over with the person's code: held at once. Another without: offered, then confirmed.
        let (st, d1) = app
            .post(
                &format!("/api/v1/proxy/matters/{id}/documents"),
                &agent,
                json!({"name": "身份证原件", "code": format!(" {slip} ")}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{d1}");
        assert_eq!(d1["state"], "held");
        let (_, d2) = app
            .post(&format!("/api/v1/proxy/matters/{id}/documents"), &agent, json!({"name": "社保卡"}))
            .await;
        assert_eq!(d2["state"], "offered");
        let (d1, d2) = (d1["id"].as_str().unwrap().to_string(), d2["id"].as_str().unwrap().to_string());
        let (st, v) = app.post(&format!("/api/v1/proxy/documents/{d2}/return"), &agent, json!({})).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::CONFLICT, "document_not_held"),
            "not held until the person confirms"
        );
        let (st, v) = app
            .post(&format!("/api/v1/proxy/documents/{d2}/confirm"), &agent, json!({"code": slip}))
            .await;
        assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("held")), "{v}");
        // Closing with documents held is refused.
        let (st, v) = app.post(&format!("/api/v1/proxy/matters/{id}/done"), &agent, json!({})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "documents_held"));
        // A return without the code waits for the person; still not closable.
        let (st, v) = app.post(&format!("/api/v1/proxy/documents/{d1}/return"), &agent, json!({})).await;
        assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("return_offered")));
        assert!(v["person_returned_at"].is_null());
        let (st, v) = app
            .post(&format!("/api/v1/proxy/documents/{d2}/return"), &agent, json!({"code": slip}))
            .await;
        assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("returned")));
        let (st, v) = app.post(&format!("/api/v1/proxy/matters/{id}/done"), &agent, json!({})).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::CONFLICT, "documents_held"),
            "one return is not confirmed"
        );
        // The community's list shows it: a document still out.
        let community = app.token("community").await;
        let (_, watch) = app.get(&format!("/api/v1/proxy/watch?grid={COMMUNITY}"), &community).await;
        let w = watch
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str())
            .expect("on the watch list");
        assert_eq!(w["documents_out"], 1);
        assert!(w["person"].as_str().unwrap().contains('*'), "names masked in lists: {w}");
        // The person confirms (a wrong code first); then it closes.
        if wrong == "wrong_code" {
            let (st, _) = app
                .post(&format!("/api/v1/proxy/documents/{d1}/confirm"), &agent, json!({"code": "000000"}))
                .await;
            assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        }
        let (st, v) = app
            .post(&format!("/api/v1/proxy/documents/{d1}/confirm"), &agent, json!({"code": slip}))
            .await;
        assert_eq!((st, v["state"].as_str()), (StatusCode::OK, Some("returned")));
        assert!(v["person_returned_at"].is_string());
        let (st, v) = app
            .post(
                &format!("/api/v1/proxy/matters/{id}/steps"),
                &agent,
                json!({"note": "已在社保窗口办结"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, v) = app.post(&format!("/api/v1/proxy/matters/{id}/done"), &agent, json!({})).await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("done")), "{v}");
        let (_, watch) = app.get(&format!("/api/v1/proxy/watch?grid={COMMUNITY}"), &community).await;
        assert!(!watch.as_array().unwrap().iter().any(|m| m["id"] == id.as_str()));
        // Rated by the person (their code), once.
        let (st, _) = app
            .post(&format!("/api/v1/proxy/matters/{id}/rating"), &agent, json!({"stars": 5}))
            .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "the code is required (missing field)");
        let (st, v) = app
            .post(
                &format!("/api/v1/proxy/matters/{id}/rating"),
                &agent,
                json!({"stars": 5, "code": slip}),
            )
            .await;
        assert_eq!((st, v["rating"].as_i64()), (StatusCode::OK, Some(5)), "{v}");
        let (st, _) = app
            .post(
                &format!("/api/v1/proxy/matters/{id}/rating"),
                &agent,
                json!({"stars": 1, "code": slip}),
            )
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        let v = states(&app, &agent, &id).await;
        assert!(
            v["documents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|d| d["state"] == "returned" && d["person_returned_at"].is_string())
        );
        assert_eq!(v["steps"].as_array().unwrap().len(), 1);
        // Every step was audited.
        let audited: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'proxy.%' AND target_id = $1"
        )
        .bind(&id)
        .fetch_one(p)
        .await)
        .unwrap();
        assert!(audited >= 10, "[{}] {audited}", app.engine);
    }
}

#[tokio::test]
async fn the_database_refuses_a_return_without_the_person() {
    for app in apps().await {
        // Even a faulty writer cannot mark a document returned without the person's confirmation.
        let id: uuid::Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, uuid::Uuid>(
            "SELECT id FROM proxy_documents WHERE state = 'held' LIMIT 1"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        let mut tx = app.db.begin().await.unwrap();
        let r = gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE proxy_documents SET state = 'returned', returned_at = 1 WHERE id = $1"
        )
        .bind(id)
        .execute(c)
        .await
        .map(|_| ()));
        assert!(r.is_err(), "[{}] the CHECK holds", app.engine);
    }
}

#[tokio::test]
async fn who_may_do_what() {
    for app in apps().await {
        let agent = app.token("agent").await;
        let resident = app.token("resident").await;
        let department = app.token("department").await;
        let admin = app.token("admin").await;
        // The demo: matters in hand in the first community, taken by `agent`, documents held.
        let (st, mine) = app.get("/api/v1/proxy/matters?mine=true", &agent).await;
        assert_eq!(st, StatusCode::OK);
        assert!(mine.as_array().unwrap().len() >= 3, "{mine}");
        let id = mine[0]["id"].as_str().unwrap().to_string();
        for t in [&resident, &department] {
            let (st, v) = app.get(&format!("/api/v1/proxy/matters/{id}"), t).await;
            assert_eq!((st, code(&v)), (StatusCode::FORBIDDEN, "forbidden"));
        }
        // Outside the caller's area: hidden.
        let compound = app.token("compound").await;
        let (_, all) = app.get("/api/v1/proxy/matters?grid=411602001002", &admin).await;
        let outside = all[0]["id"].as_str().unwrap();
        let (st, _) = app.get(&format!("/api/v1/proxy/matters/{outside}"), &compound).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // The demo's held documents make the demo's matters unclosable.
        let (st, v) = app.post(&format!("/api/v1/proxy/matters/{id}/done"), &agent, json!({})).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "documents_held"));
        // The district edits the list; a community worker cannot.
        let (st, _) = app
            .post(
                "/api/v1/proxy/kinds",
                &agent,
                json!({"name": "独生子女奖励", "documents": "身份证", "limit_days": 5}),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = app
            .post(
                "/api/v1/proxy/kinds",
                &admin,
                json!({"name": "独生子女奖励", "documents": "身份证", "limit_days": 61}),
            )
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit"));
        let (st, v) = app
            .post(
                "/api/v1/proxy/kinds",
                &admin,
                json!({"name": "独生子女奖励", "documents": "身份证", "limit_days": 5}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        // Pages: the agent's list and a matter's page.
        let cookie = sign_in(&app, "agent").await;
        let (st, html) = page(&app, &cookie, "/console/services/proxy").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("我领办的事项") && html.contains("需关注"), "{html}");
        let (st, html) = page(&app, &cookie, &format!("/console/services/proxy/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("材料交接回执") && html.contains("代办员保管中"));
    }
}

/// A slip code is six digits: wrong guesses at one matter are held back after five, and while
/// the matter waits even the right code is refused, so an agent cannot guess a confirmation.
#[tokio::test]
async fn wrong_slip_codes_are_throttled_per_matter() {
    for app in apps().await {
        let agent = app.token("agent").await;
        let resident = resident_in(&app, &agent, BUILDING).await;
        let kind = first_kind(&app, &agent).await;
        let (st, m) = app
            .post(
                "/api/v1/proxy/matters",
                &agent,
                json!({"resident": resident, "kind": kind, "via": "in_person"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "[{}] {m}", app.engine);
        let id = m["id"].as_str().unwrap().to_string();
        let slip = m["code"].as_str().unwrap().to_string();
        let (st, _) = app.post(&format!("/api/v1/proxy/matters/{id}/take"), &agent, json!({})).await;
        assert_eq!(st, StatusCode::OK);
        let wrong = if slip == "123456" { "654321" } else { "123456" };
        let hand_over = |code: String| {
            let (app, agent, id) = (&app, &agent, &id);
            async move {
                app.post(
                    &format!("/api/v1/proxy/matters/{id}/documents"),
                    agent,
                    json!({"name": "户口本", "code": code}),
                )
                .await
            }
        };
        for i in 0..5 {
            let (st, v) = hand_over(wrong.to_string()).await;
            assert_eq!(
                (st, code(&v)),
                (StatusCode::UNPROCESSABLE_ENTITY, "wrong_code"),
                "[{}] try {i}",
                app.engine
            );
        }
        let (st, v) = hand_over(wrong.to_string()).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_code_attempts"),
            "[{}] {v}",
            app.engine
        );
        assert!(v["error"]["message"].as_str().unwrap_or("").contains("分钟后再试"), "{v}");
        let (st, v) = hand_over(slip.clone()).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::TOO_MANY_REQUESTS, "too_many_code_attempts"),
            "the right code waits too"
        );
        let (_, v) = app.get(&format!("/api/v1/proxy/matters/{id}"), &agent).await;
        assert_eq!(v["documents"].as_array().map(Vec::len), Some(0), "nothing written: {v}");
    }
}
