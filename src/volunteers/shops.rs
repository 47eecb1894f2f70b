//! Love supermarkets (爱心超市) and partner merchants: catalogue, stock, one-time redemption codes,
//! and redemption — points, stock and the record in one transaction, idempotent by key.

use serde_json::json;
use uuid::Uuid;

use super::ledger::{self, AccountKind};
use super::rules;
use super::store::{self, NewTransaction, VolunteerRow};
use crate::audit::{self, Actor};
use crate::db::group::GroupCommit;
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::{on_pool, on_tx};

/// How long a redemption code stays valid.
pub const CODE_TTL_MS: i64 = 10 * 60_000;

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ShopRow {
    pub id: Uuid,
    pub district: String,
    pub kind: String,
    pub name: String,
    pub grid_code: String,
    pub address: String,
    pub association_id: Option<Uuid>,
    pub created_at: i64,
}

const SHOP_COLS: &str = "id, district, kind, name, grid_code, address, association_id, created_at";

pub struct NewShopRow<'a> {
    pub district: &'a str,
    /// love_supermarket | merchant
    pub kind: &'a str,
    pub name: &'a str,
    pub grid_code: &'a str,
    pub address: &'a str,
    pub association_id: Option<Uuid>,
    pub contact_name: &'a str,
    pub contact_phone: &'a str,
}

/// Insert a shop inside `tx`: its unit (same id), the shop row and its points account
/// (bulk-friendly; no audit row).
pub async fn insert_shop(tx: &mut Tx, id: Uuid, s: &NewShopRow<'_>, at_ms: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO units (id, district, kind, name, grid_code, credit_code, contact_name, contact_phone, created_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $8)"
    )
    .bind(id)
    .bind(s.district)
    .bind(s.kind)
    .bind(s.name)
    .bind(s.grid_code)
    .bind(s.contact_name)
    .bind(s.contact_phone)
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO shops (id, district, kind, name, grid_code, address, association_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )
    .bind(id)
    .bind(s.district)
    .bind(s.kind)
    .bind(s.name)
    .bind(s.grid_code)
    .bind(s.address)
    .bind(s.association_id)
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    store::account_in(tx, s.district, AccountKind::Shop, id).await?;
    Ok(())
}

pub async fn create_shop(db: &Db, actor: Actor<'_>, s: &NewShopRow<'_>) -> AppResult<ShopRow> {
    if !rules::SHOP_KINDS.iter().any(|k| k.0 == s.kind) {
        return Err(AppError::invalid(
            "invalid_shop_kind",
            "类型应为 love_supermarket（爱心超市）或 merchant（爱心商家）",
        ));
    }
    let name = s.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "名称不能为空且不超过64字"));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    insert_shop(&mut tx, id, &NewShopRow { name, ..*s }, now_ms()).await.map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_shop", format!("本区已有名为「{name}」的同类单位"))
        } else {
            e.into()
        }
    })?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: s.district,
            action: "shop.create",
            target_kind: "shop",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"kind": s.kind, "name": name, "grid": s.grid_code}),
        },
    )
    .await?;
    tx.commit().await?;
    shop(db, id).await?.ok_or_else(AppError::internal)
}

pub async fn shop(db: &Db, id: Uuid) -> sqlx::Result<Option<ShopRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ShopRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SHOP_COLS} FROM shops WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn shops(
    db: &Db,
    district: &str,
    grid: Option<&str>,
    kind: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ShopRow>, i64)> {
    store::by_grid_and_kind(db, "shops", SHOP_COLS, district, grid, kind, (limit, offset)).await
}

// ---------------------------------------------------------------- catalogue

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ItemRow {
    pub id: Uuid,
    pub district: String,
    pub shop_id: Uuid,
    pub name: String,
    pub points: Option<i64>,
    pub discount: String,
    pub stock: i64,
    pub active: bool,
    pub updated_at: i64,
}

const ITEM_COLS: &str = "id, district, shop_id, name, points, discount, stock, active, updated_at";

pub struct NewItemRow<'a> {
    pub name: &'a str,
    /// Price in points; `None` for a discount-only offer (not redeemed with points).
    pub points: Option<i64>,
    pub discount: &'a str,
    pub stock: i64,
}

