//! The broadcasts' storage: messages, recipients and their receipts, replies, webhooks and the
//! outbox, on both engines.

use uuid::Uuid;

use crate::db::{Db, Tx, new_id};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct BroadcastRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub levels: i64,
    pub sender_id: Option<Uuid>,
    pub sender_name: String,
    pub recipients: i64,
    pub read_count: i64,
    pub acked_count: i64,
    pub replies: i64,
    pub created_at: i64,
}

const COLS: &str =
    "id, district, grid_code, kind, title, body, levels, sender_id, sender_name, recipients, read_count, acked_count, replies, created_at";

/// One broadcast as a person's inbox lists it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct InboxRow {
    pub id: Uuid,
    pub grid_code: String,
    pub kind: String,
    pub title: String,
    pub sender_name: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
    pub acked_at: Option<i64>,
    pub reminded_at: Option<i64>,
}

/// A recipient's receipt.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct RecipientRow {
    pub user_id: Uuid,
    pub grid_code: String,
    pub level: i64,
    pub read_at: Option<i64>,
    pub acked_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub reminders: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ReplyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_name: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct WebhookRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub kind: String,
    pub url: String,
    /// Sealed (crate::sealed); '' when none.
    pub secret: String,
    pub enabled: bool,
    pub updated_at: i64,
}

const HOOK_COLS: &str = "id, district, grid_code, kind, url, secret, enabled, updated_at";

/// One delivery (outbox row) with its webhook, as the broadcast's page shows it.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub grid_code: String,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub next_at: i64,
    pub last_error: String,
    pub delivered_at: Option<i64>,
}

/// A post-holder a broadcast at a node may reach: who, and the node of the post that reaches them.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct Candidate {
    pub user_id: Uuid,
    pub grid_code: String,
    pub level: i64,
}

pub async fn get(db: &Db, district: &str, id: Uuid) -> sqlx::Result<Option<BroadcastRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, BroadcastRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM broadcasts WHERE id = $1 AND district = $2"
    )))
    .bind(id)
    .bind(district)
    .fetch_optional(p)
    .await)
}

/// The post-holders of `code`'s subtree: grid workers at its nodes (not residents), the staff of
/// units placed in it (a department at the district node) and of property companies managing a
/// compound in it. Disabled accounts are left out. A person may appear more than once.
pub async fn candidates(tx: &mut Tx, district: &str, code: &str) -> sqlx::Result<Vec<Candidate>> {
    let upper = subtree_upper(code);
    on_tx!(tx, |c| sqlx::query_as::<_, Candidate>(
        "SELECT p.user_id, g.code AS grid_code, g.level FROM posts p \
           JOIN grids g ON g.code = p.grid_code JOIN users u ON u.id = p.user_id \
           WHERE p.district = $1 AND p.grid_code >= $2 AND p.grid_code < $3 AND NOT u.disabled \
             AND p.role IN ('district_admin', 'street_staff', 'community_staff', 'compound_leader', 'building_officer') \
         UNION ALL \
         SELECT p.user_id, g.code, g.level FROM posts p JOIN units n ON n.id = p.unit_id \
           JOIN grids g ON g.code = n.grid_code JOIN users u ON u.id = p.user_id \
           WHERE p.district = $1 AND n.grid_code >= $2 AND n.grid_code < $3 AND NOT u.disabled \
             AND p.role IN ('department_handler', 'property_staff') \
         UNION ALL \
         SELECT p.user_id, g.code, g.level FROM grids g JOIN posts p ON p.unit_id = g.property_company_id \
           JOIN users u ON u.id = p.user_id \
           WHERE g.district = $1 AND g.code >= $2 AND g.code < $3 AND NOT u.disabled AND p.role = 'property_staff'"
    )
    .bind(district)
    .bind(code)
    .bind(&upper)
    .fetch_all(&mut *c)
    .await)
}

