//! Points rules and service time, pure: rule codes and defaults, minutes credited from attendance,
//! points for minutes, short codes.
//!
//! Rounding, stated once: attendance counts only inside the activity's scheduled window, in whole
//! minutes (seconds dropped); points for service time are `minutes × points_per_hour / 60`
//! rounded **down** to a whole point, so points are never issued for time not served.

/// A rule the district can set: code (stable), Chinese name, default points.
pub struct RuleDefault {
    pub code: &'static str,
    pub name: &'static str,
    pub points: i64,
}

/// Points per hour of volunteer service (志愿服务时长).
pub const VOLUNTEER_HOUR: &str = "volunteer_hour";
/// Points per case a resident reported that was closed as valid (随手拍).
pub const CASE_REPORTED: &str = "case_reported";
/// Points per council meeting attended (议事协商).
pub const COUNCIL_MEETING: &str = "council_meeting";
/// Points per activity organised as team leader.
pub const ACTIVITY_ORGANISED: &str = "activity_organised";

/// Defaults seeded for every district the first time its rules are read.
pub const DEFAULTS: [RuleDefault; 4] = [
    RuleDefault {
        code: VOLUNTEER_HOUR,
        name: "志愿服务每小时",
        points: 10,
    },
    RuleDefault {
        code: CASE_REPORTED,
        name: "上报问题经核实办结（每件）",
        points: 5,
    },
    RuleDefault {
        code: COUNCIL_MEETING,
        name: "参加议事协商会议（每次）",
        points: 5,
    },
    RuleDefault {
        code: ACTIVITY_ORGANISED,
        name: "组织志愿活动（每次）",
        points: 20,
    },
];

pub fn default_of(code: &str) -> Option<&'static RuleDefault> {
    DEFAULTS.iter().find(|r| r.code == code)
}

/// The most a rule may award at once (a typo guard, not policy).
pub const MAX_RULE_POINTS: i64 = 10_000;

/// Minutes of attendance inside the scheduled window `[starts, ends)`, from check-in to check-out
/// (all in ms). Zero when they do not overlap.
pub fn credited_minutes(starts: i64, ends: i64, checked_in: i64, checked_out: i64) -> i64 {
    let from = checked_in.max(starts);
    let to = checked_out.min(ends);
    if to <= from { 0 } else { (to - from) / 60_000 }
}

/// Scheduled length of an activity in whole minutes.
pub fn scheduled_minutes(starts: i64, ends: i64) -> i64 {
    ((ends - starts) / 60_000).max(0)
}

/// Points for `minutes` of service at `per_hour` points an hour, rounded down.
pub fn points_for_minutes(minutes: i64, per_hour: i64) -> i64 {
    if minutes <= 0 || per_hour <= 0 {
        return 0;
    }
    minutes.saturating_mul(per_hour) / 60
}

/// A short code read from a screen or a QR code: no 0/O, 1/I.
pub fn short_code(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut buf = vec![0u8; len];
    getrandom::fill(&mut buf).expect("operating system randomness");
    buf.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

/// Team kinds: code and Chinese name ("1 总队 + 常设队 + 特色队 + 社区治理队 + 城市创建队").
pub const TEAM_KINDS: [(&str, &str); 5] = [
    ("corps", "志愿服务总队"),
    ("standing", "常设志愿服务队"),
    ("special", "特色志愿服务队"),
    ("community_governance", "社区治理志愿服务队"),
    ("city_creation", "城市创建志愿服务队"),
];

pub fn team_kind_label(kind: &str) -> &'static str {
    TEAM_KINDS.iter().find(|k| k.0 == kind).map(|k| k.1).unwrap_or("志愿服务队")
}

/// Shop kinds: 爱心超市 and partner merchants (商会 members).
pub const SHOP_KINDS: [(&str, &str); 2] = [("love_supermarket", "爱心超市"), ("merchant", "爱心商家")];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;

    #[test]
    fn attendance_counts_inside_the_window() {
        // 9:00–11:00, in at 8:50, out at 10:30:59 → 90 minutes.
        assert_eq!(credited_minutes(9 * H, 11 * H, 9 * H - 600_000, 10 * H + 30 * 60_000 + 59_000), 90);
        assert_eq!(credited_minutes(9 * H, 11 * H, 8 * H, 12 * H), 120);
        assert_eq!(credited_minutes(9 * H, 11 * H, 11 * H, 12 * H), 0);
        assert_eq!(credited_minutes(9 * H, 11 * H, 10 * H, 9 * H), 0);
        assert_eq!(points_for_minutes(90, 10), 15);
        assert_eq!(points_for_minutes(59, 10), 9, "rounded down");
        assert_eq!(points_for_minutes(5, 10), 0);
        assert_eq!(points_for_minutes(120, 0), 0);
    }

    #[test]
    fn defaults_are_distinct_and_sane() {
        for (i, r) in DEFAULTS.iter().enumerate() {
            assert!(DEFAULTS[..i].iter().all(|o| o.code != r.code));
            assert!((0..=MAX_RULE_POINTS).contains(&r.points));
        }
        assert_eq!(default_of(VOLUNTEER_HOUR).unwrap().points, 10);
        assert_eq!(short_code(6).len(), 6);
    }

    proptest! {
        // Never more minutes than scheduled or than attended; never more points than the hours earn.
        #[test]
        fn never_more_than_served(s in 0i64..100_000_000, len in 0i64..20_000_000, a in 0i64..200_000_000, b in 0i64..200_000_000, per in 0i64..1000) {
            let e = s + len;
            let m = credited_minutes(s, e, a, b);
            prop_assert!(m >= 0);
            prop_assert!(m <= scheduled_minutes(s, e));
            prop_assert!(m * 60_000 <= (b - a).max(0));
            let pts = points_for_minutes(m, per);
            prop_assert!(pts * 60 <= m * per);
            prop_assert!(pts * 60 > m * per - 60 || m == 0 || per == 0);
        }
    }
}
