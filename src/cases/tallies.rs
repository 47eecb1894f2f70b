//! Running case figures (案件统计) per grid node, China day and category, kept in the transaction
//! that changes a case: what the command centre's screen and `GET /api/v1/dashboard` read, so a
//! request reads a few dozen rows however many cases the district holds.
//!
//! Each case *contributes* to its own grid node and every ancestor: reported (+ on time) on the
//! day it was reported, closed on the day it closed, open on day 0 while open. A write applies the
//! difference between the case's contribution after and before — so no path can forget a rule, and
//! `REBUILD` (the same rule in SQL) gives the same table from the cases alone.

use std::collections::BTreeMap;

use super::store::CaseRow;
use super::workflow::Status;
use crate::db::Tx;
use crate::grid::rules::CODE_DIGITS;
use crate::on_tx;

/// China has one offset all year (no daylight saving).
pub const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// The day that holds what has no day: the cases open now.
pub const OPEN_DAY: i64 = 0;

/// Days since 1970-01-01 in China time.
pub fn day_of(ms: i64) -> i64 {
    (ms + CHINA_OFFSET_MS).div_euclid(DAY_MS)
}

/// The instant a China day starts.
pub fn day_start_ms(day: i64) -> i64 {
    day * DAY_MS - CHINA_OFFSET_MS
}

/// What one tally row counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub reported: i64,
    pub on_time: i64,
    pub closed: i64,
    pub open: i64,
}

impl Delta {
    fn add(&mut self, o: &Delta, sign: i64) {
        self.reported += sign * o.reported;
        self.on_time += sign * o.on_time;
        self.closed += sign * o.closed;
        self.open += sign * o.open;
    }

    fn is_zero(&self) -> bool {
        *self == Delta::default()
    }
}

/// The facts of a case the figures depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub grid_code: String,
    pub category: String,
    pub status: Status,
    pub merged: bool,
    pub reported_at: i64,
    pub due_at: i64,
    pub handled_at: Option<i64>,
    pub closed_at: Option<i64>,
}

impl Facts {
    pub fn of(c: &CaseRow) -> Facts {
        Facts {
            grid_code: c.grid_code.clone(),
            category: c.category_code.clone(),
            status: c.status(),
            merged: c.merged_into.is_some(),
            reported_at: c.reported_at,
            due_at: c.due_at,
            handled_at: c.handled_at,
            closed_at: c.closed_at,
        }
    }
}

/// What a case adds to its own node, per day. A merged case is handled as part of another and
/// counts nowhere (as in the assessment).
pub fn contribution(f: &Facts) -> Vec<(i64, Delta)> {
    if f.merged {
        return Vec::new();
    }
    let mut out = vec![(
        day_of(f.reported_at),
        Delta {
            reported: 1,
            on_time: i64::from(f.handled_at.is_some_and(|h| h <= f.due_at)),
            ..Delta::default()
        },
    )];
    if f.status == Status::Closed
        && let Some(at) = f.closed_at
    {
        out.push((
            day_of(at),
            Delta {
                closed: 1,
                ..Delta::default()
            },
        ));
    }
    if f.status.is_open() {
        out.push((
            OPEN_DAY,
            Delta {
                open: 1,
                ..Delta::default()
            },
        ));
    }
    out
}

/// A grid code and its ancestors' codes, widest first.
pub fn nodes_of(code: &str) -> Vec<&str> {
    let mut len = 0;
    let mut out = Vec::new();
    for d in CODE_DIGITS {
        len += d;
        if len > code.len() {
            break;
        }
        out.push(&code[..len]);
    }
    out
}

/// Key of a tally row: node, day, category.
pub type Key = (String, i64, String);

/// The rows to change when a case goes from `before` to `after` (None: not stored), zeros left out.
pub fn changes(before: Option<&Facts>, after: Option<&Facts>) -> BTreeMap<Key, Delta> {
    let mut out: BTreeMap<Key, Delta> = BTreeMap::new();
    for (f, sign) in [(before, -1), (after, 1)] {
        let Some(f) = f else { continue };
        for (day, d) in contribution(f) {
            for node in nodes_of(&f.grid_code) {
                out.entry((node.to_string(), day, f.category.clone())).or_default().add(&d, sign);
            }
        }
    }
    out.retain(|_, d| !d.is_zero());
    out
}

/// Apply the change of one case in its writing transaction: one statement for every row.
pub async fn record(tx: &mut Tx, before: Option<&Facts>, after: Option<&Facts>) -> sqlx::Result<()> {
    write(tx, changes(before, after)).await
}

