//! Who may do what with volunteers, teams, activities and shops, and loading them within the
//! caller's reach: shared by the API and the pages.

use super::VolunteersState;
use super::activities::{self, ActivityRow};
use super::shops::{self, ShopRow};
use super::store::{self, TeamRow, VolunteerRow};
use crate::auth::{Capability, Principal, Role};
use crate::error::{AppError, AppResult};
use crate::registry::residents::ResidentRow;
use axum::http::StatusCode;
use uuid::Uuid;

/// Refuse with 404 when the caller could act on such things somewhere, else 403.
pub fn refuse(p: &Principal, cap: Capability, what: &str) -> AppError {
    let volunteerish = p.posts.iter().any(|x| matches!(x.role, Role::Resident | Role::ShopKeeper));
    if p.has(cap) || volunteerish {
        AppError::not_found(what)
    } else {
        AppError::forbidden()
    }
}

/// The caller's own volunteer record (403 `not_a_volunteer` when there is none).
pub async fn my_volunteer(s: &VolunteersState, p: &Principal) -> AppResult<VolunteerRow> {
    store::volunteer_of_user(&s.db, p.user_id)
        .await?
        .filter(|v| v.district == p.district)
        .ok_or_else(|| {
            AppError::new(
                StatusCode::FORBIDDEN,
                "not_a_volunteer",
                "您的账号尚未登记为志愿者（可通过 POST /api/v1/volunteers 自行登记）",
            )
        })
}

/// A volunteer the caller may see: staff with `ReadVolunteers` over their home, or themselves.
pub async fn visible_volunteer(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<VolunteerRow> {
    let v = store::volunteer(&s.db, id).await?.filter(|v| v.district == p.district);
    match v {
        Some(v) if p.can(Capability::ReadVolunteers, &v.grid_code) || v.user_id == Some(p.user_id) => Ok(v),
        _ => Err(refuse(p, Capability::ReadVolunteers, "志愿者")),
    }
}

/// The grid a list is scoped to: the one asked for (if the caller reaches it), else the caller's widest.
pub async fn scope(s: &VolunteersState, p: &Principal, grid: Option<&str>, cap: Capability) -> AppResult<String> {
    match grid.filter(|g| !g.is_empty()) {
        Some(g) => Ok(crate::grid::service::load(&s.db, p, g, cap).await?.code),
        None => p.roots(cap).into_iter().next().ok_or_else(AppError::forbidden),
    }
}

pub fn is_keeper_of(p: &Principal, shop: Uuid) -> bool {
    p.posts.iter().any(|x| x.role == Role::ShopKeeper && x.unit_id == Some(shop))
}

pub fn may_manage_shop(p: &Principal, shop: &ShopRow) -> bool {
    is_keeper_of(p, shop.id) || p.can(Capability::ManageShops, &shop.grid_code)
}

pub async fn load_shop(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<ShopRow> {
    shops::shop(&s.db, id)
        .await?
        .filter(|x| x.district == p.district)
        .ok_or_else(|| AppError::not_found("爱心超市或商家"))
}

pub async fn load_team(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<TeamRow> {
    store::team(&s.db, id)
        .await?
        .filter(|t| t.district == p.district)
        .ok_or_else(|| AppError::not_found("志愿服务队"))
}

pub async fn load_activity(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<ActivityRow> {
    activities::get(&s.db, id)
        .await?
        .filter(|a| a.district == p.district)
        .ok_or_else(|| AppError::not_found("志愿活动"))
}

/// Is the caller the leader of this team (through their volunteer record)?
pub async fn leads(s: &VolunteersState, p: &Principal, team: &TeamRow) -> AppResult<bool> {
    let Some(l) = team.leader_id else { return Ok(false) };
    Ok(store::volunteer(&s.db, l).await?.is_some_and(|v| v.user_id == Some(p.user_id)))
}

/// Community staff over the activity's grid, the leader of its team, or whoever created it.
pub async fn may_organise(s: &VolunteersState, p: &Principal, a: &ActivityRow) -> AppResult<bool> {
    if p.can(Capability::ManageVolunteers, &a.grid_code) || a.created_by == Some(p.user_id) {
        return Ok(true);
    }
    match a.team_id {
        Some(t) => match store::team(&s.db, t).await? {
            Some(team) => leads(s, p, &team).await,
            None => Ok(false),
        },
        None => Ok(false),
    }
}

/// Wrong check-in codes (签到码) per volunteer: six characters could be guessed without a limit,
/// so a few free tries, then waits that double up to a quarter of an hour.
pub const CODE_POLICY: crate::web::throttle::Policy = crate::web::throttle::Policy {
    free: 5,
    first_block: std::time::Duration::from_secs(60),
    max_block: std::time::Duration::from_secs(900),
    forget_after: std::time::Duration::from_secs(1800),
    capacity: 10_000,
};

/// The check-in code throttle of one server process.
pub struct CodeGuard(crate::web::throttle::Throttle<Uuid>);

impl Default for CodeGuard {
    fn default() -> Self {
        CodeGuard(crate::web::throttle::Throttle::new(CODE_POLICY))
    }
}

impl CodeGuard {
    /// Try `f` (a check-in or check-out with a code) unless this volunteer is waiting out wrong
    /// codes; a wrong code counts, anything else gives the try back.
    pub async fn guarded<T>(&self, v: &VolunteerRow, f: impl std::future::Future<Output = AppResult<T>>) -> AppResult<T> {
        if let Err(wait) = self.0.attempt(&v.id) {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            return Err(AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_code_attempts",
                format!("签到码输错次数过多，请{minutes}分钟后再试，或请组织者登记"),
            ));
        }
        let r = f.await;
        match &r {
            Ok(_) => {
                self.0.clear(&v.id);
            }
            Err(e) if e.code == "wrong_code" => {}
            Err(_) => self.0.forgive(&v.id),
        }
        r
    }
}

/// Whether the organiser `p` may record `v`'s attendance at `a`: never their own (no one credits
/// themself), and only someone who signed up for it, lives in the activity's community, or is in
/// the organiser's own staff scope — not volunteers anywhere in the district.
pub async fn may_credit(s: &VolunteersState, p: &Principal, a: &ActivityRow, v: &VolunteerRow) -> AppResult<()> {
    if v.user_id == Some(p.user_id) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "self_credit",
            "不能为自己登记服务时长：请本人签到签退，或由其他组织者登记",
        ));
    }
    let community = &a.grid_code[..crate::grid::rules::code_len(3).min(a.grid_code.len())];
    let near = v.grid_code.starts_with(community) || p.can(Capability::ManageVolunteers, &v.grid_code);
    if near || activities::signup(&s.db, a.id, v.id).await?.is_some() {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::FORBIDDEN,
        "volunteer_out_of_scope",
        "只能为本社区的志愿者或已报名本活动的志愿者登记出勤",
    ))
}

