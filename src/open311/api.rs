//! The GeoReport v2 endpoints under /open311/v2: discovery, services, requests (search, one, POST), tokens.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Open311State;
use super::format::{self, Format};
use super::keys::{self, ApiKey};
use super::privacy;
use super::store::{self, Origin, Search};
use crate::cases::categories::{self, CategoryRow, Limit};
use crate::cases::service::{AttributeAnswer, NewCase, Reporter, submit};
use crate::cases::store::CaseRow;
use crate::error::AppError;

/// The version of this interface, as the discovery document's `changeset` gives it.
pub const CHANGESET: &str = "2026-11-24T00:00:00+08:00";
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// Requests a search returns at most, and the span it covers unless told otherwise (the spec).
pub const MAX_REQUESTS: i64 = 1000;
pub const DEFAULT_SPAN_MS: i64 = 90 * 24 * 3_600_000;

/// An answer: a body in the asked format, or the spec's error list in it.
pub struct Reply {
    status: StatusCode,
    format: Format,
    root: &'static str,
    body: Value,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let text = format::render(self.format, self.root, &self.body);
        (self.status, [(header::CONTENT_TYPE, self.format.content_type())], text).into_response()
    }
}

fn ok(format: Format, root: &'static str, body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        format,
        root,
        body,
    }
}

fn err(format: Format, status: StatusCode, description: impl AsRef<str>) -> Reply {
    Reply {
        status,
        format,
        root: "errors",
        body: format::errors(status.as_u16(), description.as_ref()),
    }
}

type Answer = Result<Reply, Reply>;

/// Our error as the spec's: 422 becomes 400, the stable code leads the description.
fn from_app(format: Format, e: AppError) -> Reply {
    let status = if e.status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        e.status
    };
    if status.is_server_error() {
        tracing::error!(code = e.code, "open311: {}", e.message);
    }
    err(format, status, format!("{}: {}", e.code, e.message))
}

/// Parameters from the query string and, for POST, the form body; the first non-empty value wins.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: Option<&str>, body: &[u8]) -> Params {
        let mut v: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().collect();
        v.extend(form_urlencoded::parse(body).into_owned());
        Params(v)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// `attribute[code]=v` and `attribute[code][]=v` (several for multiple choice).
    fn attributes(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("attribute[") else { continue };
            let code = rest.strip_suffix("][]").or_else(|| rest.strip_suffix(']'));
            if let Some(code) = code.filter(|c| !c.is_empty() && !c.contains(['[', ']'])) {
                out.entry(code.to_string()).or_default().push(v.clone());
            }
        }
        out
    }
}

fn split(file: &str) -> Result<(&str, Format), Reply> {
    Format::split(file).ok_or_else(|| err(Format::Json, StatusCode::NOT_FOUND, "unknown resource or format: use .xml or .json"))
}

/// A key given with the call: it must be live and within its rate.
async fn key_of(s: &Open311State, f: Format, params: &Params, required: bool) -> Result<Option<ApiKey>, Reply> {
    let Some(secret) = params.get("api_key") else {
        return if required {
            Err(err(f, StatusCode::FORBIDDEN, "api_key was not provided"))
        } else {
            Ok(None)
        };
    };
    let key = keys::find(&s.db, secret)
        .await
        .map_err(|e| from_app(f, e.into()))?
        .ok_or_else(|| err(f, StatusCode::FORBIDDEN, "api_key is invalid or revoked"))?;
    if !s.open311_limits.allow(key.id, key.per_minute, crate::db::now_ms()) {
        return Err(err(
            f,
            StatusCode::TOO_MANY_REQUESTS,
            format!("rate limit: at most {} requests per minute for this api_key", key.per_minute),
        ));
    }
    Ok(Some(key))
}

/// The district a call is about: `jurisdiction_id`, else the key's, else the only one served.
async fn jurisdiction(s: &Open311State, f: Format, params: &Params, key: Option<&ApiKey>) -> Result<String, Reply> {
    let served = store::districts(&s.db).await.map_err(|e| from_app(f, e.into()))?;
    match (params.get("jurisdiction_id"), key) {
        (Some(j), _) if !served.iter().any(|(c, _)| c == j) => Err(err(f, StatusCode::NOT_FOUND, format!("jurisdiction_id {j} not found"))),
        (Some(j), Some(k)) if k.district != j => Err(err(f, StatusCode::FORBIDDEN, "api_key is not valid for this jurisdiction_id")),
        (Some(j), _) => Ok(j.to_string()),
        (None, Some(k)) => Ok(k.district.clone()),
        (None, None) if served.len() == 1 => Ok(served[0].0.clone()),
        (None, None) => Err(err(f, StatusCode::BAD_REQUEST, "jurisdiction_id is required")),
    }
}

