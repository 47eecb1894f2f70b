//! The GeoReport v2 endpoints under /open311/v2: discovery, services, requests (search, one, POST),
//! tokens; the methods each answers, and the spec's error list for everything else under it.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::Open311State;
use super::form::{self, Params};
use super::format::{self, Format};
use super::privacy;
use super::store::{self, Origin, Search};
use crate::apikeys::{self as keys, ApiKey, Caller};
use crate::cases::attributes::check_answers;
use crate::cases::categories::{CategoryRow, Limit};
use crate::cases::service::{AttributeAnswer, NewCase, Reporter, submit};
use crate::cases::store::CaseRow;
use crate::cases::workflow::Status;
use crate::error::AppError;

/// The version of this interface, as the discovery document's `changeset` gives it.
pub const CHANGESET: &str = "2026-11-24T00:00:00+08:00";
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// Requests a search returns at most, and the span it covers unless told otherwise (the spec).
pub const MAX_REQUESTS: i64 = 1000;
pub const DEFAULT_SPAN_MS: i64 = 90 * 24 * 3_600_000;

/// An answer: a body in the asked format, or the spec's error list in it; with `Allow` or
/// `Retry-After` when it needs them.
pub struct Reply {
    status: StatusCode,
    format: Format,
    root: &'static str,
    body: Body,
    headers: Vec<(HeaderName, HeaderValue)>,
}

/// What an answer holds: a tree to render in its format, or a body already rendered (a kept
/// search answer) with its `ETag`.
enum Body {
    Tree(Value),
    Rendered(Box<(Bytes, Arc<str>)>),
}

impl Reply {
    fn with_header(mut self, name: HeaderName, value: impl ToString) -> Reply {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            self.headers.push((name, v));
        }
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let content_type = [(header::CONTENT_TYPE, self.format.content_type())];
        let mut r = match self.body {
            Body::Rendered(rendered) => {
                let (body, tag) = *rendered;
                let mut r = (self.status, content_type, body).into_response();
                if let Ok(v) = HeaderValue::from_str(&tag) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
            Body::Tree(tree) => (self.status, content_type, format::render(self.format, self.root, &tree)).into_response(),
        };
        r.headers_mut().extend(self.headers);
        r
    }
}

fn ok(format: Format, root: &'static str, body: Value) -> Reply {
    Reply {
        status: StatusCode::OK,
        format,
        root,
        body: Body::Tree(body),
        headers: Vec::new(),
    }
}

fn err(format: Format, status: StatusCode, description: impl AsRef<str>) -> Reply {
    errs(format, status, vec![(status, description.as_ref().to_string())])
}

/// Several errors in one answer (the spec's list has room for them all).
fn errs(format: Format, status: StatusCode, list: Vec<(StatusCode, String)>) -> Reply {
    Reply {
        status,
        format,
        root: "errors",
        body: Body::Tree(format::error_list(list.iter().map(|(s, d)| (s.as_u16(), d.as_str())))),
        headers: Vec::new(),
    }
}

type Answer = Result<Reply, Reply>;

/// Our error as the spec's: 422 becomes 400, the stable code leads the description.
fn spec_error(e: AppError) -> (StatusCode, String) {
    let status = if e.status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        e.status
    };
    if status.is_server_error() {
        tracing::error!(code = e.code, "open311: {}", e.message);
    }
    (status, format!("{}: {}", e.code, e.message))
}

fn from_app(format: Format, e: AppError) -> Reply {
    let (status, description) = spec_error(e);
    err(format, status, description)
}

fn split(file: &str) -> Result<(&str, Format), Reply> {
    Format::split(file).ok_or_else(|| err(Format::Json, StatusCode::NOT_FOUND, "unknown resource or format: use .xml or .json"))
}

/// The format an answer about `path` is in: XML when it ends in `.xml`, else JSON.
fn format_of(path: &str) -> Format {
    if path.ends_with(".xml") { Format::Xml } else { Format::Json }
}

fn params(f: Format, query: Option<&str>, body: &[u8]) -> Result<Params, Reply> {
    Params::parse(query, body).map_err(|_| {
        err(
            f,
            StatusCode::BAD_REQUEST,
            "the query string and form body must be UTF-8 (percent-encoded); this text is not",
        )
    })
}

