//! Creating accounts with their first post and checking passwords: the account rules, given a post
//! whose place (grid node or unit) the caller has already looked up.

use serde_json::json;
use uuid::Uuid;

use super::{Role, password, store};
use crate::audit::{self, Actor};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use axum::http::StatusCode;

/// Check a new account's username and password and read its role: the checks that need no lookup.
pub fn check_new(username: &str, pw: &str, role: &str) -> AppResult<Role> {
    super::check_username(username).map_err(|m| AppError::invalid("invalid_username", m))?;
    password::check_new(pw, username).map_err(|m| AppError::invalid("invalid_password", m))?;
    Role::parse(role).ok_or_else(|| {
        let names: Vec<&str> = super::roles::ALL_ROLES.iter().map(|r| r.as_str()).collect();
        AppError::invalid("invalid_role", format!("未知角色「{role}」，可用角色：{}", names.join(", ")))
    })
}

/// A checked account and where its post is held (the place already found to exist and fit).
pub struct NewAccount<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub district: &'a str,
    pub grid: Option<&'a str>,
    pub unit: Option<Uuid>,
}

/// Create the user and its post in one transaction, audited. Returns the user id.
pub async fn create(db: &Db, actor: Actor<'_>, a: &NewAccount<'_>) -> AppResult<Uuid> {
    let username = a.username;
    let display = if a.display_name.trim().is_empty() {
        username.to_string()
    } else {
        a.display_name.trim().to_string()
    };
    let hash = password::hash(a.password.to_string()).await?;
    let mut tx = db.begin().await?;
    let id = store::insert_user(&mut tx, a.district, username, &display, &hash)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                AppError::conflict("duplicate_username", format!("用户名「{username}」已被使用"))
            } else {
                e.into()
            }
        })?;
    store::insert_post(&mut tx, a.district, id, a.role, a.grid, a.unit).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: a.district,
            action: "user.create",
            target_kind: "user",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"username": username, "role": a.role.as_str(), "grid": a.grid, "unit": a.unit}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// What checking a username and password found.
pub enum Checked {
    Valid(store::UserRow),
    /// Wrong: the account if it exists (and may sign in), for the audit log.
    Wrong(Option<store::UserRow>),
}

/// The answer to a wrong username or password, the same for both.
pub fn bad_credentials() -> AppError {
    AppError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "用户名或密码不正确")
}

/// The answer when every core is busy hashing passwords (code `busy`, 503).
pub fn busy() -> AppError {
    AppError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "服务器繁忙，请稍后再试")
}

/// Check a username and password, spending the same time for an unknown user as for a real one
/// so timing does not reveal which usernames exist. Writes nothing: the caller throttles and
/// audits (`accounts::service::sign_in`). `busy` when no core came free for the hash.
pub async fn check_password(db: &Db, username: &str, pw: &str) -> AppResult<Checked> {
    let username = username.trim();
    if username.len() > 64 || pw.len() > 4 * password::MAX_LEN {
        return Ok(Checked::Wrong(None));
    }
    let user = store::user_by_name(db, username).await?;
    let phc = match &user {
        Some(u) if !u.disabled => u.password_hash.clone(),
        _ => DUMMY_HASH
            .get_or_try_init(|| password::hash("not-a-real-password".into()))
            .await?
            .clone(),
    };
    let ok = password::verify(pw.to_string(), phc).await.map_err(|_| busy())?;
    Ok(match user {
        Some(u) if ok && !u.disabled => Checked::Valid(u),
        Some(u) if !u.disabled => Checked::Wrong(Some(u)),
        _ => Checked::Wrong(None),
    })
}

/// Write a sign-in's audit row (`auth.login`, `auth.login_failed`) in its own transaction.
pub async fn record_login(db: &Db, u: &store::UserRow, action: &str, reason: &str, detail: serde_json::Value) -> AppResult<()> {
    let mut tx = db.begin().await?;
    let id = u.id.to_string();
    let entry = audit::Entry {
        district: &u.district,
        action,
        target_kind: "user",
        target_id: &id,
        reason,
        detail,
    };
    audit::record(&mut tx, Actor::System(&u.username), entry).await?;
    tx.commit().await?;
    Ok(())
}

/// A real hash to check unknown usernames against, made once.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
