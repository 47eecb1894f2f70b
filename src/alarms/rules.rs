//! Pure rules of device alarms (设备告警): the payload's shape, the topic's parts, the window that
//! adds a repeat to the open case, and whether a device is offline.

use serde::Deserialize;

/// Alarm kinds a district starts with: (kind, label, case category). Smoke and fire go to 突发事件
/// (the catalogue has no fire-safety leaf), high-altitude throws to 高空抛物, charging to 飞线充电,
/// gates and water to 公用设施. A district edits the table; a kind not in it opens no case.
pub const DEFAULT_KINDS: [(&str, &str, &str); 6] = [
    ("smoke", "烟感告警", "SJ05"),
    ("fire", "火情告警", "SJ05"),
    ("high_throw", "高空抛物", "SQ04"),
    ("charging", "充电告警", "SQ03"),
    ("access", "门禁告警", "BJ01"),
    ("water", "漏水告警", "BJ01"),
];

/// Heartbeat periods a district starts with, per registry device kind, in minutes.
pub const DEFAULT_PERIODS: [(&str, i64); 5] = [
    ("fire_alarm", 240),
    ("camera", 10),
    ("access_gate", 30),
    ("charging_port", 30),
    ("well", 720),
];

/// A device kind the table does not name is offline after this many minutes of silence.
pub const FALLBACK_PERIOD_MINUTES: i64 = 60;
/// Bounds of a heartbeat period (one minute to a week).
pub const PERIOD_MINUTES: std::ops::RangeInclusive<i64> = 1..=10_080;
/// Repeats of one device within this many minutes add to its open case (default; configurable).
pub const DEFAULT_WINDOW_MINUTES: i64 = 10;
/// Bounds of the window setting (one minute to a day).
pub const WINDOW_MINUTES: std::ops::RangeInclusive<i64> = 1..=1440;

/// The longest payload read (bytes): a device alarm is a few hundred.
pub const MAX_PAYLOAD: usize = 8 * 1024;
/// The longest detail kept (characters).
pub const MAX_DETAIL: usize = 500;
/// A serial: 1 to 64 letters, digits, `-`, `_`, `.` or `:`.
pub const MAX_SERIAL: usize = 64;
/// A kind: 1 to 32 lower-case letters, digits or `_`.
pub const MAX_KIND: usize = 32;

/// What a topic names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topic {
    Alarm { district: String, serial: String },
    Heartbeat { district: String, serial: String },
}

/// Read `{prefix}/{district}/devices/{serial}/alarm|heartbeat`; anything else is `None`.
pub fn parse_topic(prefix: &str, topic: &str) -> Option<Topic> {
    let rest = topic.strip_prefix(prefix)?.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let [district, "devices", serial, what] = parts.as_slice() else {
        return None;
    };
    if district.is_empty() || district.len() > 12 || !district.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let serial = normalise_serial(serial)?;
    let district = district.to_string();
    match *what {
        "alarm" => Some(Topic::Alarm { district, serial }),
        "heartbeat" => Some(Topic::Heartbeat { district, serial }),
        _ => None,
    }
}

/// A serial as stored: NFKC (full-width letters and digits read as ASCII), trimmed; `None` when
/// empty, too long or holding other characters.
pub fn normalise_serial(s: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    let s: String = s.nfkc().collect::<String>().trim().to_string();
    let ok = !s.is_empty()
        && s.chars().count() <= MAX_SERIAL
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    ok.then_some(s)
}

#[derive(Deserialize)]
struct RawAlarm {
    kind: Option<serde_json::Value>,
    at: Option<serde_json::Value>,
    detail: Option<serde_json::Value>,
    level: Option<serde_json::Value>,
}

/// A well-formed alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub kind: String,
    pub at_ms: i64,
    pub detail: String,
    pub level: i64,
}

/// Why a payload was refused, with what could still be read of it (stored with the refusal).
#[derive(Debug, Clone, PartialEq)]
pub struct Malformed {
    pub why: &'static str,
    pub kind: String,
    pub detail: String,
    pub level: Option<i64>,
}

