//! The love supermarkets' catalogue for a volunteer, and a one-time redemption code with its QR.

use super::{CsrfForm, ItemView, grouped, item_view, me, qr_svg, when};
use crate::volunteers::VolunteersState;
use crate::volunteers::shops::{self};
use crate::web::pages::{Chrome, PageResult, pager};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

pub struct ShopView {
    pub name: String,
    pub kind: &'static str,
    pub address: String,
    pub items: Vec<ItemView>,
}

fn kind_label(kind: &str) -> &'static str {
    if kind == "merchant" { "爱心商家" } else { "爱心超市" }
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_shop.html")]
struct ShopPage {
    chrome: Chrome,
    balance: i64,
    shops: Vec<ShopView>,
    /// How many shops in all (grouped by three), not just this page's.
    total: String,
    all: bool,
    pager: String,
    code: Option<String>,
    qr: String,
    expires: String,
}

#[derive(Deserialize)]
pub(super) struct ShopQuery {
    all: Option<String>,
    page: Option<i64>,
}

async fn render_shop(s: &VolunteersState, c: &Console, q: &ShopQuery, code: Option<shops::CodeRow>) -> PageResult {
    let v = me(s, c).await?;
    let all = q.all.as_deref() == Some("1");
    let street = v.grid_code.get(..9).unwrap_or(&v.grid_code).to_string();
    let page = crate::web::pages::page_number(q.page);
    let per = 10;
    let (rows, total) = shops::shops(&s.db, &v.district, (!all).then_some(street.as_str()), None, per, (page - 1) * per).await?;
    let mut views = Vec::with_capacity(rows.len());
    for x in rows {
        let items = shops::items(&s.db, x.id, 50, 0).await?.0;
        views.push(ShopView {
            name: x.name,
            kind: kind_label(&x.kind),
            address: x.address,
            items: items.iter().filter(|i| i.active).map(item_view).collect(),
        });
    }
    let base = if all {
        "/console/volunteer/shop?all=1"
    } else {
        "/console/volunteer/shop"
    };
    Ok(ShopPage {
        chrome: Chrome::new(c, "积分兑换", "volunteer"),
        balance: v.balance,
        shops: views,
        all,
        pager: pager(base, page, per, total),
        total: grouped(total),
        qr: code.as_ref().map(|k| qr_svg(&k.code)).unwrap_or_default(),
        expires: code.as_ref().map(|k| when(k.expires_at)).unwrap_or_default(),
        code: code.map(|k| k.code),
    }
    .into_response())
}

pub(super) async fn shop_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<ShopQuery>) -> PageResult {
    render_shop(&s, &c, &q, None).await
}

pub(super) async fn new_code(State(s): State<VolunteersState>, c: Console, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = me(&s, &c).await?;
    let code = shops::issue_code(&s.db, &v).await?;
    render_shop(&s, &c, &ShopQuery { all: None, page: None }, Some(code)).await
}
