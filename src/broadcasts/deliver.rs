//! The outbox worker: delivers broadcasts to outside groups (WeCom, DingTalk, generic webhooks).
//!
//! Rows are claimed with a lease (`lease_until`, `lease_owner`) in one statement, so two
//! processes, or a process restarted while its predecessor's rows were in flight, never send the
//! same row at the same time; a row whose lease ran out (its process died) is claimed again. A
//! row is marked `delivered` in its own short transaction right after a 2xx (and, for the robots,
//! `errcode` 0); otherwise it is retried with exponential backoff and jitter, and after the last
//! attempt marked `failed`, which the broadcast's page shows. Delivery is at least once: a process
//! killed between the receiver's answer and that mark sends the row again, with the same
//! `X-Gongzhi-Delivery` id, so a receiver can drop the repeat.

use std::sync::OnceLock;
use std::time::Duration;

use uuid::Uuid;

use super::rules::{self, Backoff, HookKind, Kind};
use super::store::{self, BroadcastRow, WebhookRow};
use crate::db::{Db, Tx, now_ms};
use crate::on_pool;

/// The header naming a delivery (the outbox row's id), the same on every retry.
pub const DELIVERY_HEADER: &str = "X-Gongzhi-Delivery";

/// How the worker runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub backoff: Backoff,
    /// How long a claimed row is held before another process may take it (longer than a request).
    pub lease_ms: i64,
    /// How often due rows are looked for when nothing wakes the worker.
    pub poll: Duration,
    /// Every request's whole time limit.
    pub timeout: Duration,
    /// Rows claimed and sent at once.
    pub batch: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            backoff: Backoff::default(),
            lease_ms: 60_000,
            poll: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
            batch: 8,
        }
    }
}

impl Settings {
    /// Defaults, changed by `GONGZHI_OUTBOX_BASE_MS`, `_CAP_MS`, `_ATTEMPTS`, `_LEASE_MS`,
    /// `_POLL_MS`, `_BATCH` and `_TIMEOUT_MS` (tests make retries fast); a bad value stops the start.
    pub fn from_env() -> anyhow::Result<Settings> {
        let mut s = Settings::default();
        let read = |name: &str, min: i64, max: i64| -> anyhow::Result<Option<i64>> {
            match std::env::var(name) {
                Ok(v) => {
                    let n: i64 = v.trim().parse().map_err(|_| anyhow::anyhow!("{name}: not a whole number"))?;
                    anyhow::ensure!((min..=max).contains(&n), "{name}: {min}–{max}");
                    Ok(Some(n))
                }
                Err(_) => Ok(None),
            }
        };
        if let Some(n) = read("GONGZHI_OUTBOX_BASE_MS", 10, 3_600_000)? {
            s.backoff.base_ms = n;
        }
        if let Some(n) = read("GONGZHI_OUTBOX_CAP_MS", 10, 86_400_000)? {
            s.backoff.cap_ms = n;
        }
        if let Some(n) = read("GONGZHI_OUTBOX_ATTEMPTS", 1, 1_000)? {
            s.backoff.max_attempts = n;
        }
        if let Some(n) = read("GONGZHI_OUTBOX_LEASE_MS", 1_000, 3_600_000)? {
            s.lease_ms = n;
        }
        if let Some(n) = read("GONGZHI_OUTBOX_POLL_MS", 10, 60_000)? {
            s.poll = Duration::from_millis(n as u64);
        }
        if let Some(n) = read("GONGZHI_OUTBOX_BATCH", 1, 100)? {
            s.batch = n;
        }
        if let Some(n) = read("GONGZHI_OUTBOX_TIMEOUT_MS", 100, 120_000)? {
            s.timeout = Duration::from_millis(n as u64);
        }
        anyhow::ensure!(
            s.lease_ms > s.timeout.as_millis() as i64,
            "GONGZHI_OUTBOX_LEASE_MS must be longer than a request's time limit"
        );
        Ok(s)
    }
}

fn wakeup() -> &'static tokio::sync::Notify {
    static N: OnceLock<tokio::sync::Notify> = OnceLock::new();
    N.get_or_init(tokio::sync::Notify::new)
}

/// Tell a worker of this process that rows are due (after a send commits).
pub fn wake() {
    wakeup().notify_one();
}

/// A claimed row.
#[derive(sqlx::FromRow, Debug)]
struct Claimed {
    id: Uuid,
    broadcast_id: Uuid,
    webhook_id: Uuid,
    attempts: i64,
}

type Body = http_body_util::Full<hyper::body::Bytes>;

/// The HTTP(S) client: hyper over rustls with the ring provider and the system's roots. It
/// follows no redirect (a robot's address answers itself; a redirect could carry its token away).
#[derive(Clone)]
pub struct Client(
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>, Body>,
);

