//! Load generator: love-supermarket redemptions over HTTP (`POST /api/v1/redemptions`, each its
//! own one-time code and Idempotency-Key) at 1, 16 and 64 concurrent tills, then the whole-ledger
//! audit (`GET /api/v1/points/audit`), on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or
//! GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL. The small demo district, loopback only, a fixed
//! number of redemptions; stops by itself.
//!
//! Run: `cargo bench --bench points`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gongzhi::audit::Actor;
use gongzhi::db::Db;
use gongzhi::demo::{self, Scale};
use gongzhi::volunteers::{shops, store};
use serde_json::{Value, json};

const PER_LEVEL: usize = 1_500;

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

async fn run(engine: &'static str) -> anyhow::Result<()> {
    let db = fresh(engine).await?;
    demo::load(&db, Scale::Small, 20231, false).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = gongzhi::app::router(gongzhi::app::AppState::new(db.clone()));
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::new();
    let login = |user: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let v: Value = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"username": user, "password": demo::DEMO_PASSWORD}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(v["token"].as_str().unwrap_or_default().to_string())
        }
    };
    let keeper = login("keeper").await?;
    let admin = login("admin").await?;
    // The keeper's shop gets an item with stock for every redemption of the run.
    let shops_list: Value = client
        .get(format!("{base}/api/v1/shops?kind=love_supermarket"))
        .bearer_auth(&keeper)
        .send()
        .await?
        .json()
        .await?;
    let shop = shops_list["items"][0]["id"].as_str().unwrap_or_default().to_string();
    let item: Value = client
        .post(format!("{base}/api/v1/shops/{shop}/items"))
        .bearer_auth(&keeper)
        .json(&json!({"name": "压测毛巾", "points": 1, "stock": 1_000_000}))
        .send()
        .await?
        .json()
        .await?;
    let item = item["id"].as_str().unwrap_or_default().to_string();
    // Volunteers with points, and one code per redemption.
    let (vols, _) = store::volunteers(
        &db,
        &store::VolunteerFilter {
            district: "411602",
            grid: None,
            team: None,
            name: None,
            limit: 300,
            offset: 0,
        },
    )
    .await?;
    for v in &vols {
        store::correct(
            &db,
            Actor::System("bench"),
            "411602",
            store::Correction::Adjust {
                volunteer: v.id,
                points: 100_000,
            },
            "压测",
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    let mut codes = Vec::new();
    for i in 0..PER_LEVEL * 3 {
        codes.push(
            shops::issue_code(&db, &vols[i % vols.len()])
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?
                .code,
        );
    }
    let mut codes = codes.into_iter();
    for clients in [1usize, 16, 64] {
        let batch: Arc<Vec<String>> = Arc::new(codes.by_ref().take(PER_LEVEL).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..clients {
            let (client, base, keeper, item, batch, next) = (
                client.clone(),
                base.clone(),
                keeper.clone(),
                item.clone(),
                batch.clone(),
                next.clone(),
            );
            workers.push(tokio::spawn(async move {
                let mut times = Vec::new();
                let mut refused = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(code) = batch.get(i) else { break };
                    let t = Instant::now();
                    let r = client
                        .post(format!("{base}/api/v1/redemptions"))
                        .bearer_auth(&keeper)
                        .header("Idempotency-Key", format!("bench-{code}"))
                        .json(&json!({"code": code, "item": item, "quantity": 1}))
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => times.push(t.elapsed()),
                        _ => refused += 1,
                    }
                }
                (times, refused)
            }));
        }
        let mut times = Vec::new();
        let mut refused = 0;
        for w in workers {
            let (t, r) = w.await?;
            times.extend(t);
            refused += r;
        }
        let secs = started.elapsed().as_secs_f64();
        times.sort();
        println!(
            "[{engine}] {clients:>2} tills: {:.0} redemptions/s, p50 {} p99 {} ({} accepted, {refused} refused)",
            times.len() as f64 / secs,
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            times.len()
        );
    }
    let mut audit_times = Vec::new();
    let mut last = Value::Null;
    for _ in 0..20 {
        let t = Instant::now();
        last = client
            .get(format!("{base}/api/v1/points/audit"))
            .bearer_auth(&admin)
            .send()
            .await?
            .json()
            .await?;
        audit_times.push(t.elapsed());
    }
    audit_times.sort();
    println!(
        "[{engine}] ledger audit over {} transactions: p50 {} (ok: {})",
        last["transactions"],
        ms(percentile(&audit_times, 0.5)),
        last["ok"]
    );
    server.abort();
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    run("sqlite").await?;
    let pg = std::env::var("GONGZHI_BENCH_DATABASE_URL").or_else(|_| std::env::var("GONGZHI_TEST_DATABASE_URL"));
    if pg.is_ok_and(|u| !u.is_empty()) {
        run("postgres").await?;
    } else {
        println!("[postgres] skipped: set GONGZHI_BENCH_DATABASE_URL=postgres://… to measure it");
    }
    Ok(())
}
