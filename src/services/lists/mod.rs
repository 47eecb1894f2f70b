//! The four lists (四张清单): needs, resources, projects that match them, and results.

pub mod api;
pub mod ledgers;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::get;

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/api/v1/needs", get(api::needs))
        .route("/api/v1/resources", get(api::resources))
        .route("/api/v1/projects", get(api::projects))
        .route("/api/v1/results", get(api::results))
        .merge(pages::routes())
}
