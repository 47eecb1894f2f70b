//! Red property's tables: compounds' service and supervisor, 三无 steps, committee members,
//! district settings, evaluation sheets, published results and corrections, fee collection rates.
//! Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

/// A compound (小区) as coverage reads it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CompoundRow {
    pub code: String,
    pub name: String,
    pub company_id: Option<Uuid>,
    pub company_name: Option<String>,
    pub service: Option<String>,
    pub supervising_unit_id: Option<Uuid>,
    pub supervising_name: Option<String>,
    pub responsible: Option<String>,
    pub committee_unit: bool,
    pub committee_lapsed: Option<bool>,
    pub steps: i64,
}

/// Every compound (kind `compound`, level 4) in the subtree of `grid`, in code order.
pub async fn compounds_in(db: &Db, district: &str, grid: &str) -> sqlx::Result<Vec<CompoundRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CompoundRow>(COMPOUNDS_IN)
        .bind(district)
        .bind(grid)
        .bind(subtree_upper(grid))
        .fetch_all(p)
        .await)
}

/// [`compounds_in`] inside a transaction, which sees what it wrote (the demo's load).
pub async fn compounds_in_tx(tx: &mut Tx, district: &str, grid: &str) -> sqlx::Result<Vec<CompoundRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, CompoundRow>(COMPOUNDS_IN)
        .bind(district)
        .bind(grid)
        .bind(subtree_upper(grid))
        .fetch_all(c)
        .await)
}

const COMPOUNDS_IN: &str = "SELECT g.code, g.name, g.property_company_id AS company_id, u.name AS company_name, pc.service, \
         pc.supervising_unit_id, su.name AS supervising_name, pc.responsible, \
         EXISTS (SELECT 1 FROM units o WHERE o.grid_code = g.code AND o.kind = 'owners_committee') AS committee_unit, pc.committee_lapsed, \
         (SELECT COUNT(*) FROM property_steps s WHERE s.grid_code = g.code) AS steps \
         FROM grids g LEFT JOIN units u ON u.id = g.property_company_id \
         LEFT JOIN property_compounds pc ON pc.grid_code = g.code \
         LEFT JOIN units su ON su.id = pc.supervising_unit_id \
         WHERE g.district = $1 AND g.level = 4 AND g.kind = 'compound' AND g.code >= $2 AND g.code < $3 ORDER BY g.code";

/// The grid rows (with boundaries, for the map) of the compounds in a subtree.
pub async fn compound_shapes(db: &Db, district: &str, grid: &str) -> sqlx::Result<Vec<crate::grid::GridRow>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, crate::grid::GridRow>(
        "SELECT code, district, level, kind, name, parent_code, boundary, center_lat, center_lng, children, households, residents, property_company_id \
         FROM grids WHERE district = $1 AND level = 4 AND kind = 'compound' AND code >= $2 AND code < $3 ORDER BY code"
    )
    .bind(district)
    .bind(grid)
    .bind(subtree_upper(grid))
    .fetch_all(p)
    .await
    })
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct StepRow {
    pub id: Uuid,
    pub grid_code: String,
    pub taken_on: String,
    pub note: String,
    pub recorded_by: String,
    pub created_at: i64,
}

/// The steps taken at compounds of a subtree, newest first per compound.
pub async fn steps_in(db: &Db, district: &str, grid: &str) -> sqlx::Result<Vec<StepRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, StepRow>(
        "SELECT id, grid_code, taken_on, note, recorded_by, created_at FROM property_steps \
         WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 ORDER BY grid_code, taken_on DESC, created_at DESC"
    )
    .bind(district)
    .bind(grid)
    .bind(subtree_upper(grid))
    .fetch_all(p)
    .await)
}

