//! Benchmark: demo district generation time, and p50/p99 latency of `GET /api/v1/residents`
//! (district-wide name search, phone-tail search, tag filter, building-scoped list) over HTTP,
//! on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL.
//!
//! Run: `cargo bench --bench registry` (GONGZHI_BENCH_SCALE=small for a quick look).
//! Loopback only; a fixed number of requests; stops by itself.

use std::time::{Duration, Instant};

use gongzhi::db::Db;
use gongzhi::demo::{self, Scale};
use serde_json::Value;

const REQUESTS: usize = 400;

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

async fn run(engine: &'static str, scale: Scale) -> anyhow::Result<()> {
    let db = fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, scale, 20231, false).await?;
    println!("[{engine}] demo generation ({scale:?}): {:.1} s", t.elapsed().as_secs_f64());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = gongzhi::app::router(gongzhi::app::AppState::new(db.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": demo::DEMO_PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().unwrap_or_default().to_string();
    let buildings: Vec<String> = gongzhi::on_pool!(&db, |p| sqlx::query_scalar::<_, String>(
        "SELECT code FROM grids WHERE level = 5 ORDER BY code"
    )
    .fetch_all(p)
    .await)?;
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
        for i in 0..20 {
            client
                .get(format!("{base}{}", make(i)))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?;
        }
        let mut times = Vec::with_capacity(REQUESTS);
        let mut hits = 0i64;
        for i in 0..REQUESTS {
            let t = Instant::now();
            let r = client
                .get(format!("{base}{}", make(i)))
                .bearer_auth(&token)
                .send()
                .await?
                .error_for_status()?;
            let v: Value = r.json().await?;
            times.push(t.elapsed());
            hits += v["total"].as_i64().unwrap_or(0);
        }
        times.sort();
        println!(
            "[{engine}] {label:<30} p50 {:>9}  p99 {:>9}  max {:>9}  (n={REQUESTS}, mean total {})",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            hits / REQUESTS as i64
        );
    }
    server.abort();
    db.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let scale = match std::env::var("GONGZHI_BENCH_SCALE").as_deref() {
        Ok("small") => Scale::Small,
        _ => Scale::District,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        run("sqlite", scale).await?;
        if std::env::var("GONGZHI_BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("GONGZHI_TEST_DATABASE_URL"))
            .is_ok()
        {
            run("postgres", scale).await?;
        } else {
            println!("[postgres] skipped: set GONGZHI_BENCH_DATABASE_URL=postgres://… to measure it");
        }
        Ok(())
    })
}
