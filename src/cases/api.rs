//! Case API: categories, deadline preview, report (idempotent), board, detail with timeline, actions.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::CasesState;
use super::categories::{self, CategoryRow, Limit};
use super::service::{AssessmentReport, NewCase, Reporter, act_as, assessment_for, load, merge_as, parse_instant, submit_named};
use super::store::{self, CaseFilter, CaseRow};
use super::workflow::{Action, Rating, Status};
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::grid::store as grids;
use crate::registry::units;
use crate::web::api::idempotency_key;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

pub fn routes() -> Router<CasesState> {
    Router::new()
        .route("/api/v1/case-categories", get(list_categories).post(create_category))
        .route("/api/v1/case-categories/{code}", axum::routing::patch(update_category))
        .route("/api/v1/calendar/due", get(preview_due))
        .route("/api/v1/cases", get(board).post(report))
        .route("/api/v1/cases/{id}", get(get_case))
        .route("/api/v1/cases/{id}/actions", post(act))
        .route("/api/v1/assessment", get(assessment))
        .route("/api/v1/cases/{id}/merge", post(merge))
        .route(
            "/api/v1/cases/{id}/attachments",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(super::attachments::MAX_BYTES + 1)),
        )
        .route("/api/v1/cases/{id}/attachments/{sha256}", get(download))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
    /// community, component (部件), event (事件)
    pub kind: String,
    pub limit: Option<Limit>,
    /// The lowest grid level (5 building … 1 district) that may close it.
    pub close_level: i64,
    pub default_unit: Option<Uuid>,
    /// Extra questions asked at report (also the Open311 service attributes).
    pub fields: Vec<super::attributes::Field>,
    /// A compound's property company handles it, and is offered first when sending it out.
    pub property_serves: bool,
}

fn category_to_api(c: &CategoryRow) -> Category {
    Category {
        code: c.code.clone(),
        name: c.name.clone(),
        parent: c.parent_code.clone(),
        kind: c.kind.clone(),
        limit: c.limit(),
        close_level: c.close_level,
        default_unit: c.default_unit_id,
        fields: c.fields(),
        property_serves: c.property_serves,
    }
}

