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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SummaryBy {
    Team,
    Community,
    Month,
}

/// One group's key, volunteers, attendances, minutes and points.
type Aggregate = (String, i64, i64, i64, i64);

/// Summaries computed earlier, by (district, subtree, grouping), with the version they were
/// computed at. A sign-up turns `attended` once and never changes after (`credit_in`), and only
/// attended sign-ups are summed, so the number of attended sign-ups in the district is the
/// summaries' version: while it is unchanged, so are they. The number is read from the database,
/// so a write by another process is seen too. Names are looked up afresh each time. One per
/// server (in `VolunteersState`), as each serves one database.
#[derive(Default)]
pub struct SummaryCache(std::sync::Mutex<Cache>);

type Cache = std::collections::HashMap<(String, Option<String>, SummaryBy), (i64, Vec<Aggregate>)>;

/// Enough for every community's and street's three summaries; beyond it the cache starts over.
const CACHE_ENTRIES: usize = 512;

/// The summaries' version: attended sign-ups in the district (an index count).
async fn attended_count(db: &Db, district: &str) -> sqlx::Result<i64> {
    on_pool!(db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM activity_signups WHERE district = $1 AND status = 'attended'"
    )
    .bind(district)
    .fetch_one(p)
    .await)
}

/// Hours and points from attendance, in a grid subtree (by the volunteer's home), grouped.
/// Months are China-time calendar months of the check-out (or the activity's end).
pub async fn summary(db: &Db, cache: &SummaryCache, district: &str, grid: Option<&str>, by: SummaryBy) -> sqlx::Result<Vec<SummaryRow>> {
    // The whole district needs no filter by home; a subtree is found from its volunteers (an
    // index range) and their sign-ups (an index probe each), not by scanning every sign-up.
    let grid = grid.filter(|g| *g != district);
    let upper = grid.map(subtree_upper);
    let at = "COALESCE(s.checked_out_at, a.ends_at)";
    let home = if by == SummaryBy::Community {
        "JOIN volunteers v ON v.id = s.volunteer_id "
    } else {
        ""
    };
    let in_grid = if grid.is_some() {
        "AND s.volunteer_id IN (SELECT id FROM volunteers WHERE district = $1 AND grid_code >= $2 AND grid_code < $3)"
    } else {
        "AND $2 IS NULL AND $3 IS NULL"
    };
    let from = format!(
        "FROM activity_signups s {home}JOIN volunteer_activities a ON a.id = s.activity_id \
         LEFT JOIN volunteer_teams t ON t.id = a.team_id \
         WHERE s.district = $1 AND s.status = 'attended' {in_grid}"
    );
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
    let cache_key = (district.to_string(), grid.map(str::to_string), by);
    let version = attended_count(db, district).await?;
    let cached = cache
        .0
        .lock()
        .ok()
        .and_then(|c| c.get(&cache_key).filter(|e| e.0 == version).map(|e| e.1.clone()));
    let rows: Vec<Aggregate> = match cached {
        Some(rows) => rows,
        None => {
            let rows: Vec<Aggregate> = on_pool!(db, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(district)
                .bind(grid)
                .bind(&upper)
                .fetch_all(p)
                .await)?;
            if let Ok(mut c) = cache.0.lock() {
                if c.len() >= CACHE_ENTRIES {
                    c.clear();
                }
                c.insert(cache_key, (version, rows.clone()));
            }
            rows
        }
    };
    // Community names in one query, not one a row (the district has 88 communities).
    let names: std::collections::HashMap<String, String> = if by == SummaryBy::Community {
        // Below a community (a compound leader's scope), its own community is the one named.
        let scope = grid.unwrap_or(district);
        let scope = scope.get(..12).unwrap_or(scope);
        let upper = subtree_upper(scope);
        on_pool!(db, |p| sqlx::query_as::<_, (String, String)>(
            "SELECT code, name FROM grids WHERE district = $1 AND level = 3 AND code >= $2 AND code < $3"
        )
        .bind(district)
        .bind(scope)
        .bind(&upper)
        .fetch_all(p)
        .await)?
        .into_iter()
        .collect()
    } else {
        Default::default()
    };
    let out = rows
        .into_iter()
        .map(|(k, a, b, c, d)| {
            let name = match by {
                SummaryBy::Team if k.is_empty() => "未指定队伍".to_string(),
                SummaryBy::Team | SummaryBy::Month => k.clone(),
                SummaryBy::Community => names.get(&k).cloned().unwrap_or_default(),
            };
            row(k, name, (a, b, c, d))
        })
        .collect();
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
