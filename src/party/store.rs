//! Party building's SQL, on both engines: organisations, members, posts, service records and
//! model households.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct OrgRow {
    pub id: Uuid,
    pub district: String,
    pub parent_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    pub grid_code: Option<String>,
    pub unit_id: Option<Uuid>,
    pub secretary_user_id: Option<Uuid>,
    pub report_grid: Option<String>,
    pub reported_on: Option<String>,
    pub created_at: i64,
    /// The grid node's or the unit's name.
    pub place: String,
    pub secretary: String,
    pub members: i64,
}

const ORG_SELECT: &str = "SELECT o.id, o.district, o.parent_id, o.kind, o.name, o.grid_code, o.unit_id, o.secretary_user_id, \
     o.report_grid, o.reported_on, o.created_at, COALESCE(g.name, u.name, '') AS place, COALESCE(us.display_name, '') AS secretary, \
     (SELECT COUNT(*) FROM party_members m WHERE m.org_id = o.id) AS members \
     FROM party_orgs o LEFT JOIN grids g ON g.code = o.grid_code LEFT JOIN units u ON u.id = o.unit_id \
     LEFT JOIN users us ON us.id = o.secretary_user_id";

pub async fn org(db: &Db, id: Uuid) -> sqlx::Result<Option<OrgRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(format!(
        "{ORG_SELECT} WHERE o.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Organisations at a node of `root`'s subtree, or at a unit reporting into it; highest first.
pub async fn orgs_in(db: &Db, district: &str, root: &str, kind: Option<&str>, limit: i64, offset: i64) -> sqlx::Result<(Vec<OrgRow>, i64)> {
    let upper = subtree_upper(root);
    let where_ = "o.district = $1 AND ((o.grid_code >= $2 AND o.grid_code < $3) OR (o.report_grid >= $2 AND o.report_grid < $3)) \
                  AND ($4 IS NULL OR o.kind = $4)";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(format!(
            "{ORG_SELECT} WHERE {where_} ORDER BY COALESCE(o.grid_code, o.report_grid), o.unit_id IS NOT NULL, o.name LIMIT $5 OFFSET $6"
        )))
        .bind(district)
        .bind(root)
        .bind(&upper)
        .bind(kind)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM party_orgs o WHERE {where_}")))
            .bind(district)
            .bind(root)
            .bind(&upper)
            .bind(kind)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// The organisations of a unit (its party branch).
pub async fn orgs_of_unit(db: &Db, unit: Uuid) -> sqlx::Result<Vec<OrgRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(format!(
        "{ORG_SELECT} WHERE o.unit_id = $1 ORDER BY o.name"
    )))
    .bind(unit)
    .fetch_all(p)
    .await)
}

/// The branch at a compound (its own node), if any.
pub async fn branch_at(db: &Db, district: &str, compound: &str) -> sqlx::Result<Option<OrgRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(format!(
        "{ORG_SELECT} WHERE o.district = $1 AND o.grid_code = $2 AND o.kind = 'branch' ORDER BY o.created_at LIMIT 1"
    )))
    .bind(district)
    .bind(compound)
    .fetch_optional(p)
    .await)
}

pub async fn children(db: &Db, id: Uuid) -> sqlx::Result<Vec<OrgRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(format!(
        "{ORG_SELECT} WHERE o.parent_id = $1 ORDER BY o.grid_code, o.name LIMIT 200"
    )))
    .bind(id)
    .fetch_all(p)
    .await)
}

pub struct NewOrgRow<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub parent_id: Option<Uuid>,
    pub kind: &'a str,
    pub name: &'a str,
    pub grid_code: Option<&'a str>,
    pub unit_id: Option<Uuid>,
    pub secretary_user_id: Option<Uuid>,
    pub report_grid: Option<&'a str>,
    pub reported_on: Option<&'a str>,
    pub now: i64,
}