/// GET discovery, services and requests; the one-segment resources.
pub async fn get_root(State(s): State<Open311State>, Path(file): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let params = Params::parse(uri.query(), b"");
    let answer = match split(&file) {
        Err(e) => Err(e),
        Ok(("discovery", f)) => Ok(discovery(f, &headers)),
        Ok(("services", f)) => services(&s, f, &params).await,
        Ok(("requests", f)) => requests(&s, f, &params).await,
        Ok((_, f)) => Err(err(f, StatusCode::NOT_FOUND, "unknown resource")),
    };
    answer.unwrap_or_else(|e| e).into_response()
}

fn discovery(f: Format, headers: &HeaderMap) -> Reply {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    ok(
        f,
        "discovery",
        json!({
            "changeset": CHANGESET,
            "contact": "区社会治理指挥中心（共治平台）",
            "key_service": "接入密钥由区级管理员签发：控制台「接口密钥」页，或命令 gongzhi api-key add",
            "endpoints": [{
                "specification": SPECIFICATION,
                "url": format!("{scheme}://{host}/open311/v2"),
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }],
        }),
    )
}

fn limit_text(c: &CategoryRow) -> String {
    match c.limit() {
        Some(Limit::Hours(h)) => format!("处置时限{h}小时"),
        Some(Limit::WorkingDays(d)) => format!("处置时限{d}个工作日"),
        None => "处置时限5个工作日".into(),
    }
}

async fn services(s: &Open311State, f: Format, params: &Params) -> Answer {
    let key = key_of(s, f, params, false).await?;
    let district = jurisdiction(s, f, params, key.as_ref()).await?;
    let all = categories::list(&s.db, &district).await.map_err(|e| from_app(f, e.into()))?;
    let group = |parent: &Option<String>| {
        all.iter()
            .find(|r| Some(&r.code) == parent.as_ref())
            .map(|r| r.name.clone())
            .unwrap_or_default()
    };
    let items: Vec<Value> = all
        .iter()
        .filter(|c| c.is_leaf() && c.active)
        .map(|c| {
            let g = group(&c.parent_code);
            json!({
                "service_code": c.code,
                "service_name": c.name,
                "description": format!("{g} · {}，{}", c.name, limit_text(c)),
                "metadata": !c.fields().is_empty(),
                "type": "realtime",
                "keywords": format!("{g}, {}", c.name),
                "group": g,
            })
        })
        .collect();
    Ok(ok(f, "services", Value::Array(items)))
}

/// GET services/{service_code}: the service definition, with the category's questions.
pub async fn service_definition(State(s): State<Open311State>, Path(file): Path<String>, uri: Uri) -> Response {
    let params = Params::parse(uri.query(), b"");
    let answer: Answer = async {
        let (code, f) = split(&file)?;
        let key = key_of(&s, f, &params, false).await?;
        let district = jurisdiction(&s, f, &params, key.as_ref()).await?;
        let c = categories::get(&s.db, &district, code)
            .await
            .map_err(|e| from_app(f, e.into()))?
            .filter(|c| c.is_leaf() && c.active)
            .ok_or_else(|| err(f, StatusCode::NOT_FOUND, format!("service_code {code} not found")))?;
        let attributes: Vec<Value> = c
            .fields()
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let mut a = json!({
                    "variable": true,
                    "code": x.code,
                    "datatype": x.datatype,
                    "required": x.required,
                    "datatype_description": Value::Null,
                    "order": i + 1,
                    "description": x.description,
                });
                if !x.values.is_empty() {
                    a["values"] = x.values.iter().map(|v| json!({"key": v.key, "name": v.name})).collect();
                }
                a
            })
            .collect();
        Ok(ok(
            f,
            "service_definition",
            json!({"service_code": c.code, "attributes": attributes}),
        ))
    }
    .await;
    answer.unwrap_or_else(|e| e).into_response()
}

fn parse_time(f: Format, name: &str, v: &str) -> Result<i64, Reply> {
    v.parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).map_err(|_| {
        err(
            f,
            StatusCode::BAD_REQUEST,
            format!("{name} must be an ISO 8601 date-time with a UTC offset, e.g. 2026-11-24T09:30:00+08:00"),
        )
    })
}

