//! Natural-looking demo boundaries: Voronoi cells (泰森多边形) of scattered centres, clipped to the
//! parent polygon. Pure plane geometry on convex polygons, no I/O.
//!
//! Each cell is the parent clipped against the perpendicular bisector to every other centre
//! (O(n²) per parent, n is at most a few dozen). A convex parent gives convex cells, so the same
//! clipper applies all the way down the grid.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// A point of the plane (x east, y north), in units that are the same length both ways.
pub type Pt = (f64, f64);

/// `poly` (a ring, first point not repeated) cut by the line through the midpoint of `a`–`b`,
/// keeping the side of `a`: the points at least as close to `a` as to `b`.
pub fn clip_towards(poly: &[Pt], a: Pt, b: Pt) -> Vec<Pt> {
    let (nx, ny) = (b.0 - a.0, b.1 - a.1);
    let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    // Signed distance (scaled) past the bisector towards `b`: > 0 is `b`'s side.
    let side = |p: Pt| (p.0 - mx) * nx + (p.1 - my) * ny;
    if nx == 0.0 && ny == 0.0 {
        return poly.to_vec();
    }
    let mut out = Vec::with_capacity(poly.len() + 1);
    for i in 0..poly.len() {
        let (p, q) = (poly[i], poly[(i + 1) % poly.len()]);
        let (sp, sq) = (side(p), side(q));
        if sp <= 0.0 {
            out.push(p);
        }
        // The edge crosses the line: add the crossing point.
        if (sp < 0.0 && sq > 0.0) || (sp > 0.0 && sq < 0.0) {
            let t = sp / (sp - sq);
            out.push((p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t));
        }
    }
    dedup(out)
}

/// Drop consecutive points closer than a hair (a crossing on a vertex yields it twice).
fn dedup(mut pts: Vec<Pt>) -> Vec<Pt> {
    let near = |a: Pt, b: Pt| (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12;
    pts.dedup_by(|b, a| near(*a, *b));
    while pts.len() > 1 && near(pts[0], pts[pts.len() - 1]) {
        pts.pop();
    }
    pts
}

/// The Voronoi cell of every site, clipped to `parent` (convex). Cells partition the parent; a
/// site that repeats an earlier one gets an empty cell, so the region is not counted twice.
pub fn voronoi(parent: &[Pt], sites: &[Pt]) -> Vec<Vec<Pt>> {
    sites
        .iter()
        .enumerate()
        .map(|(i, &a)| {
            if sites[..i].contains(&a) {
                return Vec::new();
            }
            let mut cell = parent.to_vec();
            for (j, &b) in sites.iter().enumerate() {
                if i != j && cell.len() >= 3 {
                    cell = clip_towards(&cell, a, b);
                }
            }
            cell
        })
        .collect()
}

/// Signed area (positive when counter-clockwise).
pub fn signed_area(poly: &[Pt]) -> f64 {
    let n = poly.len();
    (0..n)
        .map(|i| {
            let (p, q) = (poly[i], poly[(i + 1) % n]);
            p.0 * q.1 - q.0 * p.1
        })
        .sum::<f64>()
        / 2.0
}

/// The centre of mass of a polygon (the vertices' mean for a degenerate one).
pub fn centroid(poly: &[Pt]) -> Pt {
    let a = signed_area(poly);
    let n = poly.len();
    if a.abs() < 1e-18 {
        let k = n.max(1) as f64;
        return (poly.iter().map(|p| p.0).sum::<f64>() / k, poly.iter().map(|p| p.1).sum::<f64>() / k);
    }
    let (mut cx, mut cy) = (0.0, 0.0);
    for i in 0..n {
        let (p, q) = (poly[i], poly[(i + 1) % n]);
        let w = p.0 * q.1 - q.0 * p.1;
        cx += (p.0 + q.0) * w;
        cy += (p.1 + q.1) * w;
    }
    (cx / (6.0 * a), cy / (6.0 * a))
}

/// Whether `p` lies inside `poly` (even-odd rule; any simple polygon).
pub fn contains(poly: &[Pt], p: Pt) -> bool {
    let mut inside = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + n - 1) % n]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            inside = !inside;
        }
    }
    inside
}

/// `poly` shrunk (or grown) by `f` about its centroid; inside it when convex and `f` ≤ 1.
pub fn scaled(poly: &[Pt], f: f64) -> Vec<Pt> {
    let c = centroid(poly);
    poly.iter().map(|p| (c.0 + (p.0 - c.0) * f, c.1 + (p.1 - c.1) * f)).collect()
}

