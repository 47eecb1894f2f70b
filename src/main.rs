//! The `gongzhi` command: serve, demo, migrate, user add, api-key add|revoke|list, points audit,
//! audit verify|head, keys new|rotate, map import, routing train|evaluate.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gongzhi::accounts::service::{NewUser, add_user};
use gongzhi::audit::Actor;
use gongzhi::config::{self, Settings};
use gongzhi::db::Db;
use gongzhi::demo::{self, Scale};

#[derive(Parser)]
#[command(name = "gongzhi", version, about = "共治 — 党建引领基层治理平台 (party-led grassroots governance)")]
struct Cli {
    /// Settings file (TOML); defaults to ./gongzhi.toml when present.
    #[arg(long, env = "GONGZHI_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// sqlite://FILE (default) or postgres://USER@HOST/DB
    #[arg(long, env = "GONGZHI_DATABASE_URL")]
    database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "GONGZHI_LISTEN")]
    listen: Option<String>,
    /// Where attachments and exports live.
    #[arg(long, env = "GONGZHI_DATA_DIR")]
    data_dir: Option<String>,
    /// Where clients reach the server, e.g. https://gongzhi.example.gov.cn (default http://LISTEN).
    #[arg(long, env = "GONGZHI_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate and serve the console and API.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Print the demo's welcome and accounts when listening (set by `demo` when it hands over).
        #[arg(long, hide = true)]
        demo_banner: bool,
    },
    /// Fill an empty database with the demo district, then serve it.
    Demo {
        #[command(flatten)]
        common: Common,
        /// district: Chuanhui's real scale; small: one street, for quick tests.
        #[arg(long, value_enum, default_value = "district")]
        scale: Scale,
        /// Only fill the database; do not serve.
        #[arg(long)]
        no_serve: bool,
        /// Seed for the deterministic generator.
        #[arg(long, default_value_t = 20231)]
        seed: u64,
    },
    /// Run database migrations and exit.
    Migrate(Common),
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage Open311 API keys (city systems and apps that report cases).
    ApiKey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Personal-data keys: print a new key line, or re-seal every number with the current key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The points ledger.
    Points {
        #[command(subcommand)]
        command: PointsCommand,
    },
    /// The audit log's hash chain (审计链).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Base layers drawn under the grid maps (底图).
    Map {
        #[command(subcommand)]
        command: MapCommand,
    },
    /// Routing free-text reports (智能分派): retrain the models, or measure them.
    Routing {
        #[command(subcommand)]
        command: RoutingCommand,
    },
}

