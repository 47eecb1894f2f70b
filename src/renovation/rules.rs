//! Pure rules of renovation projects: the phase state machine (规划 → 征求意见 → 施工 → 验收 → 完成)
//! and who may move it, views and their tallies, texts. No I/O.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

/// A project's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// 规划
    Planning,
    /// 征求意见
    Consultation,
    /// 施工
    Construction,
    /// 验收
    Acceptance,
    /// 完成
    Done,
}

pub const PHASES: [Phase; 5] = [
    Phase::Planning,
    Phase::Consultation,
    Phase::Construction,
    Phase::Acceptance,
    Phase::Done,
];

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Planning => "planning",
            Phase::Consultation => "consultation",
            Phase::Construction => "construction",
            Phase::Acceptance => "acceptance",
            Phase::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        PHASES.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Phase::Planning => "规划",
            Phase::Consultation => "征求意见",
            Phase::Construction => "施工",
            Phase::Acceptance => "验收",
            Phase::Done => "完成",
        }
    }

    /// The phase after this one (none after 完成).
    pub fn next(self) -> Option<Phase> {
        let i = PHASES.iter().position(|p| *p == self)?;
        PHASES.get(i + 1).copied()
    }
}

/// The widest grid level that may move a project out of `from` (1 district, 2 street, 3
/// community): a community starts the consultation and the acceptance; only a street (or the
/// district) decides that construction starts, and that the project is done.
pub fn advance_level(from: Phase) -> Option<i64> {
    match from {
        Phase::Planning | Phase::Construction => Some(3),
        Phase::Consultation | Phase::Acceptance => Some(2),
        Phase::Done => None,
    }
}

/// Why a phase change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvanceError {
    /// Not the next phase (forward one step at a time).
    NotNext,
    /// The caller's post is too low for this step.
    TooLow,
}

/// May someone whose widest post over the project is at grid `level` move it from `from` to
/// `to`? Forward one step at a time, and only at or above [`advance_level`].
pub fn advance(from: Phase, to: Phase, level: i64) -> Result<(), AdvanceError> {
    if from.next() != Some(to) {
        return Err(AdvanceError::NotNext);
    }
    match advance_level(from) {
        Some(max) if level <= max => Ok(()),
        _ => Err(AdvanceError::TooLow),
    }
}

/// Creating a project, writing and publishing plans, opening and closing rounds: a community post
/// or above (level 1–3).
pub fn manages(level: i64) -> bool {
    (1..=3).contains(&level)
}

/// A household's view (意见).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// 同意
    Agree,
    /// 不同意
    Disagree,
    /// 有建议
    Suggestion,
}

impl View {
    pub fn as_str(self) -> &'static str {
        match self {
            View::Agree => "agree",
            View::Disagree => "disagree",
            View::Suggestion => "suggestion",
        }
    }

    pub fn parse(s: &str) -> Option<View> {
        [View::Agree, View::Disagree, View::Suggestion]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            View::Agree => "同意",
            View::Disagree => "不同意",
            View::Suggestion => "有建议",
        }
    }
}

/// Counts of one building, or of a whole round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Households asked (the building's households in the registry).
    pub households: i64,
    pub answered: i64,
    pub agree: i64,
    pub disagree: i64,
    pub suggestions: i64,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.households += o.households;
        self.answered += o.answered;
        self.agree += o.agree;
        self.disagree += o.disagree;
        self.suggestions += o.suggestions;
    }

    /// The consultation rate (征求率) answered / households in per mille (0 when nobody is asked).
    pub fn rate_permille(&self) -> i64 {
        if self.households <= 0 {
            0
        } else {
            self.answered * 1000 / self.households
        }
    }

    /// The rate as a percentage with one decimal, "87.5".
    pub fn rate_text(&self) -> String {
        let r = self.rate_permille();
        format!("{}.{}", r / 10, r % 10)
    }

    /// As a fraction 0–1 for the API.
    pub fn rate(&self) -> f64 {
        if self.households <= 0 {
            0.0
        } else {
            self.answered as f64 / self.households as f64
        }
    }
}

