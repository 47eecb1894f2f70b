//! Benchmark: Open311 GeoReport v2 over HTTP on the district demo — p50/p99 of the request search
//! (the default 90-day window, up to 1,000 requests, JSON and XML), a filtered search, one request,
//! and POST (located by lat/long), on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or
//! GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL.
//!
//! Run: `cargo bench --bench open311` (GONGZHI_BENCH_SCALE=small for a quick look).
//! Loopback only; a fixed number of requests; stops by itself. Any failed request, or an empty
//! search where the demo has requests, fails the bench. No target is documented for it.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gongzhi::audit::Actor;
use gongzhi::demo::Scale;
use support::{ms, ok_bytes, ok_json, percentile};

/// `n` sequential requests, each of which must succeed: `what`, the sorted latencies and the last
/// body's size.
async fn timed(
    engine: &str,
    what: &'static str,
    n: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder,
) -> anyhow::Result<(&'static str, Vec<Duration>, usize)> {
    let failed = format!("[{engine}] {what}");
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n {
        let t = Instant::now();
        let body = ok_bytes(&failed, make(i)).await?;
        times.push(t.elapsed());
        bytes = body.len();
    }
    times.sort();
    Ok((what, times, bytes))
}

async fn run(engine: &'static str, scale: Scale) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    gongzhi::demo::load(&db, scale, 20231, false).await?;
    let (_, secret) = gongzhi::apikeys::add(&db, Actor::System("bench"), "411602", "bench", 10_000)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let (root, server) = support::serve(&db).await?;
    let base = format!("{root}/open311/v2");
    let client = reqwest::Client::new();
    // Reads go with the key too: without one, a client address has 60 reads a minute.
    let k = [("api_key", secret.clone())];
    let what = format!("[{engine}] GET requests.json");
    let ids = ok_json(&what, client.get(format!("{base}/requests.json")).query(&k)).await?;
    let ids: Vec<String> = ids
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{what}: the answer is not a list: {ids}"))?
        .iter()
        .filter_map(|r| r["service_request_id"].as_str().map(String::from))
        .collect();
    anyhow::ensure!(
        !ids.is_empty(),
        "{what}: no requests in the default window (the demo has a year of cases)"
    );
    let filtered = ok_json(
        &what,
        client.get(format!("{base}/requests.json?service_code=SQ03&status=open")).query(&k),
    )
    .await?;
    anyhow::ensure!(
        filtered.as_array().is_some_and(|a| !a.is_empty()),
        "{what}?service_code=SQ03&status=open: no requests (expected open SQ03 cases in the demo)"
    );
    let points: Vec<(f64, f64)> = gongzhi::on_pool!(&db, |p| sqlx::query_as::<_, (f64, f64)>(
        "SELECT center_lat, center_lng FROM grids WHERE level = 5 ORDER BY code LIMIT 500"
    )
    .fetch_all(p)
    .await)?;
    anyhow::ensure!(!points.is_empty(), "[{engine}] the demo has no buildings to report from");
    println!("[{engine}] {} requests in the default window", ids.len());
    // Warm the caches so that the first row does not pay for the others.
    for _ in 0..5 {
        ok_bytes(&what, client.get(format!("{base}/requests.json")).query(&k)).await?;
    }
    let (c, k) = (&client, &k);
    let rows = vec![
        timed(engine, "GET requests.json (default window, ≤1,000)", 40, |_| {
            c.get(format!("{base}/requests.json")).query(&k)
        })
        .await?,
        timed(engine, "GET requests.xml (default window, ≤1,000)", 40, |_| {
            c.get(format!("{base}/requests.xml")).query(&k)
        })
        .await?,
        timed(engine, "GET requests.json?service_code=SQ03&status=open", 200, |_| {
            c.get(format!("{base}/requests.json?service_code=SQ03&status=open")).query(&k)
        })
        .await?,
        timed(engine, "GET requests/{id}.json", 200, |i| {
            c.get(format!("{base}/requests/{}.json", ids[i % ids.len()])).query(&k)
        })
        .await?,
        timed(engine, "POST requests.json (lat/long)", 200, |i| {
            let (lat, lng) = points[i % points.len()];
            c.post(format!("{base}/requests.json")).form(&[
                ("api_key", secret.clone()),
                ("service_code", "SQ07".into()),
                ("lat", lat.to_string()),
                ("long", lng.to_string()),
                ("description", format!("压测：楼道堆物 {i}")),
            ])
        })
        .await?,
    ];
    for (what, t, bytes) in rows {
        println!(
            "[{engine}] {what}: p50 {} p99 {} ({} requests, {} KB each)",
            ms(percentile(&t, 0.5)),
            ms(percentile(&t, 0.99)),
            t.len(),
            bytes / 1024
        );
    }
    server.abort();
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    support::Targets::none("open311");
    let scale = support::scale();
    for engine in support::engines() {
        run(engine, scale).await?;
    }
    Ok(())
}
