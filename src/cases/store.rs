//! Case storage: create (idempotent), read with timeline, apply an action (optimistic, one transaction).

use serde_json::json;
use uuid::Uuid;

use super::workflow::{self, Action, CaseState, Rating, Status};
use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CaseRow {
    pub id: Uuid,
    pub district: String,
    pub tracking_code: String,
    pub category_code: String,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub grid_code: String,
    pub level: i64,
    pub source: String,
    pub status: String,
    pub unit_id: Option<Uuid>,
    pub rework: i64,
    pub supervisions: i64,
    pub rating: Option<String>,
    pub reporter_id: Option<Uuid>,
    pub reporter_name: String,
    pub reported_at: i64,
    pub due_at: i64,
    pub handled_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
    pub version: i64,
    pub duplicate_of: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    /// Answers to the category's questions (JSON object).
    pub attributes: String,
    /// The description never leaves through Open311.
    pub private: bool,
}

pub const CASE_COLS: &str = "id, district, tracking_code, category_code, description, lat, lng, grid_code, level, source, status, unit_id, rework, \
     supervisions, rating, reporter_id, reporter_name, reported_at, due_at, handled_at, closed_at, updated_at, version, duplicate_of, merged_into, \
     attributes, private";

impl CaseRow {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Reported)
    }
    /// The status as people read it: a duplicate merged into another case is 已合并, not 不予立案.
    pub fn status_label(&self) -> &'static str {
        if self.merged_into.is_some() {
            "已合并"
        } else {
            self.status().label()
        }
    }
    pub fn overdue(&self, now: i64) -> bool {
        self.status().is_open() && now > self.due_at
    }
    pub fn rating(&self) -> Option<Rating> {
        self.rating
            .as_deref()
            .and_then(|r| serde_json::from_value(serde_json::Value::String(r.into())).ok())
    }
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct EventRow {
    pub at_ms: i64,
    pub actor_name: String,
    pub action: String,
    pub note: String,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct WhistleRow {
    pub unit_id: Uuid,
    pub summoned_at: i64,
    pub due_at: i64,
    pub acknowledged_at: Option<i64>,
}

pub struct NewCaseRow<'a> {
    pub district: &'a str,
    pub category_code: &'a str,
    pub description: &'a str,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub grid_code: &'a str,
    pub level: i64,
    pub source: &'a str,
    pub reporter_id: Option<Uuid>,
    pub reporter_name: &'a str,
    pub reporter_phone: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// What the keyed request asked for (`web::api::request_fingerprint`).
    pub idempotency_fingerprint: Option<&'a str>,
    pub reported_at: i64,
    pub due_at: i64,
    /// A likely duplicate already settled (the importer's); else the nearest of
    /// `duplicate_candidates` still open when the report is written.
    pub duplicate_of: Option<Uuid>,
    /// Recent reports nearby, nearest first (`duplicates::RecentReports::near`): confirmed in the
    /// writing transaction, so a case closed or merged a moment ago is not named.
    pub duplicate_candidates: &'a [Uuid],
    pub attributes: &'a str,
    pub private: bool,
    /// Written in the report's transaction by the feature the report came through (Open311).
    pub on_reported: Option<&'a dyn super::hooks::OnReported>,
    /// Filed by the router (智能分派): the timeline line, and the unit when it dispatched the report.
    pub routed: Option<AutoRouted<'a>>,
}

impl NewCaseRow<'_> {
    /// The row as written (no need to read it back).
    fn written(&self, id: Uuid, code: String, (status, unit, duplicate_of): (Status, Option<Uuid>, Option<Uuid>), now: i64) -> CaseRow {
        let n = self;
        CaseRow {
            id,
            district: n.district.to_string(),
            tracking_code: code,
            category_code: n.category_code.to_string(),
            description: n.description.to_string(),
            lat: n.lat,
            lng: n.lng,
            grid_code: n.grid_code.to_string(),
            level: n.level,
            source: n.source.to_string(),
            status: status.as_str().into(),
            unit_id: unit,
            rework: 0,
            supervisions: 0,
            rating: None,
            reporter_id: n.reporter_id,
            reporter_name: n.reporter_name.to_string(),
            reported_at: n.reported_at,
            due_at: n.due_at,
            handled_at: None,
            closed_at: None,
            updated_at: now,
            version: 0,
            duplicate_of,
            merged_into: None,
            attributes: n.attributes.to_string(),
            private: n.private,
        }
    }

    /// What the tallies count of the new case.
    fn facts(&self, status: Status) -> super::tallies::Facts {
        super::tallies::Facts {
            grid_code: self.grid_code.to_string(),
            category: self.category_code.to_string(),
            status,
            merged: false,
            reported_at: self.reported_at,
            due_at: self.due_at,
            handled_at: None,
            closed_at: None,
        }
    }
}

/// What the router did with a report that came without a category.
pub struct AutoRouted<'a> {
    /// Dispatched to this unit at once (its confidence passed the district's threshold).
    pub unit: Option<Uuid>,
    /// The timeline's words, e.g. 系统按智能分派建议派往…（置信度 93%）.
    pub note: &'a str,
    pub confidence: f64,
}

