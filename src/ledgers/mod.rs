//! Excel ledgers (台账): the kit that writes any list to `.xlsx` and reads imports back, knowing no feature.
//!
//! Each feature describes its own ledgers ([`Export`], [`Import`]) in its own module and the
//! application registers them in [`Ledgers`]; the kit serves them at
//! `GET /api/v1/exports/{ledger}.xlsx`, `GET /api/v1/imports/{ledger}/template.xlsx` and
//! `POST /api/v1/imports/{ledger}`, and the console page `/console/imports`.

pub mod api;
pub mod import;
pub mod pages;
pub mod xlsx;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::FromRef;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::audit;
use crate::auth::Principal;
use crate::db::Db;
use crate::error::{AppError, AppResult};

pub use import::{Column, Import, Outcome, Record, RowError};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One cell of an exported row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Int(n)
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Cell {
        Cell::Num(n)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Empty, Into::into)
    }
}

pub type Row = Vec<Cell>;

/// How many rows travel to the writer together.
const BATCH: usize = 512;

/// Where a ledger puts its rows, in order; the writer turns them into the sheet as they come
/// (a bounded channel, so a slow writer slows the reader and memory stays bounded).
pub struct Sink {
    tx: tokio::sync::mpsc::Sender<Vec<Row>>,
    buf: Vec<Row>,
    written: u64,
}

impl Sink {
    pub(crate) fn new(tx: tokio::sync::mpsc::Sender<Vec<Row>>) -> Sink {
        Sink {
            tx,
            buf: Vec::with_capacity(BATCH),
            written: 0,
        }
    }

    pub async fn push(&mut self, row: Row) -> AppResult<()> {
        self.buf.push(row);
        self.written += 1;
        if self.buf.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> AppResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH));
        // The writer stops reading only when the client went away.
        self.tx.send(batch).await.map_err(|_| AppError::internal())
    }

    pub async fn finish(mut self) -> AppResult<u64> {
        self.flush().await?;
        Ok(self.written)
    }

    /// Rows pushed so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

/// What an export was asked for: the list's own query string (the same filters as its page and
/// API), and, for the full file, the reason given.
#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    pub query: String,
    /// `Some(reason)` when `full=1` was asked; the reason as sent (checked by [`check_full`]).
    pub full: Option<String>,
}

impl ExportRequest {
    /// The list's own query parameters, read as its API reads them (`full`, `reason` and unknown
    /// names are ignored).
    pub fn params<T: DeserializeOwned>(&self) -> AppResult<T> {
        let uri: axum::http::Uri = format!("/?{}", self.query)
            .parse()
            .map_err(|_| AppError::bad_request("查询参数有误"))?;
        axum::extract::Query::<T>::try_from_uri(&uri)
            .map(|q| q.0)
            .map_err(|e| AppError::invalid("invalid_query", format!("查询参数有误：{}", e.body_text())))
    }
}

/// Everything an export owns while it streams (it outlives the request's borrows).
#[derive(Clone)]
pub struct ExportCtx {
    pub db: Db,
    pub principal: Arc<Principal>,
    pub req: Arc<ExportRequest>,
}

/// What streams an export's rows once its checks passed; it hands the sink back for the kit to
/// flush.
pub type Writer = Box<dyn FnOnce(Sink) -> BoxFuture<'static, AppResult<Sink>> + Send>;

/// A list that exports to Excel. `open` checks the caller and the filters (errors are answered
/// before any byte of the file) and returns what streams the rows.
pub trait Export: Send + Sync {
    /// The name in the URL (`residents`).
    fn name(&self) -> &'static str;
    /// The Chinese title (居民台账), also the sheet's name.
    fn title(&self) -> &'static str;
    /// The Chinese column headers, in order.
    fn headers(&self) -> &'static [&'static str];
    /// Whether a full file (unmasked personal numbers) exists for this ledger.
    fn has_personal(&self) -> bool {
        false
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>>;
}

/// The ledgers the application registered.
#[derive(Clone, Default)]
pub struct Ledgers {
    pub exports: Arc<Vec<Arc<dyn Export>>>,
    pub imports: Arc<Vec<Arc<dyn Import>>>,
}

impl Ledgers {
    pub fn new(exports: Vec<Arc<dyn Export>>, imports: Vec<Arc<dyn Import>>) -> Ledgers {
        Ledgers {
            exports: Arc::new(exports),
            imports: Arc::new(imports),
        }
    }

    pub fn export(&self, name: &str) -> Option<Arc<dyn Export>> {
        self.exports.iter().find(|e| e.name() == name).cloned()
    }

    pub fn import(&self, name: &str) -> Option<Arc<dyn Import>> {
        self.imports.iter().find(|e| e.name() == name).cloned()
    }
}

#[derive(Clone)]
pub struct LedgersState {
    pub db: Db,
    pub ledgers: Ledgers,
}

impl FromRef<LedgersState> for Db {
    fn from_ref(s: &LedgersState) -> Db {
        s.db.clone()
    }
}

pub fn routes() -> axum::Router<LedgersState> {
    api::routes().merge(pages::routes())
}

/// The reason for a full file: 2 to 200 characters after NFKC, else refused.
pub fn check_full(reason: &str) -> AppResult<String> {
    use unicode_normalization::UnicodeNormalization;
    let reason: String = reason.nfkc().collect::<String>().trim().to_string();
    if !(2..=200).contains(&reason.chars().count()) {
        return Err(AppError::invalid(
            "reason_required",
            "导出完整身份证号和手机号须填写事由（2至200字）",
        ));
    }
    Ok(reason)
}

/// Record a full export like a reveal: who, which ledger, which subtree, why — in its own
/// transaction, before any row leaves.
pub async fn audit_full(db: &Db, p: &Principal, ledger: &str, grid: &str, reason: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "ledger.export_full",
            target_kind: "ledger",
            target_id: ledger,
            reason,
            detail: json!({"grid": grid}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Record an import that stored rows, as the last write of its transaction.
pub async fn audit_import(tx: &mut crate::db::Tx, p: &Principal, ledger: &str, created: usize, skipped: usize) -> AppResult<()> {
    audit::record(
        tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "ledger.import",
            target_kind: "ledger",
            target_id: ledger,
            reason: "",
            detail: json!({"created": created, "skipped": skipped}),
        },
    )
    .await?;
    Ok(())
}

/// The writer of a list that pages by offset (see [`paged`]): what most exports return from
/// `open` once their checks passed.
pub fn paged_writer<F, Fut>(per: i64, page: F) -> Writer
where
    F: FnMut(i64, i64) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<Vec<Row>>> + Send + 'static,
{
    Box::new(move |mut sink: Sink| {
        Box::pin(async move {
            paged(&mut sink, per, page).await?;
            Ok(sink)
        }) as BoxFuture<'static, AppResult<Sink>>
    })
}

/// Rows of a list that pages by offset, `per` at a time, into the sink: for lists of thousands
/// of rows that already have a paged store function (their filters then stay the list's own).
pub async fn paged<F, Fut>(sink: &mut Sink, per: i64, mut page: F) -> AppResult<()>
where
    F: FnMut(i64, i64) -> Fut,
    Fut: Future<Output = AppResult<Vec<Row>>>,
{
    let mut offset = 0;
    loop {
        let rows = page(per, offset).await?;
        let n = rows.len() as i64;
        for r in rows {
            sink.push(r).await?;
        }
        if n < per {
            return Ok(());
        }
        offset += per;
    }
}