impl Client {
    pub fn new(connect_timeout: Duration) -> anyhow::Result<Client> {
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(Client(
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https),
        ))
    }

    /// POST `body` as JSON with `headers` to `url`, within `limit` for the whole exchange:
    /// the status and up to 64 KB of the answer.
    pub async fn post_json(&self, url: &str, headers: &[(&str, String)], body: String, limit: Duration) -> Result<(u16, String), String> {
        use http_body_util::BodyExt;
        let mut req = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("gongzhi/", env!("CARGO_PKG_VERSION")));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(Body::new(body.into())).map_err(|_| "地址无法使用".to_string())?;
        let exchange = async {
            let resp = self.0.request(req).await.map_err(|e| {
                if e.is_connect() {
                    "无法连接".to_string()
                } else {
                    "发送失败".to_string()
                }
            })?;
            let status = resp.status().as_u16();
            let limited = http_body_util::Limited::new(resp.into_body(), 64 * 1024);
            let bytes = limited.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
        };
        tokio::time::timeout(limit, exchange)
            .await
            .unwrap_or_else(|_| Err("超时".to_string()))
    }
}

/// The worker: the database, an HTTP client, its settings and its name for leases.
pub struct Outbox {
    db: Db,
    client: Client,
    settings: Settings,
    owner: String,
}

impl Outbox {
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<Outbox> {
        let client = Client::new(settings.timeout.min(Duration::from_secs(5)))?;
        Ok(Outbox {
            db,
            client,
            settings,
            owner: format!("{}-{}", std::process::id(), Uuid::now_v7().simple()),
        })
    }

    /// Deliver until `stop` turns true. A batch in flight is finished (each request has its time
    /// limit), so a stop never leaves a row answered but unmarked.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        tracing::info!("broadcast outbox worker started");
        loop {
            if *stop.borrow() {
                break;
            }
            let worked = match self.tick().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: could not claim rows");
                    0
                }
            };
            if worked > 0 {
                continue; // more may be due
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = wakeup().notified() => {}
                _ = tokio::time::sleep(self.settings.poll) => {}
            }
        }
        tracing::info!("broadcast outbox worker stopped");
    }

    /// Claim the due rows (up to a batch) and deliver them at once; how many were claimed.
    pub async fn tick(&self) -> anyhow::Result<usize> {
        let claimed = self.claim().await?;
        let n = claimed.len();
        let mut set = tokio::task::JoinSet::new();
        for c in claimed {
            let (db, client, settings) = (self.db.clone(), self.client.clone(), self.settings);
            set.spawn(async move {
                let outcome = attempt(&db, &client, &c, settings.timeout).await;
                if let Err(e) = finish(&db, &c, outcome, settings.backoff).await {
                    tracing::warn!(error = %e, delivery = %c.id, "outbox: could not record an attempt");
                }
            });
        }
        while set.join_next().await.is_some() {}
        Ok(n)
    }

    async fn claim(&self) -> sqlx::Result<Vec<Claimed>> {
        let now = now_ms();
        let until = now + self.settings.lease_ms;
        // SQLite has one writer, so choosing and leasing in one statement is enough. On
        // PostgreSQL the rows are chosen once in a CTE, locked and skipping rows another process
        // holds (a `LIMIT` subquery inside `IN (…)` may be run again and lease more than asked),
        // and the lease's conditions are checked again on the locked row.
        let lite = "UPDATE broadcast_outbox SET lease_until = $2, lease_owner = $3, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM broadcast_outbox WHERE state = 'pending' AND next_at <= $1 \
               AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_at LIMIT $4) \
             RETURNING id, broadcast_id, webhook_id, attempts";
        let pg = "WITH due AS (SELECT id FROM broadcast_outbox WHERE state = 'pending' AND next_at <= $1 \
               AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_at LIMIT $4 FOR UPDATE SKIP LOCKED) \
             UPDATE broadcast_outbox o SET lease_until = $2, lease_owner = $3, attempts = o.attempts + 1 FROM due \
             WHERE o.id = due.id AND o.state = 'pending' AND (o.lease_until IS NULL OR o.lease_until <= $1) \
             RETURNING o.id, o.broadcast_id, o.webhook_id, o.attempts";
        let mut tx = self.db.begin().await?;
        let rows = match &mut tx {
            Tx::Sqlite(t) => {
                sqlx::query_as::<_, Claimed>(lite)
                    .bind(now)
                    .bind(until)
                    .bind(&self.owner)
                    .bind(self.settings.batch)
                    .fetch_all(&mut **t)
                    .await?
            }
            Tx::Pg(t) => {
                sqlx::query_as::<_, Claimed>(pg)
                    .bind(now)
                    .bind(until)
                    .bind(&self.owner)
                    .bind(self.settings.batch)
                    .fetch_all(&mut **t)
                    .await?
            }
        };
        tx.commit().await?;
        Ok(rows)
    }
}

/// What one attempt came to.
enum Outcome {
    Delivered,
    /// Worth trying again later.
    Retry(String),
    /// Pointless to try again (the webhook was removed or switched off).
    GiveUp(String),
}