fn comma_list(v: Option<&str>) -> Vec<String> {
    v.map(|x| x.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
        .unwrap_or_default()
}

async fn requests(s: &Open311State, f: Format, params: &Params) -> Answer {
    let key = key_of(s, f, params, false).await?;
    let district = jurisdiction(s, f, params, key.as_ref()).await?;
    let ids = comma_list(params.get("service_request_id"));
    if ids.len() > 100 {
        return Err(err(f, StatusCode::BAD_REQUEST, "at most 100 service_request_id at once"));
    }
    let ids = ids
        .iter()
        .map(|i| Uuid::parse_str(i))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| err(f, StatusCode::BAD_REQUEST, "service_request_id must be ids returned by this server"))?;
    let open = {
        let st = comma_list(params.get("status"));
        if st.iter().any(|x| x != "open" && x != "closed") {
            return Err(err(f, StatusCode::BAD_REQUEST, "status must be open or closed"));
        }
        match (st.iter().any(|x| x == "open"), st.iter().any(|x| x == "closed")) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    };
    let start = params.get("start_date").map(|v| parse_time(f, "start_date", v)).transpose()?;
    let end = params.get("end_date").map(|v| parse_time(f, "end_date", v)).transpose()?;
    let (start_ms, end_ms) = match (start, end) {
        (Some(a), Some(b)) => (a, b),
        (Some(a), None) => (a, a.saturating_add(DEFAULT_SPAN_MS)),
        (None, Some(b)) => (b.saturating_sub(DEFAULT_SPAN_MS), b),
        (None, None) => {
            let now = crate::db::now_ms();
            (now - DEFAULT_SPAN_MS, now)
        }
    };
    if end_ms < start_ms {
        return Err(err(f, StatusCode::BAD_REQUEST, "end_date is before start_date"));
    }
    // The pagination extension (page, page_size) that most GeoReport servers implement.
    let page_size = match params.get("page_size").map(str::parse::<i64>) {
        None => MAX_REQUESTS,
        Some(Ok(n)) if (1..=MAX_REQUESTS).contains(&n) => n,
        Some(_) => return Err(err(f, StatusCode::BAD_REQUEST, "page_size must be 1 to 1000")),
    };
    let page = match params.get("page").map(str::parse::<i64>) {
        None => 1,
        Some(Ok(n)) if (1..=1_000_000).contains(&n) => n,
        Some(_) => return Err(err(f, StatusCode::BAD_REQUEST, "page must be a positive number")),
    };
    let search = Search {
        district: district.clone(),
        root: key.map(|k| k.grid_code),
        ids,
        service_codes: comma_list(params.get("service_code")),
        open,
        start_ms,
        end_ms,
        limit: page_size,
        offset: (page - 1) * page_size,
    };
    let rows = store::search(&s.db, &search).await.map_err(|e| from_app(f, e.into()))?;
    let items = describe(s, &district, &rows).await.map_err(|e| from_app(f, e))?;
    Ok(ok(f, "service_requests", Value::Array(items)))
}

/// GET requests/{id}: one request, as a list of one (the spec).
pub async fn get_request(State(s): State<Open311State>, Path(file): Path<String>, uri: Uri) -> Response {
    let params = Params::parse(uri.query(), b"");
    let answer: Answer = async {
        let (id, f) = split(&file)?;
        let key = key_of(&s, f, &params, false).await?;
        let district = jurisdiction(&s, f, &params, key.as_ref()).await?;
        let not_found = || err(f, StatusCode::NOT_FOUND, format!("service_request_id {id} not found"));
        let id = Uuid::parse_str(id).map_err(|_| not_found())?;
        let c = crate::cases::store::get(&s.db, id)
            .await
            .map_err(|e| from_app(f, e.into()))?
            .filter(|c| c.district == district)
            .filter(|c| key.as_ref().is_none_or(|k| c.grid_code.starts_with(k.grid_code.as_str())))
            .ok_or_else(not_found)?;
        let items = describe(&s, &district, std::slice::from_ref(&c))
            .await
            .map_err(|e| from_app(f, e))?;
        Ok(ok(f, "service_requests", Value::Array(items)))
    }
    .await;
    answer.unwrap_or_else(|e| e).into_response()
}

