//! Five-star branches (五星支部创建): the yearly scorecard per community or village — stars,
//! criteria, evidence, self-assessment, the street's review and the district's rating.

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

/// What the five-star handlers need: the database and where evidence files are kept.
#[derive(Clone)]
pub struct StarsState {
    pub db: Db,
    pub data_dir: Arc<PathBuf>,
}

impl FromRef<StarsState> for Db {
    fn from_ref(s: &StarsState) -> Db {
        s.db.clone()
    }
}

/// The five-star API and pages.
pub fn routes() -> Router<StarsState> {
    Router::new()
        .route("/api/v1/stars", get(api::list))
        .route("/api/v1/stars/config/{year}", get(api::get_config).post(api::save_config))
        .route("/api/v1/stars/cards/{grid}/{year}", get(api::card))
        .route("/api/v1/stars/cards/{grid}/{year}/assessment", post(api::assess))
        .route("/api/v1/stars/cards/{grid}/{year}/submit", post(api::submit))
        .route("/api/v1/stars/cards/{grid}/{year}/review", post(api::review))
        .route("/api/v1/stars/cards/{grid}/{year}/rating", post(api::rate))
        .route(
            "/api/v1/stars/cards/{grid}/{year}/files",
            post(api::upload).layer(axum::extract::DefaultBodyLimit::max(service::MAX_BYTES + 1)),
        )
        .route("/api/v1/stars/cards/{grid}/{year}/files/{sha256}", get(api::download))
        .merge(pages::routes())
}
