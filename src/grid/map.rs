//! Small maps drawn on the server as SVG (no tiles, no fonts): a point inside a grid node's boundary.

use geo::{Intersects, Point};

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
}
