//! The renovation projects' storage: projects, compounds, phase history, plans, rounds, views and
//! linked cases, on both engines.

use uuid::Uuid;

use super::rules::Tally;
use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ProjectRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub title: String,
    pub summary: String,
    pub phase: String,
    pub created_by_name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLS: &str = "id, district, grid_code, title, summary, phase, created_by_name, created_at, updated_at";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PhaseRow {
    pub phase: String,
    pub actor_name: String,
    pub changed_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PlanRow {
    pub id: Uuid,
    pub version: i64,
    pub body: String,
    pub published: bool,
    pub created_by_name: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct RoundRow {
    pub id: Uuid,
    pub project_id: Uuid,
    pub number: i64,
    pub plan_version: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

/// One building's counts in a round (the SQL side of [`super::rules::tally`]).
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct BuildingTallyRow {
    pub building_code: String,
    pub households: i64,
    pub answered: i64,
    pub agree: i64,
    pub disagree: i64,
    pub suggestions: i64,
}

impl BuildingTallyRow {
    pub fn tally(&self) -> Tally {
        Tally {
            households: self.households,
            answered: self.answered,
            agree: self.agree,
            disagree: self.disagree,
            suggestions: self.suggestions,
        }
    }
}

/// A household that may be asked, with its current view in a round.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct HouseholdView {
    pub id: Uuid,
    pub grid_code: String,
    pub unit_no: i64,
    pub room: String,
    pub view: Option<String>,
    pub note: Option<String>,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct LinkedCase {
    pub id: Uuid,
    pub tracking_code: String,
    pub category_code: String,
    pub description: String,
    pub status: String,
    pub reported_at: i64,
}

pub struct NewProject<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub grid_code: &'a str,
    pub title: &'a str,
    pub summary: &'a str,
    pub actor_name: &'a str,
    pub at: i64,
}

pub async fn insert_project(tx: &mut Tx, p: &NewProject<'_>, compounds: &[String]) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO renovation_projects (id, district, grid_code, title, summary, phase, created_by_name, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'planning', $6, $7, $7)",
        )
        .bind(p.id)
        .bind(p.district)
        .bind(p.grid_code)
        .bind(p.title)
        .bind(p.summary)
        .bind(p.actor_name)
        .bind(p.at)
        .execute(&mut *c)
        .await?;
        for code in compounds {
            sqlx::query("INSERT INTO renovation_compounds (project_id, compound_code, district) VALUES ($1, $2, $3)")
                .bind(p.id)
                .bind(code)
                .bind(p.district)
                .execute(&mut *c)
                .await?;
        }
        sqlx::query("INSERT INTO renovation_phases (project_id, phase, actor_name, changed_at) VALUES ($1, 'planning', $2, $3)")
            .bind(p.id)
            .bind(p.actor_name)
            .bind(p.at)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

pub async fn get(db: &Db, district: &str, id: Uuid) -> sqlx::Result<Option<ProjectRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ProjectRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM renovation_projects WHERE id = $1 AND district = $2"
    )))
    .bind(id)
    .bind(district)
    .fetch_optional(p)
    .await)
}

pub async fn compounds(db: &Db, id: Uuid) -> sqlx::Result<Vec<String>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT compound_code FROM renovation_compounds WHERE project_id = $1 ORDER BY compound_code"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

/// Projects with a compound in `code`'s subtree (a building's: its compound's), newest first.
pub async fn list(db: &Db, district: &str, code: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<ProjectRow>, i64)> {
    let upper = subtree_upper(code);
    let filter = "FROM renovation_projects r WHERE r.district = $1 AND EXISTS (SELECT 1 FROM renovation_compounds c \
                  WHERE c.project_id = r.id AND c.compound_code >= $2 AND c.compound_code < $3)";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, ProjectRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {} {filter} ORDER BY r.created_at DESC, r.id LIMIT $4 OFFSET $5",
            COLS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
        )))
        .bind(district)
        .bind(code)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {filter}")))
            .bind(district)
            .bind(code)
            .bind(&upper)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

pub async fn phases(db: &Db, id: Uuid) -> sqlx::Result<Vec<PhaseRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, PhaseRow>(
        "SELECT phase, actor_name, changed_at FROM renovation_phases WHERE project_id = $1 ORDER BY changed_at, phase"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

/// Move the phase if it is still `from`; false when someone else moved it first.
pub async fn set_phase(tx: &mut Tx, id: Uuid, from: &str, to: &str, actor_name: &str, at: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        let n = sqlx::query("UPDATE renovation_projects SET phase = $1, updated_at = $2 WHERE id = $3 AND phase = $4")
            .bind(to)
            .bind(at)
            .bind(id)
            .bind(from)
            .execute(&mut *c)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO renovation_phases (project_id, phase, actor_name, changed_at) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(to)
            .bind(actor_name)
            .bind(at)
            .execute(&mut *c)
            .await?;
        Ok(true)
    })
}

