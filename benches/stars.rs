//! Load generator for five-star branches (五星支部创建): as `admin`, the district's star page
//! `/console/stars?year=2026` (every community's stars with counts per street) and
//! `GET /api/v1/stars?year=2026` (the list), read sequentially; and a community's
//! scorecard `GET /api/v1/stars/cards/411602001001/2026` (prefilled figures included).
//! On the demo district (GONGZHI_BENCH_SCALE=small for a quick look), SQLite and — with
//! GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) — PostgreSQL.
//!
//! Run: `cargo bench --bench stars`. Loopback only; it stops by itself. Every request must
//! succeed. GONGZHI_BENCH_ASSERT=1 also fails it when the district's page or the list API misses
//! p99 < 200 ms (either engine); the scorecard is only shown.

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
    let lat = reads(&client, &base, "/api/v1/stars?year=2026", |r| r.bearer_auth(&admin), "\"items\"").await?;
    report(engine, "GET /api/v1/stars?year=2026 as admin", &lat, targets, Some(200.0));
    let c = cookie(&client, &base, "admin").await?;
    let lat = reads(&client, &base, "/console/stars?year=2026", |r| r.header("cookie", &c), "各街道情况").await?;
    report(engine, "GET /console/stars?year=2026 (page) as admin", &lat, targets, Some(200.0));
    let path = "/api/v1/stars/cards/411602001001/2026";
    let lat = reads(&client, &base, path, |r| r.bearer_auth(&admin), "\"figures\"").await?;
    report(engine, "GET /api/v1/stars/cards/{community}/2026 as admin", &lat, targets, None);

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
