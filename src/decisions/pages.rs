//! Decisions pages (业主表决): the list (staff: their subtree's; an owner: their compound's with
//! their units), one decision with its tally and both thresholds as progress, the owner's vote
//! buttons, the committee's paper-ballot entry, and the public result page (counts and areas only).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

use super::DecisionsState;
use super::rules::{self, Choice, Tally};
use super::service;
use super::store::{self, DecisionRow};
use crate::auth::Capability;
use crate::error::AppError;
use crate::time::format_ms;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, page_number, pager};
use crate::web::session::{Console, check_csrf};

/// A figure against its threshold, for a progress bar.
pub struct Bar {
    pub label: &'static str,
    /// "449.50 / 509.75 m²" or "4 / 5 户".
    pub text: String,
    /// Percent of the whole, 0–100, rounded down (display only; the rule itself is exact).
    pub percent: i64,
    /// The threshold's place on the bar and its words.
    pub line: i64,
    pub need: &'static str,
    pub met: bool,
}

fn percent(v: i64, of: i64) -> i64 {
    if of <= 0 { 0 } else { ((v as i128) * 100 / (of as i128)) as i64 }
}

pub struct TallyBars {
    pub participation: Vec<Bar>,
    pub approval: Vec<Bar>,
    pub participation_met: bool,
    pub approval_met: bool,
    pub passed: bool,
    pub rule: &'static str,
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
}

fn bars(t: &Tally) -> TallyBars {
    let (line, need, rule) = match t.rule {
        rules::Rule::ThreeQuarters => (75, "需四分之三以上", "双四分之三（第六至八项）"),
        rules::Rule::Majority => (50, "需过半数", "双过半（其他事项）"),
    };
    TallyBars {
        participation: vec![
            Bar {
                label: "参与表决的专有部分面积",
                text: format!("{} / {} 平方米", rules::format_area(t.part_area), rules::format_area(t.total_area)),
                percent: percent(t.part_area, t.total_area),
                line: 66,
                need: "需三分之二以上",
                met: t.participation_area_met,
            },
            Bar {
                label: "参与表决的业主人数",
                text: format!("{} / {} 人", t.part_owners, t.total_owners),
                percent: percent(t.part_owners, t.total_owners),
                line: 66,
                need: "需三分之二以上",
                met: t.participation_owners_met,
            },
        ],
        approval: vec![
            Bar {
                label: "同意的专有部分面积",
                text: format!("{} / {} 平方米", rules::format_area(t.yes_area), rules::format_area(t.part_area)),
                percent: percent(t.yes_area, t.part_area),
                line,
                need,
                met: t.approval_area_met,
            },
            Bar {
                label: "同意的业主人数",
                text: format!("{} / {} 人", t.yes_owners, t.part_owners),
                percent: percent(t.yes_owners, t.part_owners),
                line,
                need,
                met: t.approval_owners_met,
            },
        ],
        participation_met: t.participation_met(),
        approval_met: t.approval_met(),
        passed: t.passed(),
        rule,
        yes: t.yes_owners,
        no: t.no_owners,
        abstain: t.abstain_owners,
    }
}

fn status_label(d: &DecisionRow) -> (&'static str, &'static str) {
    match (d.status.as_str(), d.passed) {
        ("draft", _) => ("草稿", "grey"),
        ("open", _) => ("表决中", "info"),
        (_, Some(true)) => ("已通过", "ok"),
        _ => ("未通过", "warn"),
    }
}

pub struct Line {
    pub id: Uuid,
    pub compound: String,
    pub title: String,
    pub matter: String,
    pub state: &'static str,
    pub state_class: &'static str,
    pub window: String,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "decisions.html")]
struct ListPage {
    chrome: Chrome,
    lines: Vec<Line>,
    total: i64,
    pager: String,
    /// An owner: their units.
    my_units: Vec<(String, String)>,
    staff: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<i64>,
}

async fn line_of(s: &DecisionsState, d: DecisionRow) -> Result<Line, AppError> {
    let t = service::tally(&s.db, &d).await?;
    let (state, state_class) = status_label(&d);
    Ok(Line {
        id: d.id,
        compound: d.compound_code.clone(),
        title: d.title.clone(),
        matter: format!("第{}项 {}", d.matter, rules::matter_label(d.matter)),
        state,
        state_class,
        window: format!("{} 至 {}", format_ms(d.opens_at), format_ms(d.closes_at)),
        summary: format!(
            "参与 {}/{} 人、{} 平方米；同意 {} 人",
            t.part_owners,
            t.total_owners,
            rules::format_area(t.part_area),
            t.yes_owners
        ),
    })
}

