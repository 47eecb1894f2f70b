//! The art. 278 rule (业主共同决定, 民法典第二百七十八条) as a pure function with exact integer
//! arithmetic: areas in hundredths of a square metre, thresholds compared by cross-multiplication.

use std::collections::{BTreeMap, HashMap};

/// The largest registered area of one exclusive unit, in hundredths of m² (100,000.00 m²).
pub const MAX_UNIT_AREA: i64 = 10_000_000;
/// The most exclusive units one register (or one preview) may hold.
pub const MAX_UNITS: usize = 20_000;

/// The threshold of the approval (表决规则).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// 四分之三以上 (matters 6, 7, 8): three quarters or more.
    ThreeQuarters,
    /// 过半数 (every other matter): more than half.
    Majority,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ThreeQuarters => "three_quarters",
            Rule::Majority => "majority",
        }
    }
}

/// The nine matters of art. 278 (第一款第一至九项).
pub const MATTERS: [&str; 9] = [
    "制定和修改业主大会议事规则",
    "制定和修改管理规约",
    "选举业主委员会或者更换业主委员会成员",
    "选聘和解聘物业服务企业或者其他管理人",
    "使用建筑物及其附属设施的维修资金",
    "筹集建筑物及其附属设施的维修资金",
    "改建、重建建筑物及其附属设施",
    "改变共有部分的用途或者利用共有部分从事经营活动",
    "有关共有和共同管理权利的其他重大事项",
];

/// The rule of a matter 1..=9, or None for any other number.
pub fn rule_of(matter: i64) -> Option<Rule> {
    match matter {
        6..=8 => Some(Rule::ThreeQuarters),
        1..=5 | 9 => Some(Rule::Majority),
        _ => None,
    }
}

/// The matter's name (Chinese), "" outside 1..=9.
pub fn matter_label(matter: i64) -> &'static str {
    if (1..=9).contains(&matter) {
        MATTERS[(matter - 1) as usize]
    } else {
        ""
    }
}

/// An owner's vote (同意 / 反对 / 弃权).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice {
    Yes,
    No,
    Abstain,
}

impl Choice {
    pub fn parse(s: &str) -> Option<Choice> {
        match s {
            "yes" => Some(Choice::Yes),
            "no" => Some(Choice::No),
            "abstain" => Some(Choice::Abstain),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::No => "no",
            Choice::Abstain => "abstain",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Choice::Yes => "同意",
            Choice::No => "反对",
            Choice::Abstain => "弃权",
        }
    }
}

/// Why an area is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaError {
    /// Not a plain non-negative decimal number (a sign, letters, nothing).
    Malformed,
    /// A minus sign.
    Negative,
    /// More than two decimals.
    TooPrecise,
    /// Zero, or more than [`MAX_UNIT_AREA`].
    OutOfRange,
}

/// Parse a registered area ("89.5", "89.50", "１２０") into hundredths of m². Full-width digits
/// are accepted; at most two decimals; greater than 0 and at most 100,000.00.
pub fn parse_area(s: &str) -> Result<i64, AreaError> {
    let s = crate::identity::half_width(s.trim());
    let s = s.trim();
    if s.starts_with('-') {
        return Err(AreaError::Negative);
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AreaError::Malformed);
    }
    if s.contains('.') && frac.is_empty() {
        return Err(AreaError::Malformed);
    }
    if frac.len() > 2 {
        return Err(AreaError::TooPrecise);
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 7 {
        return Err(AreaError::OutOfRange);
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AreaError::Malformed)?
    };
    let f: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| AreaError::Malformed)? * 10,
        _ => frac.parse().map_err(|_| AreaError::Malformed)?,
    };
    let v = w * 100 + f;
    if v <= 0 || v > MAX_UNIT_AREA {
        return Err(AreaError::OutOfRange);
    }
    Ok(v)
}

/// Hundredths of m² as a decimal string with two decimals ("89.50").
pub fn format_area(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// One exclusive unit as the rule sees it: its counting owner and its area in hundredths of m².
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitShare<'a> {
    pub owner: &'a str,
    pub area: i64,
}

