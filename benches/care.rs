//! Load generator for care visits (关爱走访): a building officer holding 30 buildings (the demo
//! `building` account given 29 more of its street's buildings with the most care-tagged people)
//! reads their due list, `GET /api/v1/care/due` and the phone page `/console/services/care`. On
//! the demo district (GONGZHI_BENCH_SCALE=small for a quick look), SQLite and — with
//! GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) — PostgreSQL.
//!
//! Run: `cargo bench --bench care`. Loopback only; it stops by itself. Every request must succeed.
//! GONGZHI_BENCH_ASSERT=1 also fails it when the API's p99 is not under 50 ms (the target);
//! the page is only shown.

#[path = "support/mod.rs"]
mod support;

use std::time::Instant;

use gongzhi::demo;
use support::{Targets, cookie, reads, report};

/// The officer's buildings.
const BUILDINGS: i64 = 30;

/// Give the `building` account 29 more buildings of the first street: those with the most
/// care-tagged people, so the list is as long as a busy officer's.
async fn thirty_buildings(db: &gongzhi::db::Db) -> anyhow::Result<i64> {
    let codes: Vec<String> = gongzhi::on_pool!(db, |p| {
        sqlx::query_scalar::<_, String>(
        "SELECT grid_code FROM care_due WHERE grid_code >= '411602001' AND grid_code < '411602002' AND grid_code <> '411602001001001001' \
         GROUP BY grid_code ORDER BY COUNT(*) DESC, grid_code LIMIT $1"
    )
    .bind(BUILDINGS - 1)
    .fetch_all(p)
    .await
    })?;
    let mut tx = db.begin().await?;
    for code in &codes {
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO posts (id, district, user_id, role, grid_code, created_at) \
             SELECT $1, '411602', id, 'building_officer', $2, 0 FROM users WHERE username = 'building'"
        )
        .bind(uuid::Uuid::now_v7())
        .bind(code)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    tx.commit().await?;
    let people: i64 = gongzhi::on_pool!(db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(DISTINCT d.resident_id) FROM care_due d JOIN posts p ON p.grid_code = d.grid_code \
         JOIN users u ON u.id = p.user_id WHERE u.username = 'building'"
    )
    .fetch_one(p)
    .await)?;
    Ok(people)
}

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!("[{engine}] demo loaded in {:.1} s", t.elapsed().as_secs_f64());
    let people = thirty_buildings(&db).await?;
    println!("[{engine}] the officer's buildings hold {people} care-tagged people");
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let token = support::login(&client, &base, "building").await?;
    let c = cookie(&client, &base, "building").await?;

    let lat = reads(&client, &base, "/api/v1/care/due", |r| r.bearer_auth(&token), "\"items\"").await?;
    report(
        engine,
        "GET /api/v1/care/due (30 buildings) as a building officer",
        &lat,
        targets,
        Some(50.0),
    );
    let lat = reads(&client, &base, "/console/services/care", |r| r.header("cookie", &c), "今日走访").await?;
    report(engine, "GET /console/services/care (30 buildings)", &lat, targets, None);

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
