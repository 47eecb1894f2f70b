//! Device alarms (设备告警): MQTT alarms become cases (a burst, unknown serials, malformed
//! payloads, a broker restart with a persistent session) and gateways post them over HTTP.
//! The MQTT tests use the Mosquitto on 127.0.0.1:1883, each under a topic prefix of its own.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use gongzhi::alarms::AlarmsState;
use gongzhi::app::AppState;
use gongzhi::audit::Actor;
use gongzhi::demo::{self, Scale};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{self, App};

const COMPOUND: &str = "411602001001001";
const BROKER: u16 = 1883;

/// The small demo on each engine, served from a state the test keeps (for the subscriber).
async fn apps() -> Vec<(App, AppState)> {
    let mut out = Vec::new();
    for (engine, url, db) in support::fresh_databases().await {
        demo::load(&db, Scale::Small, 7, false).await.expect("demo load");
        let state = AppState::new(db);
        let app = support::start_state(engine, url, state.clone()).await;
        out.push((app, state));
    }
    out
}

/// Register `n` devices of `kind` in the first compound: their serials.
async fn devices(app: &App, tag: &str, n: usize, kind: &str) -> Vec<String> {
    let mut serials = Vec::new();
    for i in 0..n {
        let serial = format!("{tag}-{i:03}");
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |p| sqlx::query(
            "INSERT INTO devices (id, district, grid_code, kind, name, serial, lat, lng, status, created_at) \
             VALUES ($1, '411602', $2, $3, $4, $5, 33.62, 114.65, 'normal', 0)"
        )
        .bind(Uuid::now_v7())
        .bind(COMPOUND)
        .bind(kind)
        .bind(format!("测试烟感{i}"))
        .bind(&serial)
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        serials.push(serial);
    }
    serials
}

