//! One click to reach people (一键智达): live voice and video calls in the browser (WebRTC, signalled
//! over a WebSocket on this server), who of a grid is reachable now, and the call log.

pub mod api;
pub mod hub;
pub mod pages;
pub mod rules;
pub mod service;
pub mod socket;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;

use crate::db::Db;

/// What the calls' handlers need: the database, the registry of connected sockets (shared with
/// whoever shows who is online, e.g. the command screen), and where clients reach the server
/// (an `Origin` naming it is our own).
#[derive(Clone)]
pub struct CallsState {
    pub db: Db,
    pub hub: Arc<hub::Hub>,
    pub public_url: Arc<str>,
}

impl FromRef<CallsState> for Db {
    fn from_ref(s: &CallsState) -> Db {
        s.db.clone()
    }
}

/// The calls' signalling socket, API and pages.
pub fn routes() -> Router<CallsState> {
    Router::new()
        .route("/api/v1/calls/socket", get(socket::socket))
        .route("/api/v1/calls", get(api::list_calls))
        .route("/api/v1/grids/{code}/reachable", get(api::reachable))
        .merge(pages::routes())
}
