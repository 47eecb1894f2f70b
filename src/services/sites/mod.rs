//! Service sites (服务阵地) and their rooms: opening hours, booking without overlap, the reception log.

use axum::Router;

use super::ServicesState;

/// This part's API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
}