/// GET tokens/{token}: the request a POST's token stands for.
pub async fn get_token(State(s): State<Open311State>, Path(file): Path<String>, uri: Uri) -> Response {
    let params = Params::parse(uri.query(), b"");
    let answer: Answer = async {
        let (token, f) = split(&file)?;
        let key = key_of(&s, f, &params, false).await?;
        let district = jurisdiction(&s, f, &params, key.as_ref()).await?;
        let id = store::by_token(&s.db, &district, token)
            .await
            .map_err(|e| from_app(f, e.into()))?
            .ok_or_else(|| err(f, StatusCode::NOT_FOUND, format!("token {token} not found")))?;
        Ok(ok(
            f,
            "service_requests",
            json!([{ "service_request_id": id.to_string(), "token": token }]),
        ))
    }
    .await;
    answer.unwrap_or_else(|e| e).into_response()
}

/// Cases as GeoReport requests. Nothing personal: no reporter, masked numbers, private
/// descriptions and media withheld.
async fn describe(s: &Open311State, district: &str, rows: &[CaseRow]) -> Result<Vec<Value>, AppError> {
    let cats: HashMap<String, String> = categories::list(&s.db, district)
        .await?
        .into_iter()
        .map(|c| (c.code, c.name))
        .collect();
    // The address is the grid's path below the district: street, community, compound, building.
    let mut codes: Vec<String> = rows
        .iter()
        .flat_map(|c| {
            (2..=5)
                .map(crate::grid::rules::code_len)
                .filter(|n| *n <= c.grid_code.len())
                .map(|n| c.grid_code[..n].to_string())
        })
        .collect();
    codes.sort();
    codes.dedup();
    let grid_names = store::grid_names(&s.db, &codes).await?;
    let mut unit_ids: Vec<Uuid> = rows.iter().filter_map(|c| c.unit_id).collect();
    unit_ids.sort();
    unit_ids.dedup();
    let units = store::unit_names(&s.db, &unit_ids).await?;
    let from_clients: Vec<Uuid> = rows.iter().filter(|c| c.source == "open311" && !c.private).map(|c| c.id).collect();
    let media = store::media_urls(&s.db, &from_clients).await?;
    let rfc = crate::time::rfc3339_ms;
    Ok(rows
        .iter()
        .map(|c| {
            let status = c.status();
            let address: Vec<&str> = (2..=5)
                .map(crate::grid::rules::code_len)
                .filter(|n| *n <= c.grid_code.len())
                .filter_map(|n| grid_names.get(&c.grid_code[..n]).map(String::as_str))
                .collect();
            let notes = match (c.merged_into, status) {
                (Some(m), _) => format!("已并入 {m} 一并处置"),
                (None, st) => st.label().to_string(),
            };
            json!({
                "service_request_id": c.id.to_string(),
                "status": if status.is_open() && c.merged_into.is_none() { "open" } else { "closed" },
                "status_notes": notes,
                "service_name": cats.get(&c.category_code).cloned().unwrap_or_default(),
                "service_code": c.category_code,
                "description": if c.private { Value::Null } else { Value::String(privacy::scrub(&c.description)) },
                "agency_responsible": c.unit_id.and_then(|u| units.get(&u).cloned()),
                "service_notice": Value::Null,
                "requested_datetime": rfc(c.reported_at),
                "updated_datetime": rfc(c.updated_at),
                "expected_datetime": rfc(c.due_at),
                "address": address.join(" "),
                "address_id": c.grid_code,
                "zipcode": Value::Null,
                "lat": c.lat,
                "long": c.lng,
                "media_url": media.get(&c.id),
                "extended_attributes": {
                    "workflow_status": status.as_str(),
                    "workflow_status_label": status.label(),
                    "grid_code": c.grid_code,
                    "private": c.private,
                },
            })
        })
        .collect())
}

