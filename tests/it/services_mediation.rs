//! Dispute mediation (矛盾纠纷调解), on both engines: a dispute registered by a mediator, sessions,
//! an agreement with its printable 协议书, the follow-up no earlier than 30 days on; a referral as a
//! case that stays private — no dispute, party or summary on Open311, the grid's public page or the
//! case's tracking page; the street's counts; who is refused.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{App, apps, code, page, sign_in};

const COMPOUND: &str = "411602001001001";
const BUILDING: &str = "411602001001001001";
const STREET: &str = "411602001";

async fn new_dispute(app: &App, token: &str, parties: [&str; 2], summary: &str) -> String {
    let (st, v) = app
        .post(
            "/api/v1/mediation/disputes",
            token,
            json!({"grid": BUILDING, "kind": "neighbour", "summary": summary, "parties": parties}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "[{}] {v}", app.engine);
    assert_eq!(v["is_mediator"], true);
    v["id"].as_str().unwrap().to_string()
}

async fn session(app: &App, token: &str, id: &str) -> (StatusCode, serde_json::Value) {
    let today = gongzhi::time::day_ms(gongzhi::db::now_ms());
    app.post(
        &format!("/api/v1/mediation/disputes/{id}/sessions"),
        token,
        json!({"held_on": today, "note": "分别听取双方意见"}),
    )
    .await
}

#[tokio::test]
async fn an_agreement_is_printed_and_followed_up_after_thirty_days() {
    for app in apps().await {
        let mediator = app.token("mediator").await;
        let id = new_dispute(&app, &mediator, ["赵大勇", "钱小梅"], "楼上漏水引发邻里矛盾").await;
        // No outcome before a session.
        let agreement = json!({"outcome": "agreement", "terms": "赵大勇于七日内维修水管并赔偿钱小梅800元"});
        let (st, v) = app
            .post(&format!("/api/v1/mediation/disputes/{id}/outcome"), &mediator, agreement.clone())
            .await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "no_session"));
        let (st, v) = session(&app, &mediator, &id).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        // Another community worker (not on this dispute) can read it but not record.
        let community = app.token("community").await;
        let (st, v) = app.get(&format!("/api/v1/mediation/disputes/{id}"), &community).await;
        assert_eq!((st, v["is_mediator"].as_bool()), (StatusCode::OK, Some(false)));
        let (st, _) = session(&app, &community, &id).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = app
            .post(&format!("/api/v1/mediation/disputes/{id}/outcome"), &mediator, agreement.clone())
            .await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("agreed")), "{v}");
        let (st, v) = app
            .post(&format!("/api/v1/mediation/disputes/{id}/outcome"), &mediator, agreement)
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "dispute_closed"));
        let (st, v) = session(&app, &mediator, &id).await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "dispute_closed"));
        // The follow-up waits 30 days.
        let follow = json!({"note": "双方已履行协议"});
        let (st, v) = app
            .post(&format!("/api/v1/mediation/disputes/{id}/follow-up"), &mediator, follow.clone())
            .await;
        assert_eq!((st, code(&v)), (StatusCode::CONFLICT, "follow_up_early"));
        let due: String = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>(
            "SELECT follow_up_due FROM disputes WHERE id = $1"
        )
        .bind(uuid::Uuid::parse_str(&id).unwrap())
        .fetch_one(p)
        .await)
        .unwrap();
        let today: jiff::civil::Date = gongzhi::time::day_ms(gongzhi::db::now_ms()).parse().unwrap();
        assert_eq!(due, gongzhi::services::mediation::rules::follow_up_due(today).to_string());
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query("UPDATE disputes SET follow_up_due = $2 WHERE id = $1")
            .bind(uuid::Uuid::parse_str(&id).unwrap())
            .bind(today.to_string())
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = app
            .post(&format!("/api/v1/mediation/disputes/{id}/follow-up"), &mediator, follow.clone())
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["follow_up_note"], "双方已履行协议");
        let (st, _) = app
            .post(&format!("/api/v1/mediation/disputes/{id}/follow-up"), &mediator, follow)
            .await;
        assert_eq!(st, StatusCode::CONFLICT);
        // The printable agreement names the parties and the terms; the lists mask them.
        let cookie = sign_in(&app, "mediator").await;
        let (st, html) = page(&app, &cookie, &format!("/console/services/mediation/{id}/agreement")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("人民调解协议书") && html.contains("赵大勇") && html.contains("钱小梅") && html.contains("赔偿钱小梅800元"));
        assert!(html.contains("@media print"));
        let (_, list) = app.get("/api/v1/mediation/disputes?mine=true", &mediator).await;
        let mine = list.as_array().unwrap().iter().find(|d| d["id"] == id.as_str()).unwrap();
        assert_eq!(mine["parties"], json!(["赵**", "钱**"]));
        let (st, html) = page(&app, &cookie, "/console/services/mediation").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("每月纠纷数") && !html.contains("赵大勇"));
    }
}

