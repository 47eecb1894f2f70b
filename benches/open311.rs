//! Benchmark: Open311 GeoReport v2 over HTTP on the district demo — p50/p99 of the request search
//! (the default 90-day window, up to 1,000 requests, JSON and XML), a filtered search, one request,
//! and POST (located by lat/long), on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or
//! GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL.
//!
//! Run: `cargo bench --bench open311` (GONGZHI_BENCH_SCALE=small for a quick look).
//! Loopback only; a fixed number of requests; stops by itself.

use std::time::{Duration, Instant};

use gongzhi::audit::Actor;
use gongzhi::db::Db;
use gongzhi::demo::{self, Scale};
use serde_json::Value;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn fresh(engine: &str) -> anyhow::Result<Db> {
    if engine == "sqlite" {
        let path = std::env::temp_dir().join(format!("gongzhi-bench-{}.db", uuid::Uuid::now_v7()));
        return Db::connect(&format!("sqlite://{}", path.display())).await;
    }
    let url = std::env::var("GONGZHI_BENCH_DATABASE_URL").or_else(|_| std::env::var("GONGZHI_TEST_DATABASE_URL"))?;
    Ok(Db::connect_new_schema(&url, "bench").await?.0)
}

async fn timed(n: usize, make: impl Fn(usize) -> reqwest::RequestBuilder) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n {
        let t = Instant::now();
        let r = make(i).send().await?;
        let status = r.status();
        let body = r.bytes().await?;
        times.push(t.elapsed());
        anyhow::ensure!(status.is_success(), "HTTP {status}: {}", String::from_utf8_lossy(&body));
        bytes = body.len();
    }
    times.sort();
    Ok((times, bytes))
}

async fn run(engine: &'static str, scale: Scale) -> anyhow::Result<()> {
    let db = fresh(engine).await?;
    demo::load(&db, scale, 20231, false).await?;
    let (_, secret) = gongzhi::open311::keys::add(&db, Actor::System("bench"), "411602", "bench", 10_000)
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/open311/v2", listener.local_addr()?);
    let router = gongzhi::app::router(gongzhi::app::AppState::new(db.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let ids: Vec<Value> = client.get(format!("{base}/requests.json")).send().await?.json().await?;
    let ids: Vec<String> = ids
        .iter()
        .filter_map(|r| r["service_request_id"].as_str().map(String::from))
        .collect();
    let points: Vec<(f64, f64)> = gongzhi::on_pool!(&db, |p| sqlx::query_as::<_, (f64, f64)>(
        "SELECT center_lat, center_lng FROM grids WHERE level = 5 ORDER BY code LIMIT 500"
    )
    .fetch_all(p)
    .await)?;
    println!("[{engine}] {} requests in the default window", ids.len());
    // Warm the caches so that the first row does not pay for the others.
    for _ in 0..5 {
        client.get(format!("{base}/requests.json")).send().await?.bytes().await?;
    }
    let c = &client;
    let rows = vec![
        (
            "GET requests.json (default window, ≤1,000)",
            timed(40, |_| c.get(format!("{base}/requests.json"))).await?,
        ),
        (
            "GET requests.xml (default window, ≤1,000)",
            timed(40, |_| c.get(format!("{base}/requests.xml"))).await?,
        ),
        (
            "GET requests.json?service_code=SQ03&status=open",
            timed(200, |_| c.get(format!("{base}/requests.json?service_code=SQ03&status=open"))).await?,
        ),
        (
            "GET requests/{id}.json",
            timed(200, |i| c.get(format!("{base}/requests/{}.json", ids[i % ids.len().max(1)]))).await?,
        ),
        (
            "POST requests.json (lat/long)",
            timed(200, |i| {
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
        ),
    ];
    for (what, (t, bytes)) in rows {
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
    let scale = match std::env::var("GONGZHI_BENCH_SCALE").as_deref() {
        Ok("small") => Scale::Small,
        _ => Scale::District,
    };
    run("sqlite", scale).await?;
    let pg = std::env::var("GONGZHI_BENCH_DATABASE_URL").or_else(|_| std::env::var("GONGZHI_TEST_DATABASE_URL"));
    if pg.is_ok_and(|u| !u.is_empty()) {
        run("postgres", scale).await?;
    }
    Ok(())
}
