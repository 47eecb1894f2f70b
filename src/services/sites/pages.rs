//! Service sites' pages: the sites serving the caller, a site's week of bookings with the booking
//! form and one's own bookings to cancel, its reception log (staff), and the public section of
//! `/g/{code}` listing the sites that serve the grid with their hours.

use std::future::Future;
use std::pin::Pin;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::rules;
use super::service::{self, NewBooking, NewReception, Standing};
use super::store;
use crate::auth::{Principal, Role};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::GridRow;
use crate::services::ServicesState;
use crate::time::{day_ms, minute_ms, week_of};
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<ServicesState> {
    Router::new()
        .route("/console/services/sites", get(list))
        .route("/console/services/sites/{id}", get(site_page))
        .route("/console/services/sites/{id}/bookings", post(book))
        .route("/console/services/bookings/{id}/cancel", post(cancel))
        .route("/console/services/sites/{id}/receptions", post(receive))
        .route("/console/services/receptions/{id}/close", post(close))
}

/// Whether the hub shows this part: grid staff and residents (who book rooms).
pub fn shown(p: &Principal) -> bool {
    p.posts.iter().any(|x| x.role.is_grid_role() || x.role == Role::Resident)
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    week: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

struct SiteLine {
    id: Uuid,
    name: String,
    kind: &'static str,
    grid_name: String,
    address: String,
    hours: String,
    rooms: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "services_sites.html")]
struct ListPage {
    chrome: Chrome,
    sites: Vec<SiteLine>,
}

async fn list(State(s): State<ServicesState>, c: Console) -> PageResult {
    let p = &c.principal;
    if !shown(p) {
        return Err(AppError::forbidden().into());
    }
    let mut sites = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for post in p.posts.iter().filter(|x| x.role.is_grid_role() || x.role == Role::Resident) {
        let root = post.grid_code.clone().unwrap_or_else(|| p.district.clone());
        let up_only = post.role == Role::Resident;
        let (found, _) = service::serving(&s.db, &p.district, &root, up_only, 200, 0).await?;
        for x in found {
            if seen.insert(x.row.id) {
                sites.push(SiteLine {
                    id: x.row.id,
                    kind: rules::kind_label(&x.row.kind),
                    grid_name: x.row.grid_name.clone(),
                    address: x.row.address.clone(),
                    hours: x.row.hours.clone(),
                    rooms: x.rooms.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join("、"),
                    name: x.row.name,
                });
            }
        }
    }
    Ok(ListPage {
        chrome: Chrome::new(&c, "服务阵地", "services"),
        sites,
    }
    .into_response())
}

struct Cell {
    id: Uuid,
    time: String,
    room: String,
    purpose: String,
    who: String,
}

struct Day {
    label: String,
    cells: Vec<Cell>,
}

struct ReceptionLine {
    id: Uuid,
    at: String,
    visitor: String,
    matter: String,
    outcome: String,
    open: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "services_site.html")]
struct SitePage {
    chrome: Chrome,
    notice: String,
    error: String,
    id: Uuid,
    name: String,
    kind: &'static str,
    grid_name: String,
    address: String,
    hours: String,
    services: String,
    rooms: Vec<(Uuid, String, i64)>,
    week: String,
    prev: String,
    next: String,
    days: Vec<Day>,
    mine: Vec<Cell>,
    staff: bool,
    receptions: Vec<ReceptionLine>,
    today: String,
    times: Vec<String>,
}

/// `09:30` for each half hour of the day.
/// The API names a clashing slot also in RFC 3339 for programs, in full-width brackets; a person
/// reads the China-time part.
fn for_people(mut e: AppError) -> AppError {
    if let (Some(a), Some(z)) = (e.message.find('（'), e.message.find('）'))
        && a < z
    {
        e.message.replace_range(a..z + '）'.len_utf8(), "");
    }
    e
}

fn half_hours() -> Vec<String> {
    (0..48).map(|i| format!("{:02}:{:02}", i / 2, (i % 2) * 30)).collect()
}

const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

