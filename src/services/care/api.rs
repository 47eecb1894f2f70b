//! Care visits API (关爱走访): who is due in the caller's grids, recording a visit, and the
//! district's schedule per care tag.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{self, Escalation, Schedule};
use super::service::{self, DueItem, NewVisit, ScheduleInput};
use crate::auth::Principal;
use crate::db::now_ms;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::services::ServicesState;
use crate::time::rfc3339_ms;
use crate::web::api::PageQuery;
use crate::web::extract::{Json, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DueQuery {
    /// A grid node (building, compound, community …); by default all of the caller's.
    pub grid: Option<String>,
    /// Also those due within this many days (0–31, default 0: due today and overdue).
    pub within: Option<i64>,
    /// Only those escalated: `compound` (late beyond the grace) or `community`.
    pub escalated: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One person due a visit.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DueEntry {
    pub resident: Uuid,
    /// As the registry shows it to the caller's role.
    pub name: String,
    /// The care tag whose visit is most pressing.
    pub tag: String,
    /// The building's grid code.
    pub grid: String,
    /// The due day's start, China time (RFC 3339).
    pub due_at: String,
    /// Calendar days overdue (0: due today or later).
    pub overdue: i64,
    /// none, compound or community: who has been alerted.
    pub escalation: &'static str,
    pub last_visit_at: Option<String>,
}

fn entry(i: &DueItem) -> DueEntry {
    DueEntry {
        resident: i.resident,
        name: i.name.clone(),
        tag: i.tag.to_string(),
        grid: i.grid.clone(),
        due_at: rfc3339_ms(rules::ms_of_day(i.standing.due)),
        overdue: i.standing.overdue_days,
        escalation: i.standing.escalation.as_str(),
        last_visit_at: i.last_visit_at.map(rfc3339_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DuePage {
    pub items: Vec<DueEntry>,
    pub total: i64,
}

/// The due list the query asks for, every item (the list pages it; its ledger writes it all).
pub async fn due_items(s: &ServicesState, p: &Principal, q: &DueQuery) -> AppResult<Vec<DueItem>> {
    let roots = service::read_roots(p, q.grid.as_deref())?;
    let within = q.within.unwrap_or(0);
    if !(0..=31).contains(&within) {
        return Err(AppError::invalid("invalid_within", "提前天数应为0至31"));
    }
    let level = match q.escalated.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("compound") => Some(Escalation::Compound),
        Some("community") => Some(Escalation::Community),
        Some(_) => return Err(AppError::invalid("invalid_escalated", "escalated 应为 compound 或 community")),
    };
    let today = rules::day_of_ms(now_ms());
    let until = today.checked_add(jiff::Span::new().days(within)).unwrap_or(today);
    let all = service::due(&s.db, &s.cases.calendar, &p.district, &roots, today).await?;
    let mut items = service::due_by(all, until);
    if let Some(l) = level {
        items = service::escalated(items, l);
    }
    Ok(items)
}

#[utoipa::path(get, path = "/api/v1/care/due", tag = "services", params(DueQuery),
    responses((status = 200, body = DuePage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn due(State(s): State<ServicesState>, p: Principal, Query(q): Query<DueQuery>) -> AppResult<Json<DuePage>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let items = due_items(&s, &p, &q).await?;
    Ok(Json(DuePage {
        total: items.len() as i64,
        items: items.iter().skip(offset as usize).take(limit as usize).map(entry).collect(),
    }))
}

/// A visit as the phone sends it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct VisitInput {
    pub resident: Uuid,
    /// What was found, up to 1,000 characters.
    pub note: String,
    /// good, fair, poor or absent (未见到本人: recorded, the schedule still runs); default good.
    #[serde(default)]
    pub condition: String,
    /// Needs found, up to 500 characters.
    #[serde(default)]
    pub needs: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Visit {
    pub id: Uuid,
    pub resident: Uuid,
    pub visited_at: String,
    pub condition: String,
    /// in_building, outside or unknown (the phone's position against the building).
    pub located: String,
    /// The next visit's day, if the person was seen.
    pub next_due_at: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/care/visits", tag = "services", request_body = VisitInput,
    responses((status = 201, body = Visit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record(State(s): State<ServicesState>, p: Principal, Json(v): Json<VisitInput>) -> AppResult<(StatusCode, Json<Visit>)> {
    let input = NewVisit {
        resident: v.resident,
        condition: v.condition,
        note: v.note,
        needs: v.needs,
        lat: v.lat,
        lng: v.lng,
    };
    let r = service::record_visit(&s.db, &s.cases.data_dir, &p, &input, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(Visit {
            id: r.visit.id,
            resident: r.visit.resident_id,
            visited_at: rfc3339_ms(r.visit.visited_at),
            condition: r.visit.condition,
            located: r.visit.located,
            next_due_at: r.next_due.map(|d| rfc3339_ms(rules::ms_of_day(d))),
        }),
    ))
}

/// A care tag's schedule.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ScheduleOut {
    pub tag: String,
    /// day, week or month.
    pub unit: &'static str,
    pub count: u32,
    /// 每周, 每月, 每季度 …
    pub label: String,
    pub grace_days: u32,
    pub active: bool,
}

fn schedule_out(s: &Schedule) -> ScheduleOut {
    ScheduleOut {
        tag: s.tag.to_string(),
        unit: s.every.unit(),
        count: s.every.count(),
        label: s.every.label(),
        grace_days: s.grace_days,
        active: s.active,
    }
}

#[utoipa::path(get, path = "/api/v1/care/schedules", tag = "services",
    responses((status = 200, body = Vec<ScheduleOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn schedules(State(s): State<ServicesState>, p: Principal) -> AppResult<Json<Vec<ScheduleOut>>> {
    service::read_roots(&p, None)?;
    Ok(Json(
        service::schedules(&s.db, &p.district).await?.iter().map(schedule_out).collect(),
    ))
}

#[utoipa::path(put, path = "/api/v1/care/schedules", tag = "services", request_body = ScheduleInput,
    responses((status = 200, body = ScheduleOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn save_schedule(State(s): State<ServicesState>, p: Principal, Json(input): Json<ScheduleInput>) -> AppResult<Json<ScheduleOut>> {
    let saved = service::save_schedule(&s.db, &p, &input).await?;
    Ok(Json(schedule_out(&saved)))
}
