//! The decisions' actions: the register read and added to, decisions created, opened and closed,
//! ballots cast online by owners or entered from paper by the committee, and every tally computed
//! by [`rules::tally`] from the register and the current ballots.

use std::collections::HashMap;
use std::path::Path;

use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Choice, Rule, Tally, UnitShare};
use super::store::{self, BallotRow, DecisionRow, NewUnit, UnitRow};
use crate::audit;
use crate::auth::{Capability, Principal};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::store::GridRow;

/// Longest title and text.
pub const MAX_TITLE: usize = 60;
pub const MAX_BODY: usize = 5_000;
/// Most units one call may add.
pub const MAX_ADD: usize = 2_000;
/// Longest voting window (a year).
const MAX_WINDOW_MS: i64 = 366 * 86_400_000;

/// The counting owner of a resident's units.
pub fn resident_key(id: Uuid) -> String {
    format!("r:{id}")
}
/// The counting owner of every unit of the developer (开发商): they count once together.
pub const DEVELOPER_KEY: &str = "developer";
/// The counting owner of a named outside owner.
pub fn named_key(name: &str) -> String {
    format!("n:{name}")
}

/// Allowed, or not found when the caller has the right somewhere else, or forbidden.
fn scope(p: &Principal, cap: Capability, code: &str, what: &str) -> AppResult<()> {
    if p.can(cap, code) {
        Ok(())
    } else if p.has(cap) {
        Err(AppError::not_found(what))
    } else {
        Err(AppError::forbidden())
    }
}

/// The compound (level 4) `code` of the caller's district.
pub async fn compound(db: &Db, p: &Principal, code: &str) -> AppResult<GridRow> {
    let g = crate::grid::store::get(db, code)
        .await?
        .filter(|g| g.district == p.district)
        .ok_or_else(|| AppError::not_found("小区"))?;
    if g.level != 4 {
        return Err(AppError::invalid("not_a_compound", "业主共同决定以小区为单位，请选择一个小区"));
    }
    Ok(g)
}

/// The tally of a register and its ballots (owners with no unit are left out).
pub fn tally_of(matter: i64, shares: &[(String, i64)], ballots: &[BallotRow]) -> Tally {
    let rule = rules::rule_of(matter).unwrap_or(Rule::Majority);
    let units: Vec<UnitShare> = shares.iter().map(|(o, a)| UnitShare { owner: o, area: *a }).collect();
    let votes: HashMap<&str, Choice> = ballots
        .iter()
        .filter_map(|b| Choice::parse(&b.choice).map(|c| (b.owner_key.as_str(), c)))
        .collect();
    rules::tally(rule, &units, &votes)
}

/// The tally of a stored decision, read from the database.
pub async fn tally(db: &Db, d: &DecisionRow) -> AppResult<Tally> {
    let shares = store::shares(db, &d.compound_code).await?;
    let ballots = store::ballots(db, d.id).await?;
    Ok(tally_of(d.matter, &shares, &ballots))
}

// ---- preview (表决试算) ----

pub struct PreviewUnit {
    pub unit: String,
    pub owner: String,
    pub area: String,
}

