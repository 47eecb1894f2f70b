//! Volunteers: their records with balances, lookups, the filtered list, and registration of a resident.

use serde_json::json;
use uuid::Uuid;

use super::points::account_in;
use super::teams::add_member_in;
use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::subtree_upper;
use crate::registry::residents::ResidentRow;
use crate::volunteers::ledger::AccountKind;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct VolunteerRow {
    pub id: Uuid,
    pub district: String,
    pub resident_id: Uuid,
    pub user_id: Option<Uuid>,
    pub grid_code: String,
    pub name: String,
    pub registered_via: String,
    pub unit_id: Option<Uuid>,
    pub minutes: i64,
    pub created_at: i64,
    pub account_id: Option<Uuid>,
    pub balance: i64,
    /// An account asking to be linked, waiting for the community (待核实的账号关联).
    pub link_requested_by: Option<Uuid>,
    pub link_requested_at: Option<i64>,
}

const VOL_COLS: &str = "v.id, v.district, v.resident_id, v.user_id, v.grid_code, v.name, v.registered_via, v.unit_id, v.minutes, v.created_at, \
     a.id AS account_id, COALESCE(a.balance, 0) AS balance, v.link_requested_by, v.link_requested_at";
const VOL_FROM: &str = "volunteers v LEFT JOIN points_accounts a ON a.district = v.district AND a.kind = 'volunteer' AND a.owner_id = v.id";

pub async fn volunteer(db: &Db, id: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// The volunteer record linked to a user account.
pub async fn volunteer_of_user(db: &Db, user: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.user_id = $1"
    )))
    .bind(user)
    .fetch_optional(p)
    .await)
}

pub async fn volunteer_of_resident(db: &Db, district: &str, resident: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.district = $1 AND v.resident_id = $2"
    )))
    .bind(district)
    .bind(resident)
    .fetch_optional(p)
    .await)
}

#[derive(Default)]
pub struct VolunteerFilter<'a> {
    pub district: &'a str,
    pub grid: Option<&'a str>,
    pub team: Option<Uuid>,
    /// Name prefix.
    pub name: Option<&'a str>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn volunteers(db: &Db, f: &VolunteerFilter<'_>) -> sqlx::Result<(Vec<VolunteerRow>, i64)> {
    let upper = f.grid.map(subtree_upper);
    let name = f
        .name
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("{}%", crate::db::like_escaped(s)));
    let where_ = "v.district = $1 AND ($2 IS NULL OR (v.grid_code >= $2 AND v.grid_code < $3)) AND ($4 IS NULL OR LOWER(v.name) LIKE LOWER($4) ESCAPE '\\') \
                  AND ($5 IS NULL OR EXISTS (SELECT 1 FROM volunteer_team_members m WHERE m.team_id = $5 AND m.volunteer_id = v.id))";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE {where_} ORDER BY v.grid_code, v.name, v.id LIMIT $6 OFFSET $7"
        )))
        .bind(f.district)
        .bind(f.grid)
        .bind(&upper)
        .bind(&name)
        .bind(f.team)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM volunteers v WHERE {where_}")))
            .bind(f.district)
            .bind(f.grid)
            .bind(&upper)
            .bind(&name)
            .bind(f.team)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// A resident of the district by ID number (for self-registration).
pub async fn resident_by_id_number(db: &Db, district: &str, id_number: &str) -> sqlx::Result<Option<ResidentRow>> {
    crate::registry::residents::by_id_number(db, district, id_number).await
}

/// How a volunteer came to be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredVia {
    Community,
    Unit(Uuid),
    SelfOnline,
}

impl RegisteredVia {
    pub fn as_str(self) -> &'static str {
        match self {
            RegisteredVia::Community => "community",
            RegisteredVia::Unit(_) => "unit",
            RegisteredVia::SelfOnline => "self",
        }
    }
    fn unit(self) -> Option<Uuid> {
        match self {
            RegisteredVia::Unit(u) => Some(u),
            _ => None,
        }
    }
}

/// Insert a volunteer and open their points account inside `tx` (bulk-friendly; no audit row).
pub async fn insert_volunteer(
    tx: &mut Tx,
    id: Uuid,
    resident: &ResidentRow,
    user: Option<Uuid>,
    via: RegisteredVia,
    at_ms: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO volunteers (id, district, resident_id, user_id, grid_code, name, registered_via, unit_id, minutes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)"
    )
    .bind(id)
    .bind(&resident.district)
    .bind(resident.id)
    .bind(user)
    .bind(&resident.grid_code)
    .bind(&resident.name)
    .bind(via.as_str())
    .bind(via.unit())
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    account_in(tx, &resident.district, AccountKind::Volunteer, id).await?;
    Ok(())
}

/// What a registration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A new volunteer record.
    Created,
    /// The resident was a volunteer already (staff registering, or the resident's own account is
    /// the one linked).
    Existing,
    /// The record exists without an account: the resident's request to link theirs waits for the
    /// community to confirm it.
    LinkRequested,
}

