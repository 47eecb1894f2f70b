//! Console pages for volunteers on the phone (activities, sign-up, check-in, points, redemption code) and shop keepers (confirm a redemption, stock).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::VolunteersState;
use super::activities::{self, ActivityFilter, ActivityRow, SignupRow};
use super::ledger::AccountKind;
use super::service::{is_keeper_of, load_activity, load_shop, may_manage_shop, may_organise, my_volunteer, refuse};
use super::shops::{self, ItemRow, ItemUpdate, ShopRow};
use super::store::{self, VolunteerRow};
use crate::auth::{Capability, Role};
use crate::db::now_ms;
use crate::error::AppError;
use crate::web::pages::{Chrome, PageError, PageResult, pager};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<VolunteersState> {
    Router::new()
        .route("/console/volunteer", get(home))
        .route("/console/volunteer/register", post(register))
        .route("/console/volunteer/check", post(check_by_code))
        .route("/console/volunteer/activities/{id}", get(activity_page))
        .route("/console/volunteer/activities/{id}/signup", post(sign_up))
        .route("/console/volunteer/activities/{id}/check", post(check_here))
        .route("/console/volunteer/shop", get(shop_page))
        .route("/console/volunteer/shop/code", post(new_code))
        .route("/console/shop", get(keeper_page))
        .route("/console/shop/redeem", post(redeem))
        .route("/console/shop/items/{id}/stock", post(set_stock))
        .merge(super::manage_pages::routes())
}

// ---------------------------------------------------------------- shared bits

/// A QR code of `text` as inline SVG (drawn here, no script, no outside service).
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let at = svg.find("<svg").unwrap_or(0);
    // The label repeats the code; only characters that need no escaping go into the attribute.
    let label: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    svg[at..].replacen(
        "<svg ",
        &format!("<svg class=\"qr\" role=\"img\" aria-label=\"二维码：{label}\" "),
        1,
    )
}

/// Minutes as hours with one decimal: 75 → "1.3".
pub fn hours(minutes: i64) -> String {
    format!("{:.1}", (minutes as f64 / 6.0).round() / 10.0)
}

/// `2026-11-24 13:05` in China time.
pub fn when(ms: i64) -> String {
    let s = crate::time::format_ms(ms);
    s.get(..16).unwrap_or(&s).to_string()
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "signed_up" => "已报名",
        "checked_in" => "已签到",
        "attended" => "已完成",
        "cancelled" => "已取消",
        _ => "未报名",
    }
}

/// An error a form shows in place (bad input, a refusal), or one that ends the request.
fn in_place(e: &AppError) -> bool {
    e.status == StatusCode::UNPROCESSABLE_ENTITY || e.status == StatusCode::CONFLICT
}

/// The volunteer behind a console user, with a page-friendly refusal.
async fn me(s: &VolunteersState, c: &Console) -> Result<VolunteerRow, PageError> {
    my_volunteer(s, &c.principal).await.map_err(|e| {
        if e.code == "not_a_volunteer" {
            PageError(AppError::new(
                StatusCode::FORBIDDEN,
                "not_a_volunteer",
                "您的账号尚未登记为志愿者，请到所在社区登记，或联系社区工作者关联账号。",
            ))
        } else {
            PageError(e)
        }
    })
}

pub struct ActivityView {
    pub id: Uuid,
    pub title: String,
    pub place: String,
    pub time: String,
    pub places: String,
    pub status: String,
    pub mine: &'static str,
    pub can_sign_up: bool,
}

fn activity_view(a: &ActivityRow, mine: Option<&SignupRow>, now: i64) -> ActivityView {
    ActivityView {
        id: a.id,
        title: a.title.clone(),
        place: a.place.clone(),
        time: format!("{} 至 {}", when(a.starts_at), &when(a.ends_at)[11..]),
        places: format!("{}/{}", a.signed_up, a.capacity),
        status: a.status.clone(),
        mine: mine.map(|m| status_label(&m.status)).unwrap_or(""),
        can_sign_up: mine.is_none() && a.status == "open" && now < a.ends_at && a.signed_up < a.capacity,
    }
}

pub struct SignupView {
    pub activity: Uuid,
    pub title: String,
    pub time: String,
    pub status: &'static str,
    pub hours: String,
    pub points: i64,
}

pub struct EntryView {
    pub at: String,
    pub reason: String,
    pub amount: i64,
}

