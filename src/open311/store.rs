//! Open311 storage: what a client sent beyond the case's own fields, tokens, and the request search.

use std::collections::HashMap;

use uuid::Uuid;

use crate::cases::store::{CASE_COLS, CaseRow};
use crate::db::{Db, Tx, now_ms};
use crate::{on_pool, on_tx};

/// The fields of a POST that have no column in `cases` (kept: nothing a client sends is lost).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub token: String,
    pub address_string: String,
    pub address_id: String,
    pub media_url: String,
    pub email: String,
    pub device_id: String,
    pub account_id: String,
}

/// Record where a case came from, inside the transaction that creates it.
/// The case loop's report hook: keeps what the client sent, in the case's own transaction.
pub struct KeepOrigin<'a> {
    pub key_id: Uuid,
    pub origin: &'a Origin,
}

impl crate::cases::hooks::OnReported for KeepOrigin<'_> {
    fn reported<'a>(&'a self, tx: &'a mut Tx, case_id: Uuid, district: &'a str) -> crate::cases::hooks::HookFuture<'a> {
        Box::pin(async move { Ok(insert_origin(tx, case_id, district, self.key_id, self.origin).await?) })
    }
}

pub async fn insert_origin(tx: &mut Tx, case_id: Uuid, district: &str, key_id: Uuid, o: &Origin) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO open311_requests (case_id, district, api_key_id, token, address_string, address_id, media_url, email, device_id, account_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(case_id)
    .bind(district)
    .bind(key_id)
    .bind(&o.token)
    .bind(&o.address_string)
    .bind(&o.address_id)
    .bind(&o.media_url)
    .bind(&o.email)
    .bind(&o.device_id)
    .bind(&o.account_id)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(())
}

/// The case a token stands for, and the case's token.
pub async fn by_token(db: &Db, district: &str, token: &str) -> sqlx::Result<Option<Uuid>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, Uuid>(
        "SELECT case_id FROM open311_requests WHERE district = $1 AND token = $2"
    )
    .bind(district)
    .bind(token)
    .fetch_optional(p)
    .await)
}

pub async fn token_of(db: &Db, case_id: Uuid) -> sqlx::Result<Option<String>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT token FROM open311_requests WHERE case_id = $1"
    )
    .bind(case_id)
    .fetch_optional(p)
    .await)
}

/// What a client sent that is served back with its request.
#[derive(Debug, Clone, Default)]
pub struct Served {
    pub address_string: String,
    pub media_url: String,
}

/// The address strings and media URLs clients gave, by case.
pub async fn served(db: &Db, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, Served>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut sql = String::from("SELECT case_id, address_string, media_url FROM open311_requests WHERE case_id IN ");
        crate::db::values_list(&mut sql, db.engine(), 1, chunk.len());
        let rows: Vec<(Uuid, String, String)> = on_pool!(db, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        out.extend(
            rows.into_iter()
                .map(|(id, address_string, media_url)| (id, Served { address_string, media_url })),
        );
    }
    Ok(out)
}

/// Grid names by code.
pub async fn grid_names(db: &Db, codes: &[String]) -> sqlx::Result<HashMap<String, String>> {
    lookup(db, "SELECT code, name FROM grids WHERE code IN ", codes).await
}

/// Unit names by id.
pub async fn unit_names(db: &Db, ids: &[Uuid]) -> sqlx::Result<HashMap<Uuid, String>> {
    lookup(db, "SELECT id, name FROM units WHERE id IN ", ids).await
}

/// Run `sql` (ending in `IN `, the list of keys appended) over `keys` in chunks; a key → value map.
async fn lookup<K>(db: &Db, sql: &str, keys: &[K]) -> sqlx::Result<HashMap<K, String>>
where
    K: Clone + Eq + std::hash::Hash + Send + Sync + Unpin + 'static,
    K: for<'q> sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + for<'r> sqlx::Decode<'r, sqlx::Sqlite>,
    K: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
{
    let mut out = HashMap::new();
    for chunk in keys.chunks(500) {
        let mut full = sql.to_string();
        crate::db::values_list(&mut full, db.engine(), 1, chunk.len());
        let rows: Vec<(K, String)> = on_pool!(db, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(full));
            for k in chunk {
                q = q.bind(k.clone());
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// GET requests: the search a client may make.
#[derive(Debug, Default)]
pub struct Search {
    pub district: String,
    /// The key's grid subtree, when a key was given.
    pub root: Option<String>,
    /// When given, every other filter is ignored (the spec).
    pub ids: Vec<Uuid>,
    pub service_codes: Vec<String>,
    /// `Some(true)` open only, `Some(false)` closed only.
    pub open: Option<bool>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub limit: i64,
    pub offset: i64,
}

enum Bind {
    T(String),
    I(i64),
    U(Uuid),
}

/// Cases matching a search, newest first.
pub async fn search(db: &Db, s: &Search) -> sqlx::Result<Vec<CaseRow>> {
    let mut binds = vec![Bind::T(s.district.clone())];
    let mut where_ = String::from("district = $1");
    if let Some(root) = &s.root {
        where_.push_str(" AND grid_code >= $2 AND grid_code < $3");
        binds.push(Bind::T(root.clone()));
        binds.push(Bind::T(crate::grid::rules::subtree_upper(root)));
    }
    if !s.ids.is_empty() {
        where_.push_str(&format!(" AND id IN ({})", placeholders(binds.len() + 1, s.ids.len())));
        binds.extend(s.ids.iter().map(|u| Bind::U(*u)));
    } else {
        if !s.service_codes.is_empty() {
            where_.push_str(&format!(
                " AND category_code IN ({})",
                placeholders(binds.len() + 1, s.service_codes.len())
            ));
            binds.extend(s.service_codes.iter().map(|c| Bind::T(c.clone())));
        }
        match s.open {
            Some(true) => where_.push_str(" AND status NOT IN ('closed', 'declined')"),
            Some(false) => where_.push_str(" AND status IN ('closed', 'declined')"),
            None => {}
        }
        let base = binds.len();
        where_.push_str(&format!(" AND reported_at >= ${} AND reported_at <= ${}", base + 1, base + 2));
        binds.push(Bind::I(s.start_ms));
        binds.push(Bind::I(s.end_ms));
    }
    let n = binds.len();
    let sql = format!(
        "SELECT {CASE_COLS} FROM cases WHERE {where_} ORDER BY reported_at DESC, id DESC LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = match b {
                Bind::T(t) => q.bind(t.clone()),
                Bind::I(i) => q.bind(*i),
                Bind::U(u) => q.bind(*u),
            };
        }
        q.bind(s.limit).bind(s.offset).fetch_all(p).await
    })
}

/// Districts served (the jurisdictions).
pub async fn districts(db: &Db) -> sqlx::Result<Vec<(String, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT code, name FROM districts ORDER BY code"
    )
    .fetch_all(p)
    .await)
}
