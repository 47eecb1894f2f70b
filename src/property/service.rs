//! Red property operations (placeholder until the property feature lands): the coverage summary
//! (红色物业覆盖) of a grid subtree, from what the registry holds now.

use crate::db::Db;
use crate::error::AppResult;
use crate::grid::rules::subtree_upper;
use crate::on_pool;

/// Coverage figures of the compounds under a grid node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoverageSummary {
    /// Level-4 compounds in the subtree.
    pub compounds: i64,
    /// Compounds with a property service, an owners' committee and a party branch.
    pub covered: i64,
    /// Compounds with no property company and no owners' committee (三无小区).
    pub three_nos: i64,
}

/// The coverage of the compounds under `grid`.
pub async fn coverage_summary(db: &Db, district: &str, grid: &str) -> AppResult<CoverageSummary> {
    let upper = subtree_upper(grid);
    let rows: Vec<(String, bool, bool)> = on_pool!(db, |p| sqlx::query_as(
        "SELECT g.code, g.property_company_id IS NOT NULL, \
         EXISTS (SELECT 1 FROM units u WHERE u.kind = 'owners_committee' AND u.grid_code = g.code) \
         FROM grids g WHERE g.district = $1 AND g.level = 4 AND g.code >= $2 AND g.code < $3"
    )
    .bind(district)
    .bind(grid)
    .bind(&upper)
    .fetch_all(p)
    .await)?;
    let branches = crate::party::service::compounds_with_branch(db, district, grid).await?;
    let mut s = CoverageSummary {
        compounds: rows.len() as i64,
        ..CoverageSummary::default()
    };
    for (code, company, committee) in rows {
        if company && committee && branches.contains(&code) {
            s.covered += 1;
        }
        if !company && !committee {
            s.three_nos += 1;
        }
    }
    Ok(s)
}
