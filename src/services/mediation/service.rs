//! Dispute mediation operations, shared by the API, the pages and the demo: registering a dispute
//! with its parties and mediators, sessions, the outcome (an agreement, or a referral — to a
//! department, to court, or as a private case), the follow-up visit, and the street's counts.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Outcome, Status};
use super::store::{self, DisputeRow, SessionRow};
use crate::audit;
use crate::auth::{Capability, Principal};
use crate::cases::hooks::{HookFuture, OnReported};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::code_len;
use crate::services::ServicesState;

fn text(raw: &str, min: usize, max: usize, code: &'static str, what: &str) -> AppResult<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min || n > max {
        Err(AppError::invalid(code, format!("{what}应为{min}至{max}字")))
    } else {
        Ok(t.to_string())
    }
}

async fn audit_last(tx: &mut Tx, p: &Principal, action: &str, target: Uuid, detail: serde_json::Value) -> AppResult<()> {
    audit::record(
        tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action,
            target_kind: "dispute",
            target_id: &target.to_string(),
            reason: "",
            detail,
        },
    )
    .await?;
    Ok(())
}

/// The community a grid node lies in (its first 12 digits), if it is that deep.
pub fn community_of(grid: &str) -> Option<&str> {
    grid.get(..code_len(3))
}

fn today() -> jiff::civil::Date {
    crate::time::day_ms(now_ms()).parse().unwrap_or(jiff::civil::date(2026, 1, 1))
}

/// What the caller is to a dispute.
pub struct Access {
    /// One of its mediators: records sessions, the outcome and the follow-up.
    pub mediator: bool,
}

