//! Accounts as people meet them: adding a user at a grid node or unit, signing in and out
//! (throttled), changing one's password, who am I, the audit log.

pub mod api;
pub mod pages;
pub mod service;

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::store::SessionPolicy;
use crate::db::Db;

/// What the accounts routes need: the database, the sign-in throttles and how long sessions last.
#[derive(Clone)]
pub struct AccountsState {
    pub db: Db,
    pub guard: Arc<service::LoginGuard>,
    pub sessions: SessionPolicy,
}

impl AccountsState {
    pub fn new(db: Db) -> Self {
        AccountsState {
            db,
            guard: Arc::new(service::LoginGuard::default()),
            sessions: SessionPolicy::default(),
        }
    }
}

impl FromRef<AccountsState> for Db {
    fn from_ref(s: &AccountsState) -> Db {
        s.db.clone()
    }
}
