//! The four lists' pages: the community's board (needs ↔ projects ↔ results, needs waiting for a
//! resource, resources no one uses) with its forms, and a resident's own needs.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{RawForm, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::rules::{self, NeedStatus};
use super::service::{self, NewNeed, NewProject, NewResource, NewResult};
use crate::auth::{Capability, Principal, Role};
use crate::error::AppError;
use crate::grid::rules::code_len;
use crate::services::ServicesState;
use crate::time::day_ms;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/console/services/lists", get(board))
        .route("/console/services/needs", post(add_need))
        .route("/console/services/resources", post(add_resource))
        .route("/console/services/projects", post(add_project))
        .route("/console/services/projects/{id}/result", post(add_result))
}

/// Whether the hub shows this part: staff who read a registry, and residents (their own needs).
pub fn shown(p: &Principal) -> bool {
    p.has(Capability::ReadRegistry) || p.posts.iter().any(|x| x.role == Role::Resident)
}

#[derive(Deserialize, Default)]
struct BoardQuery {
    grid: Option<String>,
    msg: Option<String>,
    err: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

struct NeedLine {
    id: Uuid,
    grid_name: String,
    who: String,
    kind: &'static str,
    urgent: bool,
    description: String,
    source: &'static str,
    status: &'static str,
    status_class: &'static str,
    date: String,
}

struct ResourceLine {
    id: Uuid,
    provider: String,
    provider_kind: &'static str,
    kind: &'static str,
    capacity: i64,
    period: String,
    used: usize,
}

struct ProjectLine {
    id: Uuid,
    name: String,
    owner: String,
    dates: String,
    needs: Vec<NeedLine>,
    resources: Vec<ResourceLine>,
    result: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "services_lists.html")]
struct BoardPage {
    chrome: Chrome,
    notice: String,
    error: String,
    staff: bool,
    manage: bool,
    grid: String,
    grid_name: String,
    /// Communities to choose from when the caller's scope is wider than one.
    choices: Vec<(String, String)>,
    /// Nodes a need may be recorded at (the community and its compounds).
    places: Vec<(String, String)>,
    home: String,
    counts: (usize, usize, usize, usize),
    waiting: Vec<NeedLine>,
    others: Vec<NeedLine>,
    unused: Vec<ResourceLine>,
    used: Vec<ResourceLine>,
    projects: Vec<ProjectLine>,
    kinds: Vec<(&'static str, &'static str)>,
    sources: Vec<(&'static str, &'static str)>,
    providers: Vec<(&'static str, &'static str)>,
    today: String,
}

fn need_line(n: &service::Need) -> NeedLine {
    NeedLine {
        id: n.row.id,
        grid_name: n.row.grid_name.clone(),
        who: n.row.resident_name.as_deref().map(crate::identity::mask_name).unwrap_or_default(),
        kind: rules::kind_label(&n.row.kind),
        urgent: n.row.urgency == "urgent",
        description: n.row.description.clone(),
        source: rules::source_label(&n.row.source),
        status: n.status.label(),
        status_class: match n.status {
            NeedStatus::Waiting => "warn",
            NeedStatus::Planned => "",
            NeedStatus::Met => "ok",
        },
        date: day_ms(n.row.created_at),
    }
}

fn resource_line(r: &super::store::ResourceRow, used: usize) -> ResourceLine {
    ResourceLine {
        id: r.id,
        provider: r.provider.clone(),
        provider_kind: rules::provider_label(&r.provider_kind),
        kind: rules::kind_label(&r.kind),
        capacity: r.capacity,
        period: r.period.clone(),
        used,
    }
}

