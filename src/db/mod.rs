//! Storage: one pool enum over SQLite (embedded default) and PostgreSQL, migrations, transactions.
//!
//! Store code is written once with `$1, $2` placeholders and expanded per engine by [`on_pool!`]
//! and [`on_tx!`]; a `match` appears only where the dialects really differ.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of_url(url: &str) -> anyhow::Result<Engine> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://FILE or postgres://…): {url}")
        }
    }
}

/// The database. SQLite writes go through a single-connection pool so that write transactions
/// queue in-process instead of failing with SQLITE_BUSY; reads use a pool of their own.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Pg(PgPool),
}

/// One open write transaction.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Pg(Transaction<'static, Postgres>),
}

/// Run `$body` with `$p` bound to the engine's read pool (`&SqlitePool` or `&PgPool`).
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$p:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite { read, .. } => {
                let $p = read;
                $body
            }
            $crate::db::Db::Pg(pool) => {
                let $p = pool;
                $body
            }
        }
    };
}

/// Run `$body` with `$c` bound to the transaction's connection (`&mut SqliteConnection` or `&mut PgConnection`).
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Pg(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Connect, creating the SQLite file if needed, and run migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        let db = Self::connect_with(url, None).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Connect without migrating; `pg_schema` puts every PostgreSQL connection in that schema (tests).
    pub async fn connect_with(url: &str, pg_schema: Option<&str>) -> anyhow::Result<Db> {
        match Engine::of_url(url)? {
            Engine::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("cache_size", "-65536")
                    .pragma("temp_store", "memory");
                // The one writer syncs every commit to disk (synchronous=FULL): an acknowledged
                // report survives a power cut, not only a crash of the process. On this machine
                // that is ~8,100 single-row commits/s against ~70,000 with NORMAL
                // (docs/benchmarks.md), far above what the HTTP paths commit.
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts.clone().synchronous(SqliteSynchronous::Full))
                    .await?;
                // Readers cannot write by mistake: every write goes through `begin()`.
                let read = SqlitePoolOptions::new()
                    .max_connections(8)
                    .connect_with(opts.read_only(true))
                    .await?;
                Ok(Db::Sqlite { read, write })
            }
            Engine::Postgres => {
                let mut opts = PgConnectOptions::from_str(url)?;
                if let Some(schema) = pg_schema {
                    opts = opts.options([("search_path", schema)]);
                }
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(opts)
                    .await?;
                Ok(Db::Pg(pool))
            }
        }
    }

    /// Connect to PostgreSQL in a new, migrated schema `{prefix}_{uuid}`: tests and benchmarks
    /// work on a clean database without creating one. Returns the pool and the schema's name.
    pub async fn connect_new_schema(url: &str, prefix: &str) -> anyhow::Result<(Db, String)> {
        let schema = format!("{prefix}_{}", new_id().simple());
        let admin = Self::connect_with(url, None).await?;
        let created = crate::on_pool!(&admin, |p| sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(p)
            .await
            .map(|_| ()));
        admin.close().await;
        created?;
        let db = Self::connect_with(url, Some(&schema)).await?;
        db.migrate().await?;
        Ok((db, schema))
    }

    pub fn engine(&self) -> Engine {
        match self {
            Db::Sqlite { .. } => Engine::Sqlite,
            Db::Pg(_) => Engine::Postgres,
        }
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite { write, .. } => sqlx::migrate!("migrations/sqlite").run(write).await?,
            Db::Pg(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Begin a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which takes the write lock
    /// up front (waiting out other processes through busy_timeout) rather than failing later.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        match self {
            Db::Sqlite { write, .. } => Ok(Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?)),
            Db::Pg(pool) => Ok(Tx::Pg(pool.begin().await?)),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Pg(pool) => pool.close().await,
        }
    }

    /// Refresh planner statistics after a bulk load.
    pub async fn analyze(&self) -> sqlx::Result<()> {
        match self {
            Db::Sqlite { write, .. } => {
                sqlx::query("ANALYZE").execute(write).await?;
            }
            Db::Pg(pool) => {
                // VACUUM too: it sets the visibility map, without which index-only scans
                // (the counts behind every search) visit the heap after a bulk load.
                // Named tables only: a bare VACUUM would walk every schema in the database.
                sqlx::query(
                    "VACUUM ANALYZE grids, grid_contacts, households, residents, resident_tags, units, unit_grids, places, devices, cases, case_events, \
                     volunteers, volunteer_team_members, volunteer_activities, activity_signups, points_accounts, points_transactions, \
                     points_postings, redemptions, redemption_codes",
                )
                .execute(pool)
                .await?;
            }
        }
        Ok(())
    }
}

impl Tx {
    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Pg(t) => t.commit().await,
        }
    }
}

/// True when the error is a unique-constraint violation (works on both engines).
/// A `LIKE` pattern matching `text` literally, with `ESCAPE '\'`: `%`, `_` and `\` typed by a
/// user are letters, not wildcards. Callers compare `LOWER(column) LIKE LOWER(pattern)` so that
/// both engines ignore ASCII case alike (SQLite's LIKE does, PostgreSQL's does not).
pub fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

/// Milliseconds since the Unix epoch, UTC.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A fresh time-ordered id, safe to make on many nodes at once.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    /// Table → column names, read from a migrations folder's CREATE TABLE and ALTER TABLE … ADD COLUMN statements.
    fn shape(dir: &str) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let mut tables = BTreeMap::new();
        for f in &files {
            let text = std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
            for stmt in text.split(';') {
                let s: String = stmt
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join("\n");
                if let Some(rest) = s.trim().strip_prefix("ALTER TABLE ") {
                    let mut words = rest.split_whitespace();
                    let (table, add, column, name) = (words.next(), words.next(), words.next(), words.next());
                    if (add, column) == (Some("ALTER"), Some("COLUMN")) {
                        continue; // a type or collation change keeps the column set
                    }
                    assert_eq!((add, column), (Some("ADD"), Some("COLUMN")), "{f}: only ADD COLUMN is expected");
                    let cols: &mut Vec<String> = tables.get_mut(table.unwrap()).expect("ALTER of a known table");
                    cols.push(name.unwrap().to_string());
                    continue;
                }
                let Some(rest) = s.trim().strip_prefix("CREATE TABLE ") else {
                    continue;
                };
                let (name, body) = rest.split_once('(').unwrap();
                let cols = body
                    .lines()
                    .map(str::trim)
                    .filter(|l| {
                        !l.is_empty()
                            && !l.starts_with("PRIMARY")
                            && !l.starts_with("UNIQUE")
                            && !l.starts_with("CHECK")
                            && !l.starts_with(')')
                    })
                    .map(|l| l.split_whitespace().next().unwrap().to_string())
                    .collect();
                tables.insert(name.trim().to_string(), cols);
            }
        }
        (files, tables)
    }

    #[test]
    fn both_engines_have_the_same_migrations_and_columns() {
        let root = env!("CARGO_MANIFEST_DIR");
        let (lite_files, lite) = shape(&format!("{root}/migrations/sqlite"));
        let (pg_files, pg) = shape(&format!("{root}/migrations/postgres"));
        assert_eq!(lite_files, pg_files);
        assert_eq!(lite, pg);
        assert!(lite.len() >= 10 && lite["residents"].contains(&"id_number".to_string()));
        assert!(lite["cases"].contains(&"private".to_string()), "ALTER TABLE … ADD COLUMN is read");
    }
}