async fn site_page(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let (site, standing) = service::site_for(&s.db, p, id).await?;
    let staff = standing == Standing::Staff;
    let now = now_ms();
    let at = q
        .week
        .as_deref()
        .and_then(|w| crate::cases::service::parse_day_or_instant(w).ok())
        .unwrap_or(now);
    let (from, to) = week_of(at);
    let rooms = store::rooms_of(&s.db, &[site.id]).await?;
    let room_name = |r: Uuid| rooms.iter().find(|x| x.id == r).map(|x| x.name.clone()).unwrap_or_default();
    let cell = |b: &store::BookingRow| Cell {
        id: b.id,
        time: format!("{}–{}", &minute_ms(b.start_ms)[11..], &minute_ms(b.end_ms)[11..]),
        room: room_name(b.room_id),
        purpose: if staff || b.booked_by == Some(p.user_id) {
            b.purpose.clone()
        } else {
            "已预约".into()
        },
        who: if staff { b.booker_name.clone() } else { String::new() },
    };
    let mut days: Vec<Day> = (0..7)
        .map(|d| Day {
            label: format!("{} {}", WEEKDAYS[d], &day_ms(from + d as i64 * 86_400_000)[5..]),
            cells: Vec::new(),
        })
        .collect();
    for b in store::bookings(&s.db, site.id, from, to).await? {
        if let Some(d) = rules::day_of_week(b.start_ms.max(from), from) {
            days[d].cells.push(cell(&b));
        }
    }
    let mine = store::bookings_of(&s.db, p.user_id, now)
        .await?
        .iter()
        .filter(|b| b.site_id == site.id)
        .map(|b| {
            let mut x = cell(b);
            x.time = format!("{} {}", &day_ms(b.start_ms)[5..], x.time);
            x
        })
        .collect();
    let receptions = if staff {
        store::receptions(&s.db, site.id, 30)
            .await?
            .into_iter()
            .map(|r| ReceptionLine {
                id: r.id,
                at: minute_ms(r.at_ms),
                visitor: crate::identity::mask_name(&r.visitor),
                matter: r.matter,
                outcome: match (r.outcome.as_str(), r.closed_at.is_some()) {
                    ("handled", _) => "当场办结".to_string(),
                    (_, true) => format!("已转{}，已办结", r.referred_to),
                    _ => format!("已转{}，待办结", r.referred_to),
                },
                open: r.closed_at.is_none(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(SitePage {
        chrome: Chrome::new(&c, site.name.clone(), "services"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        id: site.id,
        kind: rules::kind_label(&site.kind),
        grid_name: site.grid_name,
        address: site.address,
        hours: site.hours,
        services: site.services,
        name: site.name,
        rooms: rooms.iter().map(|r| (r.id, r.name.clone(), r.seats)).collect(),
        week: format!("{} 至 {}", day_ms(from), day_ms(to - 1)),
        prev: day_ms(from - 86_400_000),
        next: day_ms(to),
        days,
        mine,
        staff,
        receptions,
        today: day_ms(now + 86_400_000),
        times: half_hours(),
    }
    .into_response())
}

#[derive(Deserialize)]
struct BookForm {
    csrf: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    purpose: String,
}

/// `2026-11-27` and `09:30` as an RFC 3339 instant in China time.
fn china_instant(date: &str, time: &str) -> String {
    format!("{}T{}:00+08:00", date.trim(), time.trim())
}

async fn book(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<BookForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let to = format!("/console/services/sites/{id}?week={}", f.date.trim().get(..10).unwrap_or(""));
    let Ok(room) = f.room.parse::<Uuid>() else {
        return back_to(&to, Err(AppError::invalid("unknown_room", "请选择房间")));
    };
    let b = NewBooking {
        room,
        start: china_instant(&f.date, &f.start),
        end: china_instant(&f.date, &f.end),
        purpose: f.purpose,
    };
    back_to(
        &to,
        service::book(&s.db, &c.principal, id, &b)
            .await
            .map(|_| "预约成功")
            .map_err(for_people),
    )
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn cancel(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfOnly>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let b = service::cancel(&s.db, &c.principal, id).await;
    let to = match &b {
        Ok(b) => format!("/console/services/sites/{}", b.site_id),
        Err(_) => "/console/services/sites".to_string(),
    };
    back_to(&to, b.map(|_| "已取消预约"))
}

#[derive(Deserialize)]
struct ReceptionForm {
    csrf: String,
    #[serde(flatten)]
    n: NewReception,
}

async fn receive(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ReceptionForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    back_to(
        &format!("/console/services/sites/{id}"),
        service::receive(&s.db, &c.principal, id, &f.n).await.map(|_| "已登记接访"),
    )
}

async fn close(State(s): State<ServicesState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfOnly>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let site = service::close_reception(&s.db, &c.principal, id).await?;
    back_to(&format!("/console/services/sites/{site}"), Ok("接访已办结"))
}

#[derive(Template)]
#[template(path = "services_sites_public.html")]
struct PublicPanel {
    sites: Vec<(String, &'static str, String, String)>,
}

/// The sites serving a grid, with hours, on the public grid page.
pub struct PublicSites;

impl crate::cases::hooks::PublicSection for PublicSites {
    fn render<'a>(&'a self, db: &'a Db, g: &'a GridRow) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            let (sites, _) = store::serving(db, &g.district, &g.code, true, 20, 0).await?;
            if sites.is_empty() {
                return Ok(None);
            }
            let sites = sites
                .into_iter()
                .map(|x| (x.name, rules::kind_label(&x.kind), x.hours, x.address))
                .collect();
            PublicPanel { sites }.render().map(Some).map_err(|_| AppError::internal())
        })
    }
}