/// The rule applied to a register and ballots sent in the request: nothing stored.
pub fn preview(matter: i64, units: &[PreviewUnit], ballots: &HashMap<String, String>) -> AppResult<Tally> {
    let rule = rules::rule_of(matter)
        .ok_or_else(|| AppError::invalid("invalid_matter", "表决事项应为民法典第二百七十八条第一至九项之一（1–9）"))?;
    if units.is_empty() {
        return Err(AppError::invalid("no_units", "请至少填写一个专有部分"));
    }
    if units.len() > rules::MAX_UNITS {
        return Err(AppError::invalid("too_many_units", format!("专有部分最多 {} 个", rules::MAX_UNITS)));
    }
    if ballots.len() > rules::MAX_UNITS {
        return Err(AppError::invalid("too_many_ballots", format!("表决票最多 {} 张", rules::MAX_UNITS)));
    }
    let mut shares = Vec::with_capacity(units.len());
    let mut labels = std::collections::HashSet::new();
    for (i, u) in units.iter().enumerate() {
        let n = i + 1;
        let owner = u.owner.trim();
        if owner.is_empty() || owner.chars().count() > 60 {
            return Err(AppError::invalid("invalid_owner", format!("第 {n} 个专有部分的业主应为1至60个字")));
        }
        let label = u.unit.trim();
        if label.is_empty() || label.chars().count() > 40 {
            return Err(AppError::invalid("invalid_unit", format!("第 {n} 个专有部分的房号应为1至40个字")));
        }
        if !labels.insert(label) {
            return Err(AppError::invalid("duplicate_unit", format!("第 {n} 个专有部分的房号重复")));
        }
        let area = area_of(&u.area, n)?;
        shares.push(UnitShare { owner, area });
    }
    let owners = rules::owners(&shares);
    let mut votes: HashMap<&str, Choice> = HashMap::new();
    for (owner, choice) in ballots {
        let c = Choice::parse(choice.trim())
            .ok_or_else(|| AppError::invalid("invalid_choice", "表决意见应为 yes（同意）、no（反对）或 abstain（弃权）"))?;
        let key = owners
            .get_key_value(owner.trim())
            .map(|(k, _)| *k)
            .ok_or_else(|| AppError::invalid("unknown_owner", "有表决票的业主在专有部分清单中没有房屋"))?;
        votes.insert(key, c);
    }
    Ok(rules::tally(rule, &shares, &votes))
}

fn area_of(text: &str, n: usize) -> AppResult<i64> {
    rules::parse_area(text).map_err(|e| match e {
        rules::AreaError::Negative => AppError::invalid("negative_area", format!("第 {n} 个专有部分的面积不能为负数")),
        rules::AreaError::TooPrecise => AppError::invalid("area_precision", format!("第 {n} 个专有部分的面积最多两位小数")),
        rules::AreaError::OutOfRange => AppError::invalid(
            "area_out_of_range",
            format!("第 {n} 个专有部分的面积应大于0且不超过100000.00平方米"),
        ),
        rules::AreaError::Malformed => AppError::invalid("invalid_area", format!("第 {n} 个专有部分的面积应为数字，如 89.50")),
    })
}

// ---- the register (专有部分) ----

pub async fn register(db: &Db, p: &Principal, code: &str) -> AppResult<(GridRow, Vec<UnitRow>)> {
    scope(p, Capability::ReadRegistry, code, "小区")?;
    let g = compound(db, p, code).await?;
    let units = store::units(db, &g.code).await?;
    Ok((g, units))
}

pub struct AddUnit {
    pub building: String,
    pub unit: String,
    pub area: String,
    pub resident: Option<Uuid>,
    pub owner_name: Option<String>,
    pub developer: bool,
}

