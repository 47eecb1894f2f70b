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
    scope_grid_in(&s.db, p, grid, cap).await
}

/// [`scope_grid`] with the database alone (for the Excel ledgers).
pub async fn scope_grid_in(db: &crate::db::Db, p: &Principal, grid: Option<&str>, cap: Capability) -> AppResult<crate::grid::GridRow> {
    let code = match grid.filter(|g| !g.is_empty()) {
        Some(g) => g.to_string(),
        None => p.roots(cap).into_iter().next().ok_or_else(AppError::forbidden)?,
    };
    load_grid(db, p, &code, cap).await
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

/// How many whole-number lookups one account may make in an hour.
pub const LOOKUPS_PER_HOUR: i64 = 30;

/// Search residents of a subtree. A name prefix or a last-four is a search any registry reader may
/// run; a whole phone or ID number is a lookup of one person, so it is refused in a search and goes
/// through [`lookup`] instead.
pub async fn search(
    s: &RegistryState,
    g: &crate::grid::GridRow,
    query: residents::Query,
    tag: Option<&str>,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<ResidentRow>, i64)> {
    if query.is_whole_number() {
        return Err(AppError::invalid(
            "whole_number_lookup",
            "按完整手机号或身份证号查找某一个人，须使用「按完整号码查找」并填写事由；检索请输入姓名或后4位",
        ));
    }
    let f = residents::ResidentFilter {
        district: &g.district,
        grid: &g.code,
        query,
        tag,
        limit,
        offset,
    };
    Ok(residents::search(&s.db, &f, g.residents).await?)
}

/// Look up one person by a whole phone or ID number: only for those who may see full numbers in
/// the grid searched, with a reason, audited (the kind of number and how many were found, never
/// the number), and at most [`LOOKUPS_PER_HOUR`] an hour per account.
pub async fn lookup(s: &RegistryState, p: &Principal, g: &crate::grid::GridRow, number: &str, reason: &str) -> AppResult<Vec<ResidentRow>> {
    if !p.can(Capability::RevealPersonal, &g.code) {
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "lookup_not_allowed",
            "按完整号码查找仅限可查看完整个人信息的岗位；请用姓名或后4位检索",
        ));
    }
    let query = residents::parse_query(Some(number))?;
    if !query.is_whole_number() {
        return Err(AppError::invalid("invalid_number", "请输入完整的手机号（11位）或身份证号（18位）"));
    }
    let reason = reason.trim();
    if !(2..=200).contains(&reason.chars().count()) {
        return Err(AppError::invalid("reason_required", "按完整号码查找须填写事由（2至200字）"));
    }
    let actor = p.actor();
    if let Some(id) = actor.id() {
        let since = crate::db::now_ms() - 3_600_000;
        if residents::audited_since(&s.db, id, "resident.lookup", since).await? >= LOOKUPS_PER_HOUR {
            return Err(AppError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_lookups",
                format!("一小时内按完整号码查找已达{LOOKUPS_PER_HOUR}次，请稍后再试"),
            ));
        }
    }
    let f = residents::ResidentFilter {
        district: &g.district,
        grid: &g.code,
        query: query.clone(),
        tag: None,
        limit: 20,
        offset: 0,
    };
    let (rows, total) = residents::search(&s.db, &f, g.residents).await?;
    residents::record_lookup(&s.db, actor, &g.district, &g.code, reason, &query, total).await?;
    Ok(rows)
}