/// A short code a resident can read out on the phone: no 0/O, 1/I.
pub fn tracking_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = [0u8; 10];
    getrandom::fill(&mut buf).expect("operating system randomness");
    buf.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<CaseRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM cases WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Status and tracking code of each of `ids` that exists, in one query (lists that show where
/// each of their rows' cases stands).
pub async fn states(db: &Db, ids: &[Uuid]) -> sqlx::Result<Vec<(Uuid, String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT id, status, tracking_code FROM cases WHERE id IN ({})", marks.join(", "));
    on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, (Uuid, String, String)>(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(p).await
    })
}

pub async fn by_tracking_code(db: &Db, code: &str) -> sqlx::Result<Option<CaseRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM cases WHERE tracking_code = $1"
    )))
    .bind(code)
    .fetch_optional(p)
    .await)
}

/// Whether a (scoped) idempotency key was used in the district.
pub async fn key_used(db: &Db, district: &str, key: &str) -> sqlx::Result<bool> {
    Ok(by_key(db, district, key).await?.is_some())
}

async fn by_key(db: &Db, district: &str, key: &str) -> sqlx::Result<Option<CaseRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM cases WHERE district = $1 AND idempotency_key = $2"
    )))
    .bind(district)
    .bind(key)
    .fetch_optional(p)
    .await)
}

/// Whether a step's note is told to the public and to residents: the answer (handled, declined,
/// merged, outcome) and the rating; not internal instructions between offices.
pub fn note_is_public(action: &str) -> bool {
    matches!(action, "report" | "handle" | "decline" | "merge" | "outcome" | "rate")
}

