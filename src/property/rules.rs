//! Pure rules of red property (红色物业): coverage and 三无 derivation, quarters (季度), the combined
//! score of a company, its rank with ties, the red and black list (红黑榜) with the floor, the
//! removal flag (two black quarters in a row) and the prefilled response-to-cases score.

use std::collections::BTreeMap;

/// Who runs a compound's property service (物业服务).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// A property company (物业公司).
    Company,
    /// A property management committee (物业管理委员会, 物管会).
    ManagementCommittee,
    /// The owners manage it themselves (业主自管).
    SelfManaged,
    None,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Company => "company",
            Service::ManagementCommittee => "management_committee",
            Service::SelfManaged => "self",
            Service::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Service::Company => "物业公司",
            Service::ManagementCommittee => "物管会",
            Service::SelfManaged => "业主自管",
            Service::None => "无",
        }
    }

    /// The stored value of a compound without a company (`none`, `management_committee`, `self`).
    pub fn parse_stored(s: &str) -> Option<Service> {
        match s {
            "none" => Some(Service::None),
            "management_committee" => Some(Service::ManagementCommittee),
            "self" => Some(Service::SelfManaged),
            _ => None,
        }
    }
}

/// What is known of one compound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub has_company: bool,
    /// The stored service when there is no company.
    pub stored: Service,
    /// An owners' committee (业主委员会) unit at the compound.
    pub owners_committee_unit: bool,
    pub party_branch: bool,
    pub supervising_unit: bool,
}

/// What coverage makes of those facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub service: Service,
    /// An owners' committee or a 物管会.
    pub owners_committee: bool,
    /// 三无小区: no property company, no owners' committee (nor 物管会), no supervising unit.
    pub three_nos: bool,
    /// 红色物业覆盖: a property service, an owners' committee or 物管会, and a party branch.
    pub covered: bool,
}

pub fn coverage(f: Facts) -> Coverage {
    let service = if f.has_company { Service::Company } else { f.stored };
    let owners_committee = f.owners_committee_unit || service == Service::ManagementCommittee;
    Coverage {
        service,
        owners_committee,
        three_nos: !f.has_company && !owners_committee && !f.supervising_unit,
        covered: service != Service::None && owners_committee && f.party_branch,
    }
}

/// Coverage figures of a set of compounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub compounds: i64,
    pub covered: i64,
    pub three_nos: i64,
}

impl Tally {
    pub fn add(&mut self, c: &Coverage) {
        self.compounds += 1;
        self.covered += i64::from(c.covered);
        self.three_nos += i64::from(c.three_nos);
    }

    /// Covered share in whole percent (100 for an empty set: nothing is left unmanaged).
    pub fn percent(&self) -> i64 {
        if self.compounds == 0 {
            100
        } else {
            self.covered * 100 / self.compounds
        }
    }
}

/// A quarter, `2026Q3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    pub q: u8,
}

impl Quarter {
    /// `2026Q3` (also `2026q3`, full-width digits); years 2000–2100.
    pub fn parse(raw: &str) -> Option<Quarter> {
        let s = crate::identity::half_width(raw.trim()).to_ascii_uppercase();
        let (y, q) = s.split_once('Q')?;
        if y.len() != 4 || q.len() != 1 {
            return None;
        }
        let year: i32 = y.parse().ok()?;
        let q: u8 = q.parse().ok()?;
        ((2000..=2100).contains(&year) && (1..=4).contains(&q)).then_some(Quarter { year, q })
    }

