//! Group commit (组提交): reports that arrive together share one transaction and one commit, and
//! keep their meaning — each stored once with its timeline, tallies and audit row; a retried key
//! answered with its case; a bad report failing alone; a writer that goes away leaving nothing.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use gongzhi::audit::Actor;
use gongzhi::cases::intake;
use gongzhi::cases::store::NewCaseRow;
use gongzhi::db::Db;
use gongzhi::db::group::GroupCommit;

use crate::support::{apps, fresh_databases};

const BUILDING: &str = "411602001001001001";

fn row<'a>(key: &'a str, grid: &'a str, description: &'a str) -> NewCaseRow<'a> {
    let now = gongzhi::db::now_ms();
    NewCaseRow {
        district: "411602",
        category_code: "SQ07",
        description,
        lat: None,
        lng: None,
        grid_code: grid,
        level: 5,
        source: "officer",
        reporter_id: None,
        reporter_name: "测试",
        reporter_phone: "",
        idempotency_key: Some(key),
        idempotency_fingerprint: Some(description),
        reported_at: now,
        due_at: now + 86_400_000,
        duplicate_of: None,
        duplicate_candidates: &[],
        attributes: "{}",
        private: false,
        on_reported: None,
        routed: None,
    }
}

async fn count_keyed(db: &Db, prefix: &str) -> i64 {
    gongzhi::on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM cases WHERE idempotency_key LIKE $1"
    )
    .bind(format!("{prefix}%"))
    .fetch_one(p)
    .await)
    .unwrap()
}

async fn tallies(db: &Db) -> Vec<(String, i64, String, i64, i64, i64, i64)> {
    let sql = "SELECT grid_code, day, category_code, reported, on_time, closed, open FROM case_tallies \
               WHERE reported <> 0 OR on_time <> 0 OR closed <> 0 OR open <> 0 ORDER BY grid_code, day, category_code";
    gongzhi::on_pool!(db, |p| sqlx::query_as(sql).fetch_all(p).await).unwrap()
}

#[tokio::test]
async fn reports_arriving_together_commit_together_and_a_bad_one_fails_alone() {
    for (engine, _, db) in fresh_databases().await {
        gongzhi::demo::load(&db, gongzhi::demo::Scale::Small, 11, false).await.unwrap();
        let writer = intake::writer(db.clone());
        let run = uuid::Uuid::now_v7().to_string();
        let keys: Vec<String> = (0..40).map(|i| format!("{run}-{i}")).collect();
        let audit_before = gongzhi::audit::chain::head(&db).await.unwrap().seq;
        // 40 reports at once (one polled future each, so they meet in the open batch); the 8th
        // names a grid that does not exist, the 20th repeats the 3rd's key and words, the 30th
        // repeats the 4th's key with other words.
        let rows: Vec<NewCaseRow<'_>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| match i {
                7 => row(k, "411602999999999999", "楼道堆物（网格不存在）"),
                19 => row(&keys[2], BUILDING, "楼道堆物 2"),
                29 => row(&keys[3], BUILDING, "别的内容"),
                _ => row(k, BUILDING, ["楼道堆物 0", "楼道堆物 1", "楼道堆物 2", "楼道堆物 3"][i.min(3)]),
            })
            .collect();
        let results = join_all(rows.iter().map(|r| intake::create(&db, &writer, Actor::System("测试"), r))).await;
        let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
        assert_eq!(failed, vec![7, 29], "[{engine}] only the bad grid and the reused key fail");
        assert_eq!(results[29].as_ref().err().unwrap().code, "idempotency_key_reused");
        let (first, replayed) = results[2].as_ref().unwrap();
        let (again, again_replayed) = results[19].as_ref().unwrap();
        assert_eq!(first.id, again.id, "[{engine}] the same key in one batch is one case");
        assert!(!replayed && *again_replayed, "[{engine}] the retry is told it is a replay");
        // 40 reports: one failed, one was the reused key (refused), one the replay: 37 cases.
        assert_eq!(count_keyed(&db, &run).await, 37, "[{engine}]");
        let head = gongzhi::audit::chain::head(&db).await.unwrap().seq;
        assert_eq!(head - audit_before, 37, "[{engine}] one audit row a case");
        let report = gongzhi::audit::chain::verify(&db, &[]).await.unwrap();
        assert!(report.ok, "[{engine}] the audit chain checks out: {:?}", report.broken);
        let events: i64 = gongzhi::on_pool!(&db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.idempotency_key LIKE $1"
        )
        .bind(format!("{run}%"))
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(events, 37, "[{engine}] one timeline line a case");
        let kept = tallies(&db).await;
        let mut tx = db.begin().await.unwrap();
        gongzhi::cases::tallies::rebuild(&mut tx).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(kept, tallies(&db).await, "[{engine}] batched tallies = rebuild");

        // A key stored by an earlier batch: answered with its case, next to new reports.
        let later: Vec<String> = (0..5).map(|i| format!("{run}-later-{i}")).collect();
        let mut rows: Vec<NewCaseRow<'_>> = later.iter().map(|k| row(k, BUILDING, "楼道堆物 后来")).collect();
        rows.push(row(&keys[0], BUILDING, "楼道堆物 0"));
        let results = join_all(rows.iter().map(|r| intake::create(&db, &writer, Actor::System("测试"), r))).await;
        assert!(
            results.iter().all(|r| r.is_ok()),
            "[{engine}] {:?}",
            results.iter().map(|r| r.as_ref().err().map(|e| e.code)).collect::<Vec<_>>()
        );
        let (old, was) = results[5].as_ref().unwrap();
        assert!(
            *was && old.id == results_id(&db, &keys[0]).await,
            "[{engine}] the stored case, replayed"
        );
        assert_eq!(count_keyed(&db, &format!("{run}-later")).await, 5, "[{engine}]");
        db.close().await;
    }
}

