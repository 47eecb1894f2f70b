//! The case closed loop (问题闭环): categories, deadlines, point location, the workflow, storage and API.

pub mod api;
pub mod assessment;
pub mod attachments;
pub mod attributes;
pub mod calendar;
pub mod categories;
pub mod duplicates;
pub mod events;
pub mod figures;
pub mod hooks;
pub mod intake;
pub mod ledgers;
pub mod pages;
pub mod permissions;
pub mod place;
pub mod service;
pub mod store;
pub mod tallies;
pub mod workflow;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::db::Db;
use crate::grid::locate::SharedIndex;

/// What the case loop's handlers need.
#[derive(Clone)]
pub struct CasesState {
    pub db: Db,
    /// The working-day calendar deadlines are counted in.
    pub calendar: Arc<calendar::Calendar>,
    /// Locates a reported point in the grid (the grid's index, rebuilt when the grid changes).
    pub grid_index: Arc<SharedIndex>,
    /// Where attachments live (`<data dir>/attachments/…`).
    pub data_dir: Arc<PathBuf>,
    /// A report this near (metres) and this recent (hours) to an open case of its category is flagged.
    pub duplicate_rule: (f64, i64),
    pub recent_reports: Arc<duplicates::RecentReports>,
    /// What features built on the case loop do inside its transactions.
    pub hooks: Arc<hooks::CaseHooks>,
    /// Reports from the public grid page, per client address and grid.
    pub public_reports: Arc<service::PublicReportGuard>,
    /// Committed case changes, for the command centre's live screens.
    pub feed: Arc<events::CaseFeed>,
    /// Each district's categories, kept until one changes.
    pub categories: Arc<categories::Cache>,
    /// New reports are written through it: concurrent ones share a commit (group commit).
    pub writer: crate::db::group::GroupCommit,
}

impl FromRef<CasesState> for Db {
    fn from_ref(s: &CasesState) -> Db {
        s.db.clone()
    }
}
