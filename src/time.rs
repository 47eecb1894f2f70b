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

/// RFC 3339 with the +08:00 offset.
pub fn rfc3339_ms(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(china()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn china_time() {
        // 2026-01-01T00:00:00Z is 08:00 in Shanghai.
        assert_eq!(super::format_ms(1_767_225_600_000), "2026-01-01 08:00:00");
        assert_eq!(super::rfc3339_ms(1_767_225_600_000), "2026-01-01T08:00:00+08:00");
        assert_eq!(super::month_ms(1_767_225_600_000 - 8 * 3_600_000 - 1), "2025-12");
        assert_eq!(super::day_ms(1_767_225_600_000), "2026-01-01");
        assert_eq!(super::month_ms(i64::MAX), "", "out of range is empty, never a panic");
    }
}