pub async fn insert_step(tx: &mut Tx, district: &str, s: &StepRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO property_steps (id, district, grid_code, taken_on, note, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(s.id)
    .bind(district)
    .bind(&s.grid_code)
    .bind(&s.taken_on)
    .bind(&s.note)
    .bind(&s.recorded_by)
    .bind(s.created_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What red property keeps of a compound beyond the registry.
pub struct CompoundSettings<'a> {
    pub district: &'a str,
    pub code: &'a str,
    /// `none`, `management_committee` or `self`.
    pub service: &'a str,
    pub supervising: Option<Uuid>,
    pub responsible: &'a str,
    pub committee_lapsed: bool,
}

/// Set a compound's service (without a company), supervising unit, responsible person and
/// whether its owners' committee has lapsed.
pub async fn upsert_compound(tx: &mut Tx, s: &CompoundSettings<'_>, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO property_compounds (grid_code, district, service, supervising_unit_id, responsible, committee_lapsed, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (grid_code) DO UPDATE SET service = excluded.service, \
         supervising_unit_id = excluded.supervising_unit_id, responsible = excluded.responsible, \
         committee_lapsed = excluded.committee_lapsed, updated_at = excluded.updated_at"
    )
    .bind(s.code)
    .bind(s.district)
    .bind(s.service)
    .bind(s.supervising)
    .bind(s.responsible)
    .bind(s.committee_lapsed)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The compounds whose owners' committee (or 物管会) `user` sits on.
pub async fn committee_compounds(db: &Db, district: &str, user: Uuid) -> sqlx::Result<Vec<String>> {
    on_pool!(db, |p| sqlx::query_scalar(
        "SELECT grid_code FROM property_committee_members WHERE district = $1 AND user_id = $2 ORDER BY grid_code"
    )
    .bind(district)
    .bind(user)
    .fetch_all(p)
    .await)
}

pub async fn add_committee_member(tx: &mut Tx, district: &str, code: &str, user: Uuid, now: i64) -> sqlx::Result<u64> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO property_committee_members (grid_code, user_id, district, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING"
    )
    .bind(code)
    .bind(user)
    .bind(district)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// A district's evaluation settings.
#[derive(sqlx::FromRow, Debug, Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub w_street: i64,
    pub w_community: i64,
    pub w_committee: i64,
    pub w_branch: i64,
    pub red_n: i64,
    pub black_n: i64,
    pub floor_score: i64,
    /// In permille (800 = 80%).
    pub fee_threshold: i64,
}

impl Default for SettingsRow {
    /// Equal weights, ten each way, a floor of 60 and a fee threshold of 80%.
    fn default() -> Self {
        SettingsRow {
            w_street: 25,
            w_community: 25,
            w_committee: 25,
            w_branch: 25,
            red_n: 10,
            black_n: 10,
            floor_score: 60,
            fee_threshold: 800,
        }
    }
}

pub async fn settings(db: &Db, district: &str) -> sqlx::Result<SettingsRow> {
    let row: Option<SettingsRow> = on_pool!(db, |p| {
        sqlx::query_as(
        "SELECT w_street, w_community, w_committee, w_branch, red_n, black_n, floor_score, fee_threshold FROM property_settings WHERE district = $1"
    )
    .bind(district)
    .fetch_optional(p)
    .await
    })?;
    Ok(row.unwrap_or_default())
}

pub async fn save_settings(tx: &mut Tx, district: &str, s: &SettingsRow, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO property_settings (district, w_street, w_community, w_committee, w_branch, red_n, black_n, floor_score, fee_threshold, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (district) DO UPDATE SET w_street = excluded.w_street, \
         w_community = excluded.w_community, w_committee = excluded.w_committee, w_branch = excluded.w_branch, red_n = excluded.red_n, \
         black_n = excluded.black_n, floor_score = excluded.floor_score, fee_threshold = excluded.fee_threshold, updated_at = excluded.updated_at"
    )
    .bind(district)
    .bind(s.w_street)
    .bind(s.w_community)
    .bind(s.w_committee)
    .bind(s.w_branch)
    .bind(s.red_n)
    .bind(s.black_n)
    .bind(s.floor_score)
    .bind(s.fee_threshold)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// One evaluator's sheet for a company at a compound in a quarter.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ScoreRow {
    pub id: Uuid,
    pub period: String,
    pub grid_code: String,
    pub company_id: Uuid,
    pub evaluator: String,
    pub cleaning: i64,
    pub security: i64,
    pub repairs: i64,
    pub greening: i64,
    pub response: i64,
    pub cases_assigned: i64,
    pub on_time_pct: Option<i64>,
    pub satisfaction_pct: Option<i64>,
    pub submitter_name: String,
    pub submitted_at: i64,
    pub updated_at: i64,
}

const SCORE_COLS: &str = "id, period, grid_code, company_id, evaluator, cleaning, security, repairs, greening, response, cases_assigned, \
     on_time_pct, satisfaction_pct, submitter_name, submitted_at, updated_at";

impl ScoreRow {
    pub fn criteria(&self) -> [i64; 5] {
        [self.cleaning, self.security, self.repairs, self.greening, self.response]
    }
}

/// Every sheet of a quarter in a district.
pub async fn scores(db: &Db, district: &str, period: &str) -> sqlx::Result<Vec<ScoreRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ScoreRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SCORE_COLS} FROM property_scores WHERE district = $1 AND period = $2"
    )))
    .bind(district)
    .bind(period)
    .fetch_all(p)
    .await)
}

