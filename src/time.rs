//! Instants: stored as integer milliseconds UTC, shown in China time (Asia/Shanghai, UTC+8, no DST).

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

pub fn china() -> TimeZone {
    TimeZone::fixed(Offset::constant(8))
}

/// `2026-11-24 13:05:09` in China time.
pub fn format_ms(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(china()).strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => String::new(),
    }
}

/// `2026-11` (the China-time month), or empty for an instant out of range.
pub fn month_ms(ms: i64) -> String {
    strftime_ms(ms, "%Y-%m")
}

/// `2026-11-24` (the China-time day), or empty for an instant out of range.
pub fn day_ms(ms: i64) -> String {
    strftime_ms(ms, "%Y-%m-%d")
}

fn strftime_ms(ms: i64, format: &str) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(china()).strftime(format).to_string(),
        Err(_) => String::new(),
    }
}

/// `2026-11-26 22:18`: an instant to the minute, for pages (no seconds, no `T`, no offset).
pub fn minute_ms(ms: i64) -> String {
    strftime_ms(ms, "%Y-%m-%d %H:%M")
}

/// An instant as people say it on a page, in China time: `11月26日 22:18` within the year of
/// `now_ms`, `2025-11-26 22:18` for another year (so a date is never ambiguous).
pub fn when_ms(ms: i64, now_ms: i64) -> String {
    let (Ok(t), Ok(now)) = (Timestamp::from_millisecond(ms), Timestamp::from_millisecond(now_ms)) else {
        return String::new();
    };
    let (t, now) = (t.to_zoned(china()), now.to_zoned(china()));
    if t.year() == now.year() {
        format!("{}月{}日 {}", t.month(), t.day(), t.strftime("%H:%M"))
    } else {
        t.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// `11月26日` (or `2025-11-26` in another year than `now_ms`'s).
pub fn date_when_ms(ms: i64, now_ms: i64) -> String {
    let (Ok(t), Ok(now)) = (Timestamp::from_millisecond(ms), Timestamp::from_millisecond(now_ms)) else {
        return String::new();
    };
    let (t, now) = (t.to_zoned(china()), now.to_zoned(china()));
    if t.year() == now.year() {
        format!("{}月{}日", t.month(), t.day())
    } else {
        t.strftime("%Y-%m-%d").to_string()
    }
}

/// RFC 3339 with the +08:00 offset, for the API only: pages use `when_ms` or `minute_ms`.
/// Written out by hand: a search answers with three per request, and `strftime` (which reads its
/// pattern each time) took a tenth of a 1,000-request Open311 search.
pub fn rfc3339_ms(ms: i64) -> String {
    use std::fmt::Write;
    let Ok(t) = Timestamp::from_millisecond(ms) else {
        return String::new();
    };
    let d = Offset::constant(8).to_datetime(t);
    if !(0..=9999).contains(&d.year()) {
        return t.to_zoned(china()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    }
    let mut out = String::with_capacity(25);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+08:00",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    );
    out
}

/// The China-time week (Monday 00:00 to the next Monday 00:00) holding `ms`.
pub fn week_of(ms: i64) -> (i64, i64) {
    let Ok(t) = Timestamp::from_millisecond(ms) else { return (ms, ms) };
    let z = t.to_zoned(china());
    let back = i64::from(z.weekday().to_monday_zero_offset());
    let monday = z.date().checked_sub(jiff::Span::new().days(back)).unwrap_or(z.date());
    match monday.to_zoned(china()) {
        Ok(m) => {
            let start = m.timestamp().as_millisecond();
            (start, start + 7 * 86_400_000)
        }
        Err(_) => (ms, ms),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn weeks_run_from_monday_in_china() {
        // Thursday 2026-11-26 10:00 China time; that Monday 00:00 is 2026-11-23T00:00+08:00.
        let thu = "2026-11-26T10:00:00+08:00".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let mon = "2026-11-23T00:00:00+08:00".parse::<jiff::Timestamp>().unwrap().as_millisecond();
        assert_eq!(super::week_of(thu), (mon, mon + 7 * 86_400_000));
        assert_eq!(super::week_of(mon), (mon, mon + 7 * 86_400_000));
        assert_eq!(super::week_of(mon - 1).1, mon, "Sunday 23:59 is the week before");
    }

    proptest::proptest! {
        /// The hand-written RFC 3339 says what `strftime` says, over the whole range.
        #[test]
        fn rfc3339_by_hand_is_strftime(ms in -62_000_000_000_000i64..253_402_300_799_000i64) {
            let t = jiff::Timestamp::from_millisecond(ms).unwrap();
            let slow = t.to_zoned(super::china()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
            proptest::prop_assert_eq!(super::rfc3339_ms(ms), slow);
        }
    }

    #[test]
    fn china_time() {
        // 2026-01-01T00:00:00Z is 08:00 in Shanghai.
        assert_eq!(super::format_ms(1_767_225_600_000), "2026-01-01 08:00:00");
        assert_eq!(super::rfc3339_ms(1_767_225_600_000), "2026-01-01T08:00:00+08:00");
        assert_eq!(super::month_ms(1_767_225_600_000 - 8 * 3_600_000 - 1), "2025-12");
        assert_eq!(super::day_ms(1_767_225_600_000), "2026-01-01");
        assert_eq!(super::month_ms(i64::MAX), "", "out of range is empty, never a panic");
    }

    #[test]
    fn pages_say_times_as_people_do() {
        // 2026-11-26 14:18:30Z is 22:18 in Shanghai.
        let t = 1_795_702_710_000;
        let same_year = 1_767_225_600_000 + 86_400_000; // 2026-01-02
        assert_eq!(super::minute_ms(t), "2026-11-26 22:18");
        assert_eq!(super::when_ms(t, same_year), "11月26日 22:18");
        assert_eq!(super::date_when_ms(t, same_year), "11月26日");
        // In another year the year is said, in the short numeric form.
        assert_eq!(super::when_ms(t, t + 365 * 86_400_000), "2026-11-26 22:18");
        assert_eq!(super::date_when_ms(t, t + 365 * 86_400_000), "2026-11-26");
        // The year turns at midnight China time, not UTC: 2025-12-31 23:30 in Shanghai.
        let eve = 1_767_225_600_000 - 8 * 3_600_000 - 30 * 60_000;
        assert_eq!(super::when_ms(eve, same_year), "2025-12-31 23:30");
        assert_eq!(super::when_ms(i64::MAX, same_year), "");
        assert!(!super::when_ms(t, same_year).contains('T'));
    }
}
