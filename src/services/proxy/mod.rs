//! Red proxy service (红色代办): matters done for residents who cannot go, with every document's chain of custody.

pub mod api;
pub mod ledgers;
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
        .route("/api/v1/proxy/kinds", get(api::kinds).post(api::save_kind))
        .route("/api/v1/proxy/matters", get(api::list).post(api::create))
        .route("/api/v1/proxy/watch", get(api::watch))
        .route("/api/v1/proxy/matters/{id}", get(api::get_one))
        .route("/api/v1/proxy/matters/{id}/take", post(api::take))
        .route("/api/v1/proxy/matters/{id}/steps", post(api::add_step))
        .route("/api/v1/proxy/matters/{id}/documents", post(api::hand_over))
        .route("/api/v1/proxy/matters/{id}/done", post(api::finish))
        .route("/api/v1/proxy/matters/{id}/rating", post(api::rate))
        .route("/api/v1/proxy/documents/{id}/confirm", post(api::confirm))
        .route("/api/v1/proxy/documents/{id}/return", post(api::give_back))
        .merge(pages::routes())
}
