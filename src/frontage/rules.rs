//! Frontage responsibility's pure rules (门前三包规则): the three duties, a check's outcome, when
//! a month's failures bring a notice (整改通知) and then a case, compliance rates, months in China
//! time. No I/O.

use jiff::civil::Date;

/// The three duties (三包), as (bit, code, Chinese name). An agreement holds a set of them.
pub const DUTIES: [(i64, &str, &str); 3] = [(1, "sanitation", "包卫生"), (2, "orderliness", "包秩序"), (4, "greenery", "包绿化")];

/// All three duties.
pub const ALL_DUTIES: i64 = 7;

/// Failed checks in one calendar month that bring a notice (第三次不合格发整改通知).
pub const NOTICE_AT: u32 = 3;

/// The Chinese names of the duties in `set`, joined with 、.
pub fn duty_labels(set: i64) -> String {
    DUTIES.iter().filter(|d| set & d.0 != 0).map(|d| d.2).collect::<Vec<_>>().join("、")
}

/// The duty set named by codes (`sanitation`, `orderliness`, `greenery`) or Chinese names; empty
/// or unknown names are refused.
pub fn parse_duties<S: AsRef<str>>(names: &[S]) -> Option<i64> {
    let mut set = 0;
    for n in names {
        let n = n.as_ref().trim();
        let d = DUTIES.iter().find(|d| d.1 == n || d.2 == n)?;
        set |= d.0;
    }
    (set != 0).then_some(set)
}

/// One check's results per duty: `Some(true)` passed, `Some(false)` failed, `None` not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Results {
    pub sanitation: Option<bool>,
    pub orderliness: Option<bool>,
    pub greenery: Option<bool>,
}

impl Results {
    fn by_bit(&self) -> [(i64, Option<bool>); 3] {
        [(1, self.sanitation), (2, self.orderliness), (4, self.greenery)]
    }

    /// The duties failed.
    pub fn failed(&self) -> i64 {
        self.by_bit().iter().filter(|r| r.1 == Some(false)).map(|r| r.0).sum()
    }
}

/// Why a check is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckError {
    /// A duty the agreement does not hold was given.
    NotAgreed,
    /// A duty of the agreement was left unchecked.
    Missing,
    /// A failure needs a photo.
    NoPhoto,
}

impl CheckError {
    pub fn code(self) -> &'static str {
        match self {
            CheckError::NotAgreed => "duty_not_agreed",
            CheckError::Missing => "duty_missing",
            CheckError::NoPhoto => "photo_required",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CheckError::NotAgreed => "责任书不含该项责任",
            CheckError::Missing => "请逐项选择合格或不合格",
            CheckError::NoPhoto => "不合格须拍照留证",
        }
    }
}

/// A check's outcome: passed only when every agreed duty passed. Every agreed duty must be
/// checked, no other, and a failure needs a photo.
pub fn outcome(agreed: i64, r: &Results, photo: bool) -> Result<bool, CheckError> {
    if r.by_bit().iter().any(|(bit, v)| agreed & bit == 0 && v.is_some()) {
        return Err(CheckError::NotAgreed);
    }
    if r.by_bit().iter().any(|(bit, v)| agreed & bit != 0 && v.is_none()) {
        return Err(CheckError::Missing);
    }
    let passed = r.failed() == 0;
    if !passed && !photo {
        return Err(CheckError::NoPhoto);
    }
    Ok(passed)
}

/// What a failed check brings, given the month so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// 整改通知: the third failure of the month.
    Notice,
    /// The next failure after the notice: a case in the shop's grid.
    Case,
}

/// The step after a check: `failures` counts the month's failed checks including this one;
/// `noticed` and `cased` say whether the month already has a notice or a case. One notice and
/// one case a month at most; a passed check brings nothing.
pub fn next_step(this_failed: bool, failures: u32, noticed: bool, cased: bool) -> Step {
    if !this_failed || cased {
        return Step::Nothing;
    }
    if !noticed {
        return if failures >= NOTICE_AT { Step::Notice } else { Step::Nothing };
    }
    Step::Case
}

/// The case category for a month's failures: the duty failed most (ties to the first), as the
/// district's category names it (卫生 → 市容环境, 秩序 → 街面秩序, 绿化 → 园林绿化).
pub fn category_name(failed_counts: [u32; 3]) -> &'static str {
    let mut best = 0;
    for i in 1..3 {
        if failed_counts[i] > failed_counts[best] {
            best = i;
        }
    }
    ["市容环境", "街面秩序", "园林绿化"][best]
}

/// Checks passed of checks made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compliance {
    pub checks: i64,
    pub passed: i64,
}

impl Compliance {
    /// The rate in tenths of a percent (985 = 98.5 %), rounded half up; none without checks.
    pub fn permille(&self) -> Option<i64> {
        (self.checks > 0).then(|| (self.passed * 2000 + self.checks) / (self.checks * 2))
    }

    /// `98.5%`, or `—` without checks.
    pub fn label(&self) -> String {
        match self.permille() {
            Some(p) => format!("{}.{}%", p / 10, p % 10),
            None => "—".into(),
        }
    }

    /// The rate as a fraction (0..=1), for the API.
    pub fn rate(&self) -> Option<f64> {
        self.permille().map(|p| p as f64 / 1000.0)
    }
}

/// A month `YYYY-MM` (China time) as its first day, or none.
pub fn parse_month(s: &str) -> Option<Date> {
    let s = s.trim();
    if s.len() != 7 || s.as_bytes()[4] != b'-' {
        return None;
    }
    let y: i16 = s[..4].parse().ok()?;
    let m: i8 = s[5..].parse().ok()?;
    if !(2000..=2100).contains(&y) {
        return None;
    }
    Date::new(y, m, 1).ok()
}

