//! Activities (一周一活动) and monthly themes (一月一主题): sign-up, check-in and check-out by the
//! activity's code, attendance marked by the organiser; hours and points credited in one transaction.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::rules;
use super::store::{self, VolunteerRow};
use crate::audit::{self, Actor};
use crate::db::group::GroupCommit;
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ActivityRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub team_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub signed_up: i64,
    pub code: String,
    pub status: String,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
}

const ACT_COLS: &str = "id, district, grid_code, team_id, title, description, place, starts_at, ends_at, capacity, signed_up, code, status, created_by, created_at";

pub struct NewActivityRow<'a> {
    pub district: &'a str,
    pub grid_code: &'a str,
    pub team_id: Option<Uuid>,
    pub title: &'a str,
    pub description: &'a str,
    pub place: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub created_by: Option<Uuid>,
}

/// Check an activity's fields (shared by the API and a loader).
pub fn check_activity(a: &NewActivityRow<'_>) -> AppResult<()> {
    let title = a.title.trim().chars().count();
    if !(2..=100).contains(&title) {
        return Err(AppError::invalid("invalid_title", "活动名称应为2至100字"));
    }
    if a.place.trim().is_empty() || a.place.chars().count() > 200 {
        return Err(AppError::invalid("invalid_place", "请填写活动地点（不超过200字）"));
    }
    if a.ends_at <= a.starts_at || a.ends_at - a.starts_at > 24 * 3_600_000 {
        return Err(AppError::invalid("invalid_time", "结束时间应晚于开始时间，且活动不超过24小时"));
    }
    if !(1..=10_000).contains(&a.capacity) {
        return Err(AppError::invalid("invalid_capacity", "人数上限应为1至10000"));
    }
    Ok(())
}

/// Insert an activity inside `tx` with a fresh check-in code (bulk-friendly; no audit row).
pub async fn insert_activity(tx: &mut Tx, id: Uuid, a: &NewActivityRow<'_>, code: &str, at_ms: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO volunteer_activities (id, district, grid_code, team_id, title, description, place, starts_at, ends_at, capacity, signed_up, code, status, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, 'open', $12, $13)"
    )
    .bind(id)
    .bind(a.district)
    .bind(a.grid_code)
    .bind(a.team_id)
    .bind(a.title.trim())
    .bind(a.description.trim())
    .bind(a.place.trim())
    .bind(a.starts_at)
    .bind(a.ends_at)
    .bind(a.capacity)
    .bind(code)
    .bind(a.created_by)
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn create(db: &Db, actor: Actor<'_>, a: &NewActivityRow<'_>) -> AppResult<ActivityRow> {
    check_activity(a)?;
    if a.starts_at < now_ms() - rules::MAX_BACKDATE_MS {
        return Err(AppError::invalid(
            "backdated",
            "活动开始时间不能早于24小时前；更早的服务不能再新建活动登记",
        ));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    insert_activity(&mut tx, id, a, &rules::short_code(6), now_ms()).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: a.district,
            action: "volunteer.activity_create",
            target_kind: "volunteer_activity",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"title": a.title.trim(), "grid": a.grid_code, "team": a.team_id}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or_else(AppError::internal)
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<ActivityRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ActivityRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ACT_COLS} FROM volunteer_activities WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

#[derive(Default)]
pub struct ActivityFilter<'a> {
    pub district: &'a str,
    pub grid: Option<&'a str>,
    pub team: Option<Uuid>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// Activities in a grid subtree, soonest first.
