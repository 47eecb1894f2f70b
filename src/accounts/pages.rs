//! Accounts pages: sign-in (throttled), sign-out, the console's landing by role, 我的 (who I am
//! and who answers for my building), changing one's password, and the audit log.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::AccountsState;
use super::service as accounts;
use crate::audit;
use crate::auth::{Capability, store};
use crate::db::Db;
use crate::error::AppError;
use crate::web::client::ClientAddr;
use crate::web::elder::Elder;
use crate::web::pages::{Chrome, PageResult, error_page, pager, url_encode};
use crate::web::session::{self, Console};

pub fn routes() -> Router<AccountsState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/console", get(home))
        .route("/console/me", get(me_page))
        .route("/console/me/password", get(password_form).post(password_submit))
        .route("/console/audit", get(audit_page))
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    next: String,
    username: String,
    /// 长辈版, and where its switch returns (this page, with the same `next`).
    elder: Elder,
}

fn login_elder(on: bool, next: &str) -> Elder {
    Elder {
        on,
        here: format!("/login?next={}", url_encode(next)),
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    crate::web::pages::local_path(next, "/console")
}

async fn login_form(Query(q): Query<NextQuery>, elder: Elder) -> impl IntoResponse {
    let next = safe_next(q.next.as_deref());
    LoginPage {
        error: None,
        elder: login_elder(elder.on, &next),
        next,
        username: String::new(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Sign in from the form: throttled like the API (a blocked account or address reads
/// 尝试次数过多，请 N 分钟后再试, status 429 with `Retry-After`); the cookie is `Secure` when the
/// page came over HTTPS.
async fn login_submit(State(s): State<AccountsState>, client: ClientAddr, elder: Elder, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    match accounts::sign_in(&s.db, &s.guard, &f.username, &f.password, client).await {
        Ok(u) => match store::create_session(&s.db, u.id, "cookie", s.sessions).await {
            Ok((secret, _)) => (
                [(
                    header::SET_COOKIE,
                    session::session_cookie(&secret, s.sessions.max_ms / 1000, client.https),
                )],
                Redirect::to(&next),
            )
                .into_response(),
            Err(e) => error_page(&e.into()),
        },
        Err(refusal) => {
            let page = LoginPage {
                error: Some(refusal.error.message.clone()),
                elder: login_elder(elder.on, &next),
                next,
                username: f.username.chars().take(64).collect(),
            };
            refusal.with_retry_after((refusal.error.status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(db): State<Db>, c: Console, client: ClientAddr, jar: axum::http::HeaderMap, Form(f): Form<CsrfForm>) -> PageResult {
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
    Ok((
        [(header::SET_COOKIE, session::session_cookie("", 0, client.https))],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: Chrome,
    error: Option<String>,
    done: bool,
}

async fn password_form(c: Console) -> Response {
    PasswordPage {
        chrome: Chrome::new(&c, "修改密码", "me"),
        error: None,
        done: false,
    }
    .into_response()
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    confirm: String,
}

/// 修改密码: the current password (throttled like a sign-in), the new one twice; every other
/// session of the account ends, this one stays.
async fn password_submit(
    State(s): State<AccountsState>,
    c: Console,
    client: ClientAddr,
    headers: axum::http::HeaderMap,
    Form(f): Form<PasswordForm>,
) -> PageResult {
    session::check_csrf(&c, &f.csrf)?;
    let page = |error: Option<String>, done: bool| PasswordPage {
        chrome: Chrome::new(&c, "修改密码", "me"),
        error,
        done,
    };
    if f.new != f.confirm {
        let p = page(Some("两次输入的新密码不一致".into()), false);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    }
    let keep = session::secret_of(&headers);
    match accounts::change_password(&s.db, &s.guard, &c.principal, keep.as_deref(), &f.current, &f.new, client).await {
        Ok(_) => Ok(page(None, true).into_response()),
        Err(r) => {
            let status = r.error.status;
            let resp = (status, page(Some(r.error.message.clone()), false)).into_response();
            Ok(r.with_retry_after(resp))
        }
    }
}

/// `/console`: each role lands on its work (`web::nav::landing`).
async fn home(c: Console) -> Redirect {
    Redirect::to(&crate::web::nav::landing(&c.principal))
}

/// One post as 我的 shows it: the role, the place's path, and who answers for each level of it.
pub struct PostView {
    role: &'static str,
    place: String,
    /// A grid post's node, for the public 公示 page.
    grid_code: Option<String>,
    /// From the post's own node up to its community: (level's name, place, leader, phone).
    answer: Vec<(&'static str, String, String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "me.html")]
struct MePage {
    chrome: Chrome,
    name: String,
    username: String,
    posts: Vec<PostView>,
    resident: bool,
}

/// 我的: who I am, each post's place, and for a grid post who answers for it (the leaders of its
/// building, compound and community, from the grid's contacts).
async fn me_page(State(db): State<Db>, c: Console) -> PageResult {
    use crate::grid::{rules, store as grids};
    let p = &c.principal;
    let mut posts = Vec::new();
    for post in &p.posts {
        let mut view = PostView {
            role: post.role.label(),
            place: String::new(),
            grid_code: post.grid_code.clone(),
            answer: Vec::new(),
        };
        if let Some(code) = &post.grid_code {
            let chain = grids::chain(&db, code).await?;
            // Below the street: the district and street are named in the path only.
            let near: Vec<&grids::GridRow> = chain.iter().filter(|g| g.level >= 3).collect();
            view.place = near.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(" › ");
            if view.place.is_empty() {
                view.place = chain.last().map(|g| g.name.clone()).unwrap_or_default();
            }
            let codes: Vec<String> = near.iter().map(|g| g.code.clone()).collect();
            let contacts = grids::contacts(&db, &codes).await?;
            for g in near.iter().rev() {
                let leader = contacts.get(&g.code).and_then(|v| v.iter().find(|x| x.role == "leader"));
                view.answer.push((
                    rules::level_label(g.level),
                    g.name.clone(),
                    leader.map(|x| x.name.clone()).unwrap_or_else(|| "暂未设置".into()),
                    leader.map(|x| x.phone.clone()).unwrap_or_default(),
                ));
            }
        } else if let Some(unit) = post.unit_id {
            view.place = crate::registry::units::get(&db, unit).await?.map(|u| u.name).unwrap_or_default();
        }
        posts.push(view);
    }
    Ok(MePage {
        chrome: Chrome::new(&c, "我的", "me"),
        name: p.display_name.clone(),
        username: p.username.clone(),
        resident: p.posts.iter().any(|x| x.role == crate::auth::Role::Resident),
        posts,
    }
    .into_response())
}

pub struct AuditView {
    /// The row's number in the audit chain.
    seq: i64,
    at: String,
    actor: String,
    action: &'static str,
    target: String,
    /// A console page about the target, when there is one.
    target_href: String,
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
    /// The audit chain's head: its row number and SHA-256, in groups of eight hex digits so that
    /// it can be read out and wraps on a phone.
    head_seq: i64,
    head_hash: String,
}

#[derive(Deserialize)]
struct AuditQuery {
    action: Option<String>,
    page: Option<i64>,
}

/// What an audit row is about, in words: the kind, and the name where one is kept (grid node,
/// unit, account); a page to open for things that have one. Never a raw id.
async fn audit_target(db: &Db, r: &audit::AuditRow) -> Result<(String, String), AppError> {
    let kind = audit::target_label(&r.target_kind);
    let id = r.target_id.parse::<uuid::Uuid>().ok();
    let named = |name: Option<String>| match name.filter(|n| !n.is_empty()) {
        Some(n) => format!("{kind}：{n}"),
        None => kind.to_string(),
    };
    Ok(match (r.target_kind.as_str(), id) {
        ("grid", _) => {
            let name = crate::grid::store::get(db, &r.target_id).await?.map(|g| g.name);
            (named(name), format!("/console/grids/{}", url_encode(&r.target_id)))
        }
        ("unit", Some(id)) => (named(crate::registry::units::get(db, id).await?.map(|u| u.name)), String::new()),
        ("user", _) => {
            let name = serde_json::from_str::<serde_json::Value>(&r.detail)
                .ok()
                .and_then(|d| d["username"].as_str().map(String::from));
            (named(name), String::new())
        }
        ("case", Some(id)) => (kind.to_string(), format!("/console/cases/{id}")),
        ("resident", Some(id)) => (kind.to_string(), format!("/console/residents/{id}")),
        ("household", Some(id)) => (kind.to_string(), format!("/console/households/{id}")),
        _ => (kind.to_string(), String::new()),
    })
}

async fn audit_page(State(db): State<Db>, c: Console, Query(q): Query<AuditQuery>) -> PageResult {
    if !c.principal.has(Capability::ReadAudit) {
        return Err(AppError::forbidden().into());
    }
    let page = crate::web::pages::page_number(q.page);
    let per = 50;
    let action = q.action.unwrap_or_default();
    let (rows, total) = audit::list(&db, &c.principal.district, Some(&action), per, (page - 1) * per).await?;
    let now = crate::db::now_ms();
    let mut views = Vec::with_capacity(rows.len());
    for r in &rows {
        let (target, target_href) = audit_target(&db, r).await?;
        views.push(AuditView {
            seq: r.seq,
            at: crate::time::when_ms(r.at_ms, now),
            actor: r.actor_name.clone(),
            action: audit::action_label(&r.action),
            target,
            target_href,
            reason: r.reason.clone(),
        });
    }
    let pager = pager(&format!("/console/audit?action={}", url_encode(&action)), page, per, total);
    let head = audit::chain::head(&db).await?;
    let head_hash = head
        .hash
        .as_bytes()
        .chunks(8)
        .map(|c| String::from_utf8_lossy(c))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(AuditPage {
        chrome: Chrome::new(&c, "审计日志", "audit"),
        rows: views,
        total,
        actions: audit::ACTIONS.iter().map(|a| (a.0, a.1, a.0 == action)).collect(),
        pager,
        head_seq: head.seq,
        head_hash,
    }
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_same_site_paths_are_followed() {
        assert_eq!(safe_next(Some("/console/residents?grid=411602")), "/console/residents?grid=411602");
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\n",
            "/ /x",
            "/\\evil.example",
            "https://evil.example",
            "/\u{3000}/x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/console");
    }
}
