//! Device alarms' tables: the district's kind → category table and heartbeat periods, when each
//! device was last heard, and every alarm received. Writes take the caller's transaction.

use uuid::Uuid;

use super::rules;
use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

/// (kind, label, category code; '' = no case).
pub type KindRule = (String, String, String);
/// (device kind, minutes).
pub type Period = (String, i64);

/// The district's kinds, or the defaults when it has set none.
pub async fn kinds(db: &Db, district: &str) -> sqlx::Result<Vec<KindRule>> {
    let rows: Vec<KindRule> = on_pool!(db, |p| sqlx::query_as::<_, KindRule>(
        "SELECT kind, label, category_code FROM alarm_kinds WHERE district = $1 ORDER BY kind"
    )
    .bind(district)
    .fetch_all(p)
    .await)?;
    if rows.is_empty() {
        return Ok(rules::DEFAULT_KINDS
            .iter()
            .map(|(k, l, c)| (k.to_string(), l.to_string(), c.to_string()))
            .collect());
    }
    Ok(rows)
}

/// The district's heartbeat periods, or the defaults when it has set none.
pub async fn periods(db: &Db, district: &str) -> sqlx::Result<Vec<Period>> {
    let rows: Vec<Period> = on_pool!(db, |p| sqlx::query_as::<_, Period>(
        "SELECT device_kind, minutes FROM device_heartbeat_periods WHERE district = $1 ORDER BY device_kind"
    )
    .bind(district)
    .fetch_all(p)
    .await)?;
    if rows.is_empty() {
        return Ok(rules::DEFAULT_PERIODS.iter().map(|(k, m)| (k.to_string(), *m)).collect());
    }
    Ok(rows)
}

/// Replace the district's table and periods.
pub async fn save_settings(tx: &mut Tx, district: &str, kinds: &[KindRule], periods: &[Period]) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query("DELETE FROM alarm_kinds WHERE district = $1")
        .bind(district)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| sqlx::query("DELETE FROM device_heartbeat_periods WHERE district = $1")
        .bind(district)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    for (kind, label, category) in kinds {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO alarm_kinds (district, kind, label, category_code) VALUES ($1, $2, $3, $4)"
        )
        .bind(district)
        .bind(kind)
        .bind(label)
        .bind(category)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    for (kind, minutes) in periods {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO device_heartbeat_periods (district, device_kind, minutes) VALUES ($1, $2, $3)"
        )
        .bind(district)
        .bind(kind)
        .bind(minutes)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// A registered device, as an alarm needs it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DeviceRow {
    pub id: Uuid,
    pub grid_code: String,
    pub kind: String,
    pub name: String,
    pub lat: f64,
    pub lng: f64,
}

pub async fn device(db: &Db, district: &str, serial: &str) -> sqlx::Result<Option<DeviceRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DeviceRow>(
        "SELECT id, grid_code, kind, name, lat, lng FROM devices WHERE district = $1 AND serial = $2"
    )
    .bind(district)
    .bind(serial)
    .fetch_optional(p)
    .await)
}

/// Whether an alarm with this fingerprint is stored already (a redelivery).
pub async fn stored(db: &Db, fingerprint: &str) -> sqlx::Result<Option<(Uuid, Option<Uuid>, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, Option<Uuid>, String)>(
        "SELECT id, case_id, outcome FROM device_alarms WHERE fingerprint = $1"
    )
    .bind(fingerprint)
    .fetch_optional(p)
    .await)
}

/// The device's latest alarm that went to a case: the case, the alarm's time, whether the case is open.
pub async fn last_case(db: &Db, device: Uuid) -> sqlx::Result<Option<rules::Last<Uuid>>> {
    let row: Option<(Uuid, i64, String, Option<Uuid>)> = on_pool!(db, |p| sqlx::query_as(
        "SELECT a.case_id, a.at_ms, c.status, c.merged_into FROM device_alarms a JOIN cases c ON c.id = a.case_id \
         WHERE a.device_id = $1 AND a.case_id IS NOT NULL ORDER BY a.at_ms DESC LIMIT 1"
    )
    .bind(device)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(|(case, at_ms, status, merged)| rules::Last {
        case,
        at_ms,
        open: !matches!(status.as_str(), "closed" | "declined") && merged.is_none(),
    }))
}

/// One alarm as stored.
#[derive(Debug, Clone)]
pub struct NewAlarm {
    pub id: Uuid,
    pub district: String,
    pub serial: String,
    pub device_id: Option<Uuid>,
    pub grid_code: Option<String>,
    pub kind: String,
    pub level: Option<i64>,
    pub at_ms: i64,
    pub detail: String,
    pub received_at: i64,
    pub via: &'static str,
    pub case_id: Option<Uuid>,
    pub outcome: &'static str,
    pub why: String,
    pub fingerprint: String,
}

