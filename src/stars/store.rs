//! The five-star tables: configuration per district and year, scorecards, self-assessment
//! entries, each star's verdicts, evidence files and quarterly snapshots. Writes take the
//! caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CardRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub year: i64,
    pub kind: String,
    pub status: String,
    pub submitted_at: Option<i64>,
    pub reviewed_at: Option<i64>,
    pub rated_at: Option<i64>,
    pub updated_at: i64,
}

const CARD_COLS: &str = "id, district, grid_code, year, kind, status, submitted_at, reviewed_at, rated_at, updated_at";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct EntryRow {
    pub star_code: String,
    pub criterion: String,
    pub score: i64,
    pub note: String,
    pub links: String,
    pub updated_by: String,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone, Default)]
pub struct VerdictRow {
    pub star_code: String,
    pub review: Option<String>,
    pub review_comment: String,
    pub reviewed_by: String,
    pub reviewed_at: Option<i64>,
    pub rating: Option<String>,
    pub reason: String,
    pub rated_by: String,
    pub rated_at: Option<i64>,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FileRow {
    pub star_code: String,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub name: String,
    pub uploaded_by: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SnapshotRow {
    pub quarter: i64,
    pub score: f64,
    pub body: String,
    pub taken_at: i64,
}

/// A level-3 node (community or village) with its street.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CommunityRow {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub street_code: String,
    pub street_name: String,
}

/// One star's rating of a card, for the list.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct RatingRow {
    pub grid_code: String,
    pub status: String,
    pub star_code: String,
    pub rating: Option<String>,
    pub reason: String,
}

pub async fn config(db: &Db, district: &str, year: i64) -> sqlx::Result<Option<String>> {
    on_pool!(db, |p| sqlx::query_scalar(
        "SELECT body FROM star_configs WHERE district = $1 AND year = $2"
    )
    .bind(district)
    .bind(year)
    .fetch_optional(p)
    .await)
}

pub async fn save_config(tx: &mut Tx, district: &str, year: i64, body: &str, by: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO star_configs (district, year, body, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (district, year) DO UPDATE SET body = excluded.body, updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    )
    .bind(district)
    .bind(year)
    .bind(body)
    .bind(by)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

/// Level-3 nodes under `grid` (or the one at it), with their street, in code order.
pub async fn communities(db: &Db, district: &str, grid: &str) -> sqlx::Result<Vec<CommunityRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CommunityRow>(
        "SELECT g.code, g.name, g.kind, s.code AS street_code, s.name AS street_name FROM grids g \
         JOIN grids s ON s.code = g.parent_code \
         WHERE g.district = $1 AND g.level = 3 AND g.code >= $2 AND g.code < $3 ORDER BY g.code"
    )
    .bind(district)
    .bind(grid)
    .bind(subtree_upper(grid))
    .fetch_all(p)
    .await)
}

/// Every star's rating of the year's cards under `grid`.
pub async fn ratings(db: &Db, district: &str, grid: &str, year: i64) -> sqlx::Result<Vec<RatingRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, RatingRow>(
        "SELECT c.grid_code, c.status, v.star_code, v.rating, v.reason FROM star_cards c \
         JOIN star_verdicts v ON v.card_id = c.id \
         WHERE c.district = $1 AND c.year = $4 AND c.grid_code >= $2 AND c.grid_code < $3"
    )
    .bind(district)
    .bind(grid)
    .bind(subtree_upper(grid))
    .bind(year)
    .fetch_all(p)
    .await)
}

/// The statuses of the year's cards under `grid`.
pub async fn statuses(db: &Db, district: &str, grid: &str, year: i64) -> sqlx::Result<Vec<(String, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT grid_code, status FROM star_cards WHERE district = $1 AND year = $4 AND grid_code >= $2 AND grid_code < $3"
    )
    .bind(district)
    .bind(grid)
    .bind(subtree_upper(grid))
    .bind(year)
    .fetch_all(p)
    .await)
}

