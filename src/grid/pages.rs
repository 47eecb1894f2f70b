//! Grid pages: the console's grid tree with its server-drawn SVG map, and the node edit form.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::GridState;
use super::rules;
use super::store::{self, Contact, GridRow};
use crate::auth::Capability;
use crate::error::AppError;
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageError, PageResult, attr_escape, pager};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<GridState> {
    Router::new()
        .route("/console/grids/{code}", get(grid_page))
        .route("/console/grids/{code}/edit", post(edit_grid))
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
    /// The boundary editor's map, for those who may change the boundary.
    edit_map: String,
    /// Sections of higher features (the registry's households on a building), already rendered.
    panels: Vec<String>,
    can_manage: bool,
    /// Just saved: say so.
    saved: bool,
    edit_error: Option<String>,
    leader_name: String,
    leader_phone: String,
    boundary_input: String,
    /// A compound's property company, as its page shows it.
    company: Option<super::CompanyCard>,
    /// For a compound the caller manages: the district's companies (id, name, chosen).
    company_choices: Vec<(Uuid, String, bool)>,
}

/// What a failed form sends back to the grid page: which form, the message, the input to keep.
#[derive(Default)]
pub struct FormBack {
    /// The edit form was just saved (已保存).
    pub saved: bool,
    /// A panel's form failed: its key and the message.
    pub panel_error: Option<(&'static str, String)>,
    edit_error: Option<String>,
    edit_input: Option<(String, String, String)>,
}

impl FormBack {
    /// A panel's form failed with `message`.
    pub fn panel(key: &'static str, message: String) -> FormBack {
        FormBack {
            panel_error: Some((key, message)),
            ..Default::default()
        }
    }
}

#[derive(Deserialize)]
struct PageQ {
    page: Option<i64>,
    /// `1` after the edit form was saved.
    saved: Option<String>,
}

/// Breadcrumbs from the highest node the user may see down to `g`.
pub async fn crumbs(db: &crate::db::Db, c: &Console, code: &str) -> Result<Vec<(String, String)>, AppError> {
    let chain = store::chain(db, code).await?;
    Ok(chain
        .into_iter()
        .filter(|g| c.principal.can(Capability::ReadGrid, &g.code))
        .map(|g| (g.code, g.name))
        .collect())
}

/// The grid node's console page; a failed form brings its message and input back in `back`.
pub async fn render_grid(s: &GridState, c: &Console, code: &str, page: i64, back: FormBack) -> PageResult {
    let p = &c.principal;
    let g = super::service::load(&s.db, p, code, Capability::ReadGrid).await?;
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
    let mut panels = Vec::new();
    for panel in s.panels.iter() {
        let error = back
            .panel_error
            .as_ref()
            .filter(|(k, _)| *k == panel.key())
            .map(|(_, m)| m.as_str());
        if let Some(html) = panel.render(&s.db, c, &g, page, error).await? {
            panels.push(html);
        }
    }
    let base = super::service::base_layers(&s.db, &g).await?;
    let map_svg = super::map::area_map_svg(&g, &kids, &base, &super::map::Overlay::default());
    let can_manage = p.can(Capability::ManageGrid, &g.code);
    let edit_map = if can_manage { edit_map_svg(&g, &kids) } else { String::new() };
    let status = if back.panel_error.is_some() || back.edit_error.is_some() {
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
    let company = match g.property_company_id {
        Some(id) => s.units.property_company(&s.db, &g.district, id).await?,
        None => None,
    };
    let company_choices = if can_manage && g.level == 4 {
        s.units
            .property_companies(&s.db, &g.district)
            .await?
            .into_iter()
            .map(|(id, name)| (id, name, g.property_company_id == Some(id)))
            .collect()
    } else {
        Vec::new()
    };
    let page_html = GridPage {
        company,
        company_choices,
        chrome: Chrome::new(c, g.name.clone(), "grid"),
        level_label: rules::level_label(g.level),
        kind_label: rules::kind_label(&g.kind),
        crumbs: crumbs(&s.db, c, &g.code).await?,
        contacts: own_contacts,
        center: format!("{:.5}°N, {:.5}°E", g.center_lat, g.center_lng),
        pager: pager(&format!("/console/grids/{}", g.code), page, per, g.children),
        children,
        map_svg,
        panels,
        edit_map,
        can_manage,
        saved: back.saved,
        edit_error: back.edit_error,
        leader_name,
        leader_phone,
        boundary_input,
        g,
    };
    Ok((status, page_html).into_response())
}

async fn grid_page(State(s): State<GridState>, c: Console, Path(code): Path<String>, Query(q): Query<PageQ>) -> PageResult {
    let back = FormBack {
        saved: q.saved.as_deref() == Some("1"),
        ..Default::default()
    };
    render_grid(&s, &c, &code, crate::web::pages::page_number(q.page), back).await
}

#[derive(Deserialize)]
struct EditForm {
    csrf: String,
    leader_name: String,
    leader_phone: String,
    boundary: String,
    /// A compound's property company: a unit id, or empty for none. Absent on other nodes.
    property_company: Option<String>,
}

async fn edit_grid(State(s): State<GridState>, c: Console, Path(code): Path<String>, Form(f): Form<EditForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let g = super::service::load(&s.db, &c.principal, &code, Capability::ManageGrid).await?;
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
    let property_company = match f.property_company.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(id) => match id.parse::<Uuid>() {
            Ok(id) => Some(Some(id)),
            Err(_) => return render_grid(&s, &c, &code, 1, back("请从列表中选择物业公司".into())).await,
        },
    };
    let up = store::GridUpdate {
        name: None,
        boundary,
        leader: Some(store::LeaderInput {
            name: f.leader_name.clone(),
            phone: f.leader_phone.clone(),
        }),
        property_company,
    };
    match super::service::update(&s, &c.principal, &g.code, &up).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/grids/{code}?saved=1")).into_response()),
        Err(e) if e.status.is_client_error() => render_grid(&s, &c, &code, 1, back(e.message)).await,
        Err(e) => Err(PageError(e)),
    }
}

