//! The command centre (指挥中心): one live screen over the district (一屏统管), dispatch from the map
//! (一网调度), the dashboard figures and the live event stream. It reads other features through
//! their services.

use axum::Router;
use axum::extract::FromRef;

use crate::db::Db;

/// What the command centre's handlers need.
#[derive(Clone)]
pub struct CommandState {
    pub db: Db,
}

impl FromRef<CommandState> for Db {
    fn from_ref(s: &CommandState) -> Db {
        s.db.clone()
    }
}

/// The command centre's API and pages.
pub fn routes() -> Router<CommandState> {
    Router::new()
}