#[utoipa::path(get, path = "/api/v1/case-categories", tag = "cases",
    responses((status = 200, body = Paged<Category>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_categories(State(s): State<CasesState>, p: Principal) -> AppResult<Json<Paged<Category>>> {
    let rows = categories::list(&s.db, &p.district).await?;
    Ok(Json(Paged {
        total: rows.len() as i64,
        items: rows.iter().map(category_to_api).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DueQuery {
    /// RFC 3339 instant.
    pub from: String,
    pub working_days: Option<u32>,
    pub hours: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Due {
    /// RFC 3339, China time.
    pub due_at: String,
}

#[utoipa::path(get, path = "/api/v1/calendar/due", tag = "cases", params(DueQuery),
    responses((status = 200, body = Due), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn preview_due(State(s): State<CasesState>, _p: Principal, Query(q): Query<DueQuery>) -> AppResult<Json<Due>> {
    let from = parse_instant(&q.from)?;
    let due = match (q.working_days, q.hours) {
        (Some(n), None) if n <= 365 => s.calendar.add_working_days(from, n),
        (None, Some(h)) if h <= 24 * 365 => s.calendar.add_hours(from, h),
        _ => {
            return Err(AppError::invalid(
                "invalid_limit",
                "请只给出 working_days（0–365）或 hours（0–8760）之一",
            ));
        }
    };
    Ok(Json(Due {
        due_at: crate::time::rfc3339_ms(due.as_millisecond()),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NamedRef {
    pub code: String,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UnitRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub note: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WhistleEntry {
    pub unit: UnitRef,
    pub due_at: String,
    pub acknowledged_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Case {
    pub id: Uuid,
    pub tracking_code: String,
    pub status: Status,
    pub status_label: String,
    pub category: NamedRef,
    pub description: String,
    pub grid: NamedRef,
    /// The grid level answering for it now.
    pub level: i64,
    pub unit: Option<UnitRef>,
    pub source: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub reported_at: String,
    pub due_at: String,
    pub overdue: bool,
    pub rework: i64,
    pub rating: Option<Rating>,
    /// Flagged at report: a likely duplicate of this open case.
    pub duplicate_of: Option<Uuid>,
    /// Answers to the category's `fields`.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// Private: the description never leaves through Open311.
    pub private: bool,
    /// Merged: handled as part of this case.
    pub merged_into: Option<Uuid>,
    pub whistles: Vec<WhistleEntry>,
    pub attachments: Vec<Attachment>,
    pub timeline: Vec<TimelineEntry>,
}

async fn unit_ref(s: &CasesState, id: Uuid) -> AppResult<UnitRef> {
    let name = units::get(&s.db, id).await?.map(|u| u.name).unwrap_or_default();
    Ok(UnitRef { id, name })
}

/// A case as the API shows it, with its timeline and whistles.
pub async fn case_json(s: &CasesState, c: &CaseRow, viewer: &Principal) -> AppResult<Case> {
    let mut out = to_api(s, c, true).await?;
    for_viewer(&mut out, viewer);
    Ok(out)
}

/// What a resident may read of a timeline, as `/track` shows it: their own steps under their
/// name, every other step as 工作人员, and only the notes that answer them.
fn for_viewer(case: &mut Case, viewer: &Principal) {
    if !super::permissions::resident_only(viewer) {
        return;
    }
    for e in &mut case.timeline {
        if !matches!(e.action.as_str(), "report" | "rate") {
            e.actor = "工作人员".into();
        }
        if !store::note_is_public(&e.action) {
            e.note.clear();
        }
    }
}

async fn to_api(s: &CasesState, c: &CaseRow, with_timeline: bool) -> AppResult<Case> {
    let cat = categories::get(&s.db, &c.district, &c.category_code).await?;
    let grid_name = grids::get(&s.db, &c.grid_code).await?.map(|g| g.name).unwrap_or_default();
    let unit = match c.unit_id {
        Some(u) => Some(unit_ref(s, u).await?),
        None => None,
    };
    let (timeline, whistles) = if with_timeline {
        let ev = store::events(&s.db, c.id).await?;
        let mut ws = Vec::new();
        for w in store::whistles(&s.db, c.id).await? {
            ws.push(WhistleEntry {
                unit: unit_ref(s, w.unit_id).await?,
                due_at: crate::time::rfc3339_ms(w.due_at),
                acknowledged_at: w.acknowledged_at.map(crate::time::rfc3339_ms),
            });
        }
        let tl = ev
            .into_iter()
            .map(|e| TimelineEntry {
                at: crate::time::rfc3339_ms(e.at_ms),
                actor: e.actor_name,
                action: e.action,
                note: e.note,
            })
            .collect();
        (tl, ws)
    } else {
        (Vec::new(), Vec::new())
    };
    let status = c.status();
    Ok(Case {
        id: c.id,
        tracking_code: c.tracking_code.clone(),
        status,
        status_label: c.status_label().into(),
        category: NamedRef {
            code: c.category_code.clone(),
            name: cat.map(|x| x.name).unwrap_or_default(),
        },
        description: c.description.clone(),
        grid: NamedRef {
            code: c.grid_code.clone(),
            name: grid_name,
        },
        level: c.level,
        unit,
        source: c.source.clone(),
        lat: c.lat,
        lng: c.lng,
        reported_at: crate::time::rfc3339_ms(c.reported_at),
        due_at: crate::time::rfc3339_ms(c.due_at),
        overdue: c.overdue(crate::db::now_ms()),
        rework: c.rework,
        rating: c.rating(),
        duplicate_of: c.duplicate_of,
        attributes: serde_json::from_str(&c.attributes).unwrap_or_default(),
        private: c.private,
        merged_into: c.merged_into,
        whistles,
        attachments: if with_timeline {
            super::attachments::list(&s.db, c.id)
                .await?
                .iter()
                .map(|a| attachment_to_api(c.id, a))
                .collect()
        } else {
            Vec::new()
        },
        timeline,
    })
}

#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = NewCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "Client-made key; the same key returns the same case")),
    responses((status = 201, body = Case), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    State(s): State<CasesState>,
    p: Principal,
    headers: HeaderMap,
    Json(input): Json<NewCase>,
) -> AppResult<(StatusCode, HeaderMap, Json<Case>)> {
    let key = idempotency_key(&headers)?;
    let (c, replayed, (category_name, grid_name)) = submit_named(&s, Reporter::User(&p), &input, key.as_deref()).await?;
    let mut h = HeaderMap::new();
    if replayed {
        h.insert("idempotent-replayed", "true".parse().map_err(|_| AppError::internal())?);
        return Ok((StatusCode::CREATED, h, Json(case_json(&s, &c, &p).await?)));
    }
    // Routed (智能分派): filed, maybe dispatched, with the router's line in the timeline.
    if input.category.trim().is_empty() {
        return Ok((StatusCode::CREATED, h, Json(case_json(&s, &c, &p).await?)));
    }
    // A new case: everything the answer needs is at hand.
    let at = crate::time::rfc3339_ms(c.reported_at);
    let case = Case {
        id: c.id,
        tracking_code: c.tracking_code.clone(),
        status: Status::Reported,
        status_label: Status::Reported.label().into(),
        category: NamedRef {
            code: c.category_code.clone(),
            name: category_name,
        },
        description: c.description.clone(),
        grid: NamedRef {
            code: c.grid_code.clone(),
            name: grid_name,
        },
        level: c.level,
        unit: None,
        source: c.source.clone(),
        lat: c.lat,
        lng: c.lng,
        reported_at: at.clone(),
        due_at: crate::time::rfc3339_ms(c.due_at),
        overdue: c.overdue(crate::db::now_ms()),
        rework: 0,
        rating: None,
        duplicate_of: c.duplicate_of,
        attributes: serde_json::from_str(&c.attributes).unwrap_or_default(),
        private: c.private,
        merged_into: None,
        whistles: Vec::new(),
        attachments: Vec::new(),
        timeline: vec![TimelineEntry {
            at,
            actor: p.display_name.clone(),
            action: "report".into(),
            note: c.description.clone(),
        }],
    };
    Ok((StatusCode::CREATED, h, Json(case)))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = Uuid, Path)),
    responses((status = 200, body = Case), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_case(State(s): State<CasesState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Case>> {
    let c = load(&s, &p, id).await?;
    Ok(Json(case_json(&s, &c, &p).await?))
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/actions", tag = "cases", params(("id" = Uuid, Path)), request_body = Action,
    responses((status = 200, body = Case), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(State(s): State<CasesState>, p: Principal, Path(id): Path<Uuid>, Json(action): Json<Action>) -> AppResult<Json<Case>> {
    let c = act_as(&s, &p, id, &action, None).await?;
    Ok(Json(case_json(&s, &c, &p).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct BoardQuery {
    pub grid: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub unit: Option<Uuid>,
    pub overdue: Option<bool>,
    /// Only what the caller reported (我的反映), wherever it is; any signed-in user.
    pub mine: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Whose cases a board query reads, decided once for the board and its Excel ledger: grid staff
/// their subtree, unit staff what is dispatched to their unit, anyone what they reported.
pub struct BoardScope {
    pub grid: Option<String>,
    pub unit: Option<Uuid>,
    pub mine: bool,
}

impl BoardScope {
    /// The board's filter for this scope (no page).
    pub fn filter<'a>(&'a self, p: &'a Principal, q: &'a BoardQuery) -> CaseFilter<'a> {
        CaseFilter {
            district: &p.district,
            grid: self.grid.as_deref(),
            status: q.status.as_deref().filter(|x| !x.is_empty()),
            category: q.category.as_deref().filter(|x| !x.is_empty()),
            unit: self.unit,
            overdue_at: q.overdue.filter(|o| *o).map(|_| crate::db::now_ms()),
            reporter: self.mine.then_some(p.user_id),
            ..Default::default()
        }
    }
}

pub async fn board_scope(db: &crate::db::Db, p: &Principal, q: &BoardQuery) -> AppResult<BoardScope> {
    if let Some(st) = q.status.as_deref().filter(|x| !x.is_empty())
        && Status::parse(st).is_none()
    {
        return Err(AppError::invalid("invalid_status", format!("未知状态「{st}」")));
    }
    let mine = q.mine == Some(true);
    let own_unit = p.posts.iter().find_map(|x| x.unit_id);
    let grid = match q.grid.as_deref().filter(|g| !g.is_empty()) {
        Some(g) => Some(
            crate::grid::service::load(db, p, g, crate::auth::Capability::ReadRegistry)
                .await?
                .code,
        ),
        None => p.roots(crate::auth::Capability::ReadRegistry).into_iter().next(),
    };
    let (grid, unit) = match (mine, grid.is_some(), own_unit) {
        (true, _, _) => (None, None),
        (false, true, _) => (grid, q.unit),
        (false, false, Some(u)) => (None, Some(u)),
        (false, false, None) => return Err(AppError::forbidden()),
    };
    Ok(BoardScope { grid, unit, mine })
}

#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(BoardQuery),
    responses((status = 200, body = Paged<Case>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn board(State(s): State<CasesState>, p: Principal, Query(q): Query<BoardQuery>) -> AppResult<Json<Paged<Case>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let scope = board_scope(&s.db, &p, &q).await?;
    let f = CaseFilter {
        limit,
        offset,
        ..scope.filter(&p, &q)
    };
    let (rows, total) = store::list(&s.db, &f).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in &rows {
        items.push(to_api(&s, r, false).await?);
    }
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AssessmentQuery {
    /// unit, street or community
    pub by: String,
    /// Start (RFC 3339 or YYYY-MM-DD, China time); default 30 days ago.
    pub from: Option<String>,
    /// End, exclusive; default now.
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/assessment", tag = "cases", params(AssessmentQuery),
    responses((status = 200, body = AssessmentReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assessment(State(s): State<CasesState>, p: Principal, Query(q): Query<AssessmentQuery>) -> AppResult<Json<AssessmentReport>> {
    Ok(Json(assessment_for(&s, &p, &q.by, q.from.as_deref(), q.to.as_deref()).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub url: String,
}

fn attachment_to_api(case_id: Uuid, a: &super::attachments::AttachmentRow) -> Attachment {
    Attachment {
        sha256: a.sha256.clone(),
        mime: a.mime.clone(),
        size: a.size,
        url: format!("/api/v1/cases/{case_id}/attachments/{}", a.sha256),
    }
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/attachments", tag = "cases", params(("id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "JPEG, PNG or WebP, at most 10 MB, recognised by content"),
    responses((status = 201, body = Attachment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload(
    State(s): State<CasesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<Attachment>)> {
    let c = load(&s, &p, id).await?;
    let a = super::attachments::add(&s.db, &s.data_dir, p.actor(), c.id, &c.district, &body).await?;
    Ok((StatusCode::CREATED, Json(attachment_to_api(c.id, &a))))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/attachments/{sha256}", tag = "cases", params(("id" = Uuid, Path), ("sha256" = String, Path)),
    responses((status = 200, content_type = "image/jpeg"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn download(
    State(s): State<CasesState>,
    p: Principal,
    Path((id, sha)): Path<(Uuid, String)>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let c = load(&s, &p, id).await?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("照片"));
    }
    let (mime, bytes) = super::attachments::read(&s.db, &s.data_dir, c.id, &sha).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, mime),
            (axum::http::header::CACHE_CONTROL, "private, max-age=86400".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct MergeInput {
    /// The case this one is handled as part of.
    pub into: Uuid,
}

#[utoipa::path(post, path = "/api/v1/cases/{id}/merge", tag = "cases", params(("id" = Uuid, Path)), request_body = MergeInput,
    responses((status = 200, body = Case), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn merge(
    State(s): State<CasesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<MergeInput>,
) -> AppResult<Json<Case>> {
    let c = merge_as(&s, &p, id, input.into).await?;
    Ok(Json(case_json(&s, &c, &p).await?))
}

#[utoipa::path(post, path = "/api/v1/case-categories", tag = "cases", request_body = categories::NewCategory,
    responses((status = 201, body = Category), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_category(
    State(s): State<CasesState>,
    p: Principal,
    Json(input): Json<categories::NewCategory>,
) -> AppResult<(StatusCode, Json<Category>)> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden());
    }
    let c = categories::create(&s.db, p.actor(), &p.district, &input).await?;
    s.categories.forget(&p.district);
    Ok((StatusCode::CREATED, Json(category_to_api(&c))))
}

#[utoipa::path(patch, path = "/api/v1/case-categories/{code}", tag = "cases", params(("code" = String, Path)), request_body = categories::CategoryUpdate,
    responses((status = 200, body = Category), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_category(
    State(s): State<CasesState>,
    p: Principal,
    Path(code): Path<String>,
    Json(up): Json<categories::CategoryUpdate>,
) -> AppResult<Json<Category>> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden());
    }
    let c = categories::get(&s.db, &p.district, &code)
        .await?
        .ok_or_else(|| AppError::not_found("案件类别"))?;
    let c = categories::update(&s.db, p.actor(), &p.district, &c, &up).await?;
    s.categories.forget(&p.district);
    Ok(Json(category_to_api(&c)))
}