/// The sheets of a quarter at some compounds.
pub async fn scores_at(db: &Db, district: &str, period: &str, codes: &[String]) -> sqlx::Result<Vec<ScoreRow>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(200) {
        let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT {SCORE_COLS} FROM property_scores WHERE district = $1 AND period = $2 AND grid_code IN ({})",
            marks.join(", ")
        );
        let rows: Vec<ScoreRow> = on_pool!(db, |p| {
            let mut q = sqlx::query_as::<_, ScoreRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(district)
                .bind(period);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// The sheet of one evaluator kind at a compound in a quarter, locked for the writer.
pub async fn score_for_update(tx: &mut Tx, district: &str, period: &str, code: &str, evaluator: &str) -> sqlx::Result<Option<ScoreRow>> {
    let lock = if matches!(tx, Tx::Pg(_)) { " FOR UPDATE" } else { "" };
    on_tx!(tx, |c| sqlx::query_as::<_, ScoreRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SCORE_COLS} FROM property_scores WHERE district = $1 AND period = $2 AND grid_code = $3 AND evaluator = $4{lock}"
    )))
    .bind(district)
    .bind(period)
    .bind(code)
    .bind(evaluator)
    .fetch_optional(c)
    .await)
}

pub async fn insert_score(tx: &mut Tx, district: &str, s: &ScoreRow, by: Uuid) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO property_scores (id, district, period, grid_code, company_id, evaluator, cleaning, security, repairs, greening, response, \
         cases_assigned, on_time_pct, satisfaction_pct, submitted_by, submitter_name, submitted_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    )
    .bind(s.id)
    .bind(district)
    .bind(&s.period)
    .bind(&s.grid_code)
    .bind(s.company_id)
    .bind(&s.evaluator)
    .bind(s.cleaning)
    .bind(s.security)
    .bind(s.repairs)
    .bind(s.greening)
    .bind(s.response)
    .bind(s.cases_assigned)
    .bind(s.on_time_pct)
    .bind(s.satisfaction_pct)
    .bind(by)
    .bind(&s.submitter_name)
    .bind(s.submitted_at)
    .bind(s.updated_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn update_score(tx: &mut Tx, s: &ScoreRow, by: Uuid) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE property_scores SET company_id = $2, cleaning = $3, security = $4, repairs = $5, greening = $6, response = $7, \
         cases_assigned = $8, on_time_pct = $9, satisfaction_pct = $10, submitted_by = $11, submitter_name = $12, updated_at = $13 WHERE id = $1"
    )
    .bind(s.id)
    .bind(s.company_id)
    .bind(s.cleaning)
    .bind(s.security)
    .bind(s.repairs)
    .bind(s.greening)
    .bind(s.response)
    .bind(s.cases_assigned)
    .bind(s.on_time_pct)
    .bind(s.satisfaction_pct)
    .bind(by)
    .bind(&s.submitter_name)
    .bind(s.updated_at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The case loop's figures of a company at a compound, over cases reported in [from, to).
#[derive(sqlx::FromRow, Debug, Clone, Copy, Default)]
pub struct CaseCounts {
    pub assigned: i64,
    pub handled: Option<i64>,
    pub on_time: Option<i64>,
    pub rated: Option<i64>,
    pub satisfied: Option<i64>,
}

pub async fn case_counts(db: &Db, district: &str, company: Uuid, compound: &str, from: i64, to: i64) -> sqlx::Result<CaseCounts> {
    on_pool!(db, |p| sqlx::query_as::<_, CaseCounts>(
        "SELECT COUNT(*) AS assigned, \
         SUM(CASE WHEN handled_at IS NOT NULL THEN 1 ELSE 0 END) AS handled, \
         SUM(CASE WHEN handled_at IS NOT NULL AND handled_at <= due_at THEN 1 ELSE 0 END) AS on_time, \
         SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS rated, \
         SUM(CASE WHEN rating IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END) AS satisfied \
         FROM cases WHERE unit_id = $1 AND district = $2 AND grid_code >= $3 AND grid_code < $4 \
         AND reported_at >= $5 AND reported_at < $6 AND merged_into IS NULL"
    )
    .bind(company)
    .bind(district)
    .bind(compound)
    .bind(subtree_upper(compound))
    .bind(from)
    .bind(to)
    .fetch_one(p)
    .await)
}

/// A company's published standing in a quarter.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ResultRow {
    pub period: String,
    pub company_id: Uuid,
    pub name: String,
    pub score_x100: i64,
    pub rank: i64,
    pub list: Option<String>,
    pub flagged: bool,
}

