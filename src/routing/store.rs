//! Routing storage: the district's model (智能分派模型), its auto-dispatch setting, and the closed
//! cases it learns from.

use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::db::{Db, now_ms};
use crate::error::AppResult;
use crate::{on_pool, on_tx};

/// Auto-dispatch is on, at 90 %, until the district says otherwise.
pub const DEFAULT_THRESHOLD_PCT: i64 = 90;

/// The most closed cases one training reads (the newest).
pub const MAX_EXAMPLES: i64 = 60_000;

/// One closed case as training reads it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ClosedCase {
    pub category_code: String,
    pub unit_id: Option<Uuid>,
    pub description: String,
    pub grid_code: String,
}

/// The district's closed cases (not merged duplicates), newest first, at most `limit`.
pub async fn closed_cases(db: &Db, district: &str, limit: i64) -> sqlx::Result<Vec<ClosedCase>> {
    on_pool!(db, |p| sqlx::query_as::<_, ClosedCase>(
        "SELECT category_code, unit_id, description, grid_code FROM cases \
         WHERE district = $1 AND status = 'closed' AND merged_into IS NULL ORDER BY reported_at DESC, id LIMIT $2"
    )
    .bind(district)
    .bind(limit)
    .fetch_all(p)
    .await)
}

/// Every district with a closed case.
pub async fn districts(db: &Db) -> sqlx::Result<Vec<String>> {
    on_pool!(db, |p| sqlx::query_scalar("SELECT code FROM districts ORDER BY code")
        .fetch_all(p)
        .await)
}

/// When the district's model was trained, if it has one.
pub async fn trained_at(db: &Db, district: &str) -> sqlx::Result<Option<(i64, i64)>> {
    on_pool!(db, |p| sqlx::query_as(
        "SELECT trained_at, examples FROM routing_models WHERE district = $1"
    )
    .bind(district)
    .fetch_optional(p)
    .await)
}

/// The stored model (JSON) and when it was trained.
pub async fn model(db: &Db, district: &str) -> sqlx::Result<Option<(i64, String)>> {
    on_pool!(db, |p| sqlx::query_as(
        "SELECT trained_at, model FROM routing_models WHERE district = $1"
    )
    .bind(district)
    .fetch_optional(p)
    .await)
}

/// Store (or replace) the district's model.
pub async fn save_model(db: &Db, district: &str, examples: i64, model: &str) -> AppResult<i64> {
    let mut tx = db.begin().await?;
    // Strictly later than the model it replaces, so every process sees the change.
    let before: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT trained_at FROM routing_models WHERE district = $1"
    )
    .bind(district)
    .fetch_optional(c)
    .await)?;
    let at = now_ms().max(before.map_or(0, |b| b + 1));
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO routing_models (district, trained_at, examples, model) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (district) DO UPDATE SET trained_at = $2, examples = $3, model = $4"
    )
    .bind(district)
    .bind(at)
    .bind(examples)
    .bind(model)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        Actor::System("智能分派"),
        audit::Entry {
            district,
            action: "routing.train",
            target_kind: "district",
            target_id: district,
            reason: "",
            detail: json!({"examples": examples}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(at)
}

/// The district's auto-dispatch setting: on or off, and the threshold in whole percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub auto_dispatch: bool,
    pub threshold_pct: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_dispatch: true,
            threshold_pct: DEFAULT_THRESHOLD_PCT,
        }
    }
}

pub async fn settings(db: &Db, district: &str) -> sqlx::Result<Settings> {
    let row: Option<(bool, i64)> = on_pool!(db, |p| sqlx::query_as(
        "SELECT auto_dispatch, threshold_pct FROM routing_settings WHERE district = $1"
    )
    .bind(district)
    .fetch_optional(p)
    .await)?;
    Ok(row.map_or_else(Settings::default, |(auto_dispatch, threshold_pct)| Settings {
        auto_dispatch,
        threshold_pct,
    }))
}

/// Change the district's setting (checked by the caller), audited.
pub async fn save_settings(db: &Db, actor: Actor<'_>, district: &str, s: Settings) -> AppResult<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO routing_settings (district, auto_dispatch, threshold_pct, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (district) DO UPDATE SET auto_dispatch = $2, threshold_pct = $3, updated_at = $4"
    )
    .bind(district)
    .bind(s.auto_dispatch)
    .bind(s.threshold_pct)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "routing.settings",
            target_kind: "district",
            target_id: district,
            reason: "",
            detail: json!({"auto_dispatch": s.auto_dispatch, "threshold_pct": s.threshold_pct}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