pub async fn list(db: &Db, f: &ActivityFilter<'_>) -> sqlx::Result<(Vec<ActivityRow>, i64)> {
    let upper = f.grid.map(subtree_upper);
    let where_ = "district = $1 AND ($2 IS NULL OR (grid_code >= $2 AND grid_code < $3)) AND ($4 IS NULL OR team_id = $4) \
                  AND ($5 IS NULL OR ends_at >= $5) AND ($6 IS NULL OR starts_at < $6)";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, ActivityRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {ACT_COLS} FROM volunteer_activities WHERE {where_} ORDER BY starts_at, id LIMIT $7 OFFSET $8"
        )))
        .bind(f.district)
        .bind(f.grid)
        .bind(&upper)
        .bind(f.team)
        .bind(f.from)
        .bind(f.to)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM volunteer_activities WHERE {where_}"
        )))
        .bind(f.district)
        .bind(f.grid)
        .bind(&upper)
        .bind(f.team)
        .bind(f.from)
        .bind(f.to)
        .fetch_one(p)
        .await?;
        Ok((rows, total))
    })
}

#[derive(sqlx::FromRow, Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SignupRow {
    pub activity_id: Uuid,
    pub volunteer_id: Uuid,
    /// signed_up, checked_in, attended, cancelled
    pub status: String,
    pub signed_up_at: i64,
    pub checked_in_at: Option<i64>,
    pub checked_out_at: Option<i64>,
    pub minutes: i64,
    pub points: i64,
    pub transaction_id: Option<Uuid>,
}

/// What a volunteer is told when a check-out credited no time: the attendance is recorded, but
/// nothing is paid and it stays off the 志愿服务证明.
pub const NO_TIME_CREDITED: &str = "已签退，但从签到到签退没有落在活动安排的时段内（或不足1分钟），本次未记服务时长和积分，也不计入志愿服务证明。如有疑问请联系活动组织者。";

impl SignupRow {
    /// Service time was credited: attended, for at least a minute.
    pub fn credited(&self) -> bool {
        self.status == "attended" && self.minutes > 0
    }

    /// Checked out (or marked) with nothing credited.
    pub fn uncredited(&self) -> bool {
        self.status == "attended" && self.minutes == 0
    }
}

const SIGNUP_COLS: &str = "activity_id, volunteer_id, status, signed_up_at, checked_in_at, checked_out_at, minutes, points, transaction_id";

pub async fn signup(db: &Db, activity: Uuid, volunteer: Uuid) -> sqlx::Result<Option<SignupRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, SignupRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SIGNUP_COLS} FROM activity_signups WHERE activity_id = $1 AND volunteer_id = $2"
    )))
    .bind(activity)
    .bind(volunteer)
    .fetch_optional(p)
    .await)
}

async fn signup_in(tx: &mut Tx, activity: Uuid, volunteer: Uuid) -> sqlx::Result<Option<SignupRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, SignupRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SIGNUP_COLS} FROM activity_signups WHERE activity_id = $1 AND volunteer_id = $2"
    )))
    .bind(activity)
    .bind(volunteer)
    .fetch_optional(c)
    .await)
}

/// Everyone signed up for an activity, in sign-up order, with their names.
pub async fn signups(db: &Db, activity: Uuid) -> sqlx::Result<Vec<(SignupRow, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        s: SignupRow,
        name: String,
    }
    let rows = on_pool!(db, |p| {
        sqlx::query_as::<_, Row>(
        "SELECT s.activity_id, s.volunteer_id, s.status, s.signed_up_at, s.checked_in_at, s.checked_out_at, s.minutes, s.points, s.transaction_id, v.name \
         FROM activity_signups s JOIN volunteers v ON v.id = s.volunteer_id WHERE s.activity_id = $1 ORDER BY s.signed_up_at, v.id"
    )
    .bind(activity)
    .fetch_all(p)
    .await
    })?;
    Ok(rows.into_iter().map(|r| (r.s, r.name)).collect())
}

fn open_or_refuse(a: &ActivityRow) -> AppResult<()> {
    if a.status != "open" {
        return Err(AppError::conflict("activity_cancelled", "活动已取消"));
    }
    Ok(())
}

