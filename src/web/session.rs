//! Who is calling: bearer tokens for the API, HttpOnly cookies (with CSRF) for the console.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{Principal, store};
use crate::db::Db;
use crate::error::AppError;

pub const COOKIE: &str = "gongzhi_session";

pub fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// The session secret a request carries: its bearer token, else its console cookie.
pub fn secret_of(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == COOKIE).then(|| v.to_string())
        })
}

fn bearer(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|s| s.trim().to_string())
}

/// The API caller, in any feature's state that holds the database. Bearer token, or the console cookie; a cookie-carried write must also send the
/// session's CSRF token in `X-CSRF-Token`.
impl<S: Send + Sync> FromRequestParts<S> for Principal
where
    Db: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let db = Db::from_ref(state);
        if let Some(token) = bearer(parts) {
            return match store::principal_for(&db, &token).await? {
                Some((p, _, _)) => Ok(p),
                None => Err(AppError::unauthorized()),
            };
        }
        let Some(cookie) = cookie_value(parts, COOKIE) else {
            return Err(AppError::unauthorized());
        };
        let Some((p, _, csrf)) = store::principal_for(&db, &cookie).await? else {
            return Err(AppError::unauthorized());
        };
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
            if sent != Some(csrf.as_str()) {
                return Err(AppError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf",
                    "请求校验失败，请刷新页面后重试",
                ));
            }
        }
        Ok(p)
    }
}

/// A signed-in console user and the session's CSRF token (put into every form).
pub struct Console {
    pub principal: Principal,
    pub csrf: String,
    /// The name of the first post's place (its grid node or unit), for the header.
    pub place: String,
    /// The reader chose 长辈版 (`web::elder`).
    pub elder: bool,
    /// Where a form on this page returns to it (`web::elder::Elder::return_path`).
    pub here: String,
}

/// The name of the place of a person's first post. The kit reads the two tables every post points
/// at by name only, so the header can say where someone works without knowing the features.
async fn post_place(db: &Db, p: &Principal) -> sqlx::Result<String> {
    let Some(post) = p.posts.first() else {
        return Ok(String::new());
    };
    let name: Option<String> = match (&post.grid_code, post.unit_id) {
        // A building's name (1号楼) says little alone: its compound's name goes first.
        (Some(code), _) => crate::on_pool!(db, |c| sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT g.name, p.name FROM grids g LEFT JOIN grids p ON p.code = g.parent_code AND g.level = 5 WHERE g.code = $1"
        )
        .bind(code)
        .fetch_optional(c)
        .await)?
        .map(|(name, parent)| match parent {
            Some(parent) => format!("{parent} {name}"),
            None => name,
        }),
        (None, Some(id)) => crate::on_pool!(db, |c| sqlx::query_scalar("SELECT name FROM units WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await)?,
        (None, None) => None,
    };
    Ok(name.unwrap_or_default())
}

/// Sends a browser without a session to the login page.
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/login?next={}", super::pages::url_encode(&self.0))).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Console
where
    Db: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let db = Db::from_ref(state);
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/console".into());
        let Some(cookie) = cookie_value(parts, COOKIE) else {
            return Err(LoginRedirect(next).into_response());
        };
        match store::principal_for(&db, &cookie).await {
            Ok(Some((principal, kind, csrf))) if kind == "cookie" => match post_place(&db, &principal).await {
                Ok(place) => Ok(Console {
                    principal,
                    csrf,
                    place,
                    elder: super::elder::Elder::of(parts),
                    here: super::elder::Elder::return_path(parts),
                }),
                Err(e) => Err(super::pages::error_page(&AppError::from(e))),
            },
            Ok(_) => Err(LoginRedirect(next).into_response()),
            Err(e) => Err(super::pages::error_page(&AppError::from(e))),
        }
    }
}

/// Check a form's CSRF token against the session's.
pub fn check_csrf(console: &Console, sent: &str) -> Result<(), AppError> {
    if sent == console.csrf {
        Ok(())
    } else {
        Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "csrf",
            "表单已过期或来源不明，请刷新页面后重试",
        ))
    }
}

/// The session cookie: HttpOnly, SameSite=Strict, and `Secure` when the page was served over
/// HTTPS (as a trusted proxy tells, `web::client`), so the browser never sends it in clear.
pub fn session_cookie(secret: &str, max_age_s: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}
