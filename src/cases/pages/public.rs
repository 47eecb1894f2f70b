//! Public pages, no login: the grid page `/g/{code}` (who answers for this grid, up to the street)
//! with the residents' report form, and tracking a case by its code (/track) with the rating.

use super::report::{MAX_PHOTOS, field_of, parse_location, read_report, store_photos};
use super::{short_time, status_class};
use crate::audit::Actor;
use crate::cases::CasesState;
use crate::cases::service::{NewCase, Reporter, submit};
use crate::cases::workflow::{Action, Rating, Status};
use crate::cases::{categories, store as cases};
use crate::error::AppError;
use crate::grid::rules;
use crate::grid::store::{self as grids, Contact, GridRow};
use crate::web::elder::Elder;
use crate::web::extract::Path;
use crate::web::pages::{PageError, PageResult, url_encode};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

pub struct PublicLevel {
    name: String,
    label: &'static str,
    contacts: Vec<Contact>,
}

/// The property company (物业) serving the compound, shown with its contact.
#[derive(Template, WebTemplate)]
#[template(path = "public_grid.html")]
struct PublicPage {
    /// e.g. 幸福小区 1号楼 · 人和街道
    title: String,
    code: String,
    kind_label: &'static str,
    chain: Vec<PublicLevel>,
    property: Option<crate::grid::CompanyCard>,
    /// Sections of features built on the case loop (`hooks::PublicSection`), as HTML.
    sections: Vec<String>,
    key: String,
    groups: Vec<categories::ChoiceGroup>,
    max_photos: usize,
    /// Each category's extra questions: (category, picked, the questions).
    field_sets: Vec<(String, bool, Vec<super::report::FieldView>)>,
    form: PublicForm,
    error: Option<String>,
    /// The field the error is about (`report::field_of`).
    error_field: &'static str,
    /// 长辈版, and where its switch returns.
    elder: Elder,
}

/// What a resident typed, kept when the form is shown again.
#[derive(Default)]
pub(super) struct PublicForm {
    category: String,
    description: String,
    phone: String,
    lat: String,
    lng: String,
    /// Answers to the category's questions, `attr.{category}.{code}[.{choice}]`.
    extra: std::collections::BTreeMap<String, String>,
}

/// A grid page's title from its chain (district first): the compound and the building, then the
/// street, so a resident sees at once the page is about their own building.
fn public_title(chain: &[(i64, &str)]) -> String {
    let Some(&(level, name)) = chain.last() else { return String::new() };
    let place = if level >= 4 {
        chain.iter().filter(|(l, _)| *l >= 4).map(|(_, n)| *n).collect::<Vec<_>>().join(" ")
    } else {
        name.to_string()
    };
    match chain.iter().find(|(l, _)| *l == 2) {
        Some((_, street)) if level > 2 => format!("{place} · {street}"),
        _ => place,
    }
}

/// The property company the compound names (`grids.property_company_id`), with its contact, as the
/// registry's directory names it for the grid.
async fn property_of(s: &CasesState, compound: &GridRow) -> Result<Option<crate::grid::CompanyCard>, AppError> {
    use crate::grid::UnitDirectory;
    let Some(id) = compound.property_company_id else { return Ok(None) };
    crate::registry::units::Directory
        .property_company(&s.db, &compound.district, id)
        .await
}

/// Public, no login: who answers for this grid and how to reach them, up the chain to the street.
pub async fn public_page(State(s): State<CasesState>, Path(code): Path<String>, elder: Elder) -> PageResult {
    render_public(&s, &code, None, PublicForm::default(), elder.on).await
}

/// The public grid page, with the report form (re-shown with an error and the input kept).
async fn render_public(s: &CasesState, code: &str, error: Option<AppError>, form: PublicForm, elder_on: bool) -> PageResult {
    let g = grids::get(&s.db, code).await?.ok_or_else(|| AppError::not_found("网格"))?;
    let chain = grids::chain(&s.db, &g.code).await?;
    let title = public_title(&chain.iter().map(|x| (x.level, x.name.as_str())).collect::<Vec<_>>());
    let property = match chain.iter().find(|x| x.level == 4) {
        Some(compound) => property_of(s, compound).await?,
        None => None,
    };
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
    let mut sections = Vec::new();
    for hook in &s.hooks.public {
        sections.extend(hook.render(&s.db, &g).await?);
    }
    let all = categories::list(&s.db, &g.district).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = PublicPage {
        title,
        code: g.code,
        kind_label: rules::kind_label(&g.kind),
        chain,
        property,
        sections,
        key: crate::db::new_id().to_string(),
        field_sets: all
            .iter()
            .filter(|x| x.is_leaf() && x.kind == "community" && !x.fields().is_empty())
            .map(|x| {
                let views = super::report::field_views(&x.code, &x.fields(), &form.extra);
                (x.code.clone(), x.code == form.category, views)
            })
            .collect(),
        groups: categories::choice_groups(&all, |c| c.kind == "community"),
        max_photos: MAX_PHOTOS,
        form,
        error_field: error.as_ref().map_or("", |e| field_of(e.code)),
        error: error.map(|e| e.message),
        elder: Elder {
            on: elder_on,
            here: format!("/g/{}", url_encode(code)),
        },
    };
    Ok((status, page).into_response())
}