/// Check a payload `{"kind", "at" (RFC 3339), "detail", "level" 1..3}`. `at` must fall within a
/// year before `now_ms` and no more than ten minutes after it (a device's clock drifts a little;
/// a year-old or future alarm is a broken clock). Text is NFKC-normalised and bounded.
pub fn parse_alarm(payload: &[u8], now_ms: i64) -> Result<Alarm, Malformed> {
    use unicode_normalization::UnicodeNormalization;
    let bad = |why| Malformed {
        why,
        kind: String::new(),
        detail: String::new(),
        level: None,
    };
    if payload.len() > MAX_PAYLOAD {
        return Err(bad("payload_too_large"));
    }
    let raw: RawAlarm = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(_) => return Err(bad("not_json")),
    };
    let text = |v: &Option<serde_json::Value>| {
        v.as_ref()
            .and_then(|v| v.as_str())
            .map(|s| s.nfkc().collect::<String>().trim().to_string())
    };
    let kind = text(&raw.kind).unwrap_or_default();
    let kind_ok =
        !kind.is_empty() && kind.len() <= MAX_KIND && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    let detail: String = text(&raw.detail)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DETAIL)
        .collect();
    let level = match &raw.level {
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.nfkc().collect::<String>().trim().parse().ok())),
        None => None,
    };
    let mut m = Malformed {
        why: "",
        kind: if kind_ok {
            kind.clone()
        } else {
            kind.chars().take(MAX_KIND).collect()
        },
        detail: detail.clone(),
        level: level.filter(|l| (1..=3).contains(l)),
    };
    if !kind_ok {
        m.why = "invalid_kind";
        return Err(m);
    }
    let Some(level) = level.filter(|l| (1..=3).contains(l)) else {
        m.why = "invalid_level";
        return Err(m);
    };
    let Some(at) = text(&raw.at).and_then(|t| t.parse::<jiff::Timestamp>().ok()) else {
        m.why = "invalid_at";
        return Err(m);
    };
    let at_ms = at.as_millisecond();
    if at_ms > now_ms + 600_000 || at_ms < now_ms - 366 * 86_400_000 {
        m.why = "at_out_of_range";
        return Err(m);
    }
    Ok(Alarm {
        kind,
        at_ms,
        detail,
        level,
    })
}

/// The open case a device's last alarm went to: its case, when that alarm was, and whether the
/// case is still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Last<Id> {
    pub case: Id,
    pub at_ms: i64,
    pub open: bool,
}

/// Where a new alarm at `at_ms` goes: the open case of the device's last case-bearing alarm, when
/// that was no more than `window_ms` earlier (the window slides with each repeat, so a device
/// that keeps ringing keeps one case); otherwise a new case. An alarm earlier than the last one
/// (a late delivery) joins too when within the window either way.
pub fn merge_into<Id: Copy>(last: Option<Last<Id>>, at_ms: i64, window_ms: i64) -> Option<Id> {
    let last = last?;
    (last.open && (at_ms - last.at_ms).abs() <= window_ms).then_some(last.case)
}

/// Whether a device last heard at `last_seen` (never: `None`) is offline at `now` with a heartbeat
/// period of `period_minutes`. A device never heard is not offline: it is not connected yet
/// (未接入), shown apart.
pub fn offline(last_seen: Option<i64>, period_minutes: i64, now: i64) -> bool {
    last_seen.is_some_and(|t| now - t > period_minutes * 60_000)
}

/// The case's description: the kind's label, the level, the detail, the device.
pub fn description(label: &str, level: i64, detail: &str, device_name: &str, serial: &str) -> String {
    let lv = match level {
        3 => "三级（紧急）",
        2 => "二级",
        _ => "一级",
    };
    let detail = if detail.is_empty() { "设备未附说明" } else { detail };
    format!("【设备告警】{label}，{lv}：{detail}（设备：{device_name}，编号 {serial}）")
}

/// The label of a kind: the table's, else the kind itself.
pub fn label_of<'a>(kinds: &'a [(String, String, String)], kind: &'a str) -> &'a str {
    kinds.iter().find(|k| k.0 == kind).map_or(kind, |k| k.1.as_str())
}