pub async fn events(db: &Db, id: Uuid) -> sqlx::Result<Vec<EventRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, EventRow>(
        "SELECT at_ms, actor_name, action, note FROM case_events WHERE case_id = $1 ORDER BY at_ms, id"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

pub async fn whistles(db: &Db, id: Uuid) -> sqlx::Result<Vec<WhistleRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, WhistleRow>(
        "SELECT unit_id, summoned_at, due_at, acknowledged_at FROM case_whistles WHERE case_id = $1 ORDER BY summoned_at, unit_id"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

/// One timeline entry for the case `(id, district)`.
async fn insert_event(
    tx: &mut Tx,
    (case_id, district): (Uuid, &str),
    at: i64,
    actor: &Actor<'_>,
    action: &str,
    note: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    let (actor_id, actor_name) = (actor.id(), actor.display_name());
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO case_events (id, case_id, district, at_ms, actor_id, actor_name, action, note, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(new_id())
    .bind(case_id)
    .bind(district)
    .bind(at)
    .bind(actor_id)
    .bind(actor_name)
    .bind(action)
    .bind(note)
    .bind(detail.to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// In the caller's transaction: add a step to a case when it is still open (not closed, declined
/// or merged), locking its row; `false` when it is not open any more (nothing written). A device's
/// repeated alarm (`alarm`) uses it, so the alarm's row and its timeline step commit together.
pub async fn append_if_open(
    tx: &mut Tx,
    (case_id, district): (Uuid, &str),
    at: i64,
    actor: &Actor<'_>,
    action: &str,
    note: &str,
    detail: serde_json::Value,
) -> sqlx::Result<bool> {
    let now = now_ms();
    let open = on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE cases SET updated_at = $1 WHERE id = $2 AND district = $3 AND status NOT IN ('closed', 'declined') AND merged_into IS NULL"
    )
    .bind(now)
    .bind(case_id)
    .bind(district)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if open != 1 {
        return Ok(false);
    }
    insert_event(tx, (case_id, district), at, actor, action, note, detail).await?;
    Ok(true)
}

/// Seal reporters' phones not sealed with the current key yet (stored before sealing, or with an
/// older key), a batch per transaction. Returns how many rows changed.
pub async fn reseal_reporter_phones(db: &Db, batch: i64) -> anyhow::Result<u64> {
    let ring = crate::sealed::ring();
    let current = format!("s{}:%", ring.current_id());
    let mut done = 0u64;
    loop {
        let rows: Vec<(Uuid, String)> = on_pool!(db, |p| sqlx::query_as(
            "SELECT id, reporter_phone FROM cases WHERE reporter_phone <> '' AND reporter_phone NOT LIKE $1 ORDER BY id LIMIT $2"
        )
        .bind(&current)
        .bind(batch)
        .fetch_all(p)
        .await)?;
        if rows.is_empty() {
            break;
        }
        let mut tx = db.begin().await?;
        for (id, phone) in &rows {
            let sealed = ring.seal(&ring.open(phone)?);
            on_tx!(&mut tx, |c| sqlx::query("UPDATE cases SET reporter_phone = $1 WHERE id = $2")
                .bind(sealed)
                .bind(id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        done += rows.len() as u64;
    }
    Ok(done)
}

/// A replay must ask for what the first request asked for (cases stored before fingerprints were
/// kept have none, and are taken as the same).
async fn same_request(db: &Db, id: Uuid, fingerprint: Option<&str>) -> AppResult<()> {
    let stored: Option<String> = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT idempotency_fingerprint FROM cases WHERE id = $1"
    )
    .bind(id)
    .fetch_one(p)
    .await)?;
    match (stored.as_deref(), fingerprint) {
        (Some(a), Some(b)) if a != b => Err(crate::web::api::key_reused()),
        _ => Ok(()),
    }
}

/// Insert a case. With an idempotency key already used in the district, returns the first case
/// and `true` (a retried upload never makes a second case).
pub async fn create(db: &Db, actor: Actor<'_>, n: &NewCaseRow<'_>) -> AppResult<(CaseRow, bool)> {
    if let Some(key) = n.idempotency_key
        && let Some(existing) = by_key(db, n.district, key).await?
    {
        same_request(db, existing.id, n.idempotency_fingerprint).await?;
        return Ok((existing, true));
    }
    let mut tx = db.begin().await?;
    match insert_in(&mut tx, actor, n).await {
        Ok(row) => {
            tx.commit().await?;
            Ok((row, false))
        }
        // Two copies of one upload raced: the other one won; answer with its case.
        Err(e) if e.code == KEY_RACE && n.idempotency_key.is_some() => {
            drop(tx);
            let existing = by_key(db, n.district, n.idempotency_key.unwrap_or_default())
                .await?
                .ok_or_else(AppError::internal)?;
            same_request(db, existing.id, n.idempotency_fingerprint).await?;
            Ok((existing, true))
        }
        Err(e) => Err(e),
    }
}

/// Of these idempotency keys, the ones stored already (seen from the caller's transaction):
/// (district, key) → (case id, the request's fingerprint). One statement per 500 keys.
pub async fn keys_in(tx: &mut Tx, keys: &[&str]) -> sqlx::Result<std::collections::HashMap<(String, String), (Uuid, Option<String>)>> {
    let mut found = std::collections::HashMap::new();
    for chunk in keys.chunks(500) {
        let mut sql = String::from("SELECT district, idempotency_key, id, idempotency_fingerprint FROM cases WHERE idempotency_key IN ");
        crate::db::values_list(&mut sql, tx.engine(), 1, chunk.len());
        let rows: Vec<(String, String, Uuid, Option<String>)> = on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for k in chunk {
                q = q.bind(*k);
            }
            q.fetch_all(c).await
        })?;
        found.extend(rows.into_iter().map(|(d, k, id, f)| ((d, k), (id, f))));
    }
    Ok(found)
}

/// A case read in the caller's transaction.
pub async fn get_in(tx: &mut Tx, id: Uuid) -> sqlx::Result<CaseRow> {
    on_tx!(tx, |c| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM cases WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(c)
    .await)
}

/// The committed case this key stored, if any (a replay must ask for what the first asked for).
pub async fn replay(db: &Db, district: &str, key: &str, fingerprint: Option<&str>) -> AppResult<Option<CaseRow>> {
    match by_key(db, district, key).await? {
        Some(existing) => {
            same_request(db, existing.id, fingerprint).await?;
            Ok(Some(existing))
        }
        None => Ok(None),
    }
}

/// In the caller's transaction: the case this key already stored (with `true`), or a new one.
pub(super) async fn replay_or_insert_in(tx: &mut Tx, actor: Actor<'_>, n: &NewCaseRow<'_>) -> AppResult<(CaseRow, bool)> {
    if let Some(key) = n.idempotency_key {
        let found = on_tx!(&mut *tx, |c| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {CASE_COLS} FROM cases WHERE district = $1 AND idempotency_key = $2"
        )))
        .bind(n.district)
        .bind(key)
        .fetch_optional(c)
        .await)?;
        if let Some(existing) = found {
            let stored: Option<String> = on_tx!(&mut *tx, |c| sqlx::query_scalar(
                "SELECT idempotency_fingerprint FROM cases WHERE id = $1"
            )
            .bind(existing.id)
            .fetch_one(c)
            .await)?;
            if let (Some(a), Some(b)) = (stored.as_deref(), n.idempotency_fingerprint)
                && a != b
            {
                return Err(crate::web::api::key_reused());
            }
            return Ok((existing, true));
        }
    }
    Ok((insert_in(tx, actor, n).await?, false))
}

/// What a new case gets as it is written: id, tracking code, status, unit, likely duplicate.
type Made = (Uuid, String, Status, Option<Uuid>, Option<Uuid>);

/// Cases a multi-row insert carries at most (23 parameters each: within both engines' limits).
const CASES_PER_INSERT: usize = 500;

