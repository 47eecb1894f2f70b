//! Red property API: coverage and the 三无 list, compounds' service and steps, evaluators' sheets,
//! the quarter's ranking with the red and black list and its corrections, settings, fee rates.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PropertyState;
use super::rules::{self, CRITERIA};
use super::service::{self, CompoundCoverage, CompoundUpdate, CoverageSummary, NewFee, NewSheet, NewStep, SettingsInput, Standing};
use super::store::{self, CorrectionRow, FeeRow, ScoreRow, SettingsRow};
use crate::auth::{Capability, Principal};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::{day_ms, rfc3339_ms};
use crate::web::api::PageQuery;
use crate::web::extract::{Json, Path, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CoverageQuery {
    /// A grid node (street, community, compound); by default the caller's own.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// One compound's coverage.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CoverageItem {
    /// The compound's grid code.
    pub compound: String,
    pub name: String,
    /// The property company's name, if one serves it.
    pub property_company: Option<String>,
    /// company, management_committee (物管会), self (业主自管) or none.
    pub service: &'static str,
    /// An owners' committee or a 物管会.
    pub owners_committee: bool,
    pub party_branch: bool,
    pub supervising_unit: Option<String>,
    pub responsible: String,
    pub three_nos: bool,
    pub covered: bool,
}

fn item(c: &CompoundCoverage) -> CoverageItem {
    CoverageItem {
        compound: c.row.code.clone(),
        name: c.row.name.clone(),
        property_company: c.row.company_name.clone(),
        service: c.c.service.as_str(),
        owners_committee: c.c.owners_committee,
        party_branch: c.party_branch,
        supervising_unit: c.row.supervising_name.clone(),
        responsible: c.row.responsible.clone().unwrap_or_default(),
        three_nos: c.c.three_nos,
        covered: c.c.covered,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CoveragePage {
    pub items: Vec<CoverageItem>,
    pub total: i64,
    pub summary: CoverageSummary,
}

#[utoipa::path(get, path = "/api/v1/property/coverage", tag = "property", params(CoverageQuery),
    responses((status = 200, body = CoveragePage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn coverage(State(s): State<PropertyState>, p: Principal, Query(q): Query<CoverageQuery>) -> AppResult<Json<CoveragePage>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let root = service::read_root(&p, q.grid.as_deref())?;
    let all = service::coverage(&s.db, &p.district, &root).await?;
    let t = service::tally(&all);
    Ok(Json(CoveragePage {
        items: all.iter().skip(offset as usize).take(limit as usize).map(item).collect(),
        total: all.len() as i64,
        summary: CoverageSummary {
            compounds: t.compounds,
            covered: t.covered,
            three_nos: t.three_nos,
        },
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Step {
    pub id: Uuid,
    /// The day it was taken.
    pub date: String,
    pub note: String,
    pub recorded_by: String,
}

fn step(s: store::StepRow) -> Step {
    Step {
        id: s.id,
        date: s.taken_on,
        note: s.note,
        recorded_by: s.recorded_by,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ThreeNosItem {
    #[serde(flatten)]
    pub compound: CoverageItem,
    /// Steps taken, newest first.
    pub steps: Vec<Step>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct GridOnly {
    /// A grid node; by default the caller's own.
    pub grid: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/property/three-nos", tag = "property", params(GridOnly),
    responses((status = 200, body = Vec<ThreeNosItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn three_nos(State(s): State<PropertyState>, p: Principal, Query(q): Query<GridOnly>) -> AppResult<Json<Vec<ThreeNosItem>>> {
    let root = service::read_root(&p, q.grid.as_deref())?;
    let all = service::coverage(&s.db, &p.district, &root).await?;
    let list = service::three_nos_list(&s.db, &p.district, &root, &all).await?;
    Ok(Json(
        list.into_iter()
            .map(|t| ThreeNosItem {
                compound: item(&t.cov),
                steps: t.steps.into_iter().map(step).collect(),
            })
            .collect(),
    ))
}

#[utoipa::path(put, path = "/api/v1/property/compounds/{code}", tag = "property", params(("code" = String, Path)), request_body = CompoundUpdate,
    responses((status = 200, body = CoverageItem), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_compound(
    State(s): State<PropertyState>,
    p: Principal,
    Path(code): Path<String>,
    Json(u): Json<CompoundUpdate>,
) -> AppResult<Json<CoverageItem>> {
    let c = service::update_compound(&s.db, &p, &code, &u).await?;
    Ok(Json(item(&c)))
}

#[utoipa::path(post, path = "/api/v1/property/compounds/{code}/steps", tag = "property", params(("code" = String, Path)), request_body = NewStep,
    responses((status = 201, body = Step), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_step(
    State(s): State<PropertyState>,
    p: Principal,
    Path(code): Path<String>,
    Json(n): Json<NewStep>,
) -> AppResult<(StatusCode, Json<Step>)> {
    let st = service::add_step(&s.db, &p, &code, &n).await?;
    Ok((StatusCode::CREATED, Json(step(st))))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PeriodQuery {
    /// The quarter, `2026Q3`; by default the current one.
    pub period: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EvaluationItem {
    /// The property company (a unit).
    pub company: Uuid,
    pub name: String,
    pub score: f64,
    pub rank: i64,
    /// red (红榜), black (黑榜) or null.
    pub list: Option<&'static str>,
    /// Black this quarter and the one before: flagged for removal.
    pub flagged: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Evaluations {
    pub period: String,
    /// Whether the district has published the quarter (else the standing so far).
    pub published: bool,
    pub items: Vec<EvaluationItem>,
}

fn evaluation_item(s: Standing) -> EvaluationItem {
    EvaluationItem {
        company: s.company,
        name: s.name,
        score: s.score,
        rank: s.rank,
        list: s.list,
        flagged: s.flagged,
    }
}

fn reads_evaluations(p: &Principal) -> AppResult<()> {
    if p.has(Capability::ReadUnits) {
        Ok(())
    } else {
        Err(AppError::forbidden_to("该角色不能查看物业考评，红黑榜见公示页面"))
    }
}

#[utoipa::path(get, path = "/api/v1/property/evaluations", tag = "property", params(PeriodQuery),
    responses((status = 200, body = Evaluations), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn evaluations(State(s): State<PropertyState>, p: Principal, Query(q): Query<PeriodQuery>) -> AppResult<Json<Evaluations>> {
    reads_evaluations(&p)?;
    let period = service::period(q.period.as_deref())?;
    let (items, published) = service::ranking(&s.db, &p.district, period).await?;
    Ok(Json(Evaluations {
        period: period.to_string(),
        published,
        items: items.into_iter().map(evaluation_item).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/property/evaluations/{period}/publish", tag = "property", params(("period" = String, Path)),
    responses((status = 200, body = Evaluations), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(State(s): State<PropertyState>, p: Principal, Path(period): Path<String>) -> AppResult<Json<Evaluations>> {
    let q = service::period(Some(&period))?;
    let items = service::publish(&s.db, &p, q).await?;
    Ok(Json(Evaluations {
        period: q.to_string(),
        published: true,
        items: items.into_iter().map(evaluation_item).collect(),
    }))
}

/// One evaluator's sheet.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Sheet {
    pub id: Uuid,
    pub period: String,
    pub compound: String,
    pub company: Uuid,
    pub evaluator: String,
    pub cleaning: i64,
    pub security: i64,
    pub repairs: i64,
    pub greening: i64,
    pub response: i64,
    /// The sheet's score, the mean of its criteria.
    pub score: f64,
    /// The case loop's figures when it was submitted.
    pub cases_assigned: i64,
    pub on_time_pct: Option<i64>,
    pub satisfaction_pct: Option<i64>,
    pub submitted_by: String,
    pub updated_at: String,
}

pub fn sheet(s: ScoreRow) -> Sheet {
    Sheet {
        score: rules::sheet_score(s.criteria()),
        id: s.id,
        period: s.period,
        compound: s.grid_code,
        company: s.company_id,
        evaluator: s.evaluator,
        cleaning: s.cleaning,
        security: s.security,
        repairs: s.repairs,
        greening: s.greening,
        response: s.response,
        cases_assigned: s.cases_assigned,
        on_time_pct: s.on_time_pct,
        satisfaction_pct: s.satisfaction_pct,
        submitted_by: s.submitter_name,
        updated_at: rfc3339_ms(s.updated_at),
    }
}

/// A sheet the caller is asked to fill.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TaskItem {
    pub compound: String,
    pub compound_name: String,
    pub company: Uuid,
    pub company_name: String,
    pub evaluator: &'static str,
    /// The sheet already submitted this quarter (a new submit edits it).
    pub sheet: Option<Sheet>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Tasks {
    pub period: String,
    /// The criteria, code and label.
    pub criteria: Vec<(String, String)>,
    pub items: Vec<TaskItem>,
}

#[utoipa::path(get, path = "/api/v1/property/tasks", tag = "property", params(PeriodQuery),
    responses((status = 200, body = Tasks), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn tasks(State(s): State<PropertyState>, p: Principal, Query(q): Query<PeriodQuery>) -> AppResult<Json<Tasks>> {
    let period = service::period(q.period.as_deref())?;
    let items = service::tasks(&s.db, &p, period).await?;
    Ok(Json(Tasks {
        period: period.to_string(),
        criteria: CRITERIA.iter().map(|(c, l)| (c.to_string(), l.to_string())).collect(),
        items: items
            .into_iter()
            .map(|t| TaskItem {
                compound: t.compound,
                compound_name: t.compound_name,
                company: t.company,
                company_name: t.company_name,
                evaluator: t.evaluator.as_str(),
                sheet: t.sheet.map(sheet),
            })
            .collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/property/scores", tag = "property", request_body = NewSheet,
    responses((status = 200, body = Sheet), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn submit(State(s): State<PropertyState>, p: Principal, Json(n): Json<NewSheet>) -> AppResult<Json<Sheet>> {
    Ok(Json(sheet(service::submit(&s.db, &p, &n).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Correction {
    pub id: Uuid,
    pub period: String,
    pub company: Uuid,
    pub name: String,
    /// 整改期限.
    pub due: String,
    pub done: bool,
    pub done_at: Option<String>,
    pub note: String,
    pub done_by: String,
}

pub fn correction(c: CorrectionRow) -> Correction {
    Correction {
        id: c.id,
        period: c.period,
        company: c.company_id,
        name: c.name,
        due: c.due_on,
        done: c.done_at.is_some(),
        done_at: c.done_at.map(rfc3339_ms),
        note: c.note,
        done_by: c.done_by,
    }
}

#[utoipa::path(get, path = "/api/v1/property/corrections", tag = "property", params(PeriodQuery),
    responses((status = 200, body = Vec<Correction>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn corrections(State(s): State<PropertyState>, p: Principal, Query(q): Query<PeriodQuery>) -> AppResult<Json<Vec<Correction>>> {
    reads_evaluations(&p)?;
    let period = service::period(q.period.as_deref())?;
    let rows = store::corrections(&s.db, &p.district, &period.to_string()).await?;
    Ok(Json(rows.into_iter().map(correction).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DoneInput {
    /// What was corrected, 2–500 characters.
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/property/corrections/{id}/done", tag = "property", params(("id" = Uuid, Path)), request_body = DoneInput,
    responses((status = 200, body = Correction), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn finish_correction(
    State(s): State<PropertyState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<DoneInput>,
) -> AppResult<Json<Correction>> {
    Ok(Json(correction(service::finish_correction(&s.db, &p, id, &n.note).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Settings {
    pub w_street: i64,
    pub w_community: i64,
    pub w_committee: i64,
    pub w_branch: i64,
    pub red_n: i64,
    pub black_n: i64,
    pub floor_score: i64,
    /// Percent.
    pub fee_threshold: f64,
}

fn settings_view(s: SettingsRow) -> Settings {
    Settings {
        w_street: s.w_street,
        w_community: s.w_community,
        w_committee: s.w_committee,
        w_branch: s.w_branch,
        red_n: s.red_n,
        black_n: s.black_n,
        floor_score: s.floor_score,
        fee_threshold: s.fee_threshold as f64 / 10.0,
    }
}

#[utoipa::path(get, path = "/api/v1/property/settings", tag = "property",
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn settings(State(s): State<PropertyState>, p: Principal) -> AppResult<Json<Settings>> {
    reads_evaluations(&p)?;
    Ok(Json(settings_view(store::settings(&s.db, &p.district).await?)))
}

#[utoipa::path(put, path = "/api/v1/property/settings", tag = "property", request_body = SettingsInput,
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn save_settings(State(s): State<PropertyState>, p: Principal, Json(i): Json<SettingsInput>) -> AppResult<Json<Settings>> {
    Ok(Json(settings_view(service::save_settings(&s.db, &p, &i).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Fee {
    pub compound: String,
    pub month: String,
    /// Percent, one decimal.
    pub rate: f64,
    pub entered_by: String,
    pub updated_at: String,
}

fn fee(f: FeeRow) -> Fee {
    Fee {
        compound: f.grid_code,
        month: f.month,
        rate: f.rate_permille as f64 / 10.0,
        entered_by: f.entered_by,
        updated_at: rfc3339_ms(f.updated_at),
    }
}

#[utoipa::path(post, path = "/api/v1/property/fees", tag = "property", request_body = NewFee,
    responses((status = 200, body = Fee), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn enter_fee(State(s): State<PropertyState>, p: Principal, Json(n): Json<NewFee>) -> AppResult<Json<Fee>> {
    Ok(Json(fee(service::enter_fee(&s.db, &p, &n).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CompoundQuery {
    /// The compound (小区 grid code).
    pub compound: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FeeTrend {
    pub compound: String,
    pub name: String,
    /// The last twelve months entered, oldest first.
    pub months: Vec<Fee>,
}

#[utoipa::path(get, path = "/api/v1/property/fees", tag = "property", params(CompoundQuery),
    responses((status = 200, body = FeeTrend), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fee_trend(State(s): State<PropertyState>, p: Principal, Query(q): Query<CompoundQuery>) -> AppResult<Json<FeeTrend>> {
    let (g, rows) = service::fee_trend(&s.db, &p, &q.compound).await?;
    Ok(Json(FeeTrend {
        compound: g.code,
        name: g.name,
        months: rows.into_iter().map(fee).collect(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct BelowQuery {
    /// A grid node; by default the caller's own.
    pub grid: Option<String>,
    /// The month, `2026-07`; by default the newest entered.
    pub month: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LowFee {
    pub compound: String,
    pub name: String,
    pub rate: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FeesBelow {
    pub month: Option<String>,
    /// The district's threshold, percent.
    pub threshold: f64,
    pub items: Vec<LowFee>,
}

#[utoipa::path(get, path = "/api/v1/property/fees/below", tag = "property", params(BelowQuery),
    responses((status = 200, body = FeesBelow), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn fees_below(State(s): State<PropertyState>, p: Principal, Query(q): Query<BelowQuery>) -> AppResult<Json<FeesBelow>> {
    let root = service::read_root(&p, q.grid.as_deref())?;
    let (month, threshold, rows) = low_fees(&s.db, &p.district, &root, q.month.as_deref()).await?;
    Ok(Json(FeesBelow {
        month,
        threshold: threshold as f64 / 10.0,
        items: rows
            .into_iter()
            .map(|(compound, name, r)| LowFee {
                compound,
                name,
                rate: r as f64 / 10.0,
            })
            .collect(),
    }))
}

type LowFees = (Option<String>, i64, Vec<(String, String, i64)>);

/// The compounds below the district's threshold in a month (by default the newest entered).
pub async fn low_fees(db: &crate::db::Db, district: &str, root: &str, month: Option<&str>) -> AppResult<LowFees> {
    let month = match month.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => Some(rules::parse_month(m).ok_or_else(|| AppError::invalid("invalid_month", "月份格式应为 2026-07"))?),
        None => store::latest_fee_month(db, district).await?,
    };
    let threshold = store::settings(db, district).await?.fee_threshold;
    let rows = match &month {
        Some(m) => store::fees_below(db, district, root, m, threshold).await?,
        None => Vec::new(),
    };
    Ok((month, threshold, rows))
}

/// A day for pages (`2026-10-31`) from an instant.
pub fn day(ms: i64) -> String {
    day_ms(ms)
}
