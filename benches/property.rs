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

use std::time::{Duration, Instant};

use gongzhi::demo;
use support::{Target, Targets, percentile};

/// Sequential reads of each page.
const READS: usize = 200;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Sequential GETs of `path` with `auth` applied: sorted latencies; each body must hold `expect`.
async fn reads(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    auth: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    expect: &str,
) -> anyhow::Result<Vec<Duration>> {
    let mut lat = Vec::with_capacity(READS);
    for i in 0..READS + 5 {
        let t = Instant::now();
        let body = support::ok_bytes(path, auth(client.get(format!("{base}{path}")))).await?;
        let d = t.elapsed();
        anyhow::ensure!(
            String::from_utf8_lossy(&body).contains(expect),
            "{path}: no “{expect}” in the answer"
        );
        // The first few warm the caches and the connection.
        if i >= 5 {
            lat.push(d);
        }
    }
    lat.sort();
    Ok(lat)
}

/// The console's session cookie for `user`.
async fn cookie(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", demo::DEMO_PASSWORD)])
        .send()
        .await?;
    let c = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    anyhow::ensure!(!c.is_empty(), "console sign-in as {user} gave no cookie");
    Ok(c)
}

fn report(engine: &str, what: &str, lat: &[Duration], targets: &mut Targets, target_ms: Option<f64>) {
    let (p50, p99) = (ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)));
    println!(
        "[{engine}] {what} ×{}: p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        lat.len(),
        ms(*lat.last().unwrap_or(&Duration::ZERO))
    );
    if let Some(x) = target_ms {
        targets.check(&format!("[{engine}] {what} p99"), p99, Target::Below(x), "ms");
    }
}

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
