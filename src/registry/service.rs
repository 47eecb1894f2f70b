//! Registry operations shared by the API, the pages and the features built on the registry:
//! the grid a list is scoped to, and a resident or household within the caller's reach.

use uuid::Uuid;

use super::RegistryState;
use super::residents::{self, HouseholdRow, ResidentRow};
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult};
use crate::grid::service::load as load_grid;

/// The grid a list is scoped to: the one asked for (if in scope) or the caller's first root.
pub async fn scope_grid(s: &RegistryState, p: &Principal, grid: Option<&str>, cap: Capability) -> AppResult<crate::grid::GridRow> {
    let code = match grid.filter(|g| !g.is_empty()) {
        Some(g) => g.to_string(),
        None => p.roots(cap).into_iter().next().ok_or_else(AppError::forbidden)?,
    };
    load_grid(&s.db, p, &code, cap).await
}

pub async fn load_resident(s: &RegistryState, p: &Principal, id: Uuid, cap: Capability) -> AppResult<ResidentRow> {
    if !p.has(cap) {
        return Err(AppError::forbidden());
    }
    let r = residents::get(&s.db, id).await?.ok_or_else(|| AppError::not_found("居民"))?;
    if !p.can(cap, &r.grid_code) {
        return Err(AppError::not_found("居民"));
    }
    Ok(r)
}

pub async fn load_household(s: &RegistryState, p: &Principal, id: Uuid, cap: Capability) -> AppResult<HouseholdRow> {
    if !p.has(cap) {
        return Err(AppError::forbidden());
    }
    let h = residents::household(&s.db, id).await?.ok_or_else(|| AppError::not_found("住户"))?;
    if !p.can(cap, &h.grid_code) {
        return Err(AppError::not_found("住户"));
    }
    Ok(h)
}
