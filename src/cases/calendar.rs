//! The working-day calendar (工作日): China's statutory holidays and adjusted working days (调休),
//! one data file per year, and deadlines counted on it in China time. Pure, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use jiff::{Timestamp, ToSpan};
use serde::Deserialize;

/// The official schedules shipped with the binary; admins may add or replace years.
pub const BUILT_IN: [&str; 2] = [include_str!("../../calendar/2025.toml"), include_str!("../../calendar/2026.toml")];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i16,
    holidays: Vec<HolidayRange>,
    #[serde(default)]
    workdays: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayRange {
    name: String,
    from: String,
    to: String,
}

/// A parsed calendar: days off that would otherwise be working days, and weekend days worked.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    off: BTreeMap<Date, String>,
    worked: BTreeSet<Date>,
    years: BTreeSet<i16>,
}

fn date(s: &str) -> Result<Date, String> {
    s.parse::<Date>().map_err(|_| format!("日期格式不正确：{s}（应为 YYYY-MM-DD）"))
}

impl Calendar {
    /// The calendar with the built-in years.
    pub fn built_in() -> Calendar {
        let mut c = Calendar::default();
        for text in BUILT_IN {
            c.add_year(text).expect("built-in calendar files are valid");
        }
        c
    }

    /// The built-in years, then every `*.toml` in `dir` (if it exists), which may add or replace
    /// years: how admins publish next year's schedule without a new release.
    pub fn with_updates(dir: &std::path::Path) -> anyhow::Result<Calendar> {
        let mut c = Calendar::built_in();
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut files: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for f in files {
                let text = std::fs::read_to_string(&f)?;
                let year = c.add_year(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
                tracing::info!(file = %f.display(), year, "holiday calendar loaded");
            }
        }
        Ok(c)
    }

