//! Console page for Open311 API keys: the district issues, lists and revokes them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::Open311State;
use crate::apikeys as keys;
use crate::auth::Capability;
use crate::error::AppError;
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<Open311State> {
    Router::new()
        .route("/console/api-keys", get(list_page).post(create))
        .route("/console/api-keys/{id}/revoke", post(revoke))
}

pub struct KeyView {
    id: Uuid,
    name: String,
    grid: String,
    prefix: String,
    per_minute: i64,
    created: String,
    last_used: String,
    revoked: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyView>,
    district: String,
    new_secret: Option<String>,
    error: Option<String>,
    name: String,
    grid: String,
    per_minute: i64,
}

/// Only the district issues keys: a key reaches every case under its grid.
fn authorise(c: &Console) -> Result<(), AppError> {
    if c.principal.can(Capability::ManageUsers, &c.principal.district) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

async fn render(s: &Open311State, c: &Console, new_secret: Option<String>, error: Option<String>, form: Option<&KeyForm>) -> PageResult {
    let rows = keys::list(&s.db, &c.principal.district).await?;
    let fmt = |t: Option<i64>| t.map(crate::time::format_ms).unwrap_or_default();
    Ok(KeysPage {
        chrome: Chrome::new(c, "接口密钥", "keys"),
        keys: rows
            .into_iter()
            .map(|k| KeyView {
                id: k.id,
                name: k.name,
                grid: k.grid_code,
                prefix: k.key_prefix,
                per_minute: k.per_minute,
                created: format!("{} {}", crate::time::format_ms(k.created_at), k.created_by),
                last_used: k.last_used_at.map(crate::time::format_ms).unwrap_or_else(|| "未使用".into()),
                revoked: fmt(k.revoked_at),
            })
            .collect(),
        district: c.principal.district.clone(),
        new_secret,
        error,
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        grid: form.map(|f| f.grid.clone()).unwrap_or_default(),
        per_minute: form
            .and_then(|f| f.per_minute.trim().parse().ok())
            .unwrap_or(keys::DEFAULT_PER_MINUTE),
    }
    .into_response())
}

async fn list_page(State(s): State<Open311State>, c: Console) -> PageResult {
    authorise(&c)?;
    render(&s, &c, None, None, None).await
}

#[derive(Deserialize)]
struct KeyForm {
    csrf: String,
    name: String,
    grid: String,
    #[serde(default)]
    per_minute: String,
}

async fn create(State(s): State<Open311State>, c: Console, Form(f): Form<KeyForm>) -> PageResult {
    authorise(&c)?;
    check_csrf(&c, &f.csrf)?;
    let grid = f.grid.trim();
    if !grid.starts_with(c.principal.district.as_str()) {
        return render(&s, &c, None, Some("网格范围应在本区之内".into()), Some(&f)).await;
    }
    let Ok(per_minute) = f.per_minute.trim().parse::<i64>() else {
        return render(&s, &c, None, Some("每分钟请求上限应为1至10000的整数".into()), Some(&f)).await;
    };
    match keys::add(&s.db, c.principal.actor(), grid, &f.name, per_minute).await {
        Ok((_, secret)) => render(&s, &c, Some(secret), None, None).await,
        Err(e) if e.status.is_client_error() => render(&s, &c, None, Some(e.message), Some(&f)).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn revoke(State(s): State<Open311State>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfForm>) -> PageResult {
    authorise(&c)?;
    check_csrf(&c, &f.csrf)?;
    let key = keys::get(&s.db, id).await?.filter(|k| k.district == c.principal.district);
    if key.is_none() {
        return Err(AppError::not_found("接入密钥").into());
    }
    match keys::revoke(&s.db, c.principal.actor(), id, "控制台停用").await {
        Ok(_) => Ok(Redirect::to("/console/api-keys").into_response()),
        Err(e) if e.code == "already_revoked" => Ok(Redirect::to("/console/api-keys").into_response()),
        Err(e) => Err(e.into()),
    }
}
