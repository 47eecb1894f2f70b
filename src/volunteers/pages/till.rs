//! The keeper's till (兑换): confirm a volunteer's code once, stock, recent redemptions.

use super::{ItemView, grouped, in_place, item_view, when};
use crate::auth::{Capability, Role};
use crate::error::AppError;
use crate::volunteers::VolunteersState;
use crate::volunteers::ledger::AccountKind;
use crate::volunteers::service::{is_keeper_of, load_shop, may_manage_shop, refuse};
use crate::volunteers::shops::{self, ItemUpdate, ShopRow};
use crate::volunteers::store::{self};
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageResult, pager};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

pub struct RedemptionView {
    pub at: String,
    pub volunteer: String,
    pub item: String,
    pub quantity: i64,
    pub points: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "keeper.html")]
struct KeeperPage {
    chrome: Chrome,
    shop_id: Uuid,
    shop_name: String,
    balance: i64,
    others: Vec<(Uuid, String)>,
    items: Vec<ItemView>,
    redemptions: Vec<RedemptionView>,
    /// All of the shop's redemptions (grouped by three), not just this page's.
    redemptions_total: String,
    pager: String,
    key: String,
    code: String,
    item: String,
    quantity: String,
    result: Option<String>,
    notice: &'static str,
    error: Option<String>,
}

/// The shops this console user keeps (a `shop_keeper` post at each).
fn kept_shops(c: &Console) -> Vec<Uuid> {
    c.principal
        .posts
        .iter()
        .filter(|x| x.role == Role::ShopKeeper)
        .filter_map(|x| x.unit_id)
        .collect()
}

#[derive(Deserialize, Default)]
pub(super) struct TillForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    shop: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    item: String,
    #[serde(default)]
    quantity: String,
}

struct Till<'a> {
    form: Option<&'a TillForm>,
    result: Option<String>,
    notice: &'static str,
    error: Option<AppError>,
}

async fn render_keeper(s: &VolunteersState, c: &Console, shop: Option<Uuid>, page: i64, t: Till<'_>) -> PageResult {
    let kept = kept_shops(c);
    let Some(first) = kept.first() else {
        return Err(refuse(&c.principal, Capability::RedeemPoints, "爱心超市或商家").into());
    };
    let shop_id = shop.filter(|x| kept.contains(x)).unwrap_or(*first);
    let shop: ShopRow = load_shop(s, &c.principal, shop_id).await?;
    let mut others = Vec::new();
    for k in kept.iter().filter(|k| **k != shop.id) {
        if let Some(x) = shops::shop(&s.db, *k).await? {
            others.push((x.id, x.name));
        }
    }
    let items = shops::items(&s.db, shop.id, 200, 0).await?.0;
    let per = 20;
    let page = page.max(1);
    let (rows, redemptions_total) = shops::redemptions_of_shop(&s.db, shop.id, per, (page - 1) * per).await?;
    let mut redemptions = Vec::new();
    for r in rows {
        redemptions.push(RedemptionView {
            at: when(r.at_ms),
            volunteer: store::volunteer(&s.db, r.volunteer_id).await?.map(|v| v.name).unwrap_or_default(),
            item: items.iter().find(|i| i.id == r.item_id).map(|i| i.name.clone()).unwrap_or_default(),
            quantity: r.quantity,
            points: r.points,
        });
    }
    let balance = store::account_of(&s.db, &shop.district, AccountKind::Shop, shop.id)
        .await?
        .map(|a| a.1)
        .unwrap_or(0);
    // A refused form keeps its key (nothing was redeemed); a confirmed one gets a fresh key.
    let keep = t.error.is_some();
    let f = t.form.filter(|_| keep);
    let status = t.error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = KeeperPage {
        chrome: Chrome::new(c, "积分兑换确认", "shop"),
        shop_id: shop.id,
        shop_name: shop.name.clone(),
        balance,
        others,
        items: items.iter().map(item_view).collect(),
        redemptions,
        redemptions_total: grouped(redemptions_total),
        pager: pager(&format!("/console/shop?shop={}", shop.id), page, per, redemptions_total),
        key: f
            .map(|f| f.key.clone())
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| crate::db::new_id().to_string()),
        code: f.map(|f| f.code.clone()).unwrap_or_default(),
        item: f.map(|f| f.item.clone()).unwrap_or_default(),
        quantity: f.map(|f| f.quantity.clone()).unwrap_or_else(|| "1".into()),
        result: t.result,
        notice: t.notice,
        error: t.error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
pub(super) struct KeeperQuery {
    shop: Option<Uuid>,
    done: Option<String>,
    page: Option<i64>,
}

pub(super) async fn keeper_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<KeeperQuery>) -> PageResult {
    let notice = if q.done.as_deref() == Some("stock") {
        "库存已更新"
    } else {
        ""
    };
    render_keeper(
        &s,
        &c,
        q.shop,
        crate::web::pages::page_number(q.page),
        Till {
            form: None,
            result: None,
            notice,
            error: None,
        },
    )
    .await
}

