//! Case pages: the board (with bulk dispatch), report from the phone, case detail with the
//! actions the viewer may take; and for residents without an account, report from `/g/{code}`,
//! follow by tracking code and rate.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::CasesState;
use super::api::{AttributeAnswer, Case, NewCase, Reporter, submit};
use super::permissions;
use super::store::{self, CaseFilter, CaseRow};
use super::workflow::{self, Action, Rating, Status};
use super::{categories, store as cases};
use crate::audit::Actor;
use crate::auth::Capability;
use crate::error::AppError;
use crate::registry::pages::form_pairs;
use crate::web::pages::{Chrome, PageError, PageResult, pager, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<CasesState> {
    Router::new()
        .route("/console/cases", get(board))
        .route("/console/cases/new", get(new_form).post(new_submit))
        .route("/console/cases/dispatch", post(bulk_dispatch))
        .route("/console/cases/{id}", get(detail))
        .route("/console/cases/{id}/actions", post(act))
        .route("/console/cases/{id}/merge", post(merge_form))
        .route("/g/{code}", get(super::public_pages::public_page))
        .route("/g/{code}/report", post(public_report))
        .route("/track", get(track_form))
        .route("/track/{code}", get(track))
        .route("/track/{code}/rate", post(track_rate))
        .route("/console/assessment", get(assessment_page))
        .route("/console/inbox", get(inbox))
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Closed => "ok",
        Status::Declined => "grey",
        Status::Reported | Status::Accepted => "warn",
        _ => "info",
    }
}

/// Red when overdue, amber within the last day before the deadline.
fn due_class(status: Status, due_ms: i64, now: i64) -> &'static str {
    if !status.is_open() {
        ""
    } else if now > due_ms {
        "red"
    } else if due_ms - now < 24 * 3_600_000 {
        "amber"
    } else {
        ""
    }
}

fn short_time(ms: i64) -> String {
    crate::time::format_ms(ms).chars().take(16).collect()
}

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
struct BoardQuery {
    status: Option<String>,
    category: Option<String>,
    grid: Option<String>,
    unit: Option<String>,
    overdue: Option<String>,
    page: Option<i64>,
    done: Option<String>,
}

