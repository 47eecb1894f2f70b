//! Calls (一键智达) through the signalling socket, on both engines: sign-in and origin required,
//! messages relayed only between the two parties of a call the server placed, a call to someone
//! offline logged as missed, answered / declined calls and the command centre logged with their
//! outcome and duration, and the call log's scope.

use std::time::Duration;

use futures_like::{next_text, send};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::{App, apps, code, sign_in};

const BUILDING: &str = "411602001001001001";
const COMPOUND: &str = "411602001001001";
const OTHER_COMMUNITY: &str = "411602001002";

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The socket's URL and the origin a page of this server would send.
fn url(app: &App) -> (String, String) {
    (
        format!("{}/api/v1/calls/socket", app.base.replace("http://", "ws://")),
        app.base.clone(),
    )
}

/// Open the socket with a cookie and an origin; the HTTP status if the handshake is refused.
async fn open(app: &App, cookie: Option<&str>, origin: Option<&str>) -> Result<Socket, u16> {
    let (u, _) = url(app);
    let mut req = u.into_client_request().unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("cookie", HeaderValue::from_str(c).unwrap());
    }
    if let Some(o) = origin {
        req.headers_mut().insert("origin", HeaderValue::from_str(o).unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => Ok(s),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("handshake: {e}"),
    }
}

/// A signed-in user's socket, past its `hello`: (socket, user id).
async fn join(app: &App, user: &str) -> (Socket, String) {
    let cookie = sign_in(app, user).await;
    let (_, origin) = url(app);
    let mut s = open(app, Some(&cookie), Some(&origin)).await.expect("socket opens");
    let hello = expect(&mut s, "hello").await;
    let id = hello["me"].as_str().unwrap().to_string();
    (s, id)
}

/// The next message of type `t` (others skipped), within 5 s.
async fn expect(s: &mut Socket, t: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let m = tokio::time::timeout(left, next_text(s))
            .await
            .unwrap_or_else(|_| panic!("no `{t}` message in 5 s"))
            .expect("socket open");
        if m["t"] == t {
            return m;
        }
        assert!(m["t"] != "error" || t == "error", "waiting for `{t}`, got {m}");
    }
}

/// Nothing arrives (but pongs) for a moment.
async fn quiet(s: &mut Socket) {
    send(s, json!({"t": "ping"})).await;
    let m = expect(s, "pong").await;
    assert_eq!(m["t"], "pong");
    if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), next_text(s)).await {
        panic!("expected nothing, got {m}");
    }
}

async fn log_of(app: &App, user: &str, query: &str) -> (StatusCode, Value) {
    let t = app.token(user).await;
    app.get(&format!("/api/v1/calls{query}"), &t).await
}

