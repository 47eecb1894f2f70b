//! Red property (红色物业): each compound's property service, owners' committee, party branch and
//! supervising unit; 三无 compounds tracked until managed; property companies' quarterly evaluation,
//! the red and black list, and fee collection.

pub mod api;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post, put};

use crate::db::Db;

/// What red property's handlers need: the database.
#[derive(Clone)]
pub struct PropertyState {
    pub db: Db,
}

impl FromRef<PropertyState> for Db {
    fn from_ref(s: &PropertyState) -> Db {
        s.db.clone()
    }
}

/// Red property's API and pages.
pub fn routes() -> Router<PropertyState> {
    Router::new()
        .route("/api/v1/property/coverage", get(api::coverage))
        .route("/api/v1/property/three-nos", get(api::three_nos))
        .route("/api/v1/property/compounds/{code}", put(api::update_compound))
        .route("/api/v1/property/compounds/{code}/steps", post(api::add_step))
        .route("/api/v1/property/evaluations", get(api::evaluations))
        .route("/api/v1/property/evaluations/{period}/publish", post(api::publish))
        .route("/api/v1/property/tasks", get(api::tasks))
        .route("/api/v1/property/scores", post(api::submit))
        .route("/api/v1/property/corrections", get(api::corrections))
        .route("/api/v1/property/corrections/{id}/done", post(api::finish_correction))
        .route("/api/v1/property/settings", get(api::settings).put(api::save_settings))
        .route("/api/v1/property/fees", get(api::fee_trend).post(api::enter_fee))
        .route("/api/v1/property/fees/below", get(api::fees_below))
        .merge(pages::routes())
}