/// Start a subscriber for `prefix` on `port`, and wait until it is subscribed (a heartbeat to
/// `probe` comes through).
async fn subscribe(
    alarms: &AlarmsState,
    port: u16,
    prefix: &str,
    client_id: &str,
    probe: &str,
) -> (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let m = gongzhi::alarms::mqtt::parse_url(&format!("mqtt://127.0.0.1:{port}?client_id={client_id}"), prefix).unwrap();
    let task = gongzhi::alarms::mqtt::spawn(alarms.clone(), m, stopped);
    let before = alarms.counters.view().heartbeats;
    let t0 = Instant::now();
    loop {
        publish(port, vec![(format!("{prefix}/411602/devices/{probe}/heartbeat"), b"{}".to_vec())]).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if alarms.counters.view().heartbeats > before {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the subscriber never subscribed");
    }
    (stop, task)
}

/// Publish at QoS 1 and wait until the broker acknowledged every message; the instant each was handed over.
async fn publish(port: u16, msgs: Vec<(String, Vec<u8>)>) -> Vec<Instant> {
    let mut o = MqttOptions::new(format!("pub-{}", Uuid::now_v7().simple()), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_inflight(200);
    let (client, mut events) = AsyncClient::new(o, 4096);
    let n = msgs.len();
    let sender = tokio::spawn(async move {
        let mut sent = Vec::new();
        for (topic, payload) in msgs {
            sent.push(Instant::now());
            client.publish(topic, QoS::AtLeastOnce, false, payload).await.unwrap();
        }
        (client, sent)
    });
    let mut acked = 0;
    while acked < n {
        match tokio::time::timeout(Duration::from_secs(30), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("publisher: {e}"),
            Err(_) => panic!("publisher: no acknowledgement in 30 s ({acked}/{n})"),
        }
    }
    let (client, sent) = sender.await.unwrap();
    let _ = client.try_disconnect();
    let _ = tokio::time::timeout(Duration::from_secs(2), events.poll()).await;
    sent
}

fn alarm(kind: &str, detail: &str, level: i64, at_ms: i64) -> Vec<u8> {
    let at = jiff::Timestamp::from_millisecond(at_ms).unwrap().to_string();
    json!({"kind": kind, "at": at, "detail": detail, "level": level})
        .to_string()
        .into_bytes()
}

/// (detail, case id, received_at) of the alarms whose serial starts with `tag`.
async fn stored(app: &App, tag: &str) -> Vec<(String, Option<Uuid>, String)> {
    gongzhi::on_pool!(&app.db, |p| sqlx::query_as::<_, (String, Option<Uuid>, String)>(
        "SELECT detail, case_id, outcome FROM device_alarms WHERE serial LIKE $1 ORDER BY detail"
    )
    .bind(format!("{tag}%"))
    .fetch_all(p)
    .await)
    .unwrap()
}

fn p(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Wait until `want` alarms of `tag` are stored, noting when each detail was first seen.
async fn wait_stored(app: &App, tag: &str, want: usize, seen: &mut HashMap<String, Instant>, within: Duration) {
    let t0 = Instant::now();
    loop {
        let rows = stored(app, tag).await;
        let now = Instant::now();
        for r in &rows {
            seen.entry(r.0.clone()).or_insert(now);
        }
        if rows.len() >= want {
            assert_eq!(rows.len(), want, "[{}] more alarms than sent", app.engine);
            return;
        }
        assert!(
            t0.elapsed() < within,
            "[{}] {} of {want} alarms stored after {within:?}",
            app.engine,
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_alarms_makes_one_open_case_per_device() {
    for (app, state) in apps().await {
        let run = Uuid::now_v7().simple().to_string();
        let tag = format!("B{}", &run[20..]);
        let prefix = format!("gztest/{run}");
        let serials = devices(&app, &tag, 100, "fire_alarm").await;
        let alarms = state.alarms();
        let (stop, task) = subscribe(&alarms, BROKER, &prefix, &format!("gz-{run}"), &serials[0]).await;

        // 1,000 alarms, ten from each of 100 devices, published as fast as the broker takes them.
        let now = gongzhi::db::now_ms();
        let mut msgs = Vec::new();
        for round in 0..10 {
            for (d, serial) in serials.iter().enumerate() {
                let detail = format!("burst {d:03} {round}");
                msgs.push((
                    format!("{prefix}/411602/devices/{serial}/alarm"),
                    alarm("smoke", &detail, 1 + (round % 3), now - 60_000 + round * 1000),
                ));
            }
        }
        let details: Vec<String> = msgs
            .iter()
            .map(|m| {
                serde_json::from_slice::<Value>(&m.1).unwrap()["detail"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let t0 = Instant::now();
        let sent = publish(BROKER, msgs).await;
        let mut seen = HashMap::new();
        wait_stored(&app, &tag, 1000, &mut seen, Duration::from_secs(120)).await;
        let took = t0.elapsed();
        let mut lat: Vec<Duration> = details
            .iter()
            .zip(&sent)
            .map(|(d, at)| seen[d].saturating_duration_since(*at))
            .collect();
        lat.sort();
        eprintln!(
            "[{}] MQTT burst: 1,000 alarms from 100 devices stored in {:.2} s; publish → stored p50 {:?}, p99 {:?}, max {:?}",
            app.engine,
            took.as_secs_f64(),
            p(&lat, 0.5),
            p(&lat, 0.99),
            lat[lat.len() - 1]
        );

        // Each device: ten alarms, all in one case; 100 cases, every one open, from a device, in the compound.
        let rows = stored(&app, &tag).await;
        let mut by_device: BTreeMap<String, Vec<Option<Uuid>>> = BTreeMap::new();
        for (detail, case, outcome) in &rows {
            assert!(outcome == "opened" || outcome == "merged", "[{}] {detail}: {outcome}", app.engine);
            by_device.entry(detail[..9].to_string()).or_default().push(*case);
        }
        assert_eq!(by_device.len(), 100);
        let mut cases = std::collections::BTreeSet::new();
        for (d, cs) in &by_device {
            assert_eq!(cs.len(), 10, "[{}] {d}", app.engine);
            assert!(
                cs[0].is_some() && cs.iter().all(|c| *c == cs[0]),
                "[{}] {d}: one case {cs:?}",
                app.engine
            );
            cases.insert(cs[0].unwrap());
        }
        assert_eq!(cases.len(), 100, "[{}] one case per device", app.engine);
        let opened = rows.iter().filter(|r| r.2 == "opened").count();
        assert_eq!(opened, 100, "[{}] one alarm per device opened its case", app.engine);
        let admin = app.token("admin").await;
        let case = cases.iter().next().unwrap();
        let (st, c) = app.get(&format!("/api/v1/cases/{case}"), &admin).await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["source"], "device");
        assert_eq!(c["grid"]["code"], COMPOUND);
        assert_eq!(c["category"]["code"], "SJ05", "smoke → 突发事件 by default");
        assert_eq!(c["status"], "reported");
        let events = c["timeline"].as_array().expect("a timeline");
        assert_eq!(
            events.iter().filter(|e| e["action"] == "alarm").count(),
            9,
            "nine repeats on the timeline: {c}"
        );

        // Alarm → case latency when alarms come as they do in life (one at a time, 50 ms apart):
        // each from a fresh device, so each opens a case.
        let fresh = devices(&app, &format!("{tag}L"), 50, "fire_alarm").await;
        let mut lat = Vec::new();
        for (i, serial) in fresh.iter().enumerate() {
            let detail = format!("paced {i:03}");
            let at = publish(
                BROKER,
                vec![(
                    format!("{prefix}/411602/devices/{serial}/alarm"),
                    alarm("fire", &detail, 3, gongzhi::db::now_ms()),
                )],
            )
            .await[0];
            let mut seen = HashMap::new();
            wait_stored(&app, &format!("{tag}L"), i + 1, &mut seen, Duration::from_secs(10)).await;
            lat.push(seen[&detail].saturating_duration_since(at));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        lat.sort();
        eprintln!(
            "[{}] MQTT alarm → case, one at a time: p50 {:?}, p99 {:?} (polling every 20 ms)",
            app.engine,
            p(&lat, 0.5),
            p(&lat, 0.99)
        );
        assert!(p(&lat, 0.99) < Duration::from_secs(1), "[{}] p99 {:?}", app.engine, p(&lat, 0.99));
        assert!(
            stored(&app, &format!("{tag}L"))
                .await
                .iter()
                .all(|r| r.2 == "opened" && r.1.is_some())
        );

        let _ = stop.send(true);
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_serials_and_malformed_payloads_are_counted_and_kept() {
    for (app, state) in apps().await {
        let run = Uuid::now_v7().simple().to_string();
        let tag = format!("U{}", &run[20..]);
        let prefix = format!("gztest/{run}");
        let serials = devices(&app, &tag, 2, "fire_alarm").await;
        let alarms = state.alarms();
        let (stop, task) = subscribe(&alarms, BROKER, &prefix, &format!("gz-{run}"), &serials[0]).await;
        let before = alarms.counters.view();
        let now = gongzhi::db::now_ms();
        let topic = |s: &str| format!("{prefix}/411602/devices/{s}/alarm");
        publish(
            BROKER,
            vec![
                (topic(&format!("{tag}-nobody")), alarm("smoke", "unknown one", 2, now)),
                (topic(&serials[1]), b"{not json".to_vec()),
                (
                    topic(&serials[1]),
                    json!({"kind": "smoke", "at": "yesterday", "level": 2}).to_string().into_bytes(),
                ),
                (
                    topic(&serials[1]),
                    json!({"kind": "smoke", "at": jiff::Timestamp::now().to_string(), "level": 9})
                        .to_string()
                        .into_bytes(),
                ),
                (topic(&serials[1]), vec![0xff, 0xfe, 0x00]),
                // A kind the table does not name: kept, no case.
                (topic(&serials[0]), alarm("gas", "unmapped kind", 1, now)),
            ],
        )
        .await;
        let mut seen = HashMap::new();
        wait_stored(&app, &tag, 6, &mut seen, Duration::from_secs(20)).await;
        let rows = stored(&app, &tag).await;
        let outcomes: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        assert_eq!(
            outcomes.iter().filter(|o| **o == "malformed").count(),
            4,
            "[{}] {outcomes:?}",
            app.engine
        );
        assert_eq!(outcomes.iter().filter(|o| **o == "unknown_device").count(), 1);
        assert_eq!(outcomes.iter().filter(|o| **o == "unmapped").count(), 1);
        assert!(rows.iter().all(|r| r.1.is_none()), "no case for any of them");
        let after = alarms.counters.view();
        assert_eq!(after.unknown_device - before.unknown_device, 1);
        assert_eq!(after.malformed - before.malformed, 4);
        assert_eq!(after.unmapped - before.unmapped, 1);
        assert_eq!(after.opened, before.opened);
        // Alive, and the counts are on the API and the page.
        let r = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let community = app.token("community").await;
        let (st, o) = app.get("/api/v1/alarms", &community).await;
        assert_eq!(st, StatusCode::OK, "{o}");
        assert!(o["last_30_days"]["unknown_device"].as_i64().unwrap() >= 1, "{o}");
        assert!(o["last_30_days"]["malformed"].as_i64().unwrap() >= 4, "{o}");
        assert_eq!(o["counters"]["mqtt_connected"], true);
        let cookie = support::sign_in(&app, "community").await;
        let (st, html) = support::page(&app, &cookie, "/console/alarms").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("未登记设备编号") && html.contains("格式错误"), "{html}");
        let _ = stop.send(true);
        task.await.unwrap();
    }
}

/// A private broker on a free port, with its own persistence directory.
struct Broker {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl Broker {
    fn new() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir()
            .join("gongzhi-tests")
            .join(format!("mosquitto-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        // Started as root, Mosquitto drops to its own user, which must be able to write here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\nautosave_interval 1\n",
            dir.display()
        );
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let mut b = Broker { port, dir, child: None };
        b.start();
        b
    }

    fn start(&mut self) {
        let child = std::process::Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto");
        self.child = Some(child);
        let t0 = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(t0.elapsed() < Duration::from_secs(10), "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stop it (SIGTERM: it writes its persistence file) and wait.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_is_lost_across_a_broker_restart() {
    for (app, state) in apps().await {
        let mut broker = Broker::new();
        let run = Uuid::now_v7().simple().to_string();
        let tag = format!("R{}", &run[20..]);
        let prefix = format!("gztest/{run}");
        let client_id = format!("gz-{run}");
        let serials = devices(&app, &tag, 10, "fire_alarm").await;
        let alarms = state.alarms();
        let topic = |i: usize| format!("{prefix}/411602/devices/{}/alarm", serials[i % 10]);
        let batch = |name: &str| -> Vec<(String, Vec<u8>)> {
            let now = gongzhi::db::now_ms();
            (0..20)
                .map(|i| (topic(i), alarm("smoke", &format!("{name} {i:02}"), 1, now - 1000 + i as i64)))
                .collect()
        };
        let mut seen = HashMap::new();

        // 1. Subscribed: a first batch arrives.
        let (stop, task) = subscribe(&alarms, broker.port, &prefix, &client_id, &serials[0]).await;
        publish(broker.port, batch("a")).await;
        wait_stored(&app, &tag, 20, &mut seen, Duration::from_secs(20)).await;

        // 2. Our subscriber goes away; the broker keeps its session and queues a second batch,
        //    then restarts (its persistence file carries the queue), and a third comes.
        let _ = stop.send(true);
        task.await.unwrap();
        publish(broker.port, batch("b")).await;
        broker.stop();
        broker.start();
        publish(broker.port, batch("c")).await;
        assert_eq!(stored(&app, &tag).await.len(), 20, "nothing arrives while we are away");

        // 3. Back with the same client id: both batches are delivered.
        let (stop, task) = subscribe(&alarms, broker.port, &prefix, &client_id, &serials[0]).await;
        wait_stored(&app, &tag, 60, &mut seen, Duration::from_secs(30)).await;

        // 4. The broker restarts under a running subscriber: it reconnects and gets what follows.
        let errors = alarms.counters.view().mqtt_errors;
        broker.stop();
        tokio::time::sleep(Duration::from_millis(500)).await;
        broker.start();
        let t0 = Instant::now();
        while !(alarms.counters.view().mqtt_connected && alarms.counters.view().mqtt_errors > errors) {
            assert!(t0.elapsed() < Duration::from_secs(30), "[{}] no reconnection", app.engine);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        publish(broker.port, batch("d")).await;
        wait_stored(&app, &tag, 80, &mut seen, Duration::from_secs(30)).await;
        let rows = stored(&app, &tag).await;
        for name in ["a", "b", "c", "d"] {
            assert_eq!(
                rows.iter().filter(|r| r.0.starts_with(&format!("{name} "))).count(),
                20,
                "[{}] batch {name}",
                app.engine
            );
        }
        // Still one case per device (the window is ten minutes).
        let cases: std::collections::BTreeSet<Uuid> = rows.iter().filter_map(|r| r.1).collect();
        assert_eq!(cases.len(), 10, "[{}]", app.engine);
        eprintln!(
            "[{}] broker restarted twice: 80 of 80 alarms stored once, {} connections",
            app.engine,
            alarms.counters.view().mqtt_connections
        );
        let _ = stop.send(true);
        task.await.unwrap();
    }
}

#[tokio::test]
async fn gateways_post_alarms_over_http_with_a_key() {
    for app in support::apps().await {
        let run = Uuid::now_v7().simple().to_string();
        let tag = format!("H{}", &run[20..]);
        let serials = devices(&app, &tag, 2, "fire_alarm").await;
        let (_, secret) = gongzhi::apikeys::add(&app.db, Actor::System("test"), "411602001001", "网关", 100)
            .await
            .unwrap();
        let (_, other) = gongzhi::apikeys::add(&app.db, Actor::System("test"), "411602001002", "别处网关", 100)
            .await
            .unwrap();
        let url = |s: &str| format!("{}/api/v1/devices/{s}/alarms", app.base);
        let body = alarm("charging", "楼道充电", 2, gongzhi::db::now_ms());
        let post = |s: String, key: Option<&str>, b: Vec<u8>| {
            let mut r = app.client.post(s).header("content-type", "application/json").body(b);
            if let Some(k) = key {
                r = r.header("x-api-key", k);
            }
            async move {
                let r = r.send().await.unwrap();
                let st = r.status();
                (st, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let (st, v) = post(url(&serials[0]), None, body.clone()).await;
        assert_eq!((st, support::code(&v)), (StatusCode::UNAUTHORIZED, "api_key_required"));
        let (st, v) = post(url(&serials[0]), Some("gz_0000"), body.clone()).await;
        assert_eq!((st, support::code(&v)), (StatusCode::UNAUTHORIZED, "invalid_api_key"));
        let (st, v) = post(url(&serials[0]), Some(&other), body.clone()).await;
        assert_eq!((st, support::code(&v)), (StatusCode::FORBIDDEN, "outside_key_scope"));
        assert!(stored(&app, &tag).await.is_empty(), "refused calls store nothing");

        let (st, v) = post(url(&serials[0]), Some(&secret), body.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["outcome"], "opened");
        let case = v["case_id"].as_str().unwrap().to_string();
        // The same alarm again (a gateway's retry): stored once.
        let (st, v) = post(url(&serials[0]), Some(&secret), body.clone()).await;
        assert_eq!((st, v["redelivered"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
        // A repeat within the window joins the case; once the case is closed, a repeat opens a new one.
        let (st, v) = post(
            url(&serials[0]),
            Some(&secret),
            alarm("charging", "又充电", 1, gongzhi::db::now_ms()),
        )
        .await;
        assert_eq!(
            (st, v["outcome"].as_str(), v["case_id"].as_str()),
            (StatusCode::CREATED, Some("merged"), Some(case.as_str()))
        );
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |p| sqlx::query("UPDATE cases SET status = 'closed' WHERE id = $1")
            .bind(Uuid::parse_str(&case).unwrap())
            .execute(p)
            .await
            .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let (st, v) = post(
            url(&serials[0]),
            Some(&secret),
            alarm("charging", "第三次", 1, gongzhi::db::now_ms()),
        )
        .await;
        assert_eq!((st, v["outcome"].as_str()), (StatusCode::CREATED, Some("opened")));
        assert_ne!(v["case_id"].as_str(), Some(case.as_str()));
        let admin = app.token("admin").await;
        let (_, c) = app.get(&format!("/api/v1/cases/{}", v["case_id"].as_str().unwrap()), &admin).await;
        assert_eq!(
            (c["category"]["code"].as_str(), c["source"].as_str()),
            (Some("SQ03"), Some("device")),
            "{c}"
        );

        // Unknown serial: 404, kept; malformed: 422, kept; with the key as a query parameter too.
        let (st, v) = post(format!("{}?api_key={secret}", url(&format!("{tag}-nobody"))), None, body.clone()).await;
        assert_eq!((st, support::code(&v)), (StatusCode::NOT_FOUND, "unknown_device"));
        let (st, v) = post(url(&serials[1]), Some(&secret), b"{\"kind\":\"smoke\"}".to_vec()).await;
        assert_eq!((st, support::code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_alarm"));
        let outcomes: Vec<String> = stored(&app, &tag).await.into_iter().map(|r| r.2).collect();
        assert_eq!(outcomes.len(), 5, "{outcomes:?}");
        assert!(outcomes.contains(&"unknown_device".to_string()) && outcomes.contains(&"malformed".to_string()));

        // Heartbeats over HTTP; a device silent past its period shows as offline.
        let r = app
            .client
            .post(format!("{}/api/v1/devices/{}/heartbeat", app.base, serials[1]))
            .header("x-api-key", &secret)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let mut tx = app.db.begin().await.unwrap();
        gongzhi::on_tx!(&mut tx, |p| sqlx::query(
            "UPDATE device_seen SET last_seen_at = last_seen_at - 300 * 60000 WHERE device_id = (SELECT id FROM devices WHERE serial = $1)"
        )
        .bind(&serials[1])
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let community = app.token("community").await;
        let (st, o) = app.get("/api/v1/alarms", &community).await;
        assert_eq!(st, StatusCode::OK, "{o}");
        let offline: Vec<&str> = o["offline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["serial"].as_str().unwrap())
            .collect();
        assert!(
            offline.contains(&serials[1].as_str()) && !offline.contains(&serials[0].as_str()),
            "{offline:?}"
        );
        let cookie = support::sign_in(&app, "community").await;
        let (st, html) = support::page(&app, &cookie, "/console/alarms").await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("离线设备") && html.contains(&serials[1]) && html.contains("充电告警"),
            "{html}"
        );
        // Another community's staff do not see these devices.
        let (st, o) = app.get("/api/v1/alarms?grid=411602001002", &community).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{o}");
    }
}

#[tokio::test]
async fn the_district_maps_kinds_to_categories() {
    for app in support::apps().await {
        let admin = app.token("admin").await;
        let community = app.token("community").await;
        let (st, s) = app.get("/api/v1/alarms/settings", &community).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(s["window_minutes"], 10);
        assert!(
            s["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"] == "high_throw" && k["category"] == "SQ04")
        );
        let new = json!({
            "kinds": [{"kind": "smoke", "label": "烟感", "category": "SQ01"}, {"kind": "gas", "label": "燃气", "category": ""}],
            "heartbeats": [{"device_kind": "fire_alarm", "minutes": 60}]
        });
        let (st, v) = app
            .call(reqwest::Method::PUT, "/api/v1/alarms/settings", Some(&community), Some(new.clone()))
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        let (st, v) = app
            .call(reqwest::Method::PUT, "/api/v1/alarms/settings", Some(&admin), Some(new))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["kinds"].as_array().unwrap().len(), 2);
        let bad = json!({"kinds": [{"kind": "smoke", "label": "烟感", "category": "NOPE"}], "heartbeats": []});
        let (st, v) = app
            .call(reqwest::Method::PUT, "/api/v1/alarms/settings", Some(&admin), Some(bad))
            .await;
        assert_eq!((st, support::code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_category"));
        let bad = json!({"kinds": [], "heartbeats": [{"device_kind": "camera", "minutes": 0}]});
        let (st, v) = app
            .call(reqwest::Method::PUT, "/api/v1/alarms/settings", Some(&admin), Some(bad))
            .await;
        assert_eq!((st, support::code(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_period"));
        // The console page shows the table; the admin saves it through the form.
        let cookie = support::sign_in(&app, "admin").await;
        let (st, html) = support::page(&app, &cookie, "/console/alarms/settings").await;
        assert_eq!(st, StatusCode::OK);
        assert!(html.contains("燃气") && html.contains("心跳周期"));
        let csrf = support::csrf_of(&html);
        let (st, _, to) = support::post(
            &app,
            &cookie,
            "/console/alarms/settings",
            &[
                ("csrf", csrf.as_str()),
                ("kind", "water"),
                ("label", "漏水"),
                ("category", "BJ01"),
                ("device_kind", "well"),
                ("minutes", "１２０"),
            ],
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER);
        assert!(to.unwrap().contains("msg="));
        let (_, s) = app.get("/api/v1/alarms/settings", &admin).await;
        assert_eq!(s["kinds"], json!([{"kind": "water", "label": "漏水", "category": "BJ01"}]));
        assert_eq!(s["heartbeats"], json!([{"device_kind": "well", "minutes": 120}]));
    }
}
