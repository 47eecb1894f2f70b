//! Campaign rules, pure: the kinds and their measures, a spot's phases (摸底 → 劝导 → 清理或移交 →
//! 巩固), and the figures the reports quote, recounted from the spots.

/// The kinds a district runs: key, name, what the measure counts in.
pub const KINDS: [(&str, &str, &str); 5] = [
    ("vegetable_plots", "小菜园（毁绿种菜）", "m²"),
    ("flying_wires", "空中飞线", "处"),
    ("corridor_clutter", "楼道堆物", "处"),
    ("illegal_building", "违法建设", "m²"),
    ("civilised_city", "创文测评", "项"),
];

/// A kind by its key: (name, unit).
pub fn kind(key: &str) -> Option<(&'static str, &'static str)> {
    KINDS.iter().find(|k| k.0 == key).map(|k| (k.1, k.2))
}

/// Where a spot stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Found in the survey (摸底), nothing done yet.
    Surveyed,
    /// Visits and notices under way (劝导).
    Persuading,
    /// Cleared, by the household itself or by the team, with an after photo (清理).
    Cleared,
    /// Beyond the team's reach: a case for a department (移交).
    Escalated,
    /// Re-inspected after the set days and still clear (巩固).
    Consolidated,
}

pub const PHASES: [Phase; 5] = [
    Phase::Surveyed,
    Phase::Persuading,
    Phase::Cleared,
    Phase::Escalated,
    Phase::Consolidated,
];

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Surveyed => "surveyed",
            Phase::Persuading => "persuading",
            Phase::Cleared => "cleared",
            Phase::Escalated => "escalated",
            Phase::Consolidated => "consolidated",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        PHASES.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Phase::Surveyed => "已摸排",
            Phase::Persuading => "劝导中",
            Phase::Cleared => "已清理",
            Phase::Escalated => "已移交部门",
            Phase::Consolidated => "已巩固",
        }
    }

    /// Counted as cleared in the figures.
    pub fn is_cleared(self) -> bool {
        matches!(self, Phase::Cleared | Phase::Consolidated)
    }
}

/// How a persuasion visit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Agreed,
    Refused,
    NotReached,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        match s {
            "agreed" => Some(Outcome::Agreed),
            "refused" => Some(Outcome::Refused),
            "not_reached" => Some(Outcome::NotReached),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Agreed => "agreed",
            Outcome::Refused => "refused",
            Outcome::NotReached => "not_reached",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Agreed => "同意自行清理",
            Outcome::Refused => "拒绝",
            Outcome::NotReached => "未见到人",
        }
    }
}

/// What someone does to a spot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A persuasion visit by `people` team members.
    Visit { outcome: Outcome, people: i64 },
    /// A notice sent (WeChat group, loudspeaker, a letter).
    Notice,
    /// The household cleared it; verified with an after photo.
    SelfCleared { after_photo: bool },
    /// The team cleared it (people, date, tools), with an after photo.
    Cleared { after_photo: bool, people: i64 },
    /// Handed to a department as a case.
    Escalate,
    /// The re-inspection: still clear, or it came back.
    Reinspect { recurred: bool },
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Visit { .. } => "visit",
            Action::Notice => "notice",
            Action::SelfCleared { .. } => "self_cleared",
            Action::Cleared { .. } => "cleared",
            Action::Escalate => "escalate",
            Action::Reinspect { .. } => "reinspect",
        }
    }
}

/// Why an action is refused: a stable code and the Chinese reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: &'static str,
}

const AFTER_PHOTO: Refusal = Refusal {
    code: "after_photo_required",
    message: "清理须上传清理后的照片",
};

