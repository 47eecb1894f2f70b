//! Red property pages (红色物业): coverage of a street or community on the area map with the 三无
//! list and its steps, the evaluation form of each evaluator, the red and black list (console,
//! with corrections and publication, and public), and a company's fee collection entry.

use crate::web::pages::back_to as back;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::PropertyState;
use super::rules::{CRITERIA, Quarter, Tally};
use super::service::{self, NewFee, NewSheet, NewStep};
use super::store;
use crate::auth::{Capability, Role};
use crate::db::now_ms;
use crate::error::AppError;
use crate::grid::rules::code_len;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<PropertyState> {
    Router::new()
        .route("/console/property", get(coverage_page))
        .route("/console/property/steps", post(add_step))
        .route("/console/property/evaluate", get(evaluate_page).post(submit))
        .route("/console/property/lists", get(lists_page))
        .route("/console/property/publish", post(publish))
        .route("/console/property/corrections/{id}/done", post(finish_correction))
        .route("/console/property/fees", get(fees_page).post(enter_fee))
        .route("/property/lists", get(public_lists))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    grid: Option<String>,
    period: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

/// A child's (street's, community's) coverage line.
struct ChildLine {
    code: String,
    name: String,
    t: Tally,
}

struct StepLine {
    date: String,
    note: String,
    by: String,
}

struct ThreeNosLine {
    code: String,
    name: String,
    still: bool,
    responsible: String,
    supervising: String,
    steps: Vec<StepLine>,
}

struct UncoveredLine {
    name: String,
    company: String,
    service: &'static str,
    committee: bool,
    branch: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "property.html")]
struct CoveragePage {
    chrome: Chrome,
    notice: String,
    error: String,
    name: String,
    crumbs: Vec<(String, String)>,
    t: Tally,
    map: String,
    children: Vec<ChildLine>,
    three_nos: Vec<ThreeNosLine>,
    uncovered: Vec<UncoveredLine>,
    uncovered_more: usize,
    manage: bool,
    today: String,
    low_fees: Vec<(String, String, String)>,
    fee_month: String,
    threshold: String,
}

/// Where the 红色物业 link leads each role.
fn elsewhere(c: &Console) -> Option<&'static str> {
    let p = &c.principal;
    if p.has(Capability::ReadRegistry) {
        None
    } else if p.posts.iter().any(|x| x.role == Role::PropertyStaff) {
        Some("/console/property/fees")
    } else {
        Some("/console/property/evaluate")
    }
}

