//! Dispute mediation (矛盾纠纷调解): disputes, sessions, agreements, referrals and follow-up visits.

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
        .route("/api/v1/mediation/disputes", get(api::list).post(api::create))
        .route("/api/v1/mediation/disputes/{id}", get(api::get_one))
        .route("/api/v1/mediation/disputes/{id}/sessions", post(api::add_session))
        .route("/api/v1/mediation/disputes/{id}/outcome", post(api::decide))
        .route("/api/v1/mediation/disputes/{id}/follow-up", post(api::follow_up))
        .route("/api/v1/mediation/counts", get(api::counts))
        .merge(pages::routes())
}
