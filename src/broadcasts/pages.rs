//! Broadcast pages (通知): 收到的 / 发出的 with the send form, one broadcast (opening it marks it
//! read; 确认收到, 回复; for its overseers the receipts per grid with 提醒未读), and the 待办
//! section of what is still owed.

use std::future::Future;
use std::pin::Pin;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

use super::BroadcastsState;
use super::rules::{self, Kind};
use super::service::{self, NewBroadcast};
use super::store;
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::time::when_ms;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, page_number, pager};
use crate::web::session::{Console, check_csrf};

/// One line of a list.
pub struct Line {
    pub id: Uuid,
    pub kind: &'static str,
    pub instruction: bool,
    pub title: String,
    pub grid: String,
    pub sender: String,
    pub when: String,
    /// Inbox: 未读 / 已读 / 待确认 / 已确认, and whether it was reminded.
    pub state: &'static str,
    pub state_class: &'static str,
    pub reminded: bool,
    /// Sent: "已读 3/5" or "已确认 3/5".
    pub counts: String,
}

fn inbox_line(r: store::InboxRow, now: i64) -> Line {
    let kind = Kind::parse(&r.kind).unwrap_or(Kind::Notice);
    let (state, state_class) = match (kind, r.read_at.is_some(), r.acked_at.is_some()) {
        (Kind::Instruction, _, true) => ("已确认", "ok"),
        (Kind::Instruction, _, false) => ("待确认", "warn"),
        (Kind::Notice, true, _) => ("已读", "grey"),
        (Kind::Notice, false, _) => ("未读", "warn"),
    };
    let pending = rules::is_pending(kind, r.read_at.is_some(), r.acked_at.is_some());
    Line {
        id: r.id,
        kind: kind.label(),
        instruction: kind == Kind::Instruction,
        title: r.title,
        grid: r.grid_code,
        sender: r.sender_name,
        when: when_ms(r.created_at, now),
        state,
        state_class,
        reminded: pending && r.reminded_at.is_some(),
        counts: String::new(),
    }
}

fn sent_line(b: store::BroadcastRow, now: i64) -> Line {
    let kind = Kind::parse(&b.kind).unwrap_or(Kind::Notice);
    let counts = match kind {
        Kind::Notice => format!("已读 {}/{}", b.read_count, b.recipients),
        Kind::Instruction => format!("已确认 {}/{}", b.acked_count, b.recipients),
    };
    Line {
        id: b.id,
        kind: kind.label(),
        instruction: kind == Kind::Instruction,
        title: b.title,
        grid: b.grid_code,
        sender: b.sender_name,
        when: when_ms(b.created_at, now),
        state: "",
        state_class: "",
        reminded: false,
        counts,
    }
}

/// A node the send form offers.
pub struct NodeChoice {
    pub code: String,
    pub name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "broadcasts.html")]
struct ListPage {
    chrome: Chrome,
    sent_box: bool,
    lines: Vec<Line>,
    total: i64,
    pager: String,
    can_send: bool,
    nodes: Vec<NodeChoice>,
    /// Level, its name, checked.
    level_choices: Vec<(i64, &'static str, bool)>,
    form: SendForm,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(rename = "box")]
    box_: Option<String>,
    page: Option<i64>,
    /// The send form's node, chosen elsewhere (the command screen's 下达指令).
    grid: Option<String>,
    /// `instruction` to start the form as an instruction.
    kind: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct SendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    kind: String,
    // Checkboxes arrive as level=3&level=4; the form decoder keeps the last, so each has a name.
    #[serde(default)]
    l1: Option<String>,
    #[serde(default)]
    l2: Option<String>,
    #[serde(default)]
    l3: Option<String>,
    #[serde(default)]
    l4: Option<String>,
    #[serde(default)]
    l5: Option<String>,
}

impl SendForm {
    fn levels(&self) -> Vec<i64> {
        [&self.l1, &self.l2, &self.l3, &self.l4, &self.l5]
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_some())
            .map(|(i, _)| i as i64 + 1)
            .collect()
    }
}