/// An RFC 3339 instant, or a China-time date (its midnight).
pub fn parse_time(t: &str) -> AppResult<i64> {
    crate::cases::service::parse_day_or_instant(t.trim())
}

/// 网上注册: the resident of the caller's building with this ID number and name (the caller holds a
/// resident post there). Shared by the API and the volunteer page.
pub async fn resident_of_self(s: &VolunteersState, p: &Principal, id_number: &str, name: &str) -> AppResult<ResidentRow> {
    let homes: Vec<&str> = p
        .posts
        .iter()
        .filter(|x| x.role == Role::Resident)
        .filter_map(|x| x.grid_code.as_deref())
        .collect();
    if homes.is_empty() {
        return Err(AppError::forbidden());
    }
    let name = name.trim();
    store::resident_by_id_number(&s.db, &p.district, &id_number.trim().to_ascii_uppercase())
        .await?
        .filter(|r| r.name == name && homes.iter().any(|h| r.grid_code.starts_with(h)))
        .ok_or_else(|| AppError::not_found("与该身份证号和姓名相符的本楼居民"))
}

/// The grid an activity is organised in: a team leader organises inside the team's grid, staff
/// inside theirs (the API and the console page both ask here).
pub async fn activity_grid(s: &VolunteersState, p: &Principal, team: Option<&TeamRow>, wanted: Option<&str>) -> AppResult<String> {
    match (team, wanted) {
        (Some(t), Some(g)) if g.starts_with(&t.grid_code) && leads(s, p, t).await? => Ok(crate::grid::store::get(&s.db, g)
            .await?
            .filter(|x| x.district == p.district)
            .ok_or_else(|| AppError::not_found("网格"))?
            .code),
        _ => scope(s, p, wanted, Capability::ManageVolunteers).await,
    }
}

/// A subtree's volunteering on one day, for the command centre's panel.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct VolunteerDay {
    /// Volunteers of the subtree who checked in to an activity starting that day.
    pub active: i64,
    /// Points earned by the subtree's volunteers that day (corrections and redemptions not counted).
    pub points: i64,
}

/// Volunteering in `grid`'s subtree between `from_ms` and `to_ms` (one China day): read from the
/// day's activities and transactions by their time indexes, never the whole ledger.
pub async fn day_figures(db: &crate::db::Db, district: &str, grid: &str, from_ms: i64, to_ms: i64) -> sqlx::Result<VolunteerDay> {
    let upper = crate::grid::rules::subtree_upper(grid);
    let active_sql = "SELECT COUNT(DISTINCT s.volunteer_id) FROM volunteer_activities a \
        JOIN activity_signups s ON s.activity_id = a.id JOIN volunteers v ON v.id = s.volunteer_id \
        WHERE a.district = $1 AND a.starts_at >= $2 AND a.starts_at < $3 AND s.checked_in_at IS NOT NULL \
        AND v.grid_code >= $4 AND v.grid_code < $5";
    let points_sql = "SELECT CAST(COALESCE(SUM(pp.amount), 0) AS BIGINT) FROM points_transactions t \
        JOIN points_postings pp ON pp.transaction_id = t.id \
        JOIN points_accounts acc ON acc.id = pp.account_id AND acc.kind = 'volunteer' \
        JOIN volunteers v ON v.id = acc.owner_id \
        WHERE t.district = $1 AND t.at_ms >= $2 AND t.at_ms < $3 AND t.kind = 'earn' AND v.grid_code >= $4 AND v.grid_code < $5";
    crate::on_pool!(db, |p| {
        let active: i64 = sqlx::query_scalar(active_sql)
            .bind(district)
            .bind(from_ms)
            .bind(to_ms)
            .bind(grid)
            .bind(upper.as_str())
            .fetch_one(p)
            .await?;
        let points: i64 = sqlx::query_scalar(points_sql)
            .bind(district)
            .bind(from_ms)
            .bind(to_ms)
            .bind(grid)
            .bind(upper.as_str())
            .fetch_one(p)
            .await?;
        Ok(VolunteerDay { active, points })
    })
}
