//! Checklist rules (测评清单), pure: which items an inspection scores, whether its marks are whole,
//! a place's standing, and the checklist's figures.
//!
//! A first inspection scores every item. A re-check (复查) scores exactly the items the inspection
//! it follows left failing, so a place's failing items are always those its latest inspection
//! failed: what a re-check passes is mended, the rest still fails.

use uuid::Uuid;

/// At most this many items on one checklist.
pub const MAX_ITEMS: usize = 50;

/// One item's mark in an inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub item: Uuid,
    pub passed: bool,
    /// Whether a photo goes with it (a failed item needs one).
    pub photo: bool,
}

/// Why an inspection's marks are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkError {
    /// The campaign carries no checklist.
    NoChecklist,
    /// The inspection re-checked has nothing failing.
    NothingToRecheck,
    /// An item to score was not marked.
    Missing(Uuid),
    /// A mark for an item this inspection does not score.
    Unexpected(Uuid),
    /// An item marked twice.
    Twice(Uuid),
    /// A failed item without its photo.
    NoPhoto(Uuid),
}

/// The items an inspection scores, in checklist order: all of them, or for a re-check the ones
/// the inspection it follows failed.
pub fn to_score(checklist: &[Uuid], recheck_of_failing: Option<&[Uuid]>) -> Result<Vec<Uuid>, MarkError> {
    if checklist.is_empty() {
        return Err(MarkError::NoChecklist);
    }
    match recheck_of_failing {
        None => Ok(checklist.to_vec()),
        Some(failing) => {
            let items: Vec<Uuid> = checklist.iter().copied().filter(|i| failing.contains(i)).collect();
            if items.is_empty() {
                return Err(MarkError::NothingToRecheck);
            }
            Ok(items)
        }
    }
}

/// Check `marks` against the items to score (each exactly once, a photo with every failure):
/// (passed, failed).
pub fn tally(to_score: &[Uuid], marks: &[Mark]) -> Result<(i64, i64), MarkError> {
    let mut seen: Vec<Uuid> = Vec::with_capacity(marks.len());
    for m in marks {
        if !to_score.contains(&m.item) {
            return Err(MarkError::Unexpected(m.item));
        }
        if seen.contains(&m.item) {
            return Err(MarkError::Twice(m.item));
        }
        if !m.passed && !m.photo {
            return Err(MarkError::NoPhoto(m.item));
        }
        seen.push(m.item);
    }
    if let Some(missing) = to_score.iter().find(|i| !seen.contains(i)) {
        return Err(MarkError::Missing(*missing));
    }
    let passed = marks.iter().filter(|m| m.passed).count() as i64;
    Ok((passed, marks.len() as i64 - passed))
}

/// What a checklist's board shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistFigures {
    pub items: i64,
    /// Places inspected at least once.
    pub places: i64,
    /// Places passing every item now.
    pub passing: i64,
    /// Places with an item failing now.
    pub failing: i64,
    /// Items passing now over items scored, over all places, in per cent (one decimal).
    pub item_pass_rate: f64,
    pub inspections: i64,
    pub rechecks: i64,
}

