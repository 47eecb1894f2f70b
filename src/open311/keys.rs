//! Open311 API keys: issue (shown once, stored as a hash), revoke, look up, and a per-key rate limit.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::{on_pool, on_tx};

/// Requests a key may make per minute unless told otherwise.
pub const DEFAULT_PER_MINUTE: i64 = 60;

#[derive(sqlx::FromRow, Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub district: String,
    pub name: String,
    /// The grid subtree the key reaches.
    pub grid_code: String,
    pub key_prefix: String,
    pub per_minute: i64,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const COLS: &str = "id, district, name, grid_code, key_prefix, per_minute, created_at, created_by, revoked_at, last_used_at";

/// A new secret: `gz_` and 40 hex digits (160 random bits).
pub fn generate() -> String {
    let mut buf = [0u8; 20];
    getrandom::fill(&mut buf).expect("operating system randomness");
    let hex: String = buf.iter().map(|b| format!("{b:02x}")).collect();
    format!("gz_{hex}")
}

pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Issue a key for the grid subtree under `grid_code`. Returns the row and the secret (shown once).
pub async fn add(db: &Db, actor: Actor<'_>, grid_code: &str, name: &str, per_minute: i64) -> AppResult<(ApiKey, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "密钥名称不能为空且不超过64字"));
    }
    if !(1..=10_000).contains(&per_minute) {
        return Err(AppError::invalid("invalid_rate", "每分钟请求上限应为1至10000"));
    }
    let grid = crate::grid::store::get(db, grid_code.trim())
        .await?
        .ok_or_else(|| AppError::invalid("unknown_grid", format!("网格编码 {grid_code} 不存在")))?;
    let secret = generate();
    let key = ApiKey {
        id: new_id(),
        district: grid.district.clone(),
        name: name.to_string(),
        grid_code: grid.code.clone(),
        key_prefix: secret[..10].to_string(),
        per_minute,
        created_at: now_ms(),
        created_by: actor.username().to_string(),
        revoked_at: None,
        last_used_at: None,
    };
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO api_keys (id, district, name, grid_code, key_hash, key_prefix, per_minute, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(key.id)
    .bind(&key.district)
    .bind(&key.name)
    .bind(&key.grid_code)
    .bind(hash(&secret))
    .bind(&key.key_prefix)
    .bind(key.per_minute)
    .bind(key.created_at)
    .bind(&key.created_by)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    let entry = audit::Entry {
        district: &key.district,
        action: "api_key.create",
        target_kind: "api_key",
        target_id: &key.id.to_string(),
        reason: "",
        detail: serde_json::json!({"name": key.name, "grid": key.grid_code, "prefix": key.key_prefix, "per_minute": per_minute}),
    };
    audit::record(&mut tx, actor, entry).await?;
    tx.commit().await?;
    Ok((key, secret))
}

/// End a key. Revoking twice is refused, so the log shows one end per key.
pub async fn revoke(db: &Db, actor: Actor<'_>, id: Uuid, reason: &str) -> AppResult<ApiKey> {
    let key = get(db, id).await?.ok_or_else(|| AppError::not_found("接入密钥"))?;
    if key.revoked_at.is_some() {
        return Err(AppError::conflict("already_revoked", "该密钥已停用"));
    }
    let mut tx = db.begin().await?;
    let now = now_ms();
    let changed = on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if changed != 1 {
        // Someone revoked it between the read above and this transaction: one revocation, one entry.
        return Err(AppError::conflict("already_revoked", "该密钥已停用"));
    }
    let entry = audit::Entry {
        district: &key.district,
        action: "api_key.revoke",
        target_kind: "api_key",
        target_id: &id.to_string(),
        reason,
        detail: serde_json::json!({"name": key.name, "prefix": key.key_prefix}),
    };
    audit::record(&mut tx, actor, entry).await?;
    tx.commit().await?;
    Ok(ApiKey {
        revoked_at: Some(now),
        ..key
    })
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<ApiKey>> {
    on_pool!(db, |p| sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM api_keys WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// The live key with this secret, if any.
pub async fn find(db: &Db, secret: &str) -> sqlx::Result<Option<ApiKey>> {
    on_pool!(db, |p| sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
    )))
    .bind(hash(secret.trim()))
    .fetch_optional(p)
    .await)
}

pub async fn list(db: &Db, district: &str) -> sqlx::Result<Vec<ApiKey>> {
    on_pool!(db, |p| sqlx::query_as::<_, ApiKey>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM api_keys WHERE district = $1 ORDER BY created_at DESC"
    )))
    .bind(district)
    .fetch_all(p)
    .await)
}

/// Note a key's use (for the console's list); a lost update here costs nothing.
pub async fn touch(db: &Db, id: Uuid) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    tx.commit().await
}

/// A fixed one-minute window per key, in this process.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<Uuid, (i64, i64)>>,
}

impl RateLimiter {
    /// May the key make one more request at `now_ms`, with `per_minute` allowed?
    pub fn allow(&self, key: Uuid, per_minute: i64, now_ms: i64) -> bool {
        let minute = now_ms.div_euclid(60_000);
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() > 100_000 {
            w.retain(|_, (m, _)| *m == minute);
        }
        let slot = w.entry(key).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= per_minute {
            return false;
        }
        slot.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.starts_with("gz_"));
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(hash(&a), hash(&b));
    }

    // Known answers, computed outside this code: the FIPS 180-2 examples ("abc", the empty
    // string, the two-block message) and a key-shaped secret (`printf %s … | sha256sum`). The
    // stored hash is lower-case hex of SHA-256 of the secret's bytes, the same for keys and for
    // sessions, so a lookup by `find` meets what `add` stored.
    #[test]
    fn hash_is_sha256_in_lower_case_hex() {
        let vectors = [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
            (
                "gz_00112233445566778899aabbccddeeff00112233",
                "07a6f51032c279375abc39306ec0a4dae7e6a48c68bb292d998bc125256acddc",
            ),
        ];
        for (input, expect) in vectors {
            assert_eq!(hash(input), expect, "keys::hash({input:?})");
            assert_eq!(crate::auth::hash_secret(input), expect, "auth::hash_secret({input:?})");
        }
    }

    #[test]
    fn rate_limit_is_per_key_and_per_minute() {
        let r = RateLimiter::default();
        let (k1, k2) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let t: i64 = 30_000_000 * 60_000; // the start of a minute
        assert!((0..3).all(|i| r.allow(k1, 3, t + i)));
        assert!(!r.allow(k1, 3, t + 10));
        assert!(r.allow(k2, 3, t + 10), "another key has its own budget");
        assert!(!r.allow(k1, 3, t + 59_999));
        assert!(r.allow(k1, 3, t + 60_000), "a new minute starts afresh");
    }
}
