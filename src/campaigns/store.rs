//! Campaign tables: campaigns, their teams and members, the spots and each spot's actions.
//! Writes take the caller's transaction; the service checks and audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CampaignRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub grid_name: String,
    pub title: String,
    pub kind: String,
    pub kind_name: String,
    pub unit: String,
    pub partners: String,
    pub starts_on: String,
    pub deadline: String,
    pub reinspect_days: i64,
    pub created_by: String,
    pub created_at: i64,
}

const CAMPAIGN_COLS: &str = "c.id, c.district, c.grid_code, g.name AS grid_name, c.title, c.kind, c.kind_name, c.unit, c.partners, \
     c.starts_on, c.deadline, c.reinspect_days, c.created_by, c.created_at FROM campaigns c JOIN grids g ON g.code = c.grid_code";

pub async fn campaign(db: &Db, id: Uuid) -> sqlx::Result<Option<CampaignRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CampaignRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {CAMPAIGN_COLS} WHERE c.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Campaigns that cover `root` or lie under it (a community sees its street's drives and its
/// own), and those `user` is a team member of; newest first.
pub async fn campaigns_for(db: &Db, district: &str, roots: &[String], user: Uuid, limit: i64) -> sqlx::Result<Vec<CampaignRow>> {
    let mut conds = vec![
        "c.id IN (SELECT t.campaign_id FROM campaign_teams t LEFT JOIN campaign_members m ON m.team_id = t.id \
         WHERE t.leader_id = $2 OR m.user_id = $2)"
            .to_string(),
    ];
    for i in 0..roots.len() {
        let (a, b) = (3 + 2 * i, 4 + 2 * i);
        conds.push(format!(
            "(c.grid_code = substr(${a}, 1, length(c.grid_code)) OR (c.grid_code >= ${a} AND c.grid_code < ${b}))"
        ));
    }
    let sql = format!(
        "SELECT {CAMPAIGN_COLS} WHERE c.district = $1 AND ({}) ORDER BY c.created_at DESC, c.id LIMIT {limit}",
        conds.join(" OR ")
    );
    on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, CampaignRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(district)
            .bind(user);
        for r in roots {
            q = q.bind(r.clone()).bind(subtree_upper(r));
        }
        q.fetch_all(p).await
    })
}

pub struct NewCampaign<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub grid_code: &'a str,
    pub title: &'a str,
    pub kind: &'a str,
    pub kind_name: &'a str,
    pub unit: &'a str,
    pub partners: &'a str,
    pub starts_on: &'a str,
    pub deadline: &'a str,
    pub reinspect_days: i64,
    pub created_by: &'a str,
    pub at: i64,
}

pub async fn insert_campaign(tx: &mut Tx, c: &NewCampaign<'_>) -> sqlx::Result<()> {
    on_tx!(tx, |x| {
        sqlx::query(
        "INSERT INTO campaigns (id, district, grid_code, title, kind, kind_name, unit, partners, starts_on, deadline, reinspect_days, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(c.id)
    .bind(c.district)
    .bind(c.grid_code)
    .bind(c.title)
    .bind(c.kind)
    .bind(c.kind_name)
    .bind(c.unit)
    .bind(c.partners)
    .bind(c.starts_on)
    .bind(c.deadline)
    .bind(c.reinspect_days)
    .bind(c.created_by)
    .bind(c.at)
    .execute(x)
    .await
    .map(|_| ())
    })
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct TeamRow {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub name: String,
    pub leader_id: Uuid,
    pub leader_name: String,
    /// Comma-joined grid codes.
    pub grids: String,
}

impl TeamRow {
    pub fn grid_list(&self) -> Vec<&str> {
        self.grids.split(',').filter(|g| !g.is_empty()).collect()
    }

    /// Whether a spot at `grid` is in this team's assignment.
    pub fn covers(&self, grid: &str) -> bool {
        self.grid_list().iter().any(|g| grid.starts_with(g))
    }
}

pub async fn teams(db: &Db, campaign: Uuid) -> sqlx::Result<Vec<TeamRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TeamRow>(
        "SELECT id, campaign_id, name, leader_id, leader_name, grids FROM campaign_teams WHERE campaign_id = $1 ORDER BY name"
    )
    .bind(campaign)
    .fetch_all(p)
    .await)
}