/// Store an alarm; `false` when one with its fingerprint is there already.
pub async fn insert(tx: &mut Tx, a: &NewAlarm) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO device_alarms (id, district, serial, device_id, grid_code, kind, level, at_ms, detail, received_at, via, case_id, outcome, why, fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT (fingerprint) DO NOTHING"
    )
    .bind(a.id)
    .bind(&a.district)
    .bind(&a.serial)
    .bind(a.device_id)
    .bind(&a.grid_code)
    .bind(&a.kind)
    .bind(a.level)
    .bind(a.at_ms)
    .bind(&a.detail)
    .bind(a.received_at)
    .bind(a.via)
    .bind(a.case_id)
    .bind(a.outcome)
    .bind(&a.why)
    .bind(&a.fingerprint)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n == 1)
}

/// Note that a device was heard at `at` (never moving its time back).
pub async fn seen(tx: &mut Tx, device: Uuid, district: &str, at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO device_seen (device_id, district, last_seen_at) VALUES ($1, $2, $3) ON CONFLICT (device_id) DO UPDATE SET \
         last_seen_at = CASE WHEN excluded.last_seen_at > device_seen.last_seen_at THEN excluded.last_seen_at ELSE device_seen.last_seen_at END"
    )
    .bind(device)
    .bind(district)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// An alarm as lists show it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct AlarmRow {
    pub id: Uuid,
    pub serial: String,
    pub device_name: Option<String>,
    pub grid_code: Option<String>,
    pub kind: String,
    pub level: Option<i64>,
    pub at_ms: i64,
    pub detail: String,
    pub received_at: i64,
    pub via: String,
    pub case_id: Option<Uuid>,
    pub tracking_code: Option<String>,
    pub outcome: String,
    pub why: String,
}

/// The newest alarms of devices under `root` (and, when `root` is the district, those of no
/// known device), newest first.
pub async fn recent(db: &Db, district: &str, root: &str, limit: i64) -> sqlx::Result<Vec<AlarmRow>> {
    recent_page(db, district, root, limit, 0).await
}

/// [`recent`] from `offset` on (the ledger pages through them all).
pub async fn recent_page(db: &Db, district: &str, root: &str, limit: i64, offset: i64) -> sqlx::Result<Vec<AlarmRow>> {
    let upper = subtree_upper(root);
    let whole = root == district;
    on_pool!(db, |p| {
        sqlx::query_as::<_, AlarmRow>(
        "SELECT a.id, a.serial, d.name AS device_name, a.grid_code, a.kind, a.level, a.at_ms, a.detail, a.received_at, a.via, a.case_id, \
         c.tracking_code, a.outcome, a.why FROM device_alarms a LEFT JOIN devices d ON d.id = a.device_id LEFT JOIN cases c ON c.id = a.case_id \
         WHERE a.district = $1 AND ((a.grid_code >= $2 AND a.grid_code < $3) OR ($4 AND a.grid_code IS NULL)) \
         ORDER BY a.received_at DESC, a.id DESC LIMIT $5 OFFSET $6"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(whole)
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await
    })
}

/// Alarms per outcome since `since` under `root`; unknown serials and malformed payloads of no
/// known device are counted district-wide (they have no grid).
pub async fn counts(db: &Db, district: &str, root: &str, since: i64) -> sqlx::Result<Vec<(String, i64)>> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| sqlx::query_as::<_, (String, i64)>(
        "SELECT outcome, COUNT(*) FROM device_alarms WHERE district = $1 AND received_at >= $4 \
         AND ((grid_code >= $2 AND grid_code < $3) OR grid_code IS NULL) GROUP BY outcome ORDER BY outcome"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(since)
    .fetch_all(p)
    .await)
}

/// A device heard at least once, with when.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SeenRow {
    pub id: Uuid,
    pub serial: String,
    pub name: String,
    pub kind: String,
    pub grid_code: String,
    pub last_seen_at: i64,
}

/// Devices under `root` silent since before `before` (the caller applies each kind's period).
pub async fn silent_since(db: &Db, district: &str, root: &str, before: i64, limit: i64) -> sqlx::Result<Vec<SeenRow>> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| sqlx::query_as::<_, SeenRow>(
        "SELECT d.id, d.serial, d.name, d.kind, d.grid_code, s.last_seen_at FROM devices d JOIN device_seen s ON s.device_id = d.id \
         WHERE d.district = $1 AND d.grid_code >= $2 AND d.grid_code < $3 AND s.last_seen_at < $4 ORDER BY s.last_seen_at LIMIT $5"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(before)
    .bind(limit)
    .fetch_all(p)
    .await)
}

/// Devices under `root`: (all, never heard).
pub async fn device_counts(db: &Db, district: &str, root: &str) -> sqlx::Result<(i64, i64)> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN s.device_id IS NULL THEN 1 ELSE 0 END), 0) FROM devices d \
         LEFT JOIN device_seen s ON s.device_id = d.id WHERE d.district = $1 AND d.grid_code >= $2 AND d.grid_code < $3"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .fetch_one(p)
    .await)
}