pub async fn card(db: &Db, district: &str, grid: &str, year: i64) -> sqlx::Result<Option<CardRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CardRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CARD_COLS} FROM star_cards WHERE district = $1 AND grid_code = $2 AND year = $3"
    )))
    .bind(district)
    .bind(grid)
    .bind(year)
    .fetch_optional(p)
    .await)
}

/// The card, made as a draft if it does not exist yet, read inside the transaction.
pub async fn card_in_tx(tx: &mut Tx, district: &str, grid: &str, year: i64, kind: &str, id: Uuid, now: i64) -> sqlx::Result<CardRow> {
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO star_cards (id, district, grid_code, year, kind, status, updated_at) VALUES ($1, $2, $3, $4, $5, 'draft', $6) \
             ON CONFLICT (district, grid_code, year) DO NOTHING",
        )
        .bind(id)
        .bind(district)
        .bind(grid)
        .bind(year)
        .bind(kind)
        .bind(now)
        .execute(&mut *c)
        .await?;
        sqlx::query_as::<_, CardRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {CARD_COLS} FROM star_cards WHERE district = $1 AND grid_code = $2 AND year = $3"
        )))
        .bind(district)
        .bind(grid)
        .bind(year)
        .fetch_one(&mut *c)
        .await
    })
}

/// Move a card from `from` to `to` (the row is locked by the update); false if it was not in `from`.
pub async fn set_status(tx: &mut Tx, id: Uuid, from: &str, to: &str, column: Option<&str>, now: i64) -> sqlx::Result<bool> {
    let stamp = match column {
        Some("submitted_at") => ", submitted_at = $4",
        Some("reviewed_at") => ", reviewed_at = $4",
        Some("rated_at") => ", rated_at = $4",
        _ => "",
    };
    let sql = format!("UPDATE star_cards SET status = $3, updated_at = $4{stamp} WHERE id = $1 AND status = $2");
    let n = on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn entries(db: &Db, card: Uuid) -> sqlx::Result<Vec<EntryRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, EntryRow>(
        "SELECT star_code, criterion, score, note, links, updated_by, updated_at FROM star_entries WHERE card_id = $1"
    )
    .bind(card)
    .fetch_all(p)
    .await)
}

pub async fn entries_tx(tx: &mut Tx, card: Uuid) -> sqlx::Result<Vec<EntryRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, EntryRow>(
        "SELECT star_code, criterion, score, note, links, updated_by, updated_at FROM star_entries WHERE card_id = $1"
    )
    .bind(card)
    .fetch_all(&mut *c)
    .await)
}

pub async fn upsert_entry(tx: &mut Tx, card: Uuid, e: &EntryRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO star_entries (card_id, star_code, criterion, score, note, links, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (card_id, star_code, criterion) DO UPDATE SET \
         score = excluded.score, note = excluded.note, links = excluded.links, updated_by = excluded.updated_by, updated_at = excluded.updated_at"
    )
    .bind(card)
    .bind(&e.star_code)
    .bind(&e.criterion)
    .bind(e.score)
    .bind(&e.note)
    .bind(&e.links)
    .bind(&e.updated_by)
    .bind(e.updated_at)
    .execute(&mut *c)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

pub async fn verdicts(db: &Db, card: Uuid) -> sqlx::Result<Vec<VerdictRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VerdictRow>(
        "SELECT star_code, review, review_comment, reviewed_by, reviewed_at, rating, reason, rated_by, rated_at \
         FROM star_verdicts WHERE card_id = $1"
    )
    .bind(card)
    .fetch_all(p)
    .await)
}