/// A volunteer's last ledger entries, as seen from their account.
pub async fn entries_of(s: &VolunteersState, v: &VolunteerRow, limit: i64, offset: i64) -> Result<(Vec<EntryView>, i64), PageError> {
    let Some(account) = v.account_id else { return Ok((Vec::new(), 0)) };
    let (rows, total) = store::transactions(&s.db, &v.district, Some(account), limit, offset).await?;
    let out = rows
        .into_iter()
        .map(|(t, ps)| EntryView {
            at: when(t.at_ms),
            reason: t.reason,
            amount: ps.iter().filter(|p| p.account_id == account).map(|p| p.amount).sum(),
        })
        .collect();
    Ok((out, total))
}

// ---------------------------------------------------------------- the volunteer's home

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_home.html")]
struct HomePage {
    chrome: Chrome,
    id: Uuid,
    name: String,
    hours: String,
    balance: i64,
    teams: Vec<String>,
    leads: bool,
    attended: i64,
    upcoming: Vec<ActivityView>,
    signups: Vec<SignupView>,
    entries: Vec<EntryView>,
    code: String,
    error: Option<String>,
}

async fn render_home(s: &VolunteersState, c: &Console, code: &str, error: Option<AppError>) -> PageResult {
    let v = me(s, c).await?;
    let now = now_ms();
    let teams = store::teams_of(&s.db, v.id).await?;
    let mine = activities::signups_of_volunteer(&s.db, v.id, false, 50).await?;
    // Upcoming: the community's activities and those of my teams, soonest first.
    let community = v.grid_code.get(..12).unwrap_or(&v.grid_code).to_string();
    let mut upcoming: Vec<ActivityRow> = Vec::new();
    let mut filters = vec![ActivityFilter {
        district: &v.district,
        grid: Some(&community),
        from: Some(now),
        limit: 20,
        ..Default::default()
    }];
    for (t, _) in &teams {
        filters.push(ActivityFilter {
            district: &v.district,
            team: Some(*t),
            from: Some(now),
            limit: 10,
            ..Default::default()
        });
    }
    for f in &filters {
        for a in activities::list(&s.db, f).await?.0 {
            if !upcoming.iter().any(|x| x.id == a.id) {
                upcoming.push(a);
            }
        }
    }
    upcoming.sort_by_key(|a| (a.starts_at, a.id));
    upcoming.truncate(20);
    let upcoming = upcoming
        .iter()
        .map(|a| activity_view(a, mine.iter().find(|(m, _)| m.activity_id == a.id).map(|x| &x.0), now))
        .collect();
    let (entries, _) = entries_of(s, &v, 10, 0).await?;
    let leads = !store::teams_led_by(&s.db, v.id).await?.is_empty();
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = HomePage {
        chrome: Chrome::new(c, "我的志愿服务", "volunteer"),
        id: v.id,
        name: v.name.clone(),
        hours: hours(v.minutes),
        balance: v.balance,
        teams: teams.into_iter().map(|t| t.1).collect(),
        leads,
        attended: activities::attended_count(&s.db, v.id).await?,
        upcoming,
        signups: mine
            .iter()
            .take(20)
            .map(|(m, a)| SignupView {
                activity: a.id,
                title: a.title.clone(),
                time: when(a.starts_at),
                status: status_label(&m.status),
                hours: hours(m.minutes),
                points: m.points,
            })
            .collect(),
        entries,
        code: code.to_string(),
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

async fn home(State(s): State<VolunteersState>, c: Console) -> PageResult {
    // A resident who does not volunteer yet is offered to register (网上注册) rather than refused.
    let is_resident = c.principal.posts.iter().any(|p| p.role == Role::Resident);
    if is_resident && store::volunteer_of_user(&s.db, c.principal.user_id).await?.is_none() {
        return render_register(&c, &RegisterForm::default(), None, StatusCode::OK);
    }
    render_home(&s, &c, "", None).await
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_register.html")]
struct RegisterPage {
    chrome: Chrome,
    name: String,
    id_number: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
}

fn render_register(c: &Console, f: &RegisterForm, error: Option<String>, status: StatusCode) -> PageResult {
    let page = RegisterPage {
        chrome: Chrome::new(c, "登记成为志愿者", "volunteer"),
        name: f.name.clone(),
        id_number: f.id_number.clone(),
        error,
    };
    Ok((status, page).into_response())
}

/// The resident registers themself, by the name and ID number the registry holds for them.
async fn register(State(s): State<VolunteersState>, c: Console, Form(f): Form<RegisterForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let p = &c.principal;
    let done = async {
        let r = super::service::resident_of_self(&s, p, &f.id_number, &f.name).await?;
        store::register(&s.db, p.actor(), &r, Some(p.user_id), store::RegisteredVia::SelfOnline, None).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/console/volunteer").into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => render_register(
            &c,
            &f,
            Some("未找到与该姓名和身份证号相符的本楼居民，请核对，或到所在社区登记".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) if in_place(&e) => render_register(&c, &f, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CheckForm {
    csrf: String,
    #[serde(default)]
    code: String,
    /// in | out
    #[serde(default)]
    action: String,
}

/// Check in or out with the code the organiser shows, from wherever it was typed.
async fn check(s: &VolunteersState, c: &Console, a: &ActivityRow, v: &VolunteerRow, f: &CheckForm) -> Result<&'static str, AppError> {
    let actor = c.principal.actor();
    if f.action == "out" {
        activities::check_out(&s.db, actor, a, v, &f.code).await?;
        Ok("out")
    } else {
        activities::check_in(&s.db, actor, a, v, &f.code).await?;
        Ok("in")
    }
}

async fn check_by_code(State(s): State<VolunteersState>, c: Console, Form(f): Form<CheckForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = me(&s, &c).await?;
    if f.code.trim().is_empty() {
        return render_home(
            &s,
            &c,
            &f.code,
            Some(AppError::invalid("code_required", "请输入活动现场公布的签到码")),
        )
        .await;
    }
    let found = activities::open_with_code(&s.db, &v.district, &f.code, now_ms()).await?;
    // Several activities may share a code: the one I signed up for first.
    let mut pick = None;
    for a in &found {
        if activities::signup(&s.db, a.id, v.id).await?.is_some() {
            pick = Some(a);
            break;
        }
    }
    let Some(a) = pick.or(found.first()) else {
        return render_home(
            &s,
            &c,
            &f.code,
            Some(AppError::invalid(
                "wrong_code",
                "签到码不正确，或该活动不在签到时间内（开始前2小时至结束）",
            )),
        )
        .await;
    };
    match check(&s, &c, a, &v, &f).await {
        Ok(done) => Ok(Redirect::to(&format!("/console/volunteer/activities/{}?done={done}", a.id)).into_response()),
        Err(e) if in_place(&e) => render_home(&s, &c, &f.code, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- one activity

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_activity.html")]
struct ActivityPage {
    chrome: Chrome,
    a: ActivityView,
    description: String,
    theme: String,
    mine: Option<SignupView>,
    can_check: bool,
    organiser: bool,
    notice: &'static str,
    code: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn render_activity(
    s: &VolunteersState,
    c: &Console,
    id: Uuid,
    done: Option<&str>,
    code: &str,
    error: Option<AppError>,
) -> PageResult {
    let a = load_activity(s, &c.principal, id).await?;
    let v = me(s, c).await?;
    let now = now_ms();
    let mine = activities::signup(&s.db, a.id, v.id).await?;
    let month = crate::time::month_ms(a.starts_at);
    let theme = activities::themes(&s.db, &a.district, &a.grid_code, Some(&month))
        .await?
        .pop()
        .map(|t| t.title)
        .unwrap_or_default();
    let notice = match done {
        Some("signup") => "报名成功",
        Some("in") => "签到成功，活动结束前请记得签退",
        Some("out") => "签退成功，服务时长和积分已记入",
        _ => "",
    };
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = ActivityPage {
        chrome: Chrome::new(c, a.title.clone(), "volunteer"),
        a: activity_view(&a, mine.as_ref(), now),
        description: a.description.clone(),
        theme,
        can_check: a.status == "open"
            && now >= a.starts_at - 2 * 3_600_000
            && now < a.ends_at
            && mine.as_ref().is_none_or(|m| m.status != "attended"),
        mine: mine.map(|m| SignupView {
            activity: a.id,
            title: a.title.clone(),
            time: when(a.starts_at),
            status: status_label(&m.status),
            hours: hours(m.minutes),
            points: m.points,
        }),
        organiser: may_organise(s, &c.principal, &a).await?,
        notice,
        code: code.to_string(),
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

async fn activity_page(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<DoneQuery>) -> PageResult {
    render_activity(&s, &c, id, q.done.as_deref(), "", None).await
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn sign_up(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = load_activity(&s, &c.principal, id).await?;
    let v = me(&s, &c).await?;
    match activities::sign_up(&s.db, c.principal.actor(), &a, &v).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/volunteer/activities/{id}?done=signup")).into_response()),
        Err(e) if in_place(&e) => render_activity(&s, &c, id, None, "", Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

async fn check_here(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CheckForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = load_activity(&s, &c.principal, id).await?;
    let v = me(&s, &c).await?;
    match check(&s, &c, &a, &v, &f).await {
        Ok(done) => Ok(Redirect::to(&format!("/console/volunteer/activities/{id}?done={done}")).into_response()),
        Err(e) if in_place(&e) => render_activity(&s, &c, id, None, &f.code, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- catalogue and redemption code

pub struct ItemView {
    pub id: Uuid,
    pub name: String,
    pub price: String,
    pub stock: i64,
    pub active: bool,
}

fn item_view(i: &ItemRow) -> ItemView {
    let price = match (i.points, i.discount.trim()) {
        (Some(p), "") => format!("{p} 积分"),
        (Some(p), d) => format!("{p} 积分（{d}）"),
        (None, d) => d.to_string(),
    };
    ItemView {
        id: i.id,
        name: i.name.clone(),
        price,
        stock: i.stock,
        active: i.active,
    }
}

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
    total: i64,
    all: bool,
    pager: String,
    code: Option<String>,
    qr: String,
    expires: String,
}

#[derive(Deserialize)]
struct ShopQuery {
    all: Option<String>,
    page: Option<i64>,
}

async fn render_shop(s: &VolunteersState, c: &Console, q: &ShopQuery, code: Option<shops::CodeRow>) -> PageResult {
    let v = me(s, c).await?;
    let all = q.all.as_deref() == Some("1");
    let street = v.grid_code.get(..9).unwrap_or(&v.grid_code).to_string();
    let page = q.page.unwrap_or(1).max(1);
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
        total,
        all,
        pager: pager(base, page, per, total),
        qr: code.as_ref().map(|k| qr_svg(&k.code)).unwrap_or_default(),
        expires: code.as_ref().map(|k| when(k.expires_at)).unwrap_or_default(),
        code: code.map(|k| k.code),
    }
    .into_response())
}

async fn shop_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<ShopQuery>) -> PageResult {
    render_shop(&s, &c, &q, None).await
}

async fn new_code(State(s): State<VolunteersState>, c: Console, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = me(&s, &c).await?;
    let code = shops::issue_code(&s.db, &v).await?;
    render_shop(&s, &c, &ShopQuery { all: None, page: None }, Some(code)).await
}

// ---------------------------------------------------------------- the keeper's till

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
struct TillForm {
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

async fn render_keeper(s: &VolunteersState, c: &Console, shop: Option<Uuid>, t: Till<'_>) -> PageResult {
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
    let mut redemptions = Vec::new();
    for r in shops::redemptions_of_shop(&s.db, shop.id, 20, 0).await?.0 {
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
struct KeeperQuery {
    shop: Option<Uuid>,
    done: Option<String>,
}

async fn keeper_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<KeeperQuery>) -> PageResult {
    let notice = if q.done.as_deref() == Some("stock") {
        "库存已更新"
    } else {
        ""
    };
    render_keeper(
        &s,
        &c,
        q.shop,
        Till {
            form: None,
            result: None,
            notice,
            error: None,
        },
    )
    .await
}

async fn redeem(State(s): State<VolunteersState>, c: Console, Form(f): Form<TillForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let shop = f.shop.parse::<Uuid>().ok();
    let refused = |e: AppError| Till {
        form: Some(&f),
        result: None,
        notice: "",
        error: Some(e),
    };
    let Ok(item_id) = f.item.parse::<Uuid>() else {
        return render_keeper(&s, &c, shop, refused(AppError::invalid("item_required", "请选择兑换的商品"))).await;
    };
    let Ok(quantity) = f.quantity.trim().parse::<i64>() else {
        return render_keeper(&s, &c, shop, refused(AppError::invalid("invalid_quantity", "数量应为1至100的整数"))).await;
    };
    if f.code.trim().is_empty() {
        return render_keeper(
            &s,
            &c,
            shop,
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
            render_keeper(&s, &c, Some(it.shop_id), t).await
        }
        Err(e) if in_place(&e) => render_keeper(&s, &c, Some(it.shop_id), refused(e)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct StockForm {
    csrf: String,
    #[serde(default)]
    stock: String,
}

async fn set_stock(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<StockForm>) -> PageResult {
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
        Err(e) if in_place(&e) => render_keeper(&s, &c, Some(shop.id), err(e)).await,
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_codes_are_inline_svg_sized_by_css() {
        let svg = qr_svg("K7Q2MX");
        assert!(svg.starts_with("<svg class=\"qr\" role=\"img\" aria-label=\"二维码：K7Q2MX\" "));
        assert!(svg.ends_with("</svg>") && !svg.contains("<?xml") && svg.contains("viewBox"));
        // Nothing but the code's letters reaches the label.
        assert!(qr_svg("a\"<b").contains("aria-label=\"二维码：ab\""));
    }

    #[test]
    fn hours_and_times_read_in_chinese_conventions() {
        assert_eq!(hours(75), "1.3");
        assert_eq!(hours(0), "0.0");
        assert_eq!(when(1_767_225_600_000), "2026-01-01 08:00");
        assert_eq!(status_label("attended"), "已完成");
    }
}
