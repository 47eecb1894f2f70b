//! Load generator for the command centre: `GET /api/v1/dashboard` and the screen page on the
//! district demo, then again with 1,000,000 cases (GONGZHI_BENCH_CASES) loaded in bulk, on SQLite
//! and — with GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) — PostgreSQL; then the
//! real server (`gongzhi demo`, spawned) with 50 screens on the event stream: its memory, and how
//! long a new case takes to reach every screen.
//!
//! Run: `cargo bench --bench command`. Loopback only; it stops by itself. GONGZHI_BENCH_ASSERT=1
//! fails it when a target is missed: dashboard p99 < 100 ms (demo and 1M cases, both engines),
//! screen page p99 < 1 s, server RSS with 50 screens < 150 MB, every screen told < 1 s.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gongzhi::db::Db;
use gongzhi::demo;
use rand::{RngExt, SeedableRng};
use support::{Target, Targets, percentile};

const REQUESTS: usize = 300;
const SCREENS: usize = 50;

fn bulk_cases() -> usize {
    std::env::var("GONGZHI_BENCH_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// Sequential GETs of `path`: (p50, p99) in ms; any non-2xx fails the bench.
async fn timed(client: &reqwest::Client, base: &str, token: &str, path: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        support::ok_bytes(path, client.get(format!("{base}{path}")).bearer_auth(token)).await?;
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(percentile(&lat, 0.5)), ms(percentile(&lat, 0.99))))
}

/// The screen page as a signed-in browser gets it (cookie): (p50, p99) in ms.
async fn timed_page(client: &reqwest::Client, base: &str, path: &str, n: usize) -> anyhow::Result<(f64, f64)> {
    let r = client
        .post(format!("{base}/login"))
        .form(&[("username", "admin"), ("password", demo::DEMO_PASSWORD)])
        .send()
        .await?;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    anyhow::ensure!(!cookie.is_empty(), "console sign-in gave no cookie");
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let body = support::ok_bytes(path, client.get(format!("{base}{path}")).header("cookie", &cookie)).await?;
        anyhow::ensure!(String::from_utf8_lossy(&body).contains("指挥中心"), "{path}: not the screen");
        lat.push(t.elapsed());
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(percentile(&lat, 0.5)), ms(percentile(&lat, 0.99))))
}

/// Add `n` cases in bulk (a year of them: most closed, 2 % open), then rebuild the tallies.
async fn load_cases(db: &Db, n: usize) -> anyhow::Result<()> {
    let district = "411602";
    let buildings: Vec<(String,)> = gongzhi::on_pool!(db, |p| sqlx::query_as("SELECT code FROM grids WHERE level = 5 ORDER BY code")
        .fetch_all(p)
        .await)?;
    let cats: Vec<(String,)> = gongzhi::on_pool!(db, |p| sqlx::query_as(
        "SELECT code FROM case_categories WHERE district = $1 AND parent_code IS NOT NULL ORDER BY code"
    )
    .bind(district)
    .fetch_all(p)
    .await)?;
    anyhow::ensure!(
        !buildings.is_empty() && !cats.is_empty(),
        "no buildings or categories to load cases into"
    );
    let now = gongzhi::db::now_ms();
    let year = 365 * 86_400_000i64;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    const COLS: usize = 14;
    let per = 30_000 / COLS;
    let mut tx = db.begin().await?;
    let mut done = 0;
    while done < n {
        let k = per.min(n - done);
        let mut sql = String::from(
            "INSERT INTO cases (id, district, tracking_code, category_code, description, grid_code, level, source, status, \
             reported_at, due_at, handled_at, closed_at, updated_at) VALUES ",
        );
        for r in 0..k {
            let b = r * COLS;
            if r > 0 {
                sql.push(',');
            }
            sql.push('(');
            for c in 0..COLS {
                if c > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${}", b + c + 1));
            }
            sql.push(')');
        }
        type Row = (
            uuid::Uuid,
            String,
            String,
            String,
            String,
            &'static str,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = (0..k)
            .map(|r| {
                let i = done + r;
                let open = rng.random_range(0..100) < 2;
                let reported = if open {
                    now - rng.random_range(0..10 * 86_400_000i64)
                } else {
                    now - rng.random_range(86_400_000..year)
                };
                let due = reported + 3 * 86_400_000;
                let handled = reported + rng.random_range(3_600_000..5 * 86_400_000i64);
                let status = if open {
                    ["reported", "accepted", "dispatched", "handling"][i % 4]
                } else if i % 100 == 0 {
                    "declined"
                } else {
                    "closed"
                };
                let (h, c) = if status == "closed" {
                    (Some(handled), Some(handled + 3_600_000))
                } else {
                    (None, None)
                };
                (
                    uuid::Uuid::now_v7(),
                    format!("B{i:09}"),
                    cats[i % cats.len()].0.clone(),
                    buildings[rng.random_range(0..buildings.len())].0.clone(),
                    format!("批量案件 {i}"),
                    status,
                    reported,
                    due,
                    h,
                    c,
                )
            })
            .collect();
        gongzhi::on_tx!(&mut tx, |x| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for (id, code, cat, grid, desc, status, rep, due, h, c) in &rows {
                q = q
                    .bind(*id)
                    .bind(district)
                    .bind(code.as_str())
                    .bind(cat.as_str())
                    .bind(desc.as_str())
                    .bind(grid.as_str())
                    .bind(5i64)
                    .bind("officer")
                    .bind(*status)
                    .bind(*rep)
                    .bind(*due)
                    .bind(*h)
                    .bind(*c)
                    .bind(*rep);
            }
            q.execute(x).await.map(|_| ())
        })?;
        done += k;
    }
    gongzhi::cases::tallies::rebuild(&mut tx).await?;
    tx.commit().await?;
    db.analyze().await?;
    Ok(())
}

