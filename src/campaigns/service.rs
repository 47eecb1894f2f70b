//! Campaign operations (专项整治行动): launch a drive, form its teams, register spots from the
//! phone, act on them (visits, notices, clearance with an after photo, escalation to a case,
//! re-inspection), and the figures. Shared by the API, the pages and the demo.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::CampaignsState;
use super::checklist::{self, ChecklistFigures, Mark, MarkError};
use super::rules::{self, Action, Figures, Outcome, Phase, SpotFacts};
use super::store::{self, CampaignRow, SpotRow, TeamRow};
use crate::audit;
use crate::auth::{Capability, Principal};
use crate::cases::service::{NewCase, Reporter};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::code_len;

/// A campaign as its launcher sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewCampaign {
    pub title: String,
    /// A kind's key (`vegetable_plots`, `flying_wires`, `corridor_clutter`, `illegal_building`,
    /// `civilised_city`), or `other` with `kind_name` and `unit`.
    pub kind: String,
    #[serde(default)]
    pub kind_name: String,
    #[serde(default)]
    pub unit: String,
    /// The grid node it covers (the district, a street, a community or a compound).
    pub grid: String,
    /// YYYY-MM-DD, China time.
    pub starts_on: String,
    pub deadline: String,
    /// Partner units, e.g. 中国移动、中国联通、中国电信.
    #[serde(default)]
    pub partners: String,
    /// Days after clearance before the re-inspection (1–90, default 14).
    pub reinspect_days: Option<i64>,
    /// The checklist (测评清单) each inspected place is scored against, one item per entry (at
    /// most 50, 2–100 characters each); none for a drive that counts spots only.
    #[serde(default)]
    pub checklist: Vec<String>,
}

fn text(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect::<String>().trim().to_string()
}

fn length(s: &str, min: usize, max: usize, code: &'static str, what: &str) -> AppResult<()> {
    let n = s.chars().count();
    if !(min..=max).contains(&n) {
        return Err(AppError::invalid(code, format!("{what}应为{min}至{max}字")));
    }
    Ok(())
}

fn day(s: &str, code: &'static str, what: &str) -> AppResult<String> {
    let s = crate::identity::half_width(s.trim());
    s.parse::<jiff::civil::Date>()
        .map(|d| d.to_string())
        .map_err(|_| AppError::invalid(code, format!("{what}应为“2026-05-01”这样的日期")))
}

/// Launch a campaign: a district or street post that manages the grid it covers.
pub async fn launch(db: &Db, p: &Principal, n: &NewCampaign) -> AppResult<CampaignRow> {
    let launcher = p.roots(Capability::ManageGrid).iter().any(|r| r.len() <= code_len(2));
    if !launcher {
        return Err(AppError::forbidden_to("专项行动由区级或街道发起"));
    }
    let grid = n.grid.trim();
    let g = crate::grid::store::get(db, grid)
        .await?
        .filter(|g| g.district == p.district && p.can(Capability::ManageGrid, grid))
        .ok_or_else(|| AppError::not_found("该网格"))?;
    let title = text(&n.title);
    length(&title, 2, 60, "invalid_title", "行动名称")?;
    let (kind, kind_name, unit) = match rules::kind(n.kind.trim()) {
        Some((name, unit)) => (n.kind.trim().to_string(), name.to_string(), unit.to_string()),
        None if n.kind.trim() == "other" => {
            let (name, unit) = (text(&n.kind_name), text(&n.unit));
            length(&name, 2, 20, "invalid_kind_name", "行动类型名称")?;
            length(&unit, 1, 8, "invalid_unit", "计量单位")?;
            ("other".to_string(), name, unit)
        }
        None => return Err(AppError::invalid("invalid_kind", "行动类型不在可选范围内")),
    };
    let starts_on = day(&n.starts_on, "invalid_starts_on", "开始日期")?;
    let deadline = day(&n.deadline, "invalid_deadline", "完成期限")?;
    if deadline < starts_on {
        return Err(AppError::invalid("invalid_deadline", "完成期限不能早于开始日期"));
    }
    let partners = text(&n.partners);
    length(&partners, 0, 200, "invalid_partners", "协作单位")?;
    let reinspect_days = n.reinspect_days.unwrap_or(14);
    if !(1..=90).contains(&reinspect_days) {
        return Err(AppError::invalid("invalid_reinspect_days", "复查间隔应为1至90天"));
    }
    let items = checklist_items(&n.checklist)?;
    let id = new_id();
    let now = now_ms();
    let mut tx = db.begin().await?;
    store::insert_campaign(
        &mut tx,
        &store::NewCampaign {
            id,
            district: &p.district,
            grid_code: &g.code,
            title: &title,
            kind: &kind,
            kind_name: &kind_name,
            unit: &unit,
            partners: &partners,
            starts_on: &starts_on,
            deadline: &deadline,
            reinspect_days,
            created_by: &p.display_name,
            at: now,
        },
    )
    .await?;
    store::insert_items(&mut tx, id, &items).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "campaign.launch",
            target_kind: "campaign",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"grid": g.code, "kind": kind, "checklist_items": items.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    store::campaign(db, id).await?.ok_or_else(AppError::internal)
}

