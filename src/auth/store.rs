//! Storage for users, posts and sessions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{Post, Principal, Role};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::{on_pool, on_tx};

/// How long a session lasts: it ends after `idle_ms` unused, and `max_ms` after sign-in whatever
/// its use. Both fixed in the session's row when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub max_ms: i64,
}

pub const DEFAULT_IDLE_MINUTES: i64 = 120;
pub const DEFAULT_MAX_HOURS: i64 = 12;

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_ms: DEFAULT_IDLE_MINUTES * 60_000,
            max_ms: DEFAULT_MAX_HOURS * 3_600_000,
        }
    }
}

/// A used session's `last_seen_at` is written at most this often (a write per request would
/// load SQLite's one writer); idle time is therefore measured to within this.
pub const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub district: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub disabled: bool,
}

pub async fn user_by_id(db: &Db, id: Uuid) -> sqlx::Result<Option<UserRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, UserRow>(
        "SELECT id, district, username, display_name, password_hash, disabled FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Replace an account's password hash.
pub async fn set_password_hash(tx: &mut Tx, user_id: Uuid, hash: &str) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// End every session of an account but the one whose secret hashes to `keep` (if any); returns
/// how many ended.
pub async fn end_other_sessions(tx: &mut Tx, user_id: Uuid, keep: Option<&str>) -> sqlx::Result<u64> {
    on_tx!(tx, |c| sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
}

pub async fn user_by_name(db: &Db, username: &str) -> sqlx::Result<Option<UserRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, UserRow>(
        "SELECT id, district, username, display_name, password_hash, disabled FROM users WHERE username = $1"
    )
    .bind(username)
    .fetch_optional(p)
    .await)
}

pub async fn insert_user(tx: &mut Tx, district: &str, username: &str, display_name: &str, password_hash: &str) -> sqlx::Result<Uuid> {
    let id = new_id();
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO users (id, district, username, display_name, password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, FALSE, $6)"
    )
    .bind(id)
    .bind(district)
    .bind(username)
    .bind(display_name)
    .bind(password_hash)
    .bind(now_ms())
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(id)
}

pub async fn insert_post(
    tx: &mut Tx,
    district: &str,
    user_id: Uuid,
    role: Role,
    grid_code: Option<&str>,
    unit_id: Option<Uuid>,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO posts (id, district, user_id, role, grid_code, unit_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(new_id())
    .bind(district)
    .bind(user_id)
    .bind(role.as_str())
    .bind(grid_code)
    .bind(unit_id)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn create_session(db: &Db, user_id: Uuid, kind: &str, policy: SessionPolicy) -> sqlx::Result<(String, String)> {
    let (secret, hash) = super::new_secret();
    let (csrf, _) = super::new_secret();
    let now = now_ms();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| {
        // Ended sessions (at their absolute time or idle too long) are swept as new ones are made.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND (expires_at < $2 OR last_seen_at + idle_ms < $2)")
            .bind(user_id)
            .bind(now)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, kind, csrf, created_at, expires_at, last_seen_at, idle_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $5, $7)",
        )
        .bind(&hash)
        .bind(user_id)
        .bind(kind)
        .bind(&csrf)
        .bind(now)
        .bind(now + policy.max_ms)
        .bind(policy.idle_ms)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
    })?;
    tx.commit().await?;
    Ok((secret, csrf))
}

pub async fn delete_session(db: &Db, secret: &str) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(super::hash_secret(secret))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await?;
    sessions_ended();
    Ok(())
}

/// A session found by [`principal_for`] is trusted for this long without asking the database
/// again, so that a client's burst of requests costs one lookup. A session ended in this process
/// (sign-out, a password change: [`sessions_ended`]) stops at once; one ended by another server
/// or the command line stops within this time.
pub const SESSION_TRUST: Duration = Duration::from_secs(1);
/// Sessions remembered at most; past it all are forgotten (a flood of tokens cannot grow it).
const MAX_KNOWN: usize = 20_000;

/// A live session as last read, and when.
struct Known {
    at: Instant,
    ended: u64,
    principal: Principal,
    kind: String,
    csrf: String,
    expires_at: i64,
    last_seen_at: i64,
    idle_ms: i64,
}

static KNOWN: LazyLock<Mutex<HashMap<String, Known>>> = LazyLock::new(Mutex::default);
/// Sessions ended in this process so far (any session: all remembered ones are read again).
static ENDED: AtomicU64 = AtomicU64::new(0);

