//! The demo's device alarms (设备告警): the history's device-reported cases each get the alarm that
//! opened them (from a device of the case's compound, of a kind mapped to its category), some with
//! repeats on the case's timeline; a year of alarms kept without a case (kinds with no category,
//! unknown serials, malformed payloads); when each device was last heard, a few offline now.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::history::HCase;
use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};

const DAY: i64 = 86_400_000;

/// The alarm kind a device-reported case of this category came from (the default table reversed).
fn kind_of(category: &str) -> Option<&'static str> {
    match category {
        "SQ03" => Some("charging"),
        "SQ04" => Some("high_throw"),
        "SJ05" => Some("smoke"),
        "BJ01" => Some("access"),
        _ => None,
    }
}

const DETAILS: [(&str, &[&str]); 5] = [
    ("charging", &["充电桩温度异常", "充电功率超限", "夜间长时间充电"]),
    ("high_throw", &["检测到高空坠物", "疑似高空抛物，已截取视频"]),
    ("smoke", &["烟雾浓度超标", "厨房烟雾告警", "楼道烟雾告警"]),
    ("access", &["门禁被强行打开", "门禁长时间未关闭"]),
    ("water", &["井盖移位", "地下室积水"]),
];

fn detail(rng: &mut ChaCha8Rng, kind: &str) -> String {
    let list = DETAILS.iter().find(|d| d.0 == kind).map_or(&["设备告警"][..], |d| d.1);
    list[rng.random_range(0..list.len())].to_string()
}