/// The instants `[start, end)` of the China-time month starting on `first`.
pub fn month_range(first: Date) -> (i64, i64) {
    let start = ms_of(first);
    let next = first.checked_add(jiff::Span::new().months(1)).unwrap_or(first);
    (start, ms_of(next))
}

fn ms_of(d: Date) -> i64 {
    d.to_zoned(crate::time::china())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// `YYYY-MM` of an instant, China time.
pub fn month_of(ms: i64) -> String {
    crate::time::month_ms(ms)
}

/// The agreement's last day: signed plus the term in months, less a day.
pub fn ends_on(signed: Date, term_months: i64) -> Date {
    signed
        .checked_add(jiff::Span::new().months(term_months))
        .and_then(|d| d.checked_sub(jiff::Span::new().days(1)))
        .unwrap_or(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn duties_parse_and_name() {
        assert_eq!(parse_duties(&["sanitation", "包绿化"]), Some(5));
        assert_eq!(parse_duties::<&str>(&[]), None);
        assert_eq!(parse_duties(&["包吃住"]), None);
        assert_eq!(duty_labels(ALL_DUTIES), "包卫生、包秩序、包绿化");
    }

    #[test]
    fn outcome_checks_every_agreed_duty_exhaustively() {
        let vals = [None, Some(true), Some(false)];
        for agreed in 1..=ALL_DUTIES {
            for a in vals {
                for b in vals {
                    for c in vals {
                        for photo in [false, true] {
                            let r = Results {
                                sanitation: a,
                                orderliness: b,
                                greenery: c,
                            };
                            let got = outcome(agreed, &r, photo);
                            let given = [(1, a), (2, b), (4, c)];
                            if given.iter().any(|g| agreed & g.0 == 0 && g.1.is_some()) {
                                assert_eq!(got, Err(CheckError::NotAgreed));
                            } else if given.iter().any(|g| agreed & g.0 != 0 && g.1.is_none()) {
                                assert_eq!(got, Err(CheckError::Missing));
                            } else if given.iter().any(|g| g.1 == Some(false)) {
                                assert_eq!(got, if photo { Ok(false) } else { Err(CheckError::NoPhoto) });
                            } else {
                                assert_eq!(got, Ok(true));
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn compliance_rounds_and_labels() {
        assert_eq!(Compliance { checks: 0, passed: 0 }.label(), "—");
        assert_eq!(Compliance { checks: 3, passed: 2 }.label(), "66.7%");
        assert_eq!(Compliance { checks: 8, passed: 8 }.label(), "100.0%");
        assert_eq!(Compliance { checks: 200, passed: 197 }.permille(), Some(985));
    }

    #[test]
    fn months_are_china_time() {
        let d = parse_month("2026-11").unwrap();
        let (a, b) = month_range(d);
        assert_eq!(month_of(a), "2026-11");
        assert_eq!(month_of(a - 1), "2026-10");
        assert_eq!(month_of(b - 1), "2026-11");
        assert_eq!(month_of(b), "2026-12");
        assert!(parse_month("2026-13").is_none());
        assert!(parse_month("26-11").is_none());
        assert_eq!(ends_on(jiff::civil::date(2026, 1, 15), 12), jiff::civil::date(2027, 1, 14));
    }

    #[test]
    fn category_follows_the_duty_failed_most() {
        assert_eq!(category_name([0, 0, 0]), "市容环境");
        assert_eq!(category_name([1, 3, 2]), "街面秩序");
        assert_eq!(category_name([1, 1, 2]), "园林绿化");
    }

    proptest! {
        // A month of checks: the notice comes exactly with the third failure, the case exactly
        // with the first failure after the notice, each at most once, the notice first; passes
        // never bring anything.
        #[test]
        fn a_month_brings_a_notice_then_a_case(outcomes in proptest::collection::vec(any::<bool>(), 0..40)) {
            let (mut failures, mut noticed, mut cased) = (0u32, false, false);
            for (i, failed) in outcomes.iter().copied().enumerate() {
                if failed { failures += 1; }
                let step = next_step(failed, failures, noticed, cased);
                let fails_so_far = outcomes[..=i].iter().filter(|f| **f).count() as u32;
                match step {
                    Step::Notice => {
                        prop_assert!(failed && !noticed && !cased);
                        prop_assert_eq!(fails_so_far, NOTICE_AT);
                        noticed = true;
                    }
                    Step::Case => {
                        prop_assert!(failed && noticed && !cased);
                        prop_assert_eq!(fails_so_far, NOTICE_AT + 1);
                        cased = true;
                    }
                    Step::Nothing => {
                        prop_assert!(!failed || !(NOTICE_AT..=NOTICE_AT + 1).contains(&fails_so_far));
                    }
                }
            }
            let total = outcomes.iter().filter(|f| **f).count() as u32;
            prop_assert_eq!(noticed, total >= NOTICE_AT);
            prop_assert_eq!(cased, total > NOTICE_AT);
        }

        #[test]
        fn compliance_is_between_zero_and_a_thousand(checks in 1i64..100_000, passed_frac in 0.0f64..=1.0) {
            let passed = ((checks as f64) * passed_frac).floor() as i64;
            let p = Compliance { checks, passed }.permille().unwrap();
            prop_assert!((0..=1000).contains(&p));
            prop_assert_eq!(p == 1000, (checks - passed) * 2000 <= checks);
        }
    }
}
