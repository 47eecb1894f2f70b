//! Frontage responsibility's tables: agreements (责任书), patrol checks and the month's notices.
//! Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct AgreementRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub street_code: String,
    pub shop_name: String,
    pub address: String,
    pub signer_name: String,
    pub signer_phone: String,
    pub party_name: String,
    pub segment: String,
    pub from_lat: Option<f64>,
    pub from_lng: Option<f64>,
    pub to_lat: Option<f64>,
    pub to_lng: Option<f64>,
    pub duties: i64,
    pub signed_on: String,
    pub term_months: i64,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
}

const AGREEMENT_COLS: &str = "id, district, grid_code, street_code, shop_name, address, signer_name, signer_phone, party_name, segment, from_lat, from_lng, to_lat, to_lng, duties, signed_on, term_months, created_by, created_at";

pub async fn insert_agreement(tx: &mut Tx, a: &AgreementRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO frontage_agreements ({AGREEMENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    );
    on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(a.id)
        .bind(&a.district)
        .bind(&a.grid_code)
        .bind(&a.street_code)
        .bind(&a.shop_name)
        .bind(&a.address)
        .bind(&a.signer_name)
        .bind(&a.signer_phone)
        .bind(&a.party_name)
        .bind(&a.segment)
        .bind(a.from_lat)
        .bind(a.from_lng)
        .bind(a.to_lat)
        .bind(a.to_lng)
        .bind(a.duties)
        .bind(&a.signed_on)
        .bind(a.term_months)
        .bind(a.created_by)
        .bind(a.created_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn agreement(db: &Db, id: Uuid) -> sqlx::Result<Option<AgreementRow>> {
    let sql = format!("SELECT {AGREEMENT_COLS} FROM frontage_agreements WHERE id = $1");
    on_pool!(db, |p| sqlx::query_as::<_, AgreementRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(p)
        .await)
}

/// The agreements whose grid is under `root`, by shop name, a page of them, and how many in all.
pub async fn agreements_under(db: &Db, district: &str, root: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<AgreementRow>, i64)> {
    let sql = format!(
        "SELECT {AGREEMENT_COLS} FROM frontage_agreements WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 ORDER BY grid_code, shop_name, id LIMIT $4 OFFSET $5"
    );
    let upper = subtree_upper(root);
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, AgreementRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(district)
            .bind(root)
            .bind(&upper)
            .bind(limit)
            .bind(offset)
            .fetch_all(p)
            .await?;
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM frontage_agreements WHERE district = $1 AND grid_code >= $2 AND grid_code < $3")
                .bind(district)
                .bind(root)
                .bind(&upper)
                .fetch_one(p)
                .await?;
        Ok((rows, n))
    })
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CheckRow {
    pub id: Uuid,
    pub agreement_id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub checked_at: i64,
    pub month: String,
    pub checked_by: Option<Uuid>,
    pub checker_name: String,
    pub sanitation: Option<i64>,
    pub orderliness: Option<i64>,
    pub greenery: Option<i64>,
    pub passed: bool,
    pub note: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub photo_sha256: Option<String>,
    pub photo_mime: Option<String>,
}

const CHECK_COLS: &str = "id, agreement_id, district, grid_code, checked_at, month, checked_by, checker_name, sanitation, orderliness, greenery, passed, note, lat, lng, photo_sha256, photo_mime";

pub async fn insert_check(tx: &mut Tx, v: &CheckRow) -> sqlx::Result<()> {
    let sql = format!(
        "INSERT INTO frontage_checks ({CHECK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    );
    on_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .bind(v.id)
        .bind(v.agreement_id)
        .bind(&v.district)
        .bind(&v.grid_code)
        .bind(v.checked_at)
        .bind(&v.month)
        .bind(v.checked_by)
        .bind(&v.checker_name)
        .bind(v.sanitation)
        .bind(v.orderliness)
        .bind(v.greenery)
        .bind(v.passed)
        .bind(&v.note)
        .bind(v.lat)
        .bind(v.lng)
        .bind(&v.photo_sha256)
        .bind(&v.photo_mime)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn check(db: &Db, id: Uuid) -> sqlx::Result<Option<CheckRow>> {
    let sql = format!("SELECT {CHECK_COLS} FROM frontage_checks WHERE id = $1");
    on_pool!(db, |p| sqlx::query_as::<_, CheckRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(p)
        .await)
}

/// An agreement's checks, newest first.
pub async fn checks_of(db: &Db, agreement: Uuid, limit: i64) -> sqlx::Result<Vec<CheckRow>> {
    let sql = format!("SELECT {CHECK_COLS} FROM frontage_checks WHERE agreement_id = $1 ORDER BY checked_at DESC, id DESC LIMIT $2");
    on_pool!(db, |p| sqlx::query_as::<_, CheckRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(agreement)
        .bind(limit)
        .fetch_all(p)
        .await)
}

/// Locks the agreement's row for the check's transaction (PostgreSQL; SQLite's writer is one).
pub async fn lock_agreement(tx: &mut Tx, id: Uuid) -> sqlx::Result<()> {
    match tx {
        Tx::Pg(t) => {
            sqlx::query("SELECT id FROM frontage_agreements WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?;
        }
        Tx::Sqlite(_) => {}
    }
    Ok(())
}

/// Per duty, the month's failed checks of an agreement: (failed checks, sanitation, orderliness,
/// greenery failures).
pub async fn month_failures(tx: &mut Tx, agreement: Uuid, month: &str) -> sqlx::Result<(i64, [i64; 3])> {
    let row: (i64, Option<i64>, Option<i64>, Option<i64>) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT COUNT(*), SUM(CASE WHEN sanitation = 0 THEN 1 ELSE 0 END), SUM(CASE WHEN orderliness = 0 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN greenery = 0 THEN 1 ELSE 0 END) FROM frontage_checks WHERE agreement_id = $1 AND month = $2 AND NOT passed"
    )
    .bind(agreement)
    .bind(month)
    .fetch_one(c)
    .await)?;
    Ok((row.0, [row.1.unwrap_or(0), row.2.unwrap_or(0), row.3.unwrap_or(0)]))
}

/// The kinds (`notice`, `case`) the month already has for an agreement.
pub async fn month_notices(tx: &mut Tx, agreement: Uuid, month: &str) -> sqlx::Result<Vec<String>> {
    let rows: Vec<(String,)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT kind FROM frontage_notices WHERE agreement_id = $1 AND month = $2"
    )
    .bind(agreement)
    .bind(month)
    .fetch_all(c)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct NoticeRow {
    pub id: Uuid,
    pub agreement_id: Uuid,
    pub district: String,
    pub month: String,
    pub kind: String,
    pub check_id: Uuid,
    pub case_id: Option<Uuid>,
    pub message: String,
    pub created_at: i64,
}

pub async fn insert_notice(tx: &mut Tx, n: &NoticeRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO frontage_notices (id, agreement_id, district, month, kind, check_id, case_id, message, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(n.id)
    .bind(n.agreement_id)
    .bind(&n.district)
    .bind(&n.month)
    .bind(&n.kind)
    .bind(n.check_id)
    .bind(n.case_id)
    .bind(&n.message)
    .bind(n.created_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// An agreement's notices and cases, newest first.
pub async fn notices_of(db: &Db, agreement: Uuid) -> sqlx::Result<Vec<NoticeRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, NoticeRow>(
        "SELECT id, agreement_id, district, month, kind, check_id, case_id, message, created_at FROM frontage_notices \
         WHERE agreement_id = $1 ORDER BY created_at DESC LIMIT 50"
    )
    .bind(agreement)
    .fetch_all(p)
    .await)
}

/// Checks made and passed in `[from, to)` under `root`, grouped by the first `width` characters
/// of the agreement's grid code (a street's communities).
pub async fn compliance(db: &Db, district: &str, root: &str, from: i64, to: i64, width: usize) -> sqlx::Result<Vec<(String, i64, i64)>> {
    let key = format!("SUBSTR(grid_code, 1, {width})");
    let sql = format!(
        "SELECT {key} AS k, COUNT(*), SUM(CASE WHEN passed THEN 1 ELSE 0 END) FROM frontage_checks \
         WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND checked_at >= $4 AND checked_at < $5 GROUP BY {key}"
    );
    let upper = subtree_upper(root);
    on_pool!(db, |p| {
        let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(district)
            .bind(root)
            .bind(&upper)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await?;
        Ok(rows.into_iter().map(|r| (r.0, r.1, r.2.unwrap_or(0))).collect())
    })
}

/// Per agreement under `root`, checks made and passed in `[from, to)`.
pub async fn compliance_by_agreement(db: &Db, district: &str, root: &str, from: i64, to: i64) -> sqlx::Result<Vec<(Uuid, i64, i64)>> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| {
        let rows: Vec<(Uuid, i64, Option<i64>)> = sqlx::query_as(
            "SELECT agreement_id, COUNT(*), SUM(CASE WHEN passed THEN 1 ELSE 0 END) FROM frontage_checks \
             WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND checked_at >= $4 AND checked_at < $5 GROUP BY agreement_id",
        )
        .bind(district)
        .bind(root)
        .bind(&upper)
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?;
        Ok(rows.into_iter().map(|r| (r.0, r.1, r.2.unwrap_or(0))).collect())
    })
}

/// The agreements of a street for its public page: shop, duties, segment (no personal data).
pub async fn public_of(db: &Db, district: &str, root: &str, limit: i64) -> sqlx::Result<Vec<(String, i64, String)>> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| sqlx::query_as::<_, (String, i64, String)>(
        "SELECT shop_name, duties, segment FROM frontage_agreements WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 \
         ORDER BY shop_name LIMIT $4"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(limit)
    .fetch_all(p)
    .await)
}
