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

/// The most service one volunteer is credited in a China calendar day (by the activities' start):
/// a day is not longer than this however many activities claim it.
pub const MAX_MINUTES_PER_DAY: i64 = 12 * 60;

/// The most one correction may add or take (积分更正 fixes a mistake; it is not a way to pay).
pub const MAX_CORRECTION_POINTS: i64 = 1_000;

/// Corrections one account may make in a China day.
pub const MAX_CORRECTIONS_PER_DAY: i64 = 50;

/// How far back an activity may be dated when it is created: what was held earlier today or
/// yesterday is recorded; older service is not a new activity.
pub const MAX_BACKDATE_MS: i64 = 24 * 3_600_000;

/// Minutes that may still be credited on a day that already holds `already`.
pub fn within_daily_cap(already: i64, minutes: i64) -> i64 {
    minutes.min(MAX_MINUTES_PER_DAY - already.max(0)).max(0)
}

/// Midnight in China (UTC+8, no daylight saving) of the day holding `ms`, and the next one.
pub fn china_day(ms: i64) -> (i64, i64) {
    const DAY: i64 = 86_400_000;
    const OFFSET: i64 = 8 * 3_600_000;
    let start = (ms + OFFSET).div_euclid(DAY) * DAY - OFFSET;
    (start, start + DAY)
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

    #[test]
    fn a_china_day_runs_from_midnight_to_midnight() {
        let at: jiff::Timestamp = "2026-11-25T23:59:00+08:00".parse().unwrap();
        let midnight: jiff::Timestamp = "2026-11-25T00:00:00+08:00".parse().unwrap();
        assert_eq!(
            china_day(at.as_millisecond()),
            (midnight.as_millisecond(), midnight.as_millisecond() + 86_400_000)
        );
        let early: jiff::Timestamp = "2026-11-26T00:00:00+08:00".parse().unwrap();
        assert_eq!(china_day(early.as_millisecond()).0, early.as_millisecond());
        assert_eq!(within_daily_cap(0, 600), 600);
        assert_eq!(within_daily_cap(600, 600), MAX_MINUTES_PER_DAY - 600);
        assert_eq!(within_daily_cap(MAX_MINUTES_PER_DAY, 60), 0);
    }

    proptest! {
        // However many activities claim a day, what is credited never passes the cap, and what
        // fits is credited whole.
        #[test]
        fn a_day_never_holds_more_than_the_cap(claims in proptest::collection::vec(0i64..1_500, 0..20)) {
            let mut day = 0;
            for m in claims {
                let got = within_daily_cap(day, m);
                prop_assert!(got >= 0 && got <= m);
                if day + m <= MAX_MINUTES_PER_DAY {
                    prop_assert_eq!(got, m);
                }
                day += got;
                prop_assert!(day <= MAX_MINUTES_PER_DAY);
            }
        }

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
