//! Grid rules: levels and kinds, hierarchical codes, boundary polygons. Pure, no I/O.

use geo::{Area, BooleanOps, BoundingRect, Coord, InteriorPoint, LineString, Polygon, Validation};
use serde_json::Value;

/// The five grid levels (五级网格).
pub const LEVEL_NAMES: [&str; 5] = ["区", "街道", "社区/村", "小区/自然村", "楼栋/小组"];

/// Kinds of grid node and the level each sits at.
pub const KINDS: [(&str, i64, &str); 8] = [
    ("district", 1, "区"),
    ("street", 2, "街道"),
    ("community", 3, "社区"),
    ("village", 3, "行政村"),
    ("compound", 4, "小区"),
    ("natural_village", 4, "自然村"),
    ("building", 5, "楼栋"),
    ("group", 5, "村民小组"),
];

pub fn kind_level(kind: &str) -> Option<i64> {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.1)
}

pub fn kind_label(kind: &str) -> &'static str {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.2).unwrap_or("网格")
}

pub fn level_label(level: i64) -> &'static str {
    LEVEL_NAMES.get((level - 1).max(0) as usize).copied().unwrap_or("网格")
}

/// Digits each level adds to its parent's code: a district is its 6-digit GB/T 2260 code, a street
/// adds 3 (as in the statistical division codes), a community 3, a compound 3, a building 3.
pub const CODE_DIGITS: [usize; 5] = [6, 3, 3, 3, 3];

/// Digits in a code of `level` (1 district … 5 building); a level outside 1–5 is taken as the
/// nearest one, so a bad level never panics.
pub fn code_len(level: i64) -> usize {
    CODE_DIGITS[..level.clamp(1, CODE_DIGITS.len() as i64) as usize].iter().sum()
}

/// A district code: six digits, province 11–65.
pub fn valid_district_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|c| c.is_ascii_digit()) && (11..=82).contains(&code[..2].parse::<u32>().unwrap_or(0))
}

/// Check a child's code against its parent's: the parent's code, then the level's digits, not all zero.
pub fn check_child_code(parent_code: &str, parent_level: i64, child_code: &str) -> Result<(), String> {
    if parent_level >= 5 {
        return Err("楼栋/小组是最末一级网格，不能再划分下级".into());
    }
    let want = code_len(parent_level + 1);
    let suffix = child_code.strip_prefix(parent_code).unwrap_or("");
    if !child_code.starts_with(parent_code)
        || child_code.len() != want
        || !suffix.bytes().all(|c| c.is_ascii_digit())
        || suffix.bytes().all(|c| c == b'0')
    {
        return Err(format!(
            "网格编码应为上级编码 {parent_code} 加 {} 位数字（共 {want} 位，且新增部分不全为0）",
            want - parent_code.len()
        ));
    }
    Ok(())
}

/// The exclusive upper bound of a code subtree: every descendant code `c` has `code <= c < upper`.
/// Codes are ASCII digits, so ':' (the next byte after '9') bounds them on both engines.
pub fn subtree_upper(code: &str) -> String {
    format!("{code}:")
}

/// A parsed, validated boundary.
#[derive(Debug, Clone)]
pub struct Boundary {
    pub polygon: Polygon<f64>,
    /// Normalised GeoJSON text.
    pub geojson: String,
    pub center: (f64, f64),
    /// (min_lat, min_lng, max_lat, max_lng)
    pub bbox: (f64, f64, f64, f64),
}

fn ring(v: &Value, which: &str) -> Result<LineString<f64>, String> {
    let pts = v.as_array().ok_or_else(|| format!("{which}应为坐标数组"))?;
    let mut coords = Vec::with_capacity(pts.len());
    for p in pts {
        let a = p
            .as_array()
            .filter(|a| a.len() >= 2)
            .ok_or_else(|| format!("{which}的坐标应为 [经度, 纬度]"))?;
        let (x, y) = (a[0].as_f64(), a[1].as_f64());
        let (Some(x), Some(y)) = (x, y) else {
            return Err(format!("{which}的坐标应为数字"));
        };
        if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
            return Err(format!("{which}的坐标超出经纬度范围（经度在前，纬度在后）"));
        }
        coords.push(Coord { x, y });
    }
    if coords.len() < 4 {
        return Err(format!("{which}至少需要4个坐标点（首尾相同）"));
    }
    if coords.first() != coords.last() {
        return Err(format!("{which}未闭合：首尾坐标应相同"));
    }
    Ok(LineString(coords))
}

/// Parse and validate a GeoJSON Polygon (text or value): closed rings, no self-intersection,
/// holes inside the shell, positive area. Computes a centre point guaranteed to lie inside.
/// The most rings and vertices one boundary may have (a real building or compound has tens).
pub const MAX_RINGS: usize = 50;
pub const MAX_VERTICES: usize = 2_000;

