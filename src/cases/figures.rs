//! The case figures of a grid node for the command centre (一屏统管): today, open, overdue, this
//! month's on-time rate, a 30-day trend, top categories and each child's load — read from the
//! running tallies (`tallies`) and from open cases only, never by counting every case.

use std::collections::BTreeMap;

use serde::Serialize;

use super::assessment;
use super::store::{CASE_COLS, CaseRow};
use super::tallies::{OPEN_DAY, day_of, day_start_ms};
use crate::db::Db;
use crate::grid::rules::subtree_upper;
use crate::on_pool;

use super::store::OPEN_STATUSES_SQL as OPEN_STATUSES;

/// The subtree condition of the overdue counts: for the whole district none at all (it holds
/// every case), so neither engine takes the (district, status, grid_code) index and reads each
/// open case's row; the parameters stay bound either way.
fn scope_cond(grid: &str) -> &'static str {
    if grid.len() <= crate::grid::rules::code_len(1) {
        "CAST($3 AS TEXT) < CAST($4 AS TEXT)"
    } else {
        "grid_code >= $3 AND grid_code < $4"
    }
}

/// SQLite prefers the (district, status, grid_code) index for a subtree and then reads every open
/// case's row for its deadline; the (district, status, due_at, grid_code) index answers alone.
fn covering_hint(db: &Db) -> &'static str {
    if matches!(db, Db::Sqlite { .. }) {
        " INDEXED BY cases_status"
    } else {
        ""
    }
}

/// Days in the trend line.
pub const TREND_DAYS: i64 = 30;

/// One day of the trend (China day).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TrendDay {
    /// `2026-11-26`
    pub date: String,
    pub reported: i64,
    pub closed: i64,
    /// Of the cases reported that day, handled by their deadline (so far).
    pub on_time: i64,
}

/// The figures of one node.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct CaseFigures {
    pub reported_today: i64,
    pub open: i64,
    /// Open and past their deadline now (what the board's 超期 filter lists).
    pub overdue: i64,
    pub closed_today: i64,
    /// Reported since the 1st of this month (China time), merged ones not counted.
    pub reported_month: i64,
    /// Of those, handled by the deadline.
    pub on_time_month: i64,
    /// 按期处置率 this month, as the assessment computes it (0..=1).
    pub on_time_rate_month: f64,
    /// The last 30 days, oldest first, today last.
    pub trend: Vec<TrendDay>,
    /// This month's most reported categories: (code, reported), at most 5.
    pub top_categories: Vec<(String, i64)>,
}

/// The day the China month of `now_ms` began.
pub fn month_start_day(now_ms: i64) -> i64 {
    let today = day_of(now_ms);
    let dom = jiff::Timestamp::from_millisecond(now_ms)
        .map(|t| t.to_zoned(crate::time::china()).day() as i64)
        .unwrap_or(1);
    today - (dom - 1)
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    reported: i64,
    on_time: i64,
    closed: i64,
    open: i64,
}

/// The figures of node `grid` (its whole subtree) at `now_ms`.
pub async fn of_node(db: &Db, district: &str, grid: &str, now_ms: i64) -> sqlx::Result<CaseFigures> {
    let today = day_of(now_ms);
    let month = month_start_day(now_ms);
    let first = (today - TREND_DAYS + 1).min(month);
    let sql = "SELECT day, CAST(SUM(reported) AS BIGINT) AS reported, CAST(SUM(on_time) AS BIGINT) AS on_time, \
               CAST(SUM(closed) AS BIGINT) AS closed, CAST(SUM(open) AS BIGINT) AS open \
               FROM case_tallies WHERE grid_code = $1 AND (day = $2 OR day >= $3) GROUP BY day";
    let top_sql = "SELECT category_code, CAST(SUM(reported) AS BIGINT) FROM case_tallies \
                   WHERE grid_code = $1 AND day >= $2 GROUP BY category_code HAVING SUM(reported) > 0 \
                   ORDER BY 2 DESC, category_code LIMIT 5";
    let upper = subtree_upper(grid);
    let hint = covering_hint(db);
    let overdue_sql = format!(
        "SELECT COUNT(*) FROM cases{hint} WHERE district = $1 AND status IN {OPEN_STATUSES} AND due_at < $2 AND {scope}",
        scope = scope_cond(grid)
    );
    let (days, top, overdue): (Vec<DayRow>, Vec<(String, i64)>, i64) = on_pool!(db, |p| {
        let days = sqlx::query_as::<_, DayRow>(sql)
            .bind(grid)
            .bind(OPEN_DAY)
            .bind(first)
            .fetch_all(p)
            .await?;
        let top = sqlx::query_as(top_sql).bind(grid).bind(month).fetch_all(p).await?;
        let overdue = sqlx::query_scalar(sqlx::AssertSqlSafe(overdue_sql.clone()))
            .bind(district)
            .bind(now_ms)
            .bind(grid)
            .bind(upper.as_str())
            .fetch_one(p)
            .await?;
        Ok::<_, sqlx::Error>((days, top, overdue))
    })?;
    let by_day: BTreeMap<i64, &DayRow> = days.iter().map(|d| (d.day, d)).collect();
    let get = |d: i64| by_day.get(&d).copied();
    let month_rows = days.iter().filter(|d| d.day >= month && d.day != OPEN_DAY);
    let (reported_month, on_time_month) = month_rows.fold((0, 0), |(r, o), d| (r + d.reported, o + d.on_time));
    let rate = assessment::figures(&assessment::Counts {
        received: reported_month,
        on_time: on_time_month,
        ..Default::default()
    })
    .on_time_rate;
    let trend = (today - TREND_DAYS + 1..=today)
        .map(|d| {
            let row = get(d);
            TrendDay {
                date: crate::time::day_ms(day_start_ms(d)),
                reported: row.map_or(0, |r| r.reported),
                closed: row.map_or(0, |r| r.closed),
                on_time: row.map_or(0, |r| r.on_time),
            }
        })
        .collect();
    Ok(CaseFigures {
        reported_today: get(today).map_or(0, |r| r.reported),
        open: get(OPEN_DAY).map_or(0, |r| r.open),
        overdue,
        closed_today: get(today).map_or(0, |r| r.closed),
        reported_month,
        on_time_month,
        on_time_rate_month: rate,
        trend,
        top_categories: top,
    })
}

