//! Load generator for red property (红色物业): as `admin`, the district's coverage page
//! `/console/property` (every compound on the map, the 三无 list, the figures per street) and
//! `GET /api/v1/property/coverage?grid=411602`, the ranking `GET /api/v1/property/evaluations` of
//! the last quarter and the public red and black list. On the demo district
//! (GONGZHI_BENCH_SCALE=small for a quick look), SQLite and — with GONGZHI_BENCH_DATABASE_URL (or
//! GONGZHI_TEST_DATABASE_URL) — PostgreSQL.
//!
//! Run: `cargo bench --bench property`. Loopback only; it stops by itself. Every request must
//! succeed. GONGZHI_BENCH_ASSERT=1 also fails it when the coverage page or API misses p99 < 200 ms
//! (the target); the other reads are only shown.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use gongzhi::demo;
use support::{Targets, cookie, reads, report};

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!("[{engine}] demo loaded in {:.1} s", t.elapsed().as_secs_f64());
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let admin = support::login(&client, &base, "admin").await?;
    let c = cookie(&client, &base, "admin").await?;

    let lat = reads(&client, &base, "/console/property", |r| r.header("cookie", &c), "三无小区").await?;
    report(
        engine,
        "GET /console/property (district coverage page) as admin",
        &lat,
        targets,
        Some(200.0),
    );
    let lat = reads(
        &client,
        &base,
        "/api/v1/property/coverage?grid=411602&per_page=100",
        |r| r.bearer_auth(&admin),
        "\"summary\"",
    )
    .await?;
    report(
        engine,
        "GET /api/v1/property/coverage?grid=411602 as admin",
        &lat,
        targets,
        Some(200.0),
    );
    let last = gongzhi::property::rules::Quarter::of_ms(gongzhi::db::now_ms()).previous();
    let path = format!("/api/v1/property/evaluations?period={last}");
    let lat = reads(&client, &base, &path, |r| r.bearer_auth(&admin), "\"items\"").await?;
    report(
        engine,
        "GET /api/v1/property/evaluations (last quarter) as admin",
        &lat,
        targets,
        None,
    );
    let path = format!("/property/lists?period={last}");
    let lat = reads(&client, &base, &path, |r| r, "红榜").await?;
    report(engine, "GET /property/lists (public)", &lat, targets, None);

    server.abort();
    db.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    let mut targets = Targets::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        for engine in support::engines() {
            run(engine, &mut targets).await?;
        }
        anyhow::Ok(())
    })?;
    targets.finish()
}
