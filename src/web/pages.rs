//! The console's page frame shared by every feature: the header and nav (`Chrome`), Chinese error
//! pages, paging links and URL encoding.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::nav::{NavLink, who_line};
use super::session::Console;
use crate::auth::Capability;
use crate::error::AppError;

/// What every console page's frame needs.
pub struct Chrome {
    pub title: String,
    /// The header's line: name · role · the post's place.
    pub who: String,
    pub csrf: String,
    /// The key of the current page's nav link.
    pub nav: &'static str,
    /// The links this person may open (`web::nav`).
    pub links: Vec<NavLink>,
    /// Residents and households may be read somewhere (shortcuts on the grid page).
    pub can_registry: bool,
    /// 长辈版: larger text and controls (`web::elder`).
    pub elder: bool,
    /// Where the 长辈版 switch returns (`web::elder::Elder::return_path`).
    pub here: String,
}

impl Chrome {
    pub fn new(c: &Console, title: impl Into<String>, nav: &'static str) -> Chrome {
        let p = &c.principal;
        Chrome {
            title: title.into(),
            who: who_line(&p.display_name, &p.role_labels(), &c.place),
            csrf: c.csrf.clone(),
            nav,
            links: super::nav::nav(p),
            can_registry: p.has(Capability::ReadRegistry),
            elder: c.elder,
            here: c.here.clone(),
        }
    }
}

/// Only same-site paths are followed (after sign-in, after a switch of 长辈版). A browser drops
/// tabs and newlines from a URL and reads `\` as `/`, so `/\t/evil.example` would leave the
/// site: a path with any control character, whitespace or backslash, or that starts with `//`,
/// gives `default` instead.
pub fn local_path(next: Option<&str>, default: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_string()
        }
        _ => default.into(),
    }
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
        StatusCode::PAYLOAD_TOO_LARGE => "内容过大",
        StatusCode::TOO_MANY_REQUESTS => "请稍后再试",
        StatusCode::SERVICE_UNAVAILABLE => "服务繁忙",
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

#[derive(Template)]
#[template(path = "error_frame.html")]
struct FramedErrorPage<'a> {
    chrome: Chrome,
    message: &'a str,
}

/// The fallback for a path no route knows: under `/api/` the JSON error (`no_such_endpoint`);
/// anywhere else a Chinese 404 page, inside the console's frame when the browser is signed in.
pub async fn not_found(db: crate::db::Db, req: axum::extract::Request) -> Response {
    use axum::extract::FromRequestParts;
    let (mut parts, _) = req.into_parts();
    if parts.uri.path().starts_with("/api/") {
        return AppError::new(StatusCode::NOT_FOUND, "no_such_endpoint", "接口不存在").into_response();
    }
    let e = AppError::new(StatusCode::NOT_FOUND, "not_found", "没有这个页面，请检查地址，或从上方菜单进入");
    match Console::from_request_parts(&mut parts, &db).await {
        Ok(c) => match (FramedErrorPage {
            chrome: Chrome::new(&c, "找不到页面", ""),
            message: &e.message,
        })
        .render()
        {
            Ok(body) => (e.status, Html(body)).into_response(),
            Err(_) => error_page(&e),
        },
        Err(_) => error_page(&e),
    }
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

/// Text made safe inside a double-quoted HTML attribute.
pub fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Previous / next links for a list; `base` already holds the other query parameters.
/// A page number from a URL, kept within 1–100,000 so `(page - 1) * per_page` cannot overflow
/// (`?page=9223372036854775807` wrapped to a negative offset).
pub fn page_number(page: Option<i64>) -> i64 {
    page.unwrap_or(1).clamp(1, 100_000)
}

pub fn pager(base: &str, page: i64, per_page: i64, total: i64) -> String {
    let pages = ((total + per_page - 1) / per_page).max(1);
    if pages <= 1 {
        return String::new();
    }
    let sep = if base.contains('?') { "&amp;" } else { "?" };
    // The result is shown unescaped (|safe), so the base is escaped here.
    let base = attr_escape(base);
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

/// Back to `to` with a notice, or with the error's Chinese message, so bad input never loses the
/// page; refusals and missing rows are not form errors and render as error pages.
pub fn back_to(to: &str, r: Result<&str, AppError>) -> PageResult {
    let sep = if to.contains('?') { '&' } else { '?' };
    Ok(match r {
        Ok(msg) => axum::response::Redirect::to(&format!("{to}{sep}msg={}", url_encode(msg))).into_response(),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN => {
            axum::response::Redirect::to(&format!("{to}{sep}err={}", url_encode(&e.message))).into_response()
        }
        Err(e) => return Err(e.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::pager;

    #[test]
    fn the_pager_escapes_what_it_is_given() {
        let html = pager("/console/x?q=\"><script>alert(1)</script>&a=1", 2, 10, 100);
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&quot;&gt;&lt;script&gt;") && html.contains("&amp;a=1&amp;page=1"),
            "{html}"
        );
        assert_eq!(pager("/x", 1, 10, 5), "", "one page needs no pager");
    }
}
