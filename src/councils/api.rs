//! Councils API: councils and members, opinions and their answers, meetings with sign-in and
//! minutes, resolutions followed to their cases.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::CouncilsState;
use super::rules::{self, MeetingKind, OpinionStatus, Post};
use super::service::{self, Acting, AnswerInput, MinutesInput, NewMeeting, NewMember, NewOpinion};
use super::store::{self, MeetingRow, OpinionRow, ResolutionRow};
use crate::auth::Principal;
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::{Created, PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GridQuery {
    /// A grid node; by default the caller's own.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl GridQuery {
    fn limits(&self) -> AppResult<(i64, i64)> {
        PageQuery {
            page: self.page,
            per_page: self.per_page,
        }
        .limits()
    }
}

/// A council with counts of its current post-holders.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CouncilItem {
    pub id: Uuid,
    /// The compound's grid code.
    pub compound: String,
    pub compound_name: String,
    pub name: String,
    /// 主任, 副主任 and 成员 now.
    pub members: i64,
    pub building_heads: i64,
    pub unit_heads: i64,
    pub party_members: i64,
}

fn council_item(c: store::CouncilSummary) -> CouncilItem {
    CouncilItem {
        id: c.id,
        compound: c.grid_code,
        compound_name: c.compound,
        name: c.name,
        members: c.members,
        building_heads: c.building_heads,
        unit_heads: c.unit_heads,
        party_members: c.party_members,
    }
}

