//! Device alarm operations: receive an alarm (MQTT or HTTP) and store it, as a new case, a step on
//! the device's open case, or on its own; note heartbeats; read the overview; edit the settings.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Serialize;
use uuid::Uuid;

use super::AlarmsState;
use super::rules::{self, Topic};
use super::store::{self, NewAlarm};
use crate::audit::{self, Actor};
use crate::auth::{Capability, Principal, Role};
use crate::cases::hooks::{HookFuture, OnReported};
use crate::cases::service::{NewCase, Reporter};
use crate::db::{Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};

/// What this process has received since it started (shown on the page and the API).
#[derive(Default, Debug)]
pub struct Counters {
    pub received: AtomicU64,
    pub opened: AtomicU64,
    pub merged: AtomicU64,
    pub unknown_device: AtomicU64,
    pub malformed: AtomicU64,
    pub unmapped: AtomicU64,
    pub case_failed: AtomicU64,
    pub redelivered: AtomicU64,
    /// Alarms that could not be stored (database down): left unacknowledged for the broker to resend.
    pub not_stored: AtomicU64,
    /// Messages on our topics that are neither an alarm nor a heartbeat.
    pub bad_topic: AtomicU64,
    pub heartbeats: AtomicU64,
    pub unknown_heartbeats: AtomicU64,
    pub mqtt_connected: AtomicBool,
    pub mqtt_connections: AtomicU64,
    pub mqtt_errors: AtomicU64,
}

/// The counters as numbers.
#[derive(Serialize, utoipa::ToSchema, Debug, Clone, Default)]
pub struct CounterView {
    pub received: u64,
    pub opened: u64,
    pub merged: u64,
    pub unknown_device: u64,
    pub malformed: u64,
    pub unmapped: u64,
    pub case_failed: u64,
    pub redelivered: u64,
    pub not_stored: u64,
    pub bad_topic: u64,
    pub heartbeats: u64,
    pub unknown_heartbeats: u64,
    pub mqtt_connected: bool,
    pub mqtt_connections: u64,
    pub mqtt_errors: u64,
}

impl Counters {
    pub fn view(&self) -> CounterView {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CounterView {
            received: g(&self.received),
            opened: g(&self.opened),
            merged: g(&self.merged),
            unknown_device: g(&self.unknown_device),
            malformed: g(&self.malformed),
            unmapped: g(&self.unmapped),
            case_failed: g(&self.case_failed),
            redelivered: g(&self.redelivered),
            not_stored: g(&self.not_stored),
            bad_topic: g(&self.bad_topic),
            heartbeats: g(&self.heartbeats),
            unknown_heartbeats: g(&self.unknown_heartbeats),
            mqtt_connected: self.mqtt_connected.load(Ordering::Relaxed),
            mqtt_connections: g(&self.mqtt_connections),
            mqtt_errors: g(&self.mqtt_errors),
        }
    }
}

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

/// One lock per shard of devices: alarms of one device are handled one after another in this
/// process (so a burst cannot open two cases for one device); other devices' go on beside them.
pub struct DeviceLocks(Vec<tokio::sync::Mutex<()>>);

impl Default for DeviceLocks {
    fn default() -> Self {
        DeviceLocks((0..256).map(|_| tokio::sync::Mutex::new(())).collect())
    }
}

impl DeviceLocks {
    pub async fn lock(&self, district: &str, serial: &str) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (district, serial).hash(&mut h);
        self.0[(h.finish() % self.0.len() as u64) as usize].lock().await
    }
}

/// How an alarm came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Mqtt,
    Http,
}

impl Via {
    fn code(self) -> &'static str {
        match self {
            Via::Mqtt => "mqtt",
            Via::Http => "http",
        }
    }
}

/// What became of an alarm.
#[derive(Serialize, utoipa::ToSchema, Debug, Clone)]
pub struct Received {
    pub alarm_id: Uuid,
    /// opened | merged | unknown_device | malformed | unmapped | case_failed
    pub outcome: String,
    /// Why no case (a code), when none.
    pub why: String,
    pub case_id: Option<Uuid>,
    /// True when this exact alarm was stored before (a redelivery): nothing new was written.
    pub redelivered: bool,
}