/// What an action does to a spot: its new phase, or why not. `now` and the spot's
/// `reinspect_at` decide whether a re-inspection is due.
pub fn next(phase: Phase, action: Action, now: i64, reinspect_at: Option<i64>) -> Result<Phase, Refusal> {
    use Phase::*;
    let open = matches!(phase, Surveyed | Persuading);
    match action {
        Action::Visit { people, .. } if !(1..=50).contains(&people) => Err(Refusal {
            code: "invalid_people",
            message: "参与人数应为1至50人",
        }),
        Action::Cleared { people, .. } if !(1..=50).contains(&people) => Err(Refusal {
            code: "invalid_people",
            message: "参与人数应为1至50人",
        }),
        Action::Visit { .. } | Action::Notice if open => Ok(Persuading),
        Action::SelfCleared { after_photo: false } | Action::Cleared { after_photo: false, .. } => Err(AFTER_PHOTO),
        Action::SelfCleared { .. } if open => Ok(Cleared),
        // A department's clearance of an escalated spot is verified by the team, with the photo.
        Action::Cleared { .. } if open || phase == Escalated => Ok(Cleared),
        Action::Escalate if open => Ok(Escalated),
        Action::Reinspect { .. } if phase.is_cleared() => match (action, reinspect_at) {
            (Action::Reinspect { recurred: true }, _) => Ok(Persuading),
            (_, Some(due)) if now < due && phase == Cleared => Err(Refusal {
                code: "reinspect_not_due",
                message: "还未到复查时间",
            }),
            _ => Ok(Consolidated),
        },
        _ => Err(Refusal {
            code: "invalid_action",
            message: match phase {
                Escalated => "该点位已移交部门，待部门处理后由工作队核实清理",
                Consolidated | Cleared => "该点位已清理，只能复查",
                _ => "该点位当前不能进行此操作",
            },
        }),
    }
}

/// One spot as the figures see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotFacts {
    pub community: String,
    pub phase: Phase,
    pub self_cleared: bool,
    pub visits: i64,
    pub refusals: i64,
    pub measure: f64,
    pub found_at: i64,
    pub cleared_at: Option<i64>,
}

/// The figures the reports quote (per campaign, team or community).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub spots: i64,
    pub cleared: i64,
    pub self_cleared: i64,
    pub escalated: i64,
    pub remaining: i64,
    pub refusals: i64,
    /// Person-visits (人次).
    pub visits: i64,
    /// The measure of the cleared spots (m², 处 …).
    pub measure_restored: f64,
    /// The median days from found to cleared, of the cleared spots.
    pub median_days_to_clear: Option<f64>,
}

/// Count the figures of these spots.
pub fn figures<'a>(spots: impl IntoIterator<Item = &'a SpotFacts>) -> Figures {
    let mut f = Figures::default();
    let mut days = Vec::new();
    for s in spots {
        f.spots += 1;
        f.visits += s.visits;
        f.refusals += s.refusals;
        if s.phase.is_cleared() {
            f.cleared += 1;
            f.measure_restored += s.measure;
            if s.self_cleared {
                f.self_cleared += 1;
            }
            if let Some(c) = s.cleared_at {
                days.push((c - s.found_at).max(0) as f64 / 86_400_000.0);
            }
        } else if s.phase == Phase::Escalated {
            f.escalated += 1;
        }
    }
    f.remaining = f.spots - f.cleared;
    f.measure_restored = (f.measure_restored * 10.0).round() / 10.0;
    days.sort_by(|a, b| a.total_cmp(b));
    f.median_days_to_clear = match days.len() {
        0 => None,
        n if n % 2 == 1 => Some(days[n / 2]),
        n => Some((days[n / 2 - 1] + days[n / 2]) / 2.0),
    };
    f.median_days_to_clear = f.median_days_to_clear.map(|d| (d * 10.0).round() / 10.0);
    f
}

