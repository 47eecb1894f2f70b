//! The case board (案件列表) with bulk dispatch, and each role's inbox (待办).

use super::{department_units, due_class, names, short_time, status_class};
use crate::auth::Capability;
use crate::cases::CasesState;
use crate::cases::categories;
use crate::cases::store::{self, CaseFilter, CaseRow};
use crate::cases::workflow::{self, Action, Status};
use crate::error::AppError;
use crate::registry::pages::form_pairs;
use crate::web::pages::{Chrome, PageResult, pager, url_encode};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, RawForm, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

pub struct BoardRow {
    id: Uuid,
    tracking_code: String,
    category: String,
    description: String,
    grid: String,
    status: &'static str,
    status_label: &'static str,
    status_class: &'static str,
    due: String,
    due_class: &'static str,
    unit: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "cases_board.html")]
struct BoardPage {
    chrome: Chrome,
    rows: Vec<BoardRow>,
    total: i64,
    statuses: Vec<(&'static str, &'static str, bool)>,
    categories: Vec<(String, String, bool)>,
    overdue: bool,
    can_dispatch: bool,
    units: Vec<(Uuid, String)>,
    unit_filters: Vec<(Uuid, String, bool)>,
    grid_filter: String,
    pager: String,
    notice: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct BoardQuery {
    status: Option<String>,
    category: Option<String>,
    grid: Option<String>,
    unit: Option<String>,
    overdue: Option<String>,
    page: Option<i64>,
    done: Option<String>,
}

async fn render_board(s: &CasesState, c: &Console, q: BoardQuery) -> PageResult {
    let p = &c.principal;
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let per = 30;
    let root = p.roots(Capability::ReadRegistry).into_iter().next();
    // A narrower grid may be chosen inside the caller's own.
    let grid = match (q.grid.as_deref().map(str::trim).filter(|g| !g.is_empty()), &root) {
        (Some(g), Some(r)) if g.starts_with(r.as_str()) => Some(g.to_string()),
        (Some(_), Some(_)) => return Err(AppError::not_found("网格").into()),
        _ => root.clone(),
    };
    let unit_filter = q.unit.as_deref().and_then(|u| u.parse::<Uuid>().ok());
    let own_unit = p.posts.iter().find_map(|x| x.unit_id);
    if grid.is_none() && own_unit.is_none() {
        return Err(AppError::forbidden().into());
    }
    let status = q.status.clone().filter(|x| Status::parse(x).is_some());
    let category = q.category.clone().filter(|x| !x.is_empty());
    let overdue = q.overdue.as_deref() == Some("true");
    let f = CaseFilter {
        district: &p.district,
        grid: grid.as_deref(),
        status: status.as_deref(),
        category: category.as_deref(),
        unit: if grid.is_none() { own_unit } else { unit_filter },
        overdue_at: overdue.then(crate::db::now_ms),
        limit: per,
        offset: (page - 1) * per,
    };
    let (rows, total) = store::list(&s.db, &f).await?;
    let (cats, grids, units) = names(s, &rows).await?;
    let now = crate::db::now_ms();
    let view_rows = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let st = r.status();
            BoardRow {
                id: r.id,
                tracking_code: r.tracking_code.clone(),
                category: cats[i].clone(),
                description: r.description.chars().take(40).collect(),
                grid: grids[i].clone(),
                status: st.as_str(),
                status_label: st.label(),
                status_class: status_class(st),
                due: short_time(r.due_at),
                due_class: due_class(st, r.due_at, now),
                unit: units[i].clone(),
            }
        })
        .collect();
    let all_cats = categories::list(&s.db, &p.district).await?;
    let can_dispatch = p
        .posts
        .iter()
        .any(|x| x.grid_code.is_some() && x.role.grants(Capability::ManageGrid));
    let base = format!(
        "/console/cases?status={}&category={}&overdue={}&grid={}&unit={}",
        status.clone().unwrap_or_default(),
        url_encode(category.as_deref().unwrap_or("")),
        if overdue { "true" } else { "" },
        if grid != root {
            grid.clone().unwrap_or_default()
        } else {
            String::new()
        },
        unit_filter.map(|u| u.to_string()).unwrap_or_default()
    );
    let all_units = if grid.is_some() {
        department_units(s, &p.district).await?
    } else {
        Vec::new()
    };
    let html = BoardPage {
        chrome: Chrome::new(c, "案件", "cases"),
        rows: view_rows,
        total,
        statuses: workflow::ALL_STATUSES
            .iter()
            .map(|x| (x.as_str(), x.label(), status.as_deref() == Some(x.as_str())))
            .collect(),
        categories: all_cats
            .into_iter()
            .filter(|x| x.is_leaf())
            .map(|x| (x.code.clone(), x.name, category.as_deref() == Some(x.code.as_str())))
            .collect(),
        overdue,
        can_dispatch,
        unit_filters: all_units.iter().map(|(id, n)| (*id, n.clone(), unit_filter == Some(*id))).collect(),
        grid_filter: if grid != root {
            grid.clone().unwrap_or_default()
        } else {
            String::new()
        },
        units: if can_dispatch { all_units } else { Vec::new() },
        pager: pager(&base, page, per, total),
        notice: q.done,
    };
    Ok(html.into_response())
}

