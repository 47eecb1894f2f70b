//! Five-star pages (五星支部创建): every community's stars with counts per street (district and
//! street), a community's scorecard with its self-assessment, evidence upload, the street's review
//! and the district's rating, and the district's configuration of the year's stars.

use crate::web::pages::back_to as back;
use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;

use super::StarsState;
use super::api::{CardDetail, card_detail, file_response, this_year};
use super::rules::{self, Actor, Outcome, Status};
use super::service::{self, AssessInput, EntryInput, Link, RateInput, ReviewInput, ReviewVerdict, StarRating};
use crate::error::AppError;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<StarsState> {
    Router::new()
        .route("/console/stars", get(list_page))
        .route("/console/stars/config", get(config_page).post(save_config))
        .route("/console/stars/{grid}/{year}", get(card_page))
        .route("/console/stars/{grid}/{year}/assessment", post(assess))
        .route("/console/stars/{grid}/{year}/submit", post(submit))
        .route("/console/stars/{grid}/{year}/review", post(review))
        .route("/console/stars/{grid}/{year}/rating", post(rate))
        .route(
            "/console/stars/{grid}/{year}/files",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(service::MAX_BYTES + 64 * 1024)),
        )
        .route("/console/stars/{grid}/{year}/files/{sha256}", get(download))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    year: Option<String>,
    grid: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

fn year_or_now(raw: &Option<String>) -> Result<i64, AppError> {
    match raw.as_deref().filter(|y| !y.trim().is_empty()) {
        Some(y) => rules::parse_year(y).map_err(|m| AppError::invalid("invalid_year", m)),
        None => Ok(this_year()),
    }
}

/// A community line of the district's page.
struct Line {
    grid: String,
    name: String,
    status: &'static str,
    awarded: usize,
    /// (name, outcome key, label, reason)
    stars: Vec<(String, &'static str, &'static str, String)>,
}

/// A street's counts.
struct StreetCount {
    name: String,
    communities: usize,
    submitted: usize,
    rated: usize,
    stars: usize,
    five: usize,
    lines: Vec<Line>,
}

fn outcome_key(o: Outcome) -> &'static str {
    match o {
        Outcome::Awarded => "ok",
        Outcome::Denied => "danger",
        Outcome::Pending => "grey",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "stars.html")]
struct ListPage {
    chrome: Chrome,
    notice: String,
    error: String,
    year: i64,
    years: Vec<i64>,
    grid: String,
    streets: Vec<StreetCount>,
    total: usize,
    awarded: usize,
    district: bool,
}

