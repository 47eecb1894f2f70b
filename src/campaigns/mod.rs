//! Campaigns (专项整治行动): district and street drives from survey to clearance, with their teams, the spot ledger (台账) and the figures reports quote.

pub mod api;
pub mod checklist;
pub mod inspection_pages;
pub mod ledgers;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};

use crate::cases::CasesState;
use crate::db::Db;

/// What the campaign handlers need: the database, and the case loop (escalations, the grid
/// index, where photos are kept).
#[derive(Clone)]
pub struct CampaignsState {
    pub db: Db,
    pub cases: CasesState,
}

impl FromRef<CampaignsState> for Db {
    fn from_ref(s: &CampaignsState) -> Db {
        s.db.clone()
    }
}

pub fn routes() -> Router<CampaignsState> {
    Router::new()
        .route("/api/v1/campaigns", get(api::list).post(api::launch))
        .route("/api/v1/campaigns/{id}", get(api::get_one))
        .route("/api/v1/campaigns/{id}/teams", post(api::add_team))
        .route(
            "/api/v1/campaigns/{id}/photos",
            post(api::upload).layer(DefaultBodyLimit::max(crate::cases::attachments::MAX_BYTES + 1024)),
        )
        .route("/api/v1/campaigns/{id}/spots", get(api::spots).post(api::add_spot))
        .route("/api/v1/campaigns/{id}/spots/{spot}/actions", post(api::act))
        .route("/api/v1/campaigns/{id}/inspections", get(api::inspections).post(api::inspect))
        .route("/api/v1/campaigns/{id}/inspections/{inspection}", get(api::inspection))
        .merge(pages::routes())
        .merge(inspection_pages::routes())
}
