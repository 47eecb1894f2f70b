//! The public grid page `/g/{code}` (no login): who answers for this grid, up to the street, and
//! the report form for residents.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::CasesState;
use crate::error::AppError;
use crate::grid::rules;
use crate::grid::store::{self, Contact, GridRow};
use crate::web::pages::PageResult;

pub struct PublicLevel {
    name: String,
    label: &'static str,
    contacts: Vec<Contact>,
}

#[derive(Template, WebTemplate)]
#[template(path = "public_grid.html")]
struct PublicPage {
    name: String,
    code: String,
    kind_label: &'static str,
    chain: Vec<PublicLevel>,
    key: String,
    categories: Vec<(String, String)>,
    error: Option<String>,
    description: String,
    phone: String,
}

/// Public, no login: who answers for this grid and how to reach them, up the chain to the street.
pub async fn public_page(State(s): State<CasesState>, Path(code): Path<String>) -> PageResult {
    render_public(&s, &code, None, String::new(), String::new()).await
}

/// The public grid page, with the report form (re-shown with an error and the input kept).
pub async fn render_public(s: &CasesState, code: &str, error: Option<String>, description: String, phone: String) -> PageResult {
    let g = store::get(&s.db, code).await?.ok_or_else(|| AppError::not_found("网格"))?;
    let chain = store::chain(&s.db, &g.code).await?;
    // From this node up to the street office; the district's own leaders are not a help line.
    let up: Vec<GridRow> = chain.into_iter().filter(|x| x.level >= 2).rev().collect();
    let codes: Vec<String> = up.iter().map(|x| x.code.clone()).collect();
    let mut contacts = store::contacts(&s.db, &codes).await?;
    let chain = up
        .into_iter()
        .map(|x| PublicLevel {
            label: rules::kind_label(&x.kind),
            contacts: contacts.remove(&x.code).unwrap_or_default(),
            name: x.name,
        })
        .collect();
    let categories = super::categories::list(&s.db, &g.district)
        .await?
        .into_iter()
        .filter(|c| c.is_leaf() && c.active && c.kind == "community")
        .map(|c| (c.code, c.name))
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = PublicPage {
        name: g.name,
        code: g.code,
        kind_label: rules::kind_label(&g.kind),
        chain,
        key: crate::db::new_id().to_string(),
        categories,
        error,
        description,
        phone,
    };
    Ok((status, page).into_response())
}