/// A cleared share in whole percent (0 of 0 is 0).
pub fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 { 0 } else { (part * 100 + whole / 2) / whole }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn actions() -> Vec<Action> {
        let mut v = vec![Action::Notice, Action::Escalate];
        for outcome in [Outcome::Agreed, Outcome::Refused, Outcome::NotReached] {
            for people in [0, 1, 3, 50, 51] {
                v.push(Action::Visit { outcome, people });
            }
        }
        for after_photo in [false, true] {
            v.push(Action::SelfCleared { after_photo });
            for people in [0, 2, 51] {
                v.push(Action::Cleared { after_photo, people });
            }
        }
        v.push(Action::Reinspect { recurred: false });
        v.push(Action::Reinspect { recurred: true });
        v
    }

    /// Every phase × every action × before and after the re-inspection day.
    #[test]
    fn the_phases_exhaustively() {
        for phase in PHASES {
            for a in actions() {
                for (now, due) in [(5, Some(10)), (10, Some(10)), (5, None)] {
                    let got = next(phase, a, now, due);
                    // No clearance without an after photo, ever.
                    if let Action::SelfCleared { after_photo: false } | Action::Cleared { after_photo: false, .. } = a {
                        assert!(got.is_err(), "{phase:?} {a:?}");
                    }
                    // Nothing but a re-inspection touches a cleared spot.
                    if phase.is_cleared() && !matches!(a, Action::Reinspect { .. }) {
                        assert!(got.is_err(), "{phase:?} {a:?}");
                    }
                    // A re-inspection only of a cleared spot; a recurrence reopens it.
                    if let Action::Reinspect { recurred } = a {
                        match (phase.is_cleared(), recurred) {
                            (false, _) => assert!(got.is_err()),
                            (true, true) => assert_eq!(got, Ok(Phase::Persuading)),
                            (true, false) if phase == Phase::Cleared && due.is_some_and(|d| now < d) => {
                                assert_eq!(got.unwrap_err().code, "reinspect_not_due")
                            }
                            (true, false) => assert_eq!(got, Ok(Phase::Consolidated)),
                        }
                    }
                    // People out of bounds are refused whatever the phase.
                    if let Action::Visit { people, .. } | Action::Cleared { people, .. } = a
                        && !(1..=50).contains(&people)
                    {
                        assert_eq!(got.unwrap_err().code, "invalid_people", "{phase:?} {a:?}");
                    }
                    if let Ok(to) = got {
                        let expected = match (phase, a) {
                            (Phase::Surveyed | Phase::Persuading, Action::Visit { .. } | Action::Notice) => Phase::Persuading,
                            (Phase::Surveyed | Phase::Persuading, Action::SelfCleared { .. } | Action::Cleared { .. }) => Phase::Cleared,
                            (Phase::Escalated, Action::Cleared { .. }) => Phase::Cleared,
                            (Phase::Surveyed | Phase::Persuading, Action::Escalate) => Phase::Escalated,
                            (_, Action::Reinspect { recurred: true }) => Phase::Persuading,
                            (_, Action::Reinspect { recurred: false }) => Phase::Consolidated,
                            _ => panic!("{phase:?} {a:?} → {to:?} unexpected"),
                        };
                        assert_eq!(to, expected, "{phase:?} {a:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_escalated_spot_waits_for_the_department() {
        assert_eq!(next(Phase::Escalated, Action::Notice, 0, None).unwrap_err().code, "invalid_action");
        assert_eq!(
            next(
                Phase::Escalated,
                Action::Cleared {
                    after_photo: true,
                    people: 2
                },
                0,
                None
            ),
            Ok(Phase::Cleared)
        );
    }

    fn facts() -> impl Strategy<Value = SpotFacts> {
        (
            0usize..3,
            0usize..5,
            any::<bool>(),
            0i64..20,
            0i64..5,
            0u32..5000,
            0i64..30,
            proptest::option::of(0i64..60),
        )
            .prop_map(|(c, ph, own, visits, refusals, m, found, cleared)| {
                let phase = PHASES[ph];
                SpotFacts {
                    community: format!("C{c}"),
                    phase,
                    self_cleared: own && phase.is_cleared(),
                    visits,
                    refusals,
                    measure: m as f64 / 10.0,
                    found_at: found * 86_400_000,
                    cleared_at: if phase.is_cleared() {
                        Some((found + cleared.unwrap_or(0)) * 86_400_000)
                    } else {
                        None
                    },
                }
            })
    }

    proptest! {
        /// The whole's figures are the sum of its communities' (what the board and the ranking show).
        #[test]
        fn figures_add_up_over_communities(spots in proptest::collection::vec(facts(), 0..60)) {
            let all = figures(&spots);
            let mut sum = Figures::default();
            let mut measure = 0.0;
            for c in ["C0", "C1", "C2"] {
                let f = figures(spots.iter().filter(|s| s.community == c));
                sum.spots += f.spots;
                sum.cleared += f.cleared;
                sum.self_cleared += f.self_cleared;
                sum.escalated += f.escalated;
                sum.remaining += f.remaining;
                sum.visits += f.visits;
                sum.refusals += f.refusals;
                measure += spots.iter().filter(|s| s.community == c && s.phase.is_cleared()).map(|s| s.measure).sum::<f64>();
            }
            prop_assert_eq!(all.spots, spots.len() as i64);
            prop_assert_eq!((all.spots, all.cleared, all.self_cleared, all.escalated, all.remaining, all.visits, all.refusals),
                (sum.spots, sum.cleared, sum.self_cleared, sum.escalated, sum.remaining, sum.visits, sum.refusals));
            prop_assert!((all.measure_restored - (measure * 10.0).round() / 10.0).abs() < 1e-6);
            prop_assert_eq!(all.cleared + all.remaining, all.spots);
            prop_assert!(all.self_cleared <= all.cleared);
            prop_assert_eq!(all.median_days_to_clear.is_some(), all.cleared > 0);
        }
    }

    #[test]
    fn percents_round_half_up() {
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(18, 27), 67);
        assert_eq!(percent(1, 2), 50);
        assert_eq!(percent(1, 8), 13);
    }
}
