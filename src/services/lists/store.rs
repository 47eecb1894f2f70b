//! The four lists' tables: needs, resources, projects with the needs and resources they link,
//! and results. Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct NeedRow {
    pub id: Uuid,
    pub grid_code: String,
    pub grid_name: String,
    pub resident_id: Option<Uuid>,
    pub resident_name: Option<String>,
    pub kind: String,
    pub urgency: String,
    pub description: String,
    pub source: String,
    pub recorded_by: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ResourceRow {
    pub id: Uuid,
    pub grid_code: String,
    pub provider_kind: String,
    pub provider: String,
    pub kind: String,
    pub capacity: i64,
    pub period: String,
    pub description: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ProjectRow {
    pub id: Uuid,
    pub grid_code: String,
    pub name: String,
    pub owner: String,
    pub starts_on: String,
    pub ends_on: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ResultRow {
    pub project_id: Uuid,
    pub delivered: String,
    pub people: i64,
    pub photos: i64,
    pub rating: Option<i64>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// A link of a project to a need or a resource.
#[derive(sqlx::FromRow, Debug, Clone, Copy)]
pub struct Link {
    pub project_id: Uuid,
    pub other: Uuid,
}

/// The rows of one list in a subtree, newest first, a page of them, and how many there are.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

const NEED_COLS: &str = "n.id, n.grid_code, g.name AS grid_name, n.resident_id, r.name AS resident_name, n.kind, n.urgency, \
     n.description, n.source, n.recorded_by, n.created_at \
     FROM service_needs n JOIN grids g ON g.code = n.grid_code LEFT JOIN residents r ON r.id = n.resident_id";

macro_rules! paged {
    ($db:expr, $row:ty, $table:literal, $cols:expr, $district:expr, $grid:expr, $limit:expr, $offset:expr) => {{
        let upper = subtree_upper($grid);
        let sql = format!(
            "SELECT {} WHERE {}.district = $1 AND {}.grid_code >= $2 AND {}.grid_code < $3 ORDER BY {}.created_at DESC, {}.id LIMIT $4 OFFSET $5",
            $cols, $table, $table, $table, $table, $table
        );
        let count = format!(
            "SELECT COUNT(*) FROM {} WHERE district = $1 AND grid_code >= $2 AND grid_code < $3",
            match $table {
                "n" => "service_needs",
                "s" => "service_resources",
                _ => "service_projects",
            }
        );
        on_pool!($db, |p| {
            let rows = sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe(sql))
                .bind($district)
                .bind($grid)
                .bind(&upper)
                .bind($limit)
                .bind($offset)
                .fetch_all(p)
                .await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count))
                .bind($district)
                .bind($grid)
                .bind(&upper)
                .fetch_one(p)
                .await?;
            Ok::<_, sqlx::Error>(Page { rows, total })
        })
    }};
}

