//! Party building (党建): party organisations from the district committee down to compound
//! branches and branches in property companies and co-building units; party members who report
//! in (双报到), are assigned (分包), take posts (亮身份、定岗定责) and record their service; model
//! households (党员示范户).

pub mod api;
pub mod ledgers;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::db::Db;

/// What the party handlers need: the database.
#[derive(Clone)]
pub struct PartyState {
    pub db: Db,
}

impl FromRef<PartyState> for Db {
    fn from_ref(s: &PartyState) -> Db {
        s.db.clone()
    }
}

/// The party API and pages.
pub fn routes() -> Router<PartyState> {
    Router::new()
        .route("/api/v1/party/orgs", get(api::list_orgs).post(api::create_org))
        .route("/api/v1/party/orgs/{id}", get(api::get_org))
        .route("/api/v1/party/members", get(api::list_members).post(api::create_member))
        .route("/api/v1/party/members/{id}", get(api::get_member))
        .route("/api/v1/party/members/{id}/report", post(api::report_in))
        .route("/api/v1/party/members/{id}/assign", post(api::assign))
        .route("/api/v1/party/members/{id}/posts", post(api::take_post))
        .route("/api/v1/party/members/{id}/service", post(api::add_service))
        .route("/api/v1/party/posts/{id}/consent", post(api::set_consent))
        .route("/api/v1/party/me", get(api::me))
        .route("/api/v1/party/model-households", get(api::list_models).post(api::nominate))
        .route("/api/v1/party/model-households/publish", post(api::publish))
        .route("/api/v1/party/model-households/{id}/review", post(api::review))
        .merge(pages::routes())
}