pub async fn insert_org(tx: &mut Tx, o: &NewOrgRow<'_>) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO party_orgs (id, district, parent_id, kind, name, grid_code, unit_id, secretary_user_id, report_grid, reported_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(o.id)
    .bind(o.district)
    .bind(o.parent_id)
    .bind(o.kind)
    .bind(o.name)
    .bind(o.grid_code)
    .bind(o.unit_id)
    .bind(o.secretary_user_id)
    .bind(o.report_grid)
    .bind(o.reported_on)
    .bind(o.now)
    .execute(c)
    .await
    .map(|_| ())
    })
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct MemberRow {
    pub id: Uuid,
    pub district: String,
    pub org_id: Option<Uuid>,
    pub kind: String,
    pub resident_id: Option<Uuid>,
    pub unit_id: Option<Uuid>,
    pub name: String,
    pub phone_masked: String,
    pub grid_code: Option<String>,
    pub cadre: bool,
    pub report_grid: Option<String>,
    pub reported_on: Option<String>,
    pub assigned_grid: Option<String>,
    pub created_at: i64,
    pub org_name: String,
    pub unit_name: String,
    pub report_name: String,
    pub assigned_name: String,
    /// Minutes of service in the last 365 days.
    pub minutes: i64,
}

const MEMBER_SELECT: &str = "SELECT m.id, m.district, m.org_id, m.kind, m.resident_id, m.unit_id, m.name, m.phone_masked, m.grid_code, \
     m.cadre, m.report_grid, m.reported_on, m.assigned_grid, m.created_at, COALESCE(o.name, '') AS org_name, COALESCE(u.name, '') AS unit_name, \
     COALESCE(rg.name, '') AS report_name, COALESCE(ag.name, '') AS assigned_name, \
     CAST(COALESCE((SELECT SUM(s.minutes) FROM party_service s WHERE s.member_id = m.id AND s.served_on >= $100), 0) AS BIGINT) AS minutes \
     FROM party_members m LEFT JOIN party_orgs o ON o.id = m.org_id LEFT JOIN units u ON u.id = m.unit_id \
     LEFT JOIN grids rg ON rg.code = m.report_grid LEFT JOIN grids ag ON ag.code = m.assigned_grid";

/// The member select with its service window bound as `$1` and the rest shifted.
fn member_sql(where_: &str, tail: &str) -> String {
    format!("{MEMBER_SELECT} WHERE {where_} {tail}").replace("$100", "$1")
}

pub async fn member(db: &Db, id: Uuid, since: &str) -> sqlx::Result<Option<MemberRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(member_sql(
        "m.id = $2",
        ""
    )))
    .bind(since)
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn member_of_resident(db: &Db, resident: Uuid, since: &str) -> sqlx::Result<Option<MemberRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(member_sql(
        "m.resident_id = $2",
        ""
    )))
    .bind(since)
    .bind(resident)
    .fetch_optional(p)
    .await)
}

/// What a member list reads.
pub struct MemberFilter<'a> {
    pub district: &'a str,
    /// Members living, reported or assigned in this subtree.
    pub root: Option<&'a str>,
    pub unit: Option<Uuid>,
    pub org: Option<Uuid>,
    /// Some(true): reported in; Some(false): in-service and not yet.
    pub reported: Option<bool>,
    pub cadre: Option<bool>,
    pub since: &'a str,
    pub limit: i64,
    pub offset: i64,
}

pub async fn members(db: &Db, f: &MemberFilter<'_>) -> sqlx::Result<(Vec<MemberRow>, i64)> {
    let upper = f.root.map(subtree_upper);
    let where_ = "m.district = $2 \
        AND ($3 IS NULL OR (m.grid_code >= $3 AND m.grid_code < $4) OR (m.report_grid >= $3 AND m.report_grid < $4) OR (m.assigned_grid >= $3 AND m.assigned_grid < $4)) \
        AND ($5 IS NULL OR m.unit_id = $5) AND ($6 IS NULL OR m.org_id = $6) \
        AND ($7 IS NULL OR ($7 = 1 AND m.reported_on IS NOT NULL) OR ($7 = 0 AND m.kind = 'in_service' AND m.reported_on IS NULL)) \
        AND ($8 IS NULL OR m.cadre = ($8 = 1))";
    let reported = f.reported.map(i64::from);
    let cadre = f.cadre.map(i64::from);
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(member_sql(
            where_,
            "ORDER BY m.kind, m.name, m.id LIMIT $9 OFFSET $10",
        )))
        .bind(f.since)
        .bind(f.district)
        .bind(f.root)
        .bind(&upper)
        .bind(f.unit)
        .bind(f.org)
        .bind(reported)
        .bind(cadre)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM party_members m WHERE $1 = $1 AND {where_}"
        )))
        .bind(f.since)
        .bind(f.district)
        .bind(f.root)
        .bind(&upper)
        .bind(f.unit)
        .bind(f.org)
        .bind(reported)
        .bind(cadre)
        .fetch_one(p)
        .await?;
        Ok((rows, total))
    })
}

