//! The decisions' storage: property units, decisions and the current ballot of each owner, on
//! both engines.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

/// One exclusive unit (专有部分) of the register.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct UnitRow {
    pub id: Uuid,
    pub compound_code: String,
    pub building_code: String,
    pub label: String,
    pub area_centi: i64,
    pub resident_id: Option<Uuid>,
    pub owner_name: String,
    pub developer: bool,
    pub owner_key: String,
}

const UNIT_COLS: &str = "id, compound_code, building_code, label, area_centi, resident_id, owner_name, developer, owner_key";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DecisionRow {
    pub id: Uuid,
    pub district: String,
    pub compound_code: String,
    pub matter: i64,
    pub title: String,
    pub body: String,
    pub status: String,
    pub opens_at: i64,
    pub closes_at: i64,
    pub passed: Option<bool>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, district, compound_code, matter, title, body, status, opens_at, closes_at, passed, created_at, updated_at";

/// A current ballot.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct BallotRow {
    pub owner_key: String,
    pub choice: String,
    pub channel: String,
    pub photo_sha256: String,
    pub cast_at: i64,
    pub changes: i64,
}

/// The register of a compound, by building and label.
pub async fn units(db: &Db, compound: &str) -> sqlx::Result<Vec<UnitRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, UnitRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {UNIT_COLS} FROM property_units WHERE compound_code = $1 ORDER BY building_code, label"
    )))
    .bind(compound)
    .fetch_all(p)
    .await)
}

/// The (counting owner, area) pairs of a compound: what the rule needs and nothing else.
pub async fn shares(db: &Db, compound: &str) -> sqlx::Result<Vec<(String, i64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, i64)>(
        "SELECT owner_key, area_centi FROM property_units WHERE compound_code = $1"
    )
    .bind(compound)
    .fetch_all(p)
    .await)
}

/// The same, inside a transaction.
pub async fn shares_tx(tx: &mut Tx, compound: &str) -> sqlx::Result<Vec<(String, i64)>> {
    on_tx!(tx, |c| sqlx::query_as::<_, (String, i64)>(
        "SELECT owner_key, area_centi FROM property_units WHERE compound_code = $1"
    )
    .bind(compound)
    .fetch_all(&mut *c)
    .await)
}

/// The units a resident owns in a compound.
pub async fn units_of_resident(db: &Db, compound: &str, resident: Uuid) -> sqlx::Result<Vec<UnitRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, UnitRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {UNIT_COLS} FROM property_units WHERE compound_code = $1 AND resident_id = $2 ORDER BY building_code, label"
    )))
    .bind(compound)
    .bind(resident)
    .fetch_all(p)
    .await)
}

/// Every unit a resident owns, in any compound.
pub async fn units_of_owner(db: &Db, resident: Uuid) -> sqlx::Result<Vec<UnitRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, UnitRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {UNIT_COLS} FROM property_units WHERE resident_id = $1 ORDER BY compound_code, building_code, label"
    )))
    .bind(resident)
    .fetch_all(p)
    .await)
}

/// Does a counting owner hold a unit in the compound?
pub async fn owner_exists(tx: &mut Tx, compound: &str, owner_key: &str) -> sqlx::Result<bool> {
    let n: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM property_units WHERE compound_code = $1 AND owner_key = $2"
    )
    .bind(compound)
    .bind(owner_key)
    .fetch_one(&mut *c)
    .await)?;
    Ok(n > 0)
}

pub struct NewUnit {
    pub id: Uuid,
    pub district: String,
    pub compound_code: String,
    pub building_code: String,
    pub label: String,
    pub area_centi: i64,
    pub resident_id: Option<Uuid>,
    pub owner_name: String,
    pub developer: bool,
    pub owner_key: String,
    pub created_at: i64,
}

/// Insert units in multi-row statements (short on SQLite, whose binding cost grows with the
/// parameter count; long on PostgreSQL, fewer round trips).
pub async fn insert_units(tx: &mut Tx, units: &[NewUnit]) -> sqlx::Result<()> {
    let per = if matches!(tx, Tx::Pg(_)) { 500 } else { 27 };
    for chunk in units.chunks(per) {
        let mut sql = String::from(
            "INSERT INTO property_units (id, district, compound_code, building_code, label, area_centi, resident_id, owner_name, developer, owner_key, created_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 11;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for k in 1..=11 {
                if k > 1 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", n + k));
            }
            sql.push(')');
        }
        on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q
                    .bind(u.id)
                    .bind(&u.district)
                    .bind(&u.compound_code)
                    .bind(&u.building_code)
                    .bind(&u.label)
                    .bind(u.area_centi)
                    .bind(u.resident_id)
                    .bind(&u.owner_name)
                    .bind(u.developer)
                    .bind(&u.owner_key)
                    .bind(u.created_at);
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Labels of the compound already in the register, among `labels`.
pub async fn existing_labels(tx: &mut Tx, compound: &str) -> sqlx::Result<Vec<String>> {
    on_tx!(tx, |c| sqlx::query_scalar::<_, String>(
        "SELECT label FROM property_units WHERE compound_code = $1"
    )
    .bind(compound)
    .fetch_all(&mut *c)
    .await)
}

pub async fn get(db: &Db, district: &str, id: Uuid) -> sqlx::Result<Option<DecisionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DecisionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM decisions WHERE id = $1 AND district = $2"
    )))
    .bind(id)
    .bind(district)
    .fetch_optional(p)
    .await)
}

