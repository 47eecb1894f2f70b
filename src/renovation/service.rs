//! Renovation operations shared by the API and the pages: create a project, move its phase, add
//! and publish plan versions, open and close opinion rounds, record a household's view, report a
//! problem as a case; and who may see and do each.

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use super::RenovationState;
use super::rules::{self, AdvanceError, Phase, Tally, View};
use super::store::{self, ProjectRow, RoundRow};
use crate::audit;
use crate::auth::{Principal, Role};
use crate::cases::service::{NewCase, Reporter};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid;

/// The roots of the caller's grid posts (district admin: the district) with their levels.
fn grid_posts(p: &Principal) -> Vec<(String, i64)> {
    p.posts
        .iter()
        .filter(|x| x.role.is_grid_role())
        .filter_map(|x| {
            let level = x.role.grid_level()?;
            let root = match (&x.grid_code, x.role) {
                (Some(c), _) => c.clone(),
                (None, Role::DistrictAdmin) => p.district.clone(),
                (None, _) => return None,
            };
            Some((root, level))
        })
        .collect()
}

/// Whether the caller holds any grid post (the five grid levels); others are refused (403).
pub fn is_grid_staff(p: &Principal) -> bool {
    !grid_posts(p).is_empty()
}

/// The widest grid post over every compound of a project (`grid_code` in its subtree): the level
/// that manages it, if any.
pub fn manage_level(p: &Principal, project_grid: &str) -> Option<i64> {
    grid_posts(p)
        .into_iter()
        .filter(|(root, level)| project_grid.starts_with(root.as_str()) && rules::manages(*level))
        .map(|(_, l)| l)
        .min()
}

/// Does a grid post of the caller reach `code` (at or above it)?
pub fn covers(p: &Principal, code: &str) -> bool {
    grid_posts(p).iter().any(|(root, _)| code.starts_with(root.as_str()))
}

/// Does the caller see a project over `compounds`: a post at or above one of them, or inside one?
pub fn sees(p: &Principal, compounds: &[String]) -> bool {
    grid_posts(p).iter().any(|(root, _)| {
        compounds
            .iter()
            .any(|c| c.starts_with(root.as_str()) || root.starts_with(c.as_str()))
    })
}

/// A project with its compounds, as its reader may see it.
pub struct Loaded {
    pub project: ProjectRow,
    pub compounds: Vec<String>,
    /// The caller's managing level (community or above over the whole project).
    pub manage: Option<i64>,
}

impl Loaded {
    pub fn phase(&self) -> Phase {
        Phase::parse(&self.project.phase).unwrap_or(Phase::Planning)
    }

    fn must_manage(&self) -> AppResult<i64> {
        self.manage.ok_or_else(AppError::forbidden)
    }

    fn in_compounds(&self, code: &str) -> bool {
        self.compounds.iter().any(|c| code.starts_with(c.as_str()))
    }
}

/// Load a project the caller sees; one without a grid post is refused, a project out of scope is
/// "not found".
pub async fn load(db: &Db, p: &Principal, id: Uuid) -> AppResult<Loaded> {
    if !is_grid_staff(p) {
        return Err(AppError::forbidden());
    }
    let project = store::get(db, &p.district, id)
        .await?
        .ok_or_else(|| AppError::not_found("改造项目"))?;
    let compounds = store::compounds(db, id).await?;
    if !sees(p, &compounds) {
        return Err(AppError::not_found("改造项目"));
    }
    let manage = manage_level(p, &project.grid_code);
    Ok(Loaded {
        project,
        compounds,
        manage,
    })
}

/// The node a list is for: the one asked for (which the caller must reach), else the caller's
/// widest post. A building's list is its compound's.
pub async fn list_node(db: &Db, p: &Principal, grid: Option<&str>) -> AppResult<String> {
    if !is_grid_staff(p) {
        return Err(AppError::forbidden());
    }
    let code = match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => {
            if !covers(p, g) {
                return Err(AppError::not_found("网格"));
            }
            let node = grid::store::get(db, g)
                .await?
                .filter(|n| n.district == p.district)
                .ok_or_else(|| AppError::not_found("网格"))?;
            node.code
        }
        None => grid_posts(p)
            .into_iter()
            .min_by_key(|(_, l)| *l)
            .map(|(r, _)| r)
            .unwrap_or_default(),
    };
    // A building (level 5, 18 digits) lists its compound's projects.
    Ok(if code.len() > 15 { code[..15].to_string() } else { code })
}

