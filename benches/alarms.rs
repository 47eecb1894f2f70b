//! Benchmark: device alarms over MQTT (the Mosquitto on 127.0.0.1:1883, or GONGZHI_BENCH_MQTT_PORT)
//! into cases on the district demo: a burst of 1,000 alarms from 100 devices (ten each, published
//! as fast as the broker takes them) and 50 alarms one at a time, each from a fresh device. The
//! latency of an alarm is from its hand-over to the broker until its row is stored (polled every
//! 10 ms), on SQLite and — when GONGZHI_BENCH_DATABASE_URL is set — PostgreSQL.
//! Target (GONGZHI_BENCH_ASSERT=1): alarm → case p99 < 1 s, in the burst and one at a time.
//!
//! Run: `cargo bench --bench alarms` (GONGZHI_BENCH_SCALE=small for a quick look).

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use gongzhi::app::AppState;
use gongzhi::db::Db;
use gongzhi::demo;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use support::{Target, Targets, percentile};
use uuid::Uuid;

fn port() -> u16 {
    std::env::var("GONGZHI_BENCH_MQTT_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(1883)
}

/// Register `n` smoke detectors in the first compound of the demo: their serials.
async fn devices(db: &Db, tag: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let compound: String = gongzhi::on_pool!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT code FROM grids WHERE level = 4 ORDER BY code LIMIT 1"
    )
    .fetch_one(p)
    .await)?;
    let mut tx = db.begin().await?;
    let mut serials = Vec::new();
    for i in 0..n {
        let serial = format!("{tag}-{i:03}");
        gongzhi::on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO devices (id, district, grid_code, kind, name, serial, lat, lng, status, created_at) \
             VALUES ($1, '411602', $2, 'fire_alarm', $3, $4, 33.62, 114.65, 'normal', 0)"
        )
        .bind(Uuid::now_v7())
        .bind(&compound)
        .bind(format!("压测烟感{i}"))
        .bind(&serial)
        .execute(c)
        .await
        .map(|_| ()))?;
        serials.push(serial);
    }
    tx.commit().await?;
    Ok(serials)
}

/// Publish at QoS 1 until the broker acknowledged every message: when each was handed over.
async fn publish(msgs: Vec<(String, Vec<u8>)>) -> anyhow::Result<Vec<Instant>> {
    let mut o = MqttOptions::new(format!("bench-pub-{}", Uuid::now_v7().simple()), "127.0.0.1", port());
    o.set_keep_alive(Duration::from_secs(30));
    o.set_inflight(200);
    let (client, mut events) = AsyncClient::new(o, 4096);
    let n = msgs.len();
    let sender = tokio::spawn(async move {
        let mut sent = Vec::new();
        for (topic, payload) in msgs {
            sent.push(Instant::now());
            client.publish(topic, QoS::AtLeastOnce, false, payload).await?;
        }
        anyhow::Ok((client, sent))
    });
    let mut acked = 0;
    while acked < n {
        match tokio::time::timeout(Duration::from_secs(30), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => anyhow::bail!("publisher: {e}"),
            Err(_) => anyhow::bail!("publisher: no acknowledgement in 30 s ({acked}/{n})"),
        }
    }
    let (client, sent) = sender.await??;
    let _ = client.try_disconnect();
    Ok(sent)
}

fn alarm(detail: &str, at_ms: i64) -> Vec<u8> {
    let at = jiff::Timestamp::from_millisecond(at_ms).expect("a time").to_string();
    serde_json::json!({"kind": "smoke", "at": at, "detail": detail, "level": 2})
        .to_string()
        .into_bytes()
}

/// Details of the stored alarms of `tag`'s devices, with whether a case holds each.
async fn stored(db: &Db, tag: &str) -> anyhow::Result<Vec<(String, bool)>> {
    Ok(gongzhi::on_pool!(db, |p| sqlx::query_as::<_, (String, bool)>(
        "SELECT detail, case_id IS NOT NULL FROM device_alarms WHERE serial LIKE $1"
    )
    .bind(format!("{tag}%"))
    .fetch_all(p)
    .await)?)
}