/// Take a place (inside `tx`): refused when full. Returns false if already signed up.
async fn take_place(tx: &mut Tx, a: &ActivityRow, volunteer: Uuid, at: i64, status: &str) -> AppResult<bool> {
    if signup_in(tx, a.id, volunteer).await?.is_some() {
        return Ok(false);
    }
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE volunteer_activities SET signed_up = signed_up + 1 WHERE id = $1 AND signed_up < capacity"
    )
    .bind(a.id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::conflict("activity_full", "活动报名人数已满"));
    }
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO activity_signups (activity_id, volunteer_id, district, status, signed_up_at, checked_in_at, minutes, points) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, 0)"
    )
    .bind(a.id)
    .bind(volunteer)
    .bind(&a.district)
    .bind(status)
    .bind(at)
    .bind(if status == "checked_in" { Some(at) } else { None })
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(true)
}

/// Sign up for an activity (before it ends, while places are left).
pub async fn sign_up(db: &Db, actor: Actor<'_>, a: &ActivityRow, v: &VolunteerRow) -> AppResult<SignupRow> {
    open_or_refuse(a)?;
    let now = now_ms();
    if now >= a.ends_at {
        return Err(AppError::conflict("activity_over", "活动已结束"));
    }
    let mut tx = db.begin().await?;
    if !take_place(&mut tx, a, v.id, now, "signed_up").await? {
        return Err(AppError::conflict("already_signed_up", "您已报名该活动"));
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &a.district,
            action: "volunteer.sign_up",
            target_kind: "volunteer_activity",
            target_id: &a.id.to_string(),
            reason: "",
            detail: json!({"volunteer": v.id}),
        },
    )
    .await?;
    tx.commit().await?;
    signup(db, a.id, v.id).await?.ok_or_else(AppError::internal)
}

fn check_code(a: &ActivityRow, code: &str) -> AppResult<()> {
    if !code.trim().eq_ignore_ascii_case(&a.code) {
        return Err(AppError::invalid("wrong_code", "签到码不正确"));
    }
    Ok(())
}

/// Check in with the activity's code, from 2 hours before the start until the end. A volunteer
/// who did not sign up takes a place if one is left.
pub async fn check_in(
    db: &Db,
    writer: &GroupCommit,
    actor: Actor<'_>,
    a: &ActivityRow,
    v: &VolunteerRow,
    code: &str,
) -> AppResult<SignupRow> {
    open_or_refuse(a)?;
    check_code(a, code)?;
    let now = now_ms();
    if now < a.starts_at - 2 * 3_600_000 || now >= a.ends_at {
        return Err(AppError::conflict("not_check_in_time", "不在签到时间内（活动开始前2小时至结束）"));
    }
    // Volunteers check in together as an activity starts: each check-in takes a savepoint in the
    // group commit's open batch and answers once that batch has committed.
    let mut slot = writer.join().await?;
    slot.savepoint().await?;
    let written = check_in_in(slot.tx(), actor, a, v, now).await;
    let ticket = slot.finish(written.is_ok()).await?;
    written?;
    ticket.committed().await?;
    signup(db, a.id, v.id).await?.ok_or_else(AppError::internal)
}