#[derive(Subcommand)]
enum RoutingCommand {
    /// Retrain and store each district's model from its closed cases (or one district's).
    Train {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        district: Option<String>,
    },
    /// Print the figures: accuracy on held-out closed cases (a fifth, fixed seed) and on the
    /// residents' reports file (text TAB category per line).
    Evaluate {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        district: Option<String>,
        #[arg(long, default_value = "tests/data/routing_reports.tsv")]
        reports: PathBuf,
        #[arg(long, default_value_t = 20231)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum MapCommand {
    /// Import a GeoJSON FeatureCollection of roads, rivers, landmarks or areas (one transaction).
    Import {
        #[command(flatten)]
        common: Common,
        /// The GeoJSON file (WGS84 longitude, latitude).
        file: PathBuf,
        /// road, river (LineString/MultiLineString), landmark (Point), area (Polygon/MultiPolygon).
        #[arg(long)]
        kind: String,
        /// The name of features without a `name` property.
        #[arg(long)]
        name: Option<String>,
        /// Remove the district's features of this kind first.
        #[arg(long)]
        replace: bool,
        /// The district's code, when the database holds more than one.
        #[arg(long)]
        district: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the whole chain recomputing every hash; prints JSON, exits non-zero at the first broken row.
    Verify {
        #[command(flatten)]
        common: Common,
        /// A head signed off earlier, SEQ:HASH as `audit head` prints it (repeatable): that row must
        /// still carry that hash, which also catches a chain recomputed from some row on.
        #[arg(long = "expect", value_name = "SEQ:HASH")]
        expect: Vec<gongzhi::audit::chain::Anchor>,
    },
    /// Print the chain head (seq, hash, when) as JSON, to be signed off and kept off the server.
    #[command(alias = "export-head")]
    Head {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Print a new key line (`ID:SECRET`) to append to the key file.
    New {
        /// The new key's id (one more than the last line's).
        #[arg(long)]
        id: u32,
    },
    /// Re-seal every ID number and phone not sealed with the key file's last key, in batches,
    /// while the server keeps serving.
    Rotate {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum PointsCommand {
    /// Re-check the whole ledger from its postings; prints JSON, exits non-zero if anything is off.
    Audit {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Issue a key reaching the grid subtree under --grid; the key is the last line printed.
    Add {
        #[command(flatten)]
        common: Common,
        /// Grid code the key may report under (the district code for all of it).
        #[arg(long)]
        grid: String,
        /// Who uses it, e.g. 市12345热线.
        #[arg(long)]
        name: String,
        /// Requests allowed per minute.
        #[arg(long, default_value_t = gongzhi::apikeys::DEFAULT_PER_MINUTE)]
        per_minute: i64,
    },
    /// End a key, named by its id or by the key itself.
    Revoke {
        #[command(flatten)]
        common: Common,
        #[arg(long, required_unless_present = "key", conflicts_with = "key")]
        id: Option<uuid::Uuid>,
        #[arg(long)]
        key: Option<String>,
        /// Why (kept in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// List the keys (never the secrets).
    List {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account holding one post (a role at a grid node or a unit).
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        /// district_admin, street_staff, community_staff, compound_leader, building_officer, department_handler, property_staff, resident, shop_keeper
        #[arg(long)]
        role: String,
        /// Grid code the post is held at.
        #[arg(long, conflicts_with = "unit")]
        grid: Option<String>,
        /// Unit id the post is held at (department_handler, property_staff, shop_keeper).
        #[arg(long)]
        unit: Option<uuid::Uuid>,
        /// Name shown in the console.
        #[arg(long, default_value = "")]
        display_name: String,
    },
}

/// The settings, with the personal-data keys loaded (every command may read or write them).
fn settings(cli_config: Option<&std::path::Path>, c: &Common, default_db: &str) -> anyhow::Result<Settings> {
    let file = config::load_file(cli_config)?;
    let s = config::resolve(
        c.database_url.clone(),
        c.listen.clone(),
        c.data_dir.clone(),
        c.public_url.clone(),
        file,
        default_db,
    )?;
    let env_keys = std::env::var("GONGZHI_DATA_KEYS").ok();
    let ring = gongzhi::sealed::load(env_keys.as_deref(), s.key_file.as_deref(), &s.data_dir)?;
    gongzhi::sealed::install(ring).map_err(|e| anyhow::anyhow!(e))?;
    Ok(s)
}

/// Seal personal numbers stored before sealing or with an older key, a batch at a time.
async fn reseal(db: &Db) -> anyhow::Result<u64> {
    let residents = gongzhi::registry::residents::reseal(db, 1_000).await?;
    let reporters = gongzhi::cases::store::reseal_reporter_phones(db, 1_000).await?;
    Ok(residents + reporters)
}

fn print_demo_banner(addr: std::net::SocketAddr) {
    println!("\n共治 demo district: http://{addr}/");
    println!("{}", demo::accounts_text());
}

/// Serve the just-generated demo from a fresh process image: memory the generator freed is not
/// given back to the system, so serving from this process would stay at 600 MB or more instead of
/// a plain server's few tens. Same settings, passed as flags; the same process id (exec).
fn serve_fresh(config: Option<&std::path::Path>, s: &Settings) -> anyhow::Result<()> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    cmd.args([
        "serve",
        "--demo-banner",
        "--database-url",
        &s.database_url,
        "--listen",
        &s.listen,
        "--data-dir",
    ])
    .arg(&s.data_dir);
    if let Some(u) = &s.public_url {
        cmd.arg("--public-url").arg(u);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(anyhow::anyhow!("could not restart to serve the demo: {}", cmd.exec()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status()?;
        anyhow::ensure!(status.success(), "the demo server stopped with {status}");
        Ok(())
    }
}

/// Keep a long-running server's heap near what it uses (the target is < 150 MB RSS serving the
/// district): glibc gives each thread that allocates at once an arena of its own and keeps freed
/// pages in them, so a walk through the console's heavy pages left ~190 MB resident. Two arenas
/// and a trim every half minute bring that walk back under 150 MB. Set before any thread starts,
/// and for `serve` only: the demo's generator (which serves from a fresh `serve` process) and the
/// one-shot commands keep glibc's defaults.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod heap {
    pub fn limit_arenas() {
        // SAFETY: mallopt only sets an allocator parameter; called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }

    pub async fn trim_now_and_then() {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(30));
        loop {
            every.tick().await;
            // SAFETY: malloc_trim returns free pages to the system; it is safe at any time.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod heap {
    pub fn limit_arenas() {}
    pub async fn trim_now_and_then() {}
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Command::Serve { .. });
    if serving {
        heap::limit_arenas();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误 error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(start(cli, serving))
}

async fn start(cli: Cli, serving: bool) -> std::process::ExitCode {
    if serving {
        tokio::spawn(heap::trim_now_and_then());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GONGZHI_LOG").unwrap_or_else(|_| "gongzhi=info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误 error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.config.as_deref();
    match cli.command {
        Command::Serve { common, demo_banner } => {
            let s = settings(cfg, &common, config::DEFAULT_DATABASE_URL)?;
            let db = Db::connect(&s.database_url).await?;
            let n = reseal(&db).await?;
            if n > 0 {
                println!("sealed {n} personal numbers stored before sealing or under an older key");
            }
            gongzhi::audit::chain::adopt_unchained(&db).await?;
            gongzhi::app::serve(db, &s, |addr| {
                if demo_banner {
                    print_demo_banner(addr)
                } else {
                    println!("gongzhi serving on http://{addr}/")
                }
            })
            .await
        }
        Command::Migrate(c) => {
            let s = settings(cfg, &c, config::DEFAULT_DATABASE_URL)?;
            let db = Db::connect(&s.database_url).await?;
            gongzhi::audit::chain::adopt_unchained(&db).await?;
            db.close().await;
            println!("migrated {}", s.database_url);
            Ok(())
        }
        Command::Demo {
            common,
            scale,
            no_serve,
            seed,
        } => {
            let s = settings(cfg, &common, config::DEFAULT_DEMO_DATABASE_URL)?;
            let db = Db::connect(&s.database_url).await?;
            gongzhi::audit::chain::adopt_unchained(&db).await?;
            if demo::is_loaded(&db).await? {
                println!("demo district already in {}; serving it", s.database_url);
                // A demo made by an earlier version holds its numbers in clear: seal them now.
                let n = reseal(&db).await?;
                if n > 0 {
                    println!("sealed {n} personal numbers stored before sealing or under an older key");
                }
            } else {
                let report = demo::load(&db, scale, seed, true).await?;
                println!("{report}");
                if !no_serve {
                    db.close().await;
                    return serve_fresh(cfg, &s);
                }
            }
            if no_serve {
                db.close().await;
                return Ok(());
            }
            gongzhi::app::serve(db, &s, print_demo_banner).await
        }
        Command::Points {
            command: PointsCommand::Audit { common },
        } => {
            let s = settings(cfg, &common, config::DEFAULT_DATABASE_URL)?;
            let db = Db::connect(&s.database_url).await?;
            let check = gongzhi::volunteers::store::audit_ledger(&db, None).await;
            db.close().await;
            let check = check?;
            let report = gongzhi::volunteers::api::points::audit_to_api(&check);
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.ok {
                anyhow::bail!("the points ledger does not check out (积分账目核对未通过)");
            }
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    common,
                    username,
                    password,
                    role,
                    grid,
                    unit,
                    display_name,
                },
        } => {
            let s = settings(cfg, &common, config::DEFAULT_DATABASE_URL)?;
            let db = Db::connect(&s.database_url).await?;
            let input = NewUser {
                username: username.clone(),
                password,
                display_name,
                role,
                grid,
                unit,
            };
            let result = add_user(&db, Actor::System("cli"), &input, None).await;
            db.close().await;
            let (id, _) = result.map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
            println!("added user {username} ({id})");
            Ok(())
        }
        Command::ApiKey { command } => api_key(cfg, command).await,
        Command::Keys {
            command: KeysCommand::Rotate { common },
        } => {
            let s = settings(cfg, &common, config::DEFAULT_DATABASE_URL)?;
            let db = Db::connect(&s.database_url).await?;
            let n = reseal(&db).await;
            db.close().await;
            println!("sealed {} personal numbers with key {}", n?, gongzhi::sealed::ring().current_id());
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::New { id },
        } => {
            println!("{}", gongzhi::sealed::KeyRing::new_line(id));
            Ok(())
        }
        Command::Audit { command } => audit(cfg, command).await,
        Command::Routing { command } => routing(cfg, command).await,
        Command::Map {
            command:
                MapCommand::Import {
                    common,
                    file,
                    kind,
                    name,
                    replace,
                    district,
                },
        } => {
            let s = settings(cfg, &common, config::DEFAULT_DATABASE_URL)?;
            let meta = std::fs::metadata(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            if meta.len() > gongzhi::grid::layers::MAX_BYTES as u64 {
                anyhow::bail!("文件过大：最多 {} MB", gongzhi::grid::layers::MAX_BYTES / 1024 / 1024);
            }
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let db = Db::connect(&s.database_url).await?;
            let r = gongzhi::grid::service::import_layers(
                &db,
                Actor::System("cli"),
                district.as_deref(),
                &kind,
                text,
                name.as_deref(),
                replace,
            )
            .await;
            db.close().await;
            let r = r.map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{}", serde_json::to_string(&r)?);
            Ok(())
        }
    }
}

/// `audit verify` and `audit head`: rows written before the chain existed are chained first.
async fn routing(cfg: Option<&std::path::Path>, command: RoutingCommand) -> anyhow::Result<()> {
    use gongzhi::routing::{service, store};
    let (RoutingCommand::Train { common, district } | RoutingCommand::Evaluate { common, district, .. }) = &command;
    let s = settings(cfg, common, config::DEFAULT_DATABASE_URL)?;
    let db = Db::connect(&s.database_url).await?;
    let result = async {
        let districts = match district {
            Some(d) => vec![d.clone()],
            None => store::districts(&db).await?,
        };
        match &command {
            RoutingCommand::Train { .. } => {
                for d in &districts {
                    match service::train(&db, d)
                        .await
                        .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?
                    {
                        Some(t) => println!(
                            "district {}: trained on {} closed cases, {} categories, {} features, temperature {}, {} ms",
                            t.district, t.examples, t.categories, t.vocabulary, t.temperature, t.millis
                        ),
                        None => println!("district {d}: no closed cases, no model"),
                    }
                }
            }
            RoutingCommand::Evaluate { reports, seed, .. } => {
                let text = std::fs::read_to_string(reports).map_err(|e| anyhow::anyhow!("{}: {e}", reports.display()))?;
                let reports = service::parse_reports(&text);
                for d in &districts {
                    let e = service::evaluate(&db, d, &reports, *seed)
                        .await
                        .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
                    println!(
                        "district {d}: trained on {} closed cases, tested on the other fifth (seed {seed})",
                        e.trained_on
                    );
                    println!("  {}", e.held_out.0.line("held-out cases, category"));
                    println!("  {}", e.held_out.1.line("held-out cases, category and unit"));
                    println!("  {}", e.reports.line("residents' reports, category"));
                    for (c, right, n) in &e.by_category {
                        println!("    {c}: {right}/{n}");
                    }
                }
            }
        }
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result
}

async fn audit(cfg: Option<&std::path::Path>, command: AuditCommand) -> anyhow::Result<()> {
    use gongzhi::audit::chain;
    let (AuditCommand::Verify { common, .. } | AuditCommand::Head { common }) = &command;
    let s = settings(cfg, common, config::DEFAULT_DATABASE_URL)?;
    let db = Db::connect(&s.database_url).await?;
    let result = async {
        chain::adopt_unchained(&db).await?;
        match &command {
            AuditCommand::Verify { expect, .. } => {
                let report = chain::verify(&db, expect).await?;
                println!("{}", serde_json::to_string_pretty(&report)?);
                if !report.ok {
                    let at = report
                        .broken
                        .as_ref()
                        .map_or(String::new(), |b| format!(" at seq {} ({})", b.seq, b.problem));
                    anyhow::bail!("the audit chain does not verify{at} (审计链核验未通过)");
                }
            }
            AuditCommand::Head { .. } => println!("{}", serde_json::to_string_pretty(&chain::export_head(&db).await?)?),
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

async fn api_key(cfg: Option<&std::path::Path>, command: ApiKeyCommand) -> anyhow::Result<()> {
    use gongzhi::apikeys as keys;
    let common = match &command {
        ApiKeyCommand::Add { common, .. } | ApiKeyCommand::Revoke { common, .. } | ApiKeyCommand::List { common } => common,
    };
    let s = settings(cfg, common, config::DEFAULT_DATABASE_URL)?;
    let db = Db::connect(&s.database_url).await?;
    let app_err = |e: gongzhi::error::AppError| anyhow::anyhow!("{} ({})", e.message, e.code);
    let result = match command {
        ApiKeyCommand::Add {
            grid, name, per_minute, ..
        } => keys::add(&db, Actor::System("cli"), &grid, &name, per_minute)
            .await
            .map_err(app_err)
            .map(|(k, secret)| {
                println!(
                    "issued Open311 key {} ({}) for grid {} in district {}, {} requests/minute",
                    k.id, k.name, k.grid_code, k.district, k.per_minute
                );
                println!("{secret}");
            }),
        ApiKeyCommand::Revoke { id, key, reason, .. } => {
            let found = match (id, key) {
                (Some(id), _) => keys::get(&db, id).await?,
                (None, Some(secret)) => keys::find(&db, &secret).await?,
                (None, None) => None,
            };
            match found {
                None => Err(anyhow::anyhow!("no such live API key")),
                Some(k) => keys::revoke(&db, Actor::System("cli"), k.id, &reason)
                    .await
                    .map_err(app_err)
                    .map(|k| println!("revoked Open311 key {} ({})", k.id, k.name)),
            }
        }
        ApiKeyCommand::List { .. } => {
            for d in gongzhi::open311::store::districts(&db).await? {
                for k in keys::list(&db, &d.0).await? {
                    let state = if k.revoked_at.is_some() { "revoked" } else { "live" };
                    println!(
                        "{}\t{}\t{}\t{}…\t{}/min\t{}",
                        k.id, k.name, k.grid_code, k.key_prefix, k.per_minute, state
                    );
                }
            }
            Ok(())
        }
    };
    db.close().await;
    result
}
