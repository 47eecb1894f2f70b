//! Owners' decisions (业主共同决定, Civil Code art. 278): a compound's property register, decisions
//! with a voting window, owners' ballots (online or from paper) and the double-threshold tally.

pub mod api;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::db::Db;

/// What the decisions' handlers need.
#[derive(Clone)]
pub struct DecisionsState {
    pub db: Db,
    /// Paper ballots' photos go under `<data dir>/ballots/`.
    pub data_dir: Arc<PathBuf>,
}

impl FromRef<DecisionsState> for Db {
    fn from_ref(s: &DecisionsState) -> Db {
        s.db.clone()
    }
}

/// The decisions' API and pages.
pub fn routes() -> Router<DecisionsState> {
    Router::new()
        .route("/api/v1/decisions/preview", post(api::preview))
        .route("/api/v1/decisions", get(api::list).post(api::create))
        .route("/api/v1/decisions/{id}", get(api::get))
        .route("/api/v1/decisions/{id}/open", post(api::open))
        .route("/api/v1/decisions/{id}/close", post(api::close))
        .route("/api/v1/decisions/{id}/vote", post(api::vote))
        .route(
            "/api/v1/decisions/{id}/paper",
            post(api::paper).layer(axum::extract::DefaultBodyLimit::max(service::MAX_PHOTO + 1)),
        )
        .route("/api/v1/decisions/{id}/ballots/{sha}", get(api::photo))
        .route("/api/v1/grids/{code}/property", get(api::register).post(api::add_units))
        .merge(pages::routes())
}