/// A launcher's checklist: each item normalised, blank ones dropped, 2–100 characters, no
/// repeats, at most 50.
fn checklist_items(lines: &[String]) -> AppResult<Vec<String>> {
    if lines.len() > 2 * checklist::MAX_ITEMS {
        return Err(AppError::invalid(
            "invalid_checklist",
            format!("测评清单至多{}项", checklist::MAX_ITEMS),
        ));
    }
    let mut items: Vec<String> = Vec::new();
    for line in lines {
        let t = text(line);
        if t.is_empty() {
            continue;
        }
        length(&t, 2, 100, "invalid_checklist", "测评项目")?;
        if items.contains(&t) {
            return Err(AppError::invalid("invalid_checklist", format!("测评项目“{t}”重复")));
        }
        items.push(t);
    }
    if items.len() > checklist::MAX_ITEMS {
        return Err(AppError::invalid(
            "invalid_checklist",
            format!("测评清单至多{}项", checklist::MAX_ITEMS),
        ));
    }
    Ok(items)
}

/// Whether the campaign's grid and `code` are on one branch (one covers the other).
fn related(campaign_grid: &str, code: &str) -> bool {
    code.starts_with(campaign_grid) || campaign_grid.starts_with(code)
}

/// A campaign the caller may read: staff whose grid it covers or lies under, or a team member;
/// else 404 (403 for a role that reads no campaign).
pub async fn campaign_for(db: &Db, p: &Principal, id: Uuid) -> AppResult<(CampaignRow, Vec<TeamRow>)> {
    let c = store::campaign(db, id)
        .await?
        .filter(|c| c.district == p.district)
        .ok_or_else(|| AppError::not_found("该专项行动"))?;
    let mine = store::teams_of(db, id, p.user_id).await?;
    let staff = p.roots(Capability::ReadRegistry).iter().any(|r| related(&c.grid_code, r));
    if staff || !mine.is_empty() {
        return Ok((c, mine));
    }
    if p.has(Capability::ReadRegistry) {
        return Err(AppError::not_found("该专项行动"));
    }
    Err(AppError::forbidden_to("该角色不参与专项行动"))
}

/// Campaigns the caller reads, newest first.
pub async fn list(db: &Db, p: &Principal) -> AppResult<Vec<CampaignRow>> {
    let roots = p.roots(Capability::ReadRegistry);
    Ok(store::campaigns_for(db, &p.district, &roots, p.user_id, 200).await?)
}

/// A team as its campaign's launcher forms it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewTeam {
    pub name: String,
    /// The leader's account (a sunk-down cadre).
    pub leader: Uuid,
    /// Members' accounts: community workers, property staff, grid officers, volunteers.
    #[serde(default)]
    pub members: Vec<Uuid>,
    /// The communities or compounds it is assigned (inside the campaign's grid).
    pub grids: Vec<String>,
}