/// A dispute the caller may see: one of its mediators, or staff who manage its grid (community,
/// street, district). Anybody else: 404 if they manage some grid, else 403. Disputes are
/// private: nothing here is public.
pub async fn dispute_for(db: &Db, p: &Principal, id: Uuid) -> AppResult<(DisputeRow, Access)> {
    if let Some(d) = store::dispute(db, id).await?.filter(|d| d.district == p.district) {
        let mediator = store::mediators(db, id).await?.iter().any(|m| m.0 == p.user_id);
        if mediator || p.can(Capability::ManageGrid, &d.grid_code) {
            return Ok((d, Access { mediator }));
        }
    }
    if p.has(Capability::ManageGrid) {
        Err(AppError::not_found("该纠纷"))
    } else {
        Err(AppError::forbidden_to("该角色不能查看矛盾纠纷调解"))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewDispute {
    /// Where it arose: a community, compound or building.
    pub grid: String,
    /// neighbour, family, property, labour, other
    pub kind: String,
    /// What it is about, 2–1000 characters.
    pub summary: String,
    /// The parties' names (2–10 of them, 1–40 characters each); no ID numbers or phones are kept.
    pub parties: Vec<String>,
    /// Mediators: members of the community's mediation committee (the caller, if a member, is added).
    #[serde(default)]
    pub mediators: Vec<Uuid>,
}

pub async fn create(db: &Db, p: &Principal, n: &NewDispute) -> AppResult<DisputeRow> {
    let grid = crate::identity::half_width(n.grid.trim());
    let community = community_of(&grid).map(str::to_string);
    let member = match &community {
        Some(c) => store::on_committee(db, c, p.user_id).await?,
        None => false,
    };
    if !p.has(Capability::ManageGrid) && !member {
        return Err(AppError::forbidden_to(
            "只有人民调解委员会成员或社区、街道、区级工作人员可以登记纠纷",
        ));
    }
    let g = crate::grid::store::get(db, &grid)
        .await?
        .filter(|g| g.district == p.district && g.level >= 3 && (member || p.can(Capability::ManageGrid, &g.code)))
        .ok_or_else(|| AppError::not_found("该网格"))?;
    let community = community.unwrap_or_default();
    if !rules::KINDS.iter().any(|k| k.0 == n.kind) {
        return Err(AppError::invalid("invalid_kind", "纠纷类型应为邻里、婚姻家庭、物业、劳动或其他"));
    }
    let summary = text(&n.summary, 2, 1000, "invalid_summary", "纠纷简要情况")?;
    if !(2..=10).contains(&n.parties.len()) {
        return Err(AppError::invalid("invalid_parties", "当事人应为2至10人"));
    }
    let mut parties = Vec::new();
    for x in &n.parties {
        parties.push(text(x, 1, 40, "invalid_party", "当事人姓名")?);
    }
    let committee = store::committee(db, &community).await?;
    let mut team: Vec<(Uuid, String)> = Vec::new();
    if member {
        team.push((p.user_id, p.display_name.clone()));
    }
    for u in n.mediators.iter().take(10) {
        let m = committee
            .iter()
            .find(|c| c.0 == *u)
            .ok_or_else(|| AppError::invalid("not_a_mediator", "调解员应为本社区人民调解委员会成员"))?;
        if !team.iter().any(|t| t.0 == m.0) {
            team.push(m.clone());
        }
    }
    if team.is_empty() {
        return Err(AppError::invalid("mediator_required", "请至少指定一名本社区人民调解委员会成员"));
    }
    let now = now_ms();
    let id = new_id();
    let mut tx = db.begin().await?;
    store::insert(
        &mut tx,
        &store::NewDispute {
            id,
            district: &p.district,
            grid_code: &g.code,
            kind: &n.kind,
            summary: &summary,
            opened_month: &crate::time::month_ms(now),
            created_by: &p.display_name,
            now,
        },
        &parties,
        &team,
    )
    .await?;
    audit_last(
        &mut tx,
        p,
        "mediation.create",
        id,
        json!({"kind": n.kind, "grid": g.code, "mediators": team.len()}),
    )
    .await?;
    tx.commit().await?;
    store::dispute(db, id).await?.ok_or_else(|| AppError::not_found("该纠纷"))
}

async fn as_mediator(db: &Db, tx: &mut Tx, p: &Principal, id: Uuid) -> AppResult<DisputeRow> {
    let (_, a) = dispute_for(db, p, id).await?;
    if !a.mediator {
        return Err(AppError::forbidden_to("只有承办该纠纷的调解员可以记录"));
    }
    store::lock(tx, id).await?.ok_or_else(|| AppError::not_found("该纠纷"))
}

fn status(d: &DisputeRow) -> Status {
    Status::parse(&d.status).unwrap_or(Status::Referred)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSession {
    /// The day it was held, `2026-07-15`; not in the future.
    pub held_on: String,
    /// Notes, 2–2000 characters.
    pub note: String,
}

pub async fn add_session(db: &Db, p: &Principal, id: Uuid, n: &NewSession) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let d = as_mediator(db, &mut tx, p, id).await?;
    rules::may_add_session(status(&d)).map_err(|(c, m)| AppError::conflict(c, m))?;
    let day: jiff::civil::Date = crate::identity::half_width(n.held_on.trim())
        .parse()
        .map_err(|_| AppError::invalid("invalid_date", "日期格式应为 2026-07-15"))?;
    if day > today() || day.year() < 2000 {
        return Err(AppError::invalid("invalid_date", "日期不能晚于今天"));
    }
    let s = SessionRow {
        id: new_id(),
        held_on: day.to_string(),
        note: text(&n.note, 2, 2000, "invalid_note", "调解记录")?,
        recorded_by: p.display_name.clone(),
    };
    store::insert_session(&mut tx, id, &s, now_ms()).await?;
    audit_last(&mut tx, p, "mediation.session", id, json!({"session": s.id, "held_on": s.held_on})).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewOutcome {
    /// agreement or referral
    pub outcome: String,
    /// The agreement's terms (agreement), 2–2000 characters.
    #[serde(default)]
    pub terms: String,
    /// department, case or court (referral).
    #[serde(default)]
    pub referral: String,
    /// Where it went and why (referral), up to 500 characters.
    #[serde(default)]
    pub note: String,
}

/// Links the private case opened for a referral to the dispute, in the case's own transaction.
struct LinkReferral<'a> {
    dispute: Uuid,
    note: &'a str,
    follow_up_due: &'a str,
}

impl OnReported for LinkReferral<'_> {
    fn reported<'a>(&'a self, tx: &'a mut Tx, case_id: Uuid, _district: &'a str) -> HookFuture<'a> {
        Box::pin(async move {
            let ok = store::decide(
                tx,
                self.dispute,
                &store::Decided {
                    status: Status::Referred.as_str(),
                    terms: None,
                    referral: Some("case"),
                    referral_note: self.note,
                    case_id: Some(case_id),
                    follow_up_due: self.follow_up_due,
                    now: now_ms(),
                },
            )
            .await?;
            if !ok {
                return Err(AppError::conflict("dispute_closed", "该纠纷已有调解结果"));
            }
            Ok(())
        })
    }
}