fn check_item(name: &str, points: Option<i64>, discount: &str, stock: i64) -> AppResult<()> {
    if name.trim().is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "商品名称不能为空且不超过64字"));
    }
    if points.is_some_and(|p| !(1..=1_000_000).contains(&p)) {
        return Err(AppError::invalid("invalid_points", "兑换所需积分应为1至1000000"));
    }
    if points.is_none() && discount.trim().is_empty() {
        return Err(AppError::invalid("price_required", "请填写兑换所需积分或优惠说明"));
    }
    if discount.chars().count() > 100 {
        return Err(AppError::invalid("invalid_discount", "优惠说明不超过100字"));
    }
    if !(0..=MAX_STOCK).contains(&stock) {
        return Err(AppError::invalid("invalid_stock", "库存应为0至1000000"));
    }
    Ok(())
}

/// Insert a catalogue item inside `tx` (bulk-friendly; no audit row).
pub async fn insert_item(tx: &mut Tx, id: Uuid, shop: &ShopRow, i: &NewItemRow<'_>, at_ms: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO shop_items (id, district, shop_id, name, points, discount, stock, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $8)"
    )
    .bind(id)
    .bind(&shop.district)
    .bind(shop.id)
    .bind(i.name.trim())
    .bind(i.points)
    .bind(i.discount.trim())
    .bind(i.stock)
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn create_item(db: &Db, actor: Actor<'_>, shop: &ShopRow, i: &NewItemRow<'_>) -> AppResult<ItemRow> {
    check_item(i.name, i.points, i.discount, i.stock)?;
    let id = new_id();
    let mut tx = db.begin().await?;
    insert_item(&mut tx, id, shop, i, now_ms()).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &shop.district,
            action: "shop.item_create",
            target_kind: "shop_item",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"shop": shop.id, "name": i.name.trim(), "points": i.points, "stock": i.stock}),
        },
    )
    .await?;
    tx.commit().await?;
    item(db, id).await?.ok_or_else(AppError::internal)
}

pub async fn item(db: &Db, id: Uuid) -> sqlx::Result<Option<ItemRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLS} FROM shop_items WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn items(db: &Db, shop: Uuid, limit: i64, offset: i64) -> sqlx::Result<(Vec<ItemRow>, i64)> {
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, ItemRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {ITEM_COLS} FROM shop_items WHERE shop_id = $1 ORDER BY name, id LIMIT $2 OFFSET $3"
        )))
        .bind(shop)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM shop_items WHERE shop_id = $1")
            .bind(shop)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// What may change on an item. `stock` sets the count on the shelf (a stock-take);
/// `stock_delta` adds to it (a delivery, or a negative write-off) without losing concurrent sales.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ItemUpdate {
    pub name: Option<String>,
    pub points: Option<i64>,
    pub discount: Option<String>,
    pub stock: Option<i64>,
    pub stock_delta: Option<i64>,
    pub active: Option<bool>,
}

/// Most of one item a shop may hold.
pub const MAX_STOCK: i64 = 1_000_000;

pub async fn update_item(db: &Db, actor: Actor<'_>, it: &ItemRow, up: &ItemUpdate) -> AppResult<ItemRow> {
    if up.stock.is_some() && up.stock_delta.is_some() {
        return Err(AppError::invalid("invalid_stock", "stock 与 stock_delta 只能给出一个"));
    }
    let name = up.name.clone().unwrap_or_else(|| it.name.clone());
    let points = up.points.or(it.points);
    let discount = up.discount.clone().unwrap_or_else(|| it.discount.clone());
    check_item(&name, points, &discount, up.stock.unwrap_or(0))?;
    // Bounded so the sum cannot overflow in SQL (SQLite would store a REAL and every later read
    // of the item would fail); the shelf's own cap is checked in the update.
    if up.stock_delta.is_some_and(|d| !(-MAX_STOCK..=MAX_STOCK).contains(&d)) {
        return Err(AppError::invalid("invalid_stock", format!("库存增减应在 ±{MAX_STOCK} 之内")));
    }
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE shop_items SET name = $1, points = $2, discount = $3, active = $4, stock = COALESCE($5, stock + $6), updated_at = $7 \
         WHERE id = $8 AND COALESCE($5, stock + $6) BETWEEN 0 AND $9"
    )
    .bind(name.trim())
    .bind(points)
    .bind(discount.trim())
    .bind(up.active.unwrap_or(it.active))
    .bind(up.stock)
    .bind(up.stock_delta.unwrap_or(0))
    .bind(now_ms())
    .bind(it.id)
    .bind(MAX_STOCK)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n != 1 {
        if up.stock_delta.is_some_and(|d| d > 0) {
            return Err(AppError::invalid("stock_limit", format!("库存不能超过 {MAX_STOCK}")));
        }
        return Err(AppError::conflict("out_of_stock", "库存不足"));
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &it.district,
            action: "shop.item_update",
            target_kind: "shop_item",
            target_id: &it.id.to_string(),
            reason: "",
            detail: json!({"stock": up.stock, "stock_delta": up.stock_delta, "points": up.points, "active": up.active}),
        },
    )
    .await?;
    tx.commit().await?;
    item(db, it.id).await?.ok_or_else(AppError::internal)
}