    pub fn previous(self) -> Quarter {
        if self.q == 1 {
            Quarter { year: self.year - 1, q: 4 }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    pub fn next(self) -> Quarter {
        if self.q == 4 {
            Quarter { year: self.year + 1, q: 1 }
        } else {
            Quarter {
                year: self.year,
                q: self.q + 1,
            }
        }
    }

    /// The quarter holding an instant (China time).
    pub fn of_ms(ms: i64) -> Quarter {
        let month = crate::time::month_ms(ms);
        let year = month.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2000);
        let m: u8 = month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
        Quarter { year, q: (m - 1) / 3 + 1 }
    }

    /// The first month of the quarter, 1, 4, 7 or 10.
    pub fn first_month(self) -> i8 {
        (self.q as i8 - 1) * 3 + 1
    }

    /// [start, end) in milliseconds, China time.
    pub fn bounds_ms(self) -> (i64, i64) {
        (month_start_ms(self.year, self.first_month()), {
            let n = self.next();
            month_start_ms(n.year, n.first_month())
        })
    }

    /// The day a correction (整改) is due: the end of the month after the quarter.
    pub fn correction_due(self) -> String {
        let n = self.next();
        let (y, m) = (n.year, n.first_month());
        let last = jiff::civil::date(y as i16, m, 1).last_of_month();
        last.to_string()
    }

    pub fn label(self) -> String {
        format!("{}年第{}季度", self.year, self.q)
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

fn month_start_ms(year: i32, month: i8) -> i64 {
    jiff::civil::date(year as i16, month, 1)
        .to_zoned(crate::time::china())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// A month `2026-07` (full-width digits read), 2000–2100.
pub fn parse_month(raw: &str) -> Option<String> {
    let s = crate::identity::half_width(raw.trim());
    let (y, m) = s.split_once('-')?;
    let year: i32 = y.parse().ok()?;
    let month: u32 = m.parse().ok()?;
    (y.len() == 4 && (1..=2).contains(&m.len()) && (2000..=2100).contains(&year) && (1..=12).contains(&month))
        .then(|| format!("{year:04}-{month:02}"))
}

/// A collection rate typed as a percent (`92.5`, `９２．５`, `92.5%`) in permille, 0–1000.
pub fn parse_rate(raw: &str) -> Option<i64> {
    let s = crate::identity::half_width(raw.trim());
    let s = s.trim_end_matches(['%', '％']).trim().replace('。', ".");
    if s.is_empty() || s.len() > 8 || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    permille(v)
}

/// A percent as permille, one decimal kept; None outside 0–100.
pub fn permille(percent: f64) -> Option<i64> {
    (percent.is_finite() && (0.0..=100.0).contains(&percent)).then(|| (percent * 10.0).round() as i64)
}

/// Who scores a company at a compound (考评主体).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Evaluator {
    Street,
    Community,
    OwnersCommittee,
    PartyBranch,
}

pub const EVALUATORS: [Evaluator; 4] = [
    Evaluator::Street,
    Evaluator::Community,
    Evaluator::OwnersCommittee,
    Evaluator::PartyBranch,
];

impl Evaluator {
    pub fn as_str(self) -> &'static str {
        match self {
            Evaluator::Street => "street",
            Evaluator::Community => "community",
            Evaluator::OwnersCommittee => "owners_committee",
            Evaluator::PartyBranch => "party_branch",
        }
    }

    pub fn parse(s: &str) -> Option<Evaluator> {
        EVALUATORS.into_iter().find(|e| e.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Evaluator::Street => "街道",
            Evaluator::Community => "社区",
            Evaluator::OwnersCommittee => "业委会（物管会）",
            Evaluator::PartyBranch => "小区党支部",
        }
    }
}

/// The five criteria (考评项目), each 0–100.
pub const CRITERIA: [(&str, &str); 5] = [
    ("cleaning", "环境保洁"),
    ("security", "秩序安全"),
    ("repairs", "设施维修"),
    ("greening", "绿化养护"),
    ("response", "诉求响应（案件办理）"),
];

/// One evaluator's score of a compound: the mean of its criteria.
pub fn sheet_score(criteria: [i64; 5]) -> f64 {
    criteria.iter().sum::<i64>() as f64 / 5.0
}

/// A compound's score from the evaluators present, their weights re-spread over those present.
/// None when no evaluator with a weight scored it.
pub fn compound_score(sheets: &[(Evaluator, f64)], weights: &BTreeMap<Evaluator, i64>) -> Option<f64> {
    let (mut sum, mut w) = (0.0, 0i64);
    for (e, s) in sheets {
        let wt = weights.get(e).copied().unwrap_or(0).max(0);
        sum += s * wt as f64;
        w += wt;
    }
    (w > 0).then(|| sum / w as f64)
}

/// A company's score: the mean over the compounds it serves that were scored, in hundredths.
pub fn company_score(compounds: &[f64]) -> Option<i64> {
    (!compounds.is_empty()).then(|| (compounds.iter().sum::<f64>() / compounds.len() as f64 * 100.0).round() as i64)
}

/// Where a company lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Red,
    Black,
}

impl List {
    pub fn as_str(self) -> &'static str {
        match self {
            List::Red => "red",
            List::Black => "black",
        }
    }