async fn board(State(s): State<ServicesState>, c: Console, Query(q): Query<BoardQuery>) -> PageResult {
    let p = &c.principal;
    let mut page = BoardPage {
        chrome: Chrome::new(&c, "四张清单", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        staff: p.has(Capability::ReadRegistry),
        manage: false,
        grid: String::new(),
        grid_name: String::new(),
        choices: Vec::new(),
        places: Vec::new(),
        home: String::new(),
        counts: (0, 0, 0, 0),
        waiting: Vec::new(),
        others: Vec::new(),
        unused: Vec::new(),
        used: Vec::new(),
        projects: Vec::new(),
        kinds: rules::KINDS.to_vec(),
        sources: rules::SOURCES.to_vec(),
        providers: rules::PROVIDERS.to_vec(),
        today: day_ms(crate::db::now_ms()),
    };
    if !page.staff {
        if !shown(p) {
            return Err(AppError::forbidden().into());
        }
        // A resident: their own needs, and the form to add one at home.
        let me = crate::registry::residents::of_account(&s.db, p.user_id).await?;
        page.home = me.map(|r| r.grid_code).unwrap_or_default();
        let mine = service::my_needs(&s.db, p).await?;
        page.counts.0 = mine.len();
        page.others = mine.iter().map(need_line).collect();
        return Ok(page.into_response());
    }
    let root = service::read_root(p, q.grid.as_deref())?;
    if root.len() < code_len(3) {
        page.choices = super::store::communities(&s.db, &p.district, &root).await?;
        if let Some((code, _)) = page.choices.first().filter(|_| page.choices.len() == 1) {
            return Ok(Redirect::to(&format!("/console/services/lists?grid={code}")).into_response());
        }
        page.grid_name = crate::grid::store::get(&s.db, &root).await?.map(|g| g.name).unwrap_or_default();
        page.grid = root;
        return Ok(page.into_response());
    }
    let community = &root[..code_len(3)];
    page.manage = p.can(Capability::ManageGrid, community);
    page.places = super::store::places(&s.db, &p.district, community).await?;
    page.grid_name = crate::grid::store::get(&s.db, &root).await?.map(|g| g.name).unwrap_or_default();
    let b = service::board(&s.db, &p.district, &root).await?;
    let count = |st: NeedStatus| b.needs.iter().filter(|n| n.status == st).count();
    page.counts = (
        b.needs.len(),
        count(NeedStatus::Waiting),
        count(NeedStatus::Planned),
        count(NeedStatus::Met),
    );
    for n in &b.needs {
        if n.status == NeedStatus::Waiting {
            page.waiting.push(need_line(n));
        } else {
            page.others.push(need_line(n));
        }
    }
    for r in &b.resources {
        if r.projects.is_empty() {
            page.unused.push(resource_line(&r.row, 0));
        } else {
            page.used.push(resource_line(&r.row, r.projects.len()));
        }
    }
    page.projects = b
        .projects
        .iter()
        .map(|j| ProjectLine {
            id: j.row.id,
            name: j.row.name.clone(),
            owner: j.row.owner.clone(),
            dates: format!("{} 至 {}", j.row.starts_on, j.row.ends_on),
            needs: j.needs.iter().map(need_line).collect(),
            resources: j.resources.iter().map(|r| resource_line(r, 1)).collect(),
            result: j.result.as_ref().map(|r| {
                let rating = r.rating.map(|x| format!("，满意度 {x}/5")).unwrap_or_default();
                format!("{}（服务 {} 人次，照片 {} 张{rating}）", r.delivered, r.people, r.photos)
            }),
        })
        .collect();
    page.grid = root;
    Ok(page.into_response())
}

/// Where a form goes back to: a local console path it names, else the board.
fn back_path(back: &str, grid: &str) -> String {
    let b = back.trim();
    if b.starts_with("/console/") && !b.contains("//") && !b.contains('\\') && b.len() <= 500 {
        b.to_string()
    } else if grid.is_empty() {
        "/console/services/lists".to_string()
    } else {
        format!("/console/services/lists?grid={}", url_encode(grid))
    }
}

/// Back with `?msg=` or `?err=`: the contract with other parts' forms, whatever went wrong.
fn redirect(to: &str, r: Result<&str, AppError>) -> PageResult {
    let sep = if to.contains('?') { '&' } else { '?' };
    let (k, v) = match r {
        Ok(m) => ("msg", m.to_string()),
        Err(e) if e.status.is_server_error() => return Err(e.into()),
        Err(e) => ("err", e.message),
    };
    Ok(Redirect::to(&format!("{to}{sep}{k}={}", url_encode(&v))).into_response())
}

fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field(pairs: &[(String, String)], k: &str) -> String {
    pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// `POST /console/services/needs`: a need from the board, a resident, or another part's page.
async fn add_need(State(s): State<ServicesState>, c: Console, RawForm(body): RawForm) -> PageResult {
    let f = pairs(&body);
    check_csrf(&c, &field(&f, "csrf"))?;
    let grid = field(&f, "grid").trim().to_string();
    let community = grid.get(..code_len(3)).unwrap_or("");
    let to = back_path(&field(&f, "back"), community);
    let resident = field(&f, "resident");
    let resident = match resident.trim() {
        "" => None,
        r => match r.parse::<Uuid>() {
            Ok(u) => Some(u),
            Err(_) => return redirect(&to, Err(AppError::invalid("invalid_resident", "居民编号不正确"))),
        },
    };
    let need = NewNeed {
        grid,
        resident,
        kind: field(&f, "kind"),
        urgency: field(&f, "urgency"),
        description: field(&f, "description"),
        source: field(&f, "source"),
    };
    redirect(&to, service::add_need(&s.db, &c.principal, need).await.map(|_| "已登记需求"))
}

async fn add_resource(State(s): State<ServicesState>, c: Console, RawForm(body): RawForm) -> PageResult {
    let f = pairs(&body);
    check_csrf(&c, &field(&f, "csrf"))?;
    let n = NewResource {
        grid: field(&f, "grid"),
        provider_kind: field(&f, "provider_kind"),
        provider: field(&f, "provider"),
        kind: field(&f, "kind"),
        capacity: field(&f, "capacity"),
        period: field(&f, "period"),
        description: field(&f, "description"),
    };
    let to = back_path("", n.grid.trim());
    back_to(&to, service::add_resource(&s.db, &c.principal, &n).await.map(|_| "已登记资源"))
}

async fn add_project(State(s): State<ServicesState>, c: Console, RawForm(body): RawForm) -> PageResult {
    let f = pairs(&body);
    check_csrf(&c, &field(&f, "csrf"))?;
    let ids = |k: &str| -> Vec<Uuid> { f.iter().filter(|(x, _)| x == k).filter_map(|(_, v)| v.parse().ok()).collect() };
    let n = NewProject {
        grid: field(&f, "grid"),
        name: field(&f, "name"),
        owner: field(&f, "owner"),
        starts_on: field(&f, "starts_on"),
        ends_on: field(&f, "ends_on"),
        needs: ids("need"),
        resources: ids("resource"),
    };
    let to = back_path("", n.grid.trim());
    back_to(&to, service::add_project(&s.db, &c.principal, &n).await.map(|_| "已建立项目"))
}

#[derive(Deserialize)]
struct ResultForm {
    csrf: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    delivered: String,
    #[serde(default)]
    people: String,
    #[serde(default)]
    photos: String,
    #[serde(default)]
    rating: String,
}

async fn add_result(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, axum::Form(f): axum::Form<ResultForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let n = NewResult {
        delivered: f.delivered,
        people: f.people,
        photos: f.photos,
        rating: f.rating,
    };
    let to = back_path("", f.grid.trim());
    back_to(
        &to,
        service::add_result(&s.db, &c.principal, id, &n)
            .await
            .map(|_| "已登记成果，相关需求已满足"),
    )
}