/// Report-in counts of a unit's members: (all, reported).
pub async fn unit_counts(db: &Db, unit: Uuid) -> sqlx::Result<(i64, i64)> {
    on_pool!(db, |p| sqlx::query_as::<_, (i64, i64)>(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN reported_on IS NOT NULL THEN 1 ELSE 0 END), 0) FROM party_members WHERE unit_id = $1"
    )
    .bind(unit)
    .fetch_one(p)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PostRow {
    pub id: Uuid,
    pub member_id: Uuid,
    pub post: String,
    pub grid_code: String,
    pub consent: bool,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub member_name: String,
    pub grid_name: String,
}

const POST_SELECT: &str = "SELECT p.id, p.member_id, p.post, p.grid_code, p.consent, p.started_at, p.ended_at, m.name AS member_name, \
     g.name AS grid_name FROM party_posts p JOIN party_members m ON m.id = p.member_id JOIN grids g ON g.code = p.grid_code";

pub async fn post(db: &Db, id: Uuid) -> sqlx::Result<Option<PostRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
        "{POST_SELECT} WHERE p.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn posts_of(db: &Db, member: Uuid) -> sqlx::Result<Vec<PostRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
        "{POST_SELECT} WHERE p.member_id = $1 ORDER BY p.ended_at IS NOT NULL, p.started_at DESC"
    )))
    .bind(member)
    .fetch_all(p)
    .await)
}

/// Posts held now in a subtree; `public` keeps the consented ones only.
pub async fn posts_in(db: &Db, district: &str, root: &str, public: bool, limit: i64) -> sqlx::Result<Vec<PostRow>> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| sqlx::query_as::<_, PostRow>(sqlx::AssertSqlSafe(format!(
        "{POST_SELECT} WHERE p.district = $1 AND p.grid_code >= $2 AND p.grid_code < $3 AND p.ended_at IS NULL \
         AND ($4 = 0 OR p.consent = TRUE) ORDER BY p.grid_code, p.post, m.name LIMIT $5"
    )))
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(i64::from(public))
    .bind(limit)
    .fetch_all(p)
    .await)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ServiceRow {
    pub id: Uuid,
    pub member_id: Uuid,
    pub grid_code: String,
    pub served_on: String,
    pub minutes: i64,
    pub what: String,
    pub activity_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub member_name: String,
    pub grid_name: String,
    pub activity_title: String,
    pub case_code: String,
}

const SERVICE_SELECT: &str = "SELECT s.id, s.member_id, s.grid_code, s.served_on, s.minutes, s.what, s.activity_id, s.case_id, \
     m.name AS member_name, g.name AS grid_name, COALESCE(a.title, '') AS activity_title, COALESCE(c.tracking_code, '') AS case_code \
     FROM party_service s JOIN party_members m ON m.id = s.member_id JOIN grids g ON g.code = s.grid_code \
     LEFT JOIN volunteer_activities a ON a.id = s.activity_id LEFT JOIN cases c ON c.id = s.case_id";

