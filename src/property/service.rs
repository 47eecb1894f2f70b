//! Red property operations, shared by the API, the pages, the demo and the five-star feature:
//! coverage of a subtree and its 三无 list, evaluators' sheets, the quarter's ranking and its
//! publication with corrections, and fee collection rates — each scoped to the caller's posts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, CaseFigures, Coverage, Evaluator, Facts, List, ListRule, Quarter, Service, Tally};
use super::store::{self, CompoundRow, ScoreRow, SettingsRow};
use crate::audit;
use crate::auth::{Capability, Principal, Role};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::code_len;

/// Coverage of a subtree, for the five-star rule (a community with `covered < compounds` cannot
/// be awarded 共建共享).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CoverageSummary {
    pub compounds: i64,
    pub covered: i64,
    pub three_nos: i64,
}

/// One compound's coverage.
#[derive(Debug, Clone)]
pub struct CompoundCoverage {
    pub row: CompoundRow,
    pub party_branch: bool,
    pub c: Coverage,
}

impl CompoundCoverage {
    /// The map's class: covered, not covered, or 三无.
    pub fn class(&self) -> &'static str {
        if self.c.three_nos {
            "alarm"
        } else if self.c.covered {
            "calm"
        } else {
            "busy"
        }
    }
}

/// Every compound of the subtree with its coverage.
pub async fn coverage(db: &Db, district: &str, grid: &str) -> AppResult<Vec<CompoundCoverage>> {
    let rows = store::compounds_in(db, district, grid).await?;
    let branches = crate::party::service::compounds_with_branch(db, district, grid).await?;
    Ok(judge(rows, &branches))
}

/// [`coverage`] inside a transaction, which sees what it wrote (the demo's load, whose five-star
/// cards must agree with the coverage the pages will show).
pub async fn coverage_in(tx: &mut Tx, district: &str, grid: &str) -> AppResult<Vec<CompoundCoverage>> {
    let rows = store::compounds_in_tx(tx, district, grid).await?;
    let branches = crate::party::service::compounds_with_branch_in(tx, district, grid).await?;
    Ok(judge(rows, &branches))
}

fn judge(rows: Vec<CompoundRow>, branches: &BTreeSet<String>) -> Vec<CompoundCoverage> {
    rows.into_iter()
        .map(|row| {
            let party_branch = branches.contains(&row.code);
            let c = rules::coverage(Facts {
                has_company: row.company_id.is_some(),
                stored: row.service.as_deref().and_then(Service::parse_stored).unwrap_or(Service::None),
                owners_committee_unit: row.committee_unit && row.committee_lapsed != Some(true),
                party_branch,
                supervising_unit: row.supervising_unit_id.is_some(),
            });
            CompoundCoverage { row, party_branch, c }
        })
        .collect()
}

/// The figures of [`coverage`] for a subtree (a community, a street, the district).
pub async fn coverage_summary(db: &Db, district: &str, grid: &str) -> AppResult<CoverageSummary> {
    let t = tally(&coverage(db, district, grid).await?);
    Ok(CoverageSummary {
        compounds: t.compounds,
        covered: t.covered,
        three_nos: t.three_nos,
    })
}

pub fn tally(items: &[CompoundCoverage]) -> Tally {
    let mut t = Tally::default();
    for i in items {
        t.add(&i.c);
    }
    t
}

/// Figures per child of `grid` (streets of the district, communities of a street …).
pub fn tally_by_prefix(items: &[CompoundCoverage], len: usize) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for i in items {
        if let Some(k) = i.row.code.get(..len) {
            out.entry(k.to_string()).or_default().add(&i.c);
        }
    }
    out
}

/// The node a coverage read covers: the one asked for if the caller reads it, else their widest.
pub fn read_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看红色物业覆盖情况"));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .next()
            .ok_or_else(|| AppError::forbidden_to("该角色不能查看红色物业覆盖情况")),
    }
}

