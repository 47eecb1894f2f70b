//! Benchmark: demo district generation time, and p50/p99 latency of `GET /api/v1/residents`
//! (district-wide name search, phone-tail search, tag filter, building-scoped list) over HTTP,
//! on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL.
//!
//! Run: `cargo bench --bench registry` (GONGZHI_BENCH_SCALE=small for a quick look).
//! Loopback only; a fixed number of requests; stops by itself.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gongzhi::demo::{self, Scale};
use support::{Target, Targets, login, ms, ok_json, percentile};

const REQUESTS: usize = 400;

async fn run(engine: &'static str, scale: Scale, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, scale, 20231, false).await?;
    let generation = t.elapsed().as_secs_f64();
    println!("[{engine}] demo generation ({scale:?}): {generation:.1} s");
    targets.check(&format!("[{engine}] demo generation"), generation, Target::Below(60.0), "s");

    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::new();
    let token = login(&client, &base, "admin").await?;
    let buildings: Vec<String> = gongzhi::on_pool!(&db, |p| sqlx::query_scalar::<_, String>(
        "SELECT code FROM grids WHERE level = 5 ORDER BY code"
    )
    .fetch_all(p)
    .await)?;
    anyhow::ensure!(!buildings.is_empty(), "[{engine}] the demo has no buildings (grids of level 5)");
    let names = [
        "王", "李", "张", "刘", "陈", "杨", "赵", "周建", "王秀", "李伟", "孙", "马", "郭", "何", "林",
    ];
    let tails = ["1234", "5678", "0000", "4321", "8888", "2468", "1357", "9999"];
    type Make = Box<dyn Fn(usize) -> String>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "district-wide, name prefix",
            Box::new(move |i| format!("/api/v1/residents?q={}", names[i % names.len()])),
        ),
        (
            "district-wide, phone/ID tail",
            Box::new(move |i| format!("/api/v1/residents?q={}", tails[i % tails.len()])),
        ),
        (
            "district-wide, tag 独居老人",
            Box::new(|i| format!("/api/v1/residents?tag=独居老人&page={}", i % 5 + 1)),
        ),
        (
            "district-wide, no filter",
            Box::new(|i| format!("/api/v1/residents?page={}", i % 50 + 1)),
        ),
        ("building-scoped list", {
            let b = buildings.clone();
            Box::new(move |i| format!("/api/v1/residents?grid={}", b[(i * 7919) % b.len()]))
        }),
        ("building-scoped, name prefix", {
            let b = buildings.clone();
            Box::new(move |i| format!("/api/v1/residents?grid={}&q={}", b[(i * 7919) % b.len()], names[i % 5]))
        }),
    ];
    for (label, make) in &cases {
        // Warm up the caches the way a running server would be.
        let what = |path: &str| format!("[{engine}] {label}: GET {path}");
        for i in 0..20 {
            let path = make(i);
            ok_json(&what(&path), client.get(format!("{base}{path}")).bearer_auth(&token)).await?;
        }
        let mut times = Vec::with_capacity(REQUESTS);
        let mut hits = 0i64;
        for i in 0..REQUESTS {
            let (url, what) = (format!("{base}{}", make(i)), what(&make(i)));
            let t = Instant::now();
            let v = ok_json(&what, client.get(url).bearer_auth(&token)).await?;
            times.push(t.elapsed());
            hits += v["total"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("{what}: no `total` in the answer"))?;
        }
        times.sort();
        println!(
            "[{engine}] {label:<30} p50 {:>9}  p99 {:>9}  max {:>9}  (n={REQUESTS}, mean total {})",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            hits / REQUESTS as i64
        );
        anyhow::ensure!(
            hits > 0,
            "[{engine}] {label}: no resident matched in any of the {REQUESTS} requests"
        );
        targets.check(
            &format!("[{engine}] GET /api/v1/residents {label}, p99"),
            percentile(&times, 0.99).as_secs_f64() * 1000.0,
            Target::Below(50.0),
            "ms",
        );
    }
    server.abort();
    db.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    let scale = support::scale();
    let mut targets = Targets::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        for engine in support::engines() {
            run(engine, scale, &mut targets).await?;
        }
        anyhow::Ok(())
    })?;
    targets.finish()
}
