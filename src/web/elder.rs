//! 长辈版 (large-text mode, MIIT 适老化): a cookie the page frame reads to enlarge text and
//! controls, and the form that switches it on and off without any script.

use axum::Form;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session::cookie_value;

/// The cookie's name. It holds a display preference only: nothing personal, nothing secret.
pub const COOKIE: &str = "gz_elder";

/// What a page without the console's frame needs to draw 长辈版 and its switch (an extractor
/// that never fails): whether the reader chose it, and the page's path to return to.
pub struct Elder {
    pub on: bool,
    pub here: String,
}

impl Elder {
    pub fn of(parts: &Parts) -> bool {
        cookie_value(parts, COOKIE).as_deref() == Some("1")
    }

    /// Where the switch on this page returns: the page's own address when it was fetched with
    /// GET; after a form was posted (a page shown again with an error), the page the form was on,
    /// as the browser's `Referer` names it, since the posted address may not answer a GET.
    pub fn return_path(parts: &Parts) -> String {
        if parts.method == Method::GET || parts.method == Method::HEAD {
            let here = parts.uri.path_and_query().map(|p| p.as_str());
            return super::pages::local_path(here, "/console");
        }
        let referer = parts.headers.get(header::REFERER).and_then(|v| v.to_str().ok());
        let path = referer
            .and_then(|r| r.split_once("://"))
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]));
        super::pages::local_path(path, "/console")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Elder {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let here = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string();
        Ok(Elder {
            on: Elder::of(parts),
            here,
        })
    }
}

#[derive(Deserialize)]
pub struct Switch {
    /// `1` turns 长辈版 on; anything else turns it off.
    #[serde(default)]
    on: String,
    /// The page to return to (a path on this site).
    #[serde(default)]
    back: String,
}

/// `POST /elder`: remember the choice for a year and return to the page it was made on. No CSRF
/// token: a forged switch changes only how large the page is drawn, and public pages have no
/// session to tie a token to.
pub async fn switch(Form(f): Form<Switch>) -> Response {
    let cookie = if f.on == "1" {
        format!("{COOKIE}=1; Path=/; Max-Age=31536000; SameSite=Lax")
    } else {
        format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax")
    };
    let back = super::pages::local_path(Some(&f.back), "/console");
    (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, back)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::Elder;
    use axum::http::Request;

    fn back(method: &str, uri: &str, referer: Option<&str>) -> String {
        let mut r = Request::builder().method(method).uri(uri);
        if let Some(referer) = referer {
            r = r.header("referer", referer);
        }
        Elder::return_path(&r.body(()).unwrap().into_parts().0)
    }

    #[test]
    fn the_switch_returns_to_a_page_that_answers_a_get() {
        assert_eq!(back("GET", "/console/cases?page=2", None), "/console/cases?page=2");
        // A page shown again after a POST returns to the page the form was on.
        let form = Some("http://127.0.0.1:8080/console/residents?q=x");
        assert_eq!(back("POST", "/console/residents/lookup", form), "/console/residents?q=x");
        assert_eq!(back("POST", "/console/residents/lookup", None), "/console");
        // Never off the site, whatever the Referer says.
        for away in ["https://evil.example", "https://evil.example//x.example/", "garbage"] {
            assert_eq!(back("POST", "/console/x", Some(away)), "/console", "{away}");
        }
    }
}
