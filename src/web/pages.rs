//! The console's page frame shared by every feature: the header and nav (`Chrome`), Chinese error
//! pages, paging links and URL encoding.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::session::Console;
use crate::auth::{Capability, Principal};
use crate::error::AppError;

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

/// Text made safe inside a double-quoted HTML attribute.
pub fn attr_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Previous / next links for a list; `base` already holds the other query parameters.
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