#[utoipa::path(get, path = "/api/v1/councils", tag = "councils", params(GridQuery),
    responses((status = 200, body = Paged<CouncilItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<CouncilsState>, p: Principal, Query(q): Query<GridQuery>) -> AppResult<Json<Paged<CouncilItem>>> {
    let (limit, offset) = q.limits()?;
    let root = service::list_root(&p, q.grid.as_deref())?;
    let (rows, total) = store::councils_in(&s.db, &p.district, &root, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.into_iter().map(council_item).collect(),
        total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub resident: Uuid,
    pub name: String,
    pub post: Post,
    pub post_label: &'static str,
    pub building: Option<String>,
    pub unit_no: Option<i64>,
    pub party_member: bool,
    pub started_at: String,
    /// Empty while the post is held.
    pub ended_at: Option<String>,
}

fn member(m: store::MemberRow) -> Member {
    let post = Post::parse(&m.post).unwrap_or(Post::Member);
    Member {
        id: m.id,
        resident: m.resident_id,
        name: m.name,
        post,
        post_label: post.label(),
        building: m.building_code,
        unit_no: m.unit_no,
        party_member: m.party_member,
        started_at: rfc3339_ms(m.started_at),
        ended_at: m.ended_at.map(rfc3339_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Partner {
    pub unit: Uuid,
    /// residents_committee, owners_committee, property_company, party_branch, co_building
    pub role: String,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CouncilDetail {
    #[serde(flatten)]
    pub council: CouncilItem,
    /// Current members first, then those who stepped down (the history).
    pub members_list: Vec<Member>,
    pub partners: Vec<Partner>,
}

#[utoipa::path(get, path = "/api/v1/councils/{id}", tag = "councils", params(("id" = Uuid, Path)),
    responses((status = 200, body = CouncilDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(s): State<CouncilsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<CouncilDetail>> {
    let a = Acting::of(&s.db, &p).await?;
    let c = service::council_for(&s.db, &a, id).await?;
    let summary = store::summary(&s.db, c.id).await?.ok_or_else(AppError::internal)?;
    Ok(Json(CouncilDetail {
        council: council_item(summary),
        members_list: store::members(&s.db, c.id, true).await?.into_iter().map(member).collect(),
        partners: store::partners(&s.db, c.id)
            .await?
            .into_iter()
            .map(|x| Partner {
                unit: x.unit_id,
                role: x.role,
                name: x.name,
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/councils/{id}/members", tag = "councils", params(("id" = Uuid, Path)), request_body = NewMember,
    responses((status = 201, body = Member), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn appoint(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewMember>,
) -> AppResult<(StatusCode, Json<Member>)> {
    let a = Acting::of(&s.db, &p).await?;
    let m = service::appoint(&s.db, &a, id, &n).await?;
    Ok((StatusCode::CREATED, Json(member(m))))
}

#[utoipa::path(post, path = "/api/v1/council-members/{id}/end", tag = "councils", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn dismiss(State(s): State<CouncilsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<StatusCode> {
    let a = Acting::of(&s.db, &p).await?;
    service::dismiss(&s.db, &a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An opinion and where it stands.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Opinion {
    pub id: Uuid,
    pub council: Uuid,
    /// The building or compound it is about.
    pub grid: String,
    pub category: String,
    pub body: String,
    pub anonymous: bool,
    /// Empty when anonymous.
    pub author: String,
    pub recorder: String,
    pub status: OpinionStatus,
    pub status_label: &'static str,
    /// Waiting 7 days or more for an answer.
    pub flagged: bool,
    pub answer: String,
    pub answered_by: String,
    pub answered_at: Option<String>,
    pub meeting: Option<Uuid>,
    pub case: Option<Uuid>,
    /// The case's status (e.g. `handling`), when it became one.
    pub case_status: Option<String>,
    pub case_tracking_code: Option<String>,
    pub merged_into: Option<Uuid>,
    pub created_at: String,
}

pub fn opinion_view(o: OpinionRow, case: Option<(String, String, String)>, now: i64) -> Opinion {
    let status = OpinionStatus::parse(&o.status).unwrap_or(OpinionStatus::Open);
    Opinion {
        id: o.id,
        council: o.council_id,
        grid: o.grid_code,
        category: o.category,
        body: o.body,
        anonymous: o.anonymous,
        author: if o.anonymous { String::new() } else { o.author_name },
        recorder: o.recorder_name,
        status,
        status_label: status.label(),
        flagged: rules::is_aged(status, o.created_at, now),
        answer: o.answer,
        answered_by: o.answered_by,
        answered_at: o.answered_at.map(rfc3339_ms),
        meeting: o.meeting_id,
        case: o.case_id,
        case_status: case.as_ref().map(|c| c.0.clone()),
        case_tracking_code: case.map(|c| c.2),
        merged_into: o.merged_into,
        created_at: rfc3339_ms(o.created_at),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct OpinionQuery {
    /// A grid node; by default the caller's own. A resident without a staff post sees what they recorded.
    pub grid: Option<String>,
    /// open, agenda, case, merged, answered
    pub status: Option<String>,
    /// `true`: only those waiting 7 days or more.
    pub flagged: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/opinions", tag = "councils", params(OpinionQuery),
    responses((status = 200, body = Paged<Opinion>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn opinions(State(s): State<CouncilsState>, p: Principal, Query(q): Query<OpinionQuery>) -> AppResult<Json<Paged<Opinion>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let status = match q.status.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        Some(x) => Some(
            OpinionStatus::parse(x)
                .ok_or_else(|| AppError::invalid("invalid_status", "状态应为 open、agenda、case、merged 或 answered"))?,
        ),
        None => None,
    };
    let now = now_ms();
    let (rows, total) = list_opinions(&s.db, &p, q.grid.as_deref(), status, q.flagged == Some(true), limit, offset, now).await?;
    let mut states = service::case_states(&s.db, rows.iter().filter_map(|o| o.case_id)).await?;
    let items = rows
        .into_iter()
        .map(|o| {
            let case = o.case_id.and_then(|id| states.remove(&id));
            opinion_view(o, case, now)
        })
        .collect();
    Ok(Json(Paged { items, total }))
}

/// Opinions a caller lists: a subtree they read, or (a resident) what they recorded themselves.
#[allow(clippy::too_many_arguments)]
pub async fn list_opinions(
    db: &Db,
    p: &Principal,
    grid: Option<&str>,
    status: Option<OpinionStatus>,
    flagged: bool,
    limit: i64,
    offset: i64,
    now: i64,
) -> AppResult<(Vec<OpinionRow>, i64)> {
    let own = !p.has(crate::auth::Capability::ReadRegistry);
    if own && !p.posts.iter().any(|x| x.role == crate::auth::Role::Resident) {
        return Err(AppError::new(StatusCode::FORBIDDEN, "forbidden", "该角色不能查看居民意见"));
    }
    let root = if own { p.district.clone() } else { service::list_root(p, grid)? };
    Ok(store::opinions(
        db,
        &store::OpinionFilter {
            district: &p.district,
            root: &root,
            status: status.map(|s| s.as_str()),
            waiting_since: flagged.then_some(now - rules::ANSWER_DAYS * 86_400_000),
            recorded_by: own.then_some(p.user_id),
            limit,
            offset,
        },
    )
    .await?)
}

#[utoipa::path(post, path = "/api/v1/opinions", tag = "councils", request_body = NewOpinion,
    responses((status = 201, body = Opinion), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_opinion(
    State(s): State<CouncilsState>,
    p: Principal,
    Json(n): Json<NewOpinion>,
) -> AppResult<(StatusCode, Json<Opinion>)> {
    let a = Acting::of(&s.db, &p).await?;
    let o = service::record_opinion(&s.db, &a, &n).await?;
    Ok((StatusCode::CREATED, Json(opinion_view(o, None, now_ms()))))
}

#[utoipa::path(get, path = "/api/v1/opinions/{id}", tag = "councils", params(("id" = Uuid, Path)),
    responses((status = 200, body = Opinion), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn opinion(State(s): State<CouncilsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Opinion>> {
    let a = Acting::of(&s.db, &p).await?;
    let (o, _) = service::opinion_for(&s.db, &a, id).await?;
    let case = service::case_state(&s.db, o.case_id).await?;
    Ok(Json(opinion_view(o, case, now_ms())))
}

#[utoipa::path(post, path = "/api/v1/opinions/{id}/answer", tag = "councils", params(("id" = Uuid, Path)), request_body = AnswerInput,
    responses((status = 200, body = Opinion), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn answer(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<AnswerInput>,
) -> AppResult<Json<Opinion>> {
    let a = Acting::of(&s.db, &p).await?;
    let o = service::answer_opinion(&s.cases, &a, id, &n).await?;
    let case = service::case_state(&s.db, o.case_id).await?;
    Ok(Json(opinion_view(o, case, now_ms())))
}

/// A meeting (its sign-in code only for those who lead the council).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Meeting {
    pub id: Uuid,
    pub council: Uuid,
    pub compound: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub title: String,
    pub place: String,
    pub starts_at: String,
    pub invitees: String,
    /// planned or held
    pub status: String,
    pub checkin_code: Option<String>,
    pub minutes: String,
}

pub fn meeting_view(m: MeetingRow, leads: bool) -> Meeting {
    Meeting {
        id: m.id,
        council: m.council_id,
        compound: m.grid_code,
        kind_label: MeetingKind::parse(&m.kind).map(|k| k.label()).unwrap_or(""),
        kind: m.kind,
        title: m.title,
        place: m.place,
        starts_at: rfc3339_ms(m.starts_at),
        invitees: m.invitees,
        status: m.status,
        checkin_code: leads.then_some(m.checkin_code),
        minutes: m.minutes,
    }
}

#[utoipa::path(post, path = "/api/v1/councils/{id}/meetings", tag = "councils", params(("id" = Uuid, Path)), request_body = NewMeeting,
    responses((status = 201, body = Meeting), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn schedule(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewMeeting>,
) -> AppResult<(StatusCode, Json<Meeting>)> {
    let a = Acting::of(&s.db, &p).await?;
    let m = service::schedule(&s.db, &a, id, &n).await?;
    Ok((StatusCode::CREATED, Json(meeting_view(m, true))))
}

#[utoipa::path(get, path = "/api/v1/meetings", tag = "councils", params(GridQuery),
    responses((status = 200, body = Paged<Meeting>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn meetings(State(s): State<CouncilsState>, p: Principal, Query(q): Query<GridQuery>) -> AppResult<Json<Paged<Meeting>>> {
    let (limit, offset) = q.limits()?;
    let root = service::list_root(&p, q.grid.as_deref())?;
    let (rows, total) = store::meetings_in(&s.db, &p.district, &root, 0, i64::MAX, limit, offset).await?;
    let leads = |m: &MeetingRow| p.can(crate::auth::Capability::WriteRegistry, &m.grid_code);
    Ok(Json(Paged {
        items: rows.into_iter().map(|m| (leads(&m), m)).map(|(l, m)| meeting_view(m, l)).collect(),
        total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attendee {
    pub resident: Uuid,
    pub name: String,
    /// code (self, by phone) or staff
    pub via: String,
    pub at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeetingDetail {
    #[serde(flatten)]
    pub meeting: Meeting,
    pub agenda: Vec<Opinion>,
    pub attendance: Vec<Attendee>,
    pub resolutions: Vec<Resolution>,
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "councils", params(("id" = Uuid, Path)),
    responses((status = 200, body = MeetingDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn meeting(State(s): State<CouncilsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<MeetingDetail>> {
    let a = Acting::of(&s.db, &p).await?;
    let (m, c) = service::meeting_for(&s.db, &a, id).await?;
    let now = now_ms();
    let opinions = store::opinions_of_meeting(&s.db, m.id).await?;
    let states = service::case_states(&s.db, opinions.iter().filter_map(|o| o.case_id)).await?;
    let agenda = opinions
        .into_iter()
        .map(|o| {
            let case = o.case_id.and_then(|id| states.get(&id).cloned());
            opinion_view(o, case, now)
        })
        .collect();
    let mut resolutions = Vec::new();
    for r in store::resolutions_of_meeting(&s.db, m.id).await? {
        resolutions.push(resolution_view(&s.db, r, now).await?);
    }
    let attendance = store::attendance(&s.db, m.id)
        .await?
        .into_iter()
        .map(|x| Attendee {
            resident: x.resident_id,
            name: x.name,
            via: x.via,
            at: rfc3339_ms(x.at_ms),
        })
        .collect();
    Ok(Json(MeetingDetail {
        meeting: meeting_view(m, a.leads(&c)),
        agenda,
        attendance,
        resolutions,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckInInput {
    /// The meeting's 6-digit sign-in code (full-width digits are read too).
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CheckedIn {
    pub meeting: Uuid,
    pub title: String,
    /// Points paid by the `council_meeting` rule (a volunteer's first sign-in), if any.
    pub points: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/meetings/checkin", tag = "councils", request_body = CheckInInput,
    responses((status = 200, body = CheckedIn), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_in(State(s): State<CouncilsState>, p: Principal, Json(n): Json<CheckInInput>) -> AppResult<Json<CheckedIn>> {
    let a = Acting::of(&s.db, &p).await?;
    let (m, points) = service::check_in(&s.db, &a, &n.code).await?;
    Ok(Json(CheckedIn {
        meeting: m.id,
        title: m.title,
        points,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PresentInput {
    pub resident: Uuid,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/attendance", tag = "councils", params(("id" = Uuid, Path)), request_body = PresentInput,
    responses((status = 200, body = CheckedIn), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark_present(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<PresentInput>,
) -> AppResult<Json<CheckedIn>> {
    let a = Acting::of(&s.db, &p).await?;
    let points = service::mark_present(&s.db, &a, id, n.resident).await?;
    let m = store::meeting(&s.db, id).await?.ok_or_else(AppError::internal)?;
    Ok(Json(CheckedIn {
        meeting: m.id,
        title: m.title,
        points,
    }))
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/minutes", tag = "councils", params(("id" = Uuid, Path)), request_body = MinutesInput,
    responses((status = 201, body = Vec<Resolution>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn minutes(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<MinutesInput>,
) -> AppResult<(StatusCode, Json<Vec<Resolution>>)> {
    let a = Acting::of(&s.db, &p).await?;
    let rows = service::record_minutes(&s.db, &a, id, &n).await?;
    let now = now_ms();
    let mut out = Vec::new();
    for r in rows {
        out.push(resolution_view(&s.db, r, now).await?);
    }
    Ok((StatusCode::CREATED, Json(out)))
}

/// A resolution and its state.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Resolution {
    pub id: Uuid,
    pub meeting: Uuid,
    pub compound: String,
    pub body: String,
    pub responsible: String,
    pub due_at: String,
    pub state: rules::ResolutionState,
    pub state_label: &'static str,
    pub case: Option<Uuid>,
    pub case_status: Option<String>,
    pub case_tracking_code: Option<String>,
    pub done_at: Option<String>,
    pub done_note: String,
}

pub async fn resolution_view(db: &Db, r: ResolutionRow, now: i64) -> AppResult<Resolution> {
    let case = service::case_state(db, r.case_id).await?;
    let state = rules::resolution_state(r.done_at, case.as_ref().map(|c| c.0.as_str()), r.due_at, now);
    Ok(Resolution {
        id: r.id,
        meeting: r.meeting_id,
        compound: r.grid_code,
        body: r.body,
        responsible: r.responsible,
        due_at: rfc3339_ms(r.due_at),
        state,
        state_label: state.label(),
        case: r.case_id,
        case_status: case.as_ref().map(|c| c.0.clone()),
        case_tracking_code: case.map(|c| c.2),
        done_at: r.done_at.map(rfc3339_ms),
        done_note: r.done_note,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ResolutionQuery {
    pub grid: Option<String>,
    /// `true`: only those past their deadline and not done.
    pub overdue: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/resolutions", tag = "councils", params(ResolutionQuery),
    responses((status = 200, body = Paged<Resolution>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolutions(
    State(s): State<CouncilsState>,
    p: Principal,
    Query(q): Query<ResolutionQuery>,
) -> AppResult<Json<Paged<Resolution>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let root = service::list_root(&p, q.grid.as_deref())?;
    let now = now_ms();
    let (rows, total) = store::resolutions_in(&s.db, &p.district, &root, (q.overdue == Some(true)).then_some(now), limit, offset).await?;
    let mut items = Vec::new();
    for r in rows {
        items.push(resolution_view(&s.db, r, now).await?);
    }
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ToCaseInput {
    /// A leaf case category, e.g. SQ03.
    pub category: String,
}

#[utoipa::path(post, path = "/api/v1/resolutions/{id}/case", tag = "councils", params(("id" = Uuid, Path)), request_body = ToCaseInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolution_case(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<ToCaseInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let a = Acting::of(&s.db, &p).await?;
    let c = service::resolution_to_case(&s.cases, &a, id, &n.category).await?;
    Ok((StatusCode::CREATED, Json(Created { id: c.id })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DoneInput {
    /// How it was carried out, 2–500 characters.
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/resolutions/{id}/done", tag = "councils", params(("id" = Uuid, Path)), request_body = DoneInput,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resolution_done(
    State(s): State<CouncilsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<DoneInput>,
) -> AppResult<StatusCode> {
    let a = Acting::of(&s.db, &p).await?;
    service::finish_resolution(&s.db, &a, id, &n.note).await?;
    Ok(StatusCode::NO_CONTENT)
}
