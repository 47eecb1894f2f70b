//! Case pages: the routes and what the board, detail and public pages share (status colours,
//! deadlines, names); each page lives in its own file below.

mod assessment;
mod board;
mod detail;
pub mod public;
mod report;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use uuid::Uuid;

use super::CasesState;
use super::categories;
use super::store::CaseRow;
use super::workflow::Status;
use crate::error::AppError;

pub fn routes() -> Router<CasesState> {
    Router::new()
        .route("/console/cases", get(board::board))
        .route(
            "/console/cases/new",
            get(report::new_form)
                .post(report::new_submit)
                .layer(DefaultBodyLimit::max(report::BODY_LIMIT)),
        )
        .route("/console/cases/dispatch", post(board::bulk_dispatch))
        .route("/console/cases/{id}", get(detail::detail))
        .route("/console/cases/{id}/actions", post(detail::act))
        .route("/console/cases/{id}/merge", post(detail::merge_form))
        .route("/g/{code}", get(public::public_page))
        .route(
            "/g/{code}/report",
            post(public::public_report).layer(DefaultBodyLimit::max(report::BODY_LIMIT)),
        )
        .route("/track", get(public::track_form))
        .route("/track/{code}", get(public::track))
        .route("/track/{code}/rate", post(public::track_rate))
        .route("/console/assessment", get(assessment::assessment_page))
        .route("/console/inbox", get(board::inbox))
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Closed => "ok",
        Status::Declined => "grey",
        Status::Reported | Status::Accepted => "warn",
        _ => "info",
    }
}

/// Red when overdue, amber within the last day before the deadline.
fn due_class(status: Status, due_ms: i64, now: i64) -> &'static str {
    if !status.is_open() {
        ""
    } else if now > due_ms {
        "red"
    } else if due_ms - now < 24 * 3_600_000 {
        "amber"
    } else {
        ""
    }
}

fn short_time(ms: i64) -> String {
    crate::time::format_ms(ms).chars().take(16).collect()
}

/// Category, place (the full path, 街道 › 社区 › 小区 › 楼栋) and unit names for a page of cases,
/// in a handful of queries rather than several per row.
async fn names(s: &CasesState, rows: &[CaseRow]) -> Result<(Vec<String>, Vec<String>, Vec<String>), AppError> {
    use std::collections::{BTreeSet, HashMap};
    let all = categories::list(&s.db, rows.first().map(|r| r.district.as_str()).unwrap_or("")).await?;
    // Every place the rows mention, street › community › compound › building, in one lookup.
    let district = rows.first().map(|r| r.district.as_str()).unwrap_or("");
    let codes: Vec<&str> = rows.iter().map(|r| r.grid_code.as_str()).collect();
    let places = crate::cases::place::describe_many(&s.db, district, &codes).await?;
    let mut unit_names: HashMap<Uuid, String> = HashMap::new();
    for u in rows.iter().filter_map(|r| r.unit_id).collect::<BTreeSet<_>>() {
        unit_names.insert(u, crate::registry::units::get(&s.db, u).await?.map(|x| x.name).unwrap_or_default());
    }
    let (mut cats, mut grids, mut units) = (Vec::new(), Vec::new(), Vec::new());
    for r in rows {
        cats.push(
            all.iter()
                .find(|c| c.code == r.category_code)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
        );
        let place = places.get(&r.grid_code).map(|p| p.label.clone()).unwrap_or_default();
        grids.push(place);
        units.push(r.unit_id.and_then(|u| unit_names.get(&u).cloned()).unwrap_or_default());
    }
    Ok((cats, grids, units))
}

/// A labelled group of units in a dispatch list: (id, name, preselected).
pub struct UnitGroup {
    pub label: &'static str,
    pub units: Vec<(Uuid, String, bool)>,
}

/// Where one case may be sent, in the order a dispatcher reads it: the compound's property company
/// (for the categories it serves), the category's default unit, then the other departments; the
/// first of these is preselected. `allowed` filters to what the caller may send it to.
async fn dispatch_units(
    s: &CasesState,
    district: &str,
    default_unit: Option<Uuid>,
    property_company: Option<Uuid>,
    allowed: impl Fn(Uuid) -> bool,
) -> Result<Vec<UnitGroup>, AppError> {
    let mut groups = Vec::new();
    let mut taken = Vec::new();
    for (label, id) in [("本小区物业公司", property_company), ("本类案件默认承办单位", default_unit)] {
        let Some(id) = id.filter(|u| allowed(*u) && !taken.contains(u)) else {
            continue;
        };
        if let Some(u) = crate::registry::units::get(&s.db, id).await?.filter(|u| u.district == district) {
            groups.push(UnitGroup {
                label,
                units: vec![(u.id, u.name, taken.is_empty())],
            });
            taken.push(id);
        }
    }
    let others: Vec<(Uuid, String, bool)> = department_units(s, district)
        .await?
        .into_iter()
        .filter(|(id, _)| allowed(*id) && !taken.contains(id))
        .map(|(id, name)| (id, name, false))
        .collect();
    if !others.is_empty() {
        groups.push(UnitGroup {
            label: if taken.is_empty() { "职能部门" } else { "其他职能部门" },
            units: others,
        });
    }
    Ok(groups)
}

async fn department_units(s: &CasesState, district: &str) -> Result<Vec<(Uuid, String)>, AppError> {
    let (rows, _) = crate::registry::units::list(&s.db, district, Some("department"), None, None, 100, 0).await?;
    Ok(rows.into_iter().map(|u| (u.id, u.name)).collect())
}