/// The check-in's writes, in the caller's savepoint.
async fn check_in_in(tx: &mut Tx, actor: Actor<'_>, a: &ActivityRow, v: &VolunteerRow, now: i64) -> AppResult<()> {
    if !take_place(&mut *tx, a, v.id, now, "checked_in").await? {
        let n = on_tx!(&mut *tx, |c| {
            sqlx::query(
            "UPDATE activity_signups SET status = 'checked_in', checked_in_at = $1 WHERE activity_id = $2 AND volunteer_id = $3 AND status = 'signed_up'"
        )
        .bind(now)
        .bind(a.id)
        .bind(v.id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n != 1 {
            return Err(AppError::conflict("already_checked_in", "您已签到"));
        }
    }
    audit::record(
        &mut *tx,
        actor,
        audit::Entry {
            district: &a.district,
            action: "volunteer.check_in",
            target_kind: "volunteer_activity",
            target_id: &a.id.to_string(),
            reason: "",
            detail: json!({"volunteer": v.id}),
        },
    )
    .await?;
    Ok(())
}

/// Credit `minutes` of service inside `tx`: the sign-up becomes `attended`, the volunteer's
/// minutes grow and the district's `volunteer_hour` rule is paid from the issuing account.
/// The attendance is credited once (`attendance:ACTIVITY:VOLUNTEER`).
/// Minutes already credited to a volunteer for activities starting on the China day of `at`.
async fn credited_on_day_in(tx: &mut Tx, volunteer: Uuid, at: i64) -> sqlx::Result<i64> {
    let (from, to) = rules::china_day(at);
    on_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        "SELECT CAST(COALESCE(SUM(s.minutes), 0) AS BIGINT) FROM activity_signups s JOIN volunteer_activities a ON a.id = s.activity_id \
         WHERE s.volunteer_id = $1 AND s.status = 'attended' AND a.starts_at >= $2 AND a.starts_at < $3"
    )
    .bind(volunteer)
    .bind(from)
    .bind(to)
    .fetch_one(c)
    .await)
}

/// Credit `minutes` (already cut to the day's cap by the caller) with their points.
async fn credit_in(tx: &mut Tx, actor: &Actor<'_>, a: &ActivityRow, volunteer: Uuid, minutes: i64, out_at: Option<i64>) -> AppResult<()> {
    let per_hour = store::rule_points_in_tx(tx, &a.district, rules::VOLUNTEER_HOUR).await?;
    let points = rules::points_for_minutes(minutes, per_hour);
    // The sign-up turns `attended` once; a second credit stops here.
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE activity_signups SET status = 'attended', checked_out_at = COALESCE($1, checked_out_at), minutes = $2, points = $3 \
         WHERE activity_id = $4 AND volunteer_id = $5 AND status <> 'attended'"
    )
    .bind(out_at)
    .bind(minutes)
    .bind(points)
    .bind(a.id)
    .bind(volunteer)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::conflict("already_credited", "该次服务时长已记录"));
    }
    let source = a.id.to_string();
    let key = format!("attendance:{}:{}", a.id, volunteer);
    let txid = store::award_in(
        tx,
        actor,
        &a.district,
        volunteer,
        rules::VOLUNTEER_HOUR,
        points,
        ("activity", &source),
        Some(&key),
    )
    .await?;
    on_tx!(tx, |c| sqlx::query(
        "UPDATE activity_signups SET transaction_id = $1 WHERE activity_id = $2 AND volunteer_id = $3"
    )
    .bind(txid)
    .bind(a.id)
    .bind(volunteer)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| sqlx::query("UPDATE volunteers SET minutes = minutes + $1 WHERE id = $2")
        .bind(minutes)
        .bind(volunteer)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Check out with the code: the minutes between check-in and check-out inside the scheduled
/// window are credited, with their points, in one transaction.
pub async fn check_out(db: &Db, actor: Actor<'_>, a: &ActivityRow, v: &VolunteerRow, code: &str) -> AppResult<SignupRow> {
    check_code(a, code)?;
    let s = signup(db, a.id, v.id).await?;
    let Some(checked_in) = s.as_ref().filter(|s| s.status == "checked_in").and_then(|s| s.checked_in_at) else {
        return Err(match s.map(|s| s.status) {
            Some(st) if st == "attended" => AppError::conflict("already_checked_out", "您已签退，服务时长已记录"),
            _ => AppError::conflict("not_checked_in", "请先签到"),
        });
    };
    let now = now_ms();
    let served = rules::credited_minutes(a.starts_at, a.ends_at, checked_in, now);
    let mut tx = db.begin().await?;
    let minutes = rules::within_daily_cap(credited_on_day_in(&mut tx, v.id, a.starts_at).await?, served);
    credit_in(&mut tx, &actor, a, v.id, minutes, Some(now)).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &a.district,
            action: "volunteer.check_out",
            target_kind: "volunteer_activity",
            target_id: &a.id.to_string(),
            reason: "",
            detail: json!({"volunteer": v.id, "minutes": minutes}),
        },
    )
    .await?;
    tx.commit().await?;
    signup(db, a.id, v.id).await?.ok_or_else(AppError::internal)
}

