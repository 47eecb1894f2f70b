//! Dispute mediation API (矛盾纠纷调解): disputes, sessions, outcome, follow-up, counts. Private:
//! never on Open311 or public pages; parties' names are masked in lists.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{self, Status};
use super::service::{self, NewDispute, NewFollowUp, NewOutcome, NewSession};
use super::store::{self, DisputeRow};
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::services::ServicesState;
use crate::time::rfc3339_ms;
use crate::web::extract::{Json, Path, Query};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Dispute {
    pub id: Uuid,
    pub grid: String,
    pub grid_name: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub summary: String,
    pub status: String,
    pub status_label: &'static str,
    /// Masked (张**) in lists; in full on the dispute itself, for its mediators and managers.
    pub parties: Vec<String>,
    pub terms: Option<String>,
    pub referral: Option<String>,
    pub referral_label: &'static str,
    pub referral_note: String,
    /// The private case a referral opened.
    pub case: Option<Uuid>,
    pub outcome_at: Option<String>,
    pub follow_up_due: Option<String>,
    pub followed_up_at: Option<String>,
    pub follow_up_note: String,
    pub sessions: i64,
    pub created_by: String,
    pub created_at: String,
}

pub fn view(d: DisputeRow, parties: Vec<String>) -> Dispute {
    Dispute {
        id: d.id,
        grid: d.grid_code,
        grid_name: d.grid_name,
        kind_label: rules::kind_label(&d.kind),
        kind: d.kind,
        summary: d.summary,
        status_label: Status::parse(&d.status).map_or("", Status::label),
        status: d.status,
        parties,
        terms: d.terms,
        referral_label: d.referral.as_deref().map_or("", rules::referral_label),
        referral: d.referral,
        referral_note: d.referral_note,
        case: d.case_id,
        outcome_at: d.outcome_at.map(rfc3339_ms),
        follow_up_due: d.follow_up_due,
        followed_up_at: d.followed_up_at.map(rfc3339_ms),
        follow_up_note: d.follow_up_note,
        sessions: d.sessions,
        created_by: d.created_by,
        created_at: rfc3339_ms(d.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Session {
    pub held_on: String,
    pub note: String,
    pub recorded_by: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DisputeDetail {
    #[serde(flatten)]
    pub dispute: Dispute,
    pub mediators: Vec<String>,
    pub session_list: Vec<Session>,
    /// Whether the caller is one of its mediators.
    pub is_mediator: bool,
}

pub async fn detail(db: &crate::db::Db, d: DisputeRow, is_mediator: bool) -> AppResult<DisputeDetail> {
    let parties = store::parties(db, d.id).await?;
    let mediators = store::mediators(db, d.id).await?.into_iter().map(|m| m.1).collect();
    let session_list = store::sessions(db, d.id)
        .await?
        .into_iter()
        .map(|s| Session {
            held_on: s.held_on,
            note: s.note,
            recorded_by: s.recorded_by,
        })
        .collect();
    Ok(DisputeDetail {
        dispute: view(d, parties),
        mediators,
        session_list,
        is_mediator,
    })
}

/// Lists, with parties masked.
pub async fn listed(db: &crate::db::Db, rows: Vec<DisputeRow>) -> AppResult<Vec<Dispute>> {
    let mut out = Vec::with_capacity(rows.len());
    for d in rows {
        let parties = store::parties(db, d.id)
            .await?
            .iter()
            .map(|n| crate::identity::mask_name(n))
            .collect();
        out.push(view(d, parties));
    }
    Ok(out)
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Disputes under this node (staff who manage it); default the caller's widest.
    pub grid: Option<String>,
    /// true: the disputes the caller mediates.
    pub mine: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/mediation/disputes", tag = "services", params(ListQuery),
    responses((status = 200, body = Vec<Dispute>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<ServicesState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Vec<Dispute>>> {
    let rows = if q.mine == Some(true) {
        store::of_mediator(&s.db, p.user_id, 200).await?
    } else {
        let root = service::list_root(&p, q.grid.as_deref())?;
        store::under(&s.db, &p.district, &root, 200).await?
    };
    Ok(Json(listed(&s.db, rows).await?))
}

#[utoipa::path(post, path = "/api/v1/mediation/disputes", tag = "services", request_body = NewDispute,
    responses((status = 201, body = DisputeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<ServicesState>,
    p: Principal,
    Json(n): Json<NewDispute>,
) -> AppResult<(StatusCode, Json<DisputeDetail>)> {
    let d = service::create(&s.db, &p, &n).await?;
    let (d, a) = service::dispute_for(&s.db, &p, d.id).await?;
    Ok((StatusCode::CREATED, Json(detail(&s.db, d, a.mediator).await?)))
}

#[utoipa::path(get, path = "/api/v1/mediation/disputes/{id}", tag = "services", params(("id" = Uuid, Path)),
    responses((status = 200, body = DisputeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(State(s): State<ServicesState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<DisputeDetail>> {
    let (d, a) = service::dispute_for(&s.db, &p, id).await?;
    Ok(Json(detail(&s.db, d, a.mediator).await?))
}

async fn refreshed(s: &ServicesState, p: &Principal, id: Uuid) -> AppResult<Json<DisputeDetail>> {
    let (d, a) = service::dispute_for(&s.db, p, id).await?;
    Ok(Json(detail(&s.db, d, a.mediator).await?))
}

#[utoipa::path(post, path = "/api/v1/mediation/disputes/{id}/sessions", tag = "services", params(("id" = Uuid, Path)), request_body = NewSession,
    responses((status = 200, body = DisputeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_session(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewSession>,
) -> AppResult<Json<DisputeDetail>> {
    service::add_session(&s.db, &p, id, &n).await?;
    refreshed(&s, &p, id).await
}

#[utoipa::path(post, path = "/api/v1/mediation/disputes/{id}/outcome", tag = "services", params(("id" = Uuid, Path)), request_body = NewOutcome,
    responses((status = 200, body = DisputeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn decide(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewOutcome>,
) -> AppResult<Json<DisputeDetail>> {
    service::decide(&s, &p, id, &n).await?;
    refreshed(&s, &p, id).await
}

#[utoipa::path(post, path = "/api/v1/mediation/disputes/{id}/follow-up", tag = "services", params(("id" = Uuid, Path)), request_body = NewFollowUp,
    responses((status = 200, body = DisputeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn follow_up(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewFollowUp>,
) -> AppResult<Json<DisputeDetail>> {
    service::follow_up(&s.db, &p, id, &n).await?;
    refreshed(&s, &p, id).await
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CountQuery {
    /// A street (or any node the caller manages).
    pub grid: Option<String>,
    /// Default: this year.
    pub year: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Count {
    /// 2026-05
    pub month: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub disputes: i64,
    pub agreements: i64,
}

#[utoipa::path(get, path = "/api/v1/mediation/counts", tag = "services", params(CountQuery),
    responses((status = 200, body = Vec<Count>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn counts(State(s): State<ServicesState>, p: Principal, Query(q): Query<CountQuery>) -> AppResult<Json<Vec<Count>>> {
    let root = service::list_root(&p, q.grid.as_deref())?;
    Ok(Json(count_rows(&s.db, &p, &root, q.year).await?))
}

pub async fn count_rows(db: &crate::db::Db, p: &Principal, root: &str, year: Option<i64>) -> AppResult<Vec<Count>> {
    debug_assert!(p.can(Capability::ManageGrid, root));
    let this_year: i64 = crate::time::month_ms(crate::db::now_ms())
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2026);
    let year = year.unwrap_or(this_year);
    if !(2000..=2100).contains(&year) {
        return Err(AppError::invalid("invalid_year", "年份应在2000至2100之间"));
    }
    Ok(store::counts(db, &p.district, root, year)
        .await?
        .into_iter()
        .map(|(month, kind, disputes, agreements)| Count {
            month,
            kind_label: rules::kind_label(&kind),
            kind,
            disputes,
            agreements,
        })
        .collect())
}