/// The enabled webhooks of `code`'s subtree (the caller keeps those of the chosen levels).
pub async fn webhooks_in(tx: &mut Tx, district: &str, code: &str) -> sqlx::Result<Vec<WebhookRow>> {
    let upper = subtree_upper(code);
    on_tx!(tx, |c| {
        sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {HOOK_COLS} FROM grid_webhooks WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND enabled ORDER BY grid_code, kind"
    )))
    .bind(district)
    .bind(code)
    .bind(&upper)
    .fetch_all(&mut *c)
    .await
    })
}

pub struct NewRow<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub grid_code: &'a str,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub levels: i64,
    pub sender_id: Option<Uuid>,
    pub sender_name: &'a str,
    pub created_at: i64,
}

/// Insert a broadcast with its recipients (`(user, node, level)`, one per user) and one pending
/// outbox row per webhook, all inside `tx`.
pub async fn insert(tx: &mut Tx, b: &NewRow<'_>, recipients: &[Candidate], hooks: &[Uuid]) -> sqlx::Result<()> {
    on_tx!(&mut *tx, |c| sqlx::query(
        "INSERT INTO broadcasts (id, district, grid_code, kind, title, body, levels, sender_id, sender_name, recipients, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(b.id)
    .bind(b.district)
    .bind(b.grid_code)
    .bind(b.kind)
    .bind(b.title)
    .bind(b.body)
    .bind(b.levels)
    .bind(b.sender_id)
    .bind(b.sender_name)
    .bind(recipients.len() as i64)
    .bind(b.created_at)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    // Multi-row inserts, short enough for SQLite's binding cost (see demo::bulk).
    for chunk in recipients.chunks(50) {
        let mut sql = String::from("INSERT INTO broadcast_recipients (broadcast_id, user_id, district, grid_code, level, sent_at) VALUES ");
        for i in 0..chunk.len() {
            let n = i * 6;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5, n + 6));
        }
        on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(b.id)
                    .bind(r.user_id)
                    .bind(b.district)
                    .bind(&r.grid_code)
                    .bind(r.level)
                    .bind(b.created_at);
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    for hook in hooks {
        on_tx!(&mut *tx, |c| sqlx::query(
            "INSERT INTO broadcast_outbox (id, broadcast_id, webhook_id, district, state, attempts, next_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)"
        )
        .bind(new_id())
        .bind(b.id)
        .bind(*hook)
        .bind(b.district)
        .bind(b.created_at)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// Someone's broadcasts received (`pending_only`: those still owed — a notice unread, an
/// instruction unacknowledged), newest first, reminded ones first when pending; and the total.
pub async fn inbox(db: &Db, user: Uuid, pending_only: bool, limit: i64, offset: i64) -> sqlx::Result<(Vec<InboxRow>, i64)> {
    let cond = if pending_only {
        "AND ((b.kind = 'notice' AND r.read_at IS NULL) OR (b.kind = 'instruction' AND r.acked_at IS NULL))"
    } else {
        ""
    };
    let order = if pending_only {
        "COALESCE(r.reminded_at, r.sent_at) DESC, b.id DESC"
    } else {
        "r.sent_at DESC, b.id DESC"
    };
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, InboxRow>(sqlx::AssertSqlSafe(format!(
            "SELECT b.id, b.grid_code, b.kind, b.title, b.sender_name, b.created_at, r.read_at, r.acked_at, r.reminded_at \
             FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id WHERE r.user_id = $1 {cond} \
             ORDER BY {order} LIMIT $2 OFFSET $3"
        )))
        .bind(user)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id WHERE r.user_id = $1 {cond}"
        )))
        .bind(user)
        .fetch_one(p)
        .await?;
        Ok((rows, total))
    })
}

/// Broadcasts someone sent, newest first, and the total.
pub async fn sent(db: &Db, user: Uuid, limit: i64, offset: i64) -> sqlx::Result<(Vec<BroadcastRow>, i64)> {
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, BroadcastRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM broadcasts WHERE sender_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        )))
        .bind(user)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM broadcasts WHERE sender_id = $1")
            .bind(user)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