/// The organiser marks a volunteer as having served `minutes` (at most the scheduled length;
/// the whole activity when `None`). Signs them up if needed, even when the list is full.
pub async fn mark_attendance(db: &Db, actor: Actor<'_>, a: &ActivityRow, v: &VolunteerRow, minutes: Option<i64>) -> AppResult<SignupRow> {
    open_or_refuse(a)?;
    let scheduled = rules::scheduled_minutes(a.starts_at, a.ends_at);
    let minutes = minutes.unwrap_or(scheduled);
    if !(0..=scheduled).contains(&minutes) {
        return Err(AppError::invalid(
            "invalid_minutes",
            format!("服务时长应为0至{scheduled}分钟（活动安排时长）"),
        ));
    }
    if now_ms() < a.starts_at {
        return Err(AppError::conflict("activity_not_started", "活动尚未开始，不能登记服务时长"));
    }
    let mut tx = db.begin().await?;
    if signup_in(&mut tx, a.id, v.id).await?.is_none() {
        // The organiser may add someone who came without signing up: the place count follows.
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE volunteer_activities SET signed_up = signed_up + 1, capacity = CASE WHEN signed_up + 1 > capacity THEN signed_up + 1 ELSE capacity END WHERE id = $1"
        )
        .bind(a.id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO activity_signups (activity_id, volunteer_id, district, status, signed_up_at, minutes, points) VALUES ($1, $2, $3, 'signed_up', $4, 0, 0)"
        )
        .bind(a.id)
        .bind(v.id)
        .bind(&a.district)
        .bind(now_ms())
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    let already = credited_on_day_in(&mut tx, v.id, a.starts_at).await?;
    if rules::within_daily_cap(already, minutes) < minutes {
        return Err(AppError::conflict(
            "daily_cap",
            format!(
                "该志愿者当天已记服务{}小时{}分钟，每人每天最多记{}小时",
                already / 60,
                already % 60,
                rules::MAX_MINUTES_PER_DAY / 60
            ),
        ));
    }
    credit_in(&mut tx, &actor, a, v.id, minutes, None).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &a.district,
            action: "volunteer.attendance",
            target_kind: "volunteer_activity",
            target_id: &a.id.to_string(),
            reason: "",
            detail: json!({"volunteer": v.id, "minutes": minutes}),
        },
    )
    .await?;
    tx.commit().await?;
    signup(db, a.id, v.id).await?.ok_or_else(AppError::internal)
}

// ---------------------------------------------------------------- monthly themes

#[derive(sqlx::FromRow, Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThemeRow {
    pub grid_code: String,
    /// YYYY-MM
    pub month: String,
    pub title: String,
}

pub fn valid_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && m[..4].parse::<u32>().is_ok_and(|y| (2000..=2100).contains(&y))
        && m[5..].parse::<u32>().is_ok_and(|x| (1..=12).contains(&x))
}

/// Set a grid node's theme for a month (replacing any earlier one).
pub async fn set_theme(db: &Db, actor: Actor<'_>, district: &str, grid_code: &str, month: &str, title: &str) -> AppResult<ThemeRow> {
    if !valid_month(month) {
        return Err(AppError::invalid("invalid_month", "月份格式应为 YYYY-MM"));
    }
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err(AppError::invalid("invalid_title", "主题不能为空且不超过100字"));
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO activity_themes (district, grid_code, month, title, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (grid_code, month) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at"
    )
    .bind(district)
    .bind(grid_code)
    .bind(month)
    .bind(title)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "volunteer.theme",
            target_kind: "grid",
            target_id: grid_code,
            reason: "",
            detail: json!({"month": month, "title": title}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ThemeRow {
        grid_code: grid_code.to_string(),
        month: month.to_string(),
        title: title.to_string(),
    })
}

