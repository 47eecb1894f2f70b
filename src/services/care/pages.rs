//! Care visit pages (关爱走访): the building officer's 今日走访 list, the visit form (phone-first,
//! with position and photo), the visit-done screen (needs → a need or a case), the compound's and
//! community's escalation lists, and the district's schedule per tag.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::rules::{self, CONDITIONS, Escalation, Position};
use super::service::{self, DueItem, NewVisit, ScheduleInput};
use crate::auth::Capability;
use crate::cases::attachments;
use crate::db::now_ms;
use crate::error::AppError;
use crate::services::ServicesState;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/console/services/care", get(today_page))
        .route("/console/services/care/escalations", get(escalations_page))
        .route("/console/services/care/visit/{resident}", get(visit_form))
        .route(
            "/console/services/care/visits",
            post(record).layer(DefaultBodyLimit::max(attachments::MAX_BYTES + 64 * 1024)),
        )
        .route("/console/services/care/visits/{id}", get(done_page))
        .route("/console/services/care/visits/{id}/case", post(file_case))
        .route("/console/services/care/visits/{id}/photo", get(photo))
        .route("/console/services/care/schedules", get(schedules_page).post(save_schedule))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    grid: Option<String>,
    level: Option<String>,
}

/// What a list says when it shows only the first `MAX_LINES`.
fn more(total: usize) -> String {
    if total > MAX_LINES {
        format!("下面列出最靠前的{MAX_LINES}人；按网格查看全部。")
    } else {
        String::new()
    }
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

/// The most people a due or escalation list shows; a wider list says how many more and offers
/// its child nodes to narrow it.
const MAX_LINES: usize = 200;

/// A child node of a wide list: its link, name, people and overdue.
struct Branch {
    href: String,
    name: String,
    people: usize,
    overdue: usize,
}

/// The child nodes of a list wider than `MAX_LINES`, named; empty when the list fits.
async fn branches(s: &ServicesState, district: &str, items: &[DueItem], roots: &[String], base: &str) -> Result<Vec<Branch>, AppError> {
    if items.len() <= MAX_LINES {
        return Ok(Vec::new());
    }
    let counts = service::per_child(items, roots);
    let codes: Vec<String> = counts.iter().map(|c| c.0.clone()).collect();
    let names = crate::grid::store::names(&s.db, district, &codes).await?;
    Ok(counts
        .into_iter()
        .map(|(code, people, overdue)| Branch {
            name: names.get(&code).cloned().unwrap_or_else(|| code.clone()),
            href: format!("{base}grid={}", url_encode(&code)),
            people,
            overdue,
        })
        .collect())
}

/// A line of a due or escalation list.
struct Line {
    resident: String,
    name: String,
    tag: &'static str,
    building: String,
    due: String,
    overdue: i64,
    escalation: &'static str,
    last: String,
}

async fn lines(s: &ServicesState, district: &str, items: &[DueItem], now: i64) -> Result<Vec<Line>, AppError> {
    let codes: Vec<String> = items.iter().map(|i| i.grid.clone()).collect();
    let names = crate::grid::store::names(&s.db, district, &codes).await?;
    Ok(items
        .iter()
        .map(|i| Line {
            resident: i.resident.to_string(),
            name: i.name.clone(),
            tag: i.tag,
            building: names.get(&i.grid).cloned().unwrap_or_else(|| i.grid.clone()),
            due: crate::time::date_when_ms(rules::ms_of_day(i.standing.due), now),
            overdue: i.standing.overdue_days,
            escalation: i.standing.escalation.label(),
            last: i.last_visit_at.map(|t| crate::time::date_when_ms(t, now)).unwrap_or_default(),
        })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "services_care.html")]
struct ListPage {
    chrome: Chrome,
    notice: String,
    error: String,
    heading: String,
    intro: String,
    lines: Vec<Line>,
    /// Where a list too long to show goes down (by child node).
    branches: Vec<Branch>,
    escalations: bool,
    can_visit: bool,
    settings: bool,
    level: &'static str,
    /// This list as an Excel ledger (关爱走访台账).
    export_href: String,
}

/// The care ledger with the page's filters.
fn export_href(grid: Option<&str>, level: Option<Escalation>) -> String {
    let mut q = Vec::new();
    if let Some(g) = grid.map(str::trim).filter(|g| !g.is_empty()) {
        q.push(format!("grid={}", crate::web::pages::url_encode(g)));
    }
    if let Some(l) = level {
        q.push(format!("escalated={}", l.as_str()));
    }
    match q.join("&") {
        x if x.is_empty() => "/api/v1/exports/care_due.xlsx".to_string(),
        x => format!("/api/v1/exports/care_due.xlsx?{x}"),
    }
}

/// Today's list: due today and overdue in the caller's grids, the earliest due first.
async fn today_page(State(s): State<ServicesState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let roots = service::read_roots(p, q.grid.as_deref())?;
    let now = now_ms();
    let today = rules::day_of_ms(now);
    let items = service::due_by(service::due(&s.db, &s.cases.calendar, &p.district, &roots, today).await?, today);
    let overdue = items.iter().filter(|i| i.standing.overdue_days > 0).count();
    let branches = branches(&s, &p.district, &items, &roots, "/console/services/care?").await?;
    let lines = lines(&s, &p.district, &items[..items.len().min(MAX_LINES)], now).await?;
    let wide = roots.iter().any(|r| r.len() < 18);
    Ok(ListPage {
        chrome: Chrome::new(&c, "今日走访", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        heading: "今日走访".into(),
        intro: format!(
            "今天应走访{}人，其中逾期{}人。逾期最久的排在最前。{}",
            items.len(),
            overdue,
            more(items.len())
        ),
        lines,
        branches,
        escalations: wide,
        can_visit: p.has(Capability::WriteRegistry),
        settings: p.can(Capability::ManageGrid, &p.district),
        level: "",
        export_href: export_href(q.grid.as_deref(), None),
    }
    .into_response())
}

/// The escalation list: the compound's (late beyond the grace) or the community's (late by a
/// second allowance). Community and wider staff see the community's by default.
async fn escalations_page(State(s): State<ServicesState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let roots = service::read_roots(p, q.grid.as_deref())?;
    let level = match q.level.as_deref() {
        Some("compound") => Escalation::Compound,
        Some("community") => Escalation::Community,
        _ if p.has(Capability::ManageGrid) => Escalation::Community,
        _ => Escalation::Compound,
    };
    let now = now_ms();
    let today = rules::day_of_ms(now);
    let items = service::escalated(service::due(&s.db, &s.cases.calendar, &p.district, &roots, today).await?, level);
    let overdue = items.len();
    let base = format!("/console/services/care/escalations?level={}&", level.as_str());
    let branches = branches(&s, &p.district, &items, &roots, &base).await?;
    let lines = lines(&s, &p.district, &items[..items.len().min(MAX_LINES)], now).await?;
    let (heading, intro) = match level {
        Escalation::Community => (
            "上报社区的逾期走访",
            "逾期超过宽限期两倍（至少5个工作日）仍未走访的对象，请社区督促楼栋信息员或安排人员上门。",
        ),
        _ => (
            "提醒小区的逾期走访",
            "逾期超过宽限期（按工作日计）仍未走访的对象，请小区网格长督促或代为走访。",
        ),
    };
    Ok(ListPage {
        chrome: Chrome::new(&c, heading, "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        heading: heading.into(),
        intro: format!("{intro}共{overdue}人。{}", more(overdue)),
        lines,
        branches,
        escalations: true,
        can_visit: p.has(Capability::WriteRegistry),
        settings: p.can(Capability::ManageGrid, &p.district),
        level: level.as_str(),
        export_href: export_href(q.grid.as_deref(), Some(level)),
    }
    .into_response())
}

struct PastVisit {
    when: String,
    condition: &'static str,
    located: &'static str,
    note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "services_care_visit.html")]
struct VisitPage {
    chrome: Chrome,
    error: String,
    resident: String,
    name: String,
    tags: String,
    building: String,
    conditions: Vec<(&'static str, &'static str)>,
    past: Vec<PastVisit>,
}

async fn visit_form(State(s): State<ServicesState>, c: Console, Path(resident): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let (r, tags) = service::visit_subject(&s.db, p, resident).await?;
    let now = now_ms();
    let past = super::store::visits_of(&s.db, &p.district, r.id, 5)
        .await?
        .into_iter()
        .map(|v| PastVisit {
            when: crate::time::when_ms(v.visited_at, now),
            condition: rules::condition_label(&v.condition),
            located: Position::parse(&v.located).label(),
            note: v.note,
        })
        .collect();
    let building = crate::grid::store::get(&s.db, &r.grid_code)
        .await?
        .map_or_else(|| r.grid_code.clone(), |g| g.name);
    Ok(VisitPage {
        chrome: Chrome::new(&c, "走访记录", "services"),
        error: clip(&q.err),
        resident: r.id.to_string(),
        name: r.name,
        tags: tags.join("、"),
        building,
        conditions: CONDITIONS.to_vec(),
        past,
    }
    .into_response())
}

type VisitBody = crate::web::photo_form::PhotoForm;

fn field(b: &VisitBody, name: &str) -> String {
    b.field(name)
}

async fn record(State(s): State<ServicesState>, c: Console, req: Request) -> PageResult {
    let body = crate::web::photo_form::read(req).await?;
    check_csrf(&c, &field(&body, "csrf"))?;
    let resident: Uuid = field(&body, "resident").trim().parse().map_err(|_| AppError::not_found("该居民"))?;
    let form = format!("/console/services/care/visit/{resident}");
    let result = async {
        let v = NewVisit {
            resident,
            condition: field(&body, "condition"),
            note: field(&body, "note"),
            needs: field(&body, "needs"),
            lat: crate::web::photo_form::coordinate(&field(&body, "lat"))?,
            lng: crate::web::photo_form::coordinate(&field(&body, "lng"))?,
        };
        service::record_visit(&s.db, &s.cases.data_dir, &c.principal, &v, body.photo.as_deref()).await
    }
    .await;
    match result {
        Ok(r) => Ok(Redirect::to(&format!(
            "/console/services/care/visits/{}?msg={}",
            r.visit.id,
            url_encode("已记录走访")
        ))
        .into_response()),
        Err(e) => back_to(&form, Err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "services_care_done.html")]
struct DonePage {
    chrome: Chrome,
    notice: String,
    error: String,
    id: String,
    resident: String,
    name: String,
    grid: String,
    when: String,
    condition: &'static str,
    located: &'static str,
    note: String,
    needs: String,
    photo: bool,
    can_act: bool,
    back: String,
    kinds: Vec<&'static str>,
    categories: Vec<crate::cases::categories::ChoiceGroup>,
}

/// The kinds of need the four lists take (需求清单).
const NEED_KINDS: [&str; 8] = [
    "生活照料",
    "医疗健康",
    "助餐助浴",
    "维修改造",
    "心理慰藉",
    "法律援助",
    "就业帮扶",
    "其他",
];

async fn done_page(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let v = service::visit_to_read(&s.db, p, id).await?;
    let r = crate::registry::residents::get(&s.db, v.resident_id)
        .await?
        .ok_or_else(|| AppError::not_found("该居民"))?;
    let can_act = p.can(Capability::WriteRegistry, &v.grid_code);
    let categories = if can_act {
        let all = crate::cases::categories::list(&s.db, &p.district).await?;
        crate::cases::categories::choice_groups(&all, |_| true)
    } else {
        Vec::new()
    };
    Ok(DonePage {
        chrome: Chrome::new(&c, "走访已记录", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        id: v.id.to_string(),
        resident: v.resident_id.to_string(),
        name: r.name,
        grid: v.grid_code.clone(),
        when: crate::time::when_ms(v.visited_at, now_ms()),
        condition: rules::condition_label(&v.condition),
        located: Position::parse(&v.located).label(),
        note: v.note,
        needs: v.needs,
        photo: v.photo_sha256.is_some(),
        can_act,
        back: format!("/console/services/care/visits/{}", v.id),
        kinds: NEED_KINDS.to_vec(),
        categories,
    }
    .into_response())
}

#[derive(Deserialize)]
struct CaseForm {
    csrf: String,
    category: String,
    description: String,
}

async fn file_case(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CaseForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = format!("/console/services/care/visits/{id}");
    match service::visit_case(&s.cases, &c.principal, id, &f.category, &f.description).await {
        Ok(case) => back_to(&to, Ok(&format!("已上报问题，编号{}", case.tracking_code))),
        Err(e) => back_to(&to, Err(e)),
    }
}

async fn photo(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    let (bytes, mime) = service::photo(&s.db, &s.cases.data_dir, &c.principal, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
        ],
        bytes,
    )
        .into_response())
}

struct ScheduleLine {
    tag: &'static str,
    unit: &'static str,
    count: u32,
    label: String,
    grace: u32,
    active: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "services_care_schedules.html")]
struct SchedulesPage {
    chrome: Chrome,
    notice: String,
    error: String,
    lines: Vec<ScheduleLine>,
    manage: bool,
}

async fn schedules_page(State(s): State<ServicesState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    service::read_roots(p, None)?;
    let lines = service::schedules(&s.db, &p.district)
        .await?
        .into_iter()
        .map(|x| ScheduleLine {
            tag: x.tag,
            unit: x.every.unit(),
            count: x.every.count(),
            label: x.every.label(),
            grace: x.grace_days,
            active: x.active,
        })
        .collect();
    Ok(SchedulesPage {
        chrome: Chrome::new(&c, "走访周期", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        lines,
        manage: p.can(Capability::ManageGrid, &p.district),
    }
    .into_response())
}

#[derive(Deserialize)]
struct ScheduleForm {
    csrf: String,
    tag: String,
    unit: String,
    count: String,
    grace_days: String,
    #[serde(default)]
    active: Option<String>,
}

fn number(s: &str, what: &str) -> Result<i64, AppError> {
    let t = crate::identity::half_width(s.trim());
    if t.is_empty() || t.len() > 6 {
        return Err(AppError::invalid("invalid_number", format!("请填写{what}（整数）")));
    }
    t.parse::<i64>()
        .map_err(|_| AppError::invalid("invalid_number", format!("{what}应为整数")))
}

async fn save_schedule(State(s): State<ServicesState>, c: Console, Form(f): Form<ScheduleForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = "/console/services/care/schedules";
    let result = async {
        let input = ScheduleInput {
            tag: f.tag.clone(),
            unit: f.unit.clone(),
            count: number(&f.count, "周期")?,
            grace_days: number(&f.grace_days, "宽限期")?,
            active: f.active.is_some(),
        };
        service::save_schedule(&s.db, &c.principal, &input).await
    }
    .await;
    back_to(to, result.map(|_| "已保存走访周期"))
}