pub async fn needs(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> sqlx::Result<Page<NeedRow>> {
    paged!(db, NeedRow, "n", NEED_COLS, district, grid, limit, offset)
}

const RESOURCE_COLS: &str =
    "s.id, s.grid_code, s.provider_kind, s.provider, s.kind, s.capacity, s.period, s.description, s.created_at FROM service_resources s";

pub async fn resources(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> sqlx::Result<Page<ResourceRow>> {
    paged!(db, ResourceRow, "s", RESOURCE_COLS, district, grid, limit, offset)
}

const PROJECT_COLS: &str = "j.id, j.grid_code, j.name, j.owner, j.starts_on, j.ends_on, j.created_at FROM service_projects j";

pub async fn projects(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> sqlx::Result<Page<ProjectRow>> {
    paged!(db, ProjectRow, "j", PROJECT_COLS, district, grid, limit, offset)
}

/// Results of the subtree's projects, newest first.
pub async fn results(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> sqlx::Result<Page<ResultRow>> {
    let upper = subtree_upper(grid);
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, ResultRow>(
            "SELECT r.project_id, r.delivered, r.people, r.photos, r.rating, r.recorded_by, r.recorded_at \
             FROM service_results r JOIN service_projects j ON j.id = r.project_id \
             WHERE j.district = $1 AND j.grid_code >= $2 AND j.grid_code < $3 ORDER BY r.recorded_at DESC, r.project_id LIMIT $4 OFFSET $5",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM service_results r JOIN service_projects j ON j.id = r.project_id \
             WHERE j.district = $1 AND j.grid_code >= $2 AND j.grid_code < $3",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_one(p)
        .await?;
        Ok(Page { rows, total })
    })
}

/// Needs by id (any order).
pub async fn needs_by_id(db: &Db, ids: &[Uuid]) -> sqlx::Result<Vec<NeedRow>> {
    by_ids(db, ids, |db, chunk| {
        let sql = format!("SELECT {NEED_COLS} WHERE n.id IN ({})", marks(chunk.len()));
        Box::pin(async move {
            on_pool!(db, |p| {
                let mut q = sqlx::query_as::<_, NeedRow>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })
        })
    })
    .await
}

pub async fn resources_by_id(db: &Db, ids: &[Uuid]) -> sqlx::Result<Vec<ResourceRow>> {
    by_ids(db, ids, |db, chunk| {
        let sql = format!("SELECT {RESOURCE_COLS} WHERE s.id IN ({})", marks(chunk.len()));
        Box::pin(async move {
            on_pool!(db, |p| {
                let mut q = sqlx::query_as::<_, ResourceRow>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })
        })
    })
    .await
}

pub async fn projects_by_id(db: &Db, ids: &[Uuid]) -> sqlx::Result<Vec<ProjectRow>> {
    by_ids(db, ids, |db, chunk| {
        let sql = format!("SELECT {PROJECT_COLS} WHERE j.id IN ({})", marks(chunk.len()));
        Box::pin(async move {
            on_pool!(db, |p| {
                let mut q = sqlx::query_as::<_, ProjectRow>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })
        })
    })
    .await
}

pub async fn results_of(db: &Db, projects: &[Uuid]) -> sqlx::Result<Vec<ResultRow>> {
    by_ids(db, projects, |db, chunk| {
        let sql = format!(
            "SELECT project_id, delivered, people, photos, rating, recorded_by, recorded_at FROM service_results WHERE project_id IN ({})",
            marks(chunk.len())
        );
        Box::pin(async move {
            on_pool!(db, |p| {
                let mut q = sqlx::query_as::<_, ResultRow>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })
        })
    })
    .await
}

/// Which side of a project's links to read.
#[derive(Clone, Copy)]
pub enum Side {
    Needs,
    Resources,
}

/// Links of these projects (`by_project`) or of these needs/resources (not `by_project`).
pub async fn links(db: &Db, side: Side, by_project: bool, ids: &[Uuid]) -> sqlx::Result<Vec<Link>> {
    let (table, col) = match side {
        Side::Needs => ("service_project_needs", "need_id"),
        Side::Resources => ("service_project_resources", "resource_id"),
    };
    let key = if by_project { "project_id" } else { col };
    by_ids(db, ids, |db, chunk| {
        let sql = format!(
            "SELECT project_id, {col} AS other FROM {table} WHERE {key} IN ({})",
            marks(chunk.len())
        );
        Box::pin(async move {
            on_pool!(db, |p| {
                let mut q = sqlx::query_as::<_, Link>(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    q = q.bind(*id);
                }
                q.fetch_all(p).await
            })
        })
    })
    .await
}

type Fut<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = sqlx::Result<Vec<T>>> + Send + 'a>>;

/// Run `f` over `ids` in chunks of 500 (both engines bind that many parameters).
async fn by_ids<'a, T>(db: &'a Db, ids: &'a [Uuid], f: impl Fn(&'a Db, &'a [Uuid]) -> Fut<'a, T>) -> sqlx::Result<Vec<T>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(f(db, chunk).await?);
    }
    Ok(out)
}