pub fn parse_boundary(v: &Value) -> Result<Boundary, String> {
    if v.get("type").and_then(Value::as_str) != Some("Polygon") {
        return Err("边界应为 GeoJSON Polygon（type 为 \"Polygon\"）".into());
    }
    let rings = v.get("coordinates").and_then(Value::as_array).ok_or("边界缺少 coordinates")?;
    if rings.is_empty() {
        return Err("边界至少需要一个外环".into());
    }
    // Validation and overlap checks grow faster than the vertex count: bound what one request costs.
    let vertices: usize = rings.iter().map(|r| r.as_array().map_or(0, Vec::len)).sum();
    if rings.len() > MAX_RINGS || vertices > MAX_VERTICES {
        return Err(format!("边界过于复杂：最多{MAX_RINGS}个环、共{MAX_VERTICES}个顶点"));
    }
    let exterior = ring(&rings[0], "边界外环")?;
    let interiors = rings[1..].iter().map(|r| ring(r, "边界内环")).collect::<Result<Vec<_>, _>>()?;
    let polygon = Polygon::new(exterior, interiors);
    if let Err(e) = polygon.check_validation() {
        use geo::algorithm::validation::InvalidPolygon as P;
        return Err(match e {
            P::TooFewPointsInRing(_) => "边界环至少需要3个不同的点".into(),
            P::SelfIntersection(_) => "边界自相交（边与边交叉）".into(),
            P::NonFiniteCoord(..) => "边界含有无效坐标".into(),
            _ => "边界内环应完全位于外环之内且互不相交".into(),
        });
    }
    if polygon.unsigned_area() <= 0.0 {
        return Err("边界面积为零".into());
    }
    let center = polygon.interior_point().ok_or("无法计算边界中心点")?;
    let rect = polygon.bounding_rect().ok_or("无法计算边界范围")?;
    Ok(Boundary {
        geojson: to_geojson(&polygon),
        center: (center.y(), center.x()),
        bbox: (rect.min().y, rect.min().x, rect.max().y, rect.max().x),
        polygon,
    })
}

pub fn parse_boundary_text(text: &str) -> Result<Boundary, String> {
    let v: Value = serde_json::from_str(text).map_err(|_| "边界不是合法的 GeoJSON 文本".to_string())?;
    parse_boundary(&v)
}