/// Form a team: those who manage the campaign's grid.
pub async fn add_team(db: &Db, p: &Principal, campaign: Uuid, n: &NewTeam) -> AppResult<TeamRow> {
    let (c, _) = campaign_for(db, p, campaign).await?;
    if !p.can(Capability::ManageGrid, &c.grid_code) {
        return Err(AppError::forbidden_to("只有发起单位可以组建工作队"));
    }
    let name = text(&n.name);
    length(&name, 2, 40, "invalid_name", "工作队名称")?;
    if n.grids.is_empty() || n.grids.len() > 50 || n.members.len() > 100 {
        return Err(AppError::invalid("invalid_grids", "工作队应分包1至50个网格，队员不超过100人"));
    }
    let mut grids = Vec::new();
    for g in &n.grids {
        let g = crate::identity::half_width(g.trim());
        if !g.starts_with(&c.grid_code) || crate::grid::store::get(db, &g).await?.is_none() {
            return Err(AppError::invalid("invalid_grids", format!("网格 {g} 不在本次行动范围内")));
        }
        grids.push(g);
    }
    let mut people = Vec::new();
    for u in std::iter::once(&n.leader).chain(n.members.iter()) {
        let user = crate::auth::store::user_by_id(db, *u)
            .await?
            .filter(|x| x.district == p.district && !x.disabled)
            .ok_or_else(|| AppError::invalid("unknown_user", "队长或队员的账号不存在"))?;
        people.push((user.id, user.display_name));
    }
    let team = TeamRow {
        id: new_id(),
        campaign_id: c.id,
        name,
        leader_id: people[0].0,
        leader_name: people[0].1.clone(),
        grids: grids.join(","),
    };
    let mut tx = db.begin().await?;
    if let Err(e) = store::insert_team(&mut tx, &team, now_ms()).await {
        return Err(if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_team", "本次行动已有同名工作队")
        } else {
            e.into()
        });
    }
    for (id, name) in people.iter().skip(1) {
        store::insert_member(&mut tx, team.id, *id, name).await?;
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "campaign.team",
            target_kind: "campaign",
            target_id: &c.id.to_string(),
            reason: "",
            detail: json!({"team": team.id, "grids": grids, "members": people.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(team)
}

/// Keep a photo for a spot of this campaign (before it is registered or acted on): its SHA-256,
/// which the registration or the action then names.
pub async fn keep_photo(s: &CampaignsState, p: &Principal, campaign: Uuid, bytes: &[u8]) -> AppResult<String> {
    campaign_for(&s.db, p, campaign).await?;
    Ok(crate::cases::attachments::keep(&s.cases.data_dir, bytes).await?.0)
}

/// A photo named by its SHA-256 must have been kept before.
async fn kept(dir: &Path, sha: Option<&str>) -> AppResult<Option<String>> {
    match sha.map(str::trim).filter(|x| !x.is_empty()) {
        None => Ok(None),
        Some(sha) => {
            crate::cases::attachments::read_kept(dir, sha)
                .await
                .map_err(|_| AppError::invalid("unknown_photo", "照片未上传或已失效，请重新上传"))?;
            Ok(Some(sha.to_ascii_lowercase()))
        }
    }
}

/// Whether the caller may register and act on a spot at `grid` in this campaign: a team whose
/// assignment covers it, or a post that writes the registry there.
pub fn may_act(p: &Principal, c: &CampaignRow, mine: &[TeamRow], grid: &str) -> bool {
    grid.starts_with(&c.grid_code) && (mine.iter().any(|t| t.covers(grid)) || p.can(Capability::WriteRegistry, grid))
}

/// The nodes of the campaign where the caller may act (register spots, inspect): their teams'
/// assignments and their registry-writing posts inside it (the campaign's own node for a post
/// above it); empty for one who may act nowhere in it.
pub fn act_roots(p: &Principal, c: &CampaignRow, mine: &[TeamRow]) -> Vec<String> {
    let mut roots: Vec<String> = mine.iter().flat_map(|t| t.grid_list().into_iter().map(str::to_string)).collect();
    for r in p.roots(Capability::WriteRegistry) {
        if r.starts_with(&c.grid_code) {
            roots.push(r);
        } else if c.grid_code.starts_with(&r) {
            roots.push(c.grid_code.clone());
        }
    }
    roots.sort();
    roots.dedup();
    roots
}

/// A spot as the officer registers it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewSpot {
    /// Where it is, in words (e.g. 3号楼东侧绿化带).
    pub place: String,
    /// The household or shop concerned (kept, shown masked).
    #[serde(default)]
    pub party: String,
    /// The measure in the campaign's unit (e.g. 12 for 12 m²), 0–100,000.
    pub measure: f64,
    #[serde(default)]
    pub note: String,
    /// The grid node (a building or compound); or a position located in the grid.
    pub grid: Option<String>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// Register a spot found in the survey (摸底), with its photo when there is one.
pub async fn add_spot(s: &CampaignsState, p: &Principal, campaign: Uuid, n: &NewSpot, photo: Option<&str>) -> AppResult<SpotRow> {
    let (c, mine) = campaign_for(&s.db, p, campaign).await?;
    if act_roots(p, &c, &mine).is_empty() {
        return Err(AppError::forbidden_to("只有工作队队员和网格工作人员可以登记点位"));
    }
    let place = text(&n.place);
    length(&place, 2, 100, "invalid_place", "点位位置")?;
    let party = text(&n.party);
    length(&party, 0, 40, "invalid_party", "涉及住户或商户")?;
    let note = text(&n.note);
    length(&note, 0, 500, "invalid_note", "说明")?;
    if !n.measure.is_finite() || !(0.0..=100_000.0).contains(&n.measure) {
        return Err(AppError::invalid("invalid_measure", format!("数量应为0至100000{}", c.unit)));
    }
    let (lat, lng) = match (n.lat, n.lng) {
        (Some(a), Some(b)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => (Some(a), Some(b)),
        (None, None) => (None, None),
        _ => return Err(AppError::invalid("invalid_location", "位置应同时给出有效的纬度和经度")),
    };
    let grid = match (n.grid.as_deref().map(str::trim).filter(|g| !g.is_empty()), lat, lng) {
        (Some(g), _, _) => crate::grid::store::get(&s.db, g)
            .await?
            .filter(|x| x.district == p.district)
            .map(|x| x.code)
            .ok_or_else(|| AppError::invalid("unknown_grid", format!("网格编码 {g} 不存在")))?,
        (None, Some(a), Some(b)) => {
            let idx = s.cases.grid_index.get(&s.db).await?;
            idx.locate(a, b)
                .filter(|code| code.starts_with(&p.district))
                .map(str::to_string)
                .ok_or_else(|| AppError::invalid("outside_district", "该位置不在本区网格范围内"))?
        }
        _ => return Err(AppError::invalid("location_required", "请定位或选择网格")),
    };
    if !may_act(p, &c, &mine, &grid) {
        return Err(if grid.starts_with(&c.grid_code) {
            AppError::not_found("该网格")
        } else {
            AppError::invalid("outside_campaign", "该点位不在本次行动范围内")
        });
    }
    let photo = kept(&s.cases.data_dir, photo).await?;
    let now = now_ms();
    let spot = SpotRow {
        id: new_id(),
        campaign_id: c.id,
        district: p.district.clone(),
        grid_code: grid,
        place,
        party,
        measure: (n.measure * 10.0).round() / 10.0,
        note,
        lat,
        lng,
        phase: Phase::Surveyed.as_str().into(),
        self_cleared: false,
        visits: 0,
        refusals: 0,
        recurrences: 0,
        photo_sha256: photo.clone(),
        after_sha256: None,
        case_id: None,
        found_at: now,
        cleared_at: None,
        reinspect_at: None,
        found_by: p.display_name.clone(),
        updated_at: now,
    };
    let mut tx = s.db.begin().await?;
    store::insert_spot(&mut tx, &spot).await?;
    store::insert_action(
        &mut tx,
        &store::ActionRow {
            id: new_id(),
            spot_id: spot.id,
            action: "found".into(),
            outcome: String::new(),
            people: 1,
            note: String::new(),
            photo_sha256: photo,
            by_name: p.display_name.clone(),
            at_ms: now,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "campaign.spot",
            target_kind: "campaign_spot",
            target_id: &spot.id.to_string(),
            reason: "",
            detail: json!({"campaign": c.id, "grid": spot.grid_code}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(spot)
}

/// What someone does to a spot, as sent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SpotAction {
    /// visit, notice, self_cleared, cleared, escalate, reinspect
    pub action: String,
    /// visit: agreed, refused, not_reached; reinspect: held or recurred.
    #[serde(default)]
    pub outcome: String,
    /// Team members on a visit or a clearance (1–50).
    pub people: Option<i64>,
    #[serde(default)]
    pub note: String,
    /// escalate: the case category (a leaf code) for the department.
    #[serde(default)]
    pub category: String,
}

/// Read an action as the rules take it (the photo's presence decided by the caller).
pub fn parse_action(a: &SpotAction, has_photo: bool) -> AppResult<Action> {
    let people = a.people.unwrap_or(1);
    Ok(match a.action.trim() {
        "visit" => Action::Visit {
            outcome: Outcome::parse(a.outcome.trim())
                .ok_or_else(|| AppError::invalid("invalid_outcome", "走访结果应为：同意自行清理、拒绝或未见到人"))?,
            people,
        },
        "notice" => Action::Notice,
        "self_cleared" => Action::SelfCleared { after_photo: has_photo },
        "cleared" => Action::Cleared {
            after_photo: has_photo,
            people,
        },
        "escalate" => Action::Escalate,
        "reinspect" => Action::Reinspect {
            recurred: match a.outcome.trim() {
                "held" | "" => false,
                "recurred" => true,
                _ => return Err(AppError::invalid("invalid_outcome", "复查结果应为 held（保持）或 recurred（反弹）")),
            },
        },
        _ => {
            return Err(AppError::invalid(
                "invalid_action",
                "操作应为走访、通知、自行清理、清理、移交或复查",
            ));
        }
    })
}

/// Act on a spot: the rule decides the new phase; the spot, its action row (and, on escalation,
/// the new case) and the audit row are written in one transaction.
pub async fn act(s: &CampaignsState, p: &Principal, campaign: Uuid, spot: Uuid, a: &SpotAction, photo: Option<&str>) -> AppResult<SpotRow> {
    let (c, mine) = campaign_for(&s.db, p, campaign).await?;
    let found = store::spot(&s.db, spot)
        .await?
        .filter(|x| x.campaign_id == c.id)
        .ok_or_else(|| AppError::not_found("该点位"))?;
    if !may_act(p, &c, &mine, &found.grid_code) {
        return Err(AppError::not_found("该点位"));
    }
    let action = parse_action(a, photo.is_some())?;
    let note = text(&a.note);
    length(&note, 0, 500, "invalid_note", "说明")?;
    let photo = kept(&s.cases.data_dir, photo).await?;
    // An escalation is checked as a report before anything is written.
    let checked = match action {
        Action::Escalate => {
            let input = NewCase {
                category: a.category.trim().to_string(),
                description: format!(
                    "【{}】{}：{}{}",
                    c.title,
                    found.place,
                    c.kind_name,
                    if note.is_empty() { String::new() } else { format!("，{note}") }
                ),
                lat: found.lat,
                lng: found.lng,
                grid: Some(found.grid_code.clone()),
                source: None,
                reported_at: None,
                attributes: None,
                private: None,
            };
            if input.category.is_empty() {
                return Err(AppError::invalid("category_required", "移交部门须选择问题类别"));
            }
            Some(crate::cases::service::check(&s.cases, Reporter::User(p), &input, None).await?)
        }
        _ => None,
    };
    let now = now_ms();
    let mut tx = s.db.begin().await?;
    let mut row = store::lock_spot(&mut tx, spot)
        .await?
        .ok_or_else(|| AppError::not_found("该点位"))?;
    let phase = Phase::parse(&row.phase).unwrap_or(Phase::Surveyed);
    let to = rules::next(phase, action, now, row.reinspect_at).map_err(|r| AppError::invalid(r.code, r.message))?;
    let mut case = None;
    match action {
        Action::Visit { outcome, people } => {
            row.visits += people;
            if outcome == Outcome::Refused {
                row.refusals += 1;
            }
        }
        Action::SelfCleared { .. } | Action::Cleared { .. } => {
            row.self_cleared = matches!(action, Action::SelfCleared { .. });
            row.after_sha256 = photo.clone();
            row.cleared_at = Some(now);
            row.reinspect_at = Some(now + c.reinspect_days * 86_400_000);
        }
        Action::Escalate => {
            if let Some(r) = &checked {
                let made = crate::cases::service::insert_all(&mut tx, std::slice::from_ref(r)).await?;
                row.case_id = made.first().map(|x| x.id);
                case = made.into_iter().next();
            }
        }
        Action::Reinspect { recurred } => {
            if recurred {
                row.recurrences += 1;
                row.after_sha256 = None;
                row.cleared_at = None;
                row.reinspect_at = None;
                row.self_cleared = false;
            }
        }
        Action::Notice => {}
    }
    row.phase = to.as_str().into();
    row.updated_at = now;
    store::update_spot(&mut tx, &row).await?;
    let people = match action {
        Action::Visit { people, .. } | Action::Cleared { people, .. } => people,
        _ => 1,
    };
    store::insert_action(
        &mut tx,
        &store::ActionRow {
            id: new_id(),
            spot_id: row.id,
            action: action.code().into(),
            outcome: match action {
                Action::Visit { outcome, .. } => outcome.as_str().into(),
                Action::Reinspect { recurred: true } => "recurred".into(),
                Action::Reinspect { recurred: false } => "held".into(),
                _ => String::new(),
            },
            people,
            note,
            photo_sha256: photo,
            by_name: p.display_name.clone(),
            at_ms: now,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "campaign.spot_action",
            target_kind: "campaign_spot",
            target_id: &row.id.to_string(),
            reason: "",
            detail: json!({"action": action.code(), "phase": row.phase, "case": row.case_id}),
        },
    )
    .await?;
    tx.commit().await?;
    if let Some(c) = case {
        crate::cases::service::announced(&s.cases, &[c]);
    }
    Ok(row)
}

/// A spot the caller may read, with its campaign.
pub async fn spot_for(db: &Db, p: &Principal, campaign: Uuid, spot: Uuid) -> AppResult<(CampaignRow, Vec<TeamRow>, SpotRow)> {
    let (c, mine) = campaign_for(db, p, campaign).await?;
    let row = store::spot(db, spot)
        .await?
        .filter(|x| x.campaign_id == c.id && (may_act(p, &c, &mine, &x.grid_code) || p.can(Capability::ReadRegistry, &x.grid_code)))
        .ok_or_else(|| AppError::not_found("该点位"))?;
    Ok((c, mine, row))
}

/// The bytes of a spot's photo (before or after).
pub async fn photo(db: &Db, dir: &Path, p: &Principal, campaign: Uuid, spot: Uuid, after: bool) -> AppResult<Vec<u8>> {
    let (_, _, row) = spot_for(db, p, campaign, spot).await?;
    let sha = if after { row.after_sha256 } else { row.photo_sha256 };
    let sha = sha.ok_or_else(|| AppError::not_found("该照片"))?;
    crate::cases::attachments::read_kept(dir, &sha).await
}

/// The figures of a campaign: the whole, per community (12-digit code), per team; and the daily
/// progress (found, cleared) from its start to today or its deadline.
pub struct Board {
    pub whole: Figures,
    pub communities: Vec<(String, Figures)>,
    pub teams: Vec<(TeamRow, Figures)>,
    /// Per child node of the campaign's (its streets, communities, compounds or buildings): what
    /// the board's map colours.
    pub children: BTreeMap<String, Figures>,
    /// (day, found so far, cleared so far)
    pub progress: Vec<(String, i64, i64)>,
}

fn facts_of(rows: &[store::FactRow]) -> Vec<SpotFacts> {
    rows.iter()
        .map(|r| SpotFacts {
            community: r.grid_code.get(..code_len(3)).unwrap_or(&r.grid_code).to_string(),
            phase: Phase::parse(&r.phase).unwrap_or(Phase::Surveyed),
            self_cleared: r.self_cleared,
            visits: r.visits,
            refusals: r.refusals,
            measure: r.measure,
            found_at: r.found_at,
            cleared_at: r.cleared_at,
        })
        .collect()
}

pub async fn board(db: &Db, c: &CampaignRow) -> AppResult<Board> {
    let rows = store::facts(db, c.id).await?;
    let facts = facts_of(&rows);
    let whole = rules::figures(&facts);
    let mut by: BTreeMap<&str, Vec<&SpotFacts>> = BTreeMap::new();
    for f in &facts {
        by.entry(f.community.as_str()).or_default().push(f);
    }
    let communities = by.into_iter().map(|(k, v)| (k.to_string(), rules::figures(v))).collect();
    let teams = store::teams(db, c.id)
        .await?
        .into_iter()
        .map(|t| {
            let f = rules::figures(rows.iter().zip(&facts).filter(|(r, _)| t.covers(&r.grid_code)).map(|(_, f)| f));
            (t, f)
        })
        .collect();
    let child_len = (1..=5).map(code_len).find(|l| *l > c.grid_code.len()).unwrap_or(c.grid_code.len());
    let mut by_child: BTreeMap<&str, Vec<&SpotFacts>> = BTreeMap::new();
    for (r, f) in rows.iter().zip(&facts) {
        by_child
            .entry(r.grid_code.get(..child_len).unwrap_or(&r.grid_code))
            .or_default()
            .push(f);
    }
    let children = by_child.into_iter().map(|(k, v)| (k.to_string(), rules::figures(v))).collect();
    Ok(Board {
        whole,
        communities,
        teams,
        children,
        progress: progress(c, &facts, now_ms()),
    })
}

/// Found and cleared so far at the end of each day, from the start to today (or the deadline, if
/// past), at most 120 points.
pub fn progress(c: &CampaignRow, facts: &[SpotFacts], now: i64) -> Vec<(String, i64, i64)> {
    let Ok(start) = c.starts_on.parse::<jiff::civil::Date>() else {
        return Vec::new();
    };
    let today = crate::time::day_ms(now).parse::<jiff::civil::Date>().unwrap_or(start);
    let end = c
        .deadline
        .parse::<jiff::civil::Date>()
        .map(|d| d.min(today))
        .unwrap_or(today)
        .max(start);
    let mut found: Vec<String> = facts.iter().map(|f| crate::time::day_ms(f.found_at)).collect();
    let mut cleared: Vec<String> = facts
        .iter()
        .filter_map(|f| f.cleared_at.filter(|_| f.phase.is_cleared()))
        .map(crate::time::day_ms)
        .collect();
    found.sort();
    cleared.sort();
    let mut out = Vec::new();
    let mut d = start;
    while d <= end && out.len() < 120 {
        let key = d.to_string();
        let f = found.partition_point(|x| x.as_str() <= key.as_str()) as i64;
        let k = cleared.partition_point(|x| x.as_str() <= key.as_str()) as i64;
        out.push((key, f, k));
        d = match d.tomorrow() {
            Ok(x) => x,
            Err(_) => break,
        };
    }
    out
}

/// One item's mark as the inspector sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MarkInput {
    /// A checklist item's id.
    pub item: Uuid,
    pub passed: bool,
    /// A photo kept with `POST /api/v1/campaigns/{id}/photos`; required when the item fails.
    pub photo: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// An inspection (测评) of one place against the campaign's checklist, or a re-check of the
/// items the place's latest inspection failed.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewInspection {
    /// The place: a grid node under the campaign's (a compound, a community …).
    pub grid: String,
    /// The inspection re-checked (the place's latest); its failing items are the ones to mark.
    pub recheck_of: Option<Uuid>,
    #[serde(default)]
    pub note: String,
    pub marks: Vec<MarkInput>,
}

/// Score a place against the checklist (or re-check it): every item to score marked once, a
/// photo with each failure; one transaction with its audit row.
pub async fn inspect(s: &CampaignsState, p: &Principal, campaign: Uuid, n: &NewInspection) -> AppResult<store::InspectionRow> {
    let (c, mine) = campaign_for(&s.db, p, campaign).await?;
    let code = n.grid.trim();
    let grid = crate::grid::store::get(&s.db, code)
        .await?
        .filter(|g| g.district == p.district)
        .ok_or_else(|| AppError::invalid("unknown_grid", "网格编码不存在"))?;
    if !may_act(p, &c, &mine, &grid.code) {
        return Err(if grid.code.starts_with(&c.grid_code) {
            AppError::not_found("该网格")
        } else {
            AppError::invalid("outside_campaign", "该处不在本次行动范围内")
        });
    }
    if n.marks.len() > checklist::MAX_ITEMS {
        return Err(AppError::invalid("too_many_marks", format!("测评至多{}项", checklist::MAX_ITEMS)));
    }
    let note = text(&n.note);
    length(&note, 0, 500, "invalid_note", "说明")?;
    let mut marks = Vec::with_capacity(n.marks.len());
    for m in &n.marks {
        let note = text(&m.note);
        length(&note, 0, 200, "invalid_note", "不合格说明")?;
        marks.push(store::MarkIn {
            item: m.item,
            passed: m.passed,
            photo: kept(&s.cases.data_dir, m.photo.as_deref()).await?,
            note,
        });
    }
    let items = store::checklist(&s.db, c.id).await?;
    let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
    let name_of = |id: Uuid| items.iter().find(|i| i.id == id).map(|i| i.text.clone()).unwrap_or_default();
    let refused = |e: MarkError| match e {
        MarkError::NoChecklist => AppError::invalid("no_checklist", "本次行动没有测评清单"),
        MarkError::NothingToRecheck => AppError::invalid("nothing_to_recheck", "该次测评没有不合格项，无需复查"),
        MarkError::Missing(i) => AppError::invalid("mark_missing", format!("请为“{}”评定合格或不合格", name_of(i))),
        MarkError::Unexpected(_) => AppError::invalid("unexpected_mark", "有不属于本次测评的项目，请刷新后重填"),
        MarkError::Twice(i) => AppError::invalid("mark_twice", format!("“{}”评了两次", name_of(i))),
        MarkError::NoPhoto(i) => AppError::invalid("photo_required", format!("“{}”不合格，请拍照留证", name_of(i))),
    };
    let id = new_id();
    let now = now_ms();
    let mut tx = s.db.begin().await?;
    let latest = store::lock_latest(&mut tx, c.id, &grid.code).await?;
    let failing = match n.recheck_of {
        None => None,
        Some(r) if latest == Some(r) => Some(store::failing_items(&mut tx, r).await?),
        Some(_) => {
            return Err(AppError::conflict("stale_recheck", "该处已有更新的测评，请刷新后再复查"));
        }
    };
    let to_score = checklist::to_score(&ids, failing.as_deref()).map_err(refused)?;
    let given: Vec<Mark> = marks
        .iter()
        .map(|m| Mark {
            item: m.item,
            passed: m.passed,
            photo: m.photo.is_some(),
        })
        .collect();
    let (passed, failed) = checklist::tally(&to_score, &given).map_err(refused)?;
    store::insert_inspection(
        &mut tx,
        &store::NewInspection {
            id,
            campaign: c.id,
            district: &p.district,
            grid: &grid.code,
            recheck_of: n.recheck_of,
            passed,
            failed,
            note: &note,
            by_id: p.user_id,
            by_name: &p.display_name,
            at: now,
        },
        &marks,
    )
    .await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "campaign.inspect",
            target_kind: "campaign",
            target_id: &c.id.to_string(),
            reason: "",
            detail: json!({"inspection": id, "grid": grid.code, "recheck_of": n.recheck_of, "passed": passed, "failed": failed}),
        },
    )
    .await?;
    tx.commit().await?;
    store::inspection(&s.db, id).await?.ok_or_else(AppError::internal)
}

/// A campaign's checklist with its figures and, per item, the places failing it now.
pub struct ChecklistBoard {
    pub items: Vec<(store::ItemRow, i64)>,
    pub figures: ChecklistFigures,
}

pub async fn checklist_board(db: &Db, c: &CampaignRow) -> AppResult<ChecklistBoard> {
    let items = store::checklist(db, c.id).await?;
    if items.is_empty() {
        return Ok(ChecklistBoard {
            items: Vec::new(),
            figures: ChecklistFigures::default(),
        });
    }
    let (failing, all, rechecks) = store::checklist_standing(db, c.id).await?;
    let by_item: BTreeMap<Uuid, i64> = store::failures_by_item(db, c.id).await?.into_iter().collect();
    Ok(ChecklistBoard {
        figures: checklist::figures(items.len() as i64, &failing, all, rechecks),
        items: items
            .into_iter()
            .map(|i| {
                let n = by_item.get(&i.id).copied().unwrap_or(0);
                (i, n)
            })
            .collect(),
    })
}

/// An inspection of this campaign the caller may read (its place is under what the caller reads
/// or in a team's assignment).
pub async fn inspection_for(
    db: &Db,
    p: &Principal,
    campaign: Uuid,
    inspection: Uuid,
) -> AppResult<(CampaignRow, Vec<TeamRow>, store::InspectionRow)> {
    let (c, mine) = campaign_for(db, p, campaign).await?;
    let row = store::inspection(db, inspection)
        .await?
        .filter(|i| i.campaign_id == c.id)
        .filter(|i| mine.iter().any(|t| t.covers(&i.grid_code)) || p.can(Capability::ReadRegistry, &i.grid_code))
        .ok_or_else(|| AppError::not_found("该测评"))?;
    Ok((c, mine, row))
}