fn marks(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// A grid node's district and level, inside the transaction.
pub async fn grid_in(tx: &mut Tx, code: &str) -> sqlx::Result<Option<(String, i64)>> {
    on_tx!(tx, |c| sqlx::query_as::<_, (String, i64)>(
        "SELECT district, level FROM grids WHERE code = $1"
    )
    .bind(code)
    .fetch_optional(c)
    .await)
}

/// A resident's district and building, inside the transaction.
pub async fn resident_in(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<(String, String)>> {
    on_tx!(tx, |c| sqlx::query_as::<_, (String, String)>(
        "SELECT district, grid_code FROM residents WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// The resident an account is, inside the transaction.
pub async fn resident_of_account(tx: &mut Tx, user: Uuid) -> sqlx::Result<Option<Uuid>> {
    on_tx!(tx, |c| sqlx::query_scalar::<_, Uuid>(
        "SELECT resident_id FROM resident_accounts WHERE user_id = $1"
    )
    .bind(user)
    .fetch_optional(c)
    .await)
}

pub struct NewNeedRow<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub grid: &'a str,
    pub resident: Option<Uuid>,
    pub kind: &'a str,
    pub urgency: &'a str,
    pub description: &'a str,
    pub source: &'a str,
    pub recorded_by: &'a str,
    pub at: i64,
}

pub async fn insert_need(tx: &mut Tx, n: &NewNeedRow<'_>) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO service_needs (id, district, grid_code, resident_id, kind, urgency, description, source, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(n.id)
    .bind(n.district)
    .bind(n.grid)
    .bind(n.resident)
    .bind(n.kind)
    .bind(n.urgency)
    .bind(n.description)
    .bind(n.source)
    .bind(n.recorded_by)
    .bind(n.at)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn insert_resource(tx: &mut Tx, district: &str, r: &ResourceRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO service_resources (id, district, grid_code, provider_kind, provider, kind, capacity, period, description, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(r.id)
    .bind(district)
    .bind(&r.grid_code)
    .bind(&r.provider_kind)
    .bind(&r.provider)
    .bind(&r.kind)
    .bind(r.capacity)
    .bind(&r.period)
    .bind(&r.description)
    .bind(r.created_at)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn insert_project(tx: &mut Tx, district: &str, j: &ProjectRow, needs: &[Uuid], resources: &[Uuid]) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO service_projects (id, district, grid_code, name, owner, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(j.id)
        .bind(district)
        .bind(&j.grid_code)
        .bind(&j.name)
        .bind(&j.owner)
        .bind(&j.starts_on)
        .bind(&j.ends_on)
        .bind(j.created_at)
        .execute(&mut *c)
        .await?;
        for n in needs {
            sqlx::query("INSERT INTO service_project_needs (project_id, need_id) VALUES ($1, $2)")
                .bind(j.id)
                .bind(*n)
                .execute(&mut *c)
                .await?;
        }
        for r in resources {
            sqlx::query("INSERT INTO service_project_resources (project_id, resource_id) VALUES ($1, $2)")
                .bind(j.id)
                .bind(*r)
                .execute(&mut *c)
                .await?;
        }
        Ok::<_, sqlx::Error>(())
    })
}

/// How many of `ids` are rows of `table` in the subtree (the links a project may make).
pub async fn count_in(tx: &mut Tx, table: Table, district: &str, grid: &str, ids: &[Uuid]) -> sqlx::Result<i64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let name = match table {
        Table::Needs => "service_needs",
        Table::Resources => "service_resources",
    };
    let sql = format!(
        "SELECT COUNT(*) FROM {name} WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND id IN ({})",
        (4..4 + ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    );
    let upper = subtree_upper(grid);
    on_tx!(tx, |c| {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .bind(district)
            .bind(grid)
            .bind(&upper);
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_one(c).await
    })
}

#[derive(Clone, Copy)]
pub enum Table {
    Needs,
    Resources,
}

/// A project's district and grid, locked for the result's transaction on PostgreSQL.
pub async fn project_in(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<(String, String, String)>> {
    match tx {
        Tx::Pg(t) => {
            sqlx::query_as::<_, (String, String, String)>("SELECT district, grid_code, name FROM service_projects WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut **t)
                .await
        }
        Tx::Sqlite(t) => {
            sqlx::query_as::<_, (String, String, String)>("SELECT district, grid_code, name FROM service_projects WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await
        }
    }
}

/// Record a project's result; false when it has one already.
pub async fn insert_result(tx: &mut Tx, district: &str, r: &ResultRow) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO service_results (project_id, district, delivered, people, photos, rating, recorded_by, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (project_id) DO NOTHING"
    )
    .bind(r.project_id)
    .bind(district)
    .bind(&r.delivered)
    .bind(r.people)
    .bind(r.photos)
    .bind(r.rating)
    .bind(&r.recorded_by)
    .bind(r.recorded_at)
    .execute(c)
    .await
    .map(|x| x.rows_affected()))?;
    Ok(n == 1)
}

/// A resident's own needs, newest first.
pub async fn needs_of_resident(db: &Db, resident: Uuid, limit: i64) -> sqlx::Result<Vec<NeedRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, NeedRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {NEED_COLS} WHERE n.resident_id = $1 ORDER BY n.created_at DESC, n.id LIMIT $2"
    )))
    .bind(resident)
    .bind(limit)
    .fetch_all(p)
    .await)
}

/// The communities (level 3) of a subtree, for the board's chooser.
pub async fn communities(db: &Db, district: &str, root: &str) -> sqlx::Result<Vec<(String, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT code, name FROM grids WHERE district = $1 AND level = 3 AND code >= $2 AND code < $3 ORDER BY code"
    )
    .bind(district)
    .bind(root)
    .bind(subtree_upper(root))
    .fetch_all(p)
    .await)
}

/// A community and its compounds: where the board records a need.
pub async fn places(db: &Db, district: &str, community: &str) -> sqlx::Result<Vec<(String, String)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT code, name FROM grids WHERE district = $1 AND level IN (3, 4) AND code >= $2 AND code < $3 ORDER BY code"
    )
    .bind(district)
    .bind(community)
    .bind(subtree_upper(community))
    .fetch_all(p)
    .await)
}