async fn row(app: &App, id: &str) -> Value {
    let (st, v) = log_of(app, "admin", "?per_page=100").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// The log row reaches its end (the last write follows the last message by a moment).
async fn ended_row(app: &App, id: &str) -> Value {
    for _ in 0..50 {
        let r = row(app, id).await;
        if !r["outcome"].is_null() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("call {id} never ended in the log");
}

#[tokio::test]
async fn the_socket_needs_a_sign_in_a_grid_post_and_our_own_origin() {
    for app in apps().await {
        let (_, origin) = url(&app);
        assert_eq!(
            open(&app, None, Some(&origin)).await.err(),
            Some(401),
            "[{}] no sign-in",
            app.engine
        );
        let cookie = sign_in(&app, "building").await;
        assert_eq!(
            open(&app, Some(&cookie), Some("http://evil.example")).await.err(),
            Some(403),
            "[{}] another site's page",
            app.engine
        );
        assert_eq!(open(&app, Some(&cookie), None).await.err(), Some(403), "[{}] no origin", app.engine);
        let port = app.base.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
        assert_eq!(
            open(&app, Some(&cookie), Some(&other_port)).await.err(),
            Some(403),
            "[{}] other port",
            app.engine
        );
        // Residents and departments take no part in grid calls.
        for user in ["resident", "department"] {
            let c = sign_in(&app, user).await;
            assert_eq!(
                open(&app, Some(&c), Some(&origin)).await.err(),
                Some(403),
                "[{}] {user}",
                app.engine
            );
        }
        // A plain GET (no upgrade) says where to connect and how many are online.
        let r = app
            .client
            .get(format!("{}/api/v1/calls/socket", app.base))
            .header("cookie", &cookie)
            .header("origin", &origin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["websocket"], "/api/v1/calls/socket");
        assert_eq!(v["online"], 0, "[{}] nobody connected yet: {v}", app.engine);
        assert!(
            open(&app, Some(&cookie), Some(&origin)).await.is_ok(),
            "[{}] our own page",
            app.engine
        );
    }
}

#[tokio::test]
async fn an_answered_call_relays_only_between_its_parties_and_is_logged_with_its_duration() {
    for app in apps().await {
        let (mut admin, _) = join(&app, "admin").await;
        let (mut building, building_id) = join(&app, "building").await;
        let (mut community, _) = join(&app, "community").await;

        // The admin sees the building's officer online at the building…
        let t = app.token("admin").await;
        let (_, info) = app.get("/api/v1/calls/socket", &t).await;
        assert_eq!(info["online"], 3, "…and three people online in the district: {info}");
        let (st, v) = app.get(&format!("/api/v1/grids/{BUILDING}/reachable"), &t).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let officer = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["user_id"] == building_id.as_str())
            .cloned();
        let officer = officer.expect("the building officer is reachable");
        assert_eq!(officer["online"], true);
        assert_eq!(officer["role"], "building_officer");
        assert!(officer.get("phone").is_none());

        // Relaying into a call that does not exist is refused.
        let fake = uuid::Uuid::now_v7().to_string();
        send(&mut admin, json!({"t": "offer", "call": fake, "sdp": "v=0"})).await;
        assert_eq!(expect(&mut admin, "error").await["code"], "no_call");
        // Ring: the building rings; the community (not called) hears nothing.
        send(
            &mut admin,
            json!({"t": "ring", "to": building_id, "grid": BUILDING, "kind": "video"}),
        )
        .await;
        let ringing = expect(&mut admin, "ringing").await;
        let call = ringing["call"].as_str().unwrap().to_string();
        let inc = expect(&mut building, "incoming").await;
        assert_eq!(inc["call"], call.as_str());
        assert_eq!(inc["kind"], "video");
        // Before it is answered, nothing is relayed, even by the parties.
        send(&mut admin, json!({"t": "offer", "call": call, "sdp": "v=0 early"})).await;
        let e = expect(&mut admin, "error").await;
        assert_eq!(e["code"], "no_call");
        // Someone who was not rung cannot answer it.
        send(&mut community, json!({"t": "accept", "call": call})).await;
        assert_eq!(expect(&mut community, "error").await["code"], "no_call");

        send(&mut building, json!({"t": "accept", "call": call})).await;
        expect(&mut building, "connected").await;
        let acc = expect(&mut admin, "accepted").await;
        assert_eq!(acc["call"], call.as_str());
        // Offer, answer and candidates pass between the two parties…
        send(&mut admin, json!({"t": "offer", "call": call, "sdp": "v=0 offer"})).await;
        assert_eq!(expect(&mut building, "offer").await["sdp"], "v=0 offer");
        send(&mut building, json!({"t": "answer", "call": call, "sdp": "v=0 answer"})).await;
        assert_eq!(expect(&mut admin, "answer").await["sdp"], "v=0 answer");
        send(
            &mut building,
            json!({"t": "ice", "call": call, "candidate": {"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"}}),
        )
        .await;
        assert_eq!(
            expect(&mut admin, "ice").await["candidate"]["candidate"],
            "candidate:1 1 udp 1 10.0.0.1 9 typ host"
        );
        // Someone else calling the officer now finds the line busy: missed at once, no ring.
        send(
            &mut community,
            json!({"t": "ring", "to": building_id, "grid": BUILDING, "kind": "voice"}),
        )
        .await;
        let busy = expect(&mut community, "ended").await;
        assert_eq!((busy["outcome"].as_str(), busy["reason"].as_str()), (Some("missed"), Some("busy")));
        assert_eq!(ended_row(&app, busy["call"].as_str().unwrap()).await["outcome"], "missed");
        // …and a third person's message naming the call reaches no one.
        send(&mut community, json!({"t": "offer", "call": call, "sdp": "v=0 intruder"})).await;
        assert_eq!(expect(&mut community, "error").await["code"], "no_call");
        quiet(&mut building).await;
        quiet(&mut admin).await;

        tokio::time::sleep(Duration::from_millis(1_100)).await;
        send(&mut building, json!({"t": "hangup", "call": call})).await;
        let end = expect(&mut admin, "ended").await;
        assert_eq!(end["outcome"], "answered");
        expect(&mut building, "ended").await;
        let r = ended_row(&app, &call).await;
        assert_eq!(r["outcome"], "answered", "[{}] {r}", app.engine);
        assert_eq!(r["kind"], "video");
        assert_eq!(r["grid_code"], BUILDING);
        assert_eq!(r["callee_id"], building_id.as_str());
        assert!(r["answered_at"].as_i64().is_some() && r["ended_at"].as_i64().is_some());
        let d = r["duration_ms"].as_i64().unwrap();
        assert!((1_000..60_000).contains(&d), "[{}] duration {d}", app.engine);
        // Ring, answer, end: three audit rows.
        let n: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE target_kind = 'call' AND target_id = $1"
        )
        .bind(&call)
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(n, 3);
        // After the end, relaying is refused again.
        send(&mut admin, json!({"t": "offer", "call": call, "sdp": "v=0 late"})).await;
        assert_eq!(expect(&mut admin, "error").await["code"], "no_call");
    }
}