pub async fn recipient(db: &Db, id: Uuid, user: Uuid) -> sqlx::Result<Option<RecipientRow>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, RecipientRow>(
        "SELECT user_id, grid_code, level, read_at, acked_at, reminded_at, reminders FROM broadcast_recipients WHERE broadcast_id = $1 AND user_id = $2"
    )
    .bind(id)
    .bind(user)
    .fetch_optional(p)
    .await
    })
}

/// Every recipient of a broadcast with their display name.
pub async fn receipts(db: &Db, id: Uuid) -> sqlx::Result<Vec<(RecipientRow, String)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        r: RecipientRow,
        display_name: String,
    }
    let rows = on_pool!(db, |p| sqlx::query_as::<_, Row>(
        "SELECT r.user_id, r.grid_code, r.level, r.read_at, r.acked_at, r.reminded_at, r.reminders, u.display_name \
         FROM broadcast_recipients r JOIN users u ON u.id = r.user_id WHERE r.broadcast_id = $1 ORDER BY r.grid_code, u.display_name"
    )
    .bind(id)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(|r| (r.r, r.display_name)).collect())
}

/// Replies, oldest first (`user`: only that person's).
pub async fn replies(db: &Db, id: Uuid, user: Option<Uuid>) -> sqlx::Result<Vec<ReplyRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ReplyRow>(
        "SELECT id, user_id, user_name, body, created_at FROM broadcast_replies WHERE broadcast_id = $1 AND ($2 IS NULL OR user_id = $2) \
         ORDER BY created_at, id LIMIT 500"
    )
    .bind(id)
    .bind(user)
    .fetch_all(p)
    .await)
}

pub async fn deliveries(db: &Db, id: Uuid) -> sqlx::Result<Vec<DeliveryRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, DeliveryRow>(
        "SELECT o.id, o.webhook_id, w.grid_code, w.kind, o.state, o.attempts, o.next_at, o.last_error, o.delivered_at \
         FROM broadcast_outbox o JOIN grid_webhooks w ON w.id = o.webhook_id WHERE o.broadcast_id = $1 ORDER BY w.grid_code, w.kind"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

/// Mark read (and acknowledged, with `ack`) in `tx`; keeps the broadcast's counts. Returns
/// whether each changed.
pub async fn mark(tx: &mut Tx, id: Uuid, user: Uuid, ack: bool, now: i64) -> sqlx::Result<(bool, bool)> {
    let read = on_tx!(&mut *tx, |c| sqlx::query(
        "UPDATE broadcast_recipients SET read_at = $3 WHERE broadcast_id = $1 AND user_id = $2 AND read_at IS NULL"
    )
    .bind(id)
    .bind(user)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected() == 1))?;
    let acked = if ack {
        on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE broadcast_recipients SET acked_at = $3 WHERE broadcast_id = $1 AND user_id = $2 AND acked_at IS NULL"
        )
        .bind(id)
        .bind(user)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected() == 1))?
    } else {
        false
    };
    if read || acked {
        on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE broadcasts SET read_count = read_count + $2, acked_count = acked_count + $3 WHERE id = $1"
        )
        .bind(id)
        .bind(i64::from(read))
        .bind(i64::from(acked))
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    Ok((read, acked))
}

