//! Maps drawn on the server as SVG (no tiles, no fonts): a node's labelled area map with its
//! children, case points and base layers (区域图), and a point inside a grid node's boundary.

use std::collections::HashMap;
use std::fmt::Write as _;

use geo::{Intersects, Point};

use super::layers::{BaseFeature, Geometry};
use super::rules::{self, Boundary};
use super::store::GridRow;
use crate::web::pages::attr_escape;

/// The longer side of the drawing, in view units; the marker's size is in the same units.
const SIDE: f64 = 1000.0;
/// The pin: a halo and a dot with a white ring, big enough to find at a glance on a phone.
const HALO: f64 = 52.0;
const DOT: f64 = 22.0;
/// Room around the drawing so a pin on the boundary is never clipped.
const PAD: f64 = HALO + 8.0;
/// A very long thin grid would draw as a sliver: the short side is at least this share of the long.
const MIN_ASPECT: f64 = 0.45;

/// A projection of a lat/lng box onto the view: equirectangular, with x shrunk by cos(latitude)
/// so shapes keep their proportions at Zhoukou's latitude.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    min_lng: f64,
    max_lat: f64,
    k: f64,
    scale: f64,
    /// Width and height of the drawing (without the padding).
    pub width: f64,
    pub height: f64,
}

impl Frame {
    /// A frame around `bbox` (min_lat, min_lng, max_lat, max_lng), widened to hold `point`
    /// (lat, lng) when it falls outside, and to a readable aspect ratio.
    pub fn around(bbox: (f64, f64, f64, f64), point: Option<(f64, f64)>) -> Frame {
        let (mut min_lat, mut min_lng, mut max_lat, mut max_lng) = bbox;
        if let Some((lat, lng)) = point {
            min_lat = min_lat.min(lat);
            max_lat = max_lat.max(lat);
            min_lng = min_lng.min(lng);
            max_lng = max_lng.max(lng);
        }
        let k = ((min_lat + max_lat) / 2.0).to_radians().cos();
        // Widen the short side around the middle, so the grid stays centred.
        let (mut w, mut h) = (((max_lng - min_lng) * k).max(1e-9), (max_lat - min_lat).max(1e-9));
        if h < w * MIN_ASPECT {
            let grow = w * MIN_ASPECT - h;
            max_lat += grow / 2.0;
            h += grow;
        } else if w < h * MIN_ASPECT {
            let grow = h * MIN_ASPECT - w;
            min_lng -= grow / 2.0 / k;
            w += grow;
        }
        let scale = SIDE / w.max(h);
        Frame {
            min_lng,
            max_lat,
            k,
            scale,
            width: w * scale,
            height: h * scale,
        }
    }

    /// The (min_lat, min_lng, max_lat, max_lng) the view shows, padding included.
    pub fn window(&self, pad: f64) -> (f64, f64, f64, f64) {
        let lng = |x: f64| self.min_lng + x / self.scale / self.k;
        let lat = |y: f64| self.max_lat - y / self.scale;
        (lat(self.height + pad), lng(-pad), lat(-pad), lng(self.width + pad))
    }

    /// View coordinates (x right, y down) of a point.
    pub fn xy(&self, lat: f64, lng: f64) -> (f64, f64) {
        ((lng - self.min_lng) * self.k * self.scale, (self.max_lat - lat) * self.scale)
    }

    /// The SVG `viewBox`, padded on every side.
    pub fn view_box(&self) -> String {
        format!(
            "{:.0} {:.0} {:.0} {:.0}",
            -PAD,
            -PAD,
            self.width + 2.0 * PAD,
            self.height + 2.0 * PAD
        )
    }

