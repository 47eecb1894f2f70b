//! Base layers (底图): roads, rivers, landmarks and areas (parks, water) an operator imports from
//! their survey office as GeoJSON, drawn under the grid. Pure: parsing, validation, encoding.

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// What may be imported, and the word for it.
pub const KINDS: [(&str, &str); 4] = [("road", "道路"), ("river", "河流"), ("landmark", "地标"), ("area", "区域")];

/// The largest file `map import` reads.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// Features in one file.
pub const MAX_FEATURES: usize = 20_000;
/// Vertices in one feature, and in one file.
pub const MAX_FEATURE_VERTICES: usize = 20_000;
pub const MAX_TOTAL_VERTICES: usize = 1_000_000;
/// Characters of a name.
pub const MAX_NAME_CHARS: usize = 40;
/// How far beyond the district's box a feature may start: this share of the box's size.
pub const NEAR_SHARE: f64 = 0.25;

pub fn kind_label(kind: &str) -> &'static str {
    KINDS.iter().find(|k| k.0 == kind).map_or("底图要素", |k| k.1)
}

/// A feature's shape, [lng, lat] pairs as in GeoJSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// A road or river: one or more lines.
    Lines(Vec<Vec<(f64, f64)>>),
    /// A landmark.
    Point(f64, f64),
    /// An area: polygons, each an exterior ring then holes.
    Polygons(Vec<Vec<Vec<(f64, f64)>>>),
}

impl Geometry {
    fn coords(&self) -> Box<dyn Iterator<Item = &(f64, f64)> + '_> {
        match self {
            Geometry::Lines(ls) => Box::new(ls.iter().flatten()),
            Geometry::Point(..) => Box::new(std::iter::empty()),
            Geometry::Polygons(ps) => Box::new(ps.iter().flatten().flatten()),
        }
    }

    /// (min_lat, min_lng, max_lat, max_lng), the order grid boundaries use.
    pub fn bbox(&self) -> (f64, f64, f64, f64) {
        if let Geometry::Point(lng, lat) = *self {
            return (lat, lng, lat, lng);
        }
        self.coords()
            .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(a, b, c, d), &(x, y)| {
                (a.min(y), b.min(x), c.max(y), d.max(x))
            })
    }

    pub fn vertices(&self) -> usize {
        match self {
            Geometry::Point(..) => 1,
            _ => self.coords().count(),
        }
    }

    /// GeoJSON text, coordinates rounded to 1e-7 degrees (about 1 cm).
    pub fn to_geojson(&self) -> String {
        let pt = |&(x, y): &(f64, f64)| serde_json::json!([round7(x), round7(y)]);
        let line = |l: &Vec<(f64, f64)>| Value::Array(l.iter().map(pt).collect());
        let v = match self {
            Geometry::Lines(ls) if ls.len() == 1 => serde_json::json!({"type": "LineString", "coordinates": line(&ls[0])}),
            Geometry::Lines(ls) => serde_json::json!({"type": "MultiLineString", "coordinates": ls.iter().map(line).collect::<Vec<_>>()}),
            Geometry::Point(x, y) => serde_json::json!({"type": "Point", "coordinates": pt(&(*x, *y))}),
            Geometry::Polygons(ps) => serde_json::json!({"type": "MultiPolygon", "coordinates":
                ps.iter().map(|p| p.iter().map(line).collect::<Vec<_>>()).collect::<Vec<_>>()}),
        };
        v.to_string()
    }

    /// Read back what [`Geometry::to_geojson`] wrote (or any supported type).
    pub fn from_geojson(text: &str) -> Option<Geometry> {
        let v: Value = serde_json::from_str(text).ok()?;
        let ty = v.get("type")?.as_str()?;
        parse_geometry(&v, ty).ok()
    }
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// One feature as imported: its kind, name, drawing class and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseFeature {
    pub kind: String,
    pub name: String,
    /// How it is drawn: `road`, `river`, `landmark`, and for areas `green` (parks) or `water`.
    pub class: &'static str,
    pub geometry: Geometry,
}

/// Drawing class of a feature: an area is water when its `class` property says so or its name
/// reads as water (湖, 河, 塘 …), else green.
pub fn class_of(kind: &str, name: &str, class_prop: Option<&str>) -> &'static str {
    match kind {
        "road" => "road",
        "river" => "river",
        "landmark" => "landmark",
        _ => match class_prop {
            Some("water") => "water",
            Some("green") | Some("park") => "green",
            _ if ["湖", "河", "塘", "池", "渠", "水库", "湿地"].iter().any(|w| name.contains(w)) => "water",
            _ => "green",
        },
    }
}