/// [`insert_in`] for many reports at once (a group commit's batch), with multi-row statements:
/// the cases, their timeline lines, the tallies and the audit rows, a few statements in all.
/// Reports with an `on_reported` hook are not taken (their hook writes after their own row). Any
/// failure fails them all; the caller undoes the statement's savepoint and stores them one by one.
pub async fn insert_many_in(tx: &mut Tx, items: &[(Actor<'_>, NewCaseRow<'_>)]) -> AppResult<Vec<CaseRow>> {
    if items.iter().any(|(_, n)| n.on_reported.is_some()) {
        return Err(AppError::internal());
    }
    let now = now_ms();
    let rows: Vec<&NewCaseRow<'_>> = items.iter().map(|(_, n)| n).collect();
    let duplicates = duplicates_in(tx, &rows).await?;
    let made: Vec<Made> = items
        .iter()
        .zip(duplicates)
        .map(|((_, n), duplicate_of)| {
            let unit = n.routed.as_ref().and_then(|r| r.unit);
            let status = if unit.is_some() { Status::Dispatched } else { Status::Reported };
            (new_id(), tracking_code(), status, unit, duplicate_of)
        })
        .collect();
    let ring = crate::sealed::ring();
    let phones: Vec<_> = items.iter().map(|(_, n)| ring.seal(n.reporter_phone)).collect();
    for ((chunk, made), phones) in items
        .chunks(CASES_PER_INSERT)
        .zip(made.chunks(CASES_PER_INSERT))
        .zip(phones.chunks(CASES_PER_INSERT))
    {
        let mut sql = String::from(
            "INSERT INTO cases (id, district, tracking_code, category_code, description, lat, lng, grid_code, level, source, status, \
             reporter_id, reporter_name, reporter_phone, idempotency_key, reported_at, due_at, updated_at, duplicate_of, attributes, private, idempotency_fingerprint, unit_id) VALUES ",
        );
        crate::db::values_list(&mut sql, tx.engine(), chunk.len(), 23);
        let inserted = on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (((_, n), (id, code, status, unit, duplicate_of)), phone) in chunk.iter().zip(made).zip(phones) {
                q = q
                    .bind(*id)
                    .bind(n.district)
                    .bind(code.as_str())
                    .bind(n.category_code)
                    .bind(n.description)
                    .bind(n.lat)
                    .bind(n.lng)
                    .bind(n.grid_code)
                    .bind(n.level)
                    .bind(n.source)
                    .bind(status.as_str())
                    .bind(n.reporter_id)
                    .bind(n.reporter_name)
                    .bind(phone)
                    .bind(n.idempotency_key)
                    .bind(n.reported_at)
                    .bind(n.due_at)
                    .bind(now)
                    .bind(*duplicate_of)
                    .bind(n.attributes)
                    .bind(n.private)
                    .bind(n.idempotency_fingerprint)
                    .bind(*unit);
            }
            q.execute(c).await.map(|_| ())
        });
        match inserted {
            Ok(()) => {}
            Err(e) if crate::db::is_unique_violation(&e) => {
                return Err(AppError::conflict(KEY_RACE, "该 Idempotency-Key 已被使用"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let facts: Vec<super::tallies::Facts> = items
        .iter()
        .zip(&made)
        .map(|((_, n), (_, _, status, ..))| n.facts(*status))
        .collect();
    super::tallies::record_new(tx, &facts).await?;
    // The timeline: the report, and the router's line where it filed one.
    let router = Actor::System("智能分派");
    let mut lines: Vec<(Uuid, &str, i64, &Actor<'_>, &str, &str, String)> = Vec::with_capacity(items.len());
    for ((actor, n), (id, ..)) in items.iter().zip(&made) {
        lines.push((
            *id,
            n.district,
            n.reported_at,
            actor,
            "report",
            n.description,
            json!({"source": n.source, "grid": n.grid_code}).to_string(),
        ));
        if let Some(r) = &n.routed {
            lines.push((
                *id,
                n.district,
                now.max(n.reported_at),
                &router,
                if r.unit.is_some() { "dispatch" } else { "route" },
                r.note,
                json!({"category": n.category_code, "unit": r.unit, "confidence": r.confidence}).to_string(),
            ));
        }
    }
    for chunk in lines.chunks(CASES_PER_INSERT) {
        let mut sql =
            String::from("INSERT INTO case_events (id, case_id, district, at_ms, actor_id, actor_name, action, note, detail) VALUES ");
        crate::db::values_list(&mut sql, tx.engine(), chunk.len(), 9);
        on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (case_id, district, at, actor, action, note, detail) in chunk {
                q = q
                    .bind(new_id())
                    .bind(*case_id)
                    .bind(*district)
                    .bind(*at)
                    .bind(actor.id())
                    .bind(actor.display_name())
                    .bind(*action)
                    .bind(*note)
                    .bind(detail.as_str());
            }
            q.execute(c).await.map(|_| ())
        })?;
    }
    let targets: Vec<String> = made.iter().map(|(id, ..)| id.to_string()).collect();
    let entries: Vec<(Actor<'_>, audit::Entry<'_>)> = items
        .iter()
        .zip(&targets)
        .map(|((actor, n), target)| {
            (
                *actor,
                audit::Entry {
                    district: n.district,
                    action: "case.report",
                    target_kind: "case",
                    target_id: target,
                    reason: "",
                    detail: match &n.routed {
                        Some(r) => json!({"category": n.category_code, "routed": {"unit": r.unit, "confidence": r.confidence}}),
                        None => json!({"category": n.category_code}),
                    },
                },
            )
        })
        .collect();
    audit::record_many(tx, &entries).await?;
    Ok(items
        .iter()
        .zip(made)
        .map(|((_, n), (id, code, status, unit, duplicate_of))| n.written(id, code, (status, unit, duplicate_of), now))
        .collect())
}

/// For each new report, its likely duplicate: the one it was given, else the nearest of its
/// candidates still open, read in the writing transaction. One query for the whole batch.
async fn duplicates_in(tx: &mut Tx, rows: &[&NewCaseRow<'_>]) -> sqlx::Result<Vec<Option<Uuid>>> {
    let mut ids: Vec<Uuid> = rows
        .iter()
        .filter(|n| n.duplicate_of.is_none())
        .flat_map(|n| n.duplicate_candidates.iter().copied())
        .collect();
    ids.sort();
    ids.dedup();
    let mut open = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let mut sql = String::from("SELECT id FROM cases WHERE status NOT IN ('closed', 'declined') AND merged_into IS NULL AND id IN ");
        crate::db::values_list(&mut sql, tx.engine(), 1, chunk.len());
        let found: Vec<Uuid> = on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(c).await
        })?;
        open.extend(found);
    }
    Ok(rows
        .iter()
        .map(|n| {
            n.duplicate_of
                .or_else(|| n.duplicate_candidates.iter().find(|c| open.contains(*c)).copied())
        })
        .collect())
}

