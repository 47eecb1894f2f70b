//! Broadcasts API: send, list (inbox, sent), read one with its receipts, replies and deliveries,
//! read/ack/reply/remind, and a node's outside groups (webhooks).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::BroadcastsState;
use super::rules;
use super::service::{self, NewBroadcast, WebhookInput, WebhookView};
use super::store::{self, BroadcastRow, InboxRow};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SendInput {
    /// The grid node it is sent at.
    pub grid: String,
    /// 1–60 characters.
    pub title: String,
    /// 1–2,000 characters.
    pub body: String,
    /// Grid levels to reach (1 district … 5 building); all at or below the node when absent.
    pub levels: Option<Vec<i64>>,
    /// `notice` (通知, default) or `instruction` (指令: each recipient must acknowledge).
    pub kind: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SendResult {
    pub id: Uuid,
    /// People it reached (one per person).
    pub recipients: i64,
    /// Outside groups it is queued for.
    pub deliveries: i64,
}

#[utoipa::path(post, path = "/api/v1/broadcasts", tag = "broadcasts", request_body = SendInput,
    responses((status = 201, body = SendResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn send(
    State(s): State<BroadcastsState>,
    p: Principal,
    Json(input): Json<SendInput>,
) -> AppResult<(StatusCode, Json<SendResult>)> {
    let sent = service::send(
        &s.db,
        &p,
        &NewBroadcast {
            grid: input.grid,
            title: input.title,
            body: input.body,
            levels: input.levels,
            kind: input.kind,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(SendResult {
            id: sent.id,
            recipients: sent.recipients,
            deliveries: sent.deliveries,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `inbox` (received, default) or `sent`.
    #[serde(rename = "box")]
    pub box_: Option<String>,
    /// Inbox only: just what is still owed (unread notices, unacknowledged instructions).
    pub pending: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Item {
    pub id: Uuid,
    /// notice | instruction
    pub kind: String,
    pub grid: String,
    pub title: String,
    pub sender: String,
    pub sent_at: String,
    /// Inbox: when the caller read / acknowledged it, and was last reminded.
    pub read_at: Option<String>,
    pub acked_at: Option<String>,
    pub reminded_at: Option<String>,
    /// Sent: the counts.
    pub recipients: Option<i64>,
    pub read: Option<i64>,
    pub acked: Option<i64>,
    pub replies: Option<i64>,
}

fn inbox_item(r: InboxRow) -> Item {
    Item {
        id: r.id,
        kind: r.kind,
        grid: r.grid_code,
        title: r.title,
        sender: r.sender_name,
        sent_at: rfc3339_ms(r.created_at),
        read_at: r.read_at.map(rfc3339_ms),
        acked_at: r.acked_at.map(rfc3339_ms),
        reminded_at: r.reminded_at.map(rfc3339_ms),
        recipients: None,
        read: None,
        acked: None,
        replies: None,
    }
}

fn sent_item(b: BroadcastRow) -> Item {
    Item {
        id: b.id,
        kind: b.kind,
        grid: b.grid_code,
        title: b.title,
        sender: b.sender_name,
        sent_at: rfc3339_ms(b.created_at),
        read_at: None,
        acked_at: None,
        reminded_at: None,
        recipients: Some(b.recipients),
        read: Some(b.read_count),
        acked: Some(b.acked_count),
        replies: Some(b.replies),
    }
}

#[utoipa::path(get, path = "/api/v1/broadcasts", tag = "broadcasts", params(ListQuery),
    responses((status = 200, body = Paged<Item>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(State(s): State<BroadcastsState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<Item>>> {
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    match q.box_.as_deref().unwrap_or("inbox") {
        "inbox" => {
            let (rows, total) = store::inbox(&s.db, p.user_id, q.pending.unwrap_or(false), limit, offset).await?;
            Ok(Json(Paged {
                items: rows.into_iter().map(inbox_item).collect(),
                total,
            }))
        }
        "sent" => {
            let (rows, total) = store::sent(&s.db, p.user_id, limit, offset).await?;
            Ok(Json(Paged {
                items: rows.into_iter().map(sent_item).collect(),
                total,
            }))
        }
        _ => Err(AppError::invalid("invalid_box", "box 应为 inbox（收到的）或 sent（发出的）")),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GridReceipt {
    /// The child node of the broadcast's node (or the node itself for posts held there).
    pub grid: String,
    pub recipients: i64,
    pub read: i64,
    pub acked: i64,
    /// Names of who has not read (a notice) or acknowledged (an instruction), at most 50.
    pub pending: Vec<String>,
    pub pending_total: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reply {
    pub id: Uuid,
    pub user: String,
    pub body: String,
    pub at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The delivery id (`X-Gongzhi-Delivery`).
    pub id: Uuid,
    pub webhook: Uuid,
    pub grid: String,
    /// wecom | dingtalk | generic
    pub kind: String,
    /// pending | delivered | failed
    pub state: String,
    pub attempts: i64,
    pub last_error: String,
    /// Pending: the next try.
    pub next_at: Option<String>,
    pub delivered_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyReceipt {
    pub read_at: Option<String>,
    pub acked_at: Option<String>,
    pub reminded_at: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Broadcast {
    pub id: Uuid,
    pub kind: String,
    pub grid: String,
    pub title: String,
    pub body: String,
    /// The grid levels it reached.
    pub levels: Vec<i64>,
    pub sender: String,
    pub sent_at: String,
    pub recipients: i64,
    pub read: i64,
    pub acked: i64,
    /// The caller's own receipt, if a recipient.
    pub receipt: Option<MyReceipt>,
    /// Those who oversee it (the sender, or anyone who may send at its node): per child node.
    pub receipts: Vec<GridReceipt>,
    /// Every reply for those who oversee it; a recipient sees their own.
    pub replies: Vec<Reply>,
    /// Per outside group: its delivery state (overseers only).
    pub deliveries: Vec<Delivery>,
}

#[utoipa::path(get, path = "/api/v1/broadcasts/{id}", tag = "broadcasts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Broadcast), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(State(s): State<BroadcastsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Broadcast>> {
    let v = service::load(&s.db, &p, id).await?;
    Ok(Json(detail(&s, &p, v).await?))
}

async fn detail(s: &BroadcastsState, p: &Principal, v: service::Visible) -> AppResult<Broadcast> {
    let (receipts, deliveries) = if v.oversees {
        (service::receipts(&s.db, &v.b).await?, store::deliveries(&s.db, v.b.id).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let replies = store::replies(&s.db, v.b.id, (!v.oversees).then_some(p.user_id)).await?;
    let b = v.b;
    Ok(Broadcast {
        id: b.id,
        kind: b.kind,
        grid: b.grid_code,
        title: b.title,
        body: b.body,
        levels: rules::levels_of(b.levels),
        sender: b.sender_name,
        sent_at: rfc3339_ms(b.created_at),
        recipients: b.recipients,
        read: b.read_count,
        acked: b.acked_count,
        receipt: v.receipt.map(|r| MyReceipt {
            read_at: r.read_at.map(rfc3339_ms),
            acked_at: r.acked_at.map(rfc3339_ms),
            reminded_at: r.reminded_at.map(rfc3339_ms),
        }),
        receipts: receipts
            .into_iter()
            .map(|g| GridReceipt {
                grid: g.grid_code,
                recipients: g.recipients,
                read: g.read,
                acked: g.acked,
                pending: g.pending,
                pending_total: g.pending_total,
            })
            .collect(),
        replies: replies
            .into_iter()
            .map(|r| Reply {
                id: r.id,
                user: r.user_name,
                body: r.body,
                at: rfc3339_ms(r.created_at),
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| Delivery {
                id: d.id,
                webhook: d.webhook_id,
                grid: d.grid_code,
                kind: d.kind,
                next_at: (d.state == "pending").then(|| rfc3339_ms(d.next_at)),
                state: d.state,
                attempts: d.attempts,
                last_error: d.last_error,
                delivered_at: d.delivered_at.map(rfc3339_ms),
            })
            .collect(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Changed {
    /// Whether this call changed anything (false when it was already so).
    pub changed: bool,
}

#[utoipa::path(post, path = "/api/v1/broadcasts/{id}/read", tag = "broadcasts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Changed), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn read(State(s): State<BroadcastsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Changed>> {
    let v = service::load(&s.db, &p, id).await?;
    if v.receipt.is_none() {
        return Err(AppError::conflict("not_a_recipient", "您不是这条通知的接收人"));
    }
    Ok(Json(Changed {
        changed: service::mark_read(&s.db, &p, &v).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/broadcasts/{id}/ack", tag = "broadcasts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Changed), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn ack(State(s): State<BroadcastsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Changed>> {
    let v = service::load(&s.db, &p, id).await?;
    Ok(Json(Changed {
        changed: service::acknowledge(&s.db, &p, &v).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReplyInput {
    /// 1–500 characters.
    pub body: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/broadcasts/{id}/reply", tag = "broadcasts", params(("id" = Uuid, Path)), request_body = ReplyInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reply(
    State(s): State<BroadcastsState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(input): Json<ReplyInput>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let v = service::load(&s.db, &p, id).await?;
    let id = service::reply(&s.db, &p, &v, &input.body).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Reminded {
    /// Recipients reminded now.
    pub reminded: i64,
}

#[utoipa::path(post, path = "/api/v1/broadcasts/{id}/remind", tag = "broadcasts", params(("id" = Uuid, Path)),
    responses((status = 200, body = Reminded), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remind(State(s): State<BroadcastsState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<Reminded>> {
    let v = service::load(&s.db, &p, id).await?;
    Ok(Json(Reminded {
        reminded: service::remind(&s.db, &p, &v).await?,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    pub grid: String,
    /// wecom | dingtalk | generic
    pub kind: String,
    /// The address without its query (a robot's token is never shown).
    pub url: String,
    /// Whether a secret is stored (it is never returned).
    pub secret_set: bool,
    pub enabled: bool,
    pub updated_at: String,
}

fn webhook(w: WebhookView) -> Webhook {
    Webhook {
        id: w.id,
        grid: w.grid_code,
        kind: w.kind.as_str().into(),
        url: w.url,
        secret_set: w.secret_set,
        enabled: w.enabled,
        updated_at: rfc3339_ms(w.updated_at),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Webhooks {
    pub items: Vec<Webhook>,
}

#[utoipa::path(get, path = "/api/v1/grids/{code}/webhooks", tag = "broadcasts", params(("code" = String, Path)),
    responses((status = 200, body = Webhooks), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_webhooks(State(s): State<BroadcastsState>, p: Principal, Path(code): Path<String>) -> AppResult<Json<Webhooks>> {
    let items = service::webhooks(&s.db, &p, &code).await?.into_iter().map(webhook).collect();
    Ok(Json(Webhooks { items }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct WebhookBody {
    /// wecom (企业微信群机器人) | dingtalk (钉钉自定义机器人) | generic
    pub kind: String,
    /// http(s) address, at most 500 characters.
    pub url: String,
    /// DingTalk's 加签 secret, or a generic receiver's signing key; absent keeps it, "" removes it.
    pub secret: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

#[utoipa::path(put, path = "/api/v1/grids/{code}/webhooks", tag = "broadcasts", params(("code" = String, Path)), request_body = WebhookBody,
    responses((status = 200, body = Webhook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_webhook(
    State(s): State<BroadcastsState>,
    p: Principal,
    Path(code): Path<String>,
    Json(input): Json<WebhookBody>,
) -> AppResult<Json<Webhook>> {
    let w = service::set_webhook(
        &s.db,
        &p,
        &code,
        &WebhookInput {
            kind: input.kind,
            url: input.url,
            secret: input.secret,
            enabled: input.enabled,
        },
    )
    .await?;
    Ok(Json(webhook(w)))
}
