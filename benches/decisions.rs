//! Owners' decisions (业主表决): the art. 278 tally of a 3,000-unit compound — the pure rule over
//! the register in memory, the stored decision's tally read from the database (register and
//! ballots, then the rule), and `GET /api/v1/decisions/{id}` over HTTP — on SQLite and, when
//! GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) is set, PostgreSQL.
//!
//! Run: `cargo bench --bench decisions` (or, without a release build, `cargo test --bench
//! decisions`). Target (issue 13): the stored tally of a 3,000-unit compound in < 50 ms (median).

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gongzhi::db::{new_id, now_ms};
use gongzhi::decisions::rules::{self, Choice, UnitShare};
use gongzhi::decisions::service;
use gongzhi::decisions::store::{self, DecisionRow, NewBallot, NewUnit};
use gongzhi::demo::{self, Scale};
use support::{Target, Targets, ms, ok_json, percentile};

const UNITS: usize = 3_000;
const COMPOUND: &str = "411602001001002";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    percentile(&v, 0.5)
}

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    demo::load(&db, Scale::Small, 278, false).await?;
    // A 3,000-unit register: 150 of the developer's, 300 owners of two, the rest one each.
    let building = format!("{COMPOUND}001");
    let mut tx = db.begin().await?;
    gongzhi::on_tx!(&mut tx, |c| sqlx::query("DELETE FROM property_units WHERE compound_code = $1")
        .bind(COMPOUND)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    let now = now_ms();
    let units: Vec<NewUnit> = (0..UNITS)
        .map(|i| {
            let (name, developer, key) = if i < 150 {
                ("川汇置业有限公司".to_string(), true, "developer".to_string())
            } else if i < 750 {
                (String::new(), false, format!("n:twin{}", i / 2))
            } else {
                (String::new(), false, format!("n:owner{i}"))
            };
            NewUnit {
                id: new_id(),
                district: "411602".into(),
                compound_code: COMPOUND.into(),
                building_code: building.clone(),
                label: format!("{}-{}-{}", i / 200 + 1, i / 50 % 4 + 1, 101 + i % 50),
                area_centi: 4_500 + (i as i64 * 7_919) % 11_500,
                resident_id: None,
                owner_name: name,
                developer,
                owner_key: key,
                created_at: now,
            }
        })
        .collect();
    store::insert_units(&mut tx, &units).await?;
    let d = DecisionRow {
        id: new_id(),
        district: "411602".into(),
        compound_code: COMPOUND.into(),
        matter: 7,
        title: "加装电梯".into(),
        body: "压测".into(),
        status: "open".into(),
        opens_at: now - 3_600_000,
        closes_at: now + 86_400_000,
        passed: None,
        created_at: now,
        updated_at: now,
    };
    let admin_id: uuid::Uuid = gongzhi::on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_one(&mut *c)
        .await)?;
    store::insert(&mut tx, &d, admin_id).await?;
    let mut owners: Vec<&str> = units.iter().map(|u| u.owner_key.as_str()).collect();
    owners.dedup();
    let ballots: Vec<NewBallot> = owners
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(i, o)| NewBallot {
            decision_id: d.id,
            owner_key: o.to_string(),
            choice: ["yes", "yes", "yes", "no", "abstain"][i % 5],
            cast_at: now,
        })
        .collect();
    store::insert_ballots(&mut tx, &ballots).await?;
    tx.commit().await?;
    db.analyze().await?;

    // The pure rule, the register in memory.
    let shares: Vec<UnitShare> = units
        .iter()
        .map(|u| UnitShare {
            owner: &u.owner_key,
            area: u.area_centi,
        })
        .collect();
    let votes: HashMap<&str, Choice> = ballots
        .iter()
        .map(|b| (b.owner_key.as_str(), Choice::parse(b.choice).unwrap()))
        .collect();
    let mut pure = Vec::new();
    let mut t = rules::tally(rules::Rule::ThreeQuarters, &shares, &votes);
    for _ in 0..200 {
        let s = Instant::now();
        t = rules::tally(rules::Rule::ThreeQuarters, &shares, &votes);
        pure.push(s.elapsed());
    }
    // The stored decision's tally: the register and ballots read, then the rule.
    let mut stored = Vec::new();
    for _ in 0..60 {
        let s = Instant::now();
        let x = service::tally(&db, &d).await.map_err(|e| anyhow::anyhow!(e.message))?;
        stored.push(s.elapsed());
        anyhow::ensure!(x == t, "[{engine}] the stored tally differs from the rule in memory");
    }
    // Over HTTP.
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::new();
    let admin = support::login(&client, &base, "admin").await?;
    let mut http = Vec::new();
    for _ in 0..30 {
        let s = Instant::now();
        let v = ok_json(
            "decision",
            client.get(format!("{base}/api/v1/decisions/{}", d.id)).bearer_auth(&admin),
        )
        .await?;
        http.push(s.elapsed());
        anyhow::ensure!(v["tally"]["participation"]["owners"]["total"] == t.total_owners, "[{engine}] {v}");
    }
    println!(
        "[{engine}] {UNITS} units, {} owners, {} ballots: pure rule p50 {}; stored tally p50 {} (p99 {}); GET /api/v1/decisions/{{id}} p50 {}",
        t.total_owners,
        ballots.len(),
        ms(median(pure)),
        ms(median(stored.clone())),
        ms({
            stored.sort();
            percentile(&stored, 0.99)
        }),
        ms(median(http))
    );
    let mut sorted = stored.clone();
    sorted.sort();
    targets.check(
        &format!("[{engine}] stored tally of a {UNITS}-unit compound, median"),
        percentile(&sorted, 0.5).as_secs_f64() * 1000.0,
        Target::Below(50.0),
        "ms",
    );
    server.abort();
    db.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    let mut targets = Targets::from_env();
    for engine in support::engines() {
        run(engine, &mut targets).await?;
    }
    targets.finish()
}
