//! The assessment page (考核): each unit's or grid's cases, on time, reworked and rated, over a period.

use crate::cases::CasesState;
use crate::web::pages::{Chrome, PageError, PageResult};
use crate::web::session::Console;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

#[derive(Template, WebTemplate)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    chrome: Chrome,
    bys: Vec<(&'static str, &'static str, bool)>,
    from: String,
    to: String,
    #[allow(clippy::type_complexity)]
    rows: Vec<(usize, String, i64, i64, String, String, String, String, String)>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct AssessmentQuery {
    by: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

pub(super) async fn assessment_page(State(s): State<CasesState>, c: Console, Query(q): Query<AssessmentQuery>) -> PageResult {
    let by = q.by.clone().unwrap_or_else(|| "street".into());
    let today = jiff::Timestamp::from_millisecond(crate::db::now_ms())
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(crate::time::china())
        .date();
    let from = q
        .from
        .clone()
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| today.checked_sub(jiff::ToSpan::days(30)).unwrap_or(today).to_string());
    let to =
        q.to.clone()
            .filter(|x| !x.is_empty())
            .unwrap_or_else(|| today.tomorrow().unwrap_or(today).to_string());
    let (rows, error) = match crate::cases::service::assessment_for(&s, &c.principal, &by, Some(&from), Some(&to)).await {
        Ok(r) => (
            r.items
                .into_iter()
                .map(|x| {
                    let f = x.figures;
                    (
                        x.rank,
                        x.name,
                        f.received,
                        f.closed,
                        pct(f.on_time_rate),
                        pct(f.closure_rate),
                        pct(f.rework_rate),
                        pct(f.satisfaction_rate),
                        format!("{:.1} 小时", f.mean_handling_hours),
                    )
                })
                .collect(),
            None,
        ),
        Err(e) if e.status == StatusCode::FORBIDDEN => return Err(PageError(e)),
        Err(e) => (Vec::new(), Some(e.message)),
    };
    let bys = [("street", "街道"), ("community", "社区"), ("unit", "承办单位")]
        .iter()
        .map(|(k, l)| (*k, *l, *k == by))
        .collect();
    Ok(AssessmentPage {
        chrome: Chrome::new(&c, "考核排名", "assessment"),
        bys,
        from,
        to,
        rows,
        error,
    }
    .into_response())
}