/// Geometry types each kind accepts.
fn accepts(kind: &str) -> &'static [&'static str] {
    match kind {
        "road" | "river" => &["LineString", "MultiLineString"],
        "landmark" => &["Point"],
        _ => &["Polygon", "MultiPolygon"],
    }
}

fn position(p: &Value) -> Result<(f64, f64), String> {
    let a = p.as_array().filter(|a| a.len() >= 2).ok_or("坐标应为 [经度, 纬度]")?;
    let (Some(x), Some(y)) = (a[0].as_f64(), a[1].as_f64()) else {
        return Err("坐标应为数字".into());
    };
    if !x.is_finite() || !y.is_finite() || !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
        return Err("坐标超出经纬度范围（经度在前，纬度在后）".into());
    }
    Ok((x, y))
}

fn line(v: &Value, min: usize) -> Result<Vec<(f64, f64)>, String> {
    let pts = v.as_array().ok_or("坐标应为数组")?;
    if pts.len() < min {
        return Err(format!("线至少需要{min}个坐标点"));
    }
    pts.iter().map(position).collect()
}

fn polygon(v: &Value) -> Result<Vec<Vec<(f64, f64)>>, String> {
    let rings = v.as_array().filter(|r| !r.is_empty()).ok_or("多边形至少需要一个外环")?;
    rings
        .iter()
        .map(|r| {
            let ring = line(r, 4).map_err(|m| m.replace("线至少", "多边形的环至少"))?;
            if ring.first() != ring.last() {
                return Err("多边形的环未闭合：首尾坐标应相同".into());
            }
            Ok(ring)
        })
        .collect()
}

fn many(c: &Value) -> Result<&Vec<Value>, String> {
    c.as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| "coordinates 不能为空".to_string())
}

fn parse_geometry(v: &Value, ty: &str) -> Result<Geometry, String> {
    let c = v.get("coordinates").ok_or("几何缺少 coordinates")?;
    Ok(match ty {
        "LineString" => Geometry::Lines(vec![line(c, 2)?]),
        "MultiLineString" => Geometry::Lines(many(c)?.iter().map(|l| line(l, 2)).collect::<Result<_, _>>()?),
        "Point" => {
            let (x, y) = position(c)?;
            Geometry::Point(x, y)
        }
        "Polygon" => Geometry::Polygons(vec![polygon(c)?]),
        "MultiPolygon" => Geometry::Polygons(many(c)?.iter().map(polygon).collect::<Result<_, _>>()?),
        other => return Err(format!("不支持的几何类型 {other}")),
    })
}

