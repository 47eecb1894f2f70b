//! Device alarm API: gateways post alarms and heartbeats with an API key; staff read the overview
//! (recent alarms, offline devices, counts); the district reads and edits the settings.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query as AxumQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AlarmsState;
use super::rules;
use super::service::{self, CounterView, OfflineDevice, Received, Settings, Via};
use super::store;
use crate::apikeys::{self, ApiKey, Caller};
use crate::auth::Principal;
use crate::db::now_ms;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::extract::{Json, Path, Query};

pub fn routes() -> Router<AlarmsState> {
    Router::new()
        .route("/api/v1/devices/{serial}/alarms", post(post_alarm))
        .route("/api/v1/devices/{serial}/heartbeat", post(post_heartbeat))
        .route("/api/v1/alarms", get(overview))
        .route("/api/v1/alarms/settings", get(get_settings).put(put_settings))
}

#[derive(Deserialize)]
pub struct KeyQuery {
    api_key: Option<String>,
}

/// The gateway's key (`X-Api-Key`, or `api_key` in the query as Open311 takes it): live, within
/// its rate. 401 without one or with a wrong one; 429 over the rate.
async fn gateway(s: &AlarmsState, headers: &HeaderMap, q: &KeyQuery) -> AppResult<ApiKey> {
    let secret = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.api_key.clone())
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "api_key_required", "请在 X-Api-Key 中提供接入密钥"))?;
    let key = apikeys::find(&s.db, &secret)
        .await?
        .ok_or_else(|| AppError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "接入密钥无效或已停用"))?;
    if let Err(wait) = s.limits.allow(Caller::Key(key.id), key.per_minute, now_ms()) {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("请求过于频繁，请{wait}秒后再试"),
        ));
    }
    Ok(key)
}

/// The serial in the path, normalised; the device, which must lie in the key's grid subtree.
async fn device_in_scope(s: &AlarmsState, key: &ApiKey, serial: &str) -> AppResult<String> {
    let serial =
        rules::normalise_serial(serial).ok_or_else(|| AppError::invalid("invalid_serial", "设备编号应为1至64位字母、数字或 - _ . :"))?;
    if let Some(d) = store::device(&s.db, &key.district, &serial).await?
        && !d.grid_code.starts_with(&key.grid_code)
    {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "outside_key_scope",
            "该设备不在此接入密钥的网格范围内",
        ));
    }
    Ok(serial)
}

#[utoipa::path(post, path = "/api/v1/devices/{serial}/alarms", tag = "alarms",
    params(("serial" = String, Path, description = "the device's serial"), ("api_key" = Option<String>, Query, description = "or the X-Api-Key header")),
    request_body(content = String, description = "JSON: {\"kind\": \"smoke\", \"at\": \"2026-11-26T09:30:00+08:00\", \"detail\": \"…\", \"level\": 1..3}", content_type = "application/json"),
    responses((status = 201, body = Received, description = "stored (a case opened or added to, or kept without one)"),
        (status = 200, body = Received, description = "the same alarm again: stored once"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "unknown serial (stored and counted)"),
        (status = 422, body = ErrorBody, description = "malformed payload (stored and counted)"), (status = 429, body = ErrorBody)))]
pub async fn post_alarm(
    State(s): State<AlarmsState>,
    Path(serial): Path<String>,
    AxumQuery(q): AxumQuery<KeyQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let key = gateway(&s, &headers, &q).await?;
    let serial = device_in_scope(&s, &key, &serial).await?;
    if body.len() > rules::MAX_PAYLOAD {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "告警内容不超过8KB",
        ));
    }
    let r = service::receive(&s, &key.district, &serial, &body, Via::Http).await?;
    match r.outcome.as_str() {
        "unknown_device" => Err(AppError::new(
            StatusCode::NOT_FOUND,
            "unknown_device",
            "设备编号未登记（告警已记录）",
        )),
        "malformed" => Err(AppError::invalid(
            "invalid_alarm",
            format!("告警格式不正确（{}；告警已记录）", r.why),
        )),
        _ => {
            let status = if r.redelivered { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, Json(r)).into_response())
        }
    }
}

