//! Load generator: love-supermarket redemptions over HTTP (`POST /api/v1/redemptions`, each its
//! own one-time code and Idempotency-Key) at 1, 16 and 64 concurrent tills, then the whole-ledger
//! audit (`GET /api/v1/points/audit`), on SQLite and — when GONGZHI_BENCH_DATABASE_URL (or
//! GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL. The small demo district, loopback only, a fixed
//! number of redemptions; stops by itself.
//!
//! Run: `cargo bench --bench points`. Any failed setup step, refused redemption, failed audit
//! request or audit that is not `ok` fails the bench. No target is documented for it.

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gongzhi::audit::Actor;
use gongzhi::demo::{self, Scale};
use gongzhi::volunteers::{shops, store};
use serde_json::json;
use support::{ms, non_empty_str, ok_json, percentile};

const PER_LEVEL: usize = 1_500;

async fn run(engine: &'static str) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    demo::load(&db, Scale::Small, 20231, false).await?;
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::new();
    let keeper = support::login(&client, &base, "keeper").await?;
    let admin = support::login(&client, &base, "admin").await?;
    // The keeper's shop gets an item with stock for every redemption of the run.
    let what = format!("[{engine}] the keeper's love supermarkets");
    let shops_list = ok_json(
        &what,
        client
            .get(format!("{base}/api/v1/shops?kind=love_supermarket"))
            .bearer_auth(&keeper),
    )
    .await?;
    let shop = non_empty_str(&what, &shops_list["items"][0], "id")?;
    let what = format!("[{engine}] a new item in shop {shop}");
    let item = ok_json(
        &what,
        client
            .post(format!("{base}/api/v1/shops/{shop}/items"))
            .bearer_auth(&keeper)
            .json(&json!({"name": "压测毛巾", "points": 1, "stock": 1_000_000})),
    )
    .await?;
    let item = non_empty_str(&what, &item, "id")?;
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
    anyhow::ensure!(!vols.is_empty(), "[{engine}] the demo has no volunteers to redeem points");
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
                let mut first_refusal = None;
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
                    let why = match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            times.push(t.elapsed());
                            continue;
                        }
                        Ok(r) => format!("HTTP {}: {}", r.status(), r.text().await.unwrap_or_default()),
                        Err(e) => e.to_string(),
                    };
                    refused += 1;
                    first_refusal.get_or_insert(why);
                }
                (times, refused, first_refusal)
            }));
        }
        let mut times = Vec::new();
        let mut refused = 0;
        let mut first_refusal = None;
        for w in workers {
            let (t, r, f) = w.await?;
            times.extend(t);
            refused += r;
            first_refusal = first_refusal.or(f);
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
        anyhow::ensure!(
            refused == 0 && times.len() == batch.len(),
            "[{engine}] {clients} tills: {refused} of {} redemptions refused (first: {})",
            batch.len(),
            first_refusal.as_deref().unwrap_or("none accepted")
        );
    }
    let mut audit_times = Vec::new();
    let mut last = serde_json::Value::Null;
    for _ in 0..20 {
        let t = Instant::now();
        last = ok_json(
            &format!("[{engine}] GET /api/v1/points/audit"),
            client.get(format!("{base}/api/v1/points/audit")).bearer_auth(&admin),
        )
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
    anyhow::ensure!(
        last["ok"] == true && last["transactions"].as_i64().is_some_and(|n| n > 0),
        "[{engine}] the ledger audit is not ok: {last}"
    );
    server.abort();
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    support::Targets::none("points");
    for engine in support::engines() {
        run(engine).await?;
    }
    Ok(())
}
