//! One click to reach people (一键智达): live voice and video calls in the browser (WebRTC, signalled
//! over a WebSocket on this server), who of a grid is reachable now, and the call log.

use axum::Router;
use axum::extract::FromRef;

use crate::db::Db;

/// What the calls' handlers need.
#[derive(Clone)]
pub struct CallsState {
    pub db: Db,
}

impl FromRef<CallsState> for Db {
    fn from_ref(s: &CallsState) -> Db {
        s.db.clone()
    }
}

/// The calls' signalling socket, API and pages.
pub fn routes() -> Router<CallsState> {
    Router::new()
}