    /// Add (or replace) one year's schedule from its TOML text. Checks that every date is in
    /// that year, that ranges run forwards, and that a day is not both off and worked.
    pub fn add_year(&mut self, text: &str) -> Result<i16, String> {
        let f: YearFile = toml::from_str(text).map_err(|e| format!("节假日文件格式不正确：{e}"))?;
        let mut off = BTreeMap::new();
        for h in &f.holidays {
            let (from, to) = (date(&h.from)?, date(&h.to)?);
            if from > to || to.since(from).map(|s| s.get_days()).unwrap_or(99) > 30 {
                return Err(format!("「{}」的起止日期不正确", h.name));
            }
            let mut d = from;
            while d <= to {
                off.insert(d, h.name.clone());
                d = d.tomorrow().map_err(|e| e.to_string())?;
            }
        }
        let mut worked = BTreeSet::new();
        for w in &f.workdays {
            let d = date(w)?;
            if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
                return Err(format!("调休上班日 {w} 不是周末"));
            }
            if off.contains_key(&d) {
                return Err(format!("{w} 既是假日又是上班日"));
            }
            worked.insert(d);
        }
        if off.keys().chain(worked.iter()).any(|d| d.year() != f.year) {
            return Err(format!("文件中的日期应都在 {} 年", f.year));
        }
        self.off.retain(|d, _| d.year() != f.year);
        self.worked.retain(|d| d.year() != f.year);
        self.off.extend(off);
        self.worked.extend(worked);
        self.years.insert(f.year);
        Ok(f.year)
    }

    /// Years with an official schedule; other years count Monday to Friday only.
    pub fn years(&self) -> impl Iterator<Item = i16> + '_ {
        self.years.iter().copied()
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        if self.worked.contains(&d) {
            return true;
        }
        if self.off.contains_key(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
    }

    pub fn holiday_name(&self, d: Date) -> Option<&str> {
        self.off.get(&d).map(String::as_str)
    }

    /// N working days after `from`: the same time of day (China time) on the N-th working day
    /// after `from`'s date. N = 0 is `from` itself.
    pub fn add_working_days(&self, from: Timestamp, n: u32) -> Timestamp {
        let local = from.to_zoned(crate::time::china());
        let mut d = local.date();
        let mut left = n;
        while left > 0 {
            d = match d.tomorrow() {
                Ok(next) => next,
                Err(_) => return from,
            };
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        let due = d.to_datetime(local.time());
        due.to_zoned(crate::time::china()).map(|z| z.timestamp()).unwrap_or(from)
    }

    /// N clock hours after `from` (urgent categories run on the clock, holidays included).
    pub fn add_hours(&self, from: Timestamp, n: u32) -> Timestamp {
        from.checked_add(i64::from(n).hours()).unwrap_or(from)
    }

    /// Working days strictly after `a`'s date, up to and including `b`'s date.
    pub fn working_days_between(&self, a: Date, b: Date) -> u32 {
        let mut n = 0;
        let mut d = a;
        while d < b {
            d = match d.tomorrow() {
                Ok(x) => x,
                Err(_) => break,
            };
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> Timestamp {
        jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M", s)
            .unwrap()
            .to_zoned(crate::time::china())
            .unwrap()
            .timestamp()
    }

    fn local(t: Timestamp) -> String {
        t.to_zoned(crate::time::china()).strftime("%Y-%m-%dT%H:%M").to_string()
    }

    #[test]
    fn official_2026_schedule() {
        let c = Calendar::built_in();
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert!(!c.is_working_day(d("2026-01-01")));
        assert!(c.is_working_day(d("2026-01-04")), "Sunday worked after New Year");
        assert!(c.is_working_day(d("2026-02-14")) && c.is_working_day(d("2026-02-28")));
        assert_eq!(c.holiday_name(d("2026-02-17")), Some("春节"));
        assert!(!c.is_working_day(d("2026-02-23")), "Monday off in Spring Festival");
        assert!(c.is_working_day(d("2026-02-24")));
        assert!(!c.is_working_day(d("2026-06-19")), "Friday off for Dragon Boat");
        assert!(c.is_working_day(d("2026-10-10")) && !c.is_working_day(d("2026-10-07")));
        assert!(!c.is_working_day(d("2026-11-28")), "an ordinary Saturday");
        assert!(c.is_working_day(d("2025-09-28")) && !c.is_working_day(d("2025-10-08")));
    }

    #[test]
    fn deadlines_across_holidays() {
        let c = Calendar::built_in();
        // Wednesday before National Day: the next working day is Thursday 8 October.
        assert_eq!(local(c.add_working_days(at("2026-09-30T10:15"), 1)), "2026-10-08T10:15");
        assert_eq!(
            local(c.add_working_days(at("2026-09-30T10:15"), 3)),
            "2026-10-10T10:15",
            "Saturday 10 October is worked"
        );
        assert_eq!(local(c.add_working_days(at("2026-02-13T17:00"), 1)), "2026-02-14T17:00");
        assert_eq!(local(c.add_working_days(at("2026-02-14T17:00"), 1)), "2026-02-24T17:00");
        // Reported on a Saturday: counting starts from the next day.
        assert_eq!(local(c.add_working_days(at("2026-11-28T09:00"), 1)), "2026-11-30T09:00");
        assert_eq!(local(c.add_working_days(at("2026-11-24T09:00"), 0)), "2026-11-24T09:00");
        // Late at night in China is the previous day in UTC; the date is China's.
        assert_eq!(local(c.add_working_days(at("2026-11-27T23:30"), 1)), "2026-11-30T23:30");
        assert_eq!(
            local(c.add_hours(at("2026-10-01T22:00"), 4)),
            "2026-10-02T02:00",
            "hours run through holidays"
        );
    }

    #[test]
    fn bad_files_are_refused() {
        let mut c = Calendar::built_in();
        assert!(
            c.add_year("year = 2027\nholidays = []\nworkdays = [\"2027-01-05\"]")
                .unwrap_err()
                .contains("不是周末")
        );
        assert!(
            c.add_year("year = 2027\nholidays = [{ name = \"x\", from = \"2027-01-03\", to = \"2027-01-01\" }]")
                .is_err()
        );
        assert!(
            c.add_year("year = 2027\nholidays = [{ name = \"x\", from = \"2026-12-31\", to = \"2026-12-31\" }]")
                .unwrap_err()
                .contains("2027")
        );
        assert!(c.add_year("year = 2027\nholiday = []").is_err());
        // Replacing a year drops its old days.
        c.add_year("year = 2026\nholidays = []").unwrap();
        assert!(c.is_working_day("2026-10-08".parse().unwrap()));
        assert!(!c.is_working_day("2026-10-10".parse().unwrap()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        // A holiday file is outside input (an admin's data dir): any text is a year or an error,
        // never a panic, and a refused file leaves the calendar as it was.
        #[test]
        fn any_calendar_file_is_a_year_or_an_error(text in "\\PC{0,200}", year in 1990i32..2200, m in 0u32..14, d in 0u32..33, days in -3i32..40) {
            let mut c = Calendar::built_in();
            let before: Vec<i16> = c.years().collect();
            let _ = c.add_year(&text);
            let file = format!("year = {year}\n[[holidays]]\nname = \"节\"\nfrom = \"{year}-{m:02}-{d:02}\"\nto = \"{year}-{m:02}-{:02}\"\n", (d as i32 + days).max(0));
            let mut c2 = Calendar::built_in();
            if c2.add_year(&file).is_err() {
                prop_assert_eq!(c2.years().collect::<Vec<_>>(), before);
            }
        }
    }

    proptest! {
        // For any start and N: the deadline keeps the time of day, falls on a working day, and
        // exactly N working days lie after the start date up to it.
        #[test]
        fn working_day_deadlines(day in 0i64..800, minute in 0i64..1440, n in 0u32..40) {
            let c = Calendar::built_in();
            let start = at("2025-01-01T00:00").checked_add((day * 1440 + minute).minutes()).unwrap();
            let due = c.add_working_days(start, n);
            let (s, d) = (start.to_zoned(crate::time::china()), due.to_zoned(crate::time::china()));
            prop_assert_eq!(s.time(), d.time());
            prop_assert_eq!(c.working_days_between(s.date(), d.date()), n);
            if n > 0 {
                prop_assert!(c.is_working_day(d.date()));
                prop_assert!(due > start);
            }
            prop_assert!(c.add_working_days(start, n + 1) > due);
        }
    }
}

#[cfg(test)]
mod update_tests {
    #[test]
    fn admins_add_a_year_from_the_data_dir() {
        let dir = std::env::temp_dir().join(format!("gongzhi-cal-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("2027.toml"),
            "year = 2027\nholidays = [{ name = \"元旦\", from = \"2027-01-01\", to = \"2027-01-03\" }]\nworkdays = []",
        )
        .unwrap();
        let c = super::Calendar::with_updates(&dir).unwrap();
        assert!(!c.is_working_day("2027-01-01".parse().unwrap()));
        assert_eq!(c.years().collect::<Vec<_>>(), vec![2025, 2026, 2027]);
        std::fs::write(
            dir.join("broken.toml"),
            "year = 2028\nholidays = [{ name = \"x\", from = \"2028-02-30\", to = \"2028-03-01\" }]",
        )
        .unwrap();
        assert!(super::Calendar::with_updates(&dir).unwrap_err().to_string().contains("broken.toml"));
        assert!(super::Calendar::with_updates(&dir.join("missing")).is_ok());
    }
}