/// The outcome of a vote, every figure exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub rule: Rule,
    /// Area (hundredths of m²) and count of the owners who took part, and of all owners.
    pub part_area: i64,
    pub total_area: i64,
    pub part_owners: i64,
    pub total_owners: i64,
    pub participation_area_met: bool,
    pub participation_owners_met: bool,
    /// Area and count of the owners who voted yes, of the participants.
    pub yes_area: i64,
    pub yes_owners: i64,
    pub no_owners: i64,
    pub abstain_owners: i64,
    pub approval_area_met: bool,
    pub approval_owners_met: bool,
}

impl Tally {
    pub fn participation_met(&self) -> bool {
        self.participation_area_met && self.participation_owners_met
    }
    pub fn approval_met(&self) -> bool {
        self.approval_area_met && self.approval_owners_met
    }
    pub fn passed(&self) -> bool {
        self.participation_met() && self.approval_met()
    }
}

/// `value / total >= 2/3` (三分之二以上: the threshold itself counts). An empty whole never meets it.
pub fn two_thirds_or_more(value: i64, total: i64) -> bool {
    total > 0 && (value as i128) * 3 >= (total as i128) * 2
}

/// `value / total >= 3/4` (四分之三以上). An empty whole never meets it.
pub fn three_quarters_or_more(value: i64, total: i64) -> bool {
    total > 0 && (value as i128) * 4 >= (total as i128) * 3
}

/// `value / total > 1/2` (过半数: half itself is not enough).
pub fn more_than_half(value: i64, total: i64) -> bool {
    total > 0 && (value as i128) * 2 > total as i128
}

/// Sum the units per counting owner: (owner → area), in owner order. Each distinct owner string
/// counts once (an owner of several units, and the developer's units under one key).
pub fn owners<'a>(units: &[UnitShare<'a>]) -> BTreeMap<&'a str, i64> {
    let mut m: BTreeMap<&'a str, i64> = BTreeMap::new();
    for u in units {
        *m.entry(u.owner).or_insert(0) += u.area;
    }
    m
}

