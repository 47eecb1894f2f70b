//! Load generator: every role's console pages (issue 10, item 9) — each demo account signs in with
//! the console's cookie and fetches its landing page and lists, one request at a time, and the
//! median and p99 of each page are reported. The district demo (100,000 cases, a year of
//! volunteering) on SQLite; loopback only; a fixed number of requests; stops by itself.
//!
//! Run: `cargo bench --bench pages`. `GONGZHI_BENCH_DEMO=FILE` measures an existing demo database
//! (e.g. the one `gongzhi demo --no-serve` wrote) instead of generating one; `GONGZHI_BENCH_SCALE=small`
//! for a quick look. Any page that does not answer 200 fails the bench; with
//! `GONGZHI_BENCH_ASSERT=1`, so does a page whose p99 is 200 ms or more.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use gongzhi::db::Db;
use gongzhi::demo;
use support::{Target, Targets, ms, percentile};

const ROUNDS: usize = 40;
const WARM_UP: usize = 3;

/// Each role's landing page and lists, as the console links them.
const PAGES: &[(&str, &[&str])] = &[
    (
        "admin",
        &[
            "/console/inbox",
            "/console/cases",
            "/console/grids/411602",
            "/console/residents",
            "/console/volunteers",
            "/console/points",
            "/console/activities",
            "/console/assessment",
            "/console/units",
            "/console/audit",
        ],
    ),
    (
        "street",
        &["/console/inbox", "/console/cases", "/console/grids/411602001", "/console/residents"],
    ),
    (
        "community",
        &[
            "/console/inbox",
            "/console/cases",
            "/console/grids/411602001001",
            "/console/residents",
            "/console/volunteers",
            "/console/points",
            "/console/activities",
        ],
    ),
    ("compound", &["/console/inbox", "/console/cases", "/console/grids/411602001001001"]),
    (
        "building",
        &["/console/inbox", "/console/grids/411602001001001001", "/console/cases/new"],
    ),
    ("department", &["/console/inbox", "/console/cases"]),
    ("property", &["/console/inbox", "/console/cases"]),
    (
        "resident",
        &["/console/volunteer", "/console/volunteer/shop", "/console/cases?mine=1"],
    ),
    ("keeper", &["/console/shop"]),
];

/// Sign in through the login form; the session cookie.
async fn sign_in(client: &reqwest::Client, base: &str, user: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/login"))
        .form(&[("username", user), ("password", demo::DEMO_PASSWORD), ("next", "/console")])
        .send()
        .await?;
    let cookie = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gongzhi_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string());
    cookie.ok_or_else(|| anyhow::anyhow!("sign in as {user}: no session cookie (HTTP {})", r.status()))
}

async fn database() -> anyhow::Result<Db> {
    if let Ok(file) = std::env::var("GONGZHI_BENCH_DEMO") {
        println!("measuring the demo database {file}");
        return Db::connect(&format!("sqlite://{file}")).await;
    }
    let db = support::fresh("sqlite").await?;
    let started = Instant::now();
    demo::load(&db, support::scale(), 20231, false).await?;
    println!("demo generated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(db)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    gongzhi::sealed::install_for_tests();
    let db = database().await?;
    let (base, server) = support::serve(&db).await?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut targets = Targets::from_env();
    let mut worst = (Duration::ZERO, String::new());
    println!("{:<11} {:<36} {:>10} {:>10} {:>9}", "role", "page", "median", "p99", "KB");
    for (user, pages) in PAGES {
        let cookie = sign_in(&client, &base, user).await?;
        for page in *pages {
            let mut times = Vec::with_capacity(ROUNDS);
            let mut size = 0;
            for i in 0..WARM_UP + ROUNDS {
                let started = Instant::now();
                let r = client.get(format!("{base}{page}")).header("cookie", &cookie).send().await?;
                let status = r.status();
                let body = r.bytes().await?;
                let took = started.elapsed();
                anyhow::ensure!(status == reqwest::StatusCode::OK, "{user} {page}: HTTP {status}");
                size = body.len();
                if i >= WARM_UP {
                    times.push(took);
                }
            }
            times.sort();
            let (median, p99) = (percentile(&times, 0.5), percentile(&times, 0.99));
            println!(
                "{user:<11} {page:<36} {:>10} {:>10} {:>9.1}",
                ms(median),
                ms(p99),
                size as f64 / 1024.0
            );
            targets.check(
                &format!("{user} {page} p99"),
                p99.as_secs_f64() * 1000.0,
                Target::Below(200.0),
                "ms",
            );
            if p99 > worst.0 {
                worst = (p99, format!("{user} {page}"));
            }
        }
    }
    println!("slowest p99: {} ({})", ms(worst.0), worst.1);
    server.abort();
    targets.finish()
}
