//! The audit chain: a fresh chain verifies; a row edited, deleted or rewritten with the database's
//! own client (triggers bypassed) is named by `audit verify`; the triggers refuse UPDATE, DELETE
//! and stray INSERTs; concurrent writers keep one linear chain; rows from before the chain are
//! adopted in order.

use std::sync::Arc;

use gongzhi::audit::chain::{self, Anchor};
use gongzhi::audit::{self, Actor, Entry};
use gongzhi::db::Db;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use uuid::Uuid;

use crate::support::{apps, fresh_databases, page, sign_in};

/// Run SQL as the database's own client would: any statements, on the write connection.
async fn raw(db: &Db, sql: &str) -> Result<u64, sqlx::Error> {
    let sql = AssertSqlSafe(sql.to_string());
    match db {
        Db::Sqlite { write, .. } => sqlx::raw_sql(sql).execute(write).await.map(|r| r.rows_affected()),
        Db::Pg(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|r| r.rows_affected()),
    }
}

/// Run `stmt` with `trigger` on `table` out of the way, then put the trigger back: what someone
/// with the database's own client and enough rights can do.
async fn bypassing(db: &Db, table: &str, triggers: &[&str], stmt: &str) {
    match db {
        Db::Sqlite { write, .. } => {
            let mut sqls = Vec::new();
            for t in triggers {
                let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1")
                    .bind(t)
                    .fetch_one(write)
                    .await
                    .unwrap();
                sqls.push(sql);
            }
            let drops: String = triggers.iter().map(|t| format!("DROP TRIGGER {t};")).collect();
            raw(db, &format!("{drops} {stmt}; {};", sqls.join(";\n"))).await.unwrap();
        }
        Db::Pg(_) => {
            let off: String = triggers
                .iter()
                .map(|t| format!("ALTER TABLE {table} DISABLE TRIGGER {t};"))
                .collect();
            let on: String = triggers
                .iter()
                .map(|t| format!("ALTER TABLE {table} ENABLE TRIGGER {t};"))
                .collect();
            raw(db, &format!("{off} {stmt}; {on}")).await.unwrap();
        }
    }
}

/// Write `n` audited actions, each in its own transaction as the features do.
async fn write_rows(db: &Db, n: usize) {
    for i in 0..n {
        let mut tx = db.begin().await.unwrap();
        audit::record(&mut tx, Actor::System("test"), entry(&i.to_string())).await.unwrap();
        tx.commit().await.unwrap();
    }
}

fn entry(target: &str) -> Entry<'_> {
    Entry {
        district: "411602",
        action: "grid.update",
        target_kind: "grid",
        target_id: target,
        reason: "测试",
        detail: json!({"target": target, "z": 1, "a": [1, 2]}),
    }
}

async fn id_at(db: &Db, seq: i64) -> Uuid {
    gongzhi::on_pool!(db, |p| sqlx::query_scalar("SELECT id FROM audit_log WHERE seq = $1")
        .bind(seq)
        .fetch_one(p)
        .await)
    .unwrap()
}

async fn seqs(db: &Db) -> Vec<i64> {
    gongzhi::on_pool!(db, |p| sqlx::query_scalar("SELECT seq FROM audit_log ORDER BY seq")
        .fetch_all(p)
        .await)
    .unwrap()
}

/// `gongzhi audit verify` on `url`: exit success and the JSON it printed.
fn cli_verify(url: &str, expect: &[String]) -> (bool, Value) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gongzhi"));
    cmd.args(["audit", "verify", "--database-url", url]);
    for e in expect {
        cmd.args(["--expect", e]);
    }
    let out = cmd.output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), json)
}