pub async fn plans(db: &Db, id: Uuid) -> sqlx::Result<Vec<PlanRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, PlanRow>(
        "SELECT id, version, body, published, created_by_name, created_at FROM renovation_plans WHERE project_id = $1 ORDER BY version"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

/// A new version (the next number); the project row is touched first so two writers queue.
pub async fn insert_plan(tx: &mut Tx, project: &ProjectRow, plan_id: Uuid, body: &str, actor_name: &str, at: i64) -> sqlx::Result<i64> {
    on_tx!(tx, |c| {
        sqlx::query("UPDATE renovation_projects SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(project.id)
            .execute(&mut *c)
            .await?;
        let version: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM renovation_plans WHERE project_id = $1")
            .bind(project.id)
            .fetch_one(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO renovation_plans (id, project_id, district, version, body, published, created_by_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7)",
        )
        .bind(plan_id)
        .bind(project.id)
        .bind(&project.district)
        .bind(version)
        .bind(body)
        .bind(actor_name)
        .bind(at)
        .execute(&mut *c)
        .await?;
        Ok(version)
    })
}

/// Mark `version` the published one (and no other); false when it already was.
pub async fn publish(tx: &mut Tx, project: Uuid, version: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        let already: Option<bool> = sqlx::query_scalar("SELECT published FROM renovation_plans WHERE project_id = $1 AND version = $2")
            .bind(project)
            .bind(version)
            .fetch_optional(&mut *c)
            .await?;
        if already != Some(false) {
            return Ok(false);
        }
        sqlx::query("UPDATE renovation_plans SET published = (version = $2) WHERE project_id = $1")
            .bind(project)
            .bind(version)
            .execute(&mut *c)
            .await?;
        Ok(true)
    })
}

pub async fn rounds(db: &Db, id: Uuid) -> sqlx::Result<Vec<RoundRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, RoundRow>(
        "SELECT id, project_id, number, plan_version, opened_at, closed_at FROM renovation_rounds WHERE project_id = $1 ORDER BY number"
    )
    .bind(id)
    .fetch_all(p)
    .await)
}

/// The open round, read inside the writer's transaction.
pub async fn open_round_in(tx: &mut Tx, project: Uuid) -> sqlx::Result<Option<RoundRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, RoundRow>(
        "SELECT id, project_id, number, plan_version, opened_at, closed_at FROM renovation_rounds \
         WHERE project_id = $1 AND closed_at IS NULL"
    )
    .bind(project)
    .fetch_optional(&mut *c)
    .await)
}

