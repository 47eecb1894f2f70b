//! The signalling socket, `GET /api/v1/calls/socket`: a signed-in grid worker's browser keeps it
//! open; rings, answers and the WebRTC offer, answer and ICE candidates pass through it, only
//! between the two parties of a call the server placed. No media passes here.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::sync::mpsc;

use super::CallsState;
use super::hub::{self, Out};
use super::rules::{self, ClientMsg};
use super::service::{self, Session};
use crate::auth::Principal;
use crate::db::now_ms;
use crate::error::{AppError, ErrorBody};
use crate::web::extract::Json;

/// A plain GET (no upgrade): where the socket is and how many of the caller's grids' people are
/// connected now.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SocketInfo {
    /// Connect here with a WebSocket, from a page of this site (the `Origin` is checked).
    pub websocket: String,
    /// People of the caller's grids connected now (in the five grid levels' posts).
    pub online: usize,
}

#[utoipa::path(get, path = "/api/v1/calls/socket", tag = "calls",
    responses((status = 101, description = "Switching to the signalling WebSocket (JSON messages: ring, accept, decline, offer, answer, ice, hangup)"),
        (status = 200, body = SocketInfo, description = "Without an upgrade: where to connect and who is online"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
/// Open the signalling socket: signed in (cookie or token), a grid post, and the page on our own
/// site (an upgrade whose `Origin` is another site's is refused: cross-site WebSocket hijacking).
pub async fn socket(
    State(s): State<CallsState>,
    p: Principal,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !rules::is_grid_staff(&p) {
        return AppError::forbidden().into_response();
    }
    let Ok(ws) = ws else {
        let online = s.hub.online_under(&p.district, &rules::log_roots(&p));
        return Json(SocketInfo {
            websocket: "/api/v1/calls/socket".into(),
            online,
        })
        .into_response();
    };
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !rules::origin_allowed(origin, host, &s.public_url) {
        return AppError::new(StatusCode::FORBIDDEN, "bad_origin", "请求来源不明，拒绝连接").into_response();
    }
    // Kept to notice, while the socket is open, that the session has ended (signed out, expired).
    let secret = crate::web::session::secret_of(&headers).unwrap_or_default();
    // Small buffers: a socket is mostly idle, and tungstenite's default 128 KiB read buffer
    // each took 500 open sockets from 79 to 163 MB.
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(4 * rules::MAX_MESSAGE_BYTES)
        .max_message_size(rules::MAX_MESSAGE_BYTES)
        .max_frame_size(rules::MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| run(s, p, secret, socket))
}

/// A socket's read buffer; longer messages grow it as they arrive (up to the message limit).
const READ_BUFFER: usize = 4 * 1024;
/// Ping this often: the server's idle timeout (60 s) would otherwise cut a quiet socket.
const PING: Duration = Duration::from_secs(20);
/// Check the session every this many pings (a minute).
const SESSION_EVERY: u32 = 3;

async fn run(s: CallsState, p: Principal, secret: String, mut socket: WebSocket) {
    service::close_abandoned_once(&s).await;
    let (tx, mut rx) = mpsc::channel::<Out>(hub::QUEUE);
    let posts = rules::grid_posts(&p);
    let conn = s.hub.connect(&p.district, p.user_id, &p.display_name, posts.clone(), tx);
    let me = Session { principal: p, posts, conn };
    let d = me.principal.district.clone();
    s.hub.send(
        &d,
        conn,
        &json!({"t": "hello", "me": me.principal.user_id, "name": me.principal.display_name}),
    );
    let now = now_ms();
    let mut messages = rules::message_bucket(now);
    let mut rings = rules::ring_bucket(now);
    let mut ping = tokio::time::interval(PING);
    ping.tick().await;
    let mut pings = 0u32;
    let refuse = |r: rules::Refusal| s.hub.send(&d, conn, &json!({"t": "error", "code": r.code, "message": r.message}));
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Text(t)) => {
                    if socket.send(Message::Text(t.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) | None => break,
            },
            inc = socket.recv() => match inc {
                Some(Ok(Message::Text(t))) => {
                    let now = now_ms();
                    if !messages.take(now) {
                        refuse(rules::RATE_LIMITED);
                        continue;
                    }
                    match rules::parse(t.as_str()) {
                        Err(r) => refuse(r),
                        Ok(ClientMsg::Ring { .. }) if !rings.take(now) => refuse(rules::RATE_LIMITED),
                        Ok(m) => service::handle(&s, &me, m).await,
                    }
                }
                Some(Ok(Message::Binary(_))) => refuse(rules::BAD_MESSAGE),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                // Pings are answered by the socket itself.
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
                pings += 1;
                if pings.is_multiple_of(SESSION_EVERY) && matches!(crate::auth::store::principal_for(&s.db, &secret).await, Ok(None)) {
                    // Signed out or expired: the socket goes with the session.
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            }
        }
    }
    service::disconnected(&s, &me).await;
}
