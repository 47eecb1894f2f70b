//! Grid operations shared by the API, the pages and the features built on the grid: load a node
//! within the caller's reach, create a child, update a node (and rebuild the point index).

use super::GridState;
use super::store::{self, GridRow, GridUpdate, NewGrid};
use crate::auth::{Capability, Principal};
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// Load a grid node the caller may use `cap` on; anything else is "not found".
pub async fn load(db: &Db, p: &Principal, code: &str, cap: Capability) -> AppResult<GridRow> {
    if !p.can(cap, code) {
        if p.has(cap) {
            return Err(AppError::not_found("网格"));
        }
        return Err(AppError::forbidden());
    }
    store::get(db, code).await?.ok_or_else(|| AppError::not_found("网格"))
}

/// Create a child of `input.parent`, which the caller must manage.
pub async fn create(s: &GridState, p: &Principal, input: &NewGrid) -> AppResult<GridRow> {
    load(&s.db, p, &input.parent, Capability::ManageGrid).await?;
    let g = store::create(&s.db, p.actor(), input).await?;
    s.grid_index.invalidate().await;
    Ok(g)
}

/// Change a node's name, boundary or leader.
pub async fn update(s: &GridState, p: &Principal, code: &str, up: &GridUpdate) -> AppResult<GridRow> {
    let g = load(&s.db, p, code, Capability::ManageGrid).await?;
    let g = store::update(&s.db, p.actor(), &g, up).await?;
    s.grid_index.invalidate().await;
    Ok(g)
}
