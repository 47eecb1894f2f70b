//! Activities API: a month's activities and themes (一月一主题), sign-up, check-in and check-out
//! by code, attendance marked by the organiser.

use super::page;
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::volunteers::VolunteersState;
use crate::volunteers::activities::{self, ActivityRow, NewActivityRow, SignupRow, ThemeRow};
use crate::volunteers::service::{activity_grid, load_activity, load_team, may_organise, my_volunteer, parse_time, refuse, scope};
use crate::volunteers::store::{self};
use crate::web::api::Paged;
use crate::web::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// True once service time was credited (attended, at least a minute). False after a
    /// check-out whose time fell outside the activity's window: nothing paid, not on the certificate.
    pub credited: bool,
    /// Why nothing was credited (Chinese), after such a check-out; absent otherwise.
    pub note: Option<String>,
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
        credited: x.credited(),
        note: x.uncredited().then(|| activities::NO_TIME_CREDITED.to_string()),
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
    let month = crate::time::month_ms(a.starts_at);
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
    let x = s
        .codes
        .guarded(&v, activities::check_in(&s.db, &s.writer, p.actor(), &a, &v, &input.code))
        .await?;
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
    let x = s
        .codes
        .guarded(&v, activities::check_out(&s.db, p.actor(), &a, &v, &input.code))
        .await?;
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
    crate::volunteers::service::may_credit(&s, &p, &a, &v).await?;
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