async fn load(db: &Db, c: &Claimed) -> sqlx::Result<Option<(BroadcastRow, WebhookRow, String)>> {
    let hook = on_pool!(db, |p| sqlx::query_as::<_, WebhookRow>(
        "SELECT id, district, grid_code, kind, url, secret, enabled, updated_at FROM grid_webhooks WHERE id = $1"
    )
    .bind(c.webhook_id)
    .fetch_optional(p)
    .await)?;
    let Some(hook) = hook else { return Ok(None) };
    let Some(b) = store::get(db, &hook.district, c.broadcast_id).await? else {
        return Ok(None);
    };
    let name: String = on_pool!(db, |p| sqlx::query_scalar("SELECT name FROM grids WHERE code = $1")
        .bind(&b.grid_code)
        .fetch_optional(p)
        .await)?
    .unwrap_or_default();
    Ok(Some((b, hook, name)))
}

async fn attempt(db: &Db, client: &Client, c: &Claimed, limit: Duration) -> Outcome {
    let (b, hook, grid_name) = match load(db, c).await {
        Ok(Some(x)) => x,
        Ok(None) => return Outcome::GiveUp("通知或接收群已不存在".into()),
        Err(e) => return Outcome::Retry(format!("数据库：{e}")),
    };
    if !hook.enabled {
        return Outcome::GiveUp("该群机器人已停用".into());
    }
    let kind = HookKind::parse(&hook.kind).unwrap_or(HookKind::Generic);
    let secret = match crate::sealed::ring().open(&hook.secret) {
        Ok(s) => s,
        Err(_) => return Outcome::GiveUp("密钥无法解开（密钥文件不含封存它的密钥）".into()),
    };
    let id = b.id.to_string();
    let sent_at = crate::time::rfc3339_ms(b.created_at);
    let body = rules::payload(
        kind,
        &rules::Message {
            id: &id,
            kind: Kind::parse(&b.kind).unwrap_or(Kind::Notice),
            grid_code: &b.grid_code,
            grid_name: &grid_name,
            title: &b.title,
            body: &b.body,
            sender: &b.sender_name,
            sent_at: &sent_at,
        },
    );
    let Ok(plain_url) = crate::sealed::ring().open(&hook.url) else {
        return Outcome::GiveUp("地址无法解开（密钥文件不含封存它的密钥）".into());
    };
    let url = match kind {
        HookKind::Dingtalk => rules::dingtalk_url(&plain_url, &secret, now_ms()),
        _ => plain_url.clone(),
    };
    let text = body.to_string();
    let mut headers = vec![(DELIVERY_HEADER, c.id.to_string())];
    if kind == HookKind::Generic && !secret.is_empty() {
        // A generic receiver can check the body came from us: HMAC-SHA256 of it, keyed by the secret.
        headers.push(("X-Gongzhi-Signature", generic_signature(&secret, &text)));
    }
    let shown = rules::redacted(&plain_url);
    match client.post_json(&url, &headers, text, limit).await {
        Ok((status, answer)) => {
            if !(200..300).contains(&status) {
                tracing::info!(delivery = %c.id, url = %shown, status, "outbox: delivery refused");
                return Outcome::Retry(format!("HTTP {status}"));
            }
            if kind != HookKind::Generic {
                // The robots answer 200 with {"errcode":0} on success and another code otherwise.
                let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
                let code = v["errcode"].as_i64().unwrap_or(-1);
                if code != 0 {
                    let msg: String = v["errmsg"].as_str().unwrap_or("").chars().take(100).collect();
                    return Outcome::Retry(format!("errcode {code}: {msg}"));
                }
            }
            Outcome::Delivered
        }
        Err(what) => {
            tracing::info!(delivery = %c.id, url = %shown, error = %what, "outbox: delivery failed");
            Outcome::Retry(what)
        }
    }
}

/// `sha256=` and the hex HMAC-SHA256 of the body, keyed by the webhook's secret.
pub fn generic_signature(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(body.as_bytes());
    format!("sha256={}", crate::auth::hex(&m.finalize().into_bytes()))
}

/// Record an attempt in its own short transaction.
async fn finish(db: &Db, c: &Claimed, outcome: Outcome, backoff: Backoff) -> sqlx::Result<()> {
    let now = now_ms();
    let (state, next_at, error) = match outcome {
        Outcome::Delivered => ("delivered", now, String::new()),
        Outcome::GiveUp(e) => ("failed", now, e),
        Outcome::Retry(e) if c.attempts >= backoff.max_attempts => ("failed", now, e),
        Outcome::Retry(e) => {
            let mut b = [0u8; 2];
            getrandom::fill(&mut b).expect("operating system randomness");
            let jitter = f64::from(u16::from_le_bytes(b)) / 65_536.0;
            ("pending", now + backoff.delay_ms(c.attempts, jitter), e)
        }
    };
    let error: String = error.chars().take(200).collect();
    let mut tx = db.begin().await?;
    crate::on_tx!(&mut tx, |x| sqlx::query(
        "UPDATE broadcast_outbox SET state = $2, next_at = $3, last_error = $4, lease_until = NULL, \
         delivered_at = CASE WHEN $2 = 'delivered' THEN $3 ELSE delivered_at END WHERE id = $1 AND state = 'pending'"
    )
    .bind(c.id)
    .bind(state)
    .bind(next_at)
    .bind(&error)
    .execute(&mut *x)
    .await
    .map(|_| ()))?;
    tx.commit().await
}
