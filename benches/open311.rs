//! Benchmark: Open311 GeoReport v2 over HTTP on the district demo — p50/p99 of the request search
//! (the default 90-day window, up to 1,000 requests, JSON and XML), a filtered search, one request,
//! and POST (located by lat/long), on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or
//! GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL.
//!
//! Then the throughput at 8 connections, as a load generator would measure it: the default search
//! (targets of issue 18: ≥ 400/s on both engines; clients polling one search share its kept
//! answer), the same search with another page size each time (each one queried and built), and
//! `services.json`, each for GONGZHI_BENCH_SECONDS (default 5 s); and a search answered `304` for
//! its `ETag`.
//!
//! Run: `cargo bench --bench open311` (GONGZHI_BENCH_SCALE=small for a quick look).
//! Loopback only; a fixed number of requests or seconds; stops by itself. Any failed request, or
//! an empty search where the demo has requests, fails the bench; GONGZHI_BENCH_ASSERT=1 also fails
//! it on a missed target.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gongzhi::audit::Actor;
use gongzhi::demo::Scale;
use support::{Target, Targets, ms, ok_bytes, ok_json, percentile};

/// `clients` connections each sending `make()` until the time is up: answers a second, p50, p99.
/// Any answer but a success fails.
async fn concurrent(
    what: &str,
    clients: usize,
    make: impl Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> anyhow::Result<(f64, Duration, Duration)> {
    let secs = Duration::from_secs(
        std::env::var("GONGZHI_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    );
    // Said at the start, so that a profiler can be attached to one step.
    println!("{what}: {} s at {clients} connections…", secs.as_secs());
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (make, stop, what) = (make.clone(), stop.clone(), what.to_string());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                ok_bytes(&what, make(client)).await?;
                times.push(t.elapsed());
            }
            anyhow::Ok(times)
        }));
    }
    tokio::time::sleep(secs).await;
    stop.store(true, Ordering::Relaxed);
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await??);
    }
    let rate = times.len() as f64 / start.elapsed().as_secs_f64();
    times.sort();
    Ok((rate, percentile(&times, 0.5), percentile(&times, 0.99)))
}

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

async fn run(engine: &'static str, scale: Scale, targets: &mut Targets) -> anyhow::Result<()> {
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
        // Another page size each time: no kept answer serves it, so each is queried and built.
        timed(engine, "GET requests.json (default window, built each time)", 40, |i| {
            c.get(format!("{base}/requests.json?page_size={}", 1000 - i % 40)).query(&k)
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
    // Throughput at 8 connections, one client pool as a load generator would use; the requests
    // take 64 keys in turn, as a key is held to 10,000 requests a minute.
    let pool = reqwest::Client::builder().pool_max_idle_per_host(16).build()?;
    let mut keys = Vec::new();
    for i in 0..64 {
        let (_, secret) = gongzhi::apikeys::add(&db, Actor::System("bench"), "411602", &format!("bench {i}"), 10_000)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        keys.push(secret);
    }
    let keys = Arc::new(keys);
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // The next key in turn, and how many requests were sent before.
    let next = move || {
        let n = sent.fetch_add(1, Ordering::Relaxed);
        (keys[n % keys.len()].clone(), n)
    };
    let (p, b, next1) = (pool.clone(), base.clone(), next.clone());
    let search = concurrent(&format!("[{engine}] GET requests.json"), 8, move |_| {
        p.get(format!("{b}/requests.json")).query(&[("api_key", next1().0)])
    })
    .await?;
    let (p, b, next2) = (pool.clone(), base.clone(), next.clone());
    let built = concurrent(&format!("[{engine}] GET requests.json (built)"), 8, move |_| {
        let (key, n) = next2();
        p.get(format!("{b}/requests.json?page_size={}", 1000 - n % 500))
            .query(&[("api_key", key)])
    })
    .await?;
    let (p, b) = (pool.clone(), base.clone());
    let services = concurrent(&format!("[{engine}] GET services.json"), 8, move |_| {
        p.get(format!("{b}/services.json")).query(&[("api_key", next().0)])
    })
    .await?;
    for (what, (rate, p50, p99)) in [
        ("GET requests.json (default window, ≤1,000)", search),
        ("GET requests.json (another page size each time: built, not kept)", built),
        ("GET services.json", services),
    ] {
        println!("[{engine}] {what} at 8 connections: {rate:.0}/s, p50 {} p99 {}", ms(p50), ms(p99));
    }
    targets.check(
        &format!("[{engine}] requests.json (1,000 requests) at 8 connections"),
        search.0,
        Target::AtLeast(400.0),
        "/s",
    );
    // The same search sent with the tag it was answered with: 304, no body.
    let r = client.get(format!("{base}/requests.json")).query(&k).send().await?;
    let tag = r.headers().get("etag").map(|v| v.to_str().unwrap_or_default().to_string());
    let tag = tag.ok_or_else(|| anyhow::anyhow!("[{engine}] the search has no ETag"))?;
    let mut times = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/requests.json"))
            .query(&k)
            .header("If-None-Match", &tag)
            .send()
            .await?;
        anyhow::ensure!(r.status() == 304, "[{engine}] the search sent with its tag: HTTP {}", r.status());
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "[{engine}] GET requests.json with If-None-Match (304): p50 {} p99 {}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    server.abort();
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    let mut targets = Targets::from_env();
    let scale = support::scale();
    for engine in support::engines() {
        run(engine, scale, &mut targets).await?;
    }
    targets.finish()
}
