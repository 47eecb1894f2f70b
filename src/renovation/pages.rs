//! Renovation pages (老旧小区改造): the list with each project's phase and consultation rate and the
//! create form, and a project's page (phase line, plan versions, the round's tally per building,
//! the building head's quick form, the linked cases and the problem form).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

use super::RenovationState;
use super::rules::{PHASES, Phase, View};
use super::service::{self, Loaded};
use super::store;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::time::{day_ms, when_ms};
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, page_number, pager};
use crate::web::session::{Console, check_csrf};

pub struct Line {
    pub id: Uuid,
    pub title: String,
    pub phase: &'static str,
    pub phase_key: &'static str,
    pub compounds: String,
    pub rate: String,
    pub answered: i64,
    pub households: i64,
}

pub struct Choice {
    pub code: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "renovation.html")]
struct ListPage {
    chrome: Chrome,
    lines: Vec<Line>,
    total: i64,
    pager: String,
    can_create: bool,
    compounds: Vec<Choice>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
    grid: Option<String>,
}

/// The compounds a creator may choose: those under their community-or-above posts (at most 300).
async fn compound_choices(s: &RenovationState, c: &Console) -> AppResult<Vec<Choice>> {
    let mut out = Vec::new();
    for post in c.principal.posts.iter().filter(|x| x.role.is_grid_role()) {
        let root = post.grid_code.clone().unwrap_or_else(|| c.principal.district.clone());
        if !post.role.grid_level().is_some_and(super::rules::manages) {
            continue;
        }
        let mut frontier = vec![root];
        while let Some(code) = frontier.pop() {
            for g in crate::grid::store::children(&s.db, &code, 300, 0).await? {
                if g.level == 4 {
                    out.push(Choice {
                        code: g.code,
                        name: g.name,
                    });
                } else if g.level < 4 {
                    frontier.push(g.code);
                }
                if out.len() >= 300 {
                    return Ok(out);
                }
            }
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out.dedup_by(|a, b| a.code == b.code);
    Ok(out)
}

async fn render_list(s: &RenovationState, c: &Console, q: &ListQuery, error: Option<AppError>) -> PageResult {
    let p = &c.principal;
    let page = page_number(q.page);
    let per = 20;
    let node = service::list_node(&s.db, p, q.grid.as_deref()).await?;
    let (rows, total) = store::list(&s.db, &p.district, &node, per, (page - 1) * per).await?;
    let mut lines = Vec::new();
    let mut all_codes = Vec::new();
    let mut per_project = Vec::new();
    for r in rows {
        let t = service::current_tally(&s.db, r.id).await?;
        let codes = store::compounds(&s.db, r.id).await?;
        all_codes.extend(codes.iter().cloned());
        per_project.push((r, t, codes));
    }
    let names = crate::grid::store::names(&s.db, &p.district, &all_codes).await?;
    for (r, t, codes) in per_project {
        let phase = Phase::parse(&r.phase).unwrap_or(Phase::Planning);
        lines.push(Line {
            id: r.id,
            title: r.title,
            phase: phase.label(),
            phase_key: phase.as_str(),
            compounds: codes
                .iter()
                .map(|c| names.get(c).cloned().unwrap_or_else(|| c.clone()))
                .collect::<Vec<_>>()
                .join("、"),
            rate: t.overall.rate_text(),
            answered: t.overall.answered,
            households: t.overall.households,
        });
    }
    let can_create = p
        .posts
        .iter()
        .any(|x| x.role.is_grid_role() && x.role.grid_level().is_some_and(super::rules::manages));
    let status = error.as_ref().map(|e| e.status).unwrap_or(axum::http::StatusCode::OK);
    let page = ListPage {
        chrome: Chrome::new(c, "老旧小区改造", "councils"),
        lines,
        total,
        pager: pager("/console/renovation", page, per, total),
        can_create,
        compounds: if can_create { compound_choices(s, c).await? } else { Vec::new() },
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

async fn list_page(State(s): State<RenovationState>, c: Console, Query(q): Query<ListQuery>) -> PageResult {
    render_list(&s, &c, &q, None).await
}

#[derive(Deserialize, Default)]
struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    compound: String,
    #[serde(default)]
    compound2: String,
    #[serde(default)]
    compound3: String,
}

async fn create_page(State(s): State<RenovationState>, c: Console, Form(f): Form<CreateForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let input = service::NewProject {
        title: f.title,
        summary: f.summary,
        compounds: [f.compound, f.compound2, f.compound3]
            .into_iter()
            .filter(|x| !x.trim().is_empty())
            .collect(),
    };
    match service::create(&s.db, &c.principal, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/console/renovation/{id}?msg=created")).into_response()),
        Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => {
            render_list(&s, &c, &ListQuery { page: None, grid: None }, Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct Step {
    pub label: &'static str,
    pub state: &'static str,
    pub when: String,
}

pub struct FileView {
    pub url: String,
    pub name: String,
    pub size: String,
}

pub struct PlanView {
    pub files: Vec<FileView>,
    pub version: i64,
    pub body: String,
    pub published: bool,
    pub by: String,
    pub when: String,
}

pub struct BuildingLine {
    pub code: String,
    pub name: String,
    pub households: i64,
    pub answered: i64,
    pub agree: i64,
    pub disagree: i64,
    pub suggestions: i64,
    pub rate: String,
}

pub struct HouseholdChoice {
    pub id: Uuid,
    pub label: String,
    pub view: String,
}

pub struct CaseLine {
    pub id: Uuid,
    pub tracking_code: String,
    pub description: String,
    pub status: String,
    pub when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "renovation_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: Uuid,
    title: String,
    summary: String,
    phase: &'static str,
    next: Option<(&'static str, &'static str)>,
    compounds: String,
    steps: Vec<Step>,
    plans: Vec<PlanView>,
    manages: bool,
    round: Option<(i64, i64, bool)>,
    consultation: bool,
    overall: BuildingLine,
    buildings: Vec<BuildingLine>,
    /// The buildings the caller may record in.
    my_buildings: Vec<Choice>,
    building: String,
    households: Vec<HouseholdChoice>,
    cases: Vec<CaseLine>,
    notice: &'static str,
    error: Option<String>,
}

#[derive(Deserialize)]
struct DetailQuery {
    msg: Option<String>,
    err: Option<String>,
    building: Option<String>,
}

fn notice_of(msg: Option<&str>) -> &'static str {
    match msg {
        Some("created") => "项目已创建",
        Some("advanced") => "已进入下一阶段",
        Some("plan") => "方案新版本已保存",
        Some("published") => "方案已公示",
        Some("opened") => "已发起征求意见",
        Some("closed") => "本轮征求意见已结束",
        Some("recorded") => "意见已记录",
        Some("reported") => "问题已上报为案件",
        Some("uploaded") => "文件已上传",
        _ => "",
    }
}

fn error_of(err: Option<&str>) -> Option<String> {
    let m = match err? {
        "not_next_phase" => "只能进入下一阶段",
        "phase_needs_street" => "这一步须由街道确认",
        "invalid_plan" => "方案内容应为2至5000字",
        "not_in_consultation" => "只有在「征求意见」阶段才能发起征求意见",
        "no_published_plan" => "请先公示一个设计方案版本",
        "round_open" => "已有一轮征求意见正在进行",
        "no_open_round" => "没有正在进行的征求意见",
        "invalid_view" => "请选择同意、不同意或有建议",
        "invalid_note" => "建议内容应为2至500字",
        "invalid_description" => "问题描述应为2至2000字",
        "unknown_category" => "请选择问题类别",
        "invalid_file" => "只接受 PDF、JPEG、PNG 或 WebP 格式的文件",
        "too_large" => "文件不能为空，且不超过10MB",
        _ => "操作未完成",
    };
    Some(m.into())
}

fn building_line(code: String, name: String, t: &super::rules::Tally) -> BuildingLine {
    BuildingLine {
        code,
        name,
        households: t.households,
        answered: t.answered,
        agree: t.agree,
        disagree: t.disagree,
        suggestions: t.suggestions,
        rate: t.rate_text(),
    }
}

async fn detail_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<DetailQuery>) -> PageResult {
    let p = &c.principal;
    let l = service::load(&s.db, p, id).await?;
    let now = now_ms();
    let phase = l.phase();
    let history = store::phases(&s.db, id).await?;
    let steps = PHASES
        .iter()
        .map(|x| {
            let at = history.iter().find(|h| h.phase == x.as_str());
            Step {
                label: x.label(),
                state: if *x == phase {
                    "now"
                } else if at.is_some() {
                    "done"
                } else {
                    "todo"
                },
                when: at.map(|h| day_ms(h.changed_at)).unwrap_or_default(),
            }
        })
        .collect();
    let t = service::current_tally(&s.db, id).await?;
    let mut files = super::files::list(&s.db, id).await?;
    let mut codes: Vec<String> = l.compounds.clone();
    codes.extend(t.buildings.iter().map(|(b, _)| b.clone()));
    let names = crate::grid::store::names(&s.db, &p.district, &codes).await?;
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_string());
    let open = t.round.as_ref().is_some_and(|r| r.closed_at.is_none());
    let my_buildings: Vec<Choice> = if open {
        t.buildings
            .iter()
            .filter(|(b, _)| service::covers(p, b))
            .map(|(b, _)| Choice {
                code: b.clone(),
                name: name(b),
            })
            .collect()
    } else {
        Vec::new()
    };
    let building = q
        .building
        .clone()
        .filter(|b| my_buildings.iter().any(|m| &m.code == b))
        .or_else(|| (my_buildings.len() == 1).then(|| my_buildings[0].code.clone()))
        .unwrap_or_default();
    let households = if building.is_empty() {
        Vec::new()
    } else {
        store::building_households(&s.db, &building, t.round.as_ref().map(|r| r.id))
            .await?
            .into_iter()
            .map(|h| HouseholdChoice {
                id: h.id,
                label: format!("{}单元 {}", h.unit_no, h.room),
                view: h.view.as_deref().and_then(View::parse).map_or("未征求", |v| v.label()).into(),
            })
            .collect()
    };
    let page = DetailPage {
        chrome: Chrome::new(&c, l.project.title.clone(), "councils"),
        id,
        title: l.project.title.clone(),
        summary: l.project.summary.clone(),
        phase: phase.label(),
        next: phase.next().map(|n| (n.as_str(), n.label())),
        compounds: l.compounds.iter().map(|c| name(c)).collect::<Vec<_>>().join("、"),
        steps,
        plans: store::plans(&s.db, id)
            .await?
            .into_iter()
            .rev()
            .map(|x| PlanView {
                files: files
                    .extract_if(.., |f| f.version == x.version)
                    .map(|f| FileView {
                        url: format!("/api/v1/renovation/projects/{id}/files/{}", f.sha256),
                        name: f.name,
                        size: if f.size >= 1024 * 1024 {
                            format!("{:.1} MB", f.size as f64 / 1_048_576.0)
                        } else {
                            format!("{} KB", (f.size + 1023) / 1024)
                        },
                    })
                    .collect(),
                version: x.version,
                body: x.body,
                published: x.published,
                by: x.created_by_name,
                when: when_ms(x.created_at, now),
            })
            .collect(),
        manages: l.manage.is_some(),
        round: t.round.as_ref().map(|r| (r.number, r.plan_version, r.closed_at.is_none())),
        consultation: phase == Phase::Consultation,
        overall: building_line(String::new(), "合计".into(), &t.overall),
        buildings: t.buildings.iter().map(|(b, x)| building_line(b.clone(), name(b), x)).collect(),
        my_buildings,
        building,
        households,
        cases: store::cases(&s.db, id)
            .await?
            .into_iter()
            .map(|k| CaseLine {
                id: k.id,
                tracking_code: k.tracking_code,
                description: k.description,
                status: crate::cases::workflow::Status::parse(&k.status).map_or("", |x| x.label()).into(),
                when: when_ms(k.reported_at, now),
            })
            .collect(),
        notice: notice_of(q.msg.as_deref()),
        error: error_of(q.err.as_deref()),
    };
    Ok(page.into_response())
}

#[derive(Deserialize, Default)]
struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    household: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    building: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    description: String,
}

/// Back to the project's page with a note, or the refusal's code for the ones a form can cause.
fn back(id: Uuid, extra: &str, r: AppResult<&'static str>) -> PageResult {
    match r {
        Ok(msg) => Ok(Redirect::to(&format!("/console/renovation/{id}?msg={msg}{extra}")).into_response()),
        Err(e) if matches!(e.status.as_u16(), 409 | 413 | 415 | 422) || e.code == "phase_needs_street" => {
            Ok(Redirect::to(&format!("/console/renovation/{id}?err={}{extra}", e.code)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn loaded(s: &RenovationState, c: &Console, id: Uuid, csrf: &str) -> AppResult<Loaded> {
    check_csrf(c, csrf)?;
    service::load(&s.db, &c.principal, id).await
}

async fn advance_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    back(id, "", service::advance(&s.db, &c.principal, &l, &f.to).await.map(|_| "advanced"))
}

async fn plan_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    back(id, "", service::add_plan(&s.db, &c.principal, &l, &f.text).await.map(|_| "plan"))
}

async fn publish_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    let version = super::api::parse_version(&f.version)?;
    back(
        id,
        "",
        service::publish(&s.db, &c.principal, &l, version).await.map(|_| "published"),
    )
}

async fn open_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    back(id, "", service::open_round(&s.db, &c.principal, &l).await.map(|_| "opened"))
}

async fn close_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    back(id, "", service::close_round(&s.db, &c.principal, &l).await.map(|_| "closed"))
}

async fn view_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    let household = Uuid::parse_str(f.household.trim()).map_err(|_| AppError::invalid("invalid_household", "请选择住户"))?;
    let extra = if f.building.chars().all(|c| c.is_ascii_digit()) && !f.building.is_empty() {
        format!("&building={}#record", f.building)
    } else {
        String::new()
    };
    let input = service::NewView {
        household,
        view: f.view,
        note: f.note,
    };
    back(
        id,
        &extra,
        service::record_view(&s.db, &c.principal, &l, &input).await.map(|_| "recorded"),
    )
}

async fn problem_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    let l = loaded(&s, &c, id, &f.csrf).await?;
    let input = service::NewProblem {
        category: f.category,
        description: f.description,
        grid: None,
        lat: None,
        lng: None,
    };
    back(id, "", service::report(&s, &c.principal, &l, &input).await.map(|_| "reported"))
}

/// A plan file from the page's form (multipart: csrf, version, file).
async fn file_page(State(s): State<RenovationState>, c: Console, Path(id): Path<Uuid>, req: axum::extract::Request) -> PageResult {
    use axum::extract::FromRequest;
    let unreadable = || AppError::invalid("invalid_form", "表单无法读取，请重试");
    let mut parts = axum::extract::Multipart::from_request(req, &()).await.map_err(|_| unreadable())?;
    let (mut csrf, mut version, mut name, mut bytes) = (String::new(), String::new(), String::new(), Vec::new());
    while let Some(part) = parts.next_field().await.map_err(|_| unreadable())? {
        let field = part.name().unwrap_or_default().to_string();
        let file_name = part.file_name().map(str::to_string);
        let data = part.bytes().await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(axum::http::StatusCode::PAYLOAD_TOO_LARGE, "too_large", "文件不能为空，且不超过10MB")
            } else {
                unreadable()
            }
        })?;
        match field.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&data).into_owned(),
            "version" => version = String::from_utf8_lossy(&data).into_owned(),
            "file" => {
                name = file_name.unwrap_or_default();
                bytes = data.to_vec();
            }
            _ => {}
        }
    }
    let l = loaded(&s, &c, id, &csrf).await?;
    let version = super::api::parse_version(&version)?;
    let r = super::files::add(&s.db, &s.cases.data_dir, &c.principal, &l, version, &name, &bytes).await;
    back(id, "", r.map(|_| "uploaded"))
}

pub fn routes() -> axum::Router<RenovationState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/console/renovation", get(list_page).post(create_page))
        .route("/console/renovation/{id}", get(detail_page))
        .route("/console/renovation/{id}/phase", post(advance_page))
        .route("/console/renovation/{id}/plans", post(plan_page))
        .route("/console/renovation/{id}/publish", post(publish_page))
        .route(
            "/console/renovation/{id}/files",
            post(file_page).layer(axum::extract::DefaultBodyLimit::max(super::files::MAX_BYTES + 64 * 1024)),
        )
        .route("/console/renovation/{id}/rounds", post(open_page))
        .route("/console/renovation/{id}/close", post(close_page))
        .route("/console/renovation/{id}/views", post(view_page))
        .route("/console/renovation/{id}/problems", post(problem_page))
}