/// Add exclusive units to a compound's register (one transaction, audited once).
pub async fn add_units(db: &Db, p: &Principal, code: &str, input: &[AddUnit]) -> AppResult<usize> {
    scope(p, Capability::WriteRegistry, code, "小区")?;
    let g = compound(db, p, code).await?;
    if input.is_empty() || input.len() > MAX_ADD {
        return Err(AppError::invalid("invalid_units", format!("一次添加1至{MAX_ADD}个专有部分")));
    }
    let now = now_ms();
    let mut rows = Vec::with_capacity(input.len());
    let mut labels = std::collections::HashSet::new();
    for (i, u) in input.iter().enumerate() {
        let n = i + 1;
        let building = u.building.trim();
        if !(building.starts_with(&g.code) && building.len() == g.code.len() + 3) {
            return Err(AppError::invalid(
                "invalid_building",
                format!("第 {n} 个专有部分的楼栋应为本小区的楼栋网格编码"),
            ));
        }
        let label = crate::identity::half_width(u.unit.trim());
        if label.is_empty() || label.chars().count() > 40 {
            return Err(AppError::invalid(
                "invalid_unit",
                format!("第 {n} 个专有部分的房号应为1至40个字，如 1-2-301"),
            ));
        }
        if !labels.insert(label.clone()) {
            return Err(AppError::invalid("duplicate_unit", format!("第 {n} 个专有部分的房号重复")));
        }
        let area = area_of(&u.area, n)?;
        let (resident, name, key) = match (u.resident, u.owner_name.as_deref().map(str::trim)) {
            (Some(r), None) if !u.developer => (Some(r), String::new(), resident_key(r)),
            (None, Some(name)) if !name.is_empty() && name.chars().count() <= 60 => {
                let key = if u.developer { DEVELOPER_KEY.to_string() } else { named_key(name) };
                (None, name.to_string(), key)
            }
            _ => {
                return Err(AppError::invalid(
                    "invalid_owner",
                    format!("第 {n} 个专有部分的业主应为一位居民（resident），或一个外部业主的名称（owner_name，开发商另加 developer）"),
                ));
            }
        };
        rows.push(NewUnit {
            id: new_id(),
            district: g.district.clone(),
            compound_code: g.code.clone(),
            building_code: building.to_string(),
            label,
            area_centi: area,
            resident_id: resident,
            owner_name: name,
            developer: u.developer,
            owner_key: key,
            created_at: now,
        });
    }
    // The buildings and residents named must exist where they are said to.
    let mut tx = db.begin().await?;
    for r in &rows {
        let ok: i64 = crate::on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM grids WHERE code = $1 AND parent_code = $2"
        )
        .bind(&r.building_code)
        .bind(&g.code)
        .fetch_one(&mut *c)
        .await)?;
        if ok == 0 {
            return Err(AppError::invalid(
                "invalid_building",
                format!("楼栋 {} 不在本小区", r.building_code),
            ));
        }
        if let Some(res) = r.resident_id {
            let ok: i64 = crate::on_tx!(&mut tx, |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM residents WHERE id = $1 AND district = $2"
            )
            .bind(res)
            .bind(&g.district)
            .fetch_one(&mut *c)
            .await)?;
            if ok == 0 {
                return Err(AppError::invalid("unknown_resident", "业主不是本区登记的居民"));
            }
        }
    }
    let existing: std::collections::HashSet<String> = store::existing_labels(&mut tx, &g.code).await?.into_iter().collect();
    if let Some(r) = rows.iter().find(|r| existing.contains(&r.label)) {
        return Err(AppError::conflict(
            "unit_exists",
            format!("房号 {} 已在本小区的专有部分登记中", r.label),
        ));
    }
    if existing.len() + rows.len() > rules::MAX_UNITS {
        return Err(AppError::invalid(
            "too_many_units",
            format!("一个小区的专有部分最多 {} 个", rules::MAX_UNITS),
        ));
    }
    store::insert_units(&mut tx, &rows).await?;
    let area: i64 = rows.iter().map(|r| r.area_centi).sum();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &g.district,
            action: "decision.register",
            target_kind: "grid",
            target_id: &g.code,
            reason: "",
            detail: json!({"units": rows.len(), "area": rules::format_area(area)}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

// ---- decisions ----

pub struct NewDecision {
    pub compound: String,
    pub matter: i64,
    pub title: String,
    pub body: String,
    pub opens_at: String,
    pub closes_at: String,
}

fn instant(t: &str, field: &'static str) -> AppResult<i64> {
    t.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| AppError::invalid(field, "时间应为 RFC 3339 格式，如 2026-12-01T09:00:00+08:00"))
}

