//! Care visits (关爱走访): who is due a visit by their tags' schedule, and the visits building officers record.

use axum::Router;

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
}