#[tokio::test]
async fn calls_to_someone_offline_are_missed_and_a_refusal_is_declined() {
    for app in apps().await {
        let (mut admin, _) = join(&app, "admin").await;
        // The compound's leader is not connected: logged at once as missed.
        let t = app.token("admin").await;
        let (st, v) = app.get(&format!("/api/v1/grids/{COMPOUND}/reachable"), &t).await;
        assert_eq!(st, StatusCode::OK);
        let leader = &v["items"][0];
        assert_eq!(leader["online"], false, "{v}");
        send(
            &mut admin,
            json!({"t": "ring", "to": leader["user_id"], "grid": COMPOUND, "kind": "voice"}),
        )
        .await;
        let end = expect(&mut admin, "ended").await;
        assert_eq!((end["outcome"].as_str(), end["reason"].as_str()), (Some("missed"), Some("offline")));
        let r = ended_row(&app, end["call"].as_str().unwrap()).await;
        assert_eq!((r["outcome"].as_str(), r["duration_ms"].as_i64()), (Some("missed"), Some(0)));
        assert_eq!(r["callee_name"], leader["name"]);

        // A person not holding a post at the grid named is not reachable from it.
        let (mut building, building_id) = join(&app, "building").await;
        send(
            &mut admin,
            json!({"t": "ring", "to": building_id, "grid": COMPOUND, "kind": "voice"}),
        )
        .await;
        assert_eq!(expect(&mut admin, "error").await["code"], "not_reachable");
        // The building's officer cannot call up into the compound from its page.
        let (_compound, compound_id) = join(&app, "compound").await;
        send(
            &mut building,
            json!({"t": "ring", "to": compound_id, "grid": COMPOUND, "kind": "voice"}),
        )
        .await;
        assert_eq!(expect(&mut building, "error").await["code"], "not_reachable");

        // Declined.
        send(
            &mut admin,
            json!({"t": "ring", "to": building_id, "grid": BUILDING, "kind": "voice"}),
        )
        .await;
        let call = expect(&mut admin, "ringing").await["call"].as_str().unwrap().to_string();
        expect(&mut building, "incoming").await;
        // Busy: the caller cannot ring twice at once.
        send(
            &mut admin,
            json!({"t": "ring", "to": building_id, "grid": BUILDING, "kind": "voice"}),
        )
        .await;
        assert_eq!(expect(&mut admin, "error").await["code"], "busy");
        send(&mut building, json!({"t": "decline", "call": call})).await;
        assert_eq!(expect(&mut admin, "ended").await["outcome"], "declined");
        let r = ended_row(&app, &call).await;
        assert_eq!((r["outcome"].as_str(), r["answered_at"].is_null()), (Some("declined"), true));

        // The caller hangs up while it rings: missed.
        send(
            &mut admin,
            json!({"t": "ring", "to": building_id, "grid": BUILDING, "kind": "voice"}),
        )
        .await;
        let call = expect(&mut admin, "ringing").await["call"].as_str().unwrap().to_string();
        expect(&mut building, "incoming").await;
        send(&mut admin, json!({"t": "hangup", "call": call})).await;
        assert_eq!(expect(&mut building, "cancel").await["call"], call.as_str());
        assert_eq!(ended_row(&app, &call).await["outcome"], "missed");

        // The callee's page closes while it rings: missed too, and the caller is told.
        send(
            &mut admin,
            json!({"t": "ring", "to": building_id, "grid": BUILDING, "kind": "voice"}),
        )
        .await;
        let call = expect(&mut admin, "ringing").await["call"].as_str().unwrap().to_string();
        expect(&mut building, "incoming").await;
        drop(building);
        assert_eq!(expect(&mut admin, "ended").await["outcome"], "missed");
        assert_eq!(ended_row(&app, &call).await["outcome"], "missed");
    }
}