async fn results_id(db: &Db, key: &str) -> uuid::Uuid {
    gongzhi::on_pool!(db, |p| sqlx::query_scalar("SELECT id FROM cases WHERE idempotency_key = $1")
        .bind(key)
        .fetch_one(p)
        .await)
    .unwrap()
}

/// A row only this test writes (a tally of a made-up grid).
async fn mark(tx: &mut gongzhi::db::Tx, name: &'static str) {
    let sql =
        "INSERT INTO case_tallies (grid_code, day, category_code, reported, on_time, closed, open) VALUES ($1, 1, 'SQ07', 1, 0, 0, 0)";
    gongzhi::on_tx!(tx, |c| sqlx::query(sql).bind(name).execute(c).await.map(|_| ())).unwrap();
}

#[tokio::test]
async fn a_writer_that_goes_away_half_way_leaves_nothing() {
    for (engine, _, db) in fresh_databases().await {
        gongzhi::demo::load(&db, gongzhi::demo::Scale::Small, 12, false).await.unwrap();
        let writer = GroupCommit::new(db.clone());
        {
            let mut slot = writer.join().await.unwrap();
            slot.savepoint().await.unwrap();
            mark(slot.tx(), "gone-away").await;
            // Dropped here without finishing: its client went away.
        }
        let mut slot = writer.join().await.unwrap();
        slot.savepoint().await.unwrap();
        mark(slot.tx(), "stayed").await;
        slot.finish(true).await.unwrap().committed().await.unwrap();
        let names: Vec<String> = gongzhi::on_pool!(&db, |p| sqlx::query_scalar(
            "SELECT grid_code FROM case_tallies WHERE grid_code IN ('gone-away', 'stayed') ORDER BY grid_code"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert_eq!(names, vec!["stayed".to_string()], "[{engine}]");

        // A writer that undoes its rows undoes only its own.
        let mut a = writer.join().await.unwrap();
        a.savepoint().await.unwrap();
        mark(a.tx(), "kept-a").await;
        let ta = a.finish(true).await.unwrap();
        let mut b = writer.join().await.unwrap();
        b.savepoint().await.unwrap();
        mark(b.tx(), "undone-b").await;
        let tb = b.finish(false).await.unwrap();
        ta.committed().await.unwrap();
        tb.committed().await.unwrap();
        let names: Vec<String> = gongzhi::on_pool!(&db, |p| sqlx::query_scalar(
            "SELECT grid_code FROM case_tallies WHERE grid_code IN ('kept-a', 'undone-b')"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert_eq!(names, vec!["kept-a".to_string()], "[{engine}]");
        db.close().await;
    }
}

#[tokio::test]
async fn one_key_sent_many_times_at_once_is_one_case() {
    for app in apps().await {
        let officer = app.token("building").await;
        let send = |body: Value| {
            let (client, base, t) = (app.client.clone(), app.base.clone(), officer.clone());
            async move {
                let r = client
                    .post(format!("{base}/api/v1/cases"))
                    .bearer_auth(t)
                    .header("Idempotency-Key", "storm-0001")
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                (status, r.json::<Value>().await.unwrap())
            }
        };
        let body = json!({"category": "SQ07", "description": "楼道堆物，多次重发", "grid": BUILDING});
        let answers = join_all((0..24).map(|_| send(body.clone()))).await;
        assert!(
            answers.iter().all(|(s, _)| *s == StatusCode::CREATED),
            "[{}] {answers:?}",
            app.engine
        );
        let ids: std::collections::BTreeSet<&str> = answers.iter().map(|(_, v)| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1, "[{}] every copy answers with the one case", app.engine);
        let stored: i64 = gongzhi::on_pool!(&app.db, |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases WHERE idempotency_key LIKE '%:storm-0001'"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(stored, 1, "[{}]", app.engine);
        // The same key with other words is refused, whenever it comes.
        let (status, v) = send(json!({"category": "SQ07", "description": "别的内容", "grid": BUILDING})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {v}", app.engine);
        assert_eq!(v["error"]["code"], "idempotency_key_reused");
    }
}