// ---------------------------------------------------------------- codes and redemptions

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CodeRow {
    pub id: Uuid,
    pub district: String,
    pub volunteer_id: Uuid,
    pub code: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A fresh one-time code for a volunteer, valid for [`CODE_TTL_MS`].
pub async fn issue_code(db: &Db, v: &VolunteerRow) -> AppResult<CodeRow> {
    for _ in 0..5 {
        let now = now_ms();
        let row = CodeRow {
            id: new_id(),
            district: v.district.clone(),
            volunteer_id: v.id,
            code: rules::short_code(8),
            created_at: now,
            expires_at: now + CODE_TTL_MS,
            used_at: None,
        };
        let mut tx = db.begin().await?;
        let r = on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO redemption_codes (id, district, volunteer_id, code, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(row.id)
        .bind(&row.district)
        .bind(row.volunteer_id)
        .bind(&row.code)
        .bind(row.created_at)
        .bind(row.expires_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
        match r {
            Ok(_) => {
                tx.commit().await?;
                return Ok(row);
            }
            Err(e) if crate::db::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::internal())
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct RedemptionRow {
    pub id: Uuid,
    pub district: String,
    pub shop_id: Uuid,
    pub item_id: Uuid,
    pub volunteer_id: Uuid,
    pub quantity: i64,
    pub points: i64,
    pub transaction_id: Uuid,
    pub keeper_id: Option<Uuid>,
    pub at_ms: i64,
    /// What the keyed request asked for (item, code, quantity), to refuse the key's reuse.
    pub idempotency_fingerprint: Option<String>,
}

const RED_COLS: &str =
    "id, district, shop_id, item_id, volunteer_id, quantity, points, transaction_id, keeper_id, at_ms, idempotency_fingerprint";

async fn redemption_by_key(db: &Db, district: &str, key: &str) -> sqlx::Result<Option<RedemptionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, RedemptionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RED_COLS} FROM redemptions WHERE district = $1 AND idempotency_key = $2"
    )))
    .bind(district)
    .bind(key)
    .fetch_optional(p)
    .await)
}

pub async fn redemption(db: &Db, id: Uuid) -> sqlx::Result<Option<RedemptionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, RedemptionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RED_COLS} FROM redemptions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// A shop's redemptions, newest first.
pub async fn redemptions_of_shop(db: &Db, shop: Uuid, limit: i64, offset: i64) -> sqlx::Result<(Vec<RedemptionRow>, i64)> {
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, RedemptionRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {RED_COLS} FROM redemptions WHERE shop_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2 OFFSET $3"
        )))
        .bind(shop)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM redemptions WHERE shop_id = $1")
            .bind(shop)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// A redemption confirmed at the till.
pub struct Redeem<'a> {
    pub item: &'a ItemRow,
    pub code: &'a str,
    pub quantity: i64,
    pub idempotency_key: Option<&'a str>,
    pub keeper: Option<Uuid>,
}

/// The outcome: the redemption, whether it is a replay of an earlier request, and the
/// volunteer's balance and the item's stock right after it.
pub struct Redeemed {
    pub row: RedemptionRow,
    pub replayed: bool,
    pub balance: i64,
    pub stock: i64,
}

