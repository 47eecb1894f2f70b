//! Storage for calls: the call log (`calls`), one transaction per state change with its audit row
//! last, and who holds a post at a grid node (the people a node's page can call).

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Kind, Outcome};
use crate::audit::{self, Actor};
use crate::db::Db;
use crate::{on_pool, on_tx};

/// Grid roles that take calls (district … building); residents hold posts too, but not duties.
const GRID_ROLES: &str = "('district_admin', 'street_staff', 'community_staff', 'compound_leader', 'building_officer')";

/// A person holding a grid post at a node.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PostHolder {
    pub user_id: Uuid,
    pub name: String,
    pub role: String,
}

/// Who holds a grid post at exactly `grid` (enabled accounts), by name.
pub async fn post_holders(db: &Db, grid: &str) -> sqlx::Result<Vec<PostHolder>> {
    let sql = format!(
        "SELECT u.id AS user_id, u.display_name AS name, p.role FROM posts p JOIN users u ON u.id = p.user_id \
         WHERE p.grid_code = $1 AND u.disabled = FALSE AND p.role IN {GRID_ROLES} ORDER BY u.display_name, u.id LIMIT 200"
    );
    on_pool!(db, |p| sqlx::query_as::<_, PostHolder>(sqlx::AssertSqlSafe(sql))
        .bind(grid)
        .fetch_all(p)
        .await)
}

/// One call as the log shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CallRow {
    pub id: Uuid,
    pub caller_id: Uuid,
    pub caller_name: String,
    /// Who was called, or who answered the command centre; null while it rings for the centre.
    pub callee_id: Option<Uuid>,
    pub callee_name: String,
    /// The grid node the call was placed from (the caller's own post for the command centre).
    pub grid_code: String,
    /// `person` or `command` (呼叫指挥中心).
    pub target: String,
    /// `voice` or `video`.
    pub kind: String,
    pub requested_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// `answered`, `missed`, `declined`, `failed`; null while it rings or runs.
    pub outcome: Option<String>,
    pub duration_ms: i64,
}

/// A new call, as its ring writes it.
pub struct NewCall<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub caller: (Uuid, &'a str),
    /// The person called (none for the command centre).
    pub callee: Option<(Uuid, &'a str)>,
    pub grid: &'a str,
    pub command: bool,
    pub kind: Kind,
    pub at: i64,
}

fn entry<'a>(district: &'a str, action: &'a str, id: &'a str, detail: serde_json::Value) -> audit::Entry<'a> {
    audit::Entry {
        district,
        action,
        target_kind: "call",
        target_id: id,
        reason: "",
        detail,
    }
}

/// Log a ring (`call.ring`); `ended` when it ends at once (nobody to ring: missed).
pub async fn ring(db: &Db, actor: Actor<'_>, c: &NewCall<'_>, ended: Option<Outcome>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    let ended_at = ended.map(|_| c.at);
    on_tx!(&mut tx, |t| {
        sqlx::query(
        "INSERT INTO calls (id, district, caller_id, caller_name, callee_id, callee_name, grid_code, target, kind, requested_at, ended_at, outcome, duration_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)"
    )
    .bind(c.id)
    .bind(c.district)
    .bind(c.caller.0)
    .bind(c.caller.1)
    .bind(c.callee.map(|x| x.0))
    .bind(c.callee.map_or("", |x| x.1))
    .bind(c.grid)
    .bind(if c.command { "command" } else { "person" })
    .bind(c.kind.as_str())
    .bind(c.at)
    .bind(ended_at)
    .bind(ended.map(Outcome::as_str))
    .execute(t)
    .await
    .map(|r| r.rows_affected())
    })?;
    let id = c.id.to_string();
    let detail = json!({"grid": c.grid, "target": if c.command { "command" } else { "person" }, "callee": c.callee.map(|x| x.0),
        "kind": c.kind.as_str(), "outcome": ended.map(Outcome::as_str)});
    audit::record(&mut tx, actor, entry(c.district, "call.ring", &id, detail)).await?;
    tx.commit().await
}