#[tokio::test]
async fn disputes_never_go_public_even_referred_as_a_case() {
    for app in apps().await {
        let mediator = app.token("mediator").await;
        let (names, summary) = (["孙秘密", "周隐私"], "孙秘密与周隐私因宅基地界址争执不下");
        let id = new_dispute(&app, &mediator, names, summary).await;
        session(&app, &mediator, &id).await;
        let (st, v) = app
            .post(
                &format!("/api/v1/mediation/disputes/{id}/outcome"),
                &mediator,
                json!({"outcome": "referral", "referral": "case", "note": "转社区网格处置"}),
            )
            .await;
        assert_eq!(
            (st, v["status"].as_str()),
            (StatusCode::OK, Some("referred")),
            "[{}] {v}",
            app.engine
        );
        let case = v["case"].as_str().expect("a case was opened").to_string();
        let admin = app.token("admin").await;
        let (_, c) = app.get(&format!("/api/v1/cases/{case}"), &admin).await;
        assert_eq!(c["private"], true, "{c}");
        assert_eq!(c["category"]["code"].as_str().or(c["category"].as_str()), Some("SQ08"), "{c}");
        let track: String = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, String>(
            "SELECT tracking_code FROM cases WHERE id = $1"
        )
        .bind(uuid::Uuid::parse_str(&case).unwrap())
        .fetch_one(p)
        .await)
        .unwrap();
        let leaks = |body: &str| names.iter().any(|n| body.contains(n)) || body.contains("宅基地");
        for path in [
            "/open311/v2/requests.json".to_string(),
            "/open311/v2/requests.json?service_code=SQ08".to_string(),
            format!("/open311/v2/requests/{case}.json"),
            format!("/g/{COMPOUND}"),
            format!("/g/{BUILDING}"),
            "/track".to_string(),
            format!("/track/{track}"),
        ] {
            let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            let body = r.text().await.unwrap();
            assert!(!leaks(&body), "[{}] {path} shows the dispute: {body}", app.engine);
            assert!(!body.contains(&id), "[{}] {path} names the dispute", app.engine);
        }
        // The dispute API is for staff: a resident, a department and anonymous callers are refused.
        for t in [app.token("resident").await, app.token("department").await] {
            let (st, _) = app.get(&format!("/api/v1/mediation/disputes/{id}"), &t).await;
            assert_eq!(st, StatusCode::FORBIDDEN);
        }
        let (st, _) = app
            .call(reqwest::Method::GET, &format!("/api/v1/mediation/disputes/{id}"), None, None)
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        // Another community's staff: hidden.
        let (_, other) = app.get("/api/v1/mediation/disputes?grid=411602001002", &admin).await;
        let outside = other[0]["id"].as_str().unwrap();
        let compound = app.token("community").await;
        let (st, _) = app.get(&format!("/api/v1/mediation/disputes/{outside}"), &compound).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_street_counts_per_month_and_kind() {
    for app in apps().await {
        let street = app.token("street").await;
        let year = &gongzhi::time::month_ms(gongzhi::db::now_ms())[..4];
        let (st, v) = app
            .get(&format!("/api/v1/mediation/counts?grid={STREET}&year={year}"), &street)
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let rows = v.as_array().unwrap();
        let total: i64 = rows.iter().map(|r| r["disputes"].as_i64().unwrap()).sum();
        let n: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM disputes WHERE grid_code >= '411602001' AND grid_code < '411602001:' AND opened_month LIKE $1"
        )
        .bind(format!("{year}-%"))
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(total, n);
        assert!(total > 10, "the demo's year of disputes: {total}");
        assert!(
            rows.iter()
                .all(|r| r["agreements"].as_i64().unwrap() <= r["disputes"].as_i64().unwrap())
        );
        let (st, _) = app
            .get(&format!("/api/v1/mediation/counts?grid={STREET}"), &app.token("community").await)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = app.get("/api/v1/mediation/counts", &app.token("building").await).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, v) = app.get(&format!("/api/v1/mediation/counts?grid={STREET}&year=1999"), &street).await;
        assert_eq!((st, code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_year"));
    }
}
