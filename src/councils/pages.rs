//! Council pages.

use axum::Router;

use super::CouncilsState;

pub fn routes() -> Router<CouncilsState> {
    Router::new()
}