/// A name as stored: NFKC-normalised, trimmed, whitespace runs made one space.
fn clean_name(raw: &str) -> String {
    raw.nfkc().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parse and check a GeoJSON FeatureCollection of `kind` features near the district whose box is
/// `district_bbox` (min_lat, min_lng, max_lat, max_lng). Each feature's name is its `name`
/// property, else `default_name`; landmarks and areas must have one. Errors name the feature
/// (第N个要素, counting from 1) and what is wrong, in Chinese.
pub fn parse_collection(
    text: &str,
    kind: &str,
    default_name: Option<&str>,
    district_bbox: (f64, f64, f64, f64),
) -> Result<Vec<BaseFeature>, String> {
    if !KINDS.iter().any(|k| k.0 == kind) {
        return Err(format!("未知的底图类型 {kind}：应为 road、river、landmark 或 area"));
    }
    if text.len() > MAX_BYTES {
        return Err(format!("文件过大：最多 {} MB", MAX_BYTES / 1024 / 1024));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("不是合法的 JSON 文本（第{}行第{}列）", e.line(), e.column()))?;
    if v.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err("应为 GeoJSON FeatureCollection（type 为 \"FeatureCollection\"）".into());
    }
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or("FeatureCollection 缺少 features 数组")?;
    if features.is_empty() {
        return Err("文件中没有要素".into());
    }
    if features.len() > MAX_FEATURES {
        return Err(format!("要素过多：一个文件最多{MAX_FEATURES}个（本文件{}个）", features.len()));
    }
    let default_name = default_name.map(clean_name).filter(|n| !n.is_empty());
    let (min_lat, min_lng, max_lat, max_lng) = district_bbox;
    let grow_lat = ((max_lat - min_lat) * NEAR_SHARE).max(0.01);
    let grow_lng = ((max_lng - min_lng) * NEAR_SHARE).max(0.01);
    let mut total = 0;
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let at = |m: String| format!("第{}个要素：{m}", i + 1);
        if f.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(at("应为 Feature".into()));
        }
        let g = f
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| at("缺少 geometry".into()))?;
        let ty = g.get("type").and_then(Value::as_str).unwrap_or("");
        if !accepts(kind).contains(&ty) {
            return Err(at(format!(
                "几何类型 {} 不适用于{}（{}），应为 {}",
                if ty.is_empty() { "（缺失）" } else { ty },
                kind_label(kind),
                kind,
                accepts(kind).join(" 或 ")
            )));
        }
        // Count before parsing, so a huge feature is refused before it is read into memory twice.
        let raw_vertices = count_positions(g.get("coordinates").unwrap_or(&Value::Null));
        if raw_vertices > MAX_FEATURE_VERTICES {
            return Err(at(format!(
                "顶点过多：一个要素最多{MAX_FEATURE_VERTICES}个（本要素{raw_vertices}个）"
            )));
        }
        total += raw_vertices;
        if total > MAX_TOTAL_VERTICES {
            return Err(format!("顶点过多：一个文件最多{MAX_TOTAL_VERTICES}个"));
        }
        let geometry = parse_geometry(g, ty).map_err(at)?;
        let props = f.get("properties");
        let name = props
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(clean_name)
            .filter(|n| !n.is_empty())
            .or_else(|| default_name.clone())
            .unwrap_or_default();
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(at(format!("名称过长：最多{MAX_NAME_CHARS}字")));
        }
        if name.is_empty() && matches!(kind, "landmark" | "area") {
            return Err(at("缺少名称：请在 properties 中给出 name，或用 --name 指定".into()));
        }
        let (a, b, c, d) = geometry.bbox();
        if c < min_lat - grow_lat || a > max_lat + grow_lat || d < min_lng - grow_lng || b > max_lng + grow_lng {
            return Err(at(format!(
                "位于本区范围之外（要素在 {a:.4}°N–{c:.4}°N, {b:.4}°E–{d:.4}°E；本区在 {min_lat:.4}°N–{max_lat:.4}°N, {min_lng:.4}°E–{max_lng:.4}°E）。请确认坐标为 WGS84 经纬度且经度在前"
            )));
        }
        let class_prop = props.and_then(|p| p.get("class")).and_then(Value::as_str);
        out.push(BaseFeature {
            kind: kind.to_string(),
            class: class_of(kind, &name, class_prop),
            name,
            geometry,
        });
    }
    Ok(out)
}