/// Open and overdue cases per child of `grid` (`children`: their codes, `child_len` long): open
/// from each child's day-0 tallies by its key, overdue from the open cases' covering index.
pub async fn by_child(
    db: &Db,
    district: &str,
    grid: &str,
    children: &[String],
    child_len: usize,
    now_ms: i64,
) -> sqlx::Result<BTreeMap<String, (i64, i64)>> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    if children.is_empty() {
        return Ok(out);
    }
    let upper = subtree_upper(grid);
    let len = child_len as i64;
    let hint = covering_hint(db);
    let marks: Vec<String> = (0..children.len()).map(|i| format!("${}", i + 2)).collect();
    let open_sql = format!(
        "SELECT grid_code, CAST(SUM(open) AS BIGINT) FROM case_tallies WHERE day = $1 AND grid_code IN ({}) GROUP BY grid_code",
        marks.join(", ")
    );
    let overdue_sql = format!(
        "SELECT SUBSTR(grid_code, 1, {len}) AS node, COUNT(*) FROM cases{hint} WHERE district = $1 AND status IN {OPEN_STATUSES} \
         AND due_at < $2 AND {scope} AND LENGTH(grid_code) >= {len} GROUP BY SUBSTR(grid_code, 1, {len})",
        scope = scope_cond(grid)
    );
    type Counts = Vec<(String, i64)>;
    let (open, overdue): (Counts, Counts) = on_pool!(db, |p| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(open_sql.clone())).bind(OPEN_DAY);
        for c in children {
            q = q.bind(c.as_str());
        }
        let open = q.fetch_all(p).await?;
        let overdue = sqlx::query_as(sqlx::AssertSqlSafe(overdue_sql.clone()))
            .bind(district)
            .bind(now_ms)
            .bind(grid)
            .bind(upper.as_str())
            .fetch_all(p)
            .await?;
        Ok::<_, sqlx::Error>((open, overdue))
    })?;
    for (code, n) in open {
        out.entry(code).or_default().0 = n;
    }
    for (code, n) in overdue {
        out.entry(code).or_default().1 = n;
    }
    Ok(out)
}

/// The newest cases of a subtree reported since `since_ms`, newest first (the screen's ticker).
/// Bounded by time so a quiet building never walks the whole district's history.
pub async fn latest(db: &Db, district: &str, grid: &str, since_ms: i64, limit: i64) -> sqlx::Result<Vec<CaseRow>> {
    let upper = subtree_upper(grid);
    // SQLite would take the (district, grid_code, reported_at) index for a wide subtree and sort
    // the district's whole history; the week's reports by time are what bound this read.
    let hint = if matches!(db, Db::Sqlite { .. }) {
        " INDEXED BY cases_reported"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {CASE_COLS} FROM cases{hint} WHERE district = $1 AND reported_at >= $2 AND grid_code >= $3 AND grid_code < $4 \
         ORDER BY reported_at DESC, id DESC LIMIT $5"
    );
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(district)
        .bind(since_ms)
        .bind(grid)
        .bind(upper.as_str())
        .bind(limit)
        .fetch_all(p)
        .await)
}

/// Open cases of a subtree with a location, most urgent first (the map's case points).
pub async fn open_points(db: &Db, district: &str, grid: &str, limit: i64) -> sqlx::Result<Vec<CaseRow>> {
    let upper = subtree_upper(grid);
    let sql = format!(
        "SELECT {CASE_COLS} FROM cases WHERE district = $1 AND status IN {OPEN_STATUSES} AND grid_code >= $2 AND grid_code < $3 \
         AND lat IS NOT NULL ORDER BY due_at LIMIT $4"
    );
    on_pool!(db, |p| sqlx::query_as::<_, CaseRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(district)
        .bind(grid)
        .bind(upper.as_str())
        .bind(limit)
        .fetch_all(p)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_starts_on_the_first_in_china() {
        // 2026-11-30 17:00 UTC is already 2026-12-01 01:00 in China.
        let t = jiff::Timestamp::from_second(1_796_058_000).unwrap().as_millisecond();
        assert_eq!(month_start_day(t), day_of(t));
        assert_eq!(month_start_day(t - 2 * 3_600_000), day_of(t) - 30);
    }
}