#[tokio::test]
async fn a_fresh_chain_verifies_and_the_audit_page_shows_its_head() {
    for app in apps().await {
        // The demo load wrote one row; sign-ins (console and API) write more.
        let admin = sign_in(&app, "admin").await;
        app.token("street").await;
        let report = chain::verify(&app.db, &[]).await.unwrap();
        assert!(report.ok, "[{}] {report:?}", app.engine);
        let n = app.count("audit_log").await;
        assert!(n >= 3, "[{}] {n}", app.engine);
        assert_eq!((report.rows, report.head.seq), (n, n), "[{}]", app.engine);
        assert_eq!(
            seqs(&app.db).await,
            (1..=n).collect::<Vec<_>>(),
            "[{}] 1, 2, 3 … without a gap",
            app.engine
        );
        assert_eq!(chain::head(&app.db).await.unwrap(), report.head);

        // The page shows the same head, in groups of eight hex digits.
        let (st, html) = page(&app, &admin, "/console/audit").await;
        assert_eq!(st, StatusCode::OK);
        let head = chain::head(&app.db).await.unwrap();
        let grouped: Vec<&str> = (0..8).map(|i| &head.hash[i * 8..i * 8 + 8]).collect();
        assert!(
            html.contains(&format!(
                "审计链链头：第 {} 条，SHA-256 <code>{}</code>",
                head.seq,
                grouped.join(" ")
            )),
            "[{}] {html}",
            app.engine
        );
        // The API lists each row with its number.
        let t = app.token("admin").await;
        let (_, log) = app.get("/api/v1/audit?per_page=5", &t).await;
        assert_eq!(log["items"][0]["seq"].as_i64(), Some(head.seq + 1), "[{}] {log}", app.engine);

        // The command agrees, and a head exported now checks out.
        let (ok, out) = cli_verify(&app.url, &[]);
        assert!(ok, "[{}] {out}", app.engine);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gongzhi"))
            .args(["audit", "head", "--database-url", &app.url])
            .output()
            .unwrap();
        assert!(out.status.success());
        let exported: Value = serde_json::from_slice(&out.stdout).unwrap();
        let expect = exported["expect"].as_str().unwrap().to_string();
        assert!(expect.starts_with(&format!("{}:", exported["seq"])), "{exported}");
        let (ok, out) = cli_verify(&app.url, &[expect]);
        assert!(ok && out["anchors_checked"] == 1, "[{}] {out}", app.engine);
    }
}

#[tokio::test]
async fn editing_one_row_with_the_databases_own_client_breaks_the_chain_at_that_row() {
    for (engine, url, db) in fresh_databases().await {
        write_rows(&db, 10).await;
        assert!(chain::verify(&db, &[]).await.unwrap().ok, "[{engine}]");
        let target = id_at(&db, 4).await;
        bypassing(
            &db,
            "audit_log",
            &["audit_log_no_update"],
            "UPDATE audit_log SET reason = '另有原因' WHERE seq = 4",
        )
        .await;
        let report = chain::verify(&db, &[]).await.unwrap();
        assert!(!report.ok, "[{engine}]");
        let broken = report.broken.unwrap();
        assert_eq!((broken.seq, broken.id, broken.problem), (4, Some(target), "altered"), "[{engine}]");
        assert_eq!(report.rows, 3, "[{engine}] the rows before it check out");

        // The command says the same, as JSON, and fails.
        let (ok, out) = cli_verify(&url, &[]);
        assert!(!ok, "[{engine}] {out}");
        assert_eq!(out["broken"]["seq"], 4, "[{engine}] {out}");
        assert_eq!(out["broken"]["id"], target.to_string(), "[{engine}] {out}");

        // Any one column counts, the JSON detail's bytes included (same meaning, other spacing).
        for (seq, set) in [
            (6, "detail = replace(detail, ':', ': ')"),
            (7, "at_ms = at_ms + 1"),
            (8, "actor_name = 'admin'"),
        ] {
            let (_, _, fresh) = fresh_databases().await.into_iter().find(|d| d.0 == engine).unwrap();
            write_rows(&fresh, 9).await;
            bypassing(
                &fresh,
                "audit_log",
                &["audit_log_no_update"],
                &format!("UPDATE audit_log SET {set} WHERE seq = {seq}"),
            )
            .await;
            let broken = chain::verify(&fresh, &[]).await.unwrap().broken.unwrap();
            assert_eq!((broken.seq, broken.problem), (seq, "altered"), "[{engine}] {set}");
            fresh.close().await;
        }
        // The trigger is back: the next edit is refused.
        let err = raw(&db, "UPDATE audit_log SET reason = 'x' WHERE seq = 5").await.unwrap_err();
        assert!(err.to_string().contains("never updated"), "[{engine}] {err}");
    }
}

