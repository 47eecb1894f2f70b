//! Load generator for campaigns (专项整治行动): on the demo district the running 楼道堆物 drive holds
//! about 10,000 spots. The district reads its board, `GET /api/v1/campaigns/{id}` and the page
//! `/console/campaigns/{id}`; a building officer registers spots from the phone,
//! `POST /api/v1/campaigns/{id}/spots` (with and without a photo kept first). SQLite and — with
//! GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) — PostgreSQL.
//!
//! Run: `cargo bench --bench campaigns`. Loopback only; it stops by itself. Every request must
//! succeed. GONGZHI_BENCH_ASSERT=1 also fails it when a target of issue 17 is missed: the board
//! (API and page) p99 < 200 ms, registering a spot p99 < 50 ms.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gongzhi::demo;
use support::{Targets, cookie, ok_json, reads, report};

/// Spots the officer registers, sequentially, after a few not counted.
const REGISTRATIONS: usize = 200;

/// A tiny valid PNG (1×1), so the photo path is measured without the cost of a big upload.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63,
    0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!("[{engine}] demo loaded in {:.1} s", t.elapsed().as_secs_f64());
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let admin = support::login(&client, &base, "admin").await?;
    let officer = support::login(&client, &base, "building").await?;
    let c = cookie(&client, &base, "admin").await?;

    let list = ok_json("campaigns", client.get(format!("{base}/api/v1/campaigns")).bearer_auth(&admin)).await?;
    let drive = list
        .as_array()
        .and_then(|l| l.iter().find(|c| c["kind"] == "corridor_clutter"))
        .ok_or_else(|| anyhow::anyhow!("the demo has no 楼道堆物 drive: {list}"))?;
    let id = support::non_empty_str("the drive", drive, "id")?;
    let detail = ok_json("the board", client.get(format!("{base}/api/v1/campaigns/{id}")).bearer_auth(&admin)).await?;
    let spots = detail["figures"]["spots"].as_i64().unwrap_or(0);
    anyhow::ensure!(spots > 0, "the drive has no spots: {}", detail["figures"]);
    println!("[{engine}] the 楼道堆物 drive holds {spots} spots");

    let path = format!("/api/v1/campaigns/{id}");
    let lat = reads(&client, &base, &path, |r| r.bearer_auth(&admin), "\"figures\"").await?;
    report(
        engine,
        &format!("GET /api/v1/campaigns/{{id}} ({spots} spots)"),
        &lat,
        targets,
        Some(200.0),
    );
    let page = format!("/console/campaigns/{id}");
    let lat = reads(&client, &base, &page, |r| r.header("cookie", &c), "楼道堆物").await?;
    report(
        engine,
        &format!("GET /console/campaigns/{{id}} ({spots} spots)"),
        &lat,
        targets,
        Some(200.0),
    );
    let page = format!("/console/campaigns/{id}/spots");
    let lat = reads(&client, &base, &page, |r| r.header("cookie", &c), "楼道堆物").await?;
    report(
        engine,
        "GET /console/campaigns/{id}/spots (the ledger's first page)",
        &lat,
        targets,
        None,
    );

    // The officer's building, read from the officer's own spot list.
    let mine = ok_json(
        "the officer's spots",
        client
            .get(format!("{base}/api/v1/campaigns/{id}/spots?per_page=1"))
            .bearer_auth(&officer),
    )
    .await?;
    let grid = mine["items"][0]["grid"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the officer sees no spot of the drive: {mine}"))?;
    let url = format!("{base}/api/v1/campaigns/{id}/spots");
    let mut plain = Vec::with_capacity(REGISTRATIONS);
    let mut with_photo = Vec::with_capacity(REGISTRATIONS);
    for i in 0..REGISTRATIONS + 5 {
        let body = serde_json::json!({"place": format!("{}单元楼道", i + 1), "measure": 2, "grid": grid});
        let t = Instant::now();
        ok_json("register a spot", client.post(&url).bearer_auth(&officer).json(&body)).await?;
        let plain_d = t.elapsed();
        let t = Instant::now();
        let kept = ok_json(
            "keep a photo",
            client
                .post(format!("{base}/api/v1/campaigns/{id}/photos"))
                .bearer_auth(&officer)
                .header("content-type", "image/png")
                .body(PNG),
        )
        .await?;
        let mut body = body;
        body["photo"] = kept["photo"].clone();
        ok_json(
            "register a spot with its photo",
            client.post(&url).bearer_auth(&officer).json(&body),
        )
        .await?;
        let photo_d = t.elapsed();
        if i >= 5 {
            plain.push(plain_d);
            with_photo.push(photo_d);
        }
    }
    let sort = |mut v: Vec<Duration>| {
        v.sort();
        v
    };
    report(engine, "POST /api/v1/campaigns/{id}/spots", &sort(plain), targets, Some(50.0));
    report(
        engine,
        "POST …/photos then POST …/spots (a spot with its photo)",
        &sort(with_photo),
        targets,
        None,
    );
    let after = ok_json("the board", client.get(format!("{base}/api/v1/campaigns/{id}")).bearer_auth(&admin)).await?;
    let grew = after["figures"]["spots"].as_i64().unwrap_or(0) - spots;
    anyhow::ensure!(
        grew == 2 * (REGISTRATIONS as i64 + 5),
        "the board counts {grew} new spots, not {}",
        2 * (REGISTRATIONS + 5)
    );

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