async fn list_page(State(s): State<DecisionsState>, c: Console, Query(q): Query<ListQuery>) -> PageResult {
    let p = &c.principal;
    let page = page_number(q.page);
    let per = 20;
    let mut lines = Vec::new();
    let mut my_units = Vec::new();
    let roots = p.roots(Capability::ReadRegistry);
    let staff = !roots.is_empty();
    let mut total = 0;
    if let Some(root) = roots.first() {
        let (rows, n) = store::list(&s.db, &p.district, root, per, (page - 1) * per).await?;
        total = n;
        for d in rows {
            lines.push(line_of(&s, d).await?);
        }
    } else if let Some(me) = crate::registry::residents::of_account(&s.db, p.user_id).await? {
        let owned = store::units_of_owner(&s.db, me.id).await?;
        my_units = owned.iter().map(|u| (u.label.clone(), rules::format_area(u.area_centi))).collect();
        let mut compounds: Vec<&str> = owned.iter().map(|u| u.compound_code.as_str()).collect();
        compounds.dedup();
        for code in compounds {
            let (rows, _) = store::list(&s.db, &p.district, code, 100, 0).await?;
            for d in rows.into_iter().filter(|d| d.status != "draft") {
                lines.push(line_of(&s, d).await?);
                total += 1;
            }
        }
    } else {
        return Err(AppError::forbidden().into());
    }
    Ok(ListPage {
        chrome: Chrome::new(&c, "业主表决", "councils"),
        lines,
        total,
        pager: if staff {
            pager("/console/decisions", page, per, total)
        } else {
            String::new()
        },
        my_units,
        staff,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "decision_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: Uuid,
    compound: String,
    title: String,
    body: String,
    matter: String,
    state: &'static str,
    state_class: &'static str,
    window: String,
    voting: bool,
    tally: TallyBars,
    my_units: Vec<(String, String)>,
    my_vote: Option<&'static str>,
    manage: bool,
    can_open: bool,
    can_close: bool,
    notice: &'static str,
    error: Option<String>,
}

#[derive(Deserialize)]
struct DetailQuery {
    msg: Option<String>,
    err: Option<String>,
}

async fn detail_page(State(s): State<DecisionsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<DetailQuery>) -> PageResult {
    let p = &c.principal;
    let (d, mine) = service::visible(&s.db, p, id).await?;
    let shares = store::shares(&s.db, &d.compound_code).await?;
    let ballots = store::ballots(&s.db, d.id).await?;
    let t = service::tally_of(d.matter, &shares, &ballots);
    let my_vote = mine
        .first()
        .and_then(|u| ballots.iter().find(|b| b.owner_key == u.owner_key))
        .and_then(|b| Choice::parse(&b.choice))
        .map(Choice::label);
    let now = crate::db::now_ms();
    let (state, state_class) = status_label(&d);
    let manage = p.can(Capability::WriteRegistry, &d.compound_code);
    Ok(DetailPage {
        chrome: Chrome::new(&c, d.title.clone(), "councils"),
        id: d.id,
        compound: d.compound_code.clone(),
        title: d.title.clone(),
        body: d.body.clone(),
        matter: format!("第{}项 {}", d.matter, rules::matter_label(d.matter)),
        state,
        state_class,
        window: format!("{} 至 {}", format_ms(d.opens_at), format_ms(d.closes_at)),
        voting: d.status == "open" && now >= d.opens_at && now < d.closes_at,
        tally: bars(&t),
        my_units: mine.iter().map(|u| (u.label.clone(), rules::format_area(u.area_centi))).collect(),
        my_vote,
        manage,
        can_open: manage && d.status == "draft" && now < d.closes_at,
        can_close: manage && d.status == "open" && now >= d.closes_at,
        notice: match q.msg.as_deref() {
            Some("voted") => "已记录您的表决意见，表决期内可以修改",
            Some("paper") => "已录入纸质表决票",
            Some("opened") => "已开始表决",
            Some("closed") => "表决已结束，结果已公布",
            _ => "",
        },
        error: q.err.as_deref().map(|e| match e {
            "not_voting" => "该表决当前不在表决期内".to_string(),
            _ => "操作未完成，请重试".to_string(),
        }),
    }
    .into_response())
}

#[derive(Deserialize)]
struct VoteForm {
    csrf: String,
    choice: String,
}

fn back(id: Uuid, r: Result<&'static str, AppError>) -> PageResult {
    match r {
        Ok(msg) => Ok(Redirect::to(&format!("/console/decisions/{id}?msg={msg}")).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => Ok(Redirect::to(&format!("/console/decisions/{id}?err={}", e.code)).into_response()),
        Err(e) => Err(e.into()),
    }
}

async fn vote_page(State(s): State<DecisionsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<VoteForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    back(id, service::vote(&s.db, &c.principal, id, &f.choice).await.map(|_| "voted"))
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn open_page(State(s): State<DecisionsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    back(id, service::open(&s.db, &c.principal, id).await.map(|_| "opened"))
}

async fn close_page(State(s): State<DecisionsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    back(id, service::close(&s.db, &c.principal, id).await.map(|_| "closed"))
}

#[derive(Template, WebTemplate)]
#[template(path = "decision_paper.html")]
struct PaperPage {
    chrome: Chrome,
    id: Uuid,
    title: String,
    /// (label, area, whose: 开发商 / 业主).
    units: Vec<(String, String)>,
    error: Option<String>,
}

async fn paper_form(s: &DecisionsState, c: &Console, id: Uuid, error: Option<String>) -> PageResult {
    let p = &c.principal;
    let d = store::get(&s.db, &p.district, id)
        .await?
        .ok_or_else(|| AppError::not_found("表决"))?;
    if !p.can(Capability::WriteRegistry, &d.compound_code) {
        return Err(if p.has(Capability::WriteRegistry) {
            AppError::not_found("表决")
        } else {
            AppError::forbidden()
        }
        .into());
    }
    let units = store::units(&s.db, &d.compound_code)
        .await?
        .into_iter()
        .map(|u| {
            let whose = if u.developer {
                format!("（{}）", u.owner_name)
            } else {
                String::new()
            };
            (
                u.label.clone(),
                format!("{} · {} 平方米{whose}", u.label, rules::format_area(u.area_centi)),
            )
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        PaperPage {
            chrome: Chrome::new(c, "录入纸质表决票", "councils"),
            id: d.id,
            title: d.title,
            units,
            error,
        },
    )
        .into_response())
}

async fn paper_page(State(s): State<DecisionsState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    paper_form(&s, &c, id, None).await
}

async fn paper_post(State(s): State<DecisionsState>, c: Console, Path(id): Path<Uuid>, mut parts: Multipart) -> PageResult {
    let (mut csrf, mut unit, mut choice, mut photo) = (String::new(), String::new(), String::new(), Vec::new());
    let unreadable = || AppError::invalid("invalid_form", "表单无法读取，请重试");
    while let Some(part) = parts.next_field().await.map_err(|_| unreadable())? {
        let name = part.name().unwrap_or_default().to_string();
        let bytes = part.bytes().await.map_err(|_| unreadable())?;
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "unit" => unit = String::from_utf8_lossy(&bytes).into_owned(),
            "choice" => choice = String::from_utf8_lossy(&bytes).into_owned(),
            "photo" => photo = bytes.to_vec(),
            _ => {}
        }
    }
    check_csrf(&c, &csrf)?;
    match service::paper(&s.db, &s.data_dir, &c.principal, id, &unit, &choice, &photo).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/decisions/{id}?msg=paper")).into_response()),
        Err(e) if e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN => paper_form(&s, &c, id, Some(e.message)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "decision_public.html")]
struct PublicPage {
    title: String,
    compound: String,
    compound_name: String,
    matter: String,
    state: &'static str,
    state_class: &'static str,
    window: String,
    body: String,
    tally: TallyBars,
    /// 长辈版, and where its switch returns.
    elder: crate::web::elder::Elder,
}

/// The public result (公示): counts and areas only, never who voted how.
async fn public_page(
    State(s): State<DecisionsState>,
    Path((code, id)): Path<(String, Uuid)>,
    elder: crate::web::elder::Elder,
) -> PageResult {
    let d = crate::on_pool!(&s.db, |p| sqlx::query_as::<_, DecisionRow>(
        "SELECT id, district, compound_code, matter, title, body, status, opens_at, closes_at, passed, created_at, updated_at \
         FROM decisions WHERE id = $1 AND compound_code = $2 AND status <> 'draft'"
    )
    .bind(id)
    .bind(&code)
    .fetch_optional(p)
    .await)?
    .ok_or_else(|| AppError::not_found("表决"))?;
    let g = crate::grid::store::get(&s.db, &d.compound_code)
        .await?
        .ok_or_else(|| AppError::not_found("小区"))?;
    let t = service::tally(&s.db, &d).await?;
    let (state, state_class) = status_label(&d);
    Ok(PublicPage {
        title: d.title.clone(),
        compound: g.code,
        compound_name: g.name,
        matter: format!("第{}项 {}", d.matter, rules::matter_label(d.matter)),
        state,
        state_class,
        window: format!("{} 至 {}", format_ms(d.opens_at), format_ms(d.closes_at)),
        body: d.body,
        tally: bars(&t),
        elder,
    }
    .into_response())
}

pub fn routes() -> axum::Router<DecisionsState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/console/decisions", get(list_page))
        .route("/console/decisions/{id}", get(detail_page))
        .route("/console/decisions/{id}/vote", post(vote_page))
        .route("/console/decisions/{id}/open", post(open_page))
        .route("/console/decisions/{id}/close", post(close_page))
        .route(
            "/console/decisions/{id}/paper",
            get(paper_page)
                .post(paper_post)
                .layer(axum::extract::DefaultBodyLimit::max(service::MAX_PHOTO + 64 * 1024)),
        )
        .route("/g/{code}/decisions/{id}", get(public_page))
}
