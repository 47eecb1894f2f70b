//! Assessment (周交办、周研判、月讲评): counts per unit, street or community over a period, the
//! rates derived from them, and the ranking. The rates and ranking are pure.

use serde::Serialize;

use crate::db::Db;
use crate::on_pool;

/// What a group did in the period (cases reported in it).
#[derive(sqlx::FromRow, Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Grid code (street or community grouping).
    pub key: Option<String>,
    /// Unit (unit grouping).
    pub unit: Option<uuid::Uuid>,
    pub received: i64,
    pub closed: i64,
    pub handled: i64,
    pub on_time: i64,
    pub reworked: i64,
    pub rated: i64,
    pub satisfied: i64,
    pub handling_ms: i64,
}

/// The figures of one group; rates are in 0..=1.
#[derive(Serialize, Debug, Clone, PartialEq, utoipa::ToSchema)]
pub struct Figures {
    pub received: i64,
    pub closed: i64,
    /// 按期处置率: handled by the deadline / received.
    pub on_time_rate: f64,
    /// 结案率: closed / received.
    pub closure_rate: f64,
    /// 返工率: handled cases sent back at least once / handled.
    pub rework_rate: f64,
    /// 满意率: satisfied or basically satisfied / rated.
    pub satisfaction_rate: f64,
    /// Mean hours from report to handled.
    pub mean_handling_hours: f64,
    /// 0.4 on time + 0.3 closure + 0.2 satisfaction + 0.1 (1 − rework), for the ranking.
    pub score: f64,
}

fn ratio(a: i64, b: i64) -> f64 {
    if b <= 0 {
        0.0
    } else {
        (a.max(0) as f64 / b as f64).clamp(0.0, 1.0)
    }
}

pub fn figures(c: &Counts) -> Figures {
    let on_time_rate = ratio(c.on_time, c.received);
    let closure_rate = ratio(c.closed, c.received);
    let rework_rate = ratio(c.reworked, c.handled);
    // With nobody rating yet, satisfaction does not count against a unit.
    let satisfaction_rate = if c.rated == 0 { 1.0 } else { ratio(c.satisfied, c.rated) };
    let mean_handling_hours = if c.handled <= 0 {
        0.0
    } else {
        c.handling_ms as f64 / c.handled as f64 / 3_600_000.0
    };
    let score = 0.4 * on_time_rate + 0.3 * closure_rate + 0.2 * satisfaction_rate + 0.1 * (1.0 - rework_rate);
    Figures {
        received: c.received,
        closed: c.closed,
        on_time_rate,
        closure_rate,
        rework_rate,
        satisfaction_rate,
        mean_handling_hours,
        score,
    }
}

/// Rank by score (ties by more cases received, then key): 1 is best.
pub fn rank<T>(mut items: Vec<(String, Figures, T)>) -> Vec<(usize, String, Figures, T)> {
    items.sort_by(|a, b| {
        b.1.score
            .total_cmp(&a.1.score)
            .then(b.1.received.cmp(&a.1.received))
            .then(a.0.cmp(&b.0))
    });
    items.into_iter().enumerate().map(|(i, (k, f, t))| (i + 1, k, f, t)).collect()
}

/// How to group cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Unit,
    Street,
    Community,
}

