//! Decisions pages (placeholder).
use axum::Router;
use super::DecisionsState;
pub fn routes() -> Router<DecisionsState> { Router::new() }
