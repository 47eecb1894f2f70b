//! Red proxy service operations, shared by the API, the pages and the demo: the district's list
//! of matters, registering a matter for a resident, taking it, steps, document receipts with both
//! sides' confirmation, closing and the person's rating — each scoped to the caller's posts.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, CloseError, DocEvent, DocState, Status};
use super::store::{self, DocRow, KindRow, MatterRow, StepRow};
use crate::audit;
use crate::auth::{Capability, Principal};
use crate::cases::calendar::Calendar;
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};

fn text(raw: &str, min: usize, max: usize, code: &'static str, what: &str) -> AppResult<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min || n > max {
        Err(AppError::invalid(code, format!("{what}应为{min}至{max}字")))
    } else {
        Ok(t.to_string())
    }
}

async fn audit_last(tx: &mut Tx, p: &Principal, action: &str, target_kind: &str, target: Uuid, detail: serde_json::Value) -> AppResult<()> {
    audit::record(
        tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action,
            target_kind,
            target_id: &target.to_string(),
            reason: "",
            detail,
        },
    )
    .await?;
    Ok(())
}

/// Editing the district's list: district-level staff.
fn may_edit_kinds(p: &Principal) -> bool {
    p.can(Capability::ManageGrid, &p.district)
}

/// One entry of the district's list (代办事项目录).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewKind {
    /// 2–40 characters; an existing name is updated.
    pub name: String,
    /// The documents it needs, joined by 、 (up to 400 characters).
    #[serde(default)]
    pub documents: String,
    /// Time limit in working days, 1–60.
    pub limit_days: i64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

pub async fn save_kind(db: &Db, p: &Principal, k: &NewKind) -> AppResult<KindRow> {
    if !may_edit_kinds(p) {
        return Err(AppError::forbidden_to("只有区级工作人员可以维护代办事项目录"));
    }
    let name = text(&k.name, 2, 40, "invalid_name", "事项名称")?;
    let documents = text(&crate::identity::half_width(&k.documents), 0, 400, "invalid_documents", "所需材料")?;
    if !(1..=60).contains(&k.limit_days) {
        return Err(AppError::invalid("invalid_limit", "办理时限应为1至60个工作日"));
    }
    let mut row = KindRow {
        id: new_id(),
        name,
        documents,
        limit_days: k.limit_days,
        active: k.active,
    };
    let mut tx = db.begin().await?;
    row.id = store::save_kind(&mut tx, &p.district, &row, now_ms()).await?;
    audit_last(
        &mut tx,
        p,
        "proxy.kind",
        "proxy_kind",
        row.id,
        json!({"limit_days": row.limit_days, "active": row.active}),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// A new matter, registered by staff who keep the person's building (WriteRegistry there).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMatter {
    pub resident: Uuid,
    pub kind: Uuid,
    /// in_person, phone or building_officer
    pub via: String,
    /// What is to be done, up to 500 characters.
    #[serde(default)]
    pub note: String,
}

/// Register a matter. Returns it and the six-digit code printed on the person's slip: shown this
/// once, stored only as a hash; the person confirms each hand-over and return with it.
pub async fn create(db: &Db, cal: &Calendar, p: &Principal, n: &NewMatter) -> AppResult<(MatterRow, String)> {
    if !p.has(Capability::WriteRegistry) {
        return Err(AppError::forbidden_to("只有网格工作人员可以登记代办事项"));
    }
    let person = store::person(db, n.resident)
        .await?
        .filter(|r| r.district == p.district && p.can(Capability::WriteRegistry, &r.grid_code))
        .ok_or_else(|| AppError::not_found("该居民"))?;
    let kind = store::kind(db, &p.district, n.kind)
        .await?
        .filter(|k| k.active)
        .ok_or_else(|| AppError::invalid("unknown_kind", "请从代办事项目录中选择事项"))?;
    if !rules::VIA.iter().any(|v| v.0 == n.via) {
        return Err(AppError::invalid("invalid_via", "求助方式应为上门、电话或楼栋长代为提出"));
    }
    let note = text(&n.note, 0, 500, "invalid_note", "办理说明")?;
    let now = now_ms();
    let from = jiff::Timestamp::from_millisecond(now).map_err(|_| AppError::invalid("invalid_time", "时间无效"))?;
    let due_at = cal.add_working_days(from, kind.limit_days as u32).as_millisecond();
    let id = new_id();
    let code = slip();
    let hash = rules::code_hash(id, &code);
    let mut tx = db.begin().await?;
    store::insert_matter(
        &mut tx,
        &store::NewMatter {
            id,
            district: &p.district,
            grid_code: &person.grid_code,
            resident_id: person.id,
            kind_id: kind.id,
            via: &n.via,
            note: &note,
            code_hash: &hash,
            due_at,
            created_by: &p.display_name,
            now,
        },
    )
    .await?;
    audit_last(
        &mut tx,
        p,
        "proxy.create",
        "proxy_matter",
        id,
        json!({"kind": kind.id, "via": n.via}),
    )
    .await?;
    tx.commit().await?;
    let m = store::matter(db, id).await?.ok_or_else(|| AppError::not_found("该代办事项"))?;
    Ok((m, code))
}

/// Six random digits.
pub fn slip() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("operating system randomness");
    format!("{:06}", u64::from_le_bytes(b) % 1_000_000)
}

