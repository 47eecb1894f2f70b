//! The command centre's JSON API: the dashboard figures and the live event stream (SSE).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::CommandState;
use super::service::{self, Dashboard};
use crate::auth::Principal;
use crate::cases::events::CaseEvent;
use crate::error::AppResult;
use crate::web::extract::Json;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GridQuery {
    /// A grid node's code (default: the caller's widest node).
    pub grid: Option<String>,
}

/// The figures of a grid node's screen (一屏统管): today, open, overdue, this month's on-time
/// rate, a 30-day trend, top categories, each child's load, the newest cases, volunteering today.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "command", params(GridQuery),
    responses((status = 200, body = Dashboard), (status = 401), (status = 403), (status = 404)))]
pub async fn dashboard(State(s): State<CommandState>, p: Principal, Query(q): Query<GridQuery>) -> AppResult<Json<Dashboard>> {
    let g = service::node_for(&s.db, &p, q.grid.as_deref()).await?;
    Ok(Json(service::dashboard(&s.db, &s.calls, &g).await?))
}

/// How long one event stream lasts before the browser reconnects (and signs in again with its
/// cookie): a session that ended stops being served within this.
pub const STREAM_LIFETIME: Duration = Duration::from_secs(600);

/// Live case changes in a grid node's subtree as server-sent events (`text/event-stream`): an
/// event `case` for each report or action within a second of its commit; `resync` when this
/// stream fell behind and the figures should be reloaded. Ends after ten minutes; browsers
/// reconnect by themselves.
#[utoipa::path(get, path = "/api/v1/events", tag = "command", params(GridQuery),
    responses((status = 200, content_type = "text/event-stream", body = CaseEvent), (status = 401), (status = 403), (status = 404)))]
pub async fn events(
    State(s): State<CommandState>,
    p: Principal,
    Query(q): Query<GridQuery>,
) -> AppResult<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>> {
    let g = service::node_for(&s.db, &p, q.grid.as_deref()).await?;
    let rx = s.feed.subscribe();
    let until = tokio::time::Instant::now() + STREAM_LIFETIME;
    let hello = Event::default().event("hello").data(format!("{{\"grid\":\"{}\"}}", g.code));
    let first = futures_util::stream::once(async move { Ok::<_, Infallible>(hello) });
    let rest = futures_util::stream::unfold((rx, g.district, g.code), move |(mut rx, district, code)| async move {
        loop {
            let next = tokio::time::timeout_at(until, rx.recv()).await;
            let ev = match next {
                Err(_) | Ok(Err(RecvError::Closed)) => return None,
                Ok(Err(RecvError::Lagged(_))) => Event::default().event("resync").data("{}"),
                Ok(Ok(e)) if e.within(&district, &code) => Event::default()
                    .event("case")
                    .id(format!("{}:{}", e.id, e.at))
                    .json_data(&e)
                    .unwrap_or_else(|_| Event::default().event("resync").data("{}")),
                Ok(Ok(_)) => continue,
            };
            return Some((Ok(ev), (rx, district, code)));
        }
    });
    Ok(Sse::new(futures_util::StreamExt::chain(first, rest)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