pub async fn results(db: &Db, district: &str, period: &str) -> sqlx::Result<Vec<ResultRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ResultRow>(
        "SELECT r.period, r.company_id, u.name, r.score_x100, r.rank, r.list, r.flagged FROM property_results r \
         JOIN units u ON u.id = r.company_id WHERE r.district = $1 AND r.period = $2 ORDER BY r.rank, u.name"
    )
    .bind(district)
    .bind(period)
    .fetch_all(p)
    .await)
}

pub async fn is_published(db: &Db, district: &str, period: &str) -> sqlx::Result<bool> {
    let n: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM property_results WHERE district = $1 AND period = $2"
    )
    .bind(district)
    .bind(period)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

pub async fn published_in_tx(tx: &mut Tx, district: &str, period: &str) -> sqlx::Result<bool> {
    let n: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM property_results WHERE district = $1 AND period = $2"
    )
    .bind(district)
    .bind(period)
    .fetch_one(c)
    .await)?;
    Ok(n > 0)
}

pub struct NewResult {
    pub company_id: Uuid,
    pub score_x100: i64,
    pub rank: i64,
    pub list: Option<&'static str>,
    pub flagged: bool,
}

pub async fn insert_result(tx: &mut Tx, district: &str, period: &str, r: &NewResult, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO property_results (district, period, company_id, score_x100, rank, list, flagged, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(district)
    .bind(period)
    .bind(r.company_id)
    .bind(r.score_x100)
    .bind(r.rank)
    .bind(r.list)
    .bind(r.flagged)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CorrectionRow {
    pub id: Uuid,
    pub district: String,
    pub period: String,
    pub company_id: Uuid,
    pub name: String,
    pub due_on: String,
    pub done_at: Option<i64>,
    pub note: String,
    pub done_by: String,
}

const CORRECTION_SELECT: &str = "SELECT c.id, c.district, c.period, c.company_id, u.name, c.due_on, c.done_at, c.note, c.done_by \
     FROM property_corrections c JOIN units u ON u.id = c.company_id";

pub async fn corrections(db: &Db, district: &str, period: &str) -> sqlx::Result<Vec<CorrectionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CorrectionRow>(sqlx::AssertSqlSafe(format!(
        "{CORRECTION_SELECT} WHERE c.district = $1 AND c.period = $2 ORDER BY u.name"
    )))
    .bind(district)
    .bind(period)
    .fetch_all(p)
    .await)
}

