//! Registry pages: resident search and detail (with audited reveal), households, units.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::RegistryState;
use super::api::{Resident, Unit, resident_to_api, unit_to_api};
use super::residents::{self, NewResident, RELATIONS};
use super::service::{self, load_household, scope_grid};
use super::{TAGS, units};
use crate::auth::Capability;
use crate::error::AppError;
use crate::grid::pages::crumbs;
use crate::grid::store as grids;
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageError, PageResult, pager, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<RegistryState> {
    Router::new()
        .route("/console/residents", get(residents_page))
        .route("/console/residents/lookup", post(lookup_page))
        .route("/console/residents/{id}", get(resident_page))
        .route("/console/residents/{id}/reveal", post(reveal))
        .route("/console/residents/{id}/tags", post(save_tags))
        .route("/console/households/{id}", get(household_page))
        .route("/console/households/{id}/residents", post(add_resident))
        .route("/console/units", get(units_page))
        .route("/console/places", get(places_page))
        .route("/console/devices", get(devices_page))
        .route("/console/grids/{code}/households", post(super::building::add_household))
}

pub struct ResidentView {
    id: Uuid,
    name: String,
    gender: &'static str,
    /// 「1980年」 until revealed, then the whole date.
    birth: String,
    id_number: String,
    phone: String,
    tags: Vec<String>,
    grid: String,
    grid_name: String,
    relation: String,
    household_id: Uuid,
}

fn view(r: Resident, grid_name: String) -> ResidentView {
    ResidentView {
        gender: if r.gender == "male" { "男" } else { "女" },
        id: r.id,
        name: r.name,
        birth: format!("{}年", r.birth_year),
        id_number: r.id_number,
        phone: r.phone,
        tags: r.tags,
        grid: r.grid,
        grid_name,
        relation: r.relation,
        household_id: r.household_id,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "residents.html")]