pub async fn create(db: &Db, p: &Principal, d: &NewDecision) -> AppResult<Uuid> {
    scope(p, Capability::WriteRegistry, d.compound.trim(), "小区")?;
    let g = compound(db, p, d.compound.trim()).await?;
    if rules::rule_of(d.matter).is_none() {
        return Err(AppError::invalid(
            "invalid_matter",
            "表决事项应为民法典第二百七十八条第一至九项之一（1–9）",
        ));
    }
    let title = d.title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(AppError::invalid("invalid_title", format!("标题应为1至{MAX_TITLE}个字")));
    }
    let body = d.body.trim();
    if body.is_empty() || body.chars().count() > MAX_BODY {
        return Err(AppError::invalid("invalid_body_text", format!("表决内容应为1至{MAX_BODY}个字")));
    }
    let opens = instant(&d.opens_at, "invalid_opens_at")?;
    let closes = instant(&d.closes_at, "invalid_closes_at")?;
    if closes <= opens || closes - opens > MAX_WINDOW_MS {
        return Err(AppError::invalid(
            "invalid_window",
            "表决截止时间应晚于开始时间，且表决期不超过一年",
        ));
    }
    let now = now_ms();
    let row = DecisionRow {
        id: new_id(),
        district: g.district.clone(),
        compound_code: g.code.clone(),
        matter: d.matter,
        title: title.to_string(),
        body: body.to_string(),
        status: "draft".into(),
        opens_at: opens,
        closes_at: closes,
        passed: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.begin().await?;
    store::insert(&mut tx, &row, p.user_id).await?;
    let id = row.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &g.district,
            action: "decision.create",
            target_kind: "decision",
            target_id: &id,
            reason: "",
            detail: json!({"compound": g.code, "matter": d.matter}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// Who sees a decision: staff with the registry over its compound, and the compound's owners
/// (not its drafts). Returns the decision and the caller's own units in its compound.
pub async fn visible(db: &Db, p: &Principal, id: Uuid) -> AppResult<(DecisionRow, Vec<UnitRow>)> {
    let d = store::get(db, &p.district, id).await?.ok_or_else(|| AppError::not_found("表决"))?;
    let mine = my_units(db, p, &d.compound_code).await?;
    if p.can(Capability::ReadRegistry, &d.compound_code) {
        return Ok((d, mine));
    }
    if !mine.is_empty() && d.status != "draft" {
        return Ok((d, mine));
    }
    if p.has(Capability::ReadRegistry) || crate::registry::residents::of_account(db, p.user_id).await?.is_some() {
        return Err(AppError::not_found("表决"));
    }
    Err(AppError::forbidden())
}

/// The caller's own units in a compound (a signed-in resident who owns some there).
pub async fn my_units(db: &Db, p: &Principal, compound: &str) -> AppResult<Vec<UnitRow>> {
    match crate::registry::residents::of_account(db, p.user_id).await? {
        Some(r) => Ok(store::units_of_resident(db, compound, r.id).await?),
        None => Ok(Vec::new()),
    }
}

/// Decisions under a grid node: staff with the registry there see all; an owner sees the
/// decisions (not drafts) of the compounds where they own units.
pub async fn list(db: &Db, p: &Principal, code: &str, limit: i64, offset: i64) -> AppResult<(Vec<DecisionRow>, i64)> {
    if p.can(Capability::ReadRegistry, code) {
        return Ok(store::list(db, &p.district, code, limit, offset).await?);
    }
    let owned = match crate::registry::residents::of_account(db, p.user_id).await? {
        Some(r) => store::units_of_owner(db, r.id).await?,
        None => Vec::new(),
    };
    if owned.iter().any(|u| u.compound_code == code) {
        let (rows, _) = store::list(db, &p.district, code, 10_000, 0).await?;
        let rows: Vec<DecisionRow> = rows.into_iter().filter(|d| d.status != "draft").collect();
        let total = rows.len() as i64;
        return Ok((rows.into_iter().skip(offset as usize).take(limit as usize).collect(), total));
    }
    scope(p, Capability::ReadRegistry, code, "网格")?;
    Err(AppError::forbidden())
}

/// The owners' committee opens a draft for voting (开始表决).
pub async fn open(db: &Db, p: &Principal, id: Uuid) -> AppResult<()> {
    transition(db, p, id, "draft", "open", "decision.open").await
}

/// The owners' committee closes the vote once its window is over and publishes the result.
pub async fn close(db: &Db, p: &Principal, id: Uuid) -> AppResult<()> {
    transition(db, p, id, "open", "closed", "decision.close").await
}

async fn transition(db: &Db, p: &Principal, id: Uuid, from: &str, to: &str, action: &str) -> AppResult<()> {
    let d = store::get(db, &p.district, id).await?.ok_or_else(|| AppError::not_found("表决"))?;
    scope(p, Capability::WriteRegistry, &d.compound_code, "表决")?;
    let now = now_ms();
    if to == "closed" && now < d.closes_at {
        return Err(AppError::conflict("window_open", "表决期尚未结束，不能结束表决"));
    }
    if to == "open" && now >= d.closes_at {
        return Err(AppError::conflict("window_over", "表决截止时间已过，不能再开始表决"));
    }
    let mut tx = db.begin().await?;
    let passed = if to == "closed" {
        let shares = store::shares_tx(&mut tx, &d.compound_code).await?;
        let ballots = store::ballots_tx(&mut tx, d.id).await?;
        Some(tally_of(d.matter, &shares, &ballots).passed())
    } else {
        None
    };
    if !store::set_status(&mut tx, d.id, from, to, passed, now).await? {
        return Err(AppError::conflict("invalid_state", "表决当前的状态不能进行这一步"));
    }
    let sid = d.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &d.district,
            action,
            target_kind: "decision",
            target_id: &sid,
            reason: "",
            detail: json!({"status": to, "passed": passed}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Is the vote open now?
fn voting(d: &DecisionRow, now: i64) -> AppResult<()> {
    if d.status != "open" || now < d.opens_at || now >= d.closes_at {
        return Err(AppError::conflict("not_voting", "该表决当前不在表决期内"));
    }
    Ok(())
}

/// An owner votes online with all their units (one ballot for the counting owner; a second vote
/// changes it). Returns the previous choice, if any.
pub async fn vote(db: &Db, p: &Principal, id: Uuid, choice: &str) -> AppResult<Option<String>> {
    let d = store::get(db, &p.district, id).await?.ok_or_else(|| AppError::not_found("表决"))?;
    let Some(me) = crate::registry::residents::of_account(db, p.user_id).await? else {
        return Err(AppError::forbidden());
    };
    let mine = store::units_of_resident(db, &d.compound_code, me.id).await?;
    if mine.is_empty() || d.status == "draft" {
        return Err(AppError::not_found("表决"));
    }
    let c = Choice::parse(choice.trim())
        .ok_or_else(|| AppError::invalid("invalid_choice", "表决意见应为 yes（同意）、no（反对）或 abstain（弃权）"))?;
    cast(db, p, &d, &resident_key(me.id), c, "online", "").await
}

/// The committee enters a signed paper ballot for the owner of `unit` (a label of the register),
/// with a photo of it.
pub async fn paper(db: &Db, dir: &Path, p: &Principal, id: Uuid, unit: &str, choice: &str, photo: &[u8]) -> AppResult<Option<String>> {
    let d = store::get(db, &p.district, id).await?.ok_or_else(|| AppError::not_found("表决"))?;
    scope(p, Capability::WriteRegistry, &d.compound_code, "表决")?;
    let c = Choice::parse(choice.trim())
        .ok_or_else(|| AppError::invalid("invalid_choice", "表决意见应为 yes（同意）、no（反对）或 abstain（弃权）"))?;
    let label = crate::identity::half_width(unit.trim());
    let owner = store::units(db, &d.compound_code)
        .await?
        .into_iter()
        .find(|u| u.label == label)
        .ok_or_else(|| AppError::invalid("unknown_unit", "本小区的专有部分登记中没有这个房号"))?;
    voting(&d, now_ms())?;
    let mime = check_photo(photo)?;
    let sha = store_photo(dir, photo, mime).await?;
    cast(db, p, &d, &owner.owner_key, c, "paper", &sha).await
}

async fn cast(
    db: &Db,
    p: &Principal,
    d: &DecisionRow,
    owner_key: &str,
    c: Choice,
    channel: &str,
    photo: &str,
) -> AppResult<Option<String>> {
    let now = now_ms();
    voting(d, now)?;
    let mut tx = db.begin().await?;
    // Read again under the lock: a close between the read above and here wins.
    let d = store::get_for_update(&mut tx, &d.district, d.id)
        .await?
        .ok_or_else(|| AppError::not_found("表决"))?;
    voting(&d, now)?;
    if !store::owner_exists(&mut tx, &d.compound_code, owner_key).await? {
        return Err(AppError::not_found("表决"));
    }
    let previous = store::upsert_ballot(&mut tx, d.id, owner_key, c.as_str(), channel, photo, p.user_id, now).await?;
    let sid = d.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &d.district,
            action: if channel == "paper" { "decision.paper" } else { "decision.vote" },
            target_kind: "decision",
            target_id: &sid,
            reason: "",
            detail: json!({"owner": owner_key, "choice": c.as_str(), "previous": previous, "photo": photo}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(previous)
}

pub const MAX_PHOTO: usize = 10 * 1024 * 1024;

fn check_photo(bytes: &[u8]) -> AppResult<&'static str> {
    if bytes.is_empty() || bytes.len() > MAX_PHOTO {
        return Err(AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "纸质表决票的照片不能为空，且不超过10MB",
        ));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("jpg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Ok("png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok("webp")
    } else {
        Err(AppError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_image",
            "只接受 JPEG、PNG 或 WebP 格式的照片",
        ))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::auth::hex(&sha2::Sha256::digest(bytes))
}

/// Where a ballot photo lives.
pub fn photo_path(dir: &Path, sha: &str) -> Option<std::path::PathBuf> {
    (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| dir.join("ballots").join(&sha[..2]).join(sha))
}

/// Write the photo under its SHA-256 (temporary name, synced, renamed) and return the hash.
async fn store_photo(dir: &Path, bytes: &[u8], _mime: &str) -> AppResult<String> {
    let (owned, root) = (bytes.to_vec(), dir.to_path_buf());
    let sha = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        use std::io::Write;
        let sha = sha256_hex(&owned);
        let path = photo_path(&root, &sha).ok_or_else(|| anyhow::anyhow!("hash"))?;
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == owned.len() as u64) {
            return Ok(sha);
        }
        let parent = path.parent().ok_or_else(|| anyhow::anyhow!("no folder"))?;
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(format!(".{sha}.{}", Uuid::now_v7()));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&owned)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(sha)
    })
    .await
    .map_err(|e| anyhow::anyhow!("photo writer: {e}"))??;
    Ok(sha)
}

/// A paper ballot's photo, for staff with the registry over the compound.
pub async fn photo(db: &Db, dir: &Path, p: &Principal, id: Uuid, sha: &str) -> AppResult<(String, Vec<u8>)> {
    let d = store::get(db, &p.district, id).await?.ok_or_else(|| AppError::not_found("表决"))?;
    scope(p, Capability::ReadRegistry, &d.compound_code, "表决")?;
    let known = store::ballots(db, d.id).await?.iter().any(|b| b.photo_sha256 == sha);
    let path = photo_path(dir, sha).filter(|_| known).ok_or_else(|| AppError::not_found("照片"))?;
    let bytes = tokio::fs::read(&path).await.map_err(|_| AppError::not_found("照片"))?;
    let mime = match check_photo(&bytes) {
        Ok("png") => "image/png",
        Ok("webp") => "image/webp",
        _ => "image/jpeg",
    };
    Ok((mime.to_string(), bytes))
}

/// The area a tally's figures use, as decimal strings.
pub fn area(v: i64) -> String {
    rules::format_area(v)
}
