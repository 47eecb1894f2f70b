//! Shops API: love supermarkets and merchants, their catalogue, one-time redemption codes and
//! redemptions (idempotent).

use super::page;
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::volunteers::VolunteersState;
use crate::volunteers::service::{is_keeper_of, load_shop, may_manage_shop, my_volunteer, refuse, scope};
use crate::volunteers::shops::{self, ItemRow, ItemUpdate, NewItemRow, NewShopRow, ShopRow};
use crate::volunteers::store::{self};
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Shop {
    pub id: Uuid,
    /// love_supermarket or merchant
    pub kind: String,
    pub name: String,
    pub grid: String,
    pub address: String,
    /// The 商会 a merchant belongs to.
    pub association: Option<Uuid>,
}

fn shop_to_api(x: &ShopRow) -> Shop {
    Shop {
        id: x.id,
        kind: x.kind.clone(),
        name: x.name.clone(),
        grid: x.grid_code.clone(),
        address: x.address.clone(),
        association: x.association_id,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ShopQuery {
    pub grid: Option<String>,
    pub kind: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/shops", tag = "shops", params(ShopQuery),
    responses((status = 200, body = Paged<Shop>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_shops(State(s): State<VolunteersState>, p: Principal, Query(q): Query<ShopQuery>) -> AppResult<Json<Paged<Shop>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let (rows, total) = shops::shops(
        &s.db,
        &p.district,
        q.grid.as_deref().filter(|g| !g.is_empty()),
        q.kind.as_deref().filter(|g| !g.is_empty()),
        limit,
        offset,
    )
    .await?;
    Ok(Json(Paged {
        items: rows.iter().map(shop_to_api).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewShop {
    /// love_supermarket or merchant
    pub kind: String,
    pub name: String,
    pub grid: String,
    #[serde(default)]
    pub address: String,
    /// The 商会 (a unit of kind merchant_association) a merchant belongs to.
    pub association: Option<Uuid>,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
}

#[utoipa::path(post, path = "/api/v1/shops", tag = "shops", request_body = NewShop,
    responses((status = 201, body = Shop), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_shop(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<NewShop>,
) -> AppResult<(StatusCode, Json<Shop>)> {
    let grid = scope(&s, &p, Some(&input.grid), Capability::ManageShops).await?;
    if let Some(a) = input.association {
        crate::registry::units::get(&s.db, a)
            .await?
            .filter(|u| u.district == p.district && u.kind == "merchant_association")
            .ok_or_else(|| AppError::invalid("unknown_unit", "商会不存在"))?;
    }
    let x = shops::create_shop(
        &s.db,
        p.actor(),
        &NewShopRow {
            district: &p.district,
            kind: &input.kind,
            name: &input.name,
            grid_code: &grid,
            address: input.address.trim(),
            association_id: input.association,
            contact_name: input.contact_name.trim(),
            contact_phone: input.contact_phone.trim(),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(shop_to_api(&x))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: Uuid,
    pub shop: Uuid,
    pub name: String,
    /// Price in points; null for a discount-only offer.
    pub points: Option<i64>,
    pub discount: String,
    pub stock: i64,
    pub active: bool,
}

fn item_to_api(i: &ItemRow) -> Item {
    Item {
        id: i.id,
        shop: i.shop_id,
        name: i.name.clone(),
        points: i.points,
        discount: i.discount.clone(),
        stock: i.stock,
        active: i.active,
    }
}

#[utoipa::path(get, path = "/api/v1/shops/{id}/items", tag = "shops", params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Paged<Item>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_items(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> AppResult<Json<Paged<Item>>> {
    let shop = load_shop(&s, &p, id).await?;
    let (limit, offset) = q.limits()?;
    let (rows, total) = shops::items(&s.db, shop.id, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.iter().map(item_to_api).collect(),
        total,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewItem {
    pub name: String,
    /// Price in points; omit for a discount-only offer.
    pub points: Option<i64>,
    #[serde(default)]
    pub discount: String,
    #[serde(default)]
    pub stock: i64,
}

#[utoipa::path(post, path = "/api/v1/shops/{id}/items", tag = "shops", params(("id" = Uuid, Path)), request_body = NewItem,
    responses((status = 201, body = Item), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_item(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<NewItem>,
) -> AppResult<(StatusCode, Json<Item>)> {
    let shop = load_shop(&s, &p, id).await?;
    if !may_manage_shop(&p, &shop) {
        return Err(refuse(&p, Capability::ManageShops, "爱心超市或商家"));
    }
    let i = shops::create_item(
        &s.db,
        p.actor(),
        &shop,
        &NewItemRow {
            name: &input.name,
            points: input.points,
            discount: &input.discount,
            stock: input.stock,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(item_to_api(&i))))
}

#[utoipa::path(patch, path = "/api/v1/shop-items/{id}", tag = "shops", params(("id" = Uuid, Path)), request_body = ItemUpdate,
    responses((status = 200, body = Item), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_item(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(up): Json<ItemUpdate>,
) -> AppResult<Json<Item>> {
    let it = shops::item(&s.db, id)
        .await?
        .filter(|i| i.district == p.district)
        .ok_or_else(|| AppError::not_found("商品"))?;
    let shop = load_shop(&s, &p, it.shop_id).await?;
    if !may_manage_shop(&p, &shop) {
        return Err(refuse(&p, Capability::ManageShops, "商品"));
    }
    Ok(Json(item_to_api(&shops::update_item(&s.db, p.actor(), &it, &up).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RedemptionCode {
    /// Show it (or its QR code) at the till; one use.
    pub code: String,
    pub expires_at: String,
    pub points_balance: i64,
}

#[utoipa::path(post, path = "/api/v1/redemption-codes", tag = "shops",
    responses((status = 201, body = RedemptionCode), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn new_code(State(s): State<VolunteersState>, p: Principal) -> AppResult<(StatusCode, Json<RedemptionCode>)> {
    let v = my_volunteer(&s, &p).await?;
    let c = shops::issue_code(&s.db, &v).await?;
    Ok((
        StatusCode::CREATED,
        Json(RedemptionCode {
            code: c.code,
            expires_at: rfc3339_ms(c.expires_at),
            points_balance: v.balance,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RedeemInput {
    /// The volunteer's one-time code.
    pub code: String,
    pub item: Uuid,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Redemption {
    pub id: Uuid,
    pub shop: Uuid,
    pub item: Uuid,
    pub item_name: String,
    pub volunteer: Uuid,
    pub volunteer_name: String,
    pub quantity: i64,
    pub points: i64,
    /// The volunteer's balance now.
    pub points_balance: i64,
    /// The item's stock now.
    pub stock: i64,
    pub transaction: Uuid,
    pub at: String,
}

#[utoipa::path(post, path = "/api/v1/redemptions", tag = "shops", request_body = RedeemInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key returns the first result and never redeems twice")),
    responses((status = 201, body = Redemption), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "insufficient_points (余额不足), out_of_stock (库存不足), code_used, code_expired", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeem(
    State(s): State<VolunteersState>,
    p: Principal,
    headers: HeaderMap,
    Json(input): Json<RedeemInput>,
) -> AppResult<(StatusCode, HeaderMap, Json<Redemption>)> {
    let key = crate::web::api::idempotency_key(&headers)?;
    let it = shops::item(&s.db, input.item)
        .await?
        .filter(|i| i.district == p.district)
        .ok_or_else(|| AppError::not_found("商品"))?;
    if !is_keeper_of(&p, it.shop_id) {
        return Err(refuse(&p, Capability::RedeemPoints, "商品"));
    }
    let r = shops::redeem(
        &s.db,
        &s.writer,
        p.actor(),
        &shops::Redeem {
            item: &it,
            code: &input.code,
            quantity: input.quantity,
            idempotency_key: key.as_deref(),
            keeper: Some(p.user_id),
        },
    )
    .await?;
    let name = store::volunteer(&s.db, r.row.volunteer_id)
        .await?
        .map(|v| v.name)
        .unwrap_or_default();
    let mut h = HeaderMap::new();
    if r.replayed {
        h.insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
    }
    Ok((
        StatusCode::CREATED,
        h,
        Json(Redemption {
            id: r.row.id,
            shop: r.row.shop_id,
            item: r.row.item_id,
            item_name: it.name,
            volunteer: r.row.volunteer_id,
            volunteer_name: name,
            quantity: r.row.quantity,
            points: r.row.points,
            points_balance: r.balance,
            stock: r.stock,
            transaction: r.row.transaction_id,
            at: rfc3339_ms(r.row.at_ms),
        }),
    ))
}