    pub fn parse(s: &str) -> Option<List> {
        match s {
            "red" => Some(List::Red),
            "black" => Some(List::Black),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            List::Red => "红榜",
            List::Black => "黑榜",
        }
    }
}

/// How the list is drawn: the top `red_n` to the red list, the bottom `black_n` or any below
/// `floor` (hundredths) to the black list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRule {
    pub red_n: i64,
    pub black_n: i64,
    pub floor_x100: i64,
}

/// One ranked company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked<K> {
    pub key: K,
    pub score_x100: i64,
    /// 1 for the best; companies with the same score share a rank (1, 1, 3 …).
    pub rank: i64,
    pub list: Option<List>,
}

/// Rank companies by score, ties sharing a rank; then the lists. Each of `red_n` and `black_n`
/// is capped at a third of the ranked companies so a short list never puts everyone on one. A
/// company is black when fewer than `black_n` score below it (the bottom, ties included) or it
/// scores below the floor; red when its rank is within `red_n` and it is not black.
pub fn rank<K: Clone + Ord>(scores: &[(K, i64)], rule: ListRule) -> Vec<Ranked<K>> {
    let mut v: Vec<(K, i64)> = scores.to_vec();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let n = v.len() as i64;
    let red_n = rule.red_n.clamp(0, n / 3);
    let black_n = rule.black_n.clamp(0, n / 3);
    v.iter()
        .map(|(k, s)| {
            let above = v.iter().filter(|(_, o)| o > s).count() as i64;
            let below = v.iter().filter(|(_, o)| o < s).count() as i64;
            let rank = above + 1;
            let black = below < black_n || *s < rule.floor_x100;
            let list = if black {
                Some(List::Black)
            } else if rank <= red_n {
                Some(List::Red)
            } else {
                None
            };
            Ranked {
                key: k.clone(),
                score_x100: *s,
                rank,
                list,
            }
        })
        .collect()
}

/// Two black quarters in a row flag a company for removal (清退).
pub fn flag_for_removal(previous: Option<List>, now: Option<List>) -> bool {
    previous == Some(List::Black) && now == Some(List::Black)
}

/// The case loop's figures for a company at a compound in a quarter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseFigures {
    pub assigned: i64,
    pub handled: i64,
    pub on_time: i64,
    pub rated: i64,
    pub satisfied: i64,
}

impl CaseFigures {
    pub fn on_time_pct(&self) -> Option<i64> {
        (self.handled > 0).then(|| self.on_time * 100 / self.handled)
    }

    pub fn satisfaction_pct(&self) -> Option<i64> {
        (self.rated > 0).then(|| self.satisfied * 100 / self.rated)
    }

