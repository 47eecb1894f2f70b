//! Frontage pages (门前三包): the list of my scope with this month's compliance and the new
//! agreement form, an agreement with its checks, the printable 责任书, the patrol's one-hand check
//! form, the compliance page of a street, and the street's public list on `/g/{code}`.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::FrontageState;
use super::rules::{self, Results, Step};
use super::service::{self, NewAgreement, NewCheck};
use super::store::{self, AgreementRow};
use crate::auth::Capability;
use crate::cases::attachments;
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<FrontageState> {
    Router::new()
        .route("/console/frontage", get(list_page))
        .route("/console/frontage/agreements", post(create))
        .route("/console/frontage/compliance", get(compliance_page))
        .route("/console/frontage/{id}", get(detail_page))
        .route("/console/frontage/{id}/print", get(print_page))
        .route("/console/frontage/{id}/check", get(check_form))
        .route(
            "/console/frontage/{id}/checks",
            post(record).layer(DefaultBodyLimit::max(attachments::MAX_BYTES + 64 * 1024)),
        )
        .route("/console/frontage/checks/{id}/photo", get(photo))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    grid: Option<String>,
    month: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

/// One agreement in a list.
struct Line {
    id: String,
    shop: String,
    grid: String,
    duties: String,
    segment: String,
}

/// One row of a compliance table.
struct RateLine {
    name: String,
    href: String,
    checks: i64,
    passed: i64,
    rate: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "frontage.html")]
struct ListPage {
    chrome: Chrome,
    notice: String,
    error: String,
    lines: Vec<Line>,
    total: i64,
    month: String,
    rate: String,
    rates: Vec<RateLine>,
    can_create: bool,
    grids: Vec<(String, String)>,
    today: String,
    export_href: String,
}

