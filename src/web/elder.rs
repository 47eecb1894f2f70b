//! 长辈版 (large-text mode, MIIT 适老化): a cookie the page frame reads to enlarge text and
//! controls, and the form that switches it on and off without any script.

use axum::Form;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
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
