//! Load generator: case creation over HTTP (`POST /api/v1/cases` with an Idempotency-Key) at 1, 16
//! and 64 concurrent clients, and in the same run the engine's raw ceiling (the same store call,
//! no HTTP, no auth), on SQLite and — with GONGZHI_BENCH_DATABASE_URL — PostgreSQL.
//!
//! Run: `cargo bench --bench cases`. Loopback only; each step is bounded by a request count and
//! by time (GONGZHI_BENCH_SECONDS, default 5 s per step); it stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gongzhi::audit::Actor;
use gongzhi::cases::store::{self, NewCaseRow};
use gongzhi::db::Db;
use gongzhi::demo::{self, Scale};
use serde_json::{Value, json};

const MAX_PER_STEP: usize = 20_000;

fn secs() -> Duration {
    Duration::from_secs(
        std::env::var("GONGZHI_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    )
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

async fn fresh(engine: &str) -> anyhow::Result<Db> {
    if engine == "sqlite" {
        let path = std::env::temp_dir().join(format!("gongzhi-loadgen-{}.db", uuid::Uuid::now_v7()));
        return Db::connect(&format!("sqlite://{}", path.display())).await;
    }
    let url = std::env::var("GONGZHI_BENCH_DATABASE_URL")?;
    Ok(Db::connect_new_schema(&url, "bench").await?.0)
}

struct Step {
    n: usize,
    secs: f64,
    lat: Vec<Duration>,
    errors: usize,
}

/// Run `clients` workers, each calling `one(i)` until the count or the time runs out.
async fn drive<F, Fut>(clients: usize, one: F) -> Step
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let one = Arc::new(one);
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + secs();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (one, next, errors) = (one.clone(), next.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= MAX_PER_STEP || Instant::now() > deadline {
                    break;
                }
                let t = Instant::now();
                if !one(i).await {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap_or_default());
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort();
    Step {
        n: lat.len(),
        secs,
        lat,
        errors: errors.load(Ordering::Relaxed),
    }
}

fn line(engine: &str, what: &str, clients: usize, s: &Step) -> f64 {
    let rate = s.n as f64 / s.secs;
    println!(
        "[{engine}] {what:<5} {clients:>2} clients: {:>7.0} creations/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} in {:.1} s, {} errors)",
        rate,
        pct(&s.lat, 0.5),
        pct(&s.lat, 0.99),
        s.n,
        s.secs,
        s.errors
    );
    rate
}

async fn run(engine: &'static str) -> anyhow::Result<()> {
    let db = fresh(engine).await?;
    demo::load(&db, Scale::Small, 20231, false).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = gongzhi::app::router(gongzhi::app::AppState::new(db.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::builder().pool_max_idle_per_host(128).build()?;
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "building", "password": demo::DEMO_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().unwrap_or_default().to_string();
    let building = "411602001001001001";
    // Reports come from all over the street, as they do: the centres of its buildings, in turn.
    let points: Vec<(f64, f64)> = gongzhi::on_pool!(&db, |p| sqlx::query_as::<_, (f64, f64)>(
        "SELECT center_lat, center_lng FROM grids WHERE level = 5 ORDER BY code"
    )
    .fetch_all(p)
    .await)?;
    let points = Arc::new(points);
    for clients in [1usize, 16, 64] {
        let run_id = uuid::Uuid::now_v7();
        let (c, b, t, pts) = (client.clone(), base.clone(), token.clone(), points.clone());
        let http = drive(clients, move |i| {
            let (c, b, t) = (c.clone(), b.clone(), t.clone());
            let (lat, lng) = pts[i % pts.len()];
            async move {
                let body = json!({"category": "SQ07", "description": "压测：楼道堆物", "lat": lat, "lng": lng});
                match c
                    .post(format!("{b}/api/v1/cases"))
                    .bearer_auth(&t)
                    .header("Idempotency-Key", format!("{run_id}-{i}"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16() == 201,
                    Err(_) => false,
                }
            }
        })
        .await;
        let http_rate = line(engine, "http", clients, &http);
        let run_id = uuid::Uuid::now_v7();
        let (db2, pts) = (db.clone(), points.clone());
        let raw = drive(clients, move |i| {
            let db = db2.clone();
            let (lat, lng) = pts[i % pts.len()];
            async move {
                let key = format!("{run_id}-{i}");
                let now = gongzhi::db::now_ms();
                let row = NewCaseRow {
                    district: "411602",
                    category_code: "SQ07",
                    description: "压测：楼道堆物",
                    lat: Some(lat),
                    lng: Some(lng),
                    grid_code: building,
                    level: 5,
                    source: "officer",
                    reporter_id: None,
                    reporter_name: "loadgen",
                    reporter_phone: "",
                    idempotency_key: Some(&key),
                    reported_at: now,
                    due_at: now + 3 * 86_400_000,
                    duplicate_of: None,
                    attributes: "{}",
                    private: false,
                    on_reported: None,
                };
                store::create(&db, Actor::System("loadgen"), &row).await.is_ok()
            }
        })
        .await;
        let raw_rate = line(engine, "raw", clients, &raw);
        println!(
            "[{engine}] ratio  {clients:>2} clients: HTTP is {:.0}% of the raw ceiling",
            http_rate / raw_rate * 100.0
        );
    }
    server.abort();
    db.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        run("sqlite").await?;
        if std::env::var("GONGZHI_BENCH_DATABASE_URL").is_ok() {
            run("postgres").await?;
        } else {
            println!("[postgres] skipped: set GONGZHI_BENCH_DATABASE_URL=postgres://… to measure it");
        }
        Ok(())
    })
}
