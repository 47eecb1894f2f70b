//! Points rules as a district has set them: the defaults seeded on first use, lookups and edits.

use serde::Serialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::db::{Db, Tx, now_ms};
use crate::error::{AppError, AppResult};
use crate::volunteers::rules;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleRow {
    pub code: String,
    pub name: String,
    pub points: i64,
    pub updated_at: i64,
}

/// Insert the default rules a district does not have yet.
pub async fn seed_rules_in(tx: &mut Tx, district: &str) -> sqlx::Result<()> {
    let now = now_ms();
    for r in &rules::DEFAULTS {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO points_rules (district, code, name, points, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (district, code) DO NOTHING"
        )
        .bind(district)
        .bind(r.code)
        .bind(r.name)
        .bind(r.points)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The district's rules, seeding the defaults on first use.
pub async fn rules_of(db: &Db, district: &str) -> sqlx::Result<Vec<RuleRow>> {
    let read = || async {
        on_pool!(db, |p| sqlx::query_as::<_, RuleRow>(
            "SELECT code, name, points, updated_at FROM points_rules WHERE district = $1 ORDER BY code"
        )
        .bind(district)
        .fetch_all(p)
        .await)
    };
    let rows = read().await?;
    if rows.len() >= rules::DEFAULTS.len() {
        return Ok(rows);
    }
    let mut tx = db.begin().await?;
    seed_rules_in(&mut tx, district).await?;
    tx.commit().await?;
    read().await
}

/// Points a rule gives in the district (its default when never set).
pub async fn rule_points(db: &Db, district: &str, code: &str) -> sqlx::Result<i64> {
    let set: Option<i64> = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT points FROM points_rules WHERE district = $1 AND code = $2"
    )
    .bind(district)
    .bind(code)
    .fetch_optional(p)
    .await)?;
    Ok(set.unwrap_or_else(|| rules::default_of(code).map(|r| r.points).unwrap_or(0)))
}

pub async fn rule_points_in_tx(tx: &mut Tx, district: &str, code: &str) -> sqlx::Result<i64> {
    let set: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT points FROM points_rules WHERE district = $1 AND code = $2"
    )
    .bind(district)
    .bind(code)
    .fetch_optional(c)
    .await)?;
    Ok(set.unwrap_or_else(|| rules::default_of(code).map(|r| r.points).unwrap_or(0)))
}

/// Set a rule's points (and optionally its name). Unknown codes are refused.
pub async fn set_rule(db: &Db, actor: Actor<'_>, district: &str, code: &str, points: i64, name: Option<&str>) -> AppResult<RuleRow> {
    let Some(default) = rules::default_of(code) else {
        return Err(AppError::not_found("积分规则"));
    };
    if !(0..=rules::MAX_RULE_POINTS).contains(&points) {
        return Err(AppError::invalid(
            "invalid_points",
            format!("积分应为0至{}之间的整数", rules::MAX_RULE_POINTS),
        ));
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(default.name);
    if name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "规则名称不超过64字"));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    seed_rules_in(&mut tx, district).await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE points_rules SET points = $1, name = $2, updated_at = $3 WHERE district = $4 AND code = $5"
    )
    .bind(points)
    .bind(name)
    .bind(now)
    .bind(district)
    .bind(code)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "points.rule",
            target_kind: "points_rule",
            target_id: code,
            reason: "",
            detail: json!({"points": points, "name": name}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RuleRow {
        code: code.to_string(),
        name: name.to_string(),
        points,
        updated_at: now,
    })
}