pub async fn decide(s: &ServicesState, p: &Principal, id: Uuid, n: &NewOutcome) -> AppResult<DisputeRow> {
    let db = &s.db;
    // Who may, first: a refused caller learns nothing about the body.
    let mut tx = db.begin().await?;
    let d = as_mediator(db, &mut tx, p, id).await?;
    let o = match n.outcome.as_str() {
        "agreement" => Outcome::Agreement {
            terms: n.terms.trim().to_string(),
        },
        "referral" => Outcome::Referral {
            to: n.referral.clone(),
            note: n.note.trim().to_string(),
        },
        _ => {
            return Err(AppError::invalid(
                "invalid_outcome",
                "调解结果应为达成协议（agreement）或转办（referral）",
            ));
        }
    };
    let note = text(&n.note, 0, 500, "invalid_note", "转办说明")?;
    let due = rules::follow_up_due(today()).to_string();
    let to = rules::decide(status(&d), d.sessions as usize, &o).map_err(|(c, m)| {
        if c == "dispute_closed" {
            AppError::conflict(c, m)
        } else {
            AppError::invalid(c, m)
        }
    })?;
    if let Outcome::Referral { to: r, .. } = &o
        && r == "case"
    {
        // The case's own transaction writes the referral (through the hook), so the dispute and
        // its case are written together or not at all.
        tx.rollback().await?;
        let link = LinkReferral {
            dispute: id,
            note: &note,
            follow_up_due: &due,
        };
        let new = crate::cases::service::NewCase {
            category: "SQ08".into(),
            // No names and no summary: a case's description reaches whoever holds its tracking
            // code; the dispute's own page keeps the particulars.
            description: format!(
                "【矛盾纠纷调解转办】{}，调解未达成协议，详见社区调解卷宗",
                rules::kind_label(&d.kind)
            ),
            lat: None,
            lng: None,
            grid: Some(d.grid_code.clone()),
            source: None,
            reported_at: None,
            attributes: None,
            private: Some(true),
        };
        crate::cases::service::submit(
            &s.cases,
            crate::cases::service::Reporter::Council { by: p, on_reported: &link },
            &new,
            None,
        )
        .await?;
        return store::dispute(db, id).await?.ok_or_else(|| AppError::not_found("该纠纷"));
    }
    let (terms, referral) = match &o {
        Outcome::Agreement { terms } => (Some(terms.as_str()), None),
        Outcome::Referral { to, .. } => (None, Some(to.as_str())),
    };
    if !store::decide(
        &mut tx,
        id,
        &store::Decided {
            status: to.as_str(),
            terms,
            referral,
            referral_note: &note,
            case_id: None,
            follow_up_due: &due,
            now: now_ms(),
        },
    )
    .await?
    {
        return Err(AppError::conflict("dispute_closed", "该纠纷已有调解结果"));
    }
    audit_last(
        &mut tx,
        p,
        "mediation.outcome",
        id,
        json!({"status": to.as_str(), "referral": referral}),
    )
    .await?;
    tx.commit().await?;
    store::dispute(db, id).await?.ok_or_else(|| AppError::not_found("该纠纷"))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewFollowUp {
    /// What the visit found, 2–500 characters.
    pub note: String,
}

pub async fn follow_up(db: &Db, p: &Principal, id: Uuid, n: &NewFollowUp) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let d = as_mediator(db, &mut tx, p, id).await?;
    let due: jiff::civil::Date = d.follow_up_due.as_deref().and_then(|x| x.parse().ok()).unwrap_or(today());
    rules::may_follow_up(status(&d), d.followed_up_at.is_some(), due, today()).map_err(|(c, m)| AppError::conflict(c, m))?;
    let note = text(&n.note, 2, 500, "invalid_note", "回访情况")?;
    if !store::follow_up(&mut tx, id, &note, now_ms()).await? {
        return Err(AppError::conflict("followed_up", "已回访"));
    }
    audit_last(&mut tx, p, "mediation.follow_up", id, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

/// The node a list or count covers: the one asked for if the caller manages it, else their widest.
pub fn list_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    crate::services::scope_root(p, grid, Capability::ManageGrid, "该角色不能查看矛盾纠纷调解统计")
}