/// (min x, min y, max x, max y).
pub fn bounds(poly: &[Pt]) -> (f64, f64, f64, f64) {
    poly.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(a, b, c, d), p| {
        (a.min(p.0), b.min(p.1), c.max(p.0), d.max(p.1))
    })
}

/// A random point inside `poly` (convex): rejection in its bounding box, and for a sliver that
/// rejection keeps missing, a uniform point of a triangle of its fan. Never a fixed point such as
/// the centroid: two sites drawn there would coincide and share one cell.
pub fn random_point(poly: &[Pt], rng: &mut ChaCha8Rng) -> Pt {
    let (x0, y0, x1, y1) = bounds(poly);
    if x1 > x0 && y1 > y0 {
        for _ in 0..64 {
            let p = (rng.random_range(x0..x1), rng.random_range(y0..y1));
            if contains(poly, p) {
                return p;
            }
        }
    }
    if poly.len() < 3 {
        return centroid(poly);
    }
    // Fan from the first vertex, a triangle picked by area, a point in it by reflected
    // barycentric coordinates.
    let areas: Vec<f64> = (1..poly.len() - 1)
        .map(|i| signed_area(&[poly[0], poly[i], poly[i + 1]]).abs())
        .collect();
    let total: f64 = areas.iter().sum();
    if total <= 0.0 {
        return centroid(poly);
    }
    let mut pick = rng.random_range(0.0..total);
    let mut i = 0;
    while i + 1 < areas.len() && pick >= areas[i] {
        pick -= areas[i];
        i += 1;
    }
    let (a, b, c) = (poly[0], poly[i + 1], poly[i + 2]);
    let (mut u, mut v) = (rng.random_range(0.0..1.0), rng.random_range(0.0..1.0));
    if u + v > 1.0 {
        (u, v) = (1.0 - u, 1.0 - v);
    }
    (a.0 + (b.0 - a.0) * u + (c.0 - a.0) * v, a.1 + (b.1 - a.1) * u + (c.1 - a.1) * v)
}