/// Wait until `want` alarms of `tag` are stored, noting when each detail was first seen.
async fn wait(db: &Db, tag: &str, want: usize, seen: &mut HashMap<String, Instant>) -> anyhow::Result<()> {
    let t0 = Instant::now();
    loop {
        let rows = stored(db, tag).await?;
        let now = Instant::now();
        for (d, with_case) in &rows {
            anyhow::ensure!(*with_case, "alarm {d} stored without a case");
            seen.entry(d.clone()).or_insert(now);
        }
        if rows.len() >= want {
            return Ok(());
        }
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(120),
            "{} of {want} alarms stored after 120 s",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!(
        "[{engine}] demo ({:?}) loaded in {:.1} s",
        support::scale(),
        t.elapsed().as_secs_f64()
    );
    let state = AppState::new(db.clone());
    let alarms = state.alarms();
    let run = Uuid::now_v7().simple().to_string();
    let prefix = format!("gzbench/{run}");
    let tag = format!("A{}", &run[20..]);
    let serials = devices(&db, &tag, 100).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let m = gongzhi::alarms::mqtt::parse_url(&format!("mqtt://127.0.0.1:{}?client_id=gzb-{run}", port()), &prefix)?;
    let task = gongzhi::alarms::mqtt::spawn(alarms.clone(), m, stopped);
    // Subscribed once a heartbeat comes through.
    let t0 = Instant::now();
    while alarms.counters.view().heartbeats == 0 {
        publish(vec![(format!("{prefix}/411602/devices/{}/heartbeat", serials[0]), b"{}".to_vec())]).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(20), "the subscriber never subscribed");
    }

    // The burst: round-major, so the broker's in-flight window holds different devices.
    let now = gongzhi::db::now_ms();
    let mut msgs = Vec::new();
    let mut details = Vec::new();
    for round in 0..10 {
        for (d, serial) in serials.iter().enumerate() {
            let detail = format!("burst {d:03} {round}");
            msgs.push((
                format!("{prefix}/411602/devices/{serial}/alarm"),
                alarm(&detail, now - 60_000 + round * 1000),
            ));
            details.push(detail);
        }
    }
    let t0 = Instant::now();
    let sent = publish(msgs).await?;
    let mut seen = HashMap::new();
    wait(&db, &tag, 1000, &mut seen).await?;
    let took = t0.elapsed();
    let mut lat: Vec<Duration> = details
        .iter()
        .zip(&sent)
        .map(|(d, at)| seen[d].saturating_duration_since(*at))
        .collect();
    lat.sort();
    let cases: i64 = gongzhi::on_pool!(&db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(DISTINCT case_id) FROM device_alarms WHERE serial LIKE $1"
    )
    .bind(format!("{tag}%"))
    .fetch_one(p)
    .await)?;
    anyhow::ensure!(cases == 100, "[{engine}] one case per device: {cases}");
    println!(
        "[{engine}] burst: 1,000 alarms from 100 devices into 100 cases in {:.2} s ({:.0}/s); alarm → case p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        took.as_secs_f64(),
        1000.0 / took.as_secs_f64(),
        support::millis(percentile(&lat, 0.5)),
        support::millis(percentile(&lat, 0.99)),
        support::millis(lat[lat.len() - 1])
    );
    targets.check(
        &format!("[{engine}] burst alarm → case p99"),
        support::millis(percentile(&lat, 0.99)),
        Target::Below(1000.0),
        "ms",
    );

    // One at a time, 50 ms apart, each from a fresh device (so each opens a case).
    let fresh_tag = format!("{tag}L");
    let fresh = devices(&db, &fresh_tag, 50).await?;
    let mut lat = Vec::new();
    for (i, serial) in fresh.iter().enumerate() {
        let detail = format!("paced {i:03}");
        let at = publish(vec![(
            format!("{prefix}/411602/devices/{serial}/alarm"),
            alarm(&detail, gongzhi::db::now_ms()),
        )])
        .await?[0];
        let mut seen = HashMap::new();
        wait(&db, &fresh_tag, i + 1, &mut seen).await?;
        lat.push(seen[&detail].saturating_duration_since(at));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    lat.sort();
    support::report(engine, "alarm → case, one at a time", &lat, targets, Some(1000.0));
    let _ = stop.send(true);
    task.await?;
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