async fn list_page(State(s): State<StarsState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let year = year_or_now(&q.year)?;
    let root = service::list_root(p, q.grid.as_deref())?;
    let items = service::list(&s.db, &p.district, &root, year).await?;
    let mut streets: BTreeMap<String, StreetCount> = BTreeMap::new();
    let mut awarded = 0;
    let total = items.len();
    for i in items {
        let st = streets.entry(i.street.clone()).or_insert_with(|| StreetCount {
            name: i.street_name.clone(),
            communities: 0,
            submitted: 0,
            rated: 0,
            stars: 0,
            five: 0,
            lines: Vec::new(),
        });
        let n = i.awarded();
        awarded += n;
        st.communities += 1;
        st.stars += n;
        if n == i.stars.len() {
            st.five += 1;
        }
        match i.card_status {
            Some(Status::Rated) => {
                st.rated += 1;
                st.submitted += 1;
            }
            Some(Status::Submitted | Status::Reviewed) => st.submitted += 1,
            _ => {}
        }
        st.lines.push(Line {
            status: i.card_status.map_or("未开始自评", Status::label),
            awarded: n,
            stars: i
                .stars
                .iter()
                .map(|x| {
                    (
                        x.name.clone(),
                        outcome_key(x.status),
                        x.status.label(),
                        x.reason.clone().unwrap_or_default(),
                    )
                })
                .collect(),
            grid: i.grid,
            name: i.name,
        });
    }
    let this = this_year();
    Ok(ListPage {
        chrome: Chrome::new(&c, "五星支部创建", "party"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        year,
        years: (this - 2..=this + 1).rev().collect(),
        grid: root,
        streets: streets.into_values().collect(),
        total,
        awarded,
        district: service::acts_as(p, Actor::District, &p.district),
    }
    .into_response())
}

/// A criterion as the card shows it.
#[derive(Template, WebTemplate)]
#[template(path = "star_card.html")]
struct CardPage {
    chrome: Chrome,
    notice: String,
    error: String,
    d: CardDetail,
    /// The community may assess and submit now.
    assess: bool,
    /// The street may review now.
    review: bool,
    /// The district may rate now.
    rate: bool,
    base: String,
}

async fn card_page(
    State(s): State<StarsState>,
    c: Console,
    Path((grid, year)): Path<(String, String)>,
    Query(q): Query<Notice>,
) -> PageResult {
    let p = &c.principal;
    let year = rules::parse_year(&year).map_err(|m| AppError::invalid("invalid_year", m))?;
    let v = service::load(&s.db, p, &grid, year).await?;
    let status = v.status();
    let may =
        |actor: Actor, action: rules::Action| service::acts_as(p, actor, &v.community.code) && rules::next(status, actor, action).is_ok();
    let assess = may(Actor::Community, rules::Action::Assess);
    let review = may(Actor::Street, rules::Action::Review { any_back: false });
    let rate = may(Actor::District, rules::Action::Rate);
    let d = card_detail(&v);
    Ok(CardPage {
        chrome: Chrome::new(&c, format!("{} {} 年五星支部创建", d.name, d.year), "party"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        base: format!("/console/stars/{}/{}", d.grid, d.year),
        d,
        assess,
        review,
        rate,
    }
    .into_response())
}

/// The form's fields, in order (names carry the star and criterion: `score.party.organisation`).
type Fields = Vec<(String, String)>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn card_url(grid: &str, year: &str) -> String {
    format!("/console/stars/{}/{}", url_encode(grid), url_encode(year))
}

async fn assess(State(s): State<StarsState>, c: Console, Path((grid, year)): Path<(String, String)>, Form(f): Form<Fields>) -> PageResult {
    check_csrf(&c, field(&f, "csrf"))?;
    let to = card_url(&grid, &year);
    let y = match rules::parse_year(&year) {
        Ok(y) => y,
        Err(m) => return back(&to, Err(AppError::invalid("invalid_year", m))),
    };
    let v = service::load(&s.db, &c.principal, &grid, y).await?;
    let mut entries = Vec::new();
    for star in &v.stars {
        for cr in &star.criteria {
            let raw = field(&f, &format!("score.{}.{}", star.code, cr.code));
            if raw.trim().is_empty() {
                continue;
            }
            let score = match rules::parse_score(raw) {
                Ok(n) => n,
                Err(m) => {
                    return back(
                        &to,
                        Err(AppError::invalid("invalid_score", format!("{}·{}：{m}", star.name, cr.name))),
                    );
                }
            };
            // The page keeps the links the API recorded.
            let links: Vec<Link> = v
                .entry(&star.code, &cr.code)
                .and_then(|e| serde_json::from_str(&e.links).ok())
                .unwrap_or_default();
            entries.push(EntryInput {
                star: star.code.clone(),
                criterion: cr.code.clone(),
                score,
                note: field(&f, &format!("note.{}.{}", star.code, cr.code)).to_string(),
                links,
            });
        }
    }
    if entries.is_empty() {
        return back(&to, Err(AppError::invalid("invalid_entries", "请至少填写一项自评分数")));
    }
    let r = service::assess(&s.db, &c.principal, &grid, y, &AssessInput { entries }).await;
    back(&to, r.map(|_| "自评已保存"))
}

async fn submit(State(s): State<StarsState>, c: Console, Path((grid, year)): Path<(String, String)>, Form(f): Form<Fields>) -> PageResult {
    check_csrf(&c, field(&f, "csrf"))?;
    let to = card_url(&grid, &year);
    let y = rules::parse_year(&year).map_err(|m| AppError::invalid("invalid_year", m))?;
    back(&to, service::submit(&s.db, &c.principal, &grid, y).await.map(|_| "已提交街道审核"))
}

async fn review(State(s): State<StarsState>, c: Console, Path((grid, year)): Path<(String, String)>, Form(f): Form<Fields>) -> PageResult {
    check_csrf(&c, field(&f, "csrf"))?;
    let to = card_url(&grid, &year);
    let y = rules::parse_year(&year).map_err(|m| AppError::invalid("invalid_year", m))?;
    let v = service::load(&s.db, &c.principal, &grid, y).await?;
    let verdicts = v
        .stars
        .iter()
        .map(|star| ReviewVerdict {
            star: star.code.clone(),
            verdict: field(&f, &format!("verdict.{}", star.code)).to_string(),
            comment: field(&f, &format!("comment.{}", star.code)).to_string(),
        })
        .collect();
    let r = service::review(&s.db, &c.principal, &grid, y, &ReviewInput { verdicts }).await;
    back(
        &to,
        r.map(|st| {
            if st == Status::Returned {
                "已退回社区修改"
            } else {
                "审核通过，已报区级评定"
            }
        }),
    )
}

async fn rate(State(s): State<StarsState>, c: Console, Path((grid, year)): Path<(String, String)>, Form(f): Form<Fields>) -> PageResult {
    check_csrf(&c, field(&f, "csrf"))?;
    let to = card_url(&grid, &year);
    let y = rules::parse_year(&year).map_err(|m| AppError::invalid("invalid_year", m))?;
    let v = service::load(&s.db, &c.principal, &grid, y).await?;
    let ratings = v
        .stars
        .iter()
        .map(|star| StarRating {
            star: star.code.clone(),
            rating: field(&f, &format!("rating.{}", star.code)).to_string(),
            reason: field(&f, &format!("reason.{}", star.code)).to_string(),
        })
        .collect();
    let r = service::rate(&s.db, &c.principal, &grid, y, &RateInput { ratings }).await;
    back(&to, r.map(|_| "评定结果已保存"))
}

/// An evidence file from the card's form (multipart: csrf, star, file).
async fn upload(
    State(s): State<StarsState>,
    c: Console,
    Path((grid, year)): Path<(String, String)>,
    req: axum::extract::Request,
) -> PageResult {
    use axum::extract::FromRequest;
    let unreadable = || AppError::invalid("invalid_form", "表单无法读取，请重试");
    let mut parts = axum::extract::Multipart::from_request(req, &()).await.map_err(|_| unreadable())?;
    let (mut csrf, mut star, mut name, mut bytes) = (String::new(), String::new(), String::new(), Vec::new());
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
            "star" => star = String::from_utf8_lossy(&data).into_owned(),
            "file" => {
                name = file_name.unwrap_or_default();
                bytes = data.to_vec();
            }
            _ => {}
        }
    }
    check_csrf(&c, &csrf)?;
    let to = card_url(&grid, &year);
    let y = rules::parse_year(&year).map_err(|m| AppError::invalid("invalid_year", m))?;
    let r = service::add_file(&s.db, &s.data_dir, &c.principal, &grid, y, &star, &name, &bytes).await;
    back(&to, r.map(|_| "佐证材料已上传"))
}