async fn coverage_page(State(s): State<PropertyState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    if let Some(to) = elsewhere(&c) {
        return Ok(Redirect::to(to).into_response());
    }
    let p = &c.principal;
    let root = service::read_root(p, q.grid.as_deref())?;
    let g = crate::grid::store::get(&s.db, &root)
        .await?
        .ok_or_else(|| AppError::not_found("该网格"))?;
    let items = service::coverage(&s.db, &p.district, &root).await?;
    let t = service::tally(&items);
    // Figures per child; the map colours the compounds of a street or community, the streets of
    // the district (any 三无 red, any not covered amber, all covered green).
    let child_len = code_len((g.level + 1).min(4));
    let by_child = service::tally_by_prefix(&items, child_len);
    let base = crate::grid::service::base_layers(&s.db, &g).await?;
    let mut overlay = crate::grid::map::Overlay::default();
    let shapes = if g.level >= 2 {
        for i in &items {
            overlay.fills.insert(i.row.code.clone(), i.class());
        }
        store::compound_shapes(&s.db, &p.district, &root).await?
    } else {
        overlay.child_href = |code| format!("/console/property?grid={code}");
        for (code, t) in &by_child {
            let class = if t.three_nos > 0 {
                "alarm"
            } else if t.covered < t.compounds {
                "busy"
            } else {
                "calm"
            };
            overlay.fills.insert(code.clone(), class);
            overlay.notes.insert(code.clone(), format!("{}/{}", t.covered, t.compounds));
        }
        crate::grid::store::children(&s.db, &root, 200, 0).await?
    };
    let map = crate::grid::map::area_map_svg(&g, &shapes, &base, &overlay);
    let names = crate::grid::store::names(&s.db, &p.district, &by_child.keys().cloned().collect::<Vec<_>>()).await?;
    let children = if g.level < 4 {
        by_child
            .into_iter()
            .map(|(code, t)| ChildLine {
                name: names.get(&code).cloned().unwrap_or_default(),
                code,
                t,
            })
            .collect()
    } else {
        Vec::new()
    };
    let three_nos = service::three_nos_list(&s.db, &p.district, &root, &items)
        .await?
        .into_iter()
        .map(|x| ThreeNosLine {
            code: x.cov.row.code.clone(),
            name: x.cov.row.name.clone(),
            still: x.cov.c.three_nos,
            responsible: x.cov.row.responsible.clone().unwrap_or_default(),
            supervising: x.cov.row.supervising_name.clone().unwrap_or_default(),
            steps: x
                .steps
                .into_iter()
                .map(|s| StepLine {
                    date: s.taken_on,
                    note: s.note,
                    by: s.recorded_by,
                })
                .collect(),
        })
        .collect();
    let not_covered: Vec<&service::CompoundCoverage> = items.iter().filter(|i| !i.c.covered && !i.c.three_nos).collect();
    let uncovered = not_covered
        .iter()
        .take(100)
        .map(|i| UncoveredLine {
            name: i.row.name.clone(),
            company: i.row.company_name.clone().unwrap_or_default(),
            service: i.c.service.label(),
            committee: i.c.owners_committee,
            branch: i.party_branch,
        })
        .collect();
    let (month, threshold, low) = super::api::low_fees(&s.db, &p.district, &root, None).await?;
    let crumbs = crate::grid::pages::crumbs(&s.db, &c, &g.code)
        .await?
        .into_iter()
        .filter(|(code, _)| p.can(Capability::ReadRegistry, code))
        .collect();
    Ok(CoveragePage {
        chrome: Chrome::new(&c, format!("{} 红色物业", g.name), "property"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        name: g.name.clone(),
        crumbs,
        t,
        map,
        children,
        three_nos,
        uncovered_more: not_covered.len().saturating_sub(100),
        uncovered,
        manage: p.can(Capability::ManageGrid, &g.code) || (g.level < 4 && p.has(Capability::ManageGrid)),
        today: crate::time::day_ms(now_ms()),
        low_fees: low
            .into_iter()
            .take(50)
            .map(|(_, n, r)| (n, format!("{:.1}%", r as f64 / 10.0), String::new()))
            .collect(),
        fee_month: month.unwrap_or_default(),
        threshold: format!("{:.0}%", threshold as f64 / 10.0),
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    compound: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

fn safe_back(b: &str, default: &str) -> String {
    if b.starts_with("/console/property") && !b.contains("//") {
        b.to_string()
    } else {
        default.to_string()
    }
}

async fn add_step(State(s): State<PropertyState>, c: Console, Form(f): Form<StepForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = safe_back(&f.back, "/console/property");
    let n = NewStep {
        date: f.date.clone(),
        note: f.note.clone(),
    };
    back(
        &to,
        service::add_step(&s.db, &c.principal, &f.compound, &n)
            .await
            .map(|_| "已记录整治进展"),
    )
}

struct TaskLine {
    compound: String,
    compound_name: String,
    company_name: String,
    evaluator: &'static str,
    evaluator_label: &'static str,
    values: Vec<(&'static str, &'static str, i64)>,
    done: bool,
    cases: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "property_evaluate.html")]
struct EvaluatePage {
    chrome: Chrome,
    notice: String,
    error: String,
    period: String,
    period_label: String,
    periods: Vec<(String, String)>,
    tasks: Vec<TaskLine>,
    done: usize,
    published: bool,
}

/// The current quarter and the three before it.
fn recent_periods() -> Vec<(String, String)> {
    let mut q = Quarter::of_ms(now_ms());
    let mut out = Vec::new();
    for _ in 0..4 {
        out.push((q.to_string(), q.label()));
        q = q.previous();
    }
    out
}

async fn evaluate_page(State(s): State<PropertyState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let period = service::period(q.period.as_deref())?;
    let tasks = service::tasks(&s.db, p, period).await?;
    let mut lines = Vec::with_capacity(tasks.len());
    for t in tasks {
        let figures = service::case_figures(&s.db, &p.district, t.company, &t.compound, period).await?;
        let values: [i64; 5] = match &t.sheet {
            Some(sh) => sh.criteria(),
            None => [85, 85, 85, 85, figures.response_score()],
        };
        let cases = format!(
            "本季度派给该物业的案件{}件{}{}",
            figures.assigned,
            figures.on_time_pct().map(|v| format!("，按时办结{v}%")).unwrap_or_default(),
            figures.satisfaction_pct().map(|v| format!("，满意率{v}%")).unwrap_or_default()
        );
        lines.push(TaskLine {
            compound: t.compound,
            compound_name: t.compound_name,
            company_name: t.company_name,
            evaluator: t.evaluator.as_str(),
            evaluator_label: t.evaluator.label(),
            values: CRITERIA.iter().zip(values).map(|((code, label), v)| (*code, *label, v)).collect(),
            done: t.sheet.is_some(),
            cases,
        });
    }
    Ok(EvaluatePage {
        chrome: Chrome::new(&c, "物业服务考评", "property"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        period: period.to_string(),
        period_label: period.label(),
        periods: recent_periods(),
        done: lines.iter().filter(|l| l.done).count(),
        tasks: lines,
        published: store::is_published(&s.db, &p.district, &period.to_string()).await?,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct SheetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    compound: String,
    #[serde(default)]
    evaluator: String,
    #[serde(default)]
    cleaning: String,
    #[serde(default)]
    security: String,
    #[serde(default)]
    repairs: String,
    #[serde(default)]
    greening: String,
    #[serde(default)]
    response: String,
}

/// A score as typed (full-width digits read); out of range or unreadable is -1, which the
/// service refuses with its message.
fn score_of(raw: &str) -> i64 {
    crate::identity::half_width(raw.trim()).parse::<i64>().unwrap_or(-1).clamp(-1, 1000)
}

async fn submit(State(s): State<PropertyState>, c: Console, Form(f): Form<SheetForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = format!("/console/property/evaluate?period={}", url_encode(f.period.trim()));
    let n = NewSheet {
        period: Some(f.period.clone()),
        compound: f.compound.clone(),
        evaluator: f.evaluator.clone(),
        cleaning: score_of(&f.cleaning),
        security: score_of(&f.security),
        repairs: score_of(&f.repairs),
        greening: score_of(&f.greening),
        response: Some(score_of(&f.response)),
    };
    back(&to, service::submit(&s.db, &c.principal, &n).await.map(|_| "评分已保存"))
}

struct StandingLine {
    name: String,
    score: String,
    rank: i64,
    list: &'static str,
    flagged: bool,
}

struct CorrectionLine {
    id: Uuid,
    name: String,
    due: String,
    done: bool,
    note: String,
    by: String,
    mine: bool,
}

fn standing_lines(items: Vec<service::Standing>) -> Vec<StandingLine> {
    items
        .into_iter()
        .map(|s| StandingLine {
            name: s.name,
            score: format!("{:.2}", s.score),
            rank: s.rank,
            list: s.list.unwrap_or(""),
            flagged: s.flagged,
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "property_lists.html")]
struct ListsPage {
    chrome: Chrome,
    notice: String,
    error: String,
    period: String,
    period_label: String,
    periods: Vec<(String, String)>,
    published: bool,
    standing: Vec<StandingLine>,
    corrections: Vec<CorrectionLine>,
    can_publish: bool,
}

async fn lists_page(State(s): State<PropertyState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let period = service::period(q.period.as_deref())?;
    let (items, published) = service::ranking(&s.db, &p.district, period).await?;
    let staff = p.has(Capability::ReadUnits);
    let mut corrections = Vec::new();
    if staff {
        for r in store::corrections(&s.db, &p.district, &period.to_string()).await? {
            let mine = r.done_at.is_none() && service::tracks(&s.db, p, r.company_id).await?;
            corrections.push(CorrectionLine {
                id: r.id,
                name: r.name,
                due: r.due_on,
                done: r.done_at.is_some(),
                note: r.note,
                by: r.done_by,
                mine,
            });
        }
    }
    let admin = p.posts.iter().any(|x| x.role == Role::DistrictAdmin);
    Ok(ListsPage {
        chrome: Chrome::new(&c, "物业红黑榜", "property"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        period: period.to_string(),
        period_label: period.label(),
        periods: recent_periods(),
        published,
        // Before publication only the district and streets see the standing so far.
        standing: if published || p.posts.iter().any(|x| matches!(x.role, Role::DistrictAdmin | Role::StreetStaff)) {
            standing_lines(items)
        } else {
            Vec::new()
        },
        corrections,
        can_publish: admin && !published && period < Quarter::of_ms(now_ms()),
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct PeriodForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    note: String,
}

async fn publish(State(s): State<PropertyState>, c: Console, Form(f): Form<PeriodForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = format!("/console/property/lists?period={}", url_encode(f.period.trim()));
    let r = match service::period(Some(&f.period)) {
        Ok(q) => service::publish(&s.db, &c.principal, q).await.map(|_| "考评结果已公布"),
        Err(e) => Err(e),
    };
    back(&to, r)
}

async fn finish_correction(State(s): State<PropertyState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<PeriodForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = format!("/console/property/lists?period={}", url_encode(f.period.trim()));
    back(
        &to,
        service::finish_correction(&s.db, &c.principal, id, &f.note)
            .await
            .map(|_| "已标记整改完成"),
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "property_public.html")]
struct PublicPage {
    period_label: String,
    periods: Vec<(String, String)>,
    published: bool,
    reds: Vec<StandingLine>,
    blacks: Vec<StandingLine>,
    /// 长辈版, and where its switch returns.
    elder: crate::web::elder::Elder,
}

#[derive(Deserialize, Default)]
struct PublicQuery {
    period: Option<String>,
    district: Option<String>,
}

/// The published red and black list, no sign-in (公示). The latest published quarter by default.
async fn public_lists(State(s): State<PropertyState>, Query(q): Query<PublicQuery>, elder: crate::web::elder::Elder) -> PageResult {
    let district = match q.district.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) if d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()) => d.to_string(),
        Some(_) => return Err(AppError::not_found("该区").into()),
        None => crate::grid::store::districts(&s.db)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::not_found("该区"))?,
    };
    let mut period = service::period(q.period.as_deref())?;
    if q.period.is_none() {
        // The newest published of the last four quarters.
        for _ in 0..4 {
            if store::is_published(&s.db, &district, &period.to_string()).await? {
                break;
            }
            period = period.previous();
        }
    }
    let rows = store::results(&s.db, &district, &period.to_string()).await?;
    let published = !rows.is_empty();
    let lines: Vec<StandingLine> = rows
        .into_iter()
        .filter(|r| r.list.is_some())
        .map(|r| StandingLine {
            name: r.name,
            score: format!("{:.2}", r.score_x100 as f64 / 100.0),
            rank: r.rank,
            list: if r.list.as_deref() == Some("red") { "red" } else { "black" },
            flagged: r.flagged,
        })
        .collect();
    let (reds, mut blacks): (Vec<StandingLine>, Vec<StandingLine>) = lines.into_iter().partition(|l| l.list == "red");
    blacks.sort_by_key(|l| std::cmp::Reverse(l.rank));
    Ok(PublicPage {
        period_label: period.label(),
        periods: recent_periods(),
        published,
        reds,
        blacks,
        elder,
    }
    .into_response())
}

struct FeeLine {
    code: String,
    name: String,
    latest: String,
    low: bool,
    trend: Vec<(String, String, i64)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "property_fees.html")]
struct FeesPage {
    chrome: Chrome,
    notice: String,
    error: String,
    company: bool,
    month: String,
    lines: Vec<FeeLine>,
    threshold: String,
}

async fn fees_page(State(s): State<PropertyState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let units = service::company_units(p);
    if units.is_empty() {
        // Staff read the compounds below the threshold on the coverage page.
        if p.has(Capability::ReadRegistry) {
            return Ok(Redirect::to("/console/property").into_response());
        }
        return Err(AppError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", "物业费收缴率由物业公司填报").into());
    }
    let threshold = store::settings(&s.db, &p.district).await?.fee_threshold;
    let mut lines = Vec::new();
    for u in units {
        for (code, name) in store::served_by(&s.db, u).await? {
            let rows = store::fees_of(&s.db, &p.district, &code, 12).await?;
            let latest = rows.last().map(|r| r.rate_permille);
            lines.push(FeeLine {
                latest: latest
                    .map(|r| format!("{:.1}%", r as f64 / 10.0))
                    .unwrap_or_else(|| "未填报".into()),
                low: latest.is_some_and(|r| r < threshold),
                trend: rows
                    .into_iter()
                    .map(|r| {
                        (
                            r.month.get(5..).unwrap_or("").to_string() + "月",
                            format!("{:.1}", r.rate_permille as f64 / 10.0),
                            (r.rate_permille / 10).clamp(0, 100),
                        )
                    })
                    .collect(),
                code,
                name,
            });
        }
    }
    Ok(FeesPage {
        chrome: Chrome::new(&c, "物业费收缴率", "property"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        company: true,
        month: crate::time::month_ms(now_ms()),
        lines,
        threshold: format!("{:.0}%", threshold as f64 / 10.0),
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct FeeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    compound: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    rate: String,
}

async fn enter_fee(State(s): State<PropertyState>, c: Console, Form(f): Form<FeeForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let Some(permille) = super::rules::parse_rate(&f.rate) else {
        return back("/console/property/fees", Err(AppError::invalid("invalid_rate", "收缴率应为0至100")));
    };
    let n = NewFee {
        compound: f.compound.clone(),
        month: f.month.clone(),
        rate: permille as f64 / 10.0,
    };
    back(
        "/console/property/fees",
        service::enter_fee(&s.db, &c.principal, &n).await.map(|_| "收缴率已保存"),
    )
}
