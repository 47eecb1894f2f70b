//! Shared by the benches (each includes it with `#[path = "support/mod.rs"] mod support;`): fresh
//! databases, the loopback server, checked HTTP calls, percentiles, and the targets.
//!
//! A bench fails (returns an error, so a non-zero exit) on any error: a non-2xx response where
//! success is expected, a failed login or setup step, an empty result where data is expected.
//! With `GONGZHI_BENCH_ASSERT=1` it also compares its figures with the targets it documents
//! (`docs/benchmarks.md`) and fails when one is missed.

// Each bench uses a part of this module.
#![allow(dead_code)]

use std::time::Duration;

use gongzhi::db::Db;
use gongzhi::demo::Scale;
use serde_json::Value;

/// The value at fraction `p` of sorted latencies (zero when there are none).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The PostgreSQL URL to measure: GONGZHI_BENCH_DATABASE_URL, else GONGZHI_TEST_DATABASE_URL.
pub fn pg_url() -> Option<String> {
    std::env::var("GONGZHI_BENCH_DATABASE_URL")
        .or_else(|_| std::env::var("GONGZHI_TEST_DATABASE_URL"))
        .ok()
        .filter(|u| !u.is_empty())
}

/// The engines to measure: SQLite, and PostgreSQL when a URL is set (said when it is not).
pub fn engines() -> Vec<&'static str> {
    if pg_url().is_some() {
        vec!["sqlite", "postgres"]
    } else {
        println!("[postgres] skipped: set GONGZHI_BENCH_DATABASE_URL=postgres://… to measure it");
        vec!["sqlite"]
    }
}

/// GONGZHI_BENCH_SCALE=small for a quick look; the district otherwise.
pub fn scale() -> Scale {
    match std::env::var("GONGZHI_BENCH_SCALE").as_deref() {
        Ok("small") => Scale::Small,
        _ => Scale::District,
    }
}

/// A fresh database: a new SQLite file, or a new PostgreSQL schema.
pub async fn fresh(engine: &str) -> anyhow::Result<Db> {
    if engine == "sqlite" {
        let path = std::env::temp_dir().join(format!("gongzhi-bench-{}.db", uuid::Uuid::now_v7()));
        return Db::connect(&format!("sqlite://{}", path.display())).await;
    }
    let url = pg_url().ok_or_else(|| anyhow::anyhow!("no PostgreSQL URL (GONGZHI_BENCH_DATABASE_URL)"))?;
    Ok(Db::connect_new_schema(&url, "bench").await?.0)
}

/// Serve the application on a loopback port: its `http://127.0.0.1:PORT` and the server task.
pub async fn serve(db: &Db) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // Photos a bench uploads go to the temporary directory, not the working copy.
    let state = gongzhi::app::AppState::new(db.clone()).with_data_dir(std::env::temp_dir().join("gongzhi-bench-data"));
    let router = gongzhi::app::router(state);
    Ok((base, tokio::spawn(async move { axum::serve(listener, router).await })))
}

/// Send `req`; anything but a 2xx is an error naming `what`, the status and the body.
pub async fn ok_bytes(what: &str, req: reqwest::RequestBuilder) -> anyhow::Result<axum::body::Bytes> {
    let r = req.send().await.map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let status = r.status();
    let body = r.bytes().await.map_err(|e| anyhow::anyhow!("{what}: reading the body: {e}"))?;
    anyhow::ensure!(
        status.is_success(),
        "{what}: HTTP {status}: {}",
        String::from_utf8_lossy(&body[..body.len().min(500)])
    );
    Ok(body)
}

/// Like `ok_bytes`, the body parsed as JSON.
pub async fn ok_json(what: &str, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let body = ok_bytes(what, req).await?;
    serde_json::from_slice(&body).map_err(|e| anyhow::anyhow!("{what}: the body is not JSON: {e}"))
}

/// The string at `key` of `v`; missing or empty is an error naming `what`.
pub fn non_empty_str(what: &str, v: &Value, key: &str) -> anyhow::Result<String> {
    match v[key].as_str() {
        Some(s) if !s.is_empty() => Ok(s.to_string()),
        _ => anyhow::bail!("{what}: no `{key}` in the answer: {v}"),
    }
}

/// Log in as a demo account; the bearer token.
pub async fn login(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let what = format!("login as {user}");
    let v = ok_json(
        &what,
        client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": user, "password": gongzhi::demo::DEMO_PASSWORD})),
    )
    .await?;
    non_empty_str(&what, &v, "token")
}

