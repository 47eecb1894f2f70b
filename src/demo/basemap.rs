//! The demo's base layers (底图): the three rivers that meet at Zhoukou (三川交汇) and flow on as
//! the 沙颍河, main roads along the street borders, a few landmarks and parks — imported through
//! the same code path as `gongzhi map import`.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::cells;
use super::plan::Plan;
use crate::audit::Actor;
use crate::db::Db;

/// Main roads, named in the order the street borders are found.
const ROADS: [&str; 24] = [
    "八一大道",
    "七一路",
    "中州大道",
    "交通大道",
    "文昌大道",
    "工农路",
    "大庆路",
    "太昊路",
    "建设大道",
    "川汇路",
    "人民路",
    "光明路",
    "黄河路",
    "育新街",
    "滨河路",
    "汉阳路",
    "莲花路",
    "富民路",
    "新民街",
    "纬一路",
    "纬二路",
    "经一路",
    "经二路",
    "站前路",
];

const LANDMARKS: [&str; 8] = [
    "区政府",
    "周口站",
    "周口市中心医院",
    "关帝庙",
    "汽车客运站",
    "体育中心",
    "人民广场",
    "川汇区图书馆",
];

fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

fn feature(name: &str, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": {"name": name}, "geometry": geometry})
}

fn near(a: (f64, f64), b: (f64, f64)) -> bool {
    (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9
}

/// Distance from `p` to segment `a`–`b`, in degrees.
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

/// The border two cells share, if they touch: the edge of `a` lying on `b`'s boundary.
fn shared_edge(a: &[(f64, f64)], b: &[(f64, f64)]) -> Option<[(f64, f64); 2]> {
    let on_b = |p: (f64, f64)| (0..b.len()).any(|i| seg_dist(p, b[i], b[(i + 1) % b.len()]) < 1e-9);
    (0..a.len())
        .map(|i| (a[i], a[(i + 1) % a.len()]))
        .find(|&(p, q)| !near(p, q) && on_b(p) && on_b(q) && on_b(((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0)))
        .map(|(p, q)| [p, q])
}

/// A river from `from` to `to`, meandering across the line between them.
fn river(from: (f64, f64), to: (f64, f64), bends: f64, amp: f64, rng: &mut ChaCha8Rng) -> Vec<[f64; 2]> {
    let n = 48;
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (nx, ny) = (-dy / len, dx / len);
    let phase = rng.random_range(0.0..std::f64::consts::TAU);
    (0..=n)
        .map(|i| {
            let t = i as f64 / n as f64;
            // No bend at the ends, so rivers meet where they should.
            let w = amp * (t * std::f64::consts::PI).sin() * (t * bends * std::f64::consts::TAU + phase).sin();
            [from.0 + dx * t + nx * w, from.1 + dy * t + ny * w]
        })
        .collect()
}

/// A rough polygon (a park, a lake) of radius `r` degrees of latitude around (lng, lat).
fn blob(lng: f64, lat: f64, r: f64, rng: &mut ChaCha8Rng) -> Value {
    let n = 9;
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / n as f64;
            let rr = r * rng.random_range(0.75..1.1);
            [lng + rr * t.cos() / 0.8327, lat + rr * t.sin()]
        })
        .collect();
    ring.push(ring[0]);
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// The demo's base layers as (kind, FeatureCollection), from the plan's street cells.
pub fn layers(p: &Plan, seed: u64) -> Vec<(&'static str, Value)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xBA5E_3A95);
    let streets: Vec<&[(f64, f64)]> = p.grids.iter().filter(|g| g.level == 2).map(|g| g.shape.0.as_slice()).collect();
    let root = &p.grids[0].shape;
    let (min_lng, min_lat, max_lng, max_lat) = root.bounds();
    let (cx, cy) = cells::centroid(&root.0);
    let mut roads = Vec::new();
    for i in 0..streets.len() {
        for j in i + 1..streets.len() {
            if let Some([a, b]) = shared_edge(streets[i], streets[j]) {
                let name = ROADS[roads.len() % ROADS.len()];
                roads.push(feature(
                    name,
                    json!({"type": "LineString", "coordinates": [[a.0, a.1], [b.0, b.1]]}),
                ));
            }
        }
    }
    // Two roads across the whole town when the district is a single street (the small demo).
    if roads.is_empty() {
        roads.push(feature(
            ROADS[0],
            json!({"type": "LineString", "coordinates": [[min_lng, cy], [max_lng, cy]]}),
        ));
        roads.push(feature(
            ROADS[1],
            json!({"type": "LineString", "coordinates": [[cx, min_lat], [cx, max_lat]]}),
        ));
    }
    // 沙河 from the west, 颍河 from the north-west and 贾鲁河 from the north meet a little south
    // of the centre (三川交汇, whence 川汇) and flow east as the 沙颍河.
    let (w, h) = (max_lng - min_lng, max_lat - min_lat);
    let meet = (cx - w * 0.05, cy - h * 0.08);
    let rivers = vec![
        feature(
            "沙河",
            json!({"type": "LineString", "coordinates": river((min_lng - w * 0.05, cy - h * 0.2), meet, 1.5, h * 0.03, &mut rng)}),
        ),
        feature(
            "颍河",
            json!({"type": "LineString", "coordinates": river((min_lng - w * 0.02, max_lat - h * 0.1), meet, 1.0, h * 0.03, &mut rng)}),
        ),
        feature(
            "贾鲁河",
            json!({"type": "LineString", "coordinates": river((cx - w * 0.15, max_lat + h * 0.05), meet, 1.2, h * 0.025, &mut rng)}),
        ),
        feature(
            "沙颍河",
            json!({"type": "LineString", "coordinates": river(meet, (max_lng + w * 0.05, cy - h * 0.25), 2.0, h * 0.035, &mut rng)}),
        ),
    ];
    // Landmarks and parks in some communities, spread over the district.
    // Each in a community of its own while there are enough, so names seldom overlap.
    let mut communities: Vec<&super::plan::PGrid> = p.grids.iter().filter(|g| g.level == 3).collect();
    for i in (1..communities.len()).rev() {
        communities.swap(i, rng.random_range(0..=i));
    }
    let mut next = 0;
    // Somewhere inside, not at the centre, where the community's own label goes.
    let mut spot = |rng: &mut ChaCha8Rng| {
        let c = communities[next % communities.len()];
        next += 1;
        let (lat, lng) = c.shape.random_point(rng);
        (lng, lat)
    };
    let landmarks = LANDMARKS
        .iter()
        .map(|name| {
            let (lng, lat) = spot(&mut rng);
            feature(name, json!({"type": "Point", "coordinates": [lng, lat]}))
        })
        .collect();
    let r = h * 0.022;
    let areas = [("人民公园", "green"), ("森林公园", "green"), ("东湖", "water")]
        .iter()
        .map(|(name, class)| {
            let (lng, lat) = spot(&mut rng);
            json!({"type": "Feature", "properties": {"name": name, "class": class}, "geometry": blob(lng, lat, r, &mut rng)})
        })
        .collect();
    vec![
        ("area", collection(areas)),
        ("river", collection(rivers)),
        ("road", collection(roads)),
        ("landmark", collection(landmarks)),
    ]
}

/// Import the demo's base layers, each kind in its own transaction as `map import` does.
pub async fn load(db: &Db, p: &Plan, seed: u64) -> anyhow::Result<usize> {
    let mut n = 0;
    for (kind, fc) in layers(p, seed) {
        let r = crate::grid::service::import_layers(db, Actor::System("demo"), Some(p.district_code), kind, fc.to_string(), None, true)
            .await
            .map_err(|e| anyhow::anyhow!("demo base layer {kind}: {}", e.message))?;
        n += r.imported;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::plan::{DISTRICT, plan};
    use crate::grid::layers::parse_collection;

    #[test]
    fn the_district_has_rivers_roads_on_street_borders_and_landmarks() {
        let p = plan(DISTRICT, 20231);
        let (min_lng, min_lat, max_lng, max_lat) = p.grids[0].shape.bounds();
        let layers = layers(&p, 20231);
        for (kind, fc) in &layers {
            let f = parse_collection(&fc.to_string(), kind, None, (min_lat, min_lng, max_lat, max_lng)).unwrap();
            match *kind {
                // Nine streets share at least eight borders.
                "road" => assert!(f.len() >= 8, "{} roads", f.len()),
                "river" => assert_eq!(f.len(), 4),
                "landmark" => assert!(f.iter().any(|x| x.name == "区政府")),
                _ => assert!(f.iter().any(|x| x.class == "water") && f.iter().any(|x| x.class == "green")),
            }
        }
    }
}