async fn list_page(State(s): State<FrontageState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let db = &s.cases.db;
    let (rows, total) = service::agreements(db, p, q.grid.as_deref(), 200, 0).await?;
    let codes: Vec<String> = rows.iter().map(|a| a.grid_code.clone()).collect();
    let names = crate::grid::store::names(db, &p.district, &codes).await?;
    let report = service::compliance(db, p, q.grid.as_deref(), None).await?;
    let can_create = p.has(Capability::ManageGrid);
    let mut grids: Vec<(String, String)> = Vec::new();
    if can_create {
        for root in p.roots(Capability::ManageGrid) {
            if let Some(g) = crate::grid::store::get(db, &root).await? {
                if g.level >= 2 {
                    grids.push((g.code.clone(), g.name.clone()));
                }
                if g.level <= 2 {
                    for ch in crate::grid::store::children(db, &g.code, 200, 0).await? {
                        grids.push((ch.code, format!("{} · {}", g.name, ch.name)));
                    }
                }
            }
        }
    }
    Ok(ListPage {
        chrome: Chrome::new(&c, "门前三包", "frontage"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        lines: rows
            .iter()
            .map(|a| Line {
                id: a.id.to_string(),
                shop: a.shop_name.clone(),
                grid: names.get(&a.grid_code).cloned().unwrap_or_else(|| a.grid_code.clone()),
                duties: rules::duty_labels(a.duties),
                segment: a.segment.clone(),
            })
            .collect(),
        total,
        month: month_label(&report.month),
        rate: report.total.label(),
        rates: report
            .children
            .iter()
            .map(|l| RateLine {
                name: l.name.clone(),
                href: format!("/console/frontage/compliance?grid={}", url_encode(&l.code)),
                checks: l.figures.checks,
                passed: l.figures.passed,
                rate: l.figures.label(),
            })
            .collect(),
        can_create,
        grids,
        today: crate::time::day_ms(now_ms()),
        export_href: match q.grid.as_deref().filter(|g| !g.is_empty()) {
            Some(g) => format!("/api/v1/exports/frontage.xlsx?grid={}", url_encode(g)),
            None => "/api/v1/exports/frontage.xlsx".into(),
        },
    }
    .into_response())
}

/// `2026年11月` from `2026-11`.
fn month_label(m: &str) -> String {
    match (m.get(..4), m.get(5..7)) {
        (Some(y), Some(mo)) => format!("{y}年{}月", mo.trim_start_matches('0')),
        _ => m.to_string(),
    }
}

/// `2026年1月5日` from `2026-01-05`.
fn day_label(d: &str) -> String {
    match (d.get(..4), d.get(5..7), d.get(8..10)) {
        (Some(y), Some(m), Some(dd)) => format!("{y}年{}月{}日", m.trim_start_matches('0'), dd.trim_start_matches('0')),
        _ => d.to_string(),
    }
}

#[derive(Deserialize)]
struct AgreementForm {
    csrf: String,
    grid: String,
    shop_name: String,
    address: String,
    signer_name: String,
    #[serde(default)]
    signer_phone: String,
    #[serde(default)]
    party_name: String,
    segment: String,
    #[serde(default)]
    sanitation: Option<String>,
    #[serde(default)]
    orderliness: Option<String>,
    #[serde(default)]
    greenery: Option<String>,
    #[serde(default)]
    signed_on: String,
    #[serde(default)]
    term_months: String,
}

async fn create(State(s): State<FrontageState>, c: Console, Form(f): Form<AgreementForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let mut duties = Vec::new();
    for (on, code) in [
        (&f.sanitation, "sanitation"),
        (&f.orderliness, "orderliness"),
        (&f.greenery, "greenery"),
    ] {
        if on.is_some() {
            duties.push(code.to_string());
        }
    }
    let result = async {
        if duties.is_empty() {
            return Err(AppError::invalid("invalid_duties", "请至少选择一项责任"));
        }
        let term = crate::identity::half_width(f.term_months.trim());
        let term_months = match term.as_str() {
            "" => None,
            t => Some(
                t.parse::<i64>()
                    .map_err(|_| AppError::invalid("invalid_term", "期限应为1至60个月"))?,
            ),
        };
        let a = NewAgreement {
            grid: f.grid.clone(),
            shop_name: f.shop_name.clone(),
            address: f.address.clone(),
            signer_name: f.signer_name.clone(),
            signer_phone: f.signer_phone.clone(),
            party_name: f.party_name.clone(),
            segment: f.segment.clone(),
            duties,
            signed_on: f.signed_on.clone(),
            term_months,
            ..Default::default()
        };
        service::create_agreement(&s.cases.db, &c.principal, &a).await
    }
    .await;
    match result {
        Ok(a) => Ok(Redirect::to(&format!("/console/frontage/{}?msg={}", a.id, url_encode("已签订责任书"))).into_response()),
        Err(e) => back_to("/console/frontage", Err(e)),
    }
}

struct CheckLine {
    id: String,
    when: String,
    checker: String,
    passed: bool,
    results: String,
    note: String,
    photo: bool,
}

struct NoticeLine {
    when: String,
    kind: &'static str,
    message: String,
    case: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "frontage_agreement.html")]
struct DetailPage {
    chrome: Chrome,
    notice: String,
    error: String,
    a: View,
    checks: Vec<CheckLine>,
    notices: Vec<NoticeLine>,
    can_check: bool,
}

/// An agreement as the pages show it (the signer's phone masked).
struct View {
    id: String,
    shop: String,
    address: String,
    signer: String,
    phone: String,
    party: String,
    grid: String,
    segment: String,
    duties: Vec<&'static str>,
    signed_on: String,
    ends_on: String,
    term: i64,
}