/// Sequential reads of a page in `reads`: the first few warm the caches and are not counted.
pub const READS: usize = 200;
const WARM_UP: usize = 5;

/// Milliseconds as a number.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `READS` sequential GETs of `path` with `auth` applied: sorted latencies; each body must hold `expect`.
pub async fn reads(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    auth: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    expect: &str,
) -> anyhow::Result<Vec<Duration>> {
    let mut lat = Vec::with_capacity(READS);
    for i in 0..READS + WARM_UP {
        let t = std::time::Instant::now();
        let body = ok_bytes(path, auth(client.get(format!("{base}{path}")))).await?;
        let d = t.elapsed();
        anyhow::ensure!(
            String::from_utf8_lossy(&body).contains(expect),
            "{path}: no “{expect}” in the answer"
        );
        if i >= WARM_UP {
            lat.push(d);
        }
    }
    lat.sort();
    Ok(lat)
}

/// The console's session cookie for the demo account `user`.
pub async fn cookie(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", gongzhi::demo::DEMO_PASSWORD)])
        .send()
        .await?;
    let c = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join("; ");
    anyhow::ensure!(!c.is_empty(), "console sign-in as {user} gave no cookie");
    Ok(c)
}

/// Print p50, p99 and max of sorted latencies; with a target, check p99 against it.
pub fn report(engine: &str, what: &str, lat: &[Duration], targets: &mut Targets, target_ms: Option<f64>) {
    let (p50, p99) = (millis(percentile(lat, 0.5)), millis(percentile(lat, 0.99)));
    println!(
        "[{engine}] {what} ×{}: p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms",
        lat.len(),
        millis(*lat.last().unwrap_or(&Duration::ZERO))
    );
    if let Some(x) = target_ms {
        targets.check(&format!("[{engine}] {what} p99"), p99, Target::Below(x), "ms");
    }
}

/// How a measured figure must compare with its target.
#[derive(Clone, Copy)]
pub enum Target {
    /// measured < x
    Below(f64),
    /// measured ≤ x
    AtMost(f64),
    /// measured ≥ x
    AtLeast(f64),
}

impl Target {
    fn met(self, measured: f64) -> bool {
        match self {
            Target::Below(x) => measured < x,
            Target::AtMost(x) => measured <= x,
            Target::AtLeast(x) => measured >= x,
        }
    }

    fn show(self, unit: &str) -> String {
        let (op, x) = match self {
            Target::Below(x) => ("<", x),
            Target::AtMost(x) => ("≤", x),
            Target::AtLeast(x) => ("≥", x),
        };
        format!("{op} {x} {unit}")
    }
}

/// The documented targets of one bench, compared with GONGZHI_BENCH_ASSERT=1.
pub struct Targets {
    on: bool,
    missed: Vec<String>,
}

/// GONGZHI_BENCH_ASSERT=1 (or any value but empty, 0, false).
pub fn assert_targets() -> bool {
    std::env::var("GONGZHI_BENCH_ASSERT").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

impl Targets {
    /// For a bench that documents targets; says whether they are compared.
    pub fn from_env() -> Targets {
        let on = assert_targets();
        if on {
            println!("targets: comparing with the documented targets (GONGZHI_BENCH_ASSERT=1)");
        } else {
            println!("targets: not compared (set GONGZHI_BENCH_ASSERT=1 to fail on a missed target)");
        }
        Targets { on, missed: Vec::new() }
    }

    /// For a bench that documents none: says so; only its error checks apply.
    pub fn none(bench: &str) {
        let how = if assert_targets() {
            "GONGZHI_BENCH_ASSERT=1 has nothing to compare"
        } else {
            "nothing to compare"
        };
        println!("targets: none documented for the {bench} bench ({how}); it fails only on errors");
    }

    /// Compare `measured` with `target` (when asserting): print both, and remember a miss.
    pub fn check(&mut self, name: &str, measured: f64, target: Target, unit: &str) {
        if !self.on {
            return;
        }
        let met = target.met(measured);
        let line = format!("{name}: measured {measured:.2} {unit}, target {}", target.show(unit));
        println!("target {} {line}", if met { "met   " } else { "MISSED" });
        if !met {
            self.missed.push(line);
        }
    }

    /// An error listing the missed targets, if any.
    pub fn finish(self) -> anyhow::Result<()> {
        if self.missed.is_empty() {
            return Ok(());
        }
        anyhow::bail!("{} target(s) missed:\n  {}", self.missed.len(), self.missed.join("\n  "))
    }
}
