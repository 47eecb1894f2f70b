//! The imports page (批量导入): choose a ledger, download its template, upload a file, see every
//! bad row of a dry run in a table, then import.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;

use super::LedgersState;
use crate::web::extract::Query;
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::Console;

pub fn routes() -> Router<LedgersState> {
    Router::new().route("/console/imports", get(imports))
}

pub struct Choice {
    pub name: &'static str,
    pub title: &'static str,
    /// The columns, required ones marked ＊.
    pub columns: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports.html")]
struct ImportsPage {
    chrome: Chrome,
    choices: Vec<Choice>,
    max_mb: usize,
    max_rows: usize,
}

#[derive(serde::Deserialize)]
struct ImportsQuery {
    /// The ledger to offer first (a page's 批量导入 link names its own).
    ledger: Option<String>,
}

async fn imports(State(s): State<LedgersState>, c: Console, Query(q): Query<ImportsQuery>) -> PageResult {
    let mut choices: Vec<Choice> = s
        .ledgers
        .imports
        .iter()
        .filter(|i| i.allowed(&c.principal))
        .map(|i| Choice {
            name: i.name(),
            title: i.title(),
            columns: i.columns().iter().map(|c| c.header_label()).collect::<Vec<_>>().join("、"),
        })
        .collect();
    // Stable: the others keep their order behind the one asked for.
    choices.sort_by_key(|x| Some(x.name) != q.ledger.as_deref());
    if choices.is_empty() {
        return Err(crate::error::AppError::forbidden().into());
    }
    Ok(ImportsPage {
        chrome: Chrome::new(&c, "批量导入", "residents"),
        choices,
        max_mb: super::import::MAX_BYTES / 1024 / 1024,
        max_rows: super::import::MAX_ROWS,
    }
    .into_response())
}
