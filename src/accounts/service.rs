//! Account operations shared by the CLI, the API, the pages and the demo loader: a new user's post
//! is checked against the grid node or unit it is held at, then created by `auth`; signing in,
//! throttled and audited; changing one's password.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::auth::accounts::{self, Checked, NewAccount};
use crate::auth::store::{self, UserRow};
use crate::auth::{Principal, Role, password};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::grid::{rules, store as grids};
use crate::registry::units;
use crate::web::client::ClientAddr;
use crate::web::throttle::{Clock, Policy, Standing, SystemClock, Throttle};

#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: String,
    /// district_admin, street_staff, community_staff, compound_leader, building_officer, department_handler, property_staff, resident, shop_keeper
    pub role: String,
    /// The grid node the post is held at (grid-held roles).
    pub grid: Option<String>,
    /// The unit the post is held at (department_handler, property_staff, shop_keeper).
    pub unit: Option<Uuid>,
}

/// Validate and create a user and its post in one transaction. Returns (user id, district).
/// With `within`, the post's place must be in that district (an API caller adds users to their
/// own district only): anything else is "not found", and nothing is written.
pub async fn add_user(db: &Db, actor: Actor<'_>, input: &NewUser, within: Option<&str>) -> AppResult<(Uuid, String)> {
    let username = input.username.trim().to_string();
    let role = accounts::check_new(&username, &input.password, &input.role)?;
    let (district, grid, unit) = if role.held_at_unit() {
        let id = input
            .unit
            .ok_or_else(|| AppError::invalid("unit_required", format!("{}岗位须指定所属单位（--unit）", role.label())))?;
        let u = units::get(db, id)
            .await?
            .ok_or_else(|| AppError::invalid("unknown_unit", "所属单位不存在"))?;
        let want = match role {
            Role::DepartmentHandler => ["department", "community"],
            Role::ShopKeeper => ["love_supermarket", "merchant"],
            _ => ["property_company", "property_company"],
        };
        if !want.contains(&u.kind.as_str()) {
            return Err(AppError::invalid(
                "wrong_unit_kind",
                format!("{}不能设在「{}」类单位", role.label(), units::unit_kind_label(&u.kind)),
            ));
        }
        (u.district, None, Some(id))
    } else {
        let code = input
            .grid
            .as_deref()
            .ok_or_else(|| AppError::invalid("grid_required", format!("{}岗位须指定所在网格（--grid）", role.label())))?;
        let g = grids::get(db, code)
            .await?
            .ok_or_else(|| AppError::invalid("unknown_grid", format!("网格编码 {code} 不存在")))?;
        if let Some(level) = role.grid_level()
            && level != g.level
        {
            return Err(AppError::invalid(
                "wrong_grid_level",
                format!(
                    "{}岗位应设在第{}级网格（{}），而 {} 是第{}级",
                    role.label(),
                    level,
                    rules::level_label(level),
                    g.code,
                    g.level
                ),
            ));
        }
        (g.district, Some(g.code), None)
    };
    if within.is_some_and(|d| d != district) {
        return Err(AppError::not_found(if unit.is_some() { "单位" } else { "网格" }));
    }
    let account = NewAccount {
        username: &username,
        password: &input.password,
        display_name: &input.display_name,
        role,
        district: &district,
        grid: grid.as_deref(),
        unit,
    };
    let id = accounts::create(db, actor, &account).await?;
    Ok((id, district))
}

// ---- Signing in: throttled per account and per client address, audited in folds ----

/// Per account: five free failures, then 30 s, doubling to at most 5 minutes — so an attacker
/// cannot keep a real user out for longer than that at a time — forgotten after 15 quiet minutes.
pub const ACCOUNT_POLICY: Policy = Policy {
    free: 5,
    first_block: Duration::from_secs(30),
    max_block: Duration::from_secs(300),
    forget_after: Duration::from_secs(900),
    capacity: 10_000,
};

/// Per client address (an office may share one): twenty free failures across all accounts,
/// then the same growing blocks. A success from the address gives back its own attempt only,
/// so signing in to one's own account does not reset the count for guessing others.
pub const ADDRESS_POLICY: Policy = Policy {
    free: 20,
    first_block: Duration::from_secs(30),
    max_block: Duration::from_secs(300),
    forget_after: Duration::from_secs(900),
    capacity: 10_000,
};

/// The sign-in throttles of one server process.
pub struct LoginGuard {
    accounts: Throttle<String>,
    addresses: Throttle<IpAddr>,
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl LoginGuard {
    /// With an injected clock (tests move it to see a lock expire).
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self::with_policies(ACCOUNT_POLICY, ADDRESS_POLICY, clock)
    }

    pub fn with_policies(account: Policy, address: Policy, clock: Arc<dyn Clock>) -> Self {
        LoginGuard {
            accounts: Throttle::with_clock(account, clock.clone()),
            addresses: Throttle::with_clock(address, clock),
        }
    }

    /// Count an attempt on the account and the address, or refuse it with the time to wait.
    fn attempt(&self, account: &String, address: Option<IpAddr>) -> Result<Standing, Duration> {
        let standing = self.accounts.attempt(account)?;
        if let Some(ip) = address
            && let Err(wait) = self.addresses.attempt(&ip)
        {
            self.accounts.forgive(account);
            return Err(wait);
        }
        Ok(standing)
    }

    /// The attempt did not count (the server was busy, or failed itself).
    fn give_back(&self, account: &String, address: Option<IpAddr>) {
        self.accounts.forgive(account);
        if let Some(ip) = address {
            self.addresses.forgive(&ip);
        }
    }
}

