//! Device alarm pages: `/console/alarms` (recent alarms, offline devices, refused messages) for
//! grid staff, and `/console/alarms/settings` where the district maps kinds to categories.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde::Deserialize;

use super::AlarmsState;
use super::api::overview_of;
use super::rules;
use super::service::{self, KindSetting, PeriodSetting, Settings};
use crate::auth::Role;
use crate::db::now_ms;
use crate::time::{format_ms, when_ms};
use crate::web::extract::Query;
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<AlarmsState> {
    Router::new()
        .route("/console/alarms", get(overview_page))
        .route("/console/alarms/settings", get(settings_page).post(save))
}

#[derive(Deserialize, Default)]
struct PageQuery {
    grid: Option<String>,
    msg: Option<String>,
    err: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

/// One alarm line, in China time.
struct AlarmLine {
    when: String,
    device: String,
    kind: String,
    level: String,
    detail: String,
    outcome: &'static str,
    /// The case's id and tracking code ("" when none).
    case_id: String,
    case_code: String,
    refused: bool,
}

struct OfflineLine {
    name: String,
    serial: String,
    kind: &'static str,
    grid: String,
    last_seen: String,
    period: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "alarms.html")]
struct OverviewPage {
    chrome: Chrome,
    grid: String,
    alarms: Vec<AlarmLine>,
    offline: Vec<OfflineLine>,
    devices: i64,
    never_heard: i64,
    counts: Vec<(&'static str, i64)>,
    unknown: i64,
    malformed: i64,
    mqtt: &'static str,
    is_admin: bool,
}

fn device_kind_label(kind: &str) -> &'static str {
    crate::registry::units::device_kind_label(kind)
}

async fn overview_page(State(s): State<AlarmsState>, c: Console, Query(q): Query<PageQuery>) -> PageResult {
    let p = &c.principal;
    let o = overview_of(&s, p, q.grid.as_deref(), 50).await?;
    let kinds = super::store::kinds(&s.db, &p.district).await?;
    let now = now_ms();
    let alarms = super::store::recent(&s.db, &p.district, &o.grid, 50)
        .await?
        .into_iter()
        .map(|r| AlarmLine {
            when: when_ms(r.received_at, now),
            device: r.device_name.clone().unwrap_or_else(|| "未登记设备".into()) + " · " + &r.serial,
            kind: kinds.iter().find(|k| k.0 == r.kind).map_or("其他告警".to_string(), |k| k.1.clone()),
            level: r.level.map(|l| format!("{l}级")).unwrap_or_default(),
            detail: r.detail.clone(),
            outcome: rules::outcome_label(&r.outcome),
            case_id: r.case_id.map(|id| id.to_string()).unwrap_or_default(),
            case_code: r.tracking_code.clone().unwrap_or_default(),
            refused: matches!(r.outcome.as_str(), "unknown_device" | "malformed" | "case_failed"),
        })
        .collect();
    let offline = o
        .offline
        .iter()
        .map(|d| OfflineLine {
            name: d.name.clone(),
            serial: d.serial.clone(),
            kind: device_kind_label(&d.kind),
            grid: d.grid.clone(),
            last_seen: format_ms(d.last_seen_ms),
            period: d.period_minutes,
        })
        .collect();
    let count = |k: &str| o.last_30_days.get(k).copied().unwrap_or(0);
    let counts = ["opened", "merged", "unmapped", "case_failed"]
        .into_iter()
        .map(|k| (rules::outcome_label(k), count(k)))
        .collect();
    Ok(OverviewPage {
        chrome: Chrome::new(&c, "设备告警", "grid"),
        grid: o.grid.clone(),
        alarms,
        offline,
        devices: o.devices,
        never_heard: o.never_heard,
        counts,
        unknown: count("unknown_device"),
        malformed: count("malformed"),
        mqtt: if o.counters.mqtt_connected { "已连接" } else { "未连接" },
        is_admin: p.posts.iter().any(|x| x.role == Role::DistrictAdmin),
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "alarms_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    notice: String,
    error: String,
    settings: Settings,
    /// Leaf categories: (code, name).
    categories: Vec<(String, String)>,
    can_edit: bool,
}

async fn settings_page(State(s): State<AlarmsState>, c: Console, Query(q): Query<PageQuery>) -> PageResult {
    let p = &c.principal;
    service::root_of(p, None)?;
    let categories = crate::cases::categories::list(&s.db, &p.district)
        .await?
        .into_iter()
        .filter(|x| x.is_leaf() && x.active)
        .map(|x| (x.code, x.name))
        .collect();
    Ok(SettingsPage {
        chrome: Chrome::new(&c, "告警设置", "grid"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        settings: service::settings(&s, &p.district).await?,
        categories,
        can_edit: p.posts.iter().any(|x| x.role == Role::DistrictAdmin),
    }
    .into_response())
}

/// The form: `kind`, `label`, `category` repeated per row (a row with an empty kind is dropped),
/// then `device_kind`, `minutes` repeated.
async fn save(State(s): State<AlarmsState>, c: Console, Form(f): Form<Vec<(String, String)>>) -> PageResult {
    let csrf = f.iter().find(|x| x.0 == "csrf").map(|x| x.1.clone()).unwrap_or_default();
    check_csrf(&c, &csrf)?;
    let col = |name: &str| f.iter().filter(|x| x.0 == name).map(|x| x.1.clone()).collect::<Vec<_>>();
    let (k, l, cat) = (col("kind"), col("label"), col("category"));
    let (dk, mins) = (col("device_kind"), col("minutes"));
    let kinds = k
        .iter()
        .enumerate()
        .filter(|(_, x)| !x.trim().is_empty())
        .map(|(i, x)| KindSetting {
            kind: x.clone(),
            label: l.get(i).cloned().unwrap_or_default(),
            category: cat.get(i).cloned().unwrap_or_default(),
        })
        .collect();
    let mut heartbeats = Vec::new();
    for (i, x) in dk.iter().enumerate().filter(|(_, x)| !x.trim().is_empty()) {
        let text = crate::identity::half_width(mins.get(i).map(String::as_str).unwrap_or(""));
        let Ok(minutes) = text.trim().parse::<i64>() else {
            return Ok(Redirect::to(&format!("/console/alarms/settings?err={}", urlencoding("心跳周期应为1至10080分钟"))).into_response());
        };
        heartbeats.push(PeriodSetting {
            device_kind: x.clone(),
            minutes,
        });
    }
    let new = Settings {
        kinds,
        heartbeats,
        window_minutes: 0,
    };
    match service::save_settings(&s, &c.principal, &new).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/alarms/settings?msg={}", urlencoding("已保存"))).into_response()),
        Err(e) if e.status.is_client_error() && e.status != axum::http::StatusCode::FORBIDDEN => {
            Ok(Redirect::to(&format!("/console/alarms/settings?err={}", urlencoding(&e.message))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
