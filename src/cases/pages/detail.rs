//! One case's page: its timeline, answers, photos, the actions the caller may take, and merging.

use super::{UnitGroup, dispatch_units, due_class, short_time, status_class};
use crate::cases::CasesState;
use crate::cases::api::Case;
use crate::cases::categories;
use crate::cases::permissions;
use crate::cases::place::{self, Place};
use crate::cases::store::{self};
use crate::cases::workflow::{self, Action, Rating, Status};
use crate::error::AppError;
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageError, PageResult};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

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
    units: Vec<UnitGroup>,
    version: i64,
    can_merge: bool,
    /// The case this one likely repeats, or was merged into: (id, tracking code, category, when).
    related: Option<(Uuid, String, String, String)>,
    notice: Option<String>,
    error: Option<String>,
    /// Answers to the category's extra questions: (question, answer).
    answers: Vec<(String, String)>,
    /// Departments summoned by a whistle: (name, 已报到 … / 待报到（时限 …）).
    whistles: Vec<(String, String)>,
    /// Where the case is: street › community › compound › building, and the reporter's address.
    place: Place,
    /// The crumb back to the list this person may open: (href, label) — the board, or for a
    /// resident their own reports (the board would answer 403).
    crumb: (&'static str, &'static str),
    /// The case's grid drawn by the server, with its point when it has one.
    map_svg: String,
    /// `geo:` link for the phone's map app (导航), and the point as text, when located.
    geo: Option<(String, String)>,
    /// The point lies outside the case's grid (reported with a grid chosen by hand).
    point_outside: bool,
}

/// What the page shows for a question the reporter left blank (or was not asked: the public page
/// asks none), so a handler sees the category has the question.
const UNANSWERED: &str = "未填写";