/// The art. 278 tally. `ballots` maps a counting owner to their vote; a ballot for an owner with
/// no unit is ignored here (the callers refuse it before). Owners without a ballot did not take part.
pub fn tally(rule: Rule, units: &[UnitShare<'_>], ballots: &HashMap<&str, Choice>) -> Tally {
    let by_owner = owners(units);
    let mut t = Tally {
        rule,
        part_area: 0,
        total_area: 0,
        part_owners: 0,
        total_owners: by_owner.len() as i64,
        participation_area_met: false,
        participation_owners_met: false,
        yes_area: 0,
        yes_owners: 0,
        no_owners: 0,
        abstain_owners: 0,
        approval_area_met: false,
        approval_owners_met: false,
    };
    for (owner, area) in &by_owner {
        t.total_area += area;
        if let Some(c) = ballots.get(owner) {
            t.part_area += area;
            t.part_owners += 1;
            match c {
                Choice::Yes => {
                    t.yes_area += area;
                    t.yes_owners += 1;
                }
                Choice::No => t.no_owners += 1,
                Choice::Abstain => t.abstain_owners += 1,
            }
        }
    }
    t.participation_area_met = two_thirds_or_more(t.part_area, t.total_area);
    t.participation_owners_met = two_thirds_or_more(t.part_owners, t.total_owners);
    let approve = match rule {
        Rule::ThreeQuarters => three_quarters_or_more,
        Rule::Majority => more_than_half,
    };
    t.approval_area_met = approve(t.yes_area, t.part_area);
    t.approval_owners_met = approve(t.yes_owners, t.part_owners);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn units(list: &[(&'static str, i64)]) -> Vec<UnitShare<'static>> {
        list.iter().map(|(o, a)| UnitShare { owner: o, area: *a }).collect()
    }

    #[test]
    fn areas_parse_exactly() {
        assert_eq!(parse_area("89.50"), Ok(8950));
        assert_eq!(parse_area("89.5"), Ok(8950));
        assert_eq!(parse_area("120"), Ok(12000));
        assert_eq!(parse_area("１２０．０５"), Ok(12005));
        assert_eq!(parse_area("0.01"), Ok(1));
        assert_eq!(parse_area("100000.00"), Ok(MAX_UNIT_AREA));
        assert_eq!(parse_area("100000.01"), Err(AreaError::OutOfRange));
        assert_eq!(parse_area("0"), Err(AreaError::OutOfRange));
        assert_eq!(parse_area("-1"), Err(AreaError::Negative));
        assert_eq!(parse_area("1.005"), Err(AreaError::TooPrecise));
        assert_eq!(parse_area("1e3"), Err(AreaError::Malformed));
        assert_eq!(parse_area(""), Err(AreaError::Malformed));
        assert_eq!(parse_area(".5"), Err(AreaError::Malformed));
        assert_eq!(parse_area("5."), Err(AreaError::Malformed));
        assert_eq!(parse_area("+5"), Err(AreaError::Malformed));
        assert_eq!(parse_area("99999999999999999999"), Err(AreaError::OutOfRange));
        assert_eq!(format_area(8950), "89.50");
        assert_eq!(format_area(1), "0.01");
        assert_eq!(format_area(0), "0.00");
    }

    #[test]
    fn matters_and_rules() {
        assert_eq!(rule_of(6), Some(Rule::ThreeQuarters));
        assert_eq!(rule_of(8), Some(Rule::ThreeQuarters));
        assert_eq!(rule_of(5), Some(Rule::Majority));
        assert_eq!(rule_of(9), Some(Rule::Majority));
        assert_eq!(rule_of(0), None);
        assert_eq!(rule_of(10), None);
        assert_eq!(matter_label(7), "改建、重建建筑物及其附属设施");
    }

    #[test]
    fn thresholds_exactly_at_the_line() {
        // 2/3 itself counts; one hundredth less does not.
        assert!(two_thirds_or_more(200, 300));
        assert!(!two_thirds_or_more(199, 300));
        assert!(two_thirds_or_more(2, 3));
        assert!(!two_thirds_or_more(1, 2) && two_thirds_or_more(3, 3));
        // 3/4 itself counts.
        assert!(three_quarters_or_more(3, 4));
        assert!(!three_quarters_or_more(299, 400));
        assert!(three_quarters_or_more(300, 400));
        // Half is not enough; just above is.
        assert!(!more_than_half(2, 4));
        assert!(more_than_half(201, 400));
        assert!(!more_than_half(200, 400));
        // Nothing to measure never meets anything.
        assert!(!two_thirds_or_more(0, 0) && !three_quarters_or_more(0, 0) && !more_than_half(0, 0));
    }

    #[test]
    fn six_owners_at_each_line() {
        // Six owners of 100.00 m² each: 4 of 6 take part (exactly 2/3 of both).
        let u = units(&[("a", 10000), ("b", 10000), ("c", 10000), ("d", 10000), ("e", 10000), ("f", 10000)]);
        let b: HashMap<&str, Choice> = [("a", Choice::Yes), ("b", Choice::Yes), ("c", Choice::Yes), ("d", Choice::No)].into();
        let t = tally(Rule::ThreeQuarters, &u, &b);
        assert!(t.participation_met());
        assert_eq!((t.yes_owners, t.part_owners), (3, 4));
        assert!(t.approval_met() && t.passed(), "3 of 4 is three quarters");
        // The same under the majority rule: 3 of 4 is more than half.
        assert!(tally(Rule::Majority, &u, &b).passed());
        // 2 yes of 4: half is not enough.
        let b2: HashMap<&str, Choice> = [("a", Choice::Yes), ("b", Choice::Yes), ("c", Choice::Abstain), ("d", Choice::No)].into();
        let t2 = tally(Rule::Majority, &u, &b2);
        assert!(t2.participation_met() && !t2.approval_owners_met && !t2.passed());
        // 3 of 6 take part: under 2/3.
        let b3: HashMap<&str, Choice> = [("a", Choice::Yes), ("b", Choice::Yes), ("c", Choice::Yes)].into();
        let t3 = tally(Rule::Majority, &u, &b3);
        assert!(!t3.participation_owners_met && !t3.passed());
    }

    #[test]
    fn one_owner_of_many_units_counts_once() {
        // The developer holds 8 units; three residents one each. Owners: 4.
        let mut u = units(&[("r1", 9000), ("r2", 9000), ("r3", 9000)]);
        for _ in 0..8 {
            u.push(UnitShare {
                owner: "developer",
                area: 10000,
            });
        }
        let only_dev: HashMap<&str, Choice> = [("developer", Choice::Yes)].into();
        let t = tally(Rule::Majority, &u, &only_dev);
        assert_eq!((t.total_owners, t.part_owners), (4, 1));
        assert_eq!((t.total_area, t.part_area), (107000, 80000));
        assert!(t.participation_area_met && !t.participation_owners_met && !t.passed());
        let all: HashMap<&str, Choice> = [
            ("developer", Choice::Yes),
            ("r1", Choice::No),
            ("r2", Choice::No),
            ("r3", Choice::Yes),
        ]
        .into();
        let t = tally(Rule::Majority, &u, &all);
        // Owners 2 of 4 (not more than half), area 890 of 1070 (more than half).
        assert!(t.participation_met() && t.approval_area_met && !t.approval_owners_met && !t.passed());
    }

    #[test]
    fn empty_register_never_passes() {
        let t = tally(Rule::ThreeQuarters, &[], &HashMap::new());
        assert!(!t.passed() && !t.participation_met());
    }

    /// A reference written differently: fractions reduced by their gcd and compared as
    /// (numerator, denominator) pairs through u128 quotients and remainders.
    fn gcd(a: u128, b: u128) -> u128 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    /// Compare n1/d1 with n2/d2 by long division, no cross-multiplication.
    fn cmp_frac(n1: u128, d1: u128, n2: u128, d2: u128) -> std::cmp::Ordering {
        let (g1, g2) = (gcd(n1, d1).max(1), gcd(n2, d2).max(1));
        let (mut n1, mut d1, mut n2, mut d2) = (n1 / g1, d1 / g1, n2 / g2, d2 / g2);
        loop {
            let (q1, q2) = (n1 / d1, n2 / d2);
            if q1 != q2 {
                return q1.cmp(&q2);
            }
            let (r1, r2) = (n1 % d1, n2 % d2);
            match (r1 == 0, r2 == 0) {
                (true, true) => return std::cmp::Ordering::Equal,
                (true, false) => return std::cmp::Ordering::Less,
                (false, true) => return std::cmp::Ordering::Greater,
                _ => {}
            }
            // Compare r1/d1 with r2/d2 as the inverse of d2/r2 with d1/r1.
            let (a, b, c, d) = (d2, r2, d1, r1);
            n1 = a;
            d1 = b;
            n2 = c;
            d2 = d;
        }
    }

    fn reference(rule: Rule, units: &[(u8, i64)], votes: &[(u8, u8)]) -> (bool, bool, bool) {
        use std::cmp::Ordering::*;
        let mut area: BTreeMap<u8, u128> = BTreeMap::new();
        for (o, a) in units {
            *area.entry(*o).or_default() += *a as u128;
        }
        let mut vote: BTreeMap<u8, u8> = BTreeMap::new();
        for (o, c) in votes {
            if area.contains_key(o) {
                vote.insert(*o, *c);
            }
        }
        let total_a: u128 = area.values().sum();
        let total_o = area.len() as u128;
        let part_a: u128 = vote.keys().map(|o| area[o]).sum();
        let part_o = vote.len() as u128;
        let yes_a: u128 = vote.iter().filter(|(_, c)| **c == 0).map(|(o, _)| area[o]).sum();
        let yes_o = vote.values().filter(|c| **c == 0).count() as u128;
        let ge = |n, d, a, b| d > 0 && cmp_frac(n, d, a, b) != Less;
        let gt = |n, d, a, b| d > 0 && cmp_frac(n, d, a, b) == Greater;
        let participation = ge(part_a, total_a, 2, 3) && ge(part_o, total_o, 2, 3);
        let approval = match rule {
            Rule::ThreeQuarters => ge(yes_a, part_a, 3, 4) && ge(yes_o, part_o, 3, 4),
            Rule::Majority => gt(yes_a, part_a, 1, 2) && gt(yes_o, part_o, 1, 2),
        };
        (participation, approval, participation && approval)
    }

    const NAMES: [&str; 16] = [
        "o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8", "o9", "o10", "o11", "o12", "o13", "o14", "o15",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_registers_agree_with_the_reference(
            three_q in any::<bool>(),
            units in prop::collection::vec((0u8..16, 1i64..=MAX_UNIT_AREA), 1..40),
            votes in prop::collection::vec((0u8..18, 0u8..3), 0..30),
        ) {
            let rule = if three_q { Rule::ThreeQuarters } else { Rule::Majority };
            let shares: Vec<UnitShare> = units.iter().map(|(o, a)| UnitShare { owner: NAMES[*o as usize], area: *a }).collect();
            let mut ballots: HashMap<&str, Choice> = HashMap::new();
            for (o, c) in &votes {
                if (*o as usize) < NAMES.len() {
                    ballots.insert(NAMES[*o as usize], [Choice::Yes, Choice::No, Choice::Abstain][*c as usize]);
                }
            }
            let dedup: Vec<(u8, u8)> = {
                let mut m: BTreeMap<u8, u8> = BTreeMap::new();
                for (o, c) in &votes { if *o < 16 { m.insert(*o, *c); } }
                m.into_iter().collect()
            };
            let t = tally(rule, &shares, &ballots);
            let (p, a, passed) = reference(rule, &units, &dedup);
            prop_assert_eq!(t.participation_met(), p);
            prop_assert_eq!(t.approval_met(), a);
            prop_assert_eq!(t.passed(), passed);
            prop_assert!(t.part_area <= t.total_area && t.yes_area <= t.part_area);
        }

        /// Many owners of one unit each, equal areas: exactly at 2/3 and one short of it.
        #[test]
        fn participation_at_two_thirds_on_each_side(k in 1i64..400) {
            let n = 3 * k;
            let names: Vec<String> = (0..n).map(|i| format!("o{i}")).collect();
            let shares: Vec<UnitShare> = names.iter().map(|o| UnitShare { owner: o, area: 8950 }).collect();
            let at: HashMap<&str, Choice> = names.iter().take((2 * k) as usize).map(|o| (o.as_str(), Choice::Yes)).collect();
            let t = tally(Rule::Majority, &shares, &at);
            prop_assert!(t.participation_met() && t.passed());
            let short: HashMap<&str, Choice> = names.iter().take((2 * k - 1) as usize).map(|o| (o.as_str(), Choice::Yes)).collect();
            let t = tally(Rule::Majority, &shares, &short);
            prop_assert!(!t.participation_owners_met && !t.participation_area_met && !t.passed());
        }

        /// Everyone takes part; yes at exactly 3/4 and one short (matters 6–8), at exactly 1/2 and
        /// one more (the other matters).
        #[test]
        fn approval_at_three_quarters_and_half_on_each_side(k in 1i64..300) {
            let n = 4 * k;
            let names: Vec<String> = (0..n).map(|i| format!("o{i}")).collect();
            let shares: Vec<UnitShare> = names.iter().map(|o| UnitShare { owner: o, area: 12000 }).collect();
            let with_yes = |yes: i64| -> HashMap<&str, Choice> {
                names.iter().enumerate().map(|(i, o)| (o.as_str(), if (i as i64) < yes { Choice::Yes } else { Choice::No })).collect()
            };
            prop_assert!(tally(Rule::ThreeQuarters, &shares, &with_yes(3 * k)).passed());
            prop_assert!(!tally(Rule::ThreeQuarters, &shares, &with_yes(3 * k - 1)).passed());
            prop_assert!(!tally(Rule::Majority, &shares, &with_yes(2 * k)).passed());
            prop_assert!(tally(Rule::Majority, &shares, &with_yes(2 * k + 1)).passed());
        }

        /// Areas round-trip through their decimal form.
        #[test]
        fn areas_round_trip(v in 1i64..=MAX_UNIT_AREA) {
            prop_assert_eq!(parse_area(&format_area(v)), Ok(v));
        }
    }
}
