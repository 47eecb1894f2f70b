//! Reads that do not repeat work: `ETag` and `304 Not Modified` on API and Open311 reads, the
//! categories kept in memory until they change, and the revoked key that stops at once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use gongzhi::apikeys as keys;
use gongzhi::audit::Actor;

use crate::support::apps;

#[tokio::test]
async fn reads_carry_an_etag_and_an_unchanged_one_answers_304() {
    for app in apps().await {
        let officer = app.token("building").await;
        let get = |path: String, tag: Option<String>| {
            let (client, base, t) = (app.client.clone(), app.base.clone(), officer.clone());
            async move {
                let mut r = client.get(format!("{base}{path}")).bearer_auth(t);
                if let Some(tag) = tag {
                    r = r.header("If-None-Match", tag);
                }
                let r = r.send().await.unwrap();
                let status = r.status();
                let tag = r.headers().get("etag").map(|v| v.to_str().unwrap().to_string());
                (status, tag, r.bytes().await.unwrap())
            }
        };
        for path in ["/api/v1/cases?per_page=5", "/open311/v2/services.json", "/open311/v2/requests.json"] {
            let (status, tag, body) = get(path.to_string(), None).await;
            assert_eq!(status, StatusCode::OK, "[{}] {path}", app.engine);
            let tag = tag.unwrap_or_else(|| panic!("[{}] {path} has an ETag", app.engine));
            assert!(!body.is_empty());
            let (status, _, body) = get(path.to_string(), Some(tag.clone())).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "[{}] {path}", app.engine);
            assert!(body.is_empty(), "[{}] a 304 has no body", app.engine);
            let (status, _, _) = get(path.to_string(), Some("\"stale\"".into())).await;
            assert_eq!(status, StatusCode::OK, "[{}] {path} with another tag", app.engine);
        }
        // A change makes a new tag: the list's old tag gets the whole list again.
        let (_, tag, _) = get("/api/v1/cases?per_page=5".into(), None).await;
        let (s, _) = app
            .post(
                "/api/v1/cases",
                &officer,
                json!({"category": "SQ07", "description": "楼道堆物，有新情况", "grid": "411602001001001001"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (status, fresh, _) = get("/api/v1/cases?per_page=5".into(), tag.clone()).await;
        assert_eq!(status, StatusCode::OK, "[{}] the list changed", app.engine);
        assert_ne!(fresh, tag);
        // Errors and pages carry none.
        let (status, tag, _) = get("/api/v1/cases/not-an-id".into(), None).await;
        assert_ne!(status, StatusCode::OK);
        assert!(tag.is_none());
    }
}

#[tokio::test]
async fn services_come_from_memory_until_a_category_changes() {
    for app in apps().await {
        let admin = app.token("admin").await;
        let name_of = |v: &Value, code: &str| {
            v.as_array().unwrap().iter().find(|s| s["service_code"] == code).unwrap()["service_name"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let services = || async {
            let r = app
                .client
                .get(format!("{}/open311/v2/services.json", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        };
        let first = name_of(&services().await, "SQ07");
        // Behind the service's back: the list in memory does not ask the database again.
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE case_categories SET name = '暗改' WHERE code = 'SQ07'"
        )
        .execute(c)
        .await
        .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(name_of(&services().await, "SQ07"), first, "[{}] served from memory", app.engine);
        // A change through the service is seen at once.
        let (s, v) = app
            .call(
                reqwest::Method::PATCH,
                "/api/v1/case-categories/SQ07",
                Some(&admin),
                Some(json!({"name": "楼道杂物"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(name_of(&services().await, "SQ07"), "楼道杂物", "[{}]", app.engine);
    }
}

#[tokio::test]
async fn a_key_revoked_in_this_process_stops_at_once() {
    for app in apps().await {
        let (key, secret) = keys::add(&app.db, Actor::System("test"), "411602", "测试接入", 1000).await.unwrap();
        let read = || async {
            app.client
                .get(format!("{}/open311/v2/services.json?api_key={secret}", app.base))
                .send()
                .await
                .unwrap()
                .status()
        };
        assert_eq!(read().await, StatusCode::OK);
        assert_eq!(read().await, StatusCode::OK, "the key, remembered");
        keys::revoke(&app.db, Actor::System("test"), key.id, "test").await.unwrap();
        assert_eq!(read().await, StatusCode::FORBIDDEN, "[{}] revoked: refused at once", app.engine);
    }
}

/// A client polling one search shares a kept answer, yet sees every change made through this
/// server at once: a new report, and a report declined.
#[tokio::test]
async fn a_kept_search_answer_follows_every_change() {
    for app in apps().await {
        let officer = app.token("building").await;
        let community = app.token("community").await;
        let (_, secret) = keys::add(&app.db, Actor::System("test"), "411602", "轮询", 1_000).await.unwrap();
        let search = || {
            let (client, base, key) = (app.client.clone(), app.base.clone(), secret.clone());
            async move {
                let r = client
                    .get(format!("{base}/open311/v2/requests.json"))
                    .query(&[("api_key", key)])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                let tag = r.headers()["etag"].to_str().unwrap().to_string();
                (tag, r.json::<Value>().await.unwrap())
            }
        };
        let (tag, before) = search().await;
        let (again, same) = search().await;
        assert_eq!(
            (&again, &same),
            (&tag, &before),
            "[{}] nothing changed: the same answer",
            app.engine
        );
        let (st, made) = app
            .post(
                "/api/v1/cases",
                &officer,
                json!({"category": "SQ07", "description": "楼道堆放纸箱，堵住消防通道", "grid": "411602001001001001"}),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{made}");
        let id = made["id"].as_str().unwrap().to_string();
        let (tag2, after) = search().await;
        assert_ne!(tag2, tag, "[{}] a new report changes the answer", app.engine);
        let listed = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .find(|r| r["service_request_id"] == id.as_str())
                .cloned()
        };
        assert_eq!(
            after.as_array().unwrap().len(),
            before.as_array().unwrap().len() + 1,
            "[{}] one more request",
            app.engine
        );
        assert_eq!(listed(&after).unwrap()["status"], "open", "[{}]", app.engine);
        let (st, v) = app
            .post(
                &format!("/api/v1/cases/{id}/actions"),
                &community,
                json!({"action": "decline", "reason": "不属于受理范围"}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (tag3, declined) = search().await;
        assert_ne!(tag3, tag2, "[{}]", app.engine);
        assert_eq!(
            listed(&declined).unwrap()["status"],
            "closed",
            "[{}] declined is closed at once",
            app.engine
        );
    }
}
