//! Campaigns API (专项整治行动): launch and list drives, form teams, register spots with photos,
//! act on them, and read a campaign with its figures.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::CampaignsState;
use super::checklist::ChecklistFigures;
use super::rules::{self, Figures, Phase};
use super::service::{self, NewCampaign, NewInspection, NewSpot, NewTeam, SpotAction};
use super::store::{CampaignRow, InspectionRow, MarkRow, SpotRow, TeamRow};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub title: String,
    pub kind: String,
    pub kind_name: String,
    /// What the measure counts in (m², 处 …).
    pub unit: String,
    pub grid: String,
    pub grid_name: String,
    pub partners: String,
    pub starts_on: String,
    pub deadline: String,
    pub reinspect_days: i64,
    pub created_by: String,
    pub created_at: String,
}

pub fn campaign_view(c: CampaignRow) -> Campaign {
    Campaign {
        id: c.id,
        title: c.title,
        kind: c.kind,
        kind_name: c.kind_name,
        unit: c.unit,
        grid: c.grid_code,
        grid_name: c.grid_name,
        partners: c.partners,
        starts_on: c.starts_on,
        deadline: c.deadline,
        reinspect_days: c.reinspect_days,
        created_by: c.created_by,
        created_at: rfc3339_ms(c.created_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub leader: Uuid,
    pub leader_name: String,
    pub grids: Vec<String>,
    pub figures: Figures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CommunityFigures {
    pub grid: String,
    pub figures: Figures,
    /// Cleared share, whole percent.
    pub cleared_percent: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub day: String,
    pub found: i64,
    pub cleared: i64,
}

/// A campaign with its figures (the whole, per team, per community ranked by cleared share) and
/// its daily progress.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignDetail {
    pub id: Uuid,
    pub title: String,
    pub kind: String,
    pub campaign: Campaign,
    pub figures: Figures,
    pub teams: Vec<Team>,
    pub communities: Vec<CommunityFigures>,
    pub progress: Vec<Progress>,
    /// The checklist (测评清单) places are scored against; empty when the drive carries none.
    pub checklist: Vec<ChecklistItem>,
    pub checklist_figures: ChecklistFigures,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub id: Uuid,
    pub position: i64,
    pub text: String,
    /// Places whose latest inspection fails it.
    pub failing_places: i64,
}

fn team_view(t: TeamRow, figures: Figures) -> Team {
    Team {
        grids: t.grid_list().iter().map(|g| g.to_string()).collect(),
        id: t.id,
        name: t.name,
        leader: t.leader_id,
        leader_name: t.leader_name,
        figures,
    }
}

/// Communities ranked: the highest cleared share first, then the most spots.
pub fn ranked(communities: Vec<(String, Figures)>) -> Vec<CommunityFigures> {
    let mut v: Vec<CommunityFigures> = communities
        .into_iter()
        .map(|(grid, f)| CommunityFigures {
            cleared_percent: rules::percent(f.cleared, f.spots),
            grid,
            figures: f,
        })
        .collect();
    v.sort_by(|a, b| {
        b.cleared_percent
            .cmp(&a.cleared_percent)
            .then(b.figures.spots.cmp(&a.figures.spots))
            .then(a.grid.cmp(&b.grid))
    });
    v
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Spot {
    pub id: Uuid,
    pub campaign: Uuid,
    pub grid: String,
    pub place: String,
    /// The household or shop, masked (王**).
    pub party: String,
    pub measure: f64,
    pub note: String,
    /// surveyed, persuading, cleared, escalated, consolidated
    pub phase: String,
    pub phase_label: &'static str,
    pub self_cleared: bool,
    pub visits: i64,
    pub refusals: i64,
    pub recurrences: i64,
    pub has_photo: bool,
    pub has_after_photo: bool,
    pub case: Option<Uuid>,
    pub found_at: String,
    pub found_by: String,
    pub cleared_at: Option<String>,
    pub reinspect_at: Option<String>,
}

pub fn spot_view(s: SpotRow) -> Spot {
    let phase = Phase::parse(&s.phase).unwrap_or(Phase::Surveyed);
    Spot {
        id: s.id,
        campaign: s.campaign_id,
        grid: s.grid_code,
        place: s.place,
        party: crate::identity::mask_name(&s.party),
        measure: s.measure,
        note: s.note,
        phase_label: phase.label(),
        phase: s.phase,
        self_cleared: s.self_cleared,
        visits: s.visits,
        refusals: s.refusals,
        recurrences: s.recurrences,
        has_photo: s.photo_sha256.is_some(),
        has_after_photo: s.after_sha256.is_some(),
        case: s.case_id,
        found_at: rfc3339_ms(s.found_at),
        found_by: s.found_by,
        cleared_at: s.cleared_at.map(rfc3339_ms),
        reinspect_at: s.reinspect_at.map(rfc3339_ms),
    }
}

#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<Campaign>), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<CampaignsState>, p: Principal) -> AppResult<Json<Vec<Campaign>>> {
    Ok(Json(service::list(&s.db, &p).await?.into_iter().map(campaign_view).collect()))
}

#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = NewCampaign,
    responses((status = 201, body = Campaign), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn launch(State(s): State<CampaignsState>, p: Principal, Json(n): Json<NewCampaign>) -> AppResult<(StatusCode, Json<Campaign>)> {
    Ok((StatusCode::CREATED, Json(campaign_view(service::launch(&s.db, &p, &n).await?))))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", params(("id" = Uuid, Path)),
    responses((status = 200, body = CampaignDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(State(s): State<CampaignsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<CampaignDetail>> {
    let (c, _) = service::campaign_for(&s.db, &p, id).await?;
    let b = service::board(&s.db, &c).await?;
    let cl = service::checklist_board(&s.db, &c).await?;
    Ok(Json(CampaignDetail {
        checklist: cl
            .items
            .into_iter()
            .map(|(i, n)| ChecklistItem {
                id: i.id,
                position: i.position,
                text: i.text,
                failing_places: n,
            })
            .collect(),
        checklist_figures: cl.figures,
        id: c.id,
        title: c.title.clone(),
        kind: c.kind.clone(),
        campaign: campaign_view(c),
        figures: b.whole,
        teams: b.teams.into_iter().map(|(t, f)| team_view(t, f)).collect(),
        communities: ranked(b.communities),
        progress: b
            .progress
            .into_iter()
            .map(|(day, found, cleared)| Progress { day, found, cleared })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/teams", tag = "campaigns", params(("id" = Uuid, Path)), request_body = NewTeam,
    responses((status = 201, body = Team), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_team(
    State(s): State<CampaignsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewTeam>,
) -> AppResult<(StatusCode, Json<Team>)> {
    let t = service::add_team(&s.db, &p, id, &n).await?;
    Ok((StatusCode::CREATED, Json(team_view(t, Figures::default()))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Kept {
    /// Name it as `photo` when registering a spot or acting on one.
    pub photo: String,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/photos", tag = "campaigns", params(("id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "JPEG, PNG or WebP, at most 10 MB, recognised by content"),
    responses((status = 201, body = Kept), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload(
    State(s): State<CampaignsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<Kept>)> {
    let photo = service::keep_photo(&s, &p, id, &body).await?;
    Ok((StatusCode::CREATED, Json(Kept { photo })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SpotInput {
    #[serde(flatten)]
    pub spot: NewSpot,
    /// A photo kept with `POST /api/v1/campaigns/{id}/photos`.
    pub photo: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/spots", tag = "campaigns", params(("id" = Uuid, Path)), request_body = SpotInput,
    responses((status = 201, body = Spot), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_spot(
    State(s): State<CampaignsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<SpotInput>,
) -> AppResult<(StatusCode, Json<Spot>)> {
    let spot = service::add_spot(&s, &p, id, &n.spot, n.photo.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(spot_view(spot))))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SpotQuery {
    /// Spots under this grid node (default: all the caller reads).
    pub grid: Option<String>,
    /// surveyed, persuading, cleared, escalated, consolidated
    pub phase: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The node a spot list reads: the one asked for (inside what the caller reads), else the
/// caller's widest inside the campaign (everything for a team member or the launcher's staff).
pub fn spot_root(p: &Principal, c: &CampaignRow, mine: &[TeamRow], grid: Option<&str>) -> AppResult<String> {
    use crate::auth::Capability;
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) || mine.iter().any(|t| t.covers(g)) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None if !mine.is_empty() || p.can(Capability::ReadRegistry, &c.grid_code) => Ok(String::new()),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .find(|r| r.starts_with(&c.grid_code))
            .ok_or_else(|| AppError::not_found("该专项行动")),
    }
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/spots", tag = "campaigns", params(("id" = Uuid, Path), SpotQuery),
    responses((status = 200, body = Paged<Spot>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn spots(
    State(s): State<CampaignsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Query(q): Query<SpotQuery>,
) -> AppResult<Json<Paged<Spot>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (c, mine) = service::campaign_for(&s.db, &p, id).await?;
    let phase = match q.phase.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => None,
        Some(x) => Some(
            Phase::parse(x)
                .ok_or_else(|| AppError::invalid("invalid_phase", "阶段应为 surveyed、persuading、cleared、escalated 或 consolidated"))?,
        ),
    };
    let root = spot_root(&p, &c, &mine, q.grid.as_deref())?;
    let (rows, total) = super::store::spots(&s.db, c.id, &root, phase.map(Phase::as_str), limit, offset).await?;
    Ok(Json(Paged {
        items: rows.into_iter().map(spot_view).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActionInput {
    #[serde(flatten)]
    pub action: SpotAction,
    /// A photo kept with `POST /api/v1/campaigns/{id}/photos`: the after photo of a clearance
    /// (required), or one of a visit or a re-inspection.
    pub photo: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/spots/{spot}/actions", tag = "campaigns", params(("id" = Uuid, Path), ("spot" = Uuid, Path)), request_body = ActionInput,
    responses((status = 200, body = Spot), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn act(
    State(s): State<CampaignsState>,
    p: Principal,
    Path((id, spot)): Path<(Uuid, Uuid)>,
    Json(a): Json<ActionInput>,
) -> AppResult<Json<Spot>> {
    Ok(Json(spot_view(
        service::act(&s, &p, id, spot, &a.action, a.photo.as_deref()).await?,
    )))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Inspection {
    pub id: Uuid,
    pub campaign: Uuid,
    pub grid: String,
    pub grid_name: String,
    /// The inspection this one re-checks.
    pub recheck_of: Option<Uuid>,
    pub passed: i64,
    pub failed: i64,
    pub note: String,
    pub by_name: String,
    pub at: String,
    /// The marks, in checklist order (only with a single inspection).
    pub marks: Vec<InspectionMark>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct InspectionMark {
    pub item: Uuid,
    pub position: i64,
    pub text: String,
    pub passed: bool,
    pub photo: Option<String>,
    pub note: String,
}

pub fn inspection_view(i: InspectionRow, marks: Vec<MarkRow>) -> Inspection {
    Inspection {
        id: i.id,
        campaign: i.campaign_id,
        grid: i.grid_code,
        grid_name: i.grid_name,
        recheck_of: i.recheck_of,
        passed: i.passed,
        failed: i.failed,
        note: i.note,
        by_name: i.by_name,
        at: rfc3339_ms(i.at_ms),
        marks: marks
            .into_iter()
            .map(|m| InspectionMark {
                item: m.item_id,
                position: m.position,
                text: m.text,
                passed: m.passed,
                photo: m.photo_sha256,
                note: m.note,
            })
            .collect(),
    }
}

#[utoipa::path(post, path = "/api/v1/campaigns/{id}/inspections", tag = "campaigns", params(("id" = Uuid, Path)), request_body = NewInspection,
    responses((status = 201, body = Inspection), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn inspect(
    State(s): State<CampaignsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewInspection>,
) -> AppResult<(StatusCode, Json<Inspection>)> {
    let row = service::inspect(&s, &p, id, &n).await?;
    let marks = super::store::marks(&s.db, row.id).await?;
    Ok((StatusCode::CREATED, Json(inspection_view(row, marks))))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct InspectionQuery {
    /// Places under this grid node (default: all the caller reads).
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/inspections", tag = "campaigns", params(("id" = Uuid, Path), InspectionQuery),
    responses((status = 200, body = Paged<Inspection>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
/// Each place's latest inspection, places still failing an item first.
pub async fn inspections(
    State(s): State<CampaignsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Query(q): Query<InspectionQuery>,
) -> AppResult<Json<Paged<Inspection>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (c, mine) = service::campaign_for(&s.db, &p, id).await?;
    let root = spot_root(&p, &c, &mine, q.grid.as_deref())?;
    let (rows, total) = super::store::latest_per_place(&s.db, c.id, &root, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.into_iter().map(|r| inspection_view(r, Vec::new())).collect(),
        total,
    }))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}/inspections/{inspection}", tag = "campaigns", params(("id" = Uuid, Path), ("inspection" = Uuid, Path)),
    responses((status = 200, body = Inspection), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn inspection(
    State(s): State<CampaignsState>,
    p: Principal,
    Path((id, inspection)): Path<(Uuid, Uuid)>,
) -> AppResult<Json<Inspection>> {
    let (_, _, row) = service::inspection_for(&s.db, &p, id, inspection).await?;
    let marks = super::store::marks(&s.db, row.id).await?;
    Ok(Json(inspection_view(row, marks)))
}