/// A case's answers, labelled by its category's questions (choices by their names): every
/// question in order, then any stored answer whose question the district has since removed.
fn labelled_answers(fields: &[crate::cases::attributes::Field], stored: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    let name_of = |f: Option<&crate::cases::attributes::Field>, key: &str| {
        f.and_then(|f| f.values.iter().find(|c| c.key == key))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| key.to_string())
    };
    let text = |f: Option<&crate::cases::attributes::Field>, value: &serde_json::Value| match value {
        serde_json::Value::String(s) => name_of(f, s),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .map(|k| name_of(f, k))
            .collect::<Vec<_>>()
            .join("、"),
        other => other.to_string(),
    };
    let mut out: Vec<(String, String)> = fields
        .iter()
        .map(|f| {
            let answer = match v.get(&f.code) {
                Some(x) => text(Some(f), x),
                None => String::new(),
            };
            let answer = if answer.trim().is_empty() { UNANSWERED.to_string() } else { answer };
            (f.description.clone(), answer)
        })
        .collect();
    if let Some(obj) = v.as_object() {
        for (code, x) in obj {
            if !fields.iter().any(|f| &f.code == code) {
                out.push((code.clone(), text(None, x)));
            }
        }
    }
    out
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
        "alarm" => "设备再次告警",
        "route" => "智能归类",
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
    let (row, ctx) = crate::cases::service::load_visible(s, p, id).await?;
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
    let redispatch = row.status() == Status::Dispatched;
    candidates.push((
        Action::Dispatch { unit: nil },
        form("dispatch", if redispatch { "改派" } else { "派遣" }, None, true, false, redispatch),
    ));
    // Not sent to a unit: the answering grid handles it itself (小事不出格).
    let start = if row.unit_id.is_none() {
        "本级自行处置"
    } else {
        "开始处置"
    };
    candidates.push((Action::Start, form("start", start, None, false, false, false)));
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
    // A dispatch form is offered if the caller may send the case to some unit (a compound, only
    // to its property company); the exact unit is checked again on submit.
    let may_do = |a: &Action| match a {
        Action::Dispatch { .. } => {
            permissions::may(p, &v, &Action::Dispatch { unit: Uuid::from_u128(1) })
                || v.property_company
                    .is_some_and(|u| permissions::may(p, &v, &Action::Dispatch { unit: u }))
        }
        _ => permissions::may(p, &v, a),
    };
    let actions = candidates
        .into_iter()
        .filter(|(a, _)| may_do(a) && workflow::apply(&state, a).is_ok())
        .map(|(_, f)| f)
        .collect::<Vec<_>>();
    let needs_units = actions.iter().any(|a| a.needs_unit);
    let api = crate::cases::api::case_json(s, &row, p).await?;
    let now = crate::db::now_ms();
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    // The district's categories once: this case's questions and default unit, and the name of a
    // related case's category.
    let all_categories = categories::list(&s.db, &row.district).await?;
    let category = all_categories.iter().find(|c| c.code == row.category_code);
    let fields = category.map(|x| x.fields()).unwrap_or_default();
    let place = place::describe(&s.db, &row.district, &row.grid_code, &row.description).await?;
    let point = row.lat.zip(row.lng);
    let (map_svg, point_outside) = match crate::grid::store::get(&s.db, &row.grid_code).await? {
        Some(g) => {
            // A building is shown inside its compound, among the other buildings; a larger grid
            // with its own children. Either way the handler sees which way to walk.
            let around = match (&g.parent_code, g.level) {
                (Some(parent), 5) => crate::grid::store::get(&s.db, parent).await?,
                _ => None,
            };
            let others = crate::grid::store::children(&s.db, around.as_ref().unwrap_or(&g).code.as_str(), 200, 0).await?;
            let outside = point.is_some_and(|(lat, lng)| !crate::grid::map::holds(&g, lat, lng));
            (crate::grid::map::point_map_svg(&g, around.as_ref(), &others, point), outside)
        }
        None => (String::new(), false),
    };
    let geo = point.map(|(lat, lng)| {
        let pin = format!("{} {}", api.category.name, place.short_label());
        (place::geo_uri(lat, lng, &pin), format!("{lat:.6}, {lng:.6}"))
    });
    let html = DetailPage {
        whistles: api
            .whistles
            .iter()
            .map(|w| {
                let at = |s: &str| {
                    s.parse::<jiff::Timestamp>()
                        .map(|t| short_time(t.as_millisecond()))
                        .unwrap_or_default()
                };
                let state = match &w.acknowledged_at {
                    Some(a) => format!("已报到 {}", at(a)),
                    None => format!("待报到（时限 {}）", at(&w.due_at)),
                };
                (w.unit.name.clone(), state)
            })
            .collect(),
        answers: labelled_answers(&fields, &row.attributes),
        place,
        map_svg,
        geo,
        point_outside,
        crumb: if super::board::sees_board(p) {
            ("/console/cases", "案件")
        } else {
            ("/console/cases?mine=1", "我的反映")
        },
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
            let default_unit = category.and_then(|x| x.default_unit_id);
            dispatch_units(s, &p.district, default_unit, v.property_company, |u| {
                permissions::may(p, &v, &Action::Dispatch { unit: u })
            })
            .await?
        } else {
            Vec::new()
        },
        version: row.version,
        related: match row.merged_into.or(row.duplicate_of) {
            Some(other) => store::get(&s.db, other).await?.map(|o| {
                let category = all_categories
                    .iter()
                    .find(|c| c.code == o.category_code)
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                (o.id, o.tracking_code, category, short_time(o.reported_at))
            }),
            None => None,
        },
        can_merge: permissions::may(p, &v, &Action::Accept) && matches!(row.status(), Status::Reported | Status::Accepted),
        actions,
        notice,
        error,
        c: api,
    };
    Ok((status, html).into_response())
}

#[derive(Deserialize)]
pub(super) struct DetailQuery {
    created: Option<String>,
    done: Option<String>,
}

pub(super) async fn detail(State(s): State<CasesState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<DetailQuery>) -> PageResult {
    let notice = q
        .created
        .map(|_| "已上报，可凭编号跟踪办理进度".to_string())
        .or(q.done.map(|a| format!("已{}", action_label_of(&a))));
    render_detail(&s, &c, id, notice, None).await
}

#[derive(Deserialize)]
pub(super) struct ActForm {
    csrf: String,
    action: String,
    version: Option<i64>,
    note: Option<String>,
    unit: Option<String>,
    rating: Option<String>,
}

pub(super) async fn act(State(s): State<CasesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
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
    match crate::cases::service::act_as(&s, &c.principal, id, &action, f.version).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/cases/{id}?done={}", f.action)).into_response()),
        Err(e) if matches!(e.status, StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY) => {
            render_detail(&s, &c, id, None, Some(e.message)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
pub(super) struct MergeForm {
    csrf: String,
    into: Uuid,
}

pub(super) async fn merge_form(State(s): State<CasesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<MergeForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    match crate::cases::service::merge_as(&s, &c.principal, id, f.into).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/cases/{id}?done=merge")).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => render_detail(&s, &c, id, None, Some(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}
