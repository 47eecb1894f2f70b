//! Red proxy service's tables: the district's list of matters, matters, steps and document
//! receipts. Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct KindRow {
    pub id: Uuid,
    pub name: String,
    pub documents: String,
    pub limit_days: i64,
    pub active: bool,
}

pub async fn kinds(db: &Db, district: &str) -> sqlx::Result<Vec<KindRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, KindRow>(
        "SELECT id, name, documents, limit_days, active FROM proxy_kinds WHERE district = $1 ORDER BY name"
    )
    .bind(district)
    .fetch_all(p)
    .await)
}

pub async fn kind(db: &Db, district: &str, id: Uuid) -> sqlx::Result<Option<KindRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, KindRow>(
        "SELECT id, name, documents, limit_days, active FROM proxy_kinds WHERE district = $1 AND id = $2"
    )
    .bind(district)
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Insert or update a kind by name; its id.
pub async fn save_kind(tx: &mut Tx, district: &str, k: &KindRow, now: i64) -> sqlx::Result<Uuid> {
    on_tx!(tx, |c| sqlx::query_scalar::<_, Uuid>(
        "INSERT INTO proxy_kinds (id, district, name, documents, limit_days, active, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (district, name) DO UPDATE SET documents = excluded.documents, limit_days = excluded.limit_days, \
         active = excluded.active, updated_at = excluded.updated_at RETURNING id"
    )
    .bind(k.id)
    .bind(district)
    .bind(&k.name)
    .bind(&k.documents)
    .bind(k.limit_days)
    .bind(k.active)
    .bind(now)
    .fetch_one(c)
    .await)
}

/// The person a matter is for, as the registry has them.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PersonRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub name: String,
    pub tags: String,
}

pub async fn person(db: &Db, id: Uuid) -> sqlx::Result<Option<PersonRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, PersonRow>(
        "SELECT id, district, grid_code, name, tags FROM residents WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct MatterRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub resident_id: Uuid,
    pub person_name: String,
    pub person_tags: String,
    pub kind_id: Uuid,
    pub kind_name: String,
    pub via: String,
    pub note: String,
    pub code_hash: String,
    pub status: String,
    pub agent_id: Option<Uuid>,
    pub agent_name: String,
    pub due_at: i64,
    pub created_by: String,
    pub created_at: i64,
    pub taken_at: Option<i64>,
    pub done_at: Option<i64>,
    pub rating: Option<i64>,
    /// Documents not yet confirmed back with the person.
    pub docs_out: i64,
}

const MATTER_COLS: &str = "m.id, m.district, m.grid_code, m.resident_id, r.name AS person_name, r.tags AS person_tags, m.kind_id, \
     k.name AS kind_name, m.via, m.note, m.code_hash, m.status, m.agent_id, m.agent_name, m.due_at, m.created_by, m.created_at, \
     m.taken_at, m.done_at, m.rating, \
     (SELECT COUNT(*) FROM proxy_documents d WHERE d.matter_id = m.id AND d.state <> 'returned') AS docs_out \
     FROM proxy_matters m JOIN residents r ON r.id = m.resident_id JOIN proxy_kinds k ON k.id = m.kind_id";

pub async fn matter(db: &Db, id: Uuid) -> sqlx::Result<Option<MatterRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MatterRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MATTER_COLS} WHERE m.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// [`matter`] in the transaction, after locking its row (a no-op update takes PostgreSQL's row
/// lock; SQLite's write transaction holds the database), so what is checked stays true.
pub async fn lock_matter(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<MatterRow>> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE proxy_matters SET updated_at = updated_at WHERE id = $1"
    )
    .bind(id)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| sqlx::query_as::<_, MatterRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MATTER_COLS} WHERE m.id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Which matters a list shows.
pub enum Which<'a> {
    /// In a subtree (`status` when given).
    Under { root: &'a str, status: Option<&'a str> },
    /// Taken by this agent and not done.
    Agent(Uuid),
    /// In a subtree, needing attention: overdue, or a document still out.
    Watch { root: &'a str, now: i64 },
}

pub async fn matters(db: &Db, district: &str, which: Which<'_>, limit: i64) -> sqlx::Result<Vec<MatterRow>> {
    matters_page(db, district, which, limit, 0).await
}

/// [`matters`] from `offset` on (the ledger pages through a whole subtree).
pub async fn matters_page(db: &Db, district: &str, which: Which<'_>, limit: i64, offset: i64) -> sqlx::Result<Vec<MatterRow>> {
    let (filter, a, b, c) = match &which {
        Which::Under { root, status } => (
            "m.grid_code >= $2 AND m.grid_code < $3 AND ($4 = '' OR m.status = $4)",
            root.to_string(),
            subtree_upper(root),
            status.unwrap_or("").to_string(),
        ),
        Which::Agent(id) => (
            "m.agent_id = $2 AND m.status = 'taken' AND $3 = $3 AND $4 = $4",
            id.to_string(),
            String::new(),
            String::new(),
        ),
        Which::Watch { root, now } => (
            "m.grid_code >= $2 AND m.grid_code < $3 AND ((m.status <> 'done' AND m.due_at < CAST($4 AS BIGINT)) OR EXISTS \
             (SELECT 1 FROM proxy_documents d WHERE d.matter_id = m.id AND d.state <> 'returned'))",
            root.to_string(),
            subtree_upper(root),
            now.to_string(),
        ),
    };
    let sql = format!("SELECT {MATTER_COLS} WHERE m.district = $1 AND {filter} ORDER BY m.due_at, m.id LIMIT {limit} OFFSET {offset}");
    match which {
        Which::Agent(id) => on_pool!(db, |p| sqlx::query_as::<_, MatterRow>(sqlx::AssertSqlSafe(sql))
            .bind(district)
            .bind(id)
            .bind(b)
            .bind(c)
            .fetch_all(p)
            .await),
        _ => on_pool!(db, |p| sqlx::query_as::<_, MatterRow>(sqlx::AssertSqlSafe(sql))
            .bind(district)
            .bind(a)
            .bind(b)
            .bind(c)
            .fetch_all(p)
            .await),
    }
}

