//! Broadcasts down the grid (五群) on both engines: who a notice reaches (subtree, levels, one row
//! per person), read receipts, acknowledgement of instructions, replies, reminders and their
//! throttle, who may send and oversee, webhooks (secrets never shown), the pages and the 待办; and
//! the outbox: a receiver down for a while then up gets every delivery exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{App, apps, code, csrf_of, page, post, sign_in};
use gongzhi::broadcasts::{deliver, rules, service};

const COMMUNITY: &str = "411602001001";
const COMPOUND: &str = "411602001001001";
const OTHER_COMMUNITY: &str = "411602001002";

/// A known start: the demo's broadcasts and outside groups removed, and its leader accounts
/// (`wg…`, which receive too) disabled, so only the demo accounts receive.
async fn quiet(app: &App) {
    for sql in [
        "DELETE FROM broadcast_outbox",
        "DELETE FROM broadcast_replies",
        "DELETE FROM broadcast_recipients",
        "DELETE FROM broadcasts",
        "DELETE FROM grid_webhooks",
        "UPDATE users SET disabled = TRUE WHERE username LIKE 'wg%'",
        // The services' community workers (issue 15) would be recipients too; these tests count
        // the core demo accounts.
        "UPDATE users SET disabled = TRUE WHERE username IN ('agent', 'mediator')",
    ] {
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(sql).execute(&mut *c).await.map(|_| ())).unwrap();
        tx.commit().await.unwrap();
    }
}

async fn send(app: &App, token: &str, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/broadcasts", token, body).await
}

async fn recipients_of(app: &App, id: &str) -> Vec<(String, String)> {
    let id: Uuid = id.parse().unwrap();
    gongzhi::on_pool!(&app.db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT u.username, r.grid_code FROM broadcast_recipients r JOIN users u ON u.id = r.user_id WHERE r.broadcast_id = $1 ORDER BY u.username"
    )
    .bind(id)
    .fetch_all(p)
    .await)
    .unwrap()
}

fn names(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|r| r.0.as_str()).collect()
}