/// The client's address, as [`keys::client_address`] reads it from the connection.
pub struct ClientAddress(IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(ClientAddress(keys::client_address(peer, forwarded)))
    }
}

/// One more call by `caller`, or 429 with `Retry-After`.
fn within_rate(s: &Open311State, f: Format, caller: Caller, per_minute: i64, what: &str) -> Result<(), Reply> {
    s.open311_limits.allow(caller, per_minute, crate::db::now_ms()).map_err(|seconds| {
        err(
            f,
            StatusCode::TOO_MANY_REQUESTS,
            format!("rate limit: at most {per_minute} requests per minute {what}; retry after {seconds} s"),
        )
        .with_header(header::RETRY_AFTER, seconds)
    })
}

/// A key given with the call: it must be live and within its rate. Reads take it from the
/// lookups kept a few seconds (`services.json` asks the database nothing); a write (`fresh`)
/// reads it from the database, so a key revoked by any process stops writing at once.
async fn key_of(s: &Open311State, f: Format, params: &Params, fresh: bool) -> Result<Option<ApiKey>, Reply> {
    let Some(secret) = params.get("api_key") else {
        return Ok(None);
    };
    let found = match fresh {
        true => keys::find(&s.db, secret).await,
        false => s.lookups.key(&s.db, secret).await,
    };
    let key = found
        .map_err(|e| from_app(f, e.into()))?
        .ok_or_else(|| err(f, StatusCode::FORBIDDEN, "api_key is invalid or revoked"))?;
    within_rate(s, f, Caller::Key(key.id), key.per_minute, "for this api_key")?;
    Ok(Some(key))
}

/// A read: with a key, the key's rate; without one, the client address's.
async fn reader(s: &Open311State, f: Format, params: &Params, client: IpAddr) -> Result<Option<ApiKey>, Reply> {
    let key = key_of(s, f, params, false).await?;
    if key.is_none() {
        within_rate(
            s,
            f,
            Caller::Address(client),
            keys::ANONYMOUS_PER_MINUTE,
            "from one address without an api_key",
        )?;
    }
    Ok(key)
}

