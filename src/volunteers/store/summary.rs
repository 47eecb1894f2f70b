//! Hours and points from attendance, summed by team, community or month.

use serde::Serialize;

use crate::db::Db;
use crate::grid::rules::subtree_upper;
use crate::on_pool;

/// One line of the hours-and-points summary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SummaryRow {
    /// Team id, community grid code, or month (YYYY-MM).
    pub key: String,
    pub name: String,
    pub volunteers: i64,
    pub attendances: i64,
    pub minutes: i64,
    /// minutes / 60, one decimal.
    pub hours: f64,
    /// Points credited for the service time.
    pub points: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryBy {
    Team,
    Community,
    Month,
}

/// Hours and points from attendance, in a grid subtree (by the volunteer's home), grouped.
/// Months are China-time calendar months of the check-out (or the activity's end).
pub async fn summary(db: &Db, district: &str, grid: Option<&str>, by: SummaryBy) -> sqlx::Result<Vec<SummaryRow>> {
    let upper = grid.map(subtree_upper);
    let at = "COALESCE(s.checked_out_at, a.ends_at)";
    let from = "FROM activity_signups s JOIN volunteers v ON v.id = s.volunteer_id JOIN volunteer_activities a ON a.id = s.activity_id \
                LEFT JOIN volunteer_teams t ON t.id = a.team_id \
                WHERE s.district = $1 AND s.status = 'attended' AND ($2 IS NULL OR (v.grid_code >= $2 AND v.grid_code < $3))";
    let aggregates = "CAST(COUNT(DISTINCT s.volunteer_id) AS BIGINT), CAST(COUNT(*) AS BIGINT), \
                      CAST(COALESCE(SUM(s.minutes), 0) AS BIGINT), CAST(COALESCE(SUM(s.points), 0) AS BIGINT)";
    let row = |key: String, name: String, (vols, n, minutes, points): (i64, i64, i64, i64)| SummaryRow {
        key,
        name,
        volunteers: vols,
        attendances: n,
        minutes,
        hours: (minutes as f64 / 6.0).round() / 10.0,
        points,
    };
    // China keeps UTC+8 all year (no summer time since 1991), so a China-time month is the UTC
    // month of the instant plus eight hours; the two engines only spell it differently.
    let key = match (by, db.engine()) {
        (SummaryBy::Team, _) => "COALESCE(t.name, '')".to_string(),
        (SummaryBy::Community, _) => "SUBSTR(v.grid_code, 1, 12)".to_string(),
        (SummaryBy::Month, crate::db::Engine::Sqlite) => format!("strftime('%Y-%m', ({at} + 28800000) / 1000, 'unixepoch')"),
        (SummaryBy::Month, crate::db::Engine::Postgres) => {
            format!("to_char(to_timestamp(({at} + 28800000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM')")
        }
    };
    let sql = format!("SELECT {key} AS k, {aggregates} {from} GROUP BY {key} ORDER BY {key}");
    let rows: Vec<(String, i64, i64, i64, i64)> = on_pool!(db, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_all(p)
        .await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, a, b, c, d) in rows {
        let name = match by {
            SummaryBy::Team if k.is_empty() => "未指定队伍".to_string(),
            SummaryBy::Team | SummaryBy::Month => k.clone(),
            SummaryBy::Community => crate::grid::store::get(db, &k).await?.map(|g| g.name).unwrap_or_default(),
        };
        out.push(row(k, name, (a, b, c, d)));
    }
    Ok(out)
}

/// The first instant of the China-time month holding `ms`.
pub fn month_start(ms: i64) -> i64 {
    let z = jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(crate::time::china());
    z.date()
        .first_of_month()
        .to_zoned(crate::time::china())
        .map(|d| d.timestamp().as_millisecond())
        .unwrap_or(ms)
}