struct ResidentsPage {
    chrome: Chrome,
    crumbs: Vec<(String, String)>,
    grid: String,
    q: String,
    tags: Vec<(&'static str, bool)>,
    rows: Vec<ResidentView>,
    total: i64,
    pager: String,
    error: Option<String>,
    notice: Option<String>,
    /// May look a person up by a whole number here (查看完整信息的岗位).
    can_lookup: bool,
    /// The Excel ledger of this list, with its filters (导出Excel).
    export_href: String,
    /// May import residents (批量导入).
    can_import: bool,
    number: String,
    reason: String,
}

#[derive(Deserialize)]
struct ResidentsQuery {
    grid: Option<String>,
    q: Option<String>,
    tag: Option<String>,
    page: Option<i64>,
}

/// Names of the buildings on a page, for the "where" column.
async fn building_names(
    s: &RegistryState,
    codes: impl Iterator<Item = String>,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    let mut out = std::collections::HashMap::new();
    for code in codes {
        if out.contains_key(&code) {
            continue;
        }
        let chain = grids::chain(&s.db, &code).await?;
        // Compound + building reads best: 「阳光花园 3号楼」.
        let name = chain
            .iter()
            .filter(|g| g.level >= 4)
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        out.insert(code, name);
    }
    Ok(out)
}

async fn residents_page(State(s): State<RegistryState>, c: Console, Query(q): Query<ResidentsQuery>) -> PageResult {
    let g = scope_grid(&s, &c.principal, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let page = crate::web::pages::page_number(q.page);
    let per = 20;
    let tag = q.tag.clone().filter(|t| TAGS.contains(&t.as_str()));
    let text = q.q.clone().unwrap_or_default();
    let found = match residents::parse_query(Some(&text)) {
        Ok(query) => service::search(&s, &g, query, tag.as_deref(), per, (page - 1) * per).await,
        Err(e) => Err(e),
    };
    let (rows, total, error) = match found {
        Ok((rows, total)) => (rows, total, None),
        Err(e) if e.status.is_client_error() => (Vec::new(), 0, Some(e.message)),
        Err(e) => return Err(e.into()),
    };
    let base = format!(
        "/console/residents?grid={}&q={}&tag={}",
        g.code,
        url_encode(&text),
        url_encode(tag.as_deref().unwrap_or(""))
    );
    let listing = Listing {
        q: text,
        tag,
        pager: pager(&base, page, per, total),
        number: String::new(),
        reason: String::new(),
        notice: None,
    };
    render_residents(&s, &c, &g, rows, total, listing, error).await
}

/// What the residents page shows besides its rows.
struct Listing {
    q: String,
    tag: Option<String>,
    pager: String,
    number: String,
    reason: String,
    notice: Option<String>,
}

async fn render_residents(
    s: &RegistryState,
    c: &Console,
    g: &crate::grid::GridRow,
    rows: Vec<residents::ResidentRow>,
    total: i64,
    l: Listing,
    error: Option<String>,
) -> PageResult {
    let names = building_names(s, rows.iter().map(|r| r.grid_code.clone())).await?;
    let rows = rows
        .iter()
        .map(|r| view(resident_to_api(r), names.get(&r.grid_code).cloned().unwrap_or_default()))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let export_href = format!(
        "/api/v1/exports/residents.xlsx?grid={}&q={}&tag={}",
        g.code,
        url_encode(&l.q),
        url_encode(l.tag.as_deref().unwrap_or(""))
    );
    let html = ResidentsPage {
        chrome: Chrome::new(c, "居民信息", "residents"),
        crumbs: crumbs(&s.db, c, &g.code).await?,
        grid: g.code.clone(),
        q: l.q,
        tags: TAGS.iter().map(|t| (*t, l.tag.as_deref() == Some(*t))).collect(),
        rows,
        total,
        pager: l.pager,
        error,
        notice: l.notice,
        can_lookup: c.principal.can(Capability::RevealPersonal, &g.code),
        export_href,
        can_import: c.principal.has(Capability::WriteRegistry),
        number: l.number,
        reason: l.reason,
    };
    Ok((status, html).into_response())
}

#[derive(Deserialize)]
struct LookupForm {
    csrf: String,
    grid: Option<String>,
    number: String,
    reason: String,
}

/// 按完整号码查找: a POST, so the number stays out of the address bar, history and access logs.
async fn lookup_page(State(s): State<RegistryState>, c: Console, Form(f): Form<LookupForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let g = scope_grid(&s, &c.principal, f.grid.as_deref(), Capability::ReadRegistry).await?;
    let mut listing = Listing {
        q: String::new(),
        tag: None,
        pager: String::new(),
        number: f.number.clone(),
        reason: f.reason.clone(),
        notice: None,
    };
    match service::lookup(&s, &c.principal, &g, &f.number, &f.reason).await {
        Ok(rows) => {
            listing.notice = Some("本次按完整号码查找已记入审计日志".into());
            listing.number.clear();
            let total = rows.len() as i64;
            render_residents(&s, &c, &g, rows, total, listing, None).await
        }
        Err(e) if e.status.is_client_error() => {
            let status = e.status;
            let resp = render_residents(&s, &c, &g, Vec::new(), 0, listing, Some(e.message)).await?;
            Ok((status, resp).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "resident.html")]
struct ResidentPage {
    chrome: Chrome,
    crumbs: Vec<(String, String)>,
    r: ResidentView,
    address: String,
    can_reveal: bool,
    can_write: bool,
    revealed: bool,
    all_tags: Vec<(&'static str, bool)>,
    notice: Option<String>,
    error: Option<String>,
}

async fn load_resident(s: &RegistryState, c: &Console, id: Uuid, cap: Capability) -> Result<residents::ResidentRow, PageError> {
    let r = residents::get(&s.db, id).await?.ok_or_else(|| AppError::not_found("居民"))?;
    if !c.principal.can(cap, &r.grid_code) {
        return Err(if c.principal.has(cap) {
            AppError::not_found("居民")
        } else {
            AppError::forbidden()
        }
        .into());
    }
    Ok(r)
}

async fn render_resident(
    s: &RegistryState,
    c: &Console,
    r: residents::ResidentRow,
    revealed: bool,
    notice: Option<String>,
    error: Option<String>,
) -> PageResult {
    let hh = residents::household(&s.db, r.household_id).await?.ok_or_else(AppError::internal)?;
    let api = resident_to_api(&r);
    let mut v = view(api, String::new());
    if revealed {
        v.id_number = r.id_number.clone();
        v.phone = r.phone.clone();
        v.birth = r.birth_date.clone();
    }
    let tags = r.tag_list();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html = ResidentPage {
        chrome: Chrome::new(c, r.name.clone(), "residents"),
        crumbs: crumbs(&s.db, c, &r.grid_code).await?,
        r: v,
        address: hh.address,
        can_reveal: c.principal.can(Capability::RevealPersonal, &r.grid_code),
        can_write: c.principal.can(Capability::WriteRegistry, &r.grid_code),
        revealed,
        all_tags: TAGS.iter().map(|t| (*t, tags.iter().any(|x| x == t))).collect(),
        notice,
        error,
    };
    Ok((status, html).into_response())
}

#[derive(Deserialize)]
struct NoticeQuery {
    saved: Option<String>,
    created: Option<String>,
}

async fn resident_page(State(s): State<RegistryState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<NoticeQuery>) -> PageResult {
    let r = load_resident(&s, &c, id, Capability::ReadRegistry).await?;
    let notice = q.saved.map(|_| "已保存".to_string()).or(q.created.map(|_| "已登记".to_string()));
    render_resident(&s, &c, r, false, notice, None).await
}

#[derive(Deserialize)]
struct RevealForm {
    csrf: String,
    reason: String,
}

async fn reveal(State(s): State<RegistryState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<RevealForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let r = load_resident(&s, &c, id, Capability::RevealPersonal).await?;
    match residents::record_reveal(&s.db, c.principal.actor(), &r, &f.reason).await {
        Ok(()) => render_resident(&s, &c, r, true, Some("已显示完整信息，本次查看已记入审计日志".into()), None).await,
        Err(e) if e.status.is_client_error() => render_resident(&s, &c, r, false, None, Some(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}

/// Tags come as repeated `tag=` fields, which serde's urlencoded map cannot hold; read them by hand.
async fn save_tags(State(s): State<RegistryState>, c: Console, Path(id): Path<Uuid>, RawForm(body): RawForm) -> PageResult {
    let pairs: Vec<(String, String)> = form_pairs(&body);
    let csrf = pairs.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    check_csrf(&c, csrf)?;
    let tags: Vec<String> = pairs.iter().filter(|(k, _)| k == "tag").map(|(_, v)| v.clone()).collect();
    let r = load_resident(&s, &c, id, Capability::WriteRegistry).await?;
    match residents::set_tags(&s.db, c.principal.actor(), &r, &tags).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/residents/{id}?saved=1")).into_response()),
        Err(e) if e.status.is_client_error() => render_resident(&s, &c, r, false, None, Some(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}

pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[derive(Default)]
pub struct ResidentFormView {
    name: String,
    id_number: String,
    phone: String,
    relation: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "household.html")]
struct HouseholdPage {
    chrome: Chrome,
    crumbs: Vec<(String, String)>,
    h: residents::HouseholdRow,
    members: Vec<ResidentView>,
    can_write: bool,
    relations: Vec<&'static str>,
    form: ResidentFormView,
    form_error: Option<String>,
    notice: Option<String>,
}

async fn render_household(
    s: &RegistryState,
    c: &Console,
    id: Uuid,
    form: ResidentFormView,
    form_error: Option<String>,
    notice: Option<String>,
) -> PageResult {
    let h = load_household(s, &c.principal, id, Capability::ReadRegistry).await?;
    let members = residents::members(&s.db, h.id)
        .await?
        .iter()
        .map(|r| view(resident_to_api(r), String::new()))
        .collect();
    let status = if form_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let html = HouseholdPage {
        chrome: Chrome::new(c, h.address.clone(), "residents"),
        crumbs: crumbs(&s.db, c, &h.grid_code).await?,
        can_write: c.principal.can(Capability::WriteRegistry, &h.grid_code),
        relations: RELATIONS.to_vec(),
        members,
        form,
        form_error,
        notice,
        h,
    };
    Ok((status, html).into_response())
}

async fn household_page(State(s): State<RegistryState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<NoticeQuery>) -> PageResult {
    let notice = q.created.map(|_| "已登记".to_string()).or(q.saved.map(|_| "已保存".to_string()));
    let form = ResidentFormView {
        relation: "户主".into(),
        ..Default::default()
    };
    render_household(&s, &c, id, form, None, notice).await
}

#[derive(Deserialize)]
struct ResidentForm {
    csrf: String,
    name: String,
    id_number: String,
    phone: String,
    relation: String,
}

async fn add_resident(State(s): State<RegistryState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ResidentForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let h = load_household(&s, &c.principal, id, Capability::WriteRegistry).await?;
    let input = NewResident {
        household_id: id,
        name: f.name.clone(),
        id_number: f.id_number.clone(),
        phone: f.phone.clone(),
        relation: f.relation.clone(),
        tags: vec![],
    };
    match residents::create_resident(&s.db, c.principal.actor(), &h, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/households/{id}?created=1")).into_response()),
        Err(e) if e.status.is_client_error() => {
            let form = ResidentFormView {
                name: f.name,
                id_number: f.id_number,
                phone: f.phone,
                relation: f.relation,
            };
            render_household(&s, &c, id, form, Some(e.message), None).await
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "units.html")]
struct UnitsPage {
    chrome: Chrome,
    rows: Vec<Unit>,
    total: i64,
    q: String,
    kinds: Vec<(&'static str, &'static str, bool)>,
    pager: String,
    /// The Excel ledger of this list, with its filters (导出Excel).
    export_href: String,
}

#[derive(Deserialize)]
struct UnitsQuery {
    q: Option<String>,
    kind: Option<String>,
    page: Option<i64>,
}

async fn units_page(State(s): State<RegistryState>, c: Console, Query(q): Query<UnitsQuery>) -> PageResult {
    if !c.principal.has(Capability::ReadUnits) {
        return Err(AppError::forbidden().into());
    }
    let page = crate::web::pages::page_number(q.page);
    let per = 50;
    let kind = q.kind.clone().filter(|k| units::UNIT_KINDS.iter().any(|u| u.0 == k));
    let text = q.q.clone().unwrap_or_default();
    let (rows, total) = units::list(
        &s.db,
        &c.principal.district,
        kind.as_deref(),
        None,
        Some(&text),
        per,
        (page - 1) * per,
    )
    .await?;
    let base = format!("/console/units?q={}&kind={}", url_encode(&text), kind.clone().unwrap_or_default());
    Ok(UnitsPage {
        chrome: Chrome::new(&c, "组织与单位", "units"),
        rows: rows.iter().map(|u| unit_to_api(u, &c.principal)).collect(),
        total,
        q: text,
        kinds: units::UNIT_KINDS.iter().map(|k| (k.0, k.1, kind.as_deref() == Some(k.0))).collect(),
        pager: pager(&base, page, per, total),
        export_href: base.replacen("/console/units?", "/api/v1/exports/units.xlsx?", 1),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "things.html")]
struct ThingsPage {
    chrome: Chrome,
    crumbs: Vec<(String, String)>,
    base: &'static str,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    total: i64,
    pager: String,
    /// The Excel ledger of this list (导出Excel).
    export_href: String,
    /// Its import (批量导入), for those who may write the registry.
    import_href: Option<String>,
}

#[derive(Deserialize)]
struct GridPageQuery {
    grid: Option<String>,
    page: Option<i64>,
}

/// Key places (重点场所) and service sites in a subtree.
async fn places_page(State(s): State<RegistryState>, c: Console, Query(q): Query<GridPageQuery>) -> PageResult {
    let g = scope_grid(&s, &c.principal, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let page = crate::web::pages::page_number(q.page);
    let per = 50;
    let (rows, total) = units::places_in(&s.db, &g.district, &g.code, per, (page - 1) * per).await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            vec![
                r.name,
                units::place_kind_label(&r.kind).to_string(),
                r.address,
                format!("{:.5}, {:.5}", r.lat, r.lng),
            ]
        })
        .collect();
    Ok(ThingsPage {
        chrome: Chrome::new(&c, "重点场所", "grid"),
        crumbs: crumbs(&s.db, &c, &g.code).await?,
        base: "/console/places",
        headers: vec!["名称", "类型", "地址", "位置"],
        rows,
        total,
        export_href: format!("/api/v1/exports/places.xlsx?grid={}", g.code),
        import_href: None,
        pager: pager(&format!("/console/places?grid={}", g.code), page, per, total),
    }
    .into_response())
}

/// Facilities and devices (设施设备) in a subtree.
async fn devices_page(State(s): State<RegistryState>, c: Console, Query(q): Query<GridPageQuery>) -> PageResult {
    let g = scope_grid(&s, &c.principal, q.grid.as_deref(), Capability::ReadRegistry).await?;
    let page = crate::web::pages::page_number(q.page);
    let per = 50;
    let (rows, total) = units::devices_in(&s.db, &g.district, &g.code, per, (page - 1) * per).await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let status = if r.status == "normal" { "正常" } else { "异常" };
            vec![r.name, units::device_kind_label(&r.kind).to_string(), r.serial, status.to_string()]
        })
        .collect();
    Ok(ThingsPage {
        chrome: Chrome::new(&c, "设施设备", "grid"),
        crumbs: crumbs(&s.db, &c, &g.code).await?,
        base: "/console/devices",
        headers: vec!["名称", "类型", "编号", "状态"],
        rows,
        total,
        export_href: format!("/api/v1/exports/devices.xlsx?grid={}", g.code),
        import_href: c
            .principal
            .has(Capability::WriteRegistry)
            .then(|| "/console/imports?ledger=devices".to_string()),
        pager: pager(&format!("/console/devices?grid={}", g.code), page, per, total),
    }
    .into_response())
}