/// Log an answer (`call.answer`): who answered and when. Written only while the call is open.
pub async fn answer(db: &Db, actor: Actor<'_>, district: &str, id: Uuid, callee: (Uuid, &str), at: i64) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "UPDATE calls SET callee_id = $1, callee_name = $2, answered_at = $3 WHERE id = $4 AND ended_at IS NULL"
    )
    .bind(callee.0)
    .bind(callee.1)
    .bind(at)
    .bind(id)
    .execute(t)
    .await
    .map(|r| r.rows_affected()))?;
    let sid = id.to_string();
    audit::record(&mut tx, actor, entry(district, "call.answer", &sid, json!({}))).await?;
    tx.commit().await
}

/// Log the end (`call.end`): outcome and duration.
pub async fn end(
    db: &Db,
    actor: Actor<'_>,
    district: &str,
    id: Uuid,
    outcome: Outcome,
    answered_at: Option<i64>,
    at: i64,
) -> sqlx::Result<()> {
    let duration = rules::duration_ms(answered_at, at);
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |t| sqlx::query(
        "UPDATE calls SET ended_at = $1, outcome = $2, duration_ms = $3 WHERE id = $4 AND ended_at IS NULL"
    )
    .bind(at)
    .bind(outcome.as_str())
    .bind(duration)
    .bind(id)
    .execute(t)
    .await
    .map(|r| r.rows_affected()))?;
    let sid = id.to_string();
    let detail = json!({"outcome": outcome.as_str(), "duration_ms": duration});
    audit::record(&mut tx, actor, entry(district, "call.end", &sid, detail)).await?;
    tx.commit().await
}

/// Calls left open by a server that stopped (the socket registry lives in the process): they
/// ended when it did, failed if never answered (an answered one keeps a zero duration: when it
/// really ended is unknown). Returns how many were closed.
pub async fn close_abandoned(db: &Db, before: i64) -> sqlx::Result<u64> {
    let districts: Vec<String> = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT DISTINCT district FROM calls WHERE ended_at IS NULL AND requested_at < $1"
    )
    .bind(before)
    .fetch_all(p)
    .await)?;
    let mut total = 0;
    for d in districts {
        let mut tx = db.begin().await?;
        let n = on_tx!(&mut tx, |t| sqlx::query(
            "UPDATE calls SET ended_at = $1, outcome = CASE WHEN answered_at IS NULL THEN 'failed' ELSE 'answered' END \
             WHERE district = $2 AND ended_at IS NULL AND requested_at < $1"
        )
        .bind(before)
        .bind(&d)
        .execute(t)
        .await
        .map(|r| r.rows_affected()))?;
        total += n;
        let detail = json!({"abandoned": n});
        audit::record(&mut tx, Actor::System("server"), entry(&d, "call.end", "", detail)).await?;
        tx.commit().await?;
    }
    Ok(total)
}

/// A page of the call log in the subtrees `roots` (newest first), and the count.
pub async fn list(db: &Db, district: &str, roots: &[String], limit: i64, offset: i64) -> sqlx::Result<(Vec<CallRow>, i64)> {
    if roots.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut cond = String::new();
    for i in 0..roots.len() {
        if i > 0 {
            cond.push_str(" OR ");
        }
        cond.push_str(&format!("(grid_code >= ${} AND grid_code < ${})", 2 + 2 * i, 3 + 2 * i));
    }
    let n = 2 + 2 * roots.len();
    let select = format!(
        "SELECT id, caller_id, caller_name, callee_id, callee_name, grid_code, target, kind, requested_at, answered_at, ended_at, outcome, duration_ms \
         FROM calls WHERE district = $1 AND ({cond}) ORDER BY requested_at DESC, id DESC LIMIT ${n} OFFSET ${}",
        n + 1
    );
    let count = format!("SELECT COUNT(*) FROM calls WHERE district = $1 AND ({cond})");
    let uppers: Vec<String> = roots.iter().map(|r| crate::grid::rules::subtree_upper(r)).collect();
    on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, CallRow>(sqlx::AssertSqlSafe(select)).bind(district);
        let mut c = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count)).bind(district);
        for (r, u) in roots.iter().zip(&uppers) {
            q = q.bind(r.as_str()).bind(u.as_str());
            c = c.bind(r.as_str()).bind(u.as_str());
        }
        let rows = q.bind(limit).bind(offset).fetch_all(p).await?;
        let total = c.fetch_one(p).await?;
        Ok((rows, total))
    })
}