/// A compound the caller manages (ManageGrid over it: community, street, district), or 404/403.
async fn compound_to_manage(db: &Db, p: &Principal, code: &str) -> AppResult<crate::grid::GridRow> {
    if !p.has(Capability::ManageGrid) {
        return Err(AppError::forbidden_to("只有社区、街道或区级工作人员可以维护小区物业情况"));
    }
    let g = crate::grid::store::get(db, code)
        .await?
        .filter(|g| g.district == p.district && g.level == 4 && g.kind == "compound" && p.can(Capability::ManageGrid, &g.code))
        .ok_or_else(|| AppError::not_found("该小区"))?;
    Ok(g)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CompoundUpdate {
    /// Without a property company: none, management_committee (物管会) or self (业主自管).
    pub service: String,
    /// The supervising unit (监管单位), a unit of the district; null for none.
    pub supervising_unit: Option<Uuid>,
    /// Who answers for the compound until it is managed (责任人), up to 64 characters.
    #[serde(default)]
    pub responsible: String,
    /// Its owners' committee has lapsed or was dissolved (业委会失效): it counts as none.
    #[serde(default)]
    pub committee_lapsed: bool,
}

pub async fn update_compound(db: &Db, p: &Principal, code: &str, u: &CompoundUpdate) -> AppResult<CompoundCoverage> {
    let g = compound_to_manage(db, p, code).await?;
    let service = Service::parse_stored(u.service.trim())
        .ok_or_else(|| AppError::invalid("invalid_service", "物业服务方式应为 none、management_committee 或 self"))?;
    let responsible = text(&u.responsible, 0, 64, "责任人").map_err(|m| AppError::invalid("invalid_responsible", m))?;
    if let Some(unit) = u.supervising_unit
        && store::unit_district(db, unit).await?.as_deref() != Some(g.district.as_str())
    {
        return Err(AppError::invalid("unknown_unit", "没有这个监管单位"));
    }
    let mut tx = db.begin().await?;
    let settings = store::CompoundSettings {
        district: &g.district,
        code: &g.code,
        service: service.as_str(),
        supervising: u.supervising_unit,
        responsible: &responsible,
        committee_lapsed: u.committee_lapsed,
    };
    store::upsert_compound(&mut tx, &settings, now_ms()).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &g.district,
            action: "property.compound",
            target_kind: "grid",
            target_id: &g.code,
            reason: "",
            detail: json!({"service": service.as_str(), "supervising_unit": u.supervising_unit, "responsible": responsible, "committee_lapsed": u.committee_lapsed}),
        },
    )
    .await?;
    tx.commit().await?;
    coverage(db, &g.district, &g.code)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("该小区"))
}