/// `n` centres scattered over `parent`: random points moved twice to their cell's centroid
/// (two Lloyd steps), which spreads them evenly yet leaves no lattice; then put in reading order
/// (rows from the north, west to east in a row) so numbers run the way a visitor reads the map.
pub fn sites(parent: &[Pt], n: usize, rng: &mut ChaCha8Rng) -> Vec<Pt> {
    let mut s: Vec<Pt> = (0..n).map(|_| random_point(parent, rng)).collect();
    for _ in 0..2 {
        s = voronoi(parent, &s)
            .iter()
            .zip(&s)
            .map(|(c, &old)| if c.len() >= 3 { centroid(c) } else { old })
            .collect();
    }
    let (_, y0, _, y1) = bounds(parent);
    let rows = (n as f64).sqrt().ceil().max(1.0);
    let band = ((y1 - y0) / rows).max(1e-12);
    s.sort_by(|a, b| {
        let (ra, rb) = (((y1 - a.1) / band).floor(), ((y1 - b.1) / band).floor());
        ra.total_cmp(&rb).then(a.0.total_cmp(&b.0))
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    const SQUARE: [Pt; 4] = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)];

    fn dist2(a: Pt, b: Pt) -> f64 {
        (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
    }

    #[test]
    fn a_bisector_halves_a_square() {
        let left = clip_towards(&SQUARE, (2.0, 5.0), (8.0, 5.0));
        assert!((signed_area(&left) - 50.0).abs() < 1e-9, "{left:?}");
        assert!(left.iter().all(|p| p.0 <= 5.0 + 1e-12));
        // A site equal to the other leaves the polygon alone.
        assert_eq!(clip_towards(&SQUARE, (1.0, 1.0), (1.0, 1.0)).len(), 4);
    }

    #[test]
    fn cells_partition_the_parent_and_hold_their_sites() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let parent: Vec<Pt> = vec![(0.0, 0.0), (12.0, -1.0), (15.0, 6.0), (9.0, 11.0), (1.0, 9.0)];
        for n in [1, 2, 3, 7, 20, 40] {
            let s = sites(&parent, n, &mut rng);
            let cells = voronoi(&parent, &s);
            let sum: f64 = cells.iter().map(|c| signed_area(c)).sum();
            assert!((sum - signed_area(&parent)).abs() < 1e-6 * signed_area(&parent), "n={n}: {sum}");
            for (c, p) in cells.iter().zip(&s) {
                assert!(c.len() >= 3 && contains(c, *p), "site {p:?} in its cell");
            }
        }
    }

    #[test]
    fn a_sliver_still_gets_distinct_sites_and_disjoint_cells() {
        // Found by `cells_never_overlap`: bounding-box rejection missed this triangle every time,
        // every site fell on the centroid, and 13 equal cells each covered the whole.
        let sliver: Vec<Pt> = vec![
            (-17.41129376749288, -7.697613230693133),
            (-16.724883984642034, -10.460912784445984),
            (-6.183728480215829, -25.031134437021887),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(887);
        let s = sites(&sliver, 13, &mut rng);
        for (i, p) in s.iter().enumerate() {
            assert!(contains(&sliver, *p), "{p:?} inside");
            assert!(!s[..i].contains(p), "{p:?} drawn twice");
        }
        let sum: f64 = voronoi(&sliver, &s).iter().filter(|c| c.len() >= 3).map(|c| signed_area(c)).sum();
        assert!((sum - signed_area(&sliver)).abs() < 1e-6 * signed_area(&sliver), "{sum}");
        // Coincident sites: the first keeps the cell, the repeat gets none.
        let cells = voronoi(&SQUARE, &[(5.0, 5.0), (5.0, 5.0)]);
        assert_eq!((cells[0].len(), cells[1].len()), (4, 0));
    }

    #[test]
    fn reading_order_runs_from_the_north() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let s = sites(&SQUARE, 9, &mut rng);
        assert!(s[0].1 > s[8].1, "{s:?}");
    }

    fn polygon() -> impl Strategy<Value = Vec<Pt>> {
        // A convex polygon: points on an ellipse at sorted angles.
        (prop::collection::vec(0.0..std::f64::consts::TAU, 3..12), 1.0..50.0f64, 1.0..50.0f64).prop_map(|(mut angles, rx, ry)| {
            angles.sort_by(f64::total_cmp);
            angles.dedup_by(|a, b| (*a - *b).abs() < 0.05);
            angles.iter().map(|t| (rx * t.cos(), ry * t.sin())).collect()
        })
    }

    proptest! {
        #[test]
        fn clipping_keeps_exactly_the_near_side(poly in polygon(), ax in -60.0..60.0f64, ay in -60.0..60.0f64, bx in -60.0..60.0f64, by in -60.0..60.0f64, probes in prop::collection::vec((-60.0..60.0f64, -60.0..60.0f64), 20)) {
            prop_assume!(poly.len() >= 3 && signed_area(&poly) > 1e-3);
            let (a, b) = ((ax, ay), (bx, by));
            prop_assume!(dist2(a, b) > 1e-6);
            let kept = clip_towards(&poly, a, b);
            let other = clip_towards(&poly, b, a);
            // The two sides add up to the whole.
            let (ka, kb) = (signed_area(&kept).abs(), signed_area(&other).abs());
            prop_assert!((ka + kb - signed_area(&poly)).abs() < 1e-6 * signed_area(&poly).max(1.0));
            for p in probes {
                let margin = (dist2(p, a) - dist2(p, b)).abs();
                if margin < 1e-6 {
                    continue;
                }
                let want = contains(&poly, p) && dist2(p, a) < dist2(p, b);
                if kept.len() >= 3 && on_edge(&poly, p) > 1e-6 {
                    prop_assert_eq!(contains(&kept, p), want, "{:?}", p);
                }
            }
        }

        #[test]
        fn cells_never_overlap(poly in polygon(), n in 2usize..15, seed in 0u64..1000) {
            prop_assume!(poly.len() >= 3 && signed_area(&poly) > 1.0);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let s = sites(&poly, n, &mut rng);
            let cells = voronoi(&poly, &s);
            let sum: f64 = cells.iter().filter(|c| c.len() >= 3).map(|c| signed_area(c)).sum();
            prop_assert!((sum - signed_area(&poly)).abs() < 1e-6 * signed_area(&poly));
            // A random point of the parent lies in exactly one cell (away from edges).
            for _ in 0..20 {
                let p = random_point(&poly, &mut rng);
                let holders = cells.iter().filter(|c| c.len() >= 3 && contains(c, p)).count();
                let near_edge = cells.iter().any(|c| c.len() >= 3 && on_edge(c, p) < 1e-7);
                prop_assert!(holders == 1 || near_edge, "{} cells hold {:?}", holders, p);
            }
        }
    }

    /// Distance from `p` to the nearest edge of `poly`.
    fn on_edge(poly: &[Pt], p: Pt) -> f64 {
        (0..poly.len())
            .map(|i| {
                let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let l = dx * dx + dy * dy;
                let t = if l == 0.0 {
                    0.0
                } else {
                    (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / l).clamp(0.0, 1.0)
                };
                dist2(p, (a.0 + dx * t, a.1 + dy * t)).sqrt()
            })
            .fold(f64::MAX, f64::min)
    }
}
