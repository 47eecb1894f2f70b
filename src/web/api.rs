//! The JSON API under /api/v1: routes, paging, sign-in, accounts, audit and the OpenAPI document.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};

use crate::web::extract::{Json, Query};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use uuid::Uuid;

use super::AppState;
use crate::audit::{self, Actor, AuditRow};
use crate::auth::accounts::{self, NewUser};
use crate::auth::{Capability, Post, Principal, password, store};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::volunteers::api as vol;
use crate::{cases, grid, registry};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/grids", post(grid::api::create_grid))
        .route("/api/v1/grids/{code}", get(grid::api::get_grid).patch(grid::api::update_grid))
        .route("/api/v1/grids/{code}/children", get(grid::api::get_children))
        .route(
            "/api/v1/residents",
            get(registry::api::list_residents).post(registry::api::create_resident),
        )
        .route("/api/v1/residents/{id}", get(registry::api::get_resident))
        .route("/api/v1/residents/{id}/tags", put(registry::api::set_tags))
        .route("/api/v1/residents/{id}/reveal", post(registry::api::reveal))
        .route(
            "/api/v1/households",
            get(registry::api::list_households).post(registry::api::create_household),
        )
        .route("/api/v1/households/{id}", get(registry::api::get_household))
        .route("/api/v1/units", get(registry::api::list_units).post(registry::api::create_unit))
        .route("/api/v1/places", get(registry::api::list_places))
        .route("/api/v1/devices", get(registry::api::list_devices))
        .route(
            "/api/v1/case-categories",
            get(cases::api::list_categories).post(cases::api::create_category),
        )
        .route("/api/v1/case-categories/{code}", axum::routing::patch(cases::api::update_category))
        .route("/api/v1/calendar/due", get(cases::api::preview_due))
        .route("/api/v1/cases", get(cases::api::board).post(cases::api::report))
        .route("/api/v1/cases/{id}", get(cases::api::get_case))
        .route("/api/v1/cases/{id}/actions", post(cases::api::act))
        .route("/api/v1/assessment", get(cases::api::assessment))
        .route("/api/v1/cases/{id}/merge", post(cases::api::merge))
        .route(
            "/api/v1/cases/{id}/attachments",
            post(cases::api::upload).layer(axum::extract::DefaultBodyLimit::max(cases::attachments::MAX_BYTES + 1)),
        )
        .route("/api/v1/cases/{id}/attachments/{sha256}", get(cases::api::download))
        .route("/api/v1/volunteers", get(vol::list_volunteers).post(vol::register_volunteer))
        .route("/api/v1/volunteers/me", get(vol::get_my_volunteer))
        .route("/api/v1/volunteers/{id}", get(vol::get_volunteer))
        .route("/api/v1/volunteer-teams", get(vol::list_teams).post(vol::create_team))
        .route("/api/v1/volunteer-teams/{id}/members", post(vol::add_member))
        .route("/api/v1/activities", get(vol::list_activities).post(vol::create_activity))
        .route("/api/v1/activities/{id}", get(vol::get_activity))
        .route("/api/v1/activities/{id}/signup", post(vol::sign_up))
        .route("/api/v1/activities/{id}/check-in", post(vol::check_in))
        .route("/api/v1/activities/{id}/check-out", post(vol::check_out))
        .route("/api/v1/activities/{id}/attendance", post(vol::mark_attendance))
        .route("/api/v1/activity-themes", get(vol::list_themes).post(vol::set_theme))
        .route("/api/v1/points/rules", get(vol::list_rules))
        .route("/api/v1/points/rules/{code}", put(vol::update_rule))
        .route("/api/v1/points/transactions", get(vol::list_transactions))
        .route("/api/v1/points/corrections", post(vol::correct))
        .route("/api/v1/points/audit", get(vol::audit_ledger))
        .route("/api/v1/points/summary", get(vol::summary))
        .route("/api/v1/shops", get(vol::list_shops).post(vol::create_shop))
        .route("/api/v1/shops/{id}/items", get(vol::list_items).post(vol::create_item))
        .route("/api/v1/shop-items/{id}", axum::routing::patch(vol::update_item))
        .route("/api/v1/redemption-codes", post(vol::new_code))
        .route("/api/v1/redemptions", post(vol::redeem))
        .fallback(api_not_found)
}

async fn api_not_found(uri: axum::http::Uri) -> AppError {
    if uri.path().starts_with("/api/") {
        AppError::new(StatusCode::NOT_FOUND, "no_such_endpoint", "接口不存在")
    } else {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "页面不存在")
    }
}

/// Paging parameters: `page` from 1, `per_page` 1–100 (default 20).
#[derive(Deserialize, utoipa::IntoParams, Default)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl PageQuery {
    pub fn limits(&self) -> AppResult<(i64, i64)> {
        let page = self.page.unwrap_or(1);
        let per = self.per_page.unwrap_or(20);
        if !(1..=100_000).contains(&page) {
            return Err(AppError::invalid("invalid_page", "页码应为1至100000之间的整数"));
        }
        if !(1..=100).contains(&per) {
            return Err(AppError::invalid("invalid_per_page", "每页条数应在1至100之间"));
        }
        Ok((per, (page - 1) * per))
    }
}