pub(super) async fn board(State(s): State<CasesState>, c: Console, Query(q): Query<BoardQuery>) -> PageResult {
    render_board(&s, &c, q).await
}

/// Dispatch every ticked accepted case to one unit; each case is its own transaction.
pub(super) async fn bulk_dispatch(State(s): State<CasesState>, c: Console, RawForm(body): RawForm) -> PageResult {
    let pairs = form_pairs(&body);
    let get = |k: &str| pairs.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default();
    check_csrf(&c, &get("csrf"))?;
    let unit: Uuid = get("unit")
        .parse()
        .map_err(|_| AppError::invalid("unknown_unit", "请选择承办单位"))?;
    let ids: Vec<Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "case")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let (mut ok, mut failed) = (0, Vec::new());
    for id in ids {
        match crate::cases::service::act_as(&s, &c.principal, id, &Action::Dispatch { unit }, None).await {
            Ok(_) => ok += 1,
            Err(e) => failed.push(e.message),
        }
    }
    let mut msg = format!("已派遣 {ok} 件");
    if !failed.is_empty() {
        msg.push_str(&format!("，{} 件未派遣：{}", failed.len(), failed.join("；")));
    }
    Ok(Redirect::to(&format!("/console/cases?done={}", url_encode(&msg))).into_response())
}

pub struct InboxRow {
    id: Uuid,
    tracking_code: String,
    category: String,
    description: String,
    status_label: &'static str,
    status_class: &'static str,
    rework: i64,
    due: String,
    due_class: &'static str,
}

pub struct InboxSection {
    title: &'static str,
    empty: &'static str,
    rows: Vec<InboxRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    sections: Vec<InboxSection>,
}

async fn inbox_rows(s: &CasesState, rows: Vec<CaseRow>) -> Result<Vec<InboxRow>, AppError> {
    let (cats, _, _) = names(s, &rows).await?;
    let now = crate::db::now_ms();
    Ok(rows
        .into_iter()
        .zip(cats)
        .map(|(r, category)| InboxRow {
            id: r.id,
            tracking_code: r.tracking_code.clone(),
            category,
            description: r.description.chars().take(40).collect(),
            status_label: r.status().label(),
            status_class: status_class(r.status()),
            rework: r.rework,
            due: short_time(r.due_at),
            due_class: due_class(r.status(), r.due_at, now),
        })
        .collect())
}

/// The inbox (待办): assignments and returns for a unit, whistles to answer, cases waiting on this
/// person's grid, and deadline warnings (amber within a day, red overdue) for them and their superiors.
pub(super) async fn inbox(State(s): State<CasesState>, c: Console) -> PageResult {
    let p = &c.principal;
    let mut sections = Vec::new();
    let tasks = |status: &'static str, grid: Option<String>, unit: Option<Uuid>| {
        let district = p.district.clone();
        let s = s.clone();
        async move {
            let f = CaseFilter {
                district: &district,
                grid: grid.as_deref(),
                status: Some(status),
                unit,
                limit: 50,
                ..Default::default()
            };
            store::list(&s.db, &f).await.map(|(rows, _)| rows)
        }
    };
    if let Some(unit) = p.posts.iter().find_map(|x| x.unit_id) {
        sections.push(InboxSection {
            title: "派给本单位的案件",
            empty: "没有待处置的案件",
            rows: inbox_rows(&s, tasks("dispatched", None, Some(unit)).await?).await?,
        });
        sections.push(InboxSection {
            title: "正在处置",
            empty: "没有处置中的案件",
            rows: inbox_rows(&s, tasks("handling", None, Some(unit)).await?).await?,
        });
        sections.push(InboxSection {
            title: "吹哨报到",
            empty: "没有待报到的召集",
            rows: inbox_rows(&s, store::pending_whistles(&s.db, unit, 50).await?).await?,
        });
        let warn = store::due_before(&s.db, &p.district, None, Some(unit), crate::db::now_ms() + 86_400_000, 50).await?;
        sections.push(InboxSection {
            title: "时限预警",
            empty: "没有临期或超期的案件",
            rows: inbox_rows(&s, warn).await?,
        });
    }
    if let Some(root) = p.roots(Capability::ReadRegistry).into_iter().next() {
        if p.has(Capability::ManageGrid) {
            sections.push(InboxSection {
                title: "待立案",
                empty: "没有待立案的上报",
                rows: inbox_rows(&s, tasks("reported", Some(root.clone()), None).await?).await?,
            });
            sections.push(InboxSection {
                title: "待结案",
                empty: "没有待结案的案件",
                rows: inbox_rows(&s, tasks("verified", Some(root.clone()), None).await?).await?,
            });
        }
        sections.push(InboxSection {
            title: "待核查",
            empty: "没有待核查的案件",
            rows: inbox_rows(&s, tasks("handled", Some(root.clone()), None).await?).await?,
        });
        let warn = store::due_before(&s.db, &p.district, Some(&root), None, crate::db::now_ms() + 86_400_000, 50).await?;
        sections.push(InboxSection {
            title: "时限预警（本网格及下级）",
            empty: "没有临期或超期的案件",
            rows: inbox_rows(&s, warn).await?,
        });
    }
    Ok(InboxPage {
        chrome: Chrome::new(&c, "待办", "inbox"),
        sections,
    }
    .into_response())
}