async fn view(db: &Db, a: &AgreementRow) -> AppResult<View> {
    let grid = crate::grid::store::get(db, &a.grid_code)
        .await?
        .map_or_else(|| a.grid_code.clone(), |g| g.name);
    let ends = a
        .signed_on
        .parse::<jiff::civil::Date>()
        .map(|d| day_label(&rules::ends_on(d, a.term_months).to_string()))
        .unwrap_or_default();
    Ok(View {
        id: a.id.to_string(),
        shop: a.shop_name.clone(),
        address: a.address.clone(),
        signer: a.signer_name.clone(),
        phone: crate::identity::mask_phone(&a.signer_phone),
        party: a.party_name.clone(),
        grid,
        segment: a.segment.clone(),
        duties: rules::DUTIES.iter().filter(|d| a.duties & d.0 != 0).map(|d| d.2).collect(),
        signed_on: day_label(&a.signed_on),
        ends_on: ends,
        term: a.term_months,
    })
}

fn result_words(c: &store::CheckRow) -> String {
    [(c.sanitation, "卫生"), (c.orderliness, "秩序"), (c.greenery, "绿化")]
        .iter()
        .filter_map(|(v, n)| v.map(|v| format!("{n}{}", if v != 0 { "合格" } else { "不合格" })))
        .collect::<Vec<_>>()
        .join("，")
}