/// Chinese words for an outcome.
pub fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "opened" => "已生成案件",
        "merged" => "并入已有案件",
        "unknown_device" => "未登记设备",
        "malformed" => "格式错误",
        "unmapped" => "未设类别，未生成案件",
        "case_failed" => "生成案件失败",
        "recorded" => "已记录",
        _ => "其他",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn topics() {
        assert_eq!(
            parse_topic("gongzhi", "gongzhi/411602/devices/SN-1/alarm"),
            Some(Topic::Alarm {
                district: "411602".into(),
                serial: "SN-1".into()
            })
        );
        assert_eq!(
            parse_topic("t/x", "t/x/411602/devices/ＳＮ１/heartbeat"),
            Some(Topic::Heartbeat {
                district: "411602".into(),
                serial: "SN1".into()
            })
        );
        for bad in [
            "gongzhi/411602/devices/SN-1/other",
            "gongzhi/411602/device/SN-1/alarm",
            "gongzhi/4116ab/devices/SN-1/alarm",
            "gongzhi/411602/devices//alarm",
            "gongzhi/411602/devices/a b/alarm",
            "gongzhix/411602/devices/SN/alarm",
            "other/411602/devices/SN/alarm",
            "gongzhi/411602/devices/SN/alarm/extra",
        ] {
            assert_eq!(parse_topic("gongzhi", bad), None, "{bad}");
        }
    }

    #[test]
    fn payloads() {
        let ok = r#"{"kind":"smoke","at":"2026-09-21T10:00:00+08:00","detail":" 厨房烟雾 ","level":2}"#.as_bytes();
        let now: i64 = "2026-09-21T02:05:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let a = parse_alarm(ok, now).unwrap();
        assert_eq!((a.kind.as_str(), a.level, a.detail.as_str()), ("smoke", 2, "厨房烟雾"));
        assert_eq!(a.at_ms, now - 300_000);
        // Full-width level and kind read as ASCII.
        let fw = r#"{"kind":"ｓｍｏｋｅ","at":"2026-09-21T10:00:00+08:00","level":"３"}"#;
        assert_eq!(parse_alarm(fw.as_bytes(), now).unwrap().level, 3);
        let why = |p: &str| parse_alarm(p.as_bytes(), now).unwrap_err().why;
        assert_eq!(why("not json"), "not_json");
        assert_eq!(why("[1,2]"), "not_json");
        assert_eq!(why(r#"{"at":"2026-09-21T10:00:00+08:00","level":1}"#), "invalid_kind");
        assert_eq!(
            why(r#"{"kind":"Smoke!","at":"2026-09-21T10:00:00+08:00","level":1}"#),
            "invalid_kind"
        );
        assert_eq!(
            why(r#"{"kind":"smoke","at":"2026-09-21T10:00:00+08:00","level":4}"#),
            "invalid_level"
        );
        assert_eq!(why(r#"{"kind":"smoke","at":"2026-09-21T10:00:00+08:00"}"#), "invalid_level");
        assert_eq!(why(r#"{"kind":"smoke","at":"yesterday","level":1}"#), "invalid_at");
        assert_eq!(why(r#"{"kind":"smoke","at":"2026-09-21T10:00:00","level":1}"#), "invalid_at");
        assert_eq!(
            why(r#"{"kind":"smoke","at":"2026-09-21T11:00:00+08:00","level":1}"#),
            "at_out_of_range"
        );
        assert_eq!(
            why(r#"{"kind":"smoke","at":"2024-09-21T11:00:00+08:00","level":1}"#),
            "at_out_of_range"
        );
        let big = format!(r#"{{"kind":"smoke","detail":"{}"}}"#, "x".repeat(MAX_PAYLOAD));
        assert_eq!(why(&big), "payload_too_large");
        // What could be read is kept with the refusal.
        let m = parse_alarm(br#"{"kind":"water","detail":"d","level":9}"#, now).unwrap_err();
        assert_eq!((m.kind.as_str(), m.detail.as_str(), m.level), ("water", "d", None));
    }

    #[test]
    fn windows() {
        let last = |at_ms, open| Some(Last { case: 7, at_ms, open });
        assert_eq!(merge_into::<i32>(None, NOW, 600_000), None);
        assert_eq!(merge_into(last(NOW - 600_000, true), NOW, 600_000), Some(7));
        assert_eq!(merge_into(last(NOW - 600_001, true), NOW, 600_000), None);
        assert_eq!(
            merge_into(last(NOW - 1, false), NOW, 600_000),
            None,
            "a closed case is not added to"
        );
        assert_eq!(merge_into(last(NOW + 5_000, true), NOW, 600_000), Some(7), "a late delivery");
    }

    #[test]
    fn offline_needs_a_first_contact() {
        assert!(!offline(None, 10, NOW));
        assert!(!offline(Some(NOW - 600_000), 10, NOW));
        assert!(offline(Some(NOW - 600_001), 10, NOW));
    }

    proptest! {
        /// A run of alarms from one device, each within the window of the one before, all join
        /// the first one's case however long the run lasts; a gap longer than the window opens a
        /// new one.
        #[test]
        fn a_ringing_device_keeps_one_case(gaps in proptest::collection::vec(0i64..1_200_000, 1..50), window in 1i64..1_000_000) {
            let mut last: Option<Last<usize>> = None;
            let (mut at, mut cases) = (NOW, 0usize);
            for g in gaps {
                at += g;
                let case = match merge_into(last, at, window) {
                    Some(c) => { prop_assert!(g <= window); c }
                    None => { prop_assert!(last.is_none() || g > window); cases += 1; cases }
                };
                last = Some(Last { case, at_ms: at, open: true });
            }
        }

        /// No payload crashes the parser, and a refusal always names why.
        #[test]
        fn any_payload_is_answered(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Err(m) = parse_alarm(&bytes, NOW) { prop_assert!(!m.why.is_empty()); }
        }

        #[test]
        fn offline_is_monotonic(last in 0i64..1_000_000_000, period in PERIOD_MINUTES, a in 0i64..1_000_000_000, b in 0i64..1_000_000_000) {
            let (t1, t2) = (last + a.min(b), last + a.max(b));
            prop_assert!(!offline(Some(last), period, t1) || offline(Some(last), period, t2));
        }
    }
}