/// Per-building tallies (by building code) and the overall one, from the households asked
/// (id, building) and the round's views (views of households not asked are left out).
pub fn tally(households: &[(Uuid, String)], views: &HashMap<Uuid, View>) -> (BTreeMap<String, Tally>, Tally) {
    let mut per: BTreeMap<String, Tally> = BTreeMap::new();
    for (id, building) in households {
        let t = per.entry(building.clone()).or_default();
        t.households += 1;
        if let Some(v) = views.get(id) {
            t.answered += 1;
            match v {
                View::Agree => t.agree += 1,
                View::Disagree => t.disagree += 1,
                View::Suggestion => t.suggestions += 1,
            }
        }
    }
    let mut all = Tally::default();
    for t in per.values() {
        all.add(t);
    }
    (per, all)
}

pub const TITLE_MAX: usize = 60;
pub const SUMMARY_MAX: usize = 2000;
pub const PLAN_MAX: usize = 5000;
pub const NOTE_MAX: usize = 500;
/// Compounds in one project.
pub const COMPOUNDS_MAX: usize = 10;

/// Trim and bound a text; `Err` is the Chinese reason.
pub fn clean_text(s: &str, max: usize, min: usize) -> Result<String, String> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min {
        return Err(if min <= 1 {
            "不能为空".into()
        } else {
            format!("至少{min}字")
        });
    }
    if n > max {
        return Err(format!("不能超过{max}字"));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("含有不可见的控制字符".into());
    }
    Ok(t.to_string())
}