/// The code of a report whose idempotency key another transaction stored first.
pub const KEY_RACE: &str = "idempotency_key_race";

/// Write a new report in the caller's transaction: the case, its hook's rows, tallies, timeline
/// and audit row; the row as written. A key stored meanwhile fails with [`KEY_RACE`].
pub async fn insert_in(tx: &mut Tx, actor: Actor<'_>, n: &NewCaseRow<'_>) -> AppResult<CaseRow> {
    let id = new_id();
    let now = now_ms();
    let code = tracking_code();
    // A report the router dispatched is dispatched from the start (立案 and 派遣 by the system).
    let unit = n.routed.as_ref().and_then(|r| r.unit);
    let status = if unit.is_some() { Status::Dispatched } else { Status::Reported };
    let duplicate_of = duplicates_in(tx, &[n]).await?.pop().flatten();
    let inserted = on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO cases (id, district, tracking_code, category_code, description, lat, lng, grid_code, level, source, status, \
         reporter_id, reporter_name, reporter_phone, idempotency_key, reported_at, due_at, updated_at, duplicate_of, attributes, private, idempotency_fingerprint, unit_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $22, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $23)"
    )
    .bind(id)
    .bind(n.district)
    .bind(&code)
    .bind(n.category_code)
    .bind(n.description)
    .bind(n.lat)
    .bind(n.lng)
    .bind(n.grid_code)
    .bind(n.level)
    .bind(n.source)
    .bind(n.reporter_id)
    .bind(n.reporter_name)
    // A call-back number is personal: sealed like the registry's (see `sealed`).
    .bind(crate::sealed::ring().seal(n.reporter_phone))
    .bind(n.idempotency_key)
    .bind(n.reported_at)
    .bind(n.due_at)
    .bind(now)
    .bind(duplicate_of)
    .bind(n.attributes)
    .bind(n.private)
    .bind(n.idempotency_fingerprint)
    .bind(status.as_str())
    .bind(unit)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    });
    match inserted {
        Ok(_) => {}
        Err(e) if crate::db::is_unique_violation(&e) && n.idempotency_key.is_some() => {
            return Err(AppError::conflict(KEY_RACE, "该 Idempotency-Key 已被使用"));
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(hook) = n.on_reported {
        hook.reported(tx, id, n.district).await?;
    }
    let facts = n.facts(status);
    super::tallies::record(tx, None, Some(&facts)).await?;
    insert_event(
        tx,
        (id, n.district),
        n.reported_at,
        &actor,
        "report",
        n.description,
        json!({"source": n.source, "grid": n.grid_code}),
    )
    .await?;
    if let Some(r) = &n.routed {
        insert_event(
            tx,
            (id, n.district),
            now.max(n.reported_at),
            &Actor::System("智能分派"),
            if r.unit.is_some() { "dispatch" } else { "route" },
            r.note,
            json!({"category": n.category_code, "unit": r.unit, "confidence": r.confidence}),
        )
        .await?;
    }
    audit::record(
        tx,
        actor,
        audit::Entry {
            district: n.district,
            action: "case.report",
            target_kind: "case",
            target_id: &id.to_string(),
            reason: "",
            detail: match &n.routed {
                Some(r) => json!({"category": n.category_code, "routed": {"unit": r.unit, "confidence": r.confidence}}),
                None => json!({"category": n.category_code}),
            },
        },
    )
    .await?;
    // The row as written: no need to read it back.
    Ok(n.written(id, code, (status, unit, duplicate_of), now))
}

/// The workflow state of a stored case.
pub async fn state_of(db: &Db, c: &CaseRow) -> sqlx::Result<CaseState> {
    let ws = whistles(db, c.id).await?;
    Ok(CaseState {
        status: c.status(),
        level: c.level,
        unit: c.unit_id,
        rework: c.rework.max(0) as u32,
        whistles: ws.into_iter().map(|w| (w.unit_id, w.acknowledged_at.is_some())).collect(),
        supervisions: c.supervisions.max(0) as u32,
        rating: c.rating(),
    })
}

fn note_of(a: &Action) -> String {
    match a {
        Action::Decline { reason } => reason.trim().to_string(),
        Action::Handle { note } | Action::Return { note } => note.trim().to_string(),
        Action::Rate { rating } => rating.label().to_string(),
        _ => String::new(),
    }
}

/// Apply an action: the workflow decides (409 if not now), then the case row, the whistles, the
/// timeline and the audit log change together — or not at all if someone else acted first.
pub async fn act(
    db: &Db,
    hooks: &super::hooks::CaseHooks,
    actor: Actor<'_>,
    c: &CaseRow,
    action: &Action,
    note: Option<String>,
    whistle_due: i64,
) -> AppResult<CaseRow> {
    let before = state_of(db, c).await?;
    let after = workflow::apply(&before, action).map_err(|r| AppError::conflict(r.code, r.message))?;
    let now = now_ms();
    let handled_at = if after.status == Status::Handled { Some(now) } else { c.handled_at };
    let closed_at = if after.status == Status::Closed {
        c.closed_at.or(Some(now))
    } else {
        None
    };
    let rating = after.rating.map(|r| {
        serde_json::to_value(r)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    });
    let mut tx = db.begin().await?;
    let updated = on_tx!(&mut tx, |x| {
        sqlx::query(
        "UPDATE cases SET status = $1, level = $2, unit_id = $3, rework = $4, supervisions = $5, rating = $6, handled_at = $7, closed_at = $8, \
         updated_at = $9, version = version + 1 WHERE id = $10 AND version = $11"
    )
    .bind(after.status.as_str())
    .bind(after.level)
    .bind(after.unit)
    .bind(i64::from(after.rework))
    .bind(i64::from(after.supervisions))
    .bind(rating)
    .bind(handled_at)
    .bind(closed_at)
    .bind(now)
    .bind(c.id)
    .bind(c.version)
    .execute(x)
    .await
    .map(|r| r.rows_affected())
    })?;
    if updated != 1 {
        return Err(AppError::conflict("concurrent_update", "案件刚被他人处理，请刷新后重试"));
    }
    let was = super::tallies::Facts::of(c);
    let now_facts = super::tallies::Facts {
        status: after.status,
        handled_at,
        closed_at,
        ..was.clone()
    };
    super::tallies::record(&mut tx, Some(&was), Some(&now_facts)).await?;
    match action {
        Action::Whistle { units } => {
            for u in units {
                if before.whistles.contains_key(u) {
                    continue;
                }
                on_tx!(&mut tx, |x| sqlx::query(
                    "INSERT INTO case_whistles (case_id, unit_id, district, summoned_at, due_at) VALUES ($1, $2, $3, $4, $5)"
                )
                .bind(c.id)
                .bind(*u)
                .bind(&c.district)
                .bind(now)
                .bind(whistle_due)
                .execute(x)
                .await
                .map(|r| r.rows_affected()))?;
            }
        }
        Action::Acknowledge { unit } => {
            on_tx!(&mut tx, |x| sqlx::query(
                "UPDATE case_whistles SET acknowledged_at = $1 WHERE case_id = $2 AND unit_id = $3"
            )
            .bind(now)
            .bind(c.id)
            .bind(*unit)
            .execute(x)
            .await
            .map(|r| r.rows_affected()))?;
        }
        _ => {}
    }
    if after.status == Status::Closed && before.status != Status::Closed {
        // Every merged reporter hears the outcome on their own case.
        let merged: Vec<(Uuid,)> = on_tx!(&mut tx, |x| sqlx::query_as("SELECT id FROM cases WHERE merged_into = $1")
            .bind(c.id)
            .fetch_all(x)
            .await)?;
        let handled_note: Option<String> = on_tx!(&mut tx, |x| sqlx::query_scalar(
            "SELECT note FROM case_events WHERE case_id = $1 AND action = 'handle' ORDER BY at_ms DESC LIMIT 1"
        )
        .bind(c.id)
        .fetch_optional(x)
        .await)?;
        let note = format!(
            "合并办理的案件 {} 已结案{}",
            c.tracking_code,
            handled_note.map(|n| format!("：{n}")).unwrap_or_default()
        );
        for hook in &hooks.on_closed {
            hook.closed(&mut tx, actor, c).await?;
        }
        for (mid,) in merged {
            insert_event(
                &mut tx,
                (mid, &c.district),
                now,
                &Actor::System("系统"),
                "outcome",
                &note,
                json!({"case": c.id}),
            )
            .await?;
        }
    }
    let detail = serde_json::to_value(action).unwrap_or_default();
    insert_event(
        &mut tx,
        (c.id, &c.district),
        now,
        &actor,
        action.name(),
        &note.unwrap_or_else(|| note_of(action)),
        detail.clone(),
    )
    .await?;
    let target = c.id.to_string();
    let audit_action = format!("case.{}", action.name());
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &c.district,
            action: &audit_action,
            target_kind: "case",
            target_id: &target,
            reason: "",
            detail,
        },
    )
    .await?;
    tx.commit().await?;
    get(db, c.id).await?.ok_or_else(AppError::internal)
}

