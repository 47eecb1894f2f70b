//! Console pages for organisers and the community: activities and attendance, volunteers, points summaries, the ledger, certificates.

use axum::Router;

use crate::web::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