/// The fingerprint of one message: a redelivery of it (MQTT after a reconnect, an HTTP retry) is
/// recognised and stored once.
pub fn fingerprint(district: &str, serial: &str, payload: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(district.as_bytes());
    h.update([0x1f]);
    h.update(serial.as_bytes());
    h.update([0x1f]);
    h.update(payload);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes the alarm's row in the new case's own transaction.
struct StoreWithCase {
    alarm: NewAlarm,
}

impl OnReported for StoreWithCase {
    fn reported<'a>(&'a self, tx: &'a mut Tx, case_id: Uuid, _district: &'a str) -> HookFuture<'a> {
        Box::pin(async move {
            let mut a = self.alarm.clone();
            a.case_id = Some(case_id);
            if !store::insert(tx, &a).await? {
                return Err(AppError::conflict("alarm_redelivered", "该告警已记录"));
            }
            if let Some(d) = a.device_id {
                store::seen(tx, d, &a.district, a.received_at).await?;
            }
            Ok(())
        })
    }
}

async fn store_alone(s: &AlarmsState, a: &NewAlarm) -> AppResult<bool> {
    let mut tx = s.db.begin().await?;
    let fresh = store::insert(&mut tx, a).await?;
    if let (true, Some(d)) = (fresh, a.device_id) {
        store::seen(&mut tx, d, &a.district, a.received_at).await?;
    }
    tx.commit().await?;
    Ok(fresh)
}

fn answer(a: &NewAlarm, redelivered: bool) -> Received {
    Received {
        alarm_id: a.id,
        outcome: a.outcome.to_string(),
        why: a.why.clone(),
        case_id: a.case_id,
        redelivered,
    }
}

/// Receive one alarm from `serial` in `district`. Every alarm is stored (an unknown serial and a
/// malformed payload too, with why); a registered device's well-formed alarm of a mapped kind opens
/// a case in the device's grid, or — within the window of its last one — adds a step to that open
/// case. Each in one transaction. An error means nothing was stored (the caller may retry).
pub async fn receive(s: &AlarmsState, district: &str, serial: &str, payload: &[u8], via: Via) -> AppResult<Received> {
    bump(&s.counters.received);
    let _one_at_a_time = s.locks.lock(district, serial).await;
    let fp = fingerprint(district, serial, payload);
    if let Some((id, case_id, outcome)) = store::stored(&s.db, &fp).await? {
        bump(&s.counters.redelivered);
        return Ok(Received {
            alarm_id: id,
            outcome,
            why: String::new(),
            case_id,
            redelivered: true,
        });
    }
    let now = now_ms();
    let parsed = rules::parse_alarm(payload, now);
    let device = store::device(&s.db, district, serial).await?;
    let mut a = NewAlarm {
        id: new_id(),
        district: district.to_string(),
        serial: serial.to_string(),
        device_id: device.as_ref().map(|d| d.id),
        grid_code: device.as_ref().map(|d| d.grid_code.clone()),
        kind: String::new(),
        level: None,
        at_ms: now,
        detail: String::new(),
        received_at: now,
        via: via.code(),
        case_id: None,
        outcome: "",
        why: String::new(),
        fingerprint: fp,
    };
    let alarm = match parsed {
        Ok(x) => {
            a.kind = x.kind.clone();
            a.level = Some(x.level);
            a.at_ms = x.at_ms;
            a.detail = x.detail.clone();
            Some(x)
        }
        Err(m) => {
            a.kind = m.kind;
            a.level = m.level;
            a.detail = m.detail;
            a.why = m.why.to_string();
            None
        }
    };
    let Some(device) = device else {
        // Logged without the payload (it may hold anything): the serial and why.
        tracing::warn!(district, serial, why = %a.why, "alarm from an unknown device serial");
        bump(&s.counters.unknown_device);
        a.outcome = "unknown_device";
        let fresh = store_alone(s, &a).await?;
        return Ok(answer(&a, !fresh));
    };
    let Some(alarm) = alarm else {
        tracing::warn!(district, serial, why = %a.why, "malformed alarm payload");
        bump(&s.counters.malformed);
        a.outcome = "malformed";
        let fresh = store_alone(s, &a).await?;
        return Ok(answer(&a, !fresh));
    };
    let kinds = store::kinds(&s.db, district).await?;
    let Some((_, label, category)) = kinds.iter().find(|k| k.0 == alarm.kind && !k.2.is_empty()) else {
        bump(&s.counters.unmapped);
        a.outcome = "unmapped";
        a.why = "kind_not_mapped".into();
        let fresh = store_alone(s, &a).await?;
        return Ok(answer(&a, !fresh));
    };
    let actor_name = format!("设备 {serial}");
    // A repeat within the window: a step on the open case, with the alarm's row, in one transaction.
    if let Some(case) = rules::merge_into(store::last_case(&s.db, device.id).await?, alarm.at_ms, s.window_ms) {
        let mut tx = s.db.begin().await?;
        let note = rules::description(label, alarm.level, &alarm.detail, &device.name, serial);
        let added = crate::cases::store::append_if_open(
            &mut tx,
            (case, district),
            now,
            &Actor::System(&actor_name),
            "alarm",
            &note,
            serde_json::json!({"serial": serial, "kind": alarm.kind, "level": alarm.level, "alarm": a.id}),
        )
        .await?;
        if added {
            a.outcome = "merged";
            a.case_id = Some(case);
            if !store::insert(&mut tx, &a).await? {
                return Err(AppError::conflict("alarm_redelivered", "该告警已记录"));
            }
            store::seen(&mut tx, device.id, district, now).await?;
            tx.commit().await?;
            s.cases.feed.changed();
            bump(&s.counters.merged);
            return Ok(answer(&a, false));
        }
        // Closed in the meantime: a new case below.
    }
    let input = NewCase {
        category: category.clone(),
        description: rules::description(label, alarm.level, &alarm.detail, &device.name, serial),
        lat: Some(device.lat),
        lng: Some(device.lng),
        grid: Some(device.grid_code.clone()),
        source: None,
        reported_at: None,
        attributes: None,
        private: None,
    };
    a.outcome = "opened";
    let hook = StoreWithCase { alarm: a.clone() };
    let who = Reporter::Device {
        name: &actor_name,
        district,
        on_reported: &hook,
    };
    match crate::cases::service::submit(&s.cases, who, &input, None).await {
        Ok((case, _)) => {
            a.case_id = Some(case.id);
            bump(&s.counters.opened);
            Ok(answer(&a, false))
        }
        Err(e) if e.status.is_client_error() => {
            // The case could not be made (the category was turned off, a required answer…): the
            // alarm is kept with the reason.
            tracing::warn!(district, serial, code = e.code, "alarm kept without a case");
            bump(&s.counters.case_failed);
            a.outcome = "case_failed";
            a.why = e.code.to_string();
            let fresh = store_alone(s, &a).await?;
            Ok(answer(&a, !fresh))
        }
        Err(e) => Err(e),
    }
}

