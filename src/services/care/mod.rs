//! Care visits (关爱走访): residents with care tags visited on the district's schedule per tag,
//! the building officer's due list, visits with place and photo, escalation to the compound and
//! the community.

pub mod api;
pub mod ledgers;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use super::ServicesState;

/// Care visits' API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/api/v1/care/due", get(api::due))
        .route("/api/v1/care/visits", post(api::record))
        .route("/api/v1/care/schedules", get(api::schedules).put(api::save_schedule))
        .merge(pages::routes())
}
