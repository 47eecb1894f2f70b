//! Device alarms (设备告警): alarms from smoke detectors, high-throw cameras, gates and charging
//! points, over MQTT and a gateway's HTTP call, become cases; heartbeats show which devices are offline.

pub mod api;
pub mod ledgers;
pub mod mqtt;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;

use crate::apikeys::RateLimiter;
use crate::cases::CasesState;
use crate::db::Db;

/// What the alarm handlers and the subscriber share.
#[derive(Clone)]
pub struct AlarmsState {
    pub db: Db,
    pub cases: CasesState,
    /// What this process received, opened, merged, refused.
    pub counters: Arc<service::Counters>,
    pub locks: Arc<service::DeviceLocks>,
    /// Repeats of one device within this many milliseconds join its open case.
    pub window_ms: i64,
    /// Requests per API key and minute (shared with Open311: one budget per key).
    pub limits: Arc<RateLimiter>,
}

impl FromRef<AlarmsState> for Db {
    fn from_ref(s: &AlarmsState) -> Db {
        s.db.clone()
    }
}

pub fn routes() -> Router<AlarmsState> {
    api::routes().merge(pages::routes())
}