/// Themes of a grid node and its ancestors (a community sees the street's and the district's).
pub async fn themes(db: &Db, district: &str, grid_code: &str, month: Option<&str>) -> sqlx::Result<Vec<ThemeRow>> {
    let ancestors: Vec<String> = [6usize, 9, 12, 15, 18]
        .iter()
        .filter(|n| **n <= grid_code.len())
        .map(|n| grid_code[..*n].to_string())
        .collect();
    let mut out = Vec::new();
    for g in ancestors {
        let rows = on_pool!(db, |p| {
            sqlx::query_as::<_, ThemeRow>(
            "SELECT grid_code, month, title FROM activity_themes WHERE district = $1 AND grid_code = $2 AND ($3 IS NULL OR month = $3) ORDER BY month DESC LIMIT 24"
        )
        .bind(district)
        .bind(&g)
        .bind(month)
        .fetch_all(p)
        .await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

// ---------------------------------------------------------------- lookups for the pages

/// Open activities of the district whose check-in code is `code` and whose check-in window
/// (2 hours before the start until the end) holds `now`: what a volunteer typing a code means.
pub async fn open_with_code(db: &Db, district: &str, code: &str, now: i64) -> sqlx::Result<Vec<ActivityRow>> {
    let code = code.trim().to_ascii_uppercase();
    on_pool!(db, |p| sqlx::query_as::<_, ActivityRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ACT_COLS} FROM volunteer_activities WHERE district = $1 AND code = $2 AND status = 'open' \
         AND starts_at - 7200000 <= $3 AND ends_at > $3 ORDER BY starts_at, id LIMIT 10"
    )))
    .bind(district)
    .bind(&code)
    .bind(now)
    .fetch_all(p)
    .await)
}

/// A volunteer's sign-ups with their activities, newest activity first; `attended_only` keeps
/// the service actually credited (the certificate): attended, for at least a minute.
pub async fn signups_of_volunteer(
    db: &Db,
    volunteer: Uuid,
    attended_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<(SignupRow, ActivityRow)>> {
    let filter = "s.volunteer_id = $1 AND ($2 = FALSE OR (s.status = 'attended' AND s.minutes > 0))";
    let (rows, acts) = on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, SignupRow>(sqlx::AssertSqlSafe(format!(
            "SELECT s.activity_id, s.volunteer_id, s.status, s.signed_up_at, s.checked_in_at, s.checked_out_at, s.minutes, s.points, s.transaction_id \
             FROM activity_signups s JOIN volunteer_activities a ON a.id = s.activity_id \
             WHERE {filter} ORDER BY a.starts_at DESC, a.id LIMIT $3"
        )))
        .bind(volunteer)
        .bind(attended_only)
        .bind(limit)
        .fetch_all(p)
        .await?;
        // The activities in one query rather than one each (a year of service is ~50 rows,
        // a certificate up to 1,000).
        let acts = sqlx::query_as::<_, ActivityRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {ACT_COLS} FROM volunteer_activities WHERE id IN (SELECT s.activity_id FROM activity_signups s WHERE {filter})"
        )))
        .bind(volunteer)
        .bind(attended_only)
        .fetch_all(p)
        .await?;
        Ok::<_, sqlx::Error>((rows, acts))
    })?;
    let acts: std::collections::HashMap<Uuid, ActivityRow> = acts.into_iter().map(|a| (a.id, a)).collect();
    Ok(rows
        .into_iter()
        .filter_map(|s| acts.get(&s.activity_id).cloned().map(|a| (s, a)))
        .collect())
}

/// How many activities a volunteer has been credited for (time served, as on the certificate).
pub async fn attended_count(db: &Db, volunteer: Uuid) -> sqlx::Result<i64> {
    on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM activity_signups WHERE volunteer_id = $1 AND status = 'attended' AND minutes > 0"
    )
    .bind(volunteer)
    .fetch_one(p)
    .await)
}