/// Insert the alarms and last-heard times; a line for the summary.
pub async fn insert(tx: &mut Tx, p: &Plan, history: &[HCase], seed: u64, now: i64) -> sqlx::Result<String> {
    let started = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xa1a2);
    let pb = indicatif::ProgressBar::hidden();
    // Devices per compound (devices are filed under compounds).
    let mut by_compound: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in p.devices.iter().enumerate() {
        by_compound.entry(d.grid.as_str()).or_default().push(i);
    }
    let mut alarms: Vec<Vec<V>> = Vec::new();
    let mut events: Vec<Vec<V>> = Vec::new();
    let row = |id: uuid::Uuid,
               serial: String,
               device: Option<usize>,
               kind: &str,
               level: Option<i64>,
               at: i64,
               detail: String,
               case: Option<uuid::Uuid>,
               outcome: &'static str,
               why: &'static str| {
        let d = device.map(|i| &p.devices[i]);
        vec![
            V::U(id),
            V::S(p.district_code),
            V::T(serial),
            d.map_or(V::NullU, |d| V::U(d.id)),
            d.map_or(V::NullT, |d| V::T(d.grid.clone())),
            V::T(kind.to_string()),
            level.map_or(V::NullI, V::I),
            V::I(at),
            V::T(detail),
            V::I(at + 300),
            V::S("demo"),
            case.map_or(V::NullU, V::U),
            V::S(outcome),
            V::S(why),
            V::T(format!("demo:{id}")),
        ]
    };
    // 1. The history's device cases: the alarm that opened each, and repeats for some.
    let (mut linked, mut repeats) = (0, 0);
    for c in history.iter().filter(|c| c.source == "device") {
        let Some(kind) = kind_of(c.category) else { continue };
        let Some(devs) = by_compound.get(&c.grid[..c.grid.len().min(15)]) else {
            continue;
        };
        let dev = devs[rng.random_range(0..devs.len())];
        let level = rng.random_range(1..=3);
        let text = detail(&mut rng, kind);
        alarms.push(row(
            new_id(),
            p.devices[dev].serial.clone(),
            Some(dev),
            kind,
            Some(level),
            c.reported_at - 2_000,
            text.clone(),
            Some(c.id),
            "opened",
            "",
        ));
        linked += 1;
        if rng.random_range(0..4) == 0 {
            for k in 1..=rng.random_range(1..4i64) {
                let at = c.reported_at + k * rng.random_range(60_000..180_000);
                let note = format!(
                    "【设备告警】{text}（设备：{}，编号 {}）",
                    p.devices[dev].name, p.devices[dev].serial
                );
                let id = new_id();
                alarms.push(row(
                    id,
                    p.devices[dev].serial.clone(),
                    Some(dev),
                    kind,
                    Some(level),
                    at,
                    text.clone(),
                    Some(c.id),
                    "merged",
                    "",
                ));
                events.push(vec![
                    V::U(new_id()),
                    V::U(c.id),
                    V::S(p.district_code),
                    V::I(at + 300),
                    V::T(format!("设备 {}", p.devices[dev].serial)),
                    V::S("alarm"),
                    V::T(note),
                ]);
                repeats += 1;
            }
        }
    }
    // 2. Over the year, alarms kept without a case: water (no category in the demo's table is
    //    set for wells' alarms… kept as 未设类别), unknown serials and malformed payloads.
    let n_devices = p.devices.len().max(1);
    let (mut kept, mut refused) = (0, 0);
    for _ in 0..(n_devices / 4).max(20) {
        let at = now - rng.random_range(0..365 * DAY);
        match rng.random_range(0..10) {
            0..=5 => {
                let dev = rng.random_range(0..p.devices.len().max(1));
                if p.devices.is_empty() {
                    continue;
                }
                alarms.push(row(
                    new_id(),
                    p.devices[dev].serial.clone(),
                    Some(dev),
                    "gas",
                    Some(1),
                    at,
                    "燃气浓度偏高".into(),
                    None,
                    "unmapped",
                    "kind_not_mapped",
                ));
                kept += 1;
            }
            6..=7 => {
                let serial = format!("XX{:07}", rng.random_range(0..10_000_000));
                alarms.push(row(
                    new_id(),
                    serial,
                    None,
                    "smoke",
                    Some(2),
                    at,
                    "烟雾浓度超标".into(),
                    None,
                    "unknown_device",
                    "",
                ));
                refused += 1;
            }
            _ => {
                if p.devices.is_empty() {
                    continue;
                }
                let dev = rng.random_range(0..p.devices.len());
                alarms.push(row(
                    new_id(),
                    p.devices[dev].serial.clone(),
                    Some(dev),
                    "smoke",
                    None,
                    at,
                    String::new(),
                    None,
                    "malformed",
                    "invalid_level",
                ));
                refused += 1;
            }
        }
    }
    let n_alarms = alarms.len();
    bulk(
        tx,
        "device_alarms",
        &[
            "id",
            "district",
            "serial",
            "device_id",
            "grid_code",
            "kind",
            "level",
            "at_ms",
            "detail",
            "received_at",
            "via",
            "case_id",
            "outcome",
            "why",
            "fingerprint",
        ],
        alarms,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "case_events",
        &["id", "case_id", "district", "at_ms", "actor_name", "action", "note"],
        events,
        &pb,
    )
    .await?;
    // 3. Last heard: most devices a few minutes ago, one in fifty silent for days (offline), one
    //    in twenty never connected (未接入).
    let mut offline = 0;
    let seen: Vec<Vec<V>> = p
        .devices
        .iter()
        .filter_map(|d| {
            let roll = rng.random_range(0..100);
            if roll < 5 {
                return None;
            }
            let at = if roll < 7 {
                offline += 1;
                now - rng.random_range(2 * DAY..20 * DAY)
            } else {
                now - rng.random_range(0..5 * 60_000)
            };
            Some(vec![V::U(d.id), V::S(p.district_code), V::I(at)])
        })
        .collect();
    bulk(tx, "device_seen", &["device_id", "district", "last_seen_at"], seen, &pb).await?;
    tracing::info!(
        elapsed_s = started.elapsed().as_secs_f64(),
        alarms = n_alarms,
        "demo: device alarms stage"
    );
    Ok(format!(
        "{n_alarms} device alarms ({linked} opened the history's device cases, {repeats} repeats on their timelines, {kept} kept without a case, {refused} unknown or malformed), {offline} devices offline"
    ))
}
