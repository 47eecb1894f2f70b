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

/// Change a node's name, boundary, leader or (for a compound) property company.
pub async fn update(s: &GridState, p: &Principal, code: &str, up: &GridUpdate) -> AppResult<GridRow> {
    let g = load(&s.db, p, code, Capability::ManageGrid).await?;
    if let Some(Some(company)) = up.property_company {
        if g.level != 4 {
            return Err(AppError::invalid("not_a_compound", "只有小区（四级网格）可以指定物业公司"));
        }
        if s.units.property_company(&s.db, &g.district, company).await?.is_none() {
            return Err(AppError::invalid("unknown_property_company", "指定的物业公司不存在"));
        }
    }
    let g = store::update(&s.db, p.actor(), &g, up).await?;
    s.grid_index.invalidate().await;
    Ok(g)
}
