//! Care visits' tables: the district's schedule per tag, the next due day per (resident, tag), and
//! the visits. Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use super::rules::CARE_TAGS;
use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ScheduleRow {
    pub tag: String,
    pub every_unit: String,
    pub every_count: i64,
    pub grace_days: i64,
    pub active: bool,
}

pub async fn schedules(db: &Db, district: &str) -> sqlx::Result<Vec<ScheduleRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ScheduleRow>(
        "SELECT tag, every_unit, every_count, grace_days, active FROM care_schedules WHERE district = $1 ORDER BY tag"
    )
    .bind(district)
    .fetch_all(p)
    .await)
}

pub async fn upsert_schedule(tx: &mut Tx, district: &str, s: &ScheduleRow, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO care_schedules (district, tag, every_unit, every_count, grace_days, active, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (district, tag) DO UPDATE SET every_unit = excluded.every_unit, every_count = excluded.every_count, \
         grace_days = excluded.grace_days, active = excluded.active, updated_at = excluded.updated_at"
    )
    .bind(district)
    .bind(&s.tag)
    .bind(&s.every_unit)
    .bind(s.every_count)
    .bind(s.grace_days)
    .bind(s.active)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// One (resident, care tag) of a subtree with its due row, if it has one yet.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DueRow {
    pub resident_id: Uuid,
    pub tag: String,
    pub grid_code: String,
    pub name: String,
    pub due_at: Option<i64>,
    pub last_visit_at: Option<i64>,
}

fn care_tags_sql() -> String {
    CARE_TAGS.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ")
}

/// Every care-tagged resident of the subtree of `grid`, by the registry's tags (so a tag given or
/// taken away shows at once), with the due row kept here.
pub async fn due_in(db: &Db, district: &str, grid: &str) -> sqlx::Result<Vec<DueRow>> {
    let sql = format!(
        "SELECT t.resident_id, t.tag, t.grid_code, r.name, d.due_at, d.last_visit_at \
         FROM resident_tags t JOIN residents r ON r.id = t.resident_id \
         LEFT JOIN care_due d ON d.resident_id = t.resident_id AND d.tag = t.tag \
         WHERE t.district = $1 AND t.tag IN ({}) AND t.grid_code >= $2 AND t.grid_code < $3",
        care_tags_sql()
    );
    on_pool!(db, |p| sqlx::query_as::<_, DueRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(district)
        .bind(grid)
        .bind(subtree_upper(grid))
        .fetch_all(p)
        .await)
}

/// A due row for a (resident, tag) first seen now; one already there (another reader's) stays.
pub async fn insert_due(tx: &mut Tx, district: &str, r: &DueRow, due_at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO care_due (resident_id, tag, district, grid_code, due_at, last_visit_at) VALUES ($1, $2, $3, $4, $5, NULL) \
         ON CONFLICT (resident_id, tag) DO NOTHING"
    )
    .bind(r.resident_id)
    .bind(&r.tag)
    .bind(district)
    .bind(&r.grid_code)
    .bind(due_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// After a visit: the tag's next due day and the visit's time.
pub async fn set_due(tx: &mut Tx, district: &str, resident: Uuid, tag: &str, grid: &str, due_at: i64, visited_at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO care_due (resident_id, tag, district, grid_code, due_at, last_visit_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (resident_id, tag) DO UPDATE SET grid_code = excluded.grid_code, due_at = excluded.due_at, last_visit_at = excluded.last_visit_at"
    )
    .bind(resident)
    .bind(tag)
    .bind(district)
    .bind(grid)
    .bind(due_at)
    .bind(visited_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The visited rows of a tag (a schedule change moves their due days).
pub async fn visited_of_tag(tx: &mut Tx, district: &str, tag: &str) -> sqlx::Result<Vec<(Uuid, i64)>> {
    on_tx!(tx, |c| sqlx::query_as::<_, (Uuid, i64)>(
        "SELECT resident_id, last_visit_at FROM care_due WHERE district = $1 AND tag = $2 AND last_visit_at IS NOT NULL"
    )
    .bind(district)
    .bind(tag)
    .fetch_all(c)
    .await)
}

pub async fn move_due(tx: &mut Tx, resident: Uuid, tag: &str, due_at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE care_due SET due_at = $1 WHERE resident_id = $2 AND tag = $3"
    )
    .bind(due_at)
    .bind(resident)
    .bind(tag)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct VisitRow {
    pub id: Uuid,
    pub district: String,
    pub resident_id: Uuid,
    pub grid_code: String,
    pub visited_at: i64,
    pub visited_by: Option<Uuid>,
    pub visitor_name: String,
    pub condition: String,
    pub note: String,
    pub needs: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub located: String,
    pub photo_sha256: Option<String>,
    pub photo_mime: Option<String>,
}

const VISIT_COLS: &str = "id, district, resident_id, grid_code, visited_at, visited_by, visitor_name, condition, note, needs, lat, lng, located, photo_sha256, photo_mime";

pub async fn insert_visit(tx: &mut Tx, v: &VisitRow, now: i64) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO care_visits ({VISIT_COLS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    );
    on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(v.id)
        .bind(&v.district)
        .bind(v.resident_id)
        .bind(&v.grid_code)
        .bind(v.visited_at)
        .bind(v.visited_by)
        .bind(&v.visitor_name)
        .bind(&v.condition)
        .bind(&v.note)
        .bind(&v.needs)
        .bind(v.lat)
        .bind(v.lng)
        .bind(&v.located)
        .bind(&v.photo_sha256)
        .bind(&v.photo_mime)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn visit(db: &Db, id: Uuid) -> sqlx::Result<Option<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLS} FROM care_visits WHERE id = $1");
    on_pool!(db, |p| sqlx::query_as::<_, VisitRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(p)
        .await)
}

/// A resident's visits, newest first.
pub async fn visits_of(db: &Db, district: &str, resident: Uuid, limit: i64) -> sqlx::Result<Vec<VisitRow>> {
    let sql = format!("SELECT {VISIT_COLS} FROM care_visits WHERE district = $1 AND resident_id = $2 ORDER BY visited_at DESC LIMIT $3");
    on_pool!(db, |p| sqlx::query_as::<_, VisitRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(district)
        .bind(resident)
        .bind(limit)
        .fetch_all(p)
        .await)
}
