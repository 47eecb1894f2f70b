//! Accounts API: sign in and out, who am I, adding users (district admin), the audit log.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::service::{self as accounts, NewUser};
use crate::audit::{self, AuditRow};
use crate::auth::{Capability, Post, Principal, store};
use crate::db::Db;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::web::api::{Created, PageQuery, Paged};
use crate::web::extract::{Json, Query};

pub fn routes() -> Router<Db> {
    Router::new()
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
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

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = LoginOutput), (status = 401, body = ErrorBody)))]
pub async fn login(State(db): State<Db>, Json(input): Json<LoginInput>) -> AppResult<Json<LoginOutput>> {
    let u = crate::auth::accounts::authenticate(&db, &input.username, &input.password).await?;
    let (token, _) = store::create_session(&db, u.id, "bearer").await?;
    let (p, _, _) = store::principal_for(&db, &token).await?.ok_or_else(AppError::internal)?;
    Ok(Json(LoginOutput {
        token,
        expires_in: store::BEARER_TTL_MS / 1000,
        user: me_of(&p),
    }))
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
