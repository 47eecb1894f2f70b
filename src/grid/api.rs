//! Grid API: read a node and its children; create children; change boundaries and leaders; the
//! base layers under a node's map.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};

use crate::web::extract::{Json, Path, Query};
use axum::http::StatusCode;
use serde::Serialize;

use super::GridState;
use super::rules;
use super::service::load;
use super::store::{self, Contact, GridRow, GridUpdate, NewGrid};
use crate::auth::{Capability, Principal};
use crate::error::{AppResult, ErrorBody};
use crate::web::api::{PageQuery, Paged};

pub fn routes() -> Router<GridState> {
    Router::new()
        .route("/api/v1/grids", post(create_grid))
        .route("/api/v1/grids/{code}", get(get_grid).patch(update_grid))
        .route("/api/v1/grids/{code}/children", get(get_children))
        .route("/api/v1/grids/{code}/layers", get(get_layers))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Leader {
    pub name: String,
    pub phone: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Center {
    pub lat: f64,
    pub lng: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Direct child nodes.
    pub children: i64,
    /// Households in the whole subtree.
    pub households: i64,
    /// Residents in the whole subtree.
    pub residents: i64,
}

/// A grid node.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Grid {
    pub code: String,
    pub name: String,
    /// 1 district, 2 street, 3 community/village, 4 compound/natural village, 5 building/group.
    pub level: i64,
    pub kind: String,
    pub kind_label: String,
    pub parent: Option<String>,
    pub leader: Option<Leader>,
    pub contacts: Vec<Contact>,
    /// GeoJSON Polygon.
    #[schema(value_type = Object)]
    pub boundary: serde_json::Value,
    pub center: Center,
    pub counts: Counts,
    /// A compound's property company (物业公司), or null.
    pub property_company: Option<UnitRef>,
}

/// A unit named by a grid node.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UnitRef {
    pub id: uuid::Uuid,
    pub name: String,
}

/// One node for the API, with its property company's name looked up.
async fn one(s: &GridState, g: &GridRow) -> AppResult<Grid> {
    let mut c = store::contacts(&s.db, std::slice::from_ref(&g.code)).await?;
    let mut out = to_api(g, c.remove(&g.code).unwrap_or_default());
    if let Some(id) = g.property_company_id
        && let Some(card) = s.units.property_company(&s.db, &g.district, id).await?
    {
        out.property_company = Some(UnitRef { id, name: card.name });
    }
    Ok(out)
}

pub fn to_api(g: &GridRow, contacts: Vec<Contact>) -> Grid {
    let leader = contacts.iter().find(|c| c.role == "leader").map(|c| Leader {
        name: c.name.clone(),
        phone: c.phone.clone(),
    });
    Grid {
        code: g.code.clone(),
        name: g.name.clone(),
        level: g.level,
        kind: g.kind.clone(),
        kind_label: rules::kind_label(&g.kind).to_string(),
        parent: g.parent_code.clone(),
        leader,
        contacts,
        boundary: serde_json::from_str(&g.boundary).unwrap_or(serde_json::Value::Null),
        center: Center {
            lat: g.center_lat,
            lng: g.center_lng,
        },
        counts: Counts {
            children: g.children,
            households: g.households,
            residents: g.residents,
        },
        property_company: None,
    }
}

#[utoipa::path(get, path = "/api/v1/grids/{code}", tag = "grid",
    params(("code" = String, Path, description = "Grid code")),
    responses((status = 200, body = Grid), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_grid(State(s): State<GridState>, p: Principal, Path(code): Path<String>) -> AppResult<Json<Grid>> {
    let g = load(&s.db, &p, &code, Capability::ReadGrid).await?;
    Ok(Json(one(&s, &g).await?))
}

#[utoipa::path(get, path = "/api/v1/grids/{code}/children", tag = "grid",
    params(("code" = String, Path, description = "Grid code"), PageQuery),
    responses((status = 200, body = Paged<Grid>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_children(
    State(s): State<GridState>,
    p: Principal,
    Path(code): Path<String>,
    Query(pq): Query<PageQuery>,
) -> AppResult<Json<Paged<Grid>>> {
    let g = load(&s.db, &p, &code, Capability::ReadGrid).await?;
    let (limit, offset) = pq.limits()?;
    let rows = store::children(&s.db, &g.code, limit, offset).await?;
    let codes: Vec<String> = rows.iter().map(|r| r.code.clone()).collect();
    let mut contacts = store::contacts(&s.db, &codes).await?;
    let items = rows
        .iter()
        .map(|r| to_api(r, contacts.remove(&r.code).unwrap_or_default()))
        .collect();
    Ok(Json(Paged { items, total: g.children }))
}

#[utoipa::path(post, path = "/api/v1/grids", tag = "grid", request_body = NewGrid,
    responses((status = 201, body = Grid), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_grid(State(s): State<GridState>, p: Principal, Json(input): Json<NewGrid>) -> AppResult<(StatusCode, Json<Grid>)> {
    let g = super::service::create(&s, &p, &input).await?;
    Ok((StatusCode::CREATED, Json(one(&s, &g).await?)))
}

#[utoipa::path(patch, path = "/api/v1/grids/{code}", tag = "grid", request_body = GridUpdate,
    params(("code" = String, Path, description = "Grid code")),
    responses((status = 200, body = Grid), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_grid(
    State(s): State<GridState>,
    p: Principal,
    Path(code): Path<String>,
    Json(up): Json<GridUpdate>,
) -> AppResult<Json<Grid>> {
    let g = super::service::update(&s, &p, &code, &up).await?;
    Ok(Json(one(&s, &g).await?))
}

/// Base-layer features (底图) as GeoJSON: what the node's map shows under the grid.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LayerCollection {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// GeoJSON Features; `properties` holds `kind` (road, river, landmark, area), `class` (how it
    /// is drawn: road, river, landmark, green, water) and `name`.
    #[schema(value_type = Vec<Object>)]
    pub features: Vec<serde_json::Value>,
}

#[utoipa::path(get, path = "/api/v1/grids/{code}/layers", tag = "grid",
    params(("code" = String, Path, description = "Grid code")),
    responses((status = 200, body = LayerCollection), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_layers(State(s): State<GridState>, p: Principal, Path(code): Path<String>) -> AppResult<Json<LayerCollection>> {
    let g = load(&s.db, &p, &code, Capability::ReadGrid).await?;
    let features = super::service::base_layers(&s.db, &g)
        .await?
        .into_iter()
        .map(|f| {
            let geometry: serde_json::Value = serde_json::from_str(&f.geometry.to_geojson()).unwrap_or_default();
            serde_json::json!({"type": "Feature", "properties": {"kind": f.kind, "class": f.class, "name": f.name}, "geometry": geometry})
        })
        .collect();
    Ok(Json(LayerCollection {
        kind: "FeatureCollection",
        features,
    }))
}