#[utoipa::path(post, path = "/api/v1/devices/{serial}/heartbeat", tag = "alarms",
    params(("serial" = String, Path, description = "the device's serial"), ("api_key" = Option<String>, Query, description = "or the X-Api-Key header")),
    responses((status = 204, description = "noted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn post_heartbeat(
    State(s): State<AlarmsState>,
    Path(serial): Path<String>,
    AxumQuery(q): AxumQuery<KeyQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = gateway(&s, &headers, &q).await?;
    let serial = device_in_scope(&s, &key, &serial).await?;
    if !service::heartbeat(&s, &key.district, &serial).await? {
        return Err(AppError::new(StatusCode::NOT_FOUND, "unknown_device", "设备编号未登记"));
    }
    Ok((StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "no-store")]).into_response())
}

/// One alarm as the API lists it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Alarm {
    pub id: Uuid,
    pub serial: String,
    pub device: Option<String>,
    pub grid: Option<String>,
    pub kind: String,
    pub level: Option<i64>,
    /// RFC 3339: when the device says it happened.
    pub at: String,
    pub detail: String,
    pub received_at: String,
    /// mqtt | http | demo
    pub via: String,
    pub case_id: Option<Uuid>,
    pub tracking_code: Option<String>,
    pub outcome: String,
    pub outcome_label: &'static str,
    pub why: String,
}

pub fn alarm_view(r: store::AlarmRow) -> Alarm {
    Alarm {
        id: r.id,
        serial: r.serial,
        device: r.device_name,
        grid: r.grid_code,
        kind: r.kind,
        level: r.level,
        at: rfc3339_ms(r.at_ms),
        detail: r.detail,
        received_at: rfc3339_ms(r.received_at),
        via: r.via,
        case_id: r.case_id,
        tracking_code: r.tracking_code,
        outcome_label: rules::outcome_label(&r.outcome),
        outcome: r.outcome,
        why: r.why,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub grid: String,
    pub alarms: Vec<Alarm>,
    /// Alarms per outcome over the last 30 days (unknown serials and malformed payloads of no
    /// known device: district-wide).
    pub last_30_days: std::collections::BTreeMap<String, i64>,
    pub devices: i64,
    /// Devices never heard (未接入).
    pub never_heard: i64,
    pub offline: Vec<OfflineDevice>,
    /// This server process since it started.
    pub counters: CounterView,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct OverviewQuery {
    /// A grid code in the caller's reach (default: their widest).
    pub grid: Option<String>,
    /// Alarms listed, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/alarms", tag = "alarms", params(OverviewQuery),
    responses((status = 200, body = Overview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn overview(State(s): State<AlarmsState>, p: Principal, Query(q): Query<OverviewQuery>) -> AppResult<Json<Overview>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("invalid_limit", "limit 应为1至200"));
    }
    Ok(Json(overview_of(&s, &p, q.grid.as_deref(), limit).await?))
}

pub async fn overview_of(s: &AlarmsState, p: &Principal, grid: Option<&str>, limit: i64) -> AppResult<Overview> {
    let root = service::root_of(p, grid)?;
    let now = now_ms();
    let alarms = store::recent(&s.db, &p.district, &root, limit)
        .await?
        .into_iter()
        .map(alarm_view)
        .collect();
    let last_30_days = store::counts(&s.db, &p.district, &root, now - 30 * 86_400_000)
        .await?
        .into_iter()
        .collect();
    let (devices, never_heard) = store::device_counts(&s.db, &p.district, &root).await?;
    let offline = service::offline(s, &p.district, &root, now, 200).await?;
    Ok(Overview {
        grid: root,
        alarms,
        last_30_days,
        devices,
        never_heard,
        offline,
        counters: s.counters.view(),
    })
}

#[utoipa::path(get, path = "/api/v1/alarms/settings", tag = "alarms",
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_settings(State(s): State<AlarmsState>, p: Principal) -> AppResult<Json<Settings>> {
    service::root_of(&p, None)?;
    Ok(Json(service::settings(&s, &p.district).await?))
}

#[utoipa::path(put, path = "/api/v1/alarms/settings", tag = "alarms", request_body = Settings,
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn put_settings(State(s): State<AlarmsState>, p: Principal, Json(new): Json<Settings>) -> AppResult<Json<Settings>> {
    Ok(Json(service::save_settings(&s, &p, &new).await?))
}