pub async fn service_of(db: &Db, member: Uuid, limit: i64, offset: i64) -> sqlx::Result<(Vec<ServiceRow>, i64)> {
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, ServiceRow>(sqlx::AssertSqlSafe(format!(
            "{SERVICE_SELECT} WHERE s.member_id = $1 ORDER BY s.served_on DESC, s.created_at DESC LIMIT $2 OFFSET $3"
        )))
        .bind(member)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM party_service WHERE member_id = $1")
            .bind(member)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// The newest service records of an organisation's members.
pub async fn service_of_org(db: &Db, org: Uuid, limit: i64) -> sqlx::Result<Vec<ServiceRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ServiceRow>(sqlx::AssertSqlSafe(format!(
        "{SERVICE_SELECT} WHERE m.org_id = $1 ORDER BY s.served_on DESC, s.created_at DESC LIMIT $2"
    )))
    .bind(org)
    .bind(limit)
    .fetch_all(p)
    .await)
}

pub struct NewServiceRow<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub member_id: Uuid,
    pub grid_code: &'a str,
    pub served_on: &'a str,
    pub minutes: i64,
    pub what: &'a str,
    pub activity_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub now: i64,
}

pub async fn insert_service(tx: &mut Tx, s: &NewServiceRow<'_>) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO party_service (id, district, member_id, grid_code, served_on, minutes, what, activity_id, case_id, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(s.id)
    .bind(s.district)
    .bind(s.member_id)
    .bind(s.grid_code)
    .bind(s.served_on)
    .bind(s.minutes)
    .bind(s.what)
    .bind(s.activity_id)
    .bind(s.case_id)
    .bind(s.recorded_by)
    .bind(s.now)
    .execute(c)
    .await
    .map(|_| ())
    })
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ModelRow {
    pub id: Uuid,
    pub district: String,
    pub year: i64,
    pub household_id: Uuid,
    pub member_id: Uuid,
    pub grid_code: String,
    pub status: String,
    pub reason: String,
    pub created_at: i64,
    pub reviewed_at: Option<i64>,
    pub published_at: Option<i64>,
    pub address: String,
    pub member_name: String,
}

const MODEL_SELECT: &str = "SELECT x.id, x.district, x.year, x.household_id, x.member_id, x.grid_code, x.status, x.reason, x.created_at, \
     x.reviewed_at, x.published_at, h.address, m.name AS member_name FROM party_model_households x \
     JOIN households h ON h.id = x.household_id JOIN party_members m ON m.id = x.member_id";

pub async fn model(db: &Db, id: Uuid) -> sqlx::Result<Option<ModelRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ModelRow>(sqlx::AssertSqlSafe(format!(
        "{MODEL_SELECT} WHERE x.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn models_in(
    db: &Db,
    district: &str,
    root: &str,
    year: i64,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ModelRow>, i64)> {
    let upper = subtree_upper(root);
    let where_ = "x.district = $1 AND x.year = $2 AND x.grid_code >= $3 AND x.grid_code < $4 AND ($5 IS NULL OR x.status = $5)";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, ModelRow>(sqlx::AssertSqlSafe(format!(
            "{MODEL_SELECT} WHERE {where_} ORDER BY x.grid_code, h.address LIMIT $6 OFFSET $7"
        )))
        .bind(district)
        .bind(year)
        .bind(root)
        .bind(&upper)
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM party_model_households x WHERE {where_}"
        )))
        .bind(district)
        .bind(year)
        .bind(root)
        .bind(&upper)
        .bind(status)
        .fetch_one(p)
        .await?;
        Ok((rows, total))
    })
}

/// The newest year with published model households in a subtree, and those households.
pub async fn published_in(db: &Db, district: &str, root: &str, limit: i64) -> sqlx::Result<Vec<ModelRow>> {
    let upper = subtree_upper(root);
    on_pool!(db, |p| {
        sqlx::query_as::<_, ModelRow>(sqlx::AssertSqlSafe(format!(
        "{MODEL_SELECT} WHERE x.district = $1 AND x.grid_code >= $2 AND x.grid_code < $3 AND x.status = 'published' \
         AND x.year = (SELECT MAX(y.year) FROM party_model_households y WHERE y.district = $1 AND y.grid_code >= $2 AND y.grid_code < $3 AND y.status = 'published') \
         ORDER BY x.grid_code, h.address LIMIT $4"
    )))
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(limit)
    .fetch_all(p)
    .await
    })
}
