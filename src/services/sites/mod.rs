//! Service sites with room booking (服务阵地): sites at grid nodes with hours, services and
//! rooms; bookings that never overlap; the reception log (接访).

pub mod api;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/api/v1/sites", get(api::sites))
        .route("/api/v1/sites/{id}/bookings", post(api::book))
        .merge(pages::routes())
}