#[tokio::test]
async fn a_notice_reaches_the_subtree_or_the_levels_chosen_once_per_person() {
    for app in apps().await {
        let e = app.engine;
        quiet(&app).await;
        let (admin, community, resident, department) = (
            app.token("admin").await,
            app.token("community").await,
            app.token("resident").await,
            app.token("department").await,
        );
        // The whole district: every grid worker below the admin, the department placed at the
        // district node, the property company of the first compound; no resident, no shop keeper.
        let (st, v) = send(&app, &admin, json!({"grid": "411602", "title": "防汛通知", "body": "做好防汛准备"})).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let all = recipients_of(&app, v["id"].as_str().unwrap()).await;
        assert_eq!(
            names(&all),
            ["building", "community", "compound", "department", "property", "street"],
            "[{e}]"
        );
        assert_eq!(v["recipients"], 6);
        // Levels: compounds and buildings of the community only.
        let (st, v) = send(
            &app,
            &admin,
            json!({"grid": COMMUNITY, "title": "燃气安全", "body": "入户检查", "levels": [4, 5]}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let some = recipients_of(&app, v["id"].as_str().unwrap()).await;
        assert_eq!(names(&some), ["building", "compound", "property"], "[{e}]");
        assert!(
            some.iter().any(|r| r == &("property".to_string(), COMPOUND.to_string())),
            "[{e}] at its compound"
        );
        let (st, v) = send(&app, &admin, json!({"grid": COMMUNITY, "title": "x", "body": "y", "levels": [5]})).await;
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(names(&recipients_of(&app, v["id"].as_str().unwrap()).await), ["building"], "[{e}]");
        // A person with two posts in the subtree gets one row, at the wider post.
        let compound_user: Uuid = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT id FROM users WHERE username = 'compound'")
            .fetch_one(p)
            .await)
        .unwrap();
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::auth::store::insert_post(
            &mut tx,
            "411602",
            compound_user,
            gongzhi::auth::Role::BuildingOfficer,
            Some("411602001001001002"),
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = send(&app, &community, json!({"grid": COMMUNITY, "title": "创文", "body": "清理楼道"})).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let rows = recipients_of(&app, v["id"].as_str().unwrap()).await;
        assert_eq!(
            names(&rows),
            ["building", "compound", "property"],
            "[{e}] the sender is left out, compound once"
        );
        assert!(rows.contains(&("compound".to_string(), COMPOUND.to_string())), "[{e}] {rows:?}");
        // Only at a node in one's scope; residents and departments send nowhere.
        let (st, b) = send(&app, &community, json!({"grid": OTHER_COMMUNITY, "title": "x", "body": "y"})).await;
        assert_eq!((st, code(&b)), (StatusCode::NOT_FOUND, "not_found"), "[{e}]");
        let (st, _) = send(&app, &community, json!({"grid": "411602001", "title": "x", "body": "y"})).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}] above the post");
        for t in [&resident, &department] {
            let (st, b) = send(&app, t, json!({"grid": "411602", "title": "x", "body": "y"})).await;
            assert_eq!((st, code(&b)), (StatusCode::FORBIDDEN, "forbidden"), "[{e}]");
        }
        // Text: normalised, bounded, never empty; levels 1–5 and not all above the node.
        let bad = [
            (json!({"grid": COMMUNITY, "title": " \u{3000} ", "body": "y"}), "invalid_title"),
            (json!({"grid": COMMUNITY, "title": "t".repeat(61), "body": "y"}), "invalid_title"),
            (
                json!({"grid": COMMUNITY, "title": "t", "body": "b".repeat(2001)}),
                "invalid_body_text",
            ),
            (
                json!({"grid": COMMUNITY, "title": "t", "body": "y", "levels": [9]}),
                "invalid_levels",
            ),
            (
                json!({"grid": COMMUNITY, "title": "t", "body": "y", "levels": [1, 2]}),
                "invalid_levels",
            ),
            (
                json!({"grid": COMMUNITY, "title": "t", "body": "y", "kind": "order"}),
                "invalid_kind",
            ),
        ];
        let before = app.count("broadcasts").await;
        for (body, want) in bad {
            let (st, b) = send(&app, &community, body).await;
            assert_eq!((st, code(&b)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{e}]");
        }
        assert_eq!(app.count("broadcasts").await, before, "[{e}] a refused send writes nothing");
        let (st, v) = send(
            &app,
            &community,
            json!({"grid": COMMUNITY, "title": " ＡＢＣ 反诈\u{3000}", "body": "第一行，\r\n第二行"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        let (_, got) = app
            .get(&format!("/api/v1/broadcasts/{}", v["id"].as_str().unwrap()), &community)
            .await;
        assert_eq!(
            (got["title"].as_str(), got["body"].as_str()),
            (Some("ＡＢＣ 反诈"), Some("第一行，\n第二行")),
            "[{e}]"
        );
        // Inboxes: the building has what reached it; the resident nothing.
        let building = app.token("building").await;
        let (st, inbox) = app.get("/api/v1/broadcasts?box=inbox", &building).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(inbox["total"], 5, "[{e}] {inbox}");
        let (_, none) = app.get("/api/v1/broadcasts", &resident).await;
        assert_eq!(none["total"], 0);
        let (_, sent) = app.get("/api/v1/broadcasts?box=sent", &community).await;
        assert_eq!(sent["total"], 2);
        assert_eq!(sent["items"][0]["recipients"], 3);
        let (st, b) = app.get("/api/v1/broadcasts?box=trash", &community).await;
        assert_eq!((st, code(&b)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_box"));
        // Every send is audited.
        let (_, audit) = app.get("/api/v1/audit?action=broadcast.send", &admin).await;
        assert_eq!(audit["total"], 5, "[{e}]");
    }
}

#[tokio::test]
async fn receipts_acknowledgements_replies_and_reminders() {
    for app in apps().await {
        let e = app.engine;
        quiet(&app).await;
        let (admin, community, compound, building, property, street) = (
            app.token("admin").await,
            app.token("community").await,
            app.token("compound").await,
            app.token("building").await,
            app.token("property").await,
            app.token("street").await,
        );
        let (st, v) = send(
            &app,
            &community,
            json!({"grid": COMMUNITY, "title": "防汛值守指令", "body": "今晚到岗", "kind": "instruction"}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "[{e}] {v}");
        let id = v["id"].as_str().unwrap().to_string();
        let path = |what: &str| format!("/api/v1/broadcasts/{id}/{what}");
        // The command screen's list of open instructions.
        let open = service::open_instructions(&app.db, "411602", "411602").await.unwrap();
        assert_eq!(open.len(), 1, "[{e}]");
        assert_eq!((open[0].recipients, open[0].acked, open[0].grid.as_str()), (3, 0, COMMUNITY));
        assert!(
            service::open_instructions(&app.db, "411602", OTHER_COMMUNITY)
                .await
                .unwrap()
                .is_empty()
        );

        // Reading: once; the API's GET does not read it, the receipt does.
        let (_, got) = app.get(&format!("/api/v1/broadcasts/{id}"), &building).await;
        assert_eq!(got["receipt"]["read_at"], Value::Null, "[{e}] {got}");
        assert_eq!(got["receipts"], json!([]), "[{e}] a recipient does not see the receipts");
        let (st, r) = app.post(&path("read"), &building, json!({})).await;
        assert_eq!((st, &r["changed"]), (StatusCode::OK, &json!(true)), "[{e}] {r}");
        let (_, r) = app.post(&path("read"), &building, json!({})).await;
        assert_eq!(r["changed"], false);
        let (st, b) = app.post(&path("read"), &admin, json!({})).await;
        assert_eq!((st, code(&b)), (StatusCode::CONFLICT, "not_a_recipient"), "[{e}]");
        // Acknowledging an instruction; twice changes nothing.
        let (st, r) = app.post(&path("ack"), &building, json!({})).await;
        assert_eq!((st, &r["changed"]), (StatusCode::OK, &json!(true)), "[{e}] {r}");
        let (_, r) = app.post(&path("ack"), &building, json!({})).await;
        assert_eq!(r["changed"], false);
        let (st, b) = app.post(&path("ack"), &admin, json!({})).await;
        assert_eq!((st, code(&b)), (StatusCode::CONFLICT, "not_a_recipient"));
        // Replies: a recipient's, bounded; the sender sees them all, a recipient their own.
        let (st, _) = app.post(&path("reply"), &property, json!({"body": "物业已安排人员值守"})).await;
        assert_eq!(st, StatusCode::CREATED, "[{e}]");
        let (st, _) = app.post(&path("reply"), &building, json!({"body": "收到"})).await;
        assert_eq!(st, StatusCode::CREATED);
        let (st, b) = app.post(&path("reply"), &building, json!({"body": "  "})).await;
        assert_eq!((st, code(&b)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_reply"));
        let (st, b) = app.post(&path("reply"), &street, json!({"body": "x"})).await;
        assert_eq!(
            (st, code(&b)),
            (StatusCode::CONFLICT, "not_a_recipient"),
            "[{e}] the street oversees, not a recipient"
        );
        let (_, mine) = app.get(&format!("/api/v1/broadcasts/{id}"), &building).await;
        assert_eq!(mine["replies"].as_array().unwrap().len(), 1, "[{e}]");
        // The sender: counts, receipts per child node with who has not acknowledged.
        let (st, full) = app.get(&format!("/api/v1/broadcasts/{id}"), &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (full["recipients"].as_i64(), full["read"].as_i64(), full["acked"].as_i64()),
            (Some(3), Some(2), Some(1)),
            "[{e}] {full}"
        );
        assert_eq!(full["replies"].as_array().unwrap().len(), 2);
        let receipts = full["receipts"].as_array().unwrap();
        assert_eq!(receipts.len(), 1, "[{e}] every recipient is under the first compound: {receipts:?}");
        assert_eq!(receipts[0]["grid"], COMPOUND);
        assert_eq!(
            (
                receipts[0]["recipients"].as_i64(),
                receipts[0]["acked"].as_i64(),
                receipts[0]["pending_total"].as_i64()
            ),
            (Some(3), Some(1), Some(2))
        );
        assert_eq!(receipts[0]["pending"].as_array().unwrap().len(), 2);
        // Anyone with scope over the node oversees it; others do not even see it.
        let (st, _) = app.get(&format!("/api/v1/broadcasts/{id}"), &street).await;
        assert_eq!(st, StatusCode::OK);
        let resident = app.token("resident").await;
        let (st, _) = app.get(&format!("/api/v1/broadcasts/{id}"), &resident).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        // Reminders: the two owing are reminded, then not again within the hour.
        let (st, b) = app.post(&path("remind"), &building, json!({})).await;
        assert_eq!(
            (st, code(&b)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "[{e}] a recipient does not remind"
        );
        let (st, r) = app.post(&path("remind"), &community, json!({})).await;
        assert_eq!((st, &r["reminded"]), (StatusCode::OK, &json!(2)), "[{e}] {r}");
        let (st, b) = app.post(&path("remind"), &community, json!({})).await;
        assert_eq!((st, code(&b)), (StatusCode::TOO_MANY_REQUESTS, "remind_too_soon"), "[{e}]");
        let (_, owed) = app.get("/api/v1/broadcasts?pending=true", &compound).await;
        assert_eq!(owed["total"], 1, "[{e}]");
        assert!(owed["items"][0]["reminded_at"].is_string(), "[{e}] {owed}");
        let (_, owed) = app.get("/api/v1/broadcasts?pending=true", &building).await;
        assert_eq!(owed["total"], 0, "[{e}] acknowledged: no longer owed");
        // Everyone acknowledges: nothing to remind, no open instruction left.
        for t in [&compound, &property] {
            let (st, _) = app.post(&path("ack"), t, json!({})).await;
            assert_eq!(st, StatusCode::OK);
        }
        let (st, b) = app.post(&path("remind"), &community, json!({})).await;
        assert_eq!((st, code(&b)), (StatusCode::CONFLICT, "nothing_to_remind"), "[{e}]");
        assert!(
            service::open_instructions(&app.db, "411602", "411602").await.unwrap().is_empty(),
            "[{e}]"
        );
        // A notice is read, not acknowledged.
        let (_, n) = send(
            &app,
            &community,
            json!({"grid": COMMUNITY, "title": "疫苗接种", "body": "周六上午"}),
        )
        .await;
        let (st, b) = app
            .post(
                &format!("/api/v1/broadcasts/{}/ack", n["id"].as_str().unwrap()),
                &building,
                json!({}),
            )
            .await;
        assert_eq!((st, code(&b)), (StatusCode::CONFLICT, "not_an_instruction"), "[{e}]");
        // Outside one's scope: not found.
        let (_, far) = send(&app, &admin, json!({"grid": OTHER_COMMUNITY, "title": "金桂通知", "body": "x"})).await;
        let (st, _) = app
            .get(&format!("/api/v1/broadcasts/{}", far["id"].as_str().unwrap()), &community)
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        let (st, _) = app
            .post(
                &format!("/api/v1/broadcasts/{}/remind", far["id"].as_str().unwrap()),
                &community,
                json!({}),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        let (_, audit) = app.get("/api/v1/audit?action=broadcast.ack", &admin).await;
        assert_eq!(audit["total"], 3, "[{e}] one per acknowledgement, none for a repeat");
    }
}

#[tokio::test]
async fn webhooks_are_set_by_node_managers_and_never_show_their_secret() {
    for app in apps().await {
        let e = app.engine;
        quiet(&app).await;
        let (community, compound) = (app.token("community").await, app.token("compound").await);
        let url = format!("/api/v1/grids/{COMMUNITY}/webhooks");
        let secret = "SECabcdef0123456789";
        let body = json!({"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=TOKEN123", "secret": secret});
        let (st, w) = app.call(reqwest::Method::PUT, &url, Some(&community), Some(body)).await;
        assert_eq!(st, StatusCode::OK, "[{e}] {w}");
        assert_eq!(
            (w["kind"].as_str(), w["secret_set"].as_bool(), w["enabled"].as_bool()),
            (Some("dingtalk"), Some(true), Some(true))
        );
        let (st, list) = app.get(&url, &community).await;
        assert_eq!(st, StatusCode::OK);
        let text = list.to_string();
        assert!(!text.contains(secret) && !text.contains("TOKEN123"), "[{e}] {text}");
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        // Stored sealed, not in clear.
        let stored: String = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT secret FROM grid_webhooks")
            .fetch_one(p)
            .await)
        .unwrap();
        assert!(!stored.contains(secret) && stored.starts_with('s'), "[{e}] {stored}");
        let stored_url: String =
            gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT url FROM grid_webhooks").fetch_one(p).await).unwrap();
        assert!(
            !stored_url.contains("TOKEN123") && gongzhi::sealed::ring().open(&stored_url).unwrap().contains("TOKEN123"),
            "[{e}] the robot's token in the address is sealed too"
        );
        assert_eq!(gongzhi::sealed::ring().open(&stored).unwrap(), secret);
        // Changing the address keeps the secret unless one is sent; "" removes it.
        let (_, w) = app
            .call(
                reqwest::Method::PUT,
                &url,
                Some(&community),
                Some(json!({"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=T2", "enabled": false})),
            )
            .await;
        assert_eq!(
            (w["secret_set"].as_bool(), w["enabled"].as_bool()),
            (Some(true), Some(false)),
            "[{e}] {w}"
        );
        let (_, w) = app
            .call(
                reqwest::Method::PUT,
                &url,
                Some(&community),
                Some(json!({"kind": "dingtalk", "url": "https://h/x", "secret": ""})),
            )
            .await;
        assert_eq!(w["secret_set"], false);
        for (body, want) in [
            (json!({"kind": "wecom", "url": "ftp://h/x"}), "invalid_url"),
            (
                json!({"kind": "wecom", "url": format!("https://h/{}", "a".repeat(600))}),
                "invalid_url",
            ),
            (json!({"kind": "slack", "url": "https://h/x"}), "invalid_webhook_kind"),
        ] {
            let (st, b) = app.call(reqwest::Method::PUT, &url, Some(&community), Some(body)).await;
            assert_eq!((st, code(&b)), (StatusCode::UNPROCESSABLE_ENTITY, want), "[{e}]");
        }
        let (st, _) = app
            .call(
                reqwest::Method::PUT,
                &url,
                Some(&compound),
                Some(json!({"kind": "wecom", "url": "https://h/x"})),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "[{e}] a compound leader does not manage the grid");
        let (st, _) = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/grids/{OTHER_COMMUNITY}/webhooks"),
                Some(&community),
                Some(json!({"kind": "wecom", "url": "https://h/x"})),
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND, "[{e}]");
        assert_eq!(app.count("grid_webhooks").await, 1);
    }
}

/// DingTalk's 加签 for a fixed secret and timestamp, the expected value computed apart from this
/// code base (Python: `quote_plus(b64encode(hmac.new(secret, f"{ts}\n{secret}", sha256).digest()))`).
#[test]
fn dingtalk_signature_matches_an_independent_vector() {
    let (secret, ts) = ("SEC0123456789abcdefGONGZHI", 1_764_115_200_000);
    assert_eq!(rules::dingtalk_sign(secret, ts), "iVuhZ%2FS8QUDe95IKmVjLXgxfYrmh9GeaCwhKvKbJrmQ%3D");
    assert_eq!(
        rules::dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=abc", secret, ts),
        "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1764115200000&sign=iVuhZ%2FS8QUDe95IKmVjLXgxfYrmh9GeaCwhKvKbJrmQ%3D"
    );
}

#[tokio::test]
async fn pages_send_show_in_the_inbox_read_on_opening_and_remind() {
    for app in apps().await {
        let e = app.engine;
        quiet(&app).await;
        let community = sign_in(&app, "community").await;
        let (st, html) = page(&app, &community, "/console/broadcasts").await;
        assert_eq!(st, StatusCode::OK, "[{e}]");
        assert!(
            html.contains("发通知") && html.contains("楼栋"),
            "[{e}] the send form with its levels"
        );
        let csrf = csrf_of(&html);
        let form = [
            ("csrf", csrf.as_str()),
            ("grid", COMMUNITY),
            ("kind", "instruction"),
            ("l5", "1"),
            ("title", "楼道杂物清理"),
            ("body", "本周五前完成"),
        ];
        let (st, _, loc) = post(&app, &community, "/console/broadcasts", &form).await;
        assert_eq!(st, StatusCode::SEE_OTHER, "[{e}]");
        let loc = loc.unwrap();
        let id = loc
            .trim_start_matches("/console/broadcasts/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let (st, html, _) = post(
            &app,
            &community,
            "/console/broadcasts",
            &[("csrf", &csrf), ("grid", COMMUNITY), ("title", ""), ("body", "x")],
        )
        .await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "[{e}]");
        assert!(html.contains("标题内容不能为空"), "[{e}]");
        // The building officer (level 5) has it in 待办; the compound leader (level 4) does not.
        let building = sign_in(&app, "building").await;
        let (_, inbox) = page(&app, &building, "/console/inbox").await;
        assert!(inbox.contains("楼道杂物清理") && inbox.contains("待确认"), "[{e}]");
        let compound = sign_in(&app, "compound").await;
        let (_, other) = page(&app, &compound, "/console/inbox").await;
        assert!(!other.contains("楼道杂物清理"), "[{e}]");
        // Opening it reads it; the sender sees the receipt.
        let (st, html) = page(&app, &building, &format!("/console/broadcasts/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("确认收到") && !html.contains("接收情况"), "[{e}]");
        let (_, sender) = page(&app, &community, &format!("/console/broadcasts/{id}")).await;
        assert!(sender.contains("接收情况") && sender.contains("已确认 0/1"), "[{e}]");
        let st_read: Option<i64> = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT read_count FROM broadcasts WHERE id = $1")
            .bind(id.parse::<Uuid>().unwrap())
            .fetch_optional(p)
            .await)
        .unwrap();
        assert_eq!(st_read, Some(1), "[{e}] opened = read");
        // 提醒 from the page, then too soon.
        let (st, _, loc) = post(&app, &community, &format!("/console/broadcasts/{id}/remind"), &[("csrf", &csrf)]).await;
        assert_eq!(
            (st, loc.as_deref()),
            (
                StatusCode::SEE_OTHER,
                Some(format!("/console/broadcasts/{id}?msg=reminded").as_str())
            )
        );
        let (_, _, loc) = post(&app, &community, &format!("/console/broadcasts/{id}/remind"), &[("csrf", &csrf)]).await;
        assert!(loc.unwrap().ends_with("err=remind_too_soon"), "[{e}]");
        let (_, inbox) = page(&app, &building, "/console/inbox").await;
        assert!(inbox.contains("已提醒"), "[{e}] reminded, back in the 待办");
        // 确认收到 from the page: gone from the 待办.
        let b_csrf = csrf_of(&inbox);
        let (st, _, _) = post(&app, &building, &format!("/console/broadcasts/{id}/ack"), &[("csrf", &b_csrf)]).await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        let (_, inbox) = page(&app, &building, "/console/inbox").await;
        assert!(!inbox.contains("楼道杂物清理"), "[{e}]");
        let (_, forged, _) = post(
            &app,
            &building,
            &format!("/console/broadcasts/{id}/reply"),
            &[("csrf", "forged"), ("body", "x")],
        )
        .await;
        assert!(forged.contains("表单已过期"), "[{e}]");
    }
}

// ---- The outbox ----

/// What a receiver on 127.0.0.1 got: per delivery id, how many requests and when it answered.
#[derive(Default)]
struct Received {
    requests: HashMap<String, usize>,
    answered: HashMap<String, Instant>,
    bodies: Vec<(String, Value)>,
    dingtalk_signed: usize,
}

/// A receiver of the three kinds of webhook on `listener`, answering after `delay`.
fn receiver(listener: tokio::net::TcpListener, got: Arc<Mutex<Received>>, delay: Duration) -> tokio::task::JoinHandle<()> {
    use axum::extract::{RawQuery, State};
    use axum::http::HeaderMap;
    async fn take(
        State((got, delay)): State<(Arc<Mutex<Received>>, Duration)>,
        headers: HeaderMap,
        RawQuery(q): RawQuery,
        body: String,
    ) -> String {
        let id = headers[deliver::DELIVERY_HEADER].to_str().unwrap().to_string();
        let v: Value = serde_json::from_str(&body).unwrap();
        {
            let mut g = got.lock().unwrap();
            *g.requests.entry(id.clone()).or_default() += 1;
            g.bodies.push((id.clone(), v));
            // A DingTalk call carries timestamp and sign, which must be the secret's signature.
            if let Some(q) = q.filter(|q| q.contains("sign=")) {
                let ts: i64 = q.split("timestamp=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
                let sign = q.split("sign=").nth(1).unwrap().split('&').next().unwrap();
                assert_eq!(sign, rules::dingtalk_sign("SECtest", ts));
                g.dingtalk_signed += 1;
            }
        }
        tokio::time::sleep(delay).await;
        got.lock().unwrap().answered.insert(id, Instant::now());
        "{\"errcode\":0,\"errmsg\":\"ok\"}".to_string()
    }
    let app = axum::Router::new()
        .route("/{kind}", axum::routing::post(take))
        .with_state((got, delay));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    })
}

/// Link the three kinds of group at the community and send `n` notices there.
async fn hooks_and_notices(app: &App, port: u16, n: usize) -> Vec<String> {
    let community = app.token("community").await;
    for (kind, secret) in [("wecom", None), ("dingtalk", Some("SECtest")), ("generic", None)] {
        let mut body = json!({"kind": kind, "url": format!("http://127.0.0.1:{port}/{kind}")});
        if let Some(s) = secret {
            body["secret"] = json!(s);
        }
        let (st, w) = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/grids/{COMMUNITY}/webhooks"),
                Some(&community),
                Some(body),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{w}");
    }
    let mut ids = Vec::new();
    for i in 0..n {
        let (st, v) = send(
            app,
            &community,
            json!({"grid": COMMUNITY, "title": format!("第{i}号通知"), "body": "内容"}),
        )
        .await;
        assert_eq!((st, v["deliveries"].as_i64()), (StatusCode::CREATED, Some(3)), "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    ids
}

async fn outbox_states(app: &App) -> HashMap<String, i64> {
    let rows: Vec<(String, i64)> = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
        "SELECT state, COUNT(*) FROM broadcast_outbox GROUP BY state"
    )
    .fetch_all(p)
    .await)
    .unwrap();
    rows.into_iter().collect()
}

fn fast() -> deliver::Settings {
    deliver::Settings {
        backoff: rules::Backoff {
            base_ms: 100,
            cap_ms: 1_000,
            max_attempts: 1_000,
        },
        lease_ms: 5_000,
        poll: Duration::from_millis(50),
        timeout: Duration::from_secs(2),
        batch: 8,
    }
}

/// The receiver is down for a while (2 s, or `GONGZHI_OUTBOX_OUTAGE_SECS`), then up: every
/// notice reaches every group exactly once, with two workers racing for the rows.
#[tokio::test]
async fn a_receiver_down_then_up_gets_every_notice_exactly_once() {
    let outage = Duration::from_secs(
        std::env::var("GONGZHI_OUTBOX_OUTAGE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
    );
    for app in apps().await {
        let e = app.engine;
        quiet(&app).await;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let ids = hooks_and_notices(&app, port, 10).await;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Two workers, as two processes would be.
        let workers: Vec<_> = (0..2)
            .map(|_| tokio::spawn(deliver::Outbox::new(app.db.clone(), fast()).unwrap().run(stopped.clone())))
            .collect();
        tokio::time::sleep(outage).await;
        let states = outbox_states(&app).await;
        assert_eq!(states.get("pending"), Some(&30), "[{e}] nothing delivered while down: {states:?}");
        let attempts: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar("SELECT MIN(attempts) FROM broadcast_outbox")
            .fetch_one(p)
            .await)
        .unwrap();
        assert!(attempts >= 2, "[{e}] retried while down ({attempts})");
        let got = Arc::new(Mutex::new(Received::default()));
        let started = Instant::now();
        let server = receiver(
            tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
            got.clone(),
            Duration::ZERO,
        );
        loop {
            if outbox_states(&app).await.get("delivered") == Some(&30) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "[{e}] not all delivered: {:?}",
                outbox_states(&app).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caught_up = started.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = stop.send(true);
        for w in workers {
            w.await.unwrap();
        }
        server.abort();
        {
            let g = got.lock().unwrap();
            assert_eq!(g.requests.len(), 30, "[{e}]");
            assert!(
                g.requests.values().all(|n| *n == 1),
                "[{e}] a delivery was sent twice: {:?}",
                g.requests
            );
            assert_eq!(g.dingtalk_signed, 10, "[{e}]");
            // Each notice reached the generic receiver once, with its id.
            let mut generic: Vec<&str> = g.bodies.iter().filter_map(|(_, v)| v["id"].as_str()).collect();
            generic.sort();
            let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
            want.sort();
            assert_eq!(generic, want, "[{e}]");
            assert!(
                g.bodies
                    .iter()
                    .any(|(_, v)| v["markdown"]["content"].as_str().is_some_and(|c| c.contains("第0号通知")))
            );
            eprintln!("[{e}] outage {outage:?}: 30 deliveries, each once, all delivered {caught_up:?} after the receiver came up");
        }
        // The page shows the delivery state.
        let community = app.token("community").await;
        let (_, b) = app.get(&format!("/api/v1/broadcasts/{}", ids[0]), &community).await;
        let d = b["deliveries"].as_array().unwrap();
        assert_eq!(d.len(), 3);
        assert!(
            d.iter().all(|d| d["state"] == "delivered" && d["attempts"].as_i64().unwrap() >= 2),
            "[{e}] {d:?}"
        );
    }
}

/// A receiver that never answers 2xx: the row is given up after its attempts and shown failed.
#[tokio::test]
async fn a_delivery_is_given_up_after_its_attempts() {
    for app in apps().await {
        let e = app.engine;
        quiet(&app).await;
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let community = app.token("community").await;
        let (st, _) = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/grids/{COMMUNITY}/webhooks"),
                Some(&community),
                Some(json!({"kind": "generic", "url": format!("http://127.0.0.1:{port}/x?token=SHOULDNOTSHOW")})),
            )
            .await;
        assert_eq!(st, StatusCode::OK);
        let (_, v) = send(&app, &community, json!({"grid": COMMUNITY, "title": "t", "body": "b"})).await;
        let mut s = fast();
        s.backoff.max_attempts = 3;
        s.backoff.base_ms = 20;
        let w = deliver::Outbox::new(app.db.clone(), s).unwrap();
        for _ in 0..50 {
            w.tick().await.unwrap();
            if outbox_states(&app).await.get("failed") == Some(&1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let (_, b) = app
            .get(&format!("/api/v1/broadcasts/{}", v["id"].as_str().unwrap()), &community)
            .await;
        let d = &b["deliveries"][0];
        assert_eq!(
            (d["state"].as_str(), d["attempts"].as_i64()),
            (Some("failed"), Some(3)),
            "[{e}] {d}"
        );
        assert_eq!(d["last_error"], "无法连接");
        assert!(!b.to_string().contains("SHOULDNOTSHOW"));
    }
}

/// The real binary, killed (SIGKILL) while a receiver is still answering one delivery, then
/// restarted on the same database: no notice is lost, and none the receiver had answered before
/// the kill is sent to it again (only the one in flight is, with the same delivery id).
#[tokio::test]
async fn a_server_killed_mid_delivery_loses_nothing_and_repeats_nothing_answered() {
    use std::process::{Command, Stdio};
    for (e, url, db) in crate::support::fresh_databases().await {
        gongzhi::demo::load(&db, gongzhi::demo::Scale::Small, 7, false).await.unwrap();
        for sql in ["DELETE FROM grid_webhooks"] {
            let mut tx = db.begin().await.unwrap();
            gongzhi::on_tx!(&mut tx, |c| sqlx::query(sql).execute(&mut *c).await.map(|_| ())).unwrap();
            tx.commit().await.unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Received::default()));
        let server = receiver(listener, got.clone(), Duration::from_millis(700));
        let hook_url = gongzhi::sealed::ring().seal(&format!("http://127.0.0.1:{port}/generic"));
        let log = std::env::temp_dir().join(format!("gongzhi-outbox-kill-{e}.log"));
        let _ = std::fs::remove_file(&log);
        let mut tx = db.begin().await.unwrap();
        let row = gongzhi::broadcasts::store::HookRow {
            district: "411602",
            grid_code: COMMUNITY,
            kind: "generic",
            url: &hook_url,
            secret: None,
            enabled: true,
        };
        gongzhi::broadcasts::store::upsert_webhook(&mut tx, &row, gongzhi::db::now_ms())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let node = gongzhi::grid::store::get(&db, COMMUNITY).await.unwrap().unwrap();
        for i in 0..6 {
            let input = service::NewBroadcast {
                grid: COMMUNITY.into(),
                title: format!("重启测试{i}"),
                body: "内容".into(),
                ..Default::default()
            };
            let actor = gongzhi::audit::Actor::System("test");
            service::send_as(&db, actor, None, "411602", &node, &input, gongzhi::db::now_ms())
                .await
                .unwrap();
        }
        let spawn = || {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            Command::new(env!("CARGO_BIN_EXE_gongzhi"))
                .args(["serve", "--database-url", &url, "--listen", &format!("127.0.0.1:{port}")])
                // The keys the test sealed the address with (support installs the same ring).
                .env(
                    "GONGZHI_DATA_KEYS",
                    std::env::var("GONGZHI_DATA_KEYS").unwrap_or_else(|_| format!("1:{}", "ab".repeat(32))),
                )
                .env("GONGZHI_OUTBOX_BATCH", "1")
                .env("GONGZHI_OUTBOX_LEASE_MS", "3000")
                .env("GONGZHI_OUTBOX_POLL_MS", "50")
                .env("GONGZHI_OUTBOX_BASE_MS", "100")
                .env("GONGZHI_OUTBOX_TIMEOUT_MS", "2000")
                .env("GONGZHI_LOG", "gongzhi=info")
                .stdout(Stdio::null())
                .stderr(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(std::env::temp_dir().join(format!("gongzhi-outbox-kill-{e}.log")))
                        .unwrap(),
                )
                .spawn()
                .unwrap()
        };
        let mut first = spawn();
        let deadline = Instant::now() + Duration::from_secs(60);
        while got.lock().unwrap().answered.len() < 2 {
            assert!(Instant::now() < deadline, "[{e}] the first server delivered nothing");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Kill while the next is at the receiver, which answers 700 ms after it came.
        loop {
            {
                let g = got.lock().unwrap();
                if g.requests.len() > g.answered.len() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "[{e}] nothing in flight");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        first.kill().unwrap();
        first.wait().unwrap();
        let killed = Instant::now();
        let in_flight = {
            let g = got.lock().unwrap();
            g.requests.len() - g.answered.len()
        };
        assert_eq!(in_flight, 1, "[{e}] one delivery in flight at the kill");
        let mut second = spawn();
        let count_delivered = || async {
            gongzhi::on_pool!(&db, |p| sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM broadcast_outbox WHERE state = 'delivered'"
            )
            .fetch_one(p)
            .await)
            .unwrap()
        };
        while count_delivered().await < 6 {
            assert!(Instant::now() < deadline, "[{e}] not all delivered after the restart");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let restarted_in = killed.elapsed();
        second.kill().unwrap();
        second.wait().unwrap();
        server.abort();
        let g = got.lock().unwrap();
        assert_eq!(g.requests.len(), 6, "[{e}] every notice reached the receiver");
        let before_kill: Vec<&String> = g
            .answered
            .iter()
            .filter(|(_, at)| **at + Duration::from_millis(200) < killed)
            .map(|(id, _)| id)
            .collect();
        assert!(before_kill.len() >= 2, "[{e}]");
        for id in &before_kill {
            assert_eq!(g.requests[*id], 1, "[{e}] {id} was answered before the kill and sent again");
        }
        let repeats: usize = g.requests.values().map(|n| n - 1).sum();
        assert_eq!(repeats, 1, "[{e}] only the delivery in flight is sent again: {:?}", g.requests);
        eprintln!(
            "[{e}] killed with one delivery in flight: 6 notices delivered, {repeats} repeat (same delivery id), all delivered {restarted_in:?} after the kill"
        );
    }
}
