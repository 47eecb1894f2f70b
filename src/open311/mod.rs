//! Open311 GeoReport v2 (`/open311/v2/`): city systems and apps report and follow cases with an API key.

pub mod api;
pub mod format;
pub mod keys;
pub mod pages;
pub mod privacy;
pub mod store;

use axum::Router;
use axum::routing::get;

use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", get(api::get_root).post(api::post_requests))
        .route("/open311/v2/services/{file}", get(api::service_definition))
        .route("/open311/v2/requests/{file}", get(api::get_request))
        .route("/open311/v2/tokens/{file}", get(api::get_token))
}
