//! Public pages, no login: the grid page `/g/{code}` (who answers for this grid, up to the street)
//! with the residents' report form, and tracking a case by its code (/track) with the rating.

use super::{short_time, status_class};
use crate::audit::Actor;
use crate::cases::CasesState;
use crate::cases::service::{NewCase, Reporter, submit};
use crate::cases::workflow::{Action, Rating, Status};
use crate::cases::{categories, store as cases};
use crate::error::AppError;
use crate::grid::rules;
use crate::grid::store::{self as grids, Contact, GridRow};
use crate::web::extract::Path;
use crate::web::pages::{PageError, PageResult, url_encode};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

pub struct PublicLevel {
    name: String,
    label: &'static str,
    contacts: Vec<Contact>,
}

#[derive(Template, WebTemplate)]
#[template(path = "public_grid.html")]
struct PublicPage {
    name: String,
    code: String,
    kind_label: &'static str,
    chain: Vec<PublicLevel>,
    key: String,
    categories: Vec<(String, String)>,
    error: Option<String>,
    description: String,
    phone: String,
}

/// Public, no login: who answers for this grid and how to reach them, up the chain to the street.
pub async fn public_page(State(s): State<CasesState>, Path(code): Path<String>) -> PageResult {
    render_public(&s, &code, None, String::new(), String::new()).await
}

/// The public grid page, with the report form (re-shown with an error and the input kept).
pub async fn render_public(s: &CasesState, code: &str, error: Option<String>, description: String, phone: String) -> PageResult {
    let g = grids::get(&s.db, code).await?.ok_or_else(|| AppError::not_found("网格"))?;
    let chain = grids::chain(&s.db, &g.code).await?;
    // From this node up to the street office; the district's own leaders are not a help line.
    let up: Vec<GridRow> = chain.into_iter().filter(|x| x.level >= 2).rev().collect();
    let codes: Vec<String> = up.iter().map(|x| x.code.clone()).collect();
    let mut contacts = grids::contacts(&s.db, &codes).await?;
    let chain = up
        .into_iter()
        .map(|x| PublicLevel {
            label: rules::kind_label(&x.kind),
            contacts: contacts.remove(&x.code).unwrap_or_default(),
            name: x.name,
        })
        .collect();
    let categories = crate::cases::categories::list(&s.db, &g.district)
        .await?
        .into_iter()
        .filter(|c| c.is_leaf() && c.active && c.kind == "community")
        .map(|c| (c.code, c.name))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = PublicPage {
        name: g.name,
        code: g.code,
        kind_label: rules::kind_label(&g.kind),
        chain,
        key: crate::db::new_id().to_string(),
        categories,
        error,
        description,
        phone,
    };
    Ok((status, page).into_response())
}

#[derive(Deserialize)]
pub(super) struct PublicForm {
    key: String,
    category: String,
    description: String,
    phone: String,
}

/// A resident reports from the public grid page, with no account.
pub(super) async fn public_report(State(s): State<CasesState>, Path(code): Path<String>, Form(f): Form<PublicForm>) -> PageResult {
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
        Err(e) if e.status.is_client_error() => render_public(&s, &code, Some(e.message), f.description, f.phone).await,
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
pub(super) struct TrackQuery {
    code: Option<String>,
    new: Option<String>,
}

pub(super) async fn track_form(Query(q): Query<TrackQuery>) -> PageResult {
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

pub(super) async fn track(State(s): State<CasesState>, Path(code): Path<String>, Query(q): Query<TrackQuery>) -> PageResult {
    let notice = q.new.map(|_| "已收到您的反映。请记下查询码，随时查看办理进度。".to_string());
    render_track(&s, &code, notice, None).await
}

#[derive(Deserialize)]
pub(super) struct RateForm {
    rating: String,
}

/// Rating by tracking code: the code is what a resident without an account holds.
pub(super) async fn track_rate(State(s): State<CasesState>, Path(code): Path<String>, Form(f): Form<RateForm>) -> PageResult {
    let row = cases::by_tracking_code(&s.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found("反映"))?;
    if row.reporter_id.is_some() {
        return Err(AppError::forbidden().into());
    }
    let rating: Rating =
        serde_json::from_value(serde_json::Value::String(f.rating)).map_err(|_| AppError::invalid("invalid_rating", "请选择评价"))?;
    match cases::act(&s.db, &s.hooks, Actor::System("居民"), &row, &Action::Rate { rating }, None, 0).await {
        Ok(_) => render_track(&s, &code, Some("感谢您的评价".into()), None).await,
        Err(e) if e.status == StatusCode::CONFLICT => render_track(&s, &code, None, Some(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}
