//! Broadcasts down the grid (五群): notices and instructions to a subtree's post-holders with read
//! receipts and replies, and delivery to outside groups (WeCom, DingTalk, webhooks) through an outbox.

use axum::Router;
use axum::extract::FromRef;

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
}