/// Trimmed text of `min`–`max` characters.
pub fn text(raw: &str, min: usize, max: usize, what: &str) -> Result<String, String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min || n > max {
        Err(format!("{what}应为{min}至{max}字"))
    } else {
        Ok(t.to_string())
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewStep {
    /// The day it was taken, `2026-07-15`; not in the future.
    pub date: String,
    /// What was done, 2–500 characters.
    pub note: String,
}

/// Record a step taken at a compound (三无小区整治台账).
pub async fn add_step(db: &Db, p: &Principal, code: &str, n: &NewStep) -> AppResult<store::StepRow> {
    let g = compound_to_manage(db, p, code).await?;
    let date = crate::identity::half_width(n.date.trim());
    let day: jiff::civil::Date = date
        .parse()
        .map_err(|_| AppError::invalid("invalid_date", "日期格式应为 2026-07-15"))?;
    let today: jiff::civil::Date = crate::time::day_ms(now_ms()).parse().unwrap_or(day);
    if day > today || day.year() < 2000 {
        return Err(AppError::invalid("invalid_date", "日期不能晚于今天"));
    }
    let note = text(&n.note, 2, 500, "工作内容").map_err(|m| AppError::invalid("invalid_note", m))?;
    let s = store::StepRow {
        id: new_id(),
        grid_code: g.code.clone(),
        taken_on: day.to_string(),
        note,
        recorded_by: p.display_name.clone(),
        created_at: now_ms(),
    };
    let mut tx = db.begin().await?;
    store::insert_step(&mut tx, &g.district, &s).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &g.district,
            action: "property.step",
            target_kind: "grid",
            target_id: &g.code,
            reason: "",
            detail: json!({"step": s.id, "date": s.taken_on}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// A 三无 compound (or one that was and has been fixed) with its steps.
pub struct ThreeNos {
    pub cov: CompoundCoverage,
    pub steps: Vec<store::StepRow>,
}

/// Compounds of a subtree that are 三无 now, or were (they have steps) and are managed now.
pub async fn three_nos_list(db: &Db, district: &str, grid: &str, items: &[CompoundCoverage]) -> AppResult<Vec<ThreeNos>> {
    let mut steps: HashMap<String, Vec<store::StepRow>> = HashMap::new();
    for s in store::steps_in(db, district, grid).await? {
        steps.entry(s.grid_code.clone()).or_default().push(s);
    }
    let mut out: Vec<ThreeNos> = Vec::new();
    for i in items {
        let taken = steps.remove(&i.row.code);
        if i.c.three_nos || taken.is_some() {
            out.push(ThreeNos {
                cov: i.clone(),
                steps: taken.unwrap_or_default(),
            });
        }
    }
    // Still 三无 first.
    out.sort_by_key(|t| (!t.cov.c.three_nos, t.cov.row.code.clone()));
    Ok(out)
}

// ---- Evaluation ----

pub fn weights(s: &SettingsRow) -> BTreeMap<Evaluator, i64> {
    BTreeMap::from([
        (Evaluator::Street, s.w_street),
        (Evaluator::Community, s.w_community),
        (Evaluator::OwnersCommittee, s.w_committee),
        (Evaluator::PartyBranch, s.w_branch),
    ])
}

pub fn list_rule(s: &SettingsRow) -> ListRule {
    ListRule {
        red_n: s.red_n,
        black_n: s.black_n,
        floor_x100: s.floor_score * 100,
    }
}

/// The quarter asked for (not one that has not begun), or the current one.
pub fn period(raw: Option<&str>) -> AppResult<Quarter> {
    let now = Quarter::of_ms(now_ms());
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(now),
        Some(s) => {
            let q = Quarter::parse(s).ok_or_else(|| AppError::invalid("invalid_period", "考评季度格式应为 2026Q3"))?;
            if q > now {
                return Err(AppError::invalid("invalid_period", "该季度尚未开始"));
            }
            Ok(q)
        }
    }
}

/// May `p` score the company at `compound` as `kind`?
pub async fn may_score(db: &Db, p: &Principal, compound: &str, kind: Evaluator) -> AppResult<bool> {
    let post_over = |role: Role| {
        p.posts
            .iter()
            .any(|x| x.role == role && x.grid_code.as_deref().is_some_and(|g| compound.starts_with(g)))
    };
    Ok(match kind {
        Evaluator::Street => post_over(Role::StreetStaff),
        Evaluator::Community => post_over(Role::CommunityStaff),
        Evaluator::OwnersCommittee => store::committee_compounds(db, &p.district, p.user_id)
            .await?
            .iter()
            .any(|c| c == compound),
        Evaluator::PartyBranch => crate::party::service::is_branch_secretary(db, &p.district, p.user_id, compound).await?,
    })
}

/// One sheet an evaluator is asked to fill: a company at a compound, as one evaluator kind.
#[derive(Debug, Clone)]
pub struct Task {
    pub compound: String,
    pub compound_name: String,
    pub company: Uuid,
    pub company_name: String,
    pub evaluator: Evaluator,
    /// The sheet already submitted this quarter, if any (a new submit edits it).
    pub sheet: Option<ScoreRow>,
}

/// What `p` is asked to score in `q`: every served compound of their street (as the street), of
/// their community (as the community), of the committees they sit on, and of the branches they
/// lead.
pub async fn tasks(db: &Db, p: &Principal, q: Quarter) -> AppResult<Vec<Task>> {
    let mut want: BTreeSet<(String, Evaluator)> = BTreeSet::new();
    let mut names: HashMap<String, (String, Uuid, String)> = HashMap::new();
    let mut add_served = |rows: Vec<CompoundRow>, kind: Evaluator, want: &mut BTreeSet<(String, Evaluator)>| {
        for r in rows {
            if let (Some(company), Some(cn)) = (r.company_id, r.company_name.clone()) {
                want.insert((r.code.clone(), kind));
                names.insert(r.code.clone(), (r.name.clone(), company, cn));
            }
        }
    };
    for post in &p.posts {
        let Some(g) = post.grid_code.as_deref() else { continue };
        let kind = match post.role {
            Role::StreetStaff => Evaluator::Street,
            Role::CommunityStaff => Evaluator::Community,
            _ => continue,
        };
        add_served(store::compounds_in(db, &p.district, g).await?, kind, &mut want);
    }
    for c in store::committee_compounds(db, &p.district, p.user_id).await? {
        add_served(
            store::compounds_in(db, &p.district, &c).await?,
            Evaluator::OwnersCommittee,
            &mut want,
        );
    }
    // Branch secretaries: among the compounds with a branch under the caller's community-or-lower
    // posts (a secretary is a community's cadre, a grid officer or a resident party member).
    let mut roots: BTreeSet<String> = BTreeSet::new();
    for post in &p.posts {
        if let Some(g) = post.grid_code.as_deref()
            && g.len() >= code_len(3)
        {
            roots.insert(g[..g.len().min(code_len(4))].to_string());
        }
    }
    for root in roots {
        for c in crate::party::service::compounds_with_branch(db, &p.district, &root).await? {
            if crate::party::service::is_branch_secretary(db, &p.district, p.user_id, &c).await? {
                add_served(store::compounds_in(db, &p.district, &c).await?, Evaluator::PartyBranch, &mut want);
            }
        }
    }
    let codes: Vec<String> = want.iter().map(|(c, _)| c.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut sheets: HashMap<(String, String), ScoreRow> = store::scores_at(db, &p.district, &q.to_string(), &codes)
        .await?
        .into_iter()
        .map(|s| ((s.grid_code.clone(), s.evaluator.clone()), s))
        .collect();
    Ok(want
        .into_iter()
        .filter_map(|(code, kind)| {
            let (cn, company, company_name) = names.get(&code)?.clone();
            Some(Task {
                sheet: sheets.remove(&(code.clone(), kind.as_str().to_string())),
                compound: code,
                compound_name: cn,
                company,
                company_name,
                evaluator: kind,
            })
        })
        .collect())
}

/// The case loop's figures of the compound's company in the quarter.
pub async fn case_figures(db: &Db, district: &str, company: Uuid, compound: &str, q: Quarter) -> AppResult<CaseFigures> {
    let (from, to) = q.bounds_ms();
    let c = store::case_counts(db, district, company, compound, from, to).await?;
    Ok(CaseFigures {
        assigned: c.assigned,
        handled: c.handled.unwrap_or(0),
        on_time: c.on_time.unwrap_or(0),
        rated: c.rated.unwrap_or(0),
        satisfied: c.satisfied.unwrap_or(0),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewSheet {
    /// The quarter, `2026Q3`; by default the current one.
    pub period: Option<String>,
    /// The compound (小区 grid code) whose property company is scored.
    pub compound: String,
    /// street, community, owners_committee or party_branch: as whom the caller scores.
    pub evaluator: String,
    /// 环境保洁, 0–100.
    pub cleaning: i64,
    /// 秩序安全, 0–100.
    pub security: i64,
    /// 设施维修, 0–100.
    pub repairs: i64,
    /// 绿化养护, 0–100.
    pub greening: i64,
    /// 诉求响应, 0–100; by default prefilled from the case loop.
    pub response: Option<i64>,
}

/// Submit (or, a second time in the quarter, edit) one evaluator's sheet.
pub async fn submit(db: &Db, p: &Principal, n: &NewSheet) -> AppResult<ScoreRow> {
    let q = period(n.period.as_deref())?;
    let kind = Evaluator::parse(&n.evaluator).ok_or_else(|| {
        AppError::invalid(
            "invalid_evaluator",
            "考评主体应为 street、community、owners_committee 或 party_branch",
        )
    })?;
    let code = n.compound.trim();
    let g = crate::grid::store::get(db, code)
        .await?
        .filter(|g| g.district == p.district && g.level == 4)
        .ok_or_else(|| AppError::not_found("该小区"))?;
    if !may_score(db, p, &g.code, kind).await? {
        // One who scores somewhere is not told of others' compounds.
        return Err(if tasks_exist(db, p).await? {
            AppError::not_found("该小区的考评")
        } else {
            AppError::forbidden_to("您不是该小区物业服务的考评人")
        });
    }
    let company = g
        .property_company_id
        .ok_or_else(|| AppError::invalid("no_company", "该小区没有物业公司，无需考评"))?;
    let figures = case_figures(db, &g.district, company, &g.code, q).await?;
    let bounded = |v: i64, what: &str| {
        if (0..=100).contains(&v) {
            Ok(v)
        } else {
            Err(AppError::invalid("invalid_score", format!("{what}应为0至100分")))
        }
    };
    let cleaning = bounded(n.cleaning, "环境保洁")?;
    let security = bounded(n.security, "秩序安全")?;
    let repairs = bounded(n.repairs, "设施维修")?;
    let greening = bounded(n.greening, "绿化养护")?;
    let response = bounded(n.response.unwrap_or_else(|| figures.response_score()), "诉求响应")?;
    let period = q.to_string();
    let now = now_ms();
    let mut tx = db.begin().await?;
    if store::published_in_tx(&mut tx, &g.district, &period).await? {
        return Err(AppError::conflict("period_closed", "该季度考评结果已公布，不能再提交"));
    }
    let existing = store::score_for_update(&mut tx, &g.district, &period, &g.code, kind.as_str()).await?;
    let mut s = ScoreRow {
        id: existing.as_ref().map_or_else(new_id, |e| e.id),
        period: period.clone(),
        grid_code: g.code.clone(),
        company_id: company,
        evaluator: kind.as_str().into(),
        cleaning,
        security,
        repairs,
        greening,
        response,
        cases_assigned: figures.assigned,
        on_time_pct: figures.on_time_pct(),
        satisfaction_pct: figures.satisfaction_pct(),
        submitter_name: p.display_name.clone(),
        submitted_at: existing.as_ref().map_or(now, |e| e.submitted_at),
        updated_at: now,
    };
    let edited = existing.is_some();
    if edited {
        store::update_score(&mut tx, &s, p.user_id).await?;
    } else {
        store::insert_score(&mut tx, &g.district, &s, p.user_id).await?;
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &g.district,
            action: "property.score",
            target_kind: "unit",
            target_id: &company.to_string(),
            reason: "",
            detail: json!({"period": period, "compound": g.code, "evaluator": kind.as_str(), "edited": edited, "score": rules::sheet_score(s.criteria())}),
        },
    )
    .await?;
    tx.commit().await?;
    s.submitted_at = s.submitted_at.min(now);
    Ok(s)
}

async fn tasks_exist(db: &Db, p: &Principal) -> AppResult<bool> {
    Ok(p.posts.iter().any(|x| matches!(x.role, Role::StreetStaff | Role::CommunityStaff))
        || !store::committee_compounds(db, &p.district, p.user_id).await?.is_empty())
}

/// A company's standing in a quarter.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub company: Uuid,
    pub name: String,
    /// The combined score, 0–100, two decimals.
    pub score: f64,
    pub rank: i64,
    /// red (红榜), black (黑榜) or null.
    pub list: Option<&'static str>,
    /// Black this quarter and the one before: flagged for removal (清退).
    pub flagged: bool,
    /// How many compounds' sheets the score rests on.
    pub compounds: i64,
}

/// The quarter's ranking from its sheets (the live standing before publication).
pub async fn live_ranking(db: &Db, district: &str, q: Quarter) -> AppResult<Vec<Standing>> {
    let settings = store::settings(db, district).await?;
    let w = weights(&settings);
    let mut by_compound: BTreeMap<(Uuid, String), Vec<(Evaluator, f64)>> = BTreeMap::new();
    for s in store::scores(db, district, &q.to_string()).await? {
        if let Some(e) = Evaluator::parse(&s.evaluator) {
            by_compound
                .entry((s.company_id, s.grid_code.clone()))
                .or_default()
                .push((e, rules::sheet_score(s.criteria())));
        }
    }
    let mut per_company: BTreeMap<Uuid, Vec<f64>> = BTreeMap::new();
    for ((company, _), sheets) in by_compound {
        if let Some(v) = rules::compound_score(&sheets, &w) {
            per_company.entry(company).or_default().push(v);
        }
    }
    let scores: Vec<(Uuid, i64)> = per_company
        .iter()
        .filter_map(|(c, v)| rules::company_score(v).map(|s| (*c, s)))
        .collect();
    let ranked = rules::rank(&scores, list_rule(&settings));
    let names: HashMap<Uuid, String> = store::unit_names(db, district, "property_company").await?.into_iter().collect();
    let previous: HashMap<Uuid, Option<List>> = store::results(db, district, &q.previous().to_string())
        .await?
        .into_iter()
        .map(|r| (r.company_id, r.list.as_deref().and_then(List::parse)))
        .collect();
    let mut out: Vec<Standing> = ranked
        .into_iter()
        .map(|r| Standing {
            company: r.key,
            name: names.get(&r.key).cloned().unwrap_or_default(),
            score: r.score_x100 as f64 / 100.0,
            rank: r.rank,
            list: r.list.map(List::as_str),
            flagged: rules::flag_for_removal(previous.get(&r.key).copied().flatten(), r.list),
            compounds: per_company.get(&r.key).map_or(0, |v| v.len() as i64),
        })
        .collect();
    out.sort_by(|a, b| a.rank.cmp(&b.rank).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The quarter's standing: as published, or live (and `false`) before publication.
pub async fn ranking(db: &Db, district: &str, q: Quarter) -> AppResult<(Vec<Standing>, bool)> {
    let published = store::results(db, district, &q.to_string()).await?;
    if published.is_empty() {
        return Ok((live_ranking(db, district, q).await?, false));
    }
    Ok((
        published
            .into_iter()
            .map(|r| Standing {
                company: r.company_id,
                name: r.name,
                score: r.score_x100 as f64 / 100.0,
                rank: r.rank,
                list: r.list.as_deref().and_then(List::parse).map(List::as_str),
                flagged: r.flagged,
                compounds: 0,
            })
            .collect(),
        true,
    ))
}

/// Publish a quarter (district only): freeze its ranking, the red and black list, a correction
/// (整改) per black company due at the end of the following month, and the removal flags.
pub async fn publish(db: &Db, p: &Principal, q: Quarter) -> AppResult<Vec<Standing>> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden_to("只有区级管理员可以公布考评结果"));
    }
    if q >= Quarter::of_ms(now_ms()) {
        return Err(AppError::invalid("period_open", "季度结束后才能公布考评结果"));
    }
    let standing = live_ranking(db, &p.district, q).await?;
    if standing.is_empty() {
        return Err(AppError::invalid("no_scores", "该季度还没有考评记录"));
    }
    let period = q.to_string();
    let now = now_ms();
    let mut tx = db.begin().await?;
    if store::published_in_tx(&mut tx, &p.district, &period).await? {
        return Err(AppError::conflict("already_published", "该季度考评结果已公布"));
    }
    for s in &standing {
        store::insert_result(
            &mut tx,
            &p.district,
            &period,
            &store::NewResult {
                company_id: s.company,
                score_x100: (s.score * 100.0).round() as i64,
                rank: s.rank,
                list: s.list,
                flagged: s.flagged,
            },
            now,
        )
        .await?;
        if s.list == Some("black") {
            store::insert_correction(&mut tx, &p.district, &period, s.company, &q.correction_due(), now).await?;
        }
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "property.publish",
            target_kind: "district",
            target_id: &p.district,
            reason: "",
            detail: json!({
                "period": period,
                "companies": standing.len(),
                "red": standing.iter().filter(|s| s.list == Some("red")).count(),
                "black": standing.iter().filter(|s| s.list == Some("black")).count(),
                "flagged": standing.iter().filter(|s| s.flagged).count(),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(standing)
}

/// May `p` track (mark done) a correction of `company`: the district, or a street the company
/// serves compounds in.
pub async fn tracks(db: &Db, p: &Principal, company: Uuid) -> AppResult<bool> {
    for post in &p.posts {
        match (post.role, post.grid_code.as_deref()) {
            (Role::DistrictAdmin, _) => return Ok(true),
            (Role::StreetStaff, Some(g)) if store::company_serves_in(db, company, g).await? => return Ok(true),
            _ => {}
        }
    }
    Ok(false)
}

/// Mark a correction done with a note.
pub async fn finish_correction(db: &Db, p: &Principal, id: Uuid, note: &str) -> AppResult<store::CorrectionRow> {
    if !p.posts.iter().any(|x| matches!(x.role, Role::DistrictAdmin | Role::StreetStaff)) {
        return Err(AppError::forbidden_to("整改由街道跟踪、区级确认"));
    }
    let c = store::correction(db, id)
        .await?
        .filter(|c| c.district == p.district)
        .ok_or_else(|| AppError::not_found("该整改事项"))?;
    if !tracks(db, p, c.company_id).await? {
        return Err(AppError::not_found("该整改事项"));
    }
    let note = text(note, 2, 500, "整改情况").map_err(|m| AppError::invalid("invalid_note", m))?;
    let mut tx = db.begin().await?;
    if store::finish_correction(&mut tx, c.id, &note, &p.display_name, now_ms()).await? != 1 {
        return Err(AppError::conflict("already_done", "该整改已完成"));
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &c.district,
            action: "property.correction_done",
            target_kind: "unit",
            target_id: &c.company_id.to_string(),
            reason: "",
            detail: json!({"correction": c.id, "period": c.period}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(store::correction(db, id).await?.unwrap_or(c))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SettingsInput {
    /// Weights of the street, community, owners' committee and party branch, 0–100 each, not all 0.
    pub w_street: i64,
    pub w_community: i64,
    pub w_committee: i64,
    pub w_branch: i64,
    /// How many companies go on the red list and on the black list, 0–1000.
    pub red_n: i64,
    pub black_n: i64,
    /// Below this score (0–100) a company is on the black list.
    pub floor_score: i64,
    /// Fee collection below this percent (0–100) is flagged.
    pub fee_threshold: f64,
}

pub async fn save_settings(db: &Db, p: &Principal, i: &SettingsInput) -> AppResult<SettingsRow> {
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden_to("只有区级管理员可以设置考评权重"));
    }
    let w = [i.w_street, i.w_community, i.w_committee, i.w_branch];
    if w.iter().any(|x| !(0..=100).contains(x)) || w.iter().all(|x| *x == 0) {
        return Err(AppError::invalid("invalid_weight", "权重应为0至100，且不能全为0"));
    }
    if !(0..=1000).contains(&i.red_n) || !(0..=1000).contains(&i.black_n) {
        return Err(AppError::invalid("invalid_list_size", "红黑榜名额应为0至1000"));
    }
    if !(0..=100).contains(&i.floor_score) {
        return Err(AppError::invalid("invalid_floor", "黑榜分数线应为0至100"));
    }
    let fee = rules::permille(i.fee_threshold).ok_or_else(|| AppError::invalid("invalid_threshold", "收缴率预警线应为0至100"))?;
    let s = SettingsRow {
        w_street: i.w_street,
        w_community: i.w_community,
        w_committee: i.w_committee,
        w_branch: i.w_branch,
        red_n: i.red_n,
        black_n: i.black_n,
        floor_score: i.floor_score,
        fee_threshold: fee,
    };
    let mut tx = db.begin().await?;
    store::save_settings(&mut tx, &p.district, &s, now_ms()).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "property.settings",
            target_kind: "district",
            target_id: &p.district,
            reason: "",
            detail: json!({"weights": w, "red_n": s.red_n, "black_n": s.black_n, "floor": s.floor_score, "fee_threshold": fee}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

// ---- Fees ----

/// The property company units `p` works at.
pub fn company_units(p: &Principal) -> Vec<Uuid> {
    p.posts
        .iter()
        .filter(|x| x.role == Role::PropertyStaff)
        .filter_map(|x| x.unit_id)
        .collect()
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewFee {
    /// The compound (小区 grid code), one the caller's company serves.
    pub compound: String,
    /// The month, `2026-07`; not after the current one.
    pub month: String,
    /// 物业费收缴率 in percent, 0–100 (one decimal kept).
    pub rate: f64,
}

/// A company enters a month's collection rate for one of its compounds (a second entry edits).
pub async fn enter_fee(db: &Db, p: &Principal, n: &NewFee) -> AppResult<store::FeeRow> {
    let units = company_units(p);
    if units.is_empty() {
        return Err(AppError::forbidden_to("物业费收缴率由物业公司填报"));
    }
    let g = crate::grid::store::get(db, n.compound.trim())
        .await?
        .filter(|g| g.district == p.district && g.level == 4 && g.property_company_id.is_some_and(|c| units.contains(&c)))
        .ok_or_else(|| AppError::not_found("贵公司服务的该小区"))?;
    let month = rules::parse_month(&n.month).ok_or_else(|| AppError::invalid("invalid_month", "月份格式应为 2026-07"))?;
    if month > crate::time::month_ms(now_ms()) {
        return Err(AppError::invalid("invalid_month", "不能填报未来月份"));
    }
    let permille = rules::permille(n.rate).ok_or_else(|| AppError::invalid("invalid_rate", "收缴率应为0至100"))?;
    let company = g.property_company_id.unwrap_or_default();
    let now = now_ms();
    let mut tx = db.begin().await?;
    store::upsert_fee(&mut tx, &g.district, &g.code, &month, company, permille, &p.display_name, now).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &g.district,
            action: "property.fee",
            target_kind: "grid",
            target_id: &g.code,
            reason: "",
            detail: json!({"month": month, "rate_permille": permille}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(store::FeeRow {
        grid_code: g.code,
        month,
        rate_permille: permille,
        entered_by: p.display_name.clone(),
        updated_at: now,
    })
}

/// A compound's last twelve months: staff who read it, or its company.
pub async fn fee_trend(db: &Db, p: &Principal, code: &str) -> AppResult<(crate::grid::GridRow, Vec<store::FeeRow>)> {
    let g = crate::grid::store::get(db, code.trim())
        .await?
        .filter(|g| g.district == p.district && g.level == 4)
        .ok_or_else(|| AppError::not_found("该小区"))?;
    let own = g.property_company_id.is_some_and(|c| company_units(p).contains(&c));
    if !own && !p.can(Capability::ReadRegistry, &g.code) {
        return Err(if p.has(Capability::ReadRegistry) || !company_units(p).is_empty() {
            AppError::not_found("该小区")
        } else {
            AppError::forbidden_to("该角色不能查看物业费收缴率")
        });
    }
    let rows = store::fees_of(db, &g.district, &g.code, 12).await?;
    Ok((g, rows))
}
