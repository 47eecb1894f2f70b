//! Deliberation (协商议事): a council (党群议事会) per compound with its members and partners,
//! residents' opinions (民情民意) and their answers, meetings with sign-in, minutes and
//! resolutions that are followed to their cases and published on the compound's public page.

pub mod api;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::cases::CasesState;
use crate::db::Db;

/// What the councils' handlers need: the database, and the case loop's state to turn an opinion or
/// a resolution into a case.
#[derive(Clone)]
pub struct CouncilsState {
    pub db: Db,
    pub cases: CasesState,
}

impl FromRef<CouncilsState> for Db {
    fn from_ref(s: &CouncilsState) -> Db {
        s.db.clone()
    }
}

/// The councils' API and pages.
pub fn routes() -> Router<CouncilsState> {
    Router::new()
        .route("/api/v1/councils", get(api::list))
        .route("/api/v1/councils/{id}", get(api::get))
        .route("/api/v1/councils/{id}/members", post(api::appoint))
        .route("/api/v1/councils/{id}/meetings", post(api::schedule))
        .route("/api/v1/council-members/{id}/end", post(api::dismiss))
        .route("/api/v1/opinions", get(api::opinions).post(api::record_opinion))
        .route("/api/v1/opinions/{id}", get(api::opinion))
        .route("/api/v1/opinions/{id}/answer", post(api::answer))
        .route("/api/v1/meetings", get(api::meetings))
        .route("/api/v1/meetings/checkin", post(api::check_in))
        .route("/api/v1/meetings/{id}", get(api::meeting))
        .route("/api/v1/meetings/{id}/attendance", post(api::mark_present))
        .route("/api/v1/meetings/{id}/minutes", post(api::minutes))
        .route("/api/v1/resolutions", get(api::resolutions))
        .route("/api/v1/resolutions/{id}/case", post(api::resolution_case))
        .route("/api/v1/resolutions/{id}/done", post(api::resolution_done))
        .merge(pages::routes())
}