/// The district a call is about: `jurisdiction_id`, else the key's, else the only one served.
async fn jurisdiction(s: &Open311State, f: Format, params: &Params, key: Option<&ApiKey>) -> Result<String, Reply> {
    let served = s.lookups.districts(&s.db).await.map_err(|e| from_app(f, e.into()))?;
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
pub async fn get_root(State(s): State<Open311State>, Path(file): Path<String>, ClientAddress(client): ClientAddress, uri: Uri) -> Response {
    let answer: Answer = async {
        let (name, f) = split(&file)?;
        let params = params(f, uri.query(), b"")?;
        match name {
            "discovery" => {
                reader(&s, f, &params, client).await?;
                Ok(discovery(&s, f))
            }
            "services" => services(&s, f, &params, client).await,
            "requests" => requests(&s, f, &params, client).await,
            _ => Err(err(f, StatusCode::NOT_FOUND, "unknown resource")),
        }
    }
    .await;
    answer.unwrap_or_else(|e| e).into_response()
}

/// The endpoint's address is the configured public URL (`public_url`), never the `Host` a
/// caller sent: a discovery document is cached and passed on, and must not point elsewhere.
fn discovery(s: &Open311State, f: Format) -> Reply {
    ok(
        f,
        "discovery",
        json!({
            "changeset": CHANGESET,
            "contact": "区社会治理指挥中心（共治平台）",
            "key_service": "接入密钥由区级管理员签发：控制台「接口密钥」页，或命令 gongzhi api-key add",
            "endpoints": [{
                "specification": SPECIFICATION,
                "url": format!("{}/open311/v2", s.public_url.trim_end_matches('/')),
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

async fn services(s: &Open311State, f: Format, params: &Params, client: IpAddr) -> Answer {
    let key = reader(s, f, params, client).await?;
    let district = jurisdiction(s, f, params, key.as_ref()).await?;
    let all = s.cases.categories.list(&s.db, &district).await.map_err(|e| from_app(f, e.into()))?;
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
pub async fn service_definition(
    State(s): State<Open311State>,
    Path(file): Path<String>,
    ClientAddress(client): ClientAddress,
    uri: Uri,
) -> Response {
    let answer: Answer = async {
        let (code, f) = split(&file)?;
        let params = params(f, uri.query(), b"")?;
        let key = reader(&s, f, &params, client).await?;
        let district = jurisdiction(&s, f, &params, key.as_ref()).await?;
        let c = s
            .cases
            .categories
            .get(&s.db, &district, code)
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

async fn requests(s: &Open311State, f: Format, params: &Params, client: IpAddr) -> Answer {
    let key = reader(s, f, params, client).await?;
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
        // A key for the whole district filters nothing (and would steer the planner to the grid index).
        root: key.map(|k| k.grid_code).filter(|g| *g != district),
        ids,
        service_codes: comma_list(params.get("service_code")),
        open,
        start_ms,
        end_ms,
        limit: page_size,
        offset: (page - 1) * page_size,
    };
    // Clients poll the same search: the rendered answer is kept until a case changes. The
    // default window moves with the clock, so it is keyed as "the default", not by its bounds.
    let window = (start, end) != (None, None);
    let asked = format!(
        "{f:?} {} {:?} {:?} {:?} {:?} {:?} {} {}",
        search.district,
        search.root,
        search.ids,
        search.service_codes,
        search.open,
        window.then_some((search.start_ms, search.end_ms)),
        search.limit,
        search.offset
    );
    let changes = s.cases.feed.changes();
    if let Some(kept) = s.answers.get(&asked, changes) {
        return Ok(rendered(f, kept));
    }
    let rows = store::search(&s.db, &search).await.map_err(|e| from_app(f, e.into()))?;
    let names = names(s, &district, &rows).await.map_err(|e| from_app(f, e))?;
    let body = Bytes::from(requests_body(f, &describe(&rows, &names)).map_err(|e| from_app(f, e))?);
    let tag: Arc<str> = crate::web::etag::tag_of(&body).into();
    s.answers.put(asked, changes, body.clone(), tag.clone());
    Ok(rendered(f, (body, tag)))
}

/// Requests already rendered (a search, kept or just built; one request), with their tag.
fn rendered(format: Format, answer: (Bytes, Arc<str>)) -> Reply {
    Reply {
        body: Body::Rendered(Box::new(answer)),
        ..ok(format, "service_requests", Value::Null)
    }
}

/// GET requests/{id}: one request, as a list of one (the spec).
pub async fn get_request(
    State(s): State<Open311State>,
    Path(file): Path<String>,
    ClientAddress(client): ClientAddress,
    uri: Uri,
) -> Response {
    let answer: Answer = async {
        let (id, f) = split(&file)?;
        let params = params(f, uri.query(), b"")?;
        let key = reader(&s, f, &params, client).await?;
        let district = jurisdiction(&s, f, &params, key.as_ref()).await?;
        let not_found = || err(f, StatusCode::NOT_FOUND, format!("service_request_id {id} not found"));
        let id = Uuid::parse_str(id).map_err(|_| not_found())?;
        let c = crate::cases::store::get(&s.db, id)
            .await
            .map_err(|e| from_app(f, e.into()))?
            .filter(|c| c.district == district)
            .filter(|c| key.as_ref().is_none_or(|k| c.grid_code.starts_with(k.grid_code.as_str())))
            .ok_or_else(not_found)?;
        let rows = std::slice::from_ref(&c);
        let names = names(&s, &district, rows).await.map_err(|e| from_app(f, e))?;
        let body = requests_body(f, &describe(rows, &names)).map_err(|e| from_app(f, e))?;
        let tag: Arc<str> = crate::web::etag::tag_of(&body).into();
        Ok(rendered(f, (Bytes::from(body), tag)))
    }
    .await;
    answer.unwrap_or_else(|e| e).into_response()
}

/// GET tokens/{token}: the request a POST's token stands for.
pub async fn get_token(
    State(s): State<Open311State>,
    Path(file): Path<String>,
    ClientAddress(client): ClientAddress,
    uri: Uri,
) -> Response {
    let answer: Answer = async {
        let (token, f) = split(&file)?;
        let params = params(f, uri.query(), b"")?;
        let key = reader(&s, f, &params, client).await?;
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

/// What describing requests looks up: service names, grid names, agencies, what clients sent.
struct Names {
    services: HashMap<String, String>,
    grids: HashMap<String, String>,
    units: HashMap<Uuid, String>,
    served: HashMap<Uuid, store::Served>,
}

/// The names the requests of `rows` need, a query per kind for all of them.
async fn names(s: &Open311State, district: &str, rows: &[CaseRow]) -> Result<Names, AppError> {
    let all = s.cases.categories.list(&s.db, district).await?;
    let services = all.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
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
    let grids = store::grid_names(&s.db, &codes).await?;
    let mut unit_ids: Vec<Uuid> = rows.iter().filter_map(|c| c.unit_id).collect();
    unit_ids.sort();
    unit_ids.dedup();
    let units = store::unit_names(&s.db, &unit_ids).await?;
    let from_clients: Vec<Uuid> = rows.iter().filter(|c| c.source == "open311" && !c.private).map(|c| c.id).collect();
    let served = store::served(&s.db, &from_clients).await?;
    Ok(Names {
        services,
        grids,
        units,
        served,
    })
}

/// One request as GeoReport gives it (the spec's field order), borrowing from its case and the
/// looked-up names: serialised straight into the answer, without a JSON tree per request.
#[derive(serde::Serialize)]
struct RequestOut<'a> {
    service_request_id: String,
    status: &'static str,
    status_notes: String,
    service_name: &'a str,
    service_code: &'a str,
    description: Option<String>,
    agency_responsible: Option<&'a str>,
    service_notice: Option<()>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: String,
    address: Option<String>,
    address_id: &'a str,
    zipcode: Option<()>,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: Option<String>,
    extended_attributes: Extended<'a>,
}

#[derive(serde::Serialize)]
struct Extended<'a> {
    workflow_status: &'static str,
    workflow_status_label: &'static str,
    grid_code: &'a str,
    private: bool,
}

/// Cases as GeoReport requests. Nothing personal: no reporter, masked numbers; a private case's
/// description, address and media withheld and its place no finer than a community and a
/// hundredth of a degree.
fn describe<'a>(rows: &'a [CaseRow], names: &'a Names) -> Vec<RequestOut<'a>> {
    let none = store::Served::default();
    let rfc = crate::time::rfc3339_ms;
    rows.iter()
        .map(|c| {
            let status = c.status();
            let sent = names.served.get(&c.id).unwrap_or(&none);
            let notes = match (c.merged_into, status) {
                (Some(m), _) => format!("已并入 {m} 一并处置"),
                (None, st) => st.label().to_string(),
            };
            // A rating after closing changes the row, not the request: it was updated when closed.
            let updated = match (status, c.closed_at) {
                (Status::Closed, Some(at)) => at,
                _ => c.updated_at,
            };
            let (description, address, media, lat, lng, grid) = if c.private {
                let coarse = |x: Option<f64>| x.map(privacy::coarse);
                (None, None, None, coarse(c.lat), coarse(c.lng), privacy::coarse_grid(&c.grid_code))
            } else {
                let description = match c.source.as_str() {
                    "open311" => form::client_description(&c.description, &sent.address_string),
                    _ => Some(c.description.as_str()),
                };
                let address = match sent.address_string.as_str() {
                    "" => {
                        let path: Vec<&str> = (2..=5)
                            .map(crate::grid::rules::code_len)
                            .filter(|n| *n <= c.grid_code.len())
                            .filter_map(|n| names.grids.get(&c.grid_code[..n]).map(String::as_str))
                            .collect();
                        path.join(" ")
                    }
                    a => privacy::scrub(a),
                };
                // Checked again on the way out: what was kept before the check was strict may not pass.
                let media = Some(&sent.media_url)
                    .filter(|m| !m.is_empty())
                    .and_then(|m| form::media_url(m).ok());
                (
                    description.map(privacy::scrub),
                    Some(address),
                    media,
                    c.lat,
                    c.lng,
                    c.grid_code.as_str(),
                )
            };
            RequestOut {
                service_request_id: c.id.to_string(),
                status: if status.is_open() && c.merged_into.is_none() {
                    "open"
                } else {
                    "closed"
                },
                status_notes: notes,
                service_name: names.services.get(&c.category_code).map(String::as_str).unwrap_or_default(),
                service_code: &c.category_code,
                description,
                agency_responsible: c.unit_id.and_then(|u| names.units.get(&u)).map(String::as_str),
                service_notice: None,
                requested_datetime: rfc(c.reported_at),
                updated_datetime: rfc(updated),
                expected_datetime: rfc(c.due_at),
                address,
                address_id: grid,
                zipcode: None,
                lat,
                long: lng,
                media_url: media,
                extended_attributes: Extended {
                    workflow_status: status.as_str(),
                    workflow_status_label: status.label(),
                    grid_code: grid,
                    private: c.private,
                },
            }
        })
        .collect()
}

/// Requests as an answer's body: JSON written straight from them; XML through the one renderer.
fn requests_body(format: Format, items: &[RequestOut<'_>]) -> Result<Vec<u8>, AppError> {
    match format {
        Format::Json => serde_json::to_vec(items).map_err(|_| AppError::internal()),
        Format::Xml => {
            let tree = serde_json::to_value(items).map_err(|_| AppError::internal())?;
            Ok(format::render(format, "service_requests", &tree).into_bytes())
        }
    }
}

/// The methods a resource under /open311/v2 answers (`path` with or without that prefix): only
/// `requests` takes POST.
fn allowed(path: &str) -> &'static str {
    let file = path.strip_prefix("/open311/v2").unwrap_or(path);
    match file.strip_prefix('/').and_then(Format::split) {
        Some(("requests", _)) => "GET, HEAD, POST, OPTIONS",
        _ => "GET, HEAD, OPTIONS",
    }
}

fn method_not_allowed(path: &str) -> Reply {
    let allow = allowed(path);
    err(
        format_of(path),
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed here; this resource answers {allow}"),
    )
    .with_header(header::ALLOW, allow)
}

/// OPTIONS: what the resource answers, POST only where POST is taken.
pub async fn options(uri: Uri) -> Response {
    (StatusCode::NO_CONTENT, [(header::ALLOW, allowed(uri.path()))]).into_response()
}

/// Any other method: 405 with `Allow`, as the spec's error list.
pub async fn not_allowed(uri: Uri) -> Response {
    method_not_allowed(uri.path()).into_response()
}

/// Anything else under /open311/v2: the spec's error list (XML for a `.xml` path), not a page.
pub async fn unknown(uri: Uri) -> Response {
    err(
        format_of(uri.path()),
        StatusCode::NOT_FOUND,
        "unknown resource: discovery, services, services/{service_code}, requests, requests/{id} and tokens/{token}, each .json or .xml",
    )
    .into_response()
}

/// A POST's fields, checked together so that every mistake is named in one answer.
struct Checked {
    category: String,
    lat: Option<f64>,
    lng: Option<f64>,
    grid: Option<String>,
    description: String,
    address_string: String,
    media_url: String,
}

async fn check_post(s: &Open311State, key: &ApiKey, district: &str, params: &Params) -> Result<Checked, Vec<(StatusCode, String)>> {
    let mut errors: Vec<(StatusCode, String)> = Vec::new();
    let bad = StatusCode::BAD_REQUEST;
    let category: Option<CategoryRow> = match params.get("service_code") {
        None => {
            errors.push((bad, "service_code was not provided".into()));
            None
        }
        Some(code) => {
            let found = s
                .cases
                .categories
                .get(&s.db, district, code)
                .await
                .map_err(|e| vec![spec_error(e.into())])?
                .filter(|c| c.is_leaf() && c.active);
            if found.is_none() {
                errors.push((StatusCode::NOT_FOUND, format!("service_code {code} not found")));
            }
            found
        }
    };
    let mut number = |name: &str| match params.get(name).map(str::parse::<f64>) {
        None => Ok(None),
        Some(Ok(x)) if x.is_finite() => Ok(Some(x)),
        Some(_) => {
            errors.push((bad, format!("{name} must be a number")));
            Err(())
        }
    };
    let (lat, lng) = (number("lat"), number("long"));
    let address_string = params.get("address_string").unwrap_or("");
    if address_string.chars().count() > form::ADDRESS_MAX {
        errors.push((bad, format!("address_string may be at most {} characters", form::ADDRESS_MAX)));
    }
    // Our grid codes are the address ids (`grid_code` is accepted as a plainer name for it).
    let grid = params.get("address_id").or(params.get("grid_code"));
    let grid = match (lat, lng, grid) {
        (Ok(Some(_)), Ok(Some(_)), _) => None,
        (Ok(None), Ok(None), Some(g)) => Some(g.to_string()),
        // An address alone: the case goes to the key's grid, whose officers find the place.
        (Ok(None), Ok(None), None) if !address_string.is_empty() => Some(key.grid_code.clone()),
        (Ok(None), Ok(None), None) => {
            errors.push((bad, "a location is required: lat and long, address_string or address_id".into()));
            None
        }
        (Ok(_), Ok(_), _) => {
            errors.push((bad, "lat and long must be given together".into()));
            None
        }
        _ => None,
    };
    // Empty counts as absent (Params::get); the length is the client's text alone, before the
    // address line is added.
    let description = params.get("description");
    if description.is_some_and(|d| d.chars().count() > form::DESCRIPTION_MAX) {
        errors.push((bad, format!("description may be at most {} characters", form::DESCRIPTION_MAX)));
    }
    let media_url = match params.get("media_url").map(form::media_url) {
        None => String::new(),
        Some(Ok(url)) => url,
        Some(Err(why)) => {
            errors.push((bad, why.to_string()));
            String::new()
        }
    };
    // Each question on its own, so that every unanswered or wrong one is named.
    if let Some(c) = &category {
        let fields = c.fields();
        let answers = params.attributes();
        for (code, given) in &answers {
            if !fields.iter().any(|f| &f.code == code) {
                let one = BTreeMap::from([(code.clone(), given.clone())]);
                errors.extend(check_answers(&[], &one).err().map(spec_error));
            }
        }
        for field in &fields {
            let one: BTreeMap<String, Vec<String>> = answers
                .get(&field.code)
                .map(|v| (field.code.clone(), v.clone()))
                .into_iter()
                .collect();
            errors.extend(check_answers(std::slice::from_ref(field), &one).err().map(spec_error));
        }
    }
    match category {
        Some(c) if errors.is_empty() => Ok(Checked {
            category: c.code,
            lat: lat.ok().flatten(),
            lng: lng.ok().flatten(),
            grid,
            description: form::case_description(description, address_string),
            address_string: address_string.to_string(),
            media_url,
        }),
        _ => Err(errors),
    }
}

/// POST requests: report a case. Fields from the form body or the query string; `api_key` required.
pub async fn post_requests(State(s): State<Open311State>, Path(file): Path<String>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let answer: Answer = async {
        let f = match split(&file)? {
            ("requests", f) => f,
            _ => return Err(method_not_allowed(uri.path())),
        };
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if let Some(why) = form::refuse_encoding(content_type, &body) {
            return Err(err(f, StatusCode::UNSUPPORTED_MEDIA_TYPE, why));
        }
        let params = params(f, uri.query(), &body)?;
        let key = key_of(&s, f, &params, true)
            .await?
            .ok_or_else(|| err(f, StatusCode::FORBIDDEN, "api_key was not provided"))?;
        let district = jurisdiction(&s, f, &params, Some(&key)).await?;
        let checked = check_post(&s, &key, &district, &params).await.map_err(|list| {
            let status = if list.iter().all(|(st, _)| *st == StatusCode::NOT_FOUND) {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::BAD_REQUEST
            };
            errs(f, status, list)
        })?;
        let clip = |name: &str, n: usize| params.get(name).unwrap_or("").chars().take(n).collect::<String>();
        let origin = Origin {
            token: crate::cases::store::tracking_code(),
            address_string: checked.address_string.clone(),
            address_id: clip("address_id", 64),
            media_url: checked.media_url.clone(),
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
            category: checked.category.clone(),
            description: checked.description,
            lat: checked.lat,
            lng: checked.lng,
            grid: checked.grid,
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
            // Checked above; a category retired in between is, in Open311 terms, "not found".
            "unknown_category" => err(f, StatusCode::NOT_FOUND, format!("service_code {} not found", checked.category)),
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
