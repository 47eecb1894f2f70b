//! Broadcasts down the grid (五群): notices and instructions to a subtree's post-holders with read
//! receipts and replies, and delivery to outside groups (WeCom, DingTalk, webhooks) through an outbox.

pub mod api;
pub mod deliver;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::db::Db;

/// What the broadcasts' handlers need.
#[derive(Clone)]
pub struct BroadcastsState {
    pub db: Db,
}

impl FromRef<BroadcastsState> for Db {
    fn from_ref(s: &BroadcastsState) -> Db {
        s.db.clone()
    }
}

/// The broadcasts' API and pages.
pub fn routes() -> Router<BroadcastsState> {
    Router::new()
        .route("/api/v1/broadcasts", get(api::list).post(api::send))
        .route("/api/v1/broadcasts/{id}", get(api::get))
        .route("/api/v1/broadcasts/{id}/read", post(api::read))
        .route("/api/v1/broadcasts/{id}/ack", post(api::ack))
        .route("/api/v1/broadcasts/{id}/reply", post(api::reply))
        .route("/api/v1/broadcasts/{id}/remind", post(api::remind))
        .route("/api/v1/grids/{code}/webhooks", get(api::list_webhooks).put(api::put_webhook))
        .merge(pages::routes())
}
