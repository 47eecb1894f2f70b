//! Broadcast operations shared by the API, the pages, the demo and other features: send at a node,
//! list, read, acknowledge, reply, remind, the open instructions of a subtree, and webhooks.

use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Kind};
use super::store::{self, BroadcastRow, RecipientRow, WebhookRow};
use crate::audit::{self, Actor};
use crate::auth::{Capability, Principal};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid;

/// What a sender asks for.
#[derive(Debug, Clone, Default)]
pub struct NewBroadcast {
    pub grid: String,
    pub title: String,
    pub body: String,
    /// Grid levels to reach (1–5); none: every level at or below the node.
    pub levels: Option<Vec<i64>>,
    /// `notice` (default) or `instruction`.
    pub kind: Option<String>,
}

/// What a send did.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: Uuid,
    pub recipients: i64,
    pub deliveries: i64,
}

/// Send a notice or instruction at a node the sender may send at ([`rules::may_send`]). Its
/// recipients (one row per person, the sender left out), one outbox row per webhook that is
/// reached, and the audit row are written in one transaction.
pub async fn send(db: &Db, p: &Principal, input: &NewBroadcast) -> AppResult<Sent> {
    let code = input.grid.trim();
    if !rules::may_send(p, code) {
        return Err(if rules::sends_somewhere(p) {
            AppError::not_found("网格")
        } else {
            AppError::forbidden()
        });
    }
    let node = grid::store::get(db, code)
        .await?
        .filter(|g| g.district == p.district)
        .ok_or_else(|| AppError::not_found("网格"))?;
    send_as(db, p.actor(), Some(p.user_id), &p.district, &node, input, now_ms()).await
}