/// How a node's maps place longitude and latitude on the SVG's plane: equirectangular, x shrunk
/// by cos(latitude) so shapes keep their proportions, the longer side 1,000 units.
struct Projection {
    min_lng: f64,
    max_lat: f64,
    k: f64,
    scale: f64,
    /// The drawing's width and height in SVG units.
    w: f64,
    h: f64,
}

impl Projection {
    /// Fits the box (min_lat, min_lng, max_lat, max_lng), widened by `margin` of its size on each side.
    fn fit(bbox: (f64, f64, f64, f64), margin: f64) -> Projection {
        let (min_lat, min_lng, max_lat, max_lng) = bbox;
        let (dlat, dlng) = ((max_lat - min_lat) * margin, (max_lng - min_lng) * margin);
        let (min_lat, min_lng, max_lat, max_lng) = (min_lat - dlat, min_lng - dlng, max_lat + dlat, max_lng + dlng);
        let k = (min_lat.to_radians() * 0.5 + max_lat.to_radians() * 0.5).cos();
        let w = ((max_lng - min_lng) * k).max(1e-9);
        let h = (max_lat - min_lat).max(1e-9);
        let scale = 1000.0 / w.max(h);
        Projection {
            min_lng,
            max_lat,
            k,
            scale,
            w: w * scale,
            h: h * scale,
        }
    }

    fn path(&self, b: &rules::Boundary) -> String {
        let mut d = String::new();
        let rings = std::iter::once(b.polygon.exterior()).chain(b.polygon.interiors());
        for ring in rings {
            for (i, c) in ring.0.iter().enumerate() {
                let x = (c.x - self.min_lng) * self.k * self.scale;
                let y = (self.max_lat - c.y) * self.scale;
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
        d
    }

    fn open_svg(&self, class: &str, label: &str, extra: &str) -> String {
        format!(
            "<svg class=\"{class}\" viewBox=\"-10 -10 {:.0} {:.0}\" role=\"img\" aria-label=\"{}\"{extra} xmlns=\"http://www.w3.org/2000/svg\">",
            self.w + 20.0,
            self.h + 20.0,
            attr_escape(label)
        )
    }
}

/// The node's labelled area map with its children, without base layers or overlay.
pub fn map_svg(g: &GridRow, kids: &[GridRow]) -> String {
    super::map::area_map_svg(g, kids, &[], &super::map::Overlay::default())
}

/// The boundary editor's map: the children drawn for reference, room around the node to move its
/// points outward, and the projection and current boundary in data attributes for `static/app.js`,
/// which draws the draggable points and writes the result into the form's boundary field.
pub fn edit_map_svg(g: &GridRow, kids: &[GridRow]) -> String {
    let Ok(own) = rules::parse_boundary_text(&g.boundary) else {
        return String::new();
    };
    let pr = Projection::fit(own.bbox, 0.15);
    let data = format!(
        " data-edit-map data-origin=\"{},{},{},{}\" data-boundary=\"{}\"",
        pr.min_lng,
        pr.max_lat,
        pr.k,
        pr.scale,
        attr_escape(&own.geojson)
    );
    let mut svg = pr.open_svg("map edit-map", &format!("{}边界编辑图", g.name), &data);
    for kid in kids {
        if let Ok(b) = rules::parse_boundary_text(&kid.boundary) {
            svg.push_str(&format!("<path class=\"kid\" d=\"{}\"/>", pr.path(&b)));
        }
    }
    svg.push_str("</svg>");
    svg
}