/// The teams of `campaign` that `user` leads or belongs to.
pub async fn teams_of(db: &Db, campaign: Uuid, user: Uuid) -> sqlx::Result<Vec<TeamRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TeamRow>(
        "SELECT id, campaign_id, name, leader_id, leader_name, grids FROM campaign_teams t WHERE campaign_id = $1 \
         AND (leader_id = $2 OR EXISTS (SELECT 1 FROM campaign_members m WHERE m.team_id = t.id AND m.user_id = $2)) ORDER BY name"
    )
    .bind(campaign)
    .bind(user)
    .fetch_all(p)
    .await)
}

/// Members' names of a team.
pub async fn members(db: &Db, team: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, String)>(
        "SELECT user_id, name FROM campaign_members WHERE team_id = $1 ORDER BY name"
    )
    .bind(team)
    .fetch_all(p)
    .await)
}

pub async fn insert_team(tx: &mut Tx, t: &TeamRow, at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |x| sqlx::query(
        "INSERT INTO campaign_teams (id, campaign_id, name, leader_id, leader_name, grids, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(t.id)
    .bind(t.campaign_id)
    .bind(&t.name)
    .bind(t.leader_id)
    .bind(&t.leader_name)
    .bind(&t.grids)
    .bind(at)
    .execute(x)
    .await
    .map(|_| ()))
}

pub async fn insert_member(tx: &mut Tx, team: Uuid, user: Uuid, name: &str) -> sqlx::Result<()> {
    on_tx!(tx, |x| sqlx::query(
        "INSERT INTO campaign_members (team_id, user_id, name) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO NOTHING"
    )
    .bind(team)
    .bind(user)
    .bind(name)
    .execute(x)
    .await
    .map(|_| ()))
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SpotRow {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub place: String,
    pub party: String,
    pub measure: f64,
    pub note: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    pub phase: String,
    pub self_cleared: bool,
    pub visits: i64,
    pub refusals: i64,
    pub recurrences: i64,
    pub photo_sha256: Option<String>,
    pub after_sha256: Option<String>,
    pub case_id: Option<Uuid>,
    pub found_at: i64,
    pub cleared_at: Option<i64>,
    pub reinspect_at: Option<i64>,
    pub found_by: String,
    pub updated_at: i64,
}

const SPOT_COLS: &str = "id, campaign_id, district, grid_code, place, party, measure, note, lat, lng, phase, self_cleared, visits, refusals, \
     recurrences, photo_sha256, after_sha256, case_id, found_at, cleared_at, reinspect_at, found_by, updated_at";

pub async fn spot(db: &Db, id: Uuid) -> sqlx::Result<Option<SpotRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, SpotRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SPOT_COLS} FROM campaign_spots WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// [`spot`] in the transaction, after locking its row (a no-op update takes PostgreSQL's row lock;
/// SQLite's write transaction holds the database), so the phase checked stays the phase.
pub async fn lock_spot(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<SpotRow>> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE campaign_spots SET updated_at = updated_at WHERE id = $1"
    )
    .bind(id)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| sqlx::query_as::<_, SpotRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SPOT_COLS} FROM campaign_spots WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Spots of a campaign under `root` (all when empty), in `phase` when given, oldest first.
pub async fn spots(db: &Db, campaign: Uuid, root: &str, phase: Option<&str>, limit: i64, offset: i64) -> sqlx::Result<(Vec<SpotRow>, i64)> {
    let upper = subtree_upper(root);
    let filter = "campaign_id = $1 AND ($2 = '' OR (grid_code >= $2 AND grid_code < $3)) AND ($4 = '' OR phase = $4)";
    let phase = phase.unwrap_or("").to_string();
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, SpotRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {SPOT_COLS} FROM campaign_spots WHERE {filter} ORDER BY found_at, id LIMIT $5 OFFSET $6"
        )))
        .bind(campaign)
        .bind(root)
        .bind(&upper)
        .bind(&phase)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM campaign_spots WHERE {filter}")))
            .bind(campaign)
            .bind(root)
            .bind(&upper)
            .bind(&phase)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// What the figures need of every spot of a campaign.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct FactRow {
    pub grid_code: String,
    pub phase: String,
    pub self_cleared: bool,
    pub visits: i64,
    pub refusals: i64,
    pub measure: f64,
    pub found_at: i64,
    pub cleared_at: Option<i64>,
}