/// Confirm a redemption: the code is used, the stock goes down, the points move from the
/// volunteer to the shop and the redemption is recorded — in ONE transaction, or not at all.
/// Conditional updates keep stock and balance from going below zero under any concurrency
/// (`out_of_stock` 库存不足, `insufficient_points` 余额不足, both 409). With an idempotency key
/// already used in the district, the first result is returned (`replayed`).
pub async fn redeem(db: &Db, writer: &GroupCommit, actor: Actor<'_>, r: &Redeem<'_>) -> AppResult<Redeemed> {
    let district = r.item.district.as_str();
    let fingerprint =
        crate::web::api::request_fingerprint(&[&r.item.id.to_string(), &r.code.trim().to_ascii_uppercase(), &r.quantity.to_string()]);
    if let Some(key) = r.idempotency_key
        && let Some(first) = redemption_by_key(db, district, key).await?
    {
        return replay(db, first, r.item.shop_id, &fingerprint).await;
    }
    if !(1..=100).contains(&r.quantity) {
        return Err(AppError::invalid("invalid_quantity", "数量应为1至100"));
    }
    let Some(price) = r.item.points else {
        return Err(AppError::invalid("not_redeemable", "该优惠不需积分兑换，请凭志愿者身份直接享受"));
    };
    if !r.item.active {
        return Err(AppError::conflict("item_inactive", "该商品已下架"));
    }
    let points = price
        .checked_mul(r.quantity)
        .ok_or_else(|| AppError::invalid("invalid_quantity", "数量过大"))?;
    let code = r.code.trim().to_ascii_uppercase();
    // Tills redeem in bursts (a market day): each redemption takes a savepoint in the group
    // commit's open batch, and answers once the batch holding it has committed.
    let mut slot = writer.join().await?;
    slot.savepoint().await?;
    let written = redeem_in(slot.tx(), actor, r, &code, points, &fingerprint).await;
    let ticket = slot.finish(written.is_ok()).await?;
    let undone = match written {
        Ok(done) => {
            ticket.committed().await?;
            return Ok(done);
        }
        Err(undone) => undone,
    };
    // Nothing of it was kept. What the answer says is read once the batch has ended: a retry of
    // the same key may have been written in it.
    let _ = ticket.committed().await;
    match undone {
        Undone::Refused(e) => Err(e),
        // A retry that lost its key race, or a code shown twice.
        Undone::CodeUsed | Undone::KeyRace => {
            if let Some(key) = r.idempotency_key
                && let Some(first) = redemption_by_key(db, district, key).await?
            {
                return replay(db, first, r.item.shop_id, &fingerprint).await;
            }
            Err(AppError::conflict("code_used", "兑换码已使用"))
        }
        Undone::Insufficient { volunteer } => {
            // Say what the volunteer holds and what the item costs.
            let balance = store::account_of(db, district, AccountKind::Volunteer, volunteer)
                .await?
                .map_or(0, |a| a.1);
            Err(AppError::conflict("insufficient_points", insufficient_message(balance, points)))
        }
    }
}

/// Why a redemption wrote nothing: refused outright, or for a reason the answer reads up after.
enum Undone {
    Refused(AppError),
    CodeUsed,
    KeyRace,
    Insufficient { volunteer: Uuid },
}

impl<E: Into<AppError>> From<E> for Undone {
    fn from(e: E) -> Undone {
        Undone::Refused(e.into())
    }
}