pub(super) async fn redeem(State(s): State<VolunteersState>, c: Console, Form(f): Form<TillForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let shop = f.shop.parse::<Uuid>().ok();
    let refused = |e: AppError| Till {
        form: Some(&f),
        result: None,
        notice: "",
        error: Some(e),
    };
    let Ok(item_id) = f.item.parse::<Uuid>() else {
        return render_keeper(&s, &c, shop, 1, refused(AppError::invalid("item_required", "请选择兑换的商品"))).await;
    };
    let Ok(quantity) = f.quantity.trim().parse::<i64>() else {
        return render_keeper(
            &s,
            &c,
            shop,
            1,
            refused(AppError::invalid("invalid_quantity", "数量应为1至100的整数")),
        )
        .await;
    };
    if f.code.trim().is_empty() {
        return render_keeper(
            &s,
            &c,
            shop,
            1,
            refused(AppError::invalid("code_required", "请输入志愿者出示的兑换码")),
        )
        .await;
    }
    let it = shops::item(&s.db, item_id)
        .await?
        .filter(|i| i.district == c.principal.district)
        .ok_or_else(|| AppError::not_found("商品"))?;
    // The same rule as the API: only a keeper of the item's shop confirms.
    if !is_keeper_of(&c.principal, it.shop_id) {
        return Err(refuse(&c.principal, Capability::RedeemPoints, "商品").into());
    }
    let key = Some(f.key.trim()).filter(|k| !k.is_empty() && k.len() <= 64);
    let r = shops::redeem(
        &s.db,
        &s.writer,
        c.principal.actor(),
        &shops::Redeem {
            item: &it,
            code: &f.code,
            quantity,
            idempotency_key: key,
            keeper: Some(c.principal.user_id),
        },
    )
    .await;
    match r {
        Ok(r) => {
            let name = store::volunteer(&s.db, r.row.volunteer_id)
                .await?
                .map(|v| v.name)
                .unwrap_or_default();
            let mut text = format!(
                "兑换成功：{name} 兑换 {} × {}，扣除 {} 积分；其余额 {}，库存剩 {}。",
                it.name, r.row.quantity, r.row.points, r.balance, r.stock
            );
            if r.replayed {
                text.push_str("（重复提交，只兑换了一次）");
            }
            let t = Till {
                form: None,
                result: Some(text),
                notice: "",
                error: None,
            };
            render_keeper(&s, &c, Some(it.shop_id), 1, t).await
        }
        Err(e) if in_place(&e) => render_keeper(&s, &c, Some(it.shop_id), 1, refused(e)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(super) struct StockForm {
    csrf: String,
    #[serde(default)]
    stock: String,
}

pub(super) async fn set_stock(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<StockForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let it = shops::item(&s.db, id)
        .await?
        .filter(|i| i.district == c.principal.district)
        .ok_or_else(|| AppError::not_found("商品"))?;
    let shop = load_shop(&s, &c.principal, it.shop_id).await?;
    if !may_manage_shop(&c.principal, &shop) {
        return Err(refuse(&c.principal, Capability::ManageShops, "商品").into());
    }
    let err = |e: AppError| Till {
        form: None,
        result: None,
        notice: "",
        error: Some(e),
    };
    let Ok(stock) = f.stock.trim().parse::<i64>() else {
        return render_keeper(
            &s,
            &c,
            Some(shop.id),
            1,
            err(AppError::invalid("invalid_stock", "库存应为0至1000000的整数")),
        )
        .await;
    };
    let up = ItemUpdate {
        stock: Some(stock),
        ..Default::default()
    };
    match shops::update_item(&s.db, c.principal.actor(), &it, &up).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/shop?shop={}&done=stock", shop.id)).into_response()),
        Err(e) if in_place(&e) => render_keeper(&s, &c, Some(shop.id), 1, err(e)).await,
        Err(e) => Err(e.into()),
    }
}