    fn path(&self, b: &Boundary) -> String {
        let mut d = String::new();
        for ring in std::iter::once(b.polygon.exterior()).chain(b.polygon.interiors()) {
            for (i, c) in ring.0.iter().enumerate() {
                let (x, y) = self.xy(c.y, c.x);
                d.push_str(&format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" }));
            }
            d.push('Z');
        }
        d
    }
}

/// Whether (lat, lng) lies in the node's boundary (on the edge counts).
pub fn holds(g: &GridRow, lat: f64, lng: f64) -> bool {
    boundary_holds(&g.boundary, lat, lng)
}

fn boundary_holds(boundary: &str, lat: f64, lng: f64) -> bool {
    rules::parse_boundary_text(boundary).is_ok_and(|b| b.polygon.intersects(&Point::new(lng, lat)))
}

/// A map of node `g` and, when given, a point (lat, lng) marked with a red pin. `around` is a
/// node drawn for orientation (a building's compound), `others` are outlines drawn thin (the
/// compound's other buildings, or `g`'s own children); the view holds `around` or `g`, widened to
/// hold a point outside them. Empty when `g`'s boundary cannot be read.
pub fn point_map_svg(g: &GridRow, around: Option<&GridRow>, others: &[GridRow], point: Option<(f64, f64)>) -> String {
    let others: Vec<(&str, &str)> = others.iter().filter(|o| o.code != g.code).map(shape).collect();
    draw(shape(g), around.map(shape), &others, point)
}

fn shape(x: &GridRow) -> (&str, &str) {
    (x.name.as_str(), x.boundary.as_str())
}

/// The drawing itself, from (name, GeoJSON boundary text) pairs.
fn draw(own: (&str, &str), around: Option<(&str, &str)>, others: &[(&str, &str)], point: Option<(f64, f64)>) -> String {
    let Ok(own_b) = rules::parse_boundary_text(own.1) else {
        return String::new();
    };
    let around_b = around.and_then(|(_, b)| rules::parse_boundary_text(b).ok());
    let f = Frame::around(around_b.as_ref().unwrap_or(&own_b).bbox, point);
    let label = match point {
        Some(_) => format!("{}网格图，红点为案件位置", own.0),
        None => format!("{}网格图，案件未标注位置", own.0),
    };
    let mut svg = format!(
        "<svg class=\"map case-map\" style=\"max-height:240px\" viewBox=\"{}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        f.view_box(),
        attr_escape(&label)
    );
    if let (Some(b), Some((name, _))) = (&around_b, around) {
        svg.push_str(&format!(
            "<path class=\"around\" d=\"{}\" style=\"fill:#f4f5f7;stroke:#999\"><title>{}</title></path>",
            f.path(b),
            attr_escape(name)
        ));
    }
    for (name, boundary) in others {
        if let Ok(b) = rules::parse_boundary_text(boundary) {
            svg.push_str(&format!(
                "<path d=\"{}\" style=\"fill:#fff;stroke:#bbb\"><title>{}</title></path>",
                f.path(&b),
                attr_escape(name)
            ));
        }
    }
    // The case's own grid stands out from what is drawn around it.
    let own_style = if around_b.is_some() {
        " style=\"fill:rgba(200,22,29,.12)\""
    } else {
        ""
    };
    svg.push_str(&format!(
        "<path class=\"self\" d=\"{}\"{own_style}><title>{}</title></path>",
        f.path(&own_b),
        attr_escape(own.0)
    ));
    if let Some((lat, lng)) = point {
        let (x, y) = f.xy(lat, lng);
        // A halo, then a solid dot with a white ring: it reads on any fill, even on a small phone.
        svg.push_str(&format!(
            "<g class=\"pin\" data-x=\"{x:.1}\" data-y=\"{y:.1}\"><title>案件位置</title>\
             <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{HALO}\" fill=\"#c8161d\" fill-opacity=\".25\"/>\
             <circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{DOT}\" fill=\"#c8161d\" stroke=\"#fff\" stroke-width=\"7\"/></g>"
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// A case (or anything else) to mark on an area map.
#[derive(Debug, Clone)]
pub struct MapPoint {
    pub lat: f64,
    pub lng: f64,
    /// CSS class of the dot, chosen by the caller (e.g. `overdue`).
    pub class: &'static str,
    /// What hovering or a screen reader tells.
    pub title: String,
    pub href: Option<String>,
}

/// What a caller lays over an area map: colours and notes per child, points, and where a click
/// on a child leads.
pub struct Overlay {
    /// child code → CSS class for its fill (e.g. "calm", "busy", "alarm"), chosen by the caller
    pub fills: HashMap<String, &'static str>,
    /// a short second line under a child's label, e.g. "12件 · 超期3"
    pub notes: HashMap<String, String>,
    pub points: Vec<MapPoint>,
    /// where a click on a child goes: the grid page by default; the screen passes its own drill-down URL
    pub child_href: fn(&str) -> String,
}

impl Default for Overlay {
    fn default() -> Self {
        Overlay {
            fills: HashMap::new(),
            notes: HashMap::new(),
            points: Vec::new(),
            child_href: grid_href,
        }
    }
}

/// A grid node's console page.
pub fn grid_href(code: &str) -> String {
    format!("/console/grids/{code}")
}

/// Room around an area map, in view units (the long side is 1,000).
const AREA_PAD: f64 = 12.0;
/// Label sizes in view units. The map is about 360 px wide on a 390 px phone, so 30 units are
/// about 11 px there, and about 30 px on a wall display where the map fills the height.
const LABEL_MIN: f64 = 30.0;
const LABEL_MAX: f64 = 64.0;
const NOTE_MIN: f64 = 24.0;
const POINT_R: f64 = 9.0;
/// At most this many points are drawn (the rest would hide each other anyway).
const MAX_POINTS: usize = 2_000;
/// Base layers simplified to this many view units (about a pixel on a wall display).
const SIMPLIFY: f64 = 1.5;
/// The base layers stop adding features past this many bytes, most important first.
const BASE_BUDGET: usize = 150_000;
const ROAD_FONT: f64 = 22.0;
const ROAD_NAMES: usize = 10;

/// The window (min_lat, min_lng, max_lat, max_lng) an area map of `g` shows: what to load base
/// layers for. None when the boundary cannot be read.
pub fn area_window(g: &GridRow) -> Option<(f64, f64, f64, f64)> {
    let own = rules::parse_boundary_text(&g.boundary).ok()?;
    Some(Frame::around(own.bbox, None).window(AREA_PAD))
}

/// The node `g` with its children `kids`, each labelled and linked, over the base layers `base`,
/// with the overlay's colours, notes and points. Empty when `g`'s boundary cannot be read.
pub fn area_map_svg(g: &GridRow, kids: &[GridRow], base: &[BaseFeature], overlay: &Overlay) -> String {
    let Ok(own) = rules::parse_boundary_text(&g.boundary) else {
        return String::new();
    };
    let f = Frame::around(own.bbox, None);
    let (w, h) = (f.width + 2.0 * AREA_PAD, f.height + 2.0 * AREA_PAD);
    let mut svg = format!(
        "<svg class=\"map area-map\" viewBox=\"{:.0} {:.0} {w:.0} {h:.0}\" role=\"group\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        -AREA_PAD,
        -AREA_PAD,
        attr_escape(&if kids.is_empty() {
            format!("{}网格图", g.name)
        } else {
            format!("{}网格图，{}个下级网格", g.name, kids.len())
        })
    );
    if !base.is_empty() {
        svg.push_str("<g class=\"base\" aria-hidden=\"true\">");
        draw_base(&f, base, &mut svg);
        svg.push_str("</g>");
    }
    svg.push_str(&format!("<path class=\"self\" d=\"{}\"/>", f.path(&own)));
    let mut labels = String::new();
    let shapes: Vec<(&GridRow, Boundary)> = kids
        .iter()
        .filter_map(|k| rules::parse_boundary_text(&k.boundary).ok().map(|b| (k, b)))
        .collect();
    for (kid, b) in &shapes {
        let note = overlay.notes.get(&kid.code).map(String::as_str);
        let fill = overlay.fills.get(&kid.code).copied().unwrap_or("");
        let name = match note {
            Some(n) => format!("{}，{n}", kid.name),
            None => kid.name.clone(),
        };
        let _ = write!(
            svg,
            "<a href=\"{}\" class=\"kid {fill}\" aria-label=\"{}\"><path d=\"{}\"><title>{}</title></path></a>",
            attr_escape(&(overlay.child_href)(&kid.code)),
            attr_escape(&name),
            f.path(b),
            attr_escape(&name)
        );
        label(&f, b, &kid.name, note, &mut labels);
    }
    if shapes.is_empty() {
        label(&f, &own, &g.name, overlay.notes.get(&g.code).map(String::as_str), &mut labels);
    }
    // Labels above every fill, and not in the way of a click (the link is the area beneath).
    let _ = write!(svg, "<g class=\"labels\" aria-hidden=\"true\">{labels}</g>");
    let (x0, y0, x1, y1) = (-AREA_PAD, -AREA_PAD, f.width + AREA_PAD, f.height + AREA_PAD);
    let points: Vec<&MapPoint> = overlay
        .points
        .iter()
        .filter(|p| {
            let (x, y) = f.xy(p.lat, p.lng);
            (x0..=x1).contains(&x) && (y0..=y1).contains(&y)
        })
        .take(MAX_POINTS)
        .collect();
    if !points.is_empty() {
        svg.push_str("<g class=\"points\">");
        for p in points {
            let (x, y) = f.xy(p.lat, p.lng);
            let title = attr_escape(&p.title);
            let dot = format!(
                "<circle class=\"pt {}\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{POINT_R}\"><title>{title}</title></circle>",
                p.class
            );
            match &p.href {
                Some(href) => {
                    let _ = write!(svg, "<a href=\"{}\" aria-label=\"{title}\">{dot}</a>", attr_escape(href));
                }
                None => {
                    let _ = write!(svg, "<g role=\"img\" aria-label=\"{title}\">{dot}</g>");
                }
            }
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// A boundary's rings in view coordinates.
fn rings_xy(f: &Frame, b: &Boundary) -> Vec<Vec<(f64, f64)>> {
    std::iter::once(b.polygon.exterior())
        .chain(b.polygon.interiors())
        .map(|r| r.0.iter().map(|c| f.xy(c.y, c.x)).collect())
        .collect()
}

fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let l = dx * dx + dy * dy;
    let t = if l == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l).clamp(0.0, 1.0)
    };
    ((p.0 - a.0 - dx * t).powi(2) + (p.1 - a.1 - dy * t).powi(2)).sqrt()
}

/// Distance from `p` to the rings' nearest edge, negative when outside (even-odd rule).
fn depth(rings: &[Vec<(f64, f64)>], p: (f64, f64)) -> f64 {
    let mut inside = false;
    let mut d = f64::MAX;
    for r in rings {
        for w in r.windows(2) {
            let (a, b) = (w[0], w[1]);
            if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
                inside = !inside;
            }
            d = d.min(seg_dist(p, a, b));
        }
    }
    if inside { d } else { -d }
}

/// Where a label goes: the point deepest inside the shape (its pole of inaccessibility, found
/// by a coarse grid search refined twice around the best), and how deep that is. A concave
/// shape's centroid may lie outside it; this never does.
pub fn label_spot(rings: &[Vec<(f64, f64)>]) -> ((f64, f64), f64) {
    let Some(outer) = rings.first().filter(|r| !r.is_empty()) else {
        return ((0.0, 0.0), 0.0);
    };
    let (x0, y0, x1, y1) = outer.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(a, b, c, d), p| {
        (a.min(p.0), b.min(p.1), c.max(p.0), d.max(p.1))
    });
    let n = outer.len() as f64;
    let mean = (
        outer.iter().map(|p| p.0).sum::<f64>() / n,
        outer.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let mut best = (mean, depth(rings, mean));
    let steps = 12;
    let (mut sx, mut sy) = ((x1 - x0) / steps as f64, (y1 - y0) / steps as f64);
    for i in 0..=steps {
        for j in 0..=steps {
            let p = (x0 + sx * i as f64, y0 + sy * j as f64);
            let d = depth(rings, p);
            if d > best.1 {
                best = (p, d);
            }
        }
    }
    for _ in 0..2 {
        let c = best.0;
        for i in -3..=3 {
            for j in -3..=3 {
                let p = (c.0 + sx * i as f64 / 3.0, c.1 + sy * j as f64 / 3.0);
                let d = depth(rings, p);
                if d > best.1 {
                    best = (p, d);
                }
            }
        }
        sx /= 3.0;
        sy /= 3.0;
    }
    best
}

/// Width of a text in ems: CJK characters are square, ASCII about half.
fn ems(s: &str) -> f64 {
    s.chars().map(|c| if c.is_ascii() { 0.6 } else { 1.0 }).sum()
}

/// Generic endings a crowded label drops first (人民路街道 → 人民路).
const SUFFIXES: [&str; 6] = ["街道办事处", "街道", "社区", "村民小组", "小区", "家属院"];

/// The text and font size of a label with `room` view units of width and `depth` of half-height:
/// the whole name as large as fits (within LABEL_MIN–LABEL_MAX); if it would be smaller than
/// LABEL_MIN, the name without its generic ending, then cut short with an ellipsis.
pub fn fit_label(name: &str, depth: f64) -> (String, f64) {
    let room = depth * 1.9;
    let size_for = |s: &str| (room / ems(s).max(1.0)).min(depth * 0.9).min(LABEL_MAX);
    let size = size_for(name);
    if size >= LABEL_MIN {
        return (name.to_string(), size);
    }
    let short = SUFFIXES
        .iter()
        .find_map(|x| name.strip_suffix(x).filter(|s| s.chars().count() >= 2))
        .unwrap_or(name);
    if size_for(short) >= LABEL_MIN {
        return (short.to_string(), size_for(short));
    }
    // At the smallest size: as many characters as fit, at least two, then "…".
    let mut out = String::new();
    for c in short.chars() {
        if out.chars().count() >= 2 && (ems(&out) + ems(&c.to_string()) + 1.0) * LABEL_MIN > room {
            out.push('…');
            return (out, LABEL_MIN);
        }
        out.push(c);
    }
    (out, LABEL_MIN)
}

/// The label of one area: its name, and the note on a second, smaller line.
fn label(f: &Frame, b: &Boundary, name: &str, note: Option<&str>, out: &mut String) {
    let rings = rings_xy(f, b);
    let ((x, y), d) = label_spot(&rings);
    let with_note = note.filter(|n| !n.is_empty());
    // A note takes some of the height: the name gets the rest.
    let (text, size) = fit_label(name, if with_note.is_some() { d * 0.7 } else { d });
    let _ = match with_note {
        None => write!(
            out,
            "<text x=\"{x:.0}\" y=\"{y:.0}\" font-size=\"{size:.0}\">{}</text>",
            attr_escape(&text)
        ),
        Some(n) => {
            let ns = (size * 0.72).max(NOTE_MIN);
            let block = size + ns * 1.2;
            let ny = y + block / 2.0 - ns * 0.6;
            let y = y - block / 2.0 + size / 2.0;
            write!(
                out,
                "<text x=\"{x:.0}\" y=\"{y:.0}\" font-size=\"{size:.0}\">{}</text><text class=\"note\" x=\"{x:.0}\" y=\"{ny:.0}\" font-size=\"{ns:.0}\">{}</text>",
                attr_escape(&text),
                attr_escape(n)
            )
        }
    };
}

/// Douglas–Peucker in view units: the line with only the points that matter at this scale.
fn simplify(pts: &[(f64, f64)], eps: f64) -> Vec<(f64, f64)> {
    if pts.len() < 3 {
        return pts.to_vec();
    }
    let mut keep = vec![false; pts.len()];
    keep[0] = true;
    keep[pts.len() - 1] = true;
    let mut stack = vec![(0, pts.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let (mut far, mut at) = (0.0, 0);
        for i in a + 1..b {
            let d = seg_dist(pts[i], pts[a], pts[b]);
            if d > far {
                (far, at) = (d, i);
            }
        }
        if far > eps {
            keep[at] = true;
            stack.push((a, at));
            stack.push((at, b));
        }
    }
    pts.iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| *p).collect()
}

/// A line's path data, simplified, to whole view units (`Z` to close it).
fn line_d(f: &Frame, pts: &[(f64, f64)], close: bool, d: &mut String) {
    let xy: Vec<(f64, f64)> = pts.iter().map(|&(lng, lat)| f.xy(lat, lng)).collect();
    for (i, (x, y)) in simplify(&xy, SIMPLIFY).iter().enumerate() {
        let _ = write!(d, "{}{x:.0} {y:.0}", if i == 0 { "M" } else { "L" });
    }
    if close {
        d.push('Z');
    }
}

fn length(f: &Frame, line: &[(f64, f64)]) -> f64 {
    line.windows(2)
        .map(|w| {
            let (a, b) = (f.xy(w[0].1, w[0].0), f.xy(w[1].1, w[1].0));
            ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
        })
        .sum()
}

/// The base layers under the grid: areas, rivers, roads (longest first, within a byte budget),
/// then the names of the longest rivers and roads along them and the landmarks with their names.
fn draw_base(f: &Frame, base: &[BaseFeature], svg: &mut String) {
    let (min_lat, min_lng, max_lat, max_lng) = f.window(AREA_PAD);
    let in_view = |b: &BaseFeature| {
        let (a, c, e, d) = b.geometry.bbox();
        e >= min_lat && a <= max_lat && d >= min_lng && c <= max_lng
    };
    let start = svg.len();
    let rank = |b: &BaseFeature| match b.class {
        "water" | "green" => 0,
        "river" => 1,
        _ => 2,
    };
    let mut shown: Vec<(&BaseFeature, f64)> = base
        .iter()
        .filter(|b| in_view(b) && b.class != "landmark")
        .map(|b| {
            let len = match &b.geometry {
                Geometry::Lines(ls) => ls.iter().map(|l| length(f, l)).sum(),
                Geometry::Polygons(ps) => ps.iter().filter_map(|p| p.first()).map(|r| length(f, r)).sum(),
                Geometry::Point(..) => 0.0,
            };
            (b, len)
        })
        // Smaller than a dot at this scale: not drawn.
        .filter(|(_, len)| *len >= 2.0 * SIMPLIFY)
        .collect();
    shown.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(b.1.total_cmp(&a.1)));
    let mut names: Vec<(&str, &str, (f64, f64), f64)> = Vec::new();
    for (b, len) in &shown {
        if svg.len() - start > BASE_BUDGET {
            break;
        }
        let mut d = String::new();
        match &b.geometry {
            Geometry::Lines(ls) => ls.iter().for_each(|l| line_d(f, l, false, &mut d)),
            Geometry::Polygons(ps) => ps.iter().flatten().for_each(|r| line_d(f, r, true, &mut d)),
            Geometry::Point(..) => {}
        }
        let _ = write!(svg, "<path class=\"{}\" d=\"{d}\"/>", b.class);
        let named = matches!(b.class, "road" | "river") && !b.name.is_empty() && *len > 150.0;
        if named
            && names.len() < ROAD_NAMES
            && !names.iter().any(|n| n.1 == b.name)
            && let Some(spot) = name_spot(f, &b.geometry)
        {
            names.push((b.class, &b.name, spot.0, spot.1));
        }
    }
    for (class, name, (x, y), angle) in names {
        let _ = write!(
            svg,
            "<text class=\"{class}-name\" x=\"{x:.0}\" y=\"{y:.0}\" font-size=\"{ROAD_FONT}\" transform=\"rotate({angle:.0} {x:.0} {y:.0})\">{}</text>",
            attr_escape(name)
        );
    }
    for b in base.iter().filter(|b| b.class == "landmark" && in_view(b)) {
        if let Geometry::Point(lng, lat) = b.geometry {
            let (x, y) = f.xy(lat, lng);
            let _ = write!(
                svg,
                "<g class=\"landmark\"><rect x=\"{:.0}\" y=\"{:.0}\" width=\"12\" height=\"12\" transform=\"rotate(45 {x:.0} {y:.0})\"/><text x=\"{:.0}\" y=\"{y:.0}\" font-size=\"24\">{}</text></g>",
                x - 6.0,
                y - 6.0,
                x + 14.0,
                attr_escape(&b.name)
            );
        }
    }
}

/// Where a road's name goes: the middle of its longest segment, turned along it and kept upright.
fn name_spot(f: &Frame, g: &Geometry) -> Option<((f64, f64), f64)> {
    let Geometry::Lines(ls) = g else { return None };
    type Segment = ((f64, f64), (f64, f64), f64);
    let mut best: Option<Segment> = None;
    for l in ls {
        let xy: Vec<(f64, f64)> = l.iter().map(|&(lng, lat)| f.xy(lat, lng)).collect();
        for w in simplify(&xy, 8.0).windows(2) {
            let len = ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt();
            if best.is_none_or(|b| len > b.2) {
                best = Some((w[0], w[1], len));
            }
        }
    }
    let (a, b, _) = best?;
    let mut angle = (b.1 - a.1).atan2(b.0 - a.0).to_degrees();
    if angle > 90.0 {
        angle -= 180.0;
    } else if angle < -90.0 {
        angle += 180.0;
    }
    Some((((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0), angle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rectangle node's boundary, lat 33.60–33.61, lng 114.64–114.66.
    const RECT: &str = r#"{"type":"Polygon","coordinates":[[[114.64,33.60],[114.66,33.60],[114.66,33.61],[114.64,33.61],[114.64,33.60]]]}"#;

    fn inside_view(f: &Frame, (x, y): (f64, f64)) -> bool {
        // Fully inside, with room for the pin's halo.
        (-PAD + HALO..=f.width + PAD - HALO).contains(&x) && (-PAD + HALO..=f.height + PAD - HALO).contains(&y)
    }

    #[test]
    fn corners_and_centre_land_where_expected() {
        let f = Frame::around((33.60, 114.64, 33.61, 114.66), None);
        // Wider than tall (0.02° of longitude ≈ 0.0167° of latitude here, vs 0.01°).
        assert!((f.width - SIDE).abs() < 1e-6 && f.height < f.width);
        let (x, y) = f.xy(33.61, 114.64);
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6, "north-west corner at the origin: {x},{y}");
        let (x, y) = f.xy(33.60, 114.66);
        assert!(
            (x - f.width).abs() < 1e-6 && (y - f.height).abs() < 1e-6,
            "south-east corner: {x},{y}"
        );
        let (x, y) = f.xy(33.605, 114.65);
        assert!((x - f.width / 2.0).abs() < 1e-6 && (y - f.height / 2.0).abs() < 1e-6);
    }

    #[test]
    fn a_point_outside_the_boundary_widens_the_view() {
        let bbox = (33.60, 114.64, 33.61, 114.66);
        let far = (33.62, 114.63);
        let plain = Frame::around(bbox, None);
        assert!(!inside_view(&plain, plain.xy(far.0, far.1)));
        let f = Frame::around(bbox, Some(far));
        assert!(inside_view(&f, f.xy(far.0, far.1)));
        // And the grid itself is still fully in view.
        for (lat, lng) in [(33.60, 114.64), (33.61, 114.66)] {
            assert!(inside_view(&f, f.xy(lat, lng)));
        }
    }

    #[test]
    fn a_thin_grid_still_draws_as_a_readable_box() {
        let f = Frame::around((33.600, 114.60, 33.601, 114.70), None);
        assert!(f.height >= f.width * MIN_ASPECT - 1e-6, "{} x {}", f.width, f.height);
        let (x, y) = f.xy(33.6005, 114.65);
        assert!(
            (x - f.width / 2.0).abs() < 1e-6 && (y - f.height / 2.0).abs() < 1e-6,
            "kept centred"
        );
    }

    #[test]
    fn the_svg_marks_the_point_inside_its_view_box() {
        let svg = draw(("1号楼<A>", RECT), None, &[], Some((33.6075, 114.645)));
        let vb: Vec<f64> = svg
            .split("viewBox=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        let num = |attr: &str| -> f64 {
            let at = svg.find(attr).unwrap() + attr.len();
            svg[at..].split('"').next().unwrap().parse().unwrap()
        };
        let (x, y) = (num("cx=\""), num("cy=\""));
        assert!(
            x > vb[0] && x < vb[0] + vb[2] && y > vb[1] && y < vb[1] + vb[3],
            "{x},{y} in {vb:?}"
        );
        // A quarter of the way across from the west, a quarter down from the north.
        let f = Frame::around((33.60, 114.64, 33.61, 114.66), None);
        assert!((x - f.width / 4.0).abs() < 0.1 && (y - f.height / 4.0).abs() < 0.1, "{x},{y}");
        assert_eq!(svg.matches("class=\"pin\"").count(), 1);
        assert!(svg.contains("1号楼&lt;A&gt;网格图"), "the name is escaped: {svg}");
        assert!(boundary_holds(RECT, 33.6075, 114.645) && !boundary_holds(RECT, 33.62, 114.645));
    }

    #[test]
    fn a_building_is_drawn_inside_its_compound() {
        let compound = r#"{"type":"Polygon","coordinates":[[[114.62,33.59],[114.68,33.59],[114.68,33.62],[114.62,33.62],[114.62,33.59]]]}"#;
        let svg = draw(("1号楼", RECT), Some(("幸福小区", compound)), &[], Some((33.605, 114.65)));
        assert!(svg.contains("class=\"around\"") && svg.contains("<title>幸福小区</title>"));
        // The view is the compound's: the building's north-west corner is no longer at the origin.
        let f = Frame::around((33.59, 114.62, 33.62, 114.68), None);
        let (x, y) = f.xy(33.61, 114.64);
        assert!(x > 100.0 && y > 100.0);
        assert!(
            svg.contains(&format!("M{x:.1},{y:.1}")) || svg.contains(&format!("L{x:.1},{y:.1}")),
            "{svg}"
        );
        let (px, py) = f.xy(33.605, 114.65);
        assert!(svg.contains(&format!("cx=\"{px:.1}\" cy=\"{py:.1}\"")));
    }

    #[test]
    fn without_a_point_there_is_no_pin() {
        let svg = draw(("1号楼", RECT), None, &[("2号楼", RECT)], None);
        assert!(svg.starts_with("<svg") && svg.contains("class=\"self\""));
        assert!(!svg.contains("class=\"pin\"") && svg.contains("未标注位置"));
        assert!(svg.contains("<title>2号楼</title>"), "children are outlined");
    }

    fn row(code: &str, name: &str, level: i64, boundary: String) -> GridRow {
        let b = rules::parse_boundary_text(&boundary).unwrap();
        GridRow {
            code: code.into(),
            district: "411602".into(),
            level,
            kind: "street".into(),
            name: name.into(),
            parent_code: None,
            boundary: b.geojson,
            center_lat: b.center.0,
            center_lng: b.center.1,
            children: 0,
            households: 0,
            residents: 0,
            property_company_id: None,
        }
    }

    /// The demo district's root and streets as grid rows, and its base layers.
    fn district() -> (GridRow, Vec<GridRow>, Vec<BaseFeature>) {
        let p = crate::demo::plan::plan(crate::demo::plan::DISTRICT, 20231);
        let rows: Vec<GridRow> = p
            .grids
            .iter()
            .filter(|g| g.level <= 2)
            .map(|g| row(&g.code, &g.name, g.level, g.shape.geojson().to_string()))
            .collect();
        let b = rules::parse_boundary_text(&rows[0].boundary).unwrap().bbox;
        let base = crate::demo::basemap::layers(&p, 20231)
            .into_iter()
            .flat_map(|(kind, fc)| crate::grid::layers::parse_collection(&fc.to_string(), kind, None, b).unwrap())
            .collect();
        (rows[0].clone(), rows[1..].to_vec(), base)
    }

    #[test]
    fn every_child_is_labelled_and_linked_in_a_group() {
        let (root, streets, base) = district();
        let svg = area_map_svg(&root, &streets, &base, &Overlay::default());
        // Links inside: a group, not an image (WCAG 4.1.2).
        assert!(svg.starts_with("<svg") && svg.contains("role=\"group\"") && !svg.contains("role=\"img\" aria-label=\"川汇区"));
        let labels = svg.split("<g class=\"labels\"").nth(1).unwrap();
        for s in &streets {
            assert!(
                svg.contains(&format!(
                    "href=\"/console/grids/{}\" class=\"kid \" aria-label=\"{}\"",
                    s.code, s.name
                )),
                "{}",
                s.name
            );
            let short = s.name.strip_suffix("街道").unwrap_or(&s.name);
            assert!(
                labels.contains(&format!(">{}</text>", s.name)) || labels.contains(&format!(">{short}</text>")),
                "label of {}",
                s.name
            );
        }
        assert_eq!(labels.matches("<text").count(), streets.len());
        // Each label sits inside its own street.
        for s in &streets {
            let b = rules::parse_boundary_text(&s.boundary).unwrap();
            let f = Frame::around(rules::parse_boundary_text(&root.boundary).unwrap().bbox, None);
            let ((x, y), d) = label_spot(&rings_xy(&f, &b));
            assert!(d > 0.0 && labels.contains(&format!("x=\"{x:.0}\" y=\"{y:.0}\"")), "{}", s.name);
        }
        // Base layers are under the grid: drawn before the first child.
        let (first_kid, river) = (svg.find("class=\"kid").unwrap(), svg.find("class=\"river\"").unwrap());
        assert!(river < first_kid);
        assert!(svg.contains(">区政府</text>") && svg.contains("class=\"road-name\""));
    }

    #[test]
    fn the_district_view_stays_small() {
        let (root, streets, base) = district();
        let mut overlay = Overlay::default();
        let b = rules::parse_boundary_text(&root.boundary).unwrap();
        // A thousand case points, as a busy screen would show.
        for i in 0..1000 {
            let t = i as f64 / 1000.0;
            overlay.points.push(MapPoint {
                lat: b.bbox.0 + (b.bbox.2 - b.bbox.0) * t,
                lng: b.bbox.1 + (b.bbox.3 - b.bbox.1) * ((t * 7.0) % 1.0),
                class: "open",
                title: format!("案件{i}"),
                href: Some(format!("/console/cases/{i}")),
            });
        }
        let svg = area_map_svg(&root, &streets, &base, &overlay);
        if let Ok(path) = std::env::var("GONGZHI_MAP_DUMP") {
            std::fs::write(
                path,
                format!(
                    "<!doctype html><meta charset=utf-8><link rel=stylesheet href=app.css><body style=\"width:{}px\">{svg}",
                    1000
                ),
            )
            .unwrap();
        }
        let plain = area_map_svg(&root, &streets, &base, &Overlay::default());
        assert!(plain.len() < 40_000, "district view without points: {} bytes", plain.len());
        assert!(svg.len() < 250_000, "district view with 1,000 points: {} bytes", svg.len());
        assert_eq!(svg.matches("class=\"pt open\"").count(), 1000);
    }

    #[test]
    fn overlay_colours_notes_points_and_drill_down() {
        let (root, streets, _) = district();
        let mut o = Overlay {
            child_href: |code| format!("/console/command?grid={code}"),
            ..Overlay::default()
        };
        o.fills.insert(streets[0].code.clone(), "alarm");
        o.notes.insert(streets[0].code.clone(), "12件 · 超期3".into());
        let (lat, lng) = (streets[1].center_lat, streets[1].center_lng);
        o.points.push(MapPoint {
            lat,
            lng,
            class: "overdue",
            title: "井盖<缺失>".into(),
            href: None,
        });
        o.points.push(MapPoint {
            lat: 0.0,
            lng: 0.0,
            class: "overdue",
            title: "far away".into(),
            href: None,
        });
        let svg = area_map_svg(&root, &streets, &[], &o);
        assert!(svg.contains(&format!("href=\"/console/command?grid={}\" class=\"kid alarm\"", streets[0].code)));
        assert!(svg.contains(&format!("aria-label=\"{}，12件 · 超期3\"", streets[0].name)));
        assert!(svg.contains("class=\"note\"") && svg.contains(">12件 · 超期3</text>"));
        assert!(
            svg.contains("<title>井盖&lt;缺失&gt;</title>") && !svg.contains("far away"),
            "points outside the view are left out"
        );
        assert!(!svg.contains("class=\"base\""), "no base layers given, none drawn");
    }

    #[test]
    fn a_node_without_children_is_labelled_itself() {
        let g = row("411602001001001001", "1号楼", 5, RECT.into());
        let svg = area_map_svg(&g, &[], &[], &Overlay::default());
        assert!(svg.contains(">1号楼</text>") && !svg.contains("<a "));
    }

    #[test]
    fn labels_shrink_then_shorten_then_cut() {
        let (t, s) = fit_label("人民路街道", 200.0);
        assert_eq!(t, "人民路街道");
        assert!((LABEL_MIN..=LABEL_MAX).contains(&s));
        let (t, s) = fit_label("人民路街道", 70.0);
        assert_eq!((t.as_str(), s), ("人民路", LABEL_MIN.max(s)));
        let (t, s) = fit_label("中原路东段第三社区", 40.0);
        assert!(t.ends_with('…') && t.chars().count() >= 3 && s == LABEL_MIN, "{t}");
        let (t, _) = fit_label("幸福", 5.0);
        assert_eq!(t, "幸福", "two characters are always kept");
    }

    #[test]
    fn a_concave_shape_gets_its_label_inside() {
        // An L: its centroid lies outside the shape.
        let l = vec![vec![
            (0.0, 0.0),
            (100.0, 0.0),
            (100.0, 20.0),
            (20.0, 20.0),
            (20.0, 100.0),
            (0.0, 100.0),
            (0.0, 0.0),
        ]];
        let ((x, y), d) = label_spot(&l);
        assert!(d > 5.0 && depth(&l, (x, y)) > 0.0, "{x},{y} {d}");
    }

    #[test]
    fn simplification_keeps_the_shape_and_drops_the_noise() {
        let wiggly: Vec<(f64, f64)> = (0..=1000).map(|i| (i as f64, if i % 2 == 0 { 0.0 } else { 0.5 })).collect();
        assert_eq!(simplify(&wiggly, 1.5).len(), 2);
        let corner = vec![(0.0, 0.0), (50.0, 0.2), (100.0, 0.0), (100.0, 100.0)];
        assert_eq!(simplify(&corner, 1.5), vec![(0.0, 0.0), (100.0, 0.0), (100.0, 100.0)]);
    }
}