pub async fn facts(db: &Db, campaign: Uuid) -> sqlx::Result<Vec<FactRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, FactRow>(
        "SELECT grid_code, phase, self_cleared, visits, refusals, measure, found_at, cleared_at FROM campaign_spots WHERE campaign_id = $1"
    )
    .bind(campaign)
    .fetch_all(p)
    .await)
}

pub async fn insert_spot(tx: &mut Tx, s: &SpotRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO campaign_spots (id, campaign_id, district, grid_code, place, party, measure, note, lat, lng, phase, self_cleared, \
         visits, refusals, recurrences, photo_sha256, after_sha256, case_id, found_at, cleared_at, reinspect_at, found_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    )
    .bind(s.id)
    .bind(s.campaign_id)
    .bind(&s.district)
    .bind(&s.grid_code)
    .bind(&s.place)
    .bind(&s.party)
    .bind(s.measure)
    .bind(&s.note)
    .bind(s.lat)
    .bind(s.lng)
    .bind(&s.phase)
    .bind(s.self_cleared)
    .bind(s.visits)
    .bind(s.refusals)
    .bind(s.recurrences)
    .bind(&s.photo_sha256)
    .bind(&s.after_sha256)
    .bind(s.case_id)
    .bind(s.found_at)
    .bind(s.cleared_at)
    .bind(s.reinspect_at)
    .bind(&s.found_by)
    .bind(s.updated_at)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Write a spot's changing columns back.
pub async fn update_spot(tx: &mut Tx, s: &SpotRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE campaign_spots SET phase = $2, self_cleared = $3, visits = $4, refusals = $5, recurrences = $6, after_sha256 = $7, \
         case_id = $8, cleared_at = $9, reinspect_at = $10, updated_at = $11 WHERE id = $1"
    )
    .bind(s.id)
    .bind(&s.phase)
    .bind(s.self_cleared)
    .bind(s.visits)
    .bind(s.refusals)
    .bind(s.recurrences)
    .bind(&s.after_sha256)
    .bind(s.case_id)
    .bind(s.cleared_at)
    .bind(s.reinspect_at)
    .bind(s.updated_at)
    .execute(c)
    .await
    .map(|_| ()))
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ActionRow {
    pub id: Uuid,
    pub spot_id: Uuid,
    pub action: String,
    pub outcome: String,
    pub people: i64,
    pub note: String,
    pub photo_sha256: Option<String>,
    pub by_name: String,
    pub at_ms: i64,
}

pub async fn actions(db: &Db, spot: Uuid) -> sqlx::Result<Vec<ActionRow>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, ActionRow>(
        "SELECT id, spot_id, action, outcome, people, note, photo_sha256, by_name, at_ms FROM campaign_actions WHERE spot_id = $1 ORDER BY at_ms, id"
    )
    .bind(spot)
    .fetch_all(p)
    .await
    })
}

pub async fn insert_action(tx: &mut Tx, a: &ActionRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO campaign_actions (id, spot_id, action, outcome, people, note, photo_sha256, by_name, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(a.id)
    .bind(a.spot_id)
    .bind(&a.action)
    .bind(&a.outcome)
    .bind(a.people)
    .bind(&a.note)
    .bind(&a.photo_sha256)
    .bind(&a.by_name)
    .bind(a.at_ms)
    .execute(c)
    .await
    .map(|_| ())
    })
}

/// One item of a campaign's checklist (测评清单).
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ItemRow {
    pub id: Uuid,
    pub position: i64,
    pub text: String,
}

