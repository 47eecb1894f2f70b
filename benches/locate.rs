//! Benchmark: locating a point in the district-scale grid (target ≤ 10 µs with 2,640 buildings).
//!
//! Run: `cargo bench --bench locate`. Pure CPU, no network; a fixed number of lookups. Before
//! timing, it checks the answers: a point inside each building is located to that building, and
//! every random point is located to the grid a brute-force scan of the boundaries finds. A wrong
//! or missing answer fails the bench. GONGZHI_BENCH_ASSERT=1 also fails it on a missed target.

#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use gongzhi::demo::plan::{DISTRICT, PGrid, plan};
use gongzhi::grid::locate::GridIndex;
use rand::{RngExt, SeedableRng};
use support::{Target, Targets};

/// The deepest grid whose boundary holds the point (edges inside; the lowest code among equals),
/// by looking at every grid: what the index must answer.
fn brute_force(grids: &[PGrid], lat: f64, lng: f64) -> Option<&str> {
    grids
        .iter()
        .filter(|g| g.shape.contains(lat, lng))
        .max_by(|a, b| a.level.cmp(&b.level).then_with(|| b.code.cmp(&a.code)))
        .map(|g| g.code.as_str())
}

fn main() -> anyhow::Result<()> {
    let mut targets = Targets::from_env();
    let p = plan(DISTRICT, 20231);
    let rows: Vec<(String, i64, String)> = p
        .grids
        .iter()
        .map(|g| (g.code.clone(), g.level, g.shape.geojson().to_string()))
        .collect();
    let t = Instant::now();
    let idx = GridIndex::build(rows.iter().map(|(c, l, b)| (c.as_str(), *l, b.as_str())));
    let buildings: Vec<&PGrid> = p.grids.iter().filter(|g| g.level == 5).collect();
    println!(
        "index of {} grids ({} buildings) built in {:.1} ms",
        idx.len(),
        buildings.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    anyhow::ensure!(
        idx.len() == p.grids.len() && !buildings.is_empty(),
        "the index holds {} grids of the plan's {} ({} buildings)",
        idx.len(),
        p.grids.len(),
        buildings.len()
    );
    let (min_lng, min_lat, max_lng, max_lat) = p.grids[0].shape.bounds();
    // Every building: points well inside it are located to it.
    let mut inside = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let mut wrong = Vec::new();
    for b in &buildings {
        for _ in 0..3 {
            let (lat, lng) = b.shape.random_point(&mut inside);
            let got = idx.locate(lat, lng);
            if got != Some(b.code.as_str()) {
                wrong.push(format!("({lat}, {lng}) in building {} located to {got:?}", b.code));
            }
        }
    }
    anyhow::ensure!(
        wrong.is_empty(),
        "{} of {} points inside buildings located wrongly, e.g. {}",
        wrong.len(),
        buildings.len() * 3,
        wrong[0]
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let points: Vec<(f64, f64)> = (0..10_000)
        .map(|_| (rng.random_range(min_lat..max_lat), rng.random_range(min_lng..max_lng)))
        .collect();
    // The random points: the index agrees with a scan of every boundary, and finds each one.
    let mut wrong = Vec::new();
    for (lat, lng) in &points {
        let (got, want) = (idx.locate(*lat, *lng), brute_force(&p.grids, *lat, *lng));
        if got != want || got.is_none() {
            wrong.push(format!("({lat}, {lng}) located to {got:?}, expected {want:?}"));
        }
    }
    anyhow::ensure!(
        wrong.is_empty(),
        "{} of {} random points in the district located wrongly or not at all, e.g. {}",
        wrong.len(),
        points.len(),
        wrong[0]
    );
    println!(
        "checked: {} points inside buildings and {} random points located correctly",
        buildings.len() * 3,
        points.len()
    );
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
    let median_us = per_batch[per_batch.len() / 2] / 1000.0;
    println!(
        "locate: median {:.2} µs per point, slowest batch {:.2} µs (30 batches of {} random points in the district, {:.0}% located)",
        median_us,
        per_batch[per_batch.len() - 1] / 1000.0,
        points.len(),
        found as f64 / (30 * points.len()) as f64 * 100.0
    );
    anyhow::ensure!(
        found == 30 * points.len(),
        "only {found} of {} timed lookups found a grid",
        30 * points.len()
    );
    targets.check("locate, median per point", median_us, Target::AtMost(10.0), "µs");
    targets.finish()
}