/// Category, place and unit names for a page of cases, in a handful of queries rather than
/// several per row.
async fn names(s: &CasesState, rows: &[CaseRow]) -> Result<(Vec<String>, Vec<String>, Vec<String>), AppError> {
    use std::collections::{BTreeSet, HashMap};
    let all = categories::list(&s.db, rows.first().map(|r| r.district.as_str()).unwrap_or("")).await?;
    // Every community, compound and building code the rows mention, looked up at once.
    let mut codes = BTreeSet::new();
    for r in rows {
        for level in 3..=5 {
            let n = crate::grid::rules::code_len(level);
            if n <= r.grid_code.len() {
                codes.insert(r.grid_code[..n].to_string());
            }
        }
    }
    let codes: Vec<String> = codes.into_iter().collect();
    let mut grid_names: HashMap<String, String> = HashMap::new();
    for chunk in codes.chunks(200) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT code, name FROM grids WHERE code IN ({})", placeholders.join(", "));
        let found: Vec<(String, String)> = crate::on_pool!(&s.db, |p| {
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?;
        grid_names.extend(found);
    }
    let mut unit_names: HashMap<Uuid, String> = HashMap::new();
    for u in rows.iter().filter_map(|r| r.unit_id).collect::<BTreeSet<_>>() {
        unit_names.insert(u, crate::registry::units::get(&s.db, u).await?.map(|x| x.name).unwrap_or_default());
    }
    let (mut cats, mut grids, mut units) = (Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        cats.push(
            all.iter()
                .find(|c| c.code == r.category_code)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        );
        let place: Vec<&str> = (3..=5)
            .filter_map(|l| {
                let n = crate::grid::rules::code_len(l);
                (n <= r.grid_code.len())
                    .then(|| grid_names.get(&r.grid_code[..n]).map(String::as_str))
                    .flatten()
            })
            .collect();
        grids.push(place.join(" "));
        units.push(r.unit_id.and_then(|u| unit_names.get(&u).cloned()).unwrap_or_default());
    }
    Ok((cats, grids, units))
}

async fn department_units(s: &CasesState, district: &str) -> Result<Vec<(Uuid, String)>, AppError> {
    let (rows, _) = crate::registry::units::list(&s.db, district, Some("department"), None, None, 100, 0).await?;
    Ok(rows.into_iter().map(|u| (u.id, u.name)).collect())
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

async fn board(State(s): State<CasesState>, c: Console, Query(q): Query<BoardQuery>) -> PageResult {
    render_board(&s, &c, q).await
}

/// Dispatch every ticked accepted case to one unit; each case is its own transaction.
async fn bulk_dispatch(State(s): State<CasesState>, c: Console, RawForm(body): RawForm) -> PageResult {
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
        match super::api::act_as(&s, &c.principal, id, &Action::Dispatch { unit }, None).await {
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

#[derive(Template, WebTemplate)]
#[template(path = "case_new.html")]
struct NewPage {
    chrome: Chrome,
    buildings: Vec<(String, String)>,
    key: String,
    categories: Vec<(String, String, bool)>,
    description: String,
    grid: String,
    lat: String,
    lng: String,
    error: Option<String>,
    /// Each category's extra questions, shown when it is picked: (code, picked, fields).
    field_sets: Vec<(String, bool, Vec<FieldView>)>,
}

/// One extra question on the report form. Inputs are named `attr.{category}.{code}` (and
/// `….{choice}` for multiple choice), so only the picked category's answers are read.
pub struct FieldView {
    name: String,
    label: String,
    /// number, text, textarea, datetime, select, checks
    kind: &'static str,
    required: bool,
    value: String,
    choices: Vec<(String, String, bool)>,
}

fn field_views(cat: &str, fields: &[super::attributes::Field], given: &std::collections::BTreeMap<String, String>) -> Vec<FieldView> {
    use super::attributes::Datatype;
    fields
        .iter()
        .map(|f| {
            let name = format!("attr.{cat}.{}", f.code);
            let value = given.get(&name).cloned().unwrap_or_default();
            FieldView {
                kind: match f.datatype {
                    Datatype::Number => "number",
                    Datatype::String => "text",
                    Datatype::Text => "textarea",
                    Datatype::Datetime => "datetime",
                    Datatype::Singlevaluelist => "select",
                    Datatype::Multivaluelist => "checks",
                },
                label: f.description.clone(),
                required: f.required,
                choices: f
                    .values
                    .iter()
                    .map(|c| {
                        let picked = value == c.key || given.contains_key(&format!("{name}.{}", c.key));
                        (c.key.clone(), c.name.clone(), picked)
                    })
                    .collect(),
                name,
                value,
            }
        })
        .collect()
}

/// The picked category's answers from the form's `attr.…` fields.
fn form_answers(cat: &str, extra: &std::collections::BTreeMap<String, String>) -> std::collections::BTreeMap<String, AttributeAnswer> {
    let prefix = format!("attr.{cat}.");
    let mut out: std::collections::BTreeMap<String, AttributeAnswer> = std::collections::BTreeMap::new();
    for (k, v) in extra {
        let Some(rest) = k.strip_prefix(&prefix) else { continue };
        match rest.split_once('.') {
            None if !v.trim().is_empty() => {
                out.insert(rest.to_string(), AttributeAnswer::One(v.clone()));
            }
            None => {}
            Some((code, choice)) => {
                if let AttributeAnswer::Many(list) = out.entry(code.to_string()).or_insert_with(|| AttributeAnswer::Many(Vec::new())) {
                    list.push(choice.to_string());
                }
            }
        }
    }
    out
}

async fn render_new(s: &CasesState, c: &Console, form: Option<(NewCaseForm, String)>) -> PageResult {
    let cats = categories::list(&s.db, &c.principal.district).await?;
    let (f, error) = match form {
        Some((f, e)) => (f, Some(e)),
        None => {
            // A building officer reports in their own building by default.
            let grid = c
                .principal
                .posts
                .iter()
                .find_map(|p| p.grid_code.clone().filter(|g| g.len() >= 15))
                .unwrap_or_default();
            (
                NewCaseForm {
                    key: crate::db::new_id().to_string(),
                    grid,
                    ..Default::default()
                },
                None,
            )
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    // The buildings (and compounds) under the reporter's smallest post, to pick from.
    let mut buildings = Vec::new();
    if let Some(root) = c.principal.posts.iter().filter_map(|p| p.grid_code.clone()).max_by_key(|g| g.len()) {
        let rows: Vec<(String, String, String)> = crate::on_pool!(&s.db, |p| sqlx::query_as(
            "SELECT g.code, g.name, COALESCE(pa.name, '') FROM grids g LEFT JOIN grids pa ON pa.code = g.parent_code \
             WHERE g.code >= $1 AND g.code < $2 AND g.level >= 4 ORDER BY g.code LIMIT 500"
        )
        .bind(&root)
        .bind(crate::grid::rules::subtree_upper(&root))
        .fetch_all(p)
        .await)?;
        buildings = rows
            .into_iter()
            .map(|(code, name, parent)| (code, format!("{parent} {name}")))
            .collect();
    }
    let field_sets = cats
        .iter()
        .filter(|x| x.is_leaf() && !x.fields().is_empty())
        .map(|x| (x.code.clone(), x.code == f.category, field_views(&x.code, &x.fields(), &f.extra)))
        .collect();
    let html = NewPage {
        chrome: Chrome::new(c, "上报问题", "cases"),
        buildings,
        field_sets,
        categories: cats
            .into_iter()
            .filter(|x| x.is_leaf())
            .map(|x| (x.code.clone(), x.name, x.code == f.category))
            .collect(),
        key: f.key,
        description: f.description,
        grid: f.grid,
        lat: f.lat,
        lng: f.lng,
        error,
    };
    Ok((status, html).into_response())
}

async fn new_form(State(s): State<CasesState>, c: Console) -> PageResult {
    render_new(&s, &c, None).await
}

#[derive(Deserialize, Default, Clone)]
struct NewCaseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lng: String,
    /// 不公开: a checkbox, present only when ticked.
    private: Option<String>,
    /// The category's extra questions, `attr.{category}.{code}[.{choice}]`.
    #[serde(flatten)]
    extra: std::collections::BTreeMap<String, String>,
}

async fn new_submit(State(s): State<CasesState>, c: Console, Form(f): Form<NewCaseForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let (lat, lng) = (f.lat.trim().parse::<f64>().ok(), f.lng.trim().parse::<f64>().ok());
    let input = NewCase {
        category: f.category.clone(),
        description: f.description.clone(),
        lat,
        lng,
        grid: Some(f.grid.trim().to_string()).filter(|g| !g.is_empty() && lat.is_none()),
        source: None,
        reported_at: None,
        attributes: Some(form_answers(&f.category, &f.extra)),
        private: Some(f.private.is_some()),
    };
    // The form's key makes a double-tapped or retried submit land once.
    match submit(
        &s,
        Reporter::User(&c.principal),
        &input,
        Some(&f.key).filter(|k| !k.is_empty()).map(String::as_str),
    )
    .await
    {
        Ok((row, _)) => Ok(Redirect::to(&format!("/console/cases/{}?created=1", row.id)).into_response()),
        Err(e) if e.status.is_client_error() => render_new(&s, &c, Some((f, e.message))).await,
        Err(e) => Err(PageError(e)),
    }
}

pub struct ActionForm {
    name: &'static str,
    label: &'static str,
    unit_label: &'static str,
    needs_note: bool,
    note_label: &'static str,
    needs_unit: bool,
    needs_rating: bool,
    needs_ack: bool,
    ack_unit: String,
    secondary: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "case_detail.html")]
struct DetailPage {
    chrome: Chrome,
    c: Case,
    status_class: &'static str,
    level_label: &'static str,
    source: &'static str,
    reported: String,
    due: String,
    due_class: &'static str,
    unit: String,
    rating: Option<&'static str>,
    timeline: Vec<(String, String, &'static str, String)>,
    actions: Vec<ActionForm>,
    units: Vec<(Uuid, String)>,
    version: i64,
    can_merge: bool,
    notice: Option<String>,
    error: Option<String>,
    /// Answers to the category's extra questions: (question, answer).
    answers: Vec<(String, String)>,
}

/// A case's answers, labelled by its category's questions (choices by their names).
fn labelled_answers(fields: &[super::attributes::Field], stored: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    let name_of = |f: &super::attributes::Field, key: &str| {
        f.values
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| key.to_string())
    };
    fields
        .iter()
        .filter_map(|f| {
            let answer = match v.get(&f.code)? {
                serde_json::Value::String(s) => name_of(f, s),
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .map(|k| name_of(f, k))
                    .collect::<Vec<_>>()
                    .join("、"),
                other => other.to_string(),
            };
            Some((f.description.clone(), answer))
        })
        .collect()
}

/// The console's name for a timeline action.
fn action_label_of(a: &str) -> &'static str {
    match a {
        "report" => "上报",
        "accept" => "立案",
        "decline" => "不予立案",
        "dispatch" => "派遣",
        "start" => "开始处置",
        "handle" => "处置完成",
        "verify" => "核查通过",
        "return" => "退回返工",
        "close" => "结案",
        "escalate" => "上报上级网格",
        "whistle" => "吹哨",
        "acknowledge" => "报到",
        "supervise" => "督办",
        "rate" => "评价",
        "merge" => "合并",
        "outcome" => "办理结果",
        _ => "办理",
    }
}

fn source_label(s: &str) -> &'static str {
    match s {
        "officer" => "网格员上报",
        "resident" => "群众反映",
        "device" => "设备告警",
        "hotline" => "热线电话",
        "council" => "议事会",
        "open311" => "Open311接入",
        _ => "其他",
    }
}

async fn render_detail(s: &CasesState, c: &Console, id: Uuid, notice: Option<String>, error: Option<String>) -> PageResult {
    let p = &c.principal;
    let (row, ctx) = super::api::load_visible(s, p, id).await?;
    let v = ctx.view(&row);
    let state = store::state_of(&s.db, &row).await?;
    let nil = Uuid::nil();
    let mut candidates: Vec<(Action, ActionForm)> = Vec::new();
    let form = |name, label, note: Option<&'static str>, unit: bool, rating: bool, secondary: bool| ActionForm {
        name,
        label,
        unit_label: if name == "whistle" { "召集部门" } else { "承办单位" },
        needs_note: note.is_some(),
        note_label: note.unwrap_or(""),
        needs_unit: unit,
        needs_rating: rating,
        needs_ack: false,
        ack_unit: String::new(),
        secondary,
    };
    candidates.push((Action::Accept, form("accept", "立案", None, false, false, false)));
    candidates.push((Action::Dispatch { unit: nil }, form("dispatch", "派遣", None, true, false, false)));
    candidates.push((Action::Start, form("start", "开始处置", None, false, false, false)));
    candidates.push((
        Action::Handle { note: "x".into() },
        form("handle", "处置完成", Some("处置情况"), false, false, false),
    ));
    candidates.push((Action::Verify, form("verify", "核查通过", None, false, false, false)));
    candidates.push((
        Action::Return { note: "x".into() },
        form("return", "退回返工", Some("退回理由"), false, false, true),
    ));
    candidates.push((Action::Close, form("close", "结案", None, false, false, false)));
    candidates.push((
        Action::Rate { rating: Rating::Satisfied },
        form("rate", "提交评价", None, false, true, false),
    ));
    candidates.push((
        Action::Whistle { units: vec![nil] },
        form("whistle", "吹哨（召集部门报到）", None, true, false, true),
    ));
    candidates.push((Action::Escalate, form("escalate", "上报上级网格", None, false, false, true)));
    candidates.push((Action::Supervise, form("supervise", "督办", None, false, false, true)));
    candidates.push((
        Action::Decline { reason: "x".into() },
        form("decline", "不予立案", Some("理由"), false, false, true),
    ));
    for u in v.summoned {
        let a = Action::Acknowledge { unit: *u };
        let mut f = form("acknowledge", "报到", None, false, false, false);
        f.needs_ack = true;
        f.ack_unit = u.to_string();
        candidates.push((a, f));
    }
    let actions = candidates
        .into_iter()
        .filter(|(a, _)| permissions::may(p, &v, a) && workflow::apply(&state, a).is_ok())
        .map(|(_, f)| f)
        .collect::<Vec<_>>();
    let needs_units = actions.iter().any(|a| a.needs_unit);
    let api = super::api::case_json(s, &row).await?;
    let now = crate::db::now_ms();
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let fields = categories::get(&s.db, &row.district, &row.category_code)
        .await?
        .map(|x| x.fields())
        .unwrap_or_default();
    let html = DetailPage {
        answers: labelled_answers(&fields, &row.attributes),
        chrome: Chrome::new(c, format!("案件 {}", row.tracking_code), "cases"),
        status_class: status_class(row.status()),
        level_label: crate::grid::rules::level_label(row.level),
        source: source_label(&row.source),
        reported: short_time(row.reported_at),
        due: short_time(row.due_at),
        due_class: due_class(row.status(), row.due_at, now),
        unit: api.unit.as_ref().map(|u| u.name.clone()).unwrap_or_else(|| "未派遣".into()),
        rating: row.rating().map(Rating::label),
        timeline: api
            .timeline
            .iter()
            .map(|e| {
                let at =
                    e.at.parse::<jiff::Timestamp>()
                        .map(|t| short_time(t.as_millisecond()))
                        .unwrap_or_else(|_| e.at.clone());
                (at, e.actor.clone(), action_label_of(&e.action), e.note.clone())
            })
            .collect(),
        units: if needs_units {
            department_units(s, &p.district).await?
        } else {
            Vec::new()
        },
        version: row.version,
        can_merge: permissions::may(p, &v, &Action::Accept) && matches!(row.status(), Status::Reported | Status::Accepted),
        actions,
        notice,
        error,
        c: api,
    };
    Ok((status, html).into_response())
}

#[derive(Deserialize)]
struct DetailQuery {
    created: Option<String>,
    done: Option<String>,
}

async fn detail(State(s): State<CasesState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<DetailQuery>) -> PageResult {
    let notice = q
        .created
        .map(|_| "已上报，可凭编号跟踪办理进度".to_string())
        .or(q.done.map(|a| format!("已{}", action_label_of(&a))));
    render_detail(&s, &c, id, notice, None).await
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    version: Option<i64>,
    note: Option<String>,
    unit: Option<String>,
    rating: Option<String>,
}

async fn act(State(s): State<CasesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let note = f.note.clone().unwrap_or_default();
    let unit = f.unit.as_deref().and_then(|u| u.parse::<Uuid>().ok());
    let need_unit = || unit.ok_or_else(|| AppError::invalid("unknown_unit", "请选择单位"));
    let action = match f.action.as_str() {
        "accept" => Action::Accept,
        "decline" => Action::Decline { reason: note },
        "dispatch" => Action::Dispatch { unit: need_unit()? },
        "start" => Action::Start,
        "handle" => Action::Handle { note },
        "verify" => Action::Verify,
        "return" => Action::Return { note },
        "close" => Action::Close,
        "escalate" => Action::Escalate,
        "whistle" => Action::Whistle { units: vec![need_unit()?] },
        "acknowledge" => Action::Acknowledge { unit: need_unit()? },
        "supervise" => Action::Supervise,
        "rate" => Action::Rate {
            rating: serde_json::from_value(serde_json::Value::String(f.rating.clone().unwrap_or_default()))
                .map_err(|_| AppError::invalid("invalid_rating", "请选择评价"))?,
        },
        _ => return Err(AppError::invalid("unknown_action", "未知操作").into()),
    };
    match super::api::act_as(&s, &c.principal, id, &action, f.version).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/cases/{id}?done={}", f.action)).into_response()),
        Err(e) if matches!(e.status, StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY) => {
            render_detail(&s, &c, id, None, Some(e.message)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
struct PublicForm {
    key: String,
    category: String,
    description: String,
    phone: String,
}

/// A resident reports from the public grid page, with no account.
async fn public_report(State(s): State<CasesState>, Path(code): Path<String>, Form(f): Form<PublicForm>) -> PageResult {
    let g = crate::grid::store::get(&s.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found("网格"))?;
    let input = NewCase {
        category: f.category.clone(),
        description: f.description.clone(),
        lat: None,
        lng: None,
        grid: Some(g.code.clone()),
        source: Some("resident".into()),
        reported_at: None,
        attributes: None,
        private: None,
    };
    let key = Some(f.key.trim()).filter(|k| !k.is_empty() && k.len() <= 64);
    match submit(
        &s,
        Reporter::Public {
            district: &g.district,
            phone: &f.phone,
        },
        &input,
        key,
    )
    .await
    {
        Ok((row, _)) => Ok(Redirect::to(&format!("/track/{}?new=1", row.tracking_code)).into_response()),
        Err(e) if e.status.is_client_error() => {
            super::public_pages::render_public(&s, &code, Some(e.message), f.description, f.phone).await
        }
        Err(e) => Err(PageError(e)),
    }
}

pub struct TrackView {
    code: String,
    status_class: &'static str,
    category: String,
    status: &'static str,
    description: String,
    grid: String,
    reported: String,
    due: String,
    rating: Option<&'static str>,
    steps: Vec<(String, &'static str, String)>,
    can_rate: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "track.html")]
struct TrackPage {
    title: String,
    case: Option<TrackView>,
    error: Option<String>,
    notice: Option<String>,
}

fn step_label(action: &str) -> &'static str {
    match action {
        "report" => "已受理您的反映",
        "accept" => "已立案",
        "decline" => "不予立案",
        "dispatch" => "已派遣承办单位",
        "start" => "承办单位开始处置",
        "handle" => "处置完成",
        "verify" => "网格核查通过",
        "return" => "核查未通过，返工处置",
        "close" => "已结案",
        "escalate" => "已提交上级网格协调",
        "whistle" => "已召集相关部门",
        "acknowledge" => "部门已报到",
        "supervise" => "上级督办",
        "rate" => "您已评价",
        "merge" => "已与同一问题的其他反映合并办理",
        "outcome" => "办理结果",
        _ => "办理中",
    }
}

#[derive(Deserialize)]
struct TrackQuery {
    code: Option<String>,
    new: Option<String>,
}

async fn track_form(Query(q): Query<TrackQuery>) -> PageResult {
    if let Some(code) = q.code.map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty()) {
        return Ok(Redirect::to(&format!("/track/{}", url_encode(&code))).into_response());
    }
    Ok(TrackPage {
        title: String::new(),
        case: None,
        error: None,
        notice: None,
    }
    .into_response())
}

async fn render_track(s: &CasesState, code: &str, notice: Option<String>, error: Option<String>) -> PageResult {
    let Some(row) = cases::by_tracking_code(&s.db, code).await? else {
        let page = TrackPage {
            title: code.to_string(),
            case: None,
            error: Some("没有找到该查询码对应的反映，请核对后重试".into()),
            notice: None,
        };
        return Ok((StatusCode::NOT_FOUND, page).into_response());
    };
    let cat = categories::get(&s.db, &row.district, &row.category_code)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    let grid = crate::grid::store::get(&s.db, &row.grid_code)
        .await?
        .map(|g| g.name)
        .unwrap_or_default();
    // Residents see what was done, not who inside the government did it.
    let steps = cases::events(&s.db, row.id)
        .await?
        .into_iter()
        .map(|e| {
            let note = if matches!(e.action.as_str(), "handle" | "decline" | "merge" | "outcome") {
                e.note
            } else {
                String::new()
            };
            (short_time(e.at_ms), step_label(&e.action), note)
        })
        .collect();
    let view = TrackView {
        code: row.tracking_code.clone(),
        status_class: status_class(row.status()),
        category: cat,
        status: row.status().label(),
        description: row.description.clone(),
        grid,
        reported: short_time(row.reported_at),
        due: short_time(row.due_at),
        rating: row.rating().map(Rating::label),
        steps,
        can_rate: row.status() == Status::Closed && row.rating.is_none() && row.reporter_id.is_none(),
    };
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    Ok((
        status,
        TrackPage {
            title: row.tracking_code,
            case: Some(view),
            error,
            notice,
        },
    )
        .into_response())
}

async fn track(State(s): State<CasesState>, Path(code): Path<String>, Query(q): Query<TrackQuery>) -> PageResult {
    let notice = q.new.map(|_| "已收到您的反映。请记下查询码，随时查看办理进度。".to_string());
    render_track(&s, &code, notice, None).await
}

#[derive(Deserialize)]
struct RateForm {
    rating: String,
}

/// Rating by tracking code: the code is what a resident without an account holds.
async fn track_rate(State(s): State<CasesState>, Path(code): Path<String>, Form(f): Form<RateForm>) -> PageResult {
    let row = cases::by_tracking_code(&s.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found("反映"))?;
    if row.reporter_id.is_some() {
        return Err(AppError::forbidden().into());
    }
    let rating: Rating =
        serde_json::from_value(serde_json::Value::String(f.rating)).map_err(|_| AppError::invalid("invalid_rating", "请选择评价"))?;
    match cases::act(&s.db, &s.hooks, Actor::System("居民"), &row, &Action::Rate { rating }, 0).await {
        Ok(_) => render_track(&s, &code, Some("感谢您的评价".into()), None).await,
        Err(e) if e.status == StatusCode::CONFLICT => render_track(&s, &code, None, Some(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    chrome: Chrome,
    bys: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    #[allow(clippy::type_complexity)]
    rows: Vec<(usize, String, i64, i64, String, String, String, String, String)>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct AssessmentQuery {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

async fn assessment_page(State(s): State<CasesState>, c: Console, Query(q): Query<AssessmentQuery>) -> PageResult {
    let by = q.by.clone().unwrap_or_else(|| "street".into());
    let today = jiff::Timestamp::from_millisecond(crate::db::now_ms())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(crate::time::china())
        .date();
    let from = q
        .from
        .clone()
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| today.checked_sub(jiff::ToSpan::days(30)).unwrap_or(today).to_string());
    let to =
        q.to.clone()
            .filter(|x| !x.is_empty())
            .unwrap_or_else(|| today.tomorrow().unwrap_or(today).to_string());
    let (rows, error) = match super::api::assessment_for(&s, &c.principal, &by, Some(&from), Some(&to)).await {
        Ok(r) => (
            r.items
                .into_iter()
                .map(|x| {
                    let f = x.figures;
                    (
                        x.rank,
                        x.name,
                        f.received,
                        f.closed,
                        pct(f.on_time_rate),
                        pct(f.closure_rate),
                        pct(f.rework_rate),
                        pct(f.satisfaction_rate),
                        format!("{:.1} 小时", f.mean_handling_hours),
                    )
                })
                .collect(),
            None,
        ),
        Err(e) if e.status == StatusCode::FORBIDDEN => return Err(PageError(e)),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let bys = [("street", "街道"), ("community", "社区"), ("unit", "承办单位")]
        .iter()
        .map(|(k, l)| (*k, *l, *k == by))
        .collect();
    Ok(AssessmentPage {
        chrome: Chrome::new(&c, "考核排名", "assessment"),
        bys,
        from,
        to,
        rows,
        error,
    }
    .into_response())
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
async fn inbox(State(s): State<CasesState>, c: Console) -> PageResult {
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

#[derive(Deserialize)]
struct MergeForm {
    csrf: String,
    into: Uuid,
}

async fn merge_form(State(s): State<CasesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<MergeForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    match super::api::merge_as(&s, &c.principal, id, f.into).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/cases/{id}?done=merge")).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => render_detail(&s, &c, id, None, Some(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}
