//! Five-star API: the district list of every community's stars, the configuration per year, a
//! community's scorecard with its self-assessment, evidence files, review and rating.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::StarsState;
use super::rules::{self, Config, Figures, Outcome, Status};
use super::service::{self, AssessInput, CardView, Link, ListItem, RateInput, ReviewInput, StarOutcome};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::extract::{Json, Path, Query};

fn year_of(raw: &str) -> AppResult<i64> {
    rules::parse_year(raw).map_err(|m| AppError::invalid("invalid_year", m))
}

/// This year in China time.
pub fn this_year() -> i64 {
    service::quarter_at(crate::db::now_ms()).0
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// The year, 2000–2100; this year by default.
    pub year: Option<String>,
    /// A grid node; by default the caller's own.
    pub grid: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StarList {
    pub items: Vec<ListItem>,
    pub total: i64,
}

#[utoipa::path(get, path = "/api/v1/stars", tag = "stars", params(ListQuery),
    responses((status = 200, body = StarList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<StarsState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<StarList>> {
    let year = match q.year.as_deref().filter(|y| !y.trim().is_empty()) {
        Some(y) => year_of(y)?,
        None => this_year(),
    };
    let root = service::list_root(&p, q.grid.as_deref())?;
    let items = service::list(&s.db, &p.district, &root, year).await?;
    Ok(Json(StarList {
        total: items.len() as i64,
        items,
    }))
}

#[utoipa::path(get, path = "/api/v1/stars/config/{year}", tag = "stars", params(("year" = String, Path)),
    responses((status = 200, body = Config), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_config(State(s): State<StarsState>, p: Principal, Path(year): Path<String>) -> AppResult<Json<Config>> {
    service::list_root(&p, None)?;
    let year = year_of(&year)?;
    Ok(Json(service::config(&s.db, &p.district, year).await?))
}

#[utoipa::path(post, path = "/api/v1/stars/config/{year}", tag = "stars", params(("year" = String, Path)), request_body = Config,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn save_config(
    State(s): State<StarsState>,
    p: Principal,
    Path(year): Path<String>,
    Json(cfg): Json<Config>,
) -> AppResult<StatusCode> {
    let year = year_of(&year)?;
    service::save_config(&s.db, &p, year, &cfg).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CriterionView {
    pub code: String,
    pub name: String,
    pub weight: i64,
    pub evidence: String,
    /// The product's own figure for it, prefilled (e.g. 办结率).
    pub figure: Option<String>,
    pub score: Option<i64>,
    pub note: String,
    pub links: Vec<Link>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PrerequisiteView {
    pub label: String,
    pub met: bool,
    pub reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// agree or back
    pub verdict: String,
    pub comment: String,
    pub by: String,
    pub at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EvidenceFile {
    pub star: String,
    pub sha256: String,
    pub mime: String,
    pub size: i64,
    pub name: String,
    pub uploaded_by: String,
    pub created_at: String,
    pub url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StarView {
    pub code: String,
    pub name: String,
    /// The weighted self-assessed score, 0–100.
    pub score: f64,
    pub prerequisites: Vec<PrerequisiteView>,
    pub criteria: Vec<CriterionView>,
    pub review: Option<ReviewView>,
    pub result: StarOutcome,
    pub files: Vec<EvidenceFile>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct QuarterView {
    pub quarter: i64,
    pub score: f64,
    pub stars: serde_json::Value,
    pub taken_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardDetail {
    pub grid: String,
    pub name: String,
    pub street: String,
    /// urban or village
    pub kind: String,
    pub year: i64,
    /// draft, submitted, returned, reviewed or rated
    pub status: Status,
    pub status_label: &'static str,
    pub figures: Figures,
    /// The mean of the stars' scores.
    pub score: f64,
    /// Stars awarded so far (the yearly result once rated).
    pub awarded: i64,
    pub stars: Vec<StarView>,
    /// Quarterly progress: the self-assessment's score at the end of each quarter reached.
    pub quarters: Vec<QuarterView>,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

pub fn card_detail(v: &CardView) -> CardDetail {
    let grid = &v.community.code;
    let stars: Vec<StarView> = v
        .stars
        .iter()
        .map(|s| {
            let verdict = v.verdict(&s.code);
            let status = Outcome::of(verdict.and_then(|x| x.rating.as_deref()));
            StarView {
                code: s.code.clone(),
                name: s.name.clone(),
                score: round1(v.star_score(s)),
                prerequisites: s
                    .prerequisites
                    .iter()
                    .map(|pr| {
                        let r = pr.check(&v.figures);
                        PrerequisiteView {
                            label: pr.label(),
                            met: r.is_ok(),
                            reason: r.err(),
                        }
                    })
                    .collect(),
                criteria: s
                    .criteria
                    .iter()
                    .map(|c| {
                        let e = v.entry(&s.code, &c.code);
                        CriterionView {
                            code: c.code.clone(),
                            name: c.name.clone(),
                            weight: c.weight,
                            evidence: c.evidence.clone(),
                            figure: c.figure.as_deref().and_then(|f| v.figures.text(f)),
                            score: e.map(|e| e.score),
                            note: e.map(|e| e.note.clone()).unwrap_or_default(),
                            links: e.and_then(|e| serde_json::from_str(&e.links).ok()).unwrap_or_default(),
                        }
                    })
                    .collect(),
                review: verdict.and_then(|x| {
                    x.review.as_ref().map(|r| ReviewView {
                        verdict: r.clone(),
                        comment: x.review_comment.clone(),
                        by: x.reviewed_by.clone(),
                        at: x.reviewed_at.map(rfc3339_ms),
                    })
                }),
                result: StarOutcome {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    status,
                    reason: (status != Outcome::Pending).then(|| verdict.map(|x| x.reason.clone()).unwrap_or_default()),
                },
                files: v
                    .files
                    .iter()
                    .filter(|f| f.star_code == s.code)
                    .map(|f| EvidenceFile {
                        star: f.star_code.clone(),
                        sha256: f.sha256.clone(),
                        mime: f.mime.clone(),
                        size: f.size,
                        name: f.name.clone(),
                        uploaded_by: f.uploaded_by.clone(),
                        created_at: rfc3339_ms(f.created_at),
                        url: format!("/api/v1/stars/cards/{grid}/{}/files/{}", v.year, f.sha256),
                    })
                    .collect(),
            }
        })
        .collect();
    let score = if stars.is_empty() {
        0.0
    } else {
        round1(stars.iter().map(|s| s.score).sum::<f64>() / stars.len() as f64)
    };
    let status = v.status();
    CardDetail {
        grid: grid.clone(),
        name: v.community.name.clone(),
        street: v.community.street_name.clone(),
        kind: v.kind.as_str().into(),
        year: v.year,
        status,
        status_label: status.label(),
        figures: v.figures,
        score,
        awarded: stars.iter().filter(|s| s.result.status == Outcome::Awarded).count() as i64,
        stars,
        quarters: v
            .snapshots
            .iter()
            .map(|q| QuarterView {
                quarter: q.quarter,
                score: q.score,
                stars: serde_json::from_str(&q.body).unwrap_or_default(),
                taken_at: rfc3339_ms(q.taken_at),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/stars/cards/{grid}/{year}", tag = "stars", params(("grid" = String, Path), ("year" = String, Path)),
    responses((status = 200, body = CardDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn card(State(s): State<StarsState>, p: Principal, Path((grid, year)): Path<(String, String)>) -> AppResult<Json<CardDetail>> {
    let year = year_of(&year)?;
    let v = service::load(&s.db, &p, &grid, year).await?;
    Ok(Json(card_detail(&v)))
}

#[utoipa::path(post, path = "/api/v1/stars/cards/{grid}/{year}/assessment", tag = "stars", params(("grid" = String, Path), ("year" = String, Path)), request_body = AssessInput,
    responses((status = 200, body = CardDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assess(
    State(s): State<StarsState>,
    p: Principal,
    Path((grid, year)): Path<(String, String)>,
    Json(input): Json<AssessInput>,
) -> AppResult<Json<CardDetail>> {
    let year = year_of(&year)?;
    service::assess(&s.db, &p, &grid, year, &input).await?;
    let v = service::load(&s.db, &p, &grid, year).await?;
    Ok(Json(card_detail(&v)))
}

#[utoipa::path(post, path = "/api/v1/stars/cards/{grid}/{year}/submit", tag = "stars", params(("grid" = String, Path), ("year" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit(State(s): State<StarsState>, p: Principal, Path((grid, year)): Path<(String, String)>) -> AppResult<StatusCode> {
    let year = year_of(&year)?;
    service::submit(&s.db, &p, &grid, year).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reviewed {
    /// reviewed (all agreed) or returned (sent back to the community)
    pub status: Status,
}

#[utoipa::path(post, path = "/api/v1/stars/cards/{grid}/{year}/review", tag = "stars", params(("grid" = String, Path), ("year" = String, Path)), request_body = ReviewInput,
    responses((status = 200, body = Reviewed), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review(
    State(s): State<StarsState>,
    p: Principal,
    Path((grid, year)): Path<(String, String)>,
    Json(input): Json<ReviewInput>,
) -> AppResult<Json<Reviewed>> {
    let year = year_of(&year)?;
    let status = service::review(&s.db, &p, &grid, year, &input).await?;
    Ok(Json(Reviewed { status }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Rated {
    pub stars: Vec<StarOutcome>,
}

#[utoipa::path(post, path = "/api/v1/stars/cards/{grid}/{year}/rating", tag = "stars", params(("grid" = String, Path), ("year" = String, Path)), request_body = RateInput,
    responses((status = 200, body = Rated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rate(
    State(s): State<StarsState>,
    p: Principal,
    Path((grid, year)): Path<(String, String)>,
    Json(input): Json<RateInput>,
) -> AppResult<Json<Rated>> {
    let year = year_of(&year)?;
    let out = service::rate(&s.db, &p, &grid, year, &input).await?;
    let cfg = service::config(&s.db, &p.district, year).await?;
    let name = |code: &str| {
        cfg.urban
            .iter()
            .chain(cfg.village.iter())
            .find(|s| s.code == code)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    Ok(Json(Rated {
        stars: out
            .into_iter()
            .map(|(code, status, reason)| StarOutcome {
                name: name(&code),
                code,
                status,
                reason: Some(reason),
            })
            .collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The star the evidence is for.
    pub star: String,
    /// The file's name as shown.
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/stars/cards/{grid}/{year}/files", tag = "stars",
    params(("grid" = String, Path), ("year" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "PDF, JPEG, PNG or WebP, at most 10 MB, recognised by content"),
    responses((status = 201, body = EvidenceFile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn upload(
    State(s): State<StarsState>,
    p: Principal,
    Path((grid, year)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<EvidenceFile>)> {
    let year = year_of(&year)?;
    let f = service::add_file(&s.db, &s.data_dir, &p, &grid, year, &q.star, q.name.as_deref().unwrap_or(""), &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(EvidenceFile {
            url: format!("/api/v1/stars/cards/{grid}/{year}/files/{}", f.sha256),
            star: f.star_code,
            sha256: f.sha256,
            mime: f.mime,
            size: f.size,
            name: f.name,
            uploaded_by: f.uploaded_by,
            created_at: rfc3339_ms(f.created_at),
        }),
    ))
}

/// A file answer with its name in RFC 5987 form.
pub fn file_response(mime: String, name: &str, bytes: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (axum::http::header::CONTENT_TYPE, mime),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"evidence\"; filename*=UTF-8''{encoded}"),
            ),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(get, path = "/api/v1/stars/cards/{grid}/{year}/files/{sha256}", tag = "stars",
    params(("grid" = String, Path), ("year" = String, Path), ("sha256" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn download(
    State(s): State<StarsState>,
    p: Principal,
    Path((grid, year, sha)): Path<(String, String, String)>,
) -> AppResult<axum::response::Response> {
    let year = year_of(&year)?;
    let (mime, name, bytes) = service::read_file(&s.db, &s.data_dir, &p, &grid, year, &sha).await?;
    Ok(file_response(mime, &name, bytes))
}
