//! Care visit rules (关爱走访): the tags visited, each tag's schedule, when a person is next due,
//! how overdue, when the compound and the community are alerted, and where a visit took place.
//! Pure, no I/O.

use geo::{Distance, Euclidean, Intersects, Point, Polygon};
use jiff::ToSpan;
use jiff::civil::Date;

/// The registry tags of people visited on a schedule (重点关爱对象), in the order pages show them.
pub const CARE_TAGS: [&str; 6] = ["独居老人", "空巢老人", "残疾人", "低保", "监测对象", "留守儿童"];

/// How often a tag's people are visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Days(u32),
    Weeks(u32),
    /// Calendar months: the same day of the month, or the month's last day when it has none.
    Months(u32),
}

impl Every {
    /// From the stored or typed unit and count, bounded (at most a year between visits).
    pub fn parse(unit: &str, count: i64) -> Result<Every, String> {
        let (max, make): (i64, fn(u32) -> Every) = match unit {
            "day" => (366, Every::Days),
            "week" => (52, Every::Weeks),
            "month" => (12, Every::Months),
            _ => return Err("走访周期单位应为天、周或月".into()),
        };
        if !(1..=max).contains(&count) {
            return Err(format!("走访周期应为1至{max}{}", Every::unit_label_of(unit)));
        }
        Ok(make(count as u32))
    }

    pub fn unit(self) -> &'static str {
        match self {
            Every::Days(_) => "day",
            Every::Weeks(_) => "week",
            Every::Months(_) => "month",
        }
    }

    pub fn count(self) -> u32 {
        match self {
            Every::Days(n) | Every::Weeks(n) | Every::Months(n) => n,
        }
    }

    fn unit_label_of(unit: &str) -> &'static str {
        match unit {
            "day" => "天",
            "week" => "周",
            _ => "个月",
        }
    }

    /// 每周, 每2周, 每月, 每季度, 每10天 …
    pub fn label(self) -> String {
        match self {
            Every::Weeks(1) => "每周".into(),
            Every::Months(1) => "每月".into(),
            Every::Months(3) => "每季度".into(),
            Every::Days(n) => format!("每{n}天"),
            Every::Weeks(n) => format!("每{n}周"),
            Every::Months(n) => format!("每{n}个月"),
        }
    }
}

/// One tag's schedule as the district sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub tag: &'static str,
    pub every: Every,
    /// Working days a visit may be late before the compound is alerted.
    pub grace_days: u32,
    /// Off: the tag's people are not on anyone's list.
    pub active: bool,
}

/// The most working days of grace a district may allow.
pub const MAX_GRACE: i64 = 60;

/// The schedules a district starts with (独居老人 weekly, 残疾人 and 监测对象 monthly, 低保
/// quarterly, as the district's care policy sets them).
pub fn defaults() -> Vec<Schedule> {
    let s = |tag, every, grace_days| Schedule {
        tag,
        every,
        grace_days,
        active: true,
    };
    vec![
        s("独居老人", Every::Weeks(1), 2),
        s("空巢老人", Every::Months(1), 5),
        s("残疾人", Every::Months(1), 5),
        s("低保", Every::Months(3), 10),
        s("监测对象", Every::Months(1), 5),
        s("留守儿童", Every::Months(1), 5),
    ]
}

/// The care tag spelled `t`, as the static name.
pub fn care_tag(t: &str) -> Option<&'static str> {
    CARE_TAGS.iter().copied().find(|c| *c == t)
}

/// The day the next visit is due after one on `last`.
pub fn next_due(last: Date, every: Every) -> Date {
    let span = match every {
        Every::Days(n) => i64::from(n).days(),
        Every::Weeks(n) => (i64::from(n) * 7).days(),
        // jiff clamps to the month's last day (01-31 + 1 month = 02-28 or 02-29).
        Every::Months(n) => i64::from(n).months(),
    };
    last.checked_add(span).unwrap_or(Date::MAX)
}

/// Who has been told a visit is late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Escalation {
    None,
    /// Late beyond the grace: the compound's grid leader sees it.
    Compound,
    /// Late by a second allowance (as long as the grace, at least 5 working days): the community.
    Community,
}

impl Escalation {
    pub fn as_str(self) -> &'static str {
        match self {
            Escalation::None => "none",
            Escalation::Compound => "compound",
            Escalation::Community => "community",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Escalation::None => "",
            Escalation::Compound => "已提醒小区",
            Escalation::Community => "已上报社区",
        }
    }
}

/// Where a person stands on `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub due: Date,
    /// Calendar days past the due day (0 on or before it).
    pub overdue_days: i64,
    pub escalation: Escalation,
}

