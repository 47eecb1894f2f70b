//! Renovation API: list projects with phase and consultation rate, one project with its plans,
//! rounds, tallies and cases, and the write operations (create, advance, plans, rounds, views,
//! problems).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RenovationState;
use super::rules::{Phase, Tally, View};
use super::service::{self, Loaded};
use super::store;
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// A grid node the caller reaches (default: their widest post); projects with a compound in it.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Counts of a round (or of one building in it).
#[derive(Serialize, utoipa::ToSchema, Debug, Clone)]
pub struct Counts {
    pub households: i64,
    pub answered: i64,
    pub agree: i64,
    pub disagree: i64,
    pub suggestions: i64,
    /// answered / households (0–1).
    pub rate: f64,
}

impl From<&Tally> for Counts {
    fn from(t: &Tally) -> Self {
        Counts {
            households: t.households,
            answered: t.answered,
            agree: t.agree,
            disagree: t.disagree,
            suggestions: t.suggestions,
            rate: t.rate(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: Uuid,
    pub title: String,
    /// planning | consultation | construction | acceptance | done
    pub phase: String,
    pub phase_label: String,
    /// The node above all its compounds.
    pub grid: String,
    pub compounds: Vec<String>,
    /// The current (or last) round's consultation rate, 0–1.
    pub consultation_rate: f64,
    pub households: i64,
    pub answered: i64,
    pub updated_at: String,
}

#[utoipa::path(get, path = "/api/v1/renovation/projects", tag = "renovation", params(ListQuery),
    responses((status = 200, body = Paged<Item>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<RenovationState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<Item>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let node = service::list_node(&s.db, &p, q.grid.as_deref()).await?;
    let (rows, total) = store::list(&s.db, &p.district, &node, limit, offset).await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let t = service::current_tally(&s.db, r.id).await?;
        let phase = Phase::parse(&r.phase).unwrap_or(Phase::Planning);
        items.push(Item {
            id: r.id,
            title: r.title,
            phase: phase.as_str().into(),
            phase_label: phase.label().into(),
            grid: r.grid_code,
            compounds: store::compounds(&s.db, r.id).await?,
            consultation_rate: t.overall.rate(),
            households: t.overall.households,
            answered: t.overall.answered,
            updated_at: rfc3339_ms(r.updated_at),
        });
    }
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateInput {
    /// 2–60 characters.
    pub title: String,
    /// Up to 2,000 characters.
    pub summary: Option<String>,
    /// 1–10 compound (level-4) codes under one street.
    pub compounds: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects", tag = "renovation", request_body = CreateInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<RenovationState>,
    p: Principal,
    Json(input): Json<CreateInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = service::create(
        &s.db,
        &p,
        &service::NewProject {
            title: input.title,
            summary: input.summary.unwrap_or_default(),
            compounds: input.compounds,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PhaseChange {
    pub phase: String,
    pub label: String,
    pub at: String,
    pub by: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanFile {
    pub sha256: String,
    pub name: String,
    /// application/pdf | image/jpeg | image/png | image/webp
    pub mime: String,
    pub size: i64,
    /// `GET` it here.
    pub url: String,
    pub by: String,
    pub at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub version: i64,
    pub body: String,
    pub published: bool,
    pub by: String,
    pub at: String,
    pub files: Vec<PlanFile>,
}

fn plan_file(project: Uuid, f: super::files::FileRow) -> PlanFile {
    PlanFile {
        url: format!("/api/v1/renovation/projects/{project}/files/{}", f.sha256),
        sha256: f.sha256,
        name: f.name,
        mime: f.mime,
        size: f.size,
        by: f.uploaded_by,
        at: rfc3339_ms(f.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Round {
    pub id: Uuid,
    pub number: i64,
    pub plan_version: i64,
    pub opened_at: String,
    pub closed_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BuildingCounts {
    pub building: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseLink {
    pub id: Uuid,
    pub tracking_code: String,
    pub category: String,
    pub description: String,
    pub status: String,
    pub status_label: String,
    pub reported_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub title: String,
    pub summary: String,
    pub phase: String,
    pub phase_label: String,
    pub grid: String,
    pub compounds: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    /// When each phase began.
    pub phases: Vec<PhaseChange>,
    pub plans: Vec<Plan>,
    pub rounds: Vec<Round>,
    /// The current (or last) round's number; none before the first.
    pub tally_round: Option<i64>,
    pub tally: Counts,
    pub buildings: Vec<BuildingCounts>,
    pub cases: Vec<CaseLink>,
    /// Whether the caller manages it (plans, rounds, phases).
    pub manages: bool,
}

pub(super) async fn detail(s: &RenovationState, l: Loaded) -> AppResult<Project> {
    let id = l.project.id;
    let t = service::current_tally(&s.db, id).await?;
    let phase = l.phase();
    let mut files = super::files::list(&s.db, id).await?;
    Ok(Project {
        id,
        title: l.project.title,
        summary: l.project.summary,
        phase: phase.as_str().into(),
        phase_label: phase.label().into(),
        grid: l.project.grid_code,
        compounds: l.compounds,
        created_by: l.project.created_by_name,
        created_at: rfc3339_ms(l.project.created_at),
        phases: store::phases(&s.db, id)
            .await?
            .into_iter()
            .map(|x| PhaseChange {
                label: Phase::parse(&x.phase).map_or("", |p| p.label()).into(),
                phase: x.phase,
                at: rfc3339_ms(x.changed_at),
                by: x.actor_name,
            })
            .collect(),
        plans: store::plans(&s.db, id)
            .await?
            .into_iter()
            .map(|x| Plan {
                files: files.extract_if(.., |f| f.version == x.version).map(|f| plan_file(id, f)).collect(),
                version: x.version,
                body: x.body,
                published: x.published,
                by: x.created_by_name,
                at: rfc3339_ms(x.created_at),
            })
            .collect(),
        rounds: store::rounds(&s.db, id)
            .await?
            .into_iter()
            .map(|r| Round {
                id: r.id,
                number: r.number,
                plan_version: r.plan_version,
                opened_at: rfc3339_ms(r.opened_at),
                closed_at: r.closed_at.map(rfc3339_ms),
            })
            .collect(),
        tally_round: t.round.as_ref().map(|r| r.number),
        tally: Counts::from(&t.overall),
        buildings: t
            .buildings
            .iter()
            .map(|(b, c)| BuildingCounts {
                building: b.clone(),
                counts: c.into(),
            })
            .collect(),
        cases: store::cases(&s.db, id)
            .await?
            .into_iter()
            .map(|c| CaseLink {
                id: c.id,
                tracking_code: c.tracking_code,
                category: c.category_code,
                description: c.description,
                status_label: crate::cases::workflow::Status::parse(&c.status).map_or("", |x| x.label()).into(),
                status: c.status,
                reported_at: rfc3339_ms(c.reported_at),
            })
            .collect(),
        manages: l.manage.is_some(),
    })
}

#[utoipa::path(get, path = "/api/v1/renovation/projects/{id}", tag = "renovation", params(("id" = Uuid, Path)),
    responses((status = 200, body = Project), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(s): State<RenovationState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Project>> {
    let l = service::load(&s.db, &p, id).await?;
    Ok(Json(detail(&s, l).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AdvanceInput {
    /// The next phase: consultation | construction | acceptance | done.
    pub to: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PhaseNow {
    pub phase: String,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/phase", tag = "renovation", params(("id" = Uuid, Path)), request_body = AdvanceInput,
    responses((status = 200, body = PhaseNow), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn advance(
    State(s): State<RenovationState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<AdvanceInput>,
) -> AppResult<Json<PhaseNow>> {
    let l = service::load(&s.db, &p, id).await?;
    let phase = service::advance(&s.db, &p, &l, &input.to).await?;
    Ok(Json(PhaseNow {
        phase: phase.as_str().into(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PlanInput {
    /// 2–5,000 characters.
    pub text: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Version {
    pub version: i64,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/plans", tag = "renovation", params(("id" = Uuid, Path)), request_body = PlanInput,
    responses((status = 201, body = Version), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_plan(
    State(s): State<RenovationState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<PlanInput>,
) -> AppResult<(StatusCode, Json<Version>)> {
    let l = service::load(&s.db, &p, id).await?;
    let version = service::add_plan(&s.db, &p, &l, &input.text).await?;
    Ok((StatusCode::CREATED, Json(Version { version })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Changed {
    pub changed: bool,
}

/// A version number from the path (full-width digits allowed); anything else is not a version.
pub fn parse_version(raw: &str) -> AppResult<i64> {
    crate::identity::half_width(raw.trim())
        .trim_start_matches(['v', 'V'])
        .parse::<i64>()
        .ok()
        .filter(|v| (1..=10_000).contains(v))
        .ok_or_else(|| AppError::not_found("方案版本"))
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/plans/{version}/publish", tag = "renovation",
    params(("id" = Uuid, Path), ("version" = String, Path)),
    responses((status = 200, body = Changed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(
    State(s): State<RenovationState>,
    p: Principal,
    Path((id, version)): Path<(Uuid, String)>,
) -> AppResult<Json<Changed>> {
    let l = service::load(&s.db, &p, id).await?;
    if l.manage.is_none() {
        return Err(AppError::forbidden());
    }
    let version = parse_version(&version)?;
    Ok(Json(Changed {
        changed: service::publish(&s.db, &p, &l, version).await?,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name as shown (at most 100 characters).
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/plans/{version}/files", tag = "renovation",
    params(("id" = Uuid, Path), ("version" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "PDF, JPEG, PNG or WebP, at most 10 MB, recognised by content"),
    responses((status = 201, body = PlanFile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload(
    State(s): State<RenovationState>,
    p: Principal,
    Path((id, version)): Path<(Uuid, String)>,
    Query(q): Query<UploadQuery>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<PlanFile>)> {
    let l = service::load(&s.db, &p, id).await?;
    if l.manage.is_none() {
        return Err(AppError::forbidden());
    }
    let version = parse_version(&version)?;
    let f = super::files::add(&s.db, &s.cases.data_dir, &p, &l, version, q.name.as_deref().unwrap_or(""), &body).await?;
    Ok((StatusCode::CREATED, Json(plan_file(id, f))))
}

#[utoipa::path(get, path = "/api/v1/renovation/projects/{id}/files/{sha256}", tag = "renovation", params(("id" = Uuid, Path), ("sha256" = String, Path)),
    responses((status = 200, content_type = "application/pdf"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn download(
    State(s): State<RenovationState>,
    p: Principal,
    Path((id, sha)): Path<(Uuid, String)>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let l = service::load(&s.db, &p, id).await?;
    let (mime, name, bytes) = super::files::read(&s.db, &s.cases.data_dir, l.project.id, &sha).await?;
    // The name may be Chinese: RFC 5987 form, with a plain ASCII fallback.
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, mime),
            (axum::http::header::CACHE_CONTROL, "private, max-age=86400".to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"plan\"; filename*=UTF-8''{encoded}"),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RoundOpened {
    pub id: Uuid,
    pub number: i64,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/rounds", tag = "renovation", params(("id" = Uuid, Path)),
    responses((status = 201, body = RoundOpened), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn open_round(
    State(s): State<RenovationState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> AppResult<(StatusCode, Json<RoundOpened>)> {
    let l = service::load(&s.db, &p, id).await?;
    let (id, number) = service::open_round(&s.db, &p, &l).await?;
    Ok((StatusCode::CREATED, Json(RoundOpened { id, number })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RoundClosed {
    pub number: i64,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/rounds/close", tag = "renovation", params(("id" = Uuid, Path)),
    responses((status = 200, body = RoundClosed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_round(State(s): State<RenovationState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<RoundClosed>> {
    let l = service::load(&s.db, &p, id).await?;
    let number = service::close_round(&s.db, &p, &l).await?;
    Ok(Json(RoundClosed { number }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ViewInput {
    /// A household of one of the project's compounds.
    pub household: Uuid,
    /// agree | disagree | suggestion
    pub view: String,
    /// The suggestion (2–500 characters), or a note to a view (up to 500).
    pub note: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Recorded {
    /// False when it replaced the household's earlier view in this round.
    pub first: bool,
    pub view: String,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/views", tag = "renovation", params(("id" = Uuid, Path)), request_body = ViewInput,
    responses((status = 200, body = Recorded), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn record_view(
    State(s): State<RenovationState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<ViewInput>,
) -> AppResult<Json<Recorded>> {
    let l = service::load(&s.db, &p, id).await?;
    let first = service::record_view(
        &s.db,
        &p,
        &l,
        &service::NewView {
            household: input.household,
            view: input.view.clone(),
            note: input.note.unwrap_or_default(),
        },
    )
    .await?;
    Ok(Json(Recorded {
        first,
        view: View::parse(input.view.trim()).map_or("", |v| v.as_str()).into(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ProblemInput {
    /// A leaf category code (e.g. a 违法建设 or 圈地种菜 category).
    pub category: String,
    /// 2–2,000 characters.
    pub description: String,
    /// A node inside the project's compounds (default: its first compound).
    pub grid: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

#[utoipa::path(post, path = "/api/v1/renovation/projects/{id}/problems", tag = "renovation", params(("id" = Uuid, Path)), request_body = ProblemInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report(
    State(s): State<RenovationState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<ProblemInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let l = service::load(&s.db, &p, id).await?;
    let case = service::report(
        &s,
        &p,
        &l,
        &service::NewProblem {
            category: input.category,
            description: input.description,
            grid: input.grid,
            lat: input.lat,
            lng: input.lng,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id: case })))
}