#[tokio::test]
async fn the_command_centre_rings_the_district_and_the_street_and_the_first_takes_it() {
    for app in apps().await {
        let (mut admin, admin_id) = join(&app, "admin").await;
        let (mut street, street_id) = join(&app, "street").await;
        let (mut community, _) = join(&app, "community").await;
        let (mut building, _) = join(&app, "building").await;
        send(&mut building, json!({"t": "ring", "to": "command", "kind": "video"})).await;
        let call = expect(&mut building, "ringing").await["call"].as_str().unwrap().to_string();
        let a = expect(&mut admin, "incoming").await;
        let s = expect(&mut street, "incoming").await;
        assert_eq!((a["command"].as_bool(), s["call"].as_str()), (Some(true), Some(call.as_str())));
        assert_eq!(a["from"]["grid"], BUILDING);
        quiet(&mut community).await;
        send(&mut street, json!({"t": "accept", "call": call})).await;
        expect(&mut street, "connected").await;
        let cancel = expect(&mut admin, "cancel").await;
        assert_eq!(cancel["reason"], "taken");
        assert_eq!(expect(&mut building, "accepted").await["call"], call.as_str());
        // The one who lost the race cannot take it any more.
        send(&mut admin, json!({"t": "accept", "call": call})).await;
        assert_eq!(expect(&mut admin, "error").await["code"], "no_call");
        send(&mut building, json!({"t": "hangup", "call": call})).await;
        expect(&mut street, "ended").await;
        let r = ended_row(&app, &call).await;
        assert_eq!(r["target"], "command");
        assert_eq!(r["callee_id"], street_id.as_str());
        assert_ne!(r["callee_id"], admin_id.as_str());
        assert_eq!(r["grid_code"], BUILDING);
    }
}