pub async fn insert_items(tx: &mut Tx, campaign: Uuid, items: &[String]) -> sqlx::Result<()> {
    for (i, text) in items.iter().enumerate() {
        on_tx!(tx, |x| sqlx::query(
            "INSERT INTO campaign_checklist_items (id, campaign_id, position, text) VALUES ($1, $2, $3, $4)"
        )
        .bind(crate::db::new_id())
        .bind(campaign)
        .bind(i as i64 + 1)
        .bind(text)
        .execute(x)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// The checklist in order (empty when the campaign carries none).
pub async fn checklist(db: &Db, campaign: Uuid) -> sqlx::Result<Vec<ItemRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ItemRow>(
        "SELECT id, position, text FROM campaign_checklist_items WHERE campaign_id = $1 ORDER BY position"
    )
    .bind(campaign)
    .fetch_all(p)
    .await)
}

/// An inspection of one place against the checklist.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct InspectionRow {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub grid_code: String,
    pub grid_name: String,
    pub recheck_of: Option<Uuid>,
    pub passed: i64,
    pub failed: i64,
    pub note: String,
    pub by_name: String,
    pub at_ms: i64,
}

const INSPECTION_COLS: &str = "i.id, i.campaign_id, i.grid_code, g.name AS grid_name, i.recheck_of, i.passed, i.failed, i.note, i.by_name, i.at_ms \
     FROM campaign_inspections i JOIN grids g ON g.code = i.grid_code";

/// No later inspection of the same place (ties broken by id, which grows with time).
const LATEST: &str = "NOT EXISTS (SELECT 1 FROM campaign_inspections j WHERE j.campaign_id = i.campaign_id AND j.grid_code = i.grid_code \
     AND (j.at_ms > i.at_ms OR (j.at_ms = i.at_ms AND j.id > i.id)))";

pub async fn inspection(db: &Db, id: Uuid) -> sqlx::Result<Option<InspectionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, InspectionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {INSPECTION_COLS} WHERE i.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Each place's latest inspection under `root` (all when empty): failing places first, then by place.
pub async fn latest_per_place(db: &Db, campaign: Uuid, root: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<InspectionRow>, i64)> {
    let upper = subtree_upper(root);
    let cond = format!("i.campaign_id = $1 AND i.grid_code >= $2 AND i.grid_code < $3 AND {LATEST}");
    let upper = if root.is_empty() { "~".to_string() } else { upper };
    let rows = on_pool!(db, |p| sqlx::query_as::<_, InspectionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {INSPECTION_COLS} WHERE {cond} ORDER BY i.failed = 0, i.grid_code LIMIT {limit} OFFSET {offset}"
    )))
    .bind(campaign)
    .bind(root)
    .bind(&upper)
    .fetch_all(p)
    .await)?;
    let total = on_pool!(db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM campaign_inspections i WHERE {cond}"
    )))
    .bind(campaign)
    .bind(root)
    .bind(&upper)
    .fetch_one(p)
    .await)?;
    Ok((rows, total))
}

/// What each place still fails (its latest inspection's failures), and the counts of
/// inspections and re-checks, for the whole campaign.
pub async fn checklist_standing(db: &Db, campaign: Uuid) -> sqlx::Result<(Vec<i64>, i64, i64)> {
    let failing = on_pool!(db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT i.failed FROM campaign_inspections i WHERE i.campaign_id = $1 AND {LATEST}"
    )))
    .bind(campaign)
    .fetch_all(p)
    .await)?;
    let (all, rechecks): (i64, i64) = on_pool!(db, |p| sqlx::query_as(
        "SELECT COUNT(*), COUNT(recheck_of) FROM campaign_inspections WHERE campaign_id = $1"
    )
    .bind(campaign)
    .fetch_one(p)
    .await)?;
    Ok((failing, all, rechecks))
}

/// Per checklist item, the places whose latest inspection fails it.
pub async fn failures_by_item(db: &Db, campaign: Uuid) -> sqlx::Result<Vec<(Uuid, i64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, i64)>(sqlx::AssertSqlSafe(format!(
        "SELECT m.item_id, COUNT(*) FROM campaign_inspection_marks m JOIN campaign_inspections i ON i.id = m.inspection_id \
         WHERE i.campaign_id = $1 AND NOT m.passed AND {LATEST} GROUP BY m.item_id"
    )))
    .bind(campaign)
    .fetch_all(p)
    .await)
}

