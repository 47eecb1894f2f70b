//! The command centre (指挥中心): one live screen over the district (一屏统管), dispatch from the map
//! (一网调度), the dashboard figures and the live event stream. It reads other features through
//! their services.

pub mod api;
pub mod chart;
pub mod pages;
pub mod service;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;

use crate::cases::events::CaseFeed;
use crate::db::Db;

/// What the command centre's handlers need: the database, the feed of committed case changes and
/// the calls' registry of who is connected.
#[derive(Clone)]
pub struct CommandState {
    pub db: Db,
    pub feed: Arc<CaseFeed>,
    /// Who is connected for calls now (the screen's 在线 figures and call buttons).
    pub calls: Arc<crate::calls::hub::Hub>,
}

impl FromRef<CommandState> for Db {
    fn from_ref(s: &CommandState) -> Db {
        s.db.clone()
    }
}

/// The command centre's API and pages.
pub fn routes() -> Router<CommandState> {
    Router::new()
        .route("/api/v1/dashboard", get(api::dashboard))
        .route("/api/v1/events", get(api::events))
        .merge(pages::routes())
}
