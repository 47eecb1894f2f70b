//! Points API: the district's rules, the ledger's transactions, corrections, the whole-ledger
//! audit and summaries by team, community and month.

use super::page;
use crate::auth::{Capability, Principal, Role};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::volunteers::VolunteersState;
use crate::volunteers::ledger::AccountKind;
use crate::volunteers::service::{load_shop, may_manage_shop, my_volunteer, refuse, scope, visible_volunteer};
use crate::volunteers::shops::{self};
use crate::volunteers::store::{self, Correction, PostingRow, RuleRow, SummaryBy, SummaryRow};
use crate::web::api::Paged;
use crate::web::extract::{Json, Path, Query};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[utoipa::path(get, path = "/api/v1/points/rules", tag = "points",
    responses((status = 200, body = Vec<RuleRow>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_rules(State(s): State<VolunteersState>, p: Principal) -> AppResult<Json<Vec<RuleRow>>> {
    Ok(Json(store::rules_of(&s.db, &p.district).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RuleUpdate {
    pub points: i64,
    pub name: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/points/rules/{code}", tag = "points", params(("code" = String, Path, description = "volunteer_hour, case_reported, council_meeting, activity_organised")),
    request_body = RuleUpdate,
    responses((status = 200, body = RuleRow), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_rule(
    State(s): State<VolunteersState>,
    p: Principal,
    Path(code): Path<String>,
    Json(up): Json<RuleUpdate>,
) -> AppResult<Json<RuleRow>> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden());
    }
    Ok(Json(
        store::set_rule(&s.db, p.actor(), &p.district, &code, up.points, up.name.as_deref()).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Transaction {
    pub id: Uuid,
    pub at: String,
    /// earn, redeem or correction
    pub kind: String,
    /// The rule (for earnings), the item (for redemptions) or the staff's reason (corrections).
    pub reason: String,
    /// What it was for, by name: 活动「…」 for service time, 上报问题 TRACKING for a case, the
    /// shop for a redemption; empty when the source says nothing more.
    pub subject: String,
    pub source_kind: String,
    pub source_id: String,
    /// The transaction this one compensates.
    pub reverses: Option<Uuid>,
    pub actor: String,
    pub postings: Vec<PostingRow>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LedgerQuery {
    /// A volunteer's transactions (a volunteer sees their own by default).
    pub volunteer: Option<Uuid>,
    /// A shop's transactions (its keepers, or shop managers in scope).
    pub shop: Option<Uuid>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// Whose transactions a points-ledger query reads (the list and its Excel ledger): a volunteer's,
/// a shop's, the whole district's for auditors, else the caller's own.
pub async fn ledger_account(s: &VolunteersState, p: &Principal, q: &LedgerQuery) -> AppResult<Option<Uuid>> {
    Ok(match (q.volunteer, q.shop) {
        (Some(v), _) => {
            let v = visible_volunteer(s, p, v).await?;
            Some(v.account_id.unwrap_or_else(Uuid::nil))
        }
        (None, Some(sh)) => {
            let shop = load_shop(s, p, sh).await?;
            if !may_manage_shop(p, &shop) {
                return Err(refuse(p, Capability::ManageShops, "爱心超市或商家"));
            }
            Some(
                store::account_of(&s.db, &p.district, AccountKind::Shop, shop.id)
                    .await?
                    .map(|a| a.0)
                    .unwrap_or_else(Uuid::nil),
            )
        }
        (None, None) if p.has(Capability::ReadAudit) => None,
        (None, None) => Some(my_volunteer(s, p).await?.account_id.unwrap_or_else(Uuid::nil)),
    })
}

#[utoipa::path(get, path = "/api/v1/points/transactions", tag = "points", params(LedgerQuery),
    responses((status = 200, body = Paged<Transaction>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_transactions(
    State(s): State<VolunteersState>,
    p: Principal,
    Query(q): Query<LedgerQuery>,
) -> AppResult<Json<Paged<Transaction>>> {
    let (limit, offset) = page(q.page, q.per_page)?;
    let account = ledger_account(&s, &p, &q).await?;
    let (rows, total) = store::transactions(&s.db, &p.district, account, limit, offset).await?;
    let items = rows
        .into_iter()
        .map(|(t, postings)| Transaction {
            id: t.id,
            at: rfc3339_ms(t.at_ms),
            kind: t.kind,
            reason: t.reason,
            subject: t.subject,
            source_kind: t.source_kind,
            source_id: t.source_id,
            reverses: t.reverses_id,
            actor: t.actor_name,
            postings,
        })
        .collect();
    Ok(Json(Paged { items, total }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CorrectionInput {
    /// Reverse this transaction exactly…
    pub transaction: Option<Uuid>,
    /// …or move `points` (signed) between the issuing account and this volunteer.
    pub volunteer: Option<Uuid>,
    pub points: Option<i64>,
    /// Why (kept in the ledger and the audit log).
    pub reason: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CorrectionOut {
    pub id: Uuid,
    pub reverses: Option<Uuid>,
    pub postings: Vec<PostingRow>,
}

#[utoipa::path(post, path = "/api/v1/points/corrections", tag = "points", request_body = CorrectionInput,
    responses((status = 201, body = CorrectionOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn correct(
    State(s): State<VolunteersState>,
    p: Principal,
    Json(input): Json<CorrectionInput>,
) -> AppResult<(StatusCode, Json<CorrectionOut>)> {
    if !p.has(Capability::CorrectPoints) {
        return Err(AppError::forbidden());
    }
    let reason = input.reason.trim();
    if !(2..=200).contains(&reason.chars().count()) {
        return Err(AppError::invalid("reason_required", "请填写更正原因（2至200字）"));
    }
    let target = match (input.transaction, input.volunteer, input.points) {
        (Some(t), None, None) => {
            let tx = store::transaction(&s.db, t)
                .await?
                .filter(|x| x.district == p.district)
                .ok_or_else(|| AppError::not_found("积分交易"))?;
            // Every volunteer and shop it touches must be within the caller's reach.
            for x in store::postings(&s.db, tx.id).await? {
                let grid = match x.account_kind.as_str() {
                    "volunteer" => store::volunteer(&s.db, x.owner_id).await?.map(|v| v.grid_code),
                    "shop" => shops::shop(&s.db, x.owner_id).await?.map(|v| v.grid_code),
                    _ => Some(p.district.clone()),
                };
                let ok = match grid {
                    Some(g) if x.account_kind == "issuer" => p.can(Capability::CorrectPoints, &g) || g == p.district,
                    Some(g) => p.can(Capability::CorrectPoints, &g),
                    None => false,
                };
                if !ok {
                    return Err(AppError::not_found("积分交易"));
                }
            }
            Correction::Reverse(tx.id)
        }
        (None, Some(v), Some(points)) => {
            let v = store::volunteer(&s.db, v)
                .await?
                .filter(|x| x.district == p.district && p.can(Capability::CorrectPoints, &x.grid_code))
                .ok_or_else(|| AppError::not_found("志愿者"))?;
            // `abs` of i64::MIN overflows: compare the range instead.
            let max = crate::volunteers::rules::MAX_CORRECTION_POINTS;
            if points == 0 || !(-max..=max).contains(&points) {
                return Err(AppError::invalid(
                    "invalid_points",
                    format!(
                        "更正积分应为非零整数，绝对值不超过{}",
                        crate::volunteers::rules::MAX_CORRECTION_POINTS
                    ),
                ));
            }
            Correction::Adjust { volunteer: v.id, points }
        }
        _ => {
            return Err(AppError::invalid(
                "invalid_correction",
                "请给出要冲正的交易 transaction，或志愿者 volunteer 与积分 points",
            ));
        }
    };
    let reverses = match target {
        Correction::Reverse(t) => Some(t),
        _ => None,
    };
    let (id, postings) = store::correct(&s.db, p.actor(), &p.district, target, reason).await?;
    Ok((StatusCode::CREATED, Json(CorrectionOut { id, reverses, postings })))
}

/// The ledger re-checked from its postings.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LedgerAudit {
    pub transactions: i64,
    /// Sum of every posting: 0 in a sound ledger.
    pub postings_sum: i64,
    /// Volunteer or shop accounts below zero.
    pub negative_balances: Vec<Uuid>,
    /// Accounts whose cached balance differs from their postings.
    pub mismatched_balances: Vec<Uuid>,
    /// Transactions that do not sum to zero or have no postings.
    pub unbalanced_transactions: Vec<Uuid>,
    pub ok: bool,
}

pub fn audit_to_api(c: &crate::volunteers::ledger::Check) -> LedgerAudit {
    LedgerAudit {
        transactions: c.transactions,
        postings_sum: c.postings_sum,
        negative_balances: c.negative_balances.clone(),
        mismatched_balances: c.mismatched_balances.clone(),
        unbalanced_transactions: c.unbalanced.clone(),
        ok: c.is_sound(),
    }
}

#[utoipa::path(get, path = "/api/v1/points/audit", tag = "points",
    responses((status = 200, body = LedgerAudit), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
pub async fn audit_ledger(State(s): State<VolunteersState>, p: Principal) -> AppResult<Json<LedgerAudit>> {
    if !p.has(Capability::ReadAudit) {
        return Err(AppError::forbidden());
    }
    let c = store::audit_ledger(&s.db, Some(&p.district)).await?;
    Ok(Json(audit_to_api(&c)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SummaryQuery {
    /// team, community or month
    pub by: String,
    pub grid: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/points/summary", tag = "points", params(SummaryQuery),
    responses((status = 200, body = Vec<SummaryRow>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn summary(State(s): State<VolunteersState>, p: Principal, Query(q): Query<SummaryQuery>) -> AppResult<Json<Vec<SummaryRow>>> {
    let by = match q.by.as_str() {
        "team" => SummaryBy::Team,
        "community" => SummaryBy::Community,
        "month" => SummaryBy::Month,
        _ => return Err(AppError::invalid("invalid_by", "by 应为 team、community 或 month")),
    };
    let grid = scope(&s, &p, q.grid.as_deref(), Capability::ReadVolunteers).await?;
    Ok(Json(store::summary(&s.db, &s.summaries, &p.district, Some(&grid), by).await?))
}
