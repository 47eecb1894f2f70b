//! Frontage API (门前三包): agreements of the caller's scope, one agreement with its checks, a
//! patrol's check (JSON, the photo as base64), and compliance for a grid node and month.

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::FrontageState;
use super::rules::{self, Results, Step};
use super::service::{self, NewAgreement, NewCheck};
use super::store::{AgreementRow, CheckRow};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::PageQuery;
use crate::web::extract::{Json, Path, Query};

/// An agreement (责任书); the signer's phone is masked.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Agreement {
    pub id: Uuid,
    pub grid: String,
    pub street: String,
    pub shop_name: String,
    pub address: String,
    pub signer_name: String,
    /// Masked (138****5678).
    pub signer_phone: String,
    pub party_name: String,
    pub segment: String,
    /// sanitation, orderliness, greenery.
    pub duties: Vec<&'static str>,
    /// 包卫生、包秩序、包绿化.
    pub duties_label: String,
    pub signed_on: String,
    pub term_months: i64,
    pub ends_on: String,
    pub from: Option<[f64; 2]>,
    pub to: Option<[f64; 2]>,
}

pub fn agreement_view(a: &AgreementRow) -> Agreement {
    let ends = a
        .signed_on
        .parse::<jiff::civil::Date>()
        .map(|d| rules::ends_on(d, a.term_months).to_string())
        .unwrap_or_default();
    Agreement {
        id: a.id,
        grid: a.grid_code.clone(),
        street: a.street_code.clone(),
        shop_name: a.shop_name.clone(),
        address: a.address.clone(),
        signer_name: a.signer_name.clone(),
        signer_phone: crate::identity::mask_phone(&a.signer_phone),
        party_name: a.party_name.clone(),
        segment: a.segment.clone(),
        duties: rules::DUTIES.iter().filter(|d| a.duties & d.0 != 0).map(|d| d.1).collect(),
        duties_label: rules::duty_labels(a.duties),
        signed_on: a.signed_on.clone(),
        term_months: a.term_months,
        ends_on: ends,
        from: a.from_lat.zip(a.from_lng).map(|(x, y)| [x, y]),
        to: a.to_lat.zip(a.to_lng).map(|(x, y)| [x, y]),
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// A grid node; by default all of the caller's.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AgreementPage {
    pub items: Vec<Agreement>,
    pub total: i64,
}

#[utoipa::path(get, path = "/api/v1/frontage/agreements", tag = "frontage", params(ListQuery),
    responses((status = 200, body = AgreementPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<FrontageState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<AgreementPage>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (rows, total) = service::agreements(&s.cases.db, &p, q.grid.as_deref(), limit, offset).await?;
    Ok(Json(AgreementPage {
        items: rows.iter().map(agreement_view).collect(),
        total,
    }))
}

#[utoipa::path(post, path = "/api/v1/frontage/agreements", tag = "frontage", request_body = NewAgreement,
    responses((status = 201, body = Agreement), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(State(s): State<FrontageState>, p: Principal, Json(a): Json<NewAgreement>) -> AppResult<(StatusCode, Json<Agreement>)> {
    let row = service::create_agreement(&s.cases.db, &p, &a).await?;
    Ok((StatusCode::CREATED, Json(agreement_view(&row))))
}

/// A patrol's check.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Check {
    pub id: Uuid,
    pub agreement: Uuid,
    pub checked_at: String,
    pub checker: String,
    pub sanitation: Option<bool>,
    pub orderliness: Option<bool>,
    pub greenery: Option<bool>,
    pub passed: bool,
    pub note: String,
    pub photo: bool,
}

fn check_view(c: &CheckRow) -> Check {
    Check {
        id: c.id,
        agreement: c.agreement_id,
        checked_at: rfc3339_ms(c.checked_at),
        checker: c.checker_name.clone(),
        sanitation: c.sanitation.map(|v| v != 0),
        orderliness: c.orderliness.map(|v| v != 0),
        greenery: c.greenery.map(|v| v != 0),
        passed: c.passed,
        note: c.note.clone(),
        photo: c.photo_sha256.is_some(),
    }
}

/// An agreement with its latest checks and this month's notices.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgreementDetail {
    pub agreement: Agreement,
    pub checks: Vec<Check>,
    /// notice or case, per month.
    pub notices: Vec<NoticeOut>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NoticeOut {
    pub month: String,
    /// notice or case.
    pub kind: String,
    pub case: Option<Uuid>,
    pub message: String,
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/frontage/agreements/{id}", tag = "frontage", params(("id" = Uuid, Path)),
    responses((status = 200, body = AgreementDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_one(State(s): State<FrontageState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<AgreementDetail>> {
    if !p.has(crate::auth::Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看门前三包"));
    }
    let a = service::agreement_to_read(&s.cases.db, &p, id).await?;
    let checks = super::store::checks_of(&s.cases.db, a.id, 100).await?;
    let notices = super::store::notices_of(&s.cases.db, a.id).await?;
    Ok(Json(AgreementDetail {
        agreement: agreement_view(&a),
        checks: checks.iter().map(check_view).collect(),
        notices: notices
            .into_iter()
            .map(|n| NoticeOut {
                month: n.month,
                kind: n.kind,
                case: n.case_id,
                message: n.message,
                created_at: rfc3339_ms(n.created_at),
            })
            .collect(),
    }))
}

/// A check as the phone sends it: each duty of the agreement `true` (合格) or `false`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CheckInput {
    pub sanitation: Option<bool>,
    pub orderliness: Option<bool>,
    pub greenery: Option<bool>,
    /// Up to 500 characters.
    #[serde(default)]
    pub note: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// A JPEG or PNG photo, base64 (required when a duty fails; at most 10 MB).
    #[schema(max_length = 14_000_000)]
    pub photo_base64: Option<String>,
}

/// What a check brought.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Checked {
    pub check: Check,
    /// Failed checks of the shop this month, this one included.
    pub failures_this_month: i64,
    /// none, notice (整改通知) or case.
    pub step: &'static str,
    pub case: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/frontage/agreements/{id}/checks", tag = "frontage", params(("id" = Uuid, Path)), request_body = CheckInput,
    responses((status = 201, body = Checked), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check(
    State(s): State<FrontageState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(c): Json<CheckInput>,
) -> AppResult<(StatusCode, Json<Checked>)> {
    let photo = match c.photo_base64.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
        None => None,
        Some(b) if b.len() > 14_000_000 => {
            return Err(AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "照片不超过10MB"));
        }
        Some(b) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|_| AppError::invalid("invalid_photo", "照片应为 base64 编码的 JPEG 或 PNG"))?,
        ),
    };
    let input = NewCheck {
        results: Results {
            sanitation: c.sanitation,
            orderliness: c.orderliness,
            greenery: c.greenery,
        },
        note: c.note,
        lat: c.lat,
        lng: c.lng,
    };
    let r = service::record_check(&s.cases, &p, id, &input, photo.as_deref()).await?;
    Ok((
        StatusCode::CREATED,
        Json(Checked {
            check: check_view(&r.check),
            failures_this_month: r.failures,
            step: match r.step {
                Step::Nothing => "none",
                Step::Notice => "notice",
                Step::Case => "case",
            },
            case: r.case_id,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ComplianceQuery {
    /// A grid node (street, community …); by default the caller's widest.
    pub grid: Option<String>,
    /// YYYY-MM (China time); default this month.
    pub month: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub code: String,
    pub name: String,
    pub checks: i64,
    pub passed: i64,
    /// passed / checks, 0–1; null without checks.
    pub rate: Option<f64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ComplianceOut {
    pub grid: String,
    pub name: String,
    pub month: String,
    pub checks: i64,
    pub passed: i64,
    pub rate: Option<f64>,
    /// Per child node (a district's streets, a street's communities …).
    pub children: Vec<Rate>,
    /// Per shop (code is the agreement's id), the lowest rate first.
    pub shops: Vec<Rate>,
}

fn rate(l: &service::ComplianceLine) -> Rate {
    Rate {
        code: l.code.clone(),
        name: l.name.clone(),
        checks: l.figures.checks,
        passed: l.figures.passed,
        rate: l.figures.rate(),
    }
}

#[utoipa::path(get, path = "/api/v1/frontage/compliance", tag = "frontage", params(ComplianceQuery),
    responses((status = 200, body = ComplianceOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn compliance(State(s): State<FrontageState>, p: Principal, Query(q): Query<ComplianceQuery>) -> AppResult<Json<ComplianceOut>> {
    let r = service::compliance(&s.cases.db, &p, q.grid.as_deref(), q.month.as_deref()).await?;
    Ok(Json(ComplianceOut {
        grid: r.root.clone(),
        name: r.root_name.clone(),
        month: r.month.clone(),
        checks: r.total.checks,
        passed: r.total.passed,
        rate: r.total.rate(),
        children: r.children.iter().map(rate).collect(),
        shops: r.shops.iter().map(rate).collect(),
    }))
}