/// Count cases reported in `[from_ms, to_ms)` per group.
pub async fn counts(db: &Db, district: &str, by: By, from_ms: i64, to_ms: i64) -> sqlx::Result<Vec<Counts>> {
    // One of the two key columns is NULL, typed so both engines decode it.
    let (key, select) = match by {
        By::Unit => ("unit_id", "CAST(NULL AS TEXT) AS key, unit_id AS unit"),
        By::Street => (
            "SUBSTR(grid_code, 1, 9)",
            "SUBSTR(grid_code, 1, 9) AS key, CAST(NULL AS UUID) AS unit",
        ),
        By::Community => (
            "SUBSTR(grid_code, 1, 12)",
            "SUBSTR(grid_code, 1, 12) AS key, CAST(NULL AS UUID) AS unit",
        ),
    };
    let only_units = if by == By::Unit { "AND unit_id IS NOT NULL" } else { "" };
    let sql = format!(
        "SELECT {select}, COUNT(*) AS received, \
         SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) AS closed, \
         SUM(CASE WHEN handled_at IS NOT NULL THEN 1 ELSE 0 END) AS handled, \
         SUM(CASE WHEN handled_at IS NOT NULL AND handled_at <= due_at THEN 1 ELSE 0 END) AS on_time, \
         SUM(CASE WHEN handled_at IS NOT NULL AND rework > 0 THEN 1 ELSE 0 END) AS reworked, \
         SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END) AS rated, \
         SUM(CASE WHEN rating IN ('satisfied', 'basically_satisfied') THEN 1 ELSE 0 END) AS satisfied, \
         CAST(COALESCE(SUM(CASE WHEN handled_at IS NOT NULL THEN handled_at - reported_at ELSE 0 END), 0) AS BIGINT) AS handling_ms \
         FROM cases WHERE district = $1 AND reported_at >= $2 AND reported_at < $3 AND merged_into IS NULL {only_units} GROUP BY {key}"
    );
    on_pool!(db, |p| sqlx::query_as::<_, Counts>(sqlx::AssertSqlSafe(sql))
        .bind(district)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(p)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn figures_of_known_counts() {
        let c = Counts {
            key: None,
            unit: None,
            received: 10,
            closed: 8,
            handled: 9,
            on_time: 7,
            reworked: 1,
            rated: 4,
            satisfied: 3,
            handling_ms: 9 * 7_200_000,
        };
        let f = figures(&c);
        assert_eq!((f.on_time_rate, f.closure_rate, f.satisfaction_rate), (0.7, 0.8, 0.75));
        assert!((f.rework_rate - 1.0 / 9.0).abs() < 1e-12);
        assert!((f.mean_handling_hours - 2.0).abs() < 1e-12);
        let empty = figures(&Counts::default());
        assert_eq!(
            (empty.on_time_rate, empty.closure_rate, empty.rework_rate, empty.satisfaction_rate),
            (0.0, 0.0, 0.0, 1.0)
        );
    }

    #[test]
    fn ranking_orders_by_score_then_volume() {
        let mk = |on_time, received| {
            figures(&Counts {
                received,
                on_time,
                closed: on_time,
                handled: on_time,
                ..Default::default()
            })
        };
        let ranked = rank(vec![
            ("a".into(), mk(5, 10), ()),
            ("b".into(), mk(9, 10), ()),
            ("c".into(), mk(10, 20), ()),
        ]);
        let order: Vec<(usize, &str)> = ranked.iter().map(|r| (r.0, r.1.as_str())).collect();
        assert_eq!(order, [(1, "b"), (2, "c"), (3, "a")]);
    }

    proptest! {
        // Whatever the counts (even inconsistent ones), rates stay in 0..=1 and ranks are 1..=n.
        #[test]
        fn rates_are_fractions(v in proptest::collection::vec((0i64..1000, 0i64..1000, 0i64..1000, 0i64..1000, 0i64..1000, 0i64..1000, 0i64..1000), 1..20)) {
            let items: Vec<(String, Figures, ())> = v.iter().enumerate().map(|(i, (r, c, h, o, w, rt, s))| {
                let f = figures(&Counts { key: None, unit: None, received: *r, closed: *c, handled: *h, on_time: *o, reworked: *w, rated: *rt, satisfied: *s, handling_ms: 0 });
                for x in [f.on_time_rate, f.closure_rate, f.rework_rate, f.satisfaction_rate] {
                    assert!((0.0..=1.0).contains(&x));
                }
                (format!("{i}"), f, ())
            }).collect();
            let n = items.len();
            let ranked = rank(items);
            prop_assert_eq!(ranked.iter().map(|r| r.0).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
            for w in ranked.windows(2) {
                prop_assert!(w[0].2.score >= w[1].2.score);
            }
        }
    }
}

/// One ranked row, named.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct Row {
    pub rank: usize,
    /// Grid code, for street and community rows.
    pub code: Option<String>,
    /// Unit id, for unit rows.
    pub id: Option<uuid::Uuid>,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Counted, named and ranked rows for a period; `scope` keeps only groups under that grid.
pub async fn report(db: &Db, district: &str, by: By, from_ms: i64, to_ms: i64, scope: Option<&str>) -> sqlx::Result<Vec<Row>> {
    let mut items = Vec::new();
    for c in counts(db, district, by, from_ms, to_ms).await? {
        let name = match (&c.key, c.unit) {
            (Some(code), _) => {
                if scope.is_some_and(|s| !code.starts_with(s) && !s.starts_with(code.as_str())) {
                    continue;
                }
                crate::grid::store::get(db, code)
                    .await?
                    .map(|g| g.name)
                    .unwrap_or_else(|| code.clone())
            }
            (None, Some(u)) => crate::registry::units::get(db, u).await?.map(|x| x.name).unwrap_or_default(),
            (None, None) => continue,
        };
        let key = c.key.clone().or(c.unit.map(|u| u.to_string())).unwrap_or_default();
        items.push((key, figures(&c), (c.key.clone(), c.unit, name)));
    }
    Ok(rank(items)
        .into_iter()
        .map(|(rank, _, figures, (code, id, name))| Row {
            rank,
            code,
            id,
            name,
            figures,
        })
        .collect())
}
