//! Volunteer teams and their members; also the grid-and-kind listing that teams and shops share.

use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::subtree_upper;
use crate::volunteers::rules;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct TeamRow {
    pub id: Uuid,
    pub district: String,
    pub kind: String,
    pub name: String,
    pub grid_code: String,
    pub unit_id: Option<Uuid>,
    pub leader_id: Option<Uuid>,
    pub members: i64,
    pub created_at: i64,
}

const TEAM_COLS: &str = "id, district, kind, name, grid_code, unit_id, leader_id, members, created_at";

pub struct NewTeamRow<'a> {
    pub district: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub grid_code: &'a str,
    pub unit_id: Option<Uuid>,
    pub leader_id: Option<Uuid>,
}

/// Insert a team inside `tx` (bulk-friendly; no audit row). The leader, if any, becomes a member.
pub async fn insert_team(tx: &mut Tx, id: Uuid, t: &NewTeamRow<'_>, at_ms: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO volunteer_teams (id, district, kind, name, grid_code, unit_id, leader_id, members, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)"
    )
    .bind(id)
    .bind(t.district)
    .bind(t.kind)
    .bind(t.name)
    .bind(t.grid_code)
    .bind(t.unit_id)
    .bind(t.leader_id)
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if let Some(l) = t.leader_id {
        add_member_in(tx, t.district, id, l).await?;
    }
    Ok(())
}

pub async fn create_team(db: &Db, actor: Actor<'_>, t: &NewTeamRow<'_>) -> AppResult<TeamRow> {
    if !rules::TEAM_KINDS.iter().any(|k| k.0 == t.kind) {
        let kinds: Vec<&str> = rules::TEAM_KINDS.iter().map(|k| k.0).collect();
        return Err(AppError::invalid(
            "invalid_team_kind",
            format!("队伍类型应为：{}", kinds.join(", ")),
        ));
    }
    let name = t.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "队伍名称不能为空且不超过64字"));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    insert_team(&mut tx, id, &NewTeamRow { name, ..*t }, now_ms()).await.map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_team", format!("本区已有名为「{name}」的队伍"))
        } else {
            e.into()
        }
    })?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: t.district,
            action: "volunteer.team_create",
            target_kind: "volunteer_team",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"kind": t.kind, "name": name, "grid": t.grid_code, "unit": t.unit_id}),
        },
    )
    .await?;
    tx.commit().await?;
    team(db, id).await?.ok_or_else(AppError::internal)
}

pub async fn team(db: &Db, id: Uuid) -> sqlx::Result<Option<TeamRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TEAM_COLS} FROM volunteer_teams WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn teams(
    db: &Db,
    district: &str,
    grid: Option<&str>,
    kind: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<TeamRow>, i64)> {
    by_grid_and_kind(db, "volunteer_teams", TEAM_COLS, district, grid, kind, (limit, offset)).await
}

/// Rows of `table` under a grid subtree (or the whole district), of one `kind` if given, ordered
/// by grid and name, a page of them and the total. Teams and shops are listed this way.
pub(in crate::volunteers) async fn by_grid_and_kind<T>(
    db: &Db,
    table: &str,
    cols: &str,
    district: &str,
    grid: Option<&str>,
    kind: Option<&str>,
    (limit, offset): (i64, i64),
) -> sqlx::Result<(Vec<T>, i64)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let upper = grid.map(subtree_upper);
    let where_ = "district = $1 AND ($2 IS NULL OR (grid_code >= $2 AND grid_code < $3)) AND ($4 IS NULL OR kind = $4)";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM {table} WHERE {where_} ORDER BY grid_code, name LIMIT $5 OFFSET $6"
        )))
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(kind)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE {where_}")))
            .bind(district)
            .bind(grid)
            .bind(&upper)
            .bind(kind)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

pub async fn add_member(db: &Db, actor: Actor<'_>, t: &TeamRow, volunteer: Uuid) -> AppResult<bool> {
    let mut tx = db.begin().await?;
    let added = add_member_in(&mut tx, &t.district, t.id, volunteer).await?;
    if added {
        audit::record(
            &mut tx,
            actor,
            audit::Entry {
                district: &t.district,
                action: "volunteer.team_join",
                target_kind: "volunteer_team",
                target_id: &t.id.to_string(),
                reason: "",
                detail: json!({"volunteer": volunteer}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}

/// Add a volunteer to a team inside `tx`; already a member is fine.
pub async fn add_member_in(tx: &mut Tx, district: &str, team: Uuid, volunteer: Uuid) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO volunteer_team_members (team_id, volunteer_id, district, joined_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (team_id, volunteer_id) DO NOTHING"
    )
    .bind(team)
    .bind(volunteer)
    .bind(district)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 1 {
        on_tx!(tx, |c| sqlx::query(
            "UPDATE volunteer_teams SET members = members + 1 WHERE id = $1"
        )
        .bind(team)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(n == 1)
}

/// Teams a volunteer belongs to: (id, name).
pub async fn teams_of(db: &Db, volunteer: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, (Uuid, String)>(
        "SELECT t.id, t.name FROM volunteer_team_members m JOIN volunteer_teams t ON t.id = m.team_id WHERE m.volunteer_id = $1 ORDER BY t.name"
    )
    .bind(volunteer)
    .fetch_all(p)
    .await
    })
}

/// Teams a volunteer leads (they may organise the teams' activities).
pub async fn teams_led_by(db: &Db, volunteer: Uuid) -> sqlx::Result<Vec<TeamRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TEAM_COLS} FROM volunteer_teams WHERE leader_id = $1 ORDER BY name"
    )))
    .bind(volunteer)
    .fetch_all(p)
    .await)
}
