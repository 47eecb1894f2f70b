//! Dispute mediation (矛盾纠纷调解): disputes, sessions, agreements, referrals and follow-up visits.

use axum::Router;

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
}