#[tokio::test]
async fn the_call_log_is_scoped_to_the_callers_grids() {
    for app in apps().await {
        let (mut admin, _) = join(&app, "admin").await;
        let t = app.token("admin").await;
        // One missed call at the building, one at its compound (above the building).
        for grid in [BUILDING, COMPOUND] {
            let (_, v) = app.get(&format!("/api/v1/grids/{grid}/reachable"), &t).await;
            if let Some(p) = v["items"].as_array().and_then(|a| a.first()) {
                send(&mut admin, json!({"t": "ring", "to": p["user_id"], "grid": grid, "kind": "voice"})).await;
                expect(&mut admin, "ended").await;
            }
        }
        let (st, v) = log_of(&app, "building", "").await;
        assert_eq!(st, StatusCode::OK);
        let total = v["total"].as_i64().unwrap();
        assert!(total >= 1, "the building sees its own missed call: {v}");
        assert!(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["grid_code"].as_str().unwrap().starts_with(BUILDING))
        );
        let (_, all) = log_of(&app, "admin", "").await;
        assert!(
            all["total"].as_i64().unwrap() > total,
            "the district sees more than the building: {all}"
        );
        let (st, v) = log_of(&app, "community", &format!("?grid={OTHER_COMMUNITY}")).await;
        assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
        let (st, v) = log_of(&app, "community", &format!("?grid={BUILDING}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["total"].as_i64().unwrap(), total);
        for user in ["resident", "department", "keeper"] {
            let (st, _) = log_of(&app, user, "").await;
            assert_eq!(st, StatusCode::FORBIDDEN, "[{}] {user}", app.engine);
        }
        let (st, _) = app.call(reqwest::Method::GET, "/api/v1/calls", None, None).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        // Reachable: outside the caller's grid is hidden, residents are refused.
        let b = app.token("building").await;
        let (st, _) = app.get(&format!("/api/v1/grids/{OTHER_COMMUNITY}/reachable"), &b).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let r = app.token("resident").await;
        let (st, _) = app.get(&format!("/api/v1/grids/{BUILDING}/reachable"), &r).await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        // The duty page lists the calls for staff and refuses residents.
        let cookie = sign_in(&app, "admin").await;
        let (st, html) = crate::support::page(&app, &cookie, "/console/calls").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("未接") && html.contains("/static/calls.js"), "{html}");
        let cookie = sign_in(&app, "building").await;
        let (_, html) = crate::support::page(&app, &cookie, "/console/calls").await;
        assert!(html.contains("呼叫指挥中心"));
        let (_, html) = crate::support::page(&app, &cookie, &format!("/console/grids/{BUILDING}")).await;
        assert!(html.contains("一键智达"), "the grid page has the call panel");
        let cookie = sign_in(&app, "resident").await;
        let (st, html) = crate::support::page(&app, &cookie, "/console/calls").await;
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(!html.contains("/static/calls.js"));
    }
}

/// Sending and receiving JSON text on a test socket.
mod futures_like {
    use futures_util::{SinkExt, StreamExt};
    use serde_json::Value;
    use tokio_tungstenite::tungstenite::Message;

    use super::Socket;

    pub async fn send(s: &mut Socket, v: Value) {
        s.send(Message::Text(v.to_string().into())).await.expect("send");
    }

    /// The next text message as JSON; `None` when the socket closed.
    pub async fn next_text(s: &mut Socket) -> Option<Value> {
        loop {
            match s.next().await? {
                Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// requested, answered, ended, outcome, duration.
type LoggedCall = (i64, Option<i64>, Option<i64>, Option<String>, i64);

#[tokio::test]
async fn the_demo_holds_weeks_of_finished_calls() {
    for app in apps().await {
        let rows: Vec<LoggedCall> = gongzhi::on_pool!(&app.db, |p| sqlx::query_as(
            "SELECT requested_at, answered_at, ended_at, outcome, duration_ms FROM calls ORDER BY requested_at"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert!(rows.len() >= 20, "[{}] {} calls", app.engine, rows.len());
        let span = rows.last().unwrap().0 - rows[0].0;
        assert!(span > 30 * 86_400_000, "[{}] a month and more", app.engine);
        let now = gongzhi::db::now_ms();
        for (req, ans, end, outcome, d) in &rows {
            let end = end.expect("every demo call ended");
            assert!(*req <= end && end < now);
            match outcome.as_deref() {
                Some("answered") => assert!(*d > 0 && ans.is_some()),
                Some("missed") | Some("declined") => assert_eq!((*d, *ans), (0, None)),
                Some("failed") => {}
                o => panic!("outcome {o:?}"),
            }
            assert_eq!(*d, gongzhi::calls::rules::duration_ms(*ans, end));
        }
        let (_, log) = log_of(&app, "admin", "").await;
        assert_eq!(log["total"].as_i64().unwrap(), rows.len() as i64, "the district sees them all");
    }
}