/// The open statuses as an SQL list, spelled out so the (district, status, due_at) index serves
/// the overdue counts (the board's filter, the command centre's figures).
pub const OPEN_STATUSES_SQL: &str = "('reported', 'accepted', 'dispatched', 'handling', 'handled', 'verified')";

/// Filters for the case board.
#[derive(Default)]
pub struct CaseFilter<'a> {
    pub district: &'a str,
    pub grid: Option<&'a str>,
    pub status: Option<&'a str>,
    pub category: Option<&'a str>,
    pub unit: Option<Uuid>,
    /// Open cases due before this instant (overdue at now; a warning a day ahead).
    pub overdue_at: Option<i64>,
    /// Reported by this user (我上报的、我的反映).
    pub reporter: Option<Uuid>,
    /// Only cases no unit holds: the grid handles them itself.
    pub self_handled: bool,
    /// Only cases someone at this grid level may check: handled by a unit, or by a grid below it
    /// (no one checks their own work).
    pub checkable_at: Option<i64>,
    /// Most urgent first instead of newest first.
    pub by_due: bool,
    pub limit: i64,
    pub offset: i64,
}

/// A value bound to a filter's placeholder.
enum Arg<'a> {
    Text(&'a str),
    Owned(String),
    Int(i64),
    Id(Uuid),
}