/// May this person see the matter: staff reading the person's building, or its agent.
pub fn readable(p: &Principal, m: &MatterRow) -> bool {
    m.district == p.district && (p.can(Capability::ReadRegistry, &m.grid_code) || m.agent_id == Some(p.user_id))
}

/// A matter the caller may see, or 404 (they read the registry somewhere) / 403.
pub async fn matter_for(db: &Db, p: &Principal, id: Uuid) -> AppResult<MatterRow> {
    match store::matter(db, id).await? {
        Some(m) if readable(p, &m) => Ok(m),
        _ if p.has(Capability::ReadRegistry) => Err(AppError::not_found("该代办事项")),
        _ => Err(AppError::forbidden_to("该角色不能查看红色代办")),
    }
}

/// The matter for its agent, locked in `tx`; anybody else is refused.
async fn as_agent(db: &Db, tx: &mut Tx, p: &Principal, id: Uuid) -> AppResult<MatterRow> {
    let m = matter_for(db, p, id).await?;
    if m.agent_id != Some(p.user_id) {
        return Err(AppError::forbidden_to("只有领办该事项的代办员可以办理"));
    }
    store::lock_matter(tx, id).await?.ok_or_else(|| AppError::not_found("该代办事项"))
}

fn status(m: &MatterRow) -> Status {
    Status::parse(&m.status).unwrap_or(Status::Done)
}

/// Take an open matter as its agent (a grid worker over the person's building).
pub async fn take(db: &Db, p: &Principal, id: Uuid) -> AppResult<()> {
    let m = matter_for(db, p, id).await?;
    if !p.can(Capability::WriteRegistry, &m.grid_code) {
        return Err(AppError::forbidden_to("只有该居民所在网格的工作人员可以领办"));
    }
    let mut tx = db.begin().await?;
    if !store::take(&mut tx, id, p.user_id, &p.display_name, now_ms()).await? {
        return Err(AppError::conflict("already_taken", "该事项已有代办员领办"));
    }
    audit_last(&mut tx, p, "proxy.take", "proxy_matter", id, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewStep {
    /// What was done, 2–500 characters.
    pub note: String,
}

pub async fn add_step(db: &Db, p: &Principal, id: Uuid, n: &NewStep) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let m = as_agent(db, &mut tx, p, id).await?;
    if status(&m) != Status::Taken {
        return Err(AppError::conflict("not_taken", "只有办理中的事项才能记录进展"));
    }
    let s = StepRow {
        id: new_id(),
        note: text(&n.note, 2, 500, "invalid_note", "办理进展")?,
        by_name: p.display_name.clone(),
        at_ms: now_ms(),
    };
    store::insert_step(&mut tx, id, &s).await?;
    audit_last(&mut tx, p, "proxy.step", "proxy_matter", id, json!({"step": s.id})).await?;
    tx.commit().await?;
    Ok(())
}

/// Wrong slip codes per matter: a million codes can be guessed, so five free tries, then waits
/// that double from a minute up to a quarter of an hour (the volunteers' check-in policy). Held
/// by the process, like the sign-in throttle: a restart forgives, which a guesser cannot cause.
static SLIP_TRIES: std::sync::LazyLock<crate::web::throttle::Throttle<Uuid>> =
    std::sync::LazyLock::new(|| crate::web::throttle::Throttle::new(crate::volunteers::service::CODE_POLICY));

/// The person's code, checked against the matter's hash: `None` when none was entered. A wrong
/// code counts against the matter; while it waits, even the right one is refused.
fn person_code(m: &MatterRow, raw: Option<&str>) -> AppResult<bool> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(false),
        Some(raw) => {
            let code = rules::slip_code(raw).ok_or_else(|| AppError::invalid("invalid_code", "确认码应为6位数字"))?;
            if let Err(wait) = SLIP_TRIES.attempt(&m.id) {
                let minutes = wait.as_secs().div_ceil(60).max(1);
                return Err(AppError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_code_attempts",
                    format!("确认码输错次数过多，请{minutes}分钟后再试"),
                ));
            }
            if rules::code_hash(m.id, &code) != m.code_hash {
                return Err(AppError::invalid("wrong_code", "确认码不对：请核对居民手中回执上的6位确认码"));
            }
            SLIP_TRIES.clear(&m.id);
            Ok(true)
        }
    }
}

