//! Volunteers API: list, read, register (by their community, their unit or themselves), and
//! teams with their members.

use super::page;
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::volunteers::VolunteersState;
use crate::volunteers::rules;
use crate::volunteers::service::{leads, load_team, my_volunteer, refuse, resident_of_self, scope, visible_volunteer};
use crate::volunteers::store::{self, RegisteredVia, TeamRow, VolunteerRow};
use crate::web::api::Paged;
use crate::web::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// An account has asked to be linked and waits for the community to confirm it.
    pub link_requested: bool,
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
        link_requested: v.link_requested_by.is_some(),
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
    responses((status = 201, body = Volunteer), (status = 200, description = "Already a volunteer", body = Volunteer),
        (status = 202, description = "A self-registration found the resident's record without an account: the link waits for the community to confirm it", body = Volunteer),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register_volunteer(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<NewVolunteer>,
) -> AppResult<(StatusCode, Json<Volunteer>)> {
    let team = match input.team {
        Some(t) => Some(load_team(&s, &p, t).await?),
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
            // Putting someone in a team is the team's side's decision, as in `add_member`.
            if let Some(t) = &team
                && !(p.can(Capability::ManageVolunteers, &t.grid_code) || leads(&s, &p, t).await?)
            {
                return Err(refuse(&p, Capability::ManageVolunteers, "志愿服务队"));
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
    let (v, outcome) = store::register(&s.db, p.actor(), &resident, user, via, team.map(|t| t.id)).await?;
    let teams = store::teams_of(&s.db, v.id).await?;
    let status = match outcome {
        store::Registered::Created => StatusCode::CREATED,
        store::Registered::Existing => StatusCode::OK,
        store::Registered::LinkRequested => StatusCode::ACCEPTED,
    };
    Ok((status, Json(volunteer_to_api(&v, Some(teams)))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinkDecision {
    /// true: link the requesting account; false: refuse the request.
    pub approve: bool,
}

/// The community confirms or refuses an account's request to be linked to a volunteer record.
#[utoipa::path(post, path = "/api/v1/volunteers/{id}/link", tag = "volunteers", params(("id" = Uuid, Path)), request_body = LinkDecision,
    responses((status = 200, body = Volunteer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide_link(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<LinkDecision>,
) -> AppResult<Json<Volunteer>> {
    let v = visible_volunteer(&s, &p, id).await?;
    if !p.can(Capability::ManageVolunteers, &v.grid_code) {
        return Err(AppError::forbidden());
    }
    let v = store::decide_link(&s.db, p.actor(), &v, input.approve).await?;
    let teams = store::teams_of(&s.db, v.id).await?;
    Ok(Json(volunteer_to_api(&v, Some(teams))))
}

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