/// What a creator sends.
#[derive(Debug, Clone, Default)]
pub struct NewProject {
    pub title: String,
    pub summary: String,
    pub compounds: Vec<String>,
}

/// Create a project (规划) over one or more compounds under one street; street or community staff
/// (or the district) whose post covers them all.
pub async fn create(db: &Db, p: &Principal, input: &NewProject) -> AppResult<Uuid> {
    if !grid_posts(p).iter().any(|(_, l)| rules::manages(*l)) {
        return Err(AppError::forbidden());
    }
    let mut codes: Vec<String> = input
        .compounds
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    codes.sort();
    codes.dedup();
    if codes.is_empty() || codes.len() > rules::COMPOUNDS_MAX {
        return Err(AppError::invalid(
            "invalid_compounds",
            format!("请选择1至{}个小区", rules::COMPOUNDS_MAX),
        ));
    }
    for c in &codes {
        if !covers(p, c) {
            return Err(AppError::not_found("小区"));
        }
        let node = grid::store::get(db, c)
            .await?
            .filter(|n| n.district == p.district)
            .ok_or_else(|| AppError::not_found("小区"))?;
        if node.level != 4 {
            return Err(AppError::invalid("not_a_compound", format!("「{}」不是小区", node.name)));
        }
    }
    let node = rules::common_node(&codes)
        .filter(|n| n.len() >= 9)
        .ok_or_else(|| AppError::invalid("compounds_not_in_one_street", "项目的小区应在同一街道内"))?;
    if manage_level(p, &node).is_none() {
        return Err(AppError::forbidden());
    }
    let title = rules::clean_text(&input.title, rules::TITLE_MAX, 2).map_err(|m| AppError::invalid("invalid_title", format!("标题{m}")))?;
    let summary =
        rules::clean_text(&input.summary, rules::SUMMARY_MAX, 0).map_err(|m| AppError::invalid("invalid_summary", format!("简介{m}")))?;
    let id = new_id();
    let mut tx = db.begin().await?;
    store::insert_project(
        &mut tx,
        &store::NewProject {
            id,
            district: &p.district,
            grid_code: &node,
            title: &title,
            summary: &summary,
            actor_name: &p.display_name,
            at: now_ms(),
        },
        &codes,
    )
    .await?;
    let id_text = id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.create",
            target_kind: "renovation",
            target_id: &id_text,
            reason: "",
            detail: json!({"grid": node, "compounds": codes}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Move the project one phase forward ([`rules::advance`]); leaving 征求意见 closes its open round.
pub async fn advance(db: &Db, p: &Principal, l: &Loaded, to: &str) -> AppResult<Phase> {
    let level = l.must_manage()?;
    let to = Phase::parse(to.trim())
        .ok_or_else(|| AppError::invalid("invalid_phase", "阶段应为 planning、consultation、construction、acceptance 或 done"))?;
    let from = l.phase();
    match rules::advance(from, to, level) {
        Ok(()) => {}
        Err(AdvanceError::NotNext) => {
            return Err(AppError::conflict(
                "not_next_phase",
                format!("项目现处于「{}」阶段，只能进入下一阶段", from.label()),
            ));
        }
        Err(AdvanceError::TooLow) => {
            return Err(AppError::new(
                axum::http::StatusCode::FORBIDDEN,
                "phase_needs_street",
                format!("「{}」→「{}」须由街道确认", from.label(), to.label()),
            ));
        }
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    if !store::set_phase(&mut tx, l.project.id, from.as_str(), to.as_str(), &p.display_name, now).await? {
        return Err(AppError::conflict("phase_changed", "项目阶段已被他人更新，请刷新"));
    }
    let mut closed = None;
    if from == Phase::Consultation
        && let Some(r) = store::open_round_in(&mut tx, l.project.id).await?
    {
        store::close_round(&mut tx, r.id, now).await?;
        closed = Some(r.number);
    }
    let id = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.advance",
            target_kind: "renovation",
            target_id: &id,
            reason: "",
            detail: json!({"from": from.as_str(), "to": to.as_str(), "closed_round": closed}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(to)
}

/// A new design plan version (v1, v2 …); a plan is not revised once the project is done.
pub async fn add_plan(db: &Db, p: &Principal, l: &Loaded, text: &str) -> AppResult<i64> {
    l.must_manage()?;
    let body = rules::clean_text(text, rules::PLAN_MAX, 2).map_err(|m| AppError::invalid("invalid_plan", format!("方案内容{m}")))?;
    if l.phase() == Phase::Done {
        return Err(AppError::conflict("project_done", "项目已完成，不能再修改方案"));
    }
    let mut tx = db.begin().await?;
    let version = store::insert_plan(&mut tx, &l.project, new_id(), &body, &p.display_name, now_ms()).await?;
    let id = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.plan",
            target_kind: "renovation",
            target_id: &id,
            reason: "",
            detail: json!({"version": version}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(version)
}

/// Publish a version (公示); the one before is no longer the published one. False when it already was.
pub async fn publish(db: &Db, p: &Principal, l: &Loaded, version: i64) -> AppResult<bool> {
    l.must_manage()?;
    if !(1..=10_000).contains(&version) {
        return Err(AppError::not_found("方案版本"));
    }
    let mut tx = db.begin().await?;
    store::lock_project(&mut tx, l.project.id, now_ms()).await?;
    let exists = store::plans(db, l.project.id).await?.iter().any(|x| x.version == version);
    if !exists {
        return Err(AppError::not_found("方案版本"));
    }
    if !store::publish(&mut tx, l.project.id, version).await? {
        return Ok(false);
    }
    let id = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.publish",
            target_kind: "renovation",
            target_id: &id,
            reason: "",
            detail: json!({"version": version}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Open a round (征求意见) on the published plan: only in 征求意见, one at a time.
pub async fn open_round(db: &Db, p: &Principal, l: &Loaded) -> AppResult<(Uuid, i64)> {
    l.must_manage()?;
    if l.phase() != Phase::Consultation {
        return Err(AppError::conflict("not_in_consultation", "只有在「征求意见」阶段才能发起征求意见"));
    }
    let published = store::plans(db, l.project.id)
        .await?
        .into_iter()
        .find(|x| x.published)
        .ok_or_else(|| AppError::conflict("no_published_plan", "请先公示一个设计方案版本"))?;
    let now = now_ms();
    let id = new_id();
    let mut tx = db.begin().await?;
    store::lock_project(&mut tx, l.project.id, now).await?;
    if store::open_round_in(&mut tx, l.project.id).await?.is_some() {
        return Err(AppError::conflict("round_open", "已有一轮征求意见正在进行"));
    }
    let number = store::open_round(&mut tx, &l.project, id, published.version, now).await?;
    let pid = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.round_open",
            target_kind: "renovation",
            target_id: &pid,
            reason: "",
            detail: json!({"round": number, "plan_version": published.version}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((id, number))
}

/// Close the open round.
pub async fn close_round(db: &Db, p: &Principal, l: &Loaded) -> AppResult<i64> {
    l.must_manage()?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    store::lock_project(&mut tx, l.project.id, now).await?;
    let r = store::open_round_in(&mut tx, l.project.id)
        .await?
        .ok_or_else(|| AppError::conflict("no_open_round", "没有正在进行的征求意见"))?;
    store::close_round(&mut tx, r.id, now).await?;
    let pid = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.round_close",
            target_kind: "renovation",
            target_id: &pid,
            reason: "",
            detail: json!({"round": r.number}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(r.number)
}

/// What a building head records.
#[derive(Debug, Clone, Default)]
pub struct NewView {
    pub household: Uuid,
    pub view: String,
    pub note: String,
}

/// Record a household's view in the open round (one per household; recording again replaces
/// it). The recorder's grid post must reach the household's building (a building officer, the
/// compound leader, the community …).
pub async fn record_view(db: &Db, p: &Principal, l: &Loaded, input: &NewView) -> AppResult<bool> {
    let hh = crate::registry::residents::household(db, input.household)
        .await?
        .filter(|h| h.district == p.district && l.in_compounds(&h.grid_code))
        .ok_or_else(|| AppError::not_found("住户"))?;
    if !covers(p, &hh.grid_code) {
        return Err(AppError::not_found("住户"));
    }
    let view = View::parse(input.view.trim())
        .ok_or_else(|| AppError::invalid("invalid_view", "意见应为 agree（同意）、disagree（不同意）或 suggestion（有建议）"))?;
    let min = if view == View::Suggestion { 2 } else { 0 };
    let note =
        rules::clean_text(&input.note, rules::NOTE_MAX, min).map_err(|m| AppError::invalid("invalid_note", format!("建议内容{m}")))?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    store::lock_project(&mut tx, l.project.id, now).await?;
    let round = store::open_round_in(&mut tx, l.project.id)
        .await?
        .ok_or_else(|| AppError::conflict("no_open_round", "没有正在进行的征求意见"))?;
    let before = store::upsert_view(
        &mut tx,
        &store::NewView {
            round: round.id,
            household: hh.id,
            district: &p.district,
            building: &hh.grid_code,
            view: view.as_str(),
            note: &note,
            actor_name: &p.display_name,
            at: now,
        },
    )
    .await?;
    let pid = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.view",
            target_kind: "renovation",
            target_id: &pid,
            reason: "",
            detail: json!({"round": round.number, "household": hh.id, "building": hh.grid_code, "view": view.as_str(), "before": before}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(before.is_none())
}

/// What a reporter of a problem sends.
#[derive(Debug, Clone, Default)]
pub struct NewProblem {
    pub category: String,
    pub description: String,
    /// A node inside the project's compounds (default: its first compound).
    pub grid: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// Report a problem found in the work (两违, 圈地种菜 …) as a case (source `officer`, through the
/// cases feature), then link it to the project. The case is written in its own transaction, as
/// every report is; the link and its audit row follow in a second one.
pub async fn report(s: &RenovationState, p: &Principal, l: &Loaded, input: &NewProblem) -> AppResult<Uuid> {
    let grid = match input.grid.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => {
            if !l.in_compounds(g) || !sees(p, &[g.to_string()]) {
                return Err(AppError::not_found("网格"));
            }
            g.to_string()
        }
        None => l.compounds.first().cloned().ok_or_else(|| AppError::not_found("小区"))?,
    };
    let (case, _) = crate::cases::service::submit(
        &s.cases,
        Reporter::User(p),
        &NewCase {
            category: input.category.clone(),
            description: input.description.clone(),
            lat: input.lat,
            lng: input.lng,
            grid: Some(grid.clone()),
            source: Some("officer".into()),
            reported_at: None,
            attributes: None,
            private: None,
        },
        None,
    )
    .await?;
    let mut tx = s.db.begin().await?;
    store::link_case(&mut tx, l.project.id, case.id, &p.district, now_ms()).await?;
    let pid = l.project.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "renovation.report",
            target_kind: "renovation",
            target_id: &pid,
            reason: "",
            detail: json!({"case": case.id, "tracking_code": case.tracking_code, "grid": grid}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(case.id)
}

/// A round's tallies per building (by SQL) and overall.
pub struct RoundTally {
    pub round: Option<RoundRow>,
    pub buildings: Vec<(String, Tally)>,
    pub overall: Tally,
}

/// The tallies of the current round (the open one, else the last), or of nobody asked yet.
pub async fn current_tally(db: &Db, project: Uuid) -> AppResult<RoundTally> {
    let round = store::rounds(db, project).await?.into_iter().last();
    let rows = store::tally(db, project, round.as_ref().map(|r| r.id)).await?;
    let mut overall = Tally::default();
    let buildings = rows
        .into_iter()
        .map(|r| {
            let t = r.tally();
            overall.add(&t);
            (r.building_code, t)
        })
        .collect();
    Ok(RoundTally { round, buildings, overall })
}

/// The same tallies from the pure function (the test compares the two).
pub async fn pure_tally(db: &Db, project: Uuid, round: Uuid) -> AppResult<(Vec<(String, Tally)>, Tally)> {
    let hh = store::households(db, project).await?;
    let views: HashMap<Uuid, View> = store::views(db, round)
        .await?
        .into_iter()
        .filter_map(|(h, v)| View::parse(&v).map(|v| (h, v)))
        .collect();
    let (per, all) = rules::tally(&hh, &views);
    Ok((per.into_iter().collect(), all))
}