/// The place's latest inspection, read in the transaction after locking the campaign's row, so
/// two re-checks of one inspection cannot both pass the check that it is the latest.
pub async fn lock_latest(tx: &mut Tx, campaign: Uuid, grid: &str) -> sqlx::Result<Option<Uuid>> {
    on_tx!(tx, |c| sqlx::query("UPDATE campaigns SET created_at = created_at WHERE id = $1")
        .bind(campaign)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    on_tx!(tx, |c| sqlx::query_scalar::<_, Uuid>(sqlx::AssertSqlSafe(format!(
        "SELECT i.id FROM campaign_inspections i WHERE i.campaign_id = $1 AND i.grid_code = $2 AND {LATEST}"
    )))
    .bind(campaign)
    .bind(grid)
    .fetch_optional(c)
    .await)
}

/// The items an inspection failed.
pub async fn failing_items(tx: &mut Tx, inspection: Uuid) -> sqlx::Result<Vec<Uuid>> {
    on_tx!(tx, |c| sqlx::query_scalar::<_, Uuid>(
        "SELECT item_id FROM campaign_inspection_marks WHERE inspection_id = $1 AND NOT passed"
    )
    .bind(inspection)
    .fetch_all(c)
    .await)
}

/// One mark as stored: item, passed, photo, note.
pub struct MarkIn {
    pub item: Uuid,
    pub passed: bool,
    pub photo: Option<String>,
    pub note: String,
}

pub struct NewInspection<'a> {
    pub id: Uuid,
    pub campaign: Uuid,
    pub district: &'a str,
    pub grid: &'a str,
    pub recheck_of: Option<Uuid>,
    pub passed: i64,
    pub failed: i64,
    pub note: &'a str,
    pub by_id: Uuid,
    pub by_name: &'a str,
    pub at: i64,
}

pub async fn insert_inspection(tx: &mut Tx, n: &NewInspection<'_>, marks: &[MarkIn]) -> sqlx::Result<()> {
    on_tx!(tx, |x| sqlx::query(
        "INSERT INTO campaign_inspections (id, campaign_id, district, grid_code, recheck_of, passed, failed, note, by_id, by_name, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(n.id)
    .bind(n.campaign)
    .bind(n.district)
    .bind(n.grid)
    .bind(n.recheck_of)
    .bind(n.passed)
    .bind(n.failed)
    .bind(n.note)
    .bind(n.by_id)
    .bind(n.by_name)
    .bind(n.at)
    .execute(x)
    .await
    .map(|_| ()))?;
    for m in marks {
        on_tx!(tx, |x| sqlx::query(
            "INSERT INTO campaign_inspection_marks (inspection_id, item_id, passed, photo_sha256, note) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(n.id)
        .bind(m.item)
        .bind(m.passed)
        .bind(&m.photo)
        .bind(&m.note)
        .execute(x)
        .await
        .map(|_| ()))?;
    }
    Ok(())
}

/// An inspection's marks with their items, in checklist order.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct MarkRow {
    pub item_id: Uuid,
    pub position: i64,
    pub text: String,
    pub passed: bool,
    pub photo_sha256: Option<String>,
    pub note: String,
}

pub async fn marks(db: &Db, inspection: Uuid) -> sqlx::Result<Vec<MarkRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MarkRow>(
        "SELECT m.item_id, c.position, c.text, m.passed, m.photo_sha256, m.note FROM campaign_inspection_marks m \
         JOIN campaign_checklist_items c ON c.id = m.item_id WHERE m.inspection_id = $1 ORDER BY c.position"
    )
    .bind(inspection)
    .fetch_all(p)
    .await)
}

/// The inspections of one place, newest first.
pub async fn place_inspections(db: &Db, campaign: Uuid, grid: &str) -> sqlx::Result<Vec<InspectionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, InspectionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {INSPECTION_COLS} WHERE i.campaign_id = $1 AND i.grid_code = $2 ORDER BY i.at_ms DESC, i.id DESC LIMIT 50"
    )))
    .bind(campaign)
    .bind(grid)
    .fetch_all(p)
    .await)
}