/// The figures from what each place still fails (its latest inspection's failures), the
/// checklist's size and the count of inspections and re-checks.
pub fn figures(items: i64, failing_per_place: &[i64], inspections: i64, rechecks: i64) -> ChecklistFigures {
    let places = failing_per_place.len() as i64;
    let passing = failing_per_place.iter().filter(|f| **f == 0).count() as i64;
    let scored = items * places;
    let failing_items: i64 = failing_per_place.iter().map(|f| (*f).clamp(0, items)).sum();
    let item_pass_rate = if scored == 0 {
        0.0
    } else {
        (1000.0 * (scored - failing_items) as f64 / scored as f64).round() / 10.0
    };
    ChecklistFigures {
        items,
        places,
        passing,
        failing: places - passing,
        item_pass_rate,
        inspections,
        rechecks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(n: usize) -> Vec<Uuid> {
        (0..n).map(|i| Uuid::from_u128(i as u128 + 1)).collect()
    }

    fn mark(item: Uuid, passed: bool) -> Mark {
        Mark {
            item,
            passed,
            photo: !passed,
        }
    }

    #[test]
    fn a_first_inspection_scores_every_item_and_a_recheck_only_the_failing() {
        let list = ids(5);
        assert_eq!(to_score(&list, None).unwrap(), list);
        let failing = [list[3], list[1]];
        assert_eq!(to_score(&list, Some(&failing)).unwrap(), vec![list[1], list[3]]);
        assert_eq!(to_score(&list, Some(&[])), Err(MarkError::NothingToRecheck));
        assert_eq!(to_score(&[], None), Err(MarkError::NoChecklist));
    }

    #[test]
    fn marks_must_be_whole_once_each_and_a_failure_needs_its_photo() {
        let list = ids(3);
        let all = [mark(list[0], true), mark(list[1], false), mark(list[2], true)];
        assert_eq!(tally(&list, &all), Ok((2, 1)));
        assert_eq!(tally(&list, &all[..2]), Err(MarkError::Missing(list[2])));
        let twice = [all[0], all[1], all[2], all[0]];
        assert_eq!(tally(&list, &twice), Err(MarkError::Twice(list[0])));
        let stranger = Uuid::from_u128(99);
        assert_eq!(
            tally(&list, &[all[0], all[1], all[2], mark(stranger, true)]),
            Err(MarkError::Unexpected(stranger))
        );
        let no_photo = [
            all[0],
            Mark {
                item: list[1],
                passed: false,
                photo: false,
            },
            all[2],
        ];
        assert_eq!(tally(&list, &no_photo), Err(MarkError::NoPhoto(list[1])));
        // A photo with a pass is allowed.
        let photo_pass = [
            Mark {
                item: list[0],
                passed: true,
                photo: true,
            },
            all[1],
            all[2],
        ];
        assert_eq!(tally(&list, &photo_pass), Ok((2, 1)));
    }

    #[test]
    fn figures_of_no_place_are_zero() {
        let f = figures(8, &[], 0, 0);
        assert_eq!((f.places, f.passing, f.failing, f.item_pass_rate), (0, 0, 0, 0.0));
    }

    proptest! {
        /// Over any checklist and any marks: tally accepts exactly the whole, photo-backed sets,
        /// and counts them right; after a chain of re-checks a place fails exactly the items its
        /// latest inspection failed, and it ends passing once a re-check passes everything.
        #[test]
        fn inspections_and_rechecks_keep_the_standing(
            n in 1usize..12,
            rounds in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 12), 1..5),
        ) {
            let list = ids(n);
            let mut failing: Option<Vec<Uuid>> = None;
            for (r, passes) in rounds.iter().enumerate() {
                let recheck = r > 0;
                let scored = match to_score(&list, if recheck { failing.as_deref() } else { None }) {
                    Ok(s) => s,
                    Err(MarkError::NothingToRecheck) => {
                        prop_assert!(failing.as_ref().is_some_and(|f| f.is_empty()));
                        break;
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                };
                let marks: Vec<Mark> = scored.iter().zip(passes).map(|(i, p)| mark(*i, *p)).collect();
                let (passed, failed) = tally(&scored, &marks).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert_eq!(passed + failed, scored.len() as i64);
                // Dropping any mark makes the set incomplete.
                if !marks.is_empty() {
                    prop_assert!(tally(&scored, &marks[1..]).is_err());
                }
                let now_failing: Vec<Uuid> = marks.iter().filter(|m| !m.passed).map(|m| m.item).collect();
                // The standing never grows on a re-check: it is a subset of what was failing.
                if let (true, Some(before)) = (recheck, &failing) {
                    prop_assert!(now_failing.iter().all(|i| before.contains(i)));
                }
                failing = Some(now_failing);
                let f = figures(n as i64, &[failed], r as i64 + 1, r as i64);
                prop_assert_eq!(f.passing + f.failing, 1);
                prop_assert_eq!(f.passing == 1, failed == 0);
                prop_assert!((0.0..=100.0).contains(&f.item_pass_rate));
            }
        }

        /// The whole is the sum of its places.
        #[test]
        fn figures_add_up(items in 1i64..20, fails in proptest::collection::vec(0i64..20, 0..40)) {
            let st: Vec<i64> = fails.iter().map(|f| (*f).min(items)).collect();
            let f = figures(items, &st, st.len() as i64, 0);
            prop_assert_eq!(f.places, st.len() as i64);
            prop_assert_eq!(f.passing, st.iter().filter(|s| **s == 0).count() as i64);
            prop_assert_eq!(f.passing + f.failing, f.places);
            let ok: i64 = st.iter().map(|s| items - s).sum();
            if !st.is_empty() {
                let want = (1000.0 * ok as f64 / (items * st.len() as i64) as f64).round() / 10.0;
                prop_assert!((f.item_pass_rate - want).abs() < 1e-9);
            }
        }
    }
}