/// How many [x, y] positions a coordinates value holds, at any depth.
fn count_positions(v: &Value) -> usize {
    match v.as_array() {
        Some(a) if a.first().is_some_and(Value::is_number) => 1,
        Some(a) => a.iter().map(count_positions).sum(),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DISTRICT: (f64, f64, f64, f64) = (33.54, 114.57, 33.70, 114.73);

    fn fc(features: Vec<Value>) -> String {
        json!({"type": "FeatureCollection", "features": features}).to_string()
    }
    fn feature(geometry: Value, name: Option<&str>) -> Value {
        json!({"type": "Feature", "properties": name.map(|n| json!({"name": n})).unwrap_or(json!({})), "geometry": geometry})
    }

    #[test]
    fn good_files_of_every_kind() {
        let road = fc(vec![
            feature(
                json!({"type": "LineString", "coordinates": [[114.60, 33.60], [114.70, 33.61]]}),
                Some("八一大道"),
            ),
            feature(
                json!({"type": "MultiLineString", "coordinates": [[[114.6, 33.6], [114.61, 33.6]], [[114.62, 33.6], [114.63, 33.6]]]}),
                None,
            ),
        ]);
        let f = parse_collection(&road, "road", None, DISTRICT).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].name.as_str(), f[0].class, f[1].name.as_str()), ("八一大道", "road", ""));
        assert!(matches!(&f[1].geometry, Geometry::Lines(l) if l.len() == 2));
        let lm = fc(vec![feature(json!({"type": "Point", "coordinates": [114.65, 33.62]}), None)]);
        let f = parse_collection(&lm, "landmark", Some(" 区政府 "), DISTRICT).unwrap();
        assert_eq!(f[0].name, "区政府");
        let park = fc(vec![
            feature(
                json!({"type": "Polygon", "coordinates": [[[114.6, 33.6], [114.61, 33.6], [114.61, 33.61], [114.6, 33.6]]]}),
                Some("人民公园"),
            ),
            feature(
                json!({"type": "Polygon", "coordinates": [[[114.6, 33.6], [114.61, 33.6], [114.61, 33.61], [114.6, 33.6]]]}),
                Some("东湖"),
            ),
        ]);
        let f = parse_collection(&park, "area", None, DISTRICT).unwrap();
        assert_eq!((f[0].class, f[1].class), ("green", "water"));
        // Full-width names are normalised.
        let lm = fc(vec![feature(
            json!({"type": "Point", "coordinates": [114.65, 33.62]}),
            Some("Ｋ１站"),
        )]);
        assert_eq!(parse_collection(&lm, "landmark", None, DISTRICT).unwrap()[0].name, "K1站");
    }

    #[test]
    fn geometry_round_trips_through_its_text() {
        for g in [
            Geometry::Lines(vec![vec![(114.6, 33.6), (114.7, 33.61)]]),
            Geometry::Lines(vec![vec![(114.6, 33.6), (114.7, 33.61)], vec![(114.5, 33.5), (114.4, 33.4)]]),
            Geometry::Point(114.65, 33.62),
            Geometry::Polygons(vec![vec![vec![(114.6, 33.6), (114.61, 33.6), (114.61, 33.61), (114.6, 33.6)]]]),
        ] {
            assert_eq!(Geometry::from_geojson(&g.to_geojson()), Some(g.clone()));
        }
        let g = Geometry::Lines(vec![vec![(114.6, 33.7), (114.7, 33.61)]]);
        assert_eq!(g.bbox(), (33.61, 114.6, 33.7, 114.7));
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let err = |text: &str, kind: &str| parse_collection(text, kind, None, DISTRICT).unwrap_err();
        assert!(err("{", "road").contains("不是合法的 JSON"));
        assert!(err(&json!({"type": "Feature"}).to_string(), "road").contains("FeatureCollection"));
        assert!(err(&fc(vec![]), "road").contains("没有要素"));
        assert!(err(&fc(vec![]), "tower").contains("未知的底图类型"));
        let point = feature(json!({"type": "Point", "coordinates": [114.65, 33.62]}), Some("x"));
        let e = err(&fc(vec![point.clone()]), "road");
        assert!(e.contains("第1个要素") && e.contains("Point") && e.contains("LineString"), "{e}");
        let e = err(
            &fc(vec![point, feature(json!({"type": "GeometryCollection", "geometries": []}), None)]),
            "landmark",
        );
        assert!(e.contains("第2个要素") && e.contains("GeometryCollection"), "{e}");
        let far = feature(json!({"type": "Point", "coordinates": [116.4, 39.9]}), Some("天安门"));
        assert!(err(&fc(vec![far]), "landmark").contains("本区范围之外"));
        let swapped = feature(json!({"type": "Point", "coordinates": [33.62, 114.65]}), Some("x"));
        assert!(err(&fc(vec![swapped]), "landmark").contains("经纬度范围"));
        let unnamed = feature(json!({"type": "Point", "coordinates": [114.65, 33.62]}), None);
        assert!(err(&fc(vec![unnamed]), "landmark").contains("缺少名称"));
        let long = "路".repeat(MAX_NAME_CHARS + 1);
        let named = feature(
            json!({"type": "LineString", "coordinates": [[114.6, 33.6], [114.7, 33.6]]}),
            Some(&long),
        );
        assert!(err(&fc(vec![named]), "road").contains("名称过长"));
        let open = feature(
            json!({"type": "Polygon", "coordinates": [[[114.6, 33.6], [114.61, 33.6], [114.61, 33.61], [114.6, 33.62]]]}),
            Some("园"),
        );
        assert!(err(&fc(vec![open]), "area").contains("未闭合"));
        let triangle = feature(
            json!({"type": "Polygon", "coordinates": [[[114.6, 33.6], [114.61, 33.6], [114.6, 33.6]]]}),
            Some("园"),
        );
        assert!(err(&fc(vec![triangle]), "area").contains("多边形的环至少需要4个"));
        let short = feature(json!({"type": "LineString", "coordinates": [[114.6, 33.6]]}), None);
        assert!(err(&fc(vec![short]), "river").contains("至少需要2个"));
        let many: Vec<Vec<f64>> = (0..=MAX_FEATURE_VERTICES).map(|i| vec![114.6 + i as f64 * 1e-6, 33.6]).collect();
        let huge = feature(json!({"type": "LineString", "coordinates": many}), None);
        assert!(err(&fc(vec![huge]), "road").contains("顶点过多"));
        let pt = feature(json!({"type": "Point", "coordinates": [114.65, 33.62]}), Some("x"));
        let too_many = fc(vec![pt; MAX_FEATURES + 1]);
        assert!(err(&too_many, "landmark").contains("要素过多"));
        assert!(err(&" ".repeat(MAX_BYTES + 1), "road").contains("文件过大"));
    }
}