pub async fn correction(db: &Db, id: Uuid) -> sqlx::Result<Option<CorrectionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CorrectionRow>(sqlx::AssertSqlSafe(format!(
        "{CORRECTION_SELECT} WHERE c.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn insert_correction(tx: &mut Tx, district: &str, period: &str, company: Uuid, due_on: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO property_corrections (id, district, period, company_id, due_on, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(crate::db::new_id())
    .bind(district)
    .bind(period)
    .bind(company)
    .bind(due_on)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Mark a correction done; 0 when it already was.
pub async fn finish_correction(tx: &mut Tx, id: Uuid, note: &str, by: &str, now: i64) -> sqlx::Result<u64> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE property_corrections SET done_at = $2, note = $3, done_by = $4 WHERE id = $1 AND done_at IS NULL"
    )
    .bind(id)
    .bind(now)
    .bind(note)
    .bind(by)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// Whether a company serves a compound in the subtree of `grid`.
pub async fn company_serves_in(db: &Db, company: Uuid, grid: &str) -> sqlx::Result<bool> {
    let n: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM grids WHERE property_company_id = $1 AND code >= $2 AND code < $3"
    )
    .bind(company)
    .bind(grid)
    .bind(subtree_upper(grid))
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// The compounds a company serves.
pub async fn served_by(db: &Db, company: Uuid) -> sqlx::Result<Vec<(String, String)>> {
    on_pool!(db, |p| sqlx::query_as(
        "SELECT code, name FROM grids WHERE property_company_id = $1 AND level = 4 ORDER BY code"
    )
    .bind(company)
    .fetch_all(p)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FeeRow {
    pub grid_code: String,
    pub month: String,
    pub rate_permille: i64,
    pub entered_by: String,
    pub updated_at: i64,
}

#[allow(clippy::too_many_arguments)]
pub async fn upsert_fee(
    tx: &mut Tx,
    district: &str,
    code: &str,
    month: &str,
    company: Uuid,
    permille: i64,
    by: &str,
    now: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO property_fees (grid_code, month, district, company_id, rate_permille, entered_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (grid_code, month) DO UPDATE SET company_id = excluded.company_id, rate_permille = excluded.rate_permille, \
         entered_by = excluded.entered_by, updated_at = excluded.updated_at"
    )
    .bind(code)
    .bind(month)
    .bind(district)
    .bind(company)
    .bind(permille)
    .bind(by)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// A compound's rates, oldest month first, the last `months`.
pub async fn fees_of(db: &Db, district: &str, code: &str, months: i64) -> sqlx::Result<Vec<FeeRow>> {
    let mut rows: Vec<FeeRow> = on_pool!(db, |p| {
        sqlx::query_as::<_, FeeRow>(
        "SELECT grid_code, month, rate_permille, entered_by, updated_at FROM property_fees WHERE district = $1 AND grid_code = $2 ORDER BY month DESC LIMIT $3"
    )
    .bind(district)
    .bind(code)
    .bind(months)
    .fetch_all(p)
    .await
    })?;
    rows.reverse();
    Ok(rows)
}

/// Compounds of a subtree whose rate in `month` is below `threshold` (permille), lowest first.
pub async fn fees_below(db: &Db, district: &str, grid: &str, month: &str, threshold: i64) -> sqlx::Result<Vec<(String, String, i64)>> {
    on_pool!(db, |p| sqlx::query_as(
        "SELECT f.grid_code, g.name, f.rate_permille FROM property_fees f JOIN grids g ON g.code = f.grid_code \
         WHERE f.district = $1 AND f.month = $2 AND f.grid_code >= $3 AND f.grid_code < $4 AND f.rate_permille < $5 \
         ORDER BY f.rate_permille, f.grid_code"
    )
    .bind(district)
    .bind(month)
    .bind(grid)
    .bind(subtree_upper(grid))
    .bind(threshold)
    .fetch_all(p)
    .await)
}

/// The newest month with any rate in a district.
pub async fn latest_fee_month(db: &Db, district: &str) -> sqlx::Result<Option<String>> {
    on_pool!(db, |p| sqlx::query_scalar(
        "SELECT MAX(month) FROM property_fees WHERE district = $1"
    )
    .bind(district)
    .fetch_one(p)
    .await)
}

/// Names of units by id.
pub async fn unit_names(db: &Db, district: &str, kind: &str) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| sqlx::query_as(
        "SELECT id, name FROM units WHERE district = $1 AND kind = $2 ORDER BY name"
    )
    .bind(district)
    .bind(kind)
    .fetch_all(p)
    .await)
}

/// A unit's district, if it exists.
pub async fn unit_district(db: &Db, id: Uuid) -> sqlx::Result<Option<String>> {
    on_pool!(db, |p| sqlx::query_scalar("SELECT district FROM units WHERE id = $1")
        .bind(id)
        .fetch_optional(p)
        .await)
}