/// [`record`] for many new cases at once (a group commit's batch): their changes summed, then
/// written with as few statements as the engines' parameter limits allow.
pub async fn record_new(tx: &mut Tx, new: &[Facts]) -> sqlx::Result<()> {
    let mut total: BTreeMap<Key, Delta> = BTreeMap::new();
    for f in new {
        for (k, d) in changes(None, Some(f)) {
            total.entry(k).or_default().add(&d, 1);
        }
    }
    total.retain(|_, d| !d.is_zero());
    write(tx, total).await
}

/// Rows an upsert carries at most (7 parameters each).
const ROWS_PER_UPSERT: usize = 1000;

async fn write(tx: &mut Tx, rows: BTreeMap<Key, Delta>) -> sqlx::Result<()> {
    let rows: Vec<(Key, Delta)> = rows.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_UPSERT) {
        let mut sql = String::from("INSERT INTO case_tallies (grid_code, day, category_code, reported, on_time, closed, open) VALUES ");
        crate::db::values_list(&mut sql, tx.engine(), chunk.len(), 7);
        sql.push_str(
            " ON CONFLICT (grid_code, day, category_code) DO UPDATE SET reported = case_tallies.reported + excluded.reported, \
             on_time = case_tallies.on_time + excluded.on_time, closed = case_tallies.closed + excluded.closed, \
             open = case_tallies.open + excluded.open",
        );
        on_tx!(&mut *tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for ((node, day, cat), d) in chunk {
                q = q
                    .bind(node.as_str())
                    .bind(*day)
                    .bind(cat.as_str())
                    .bind(d.reported)
                    .bind(d.on_time)
                    .bind(d.closed)
                    .bind(d.open);
            }
            q.execute(c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// The whole table computed again from the cases (after a bulk load, or to repair): the same rule
/// as `contribution`, in SQL. Migration 0022 runs it once for the cases stored before it.
pub const REBUILD: &str = "INSERT INTO case_tallies (grid_code, day, category_code, reported, on_time, closed, open) \
WITH lens(len) AS (VALUES (6), (9), (12), (15), (18)) \
SELECT node, day, category_code, SUM(reported), SUM(on_time), SUM(closed), SUM(open) FROM ( \
    SELECT SUBSTR(c.grid_code, 1, l.len) AS node, (c.reported_at + 28800000) / 86400000 AS day, c.category_code, \
           1 AS reported, CASE WHEN c.handled_at IS NOT NULL AND c.handled_at <= c.due_at THEN 1 ELSE 0 END AS on_time, \
           0 AS closed, 0 AS open \
    FROM cases c JOIN lens l ON LENGTH(c.grid_code) >= l.len WHERE c.merged_into IS NULL \
    UNION ALL \
    SELECT SUBSTR(c.grid_code, 1, l.len), (c.closed_at + 28800000) / 86400000, c.category_code, 0, 0, 1, 0 \
    FROM cases c JOIN lens l ON LENGTH(c.grid_code) >= l.len \
    WHERE c.merged_into IS NULL AND c.status = 'closed' AND c.closed_at IS NOT NULL \
    UNION ALL \
    SELECT SUBSTR(c.grid_code, 1, l.len), 0, c.category_code, 0, 0, 0, 1 \
    FROM cases c JOIN lens l ON LENGTH(c.grid_code) >= l.len \
    WHERE c.merged_into IS NULL AND c.status IN ('reported', 'accepted', 'dispatched', 'handling', 'handled', 'verified') \
) t GROUP BY node, day, category_code";

/// Recompute every tally from the cases, in the caller's transaction.
pub async fn rebuild(tx: &mut Tx) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query("DELETE FROM case_tallies").execute(&mut *c).await.map(|_| ()))?;
    on_tx!(tx, |c| sqlx::query(REBUILD).execute(&mut *c).await.map(|_| ()))
}

/// Summed tallies of one node over a span of days.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct DayTally {
    pub day: i64,
    pub reported: i64,
    pub on_time: i64,
    pub closed: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::workflow::ALL_STATUSES;
    use proptest::prelude::*;

    fn facts(status: Status, merged: bool, handled: Option<i64>, closed: Option<i64>) -> Facts {
        Facts {
            grid_code: "411602001002003004".into(),
            category: "0101".into(),
            status,
            merged,
            reported_at: 1_700_000_000_000,
            due_at: 1_700_000_000_000 + DAY_MS,
            handled_at: handled,
            closed_at: closed,
        }
    }

    #[test]
    fn days_are_china_days() {
        // 2026-11-25 16:00 UTC is 2026-11-26 00:00 in China: a new day there.
        let midnight = jiff::Timestamp::from_second(1_795_622_400).unwrap().as_millisecond();
        assert_eq!(day_of(midnight) - day_of(midnight - 1), 1);
        assert_eq!(day_start_ms(day_of(midnight)), midnight);
        assert_eq!(day_start_ms(day_of(midnight + 5 * 3_600_000)), midnight);
    }

    #[test]
    fn a_case_counts_at_every_level_of_its_grid() {
        assert_eq!(
            nodes_of("411602001002003004"),
            ["411602", "411602001", "411602001002", "411602001002003", "411602001002003004"]
        );
        assert_eq!(nodes_of("411602001"), ["411602", "411602001"]);
        let rows = changes(None, Some(&facts(Status::Reported, false, None, None)));
        // Reported on its day and open on day 0, at five levels.
        assert_eq!(rows.len(), 10);
        assert!(rows.values().all(|d| d.reported + d.open == 1));
    }

    #[test]
    fn closing_moves_open_to_closed_and_merging_removes_the_case() {
        let t = 1_700_000_000_000;
        let open = facts(Status::Handled, false, Some(t + 1000), None);
        let closed = facts(Status::Closed, false, Some(t + 1000), Some(t + 2 * DAY_MS));
        let rows = changes(Some(&open), Some(&closed));
        for ((_, day, _), d) in &rows {
            if *day == OPEN_DAY {
                assert_eq!(
                    *d,
                    Delta {
                        open: -1,
                        ..Delta::default()
                    }
                );
            } else {
                assert_eq!(*day, day_of(t + 2 * DAY_MS));
                assert_eq!(
                    *d,
                    Delta {
                        closed: 1,
                        ..Delta::default()
                    }
                );
            }
        }
        let merged = facts(Status::Declined, true, None, None);
        let gone = changes(Some(&facts(Status::Reported, false, None, None)), Some(&merged));
        assert!(gone.values().all(|d| d.reported == -1 || d.open == -1));
    }

    #[test]
    fn late_handling_is_not_on_time() {
        let t = 1_700_000_000_000;
        let late = facts(Status::Handled, false, Some(t + 2 * DAY_MS), None);
        assert!(contribution(&late).iter().all(|(_, d)| d.on_time == 0));
        let in_time = facts(Status::Handled, false, Some(t + DAY_MS), None);
        assert_eq!(contribution(&in_time).iter().map(|(_, d)| d.on_time).sum::<i64>(), 1);
    }

    fn any_facts() -> impl Strategy<Value = Facts> {
        (
            0usize..ALL_STATUSES.len(),
            any::<bool>(),
            proptest::option::of(0i64..5 * DAY_MS),
            proptest::option::of(0i64..5 * DAY_MS),
            0usize..3,
            0usize..2,
        )
            .prop_map(|(s, merged, h, c, g, cat)| Facts {
                grid_code: ["411602001002003004", "411602001002", "411602002001003"][g].into(),
                category: ["0101", "0202"][cat].into(),
                status: ALL_STATUSES[s],
                merged,
                reported_at: 1_700_000_000_000,
                due_at: 1_700_000_000_000 + 2 * DAY_MS,
                handled_at: h.map(|x| 1_700_000_000_000 + x),
                closed_at: c.map(|x| 1_700_000_000_000 + x),
            })
    }

    proptest! {
        // Applying the changes of any path of states, from nothing back to nothing, leaves no
        // trace; and the running sum after each step equals the last state's own contribution.
        #[test]
        fn changes_telescope(path in proptest::collection::vec(any_facts(), 1..8)) {
            let mut total: BTreeMap<Key, Delta> = BTreeMap::new();
            let mut prev: Option<&Facts> = None;
            for f in &path {
                for (k, d) in changes(prev, Some(f)) {
                    total.entry(k).or_default().add(&d, 1);
                }
                total.retain(|_, d| !d.is_zero());
                prop_assert_eq!(&total, &changes(None, Some(f)));
                prev = Some(f);
            }
            for (k, d) in changes(prev, None) {
                total.entry(k).or_default().add(&d, 1);
            }
            total.retain(|_, d| !d.is_zero());
            prop_assert!(total.is_empty());
        }
    }
}
