//! Routing free-text reports (智能分派): a classifier trained on the district's closed cases
//! suggests the category and the handling unit, and dispatches by itself above a threshold.

pub mod api;
pub mod model;
pub mod service;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::post;

use crate::db::Db;

/// What the routing handlers need: the database and the loaded models.
#[derive(Clone)]
pub struct RoutingState {
    pub db: Db,
    pub models: Arc<service::Models>,
}

impl FromRef<RoutingState> for Db {
    fn from_ref(s: &RoutingState) -> Db {
        s.db.clone()
    }
}

/// The routing API.
pub fn routes() -> Router<RoutingState> {
    Router::new().route("/api/v1/routing/suggest", post(api::suggest)).route(
        "/api/v1/routing/settings",
        axum::routing::get(api::get_settings).put(api::put_settings),
    )
}