pub struct NewMatter<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub grid_code: &'a str,
    pub resident_id: Uuid,
    pub kind_id: Uuid,
    pub via: &'a str,
    pub note: &'a str,
    pub code_hash: &'a str,
    pub due_at: i64,
    pub created_by: &'a str,
    pub now: i64,
}

pub async fn insert_matter(tx: &mut Tx, m: &NewMatter<'_>) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO proxy_matters (id, district, grid_code, resident_id, kind_id, via, note, code_hash, status, due_at, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $11)"
    )
    .bind(m.id)
    .bind(m.district)
    .bind(m.grid_code)
    .bind(m.resident_id)
    .bind(m.kind_id)
    .bind(m.via)
    .bind(m.note)
    .bind(m.code_hash)
    .bind(m.due_at)
    .bind(m.created_by)
    .bind(m.now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Take an open matter; false when it was not open.
pub async fn take(tx: &mut Tx, id: Uuid, agent: Uuid, name: &str, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE proxy_matters SET status = 'taken', agent_id = $2, agent_name = $3, taken_at = $4, updated_at = $4 WHERE id = $1 AND status = 'open'"
    )
    .bind(id)
    .bind(agent)
    .bind(name)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

pub async fn finish(tx: &mut Tx, id: Uuid, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE proxy_matters SET status = 'done', done_at = $2, updated_at = $2 WHERE id = $1 AND status = 'taken' \
         AND NOT EXISTS (SELECT 1 FROM proxy_documents d WHERE d.matter_id = $1 AND d.state <> 'returned')"
    )
    .bind(id)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn rate(tx: &mut Tx, id: Uuid, stars: i64, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE proxy_matters SET rating = $2, updated_at = $3 WHERE id = $1 AND status = 'done' AND rating IS NULL"
    )
    .bind(id)
    .bind(stars)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct StepRow {
    pub id: Uuid,
    pub note: String,
    pub by_name: String,
    pub at_ms: i64,
}

pub async fn steps(db: &Db, matter: Uuid) -> sqlx::Result<Vec<StepRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, StepRow>(
        "SELECT id, note, by_name, at_ms FROM proxy_steps WHERE matter_id = $1 ORDER BY at_ms, id"
    )
    .bind(matter)
    .fetch_all(p)
    .await)
}

pub async fn insert_step(tx: &mut Tx, matter: Uuid, s: &StepRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO proxy_steps (id, matter_id, note, by_name, at_ms) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(s.id)
    .bind(matter)
    .bind(&s.note)
    .bind(&s.by_name)
    .bind(s.at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DocRow {
    pub id: Uuid,
    pub matter_id: Uuid,
    pub name: String,
    pub state: String,
    pub handed_at: i64,
    pub handed_by: String,
    pub person_handed_at: Option<i64>,
    pub returned_at: Option<i64>,
    pub returned_by: Option<String>,
    pub person_returned_at: Option<i64>,
}

const DOC_COLS: &str =
    "id, matter_id, name, state, handed_at, handed_by, person_handed_at, returned_at, returned_by, person_returned_at FROM proxy_documents";

pub async fn documents(db: &Db, matter: Uuid) -> sqlx::Result<Vec<DocRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DocRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {DOC_COLS} WHERE matter_id = $1 ORDER BY handed_at, id"
    )))
    .bind(matter)
    .fetch_all(p)
    .await)
}

pub async fn document(db: &Db, id: Uuid) -> sqlx::Result<Option<DocRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DocRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {DOC_COLS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn document_tx(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<DocRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, DocRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {DOC_COLS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

pub async fn insert_document(tx: &mut Tx, district: &str, d: &DocRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO proxy_documents (id, matter_id, district, name, state, handed_at, handed_by, person_handed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(d.id)
    .bind(d.matter_id)
    .bind(district)
    .bind(&d.name)
    .bind(&d.state)
    .bind(d.handed_at)
    .bind(&d.handed_by)
    .bind(d.person_handed_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// Move a document from `from` to `d.state`, writing its confirmation times; false if it moved meanwhile.
pub async fn update_document(tx: &mut Tx, d: &DocRow, from: &str) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE proxy_documents SET state = $2, person_handed_at = $3, returned_at = $4, returned_by = $5, person_returned_at = $6 \
         WHERE id = $1 AND state = $7"
    )
    .bind(d.id)
    .bind(&d.state)
    .bind(d.person_handed_at)
    .bind(d.returned_at)
    .bind(&d.returned_by)
    .bind(d.person_returned_at)
    .bind(from)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Residents of a subtree who may need the service (elderly living alone, empty-nest, disabled),
/// for the registration form: id, name, building.
pub async fn cared_for(db: &Db, district: &str, root: &str, limit: i64) -> sqlx::Result<Vec<(Uuid, String, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, String, String)>(sqlx::AssertSqlSafe(format!(
        "SELECT DISTINCT r.id, r.name, r.grid_code FROM resident_tags t JOIN residents r ON r.id = t.resident_id \
         WHERE t.district = $1 AND t.tag IN ('独居老人', '空巢老人', '残疾人') AND t.grid_code >= $2 AND t.grid_code < $3 \
         ORDER BY r.grid_code, r.name, r.id LIMIT {limit}"
    )))
    .bind(district)
    .bind(root)
    .bind(subtree_upper(root))
    .fetch_all(p)
    .await)
}