#[tokio::test]
async fn deleting_a_row_in_the_middle_or_at_the_end_is_detected() {
    for (engine, _, db) in fresh_databases().await {
        write_rows(&db, 8).await;
        bypassing(&db, "audit_log", &["audit_log_no_delete"], "DELETE FROM audit_log WHERE seq = 5").await;
        let report = chain::verify(&db, &[]).await.unwrap();
        assert_eq!(
            report.broken.map(|b| (b.seq, b.id, b.problem)),
            Some((5, None, "missing")),
            "[{engine}]"
        );
        assert!(!report.ok);
    }
    for (engine, _, db) in fresh_databases().await {
        write_rows(&db, 8).await;
        // The last rows, which no later row links to: the head still counts them.
        bypassing(&db, "audit_log", &["audit_log_no_delete"], "DELETE FROM audit_log WHERE seq >= 7").await;
        let report = chain::verify(&db, &[]).await.unwrap();
        assert_eq!(report.broken.map(|b| (b.seq, b.problem)), Some((7, "missing")), "[{engine}]");
    }
}

#[tokio::test]
async fn updates_deletes_and_stray_inserts_are_refused_by_the_database() {
    for (engine, _, db) in fresh_databases().await {
        write_rows(&db, 3).await;
        let before = chain::head(&db).await.unwrap();
        for stmt in [
            "UPDATE audit_log SET reason = 'x' WHERE seq = 2",
            "UPDATE audit_log SET seq = seq + 100",
            "DELETE FROM audit_log WHERE seq = 2",
            "DELETE FROM audit_log",
            "DELETE FROM audit_chain_head",
            "UPDATE audit_chain_head SET seq = 0",
            "UPDATE audit_chain_head SET hash = hash WHERE id = 1",
        ] {
            let err = raw(&db, stmt).await.expect_err(stmt);
            assert!(
                err.to_string().contains("never") || err.to_string().contains("forward"),
                "[{engine}] {stmt}: {err}"
            );
        }
        if engine == "postgres" {
            for stmt in ["TRUNCATE audit_log", "TRUNCATE audit_chain_head"] {
                let err = raw(&db, stmt).await.expect_err(stmt);
                assert!(err.to_string().contains("never"), "[{engine}] {stmt}: {err}");
            }
        }
        // A row written past the chain (no seq after the head's, or no proper hash) is refused.
        let id = Uuid::now_v7();
        let blob = |hex: &str| {
            if engine == "sqlite" {
                format!("x'{hex}'")
            } else {
                format!("'\\x{hex}'::bytea")
            }
        };
        let uuid = |u: Uuid| {
            if engine == "sqlite" {
                format!("x'{}'", u.simple())
            } else {
                format!("'{u}'")
            }
        };
        for (seq, hash) in [(4, "00".repeat(31)), (9, "00".repeat(32)), (3, "00".repeat(32))] {
            let stmt = format!(
                "INSERT INTO audit_log (id, district, at_ms, actor_name, action, target_kind, target_id, seq, hash) \
                 VALUES ({}, '411602', 0, 'x', 'grid.update', 'grid', 'g', {seq}, {})",
                uuid(id),
                blob(&hash)
            );
            assert!(raw(&db, &stmt).await.is_err(), "[{engine}] {stmt}");
        }
        assert_eq!(chain::head(&db).await.unwrap(), before, "[{engine}]");
        let report = chain::verify(&db, &[]).await.unwrap();
        assert!(report.ok && report.rows == 3, "[{engine}] {report:?}");
    }
}

