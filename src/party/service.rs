//! Party operations shared by the API, pages, the demo and features built on party: which
//! compounds have a branch and who leads it.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::error::AppResult;
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

/// The compounds (level-4 grid codes) in the subtree of `grid` that have a compound party branch
/// (小区党支部): a `branch` organisation sitting at the compound's own node.
pub async fn compounds_with_branch(db: &Db, district: &str, grid: &str) -> AppResult<BTreeSet<String>> {
    let upper = subtree_upper(grid);
    let codes: Vec<String> = on_pool!(db, |p| sqlx::query_scalar(BRANCH_COMPOUNDS)
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_all(p)
        .await)?;
    Ok(codes.into_iter().collect())
}

/// [`compounds_with_branch`] inside a transaction, which sees what it wrote (the demo's load).
pub async fn compounds_with_branch_in(tx: &mut Tx, district: &str, grid: &str) -> AppResult<BTreeSet<String>> {
    let upper = subtree_upper(grid);
    let codes: Vec<String> = on_tx!(tx, |c| sqlx::query_scalar(BRANCH_COMPOUNDS)
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_all(c)
        .await)?;
    Ok(codes.into_iter().collect())
}

const BRANCH_COMPOUNDS: &str = "SELECT DISTINCT o.grid_code FROM party_orgs o JOIN grids g ON g.code = o.grid_code \
     WHERE o.district = $1 AND o.kind = 'branch' AND g.level = 4 AND o.grid_code >= $2 AND o.grid_code < $3";

/// Whether `user` is the secretary (书记) of the party branch of `compound`.
pub async fn is_branch_secretary(db: &Db, district: &str, user: Uuid, compound: &str) -> AppResult<bool> {
    let n: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM party_orgs WHERE district = $1 AND kind = 'branch' AND grid_code = $2 AND secretary_user_id = $3"
    )
    .bind(district)
    .bind(compound)
    .bind(user)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}