async fn download(State(s): State<StarsState>, c: Console, Path((grid, year, sha)): Path<(String, String, String)>) -> PageResult {
    let y = rules::parse_year(&year).map_err(|m| AppError::invalid("invalid_year", m))?;
    let (mime, name, bytes) = service::read_file(&s.db, &s.data_dir, &c.principal, &grid, y, &sha).await?;
    Ok(file_response(mime, &name, bytes))
}

#[derive(Template, WebTemplate)]
#[template(path = "stars_config.html")]
struct ConfigPage {
    chrome: Chrome,
    notice: String,
    error: String,
    year: i64,
    sections: Vec<(&'static str, Vec<rules::Star>)>,
    json: String,
    edit: bool,
}

async fn config_page(State(s): State<StarsState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    service::list_root(p, None)?;
    let year = year_or_now(&q.year)?;
    let cfg = service::config(&s.db, &p.district, year).await?;
    Ok(ConfigPage {
        chrome: Chrome::new(&c, "五星标准设置", "party"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        year,
        json: serde_json::to_string_pretty(&cfg).unwrap_or_default(),
        sections: vec![("城市社区", cfg.urban.clone()), ("行政村", cfg.village.clone())],
        edit: service::acts_as(p, Actor::District, &p.district),
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct ConfigForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    body: String,
}

async fn save_config(State(s): State<StarsState>, c: Console, Form(f): Form<ConfigForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = format!("/console/stars/config?year={}", url_encode(&f.year));
    let r = async {
        let year = rules::parse_year(&f.year).map_err(|m| AppError::invalid("invalid_year", m))?;
        let cfg: rules::Config =
            serde_json::from_str(&f.body).map_err(|_| AppError::invalid("invalid_config", "标准格式有误，请检查后再保存"))?;
        service::save_config(&s.db, &c.principal, year, &cfg).await
    }
    .await;
    back(&to, r.map(|_| "五星标准已保存"))
}