/// Open round `number` (the next) on `plan_version`; the project row is touched first so two
/// openers queue and the second sees the first's round.
pub async fn open_round(tx: &mut Tx, project: &ProjectRow, id: Uuid, plan_version: i64, at: i64) -> sqlx::Result<i64> {
    on_tx!(tx, |c| {
        sqlx::query("UPDATE renovation_projects SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(project.id)
            .execute(&mut *c)
            .await?;
        let number: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM renovation_rounds WHERE project_id = $1")
            .bind(project.id)
            .fetch_one(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO renovation_rounds (id, project_id, district, number, plan_version, opened_at, closed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(id)
        .bind(project.id)
        .bind(&project.district)
        .bind(number)
        .bind(plan_version)
        .bind(at)
        .execute(&mut *c)
        .await?;
        Ok(number)
    })
}

pub async fn close_round(tx: &mut Tx, round: Uuid, at: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| Ok(sqlx::query(
        "UPDATE renovation_rounds SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL"
    )
    .bind(at)
    .bind(round)
    .execute(&mut *c)
    .await?
    .rows_affected()
        == 1))
}

/// Touch the project row so writers of one project queue (the round stays open meanwhile).
pub async fn lock_project(tx: &mut Tx, project: Uuid, at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("UPDATE renovation_projects SET updated_at = $1 WHERE id = $2")
            .bind(at)
            .bind(project)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

pub struct NewView<'a> {
    pub round: Uuid,
    pub household: Uuid,
    pub district: &'a str,
    pub building: &'a str,
    pub view: &'a str,
    pub note: &'a str,
    pub actor_name: &'a str,
    pub at: i64,
}

/// Record a household's view, replacing the one before; gives the view it replaced.
pub async fn upsert_view(tx: &mut Tx, v: &NewView<'_>) -> sqlx::Result<Option<String>> {
    on_tx!(tx, |c| {
        let before: Option<String> = sqlx::query_scalar("SELECT view FROM renovation_views WHERE round_id = $1 AND household_id = $2")
            .bind(v.round)
            .bind(v.household)
            .fetch_optional(&mut *c)
            .await?;
        sqlx::query(
            "INSERT INTO renovation_views (round_id, household_id, district, building_code, view, note, recorded_by_name, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (round_id, household_id) DO UPDATE SET view = excluded.view, note = excluded.note, \
               recorded_by_name = excluded.recorded_by_name, recorded_at = excluded.recorded_at",
        )
        .bind(v.round)
        .bind(v.household)
        .bind(v.district)
        .bind(v.building)
        .bind(v.view)
        .bind(v.note)
        .bind(v.actor_name)
        .bind(v.at)
        .execute(&mut *c)
        .await?;
        Ok(before)
    })
}

/// Per building of the project's compounds: households asked and the round's views, by GROUP BY.
pub async fn tally(db: &Db, project: Uuid, round: Option<Uuid>) -> sqlx::Result<Vec<BuildingTallyRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, BuildingTallyRow>(
        "SELECT h.grid_code AS building_code, COUNT(*) AS households, COUNT(v.household_id) AS answered, \
           COALESCE(SUM(CASE WHEN v.view = 'agree' THEN 1 ELSE 0 END), 0) AS agree, \
           COALESCE(SUM(CASE WHEN v.view = 'disagree' THEN 1 ELSE 0 END), 0) AS disagree, \
           COALESCE(SUM(CASE WHEN v.view = 'suggestion' THEN 1 ELSE 0 END), 0) AS suggestions \
         FROM renovation_compounds c \
         JOIN households h ON h.grid_code >= c.compound_code AND h.grid_code < c.compound_code || ':' \
         LEFT JOIN renovation_views v ON v.round_id = $2 AND v.household_id = h.id \
         WHERE c.project_id = $1 GROUP BY h.grid_code ORDER BY h.grid_code"
    )
    .bind(project)
    .bind(round)
    .fetch_all(p)
    .await)
}

/// The households of the project's compounds (id, building), for the pure tally.
pub async fn households(db: &Db, project: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, String)>(
        "SELECT h.id, h.grid_code FROM renovation_compounds c \
         JOIN households h ON h.grid_code >= c.compound_code AND h.grid_code < c.compound_code || ':' \
         WHERE c.project_id = $1"
    )
    .bind(project)
    .fetch_all(p)
    .await)
}

/// A round's views (household, view).
pub async fn views(db: &Db, round: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, String)>(
        "SELECT household_id, view FROM renovation_views WHERE round_id = $1"
    )
    .bind(round)
    .fetch_all(p)
    .await)
}

/// A building's households with their view in `round` (for the building head's form).
pub async fn building_households(db: &Db, building: &str, round: Option<Uuid>) -> sqlx::Result<Vec<HouseholdView>> {
    on_pool!(db, |p| sqlx::query_as::<_, HouseholdView>(
        "SELECT h.id, h.grid_code, h.unit_no, h.room, v.view, v.note FROM households h \
         LEFT JOIN renovation_views v ON v.round_id = $2 AND v.household_id = h.id \
         WHERE h.grid_code = $1 ORDER BY h.unit_no, h.room"
    )
    .bind(building)
    .bind(round)
    .fetch_all(p)
    .await)
}

pub async fn link_case(tx: &mut Tx, project: Uuid, case_id: Uuid, district: &str, at: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query("INSERT INTO renovation_cases (project_id, case_id, district, created_at) VALUES ($1, $2, $3, $4)")
            .bind(project)
            .bind(case_id)
            .bind(district)
            .bind(at)
            .execute(&mut *c)
            .await?;
        Ok(())
    })
}

pub async fn cases(db: &Db, project: Uuid) -> sqlx::Result<Vec<LinkedCase>> {
    on_pool!(db, |p| sqlx::query_as::<_, LinkedCase>(
        "SELECT k.id, k.tracking_code, k.category_code, k.description, k.status, k.reported_at \
         FROM renovation_cases l JOIN cases k ON k.id = l.case_id WHERE l.project_id = $1 ORDER BY k.reported_at DESC"
    )
    .bind(project)
    .fetch_all(p)
    .await)
}