pub async fn review_star(tx: &mut Tx, card: Uuid, star: &str, review: &str, comment: &str, by: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO star_verdicts (card_id, star_code, review, review_comment, reviewed_by, reviewed_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (card_id, star_code) DO UPDATE SET review = excluded.review, review_comment = excluded.review_comment, \
         reviewed_by = excluded.reviewed_by, reviewed_at = excluded.reviewed_at"
    )
    .bind(card)
    .bind(star)
    .bind(review)
    .bind(comment)
    .bind(by)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn rate_star(tx: &mut Tx, card: Uuid, star: &str, rating: &str, reason: &str, by: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO star_verdicts (card_id, star_code, rating, reason, rated_by, rated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (card_id, star_code) DO UPDATE SET rating = excluded.rating, reason = excluded.reason, \
         rated_by = excluded.rated_by, rated_at = excluded.rated_at"
    )
    .bind(card)
    .bind(star)
    .bind(rating)
    .bind(reason)
    .bind(by)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn snapshot(tx: &mut Tx, card: Uuid, quarter: i64, score: f64, body: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO star_snapshots (card_id, quarter, score, body, taken_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (card_id, quarter) DO UPDATE SET score = excluded.score, body = excluded.body, taken_at = excluded.taken_at"
    )
    .bind(card)
    .bind(quarter)
    .bind(score)
    .bind(body)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn snapshots(db: &Db, card: Uuid) -> sqlx::Result<Vec<SnapshotRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, SnapshotRow>(
        "SELECT quarter, score, body, taken_at FROM star_snapshots WHERE card_id = $1 ORDER BY quarter"
    )
    .bind(card)
    .fetch_all(p)
    .await)
}

pub async fn files(db: &Db, card: Uuid) -> sqlx::Result<Vec<FileRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, FileRow>(
        "SELECT star_code, sha256, mime, size, name, uploaded_by, created_at FROM star_files WHERE card_id = $1 ORDER BY created_at, sha256"
    )
    .bind(card)
    .fetch_all(p)
    .await)
}

pub async fn insert_file(tx: &mut Tx, card: Uuid, f: &FileRow) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO star_files (card_id, star_code, sha256, mime, size, name, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (card_id, star_code, sha256) DO NOTHING"
    )
    .bind(card)
    .bind(&f.star_code)
    .bind(&f.sha256)
    .bind(&f.mime)
    .bind(f.size)
    .bind(&f.name)
    .bind(&f.uploaded_by)
    .bind(f.created_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The year's figures of a community: cases reported and closed, council meetings held, and the
/// volunteer hours of its volunteers.
pub async fn figures(db: &Db, district: &str, grid: &str, from: i64, to: i64) -> sqlx::Result<(i64, i64, i64, i64)> {
    let upper = subtree_upper(grid);
    on_pool!(db, |p| {
        let (cases, closed): (i64, i64) = sqlx::query_as(
            // `+reported_at`: keep SQLite on the grid index (a community's few thousand rows); with
            // bound values it cannot tell that a whole year is most of the district, and took the
            // date index through 100,000 rows (300 ms).
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), 0) FROM cases \
             WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND +reported_at >= $4 AND +reported_at < $5",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(from)
        .bind(to)
        .fetch_one(p)
        .await?;
        let meetings: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM council_meetings WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 \
             AND status = 'held' AND +starts_at >= $4 AND +starts_at < $5",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(from)
        .bind(to)
        .fetch_one(p)
        .await?;
        let minutes: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT) FROM volunteers WHERE district = $1 AND grid_code >= $2 AND grid_code < $3",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_one(p)
        .await?;
        Ok((cases, closed, meetings, minutes / 60))
    })
}

/// The grid code an evidence link points at (a case, a volunteer activity or a council meeting).
pub async fn link_grid(db: &Db, kind: &str, id: Uuid) -> sqlx::Result<Option<String>> {
    let sql = match kind {
        "case" => "SELECT grid_code FROM cases WHERE id = $1",
        "activity" => "SELECT grid_code FROM volunteer_activities WHERE id = $1",
        "meeting" => "SELECT grid_code FROM council_meetings WHERE id = $1",
        _ => return Ok(None),
    };
    on_pool!(db, |p| sqlx::query_scalar(sql).bind(id).fetch_optional(p).await)
}