/// The redemption's writes, in the caller's savepoint; any error leaves them to be undone.
async fn redeem_in(tx: &mut Tx, actor: Actor<'_>, r: &Redeem<'_>, code: &str, points: i64, fingerprint: &str) -> Result<Redeemed, Undone> {
    let district = r.item.district.as_str();
    let now = now_ms();
    // 1. The code: unused, unexpired, of this district; used from now on.
    let found: Option<CodeRow> = on_tx!(&mut *tx, |c| {
        sqlx::query_as::<_, CodeRow>(
        "SELECT id, district, volunteer_id, code, created_at, expires_at, used_at FROM redemption_codes WHERE district = $1 AND code = $2"
    )
    .bind(district)
    .bind(code)
    .fetch_optional(c)
    .await
    })?;
    let Some(cr) = found else {
        return Err(AppError::invalid("invalid_code", "兑换码不正确").into());
    };
    if cr.expires_at <= now {
        return Err(AppError::conflict("code_expired", "兑换码已过期，请重新获取").into());
    }
    let n = on_tx!(&mut *tx, |c| sqlx::query(
        "UPDATE redemption_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL"
    )
    .bind(now)
    .bind(cr.id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(Undone::CodeUsed);
    }
    // 2. Points: volunteer → shop (post_in refuses a negative balance). The rows every till
    // shares (the shop's account, the item's stock) are touched as late as possible, so that
    // concurrent redemptions hold their locks for the shortest time.
    let from = store::account_in(&mut *tx, district, AccountKind::Volunteer, cr.volunteer_id).await?;
    let to = store::account_in(&mut *tx, district, AccountKind::Shop, r.item.shop_id).await?;
    let id = new_id();
    let source = id.to_string();
    let unique = format!("redemption:{id}");
    let reason = format!("兑换 {} × {}", r.item.name, r.quantity);
    let t = NewTransaction {
        district,
        kind: "redeem",
        reason: &reason,
        source_kind: "redemption",
        source_id: &source,
        unique_key: Some(&unique),
        reverses: None,
        postings: ledger::redeem(from, to, points),
        at_ms: now,
    };
    let txid = match store::post_in(&mut *tx, &actor, &t).await {
        Ok(id) => id,
        Err(e) if e.code == "insufficient_points" => {
            return Err(Undone::Insufficient {
                volunteer: cr.volunteer_id,
            });
        }
        Err(e) => return Err(e.into()),
    };
    // 3. The record; the key's unique index settles a concurrent retry.
    let ins = on_tx!(&mut *tx, |c| {
        sqlx::query(
        "INSERT INTO redemptions (id, district, shop_id, item_id, volunteer_id, code_id, quantity, points, transaction_id, idempotency_key, keeper_id, at_ms, idempotency_fingerprint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(id)
    .bind(district)
    .bind(r.item.shop_id)
    .bind(r.item.id)
    .bind(cr.volunteer_id)
    .bind(cr.id)
    .bind(r.quantity)
    .bind(points)
    .bind(txid)
    .bind(r.idempotency_key)
    .bind(r.keeper)
    .bind(now)
    .bind(r.idempotency_key.map(|_| fingerprint))
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    });
    match ins {
        Ok(_) => {}
        Err(e) if crate::db::is_unique_violation(&e) && r.idempotency_key.is_some() => return Err(Undone::KeyRace),
        Err(e) => return Err(e.into()),
    }
    // 4. Stock, never below zero.
    let stock: Option<i64> = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "UPDATE shop_items SET stock = stock - $1, updated_at = $2 WHERE id = $3 AND stock >= $1 AND active = TRUE RETURNING stock"
    )
    .bind(r.quantity)
    .bind(now)
    .bind(r.item.id)
    .fetch_optional(c)
    .await)?;
    let Some(stock) = stock else {
        return Err(AppError::conflict("out_of_stock", "库存不足").into());
    };
    let balance: i64 = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT balance FROM points_accounts WHERE id = $1"
    )
    .bind(from)
    .fetch_one(c)
    .await)?;
    // Last, so the audit chain's head is locked after the points and the stock (the lock order
    // every writer keeps) and held only until the commit.
    audit::record(
        &mut *tx,
        actor,
        audit::Entry {
            district,
            action: "shop.redeem",
            target_kind: "redemption",
            target_id: &source,
            reason: "",
            detail: json!({"item": r.item.id, "quantity": r.quantity, "points": points, "volunteer": cr.volunteer_id}),
        },
    )
    .await?;
    Ok(Redeemed {
        row: RedemptionRow {
            id,
            district: district.to_string(),
            shop_id: r.item.shop_id,
            item_id: r.item.id,
            volunteer_id: cr.volunteer_id,
            quantity: r.quantity,
            points,
            transaction_id: txid,
            keeper_id: r.keeper,
            at_ms: now,
            idempotency_fingerprint: r.idempotency_key.map(|_| fingerprint.to_string()),
        },
        replayed: false,
        balance,
        stock,
    })
}

/// 余额不足, with the numbers the keeper and the volunteer need at the till.
pub fn insufficient_message(balance: i64, price: i64) -> String {
    format!("积分不足：当前余额 {balance} 分，兑换需 {price} 分")
}

/// The first result for a key, as it stands now. Another shop's key says nothing about it.
async fn replay(db: &Db, first: RedemptionRow, shop: Uuid, fingerprint: &str) -> AppResult<Redeemed> {
    if first.shop_id != shop {
        return Err(AppError::conflict("idempotency_key_in_use", "该 Idempotency-Key 已被使用"));
    }
    if first.idempotency_fingerprint.as_deref().is_some_and(|f| f != fingerprint) {
        return Err(crate::web::api::key_reused());
    }
    let balance = store::account_of(db, &first.district, AccountKind::Volunteer, first.volunteer_id)
        .await?
        .map(|a| a.1)
        .unwrap_or(0);
    let stock = item(db, first.item_id).await?.map(|i| i.stock).unwrap_or(0);
    Ok(Redeemed {
        row: first,
        replayed: true,
        balance,
        stock,
    })
}