/// A resident reports from the public grid page, with no account: the fields, the phone's
/// position if they shared it, and photos, in one POST.
pub(super) async fn public_report(
    State(s): State<CasesState>,
    Path(code): Path<String>,
    client: crate::web::client::ClientAddr,
    elder: Elder,
    req: Request,
) -> PageResult {
    let g = grids::get(&s.db, &code).await?.ok_or_else(|| AppError::not_found("网格"))?;
    let address = client.throttle_key();
    if let Err(e) = s.public_reports.attempt(address, &g.code) {
        let page = render_public(&s, &code, Some(e), PublicForm::default(), elder.on).await?;
        return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
    }
    let report = public_report_counted(&s, &g, &code, req, elder.on).await;
    // Only a report that was filed counts.
    if !matches!(&report, Ok(r) if r.status().is_redirection()) {
        s.public_reports.forgive(address, &g.code);
    }
    report
}

async fn public_report_counted(s: &CasesState, g: &GridRow, code: &str, req: Request, elder_on: bool) -> PageResult {
    let (s, code) = (s.clone(), code.to_string());
    let mut body = match read_report(req).await {
        Ok(b) => b,
        Err(e) => return render_public(&s, &code, Some(e), PublicForm::default(), elder_on).await,
    };
    let key = body.take("key");
    let mut form = PublicForm {
        category: body.take("category"),
        description: body.take("description"),
        phone: body.take("phone"),
        lat: body.take("lat"),
        lng: body.take("lng"),
        extra: std::mem::take(&mut body.fields)
            .into_iter()
            .filter(|(k, _)| k.starts_with("attr."))
            .collect(),
    };
    if let Some(e) = body.refused.take() {
        return render_public(&s, &code, Some(e), form, elder_on).await;
    }
    let location = match parse_location(&form.lat, &form.lng) {
        Ok(l) => l,
        Err(e) => {
            (form.lat, form.lng) = (String::new(), String::new());
            return render_public(&s, &code, Some(e), form, elder_on).await;
        }
    };
    // The case is filed at this page's grid; a position is kept only when it lies in the same
    // district (a phone far away, or a spoofed one, is not a place in it).
    if let Some((lat, lng)) = location {
        let index = s.grid_index.get(&s.db).await?;
        if !index.locate_named(lat, lng).is_some_and(|(c, _)| c.starts_with(&g.district)) {
            (form.lat, form.lng) = (String::new(), String::new());
            let refused = AppError::invalid("outside_district", "当前位置不在本区范围内，已清除定位，请重新提交");
            return render_public(&s, &code, Some(refused), form, elder_on).await;
        }
    }
    let input = NewCase {
        category: form.category.clone(),
        description: form.description.clone(),
        lat: location.map(|l| l.0),
        lng: location.map(|l| l.1),
        grid: Some(g.code.clone()),
        source: Some("resident".into()),
        reported_at: None,
        attributes: Some(super::report::form_answers(&form.category, &form.extra)),
        private: None,
    };
    let key = Some(key.trim()).filter(|k| !k.is_empty() && k.len() <= 64);
    let who = Reporter::Public {
        district: &g.district,
        phone: &form.phone,
    };
    match submit(&s, who, &input, key).await {
        Ok((row, _)) => {
            store_photos(&s, Actor::System("居民"), row.id, &row.district, &body.photos).await?;
            Ok(Redirect::to(&format!("/track/{}?new=1", row.tracking_code)).into_response())
        }
        Err(e) if e.status.is_client_error() => render_public(&s, &code, Some(e), form, elder_on).await,
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
    /// The unit the case was dispatched to (承办单位), once it was.
    unit: String,
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
    /// The rating choices, most satisfied first: (value, stars, label).
    ratings: [(&'static str, &'static str, &'static str); 3],
    comment: String,
    /// 长辈版, and where its switch returns.
    elder: Elder,
}

const RATINGS: [(&str, &str, &str); 3] = [
    ("satisfied", "★★★", "满意"),
    ("basically_satisfied", "★★☆", "基本满意"),
    ("dissatisfied", "★☆☆", "不满意"),
];
/// A comment with a rating: a few sentences.
const MAX_COMMENT_CHARS: usize = 500;

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
        "alarm" => "设备再次告警",
        _ => "办理中",
    }
}

#[derive(Deserialize)]
pub(super) struct TrackQuery {
    code: Option<String>,
    new: Option<String>,
    rated: Option<String>,
}

pub(super) async fn track_form(Query(q): Query<TrackQuery>, elder: Elder) -> PageResult {
    if let Some(code) = q.code.map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty()) {
        return Ok(Redirect::to(&format!("/track/{}", url_encode(&code))).into_response());
    }
    Ok(TrackPage {
        title: String::new(),
        case: None,
        error: None,
        notice: None,
        ratings: RATINGS,
        comment: String::new(),
        elder: Elder {
            on: elder.on,
            here: "/track".into(),
        },
    }
    .into_response())
}

