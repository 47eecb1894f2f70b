//! Hooks that features built on the case loop register, to act inside a case's own transaction
//! without the case loop naming them: closing a case pays volunteer points; an Open311 report keeps
//! what its client sent; a report without a category is routed (智能分派).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use uuid::Uuid;

use super::store::CaseRow;
use crate::audit::Actor;
use crate::db::{Db, Tx};
use crate::error::AppResult;
use crate::web::session::Console;

pub type HookFuture<'a> = Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>;

/// Runs in the transaction that closes a case, after the case row changed. An error undoes the close.
pub trait OnClosed: Send + Sync {
    fn closed<'a>(&'a self, tx: &'a mut Tx, actor: Actor<'a>, case: &'a CaseRow) -> HookFuture<'a>;
}

/// Runs in the transaction that stores a new report, right after its row: whoever passed it to
/// `submit` records what belongs to it (Open311's origin). An error undoes the report.
pub trait OnReported: Send + Sync {
    fn reported<'a>(&'a self, tx: &'a mut Tx, case_id: Uuid, district: &'a str) -> HookFuture<'a>;
}

/// A section a higher feature adds to the 待办 page (broadcasts adds the notices and instructions
/// still owed), so the case loop names no feature built on it.
pub trait InboxSection: Send + Sync {
    /// The section's HTML for this person, or nothing.
    fn render<'a>(&'a self, db: &'a Db, c: &'a Console) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>>;
}

/// A section a higher feature adds to the public grid page `/g/{code}` (party adds the members
/// shown with their posts and the model households), so the case loop names no feature built on it.
pub trait PublicSection: Send + Sync {
    /// The section's HTML for the node, or nothing. No login: only what may be public.
    fn render<'a>(
        &'a self,
        db: &'a Db,
        g: &'a crate::grid::GridRow,
    ) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>>;
}

/// What a router suggests for a report that came without a category.
#[derive(Debug, Clone)]
pub struct Routed {
    /// A leaf category code.
    pub category: String,
    /// The unit that most often handled that category near the report's grid.
    pub unit: Option<Uuid>,
    /// The chance that category and unit are both right (0..=1).
    pub confidence: f64,
    /// The district's auto-dispatch threshold, or none when auto-dispatch is off.
    pub threshold: Option<f64>,
}

impl Routed {
    /// Whether the report goes to the unit by itself.
    pub fn dispatch(&self) -> bool {
        self.unit.is_some() && self.threshold.is_some_and(|t| self.confidence >= t)
    }
}

/// Suggests a category and a unit for a report's text (the routing feature), so the case loop can
/// file and dispatch a report that came without a category without naming that feature.
pub trait Router: Send + Sync {
    /// The best suggestion, or none when the district has no model yet.
    fn route<'a>(
        &'a self,
        db: &'a Db,
        district: &'a str,
        grid: &'a str,
        text: &'a str,
    ) -> Pin<Box<dyn Future<Output = AppResult<Option<Routed>>> + Send + 'a>>;
}

/// The hooks the application registered.
#[derive(Clone, Default)]
pub struct CaseHooks {
    pub on_closed: Vec<Arc<dyn OnClosed>>,
    /// Sections shown at the top of the 待办 page.
    pub inbox: Vec<Arc<dyn InboxSection>>,
    /// Sections shown on the public grid page, after the property company.
    pub public: Vec<Arc<dyn PublicSection>>,
    /// Files (and above the district's threshold, dispatches) reports that came without a category.
    pub router: Option<Arc<dyn Router>>,
}
