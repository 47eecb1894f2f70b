//! Grid pages: the console's grid tree (with an SVG map) and the public contact page `/g/{code}`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::rules;
use super::store::{self, Contact, GridRow};
use crate::auth::Capability;
use crate::error::AppError;
use crate::registry::residents::{self, HouseholdRow, NewHousehold};
use crate::web::AppState;
use crate::web::pages::{Chrome, PageError, PageResult, pager};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/grids/{code}", get(grid_page))
        .route("/console/grids/{code}/households", post(add_household))
        .route("/console/grids/{code}/edit", post(edit_grid))
        .route("/g/{code}", get(public_page))
}

pub struct ChildView {
    code: String,
    name: String,
    kind_label: &'static str,
    leader: String,
    children: i64,
    households: i64,
    residents: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "grid.html")]
struct GridPage {
    chrome: Chrome,
    g: GridRow,
    level_label: &'static str,
    kind_label: &'static str,
    crumbs: Vec<(String, String)>,
    contacts: Vec<Contact>,
    center: String,
    children: Vec<ChildView>,
    pager: String,
    map_svg: String,
    show_households: bool,
    households: Vec<HouseholdRow>,
    households_total: i64,
    households_pager: String,
    can_write: bool,
    form_error: Option<String>,
    can_manage: bool,
    edit_error: Option<String>,
    leader_name: String,
    leader_phone: String,
    boundary_input: String,
}

/// What a failed form sends back to the grid page: which form, the message, the input to keep.
#[derive(Default)]
pub struct FormBack {
    household_error: Option<String>,
    edit_error: Option<String>,
    edit_input: Option<(String, String, String)>,
}

#[derive(Deserialize)]
struct PageQ {
    page: Option<i64>,
}

/// Breadcrumbs from the highest node the user may see down to `g`.
pub async fn crumbs(s: &AppState, c: &Console, code: &str) -> Result<Vec<(String, String)>, AppError> {
    let chain = store::chain(&s.db, code).await?;
    Ok(chain
        .into_iter()
        .filter(|g| c.principal.can(Capability::ReadGrid, &g.code))
        .map(|g| (g.code, g.name))
        .collect())
}

async fn render_grid(s: &AppState, c: &Console, code: &str, page: i64, back: FormBack) -> PageResult {
    let p = &c.principal;
    let g = super::api::load(s, p, code, Capability::ReadGrid).await?;
    let per = 60;
    let kids = store::children(&s.db, &g.code, per, (page - 1) * per).await?;
    let mut codes: Vec<String> = kids.iter().map(|k| k.code.clone()).collect();
    codes.push(g.code.clone());
    let mut contacts = store::contacts(&s.db, &codes).await?;
    let children = kids
        .iter()
        .map(|k| ChildView {
            code: k.code.clone(),
            name: k.name.clone(),
            kind_label: rules::kind_label(&k.kind),
            leader: contacts
                .get(&k.code)
                .and_then(|v| v.iter().find(|c| c.role == "leader"))
                .map(|c| format!("{} {}", c.name, c.phone))
                .unwrap_or_else(|| "未设置".into()),
            children: k.children,
            households: k.households,
            residents: k.residents,
        })
        .collect();
    let show_households = g.level == 5 && p.can(Capability::ReadRegistry, &g.code);
    // A building has no child grids, so its page number pages the households instead.
    let hh_per = 30;
    let (households, households_total) = if show_households {
        residents::households_in(&s.db, &g.code, hh_per, (page - 1) * hh_per).await?
    } else {
        (Vec::new(), 0)
    };
    let map_svg = map_svg(&g, &kids);
    let status = if back.household_error.is_some() || back.edit_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let own_contacts = contacts.remove(&g.code).unwrap_or_default();
    let (leader_name, leader_phone, boundary_input) = back.edit_input.unwrap_or_else(|| {
        own_contacts
            .iter()
            .find(|c| c.role == "leader")
            .map(|c| (c.name.clone(), c.phone.clone(), String::new()))
            .unwrap_or_default()
    });
    let page_html = GridPage {
        chrome: Chrome::new(c, g.name.clone(), "grid"),
        level_label: rules::level_label(g.level),
        kind_label: rules::kind_label(&g.kind),
        crumbs: crumbs(s, c, &g.code).await?,
        contacts: own_contacts,
        center: format!("{:.5}°N, {:.5}°E", g.center_lat, g.center_lng),
        pager: pager(&format!("/console/grids/{}", g.code), page, per, g.children),
        children,
        map_svg,
        show_households,
        households,
        households_total,
        households_pager: pager(&format!("/console/grids/{}", g.code), page, hh_per, households_total),
        can_write: p.can(Capability::WriteRegistry, &g.code),
        form_error: back.household_error,
        can_manage: p.can(Capability::ManageGrid, &g.code),
        edit_error: back.edit_error,
        leader_name,
        leader_phone,
        boundary_input,
        g,
    };
    Ok((status, page_html).into_response())
}

