//! Dispute mediation's tables: the communities' mediation committees, disputes with parties,
//! mediators and sessions. Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

/// Is this account on the mediation committee of `community`?
pub async fn on_committee(db: &Db, community: &str, user: Uuid) -> sqlx::Result<bool> {
    let n: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM mediators WHERE grid_code = $1 AND user_id = $2"
    )
    .bind(community)
    .bind(user)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// The committee of a community: (user id, display name).
pub async fn committee(db: &Db, community: &str) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, String)>(
        "SELECT u.id, u.display_name FROM mediators m JOIN users u ON u.id = m.user_id WHERE m.grid_code = $1 ORDER BY u.display_name, u.id"
    )
    .bind(community)
    .fetch_all(p)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DisputeRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub grid_name: String,
    pub kind: String,
    pub summary: String,
    pub status: String,
    pub terms: Option<String>,
    pub referral: Option<String>,
    pub referral_note: String,
    pub case_id: Option<Uuid>,
    pub outcome_at: Option<i64>,
    pub follow_up_due: Option<String>,
    pub followed_up_at: Option<i64>,
    pub follow_up_note: String,
    pub created_by: String,
    pub created_at: i64,
    pub sessions: i64,
}

const COLS: &str = "d.id, d.district, d.grid_code, g.name AS grid_name, d.kind, d.summary, d.status, d.terms, d.referral, \
     d.referral_note, d.case_id, d.outcome_at, d.follow_up_due, d.followed_up_at, d.follow_up_note, d.created_by, d.created_at, \
     (SELECT COUNT(*) FROM dispute_sessions s WHERE s.dispute_id = d.id) AS sessions \
     FROM disputes d JOIN grids g ON g.code = d.grid_code";

pub async fn dispute(db: &Db, id: Uuid) -> sqlx::Result<Option<DisputeRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DisputeRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} WHERE d.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// The dispute locked in the transaction (a no-op update takes PostgreSQL's row lock).
pub async fn lock(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<DisputeRow>> {
    on_tx!(tx, |c| sqlx::query("UPDATE disputes SET updated_at = updated_at WHERE id = $1")
        .bind(id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| sqlx::query_as::<_, DisputeRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} WHERE d.id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Disputes under a node, newest first.
pub async fn under(db: &Db, district: &str, root: &str, limit: i64) -> sqlx::Result<Vec<DisputeRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DisputeRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} WHERE d.district = $1 AND d.grid_code >= $2 AND d.grid_code < $3 ORDER BY d.created_at DESC, d.id LIMIT {limit}"
    )))
    .bind(district)
    .bind(root)
    .bind(subtree_upper(root))
    .fetch_all(p)
    .await)
}

/// Disputes this account mediates, newest first.
pub async fn of_mediator(db: &Db, user: Uuid, limit: i64) -> sqlx::Result<Vec<DisputeRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DisputeRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} WHERE EXISTS (SELECT 1 FROM dispute_mediators m WHERE m.dispute_id = d.id AND m.user_id = $1) \
         ORDER BY d.created_at DESC, d.id LIMIT {limit}"
    )))
    .bind(user)
    .fetch_all(p)
    .await)
}

pub async fn parties(db: &Db, id: Uuid) -> sqlx::Result<Vec<String>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT name FROM dispute_parties WHERE dispute_id = $1 ORDER BY seq"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

pub async fn mediators(db: &Db, id: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, String)>(
        "SELECT user_id, name FROM dispute_mediators WHERE dispute_id = $1 ORDER BY name, user_id"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SessionRow {
    pub id: Uuid,
    pub held_on: String,
    pub note: String,
    pub recorded_by: String,
}

pub async fn sessions(db: &Db, id: Uuid) -> sqlx::Result<Vec<SessionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, SessionRow>(
        "SELECT id, held_on, note, recorded_by FROM dispute_sessions WHERE dispute_id = $1 ORDER BY held_on, created_at, id"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

pub struct NewDispute<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub grid_code: &'a str,
    pub kind: &'a str,
    pub summary: &'a str,
    pub opened_month: &'a str,
    pub created_by: &'a str,
    pub now: i64,
}

pub async fn insert(tx: &mut Tx, d: &NewDispute<'_>, parties: &[String], mediators: &[(Uuid, String)]) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO disputes (id, district, grid_code, kind, summary, status, opened_month, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $8)"
    )
    .bind(d.id)
    .bind(d.district)
    .bind(d.grid_code)
    .bind(d.kind)
    .bind(d.summary)
    .bind(d.opened_month)
    .bind(d.created_by)
    .bind(d.now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    for (i, name) in parties.iter().enumerate() {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO dispute_parties (dispute_id, seq, name) VALUES ($1, $2, $3)"
        )
        .bind(d.id)
        .bind(i as i64 + 1)
        .bind(name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    for (u, name) in mediators {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO dispute_mediators (dispute_id, user_id, name) VALUES ($1, $2, $3)"
        )
        .bind(d.id)
        .bind(*u)
        .bind(name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

pub async fn insert_session(tx: &mut Tx, dispute: Uuid, s: &SessionRow, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO dispute_sessions (id, dispute_id, held_on, note, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(s.id)
    .bind(dispute)
    .bind(&s.held_on)
    .bind(&s.note)
    .bind(&s.recorded_by)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub struct Decided<'a> {
    pub status: &'a str,
    pub terms: Option<&'a str>,
    pub referral: Option<&'a str>,
    pub referral_note: &'a str,
    pub case_id: Option<Uuid>,
    pub follow_up_due: &'a str,
    pub now: i64,
}

/// Write the outcome of an open dispute; false if it was no longer open.
pub async fn decide(tx: &mut Tx, id: Uuid, d: &Decided<'_>) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE disputes SET status = $2, terms = $3, referral = $4, referral_note = $5, case_id = $6, outcome_at = $7, \
         follow_up_due = $8, updated_at = $7 WHERE id = $1 AND status = 'open'"
    )
    .bind(id)
    .bind(d.status)
    .bind(d.terms)
    .bind(d.referral)
    .bind(d.referral_note)
    .bind(d.case_id)
    .bind(d.now)
    .bind(d.follow_up_due)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn follow_up(tx: &mut Tx, id: Uuid, note: &str, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE disputes SET followed_up_at = $2, follow_up_note = $3, updated_at = $2 WHERE id = $1 AND status <> 'open' AND followed_up_at IS NULL"
    )
    .bind(id)
    .bind(now)
    .bind(note)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Counts per month and kind under a node for a year: (month, kind, disputes, agreements).
pub async fn counts(db: &Db, district: &str, root: &str, year: i64) -> sqlx::Result<Vec<(String, String, i64, i64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, String, i64, i64)>(
        "SELECT opened_month, kind, COUNT(*), CAST(SUM(CASE WHEN status = 'agreed' THEN 1 ELSE 0 END) AS BIGINT) FROM disputes \
         WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND opened_month >= $4 AND opened_month < $5 \
         GROUP BY opened_month, kind ORDER BY opened_month, kind"
    )
    .bind(district)
    .bind(root)
    .bind(subtree_upper(root))
    .bind(format!("{year:04}-01"))
    .bind(format!("{year:04}-13"))
    .fetch_all(p)
    .await)
}
