//! Open311 GeoReport v2 (`/open311/v2/`): city systems and apps report and follow cases with an API key.

pub mod api;
pub mod cache;
pub mod form;
pub mod format;
pub mod pages;
pub mod privacy;
pub mod store;

use axum::Router;
use axum::routing::{any, get};

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
    /// Open311 requests per key, and reads per client address without a key, a minute, in this process.
    pub open311_limits: Arc<crate::apikeys::RateLimiter>,
    /// Where clients reach this server (`public_url`): the discovery document names it.
    pub public_url: Arc<str>,
    /// The districts served and the live keys, remembered for a few seconds.
    pub lookups: Arc<cache::Lookups>,
    /// Rendered request searches, kept until a case changes (or two seconds, for other servers).
    pub answers: Arc<cache::Answers>,
}

impl FromRef<Open311State> for Db {
    fn from_ref(s: &Open311State) -> Db {
        s.db.clone()
    }
}

/// Each resource answers GET (and HEAD), OPTIONS, and POST where the spec posts; other methods
/// get 405 with `Allow`, other paths under /open311/v2 the spec's error list.
pub fn routes() -> Router<Open311State> {
    let v2 = Router::new()
        .route(
            "/{file}",
            get(api::get_root)
                .post(api::post_requests)
                .options(api::options)
                .fallback(api::not_allowed),
        )
        .route(
            "/services/{file}",
            get(api::service_definition).options(api::options).fallback(api::not_allowed),
        )
        .route(
            "/requests/{file}",
            get(api::get_request).options(api::options).fallback(api::not_allowed),
        )
        .route(
            "/tokens/{file}",
            get(api::get_token).options(api::options).fallback(api::not_allowed),
        )
        .fallback(api::unknown);
    Router::new().nest("/open311/v2", v2).route("/open311/v2/", any(api::unknown))
}