/// Call after a commit that ended sessions: none is trusted from memory any more.
pub fn sessions_ended() {
    ENDED.fetch_add(1, Ordering::Release);
}

#[derive(sqlx::FromRow)]
struct SessionPost {
    id: Uuid,
    username: String,
    display_name: String,
    district: String,
    kind: String,
    csrf: String,
    expires_at: i64,
    last_seen_at: i64,
    idle_ms: i64,
    role: Option<String>,
    grid_code: Option<String>,
    unit_id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct PostRow {
    role: String,
    grid_code: Option<String>,
    unit_id: Option<Uuid>,
}

/// A principal with its session kind and CSRF token, if the secret names a live session: before
/// its absolute end and used within its idle time. One query (a row per post), and none when the
/// session was read within [`SESSION_TRUST`]; the session's last use is written at most once a
/// minute.
pub async fn principal_for(db: &Db, secret: &str) -> sqlx::Result<Option<(Principal, String, String)>> {
    let hash = super::hash_secret(secret);
    let now = now_ms();
    // Read before the database: a session ended after this read is not remembered as live.
    let ended = ENDED.load(Ordering::Acquire);
    if let Some(k) = KNOWN.lock().unwrap_or_else(|e| e.into_inner()).get(&hash)
        && k.ended == ended
        && k.at.elapsed() < SESSION_TRUST
        && k.expires_at > now
        && k.last_seen_at + k.idle_ms > now
        && now - k.last_seen_at < TOUCH_EVERY_MS.min(k.idle_ms / 4)
    {
        return Ok(Some((k.principal.clone(), k.kind.clone(), k.csrf.clone())));
    }
    let rows = on_pool!(db, |p| {
        sqlx::query_as::<_, SessionPost>(
        "SELECT u.id, u.username, u.display_name, u.district, s.kind, s.csrf, s.expires_at, s.last_seen_at, s.idle_ms, po.role, po.grid_code, po.unit_id \
         FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN posts po ON po.user_id = u.id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at + s.idle_ms > $2 AND u.disabled = FALSE ORDER BY po.created_at"
    )
    .bind(&hash)
    .bind(now)
    .fetch_all(p)
    .await
    })?;
    let Some(first) = rows.first() else {
        KNOWN.lock().unwrap_or_else(|e| e.into_inner()).remove(&hash);
        return Ok(None);
    };
    let mut last_seen_at = first.last_seen_at;
    if now - first.last_seen_at >= TOUCH_EVERY_MS.min(first.idle_ms / 4) {
        touch(db, &hash, now).await?;
        last_seen_at = now;
    }
    let posts = rows
        .iter()
        .filter_map(|r| {
            r.role.as_deref().and_then(Role::parse).map(|role| Post {
                role,
                grid_code: r.grid_code.clone(),
                unit_id: r.unit_id,
            })
        })
        .collect();
    let principal = Principal {
        user_id: first.id,
        username: first.username.clone(),
        display_name: first.display_name.clone(),
        district: first.district.clone(),
        posts,
    };
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if known.len() >= MAX_KNOWN {
        known.clear();
    }
    known.insert(
        hash,
        Known {
            at: Instant::now(),
            ended,
            principal: principal.clone(),
            kind: first.kind.clone(),
            csrf: first.csrf.clone(),
            expires_at: first.expires_at,
            last_seen_at,
            idle_ms: first.idle_ms,
        },
    );
    Ok(Some((principal, first.kind.clone(), first.csrf.clone())))
}

/// Mark a session used now.
async fn touch(db: &Db, hash: &str, now: i64) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1"
    )
    .bind(now)
    .bind(hash)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await
}

pub async fn posts_of(db: &Db, user_id: Uuid) -> sqlx::Result<Vec<Post>> {
    let rows = on_pool!(db, |p| sqlx::query_as::<_, PostRow>(
        "SELECT role, grid_code, unit_id FROM posts WHERE user_id = $1 ORDER BY created_at"
    )
    .bind(user_id)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Role::parse(&r.role).map(|role| Post {
                role,
                grid_code: r.grid_code,
                unit_id: r.unit_id,
            })
        })
        .collect())
}

/// An account's username and display name (to show who asked for something).
pub async fn names_of(db: &Db, id: Uuid) -> sqlx::Result<Option<(String, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT username, display_name FROM users WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}
