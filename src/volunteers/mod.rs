//! Volunteers and points (志愿服务与爱心积分): teams, activities and attendance, the points ledger, love supermarkets and redemptions.

pub mod activities;
pub mod api;
pub mod case_points;
pub mod ledger;
pub mod ledgers;
pub mod manage_pages;
pub mod pages;
pub mod rules;
pub mod service;
pub mod shops;
pub mod store;

use axum::extract::FromRef;

use crate::db::Db;

/// What the volunteers' handlers need.
#[derive(Clone)]
pub struct VolunteersState {
    pub db: Db,
    /// The database's group commit (redemptions and check-ins write through it).
    pub writer: crate::db::group::GroupCommit,
    /// Hours-and-points summaries, kept while no attendance is credited.
    pub summaries: std::sync::Arc<store::SummaryCache>,
    /// Wrong check-in codes per volunteer.
    pub codes: std::sync::Arc<service::CodeGuard>,
}

impl FromRef<VolunteersState> for Db {
    fn from_ref(s: &VolunteersState) -> Db {
        s.db.clone()
    }
}
