//! Benchmark: the whole district's residents ledger (`GET /api/v1/exports/residents.xlsx`, about
//! 300,000 rows at district scale) streamed over HTTP: time to the last byte, and the process's
//! extra memory while it streams (VmHWM after resetting it, less VmRSS before), on SQLite and —
//! when GONGZHI_BENCH_DATABASE_URL (or GONGZHI_TEST_DATABASE_URL) is set — PostgreSQL.
//! Targets (GONGZHI_BENCH_ASSERT=1): < 15 s and < 100 MB extra RSS. The file is then read back
//! with calamine and must hold one row per resident.
//!
//! Run: `cargo bench --bench exports` (GONGZHI_BENCH_SCALE=small for a quick look).

#[path = "support/mod.rs"]
mod support;

use std::io::Cursor;
use std::time::Instant;

use calamine::{Reader, Xlsx};
use gongzhi::demo::{self, Scale};
use std::io::Write;
use support::{Target, Targets, login};

/// A line of /proc/self/status in kB (VmRSS, VmHWM).
fn status_kb(key: &str) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string("/proc/self/status")?;
    s.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{key} not in /proc/self/status"))
}

/// Reset the peak (VmHWM) to the current RSS (Linux ≥ 4.0).
fn reset_peak() -> anyhow::Result<()> {
    std::fs::write("/proc/self/clear_refs", "5")?;
    Ok(())
}

async fn run(engine: &'static str, scale: Scale, targets: &mut Targets) -> anyhow::Result<()> {
    let db = support::fresh(engine).await?;
    let t = Instant::now();
    demo::load(&db, scale, 20231, false).await?;
    println!("[{engine}] demo ({scale:?}) loaded in {:.1} s", t.elapsed().as_secs_f64());
    let residents: i64 = gongzhi::on_pool!(&db, |p| sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM residents")
        .fetch_one(p)
        .await)?;
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::new();
    let token = login(&client, &base, "admin").await?;
    // Settle what the load left behind before measuring.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let rss_before = status_kb("VmRSS:")?;
    reset_peak()?;
    let t = Instant::now();
    let r = client
        .get(format!("{base}/api/v1/exports/residents.xlsx"))
        .bearer_auth(&token)
        .send()
        .await?;
    anyhow::ensure!(r.status().is_success(), "[{engine}] export: {}", r.status());
    let first = t.elapsed();
    // The client writes to a file as the bytes come, so only the server's memory grows.
    let path = std::env::temp_dir().join(format!("gongzhi-export-{}.xlsx", uuid::Uuid::now_v7()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let mut r = r;
    let mut size = 0usize;
    while let Some(chunk) = r.chunk().await? {
        size += chunk.len();
        out.write_all(&chunk)?;
    }
    out.flush()?;
    drop(out);
    let elapsed = t.elapsed();
    let peak = status_kb("VmHWM:")?;
    let extra_mb = peak.saturating_sub(rss_before) as f64 / 1024.0;
    println!(
        "[{engine}] residents export: {residents} rows, {:.1} MB, headers after {:.2} s, last byte after {:.2} s, extra RSS {:.1} MB (VmRSS before {} MB, VmHWM {} MB)",
        size as f64 / 1e6,
        first.as_secs_f64(),
        elapsed.as_secs_f64(),
        extra_mb,
        rss_before / 1024,
        peak / 1024
    );
    let mut wb = Xlsx::new(Cursor::new(std::fs::read(&path)?))?;
    let _ = std::fs::remove_file(&path);
    let range = wb.worksheet_range_at(0).ok_or_else(|| anyhow::anyhow!("[{engine}] no sheet"))??;
    let rows = range.height() as i64 - 1;
    anyhow::ensure!(rows == residents, "[{engine}] {rows} rows read back, {residents} residents");
    targets.check(
        &format!("[{engine}] residents export, time"),
        elapsed.as_secs_f64(),
        Target::Below(15.0),
        "s",
    );
    targets.check(
        &format!("[{engine}] residents export, extra RSS"),
        extra_mb,
        Target::Below(100.0),
        "MB",
    );
    server.abort();
    db.close().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    let scale = support::scale();
    let mut targets = Targets::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        for engine in support::engines() {
            run(engine, scale, &mut targets).await?;
        }
        anyhow::Ok(())
    })?;
    targets.finish()
}