    /// The prefilled 诉求响应 score: the mean of the on-time and satisfaction rates known; 80
    /// (good, unproven) when no case was assigned; cases assigned and none handled score 40.
    pub fn response_score(&self) -> i64 {
        match (self.on_time_pct(), self.satisfaction_pct()) {
            (Some(a), Some(b)) => (a + b) / 2,
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) if self.assigned == 0 => 80,
            (None, None) => 40,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule() -> ListRule {
        ListRule {
            red_n: 2,
            black_n: 2,
            floor_x100: 6000,
        }
    }

    #[test]
    fn three_nos_and_covered() {
        let none = Facts {
            has_company: false,
            stored: Service::None,
            owners_committee_unit: false,
            party_branch: false,
            supervising_unit: false,
        };
        let c = coverage(none);
        assert!(c.three_nos && !c.covered && c.service == Service::None);
        // A supervising unit alone takes it off the 三无 list, but it is not covered.
        let c = coverage(Facts {
            supervising_unit: true,
            ..none
        });
        assert!(!c.three_nos && !c.covered);
        // A 物管会 is a service and a committee; with a branch it is covered.
        let c = coverage(Facts {
            stored: Service::ManagementCommittee,
            party_branch: true,
            ..none
        });
        assert!(c.covered && c.owners_committee && !c.three_nos);
        // A company without a committee is not covered, nor 三无.
        let c = coverage(Facts {
            has_company: true,
            party_branch: true,
            ..none
        });
        assert!(!c.covered && !c.three_nos && c.service == Service::Company);
        let c = coverage(Facts {
            has_company: true,
            party_branch: true,
            owners_committee_unit: true,
            ..none
        });
        assert!(c.covered);
    }

    #[test]
    fn ties_share_a_rank() {
        let r = rank(
            &[("a", 9000), ("b", 9000), ("c", 8000), ("d", 7000), ("e", 7000), ("f", 6500)],
            rule(),
        );
        let ranks: Vec<(&str, i64)> = r.iter().map(|x| (x.key, x.rank)).collect();
        assert_eq!(ranks, vec![("a", 1), ("b", 1), ("c", 3), ("d", 4), ("e", 4), ("f", 6)]);
        assert_eq!(r[0].list, Some(List::Red));
        assert_eq!(r[1].list, Some(List::Red));
        assert_eq!(r[2].list, None);
        // The bottom two, with the tie at 7000: f and both of d and e.
        assert_eq!(r[5].list, Some(List::Black));
        assert_eq!(r[3].list, Some(List::Black));
        assert_eq!(r[4].list, Some(List::Black));
    }

    #[test]
    fn the_floor_blackens_whoever_is_below() {
        let r = rank(
            &[("a", 5900), ("b", 5800), ("c", 5700), ("d", 5600), ("e", 5500), ("f", 5400)],
            rule(),
        );
        assert!(r.iter().all(|x| x.list == Some(List::Black)), "{r:?}");
        let r = rank(&[("a", 9000), ("b", 8000), ("c", 7000)], ListRule { floor_x100: 0, ..rule() });
        // Three companies: one each way at most.
        assert_eq!(r.iter().filter(|x| x.list == Some(List::Red)).count(), 1);
        assert_eq!(r.iter().filter(|x| x.list == Some(List::Black)).count(), 1);
    }

    #[test]
    fn missing_evaluators_re_weight() {
        let w: BTreeMap<Evaluator, i64> = EVALUATORS.into_iter().map(|e| (e, 25)).collect();
        assert_eq!(compound_score(&[(Evaluator::Street, 80.0)], &w), Some(80.0));
        assert_eq!(
            compound_score(&[(Evaluator::Street, 80.0), (Evaluator::PartyBranch, 60.0)], &w),
            Some(70.0)
        );
        let mut w2 = w.clone();
        w2.insert(Evaluator::Street, 50);
        let s = compound_score(&[(Evaluator::Street, 90.0), (Evaluator::Community, 60.0)], &w2).unwrap();
        assert!((s - 80.0).abs() < 1e-9);
        assert_eq!(compound_score(&[], &w), None);
        w2.insert(Evaluator::Community, 0);
        w2.insert(Evaluator::Street, 0);
        assert_eq!(compound_score(&[(Evaluator::Street, 90.0)], &w2), None);
    }

    #[test]
    fn black_twice_flags_removal() {
        assert!(flag_for_removal(Some(List::Black), Some(List::Black)));
        assert!(!flag_for_removal(None, Some(List::Black)));
        assert!(!flag_for_removal(Some(List::Black), Some(List::Red)));
        assert!(!flag_for_removal(Some(List::Red), Some(List::Black)));
    }

    #[test]
    fn quarters_and_months() {
        let q = Quarter::parse("２０２６ｑ３").unwrap();
        assert_eq!(q.to_string(), "2026Q3");
        assert_eq!(q.previous().to_string(), "2026Q2");
        assert_eq!(Quarter::parse("2026Q1").unwrap().previous().to_string(), "2025Q4");
        assert_eq!(q.correction_due(), "2026-10-31");
        assert!(Quarter::parse("2026Q5").is_none() && Quarter::parse("1999Q1").is_none() && Quarter::parse("26Q1").is_none());
        let (a, b) = q.bounds_ms();
        assert_eq!(crate::time::format_ms(a), "2026-07-01 00:00:00");
        assert_eq!(crate::time::format_ms(b), "2026-10-01 00:00:00");
        assert_eq!(Quarter::of_ms(a), q);
        assert_eq!(Quarter::of_ms(b - 1), q);
        assert_eq!(parse_month("２０２６-７").as_deref(), Some("2026-07"));
        assert!(parse_month("2026-13").is_none());
        assert_eq!(parse_rate("９２．５％"), Some(925));
        assert_eq!(parse_rate("100"), Some(1000));
        assert_eq!(parse_rate("100.1"), None);
        assert_eq!(parse_rate("-1"), None);
        assert_eq!(parse_rate("NaN"), None);
    }

    #[test]
    fn response_from_the_case_loop() {
        let f = CaseFigures {
            assigned: 10,
            handled: 8,
            on_time: 6,
            rated: 4,
            satisfied: 4,
        };
        assert_eq!(f.on_time_pct(), Some(75));
        assert_eq!(f.response_score(), 87);
        assert_eq!(CaseFigures::default().response_score(), 80);
        assert_eq!(
            CaseFigures {
                assigned: 3,
                ..Default::default()
            }
            .response_score(),
            40
        );
    }

    proptest! {
        // Ranks: ties share one, a better score never ranks worse, the best is 1; the lists never
        // overlap, red holds no one below the floor, and everyone below the floor is black.
        #[test]
        fn ranking_is_consistent(scores in proptest::collection::vec(0i64..10_001, 0..60), red in 0i64..20, black in 0i64..20, floor in 0i64..10_001) {
            let keyed: Vec<(usize, i64)> = scores.iter().copied().enumerate().collect();
            let rule = ListRule { red_n: red, black_n: black, floor_x100: floor };
            let r = rank(&keyed, rule);
            prop_assert_eq!(r.len(), keyed.len());
            for a in &r {
                for b in &r {
                    if a.score_x100 == b.score_x100 { prop_assert_eq!(a.rank, b.rank); }
                    if a.score_x100 > b.score_x100 { prop_assert!(a.rank < b.rank); }
                }
                if a.score_x100 < floor { prop_assert_eq!(a.list, Some(List::Black)); }
                if a.list == Some(List::Red) { prop_assert!(a.score_x100 >= floor && a.rank <= red.min(r.len() as i64 / 3)); }
            }
            if let Some(best) = r.iter().map(|x| x.rank).min() { prop_assert_eq!(best, 1); }
        }

        // Re-weighting: the compound score always lies between the lowest and highest sheet.
        #[test]
        fn combined_score_is_between_its_sheets(sheets in proptest::collection::vec((0usize..4, 0i64..101), 1..4), w in proptest::collection::vec(1i64..100, 4)) {
            let weights: BTreeMap<Evaluator, i64> = EVALUATORS.into_iter().zip(w).collect();
            let s: Vec<(Evaluator, f64)> = sheets.iter().map(|(e, v)| (EVALUATORS[*e], *v as f64)).collect();
            let c = compound_score(&s, &weights).unwrap();
            let lo = s.iter().map(|x| x.1).fold(f64::MAX, f64::min);
            let hi = s.iter().map(|x| x.1).fold(f64::MIN, f64::max);
            prop_assert!(c >= lo - 1e-9 && c <= hi + 1e-9);
        }

        // 三无 means exactly: no company, no committee or 物管会, no supervisor; covered needs
        // all of service, committee and branch; the two never hold together.
        #[test]
        fn coverage_derivation(has_company: bool, stored in 0usize..3, unit: bool, branch: bool, sup: bool) {
            let stored = [Service::None, Service::ManagementCommittee, Service::SelfManaged][stored];
            let c = coverage(Facts { has_company, stored, owners_committee_unit: unit, party_branch: branch, supervising_unit: sup });
            let committee = unit || (!has_company && stored == Service::ManagementCommittee);
            prop_assert_eq!(c.three_nos, !has_company && !committee && !sup);
            prop_assert_eq!(c.covered, (has_company || stored != Service::None) && committee && branch);
            prop_assert!(!(c.three_nos && c.covered));
        }

        #[test]
        fn rates_are_bounded(s in "\\PC{0,10}") {
            if let Some(v) = parse_rate(&s) { prop_assert!((0..=1000).contains(&v)); }
        }
    }
}
