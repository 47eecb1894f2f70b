//! Benchmark: locating a point in the district-scale grid (target ≤ 10 µs with 2,640 buildings).
//!
//! Run: `cargo bench --bench locate`. Pure CPU, no network; a fixed number of lookups.

use std::hint::black_box;
use std::time::Instant;

use gongzhi::demo::plan::{DISTRICT, plan};
use gongzhi::grid::locate::GridIndex;
use rand::{RngExt, SeedableRng};

fn main() {
    let p = plan(DISTRICT, 20231);
    let rows: Vec<(String, i64, String)> = p
        .grids
        .iter()
        .map(|g| (g.code.clone(), g.level, g.rect.geojson().to_string()))
        .collect();
    let t = Instant::now();
    let idx = GridIndex::build(rows.iter().map(|(c, l, b)| (c.as_str(), *l, b.as_str())));
    println!(
        "index of {} grids ({} buildings) built in {:.1} ms",
        idx.len(),
        p.grids.iter().filter(|g| g.level == 5).count(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let root = p.grids[0].rect;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let points: Vec<(f64, f64)> = (0..10_000)
        .map(|_| {
            (
                rng.random_range(root.min_lat..root.max_lat),
                rng.random_range(root.min_lng..root.max_lng),
            )
        })
        .collect();
    let mut per_batch = Vec::new();
    let mut found = 0usize;
    for _ in 0..30 {
        let t = Instant::now();
        for (lat, lng) in &points {
            if black_box(idx.locate(*lat, *lng)).is_some() {
                found += 1;
            }
        }
        per_batch.push(t.elapsed().as_nanos() as f64 / points.len() as f64);
    }
    per_batch.sort_by(f64::total_cmp);
    println!(
        "locate: median {:.2} µs per point, slowest batch {:.2} µs (30 batches of {} random points in the district, {:.0}% located)",
        per_batch[per_batch.len() / 2] / 1000.0,
        per_batch[per_batch.len() - 1] / 1000.0,
        points.len(),
        found as f64 / (30 * points.len()) as f64 * 100.0
    );
}
