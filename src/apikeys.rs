//! API keys (接入密钥) for systems that call in — Open311 clients and device gateways: issue (shown
//! once, stored as a hash), revoke, look up; rate limits per key and, for reads without a key, per client address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
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

/// Keys revoked by this process so far: caches of live keys drop what they hold when it moves,
/// so a key revoked here stops at once (one revoked by another process, within their lifetime).
static REVOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The count of keys this process has revoked (see [`REVOCATIONS`]).
pub fn revocations() -> u64 {
    REVOCATIONS.load(std::sync::atomic::Ordering::Acquire)
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
    REVOCATIONS.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
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

/// Who a rate limit counts: a key, or — reading without one — a client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    Key(Uuid),
    Address(IpAddr),
}

/// Reads without a key one client address may make per minute (a key's own rate is set when it
/// is issued): enough for a public map that refreshes, not for walking the whole history.
pub const ANONYMOUS_PER_MINUTE: i64 = 60;

/// The address a request is counted under: the peer's, unless the peer is this host — a reverse
/// proxy beside the server — and says whom it forwards (the last address of `X-Forwarded-For`,
/// the one the proxy itself added). A remote peer cannot choose its count by sending the header.
/// IPv6 clients are counted by their /64, which one subscriber usually holds whole. Without a
/// peer (a server started without connection info) every request shares one count.
pub fn client_address(peer: Option<SocketAddr>, forwarded_for: Option<&str>) -> IpAddr {
    let Some(peer) = peer else {
        return IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    };
    let forwarded = forwarded_for
        .filter(|_| peer.ip().is_loopback())
        .and_then(|h| h.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    match forwarded.unwrap_or(peer.ip()) {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

/// A fixed one-minute window per caller, in this process.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<Caller, (i64, i64)>>,
}

impl RateLimiter {
    /// May `caller` make one more request at `now_ms`, with `per_minute` allowed? When not, the
    /// whole seconds until its next minute begins (for `Retry-After`).
    pub fn allow(&self, caller: Caller, per_minute: i64, now_ms: i64) -> Result<(), u64> {
        let minute = now_ms.div_euclid(60_000);
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if w.len() > 100_000 {
            w.retain(|_, (m, _)| *m == minute);
        }
        let slot = w.entry(caller).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= per_minute {
            let left_ms = (minute + 1) * 60_000 - now_ms;
            return Err(u64::try_from((left_ms + 999) / 1000).unwrap_or(60).clamp(1, 60));
        }
        slot.1 += 1;
        Ok(())
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
    fn rate_limit_is_per_caller_and_per_minute() {
        let r = RateLimiter::default();
        let (k1, k2) = (Caller::Key(Uuid::from_u128(1)), Caller::Key(Uuid::from_u128(2)));
        let a = Caller::Address("203.0.113.5".parse().unwrap());
        let t: i64 = 30_000_000 * 60_000; // the start of a minute
        assert!((0..3).all(|i| r.allow(k1, 3, t + i).is_ok()));
        assert_eq!(r.allow(k1, 3, t + 10), Err(60), "told to come back when the minute ends");
        assert!(r.allow(k2, 3, t + 10).is_ok(), "another key has its own budget");
        assert!(r.allow(a, 1, t + 10).is_ok(), "so does an address");
        assert_eq!(r.allow(a, 1, t + 30_500), Err(30));
        assert_eq!(r.allow(k1, 3, t + 59_999), Err(1));
        assert!(r.allow(k1, 3, t + 60_000).is_ok(), "a new minute starts afresh");
    }

    #[test]
    fn client_addresses() {
        let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_address(peer("203.0.113.5:4000"), None), ip("203.0.113.5"));
        // A remote peer's header is ignored; a proxy on this host is believed, its last entry.
        assert_eq!(client_address(peer("203.0.113.5:4000"), Some("10.0.0.1")), ip("203.0.113.5"));
        assert_eq!(
            client_address(peer("127.0.0.1:4000"), Some("10.9.9.9, 198.51.100.7")),
            ip("198.51.100.7")
        );
        assert_eq!(client_address(peer("[::1]:4000"), Some("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(client_address(peer("127.0.0.1:4000"), Some("not an address")), ip("127.0.0.1"));
        assert_eq!(client_address(peer("127.0.0.1:4000"), None), ip("127.0.0.1"));
        // IPv6 by /64; IPv4 mapped into IPv6 as IPv4.
        assert_eq!(client_address(peer("[2001:db8:1:2:aaaa::1]:4000"), None), ip("2001:db8:1:2::"));
        assert_eq!(client_address(peer("[2001:db8:1:2:bbbb::9]:4000"), None), ip("2001:db8:1:2::"));
        assert_eq!(client_address(peer("[::ffff:198.51.100.7]:4000"), None), ip("198.51.100.7"));
        assert_eq!(client_address(None, Some("198.51.100.7")), ip("0.0.0.0"));
    }
}