/// The nearest node above every code (their longest common prefix cut to whole levels:
/// district 6, then 3 digits per level).
pub fn common_node(codes: &[String]) -> Option<String> {
    let first = codes.first()?;
    let mut n = first.len();
    for c in &codes[1..] {
        n = n.min(first.bytes().zip(c.bytes()).take_while(|(a, b)| a == b).count());
    }
    if n < 6 {
        return None;
    }
    let cut = 6 + (n - 6) / 3 * 3;
    Some(first[..cut].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phases_round_trip_and_order() {
        for p in PHASES {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
            assert!(!p.label().is_empty());
        }
        assert_eq!(Phase::parse("nope"), None);
        assert_eq!(Phase::Planning.next(), Some(Phase::Consultation));
        assert_eq!(Phase::Acceptance.next(), Some(Phase::Done));
        assert_eq!(Phase::Done.next(), None);
    }

    /// Every (from, to, level) triple: only one step forward, and only at or above the step's level.
    #[test]
    fn state_machine_exhaustively() {
        let mut allowed = Vec::new();
        for from in PHASES {
            for to in PHASES {
                for level in 0..=6 {
                    let r = advance(from, to, level);
                    let i = PHASES.iter().position(|p| *p == from).unwrap();
                    let j = PHASES.iter().position(|p| *p == to).unwrap();
                    if j != i + 1 {
                        assert_eq!(r, Err(AdvanceError::NotNext), "{from:?} → {to:?}");
                        continue;
                    }
                    let max = match from {
                        Phase::Planning | Phase::Construction => 3,
                        _ => 2,
                    };
                    if level <= max {
                        assert_eq!(r, Ok(()), "{from:?} → {to:?} at {level}");
                        allowed.push((from, to, level));
                    } else {
                        assert_eq!(r, Err(AdvanceError::TooLow), "{from:?} → {to:?} at {level}");
                    }
                }
            }
        }
        // 4 steps; levels 0..=3 (4) for two of them and 0..=2 (3) for the other two.
        assert_eq!(allowed.len(), 4 + 4 + 3 + 3);
        // No step backwards, none out of 完成, none skipping.
        assert!(advance(Phase::Done, Phase::Planning, 1).is_err());
        assert!(advance(Phase::Planning, Phase::Construction, 1).is_err());
        assert!(advance(Phase::Planning, Phase::Planning, 1).is_err());
        // A compound leader (4) or building officer (5) moves nothing.
        for from in PHASES {
            for to in PHASES {
                assert!(advance(from, to, 4).is_err() && advance(from, to, 5).is_err());
            }
        }
    }

    #[test]
    fn walking_from_planning_reaches_done_in_four_steps() {
        let mut p = Phase::Planning;
        let mut steps = 0;
        while let Some(n) = p.next() {
            assert!(advance(p, n, 2).is_ok());
            p = n;
            steps += 1;
        }
        assert_eq!((p, steps), (Phase::Done, 4));
    }

    #[test]
    fn managers_are_community_and_above() {
        assert!(manages(1) && manages(2) && manages(3));
        assert!(!manages(4) && !manages(5) && !manages(0));
    }

    #[test]
    fn views_parse() {
        for v in [View::Agree, View::Disagree, View::Suggestion] {
            assert_eq!(View::parse(v.as_str()), Some(v));
        }
        assert_eq!(View::parse("maybe"), None);
    }

    #[test]
    fn tally_counts_and_rate() {
        let ids: Vec<Uuid> = (0..5).map(|i| Uuid::from_u128(i + 1)).collect();
        let hh = vec![
            (ids[0], "b1".to_string()),
            (ids[1], "b1".to_string()),
            (ids[2], "b1".to_string()),
            (ids[3], "b2".to_string()),
            (ids[4], "b2".to_string()),
        ];
        let mut views = HashMap::new();
        views.insert(ids[0], View::Agree);
        views.insert(ids[1], View::Suggestion);
        views.insert(ids[3], View::Disagree);
        views.insert(Uuid::from_u128(99), View::Agree); // not asked
        let (per, all) = tally(&hh, &views);
        assert_eq!(
            per["b1"],
            Tally {
                households: 3,
                answered: 2,
                agree: 1,
                disagree: 0,
                suggestions: 1
            }
        );
        assert_eq!(
            per["b2"],
            Tally {
                households: 2,
                answered: 1,
                agree: 0,
                disagree: 1,
                suggestions: 0
            }
        );
        assert_eq!(
            all,
            Tally {
                households: 5,
                answered: 3,
                agree: 1,
                disagree: 1,
                suggestions: 1
            }
        );
        assert_eq!(all.rate_permille(), 600);
        assert_eq!(all.rate_text(), "60.0");
        assert_eq!(Tally::default().rate_permille(), 0);
        assert_eq!(Tally::default().rate(), 0.0);
    }

    #[test]
    fn texts_are_bounded() {
        assert_eq!(clean_text("  改造  ", 10, 1).unwrap(), "改造");
        assert!(clean_text("   ", 10, 1).is_err());
        assert!(clean_text(&"字".repeat(11), 10, 1).is_err());
        assert!(clean_text("a\u{7}b", 10, 1).is_err());
        assert!(clean_text("一", 10, 2).is_err());
    }

    #[test]
    fn common_node_cuts_to_levels() {
        let c = |v: &[&str]| common_node(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(c(&["411602001001001"]).as_deref(), Some("411602001001001"));
        assert_eq!(c(&["411602001001001", "411602001001002"]).as_deref(), Some("411602001001"));
        assert_eq!(c(&["411602001001001", "411602001002001"]).as_deref(), Some("411602001"));
        assert_eq!(c(&["411602001001011", "411602001001012"]).as_deref(), Some("411602001001"));
        assert_eq!(c(&[]), None);
    }

    proptest! {
        /// The tally's sums agree: answered = agree + disagree + suggestions ≤ households, per
        /// building and overall, and the overall is the sum of the buildings.
        #[test]
        fn tally_sums(buildings in proptest::collection::vec(0u8..4, 0..60), answers in proptest::collection::vec(0u8..4, 0..60)) {
            let hh: Vec<(Uuid, String)> = buildings.iter().enumerate().map(|(i, b)| (Uuid::from_u128(i as u128 + 1), format!("b{b}"))).collect();
            let mut views = HashMap::new();
            for (i, a) in answers.iter().enumerate() {
                let v = match a { 0 => continue, 1 => View::Agree, 2 => View::Disagree, _ => View::Suggestion };
                views.insert(Uuid::from_u128(i as u128 + 1), v);
            }
            let (per, all) = tally(&hh, &views);
            let mut sum = Tally::default();
            for t in per.values() {
                prop_assert_eq!(t.answered, t.agree + t.disagree + t.suggestions);
                prop_assert!(t.answered <= t.households);
                sum.add(t);
            }
            prop_assert_eq!(sum, all);
            prop_assert_eq!(all.households, hh.len() as i64);
            let expected = hh.iter().filter(|(id, _)| views.contains_key(id)).count() as i64;
            prop_assert_eq!(all.answered, expected);
            prop_assert!((0..=1000).contains(&all.rate_permille()));
        }
    }
}