/// The working days after `due` up to and including `today`, counted no further than `cap`
/// (a year overdue costs no more than the escalation needs).
fn late_working_days(due: Date, today: Date, cap: u32, is_workday: &dyn Fn(Date) -> bool) -> u32 {
    let mut n = 0;
    let mut d = due;
    while d < today && n < cap {
        d = d.tomorrow().unwrap_or(Date::MAX);
        if is_workday(d) {
            n += 1;
        }
    }
    n
}

/// The person's standing: overdue counts calendar days (care does not stop on holidays); the
/// alert to the compound and the community counts working days, so a Spring Festival week does
/// not escalate before the staff who answer it are back.
pub fn standing(due: Date, today: Date, grace_days: u32, is_workday: &dyn Fn(Date) -> bool) -> Standing {
    let overdue_days = if today > due { (today - due).get_days() as i64 } else { 0 };
    let second = grace_days + grace_days.max(5);
    let late = late_working_days(due, today, second + 1, is_workday);
    let escalation = if late > second {
        Escalation::Community
    } else if late > grace_days {
        Escalation::Compound
    } else {
        Escalation::None
    };
    Standing {
        due,
        overdue_days,
        escalation,
    }
}

/// How the person was found (身体和生活状况).
pub const CONDITIONS: [(&str, &str); 4] = [
    ("good", "良好"),
    ("fair", "一般"),
    ("poor", "较差，需关注"),
    // The officer called but did not see the person: recorded, but the schedule still runs.
    ("absent", "未见到本人"),
];

pub fn condition_label(c: &str) -> &'static str {
    CONDITIONS.iter().find(|x| x.0 == c).map_or("", |x| x.1)
}

/// A visit on which the person was seen resets the schedule; a call with nobody home does not.
pub fn counts_as_visit(condition: &str) -> bool {
    condition != "absent"
}

/// Where the phone was when the visit was recorded, against the building's boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    InBuilding,
    Outside,
    Unknown,
}

/// About 50 m in degrees: a phone's fix indoors is often that far off.
const TOLERANCE_DEG: f64 = 0.000_45;

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Position::InBuilding => "in_building",
            Position::Outside => "outside",
            Position::Unknown => "unknown",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Position::InBuilding => "在楼栋",
            Position::Outside => "不在楼栋",
            Position::Unknown => "未定位",
        }
    }

    pub fn parse(s: &str) -> Position {
        match s {
            "in_building" => Position::InBuilding,
            "outside" => Position::Outside,
            _ => Position::Unknown,
        }
    }
}

/// The visit's place: in (or within about 50 m of) the building's boundary, outside it, or not
/// known (no fix, or no boundary). Never a refusal: the officer may meet the person elsewhere.
pub fn position(boundary: Option<&Polygon<f64>>, at: Option<(f64, f64)>) -> Position {
    let (Some(poly), Some((lat, lng))) = (boundary, at) else {
        return Position::Unknown;
    };
    let p = Point::new(lng, lat);
    if poly.intersects(&p) || Euclidean.distance(&p, poly) <= TOLERANCE_DEG {
        Position::InBuilding
    } else {
        Position::Outside
    }
}

/// The China-time day of an instant in milliseconds.
pub fn day_of_ms(ms: i64) -> Date {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(crate::time::china()).date())
        .unwrap_or(Date::MIN)
}