/// The track page; `refused` is a rating that was not taken (its status, why, and the comment
/// typed, kept for another try).
async fn render_track(
    s: &CasesState,
    code: &str,
    notice: Option<String>,
    refused: Option<(StatusCode, String, String)>,
    elder_on: bool,
) -> PageResult {
    let elder = Elder {
        on: elder_on,
        here: format!("/track/{}", url_encode(code)),
    };
    let Some(row) = cases::by_tracking_code(&s.db, code).await? else {
        let page = TrackPage {
            title: code.to_string(),
            case: None,
            error: Some("没有找到该查询码对应的反映，请核对后重试".into()),
            notice: None,
            ratings: RATINGS,
            comment: String::new(),
            elder,
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
    // The resident is told which unit answers for the case (a unit, never a person inside it).
    let unit = match row.unit_id {
        Some(u) => crate::registry::units::get(&s.db, u).await?.map(|x| x.name).unwrap_or_default(),
        None => String::new(),
    };
    // Residents see what was done, not who inside the government did it.
    let steps = cases::events(&s.db, row.id)
        .await?
        .into_iter()
        .map(|e| {
            let note = if e.action != "report" && cases::note_is_public(&e.action) {
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
        status: row.status_label(),
        description: row.description.clone(),
        grid,
        unit,
        reported: short_time(row.reported_at),
        due: short_time(row.due_at),
        rating: row.rating().map(Rating::label),
        steps,
        can_rate: row.status() == Status::Closed && row.rating.is_none() && row.reporter_id.is_none(),
    };
    let (status, error, comment) = match refused {
        Some((status, message, comment)) => (status, Some(message), comment),
        None => (StatusCode::OK, None, String::new()),
    };
    Ok((
        status,
        TrackPage {
            title: row.tracking_code,
            case: Some(view),
            error,
            notice,
            ratings: RATINGS,
            comment,
            elder,
        },
    )
        .into_response())
}

pub(super) async fn track(State(s): State<CasesState>, Path(code): Path<String>, Query(q): Query<TrackQuery>, elder: Elder) -> PageResult {
    let notice = if q.new.is_some() {
        Some("已收到您的反映。请记下查询码，随时查看办理进度。".to_string())
    } else {
        q.rated.map(|_| "感谢您的评价！".to_string())
    };
    render_track(&s, &code, notice, None, elder.on).await
}

#[derive(Deserialize)]
pub(super) struct RateForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

/// Rating by tracking code: the code is what a resident without an account holds. A rating
/// taken answers 303 to the track page, so refreshing it sends nothing again.
pub(super) async fn track_rate(State(s): State<CasesState>, Path(code): Path<String>, elder: Elder, Form(f): Form<RateForm>) -> PageResult {
    let row = cases::by_tracking_code(&s.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found("反映"))?;
    if row.reporter_id.is_some() {
        return Err(AppError::forbidden().into());
    }
    let Ok(rating) = serde_json::from_value::<Rating>(serde_json::Value::String(f.rating)) else {
        let refused = (StatusCode::UNPROCESSABLE_ENTITY, "请选择满意程度".to_string(), f.comment);
        return render_track(&s, &code, None, Some(refused), elder.on).await;
    };
    let comment = f.comment.trim();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        let refused = (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("评价内容不超过{MAX_COMMENT_CHARS}字"),
            f.comment.clone(),
        );
        return render_track(&s, &code, None, Some(refused), elder.on).await;
    }
    // The resident's words go on the timeline with the rating, in the rating's transaction.
    let note = Some(comment).filter(|c| !c.is_empty()).map(|c| format!("{}：{c}", rating.label()));
    let done = cases::act(&s.db, &s.hooks, Actor::System("居民"), &row, &Action::Rate { rating }, note, 0).await;
    match done {
        Ok(_) => Ok(Redirect::to(&format!("/track/{}?rated=1", url_encode(&row.tracking_code))).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => {
            render_track(&s, &code, None, Some((e.status, e.message, String::new())), elder.on).await
        }
        Err(e) => Err(PageError(e)),
    }
}