/// The filter's WHERE clause with only the conditions it sets, so each engine can use the index
/// that fits (a `$n IS NULL OR …` condition would hide every index behind it), and its arguments.
fn where_of<'a>(f: &CaseFilter<'a>) -> (String, Vec<Arg<'a>>) {
    let mut conds = Vec::new();
    let mut args = Vec::new();
    let mut cond = |sql: &str, new: Vec<Arg<'a>>, args: &mut Vec<Arg<'a>>| {
        // Each `?` becomes the next numbered placeholder.
        let mut out = String::new();
        let mut n = args.len();
        for part in sql.split('?').enumerate() {
            if part.0 > 0 {
                n += 1;
                out.push_str(&format!("${n}"));
            }
            out.push_str(part.1);
        }
        conds.push(out);
        args.extend(new);
    };
    cond("district = ?", vec![Arg::Text(f.district)], &mut args);
    if let Some(g) = f.grid {
        let upper = crate::grid::rules::subtree_upper(g);
        cond("grid_code >= ? AND grid_code < ?", vec![Arg::Text(g), Arg::Owned(upper)], &mut args);
    }
    if let Some(st) = f.status {
        cond("status = ?", vec![Arg::Text(st)], &mut args);
    }
    if let Some(c) = f.category {
        cond("category_code = ?", vec![Arg::Text(c)], &mut args);
    }
    if let Some(u) = f.unit {
        cond("unit_id = ?", vec![Arg::Id(u)], &mut args);
    }
    if let Some(at) = f.overdue_at {
        // Open statuses spelled out, so the (district, status, due_at) index serves it.
        cond(
            &format!("due_at < ? AND status IN {OPEN_STATUSES_SQL}"),
            vec![Arg::Int(at)],
            &mut args,
        );
    }
    if let Some(r) = f.reporter {
        cond("reporter_id = ?", vec![Arg::Id(r)], &mut args);
    }
    if f.self_handled {
        cond("unit_id IS NULL", vec![], &mut args);
    }
    if let Some(level) = f.checkable_at {
        cond("(unit_id IS NOT NULL OR level > ?)", vec![Arg::Int(level)], &mut args);
    }
    (conds.join(" AND "), args)
}

/// Bind a filter's arguments, in order, to a query of either engine.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Text(s) => q.bind(*s),
                Arg::Owned(s) => q.bind(s.as_str()),
                Arg::Int(i) => q.bind(*i),
                Arg::Id(u) => q.bind(*u),
            };
        }
        q
    }};
}

pub async fn list(db: &Db, f: &CaseFilter<'_>) -> sqlx::Result<(Vec<CaseRow>, i64)> {
    let (where_, args) = where_of(f);
    let order = if f.by_due { "due_at, id" } else { "reported_at DESC, id DESC" };
    let n = args.len();
    let rows_sql = format!(
        "SELECT {CASE_COLS} FROM cases WHERE {where_} ORDER BY {order} LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let count_sql = format!("SELECT COUNT(*) FROM cases WHERE {where_}");
    on_pool!(db, |p| {
        let rows = bind_args!(sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(rows_sql)), &args)
            .bind(f.limit)
            .bind(f.offset)
            .fetch_all(p)
            .await?;
        let total: i64 = bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)), &args)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// Cases whose whistle summons this unit and it has not yet reported (报到).
pub async fn pending_whistles(db: &Db, unit: Uuid, limit: i64) -> sqlx::Result<Vec<CaseRow>> {
    let cols = CASE_COLS.split(", ").map(|c| format!("c.{c}")).collect::<Vec<_>>().join(", ");
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {cols} FROM case_whistles w JOIN cases c ON c.id = w.case_id \
         WHERE w.unit_id = $1 AND w.acknowledged_at IS NULL AND c.status NOT IN ('closed', 'declined') ORDER BY w.due_at LIMIT $2"
    )))
    .bind(unit)
    .bind(limit)
    .fetch_all(p)
    .await)
}

/// Open cases (in a grid subtree, or of a unit) due before `before_ms`, most urgent first.
pub async fn due_before(
    db: &Db,
    district: &str,
    grid: Option<&str>,
    unit: Option<Uuid>,
    before_ms: i64,
    limit: i64,
) -> sqlx::Result<Vec<CaseRow>> {
    let upper = grid.map(crate::grid::rules::subtree_upper);
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CASE_COLS} FROM cases WHERE district = $1 AND status NOT IN ('closed', 'declined') AND due_at < $2 \
         AND ($3 IS NULL OR (grid_code >= $3 AND grid_code < $4)) AND ($5 IS NULL OR unit_id = $5) ORDER BY due_at LIMIT $6"
    )))
    .bind(district)
    .bind(before_ms)
    .bind(grid)
    .bind(&upper)
    .bind(unit)
    .bind(limit)
    .fetch_all(p)
    .await)
}

