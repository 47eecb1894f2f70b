//! Open311 GeoReport v2 (`/open311/v2/`): city systems and apps report and follow cases with an API key.

pub mod api;
pub mod format;
pub mod keys;
pub mod pages;
pub mod privacy;
pub mod store;

use axum::Router;
use axum::routing::get;

use std::sync::Arc;

use axum::extract::FromRef;

use crate::cases::CasesState;
use crate::db::Db;

/// What Open311's handlers need: the case loop's state (reports go through its `submit`) and the
/// per-key rate limiter of this process.
#[derive(Clone)]
pub struct Open311State {
    pub db: Db,
    pub cases: CasesState,
    /// Open311 requests per key and minute, in this process.
    pub open311_limits: Arc<keys::RateLimiter>,
}

impl FromRef<Open311State> for Db {
    fn from_ref(s: &Open311State) -> Db {
        s.db.clone()
    }
}

pub fn routes() -> Router<Open311State> {
    Router::new()
        .route("/open311/v2/{file}", get(api::get_root).post(api::post_requests))
        .route("/open311/v2/services/{file}", get(api::service_definition))
        .route("/open311/v2/requests/{file}", get(api::get_request))
        .route("/open311/v2/tokens/{file}", get(api::get_token))
}
