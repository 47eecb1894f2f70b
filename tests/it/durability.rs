//! No report lost: SIGKILL the real server binary in the middle of a creation load, restart it on
//! the same database; every acknowledged case is there exactly once, and clients that retry with
//! their Idempotency-Key create no duplicates. (A kill tests the process dying; surviving a power
//! cut rests on the writer's `synchronous=FULL` and the photos' fsync, see `db` and `attachments`.)

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::fresh_databases;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_server(url: &str) -> (Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gongzhi"))
        .args(["serve", "--database-url", url, "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (child, base)
}

#[tokio::test]
async fn sigkill_mid_load_loses_nothing_and_retries_do_not_duplicate() {
    for (engine, url, db) in fresh_databases().await {
        gongzhi::demo::load(&db, gongzhi::demo::Scale::Small, 7, false).await.unwrap();
        let (mut child, base) = start_server(&url).await;
        let client = reqwest::Client::new();
        let login: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "building", "password": "gongzhi-demo"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = login["token"].as_str().unwrap().to_string();
        let run = uuid::Uuid::now_v7();
        // 16 clients, each sending keys until the server goes away.
        let mut tasks = Vec::new();
        for w in 0..16 {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let (mut acked, mut unacked) = (Vec::new(), Vec::new());
                for i in 0..10_000 {
                    let key = format!("{run}-{w}-{i}");
                    let body = json!({"category": "SQ07", "description": "断电测试：楼道堆物", "grid": "411602001001001001"});
                    let r = client
                        .post(format!("{base}/api/v1/cases"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", &key)
                        .json(&body)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status() == StatusCode::CREATED => match r.json::<Value>().await {
                            Ok(v) => acked.push((key, v["id"].as_str().unwrap().to_string())),
                            Err(_) => {
                                unacked.push(key);
                                break;
                            }
                        },
                        _ => {
                            unacked.push(key);
                            break;
                        }
                    }
                }
                (acked, unacked)
            }));
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        child.kill().unwrap(); // SIGKILL: no graceful shutdown, no flush
        child.wait().unwrap();
        let (mut acked, mut unacked) = (Vec::new(), Vec::new());
        for t in tasks {
            let (a, u) = t.await.unwrap();
            acked.extend(a);
            unacked.extend(u);
        }
        assert!(
            acked.len() > 20,
            "[{engine}] the load ran before the kill: {} acknowledged",
            acked.len()
        );

        let (mut child, base) = start_server(&url).await;
        // Clients retry what they did not hear back about, and some of what they did.
        for key in unacked.iter().chain(acked.iter().take(50).map(|(k, _)| k)) {
            let body = json!({"category": "SQ07", "description": "断电测试：楼道堆物", "grid": "411602001001001001"});
            let r = client
                .post(format!("{base}/api/v1/cases"))
                .bearer_auth(&token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED, "[{engine}] retry of {key}");
            let v: Value = r.json().await.unwrap();
            if let Some((_, id)) = acked.iter().find(|(k, _)| k == key) {
                assert_eq!(
                    v["id"].as_str().unwrap(),
                    id,
                    "[{engine}] a retried acknowledged key returns the same case"
                );
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();

        // Every acknowledged case is stored once, with its id; keys never repeat.
        // Keys are stored scoped by the reporter (`u:{account}:{key}`).
        let rows: Vec<(String, uuid::Uuid)> = gongzhi::on_pool!(&db, |p| sqlx::query_as::<_, (String, uuid::Uuid)>(
            "SELECT idempotency_key, id FROM cases WHERE idempotency_key LIKE $1"
        )
        .bind(format!("u:%:{run}-%"))
        .fetch_all(p)
        .await)
        .unwrap();
        let rows: Vec<(String, uuid::Uuid)> = rows
            .into_iter()
            .map(|(k, id)| (k.rsplit_once(':').unwrap().1.to_string(), id))
            .collect();
        let mut keys: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), rows.len(), "[{engine}] no key stored twice");
        for (key, id) in &acked {
            let stored = rows.iter().filter(|r| &r.0 == key).collect::<Vec<_>>();
            assert_eq!(stored.len(), 1, "[{engine}] acknowledged {key} stored exactly once");
            assert_eq!(stored[0].1.to_string(), *id);
        }
        assert_eq!(
            rows.len(),
            acked.len() + unacked.len(),
            "[{engine}] every sent key became exactly one case after retries"
        );
        db.close().await;
    }
}
