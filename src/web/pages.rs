//! Console pages shared by every feature: layout, sign-in, errors, paging links, the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::AppState;
use super::session::{self, Console};
use crate::auth::{Capability, Principal, store};
use crate::error::AppError;
use crate::{audit, grid, registry};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/console", get(home))
        .route("/console/audit", get(audit_page))
        .merge(grid::pages::routes())
        .merge(registry::pages::routes())
        .merge(crate::cases::pages::routes())
        .merge(crate::open311::pages::routes())
        .merge(crate::volunteers::pages::routes())
}

/// What every console page's frame needs.
pub struct Chrome {
    pub title: String,
    pub user: String,
    pub roles: String,
    pub csrf: String,
    pub nav: &'static str,
    pub home: String,
    pub can_registry: bool,
    pub can_units: bool,
    pub can_audit: bool,
    pub can_assess: bool,
    /// Issue Open311 keys (the district).
    pub can_keys: bool,
    /// Where 志愿服务 leads: the volunteers of a subtree for staff, the resident's own page, or nowhere.
    pub volunteer_link: &'static str,
    /// Keeps a love supermarket or merchant (兑换).
    pub can_shop: bool,
}

impl Chrome {
    pub fn new(c: &Console, title: impl Into<String>, nav: &'static str) -> Chrome {
        let p = &c.principal;
        Chrome {
            title: title.into(),
            user: p.display_name.clone(),
            roles: p.role_labels(),
            csrf: c.csrf.clone(),
            nav,
            home: home_grid(p),
            can_registry: p.has(Capability::ReadRegistry),
            can_units: p.has(Capability::ReadUnits),
            can_audit: p.has(Capability::ReadAudit),
            can_assess: p.has(Capability::ManageGrid),
            can_keys: p.can(Capability::ManageUsers, &p.district),
            volunteer_link: if p.has(Capability::ReadVolunteers) {
                "/console/volunteers"
            } else if p.posts.iter().any(|x| x.role == crate::auth::Role::Resident) {
                "/console/volunteer"
            } else {
                ""
            },
            can_shop: p.posts.iter().any(|x| x.role == crate::auth::Role::ShopKeeper),
        }
    }
}

pub fn home_grid(p: &Principal) -> String {
    p.roots(Capability::ReadGrid)
        .into_iter()
        .next()
        .unwrap_or_else(|| p.district.clone())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// An error as an HTML page, in Chinese, with the right status.
pub fn error_page(e: &AppError) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "找不到页面",
        StatusCode::FORBIDDEN => "无权访问",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "填写有误",
        StatusCode::CONFLICT => "操作冲突",
        _ => "出错了",
    };
    let body = ErrorPage {
        title,
        message: &e.message,
    }
    .render()
    .unwrap_or_else(|_| e.message.clone());
    (e.status, Html(body)).into_response()
}

/// Page handlers return this: any error becomes a Chinese error page.
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

pub type PageResult = Result<Response, PageError>;

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Previous / next links for a list; `base` already holds the other query parameters.
pub fn pager(base: &str, page: i64, per_page: i64, total: i64) -> String {
    let pages = ((total + per_page - 1) / per_page).max(1);
    if pages <= 1 {
        return String::new();
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut s = String::from("<nav class=\"pager\" aria-label=\"分页\">");
    if page > 1 {
        s.push_str(&format!("<a href=\"{base}{sep}page={}\" rel=\"prev\">上一页</a>", page - 1));
    }
    s.push_str(&format!("<span>第 {page} / {pages} 页</span>"));
    if page < pages {
        s.push_str(&format!("<a href=\"{base}{sep}page={}\" rel=\"next\">下一页</a>", page + 1));
    }
    s.push_str("</nav>");
    s
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    next: String,
    username: String,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths are followed after sign-in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/console".into(),
    }
}

async fn login_form(Query(q): Query<NextQuery>) -> impl IntoResponse {
    LoginPage {
        error: None,
        next: safe_next(q.next.as_deref()),
        username: String::new(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(State(s): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    match super::api::authenticate(&s, &f.username, &f.password).await {
        Ok(u) => match store::create_session(&s.db, u.id, "cookie").await {
            Ok((secret, _)) => (
                [(header::SET_COOKIE, session::session_cookie(&secret, store::COOKIE_TTL_MS / 1000))],
                Redirect::to(&next),
            )
                .into_response(),
            Err(e) => error_page(&e.into()),
        },
        Err(e) => {
            let page = LoginPage {
                error: Some(e.message),
                next,
                username: f.username,
            };
            (StatusCode::UNAUTHORIZED, page).into_response()
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(s): State<AppState>, c: Console, jar: axum::http::HeaderMap, Form(f): Form<CsrfForm>) -> PageResult {
    session::check_csrf(&c, &f.csrf)?;
    if let Some(secret) = jar
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(&format!("{}=", session::COOKIE)).map(String::from))
    {
        store::delete_session(&s.db, &secret).await?;
    }
    Ok(([(header::SET_COOKIE, session::session_cookie("", 0))], Redirect::to("/login")).into_response())
}

async fn home(c: Console) -> Redirect {
    Redirect::to(&format!("/console/grids/{}", home_grid(&c.principal)))
}

const AUDIT_ACTIONS: [(&str, &str); 12] = [
    ("auth.login", "登录"),
    ("auth.login_failed", "登录失败"),
    ("resident.reveal", "查看完整个人信息"),
    ("resident.create", "登记居民"),
    ("resident.tags", "修改标签"),
    ("household.create", "登记住户"),
    ("grid.create", "新建网格"),
    ("grid.update", "修改网格"),
    ("unit.create", "新建单位"),
    ("user.create", "新建账号"),
    ("api_key.create", "签发接口密钥"),
    ("api_key.revoke", "停用接口密钥"),
];

pub struct AuditView {
    at: String,
    actor: String,
    action: String,
    target: String,
    reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditView>,
    total: i64,
    actions: Vec<(&'static str, &'static str, bool)>,
    pager: String,
}

#[derive(Deserialize)]
struct AuditQuery {
    action: Option<String>,
    page: Option<i64>,
}

async fn audit_page(State(s): State<AppState>, c: Console, Query(q): Query<AuditQuery>) -> PageResult {
    if !c.principal.has(Capability::ReadAudit) {
        return Err(AppError::forbidden().into());
    }
    let page = q.page.unwrap_or(1).max(1);
    let per = 50;
    let action = q.action.unwrap_or_default();
    let (rows, total) = audit::list(&s.db, &c.principal.district, Some(&action), per, (page - 1) * per).await?;
    let label = |a: &str| {
        AUDIT_ACTIONS
            .iter()
            .find(|x| x.0 == a)
            .map(|x| x.1.to_string())
            .unwrap_or_else(|| a.to_string())
    };
    let rows = rows
        .into_iter()
        .map(|r| AuditView {
            at: crate::time::format_ms(r.at_ms),
            actor: r.actor_name,
            action: label(&r.action),
            target: format!("{} {}", r.target_kind, r.target_id),
            reason: r.reason,
        })
        .collect();
    let pager = pager(&format!("/console/audit?action={}", url_encode(&action)), page, per, total);
    Ok(AuditPage {
        chrome: Chrome::new(&c, "审计日志", "audit"),
        rows,
        total,
        actions: AUDIT_ACTIONS.iter().map(|a| (a.0, a.1, a.0 == action)).collect(),
        pager,
    }
    .into_response())
}
