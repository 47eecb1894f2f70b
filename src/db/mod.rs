//! Storage: one pool enum over SQLite (embedded default) and PostgreSQL, migrations, transactions.
//!
//! Store code is written once with `$1, $2` placeholders and expanded per engine by [`on_pool!`]
//! and [`on_tx!`]; a `match` appears only where the dialects really differ.

pub mod group;

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

/// The SQLite writer's page cache, KiB.
const WRITER_CACHE_KIB: i64 = 65_536;
/// The writer's page cache while the demo loads in one transaction, KiB: the district's database
/// is ~700 MB and fits, so nothing spills to the WAL before the commit.
const BULK_LOAD_CACHE_KIB: i64 = 1_048_576;

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

/// Settings of the SQLite library itself, made once before its first connection. SQLite counts
/// every allocation under one process-wide lock unless told not to (`SQLITE_CONFIG_MEMSTATUS`):
/// with readers decoding rows on several threads, that lock was a fifth of a 1,000-row search's
/// time. Nothing here reads those counts.
fn sqlite_settings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: a documented setting, made before any connection exists (sqlite3_config is
        // allowed only before sqlite3_initialize, which the first open calls; if some other code
        // opened SQLite first, it answers SQLITE_MISUSE and nothing changes).
        let rc = unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite was started before its settings could be made");
        }
    });
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
                sqlite_settings();
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
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
                // Each reader keeps its own page cache; 4 MB each (the OS caches the file too).
                // Four readers keep a served district's caches to 16 MB whatever they were asked:
                // eight of 8 MB filled as the console was walked and took the server past 150 MB
                // RSS; more readers than cores gain a read nothing.
                let read = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(opts.read_only(true).pragma("cache_size", "-4096"))
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
    /// Size the SQLite writer's page cache for one huge transaction (the demo's load): with the
    /// usual 64 MB the load spills pages to the WAL mid-transaction and reads them back. `false`
    /// puts the usual cache back and frees what the big one held. PostgreSQL: nothing to do.
    pub async fn bulk_load_cache(&self, on: bool) -> sqlx::Result<()> {
        if let Db::Sqlite { write, .. } = self {
            let kib = if on { BULK_LOAD_CACHE_KIB } else { WRITER_CACHE_KIB };
            sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA cache_size = -{kib}")))
                .execute(write)
                .await?;
            if !on {
                sqlx::query("PRAGMA shrink_memory").execute(write).await?;
            }
        }
        Ok(())
    }

    pub async fn analyze(&self) -> sqlx::Result<()> {
        match self {
            Db::Sqlite { write, .. } => {
                // Statistics from a sample of each index (SQLite's advice for `optimize`): a full
                // ANALYZE reads all of the demo's 700 MB for figures the planner only needs roughly.
                sqlx::query("PRAGMA analysis_limit = 1000").execute(write).await?;
                sqlx::query("ANALYZE").execute(write).await?;
            }
            Db::Pg(pool) => {
                // VACUUM too: it sets the visibility map, without which index-only scans
                // (the counts behind every search) visit the heap after a bulk load.
                // Named tables only: a bare VACUUM would walk every schema in the database.
                sqlx::query(
                    "VACUUM ANALYZE grids, grid_contacts, households, residents, resident_tags, units, unit_grids, places, devices, cases, case_events, case_tallies, \
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
    pub fn engine(&self) -> Engine {
        match self {
            Tx::Sqlite(_) => Engine::Sqlite,
            Tx::Pg(_) => Engine::Postgres,
        }
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Pg(t) => t.commit().await,
        }
    }

    /// Run a statement without preparing it (savepoints and the like).
    pub async fn execute_raw(&mut self, sql: &'static str) -> sqlx::Result<()> {
        crate::on_tx!(self, |c| sqlx::raw_sql(sql).execute(c).await.map(|_| ()))
    }

    /// Undo now, rather than when the dropped connection is next used.
    pub async fn rollback(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await,
            Tx::Pg(t) => t.rollback().await,
        }
    }
}

/// Append `($1, $2, …), (…)` to `sql`: `rows` rows of `columns` parameters each, numbered for
/// PostgreSQL and plain `?` for SQLite (SQLite looks a numbered parameter's name up in a list, so
/// binding thousands of them costs time that grows with the square of their number). The
/// statement must hold no other parameters.
pub fn values_list(sql: &mut String, engine: Engine, rows: usize, columns: usize) {
    use std::fmt::Write;
    let numbered = engine == Engine::Postgres;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            sql.push_str(if c == 0 { "" } else { ", " });
            match numbered {
                true => {
                    let _ = write!(sql, "${}", r * columns + c + 1);
                }
                false => sql.push('?'),
            }
        }
        sql.push(')');
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
    use std::collections::{BTreeMap, BTreeSet};

    use super::Db;

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
            // Comments go first: one may hold a `;` (0001's note above `sessions` does).
            let text: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            for stmt in text.split(';') {
                let s = stmt.to_string();
                if let Some(rest) = s.trim().strip_prefix("ALTER TABLE ") {
                    let mut words = rest.split_whitespace();
                    let (table, add, column, name) = (words.next(), words.next(), words.next(), words.next());
                    if (add, column) == (Some("ALTER"), Some("COLUMN")) || (add, column) == (Some("ADD"), Some("CONSTRAINT")) {
                        continue; // a type, collation or constraint change keeps the column set
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

    /// A column as both engines can be compared on.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Column {
        name: String,
        /// The kind of value it holds; see [`sqlite_class`] and [`pg_class`].
        class: String,
        not_null: bool,
        default: Option<String>,
    }

    /// (columns, referenced table, referenced columns, on update, on delete)
    type ForeignKey = (Vec<String>, String, Vec<String>, String, String);

    /// One table's shape, read back from a migrated database.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Table {
        columns: Vec<Column>,
        primary_key: Vec<String>,
        /// UNIQUE constraints (in a column or in the table), by their columns.
        unique: BTreeSet<Vec<String>>,
        /// CREATE INDEX indexes: name → (columns, unique, partial); an expression is `<expr>`.
        indexes: BTreeMap<String, (Vec<String>, bool, bool)>,
        foreign_keys: BTreeSet<ForeignKey>,
    }

    type Schema = BTreeMap<String, Table>;

    /// SQLite's declared type by its affinity rules (datatype3 §3.1), BOOLEAN named apart. An
    /// INTEGER is 64-bit, so it matches only PostgreSQL's bigint.
    fn sqlite_class(declared: &str) -> String {
        let t = declared.to_ascii_uppercase();
        let class = if t.contains("INT") {
            "int64"
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            "text"
        } else if t.contains("BLOB") || t.is_empty() {
            "bytes"
        } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            "float64"
        } else if t == "BOOLEAN" || t == "BOOL" {
            "boolean"
        } else {
            return format!("sqlite {t}");
        };
        class.to_string()
    }

    /// PostgreSQL's type (as `format_type` writes it) in the same classes. Ids are UUID there and
    /// 16-byte BLOBs in SQLite, so uuid and bytea are both bytes.
    fn pg_class(t: &str) -> String {
        let class = match t {
            "bigint" => "int64",
            "integer" => "int32",
            "smallint" => "int16",
            "text" => "text",
            t if t.starts_with("character varying") => "text",
            "uuid" | "bytea" => "bytes",
            "double precision" => "float64",
            "real" => "float32",
            "boolean" => "boolean",
            _ => return format!("postgres {t}"),
        };
        class.to_string()
    }

    /// A default as both engines can be compared on: PostgreSQL's cast dropped (`'{}'::text`,
    /// `'-1'::integer`), keywords in lower case (SQLite keeps `FALSE` as written).
    fn default_value(d: Option<String>) -> Option<String> {
        let d = d?;
        let mut d = d.trim();
        if let Some(i) = d.rfind("::")
            && !d[i..].contains('\'')
        {
            d = &d[..i];
        }
        if let Some(inner) = d.strip_prefix('\'').and_then(|x| x.strip_suffix('\''))
            && inner.parse::<f64>().is_ok()
        {
            d = inner;
        }
        Some(if d.starts_with('\'') {
            d.to_string()
        } else {
            d.to_ascii_lowercase()
        })
    }

    fn list(joined: &str) -> Vec<String> {
        joined.split(',').filter(|c| !c.is_empty()).map(String::from).collect()
    }

    /// The schema a migrated SQLite database holds, from its pragmas.
    async fn sqlite_schema(db: &Db) -> Schema {
        let Db::Sqlite { write: pool, .. } = db else { panic!("not SQLite") };
        let names: Vec<String> = sqlx::query_scalar(
            r"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> '_sqlx_migrations'",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        let mut schema = Schema::new();
        for name in names {
            let mut t = Table::default();
            let cols: Vec<(String, String, bool, Option<String>, i64)> =
                sqlx::query_as(r#"SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid"#)
                    .bind(&name)
                    .fetch_all(pool)
                    .await
                    .unwrap();
            let mut pk: Vec<(i64, String)> = cols.iter().filter(|c| c.4 > 0).map(|c| (c.4, c.0.clone())).collect();
            pk.sort();
            t.primary_key = pk.into_iter().map(|p| p.1).collect();
            for (col, declared, not_null, default, _) in cols {
                t.columns.push(Column {
                    // SQLite lets a PRIMARY KEY that is not INTEGER hold NULL (a legacy quirk it
                    // keeps); PostgreSQL never does. The application never writes a NULL key, so
                    // the key's columns count as NOT NULL here.
                    not_null: not_null || t.primary_key.contains(&col),
                    name: col,
                    class: sqlite_class(&declared),
                    default: default_value(default),
                });
            }
            let indexes: Vec<(String, bool, String, bool)> =
                sqlx::query_as(r#"SELECT name, "unique", origin, partial FROM pragma_index_list(?1)"#)
                    .bind(&name)
                    .fetch_all(pool)
                    .await
                    .unwrap();
            for (index, unique, origin, partial) in indexes {
                let cols: Vec<Option<String>> = sqlx::query_scalar("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                    .bind(&index)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let cols: Vec<String> = cols.into_iter().map(|c| c.unwrap_or_else(|| "<expr>".into())).collect();
                match origin.as_str() {
                    "pk" => assert_eq!(cols, t.primary_key, "{name}: the key's index"),
                    "u" => {
                        t.unique.insert(cols);
                    }
                    _ => {
                        t.indexes.insert(index, (cols, unique, partial));
                    }
                }
            }
            let fks: Vec<(i64, String, String, Option<String>, String, String)> = sqlx::query_as(
                r#"SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq"#,
            )
            .bind(&name)
            .fetch_all(pool)
            .await
            .unwrap();
            let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
            for (id, table, from, to, on_update, on_delete) in fks {
                let fk = by_id.entry(id).or_insert_with(|| (vec![], table, vec![], on_update, on_delete));
                fk.0.push(from);
                // `REFERENCES t` without columns means t's key; none of ours is written so.
                fk.2.push(to.expect("REFERENCES names its columns"));
            }
            t.foreign_keys = by_id.into_values().collect();
            schema.insert(name, t);
        }
        schema
    }

    /// The schema a migrated PostgreSQL schema holds, from its catalogue.
    async fn pg_schema(db: &Db, namespace: &str) -> Schema {
        let Db::Pg(pool) = db else { panic!("not PostgreSQL") };
        let mut schema = Schema::new();
        let cols: Vec<(String, String, String, bool, Option<String>)> = sqlx::query_as(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_sqlx_migrations' \
             ORDER BY c.relname, a.attnum",
        )
        .bind(namespace)
        .fetch_all(pool)
        .await
        .unwrap();
        for (table, name, pg_type, not_null, default) in cols {
            schema.entry(table).or_default().columns.push(Column {
                name,
                class: pg_class(&pg_type),
                not_null,
                default: default_value(default),
            });
        }
        // Column names of a constraint's or index's attribute numbers, in their order.
        let names = |attnums: &str, rel: &str| {
            format!(
                "array_to_string(ARRAY(SELECT coalesce(a.attname::text, '<expr>') FROM unnest({attnums}) WITH ORDINALITY k(num, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.num ORDER BY k.ord), ',')"
            )
        };
        let constraints: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.relname::text, con.contype::text, {}, coalesce(r.relname::text, ''), {}, con.confupdtype::text, con.confdeltype::text \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_class r ON r.oid = con.confrelid \
             WHERE n.nspname = $1 AND con.contype IN ('p', 'u', 'f') AND c.relname <> '_sqlx_migrations'",
            names("con.conkey", "con.conrelid"),
            names("con.confkey", "con.confrelid"),
        )))
        .bind(namespace)
        .fetch_all(pool)
        .await
        .unwrap();
        let action = |code: &str| {
            match code {
                "a" => "NO ACTION",
                "r" => "RESTRICT",
                "c" => "CASCADE",
                "n" => "SET NULL",
                "d" => "SET DEFAULT",
                other => panic!("unknown referential action {other}"),
            }
            .to_string()
        };
        for (table, kind, cols, referenced, referenced_cols, on_update, on_delete) in constraints {
            let t = schema.get_mut(&table).unwrap();
            match kind.as_str() {
                "p" => t.primary_key = list(&cols),
                "u" => {
                    t.unique.insert(list(&cols));
                }
                _ => {
                    t.foreign_keys.insert((
                        list(&cols),
                        referenced,
                        list(&referenced_cols),
                        action(&on_update),
                        action(&on_delete),
                    ));
                }
            }
        }
        // Indexes of their own, not those behind a key or UNIQUE constraint.
        let indexes: Vec<(String, String, bool, bool, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.relname::text, i.relname::text, ix.indisunique, ix.indpred IS NOT NULL, {} \
             FROM pg_index ix JOIN pg_class c ON c.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname <> '_sqlx_migrations' AND NOT EXISTS \
             (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.conrelid = ix.indrelid AND con.contype IN ('p', 'u'))",
            names("ix.indkey::int2[]", "ix.indrelid"),
        )))
        .bind(namespace)
        .fetch_all(pool)
        .await
        .unwrap();
        for (table, index, unique, partial, cols) in indexes {
            schema
                .get_mut(&table)
                .unwrap()
                .indexes
                .insert(index, (list(&cols), unique, partial));
        }
        schema
    }

    /// Both readers must see what the migrations wrote, so that a comparison of two empty or
    /// half-read schemas cannot pass.
    fn assert_read_in_full(engine: &str, s: &Schema) {
        let strs = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert!(s.len() >= 30, "{engine}: {} tables", s.len());
        let residents = &s["residents"];
        assert_eq!(residents.primary_key, strs(&["id"]), "{engine}");
        assert!(residents.unique.contains(&strs(&["district", "id_number"])), "{engine}");
        assert_eq!(
            residents.indexes["residents_grid"],
            (strs(&["district", "grid_code", "name", "id"]), false, false),
            "{engine}"
        );
        let fk = (
            strs(&["household_id"]),
            "households".to_string(),
            strs(&["id"]),
            "NO ACTION".into(),
            "NO ACTION".into(),
        );
        assert!(residents.foreign_keys.contains(&fk), "{engine}");
        let disabled = s["users"].columns.iter().find(|c| c.name == "disabled").unwrap();
        assert_eq!(
            (disabled.class.as_str(), disabled.not_null, disabled.default.as_deref()),
            ("boolean", true, Some("false")),
            "{engine}"
        );
        assert_eq!(s["resident_tags"].primary_key, strs(&["resident_id", "tag"]), "{engine}");
        assert!(
            s["cases"].columns.iter().any(|c| c.name == "private"),
            "{engine}: ALTER TABLE … ADD COLUMN is read"
        );
    }

    /// Every way the two schemas differ, one line each.
    fn differences(lite: &Schema, pg: &Schema) -> Vec<String> {
        let mut out = Vec::new();
        for name in lite.keys().chain(pg.keys()).collect::<BTreeSet<_>>() {
            let (Some(l), Some(p)) = (lite.get(name), pg.get(name)) else {
                out.push(format!(
                    "{name}: only in {}",
                    if lite.contains_key(name) { "SQLite" } else { "PostgreSQL" }
                ));
                continue;
            };
            let order = |t: &Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
            if order(l) != order(p) {
                out.push(format!("{name}: columns {:?} (SQLite) vs {:?} (PostgreSQL)", order(l), order(p)));
            }
            for lc in &l.columns {
                if let Some(pc) = p.columns.iter().find(|c| c.name == lc.name)
                    && lc != pc
                {
                    out.push(format!("{name}.{}: {lc:?} (SQLite) vs {pc:?} (PostgreSQL)", lc.name));
                }
            }
            let mut field = |what: &str, a: String, b: String| {
                if a != b {
                    out.push(format!("{name} {what}: {a} (SQLite) vs {b} (PostgreSQL)"));
                }
            };
            field("primary key", format!("{:?}", l.primary_key), format!("{:?}", p.primary_key));
            field("unique", format!("{:?}", l.unique), format!("{:?}", p.unique));
            field("indexes", format!("{:?}", l.indexes), format!("{:?}", p.indexes));
            field("foreign keys", format!("{:?}", l.foreign_keys), format!("{:?}", p.foreign_keys));
        }
        out
    }

    // The two migration sets must build the same schema: per column the kind of value, NOT NULL
    // and the default; per table the key, UNIQUE constraints, indexes (by name and columns) and
    // foreign keys. Both are read back from migrated databases, PostgreSQL's when
    // GONGZHI_TEST_DATABASE_URL is set.
    #[tokio::test]
    async fn both_engines_build_the_same_schema() {
        let lite_db = Db::connect_with("sqlite::memory:", None).await.unwrap();
        lite_db.migrate().await.unwrap();
        let lite = sqlite_schema(&lite_db).await;
        lite_db.close().await;
        assert_read_in_full("SQLite", &lite);
        let url = std::env::var("GONGZHI_TEST_DATABASE_URL").unwrap_or_default();
        if url.is_empty() {
            assert!(
                std::env::var("CI").unwrap_or_default().is_empty(),
                "CI is set but GONGZHI_TEST_DATABASE_URL is not: the schemas would not be compared"
            );
            eprintln!("note: GONGZHI_TEST_DATABASE_URL is not set, so the PostgreSQL schema is not compared with SQLite's");
            return;
        }
        // The "t_" prefix lets the integration tests' sweep drop the schema if this test dies.
        let (pg_db, namespace) = Db::connect_new_schema(&url, "t").await.unwrap();
        let pg = pg_schema(&pg_db, &namespace).await;
        crate::on_pool!(&pg_db, |p| sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {namespace} CASCADE"
        )))
        .execute(p)
        .await
        .map(|_| ()))
        .unwrap();
        pg_db.close().await;
        assert_read_in_full("PostgreSQL", &pg);
        let diff = differences(&lite, &pg);
        assert!(diff.is_empty(), "the engines' schemas differ:\n{}", diff.join("\n"));
    }
}