/// POST requests: report a case. Fields from the form body or the query string; `api_key` required.
pub async fn post_requests(State(s): State<Open311State>, Path(file): Path<String>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let answer: Answer = async {
        let f = match split(&file)? {
            ("requests", f) => f,
            (_, f) => return Err(err(f, StatusCode::METHOD_NOT_ALLOWED, "only requests can be posted")),
        };
        let multipart = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/"));
        if multipart {
            return Err(err(
                f,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/x-www-form-urlencoded; give photos as media_url",
            ));
        }
        let params = Params::parse(uri.query(), &body);
        let key = key_of(&s, f, &params, true)
            .await?
            .ok_or_else(|| err(f, StatusCode::FORBIDDEN, "api_key was not provided"))?;
        jurisdiction(&s, f, &params, Some(&key)).await?;
        let code = params
            .get("service_code")
            .ok_or_else(|| err(f, StatusCode::BAD_REQUEST, "service_code was not provided"))?;
        let number = |name: &str| -> Result<Option<f64>, Reply> {
            params
                .get(name)
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| err(f, StatusCode::BAD_REQUEST, format!("{name} must be a number")))
                })
                .transpose()
        };
        let (lat, lng) = (number("lat")?, number("long")?);
        let address_string = params.get("address_string").unwrap_or("");
        // Our grid codes are the address ids (`grid_code` is accepted as a plainer name for it).
        let grid = params.get("address_id").or(params.get("grid_code"));
        let grid = match (lat, lng, grid) {
            (Some(_), Some(_), _) => None,
            (None, None, Some(g)) => Some(g.to_string()),
            // An address alone: the case goes to the key's grid, whose officers find the place.
            (None, None, None) if !address_string.is_empty() => Some(key.grid_code.clone()),
            (None, None, None) => {
                return Err(err(
                    f,
                    StatusCode::BAD_REQUEST,
                    "a location is required: lat and long, address_string or address_id",
                ));
            }
            _ => return Err(err(f, StatusCode::BAD_REQUEST, "lat and long must be given together")),
        };
        let media_url = params.get("media_url").unwrap_or("");
        if !media_url.is_empty() && (!(media_url.starts_with("http://") || media_url.starts_with("https://")) || media_url.len() > 2000) {
            return Err(err(
                f,
                StatusCode::BAD_REQUEST,
                "media_url must be an http(s) URL of at most 2000 characters",
            ));
        }
        let mut description = params.get("description").unwrap_or("").to_string();
        if !address_string.is_empty() {
            description = format!("{description}\n（地址：{address_string}）");
        }
        let clip = |name: &str, n: usize| params.get(name).unwrap_or("").chars().take(n).collect::<String>();
        let origin = Origin {
            token: crate::cases::store::tracking_code(),
            address_string: address_string.chars().take(500).collect(),
            address_id: clip("address_id", 64),
            media_url: media_url.to_string(),
            email: clip("email", 200),
            device_id: clip("device_id", 200),
            account_id: clip("account_id", 200),
        };
        let (first, last) = (params.get("first_name").unwrap_or(""), params.get("last_name").unwrap_or(""));
        let name = if first.is_ascii() && last.is_ascii() {
            format!("{first} {last}").trim().to_string()
        } else {
            format!("{last}{first}")
        };
        let input = NewCase {
            category: code.to_string(),
            description,
            lat,
            lng,
            grid,
            source: None,
            reported_at: None,
            attributes: Some(
                params
                    .attributes()
                    .into_iter()
                    .map(|(k, v)| (k, AttributeAnswer::Many(v)))
                    .collect(),
            ),
            private: None,
        };
        let idem = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128)
            .map(|v| format!("o311:{}:{v}", key.id));
        let keep = store::KeepOrigin {
            key_id: key.id,
            origin: &origin,
        };
        let who = Reporter::Client {
            key_name: &key.name,
            district: &key.district,
            scope: &key.grid_code,
            name: &name,
            phone: params.get("phone").unwrap_or(""),
            on_reported: &keep,
        };
        let (case, _replayed) = submit(&s.cases, who, &input, idem.as_deref()).await.map_err(|e| match e.code {
            // submit looks the category up once; in Open311 terms an unknown one is "not found".
            "unknown_category" => err(f, StatusCode::NOT_FOUND, format!("service_code {code} not found")),
            _ => from_app(f, e),
        })?;
        // The console shows a key's last use to the minute: no write per request for it.
        let now = crate::db::now_ms();
        if key.last_used_at.is_none_or(|t| now - t > 60_000)
            && let Err(e) = keys::touch(&s.db, key.id).await
        {
            tracing::warn!("open311: could not note the key's use: {e}");
        }
        let token = store::token_of(&s.db, case.id)
            .await
            .map_err(|e| from_app(f, e.into()))?
            .unwrap_or(origin.token);
        let notice = format!("已收到，等待网格核实立案；处置期限 {}。", crate::time::format_ms(case.due_at));
        Ok(ok(
            f,
            "service_requests",
            json!([{
                "service_request_id": case.id.to_string(),
                "token": token,
                "service_notice": notice,
                "account_id": Value::Null,
            }]),
        ))
    }
    .await;
    answer.unwrap_or_else(|e| e).into_response()
}
