//! Service sites' API (服务阵地): the sites serving a node with their rooms, and room booking.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules;
use super::service::{self, NewBooking};
use crate::auth::Principal;
use crate::error::{AppResult, ErrorBody};
use crate::services::ServicesState;
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SitesQuery {
    /// A grid node; sites at it, above it (serving it) and under it. By default the caller's own.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Room {
    pub id: Uuid,
    pub name: String,
    pub seats: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SiteItem {
    pub id: Uuid,
    pub name: String,
    /// party_center, civilization, warm_station, cool_space or day_care.
    pub kind: String,
    pub kind_label: &'static str,
    /// The grid node it stands at.
    pub grid: String,
    pub address: String,
    pub hours: String,
    pub services: String,
    pub rooms: Vec<Room>,
}

#[utoipa::path(get, path = "/api/v1/sites", tag = "services", params(SitesQuery),
    responses((status = 200, body = Paged<SiteItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn sites(State(s): State<ServicesState>, p: Principal, Query(q): Query<SitesQuery>) -> AppResult<Json<Paged<SiteItem>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let root = service::read_root(&p, q.grid.as_deref())?;
    let (items, total) = service::serving(&s.db, &p.district, &root, false, limit, offset).await?;
    Ok(Json(Paged {
        items: items
            .into_iter()
            .map(|x| SiteItem {
                id: x.row.id,
                name: x.row.name,
                kind_label: rules::kind_label(&x.row.kind),
                kind: x.row.kind,
                grid: x.row.grid_code,
                address: x.row.address,
                hours: x.row.hours,
                services: x.row.services,
                rooms: x
                    .rooms
                    .into_iter()
                    .map(|r| Room {
                        id: r.id,
                        name: r.name,
                        seats: r.seats,
                    })
                    .collect(),
            })
            .collect(),
        total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Booking {
    pub id: Uuid,
    pub site: Uuid,
    pub room: Uuid,
    pub start: String,
    pub end: String,
    pub purpose: String,
    /// staff, council or resident.
    pub booker_kind: String,
}

#[utoipa::path(post, path = "/api/v1/sites/{id}/bookings", tag = "services", params(("id" = Uuid, Path)), request_body = NewBooking,
    responses((status = 201, body = Booking), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "room_taken: the message names the clashing slot"), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn book(
    State(s): State<ServicesState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(b): Json<NewBooking>,
) -> AppResult<(StatusCode, Json<Booking>)> {
    let r = service::book(&s.db, &p, id, &b).await?;
    Ok((
        StatusCode::CREATED,
        Json(Booking {
            id: r.id,
            site: r.site_id,
            room: r.room_id,
            start: rfc3339_ms(r.start_ms),
            end: rfc3339_ms(r.end_ms),
            purpose: r.purpose,
            booker_kind: r.booker_kind,
        }),
    ))
}