/// The reason a head is signed off: someone who can drop triggers can also recompute every hash
/// from the row they edit onwards. The chain alone then verifies; the signed head does not.
#[tokio::test]
async fn a_chain_rewritten_from_an_edited_row_on_is_caught_by_a_signed_head() {
    for (engine, _, db) in fresh_databases().await {
        write_rows(&db, 6).await;
        let signed: Anchor = chain::export_head(&db).await.unwrap().expect.parse().unwrap();
        assert_eq!(signed.seq, 6);
        // Edit row 3, then recompute rows 3…6 and the head with the published encoding.
        bypassing(
            &db,
            "audit_log",
            &["audit_log_no_update"],
            "UPDATE audit_log SET reason = '改写' WHERE seq = 3",
        )
        .await;
        let mut prev: [u8; 32] = gongzhi::on_pool!(&db, |p| sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT hash FROM audit_log WHERE seq = 2"
        )
        .fetch_one(p)
        .await)
        .unwrap()
        .try_into()
        .unwrap();
        for seq in 3..=6 {
            let row: (Uuid, i64, Option<Uuid>, String, String, String, String, String, String, String) =
                gongzhi::on_pool!(&db, |p| sqlx::query_as(
                    "SELECT id, at_ms, actor_id, district, actor_name, action, target_kind, target_id, reason, detail FROM audit_log WHERE seq = $1"
                )
                .bind(seq)
                .fetch_one(p)
                .await)
                .unwrap();
            let c = chain::Content {
                seq,
                id: row.0,
                district: &row.3,
                at_ms: row.1,
                actor_id: row.2,
                actor_name: &row.4,
                action: &row.5,
                target_kind: &row.6,
                target_id: &row.7,
                reason: &row.8,
                detail: &row.9,
            };
            prev = chain::row_hash(&prev, &c);
            let hex = chain::hex(&prev);
            let lit = if engine == "sqlite" {
                format!("x'{hex}'")
            } else {
                format!("'\\x{hex}'::bytea")
            };
            bypassing(
                &db,
                "audit_log",
                &["audit_log_no_update"],
                &format!("UPDATE audit_log SET hash = {lit} WHERE seq = {seq}"),
            )
            .await;
            if seq == 6 {
                bypassing(
                    &db,
                    "audit_chain_head",
                    &["audit_chain_head_forward"],
                    &format!("UPDATE audit_chain_head SET hash = {lit}"),
                )
                .await;
            }
        }
        assert!(chain::verify(&db, &[]).await.unwrap().ok, "[{engine}] rewritten consistently");
        let report = chain::verify(&db, std::slice::from_ref(&signed)).await.unwrap();
        assert_eq!(
            report.broken.map(|b| (b.seq, b.problem)),
            Some((6, "anchor_mismatch")),
            "[{engine}]"
        );
        // A signed head beyond today's chain: rows were cut off and the head moved back.
        let beyond = Anchor { seq: 99, ..signed };
        let report = chain::verify(&db, &[beyond]).await.unwrap();
        assert_eq!(report.broken.map(|b| (b.seq, b.problem)), Some((99, "truncated")), "[{engine}]");
    }
}

/// Many transactions append at once (8 tasks × 50, some writing two rows, some rolled back):
/// the chain stays one line, numbered without a gap, and verifies.
#[tokio::test]
async fn concurrent_writers_keep_one_linear_chain() {
    for (engine, _, db) in fresh_databases().await {
        let db = Arc::new(db);
        let started = std::time::Instant::now();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut committed = 0;
                for i in 0..50 {
                    let mut tx = db.begin().await.unwrap();
                    let target = format!("{t}-{i}");
                    audit::record(&mut tx, Actor::System("test"), entry(&target)).await.unwrap();
                    if i % 10 == 3 {
                        audit::record(&mut tx, Actor::System("test"), entry(&target)).await.unwrap();
                        committed += 1;
                    }
                    if i % 10 == 7 {
                        drop(tx); // rolled back: its row and its step of the head go too
                        continue;
                    }
                    tx.commit().await.unwrap();
                    committed += 1;
                }
                committed
            }));
        }
        let mut expected = 0i64;
        for t in tasks {
            expected += t.await.unwrap();
        }
        eprintln!(
            "[{engine}] {expected} audit rows from 8 concurrent writers in {:.2?}",
            started.elapsed()
        );
        assert_eq!(expected, 8 * (50 + 5 - 5));
        assert_eq!(seqs(&db).await, (1..=expected).collect::<Vec<_>>(), "[{engine}]");
        let report = chain::verify(&db, &[]).await.unwrap();
        assert!(report.ok, "[{engine}] {report:?}");
        assert_eq!(report.rows, expected);
    }
}