/// A receipt for a document handed over.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewDocument {
    /// 身份证原件, 社保卡 …, 2–40 characters.
    pub name: String,
    /// The person's code from their slip: their confirmation. Without it the receipt waits for it.
    pub code: Option<String>,
}

pub async fn hand_over(db: &Db, p: &Principal, id: Uuid, n: &NewDocument) -> AppResult<DocRow> {
    let mut tx = db.begin().await?;
    let m = as_agent(db, &mut tx, p, id).await?;
    if status(&m) != Status::Taken {
        return Err(AppError::conflict("not_taken", "只有办理中的事项才能登记材料交接"));
    }
    let name = text(&n.name, 2, 40, "invalid_name", "材料名称")?;
    let person = person_code(&m, n.code.as_deref())?;
    let now = now_ms();
    let d = DocRow {
        id: new_id(),
        matter_id: id,
        name,
        state: rules::handed(person).as_str().to_string(),
        handed_at: now,
        handed_by: p.display_name.clone(),
        person_handed_at: person.then_some(now),
        returned_at: None,
        returned_by: None,
        person_returned_at: None,
    };
    store::insert_document(&mut tx, &m.district, &d).await?;
    audit_last(
        &mut tx,
        p,
        "proxy.hand_over",
        "proxy_matter",
        id,
        json!({"document": d.id, "person_confirmed": person}),
    )
    .await?;
    tx.commit().await?;
    Ok(d)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Confirm {
    /// The person's six-digit code.
    pub code: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Return {
    /// The person's code, when they confirm on the spot; else the return waits for it.
    pub code: Option<String>,
}

/// A step on a document: the person's confirmation (`Confirm`), or the agent's return.
async fn custody(
    db: &Db,
    p: &Principal,
    doc: Uuid,
    event: impl FnOnce(bool) -> DocEvent,
    code: Option<&str>,
    needs_code: bool,
) -> AppResult<DocRow> {
    let d0 = store::document(db, doc).await?.ok_or_else(|| AppError::not_found("该材料"))?;
    let mut tx = db.begin().await?;
    let m = as_agent(db, &mut tx, p, d0.matter_id).await?;
    let person = person_code(&m, code)?;
    if needs_code && !person {
        return Err(AppError::invalid("code_required", "请输入居民回执上的6位确认码"));
    }
    let mut d = store::document_tx(&mut tx, doc)
        .await?
        .ok_or_else(|| AppError::not_found("该材料"))?;
    let from = DocState::parse(&d.state).unwrap_or(DocState::Returned);
    let e = event(person);
    let to = rules::step(from, e).map_err(|e| AppError::conflict(e.code(), e.message()))?;
    let now = now_ms();
    match (from, to) {
        (DocState::Offered, DocState::Held) => d.person_handed_at = Some(now),
        (DocState::ReturnOffered, DocState::Returned) => d.person_returned_at = Some(now),
        (DocState::Held, _) => {
            d.returned_at = Some(now);
            d.returned_by = Some(p.display_name.clone());
            if to == DocState::Returned {
                d.person_returned_at = Some(now);
            }
        }
        _ => {}
    }
    d.state = to.as_str().to_string();
    if !store::update_document(&mut tx, &d, from.as_str()).await? {
        return Err(AppError::conflict("document_changed", "该材料的状态刚刚被更新，请刷新后再试"));
    }
    let action = if matches!(e, DocEvent::PersonConfirms) {
        "proxy.confirm"
    } else {
        "proxy.return"
    };
    audit_last(
        &mut tx,
        p,
        action,
        "proxy_matter",
        m.id,
        json!({"document": d.id, "state": d.state}),
    )
    .await?;
    tx.commit().await?;
    Ok(d)
}

/// The person confirms the hand-over or the return awaiting them.
pub async fn confirm(db: &Db, p: &Principal, doc: Uuid, c: &Confirm) -> AppResult<DocRow> {
    custody(db, p, doc, |_| DocEvent::PersonConfirms, Some(&c.code), true).await
}

/// The agent gives a document back (with the person's code: confirmed at once).
pub async fn give_back(db: &Db, p: &Principal, doc: Uuid, r: &Return) -> AppResult<DocRow> {
    custody(db, p, doc, |person| DocEvent::AgentReturns { person }, r.code.as_deref(), false).await
}

/// Close a matter: only its agent, only with every document confirmed back.
pub async fn finish(db: &Db, p: &Principal, id: Uuid) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let m = as_agent(db, &mut tx, p, id).await?;
    let docs: Vec<DocState> = docs_in(&mut tx, id).await?;
    rules::may_close(status(&m), &docs).map_err(|e: CloseError| AppError::conflict(e.code(), e.message()))?;
    // The update checks again in SQL, so nothing written past the lock can slip by.
    if !store::finish(&mut tx, id, now_ms()).await? {
        return Err(AppError::conflict("documents_held", "还有材料未经本人确认归还，不能办结"));
    }
    audit_last(&mut tx, p, "proxy.done", "proxy_matter", id, json!({})).await?;
    tx.commit().await?;
    Ok(())
}

async fn docs_in(tx: &mut Tx, id: Uuid) -> AppResult<Vec<DocState>> {
    let states: Vec<String> = crate::on_tx!(tx, |c| sqlx::query_scalar::<_, String>(
        "SELECT state FROM proxy_documents WHERE matter_id = $1"
    )
    .bind(id)
    .fetch_all(c)
    .await)?;
    Ok(states.iter().map(|s| DocState::parse(s).unwrap_or(DocState::Held)).collect())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Rating {
    /// 1–5 stars.
    pub stars: i64,
    /// The person's code: the rating is theirs.
    pub code: String,
}

/// The person's rating of a done matter, entered with their code (by the agent or staff at the
/// building, on their behalf).
pub async fn rate(db: &Db, p: &Principal, id: Uuid, r: &Rating) -> AppResult<()> {
    let m = matter_for(db, p, id).await?;
    if m.agent_id != Some(p.user_id) && !p.can(Capability::WriteRegistry, &m.grid_code) {
        return Err(AppError::forbidden_to("只有代办员或该居民所在网格的工作人员可以代为录入评价"));
    }
    if !person_code(&m, Some(&r.code))? {
        return Err(AppError::invalid("code_required", "请输入居民回执上的6位确认码"));
    }
    if !(1..=5).contains(&r.stars) {
        return Err(AppError::invalid("invalid_stars", "评价应为1至5星"));
    }
    let mut tx = db.begin().await?;
    if !store::rate(&mut tx, id, r.stars, now_ms()).await? {
        return Err(AppError::conflict("not_rateable", "只有已办结且尚未评价的事项可以评价"));
    }
    audit_last(&mut tx, p, "proxy.rate", "proxy_matter", id, json!({"stars": r.stars})).await?;
    tx.commit().await?;
    Ok(())
}

/// The node a list covers: the one asked for if the caller reads it, else their widest.
pub fn list_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    crate::services::scope_root(p, grid, Capability::ReadRegistry, "该角色不能查看红色代办")
}