async fn detail_page(State(s): State<FrontageState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let db = &s.cases.db;
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看门前三包").into());
    }
    let a = service::agreement_to_read(db, p, id).await?;
    let now = now_ms();
    let checks = store::checks_of(db, a.id, 50)
        .await?
        .iter()
        .map(|k| CheckLine {
            id: k.id.to_string(),
            when: crate::time::when_ms(k.checked_at, now),
            checker: k.checker_name.clone(),
            passed: k.passed,
            results: result_words(k),
            note: k.note.clone(),
            photo: k.photo_sha256.as_deref().is_some_and(|s| !s.bytes().all(|b| b == b'0')),
        })
        .collect();
    let notices = store::notices_of(db, a.id)
        .await?
        .into_iter()
        .map(|n| NoticeLine {
            when: crate::time::when_ms(n.created_at, now),
            kind: if n.kind == "case" { "已立案" } else { "整改通知" },
            message: n.message,
            case: n.case_id.map(|c| c.to_string()).unwrap_or_default(),
        })
        .collect();
    Ok(DetailPage {
        chrome: Chrome::new(&c, "门前三包责任书", "frontage"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        can_check: service::may_patrol(p, &a.street_code),
        a: view(db, &a).await?,
        checks,
        notices,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "frontage_print.html")]
struct PrintPage {
    chrome: Chrome,
    a: View,
}

async fn print_page(State(s): State<FrontageState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    let p = &c.principal;
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看门前三包").into());
    }
    let a = service::agreement_to_read(&s.cases.db, p, id).await?;
    Ok(PrintPage {
        chrome: Chrome::new(&c, "门前三包责任书", "frontage"),
        a: view(&s.cases.db, &a).await?,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "frontage_check.html")]
struct CheckPage {
    chrome: Chrome,
    error: String,
    a: View,
    duties: Vec<(&'static str, &'static str)>,
}

async fn check_form(State(s): State<FrontageState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let a = service::agreement_to_read(&s.cases.db, p, id).await?;
    if !service::may_patrol(p, &a.street_code) {
        return Err(AppError::forbidden_to("只能检查本街道的门前三包").into());
    }
    Ok(CheckPage {
        chrome: Chrome::new(&c, "门前三包检查", "frontage"),
        error: clip(&q.err),
        duties: rules::DUTIES.iter().filter(|d| a.duties & d.0 != 0).map(|d| (d.1, d.2)).collect(),
        a: view(&s.cases.db, &a).await?,
    }
    .into_response())
}

type CheckBody = crate::web::photo_form::PhotoForm;

fn field(b: &CheckBody, name: &str) -> String {
    b.field(name)
}

fn verdict(s: &str) -> Option<bool> {
    match s.trim() {
        "pass" => Some(true),
        "fail" => Some(false),
        _ => None,
    }
}

async fn record(State(s): State<FrontageState>, c: Console, Path(id): Path<Uuid>, req: Request) -> PageResult {
    let body = crate::web::photo_form::read(req).await?;
    check_csrf(&c, &field(&body, "csrf"))?;
    let form = format!("/console/frontage/{id}/check");
    let result = async {
        let input = NewCheck {
            results: Results {
                sanitation: verdict(&field(&body, "sanitation")),
                orderliness: verdict(&field(&body, "orderliness")),
                greenery: verdict(&field(&body, "greenery")),
            },
            note: field(&body, "note"),
            lat: crate::web::photo_form::coordinate(&field(&body, "lat"))?,
            lng: crate::web::photo_form::coordinate(&field(&body, "lng"))?,
        };
        service::record_check(&s.cases, &c.principal, id, &input, body.photo.as_deref()).await
    }
    .await;
    match result {
        Ok(r) => {
            let msg = match r.step {
                Step::Nothing if r.check.passed => "已记录：合格".to_string(),
                Step::Nothing => format!("已记录：不合格（本月第{}次）", r.failures),
                Step::Notice => format!("已记录：本月第{}次不合格，已发整改通知", r.failures),
                Step::Case => format!("已记录：本月第{}次不合格，已立案", r.failures),
            };
            Ok(Redirect::to(&format!("/console/frontage/{id}?msg={}", url_encode(&msg))).into_response())
        }
        Err(e) => back_to(&form, Err(e)),
    }
}

async fn photo(State(s): State<FrontageState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    let (bytes, mime) = service::photo(&s.cases.db, &s.cases.data_dir, &c.principal, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, max-age=86400".into()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "frontage_compliance.html")]
struct CompliancePage {
    chrome: Chrome,
    error: String,
    name: String,
    grid: String,
    month: String,
    month_value: String,
    rate: String,
    checks: i64,
    passed: i64,
    rates: Vec<RateLine>,
    shops: Vec<RateLine>,
}

async fn compliance_page(State(s): State<FrontageState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let r = match service::compliance(&s.cases.db, p, q.grid.as_deref(), q.month.as_deref()).await {
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            return back_to("/console/frontage/compliance", Err(e));
        }
        r => r?,
    };
    let line = |l: &service::ComplianceLine, href: String| RateLine {
        name: l.name.clone(),
        href,
        checks: l.figures.checks,
        passed: l.figures.passed,
        rate: l.figures.label(),
    };
    Ok(CompliancePage {
        chrome: Chrome::new(&c, "门前三包达标率", "frontage"),
        error: clip(&q.err),
        name: r.root_name.clone(),
        grid: r.root.clone(),
        month: month_label(&r.month),
        month_value: r.month.clone(),
        rate: r.total.label(),
        checks: r.total.checks,
        passed: r.total.passed,
        rates: r
            .children
            .iter()
            .map(|l| {
                line(
                    l,
                    format!("/console/frontage/compliance?grid={}&month={}", url_encode(&l.code), r.month),
                )
            })
            .collect(),
        shops: r.shops.iter().map(|l| line(l, format!("/console/frontage/{}", l.code))).collect(),
    }
    .into_response())
}

/// The street's agreements on its public page `/g/{code}`: shop, duties and segment only.
pub struct PublicFrontage;

#[derive(Template)]
#[template(path = "frontage_public.html")]
struct PublicPanel {
    lines: Vec<(String, String, String)>,
}

impl crate::cases::hooks::PublicSection for PublicFrontage {
    fn render<'a>(
        &'a self,
        db: &'a Db,
        g: &'a crate::grid::GridRow,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            if g.level != 2 {
                return Ok(None);
            }
            let rows = store::public_of(db, &g.district, &g.code, 100).await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let panel = PublicPanel {
                lines: rows.into_iter().map(|(n, d, s)| (n, rules::duty_labels(d), s)).collect(),
            };
            panel.render().map(Some).map_err(|_| AppError::internal())
        })
    }
}
