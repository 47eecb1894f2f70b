//! Ledger routes: exports, import templates and imports, served from the registry the app filled.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::import::{self, Outcome};
use super::{ExportCtx, ExportRequest, LedgersState, xlsx};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::web::extract::{Json, Path, Query};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn routes() -> Router<LedgersState> {
    Router::new()
        .route("/api/v1/exports/{file}", get(export))
        .route("/api/v1/imports/{ledger}/template.xlsx", get(template))
        .route(
            "/api/v1/imports/{ledger}",
            axum::routing::post(import).layer(DefaultBodyLimit::max(import::MAX_BYTES + 4096)),
        )
}

/// `attachment` with an ASCII name and the Chinese title (RFC 5987).
fn disposition(ascii: &str, title: &str) -> String {
    let day = crate::time::day_ms(crate::db::now_ms());
    let encoded = percent_encoding::utf8_percent_encode(&format!("{title}{day}.xlsx"), percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("attachment; filename=\"{ascii}.xlsx\"; filename*=UTF-8''{encoded}")
}

fn xlsx_response(body: Body, ascii: &str, title: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX.to_string()),
            (header::CONTENT_DISPOSITION, disposition(ascii, title)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// The longest query string an export takes.
const MAX_QUERY: usize = 2048;

/// Export a list to Excel: `{file}` is the ledger's name and `.xlsx` (`residents.xlsx`); the
/// query is the list's own (the same filters and scope as its page and API). Personal numbers are
/// masked unless `full=1` with a `reason`, for those who may reveal them (audited).
#[utoipa::path(get, path = "/api/v1/exports/{file}", tag = "ledgers",
    params(("file" = String, Path, description = "ledger name and `.xlsx`, e.g. `residents.xlsx`"),
        ("full" = Option<String>, Query, description = "`1` for unmasked personal numbers (needs the reveal right and a reason)"),
        ("reason" = Option<String>, Query, description = "why the full file is needed (2–200 characters), kept in the audit log")),
    responses((status = 200, description = "the .xlsx file", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export(State(s): State<LedgersState>, p: Principal, Path(file): Path<String>, RawQuery(q): RawQuery) -> AppResult<Response> {
    let ledger = file
        .strip_suffix(".xlsx")
        .and_then(|n| s.ledgers.export(n))
        .ok_or_else(|| AppError::not_found("台账"))?;
    let raw = q.unwrap_or_default();
    if raw.len() > MAX_QUERY {
        return Err(AppError::invalid("query_too_long", "查询参数过长"));
    }
    let (mut full, mut reason) = (false, String::new());
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "full" => full = matches!(v.as_ref(), "1" | "true"),
            "reason" => reason = v.into_owned(),
            _ => {}
        }
    }
    if full && !ledger.has_personal() {
        return Err(AppError::invalid(
            "no_personal_data",
            "该台账没有需要脱敏的个人信息，无需导出完整版",
        ));
    }
    let ctx = ExportCtx {
        db: s.db.clone(),
        principal: Arc::new(p),
        req: Arc::new(ExportRequest {
            query: raw,
            full: full.then_some(reason),
        }),
    };
    let writer = ledger.open(ctx).await?;
    let body = xlsx::stream(ledger.title(), ledger.headers(), writer);
    Ok(xlsx_response(body, ledger.name(), ledger.title()))
}

/// The import template: the ledger's Chinese column headers, and a sheet explaining each column.
#[utoipa::path(get, path = "/api/v1/imports/{ledger}/template.xlsx", tag = "ledgers", params(("ledger" = String, Path)),
    responses((status = 200, description = "the .xlsx template", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn template(State(s): State<LedgersState>, p: Principal, Path(name): Path<String>) -> AppResult<Response> {
    let imp = s.ledgers.import(&name).ok_or_else(|| AppError::not_found("导入台账"))?;
    if !imp.allowed(&p) {
        return Err(AppError::forbidden());
    }
    let bytes = xlsx::template(imp.title(), imp.columns()).map_err(|e| {
        tracing::error!(error = %e, "template");
        AppError::internal()
    })?;
    Ok(xlsx_response(
        Body::from(bytes),
        &format!("{}-template", imp.name()),
        &format!("{}导入模板", imp.title()),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// `true` (the default) checks every row and stores nothing; `false` stores every row or none.
    pub dry_run: Option<bool>,
}

/// Import a filled template (the `.xlsx` file as the body, at most 20 MB and 50,000 rows).
/// Every bad row is reported (`422` with `errors`); with none, a real import stores every row in
/// one transaction, and rows already stored by an earlier import are skipped, not doubled.
#[utoipa::path(post, path = "/api/v1/imports/{ledger}", tag = "ledgers", params(("ledger" = String, Path), ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the filled .xlsx template, at most 20 MB, recognised by content (any Content-Type)"),
    responses((status = 200, body = Outcome), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, description = "bad rows (an Outcome with errors) or a file that is not .xlsx (ErrorBody)", body = Outcome)),
    security(("bearer" = [])))]
pub async fn import(
    State(s): State<LedgersState>,
    p: Principal,
    Path(name): Path<String>,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> AppResult<Response> {
    let imp = s.ledgers.import(&name).ok_or_else(|| AppError::not_found("导入台账"))?;
    if !imp.allowed(&p) {
        return Err(AppError::forbidden());
    }
    let dry_run = q.dry_run.unwrap_or(true);
    let columns = imp.columns();
    // Reading is CPU work on a whole file: off the async threads.
    let (records, errors) = tokio::task::spawn_blocking(move || import::read(&body, columns))
        .await
        .map_err(|_| AppError::internal())??;
    let rows = records.len();
    let mut out = if errors.is_empty() {
        imp.run(&s.db, &p, records, dry_run).await?
    } else {
        Outcome {
            rows,
            errors,
            ..Outcome::default()
        }
    };
    out.dry_run = dry_run;
    out.rows = rows;
    if !out.errors.is_empty() {
        out.created = 0;
        out.skipped = 0;
        out.errors.sort_by_key(|e| e.row);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(out)).into_response());
    }
    Ok(Json(out).into_response())
}
