//! Red proxy service API (红色代办): the district's list of matters, matters with their steps and
//! document receipts, the agent's list and the community's watch list.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{self, DocState, Status};
use super::service::{self, Confirm, NewDocument, NewKind, NewMatter, NewStep, Rating, Return};
use super::store::{self, DocRow, KindRow, MatterRow, Which};
use crate::auth::Principal;
use crate::db::now_ms;
use crate::error::{AppResult, ErrorBody};
use crate::services::ServicesState;
use crate::time::rfc3339_ms;
use crate::web::extract::{Json, Path, Query};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Kind {
    pub id: Uuid,
    pub name: String,
    pub documents: String,
    pub limit_days: i64,
    pub active: bool,
}

fn kind_view(k: KindRow) -> Kind {
    Kind {
        id: k.id,
        name: k.name,
        documents: k.documents,
        limit_days: k.limit_days,
        active: k.active,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Matter {
    pub id: Uuid,
    pub grid: String,
    pub resident: Uuid,
    /// Masked in lists (张**), in full on the matter itself.
    pub person: String,
    /// The registry's care tags (独居老人 …).
    pub tags: Vec<String>,
    pub kind: String,
    pub via: String,
    pub note: String,
    pub status: String,
    pub status_label: &'static str,
    pub agent: String,
    pub due_at: String,
    /// The due day, China time.
    pub due_on: String,
    pub overdue: bool,
    pub created_at: String,
    pub done_at: Option<String>,
    pub rating: Option<i64>,
    /// Documents not yet confirmed back with the person.
    pub documents_out: i64,
}

pub fn matter_view(m: MatterRow, full_name: bool, now: i64) -> Matter {
    let st = Status::parse(&m.status).unwrap_or(Status::Done);
    Matter {
        id: m.id,
        grid: m.grid_code,
        resident: m.resident_id,
        person: if full_name {
            m.person_name
        } else {
            crate::identity::mask_name(&m.person_name)
        },
        tags: m.person_tags.split(',').filter(|t| !t.is_empty()).map(String::from).collect(),
        kind: m.kind_name,
        via: m.via,
        note: m.note,
        status_label: st.label(),
        status: m.status,
        agent: m.agent_name,
        overdue: rules::overdue(st, m.due_at, now),
        due_at: rfc3339_ms(m.due_at),
        due_on: crate::time::day_ms(m.due_at),
        created_at: rfc3339_ms(m.created_at),
        done_at: m.done_at.map(rfc3339_ms),
        rating: m.rating,
        documents_out: m.docs_out,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Document {
    pub id: Uuid,
    pub name: String,
    /// offered, held, return_offered, returned
    pub state: String,
    pub state_label: &'static str,
    pub handed_at: String,
    pub handed_by: String,
    /// The person's confirmation of the hand-over.
    pub person_handed_at: Option<String>,
    pub returned_at: Option<String>,
    pub returned_by: Option<String>,
    /// The person's confirmation that they have it back.
    pub person_returned_at: Option<String>,
}

pub fn doc_view(d: DocRow) -> Document {
    Document {
        id: d.id,
        name: d.name,
        state_label: DocState::parse(&d.state).map_or("", DocState::label),
        state: d.state,
        handed_at: rfc3339_ms(d.handed_at),
        handed_by: d.handed_by,
        person_handed_at: d.person_handed_at.map(rfc3339_ms),
        returned_at: d.returned_at.map(rfc3339_ms),
        returned_by: d.returned_by,
        person_returned_at: d.person_returned_at.map(rfc3339_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Step {
    pub note: String,
    pub by: String,
    pub at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MatterDetail {
    #[serde(flatten)]
    pub matter: Matter,
    pub steps: Vec<Step>,
    pub documents: Vec<Document>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    #[serde(flatten)]
    pub matter: Matter,
    /// The six-digit code for the person's slip (回执确认码): shown only now.
    pub code: String,
}

#[utoipa::path(get, path = "/api/v1/proxy/kinds", tag = "services",
    responses((status = 200, body = Vec<Kind>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn kinds(State(s): State<ServicesState>, p: Principal) -> AppResult<Json<Vec<Kind>>> {
    Ok(Json(store::kinds(&s.db, &p.district).await?.into_iter().map(kind_view).collect()))
}

#[utoipa::path(post, path = "/api/v1/proxy/kinds", tag = "services", request_body = NewKind,
    responses((status = 200, body = Kind), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn save_kind(State(s): State<ServicesState>, p: Principal, Json(k): Json<NewKind>) -> AppResult<Json<Kind>> {
    Ok(Json(kind_view(service::save_kind(&s.db, &p, &k).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Matters of people living under this node (default: the caller's widest).
    pub grid: Option<String>,
    /// open, taken, done
    pub status: Option<String>,
    /// true: the caller's own matters as an agent.
    pub mine: Option<bool>,
}

impl ListQuery {
    /// The status filter, checked.
    pub fn status(&self) -> AppResult<Option<&str>> {
        let status = self.status.as_deref().filter(|x| !x.is_empty());
        if status.is_some_and(|x| Status::parse(x).is_none()) {
            return Err(crate::error::AppError::invalid("invalid_status", "状态应为 open、taken 或 done"));
        }
        Ok(status)
    }
}

#[utoipa::path(get, path = "/api/v1/proxy/matters", tag = "services", params(ListQuery),
    responses((status = 200, body = Vec<Matter>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<ServicesState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Vec<Matter>>> {
    let now = now_ms();
    if q.mine == Some(true) {
        let rows = store::matters(&s.db, &p.district, Which::Agent(p.user_id), 500).await?;
        return Ok(Json(rows.into_iter().map(|m| matter_view(m, true, now)).collect()));
    }
    let root = service::list_root(&p, q.grid.as_deref())?;
    let status = q.status()?;
    let rows = store::matters(&s.db, &p.district, Which::Under { root: &root, status }, 500).await?;
    Ok(Json(rows.into_iter().map(|m| matter_view(m, false, now)).collect()))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct WatchQuery {
    /// A community (or any node the caller reads).
    pub grid: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/proxy/watch", tag = "services", params(WatchQuery),
    responses((status = 200, body = Vec<Matter>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn watch(State(s): State<ServicesState>, p: Principal, Query(q): Query<WatchQuery>) -> AppResult<Json<Vec<Matter>>> {
    let root = service::list_root(&p, q.grid.as_deref())?;
    let now = now_ms();
    let rows = store::matters(&s.db, &p.district, Which::Watch { root: &root, now }, 500).await?;
    Ok(Json(rows.into_iter().map(|m| matter_view(m, false, now)).collect()))
}

#[utoipa::path(post, path = "/api/v1/proxy/matters", tag = "services", request_body = NewMatter,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(State(s): State<ServicesState>, p: Principal, Json(n): Json<NewMatter>) -> AppResult<(StatusCode, Json<Created>)> {
    let (m, code) = service::create(&s.db, &s.cases.calendar, &p, &n).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            matter: matter_view(m, true, now_ms()),
            code,
        }),
    ))
}

pub async fn detail(s: &ServicesState, m: MatterRow) -> AppResult<MatterDetail> {
    let steps = store::steps(&s.db, m.id).await?;
    let docs = store::documents(&s.db, m.id).await?;
    Ok(MatterDetail {
        matter: matter_view(m, true, now_ms()),
        steps: steps
            .into_iter()
            .map(|x| Step {
                note: x.note,
                by: x.by_name,
                at: rfc3339_ms(x.at_ms),
            })
            .collect(),
        documents: docs.into_iter().map(doc_view).collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/proxy/matters/{id}", tag = "services", params(("id" = Uuid, Path)),
    responses((status = 200, body = MatterDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(State(s): State<ServicesState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<MatterDetail>> {
    let m = service::matter_for(&s.db, &p, id).await?;
    Ok(Json(detail(&s, m).await?))
}

async fn refreshed(s: &ServicesState, p: &Principal, id: Uuid) -> AppResult<Json<MatterDetail>> {
    let m = service::matter_for(&s.db, p, id).await?;
    Ok(Json(detail(s, m).await?))
}

#[utoipa::path(post, path = "/api/v1/proxy/matters/{id}/take", tag = "services", params(("id" = Uuid, Path)),
    responses((status = 200, body = MatterDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn take(State(s): State<ServicesState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<MatterDetail>> {
    service::take(&s.db, &p, id).await?;
    refreshed(&s, &p, id).await
}

#[utoipa::path(post, path = "/api/v1/proxy/matters/{id}/steps", tag = "services", params(("id" = Uuid, Path)), request_body = NewStep,
    responses((status = 200, body = MatterDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_step(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewStep>,
) -> AppResult<Json<MatterDetail>> {
    service::add_step(&s.db, &p, id, &n).await?;
    refreshed(&s, &p, id).await
}

#[utoipa::path(post, path = "/api/v1/proxy/matters/{id}/documents", tag = "services", params(("id" = Uuid, Path)), request_body = NewDocument,
    responses((status = 201, body = Document), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hand_over(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewDocument>,
) -> AppResult<(StatusCode, Json<Document>)> {
    Ok((StatusCode::CREATED, Json(doc_view(service::hand_over(&s.db, &p, id, &n).await?))))
}

#[utoipa::path(post, path = "/api/v1/proxy/documents/{id}/confirm", tag = "services", params(("id" = Uuid, Path)), request_body = Confirm,
    responses((status = 200, body = Document), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(c): Json<Confirm>,
) -> AppResult<Json<Document>> {
    Ok(Json(doc_view(service::confirm(&s.db, &p, id, &c).await?)))
}

#[utoipa::path(post, path = "/api/v1/proxy/documents/{id}/return", tag = "services", params(("id" = Uuid, Path)), request_body = Return,
    responses((status = 200, body = Document), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn give_back(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(r): Json<Return>,
) -> AppResult<Json<Document>> {
    Ok(Json(doc_view(service::give_back(&s.db, &p, id, &r).await?)))
}

#[utoipa::path(post, path = "/api/v1/proxy/matters/{id}/done", tag = "services", params(("id" = Uuid, Path)),
    responses((status = 200, body = MatterDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn finish(State(s): State<ServicesState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<MatterDetail>> {
    service::finish(&s.db, &p, id).await?;
    refreshed(&s, &p, id).await
}

#[utoipa::path(post, path = "/api/v1/proxy/matters/{id}/rating", tag = "services", params(("id" = Uuid, Path)), request_body = Rating,
    responses((status = 200, body = MatterDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rate(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(r): Json<Rating>,
) -> AppResult<Json<MatterDetail>> {
    service::rate(&s.db, &p, id, &r).await?;
    refreshed(&s, &p, id).await
}
