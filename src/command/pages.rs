//! The command centre's pages: the wall screen of a grid node (一屏统管) with its map, figures,
//! trend, ticker and panels, the grid's dispatch panel (一网调度), and the map fragment the
//! screen reloads when cases change.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::CommandState;
use super::api::GridQuery;
use super::service::{self, ChildLoad, Dashboard, Reachable};
use crate::cases::store::CaseRow;
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::Console;

pub fn routes() -> Router<CommandState> {
    Router::new()
        .route("/console/command", get(screen))
        .route("/console/command/map", get(map_fragment))
}

/// A figure tile: key (for the live update), label, value, and a warning tone.
pub struct Tile {
    pub key: &'static str,
    pub label: &'static str,
    pub value: String,
    pub warn: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "command.html")]
struct ScreenPage {
    chrome: Chrome,
    d: Dashboard,
    crumbs: Vec<(String, String)>,
    tiles: Vec<Tile>,
    trend: String,
    map: String,
    children: Vec<(ChildLoad, &'static str)>,
    people: Vec<Reachable>,
    open_cases: Vec<(CaseRow, String, bool)>,
    unmanaged: i64,
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The tiles of the figure row, in the order the wall shows them.
pub fn tiles(d: &Dashboard) -> Vec<Tile> {
    let c = &d.cases;
    vec![
        Tile {
            key: "reported_today",
            label: "今日上报",
            value: c.reported_today.to_string(),
            warn: false,
        },
        Tile {
            key: "open",
            label: "办理中",
            value: c.open.to_string(),
            warn: false,
        },
        Tile {
            key: "overdue",
            label: "已超期",
            value: c.overdue.to_string(),
            warn: c.overdue > 0,
        },
        Tile {
            key: "closed_today",
            label: "今日结案",
            value: c.closed_today.to_string(),
            warn: false,
        },
        Tile {
            key: "on_time_rate_month",
            label: "本月按期处置率",
            value: pct(c.on_time_rate_month),
            warn: c.reported_month > 0 && c.on_time_rate_month < 0.8,
        },
        Tile {
            key: "online",
            label: "在线网格员",
            value: d.online.to_string(),
            warn: false,
        },
        Tile {
            key: "volunteers_active",
            label: "今日志愿者在岗",
            value: d.volunteers.active.to_string(),
            warn: false,
        },
    ]
}

/// Where a click on a child of the screen's map goes: that child's screen (drill-down).
fn screen_href(code: &str) -> String {
    format!("/console/command?grid={code}")
}

/// Open cases drawn as points on the screen's map, at most this many (most urgent first).
const MAP_POINTS: i64 = 300;

/// The node's map over the district's base layers, each child coloured and annotated by its load,
/// open cases as points (overdue ones marked); a click on a child drills down.
async fn screen_map(
    s: &CommandState,
    g: &crate::grid::GridRow,
    kids: &[crate::grid::GridRow],
    loads: &[ChildLoad],
) -> crate::error::AppResult<String> {
    let base = crate::grid::service::base_layers(&s.db, g).await?;
    let now = crate::db::now_ms();
    let mut overlay = crate::grid::map::Overlay {
        child_href: screen_href,
        ..Default::default()
    };
    for k in loads {
        overlay.fills.insert(k.code.clone(), service::load_class(k.open, k.overdue));
        if k.open > 0 {
            let note = if k.overdue > 0 {
                format!("在办{} · 超期{}", k.open, k.overdue)
            } else {
                format!("在办{}", k.open)
            };
            overlay.notes.insert(k.code.clone(), note);
        }
    }
    for c in crate::cases::figures::open_points(&s.db, &g.district, &g.code, MAP_POINTS).await? {
        let (Some(lat), Some(lng)) = (c.lat, c.lng) else { continue };
        let late = c.overdue(now);
        overlay.points.push(crate::grid::map::MapPoint {
            lat,
            lng,
            class: if late { "overdue" } else { "open" },
            title: format!("{} {}{}", c.tracking_code, c.status_label(), if late { " · 已超期" } else { "" }),
            href: Some(format!("/console/cases/{}", c.id)),
        });
    }
    Ok(crate::grid::map::area_map_svg(g, kids, &base, &overlay))
}

async fn screen(State(s): State<CommandState>, c: Console, Query(q): Query<GridQuery>) -> PageResult {
    let p = &c.principal;
    let g = service::node_for(&s.db, p, q.grid.as_deref()).await?;
    let (d, kids) = service::dashboard_and_children(&s.db, &s.calls, &g).await?;
    let crumbs = crate::grid::pages::crumbs(&s.db, &c, &g.code)
        .await?
        .into_iter()
        .filter(|(code, _)| p.can(crate::auth::Capability::ReadRegistry, code))
        .collect();
    let map = screen_map(&s, &g, &kids, &d.children).await?;
    let people = service::reachable(&s.db, &s.calls, p, &g).await?;
    let now = crate::db::now_ms();
    let open = crate::cases::figures::open_points(&s.db, &g.district, &g.code, 8).await?;
    let codes: Vec<String> = open.iter().map(|c| c.grid_code.clone()).collect();
    let names = crate::grid::store::names(&s.db, &g.district, &codes).await?;
    let open_cases = open
        .into_iter()
        .map(|c| {
            let place = names.get(&c.grid_code).cloned().unwrap_or_default();
            let late = c.overdue(now);
            (c, place, late)
        })
        .collect();
    let unmanaged = crate::grid::store::unmanaged_compounds(&s.db, &g.code).await?;
    let children = d
        .children
        .iter()
        .map(|k| (k.clone(), service::load_class(k.open, k.overdue)))
        .collect();
    Ok(ScreenPage {
        chrome: Chrome::new(&c, format!("{} 指挥中心", g.name), "command"),
        tiles: tiles(&d),
        trend: super::chart::trend_svg(&d.trend),
        crumbs,
        map,
        children,
        people,
        open_cases,
        unmanaged,
        d,
    }
    .into_response())
}

/// The map alone, for the screen to swap in when cases change.
async fn map_fragment(State(s): State<CommandState>, c: Console, Query(q): Query<GridQuery>) -> PageResult {
    let g = service::node_for(&s.db, &c.principal, q.grid.as_deref()).await?;
    let (kids, loads) = service::children_with_loads(&s.db, &g, crate::db::now_ms()).await?;
    let svg = screen_map(&s, &g, &kids, &loads).await?;
    let resp: Response = ([(axum::http::header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], svg).into_response();
    Ok(resp)
}