/// The throttle's key for a username as typed: trimmed, lower case, bounded (usernames are at
/// most 32 characters, so nothing real is cut).
fn account_key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(64).collect()
}

/// A refused sign-in: the error in the one format, and when to come back if it says so.
#[derive(Debug)]
pub struct Refusal {
    pub error: AppError,
    pub retry_after: Option<Duration>,
}

impl From<AppError> for Refusal {
    fn from(error: AppError) -> Self {
        let retry_after = (error.code == "busy").then(|| Duration::from_secs(1));
        Refusal { error, retry_after }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        AppError::from(e).into()
    }
}

impl Refusal {
    /// Too many attempts (429): 尝试次数过多，请 N 分钟后再试.
    pub fn throttled(wait: Duration) -> Refusal {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        Refusal {
            error: AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("尝试次数过多，请 {minutes} 分钟后再试"),
            ),
            retry_after: Some(wait),
        }
    }

    /// The `Retry-After` header's value (whole seconds, at least 1).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| d.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Add `Retry-After` to an answer made from this refusal.
    pub fn with_retry_after(&self, mut resp: Response) -> Response {
        if let Some(secs) = self.retry_after_secs() {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let resp = self.error.clone().into_response();
        self.with_retry_after(resp)
    }
}

/// Sign in: throttled before any password is hashed (a blocked account or address is refused,
/// even with the right password, until the block ends), then checked. Audited in folds: the first
/// failure of a run, each failure that starts a block (with the count, and the attempts refused
/// while blocked), and the success after failures (with their count) — not a row per guess.
pub async fn sign_in(db: &Db, guard: &LoginGuard, username: &str, password: &str, client: ClientAddr) -> Result<UserRow, Refusal> {
    let key = account_key(username);
    let address = client.throttle_key();
    let standing = guard.attempt(&key, address).map_err(Refusal::throttled)?;
    let checked = match accounts::check_password(db, username, password).await {
        Ok(c) => c,
        Err(e) => {
            guard.give_back(&key, address);
            return Err(e.into());
        }
    };
    match checked {
        Checked::Valid(u) => {
            let before = guard.accounts.clear(&key);
            if let Some(ip) = address {
                guard.addresses.forgive(&ip);
            }
            let (reason, detail) = if before.failures > 0 {
                (
                    format!("此前连续失败 {} 次", before.failures),
                    json!({"username": u.username, "failures_before": before.failures, "refused_while_locked": before.refused}),
                )
            } else {
                (String::new(), json!({"username": u.username}))
            };
            accounts::record_login(db, &u, "auth.login", &reason, detail).await?;
            Ok(u)
        }
        Checked::Wrong(user) => {
            if let Some(u) = user
                && (standing.failures == 1 || standing.blocks_for.is_some())
            {
                let refused = guard.accounts.take_refused(&key);
                let locked = standing.blocks_for.map_or(0, |d| d.as_secs());
                let reason = if locked > 0 {
                    format!("连续失败 {} 次，锁定 {} 秒", standing.failures, locked)
                } else {
                    "密码错误".to_string()
                };
                let detail = json!({
                    "username": u.username,
                    "failures": standing.failures,
                    "refused_while_locked": refused,
                    "locked_seconds": locked,
                    "address": client.ip.map(|ip| ip.to_string()),
                });
                accounts::record_login(db, &u, "auth.login_failed", &reason, detail).await?;
            }
            Err(accounts::bad_credentials().into())
        }
    }
}

/// A password change from the account itself: the current password is checked (throttled like a
/// sign-in), the new one must meet the rules, and every other session of the account ends, in
/// one transaction with its audit row. `keep` is the current session's secret. Returns how many
/// sessions ended.
pub async fn change_password(
    db: &Db,
    guard: &LoginGuard,
    p: &Principal,
    keep: Option<&str>,
    current: &str,
    new: &str,
    client: ClientAddr,
) -> Result<u64, Refusal> {
    let key = account_key(&p.username);
    let address = client.throttle_key();
    guard.attempt(&key, address).map_err(Refusal::throttled)?;
    let checked = match accounts::check_password(db, &p.username, current).await {
        Ok(c) => c,
        Err(e) => {
            guard.give_back(&key, address);
            return Err(e.into());
        }
    };
    let Checked::Valid(u) = checked else {
        return Err(AppError::new(StatusCode::FORBIDDEN, "wrong_password", "当前密码不正确").into());
    };
    guard.accounts.clear(&key);
    if let Some(ip) = address {
        guard.addresses.forgive(&ip);
    }
    if u.id != p.user_id {
        return Err(AppError::unauthorized().into());
    }
    password::check_new(new, &u.username).map_err(|m| AppError::invalid("invalid_password", m))?;
    if new == current {
        return Err(AppError::invalid("same_password", "新密码不能与当前密码相同").into());
    }
    let hash = password::hash(new.to_string()).await.map_err(AppError::from)?;
    let mut tx = db.begin().await?;
    store::set_password_hash(&mut tx, u.id, &hash).await?;
    let keep = keep.map(crate::auth::hash_secret);
    let ended = store::end_other_sessions(&mut tx, u.id, keep.as_deref()).await?;
    let id = u.id.to_string();
    let entry = audit::Entry {
        district: &u.district,
        action: "user.password",
        target_kind: "user",
        target_id: &id,
        reason: "",
        detail: json!({"username": u.username, "sessions_ended": ended}),
    };
    audit::record(&mut tx, p.actor(), entry).await?;
    tx.commit().await?;
    crate::auth::store::sessions_ended();
    Ok(ended)
}
