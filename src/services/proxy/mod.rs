//! Red proxy service (红色代办): matters done for residents who cannot go, with every document's chain of custody.

use axum::Router;

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
}
