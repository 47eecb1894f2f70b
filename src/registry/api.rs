//! Registry API: residents (masked unless revealed), households, units, places, devices.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post, put};

use crate::web::extract::{Json, Path, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::RegistryState;
use super::residents::{self, HouseholdRow, NewHousehold, NewResident, ResidentRow};
use super::service::{self, load_household, load_resident, scope_grid};
use super::units::{self, NewUnit, UnitRow};
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::grid::service::load as load_grid;
use crate::identity::{mask_id_number, mask_phone};
use crate::web::api::{PageQuery, Paged};

pub fn routes() -> Router<RegistryState> {
    Router::new()
        .route("/api/v1/residents", get(list_residents).post(create_resident))
        .route("/api/v1/residents/lookup", post(lookup_resident))
        .route("/api/v1/residents/{id}", get(get_resident))
        .route("/api/v1/residents/{id}/tags", put(set_tags))
        .route("/api/v1/residents/{id}/account", put(link_account))
        .route("/api/v1/residents/{id}/reveal", post(reveal))
        .route("/api/v1/households", get(list_households).post(create_household))
        .route("/api/v1/households/{id}", get(get_household))
        .route("/api/v1/units", get(list_units).post(create_unit))
        .route("/api/v1/places", get(list_places))
        .route("/api/v1/devices", get(list_devices))
}

/// A resident, with ID number and phone masked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Resident {
    pub id: Uuid,
    pub name: String,
    /// male | female
    pub gender: String,
    /// The year only: a full birth date beside a masked ID number leaves too few candidates
    /// (the date is in the number); it comes with the reveal.
    pub birth_year: i32,
    /// Masked: `41************123X`.
    pub id_number: String,
    /// Masked: `138****5678`.
    pub phone: String,
    /// Building (level-5 grid) code.
    pub grid: String,
    pub household_id: Uuid,
    pub relation: String,
    pub tags: Vec<String>,
}

