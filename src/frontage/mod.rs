//! Frontage responsibility (门前三包): shops' agreements for their frontage (包卫生、包秩序、包绿化),
//! patrol checks from the phone with a month's notice and case, compliance per street, community
//! and shop, the printable 责任书, and the street's public list.

pub mod api;
pub mod ledgers;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::cases::CasesState;
use crate::db::Db;

/// What the frontage handlers need: the case loop (a month's fourth failure files a case; photos
/// live beside the case attachments).
#[derive(Clone)]
pub struct FrontageState {
    pub cases: CasesState,
}

impl FromRef<FrontageState> for Db {
    fn from_ref(s: &FrontageState) -> Db {
        s.cases.db.clone()
    }
}

/// The frontage API and pages.
pub fn routes() -> Router<FrontageState> {
    Router::new()
        .route("/api/v1/frontage/agreements", get(api::list).post(api::create))
        .route("/api/v1/frontage/agreements/{id}", get(api::get_one))
        .route("/api/v1/frontage/agreements/{id}/checks", post(api::check))
        .route("/api/v1/frontage/compliance", get(api::compliance))
        .merge(pages::routes())
}
