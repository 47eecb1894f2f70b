//! Volunteer and points API: volunteers, teams, activities and attendance, points rules, the
//! ledger and its audit, shops, catalogue, redemption codes and redemptions.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::VolunteersState;
use super::activities::{self, ActivityRow, NewActivityRow, SignupRow, ThemeRow};
use super::ledger::AccountKind;
use super::rules;
use super::shops::{self, ItemRow, ItemUpdate, NewItemRow, NewShopRow, ShopRow};
use super::store::{self, Correction, PostingRow, RegisteredVia, RuleRow, SummaryBy, SummaryRow, TeamRow, VolunteerRow};
use crate::auth::{Capability, Principal, Role};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::registry::residents::ResidentRow;
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

// ---------------------------------------------------------------- who may

/// Refuse with 404 when the caller could act on such things somewhere, else 403.
pub(crate) fn refuse(p: &Principal, cap: Capability, what: &str) -> AppError {
    let volunteerish = p.posts.iter().any(|x| matches!(x.role, Role::Resident | Role::ShopKeeper));
    if p.has(cap) || volunteerish {
        AppError::not_found(what)
    } else {
        AppError::forbidden()
    }
}

pub fn routes() -> Router<VolunteersState> {
    Router::new()
        .route("/api/v1/volunteers", get(list_volunteers).post(register_volunteer))
        .route("/api/v1/volunteers/me", get(get_my_volunteer))
        .route("/api/v1/volunteers/{id}", get(get_volunteer))
        .route("/api/v1/volunteer-teams", get(list_teams).post(create_team))
        .route("/api/v1/volunteer-teams/{id}/members", post(add_member))
        .route("/api/v1/activities", get(list_activities).post(create_activity))
        .route("/api/v1/activities/{id}", get(get_activity))
        .route("/api/v1/activities/{id}/signup", post(sign_up))
        .route("/api/v1/activities/{id}/check-in", post(check_in))
        .route("/api/v1/activities/{id}/check-out", post(check_out))
        .route("/api/v1/activities/{id}/attendance", post(mark_attendance))
        .route("/api/v1/activity-themes", get(list_themes).post(set_theme))
        .route("/api/v1/points/rules", get(list_rules))
        .route("/api/v1/points/rules/{code}", put(update_rule))
        .route("/api/v1/points/transactions", get(list_transactions))
        .route("/api/v1/points/corrections", post(correct))
        .route("/api/v1/points/audit", get(audit_ledger))
        .route("/api/v1/points/summary", get(summary))
        .route("/api/v1/shops", get(list_shops).post(create_shop))
        .route("/api/v1/shops/{id}/items", get(list_items).post(create_item))
        .route("/api/v1/shop-items/{id}", axum::routing::patch(update_item))
        .route("/api/v1/redemption-codes", post(new_code))
        .route("/api/v1/redemptions", post(redeem))
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
pub(crate) async fn scope(s: &VolunteersState, p: &Principal, grid: Option<&str>, cap: Capability) -> AppResult<String> {
    match grid.filter(|g| !g.is_empty()) {
        Some(g) => Ok(crate::grid::service::load(&s.db, p, g, cap).await?.code),
        None => p.roots(cap).into_iter().next().ok_or_else(AppError::forbidden),
    }
}

pub(crate) fn is_keeper_of(p: &Principal, shop: Uuid) -> bool {
    p.posts.iter().any(|x| x.role == Role::ShopKeeper && x.unit_id == Some(shop))
}

pub(crate) fn may_manage_shop(p: &Principal, shop: &ShopRow) -> bool {
    is_keeper_of(p, shop.id) || p.can(Capability::ManageShops, &shop.grid_code)
}

pub(crate) async fn load_shop(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<ShopRow> {
    shops::shop(&s.db, id)
        .await?
        .filter(|x| x.district == p.district)
        .ok_or_else(|| AppError::not_found("爱心超市或商家"))
}

pub(crate) async fn load_team(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<TeamRow> {
    store::team(&s.db, id)
        .await?
        .filter(|t| t.district == p.district)
        .ok_or_else(|| AppError::not_found("志愿服务队"))
}

pub(crate) async fn load_activity(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<ActivityRow> {
    activities::get(&s.db, id)
        .await?
        .filter(|a| a.district == p.district)
        .ok_or_else(|| AppError::not_found("志愿活动"))
}

/// Is the caller the leader of this team (through their volunteer record)?
pub(crate) async fn leads(s: &VolunteersState, p: &Principal, team: &TeamRow) -> AppResult<bool> {
    let Some(l) = team.leader_id else { return Ok(false) };
    Ok(store::volunteer(&s.db, l).await?.is_some_and(|v| v.user_id == Some(p.user_id)))
}

/// Community staff over the activity's grid, the leader of its team, or whoever created it.
pub(crate) async fn may_organise(s: &VolunteersState, p: &Principal, a: &ActivityRow) -> AppResult<bool> {
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

fn page(page: Option<i64>, per_page: Option<i64>) -> AppResult<(i64, i64)> {
    PageQuery { page, per_page }.limits()
}

/// An RFC 3339 instant, or a China-time date (its midnight).
pub(crate) fn parse_time(t: &str) -> AppResult<i64> {
    crate::cases::service::parse_day_or_instant(t.trim())
}

// ---------------------------------------------------------------- volunteers

#[derive(Serialize, utoipa::ToSchema)]
pub struct TeamRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Volunteer {
    pub id: Uuid,
    pub name: String,
    pub resident_id: Uuid,
    /// The resident's grid node (building).
    pub grid: String,
    /// community, unit or self
    pub registered_via: String,
    pub unit: Option<Uuid>,
    /// Whether the resident's own account is linked (they can check in and redeem).
    pub account_linked: bool,
    pub points_balance: i64,
    /// Service time credited, in hours (one decimal).
    pub hours: f64,
    pub minutes: i64,
    pub registered_at: String,
    /// Detail only.
    pub teams: Option<Vec<TeamRef>>,
}

fn volunteer_to_api(v: &VolunteerRow, teams: Option<Vec<(Uuid, String)>>) -> Volunteer {
    Volunteer {
        id: v.id,
        name: v.name.clone(),
        resident_id: v.resident_id,
        grid: v.grid_code.clone(),
        registered_via: v.registered_via.clone(),
        unit: v.unit_id,
        account_linked: v.user_id.is_some(),
        points_balance: v.balance,
        hours: (v.minutes as f64 / 6.0).round() / 10.0,
        minutes: v.minutes,
        registered_at: rfc3339_ms(v.created_at),
        teams: teams.map(|t| t.into_iter().map(|(id, name)| TeamRef { id, name }).collect()),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct VolunteerQuery {
    pub grid: Option<String>,
    pub team: Option<Uuid>,
    /// Name prefix.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/volunteers", tag = "volunteers", params(VolunteerQuery),
    responses((status = 200, body = Paged<Volunteer>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_volunteers(
    State(s): State<VolunteersState>,
    p: Principal,
    Query(q): Query<VolunteerQuery>,
) -> AppResult<Json<Paged<Volunteer>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let grid = scope(&s, &p, q.grid.as_deref(), Capability::ReadVolunteers).await?;
    let f = store::VolunteerFilter {
        district: &p.district,
        grid: Some(&grid),
        team: q.team,
        name: q.q.as_deref(),
        limit,
        offset,
    };
    let (rows, total) = store::volunteers(&s.db, &f).await?;
    Ok(Json(Paged {
        items: rows.iter().map(|v| volunteer_to_api(v, None)).collect(),
        total,
    }))
}

#[utoipa::path(get, path = "/api/v1/volunteers/{id}", tag = "volunteers", params(("id" = Uuid, Path)),
    responses((status = 200, body = Volunteer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_volunteer(State(s): State<VolunteersState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Volunteer>> {
    let v = visible_volunteer(&s, &p, id).await?;
    let teams = store::teams_of(&s.db, v.id).await?;
    Ok(Json(volunteer_to_api(&v, Some(teams))))
}

#[utoipa::path(get, path = "/api/v1/volunteers/me", tag = "volunteers",
    responses((status = 200, body = Volunteer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_my_volunteer(State(s): State<VolunteersState>, p: Principal) -> AppResult<Json<Volunteer>> {
    let v = my_volunteer(&s, &p).await?;
    let teams = store::teams_of(&s.db, v.id).await?;
    Ok(Json(volunteer_to_api(&v, Some(teams))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewVolunteer {
    /// Staff: the resident to register (community staff, or on behalf of `unit`).
    pub resident: Option<Uuid>,
    /// Self-registration by a resident: their ID number and name, matched in their building.
    pub id_number: Option<String>,
    pub name: Option<String>,
    /// Join this team at once.
    pub team: Option<Uuid>,
    /// Registered through this unit (their employer or organisation).
    pub unit: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/volunteers", tag = "volunteers", request_body = NewVolunteer,
    responses((status = 201, body = Volunteer), (status = 200, description = "Already a volunteer (a self-registration links the account)", body = Volunteer),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_volunteer(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<NewVolunteer>,
) -> AppResult<(StatusCode, Json<Volunteer>)> {
    let team = match input.team {
        Some(t) => Some(load_team(&s, &p, t).await?.id),
        None => None,
    };
    let (resident, user, via) = match (input.resident, input.id_number.as_deref()) {
        (Some(rid), _) => {
            let r = crate::registry::residents::get(&s.db, rid)
                .await?
                .filter(|r| r.district == p.district)
                .ok_or_else(|| refuse(&p, Capability::ManageVolunteers, "居民"))?;
            if !p.can(Capability::ManageVolunteers, &r.grid_code) {
                return Err(refuse(&p, Capability::ManageVolunteers, "居民"));
            }
            let via = match input.unit {
                Some(u) => {
                    crate::registry::units::get(&s.db, u)
                        .await?
                        .filter(|x| x.district == p.district)
                        .ok_or_else(|| AppError::invalid("unknown_unit", "所属单位不存在"))?;
                    RegisteredVia::Unit(u)
                }
                None => RegisteredVia::Community,
            };
            (r, None, via)
        }
        (None, Some(idn)) => (
            resident_of_self(&s, &p, idn, input.name.as_deref().unwrap_or_default()).await?,
            Some(p.user_id),
            RegisteredVia::SelfOnline,
        ),
        (None, None) => {
            return Err(AppError::invalid(
                "resident_required",
                "请指定居民 resident（工作人员登记），或填写身份证号 id_number 和姓名 name（居民本人登记）",
            ));
        }
    };
    let (v, created) = store::register(&s.db, p.actor(), &resident, user, via, team).await?;
    let teams = store::teams_of(&s.db, v.id).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(volunteer_to_api(&v, Some(teams)))))
}

/// 网上注册: the resident of the caller's building with this ID number and name (the caller holds a
/// resident post there). Shared by the API and the volunteer page.
pub(crate) async fn resident_of_self(s: &VolunteersState, p: &Principal, id_number: &str, name: &str) -> AppResult<ResidentRow> {
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

// ---------------------------------------------------------------- teams

#[derive(Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: Uuid,
    /// corps, standing, special, community_governance, city_creation
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub grid: String,
    pub unit: Option<Uuid>,
    /// The leader's volunteer id.
    pub leader: Option<Uuid>,
    pub members: i64,
}

fn team_to_api(t: &TeamRow) -> Team {
    Team {
        id: t.id,
        kind: t.kind.clone(),
        kind_label: rules::team_kind_label(&t.kind).to_string(),
        name: t.name.clone(),
        grid: t.grid_code.clone(),
        unit: t.unit_id,
        leader: t.leader_id,
        members: t.members,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct TeamQuery {
    pub grid: Option<String>,
    pub kind: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/volunteer-teams", tag = "volunteers", params(TeamQuery),
    responses((status = 200, body = Paged<Team>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_teams(State(s): State<VolunteersState>, p: Principal, Query(q): Query<TeamQuery>) -> AppResult<Json<Paged<Team>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let grid = q.grid.as_deref().filter(|g| !g.is_empty());
    let kind = q.kind.as_deref().filter(|g| !g.is_empty());
    let (rows, total) = store::teams(&s.db, &p.district, grid, kind, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.iter().map(team_to_api).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTeam {
    /// corps, standing, special, community_governance, city_creation
    pub kind: String,
    pub name: String,
    /// The grid node it belongs to; defaults to the unit's grid or the caller's.
    pub grid: Option<String>,
    /// The organisation it belongs to (or the `volunteer_team` unit that stands for it).
    pub unit: Option<Uuid>,
    /// A volunteer who leads it (may organise its activities).
    pub leader: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/volunteer-teams", tag = "volunteers", request_body = NewTeam,
    responses((status = 201, body = Team), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_team(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<NewTeam>,
) -> AppResult<(StatusCode, Json<Team>)> {
    let unit = match input.unit {
        Some(u) => Some(
            crate::registry::units::get(&s.db, u)
                .await?
                .filter(|x| x.district == p.district)
                .ok_or_else(|| AppError::invalid("unknown_unit", "所属单位不存在"))?,
        ),
        None => None,
    };
    let wanted = input
        .grid
        .clone()
        .filter(|g| !g.is_empty())
        .or_else(|| unit.as_ref().and_then(|u| u.grid_code.clone()));
    let grid = scope(&s, &p, wanted.as_deref(), Capability::ManageVolunteers).await?;
    if let Some(l) = input.leader {
        store::volunteer(&s.db, l)
            .await?
            .filter(|v| v.district == p.district)
            .ok_or_else(|| AppError::invalid("unknown_volunteer", "队长应为已登记的志愿者"))?;
    }
    let t = store::create_team(
        &s.db,
        p.actor(),
        &store::NewTeamRow {
            district: &p.district,
            kind: &input.kind,
            name: &input.name,
            grid_code: &grid,
            unit_id: input.unit,
            leader_id: input.leader,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(team_to_api(&t))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    /// The volunteer to add; omitted, the caller joins themselves.
    pub volunteer: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/volunteer-teams/{id}/members", tag = "volunteers", params(("id" = Uuid, Path)), request_body = NewMember,
    responses((status = 200, body = Team), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_member(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<NewMember>,
) -> AppResult<Json<Team>> {
    let t = load_team(&s, &p, id).await?;
    let v = match input.volunteer {
        None => my_volunteer(&s, &p).await?,
        Some(vid) => {
            let v = store::volunteer(&s.db, vid)
                .await?
                .filter(|v| v.district == p.district)
                .ok_or_else(|| AppError::not_found("志愿者"))?;
            let me = v.user_id == Some(p.user_id);
            if !(me || p.can(Capability::ManageVolunteers, &t.grid_code) || leads(&s, &p, &t).await?) {
                return Err(refuse(&p, Capability::ManageVolunteers, "志愿者"));
            }
            v
        }
    };
    store::add_member(&s.db, p.actor(), &t, v.id).await?;
    Ok(Json(team_to_api(&load_team(&s, &p, id).await?)))
}

// ---------------------------------------------------------------- activities

#[derive(Serialize, utoipa::ToSchema)]
pub struct Signup {
    pub volunteer: Uuid,
    pub name: Option<String>,
    /// signed_up, checked_in, attended
    pub status: String,
    pub signed_up_at: String,
    pub checked_in_at: Option<String>,
    pub checked_out_at: Option<String>,
    pub minutes: i64,
    pub points: i64,
}

fn signup_to_api(x: &SignupRow, name: Option<String>) -> Signup {
    Signup {
        volunteer: x.volunteer_id,
        name,
        status: x.status.clone(),
        signed_up_at: rfc3339_ms(x.signed_up_at),
        checked_in_at: x.checked_in_at.map(rfc3339_ms),
        checked_out_at: x.checked_out_at.map(rfc3339_ms),
        minutes: x.minutes,
        points: x.points,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Activity {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub place: String,
    pub grid: String,
    pub team: Option<Uuid>,
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: i64,
    pub signed_up: i64,
    /// open or cancelled
    pub status: String,
    /// The month's theme (一月一主题) at the nearest grid node that set one (detail only).
    pub theme: Option<String>,
    /// The check-in/check-out code to show as a QR code (organisers only).
    pub code: Option<String>,
    /// Who signed up (organisers only, detail only).
    pub signups: Option<Vec<Signup>>,
    /// The caller's own sign-up, if any (detail only).
    pub mine: Option<Signup>,
}

fn activity_to_api(a: &ActivityRow, organiser: bool) -> Activity {
    Activity {
        id: a.id,
        title: a.title.clone(),
        description: a.description.clone(),
        place: a.place.clone(),
        grid: a.grid_code.clone(),
        team: a.team_id,
        starts_at: rfc3339_ms(a.starts_at),
        ends_at: rfc3339_ms(a.ends_at),
        capacity: a.capacity,
        signed_up: a.signed_up,
        status: a.status.clone(),
        theme: None,
        code: organiser.then(|| a.code.clone()),
        signups: None,
        mine: None,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ActivityQuery {
    pub grid: Option<String>,
    pub team: Option<Uuid>,
    /// RFC 3339 or YYYY-MM-DD: activities ending at or after.
    pub from: Option<String>,
    /// RFC 3339 or YYYY-MM-DD: activities starting before.
    pub to: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/activities", tag = "volunteers", params(ActivityQuery),
    responses((status = 200, body = Paged<Activity>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_activities(
    State(s): State<VolunteersState>,
    p: Principal,
    Query(q): Query<ActivityQuery>,
) -> AppResult<Json<Paged<Activity>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let from = q.from.as_deref().filter(|x| !x.is_empty()).map(parse_time).transpose()?;
    let to = q.to.as_deref().filter(|x| !x.is_empty()).map(parse_time).transpose()?;
    let f = activities::ActivityFilter {
        district: &p.district,
        grid: q.grid.as_deref().filter(|g| !g.is_empty()),
        team: q.team,
        from,
        to,
        limit,
        offset,
    };
    let (rows, total) = activities::list(&s.db, &f).await?;
    let mut items = Vec::with_capacity(rows.len());
    for a in &rows {
        items.push(activity_to_api(
            a,
            p.can(Capability::ManageVolunteers, &a.grid_code) || a.created_by == Some(p.user_id),
        ));
    }
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewActivity {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub place: String,
    /// Grid node it serves; defaults to the team's.
    pub grid: Option<String>,
    pub team: Option<Uuid>,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
    pub capacity: i64,
}

/// The grid an activity is organised in: a team leader organises inside the team's grid, staff
/// inside theirs (the API and the console page both ask here).
pub(crate) async fn activity_grid(s: &VolunteersState, p: &Principal, team: Option<&TeamRow>, wanted: Option<&str>) -> AppResult<String> {
    match (team, wanted) {
        (Some(t), Some(g)) if g.starts_with(&t.grid_code) && leads(s, p, t).await? => Ok(crate::grid::store::get(&s.db, g)
            .await?
            .filter(|x| x.district == p.district)
            .ok_or_else(|| AppError::not_found("网格"))?
            .code),
        _ => scope(s, p, wanted, Capability::ManageVolunteers).await,
    }
}

#[utoipa::path(post, path = "/api/v1/activities", tag = "volunteers", request_body = NewActivity,
    responses((status = 201, body = Activity), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_activity(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<NewActivity>,
) -> AppResult<(StatusCode, Json<Activity>)> {
    let team = match input.team {
        Some(t) => Some(load_team(&s, &p, t).await?),
        None => None,
    };
    let wanted = input
        .grid
        .clone()
        .filter(|g| !g.is_empty())
        .or_else(|| team.as_ref().map(|t| t.grid_code.clone()));
    let grid = activity_grid(&s, &p, team.as_ref(), wanted.as_deref()).await?;
    let a = activities::create(
        &s.db,
        p.actor(),
        &NewActivityRow {
            district: &p.district,
            grid_code: &grid,
            team_id: team.as_ref().map(|t| t.id),
            title: &input.title,
            description: &input.description,
            place: &input.place,
            starts_at: parse_time(&input.starts_at)?,
            ends_at: parse_time(&input.ends_at)?,
            capacity: input.capacity,
            created_by: Some(p.user_id),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(activity_to_api(&a, true))))
}

#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "volunteers", params(("id" = Uuid, Path)),
    responses((status = 200, body = Activity), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_activity(State(s): State<VolunteersState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Activity>> {
    let a = load_activity(&s, &p, id).await?;
    let organiser = may_organise(&s, &p, &a).await?;
    let mut out = activity_to_api(&a, organiser);
    let month = crate::time::format_ms(a.starts_at)[..7].to_string();
    out.theme = activities::themes(&s.db, &a.district, &a.grid_code, Some(&month))
        .await?
        .pop()
        .map(|t| t.title);
    if organiser {
        out.signups = Some(
            activities::signups(&s.db, a.id)
                .await?
                .into_iter()
                .map(|(x, n)| signup_to_api(&x, Some(n)))
                .collect(),
        );
    }
    if let Some(v) = store::volunteer_of_user(&s.db, p.user_id).await? {
        out.mine = activities::signup(&s.db, a.id, v.id).await?.map(|x| signup_to_api(&x, None));
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/v1/activities/{id}/signup", tag = "volunteers", params(("id" = Uuid, Path)),
    responses((status = 201, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn sign_up(State(s): State<VolunteersState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<(StatusCode, Json<Signup>)> {
    let a = load_activity(&s, &p, id).await?;
    let v = my_volunteer(&s, &p).await?;
    let x = activities::sign_up(&s.db, p.actor(), &a, &v).await?;
    Ok((StatusCode::CREATED, Json(signup_to_api(&x, Some(v.name)))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeInput {
    /// The activity's code, read from the organiser's QR code.
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/activities/{id}/check-in", tag = "volunteers", params(("id" = Uuid, Path)), request_body = CodeInput,
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_in(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<CodeInput>,
) -> AppResult<Json<Signup>> {
    let a = load_activity(&s, &p, id).await?;
    let v = my_volunteer(&s, &p).await?;
    let x = activities::check_in(&s.db, p.actor(), &a, &v, &input.code).await?;
    Ok(Json(signup_to_api(&x, Some(v.name))))
}

#[utoipa::path(post, path = "/api/v1/activities/{id}/check-out", tag = "volunteers", params(("id" = Uuid, Path)), request_body = CodeInput,
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_out(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<CodeInput>,
) -> AppResult<Json<Signup>> {
    let a = load_activity(&s, &p, id).await?;
    let v = my_volunteer(&s, &p).await?;
    let x = activities::check_out(&s.db, p.actor(), &a, &v, &input.code).await?;
    Ok(Json(signup_to_api(&x, Some(v.name))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AttendanceInput {
    pub volunteer: Uuid,
    /// Minutes served; the whole scheduled length when omitted.
    pub minutes: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/activities/{id}/attendance", tag = "volunteers", params(("id" = Uuid, Path)), request_body = AttendanceInput,
    responses((status = 200, body = Signup), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark_attendance(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<AttendanceInput>,
) -> AppResult<Json<Signup>> {
    let a = load_activity(&s, &p, id).await?;
    if !may_organise(&s, &p, &a).await? {
        return Err(refuse(&p, Capability::ManageVolunteers, "志愿活动"));
    }
    let v = store::volunteer(&s.db, input.volunteer)
        .await?
        .filter(|v| v.district == p.district)
        .ok_or_else(|| AppError::not_found("志愿者"))?;
    let x = activities::mark_attendance(&s.db, p.actor(), &a, &v, input.minutes).await?;
    Ok(Json(signup_to_api(&x, Some(v.name))))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ThemeQuery {
    /// Grid node (its ancestors' themes are included); the district when omitted.
    pub grid: Option<String>,
    /// YYYY-MM
    pub month: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/activity-themes", tag = "volunteers", params(ThemeQuery),
    responses((status = 200, body = Vec<ThemeRow>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_themes(State(s): State<VolunteersState>, p: Principal, Query(q): Query<ThemeQuery>) -> AppResult<Json<Vec<ThemeRow>>> {
    let grid = q
        .grid
        .clone()
        .filter(|g| g.starts_with(&p.district))
        .unwrap_or_else(|| p.district.clone());
    Ok(Json(
        activities::themes(&s.db, &p.district, &grid, q.month.as_deref().filter(|m| !m.is_empty())).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewTheme {
    pub grid: Option<String>,
    /// YYYY-MM
    pub month: String,
    pub title: String,
}

#[utoipa::path(post, path = "/api/v1/activity-themes", tag = "volunteers", request_body = NewTheme,
    responses((status = 200, body = ThemeRow), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_theme(State(s): State<VolunteersState>, p: Principal, Json(input): Json<NewTheme>) -> AppResult<Json<ThemeRow>> {
    let grid = scope(&s, &p, input.grid.as_deref(), Capability::ManageVolunteers).await?;
    Ok(Json(
        activities::set_theme(&s.db, p.actor(), &p.district, &grid, input.month.trim(), &input.title).await?,
    ))
}

// ---------------------------------------------------------------- points

#[utoipa::path(get, path = "/api/v1/points/rules", tag = "points",
    responses((status = 200, body = Vec<RuleRow>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_rules(State(s): State<VolunteersState>, p: Principal) -> AppResult<Json<Vec<RuleRow>>> {
    Ok(Json(store::rules_of(&s.db, &p.district).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RuleUpdate {
    pub points: i64,
    pub name: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/points/rules/{code}", tag = "points", params(("code" = String, Path, description = "volunteer_hour, case_reported, council_meeting, activity_organised")),
    request_body = RuleUpdate,
    responses((status = 200, body = RuleRow), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_rule(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(code): Path<String>,
    Json(up): Json<RuleUpdate>,
) -> AppResult<Json<RuleRow>> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden());
    }
    Ok(Json(
        store::set_rule(&s.db, p.actor(), &p.district, &code, up.points, up.name.as_deref()).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Transaction {
    pub id: Uuid,
    pub at: String,
    /// earn, redeem or correction
    pub kind: String,
    pub reason: String,
    pub source_kind: String,
    pub source_id: String,
    /// The transaction this one compensates.
    pub reverses: Option<Uuid>,
    pub actor: String,
    pub postings: Vec<PostingRow>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LedgerQuery {
    /// A volunteer's transactions (a volunteer sees their own by default).
    pub volunteer: Option<Uuid>,
    /// A shop's transactions (its keepers, or shop managers in scope).
    pub shop: Option<Uuid>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/points/transactions", tag = "points", params(LedgerQuery),
    responses((status = 200, body = Paged<Transaction>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_transactions(
    State(s): State<VolunteersState>,
    p: Principal,
    Query(q): Query<LedgerQuery>,
) -> AppResult<Json<Paged<Transaction>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let account = match (q.volunteer, q.shop) {
        (Some(v), _) => {
            let v = visible_volunteer(&s, &p, v).await?;
            Some(v.account_id.unwrap_or_else(Uuid::nil))
        }
        (None, Some(sh)) => {
            let shop = load_shop(&s, &p, sh).await?;
            if !may_manage_shop(&p, &shop) {
                return Err(refuse(&p, Capability::ManageShops, "爱心超市或商家"));
            }
            Some(
                store::account_of(&s.db, &p.district, AccountKind::Shop, shop.id)
                    .await?
                    .map(|a| a.0)
                    .unwrap_or_else(Uuid::nil),
            )
        }
        (None, None) if p.has(Capability::ReadAudit) => None,
        (None, None) => Some(my_volunteer(&s, &p).await?.account_id.unwrap_or_else(Uuid::nil)),
    };
    let (rows, total) = store::transactions(&s.db, &p.district, account, limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|(t, postings)| Transaction {
            id: t.id,
            at: rfc3339_ms(t.at_ms),
            kind: t.kind,
            reason: t.reason,
            source_kind: t.source_kind,
            source_id: t.source_id,
            reverses: t.reverses_id,
            actor: t.actor_name,
            postings,
        })
        .collect();
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CorrectionInput {
    /// Reverse this transaction exactly…
    pub transaction: Option<Uuid>,
    /// …or move `points` (signed) between the issuing account and this volunteer.
    pub volunteer: Option<Uuid>,
    pub points: Option<i64>,
    /// Why (kept in the ledger and the audit log).
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CorrectionOut {
    pub id: Uuid,
    pub reverses: Option<Uuid>,
    pub postings: Vec<PostingRow>,
}

#[utoipa::path(post, path = "/api/v1/points/corrections", tag = "points", request_body = CorrectionInput,
    responses((status = 201, body = CorrectionOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn correct(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<CorrectionInput>,
) -> AppResult<(StatusCode, Json<CorrectionOut>)> {
    if !p.has(Capability::CorrectPoints) {
        return Err(AppError::forbidden());
    }
    let reason = input.reason.trim();
    if !(2..=200).contains(&reason.chars().count()) {
        return Err(AppError::invalid("reason_required", "请填写更正原因（2至200字）"));
    }
    let target = match (input.transaction, input.volunteer, input.points) {
        (Some(t), None, None) => {
            let tx = store::transaction(&s.db, t)
                .await?
                .filter(|x| x.district == p.district)
                .ok_or_else(|| AppError::not_found("积分交易"))?;
            // Every volunteer and shop it touches must be within the caller's reach.
            for x in store::postings(&s.db, tx.id).await? {
                let grid = match x.account_kind.as_str() {
                    "volunteer" => store::volunteer(&s.db, x.owner_id).await?.map(|v| v.grid_code),
                    "shop" => shops::shop(&s.db, x.owner_id).await?.map(|v| v.grid_code),
                    _ => Some(p.district.clone()),
                };
                let ok = match grid {
                    Some(g) if x.account_kind == "issuer" => p.can(Capability::CorrectPoints, &g) || g == p.district,
                    Some(g) => p.can(Capability::CorrectPoints, &g),
                    None => false,
                };
                if !ok {
                    return Err(AppError::not_found("积分交易"));
                }
            }
            Correction::Reverse(tx.id)
        }
        (None, Some(v), Some(points)) => {
            let v = store::volunteer(&s.db, v)
                .await?
                .filter(|x| x.district == p.district && p.can(Capability::CorrectPoints, &x.grid_code))
                .ok_or_else(|| AppError::not_found("志愿者"))?;
            if points == 0 || points.abs() > 100_000 {
                return Err(AppError::invalid("invalid_points", "更正积分应为非零整数，绝对值不超过100000"));
            }
            Correction::Adjust { volunteer: v.id, points }
        }
        _ => {
            return Err(AppError::invalid(
                "invalid_correction",
                "请给出要冲正的交易 transaction，或志愿者 volunteer 与积分 points",
            ));
        }
    };
    let reverses = match target {
        Correction::Reverse(t) => Some(t),
        _ => None,
    };
    let (id, postings) = store::correct(&s.db, p.actor(), &p.district, target, reason).await?;
    Ok((StatusCode::CREATED, Json(CorrectionOut { id, reverses, postings })))
}

/// The ledger re-checked from its postings.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LedgerAudit {
    pub transactions: i64,
    /// Sum of every posting: 0 in a sound ledger.
    pub postings_sum: i64,
    /// Volunteer or shop accounts below zero.
    pub negative_balances: Vec<Uuid>,
    /// Accounts whose cached balance differs from their postings.
    pub mismatched_balances: Vec<Uuid>,
    /// Transactions that do not sum to zero or have no postings.
    pub unbalanced_transactions: Vec<Uuid>,
    pub ok: bool,
}

pub fn audit_to_api(c: &super::ledger::Check) -> LedgerAudit {
    LedgerAudit {
        transactions: c.transactions,
        postings_sum: c.postings_sum,
        negative_balances: c.negative_balances.clone(),
        mismatched_balances: c.mismatched_balances.clone(),
        unbalanced_transactions: c.unbalanced.clone(),
        ok: c.is_sound(),
    }
}

#[utoipa::path(get, path = "/api/v1/points/audit", tag = "points",
    responses((status = 200, body = LedgerAudit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn audit_ledger(State(s): State<VolunteersState>, p: Principal) -> AppResult<Json<LedgerAudit>> {
    if !p.has(Capability::ReadAudit) {
        return Err(AppError::forbidden());
    }
    let c = store::audit_ledger(&s.db, Some(&p.district)).await?;
    Ok(Json(audit_to_api(&c)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    /// team, community or month
    pub by: String,
    pub grid: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/points/summary", tag = "points", params(SummaryQuery),
    responses((status = 200, body = Vec<SummaryRow>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn summary(State(s): State<VolunteersState>, p: Principal, Query(q): Query<SummaryQuery>) -> AppResult<Json<Vec<SummaryRow>>> {
    let by = match q.by.as_str() {
        "team" => SummaryBy::Team,
        "community" => SummaryBy::Community,
        "month" => SummaryBy::Month,
        _ => return Err(AppError::invalid("invalid_by", "by 应为 team、community 或 month")),
    };
    let grid = scope(&s, &p, q.grid.as_deref(), Capability::ReadVolunteers).await?;
    Ok(Json(store::summary(&s.db, &p.district, Some(&grid), by).await?))
}

// ---------------------------------------------------------------- shops

#[derive(Serialize, utoipa::ToSchema)]
pub struct Shop {
    pub id: Uuid,
    /// love_supermarket or merchant
    pub kind: String,
    pub name: String,
    pub grid: String,
    pub address: String,
    /// The 商会 a merchant belongs to.
    pub association: Option<Uuid>,
}

fn shop_to_api(x: &ShopRow) -> Shop {
    Shop {
        id: x.id,
        kind: x.kind.clone(),
        name: x.name.clone(),
        grid: x.grid_code.clone(),
        address: x.address.clone(),
        association: x.association_id,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ShopQuery {
    pub grid: Option<String>,
    pub kind: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/shops", tag = "shops", params(ShopQuery),
    responses((status = 200, body = Paged<Shop>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_shops(State(s): State<VolunteersState>, p: Principal, Query(q): Query<ShopQuery>) -> AppResult<Json<Paged<Shop>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let (rows, total) = shops::shops(
        &s.db,
        &p.district,
        q.grid.as_deref().filter(|g| !g.is_empty()),
        q.kind.as_deref().filter(|g| !g.is_empty()),
        limit,
        offset,
    )
    .await?;
    Ok(Json(Paged {
        items: rows.iter().map(shop_to_api).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewShop {
    /// love_supermarket or merchant
    pub kind: String,
    pub name: String,
    pub grid: String,
    #[serde(default)]
    pub address: String,
    /// The 商会 (a unit of kind merchant_association) a merchant belongs to.
    pub association: Option<Uuid>,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
}

#[utoipa::path(post, path = "/api/v1/shops", tag = "shops", request_body = NewShop,
    responses((status = 201, body = Shop), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_shop(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<NewShop>,
) -> AppResult<(StatusCode, Json<Shop>)> {
    let grid = scope(&s, &p, Some(&input.grid), Capability::ManageShops).await?;
    if let Some(a) = input.association {
        crate::registry::units::get(&s.db, a)
            .await?
            .filter(|u| u.district == p.district && u.kind == "merchant_association")
            .ok_or_else(|| AppError::invalid("unknown_unit", "商会不存在"))?;
    }
    let x = shops::create_shop(
        &s.db,
        p.actor(),
        &NewShopRow {
            district: &p.district,
            kind: &input.kind,
            name: &input.name,
            grid_code: &grid,
            address: input.address.trim(),
            association_id: input.association,
            contact_name: input.contact_name.trim(),
            contact_phone: input.contact_phone.trim(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(shop_to_api(&x))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: Uuid,
    pub shop: Uuid,
    pub name: String,
    /// Price in points; null for a discount-only offer.
    pub points: Option<i64>,
    pub discount: String,
    pub stock: i64,
    pub active: bool,
}

fn item_to_api(i: &ItemRow) -> Item {
    Item {
        id: i.id,
        shop: i.shop_id,
        name: i.name.clone(),
        points: i.points,
        discount: i.discount.clone(),
        stock: i.stock,
        active: i.active,
    }
}

#[utoipa::path(get, path = "/api/v1/shops/{id}/items", tag = "shops", params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<Item>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_items(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> AppResult<Json<Paged<Item>>> {
    let shop = load_shop(&s, &p, id).await?;
    let (limit, offset) = q.limits()?;
    let (rows, total) = shops::items(&s.db, shop.id, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.iter().map(item_to_api).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewItem {
    pub name: String,
    /// Price in points; omit for a discount-only offer.
    pub points: Option<i64>,
    #[serde(default)]
    pub discount: String,
    #[serde(default)]
    pub stock: i64,
}

#[utoipa::path(post, path = "/api/v1/shops/{id}/items", tag = "shops", params(("id" = Uuid, Path)), request_body = NewItem,
    responses((status = 201, body = Item), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_item(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<NewItem>,
) -> AppResult<(StatusCode, Json<Item>)> {
    let shop = load_shop(&s, &p, id).await?;
    if !may_manage_shop(&p, &shop) {
        return Err(refuse(&p, Capability::ManageShops, "爱心超市或商家"));
    }
    let i = shops::create_item(
        &s.db,
        p.actor(),
        &shop,
        &NewItemRow {
            name: &input.name,
            points: input.points,
            discount: &input.discount,
            stock: input.stock,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(item_to_api(&i))))
}

#[utoipa::path(patch, path = "/api/v1/shop-items/{id}", tag = "shops", params(("id" = Uuid, Path)), request_body = ItemUpdate,
    responses((status = 200, body = Item), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_item(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(up): Json<ItemUpdate>,
) -> AppResult<Json<Item>> {
    let it = shops::item(&s.db, id)
        .await?
        .filter(|i| i.district == p.district)
        .ok_or_else(|| AppError::not_found("商品"))?;
    let shop = load_shop(&s, &p, it.shop_id).await?;
    if !may_manage_shop(&p, &shop) {
        return Err(refuse(&p, Capability::ManageShops, "商品"));
    }
    Ok(Json(item_to_api(&shops::update_item(&s.db, p.actor(), &it, &up).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RedemptionCode {
    /// Show it (or its QR code) at the till; one use.
    pub code: String,
    pub expires_at: String,
    pub points_balance: i64,
}

#[utoipa::path(post, path = "/api/v1/redemption-codes", tag = "shops",
    responses((status = 201, body = RedemptionCode), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn new_code(State(s): State<VolunteersState>, p: Principal) -> AppResult<(StatusCode, Json<RedemptionCode>)> {
    let v = my_volunteer(&s, &p).await?;
    let c = shops::issue_code(&s.db, &v).await?;
    Ok((
        StatusCode::CREATED,
        Json(RedemptionCode {
            code: c.code,
            expires_at: rfc3339_ms(c.expires_at),
            points_balance: v.balance,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RedeemInput {
    /// The volunteer's one-time code.
    pub code: String,
    pub item: Uuid,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Redemption {
    pub id: Uuid,
    pub shop: Uuid,
    pub item: Uuid,
    pub item_name: String,
    pub volunteer: Uuid,
    pub volunteer_name: String,
    pub quantity: i64,
    pub points: i64,
    /// The volunteer's balance now.
    pub points_balance: i64,
    /// The item's stock now.
    pub stock: i64,
    pub transaction: Uuid,
    pub at: String,
}

#[utoipa::path(post, path = "/api/v1/redemptions", tag = "shops", request_body = RedeemInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key returns the first result and never redeems twice")),
    responses((status = 201, body = Redemption), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "insufficient_points (余额不足), out_of_stock (库存不足), code_used, code_expired", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeem(
    State(s): State<VolunteersState>,
    p: Principal,
    headers: HeaderMap,
    Json(input): Json<RedeemInput>,
) -> AppResult<(StatusCode, HeaderMap, Json<Redemption>)> {
    let key = crate::web::api::idempotency_key(&headers)?;
    let it = shops::item(&s.db, input.item)
        .await?
        .filter(|i| i.district == p.district)
        .ok_or_else(|| AppError::not_found("商品"))?;
    if !is_keeper_of(&p, it.shop_id) {
        return Err(refuse(&p, Capability::RedeemPoints, "商品"));
    }
    let r = shops::redeem(
        &s.db,
        p.actor(),
        &shops::Redeem {
            item: &it,
            code: &input.code,
            quantity: input.quantity,
            idempotency_key: key.as_deref(),
            keeper: Some(p.user_id),
        },
    )
    .await?;
    let name = store::volunteer(&s.db, r.row.volunteer_id)
        .await?
        .map(|v| v.name)
        .unwrap_or_default();
    let mut h = HeaderMap::new();
    if r.replayed {
        h.insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    Ok((
        StatusCode::CREATED,
        h,
        Json(Redemption {
            id: r.row.id,
            shop: r.row.shop_id,
            item: r.row.item_id,
            item_name: it.name,
            volunteer: r.row.volunteer_id,
            volunteer_name: name,
            quantity: r.row.quantity,
            points: r.row.points,
            points_balance: r.balance,
            stock: r.stock,
            transaction: r.row.transaction_id,
            at: rfc3339_ms(r.row.at_ms),
        }),
    ))
}