/// Metres between two points (haversine; plenty for tens of metres).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// Merge a likely duplicate into the case that answers for it: the duplicate leaves the workflow
/// (declined, with the reason) and its reporter follows the main case.
pub async fn merge(db: &Db, actor: Actor<'_>, dup: &CaseRow, into: &CaseRow) -> AppResult<CaseRow> {
    if dup.id == into.id || into.merged_into.is_some() || !into.status().is_open() || into.district != dup.district {
        return Err(AppError::conflict("cannot_merge", "只能并入本区另一件未办结的案件"));
    }
    if !matches!(dup.status(), Status::Reported | Status::Accepted) {
        return Err(AppError::conflict("cannot_merge", "只有尚未派遣的案件可以合并"));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, |x| sqlx::query(
        "UPDATE cases SET status = 'declined', merged_into = $1, updated_at = $2, version = version + 1 WHERE id = $3 AND version = $4"
    )
    .bind(into.id)
    .bind(now)
    .bind(dup.id)
    .bind(dup.version)
    .execute(x)
    .await
    .map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::conflict("concurrent_update", "案件刚被他人处理，请刷新后重试"));
    }
    // The target must still be as checked above: a no-op update guarded by its version, which also
    // holds its row until commit, so it cannot close or be merged away under us.
    let still = on_tx!(&mut tx, |x| sqlx::query(
        "UPDATE cases SET version = version WHERE id = $1 AND version = $2 AND merged_into IS NULL"
    )
    .bind(into.id)
    .bind(into.version)
    .execute(x)
    .await
    .map(|r| r.rows_affected()))?;
    if still != 1 {
        return Err(AppError::conflict("concurrent_update", "目标案件刚被他人处理，请刷新后重试"));
    }
    let was = super::tallies::Facts::of(dup);
    let merged = super::tallies::Facts {
        status: Status::Declined,
        merged: true,
        ..was.clone()
    };
    super::tallies::record(&mut tx, Some(&was), Some(&merged)).await?;
    let note = format!("与案件 {} 合并办理", into.tracking_code);
    insert_event(
        &mut tx,
        (dup.id, &dup.district),
        now,
        &actor,
        "merge",
        &note,
        json!({"into": into.id}),
    )
    .await?;
    let target = dup.id.to_string();
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &dup.district,
            action: "case.merge",
            target_kind: "case",
            target_id: &target,
            reason: "",
            detail: json!({"into": into.id}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, dup.id).await?.ok_or_else(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_says_only_what_it_sets_with_its_placeholders_in_order() {
        let f = CaseFilter {
            district: "411602",
            ..Default::default()
        };
        let (sql, args) = where_of(&f);
        assert_eq!((sql.as_str(), args.len()), ("district = $1", 1));
        let me = Uuid::from_u128(9);
        let f = CaseFilter {
            district: "411602",
            grid: Some("411602001"),
            status: Some("handled"),
            reporter: Some(me),
            self_handled: true,
            checkable_at: Some(4),
            ..Default::default()
        };
        let (sql, args) = where_of(&f);
        assert_eq!(
            sql,
            "district = $1 AND grid_code >= $2 AND grid_code < $3 AND status = $4 AND reporter_id = $5 \
             AND unit_id IS NULL AND (unit_id IS NOT NULL OR level > $6)"
        );
        assert_eq!(args.len(), 6);
        assert!(
            matches!(&args[2], Arg::Owned(u) if u.as_str() > "411602001999999999"),
            "the subtree's upper bound"
        );
        assert!(matches!(args[4], Arg::Id(x) if x == me));
        assert!(!sql.contains("IS NULL OR"), "no condition that hides an index");
    }
}

/// A case as its Excel ledger reads it: the row and when it was first dispatched.
#[derive(sqlx::FromRow)]
pub struct CaseExportRow {
    #[sqlx(flatten)]
    pub c: CaseRow,
    pub dispatched_at: Option<i64>,
}

/// The board's cases — its filter and order, every page — streamed into an Excel ledger's sink,
/// each with its first dispatch (from the timeline's index).
pub async fn export(
    db: &Db,
    f: &CaseFilter<'_>,
    sink: &mut crate::ledgers::Sink,
    row: impl Fn(CaseExportRow) -> crate::ledgers::Row + Send + Sync,
) -> crate::error::AppResult<()> {
    use futures_util::TryStreamExt;
    let (where_, args) = where_of(f);
    let order = if f.by_due { "due_at, id" } else { "reported_at DESC, id DESC" };
    let sql = format!(
        "SELECT {CASE_COLS}, (SELECT MIN(e.at_ms) FROM case_events e WHERE e.case_id = cases.id AND e.action = 'dispatch') AS dispatched_at \
         FROM cases WHERE {where_} ORDER BY {order}"
    );
    on_pool!(db, |p| {
        let mut rows = bind_args!(sqlx::query_as::<_, CaseExportRow>(sqlx::AssertSqlSafe(sql)), &args).fetch(p);
        while let Some(r) = rows.try_next().await? {
            sink.push(row(r)).await?;
        }
        Ok::<(), crate::error::AppError>(())
    })
}