/// A database written before migration 0018: its rows are chained on first start, in the order
/// they were written, their content unchanged; the next write follows them.
#[tokio::test]
async fn rows_written_before_the_chain_are_adopted_in_order() {
    let dir = std::env::temp_dir().join("gongzhi-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let mut dbs = vec![];
    let url = format!("sqlite://{}", dir.join(format!("{}.db", Uuid::now_v7())).display());
    let lite = Db::connect_with(&url, None).await.unwrap();
    let mut m = sqlx::migrate!("migrations/sqlite");
    m.migrations = m.migrations.iter().filter(|x| x.version < 18).cloned().collect::<Vec<_>>().into();
    let Db::Sqlite { write, .. } = &lite else { unreachable!() };
    m.run(write).await.unwrap();
    dbs.push(("sqlite", lite));
    if let Ok(pg) = std::env::var("GONGZHI_TEST_DATABASE_URL")
        && !pg.is_empty()
    {
        // The "t_" prefix lets the tests' sweep drop the schema if this test dies.
        let schema = format!("t_{}", Uuid::now_v7().simple());
        let admin = Db::connect_with(&pg, None).await.unwrap();
        raw(&admin, &format!("CREATE SCHEMA {schema}")).await.unwrap();
        admin.close().await;
        let db = Db::connect_with(&pg, Some(&schema)).await.unwrap();
        let mut m = sqlx::migrate!("migrations/postgres");
        m.migrations = m.migrations.iter().filter(|x| x.version < 18).cloned().collect::<Vec<_>>().into();
        let Db::Pg(pool) = &db else { unreachable!() };
        m.run(pool).await.unwrap();
        dbs.push(("postgres", db));
    }
    for (engine, db) in dbs {
        // Three rows in the old shape, inserted out of id order.
        let ids = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        for (k, i) in [2usize, 0, 1].into_iter().enumerate() {
            let id = ids[i];
            let id_lit = if engine == "sqlite" {
                format!("x'{}'", id.simple())
            } else {
                format!("'{id}'")
            };
            raw(
                &db,
                &format!(
                    "INSERT INTO audit_log (id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail) \
                     VALUES ({id_lit}, '411602', {}, NULL, '旧账号', 'resident.reveal', 'resident', 'r{i}', '核对', '{{\"n\": {k}}}')",
                    1_700_000_000_000i64 + i as i64
                ),
            )
            .await
            .unwrap();
        }
        db.migrate().await.unwrap();
        let pending = chain::verify(&db, &[]).await.unwrap();
        assert_eq!((pending.ok, pending.unchained, pending.rows), (false, 3, 0), "[{engine}]");

        assert_eq!(chain::adopt_unchained(&db).await.unwrap(), 3, "[{engine}]");
        assert_eq!(chain::adopt_unchained(&db).await.unwrap(), 0, "[{engine}] once only");
        for (seq, id) in (1..).zip(ids) {
            assert_eq!(id_at(&db, seq).await, id, "[{engine}] in the order written");
        }
        let kept: Vec<(String, String, String)> = gongzhi::on_pool!(&db, |p| sqlx::query_as(
            "SELECT actor_name, target_id, detail FROM audit_log ORDER BY seq"
        )
        .fetch_all(p)
        .await)
        .unwrap();
        assert_eq!(
            kept[0],
            ("旧账号".into(), "r0".into(), "{\"n\": 1}".into()),
            "[{engine}] content unchanged"
        );
        write_rows(&db, 1).await;
        let report = chain::verify(&db, &[]).await.unwrap();
        assert!(report.ok && report.rows == 4 && report.unchained == 0, "[{engine}] {report:?}");
        if let Db::Pg(_) = &db {
            let schema: String =
                gongzhi::on_pool!(&db, |p| sqlx::query_scalar("SELECT current_schema()::text").fetch_one(p).await).unwrap();
            raw(&db, &format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
        }
        db.close().await;
    }
}