/// Midnight (China time) starting `d`, in milliseconds.
pub fn ms_of_day(d: Date) -> i64 {
    d.to_zoned(crate::time::china()).map_or(0, |z| z.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn weekdays(d: Date) -> bool {
        !matches!(d.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday)
    }

    #[test]
    fn months_clamp_at_month_end() {
        assert_eq!(next_due(date(2026, 1, 31), Every::Months(1)), date(2026, 2, 28));
        assert_eq!(next_due(date(2028, 1, 31), Every::Months(1)), date(2028, 2, 29));
        assert_eq!(next_due(date(2026, 11, 30), Every::Months(3)), date(2027, 2, 28));
        assert_eq!(next_due(date(2026, 12, 29), Every::Weeks(1)), date(2027, 1, 5));
        assert_eq!(next_due(date(2026, 2, 27), Every::Days(3)), date(2026, 3, 2));
    }

    #[test]
    fn escalation_counts_working_days_over_the_holiday() {
        let cal = crate::cases::calendar::Calendar::built_in();
        let work = |d: Date| cal.is_working_day(d);
        // Due the last day before the 2026 National Day week (10-01..10-07 off, 10-10 worked).
        let due = date(2026, 9, 30);
        let s = standing(due, date(2026, 10, 7), 2, &work);
        assert_eq!(s.overdue_days, 7);
        assert_eq!(s.escalation, Escalation::None, "a week of holiday is no working day late");
        assert_eq!(standing(due, date(2026, 10, 9), 2, &work).escalation, Escalation::None);
        assert_eq!(standing(due, date(2026, 10, 10), 2, &work).escalation, Escalation::Compound);
        // A plain week: Monday due, two working days of grace, five more before the community.
        let mon = date(2026, 11, 16);
        assert_eq!(standing(mon, mon, 2, &weekdays).escalation, Escalation::None);
        assert_eq!(standing(mon, date(2026, 11, 18), 2, &weekdays).escalation, Escalation::None);
        assert_eq!(standing(mon, date(2026, 11, 19), 2, &weekdays).escalation, Escalation::Compound);
        assert_eq!(standing(mon, date(2026, 11, 25), 2, &weekdays).escalation, Escalation::Compound);
        assert_eq!(standing(mon, date(2026, 11, 26), 2, &weekdays).escalation, Escalation::Community);
        assert_eq!(standing(mon, date(2026, 11, 10), 2, &weekdays).overdue_days, 0);
    }

    #[test]
    fn every_is_bounded() {
        assert_eq!(Every::parse("week", 1), Ok(Every::Weeks(1)));
        assert_eq!(Every::parse("month", 3).map(Every::label), Ok("每季度".to_string()));
        assert!(Every::parse("month", 13).is_err());
        assert!(Every::parse("day", 0).is_err());
        assert!(Every::parse("year", 1).is_err());
        for s in defaults() {
            assert!(care_tag(s.tag).is_some());
            assert!(i64::from(s.grace_days) <= MAX_GRACE);
            assert_eq!(Every::parse(s.every.unit(), i64::from(s.every.count())), Ok(s.every));
        }
    }

    #[test]
    fn position_against_the_building() {
        let poly = Polygon::new(
            vec![(114.0, 33.0), (114.001, 33.0), (114.001, 33.001), (114.0, 33.001), (114.0, 33.0)].into(),
            vec![],
        );
        assert_eq!(position(Some(&poly), Some((33.0005, 114.0005))), Position::InBuilding);
        assert_eq!(position(Some(&poly), Some((33.0013, 114.0005))), Position::InBuilding, "30 m off");
        assert_eq!(position(Some(&poly), Some((33.01, 114.0005))), Position::Outside);
        assert_eq!(position(Some(&poly), None), Position::Unknown);
        assert_eq!(position(None, Some((33.0005, 114.0005))), Position::Unknown);
        assert!(!counts_as_visit("absent"));
        assert!(counts_as_visit("poor"));
    }

    fn any_every() -> impl Strategy<Value = Every> {
        prop_oneof![
            (1u32..=366).prop_map(Every::Days),
            (1u32..=52).prop_map(Every::Weeks),
            (1u32..=12).prop_map(Every::Months),
        ]
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (0i64..3650).prop_map(|n| date(2024, 1, 1).checked_add(n.days()).unwrap())
    }

    proptest! {
        #[test]
        fn next_due_is_later_and_bounded(last in any_date(), every in any_every()) {
            let due = next_due(last, every);
            prop_assert!(due > last);
            let days = (due - last).get_days();
            match every {
                Every::Days(n) => prop_assert_eq!(days, n as i32),
                Every::Weeks(n) => prop_assert_eq!(days, 7 * n as i32),
                Every::Months(n) => {
                    // n months are between 28n and 31n days; the day of the month is kept or clamped.
                    prop_assert!(days >= 28 * n as i32 - 3 && days <= 31 * n as i32);
                    prop_assert!(due.day() == last.day() || (due.day() < last.day() && due.tomorrow().unwrap().day() == 1));
                }
            }
        }

        #[test]
        fn standing_is_monotone_in_time(due in any_date(), a in 0i64..400, b in 0i64..400, grace in 0u32..=60) {
            let (a, b) = (a.min(b), a.max(b));
            let cal = crate::cases::calendar::Calendar::built_in();
            let work = |d: Date| cal.is_working_day(d);
            let start = due.checked_sub(30.days()).unwrap();
            let sa = standing(due, start.checked_add(a.days()).unwrap(), grace, &work);
            let sb = standing(due, start.checked_add(b.days()).unwrap(), grace, &work);
            prop_assert!(sa.overdue_days <= sb.overdue_days);
            prop_assert!(sa.escalation <= sb.escalation);
            // Nothing is escalated before it is overdue, and overdue counts calendar days.
            if sa.overdue_days == 0 { prop_assert_eq!(sa.escalation, Escalation::None); }
            prop_assert_eq!(sb.overdue_days, (b - 30).max(0));
            // More grace never alerts sooner.
            let lenient = standing(due, start.checked_add(b.days()).unwrap(), grace + 1, &work);
            prop_assert!(lenient.escalation <= sb.escalation);
        }

        #[test]
        fn a_day_round_trips(d in any_date()) {
            prop_assert_eq!(day_of_ms(ms_of_day(d)), d);
            prop_assert_eq!(day_of_ms(ms_of_day(d) + 86_399_999), d);
        }
    }
}