pub async fn insert_reply(tx: &mut Tx, b: &BroadcastRow, user: Uuid, name: &str, body: &str, now: i64) -> sqlx::Result<Uuid> {
    let id = new_id();
    on_tx!(&mut *tx, |c| {
        sqlx::query(
        "INSERT INTO broadcast_replies (id, broadcast_id, district, user_id, user_name, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(id)
    .bind(b.id)
    .bind(&b.district)
    .bind(user)
    .bind(name)
    .bind(body)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|_| ())
    })?;
    on_tx!(&mut *tx, |c| sqlx::query(
        "UPDATE broadcasts SET replies = replies + 1 WHERE id = $1"
    )
    .bind(b.id)
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    Ok(id)
}

/// Mark the given recipients reminded now.
pub async fn remind(tx: &mut Tx, id: Uuid, users: &[Uuid], now: i64) -> sqlx::Result<()> {
    for u in users {
        on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE broadcast_recipients SET reminded_at = $3, reminders = reminders + 1 WHERE broadcast_id = $1 AND user_id = $2"
        )
        .bind(id)
        .bind(*u)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// Recipients of `id` in `tx`, locked against a concurrent reminder on PostgreSQL.
pub async fn recipients_for_update(tx: &mut Tx, id: Uuid) -> sqlx::Result<Vec<RecipientRow>> {
    let sql =
        "SELECT user_id, grid_code, level, read_at, acked_at, reminded_at, reminders FROM broadcast_recipients WHERE broadcast_id = $1";
    match tx {
        Tx::Sqlite(t) => sqlx::query_as::<_, RecipientRow>(sql).bind(id).fetch_all(&mut **t).await,
        Tx::Pg(t) => {
            sqlx::query_as::<_, RecipientRow>(sqlx::AssertSqlSafe(format!("{sql} FOR UPDATE")))
                .bind(id)
                .fetch_all(&mut **t)
                .await
        }
    }
}

/// Instructions at `code` or below not yet acknowledged by every recipient, newest first.
pub async fn open_instructions(db: &Db, district: &str, code: &str, limit: i64) -> sqlx::Result<Vec<BroadcastRow>> {
    let upper = subtree_upper(code);
    on_pool!(db, |p| sqlx::query_as::<_, BroadcastRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM broadcasts WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND kind = 'instruction' \
         AND acked_count < recipients ORDER BY created_at DESC LIMIT $4"
    )))
    .bind(district)
    .bind(code)
    .bind(&upper)
    .bind(limit)
    .fetch_all(p)
    .await)
}

pub async fn webhooks_at(db: &Db, code: &str) -> sqlx::Result<Vec<WebhookRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {HOOK_COLS} FROM grid_webhooks WHERE grid_code = $1 ORDER BY kind"
    )))
    .bind(code)
    .fetch_all(p)
    .await)
}

/// Insert or change the node's webhook of that kind; `secret` None keeps the stored one.
/// A node's webhook as stored (secret already sealed).
pub struct HookRow<'a> {
    pub district: &'a str,
    pub grid_code: &'a str,
    pub kind: &'a str,
    pub url: &'a str,
    /// None keeps the stored secret.
    pub secret: Option<&'a str>,
    pub enabled: bool,
}

pub async fn upsert_webhook(tx: &mut Tx, h: &HookRow<'_>, now: i64) -> sqlx::Result<Uuid> {
    let existing: Option<Uuid> = on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT id FROM grid_webhooks WHERE grid_code = $1 AND kind = $2"
    )
    .bind(h.grid_code)
    .bind(h.kind)
    .fetch_optional(&mut *c)
    .await)?;
    match existing {
        Some(id) => {
            on_tx!(&mut *tx, |c| sqlx::query(
                "UPDATE grid_webhooks SET url = $2, secret = COALESCE($3, secret), enabled = $4, updated_at = $5 WHERE id = $1"
            )
            .bind(id)
            .bind(h.url)
            .bind(h.secret)
            .bind(h.enabled)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
            Ok(id)
        }
        None => {
            let id = new_id();
            on_tx!(&mut *tx, |c| sqlx::query(
                "INSERT INTO grid_webhooks (id, district, grid_code, kind, url, secret, enabled, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
            )
            .bind(id)
            .bind(h.district)
            .bind(h.grid_code)
            .bind(h.kind)
            .bind(h.url)
            .bind(h.secret.unwrap_or(""))
            .bind(h.enabled)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
            Ok(id)
        }
    }
}