/// The nodes someone may send at, for the form: each of their grid posts' nodes and its children,
/// and `chosen` (a deeper node in their scope, picked on the command screen).
async fn nodes(db: &Db, c: &Console, chosen: &str) -> AppResult<Vec<NodeChoice>> {
    let mut out = Vec::new();
    if !chosen.is_empty()
        && c.principal.can(crate::auth::Capability::ReadRegistry, chosen)
        && !c.principal.posts.iter().any(|x| x.grid_code.as_deref() == Some(chosen))
        && let Some(g) = crate::grid::store::get(db, chosen).await?
    {
        out.push(NodeChoice {
            code: g.code.clone(),
            name: format!("{}（本级及以下）", g.name),
        });
    }
    for post in c.principal.posts.iter().filter(|x| x.role.is_grid_role()) {
        let Some(code) = post.grid_code.as_deref() else { continue };
        let Some(g) = crate::grid::store::get(db, code).await? else {
            continue;
        };
        out.push(NodeChoice {
            code: g.code.clone(),
            name: format!("{}（本级及以下）", g.name),
        });
        for child in crate::grid::store::children(db, &g.code, 200, 0).await? {
            out.push(NodeChoice {
                code: child.code,
                name: format!("└ {}", child.name),
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|n| seen.insert(n.code.clone()));
    Ok(out)
}

async fn render_list(s: &BroadcastsState, c: &Console, q: &ListQuery, form: SendForm, error: Option<AppError>) -> PageResult {
    let sent_box = q.box_.as_deref() == Some("sent");
    let page = page_number(q.page);
    let per = 20;
    let now = now_ms();
    let p = &c.principal;
    let (lines, total) = if sent_box {
        let (rows, total) = store::sent(&s.db, p.user_id, per, (page - 1) * per).await?;
        (rows.into_iter().map(|b| sent_line(b, now)).collect(), total)
    } else {
        let (rows, total) = store::inbox(&s.db, p.user_id, false, per, (page - 1) * per).await?;
        (rows.into_iter().map(|r| inbox_line(r, now)).collect(), total)
    };
    let can_send = rules::sends_somewhere(p);
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = ListPage {
        chrome: Chrome::new(c, "通知", "broadcasts"),
        sent_box,
        lines,
        total,
        pager: pager(
            if sent_box {
                "/console/broadcasts?box=sent"
            } else {
                "/console/broadcasts"
            },
            page,
            per,
            total,
        ),
        can_send,
        nodes: if can_send { nodes(&s.db, c, &form.grid).await? } else { Vec::new() },
        level_choices: (1..=5)
            .map(|l| (l, crate::grid::rules::level_label(l), form.levels().contains(&l)))
            .collect(),
        form,
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

async fn list_page(State(s): State<BroadcastsState>, c: Console, Query(q): Query<ListQuery>) -> PageResult {
    let form = SendForm {
        grid: q.grid.clone().unwrap_or_default(),
        kind: q.kind.clone().unwrap_or_default(),
        ..SendForm::default()
    };
    render_list(&s, &c, &q, form, None).await
}

async fn send_page(State(s): State<BroadcastsState>, c: Console, Form(f): Form<SendForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let levels = f.levels();
    let input = NewBroadcast {
        grid: f.grid.clone(),
        title: f.title.clone(),
        body: f.body.clone(),
        levels: (!levels.is_empty()).then_some(levels),
        kind: Some(f.kind.clone()),
    };
    match service::send(&s.db, &c.principal, &input).await {
        Ok(sent) => Ok(Redirect::to(&format!("/console/broadcasts/{}?msg=sent", sent.id)).into_response()),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            render_list(
                &s,
                &c,
                &ListQuery {
                    box_: None,
                    page: None,
                    grid: None,
                    kind: None,
                },
                f,
                Some(e),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ReceiptView {
    pub grid: String,
    pub name: String,
    pub recipients: i64,
    pub done: i64,
    pub pending: String,
    pub more: i64,
}

pub struct ReplyView {
    pub user: String,
    pub body: String,
    pub when: String,
}

pub struct DeliveryView {
    pub grid: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub state_class: &'static str,
    pub attempts: i64,
    pub error: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "broadcast_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: Uuid,
    kind: &'static str,
    instruction: bool,
    title: String,
    body: String,
    grid: String,
    sender: String,
    when: String,
    levels: String,
    recipient: bool,
    acked: bool,
    oversees: bool,
    done_label: &'static str,
    done: i64,
    recipients: i64,
    receipts: Vec<ReceiptView>,
    replies: Vec<ReplyView>,
    deliveries: Vec<DeliveryView>,
    notice: &'static str,
    error: Option<String>,
}

#[derive(Deserialize)]
struct DetailQuery {
    msg: Option<String>,
    err: Option<String>,
}

fn notice_of(msg: Option<&str>) -> &'static str {
    match msg {
        Some("sent") => "已发送",
        Some("acked") => "已确认收到",
        Some("replied") => "回复已发送",
        Some("reminded") => "已提醒未读（未确认）的接收人",
        _ => "",
    }
}

fn error_of(err: Option<&str>) -> Option<String> {
    match err {
        Some("remind_too_soon") => Some("一小时内已提醒过，请稍后再提醒".into()),
        Some("nothing_to_remind") => Some("所有接收人都已阅读或确认，无需提醒".into()),
        Some("invalid_reply") => Some("回复不能为空且不超过500字".into()),
        _ => None,
    }
}

async fn detail_page(State(s): State<BroadcastsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<DetailQuery>) -> PageResult {
    let p = &c.principal;
    let mut v = service::load(&s.db, p, id).await?;
    // Opening it is reading it.
    if service::mark_read(&s.db, p, &v).await? {
        v = service::load(&s.db, p, id).await?;
    }
    let now = now_ms();
    let kind = Kind::parse(&v.b.kind).unwrap_or(Kind::Notice);
    let mut codes = vec![v.b.grid_code.clone()];
    let receipts = if v.oversees {
        service::receipts(&s.db, &v.b).await?
    } else {
        Vec::new()
    };
    codes.extend(receipts.iter().map(|g| g.grid_code.clone()));
    let deliveries = if v.oversees {
        store::deliveries(&s.db, v.b.id).await?
    } else {
        Vec::new()
    };
    codes.extend(deliveries.iter().map(|d| d.grid_code.clone()));
    let names = crate::grid::store::names(&s.db, &p.district, &codes).await?;
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_string());
    let replies = store::replies(&s.db, v.b.id, (!v.oversees).then_some(p.user_id)).await?;
    let page = DetailPage {
        chrome: Chrome::new(&c, v.b.title.clone(), "broadcasts"),
        id: v.b.id,
        kind: kind.label(),
        instruction: kind == Kind::Instruction,
        title: v.b.title.clone(),
        body: v.b.body.clone(),
        grid: name(&v.b.grid_code),
        sender: v.b.sender_name.clone(),
        when: when_ms(v.b.created_at, now),
        levels: rules::levels_of(v.b.levels)
            .into_iter()
            .map(crate::grid::rules::level_label)
            .collect::<Vec<_>>()
            .join("、"),
        recipient: v.receipt.is_some(),
        acked: v.receipt.as_ref().is_some_and(|r| r.acked_at.is_some()),
        oversees: v.oversees,
        done_label: if kind == Kind::Instruction { "已确认" } else { "已读" },
        done: if kind == Kind::Instruction {
            v.b.acked_count
        } else {
            v.b.read_count
        },
        recipients: v.b.recipients,
        receipts: receipts
            .into_iter()
            .map(|g| ReceiptView {
                name: name(&g.grid_code),
                done: if kind == Kind::Instruction { g.acked } else { g.read },
                more: g.pending_total - g.pending.len() as i64,
                pending: g.pending.join("、"),
                recipients: g.recipients,
                grid: g.grid_code,
            })
            .collect(),
        replies: replies
            .into_iter()
            .map(|r| ReplyView {
                user: r.user_name,
                body: r.body,
                when: when_ms(r.created_at, now),
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| {
                let (state, state_class) = match d.state.as_str() {
                    "delivered" => ("已送达", "ok"),
                    "failed" => ("失败", "warn"),
                    _ => ("待发送", "grey"),
                };
                DeliveryView {
                    grid: name(&d.grid_code),
                    kind: rules::HookKind::parse(&d.kind).unwrap_or(rules::HookKind::Generic).label(),
                    state,
                    state_class,
                    attempts: d.attempts,
                    error: d.last_error,
                }
            })
            .collect(),
        notice: notice_of(q.msg.as_deref()),
        error: error_of(q.err.as_deref()),
    };
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    #[serde(default)]
    body: String,
}

/// The result of a form on a broadcast's page: back to it, with a note or the error's code.
fn back(id: Uuid, r: AppResult<&'static str>) -> PageResult {
    match r {
        Ok(msg) => Ok(Redirect::to(&format!("/console/broadcasts/{id}?msg={msg}")).into_response()),
        Err(e) if matches!(e.code, "remind_too_soon" | "nothing_to_remind" | "invalid_reply") => {
            Ok(Redirect::to(&format!("/console/broadcasts/{id}?err={}", e.code)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn ack_page(State(s): State<BroadcastsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = service::load(&s.db, &c.principal, id).await?;
    back(id, service::acknowledge(&s.db, &c.principal, &v).await.map(|_| "acked"))
}

async fn reply_page(State(s): State<BroadcastsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = service::load(&s.db, &c.principal, id).await?;
    back(id, service::reply(&s.db, &c.principal, &v, &f.body).await.map(|_| "replied"))
}

async fn remind_page(State(s): State<BroadcastsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ActForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = service::load(&s.db, &c.principal, id).await?;
    back(id, service::remind(&s.db, &c.principal, &v).await.map(|_| "reminded"))
}

pub fn routes() -> axum::Router<BroadcastsState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/console/broadcasts", get(list_page).post(send_page))
        .route("/console/broadcasts/{id}", get(detail_page))
        .route("/console/broadcasts/{id}/ack", post(ack_page))
        .route("/console/broadcasts/{id}/reply", post(reply_page))
        .route("/console/broadcasts/{id}/remind", post(remind_page))
}

#[derive(Template)]
#[template(path = "inbox_broadcasts.html")]
struct InboxPart {
    lines: Vec<Line>,
    total: i64,
}

/// The 待办 section of broadcasts still owed: unread notices and unacknowledged instructions,
/// reminded ones first. Registered with the case loop's inbox (`cases::hooks::InboxSection`).
pub struct OwedBroadcasts;

impl crate::cases::hooks::InboxSection for OwedBroadcasts {
    fn render<'a>(&'a self, db: &'a Db, c: &'a Console) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            let (rows, total) = store::inbox(db, c.principal.user_id, true, 10, 0).await?;
            if total == 0 {
                return Ok(None);
            }
            let now = now_ms();
            let part = InboxPart {
                lines: rows.into_iter().map(|r| inbox_line(r, now)).collect(),
                total,
            };
            Ok(Some(part.render().map_err(|e| AppError::from(anyhow::Error::from(e)))?))
        })
    }
}