/// One page of a list and the total across all pages.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
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

/// Check a username and password; the same answer for an unknown user and a wrong password.
pub async fn authenticate(s: &AppState, username: &str, pw: &str) -> AppResult<store::UserRow> {
    let user = store::user_by_name(&s.db, username.trim()).await?;
    let bad = || AppError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "用户名或密码不正确");
    match user {
        Some(u) if !u.disabled && password::verify(pw.to_string(), u.password_hash.clone()).await => {
            record_login(s, &u, "auth.login").await?;
            Ok(u)
        }
        Some(u) => {
            // Failed attempts on real accounts are kept, so guessing shows up in the audit log.
            record_login(s, &u, "auth.login_failed").await?;
            Err(bad())
        }
        None => {
            // Spend the same time as a real check so timing does not reveal which usernames exist.
            let dummy = DUMMY_HASH.get_or_try_init(|| password::hash("not-a-real-password".into())).await?;
            let _ = password::verify(pw.to_string(), dummy.clone()).await;
            Err(bad())
        }
    }
}

async fn record_login(s: &AppState, u: &store::UserRow, action: &str) -> AppResult<()> {
    let mut tx = s.db.begin().await?;
    let id = u.id.to_string();
    let entry = audit::Entry {
        district: &u.district,
        action,
        target_kind: "user",
        target_id: &id,
        reason: "",
        detail: serde_json::json!({"username": u.username}),
    };
    audit::record(&mut tx, Actor::System(&u.username), entry).await?;
    tx.commit().await?;
    Ok(())
}

/// A real hash to check unknown usernames against, made once.
static DUMMY_HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginInput,
    responses((status = 200, body = LoginOutput), (status = 401, body = ErrorBody)))]
pub async fn login(State(s): State<AppState>, Json(input): Json<LoginInput>) -> AppResult<Json<LoginOutput>> {
    let u = authenticate(&s, &input.username, &input.password).await?;
    let (token, _) = store::create_session(&s.db, u.id, "bearer").await?;
    let (p, _, _) = store::principal_for(&s.db, &token).await?.ok_or_else(AppError::internal)?;
    Ok(Json(LoginOutput {
        token,
        expires_in: store::BEARER_TTL_MS / 1000,
        user: me_of(&p),
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(State(s): State<AppState>, _p: Principal, headers: axum::http::HeaderMap) -> AppResult<StatusCode> {
    if let Some(t) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        store::delete_session(&s.db, t.trim()).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(p: Principal) -> Json<Me> {
    Json(me_of(&p))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    pub id: Uuid,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "auth", request_body = NewUser,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(State(s): State<AppState>, p: Principal, Json(input): Json<NewUser>) -> AppResult<(StatusCode, Json<Created>)> {
    if !p.has(Capability::ManageUsers) {
        return Err(AppError::forbidden());
    }
    if let Some(g) = input.grid.as_deref()
        && !p.can(Capability::ManageUsers, g)
    {
        return Err(AppError::not_found("网格"));
    }
    let (id, district) = accounts::add_user(&s.db, p.actor(), &input).await?;
    if district != p.district {
        return Err(AppError::not_found("单位"));
    }
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
pub async fn list_audit(State(s): State<AppState>, p: Principal, Query(q): Query<AuditQuery>) -> AppResult<Json<Paged<AuditRow>>> {
    if !p.has(Capability::ReadAudit) {
        return Err(AppError::forbidden());
    }
    let (limit, offset) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .limits()?;
    let (items, total) = audit::list(&s.db, &p.district, q.action.as_deref(), limit, offset).await?;
    Ok(Json(Paged { items, total }))
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "gongzhi 共治 API", description = "Party-led grassroots governance: grid, registry, accounts. Errors: HTTP status plus {\"error\":{\"code\",\"message\"}}."),
    paths(
        login, logout, me, create_user, list_audit,
        grid::api::get_grid, grid::api::get_children, grid::api::create_grid, grid::api::update_grid,
        registry::api::list_residents, registry::api::get_resident, registry::api::create_resident, registry::api::set_tags, registry::api::reveal,
        registry::api::list_households, registry::api::get_household, registry::api::create_household,
        registry::api::list_units, registry::api::create_unit, registry::api::list_places, registry::api::list_devices,
        cases::api::list_categories, cases::api::preview_due, cases::api::report, cases::api::board, cases::api::get_case, cases::api::act, cases::api::assessment, cases::api::upload, cases::api::download, cases::api::merge, cases::api::create_category, cases::api::update_category,
        vol::list_volunteers, vol::get_volunteer, vol::get_my_volunteer, vol::register_volunteer, vol::list_teams, vol::create_team, vol::add_member,
        vol::list_activities, vol::create_activity, vol::get_activity, vol::sign_up, vol::check_in, vol::check_out, vol::mark_attendance,
        vol::list_themes, vol::set_theme, vol::list_rules, vol::update_rule, vol::list_transactions, vol::correct, vol::audit_ledger, vol::summary,
        vol::list_shops, vol::create_shop, vol::list_items, vol::create_item, vol::update_item, vol::new_code, vol::redeem,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "grid"), (name = "registry"), (name = "cases"), (name = "volunteers"), (name = "points"), (name = "shops"))
)]
pub struct ApiDoc;

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