pub fn resident_to_api(r: &ResidentRow) -> Resident {
    Resident {
        id: r.id,
        name: r.name.clone(),
        gender: r.gender.clone(),
        birth_year: r.birth_date.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0),
        id_number: mask_id_number(&r.id_number),
        phone: mask_phone(&r.phone),
        grid: r.grid_code.clone(),
        household_id: r.household_id,
        relation: r.relation.clone(),
        tags: r.tag_list(),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ResidentQuery {
    /// Subtree root; defaults to the caller's widest scope.
    pub grid: Option<String>,
    /// Name prefix or the last 4 digits of a phone or ID number (a whole number goes to
    /// `POST /api/v1/residents/lookup`).
    pub q: Option<String>,
    pub tag: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/residents", tag = "registry", params(ResidentQuery),
    responses((status = 200, body = Paged<Resident>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_residents(
    State(s): State<RegistryState>,
    p: Principal,
    Query(q): Query<ResidentQuery>,
) -> AppResult<Json<Paged<Resident>>> {
    let g = scope_grid(&s, &p, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let query = residents::parse_query(q.q.as_deref())?;
    let tag = q.tag.as_deref().filter(|t| !t.is_empty());
    if let Some(t) = tag
        && !super::TAGS.contains(&t)
    {
        return Err(AppError::invalid("invalid_tag", format!("未知标签「{t}」")));
    }
    let (rows, total) = service::search(&s, &g, query, tag, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.iter().map(resident_to_api).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LookupInput {
    /// Subtree root; defaults to the caller's widest scope.
    pub grid: Option<String>,
    /// A whole mobile number (11 digits) or ID number (18 characters).
    pub number: String,
    /// Why this person is looked up; kept in the audit log.
    pub reason: String,
}

/// Look one person up by a whole phone or ID number (in the body, so it stays out of URLs and
/// logs): for roles that may reveal, with a reason, audited, 30 an hour per account.
#[utoipa::path(post, path = "/api/v1/residents/lookup", tag = "registry", request_body = LookupInput,
    responses((status = 200, body = Paged<Resident>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn lookup_resident(
    State(s): State<RegistryState>,
    p: Principal,
    Json(input): Json<LookupInput>,
) -> AppResult<Json<Paged<Resident>>> {
    let g = scope_grid(&s, &p, input.grid.as_deref(), Capability::ReadRegistry).await?;
    let rows = service::lookup(&s, &p, &g, &input.number, &input.reason).await?;
    Ok(Json(Paged {
        total: rows.len() as i64,
        items: rows.iter().map(resident_to_api).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/residents/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = Resident), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_resident(State(s): State<RegistryState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Resident>> {
    let r = load_resident(&s, &p, id, Capability::ReadRegistry).await?;
    Ok(Json(resident_to_api(&r)))
}

#[utoipa::path(post, path = "/api/v1/residents", tag = "registry", request_body = NewResident,
    responses((status = 201, body = Resident), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_resident(
    State(s): State<RegistryState>,
    p: Principal,
    Json(input): Json<NewResident>,
) -> AppResult<(StatusCode, Json<Resident>)> {
    let hh = load_household(&s, &p, input.household_id, Capability::WriteRegistry).await?;
    let r = residents::create_resident(&s.db, p.actor(), &hh, &input).await?;
    Ok((StatusCode::CREATED, Json(resident_to_api(&r))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct TagsInput {
    pub tags: Vec<String>,
}

#[utoipa::path(put, path = "/api/v1/residents/{id}/tags", tag = "registry", params(("id" = Uuid, Path)), request_body = TagsInput,
    responses((status = 200, body = Resident), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_tags(
    State(s): State<RegistryState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<TagsInput>,
) -> AppResult<Json<Resident>> {
    let r = load_resident(&s, &p, id, Capability::WriteRegistry).await?;
    let r = residents::set_tags(&s.db, p.actor(), &r, &input.tags).await?;
    Ok(Json(resident_to_api(&r)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AccountInput {
    /// The resident's own account (a `resident` post), checked by the community in person.
    pub username: String,
}

/// Link a resident to their own account, so features that act for them (opinions, owners'
/// ballots) know who signs in.
#[utoipa::path(put, path = "/api/v1/residents/{id}/account", tag = "registry", params(("id" = Uuid, Path)), request_body = AccountInput,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn link_account(
    State(s): State<RegistryState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<AccountInput>,
) -> AppResult<StatusCode> {
    let r = load_resident(&s, &p, id, Capability::WriteRegistry).await?;
    residents::link_account(&s.db, p.actor(), &r, &input.username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RevealInput {
    /// Why the full numbers are needed; kept in the audit log.
    pub reason: String,
}

/// Full personal numbers, for roles allowed to see them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub id: Uuid,
    pub birth_date: String,
    pub id_number: String,
    pub phone: String,
}

#[utoipa::path(post, path = "/api/v1/residents/{id}/reveal", tag = "registry", params(("id" = Uuid, Path)), request_body = RevealInput,
    responses((status = 200, body = Revealed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reveal(
    State(s): State<RegistryState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<RevealInput>,
) -> AppResult<Json<Revealed>> {
    let r = load_resident(&s, &p, id, Capability::RevealPersonal).await?;
    residents::record_reveal(&s.db, p.actor(), &r, &input.reason).await?;
    Ok(Json(Revealed {
        id: r.id,
        birth_date: r.birth_date,
        id_number: r.id_number,
        phone: r.phone,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Household {
    pub id: Uuid,
    pub grid: String,
    pub unit_no: i64,
    pub room: String,
    pub address: String,
    pub members: i64,
}

fn household_to_api(h: &HouseholdRow) -> Household {
    Household {
        id: h.id,
        grid: h.grid_code.clone(),
        unit_no: h.unit_no,
        room: h.room.clone(),
        address: h.address.clone(),
        members: h.members,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GridPageQuery {
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/households", tag = "registry", params(GridPageQuery),
    responses((status = 200, body = Paged<Household>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_households(
    State(s): State<RegistryState>,
    p: Principal,
    Query(q): Query<GridPageQuery>,
) -> AppResult<Json<Paged<Household>>> {
    let g = scope_grid(&s, &p, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (rows, total) = residents::households_in(&s.db, &g.code, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.iter().map(household_to_api).collect(),
        total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HouseholdDetail {
    #[serde(flatten)]
    pub household: Household,
    pub residents: Vec<Resident>,
}

#[utoipa::path(get, path = "/api/v1/households/{id}", tag = "registry", params(("id" = Uuid, Path)),
    responses((status = 200, body = HouseholdDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_household(State(s): State<RegistryState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<HouseholdDetail>> {
    let h = load_household(&s, &p, id, Capability::ReadRegistry).await?;
    let members = residents::members(&s.db, h.id).await?;
    Ok(Json(HouseholdDetail {
        household: household_to_api(&h),
        residents: members.iter().map(resident_to_api).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/households", tag = "registry", request_body = NewHousehold,
    responses((status = 201, body = Household), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_household(
    State(s): State<RegistryState>,
    p: Principal,
    Json(input): Json<NewHousehold>,
) -> AppResult<(StatusCode, Json<Household>)> {
    let g = load_grid(&s.db, &p, &input.grid, Capability::WriteRegistry).await?;
    let h = residents::create_household(&s.db, p.actor(), &g, &input).await?;
    Ok((StatusCode::CREATED, Json(household_to_api(&h))))
}

/// A unit or organisation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: Uuid,
    pub name: String,
    /// department, property_company, community, party_branch, owners_committee, council, volunteer_team, merchant_association
    pub kind: String,
    pub kind_label: String,
    pub grid: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: String,
    /// In full for the unit's own people, the district, and grid staff for departments and units
    /// in their area; masked (`138****5678`) for everyone else.
    pub contact_phone: String,
}

/// Whether `p` reads a unit's contact phone in full. A unit's own people, the district that keeps
/// the directory, and grid staff for the district's departments (the lines they call when they
/// dispatch) and the units in their own area do; everyone else reads it masked, so no one role
/// can copy every unit's contacts.
pub fn contact_visible(p: &Principal, u: &UnitRow) -> bool {
    if p.has(Capability::WriteUnits) || p.posts.iter().any(|x| x.unit_id == Some(u.id)) {
        return true;
    }
    p.posts.iter().any(|x| {
        x.role.grants(Capability::ReadUnits)
            && x.grid_code.as_deref().is_some_and(|root| {
                // A unit at the district's own node (a department) serves every grid.
                u.grid_code.as_deref().is_none_or(|g| g == p.district || g.starts_with(root))
            })
    })
}

pub fn unit_to_api(u: &UnitRow, viewer: &Principal) -> Unit {
    let contact_phone = if contact_visible(viewer, u) {
        u.contact_phone.clone()
    } else {
        mask_phone(&u.contact_phone)
    };
    Unit {
        id: u.id,
        name: u.name.clone(),
        kind: u.kind.clone(),
        kind_label: units::unit_kind_label(&u.kind).to_string(),
        grid: u.grid_code.clone(),
        credit_code: u.credit_code.clone(),
        contact_name: u.contact_name.clone(),
        contact_phone,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UnitQuery {
    pub kind: Option<String>,
    /// Only units attached to this grid subtree.
    pub grid: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/units", tag = "registry", params(UnitQuery),
    responses((status = 200, body = Paged<Unit>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_units(State(s): State<RegistryState>, p: Principal, Query(q): Query<UnitQuery>) -> AppResult<Json<Paged<Unit>>> {
    if !p.has(Capability::ReadUnits) {
        return Err(AppError::forbidden());
    }
    let kind = q.kind.as_deref().filter(|k| !k.is_empty());
    if let Some(k) = kind
        && !units::UNIT_KINDS.iter().any(|u| u.0 == k)
    {
        return Err(AppError::invalid("invalid_unit_kind", format!("未知单位类型「{k}」")));
    }
    let grid = match q.grid.as_deref().filter(|g| !g.is_empty()) {
        Some(g) => Some(load_grid(&s.db, &p, g, Capability::ReadUnits).await?.code),
        None => None,
    };
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (rows, total) = units::list(&s.db, &p.district, kind, grid.as_deref(), q.q.as_deref(), limit, offset).await?;
    Ok(Json(Paged {
        items: rows.iter().map(|u| unit_to_api(u, &p)).collect(),
        total,
    }))
}

#[utoipa::path(post, path = "/api/v1/units", tag = "registry", request_body = NewUnit,
    responses((status = 201, body = Unit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_unit(State(s): State<RegistryState>, p: Principal, Json(input): Json<NewUnit>) -> AppResult<(StatusCode, Json<Unit>)> {
    if !p.has(Capability::WriteUnits) {
        return Err(AppError::forbidden());
    }
    if let Some(g) = input.grid.as_deref() {
        load_grid(&s.db, &p, g, Capability::WriteUnits).await?;
    }
    let u = units::create(&s.db, p.actor(), &p.district, &input).await?;
    Ok((StatusCode::CREATED, Json(unit_to_api(&u, &p))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Place {
    pub id: Uuid,
    pub grid: String,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
}

#[utoipa::path(get, path = "/api/v1/places", tag = "registry", params(GridPageQuery),
    responses((status = 200, body = Paged<Place>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_places(State(s): State<RegistryState>, p: Principal, Query(q): Query<GridPageQuery>) -> AppResult<Json<Paged<Place>>> {
    let g = scope_grid(&s, &p, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (rows, total) = units::places_in(&s.db, &g.district, &g.code, limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|r| Place {
            id: r.id,
            grid: r.grid_code,
            kind_label: units::place_kind_label(&r.kind).into(),
            kind: r.kind,
            name: r.name,
            address: r.address,
            lat: r.lat,
            lng: r.lng,
        })
        .collect();
    Ok(Json(Paged { items, total }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Device {
    pub id: Uuid,
    pub grid: String,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub serial: String,
    pub status: String,
    pub lat: f64,
    pub lng: f64,
}

#[utoipa::path(get, path = "/api/v1/devices", tag = "registry", params(GridPageQuery),
    responses((status = 200, body = Paged<Device>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_devices(State(s): State<RegistryState>, p: Principal, Query(q): Query<GridPageQuery>) -> AppResult<Json<Paged<Device>>> {
    let g = scope_grid(&s, &p, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (rows, total) = units::devices_in(&s.db, &g.district, &g.code, limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|r| Device {
            id: r.id,
            grid: r.grid_code,
            kind_label: units::device_kind_label(&r.kind).into(),
            kind: r.kind,
            name: r.name,
            serial: r.serial,
            status: r.status,
            lat: r.lat,
            lng: r.lng,
        })
        .collect();
    Ok(Json(Paged { items, total }))
}
