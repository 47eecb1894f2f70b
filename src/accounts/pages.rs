//! Accounts pages: sign-in, sign-out, the console's landing redirect and the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::audit;
use crate::auth::{Capability, store};
use crate::db::Db;
use crate::error::AppError;
use crate::web::pages::{Chrome, PageResult, error_page, home_grid, pager, url_encode};
use crate::web::session::{self, Console};

pub fn routes() -> Router<Db> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/console", get(home))
        .route("/console/audit", get(audit_page))
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

async fn login_submit(State(db): State<Db>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    match crate::auth::accounts::authenticate(&db, &f.username, &f.password).await {
        Ok(u) => match store::create_session(&db, u.id, "cookie").await {
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

async fn logout(State(db): State<Db>, c: Console, jar: axum::http::HeaderMap, Form(f): Form<CsrfForm>) -> PageResult {
    session::check_csrf(&c, &f.csrf)?;
    if let Some(secret) = jar
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(&format!("{}=", session::COOKIE)).map(String::from))
    {
        store::delete_session(&db, &secret).await?;
    }
    Ok(([(header::SET_COOKIE, session::session_cookie("", 0))], Redirect::to("/login")).into_response())
}

async fn home(c: Console) -> Redirect {
    Redirect::to(&format!("/console/grids/{}", home_grid(&c.principal)))
}

const AUDIT_ACTIONS: [(&str, &str); 14] = [
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
    ("case.attachment", "上传照片"),
    ("volunteer.link", "关联志愿者账号"),
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

async fn audit_page(State(db): State<Db>, c: Console, Query(q): Query<AuditQuery>) -> PageResult {
    if !c.principal.has(Capability::ReadAudit) {
        return Err(AppError::forbidden().into());
    }
    let page = q.page.unwrap_or(1).max(1);
    let per = 50;
    let action = q.action.unwrap_or_default();
    let (rows, total) = audit::list(&db, &c.principal.district, Some(&action), per, (page - 1) * per).await?;
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