/// The decision, locked for the transaction on PostgreSQL (SQLite's writer lock serialises).
pub async fn get_for_update(tx: &mut Tx, district: &str, id: Uuid) -> sqlx::Result<Option<DecisionRow>> {
    match tx {
        Tx::Sqlite(c) => {
            sqlx::query_as::<_, DecisionRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM decisions WHERE id = $1 AND district = $2"
            )))
            .bind(id)
            .bind(district)
            .fetch_optional(&mut **c)
            .await
        }
        Tx::Pg(c) => {
            sqlx::query_as::<_, DecisionRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM decisions WHERE id = $1 AND district = $2 FOR SHARE"
            )))
            .bind(id)
            .bind(district)
            .fetch_optional(&mut **c)
            .await
        }
    }
}

/// Decisions of a subtree, newest first, with the total.
pub async fn list(db: &Db, district: &str, code: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<DecisionRow>, i64)> {
    let upper = subtree_upper(code);
    let rows = on_pool!(db, |p| sqlx::query_as::<_, DecisionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM decisions WHERE district = $1 AND compound_code >= $2 AND compound_code < $3 \
         ORDER BY created_at DESC, id LIMIT $4 OFFSET $5"
    )))
    .bind(district)
    .bind(code)
    .bind(&upper)
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)?;
    let total: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM decisions WHERE district = $1 AND compound_code >= $2 AND compound_code < $3"
    )
    .bind(district)
    .bind(code)
    .bind(&upper)
    .fetch_one(p)
    .await)?;
    Ok((rows, total))
}

pub async fn insert(tx: &mut Tx, d: &DecisionRow, created_by: Uuid) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO decisions (id, district, compound_code, matter, title, body, status, opens_at, closes_at, passed, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(d.id)
    .bind(&d.district)
    .bind(&d.compound_code)
    .bind(d.matter)
    .bind(&d.title)
    .bind(&d.body)
    .bind(&d.status)
    .bind(d.opens_at)
    .bind(d.closes_at)
    .bind(d.passed)
    .bind(created_by)
    .bind(d.created_at)
    .bind(d.updated_at)
    .execute(&mut *c)
    .await
    .map(|_| ())
    })
}

/// Move a decision from `from` to `to` (and keep the result when closing); false when it was not in `from`.
pub async fn set_status(tx: &mut Tx, id: Uuid, from: &str, to: &str, passed: Option<bool>, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE decisions SET status = $1, passed = $2, updated_at = $3 WHERE id = $4 AND status = $5"
    )
    .bind(to)
    .bind(passed)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn ballots(db: &Db, decision: Uuid) -> sqlx::Result<Vec<BallotRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, BallotRow>(
        "SELECT owner_key, choice, channel, photo_sha256, cast_at, changes FROM decision_ballots WHERE decision_id = $1"
    )
    .bind(decision)
    .fetch_all(p)
    .await)
}

pub async fn ballots_tx(tx: &mut Tx, decision: Uuid) -> sqlx::Result<Vec<BallotRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, BallotRow>(
        "SELECT owner_key, choice, channel, photo_sha256, cast_at, changes FROM decision_ballots WHERE decision_id = $1"
    )
    .bind(decision)
    .fetch_all(&mut *c)
    .await)
}

/// Cast or change an owner's ballot: one row per (decision, owner), the change counted. Returns
/// the previous choice, if any.
#[allow(clippy::too_many_arguments)]
pub async fn upsert_ballot(
    tx: &mut Tx,
    decision: Uuid,
    owner_key: &str,
    choice: &str,
    channel: &str,
    photo: &str,
    cast_by: Uuid,
    now: i64,
) -> sqlx::Result<Option<String>> {
    let previous: Option<String> = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT choice FROM decision_ballots WHERE decision_id = $1 AND owner_key = $2"
    )
    .bind(decision)
    .bind(owner_key)
    .fetch_optional(&mut *c)
    .await)?;
    on_tx!(&mut *tx, |c| sqlx::query(
        "INSERT INTO decision_ballots (decision_id, owner_key, choice, channel, photo_sha256, cast_by, cast_at, changes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0) \
         ON CONFLICT (decision_id, owner_key) DO UPDATE SET choice = excluded.choice, channel = excluded.channel, \
           photo_sha256 = excluded.photo_sha256, cast_by = excluded.cast_by, cast_at = excluded.cast_at, \
           changes = decision_ballots.changes + 1"
    )
    .bind(decision)
    .bind(owner_key)
    .bind(choice)
    .bind(channel)
    .bind(photo)
    .bind(cast_by)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    Ok(previous)
}

/// A ballot as the demo writes it in bulk.
pub struct NewBallot {
    pub decision_id: Uuid,
    pub owner_key: String,
    pub choice: &'static str,
    pub cast_at: i64,
}

/// Insert ballots in multi-row statements (the demo).
pub async fn insert_ballots(tx: &mut Tx, ballots: &[NewBallot]) -> sqlx::Result<()> {
    let per = if matches!(tx, Tx::Pg(_)) { 1000 } else { 60 };
    for chunk in ballots.chunks(per) {
        let mut sql = String::from(
            "INSERT INTO decision_ballots (decision_id, owner_key, choice, channel, photo_sha256, cast_by, cast_at, changes) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 4;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, 'online', '', NULL, ${}, 0)", n + 1, n + 2, n + 3, n + 4));
        }
        on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in chunk {
                q = q.bind(b.decision_id).bind(&b.owner_key).bind(b.choice).bind(b.cast_at);
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}
