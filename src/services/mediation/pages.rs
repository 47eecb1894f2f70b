//! Dispute mediation pages (矛盾纠纷调解): the mediator's list and the area's disputes with the
//! counts per month and kind, a dispute's page (sessions, outcome, follow-up), and the printable
//! people's mediation agreement (人民调解协议书).

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::api::{self, Count, Dispute, DisputeDetail};
use super::rules;
use super::service::{self, NewDispute, NewFollowUp, NewOutcome, NewSession};
use super::store;
use crate::auth::Capability;
use crate::db::now_ms;
use crate::error::AppError;
use crate::services::ServicesState;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/console/services/mediation", get(hub).post(create))
        .route("/console/services/mediation/{id}", get(dispute_page))
        .route("/console/services/mediation/{id}/act", post(act))
        .route("/console/services/mediation/{id}/agreement", get(agreement))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    year: Option<i64>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

/// One month's row of the counts table: month, count per kind (in KINDS order), total, agreements.
struct MonthRow {
    month: String,
    per_kind: Vec<i64>,
    total: i64,
    agreements: i64,
}

fn table(counts: &[Count]) -> Vec<MonthRow> {
    let mut rows: Vec<MonthRow> = Vec::new();
    for c in counts {
        if rows.last().is_none_or(|r| r.month != c.month) {
            rows.push(MonthRow {
                month: c.month.clone(),
                per_kind: vec![0; rules::KINDS.len()],
                total: 0,
                agreements: 0,
            });
        }
        if let Some(r) = rows.last_mut() {
            if let Some(i) = rules::KINDS.iter().position(|k| k.0 == c.kind) {
                r.per_kind[i] += c.disputes;
            }
            r.total += c.disputes;
            r.agreements += c.agreements;
        }
    }
    rows
}

#[derive(Template, WebTemplate)]
#[template(path = "services_mediation.html")]
struct HubPage {
    chrome: Chrome,
    notice: String,
    error: String,
    mine: Vec<Dispute>,
    area: Vec<Dispute>,
    year: i64,
    kinds: Vec<(&'static str, &'static str)>,
    months: Vec<MonthRow>,
    /// Registering: the grid it defaults to, and the committee to pick mediators from.
    can_register: bool,
    default_grid: String,
    committee: Vec<(Uuid, String)>,
}

async fn hub(State(s): State<ServicesState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let mine = api::listed(&s.db, store::of_mediator(&s.db, p.user_id, 100).await?).await?;
    let staff = p.has(Capability::ManageGrid);
    if !staff && mine.is_empty() {
        return Err(AppError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", "您的岗位不使用矛盾纠纷调解").into());
    }
    let this_year: i64 = crate::time::month_ms(now_ms())
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2026);
    let year = q.year.filter(|y| (2000..=2100).contains(y)).unwrap_or(this_year);
    let (mut area, mut months, mut default_grid) = (Vec::new(), Vec::new(), String::new());
    if staff {
        let root = service::list_root(p, None)?;
        area = api::listed(&s.db, store::under(&s.db, &p.district, &root, 50).await?).await?;
        months = table(&api::count_rows(&s.db, p, &root, Some(year)).await?);
        default_grid = root;
    }
    let mut committee = Vec::new();
    if let Some(comm) = service::community_of(&default_grid) {
        committee = store::committee(&s.db, comm).await?;
    }
    Ok(HubPage {
        chrome: Chrome::new(&c, "矛盾纠纷调解", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        mine,
        area,
        year,
        kinds: rules::KINDS.to_vec(),
        months,
        can_register: staff && default_grid.len() >= 12,
        default_grid,
        committee,
    }
    .into_response())
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    grid: String,
    kind: String,
    summary: String,
    #[serde(default)]
    party1: String,
    #[serde(default)]
    party2: String,
    /// Empty for 本人 (the select's first option): a plain `Option<Uuid>` would refuse the form.
    #[serde(default)]
    mediator: String,
}

async fn create(State(s): State<ServicesState>, c: Console, Form(f): Form<CreateForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let mediators = match f.mediator.trim() {
        "" => Vec::new(),
        m => match Uuid::parse_str(m) {
            Ok(id) => vec![id],
            Err(_) => {
                return back_to(
                    "/console/services/mediation",
                    Err(AppError::invalid("invalid_mediator", "请选择调解员")),
                );
            }
        },
    };
    let n = NewDispute {
        grid: f.grid,
        kind: f.kind,
        summary: f.summary,
        parties: vec![f.party1, f.party2],
        mediators,
    };
    match service::create(&s.db, &c.principal, &n).await {
        Ok(d) => back_to(&format!("/console/services/mediation/{}", d.id), Ok("已登记纠纷")),
        Err(e) => back_to("/console/services/mediation", Err(e)),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "services_mediation_dispute.html")]
struct DisputePage {
    chrome: Chrome,
    notice: String,
    error: String,
    d: DisputeDetail,
    today: String,
    referrals: Vec<(&'static str, &'static str)>,
}

async fn dispute_page(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let (d, a) = service::dispute_for(&s.db, &c.principal, id).await?;
    let d = api::detail(&s.db, d, a.mediator).await?;
    Ok(DisputePage {
        chrome: Chrome::new(&c, "纠纷调解", "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        d,
        today: crate::time::day_ms(now_ms()),
        referrals: rules::REFERRALS.to_vec(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    /// session, agreement, referral, follow_up
    what: String,
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    terms: String,
    #[serde(default)]
    referral: String,
}

async fn act(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let p = &c.principal;
    let r: Result<&str, AppError> = match f.what.as_str() {
        "session" => service::add_session(
            &s.db,
            p,
            id,
            &NewSession {
                held_on: f.held_on,
                note: f.note,
            },
        )
        .await
        .map(|_| "已记录调解过程"),
        "agreement" | "referral" => service::decide(
            &s,
            p,
            id,
            &NewOutcome {
                outcome: f.what.clone(),
                terms: f.terms,
                referral: f.referral,
                note: f.note,
            },
        )
        .await
        .map(|_| "已记录调解结果"),
        "follow_up" => service::follow_up(&s.db, p, id, &NewFollowUp { note: f.note })
            .await
            .map(|_| "已记录回访"),
        _ => Err(AppError::invalid("unknown_action", "未知操作")),
    };
    back_to(&format!("/console/services/mediation/{id}"), r)
}

#[derive(Template, WebTemplate)]
#[template(path = "services_mediation_agreement.html")]
struct AgreementPage {
    d: DisputeDetail,
    day: String,
    terms: String,
}

/// The printable agreement (人民调解协议书): only for an agreed dispute, only for who may read it.
async fn agreement(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    let (d, a) = service::dispute_for(&s.db, &c.principal, id).await?;
    let terms = d
        .terms
        .clone()
        .filter(|_| d.status == "agreed")
        .ok_or_else(|| AppError::not_found("该调解协议"))?;
    let day = d.outcome_at.map(crate::time::day_ms).unwrap_or_default();
    Ok(AgreementPage {
        d: api::detail(&s.db, d, a.mediator).await?,
        day,
        terms,
    }
    .into_response())
}