/// A heartbeat: the device was heard now. `false` for an unknown serial (counted).
pub async fn heartbeat(s: &AlarmsState, district: &str, serial: &str) -> AppResult<bool> {
    let Some(device) = store::device(&s.db, district, serial).await? else {
        bump(&s.counters.unknown_heartbeats);
        tracing::debug!(district, serial, "heartbeat from an unknown device serial");
        return Ok(false);
    };
    bump(&s.counters.heartbeats);
    let mut tx = s.db.begin().await?;
    store::seen(&mut tx, device.id, district, now_ms()).await?;
    tx.commit().await?;
    Ok(true)
}

/// One MQTT message on our topics.
pub async fn on_message(s: &AlarmsState, prefix: &str, topic: &str, payload: &[u8]) -> AppResult<()> {
    match rules::parse_topic(prefix, topic) {
        Some(Topic::Alarm { district, serial }) => receive(s, &district, &serial, payload, Via::Mqtt).await.map(|_| ()),
        Some(Topic::Heartbeat { district, serial }) => heartbeat(s, &district, &serial).await.map(|_| ()),
        None => {
            bump(&s.counters.bad_topic);
            tracing::warn!(topic_len = topic.len(), "message on an unexpected topic ignored");
            Ok(())
        }
    }
}

/// The grid root a person reads alarms under: the one asked for (in their reach) or their widest.
pub fn root_of(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden());
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("网格")),
        None => p.roots(Capability::ReadRegistry).into_iter().next().ok_or_else(AppError::forbidden),
    }
}

/// A device silent longer than its kind's period.
#[derive(Serialize, utoipa::ToSchema, Debug, Clone)]
pub struct OfflineDevice {
    pub id: Uuid,
    pub serial: String,
    pub name: String,
    pub kind: String,
    pub grid: String,
    /// RFC 3339.
    pub last_seen_at: String,
    #[serde(skip)]
    pub last_seen_ms: i64,
    pub period_minutes: i64,
}

/// Offline devices under `root` now: computed on read from when each was last heard and its
/// kind's period (no task marks them; the answer is true at the moment it is asked).
pub async fn offline(s: &AlarmsState, district: &str, root: &str, now: i64, limit: usize) -> AppResult<Vec<OfflineDevice>> {
    let periods = store::periods(&s.db, district).await?;
    let period_of = |kind: &str| periods.iter().find(|p| p.0 == kind).map_or(rules::FALLBACK_PERIOD_MINUTES, |p| p.1);
    let shortest = periods
        .iter()
        .map(|p| p.1)
        .chain([rules::FALLBACK_PERIOD_MINUTES])
        .min()
        .unwrap_or(1);
    let rows = store::silent_since(&s.db, district, root, now - shortest * 60_000, 5_000).await?;
    Ok(rows
        .into_iter()
        .filter(|r| rules::offline(Some(r.last_seen_at), period_of(&r.kind), now))
        .take(limit)
        .map(|r| OfflineDevice {
            period_minutes: period_of(&r.kind),
            id: r.id,
            serial: r.serial,
            name: r.name,
            kind: r.kind,
            grid: r.grid_code,
            last_seen_at: crate::time::rfc3339_ms(r.last_seen_at),
            last_seen_ms: r.last_seen_at,
        })
        .collect())
}

