//! The four lists (四张清单): needs, resources, projects that match them, and results.

use axum::Router;

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
}
