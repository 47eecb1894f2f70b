//! Decisions API: the 表决试算 preview, the property register of a compound, decisions with their
//! tally, owners' online votes and the committee's paper ballots.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DecisionsState;
use super::rules::{self, Tally};
use super::service::{self, AddUnit, NewDecision, PreviewUnit};
use super::store::{DecisionRow, UnitRow};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Serialize, utoipa::ToSchema)]
pub struct AreaPart {
    /// Square metres with two decimals ("89.50").
    pub value: String,
    pub total: String,
    pub met: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OwnersPart {
    pub value: i64,
    pub total: i64,
    pub met: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AreaOf {
    /// The area voting yes, of the participating area.
    pub value: String,
    pub of: String,
    pub met: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OwnersOf {
    pub value: i64,
    pub of: i64,
    pub met: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Participation {
    pub area: AreaPart,
    pub owners: OwnersPart,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Approval {
    pub area: AreaOf,
    pub owners: OwnersOf,
}

/// The art. 278 tally: participation (2/3 or more of the area and of the owners) and approval
/// (3/4 or more for matters 6–8, more than half otherwise, of the participating area and owners).
#[derive(Serialize, utoipa::ToSchema)]
pub struct TallyView {
    pub participation: Participation,
    pub approval: Approval,
    /// three_quarters | majority
    pub rule: String,
    pub passed: bool,
}

pub fn tally_view(t: &Tally) -> TallyView {
    TallyView {
        participation: Participation {
            area: AreaPart {
                value: rules::format_area(t.part_area),
                total: rules::format_area(t.total_area),
                met: t.participation_area_met,
            },
            owners: OwnersPart {
                value: t.part_owners,
                total: t.total_owners,
                met: t.participation_owners_met,
            },
        },
        approval: Approval {
            area: AreaOf {
                value: rules::format_area(t.yes_area),
                of: rules::format_area(t.part_area),
                met: t.approval_area_met,
            },
            owners: OwnersOf {
                value: t.yes_owners,
                of: t.part_owners,
                met: t.approval_owners_met,
            },
        },
        rule: t.rule.as_str().to_string(),
        passed: t.passed(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PreviewUnitInput {
    /// The exclusive unit, e.g. `1-2-301`.
    pub unit: String,
    /// Its owner; one owner of several units (or the developer) counts once.
    pub owner: String,
    /// Registered area in m², at most two decimals ("89.50").
    pub area: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PreviewInput {
    /// The matter of art. 278, 1–9.
    pub matter: i64,
    /// At most 20,000.
    pub units: Vec<PreviewUnitInput>,
    /// owner → yes | no | abstain; owners without a ballot did not take part.
    #[serde(default)]
    pub ballots: HashMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/decisions/preview", tag = "decisions", request_body = PreviewInput,
    responses((status = 200, body = TallyView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn preview(_p: Principal, Json(input): Json<PreviewInput>) -> AppResult<Json<TallyView>> {
    let units: Vec<PreviewUnit> = input
        .units
        .into_iter()
        .map(|u| PreviewUnit {
            unit: u.unit,
            owner: u.owner,
            area: u.area,
        })
        .collect();
    let t = service::preview(input.matter, &units, &input.ballots)?;
    Ok(Json(tally_view(&t)))
}

// ---- register ----

#[derive(Serialize, utoipa::ToSchema)]
pub struct PropertyUnit {
    pub building: String,
    /// e.g. `1-2-301`
    pub unit: String,
    /// m², two decimals.
    pub area: String,
    /// The owning resident, if a resident.
    pub resident: Option<Uuid>,
    /// A named outside owner (the developer, a company).
    pub owner_name: String,
    pub developer: bool,
}

fn unit_view(u: UnitRow) -> PropertyUnit {
    PropertyUnit {
        building: u.building_code,
        unit: u.label,
        area: rules::format_area(u.area_centi),
        resident: u.resident_id,
        owner_name: u.owner_name,
        developer: u.developer,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Register {
    pub compound: String,
    pub units: Vec<PropertyUnit>,
    /// Counting owners and the total area, as the rule sees them.
    pub owners: i64,
    pub area: String,
}

#[utoipa::path(get, path = "/api/v1/grids/{code}/property", tag = "decisions", params(("code" = String, Path)),
    responses((status = 200, body = Register), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn register(State(s): State<DecisionsState>, p: Principal, Path(code): Path<String>) -> AppResult<Json<Register>> {
    let (g, units) = service::register(&s.db, &p, &code).await?;
    let shares: Vec<rules::UnitShare> = units
        .iter()
        .map(|u| rules::UnitShare {
            owner: &u.owner_key,
            area: u.area_centi,
        })
        .collect();
    let owners = rules::owners(&shares).len() as i64;
    let area: i64 = units.iter().map(|u| u.area_centi).sum();
    Ok(Json(Register {
        compound: g.code,
        owners,
        area: rules::format_area(area),
        units: units.into_iter().map(unit_view).collect(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddUnitInput {
    /// The building's grid code (a child of the compound).
    pub building: String,
    /// e.g. `1-2-301`
    pub unit: String,
    /// m², at most two decimals.
    pub area: String,
    /// The owning resident; or else `owner_name`.
    pub resident: Option<Uuid>,
    pub owner_name: Option<String>,
    /// The developer's unsold or undelivered unit (with `owner_name`).
    #[serde(default)]
    pub developer: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddUnitsInput {
    /// 1–2,000 units.
    pub units: Vec<AddUnitInput>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Added {
    pub added: usize,
}

#[utoipa::path(post, path = "/api/v1/grids/{code}/property", tag = "decisions", params(("code" = String, Path)), request_body = AddUnitsInput,
    responses((status = 201, body = Added), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_units(
    State(s): State<DecisionsState>,
    p: Principal,
    Path(code): Path<String>,
    Json(input): Json<AddUnitsInput>,
) -> AppResult<(StatusCode, Json<Added>)> {
    let units: Vec<AddUnit> = input
        .units
        .into_iter()
        .map(|u| AddUnit {
            building: u.building,
            unit: u.unit,
            area: u.area,
            resident: u.resident,
            owner_name: u.owner_name,
            developer: u.developer,
        })
        .collect();
    let added = service::add_units(&s.db, &p, &code, &units).await?;
    Ok((StatusCode::CREATED, Json(Added { added })))
}

// ---- decisions ----

#[derive(Serialize, utoipa::ToSchema)]
pub struct Votes {
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyUnit {
    pub unit: String,
    pub area: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Decision {
    pub id: Uuid,
    pub compound: String,
    /// 1–9 (art. 278)
    pub matter: i64,
    pub matter_label: String,
    pub title: String,
    pub body: String,
    /// draft | open | closed
    pub status: String,
    pub opens_at: String,
    pub closes_at: String,
    /// The result kept at closing.
    pub passed: Option<bool>,
    pub tally: TallyView,
    pub votes: Votes,
    /// The caller's units in the compound (an owner), and their current vote.
    pub my_units: Vec<MyUnit>,
    pub my_vote: Option<String>,
}

pub async fn decision_view(s: &DecisionsState, d: DecisionRow, mine: Vec<UnitRow>) -> AppResult<Decision> {
    let shares = super::store::shares(&s.db, &d.compound_code).await?;
    let ballots = super::store::ballots(&s.db, d.id).await?;
    let t = service::tally_of(d.matter, &shares, &ballots);
    let my_vote = mine
        .first()
        .and_then(|u| ballots.iter().find(|b| b.owner_key == u.owner_key))
        .map(|b| b.choice.clone());
    Ok(Decision {
        id: d.id,
        compound: d.compound_code,
        matter: d.matter,
        matter_label: rules::matter_label(d.matter).to_string(),
        title: d.title,
        body: d.body,
        status: d.status,
        opens_at: rfc3339_ms(d.opens_at),
        closes_at: rfc3339_ms(d.closes_at),
        passed: d.passed,
        votes: Votes {
            yes: t.yes_owners,
            no: t.no_owners,
            abstain: t.abstain_owners,
        },
        tally: tally_view(&t),
        my_units: mine
            .into_iter()
            .map(|u| MyUnit {
                unit: u.label,
                area: rules::format_area(u.area_centi),
            })
            .collect(),
        my_vote,
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// A grid node: its subtree's decisions (an owner: their compound's).
    pub grid: String,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/decisions", tag = "decisions", params(ListQuery),
    responses((status = 200, body = Paged<Decision>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<DecisionsState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<Decision>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (rows, total) = service::list(&s.db, &p, q.grid.trim(), limit, offset).await?;
    let mut items = Vec::with_capacity(rows.len());
    for d in rows {
        let mine = service::my_units(&s.db, &p, &d.compound_code).await?;
        items.push(decision_view(&s, d, mine).await?);
    }
    Ok(Json(Paged { items, total }))
}

#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "decisions", params(("id" = Uuid, Path)),
    responses((status = 200, body = Decision), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(s): State<DecisionsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Decision>> {
    let (d, mine) = service::visible(&s.db, &p, id).await?;
    Ok(Json(decision_view(&s, d, mine).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateInput {
    /// The compound (grid level 4).
    pub compound: String,
    /// 1–9 (art. 278)
    pub matter: i64,
    /// 1–60 characters.
    pub title: String,
    /// 1–5,000 characters.
    pub body: String,
    /// RFC 3339.
    pub opens_at: String,
    pub closes_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedDecision {
    pub id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/decisions", tag = "decisions", request_body = CreateInput,
    responses((status = 201, body = CreatedDecision), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(s): State<DecisionsState>,
    p: Principal,
    Json(input): Json<CreateInput>,
) -> AppResult<(StatusCode, Json<CreatedDecision>)> {
    let id = service::create(
        &s.db,
        &p,
        &NewDecision {
            compound: input.compound,
            matter: input.matter,
            title: input.title,
            body: input.body,
            opens_at: input.opens_at,
            closes_at: input.closes_at,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedDecision { id })))
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/open", tag = "decisions", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn open(State(s): State<DecisionsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<StatusCode> {
    service::open(&s.db, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/close", tag = "decisions", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close(State(s): State<DecisionsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<StatusCode> {
    service::close(&s.db, &p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VoteInput {
    /// yes (同意) | no (反对) | abstain (弃权)
    pub choice: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VoteResult {
    pub choice: String,
    /// The vote it replaced, if the owner changed their vote.
    pub previous: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/vote", tag = "decisions", params(("id" = Uuid, Path)), request_body = VoteInput,
    responses((status = 200, body = VoteResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn vote(
    State(s): State<DecisionsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<VoteInput>,
) -> AppResult<Json<VoteResult>> {
    let previous = service::vote(&s.db, &p, id, &input.choice).await?;
    Ok(Json(VoteResult {
        choice: input.choice.trim().to_string(),
        previous,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PaperQuery {
    /// The exclusive unit of the register whose owner signed the ballot, e.g. `1-2-301`.
    pub unit: String,
    /// yes | no | abstain
    pub choice: String,
}

#[utoipa::path(post, path = "/api/v1/decisions/{id}/paper", tag = "decisions", params(("id" = Uuid, Path), PaperQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "the signed paper ballot's photo: JPEG, PNG or WebP, at most 10 MB"),
    responses((status = 200, body = VoteResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn paper(
    State(s): State<DecisionsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Query(q): Query<PaperQuery>,
    body: axum::body::Bytes,
) -> AppResult<Json<VoteResult>> {
    let previous = service::paper(&s.db, &s.data_dir, &p, id, &q.unit, &q.choice, &body).await?;
    Ok(Json(VoteResult {
        choice: q.choice.trim().to_string(),
        previous,
    }))
}

#[utoipa::path(get, path = "/api/v1/decisions/{id}/ballots/{sha}", tag = "decisions", params(("id" = Uuid, Path), ("sha" = String, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn photo(
    State(s): State<DecisionsState>,
    p: Principal,
    Path((id, sha)): Path<(Uuid, String)>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("照片"));
    }
    let (mime, bytes) = service::photo(&s.db, &s.data_dir, &p, id, &sha).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, mime),
            (axum::http::header::CACHE_CONTROL, "private, max-age=86400".to_string()),
        ],
        bytes,
    )
        .into_response())
}