/// Register a resident as a volunteer (one transaction with the audit row). When the resident
/// is already a volunteer, the existing record is returned; a self-registration then asks for
/// the caller's account to be linked, which the community confirms ([`decide_link`]) — a name
/// and an ID number someone else may know are not enough to take over a record and its points.
pub async fn register(
    db: &Db,
    actor: Actor<'_>,
    resident: &ResidentRow,
    user: Option<Uuid>,
    via: RegisteredVia,
    team: Option<Uuid>,
) -> AppResult<(VolunteerRow, Registered)> {
    if let Some(existing) = volunteer_of_resident(db, &resident.district, resident.id).await? {
        let mut tx = db.begin().await?;
        let mut outcome = Registered::Existing;
        // What the audit row says, written last: the chain's head is locked after every other
        // row this transaction touches (the lock order every writer keeps).
        let mut entry: Option<(&str, &str, String, serde_json::Value)> = None;
        if let (Some(u), None) = (user, existing.user_id)
            && existing.link_requested_by == Some(u)
        {
            // Asked already: it still waits, and nothing more is written.
            outcome = Registered::LinkRequested;
        } else if let (Some(u), None) = (user, existing.user_id) {
            let asked = on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE volunteers SET link_requested_by = $1, link_requested_at = $2 \
                 WHERE id = $3 AND user_id IS NULL AND link_requested_by IS NULL"
            )
            .bind(u)
            .bind(now_ms())
            .bind(existing.id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            if asked != 1 {
                return Err(AppError::conflict(
                    "link_pending",
                    "已有其他账号申请关联该志愿者档案，请到所在社区核实",
                ));
            }
            entry = Some(("volunteer.link_request", "volunteer", existing.id.to_string(), json!({"user": u})));
            outcome = Registered::LinkRequested;
        } else if user.is_some() && existing.user_id != user {
            return Err(AppError::conflict("volunteer_linked", "该居民的志愿者档案已关联其他账号"));
        }
        // Joining a team waits with the link: the record is not theirs until it is confirmed.
        if let Some(t) = team.filter(|_| outcome != Registered::LinkRequested)
            && add_member_in(&mut tx, &resident.district, t, existing.id).await?
        {
            entry = Some((
                "volunteer.team_join",
                "volunteer_team",
                t.to_string(),
                json!({"volunteer": existing.id}),
            ));
        }
        if let Some((action, target_kind, target_id, detail)) = entry {
            audit::record(
                &mut tx,
                actor,
                audit::Entry {
                    district: &resident.district,
                    action,
                    target_kind,
                    target_id: &target_id,
                    reason: "",
                    detail,
                },
            )
            .await?;
        }
        tx.commit().await?;
        let v = volunteer(db, existing.id).await?.ok_or_else(AppError::internal)?;
        return Ok((v, outcome));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    match insert_volunteer(&mut tx, id, resident, user, via, now_ms()).await {
        Ok(()) => {}
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(AppError::conflict(
                "already_volunteer",
                "该居民已登记为志愿者，或该账号已关联志愿者",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(t) = team {
        add_member_in(&mut tx, &resident.district, t, id).await?;
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &resident.district,
            action: "volunteer.register",
            target_kind: "volunteer",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"resident": resident.id, "via": via.as_str(), "unit": via.unit(), "team": team}),
        },
    )
    .await?;
    tx.commit().await?;
    let v = volunteer(db, id).await?.ok_or_else(AppError::internal)?;
    Ok((v, Registered::Created))
}

/// The community confirms (or refuses) an account's request to be linked to a volunteer record.
pub async fn decide_link(db: &Db, actor: Actor<'_>, v: &VolunteerRow, approve: bool) -> AppResult<VolunteerRow> {
    let Some(user) = v.link_requested_by else {
        return Err(AppError::conflict("no_link_request", "该志愿者没有待核实的账号关联申请"));
    };
    let mut tx = db.begin().await?;
    let sql = if approve {
        "UPDATE volunteers SET user_id = link_requested_by, link_requested_by = NULL, link_requested_at = NULL \
         WHERE id = $1 AND user_id IS NULL AND link_requested_by = $2"
    } else {
        "UPDATE volunteers SET link_requested_by = NULL, link_requested_at = NULL WHERE id = $1 AND link_requested_by = $2"
    };
    let changed = on_tx!(&mut tx, |c| sqlx::query(sql)
        .bind(v.id)
        .bind(user)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
    let changed = match changed {
        Ok(n) => n,
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(AppError::conflict("volunteer_linked", "该账号已关联其他志愿者档案"));
        }
        Err(e) => return Err(e.into()),
    };
    if changed != 1 {
        return Err(AppError::conflict("no_link_request", "该申请已被处理，请刷新页面"));
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &v.district,
            action: if approve { "volunteer.link" } else { "volunteer.link_refuse" },
            target_kind: "volunteer",
            target_id: &v.id.to_string(),
            reason: "",
            detail: json!({"user": user}),
        },
    )
    .await?;
    tx.commit().await?;
    volunteer(db, v.id).await?.ok_or_else(AppError::internal)
}

/// The volunteer record this account asked to be linked to, while the request waits.
pub async fn link_requested_by_user(db: &Db, user: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.link_requested_by = $1"
    )))
    .bind(user)
    .fetch_optional(p)
    .await)
}

/// Requests waiting in a grid subtree, oldest first.
pub async fn link_requests(db: &Db, district: &str, grid: &str, limit: i64) -> sqlx::Result<Vec<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.district = $1 AND v.link_requested_by IS NOT NULL \
         AND v.grid_code >= $2 AND v.grid_code < $3 ORDER BY v.link_requested_at, v.id LIMIT $4"
    )))
    .bind(district)
    .bind(grid)
    .bind(crate::grid::rules::subtree_upper(grid))
    .bind(limit)
    .fetch_all(p)
    .await)
}