async fn grid_page(State(s): State<AppState>, c: Console, Path(code): Path<String>, Query(q): Query<PageQ>) -> PageResult {
    render_grid(&s, &c, &code, q.page.unwrap_or(1).max(1), FormBack::default()).await
}

#[derive(Deserialize)]
struct HouseholdForm {
    csrf: String,
    unit_no: String,
    room: String,
}

async fn add_household(State(s): State<AppState>, c: Console, Path(code): Path<String>, Form(f): Form<HouseholdForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let g = super::api::load(&s, &c.principal, &code, Capability::WriteRegistry).await?;
    let Ok(unit_no) = f.unit_no.trim().parse::<i64>() else {
        return render_grid(
            &s,
            &c,
            &code,
            1,
            FormBack {
                household_error: Some("单元号应为1至99之间的数字".into()),
                ..Default::default()
            },
        )
        .await;
    };
    match residents::create_household(
        &s.db,
        c.principal.actor(),
        &g,
        &NewHousehold {
            grid: code.clone(),
            unit_no,
            room: f.room,
        },
    )
    .await
    {
        Ok(h) => Ok(Redirect::to(&format!("/console/households/{}?created=1", h.id)).into_response()),
        Err(e) if e.status.is_client_error() => {
            render_grid(
                &s,
                &c,
                &code,
                1,
                FormBack {
                    household_error: Some(e.message),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Deserialize)]
struct EditForm {
    csrf: String,
    leader_name: String,
    leader_phone: String,
    boundary: String,
}

async fn edit_grid(State(s): State<AppState>, c: Console, Path(code): Path<String>, Form(f): Form<EditForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let g = super::api::load(&s, &c.principal, &code, Capability::ManageGrid).await?;
    let back = |msg: String| FormBack {
        edit_error: Some(msg),
        edit_input: Some((f.leader_name.clone(), f.leader_phone.clone(), f.boundary.clone())),
        ..Default::default()
    };
    let boundary = match f.boundary.trim() {
        "" => None,
        text => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) => Some(v),
            Err(_) => return render_grid(&s, &c, &code, 1, back("边界不是合法的 GeoJSON 文本".into())).await,
        },
    };
    let up = store::GridUpdate {
        name: None,
        boundary,
        leader: Some(store::LeaderInput {
            name: f.leader_name.clone(),
            phone: f.leader_phone.clone(),
        }),
    };
    match store::update(&s.db, c.principal.actor(), &g, &up).await {
        Ok(_) => {
            s.grid_index.invalidate().await;
            Ok(Redirect::to(&format!("/console/grids/{code}")).into_response())
        }
        Err(e) if e.status.is_client_error() => render_grid(&s, &c, &code, 1, back(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}

/// An SVG map of a node's boundary and its children's, drawn on the server: no tiles, no fonts.
pub fn map_svg(g: &GridRow, kids: &[GridRow]) -> String {
    let Ok(own) = rules::parse_boundary_text(&g.boundary) else {
        return String::new();
    };
    let (min_lat, min_lng, max_lat, max_lng) = own.bbox;
    // Equirectangular, x shrunk by cos(latitude) so shapes keep their proportions.
    let k = (min_lat.to_radians() * 0.5 + max_lat.to_radians() * 0.5).cos();
    let w = ((max_lng - min_lng) * k).max(1e-9);
    let h = (max_lat - min_lat).max(1e-9);
    let scale = 1000.0 / w.max(h);
    let (vw, vh) = (w * scale, h * scale);
    let path = |b: &rules::Boundary| -> String {
        let mut d = String::new();
        let rings = std::iter::once(b.polygon.exterior()).chain(b.polygon.interiors());
        for ring in rings {
            for (i, c) in ring.0.iter().enumerate() {
                let x = (c.x - min_lng) * k * scale;
                let y = (max_lat - c.y) * scale;
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
        d
    };
    let mut svg = format!(
        "<svg class=\"map\" viewBox=\"-10 -10 {:.0} {:.0}\" role=\"img\" aria-label=\"{}网格图\" xmlns=\"http://www.w3.org/2000/svg\">",
        vw + 20.0,
        vh + 20.0,
        html_escape(&g.name)
    );
    svg.push_str(&format!("<path class=\"self\" d=\"{}\"/>", path(&own)));
    for kid in kids {
        if let Ok(b) = rules::parse_boundary_text(&kid.boundary) {
            svg.push_str(&format!(
                "<a href=\"/console/grids/{}\"><title>{}</title><path d=\"{}\"/></a>",
                kid.code,
                html_escape(&kid.name),
                path(&b)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

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
async fn public_page(State(s): State<AppState>, Path(code): Path<String>) -> PageResult {
    render_public(&s, &code, None, String::new(), String::new()).await
}

/// The public grid page, with the report form (re-shown with an error and the input kept).
pub async fn render_public(s: &AppState, code: &str, error: Option<String>, description: String, phone: String) -> PageResult {
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
    let categories = crate::cases::categories::list(&s.db, &g.district)
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
