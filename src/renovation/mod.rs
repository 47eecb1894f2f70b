//! Renovation consultations (老旧小区改造): projects over old compounds, their phases, design plan
//! versions, opinion rounds with each household's view per building, and problems reported as cases.

pub mod api;
pub mod files;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::cases::CasesState;
use crate::db::Db;

/// What the renovation handlers need: the database, and the cases feature for reported problems.
#[derive(Clone)]
pub struct RenovationState {
    pub db: Db,
    pub cases: CasesState,
}

impl FromRef<RenovationState> for Db {
    fn from_ref(s: &RenovationState) -> Db {
        s.db.clone()
    }
}

/// The renovation API and pages.
pub fn routes() -> Router<RenovationState> {
    Router::new()
        .route("/api/v1/renovation/projects", get(api::list).post(api::create))
        .route("/api/v1/renovation/projects/{id}", get(api::get))
        .route("/api/v1/renovation/projects/{id}/phase", post(api::advance))
        .route("/api/v1/renovation/projects/{id}/plans", post(api::add_plan))
        .route("/api/v1/renovation/projects/{id}/plans/{version}/publish", post(api::publish))
        .route(
            "/api/v1/renovation/projects/{id}/plans/{version}/files",
            post(api::upload).layer(axum::extract::DefaultBodyLimit::max(files::MAX_BYTES + 1)),
        )
        .route("/api/v1/renovation/projects/{id}/files/{sha256}", get(api::download))
        .route("/api/v1/renovation/projects/{id}/rounds", post(api::open_round))
        .route("/api/v1/renovation/projects/{id}/rounds/close", post(api::close_round))
        .route("/api/v1/renovation/projects/{id}/views", post(api::record_view))
        .route("/api/v1/renovation/projects/{id}/problems", post(api::report))
        .merge(pages::routes())
}