/// Send on behalf of `actor` (already authorised) at `node`, dated `at` (the demo dates its history).
pub async fn send_as(
    db: &Db,
    actor: Actor<'_>,
    sender: Option<Uuid>,
    district: &str,
    node: &grid::GridRow,
    input: &NewBroadcast,
    at: i64,
) -> AppResult<Sent> {
    let kind = match input.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => Kind::Notice,
        Some(k) => Kind::parse(k).ok_or_else(|| AppError::invalid("invalid_kind", "类型应为 notice（通知）或 instruction（指令）"))?,
    };
    let title =
        rules::clean_text(&input.title, rules::TITLE_MAX, false).map_err(|m| AppError::invalid("invalid_title", format!("标题{m}")))?;
    let body =
        rules::clean_text(&input.body, rules::BODY_MAX, true).map_err(|m| AppError::invalid("invalid_body_text", format!("正文{m}")))?;
    let mask = rules::levels_mask(input.levels.as_deref(), node.level).map_err(|m| AppError::invalid("invalid_levels", m))?;
    let id = new_id();
    let mut tx = db.begin().await?;
    let mut people = store::candidates(&mut tx, district, &node.code).await?;
    // One row per person: the widest of their posts the levels select (a person holding a
    // community post and a compound post is counted at the community).
    people.retain(|c| rules::selects(mask, c.level) && Some(c.user_id) != sender);
    people.sort_by(|a, b| (a.user_id, a.grid_code.len(), &a.grid_code).cmp(&(b.user_id, b.grid_code.len(), &b.grid_code)));
    people.dedup_by_key(|c| c.user_id);
    let hooks: Vec<Uuid> = store::webhooks_in(&mut tx, district, &node.code)
        .await?
        .into_iter()
        .filter(|w| w.grid_code == node.code || rules::level_of(&w.grid_code).is_some_and(|l| rules::selects(mask, l)))
        .map(|w| w.id)
        .collect();
    let row = store::NewRow {
        id,
        district,
        grid_code: &node.code,
        kind: kind.as_str(),
        title: &title,
        body: &body,
        levels: mask,
        sender_id: sender,
        sender_name: actor.display_name(),
        created_at: at,
    };
    store::insert(&mut tx, &row, &people, &hooks).await?;
    let id_text = id.to_string();
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "broadcast.send",
            target_kind: "broadcast",
            target_id: &id_text,
            reason: "",
            detail: json!({"grid": node.code, "kind": kind.as_str(), "levels": rules::levels_of(mask), "recipients": people.len(), "deliveries": hooks.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    if !hooks.is_empty() {
        super::deliver::wake();
    }
    Ok(Sent {
        id,
        recipients: people.len() as i64,
        deliveries: hooks.len() as i64,
    })
}

/// A broadcast as its reader may see it: `oversees` (the sender, or someone who may send at its
/// node) sees the receipts, every reply and the deliveries; `receipt` is the reader's own.
pub struct Visible {
    pub b: BroadcastRow,
    pub oversees: bool,
    pub receipt: Option<RecipientRow>,
}

/// Load a broadcast its reader received, sent or oversees; anything else is "not found".
pub async fn load(db: &Db, p: &Principal, id: Uuid) -> AppResult<Visible> {
    let b = store::get(db, &p.district, id).await?.ok_or_else(|| AppError::not_found("通知"))?;
    let oversees = b.sender_id == Some(p.user_id) || rules::may_send(p, &b.grid_code);
    let receipt = store::recipient(db, id, p.user_id).await?;
    if !oversees && receipt.is_none() {
        return Err(AppError::not_found("通知"));
    }
    Ok(Visible { b, oversees, receipt })
}

fn kind_of(b: &BroadcastRow) -> Kind {
    Kind::parse(&b.kind).unwrap_or(Kind::Notice)
}

fn not_recipient() -> AppError {
    AppError::conflict("not_a_recipient", "您不是这条通知的接收人")
}

/// The read receipt (已读), set when a recipient opens it; nothing for anyone else. Not audited:
/// it is a receipt, like a session's last use, and the recipient row keeps its time.
pub async fn mark_read(db: &Db, p: &Principal, v: &Visible) -> AppResult<bool> {
    if v.receipt.as_ref().is_none_or(|r| r.read_at.is_some()) {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    let (read, _) = store::mark(&mut tx, v.b.id, p.user_id, false, now_ms()).await?;
    tx.commit().await?;
    Ok(read)
}

/// 确认收到: an instruction's recipient acknowledges it (reading it too). Saying it twice is
/// answered without a second row.
pub async fn acknowledge(db: &Db, p: &Principal, v: &Visible) -> AppResult<bool> {
    if kind_of(&v.b) != Kind::Instruction {
        return Err(AppError::conflict("not_an_instruction", "通知只需阅读，不需确认收到"));
    }
    let r = v.receipt.as_ref().ok_or_else(not_recipient)?;
    if r.acked_at.is_some() {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    let (_, acked) = store::mark(&mut tx, v.b.id, p.user_id, true, now_ms()).await?;
    let id = v.b.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "broadcast.ack",
            target_kind: "broadcast",
            target_id: &id,
            reason: "",
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(acked)
}

/// A recipient's reply (回复), which also marks the message read.
pub async fn reply(db: &Db, p: &Principal, v: &Visible, text: &str) -> AppResult<Uuid> {
    v.receipt.as_ref().ok_or_else(not_recipient)?;
    let body = rules::clean_text(text, rules::REPLY_MAX, true).map_err(|m| AppError::invalid("invalid_reply", format!("回复{m}")))?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    store::mark(&mut tx, v.b.id, p.user_id, false, now).await?;
    let reply = store::insert_reply(&mut tx, &v.b, p.user_id, &p.display_name, &body, now).await?;
    let id = v.b.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "broadcast.reply",
            target_kind: "broadcast",
            target_id: &id,
            reason: "",
            detail: json!({"reply": reply}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(reply)
}

/// 提醒: mark every recipient still owing (unread notice, unacknowledged instruction) and not
/// reminded within the hour as reminded now, so it comes back to the top of their 待办. Returns
/// how many were reminded.
pub async fn remind(db: &Db, p: &Principal, v: &Visible) -> AppResult<i64> {
    if !v.oversees {
        return Err(AppError::forbidden());
    }
    let kind = kind_of(&v.b);
    let now = now_ms();
    let mut tx = db.begin().await?;
    let rows = store::recipients_for_update(&mut tx, v.b.id).await?;
    let owing: Vec<&RecipientRow> = rows
        .iter()
        .filter(|r| rules::is_pending(kind, r.read_at.is_some(), r.acked_at.is_some()))
        .collect();
    if owing.is_empty() {
        tx.rollback().await?;
        return Err(AppError::conflict("nothing_to_remind", "所有接收人都已阅读或确认，无需提醒"));
    }
    let due: Vec<Uuid> = owing
        .iter()
        .filter(|r| rules::may_remind(r.reminded_at, now))
        .map(|r| r.user_id)
        .collect();
    if due.is_empty() {
        tx.rollback().await?;
        return Err(AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "remind_too_soon",
            "一小时内已提醒过，请稍后再提醒",
        ));
    }
    store::remind(&mut tx, v.b.id, &due, now).await?;
    let id = v.b.id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "broadcast.remind",
            target_kind: "broadcast",
            target_id: &id,
            reason: "",
            detail: json!({"reminded": due.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(due.len() as i64)
}

/// An instruction not yet acknowledged by everyone, for the command screen.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstructionSummary {
    pub id: Uuid,
    pub title: String,
    pub grid: String,
    pub sent_at: i64,
    pub recipients: i64,
    pub acked: i64,
}

/// The instructions sent at `grid_code` or below that someone has still to acknowledge, newest
/// first (at most 200): the counts are kept with each receipt, so this reads no recipient rows.
pub async fn open_instructions(db: &Db, district: &str, grid_code: &str) -> AppResult<Vec<InstructionSummary>> {
    Ok(store::open_instructions(db, district, grid_code, 200)
        .await?
        .into_iter()
        .map(|b| InstructionSummary {
            id: b.id,
            title: b.title,
            grid: b.grid_code,
            sent_at: b.created_at,
            recipients: b.recipients,
            acked: b.acked_count,
        })
        .collect())
}

/// A webhook as its node's managers see it: never its secret, only whether one is set.
pub struct WebhookView {
    pub id: Uuid,
    pub grid_code: String,
    pub kind: rules::HookKind,
    /// Scheme, host and path; the query (a robot's token) is hidden.
    pub url: String,
    pub secret_set: bool,
    pub enabled: bool,
    pub updated_at: i64,
}

fn view(w: WebhookRow) -> WebhookView {
    let url = crate::sealed::ring().open(&w.url).unwrap_or_default();
    WebhookView {
        id: w.id,
        kind: rules::HookKind::parse(&w.kind).unwrap_or(rules::HookKind::Generic),
        url: rules::redacted(&url),
        secret_set: !w.secret.is_empty(),
        enabled: w.enabled,
        updated_at: w.updated_at,
        grid_code: w.grid_code,
    }
}

/// The outside groups linked at a node the caller manages (ManageGrid).
pub async fn webhooks(db: &Db, p: &Principal, code: &str) -> AppResult<Vec<WebhookView>> {
    let g = grid::service::load(db, p, code, Capability::ManageGrid).await?;
    Ok(store::webhooks_at(db, &g.code).await?.into_iter().map(view).collect())
}

/// What a manager sets for a node's webhook of one kind.
pub struct WebhookInput {
    pub kind: String,
    pub url: String,
    /// None keeps the stored secret; "" removes it.
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

/// Link (or change) the node's outside group of that kind. The secret is sealed with the
/// personal-data keys; the audit row names the host only.
pub async fn set_webhook(db: &Db, p: &Principal, code: &str, input: &WebhookInput) -> AppResult<WebhookView> {
    let g = grid::service::load(db, p, code, Capability::ManageGrid).await?;
    let kind = rules::HookKind::parse(input.kind.trim()).ok_or_else(|| {
        AppError::invalid(
            "invalid_webhook_kind",
            "类型应为 wecom（企业微信）、dingtalk（钉钉）或 generic（通用）",
        )
    })?;
    let url = rules::check_url(&input.url).map_err(|m| AppError::invalid("invalid_url", m))?;
    let secret = match input.secret.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(String::new()),
        Some(s) if s.chars().count() > rules::SECRET_MAX || s.chars().any(char::is_control) => {
            return Err(AppError::invalid(
                "invalid_secret",
                format!("密钥不超过{}个字符", rules::SECRET_MAX),
            ));
        }
        Some(s) => Some(crate::sealed::ring().seal(s)),
    };
    let enabled = input.enabled.unwrap_or(true);
    let mut tx = db.begin().await?;
    // The address is sealed too: a robot's key travels in its query (WeCom `key`, DingTalk `access_token`).
    let sealed_url = crate::sealed::ring().seal(&url);
    let row = store::HookRow {
        district: &p.district,
        grid_code: &g.code,
        kind: kind.as_str(),
        url: &sealed_url,
        secret: secret.as_deref(),
        enabled,
    };
    let id = store::upsert_webhook(&mut tx, &row, now_ms()).await?;
    let target = id.to_string();
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "webhook.set",
            target_kind: "webhook",
            target_id: &target,
            reason: "",
            detail: json!({"grid": g.code, "kind": kind.as_str(), "url": rules::redacted(&url), "enabled": enabled, "secret_changed": secret.is_some()}),
        },
    )
    .await?;
    tx.commit().await?;
    let stored = store::webhooks_at(db, &g.code)
        .await?
        .into_iter()
        .find(|w| w.id == id)
        .ok_or_else(AppError::internal)?;
    Ok(view(stored))
}

/// Recipients as the receipts table groups them (by child of the broadcast's node).
pub async fn receipts(db: &Db, b: &BroadcastRow) -> AppResult<Vec<rules::GridReceipts>> {
    let rows: Vec<rules::Receipt> = store::receipts(db, b.id)
        .await?
        .into_iter()
        .map(|(r, name)| rules::Receipt {
            grid_code: r.grid_code,
            name,
            read: r.read_at.is_some(),
            acked: r.acked_at.is_some(),
        })
        .collect();
    Ok(rules::receipts_by_child(&b.grid_code, kind_of(b), &rows))
}