/// The settings a district edits.
#[derive(Serialize, serde::Deserialize, utoipa::ToSchema, Debug, Clone)]
pub struct Settings {
    pub kinds: Vec<KindSetting>,
    pub heartbeats: Vec<PeriodSetting>,
    /// Repeats within this many minutes join the open case (set at start: `GONGZHI_ALARM_WINDOW_MINUTES`).
    #[serde(default)]
    pub window_minutes: i64,
}

#[derive(Serialize, serde::Deserialize, utoipa::ToSchema, Debug, Clone)]
pub struct KindSetting {
    /// The payload's `kind`, e.g. `smoke`.
    pub kind: String,
    pub label: String,
    /// A leaf category code; "" stores the alarm without a case.
    pub category: String,
}

#[derive(Serialize, serde::Deserialize, utoipa::ToSchema, Debug, Clone)]
pub struct PeriodSetting {
    /// The registry's device kind, e.g. `fire_alarm`.
    pub device_kind: String,
    pub minutes: i64,
}

pub async fn settings(s: &AlarmsState, district: &str) -> AppResult<Settings> {
    Ok(Settings {
        kinds: store::kinds(&s.db, district)
            .await?
            .into_iter()
            .map(|(kind, label, category)| KindSetting { kind, label, category })
            .collect(),
        heartbeats: store::periods(&s.db, district)
            .await?
            .into_iter()
            .map(|(device_kind, minutes)| PeriodSetting { device_kind, minutes })
            .collect(),
        window_minutes: s.window_ms / 60_000,
    })
}

/// Replace the district's table and periods (the district admin only; audited).
pub async fn save_settings(s: &AlarmsState, p: &Principal, new: &Settings) -> AppResult<Settings> {
    use unicode_normalization::UnicodeNormalization;
    if !p.posts.iter().any(|x| x.role == Role::DistrictAdmin) {
        return Err(AppError::forbidden());
    }
    if new.kinds.len() > 100 || new.heartbeats.len() > 100 {
        return Err(AppError::invalid("too_many", "告警类型和心跳周期各不超过100项"));
    }
    let cats = crate::cases::categories::list(&s.db, &p.district).await?;
    let mut kinds: Vec<store::KindRule> = Vec::new();
    for k in &new.kinds {
        let kind: String = k.kind.nfkc().collect::<String>().trim().to_string();
        if kind.is_empty()
            || kind.len() > rules::MAX_KIND
            || !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(AppError::invalid("invalid_kind", "告警类型应为1至32位小写字母、数字或下划线"));
        }
        if kinds.iter().any(|x| x.0 == kind) {
            return Err(AppError::invalid("duplicate_kind", format!("告警类型 {kind} 重复")));
        }
        let label: String = k.label.nfkc().collect::<String>().trim().to_string();
        if label.is_empty() || label.chars().count() > 32 {
            return Err(AppError::invalid("invalid_label", "告警名称应为1至32字"));
        }
        let category = k.category.trim().to_string();
        if !category.is_empty() && !cats.iter().any(|c| c.code == category && c.is_leaf() && c.active) {
            return Err(AppError::invalid(
                "unknown_category",
                format!("问题类别「{category}」不存在或不是启用的小类"),
            ));
        }
        kinds.push((kind, label, category));
    }
    let mut periods: Vec<store::Period> = Vec::new();
    for h in &new.heartbeats {
        let kind = h.device_kind.trim().to_string();
        if kind.is_empty() || kind.len() > rules::MAX_KIND || periods.iter().any(|x| x.0 == kind) {
            return Err(AppError::invalid("invalid_device_kind", "设备类型不能为空、不超过32位且不能重复"));
        }
        if !rules::PERIOD_MINUTES.contains(&h.minutes) {
            return Err(AppError::invalid("invalid_period", "心跳周期应为1至10080分钟"));
        }
        periods.push((kind, h.minutes));
    }
    let mut tx = s.db.begin().await?;
    store::save_settings(&mut tx, &p.district, &kinds, &periods).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "alarm_settings.update",
            target_kind: "alarm_settings",
            target_id: &p.district,
            reason: "",
            detail: serde_json::json!({"kinds": kinds.len(), "heartbeats": periods.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    settings(s, &p.district).await
}
