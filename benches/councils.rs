//! Load generator for councils (协商议事): recording an opinion (`POST /api/v1/opinions`) as the
//! demo `resident` (their own building) and as the council's chair `council` (for a resident of a
//! building of the compound, with `author`), each by a few concurrent clients; then, as `admin`,
//! reading a council's page `/console/councils/{id}` and `GET /api/v1/councils?grid=411602`.
//! On the demo district (GONGZHI_BENCH_SCALE=small for a quick look), SQLite and — with
//! GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) — PostgreSQL.
//!
//! Run: `cargo bench --bench councils`. Loopback only; it stops by itself. Every request must
//! succeed, and afterwards the opinions written are counted in the database. GONGZHI_BENCH_ASSERT=1
//! also fails it when recording an opinion misses p99 < 50 ms (either account, either engine); the
//! reads have no documented target and are only shown.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gongzhi::demo;
use serde_json::{Value, json};
use support::{Targets, cookie, reads, report};

/// Opinions recorded per account (at least 500, as the target asks).
const OPINIONS: usize = 600;
/// Concurrent clients recording opinions.
const CLIENTS: usize = 4;
const COMPOUND: &str = "411602001001001";

/// `n` opinions posted by `clients` workers as `token`, each body from `body(i)`: sorted latencies.
async fn record(base: &str, token: &str, n: usize, clients: usize, body: fn(usize) -> Value) -> anyhow::Result<Vec<Duration>> {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, next, base, token) = (client.clone(), next.clone(), base.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                support::ok_bytes(
                    "POST /api/v1/opinions",
                    client.post(format!("{base}/api/v1/opinions")).bearer_auth(&token).json(&body(i)),
                )
                .await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(n);
    for t in tasks {
        lat.extend(t.await??);
    }
    lat.sort();
    Ok(lat)
}

fn resident_opinion(i: usize) -> Value {
    let cats = ["环境卫生", "物业服务", "设施维修", "停车交通"];
    json!({"category": cats[i % cats.len()], "body": format!("楼道灯坏了，希望尽快修理（压测 {i}）")})
}

fn head_opinion(i: usize) -> Value {
    json!({
        "grid": format!("{COMPOUND}001"),
        "category": "停车交通",
        "body": format!("小区门口电动车乱停，影响通行（代录 {i}）"),
        "author": "王大妈",
    })
}

async fn count_opinions(db: &gongzhi::db::Db) -> anyhow::Result<i64> {
    Ok(gongzhi::on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM council_opinions"
    )
    .fetch_one(p)
    .await)?)
}

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!("[{engine}] demo loaded in {:.1} s", t.elapsed().as_secs_f64());
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let before = count_opinions(&db).await?;

    let resident = support::login(&client, &base, "resident").await?;
    record(&base, &resident, 20, CLIENTS, resident_opinion).await?; // warm-up
    let lat = record(&base, &resident, OPINIONS, CLIENTS, resident_opinion).await?;
    report(
        engine,
        &format!("POST /api/v1/opinions as resident, {CLIENTS} clients"),
        &lat,
        targets,
        Some(50.0),
    );

    let chair = support::login(&client, &base, "council").await?;
    record(&base, &chair, 20, CLIENTS, head_opinion).await?; // warm-up
    let lat = record(&base, &chair, OPINIONS, CLIENTS, head_opinion).await?;
    report(
        engine,
        &format!("POST /api/v1/opinions as council chair (for a resident), {CLIENTS} clients"),
        &lat,
        targets,
        Some(50.0),
    );

    let written = count_opinions(&db).await? - before;
    let want = 2 * (OPINIONS + 20) as i64;
    anyhow::ensure!(written == want, "[{engine}] {written} opinions written, {want} expected");
    println!("[{engine}] {written} opinions written, as many as recorded");

    let admin = support::login(&client, &base, "admin").await?;
    let v = support::ok_json(
        "GET /api/v1/councils (compound)",
        client.get(format!("{base}/api/v1/councils?grid={COMPOUND}")).bearer_auth(&admin),
    )
    .await?;
    let id = v["items"][0]["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no council for compound {COMPOUND}: {v}"))?
        .to_string();
    let lat = reads(
        &client,
        &base,
        "/api/v1/councils?grid=411602",
        |r| r.bearer_auth(&admin),
        "\"items\"",
    )
    .await?;
    report(engine, "GET /api/v1/councils?grid=411602 as admin", &lat, targets, None);
    let c = cookie(&client, &base, "admin").await?;
    // The first page of opinions now holds the bench's own 1,240.
    let path = format!("/console/councils/{id}");
    let lat = reads(&client, &base, &path, |r| r.header("cookie", &c), "居民意见").await?;
    report(engine, "GET /console/councils/{id} (page) as admin", &lat, targets, None);

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
