//! The services' hub page (为民服务): links to each part this person has work in.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;

use super::{PARTS, ServicesState};
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::Console;

pub fn routes() -> Router<ServicesState> {
    Router::new().route("/console/services", get(hub))
}

struct Card {
    title: &'static str,
    blurb: &'static str,
    href: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "services.html")]
struct HubPage {
    chrome: Chrome,
    cards: Vec<Card>,
}

async fn hub(c: Console) -> PageResult {
    let cards = PARTS
        .iter()
        .filter(|p| (p.shown)(&c.principal))
        .map(|p| Card {
            title: p.title,
            blurb: p.blurb,
            href: p.href,
        })
        .collect();
    Ok(HubPage {
        chrome: Chrome::new(&c, "为民服务", "services"),
        cards,
    }
    .into_response())
}
