//! Accounts API: sign in (throttled) and out, who am I, changing one's password, adding users
//! (district admin), the audit log.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AccountsState;
use super::service::{self as accounts, NewUser, Refusal};
use crate::audit::{self, AuditRow};
use crate::auth::{Capability, Post, Principal, store};
use crate::db::Db;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::web::api::{Created, PageQuery, Paged};
use crate::web::client::ClientAddr;
use crate::web::extract::{Json, Query};

pub fn routes() -> Router<AccountsState> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/audit", get(list_audit))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginOutput {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_in: i64,
    pub user: Me,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub district: String,
    pub posts: Vec<Post>,
}

fn me_of(p: &Principal) -> Me {
    Me {
        id: p.user_id,
        username: p.username.clone(),
        display_name: p.display_name.clone(),
        district: p.district.clone(),
        posts: p.posts.clone(),
    }
}

/// Sign in. Throttled per account and per client address: after five wrong passwords for an
/// account (or twenty from one address) further attempts are refused for 30 s, doubling to at most
/// 5 minutes — `429 too_many_attempts` with `Retry-After` — even with the right password;
/// `503 busy` (with `Retry-After`) when every core is hashing passwords. The token ends after
/// the configured idle time unused and at `expires_in` whatever its use.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = LoginOutput), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn login(
    State(s): State<AccountsState>,
    client: ClientAddr,
    Json(input): Json<LoginInput>,
) -> Result<Json<LoginOutput>, Refusal> {
    let u = accounts::sign_in(&s.db, &s.guard, &input.username, &input.password, client).await?;
    let (token, _) = store::create_session(&s.db, u.id, "bearer", s.sessions).await?;
    let (p, _, _) = store::principal_for(&s.db, &token).await?.ok_or_else(AppError::internal)?;
    Ok(Json(LoginOutput {
        token,
        expires_in: s.sessions.max_ms / 1000,
        user: me_of(&p),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 10 characters, not all of one kind, not a common password, not containing the username.
    pub new_password: String,
}

/// Change one's own password; every other session of the account ends (the caller's stays).
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(s): State<AccountsState>,
    p: Principal,
    client: ClientAddr,
    headers: axum::http::HeaderMap,
    Json(input): Json<PasswordChange>,
) -> Result<StatusCode, Refusal> {
    let keep = crate::web::session::secret_of(&headers);
    accounts::change_password(
        &s.db,
        &s.guard,
        &p,
        keep.as_deref(),
        &input.current_password,
        &input.new_password,
        client,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(State(db): State<Db>, _p: Principal, headers: axum::http::HeaderMap) -> AppResult<StatusCode> {
    if let Some(t) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        store::delete_session(&db, t.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(p: Principal) -> Json<Me> {
    Json(me_of(&p))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "auth", request_body = NewUser,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(State(db): State<Db>, p: Principal, Json(input): Json<NewUser>) -> AppResult<(StatusCode, Json<Created>)> {
    if !p.has(Capability::ManageUsers) {
        return Err(AppError::forbidden());
    }
    if let Some(g) = input.grid.as_deref()
        && !p.can(Capability::ManageUsers, g)
    {
        return Err(AppError::not_found("网格"));
    }
    let (id, _) = accounts::add_user(&db, p.actor(), &input, Some(&p.district)).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    pub action: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", params(AuditQuery),
    responses((status = 200, body = Paged<AuditRow>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_audit(State(db): State<Db>, p: Principal, Query(q): Query<AuditQuery>) -> AppResult<Json<Paged<AuditRow>>> {
    if !p.has(Capability::ReadAudit) {
        return Err(AppError::forbidden());
    }
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (items, total) = audit::list(&db, &p.district, q.action.as_deref(), limit, offset).await?;
    Ok(Json(Paged { items, total }))
}
