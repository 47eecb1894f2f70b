//! The case board (案件列表) with bulk dispatch, and each role's inbox (待办).

use super::{department_units, due_class, names, short_time, status_class};
use crate::auth::{Capability, Principal};
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
    mine: bool,
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
    /// The Excel ledger of this board, with its filters (导出Excel).
    export_href: String,
    /// The district's 12345 import (批量导入).
    may_import: bool,
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
    /// `1`: only what I reported (我上报的、我的反映), wherever it is.
    mine: Option<String>,
    /// `1`: only cases the grid handles itself (no unit).
    own: Option<String>,
    /// A grid level: only cases someone at that level may check.
    checkable: Option<i64>,
}

/// Whether the whole board (案件列表) is open to this person: grid staff see their grid's cases,
/// unit staff their unit's; anyone else (a resident) sees only their own reports (`?mine=1`).
pub(super) fn sees_board(p: &Principal) -> bool {
    !p.roots(Capability::ReadRegistry).is_empty() || p.posts.iter().any(|x| x.unit_id.is_some())
}

async fn render_board(s: &CasesState, c: &Console, q: BoardQuery) -> PageResult {
    let p = &c.principal;
    let page = crate::web::pages::page_number(q.page);
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
    let mine = q.mine.as_deref() == Some("1");
    if !sees_board(p) && !mine {
        return Err(AppError::forbidden().into());
    }
    // My own reports are mine wherever they are; otherwise the board keeps to my grid or unit.
    let (grid, root) = if mine { (None, None) } else { (grid, root) };
    let status = q.status.clone().filter(|x| Status::parse(x).is_some());
    let category = q.category.clone().filter(|x| !x.is_empty());
    let overdue = q.overdue.as_deref() == Some("true");
    let f = CaseFilter {
        district: &p.district,
        grid: grid.as_deref(),
        status: status.as_deref(),
        category: category.as_deref(),
        unit: match (mine, &grid) {
            (true, _) => None,
            (false, None) => own_unit,
            (false, Some(_)) => unit_filter,
        },
        overdue_at: overdue.then(crate::db::now_ms),
        reporter: mine.then_some(p.user_id),
        self_handled: q.own.as_deref() == Some("1"),
        checkable_at: q.checkable.filter(|l| (1..=5).contains(l)),
        limit: per,
        offset: (page - 1) * per,
        ..Default::default()
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
                status_label: r.status_label(),
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
        "/console/cases?mine={}&own={}&checkable={}&status={}&category={}&overdue={}&grid={}&unit={}",
        if mine { "1" } else { "" },
        if f.self_handled { "1" } else { "" },
        f.checkable_at.map(|l| l.to_string()).unwrap_or_default(),
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
    let mut export_href = String::from("/api/v1/exports/cases.xlsx?");
    for (k, v) in [
        ("mine", if mine { "true".to_string() } else { String::new() }),
        ("status", status.clone().unwrap_or_default()),
        ("category", url_encode(category.as_deref().unwrap_or(""))),
        ("overdue", if overdue { "true".to_string() } else { String::new() }),
        (
            "grid",
            if grid != root {
                grid.clone().unwrap_or_default()
            } else {
                String::new()
            },
        ),
        (
            "unit",
            if grid.is_some() {
                unit_filter.map(|u| u.to_string()).unwrap_or_default()
            } else {
                String::new()
            },
        ),
    ] {
        if !v.is_empty() {
            export_href.push_str(&format!("{k}={v}&"));
        }
    }
    let export_href = export_href.trim_end_matches(['&', '?']).to_string();
    let all_units = if grid.is_some() {
        department_units(s, &p.district).await?
    } else {
        Vec::new()
    };
    let html = BoardPage {
        chrome: Chrome::new(c, if mine { "我上报的" } else { "案件" }, "cases"),
        mine,
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
        export_href,
        may_import: c.principal.posts.iter().any(|x| x.role == crate::auth::Role::DistrictAdmin),
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
    /// Community › compound › building.
    place: String,
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
    /// The true number of cases in the section (only the first few are shown).
    total: i64,
    /// The board, filtered to this section.
    all: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    /// May report a problem from here (grid people).
    can_report: bool,
    sections: Vec<InboxSection>,
    /// Sections of features built on the case loop (`hooks::InboxSection`), as HTML.
    extra: Vec<String>,
}

async fn inbox_rows(s: &CasesState, rows: Vec<CaseRow>) -> Result<Vec<InboxRow>, AppError> {
    let (cats, places, _) = names(s, &rows).await?;
    let now = crate::db::now_ms();
    Ok(rows
        .into_iter()
        .zip(cats.into_iter().zip(places))
        .map(|(r, (category, place))| InboxRow {
            id: r.id,
            tracking_code: r.tracking_code.clone(),
            category,
            place,
            description: r.description.chars().take(40).collect(),
            status_label: r.status_label(),
            status_class: status_class(r.status()),
            rework: r.rework,
            due: short_time(r.due_at),
            due_class: due_class(r.status(), r.due_at, now),
        })
        .collect())
}

/// Cases shown per inbox section; "查看全部" opens the board with the same filter.
const SECTION_ROWS: i64 = 10;

/// One inbox section: the first rows and the true total of `f`, and its board link.
async fn section(
    s: &CasesState,
    title: &'static str,
    empty: &'static str,
    f: CaseFilter<'_>,
    all: String,
) -> Result<InboxSection, AppError> {
    let (rows, total) = store::list(&s.db, &CaseFilter { limit: SECTION_ROWS, ..f }).await?;
    Ok(InboxSection {
        title,
        empty,
        rows: inbox_rows(s, rows).await?,
        total,
        all,
    })
}

/// The inbox (待办), each section a true count with its first cases: for a unit, what was sent to
/// it, what it is handling, whistles to answer and deadlines; for grid people, new reports to
/// accept (小事不出格: the building's own officer sees them first), accepted cases to send out or
/// handle themselves, cases to check and to close, and deadlines in their grid; for everyone, what
/// they reported.
pub(super) async fn inbox(State(s): State<CasesState>, c: Console) -> PageResult {
    let p = &c.principal;
    let district = p.district.as_str();
    let base = CaseFilter {
        district,
        ..Default::default()
    };
    let soon = crate::db::now_ms() + 86_400_000;
    let mut sections = Vec::new();
    if let Some(unit) = p.posts.iter().find_map(|x| x.unit_id) {
        let of_unit = |status| CaseFilter {
            unit: Some(unit),
            status: Some(status),
            ..base
        };
        let board = |status: &str| format!("/console/cases?status={status}");
        sections.push(
            section(
                &s,
                "派给本单位的案件",
                "没有待处置的案件",
                of_unit("dispatched"),
                board("dispatched"),
            )
            .await?,
        );
        sections.push(section(&s, "正在处置", "没有处置中的案件", of_unit("handling"), board("handling")).await?);
        let whistles = store::pending_whistles(&s.db, unit, 50).await?;
        sections.push(InboxSection {
            title: "吹哨报到",
            empty: "没有待报到的召集",
            total: whistles.len() as i64,
            rows: inbox_rows(&s, whistles).await?,
            all: String::new(),
        });
        let warn = CaseFilter {
            unit: Some(unit),
            overdue_at: Some(soon),
            by_due: true,
            ..base
        };
        sections.push(section(&s, "时限预警", "没有临期或超期的案件", warn, "/console/cases?overdue=true".into()).await?);
    }
    let grid_post = p
        .posts
        .iter()
        .filter(|x| x.role.is_grid_role())
        .filter_map(|x| x.grid_code.clone())
        .min_by_key(|g| g.len());
    if let Some(root) = grid_post.as_deref() {
        let level = (1..=5).find(|l| crate::grid::rules::code_len(*l) == root.len()).unwrap_or(5);
        let in_grid = |status| CaseFilter {
            grid: Some(root),
            status: Some(status),
            ..base
        };
        let board = |q: &str| format!("/console/cases?grid={}&{q}", url_encode(root));
        sections.push(section(&s, "待立案", "没有待立案的上报", in_grid("reported"), board("status=reported")).await?);
        sections.push(
            section(
                &s,
                "已立案，待派遣或本级处置",
                "没有待派遣的案件",
                in_grid("accepted"),
                board("status=accepted"),
            )
            .await?,
        );
        let own = CaseFilter {
            self_handled: true,
            ..in_grid("handling")
        };
        sections.push(section(&s, "本级处置中", "没有本级处置中的案件", own, board("status=handling&own=1")).await?);
        let check = CaseFilter {
            checkable_at: Some(level),
            ..in_grid("handled")
        };
        let check_link = board(&format!("status=handled&checkable={level}"));
        sections.push(section(&s, "待核查", "没有待核查的案件", check, check_link).await?);
        // Only a compound or above closes (a category's close level is 4 at most).
        if level <= 4 {
            sections.push(section(&s, "待结案", "没有待结案的案件", in_grid("verified"), board("status=verified")).await?);
        }
        let warn = CaseFilter {
            grid: Some(root),
            overdue_at: Some(soon),
            by_due: true,
            ..base
        };
        sections.push(section(&s, "时限预警（本网格及下级）", "没有临期或超期的案件", warn, board("overdue=true")).await?);
    }
    let mine = CaseFilter {
        reporter: Some(p.user_id),
        ..base
    };
    sections.push(section(&s, "我上报的", "还没有上报过问题", mine, "/console/cases?mine=1".into()).await?);
    let mut extra = Vec::new();
    for hook in &s.hooks.inbox {
        extra.extend(hook.render(&s.db, &c).await?);
    }
    Ok(InboxPage {
        chrome: Chrome::new(&c, "待办", "inbox"),
        can_report: grid_post.is_some(),
        sections,
        extra,
    }
    .into_response())
}
