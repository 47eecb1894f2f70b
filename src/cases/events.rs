//! The live feed of case changes (案件动态): every report and action, published after its
//! transaction commits, for the command centre's screens. In-process: each server process tells
//! the screens connected to it.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::store::CaseRow;

/// What a screen learns of a case change: no description, no reporter — only what the board shows.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CaseEvent {
    /// `reported` for a new case, else the action's name (`dispatch`, `close`, `merge` …).
    pub kind: String,
    pub id: Uuid,
    pub tracking_code: String,
    pub district: String,
    pub grid: String,
    pub category: String,
    pub status: String,
    pub source: String,
    pub at: i64,
    pub due_at: i64,
}

impl CaseEvent {
    pub fn of(kind: &str, c: &CaseRow) -> CaseEvent {
        CaseEvent {
            kind: kind.to_string(),
            id: c.id,
            tracking_code: c.tracking_code.clone(),
            district: c.district.clone(),
            grid: c.grid_code.clone(),
            category: c.category_code.clone(),
            status: c.status.clone(),
            source: c.source.clone(),
            at: c.updated_at,
            due_at: c.due_at,
        }
    }

    /// In the subtree of `grid` (codes are hierarchical).
    pub fn within(&self, district: &str, grid: &str) -> bool {
        self.district == district && self.grid.starts_with(grid)
    }
}

/// Where case changes are published; every subscriber gets each event once. A subscriber that
/// falls behind by more than the buffer is told it lagged and reloads its figures.
pub struct CaseFeed {
    tx: broadcast::Sender<CaseEvent>,
    /// Changes published so far: a cached read built before the count moved is stale.
    changes: AtomicU64,
}

/// Events a slow screen may fall behind before it must reload.
pub const FEED_BUFFER: usize = 1024;

impl Default for CaseFeed {
    fn default() -> Self {
        CaseFeed {
            tx: broadcast::channel(FEED_BUFFER).0,
            changes: AtomicU64::new(0),
        }
    }
}

impl CaseFeed {
    /// Publish a committed change; nobody listening is fine.
    pub fn publish(&self, e: CaseEvent) {
        self.changes.fetch_add(1, Ordering::Release);
        let _ = self.tx.send(e);
    }

    /// Count a committed change the screens need not hear of (a step that moves no figure).
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// How many changes this process has published. Read it before reading what a cache keeps:
    /// a change that commits after the read moves it, so the kept answer is not served again.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<CaseEvent> {
        self.tx.subscribe()
    }

    /// Screens connected now (a gauge for /metrics and the benchmark).
    pub fn listeners(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_published_events_in_order() {
        let feed = CaseFeed::default();
        let mut rx = feed.subscribe();
        let mk = |k: &str| CaseEvent {
            kind: k.into(),
            id: Uuid::nil(),
            tracking_code: "X".into(),
            district: "411602".into(),
            grid: "411602001002".into(),
            category: "0101".into(),
            status: "reported".into(),
            source: "officer".into(),
            at: 1,
            due_at: 2,
        };
        assert_eq!(feed.changes(), 0);
        feed.publish(mk("reported"));
        feed.publish(mk("dispatch"));
        assert_eq!(feed.changes(), 2);
        assert_eq!(rx.recv().await.unwrap().kind, "reported");
        assert_eq!(rx.recv().await.unwrap().kind, "dispatch");
        let e = mk("x");
        assert!(e.within("411602", "411602001"));
        assert!(!e.within("411602", "411602002"));
        assert!(!e.within("411603", "411602"));
    }
}