/// GeoJSON text of a polygon, coordinates rounded to 1e-7 degrees (about 1 cm).
pub fn to_geojson(p: &Polygon<f64>) -> String {
    let ring = |l: &LineString<f64>| -> Value { Value::Array(l.0.iter().map(|c| serde_json::json!([round7(c.x), round7(c.y)])).collect()) };
    let mut rings = vec![ring(p.exterior())];
    rings.extend(p.interiors().iter().map(ring));
    serde_json::json!({"type": "Polygon", "coordinates": rings}).to_string()
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Share of `child`'s area that lies outside `parent` (0 = fully inside).
pub fn outside_share(child: &Polygon<f64>, parent: &Polygon<f64>) -> f64 {
    let a = child.unsigned_area();
    if a == 0.0 {
        return 0.0;
    }
    let inside = child.intersection(parent).unsigned_area();
    ((a - inside) / a).max(0.0)
}

/// Share of `a`'s area that overlaps `b`.
pub fn overlap_share(a: &Polygon<f64>, b: &Polygon<f64>) -> f64 {
    let area = a.unsigned_area();
    if area == 0.0 {
        return 0.0;
    }
    a.intersection(b).unsigned_area() / area
}

/// Tolerance for rounding at shared edges.
pub const AREA_TOLERANCE: f64 = 0.001;

#[cfg(test)]
mod tests {

    #[test]
    fn a_level_outside_one_to_five_never_panics() {
        assert_eq!((code_len(0), code_len(-3)), (6, 6));
        assert_eq!((code_len(6), code_len(i64::MAX)), (18, 18));
    }

    #[test]
    fn a_boundary_too_complex_is_refused_before_it_is_checked() {
        let ring = |n: usize| -> Vec<[f64; 2]> {
            let mut r: Vec<[f64; 2]> = (0..n)
                .map(|i| {
                    let a = i as f64 / n as f64 * std::f64::consts::TAU;
                    [114.6 + 0.01 * a.cos(), 33.6 + 0.01 * a.sin()]
                })
                .collect();
            r.push(r[0]);
            r
        };
        let poly = |n: usize| serde_json::json!({"type": "Polygon", "coordinates": [ring(n)]});
        assert!(parse_boundary(&poly(MAX_VERTICES - 1)).is_ok());
        let e = parse_boundary(&poly(MAX_VERTICES + 1)).unwrap_err();
        assert!(e.contains("过于复杂"), "{e}");
    }

    use super::*;
    use geo::Contains;
    use proptest::prelude::*;
    use serde_json::json;

    fn square(x: f64, y: f64, s: f64) -> Value {
        json!({"type":"Polygon","coordinates":[[[x,y],[x+s,y],[x+s,y+s],[x,y+s],[x,y]]]})
    }

    #[test]
    fn codes() {
        assert!(check_child_code("411602", 1, "411602001").is_ok());
        assert!(check_child_code("411602", 1, "411602000").is_err());
        assert!(check_child_code("411602", 1, "41160201").is_err());
        assert!(check_child_code("411602", 1, "411603001").is_err());
        assert!(check_child_code("411602001", 2, "411602001a01").is_err());
        assert!(check_child_code("411602001001001001", 5, "411602001001001001001").is_err());
        assert_eq!(code_len(5), 18);
        let up = subtree_upper("411602001");
        assert!("411602001" < up.as_str() && "411602001999999999" < up.as_str() && "411602002" > up.as_str());
        assert!(valid_district_code("411602") && !valid_district_code("991602") && !valid_district_code("41160"));
    }

    #[test]
    fn boundaries() {
        let b = parse_boundary(&square(114.6, 33.6, 0.01)).unwrap();
        assert!((b.center.0 - 33.605).abs() < 0.01 && (b.center.1 - 114.605).abs() < 0.01);
        let bowtie = json!({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]});
        assert!(parse_boundary(&bowtie).unwrap_err().contains("自相交"));
        let open = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]});
        assert!(parse_boundary(&open).is_err());
        let unclosed = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0.5]]]});
        assert!(parse_boundary(&unclosed).unwrap_err().contains("未闭合"));
        assert!(parse_boundary(&json!({"type":"Point","coordinates":[0,0]})).is_err());
        assert!(parse_boundary(&json!({"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]})).is_err());
        assert!(parse_boundary_text("{not json").is_err());
        let flat = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[2,0],[0,0]]]});
        assert!(parse_boundary(&flat).is_err());
    }

    #[test]
    fn containment_and_overlap() {
        let parent = parse_boundary(&square(0.0, 0.0, 1.0)).unwrap().polygon;
        let inner = parse_boundary(&square(0.2, 0.2, 0.3)).unwrap().polygon;
        let half_out = parse_boundary(&square(0.5, 0.0, 1.0)).unwrap().polygon;
        let neighbour = parse_boundary(&square(1.0, 0.0, 1.0)).unwrap().polygon;
        assert!(outside_share(&inner, &parent) < AREA_TOLERANCE);
        assert!((outside_share(&half_out, &parent) - 0.5).abs() < 1e-9);
        assert!(overlap_share(&parent, &neighbour) < AREA_TOLERANCE);
        assert!((overlap_share(&half_out, &parent) - 0.5).abs() < 1e-9);
    }

    /// Any JSON value, nested a few levels: what a client may send as a boundary.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            (-200.0f64..200.0).prop_map(|f| json!(f)),
            "[a-zA-Z]{0,8}".prop_map(Value::from),
            Just(json!("Polygon")),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                (inner.clone(), proptest::collection::vec(inner, 0..6)).prop_map(|(t, c)| json!({"type": t, "coordinates": c})),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        // Outside input: any JSON is answered, never a panic; what is accepted is a valid,
        // bounded polygon with its centre and box inside the plane's range.
        #[test]
        fn any_json_is_a_boundary_or_an_error(v in any_json(), ring in proptest::collection::vec((-180.0f64..180.0, -90.0f64..90.0), 0..12)) {
            for candidate in [v.clone(), json!({"type": "Polygon", "coordinates": [ring.iter().map(|(x, y)| json!([x, y])).collect::<Vec<_>>()]})] {
                if let Ok(b) = parse_boundary(&candidate) {
                    prop_assert!(b.polygon.exterior().0.len() <= MAX_VERTICES + 1);
                    prop_assert!(b.polygon.unsigned_area() > 0.0);
                    prop_assert!(b.bbox.0 <= b.center.0 && b.center.0 <= b.bbox.2);
                    prop_assert!(b.bbox.1 <= b.center.1 && b.center.1 <= b.bbox.3);
                    // What is stored reads back as the same shape.
                    let again = parse_boundary_text(&b.geojson).unwrap();
                    prop_assert!((again.polygon.unsigned_area() - b.polygon.unsigned_area()).abs() <= 1e-9 * b.polygon.unsigned_area().max(1.0));
                }
            }
            let _ = parse_boundary_text(&v.to_string()[..v.to_string().len() / 2]);
        }
    }

    proptest! {
        // The centre is inside the polygon for any star-shaped (concave included) ring.
        #[test]
        fn center_is_inside(radii in proptest::collection::vec(0.2f64..1.0, 5..20)) {
            let n = radii.len();
            let mut pts: Vec<Value> = radii.iter().enumerate().map(|(i, r)| {
                let t = i as f64 / n as f64 * std::f64::consts::TAU;
                json!([114.6 + r * 0.01 * t.cos(), 33.6 + r * 0.01 * t.sin()])
            }).collect();
            pts.push(pts[0].clone());
            let b = parse_boundary(&json!({"type":"Polygon","coordinates":[pts]})).unwrap();
            prop_assert!(b.polygon.contains(&geo::Point::new(b.center.1, b.center.0)));
        }
    }
}