async fn measure(engine: &str, label: &str, base: &str, targets: &mut Targets) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let token = support::login(&client, base, "admin").await?;
    for (what, grid) in [("district", "411602"), ("street", "411602001"), ("community", "411602001001")] {
        let path = format!("/api/v1/dashboard?grid={grid}");
        // Warm the caches and the connection once.
        timed(&client, base, &token, &path, 5).await?;
        let (p50, p99) = timed(&client, base, &token, &path, REQUESTS).await?;
        println!("[{engine}] {label}: GET /api/v1/dashboard ({what}) ×{REQUESTS}: p50 {p50:.2} ms, p99 {p99:.2} ms");
        targets.check(&format!("[{engine}] {label} dashboard {what} p99"), p99, Target::Below(100.0), "ms");
    }
    let page_client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let (p50, p99) = timed_page(&page_client, base, "/console/command", 50).await?;
    println!("[{engine}] {label}: GET /console/command (district screen) ×50: p50 {p50:.2} ms, p99 {p99:.2} ms");
    targets.check(&format!("[{engine}] {label} screen page p99"), p99, Target::Below(1000.0), "ms");
    Ok(())
}

async fn run(engine: &'static str, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!("[{engine}] demo loaded in {:.1} s", t.elapsed().as_secs_f64());
    let (base, server) = support::serve(&db).await?;
    measure(engine, "demo", &base, targets).await?;
    let n = bulk_cases();
    let t = Instant::now();
    load_cases(&db, n).await?;
    let total: i64 = gongzhi::on_pool!(&db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM cases").fetch_one(p).await)?;
    println!(
        "[{engine}] {n} cases added in bulk (+ tallies rebuilt) in {:.1} s; {total} cases in all",
        t.elapsed().as_secs_f64()
    );
    measure(engine, &format!("{total} cases"), &base, targets).await?;
    server.abort();
    db.close().await;
    Ok(())
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident memory of a process, in MB (Linux).
fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(kb / 1024.0)
}

/// The real server: `gongzhi demo` in a temporary directory, 50 screens on its event stream.
async fn screens(targets: &mut Targets) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("gongzhi-bench-screens-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let base = format!("http://127.0.0.1:{port}");
    let scale = match support::scale() {
        demo::Scale::Small => "small",
        demo::Scale::District => "district",
    };
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gongzhi"))
        .args(["demo", "--scale", scale])
        .env("GONGZHI_DATABASE_URL", format!("sqlite://{}", dir.join("demo.db").display()))
        .env("GONGZHI_DATA_DIR", &dir)
        .env("GONGZHI_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("GONGZHI_DATA_KEYS")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // Stopped however this function ends.
    let mut child = KillOnDrop(child);
    let pid = child.0.id();
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "the demo server did not come up");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "[sqlite] gongzhi demo ({scale}) serving after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let idle = rss_mb(pid)?;
    let token = support::login(&client, &base, "admin").await?;
    let mut streams = Vec::new();
    for _ in 0..SCREENS {
        let mut r = client
            .get(format!("{base}/api/v1/events?grid=411602"))
            .bearer_auth(&token)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "event stream: {}", r.status());
        let first = r.chunk().await?.unwrap_or_default();
        anyhow::ensure!(String::from_utf8_lossy(&first).contains("hello"), "no hello on the stream");
        streams.push(r);
    }
    // Every screen also loads its figures once, as the page does.
    for _ in 0..SCREENS {
        support::ok_bytes("dashboard", client.get(format!("{base}/api/v1/dashboard")).bearer_auth(&token)).await?;
    }
    let mut worst = Vec::new();
    for round in 0..5 {
        let body = serde_json::json!({"category": "SQ01", "description": format!("指挥中心压测 {round}"), "grid": "411602001001001001"});
        let t = Instant::now();
        let v = support::ok_json(
            "report",
            client.post(format!("{base}/api/v1/cases")).bearer_auth(&token).json(&body),
        )
        .await?;
        let code = support::non_empty_str("report", &v, "tracking_code")?;
        let mut slowest = Duration::ZERO;
        for s in streams.iter_mut() {
            let mut seen = String::new();
            while !seen.contains(&code) {
                let left = Duration::from_secs(5).saturating_sub(t.elapsed());
                match tokio::time::timeout(left, s.chunk()).await {
                    Ok(Ok(Some(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                    _ => anyhow::bail!("a screen missed case {code}"),
                }
            }
            slowest = slowest.max(t.elapsed());
        }
        worst.push(slowest);
    }
    worst.sort();
    let loaded = rss_mb(pid)?;
    let slowest_ms = worst.last().copied().unwrap_or_default().as_secs_f64() * 1000.0;
    println!(
        "[sqlite] server RSS: {idle:.1} MB serving, {loaded:.1} MB with {SCREENS} screens connected; \
         a new case reached all {SCREENS} screens in median {:.1} ms, worst {slowest_ms:.1} ms (5 cases)",
        percentile(&worst, 0.5).as_secs_f64() * 1000.0
    );
    targets.check("server RSS with 50 screens", loaded, Target::Below(150.0), "MB");
    targets.check("event to all 50 screens, worst", slowest_ms, Target::Below(1000.0), "ms");
    drop(streams);
    child.0.kill()?;
    let _ = std::fs::remove_dir_all(&dir);
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
        screens(&mut targets).await?;
        anyhow::Ok(())
    })?;
    targets.finish()
}
