//! Calls' JSON API: who of a grid node can be called now, and the call log.

use axum::extract::State;
use serde::Deserialize;

use super::CallsState;
use super::service::{self, Reachable};
use super::store::CallRow;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

/// A grid code as a query or path gives it: digits, 6–18 of them.
fn grid_code(code: &str) -> AppResult<&str> {
    let ok = (6..=18).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(code) } else { Err(AppError::not_found("网格")) }
}

#[utoipa::path(get, path = "/api/v1/grids/{code}/reachable", tag = "calls",
    params(("code" = String, Path, description = "Grid code")),
    responses((status = 200, body = Paged<Reachable>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
/// The people holding grid posts at a node (no phone numbers), and whether each is connected
/// to the calls socket now; for grid staff who may read the node.
pub async fn reachable(State(s): State<CallsState>, p: Principal, Path(code): Path<String>) -> AppResult<Json<Paged<Reachable>>> {
    let items = service::reachable(&s, &p, grid_code(&code)?).await?;
    let total = items.len() as i64;
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CallLogQuery {
    /// Subtree root; defaults to every grid the caller holds a post at.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/calls", tag = "calls", params(CallLogQuery),
    responses((status = 200, body = Paged<CallRow>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
/// The call log (一键智达通话记录) of a subtree, newest first: who called whom, from which grid,
/// voice or video, when, the outcome and the duration. Grid staff, in their own grids.
pub async fn list_calls(State(s): State<CallsState>, p: Principal, Query(q): Query<CallLogQuery>) -> AppResult<Json<Paged<CallRow>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let grid = q.grid.as_deref().filter(|g| !g.is_empty()).map(grid_code).transpose()?;
    let (items, total) = service::log(&s.db, &p, grid, limit, offset).await?;
    Ok(Json(Paged { items, total }))
}
