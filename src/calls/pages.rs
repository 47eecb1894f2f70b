//! Calls' pages: the duty page `/console/calls` (值班/通话: incoming calls ring here, the call log,
//! 呼叫指挥中心), and the panel on a grid node's page with its people's call buttons.
//! The calls themselves run in `static/calls.js`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;

use super::hub::Hub;
use super::store::CallRow;
use super::{CallsState, rules, service};
use crate::auth::Role;
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::{GridPanel, GridRow};
use crate::web::pages::{Chrome, PageResult, pager};
use crate::web::session::Console;

pub fn routes() -> Router<CallsState> {
    Router::new().route("/console/calls", get(calls_page))
}

/// One line of the call log as a page shows it.
pub struct LogLine {
    pub when: String,
    pub caller: String,
    pub callee: String,
    pub grid: String,
    pub kind: &'static str,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub duration: String,
}

/// `m分s秒` for a duration; `—` for none.
pub fn duration_text(ms: i64) -> String {
    if ms <= 0 {
        return "—".into();
    }
    let s = (ms + 500) / 1000;
    if s >= 3600 {
        format!("{}时{:02}分{:02}秒", s / 3600, s / 60 % 60, s % 60)
    } else if s >= 60 {
        format!("{}分{:02}秒", s / 60, s % 60)
    } else {
        format!("{s}秒")
    }
}

fn line(r: &CallRow, now: i64) -> LogLine {
    let outcome = r.outcome.as_deref();
    LogLine {
        when: crate::time::when_ms(r.requested_at, now),
        caller: r.caller_name.clone(),
        callee: match (r.target.as_str(), r.callee_name.is_empty()) {
            ("command", true) => "指挥中心".into(),
            ("command", false) => format!("指挥中心（{}）", r.callee_name),
            _ => r.callee_name.clone(),
        },
        grid: r.grid_code.clone(),
        kind: if r.kind == "video" { "视频" } else { "语音" },
        outcome: rules::outcome_label(outcome),
        outcome_class: match outcome {
            Some("answered") => "ok",
            Some("missed") | Some("failed") => "warn",
            _ => "grey",
        },
        duration: duration_text(r.duration_ms),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "calls.html")]
struct CallsPage {
    chrome: Chrome,
    /// Grid officers below the district call the centre from here.
    can_call_command: bool,
    lines: Vec<LogLine>,
    total: i64,
    pager: String,
}

#[derive(Deserialize)]
struct PageQ {
    page: Option<i64>,
}

async fn calls_page(State(s): State<CallsState>, c: Console, Query(q): Query<PageQ>) -> PageResult {
    let p = &c.principal;
    if !rules::is_grid_staff(p) {
        return Err(AppError::forbidden().into());
    }
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let per = 30;
    let (rows, total) = service::log(&s.db, p, None, per, (page - 1) * per).await?;
    let now = now_ms();
    let posts = rules::grid_posts(p);
    Ok(CallsPage {
        chrome: Chrome::new(&c, "值班通话", "calls"),
        can_call_command: posts.iter().any(|(r, _)| *r != Role::DistrictAdmin),
        lines: rows.iter().map(|r| line(r, now)).collect(),
        total,
        pager: pager("/console/calls", page, per, total),
    }
    .into_response())
}

/// A person on a grid node's call panel.
pub struct PersonView {
    pub user_id: String,
    pub name: String,
    pub role_label: String,
    pub online: bool,
}

#[derive(Template)]
#[template(path = "calls_panel.html")]
struct Panel<'a> {
    g: &'a GridRow,
    people: Vec<PersonView>,
    /// The node's public contacts with a phone: (role words, name, phone).
    contacts: Vec<(String, String, String)>,
}

/// The grid node page's section 一键智达: voice and video buttons for its people, `tel:` links
/// for its contacts. Shown to grid staff who may call from the node.
pub struct CallPanel {
    pub hub: Arc<Hub>,
    pub public_url: Arc<str>,
}

impl GridPanel for CallPanel {
    fn key(&self) -> &'static str {
        "calls"
    }

    fn render<'a>(
        &'a self,
        db: &'a Db,
        c: &'a Console,
        g: &'a GridRow,
        _page: i64,
        _error: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            let p = &c.principal;
            if !rules::may_call_from(p, &g.code) {
                return Ok(None);
            }
            let s = CallsState {
                db: db.clone(),
                hub: self.hub.clone(),
                public_url: self.public_url.clone(),
            };
            let people = service::reachable(&s, p, &g.code)
                .await?
                .into_iter()
                .map(|r| PersonView {
                    user_id: r.user_id.to_string(),
                    name: r.name,
                    role_label: r.role_label,
                    online: r.online,
                })
                .collect();
            let contacts = crate::grid::store::contacts(db, std::slice::from_ref(&g.code))
                .await?
                .remove(&g.code)
                .unwrap_or_default()
                .into_iter()
                .filter(|k| !k.phone.is_empty())
                .map(|k| (k.role_label().to_string(), k.name, k.phone))
                .collect();
            let panel = Panel { g, people, contacts };
            Ok(Some(panel.render().map_err(|e| AppError::from(anyhow::Error::from(e)))?))
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_in_chinese() {
        assert_eq!(super::duration_text(0), "—");
        assert_eq!(super::duration_text(12_400), "12秒");
        assert_eq!(super::duration_text(75_000), "1分15秒");
        assert_eq!(super::duration_text(3_725_000), "1时02分05秒");
    }
}
