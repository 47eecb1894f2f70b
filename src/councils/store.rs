//! The councils' tables: councils and their members over time, partners, opinions, meetings with
//! attendance, and resolutions. Writes take the caller's transaction; the service audits them.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::subtree_upper;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CouncilRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub name: String,
    pub created_at: i64,
}

/// A council with its compound's name and counts of current post-holders.
#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CouncilSummary {
    pub id: Uuid,
    pub grid_code: String,
    pub name: String,
    pub compound: String,
    pub members: i64,
    pub building_heads: i64,
    pub unit_heads: i64,
    pub party_members: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct MemberRow {
    pub id: Uuid,
    pub council_id: Uuid,
    pub resident_id: Uuid,
    pub name: String,
    pub post: String,
    pub building_code: Option<String>,
    pub unit_no: Option<i64>,
    pub party_member: bool,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PartnerRow {
    pub unit_id: Uuid,
    pub role: String,
    pub name: String,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct OpinionRow {
    pub id: Uuid,
    pub council_id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub category: String,
    pub body: String,
    pub anonymous: bool,
    pub author_name: String,
    pub resident_id: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub recorder_name: String,
    pub status: String,
    pub answer: String,
    pub answered_by: String,
    pub meeting_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    pub created_at: i64,
    pub answered_at: Option<i64>,
}

const OPINION_COLS: &str = "id, council_id, district, grid_code, category, body, anonymous, author_name, resident_id, recorded_by, \
     recorder_name, status, answer, answered_by, meeting_id, case_id, merged_into, created_at, answered_at";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct MeetingRow {
    pub id: Uuid,
    pub council_id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub kind: String,
    pub title: String,
    pub place: String,
    pub starts_at: i64,
    pub invitees: String,
    pub checkin_code: String,
    pub status: String,
    pub minutes: String,
    pub created_by: String,
    pub created_at: i64,
    pub held_at: Option<i64>,
}

const MEETING_COLS: &str = "id, council_id, district, grid_code, kind, title, place, starts_at, invitees, checkin_code, status, minutes, created_by, created_at, held_at";

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct AttendanceRow {
    pub resident_id: Uuid,
    pub name: String,
    pub via: String,
    pub at_ms: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ResolutionRow {
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub council_id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub position: i64,
    pub body: String,
    pub responsible: String,
    pub due_at: i64,
    pub case_id: Option<Uuid>,
    pub done_at: Option<i64>,
    pub done_note: String,
    pub created_at: i64,
}

const RESOLUTION_COLS: &str =
    "id, meeting_id, council_id, district, grid_code, position, body, responsible, due_at, case_id, done_at, done_note, created_at";

pub async fn council(db: &Db, id: Uuid) -> sqlx::Result<Option<CouncilRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CouncilRow>(
        "SELECT id, district, grid_code, name, created_at FROM councils WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// The council of a compound, or of the compound a building belongs to.
pub async fn council_over(db: &Db, grid_code: &str) -> sqlx::Result<Option<CouncilRow>> {
    let compound: String = grid_code.chars().take(crate::grid::rules::code_len(4)).collect();
    on_pool!(db, |p| sqlx::query_as::<_, CouncilRow>(
        "SELECT id, district, grid_code, name, created_at FROM councils WHERE grid_code = $1"
    )
    .bind(&compound)
    .fetch_optional(p)
    .await)
}

const COUNTS: &str = "(SELECT COUNT(*) FROM council_members m WHERE m.council_id = c.id AND m.ended_at IS NULL AND m.post IN ('chair', 'vice_chair', 'member')) AS members, \
     (SELECT COUNT(*) FROM council_members m WHERE m.council_id = c.id AND m.ended_at IS NULL AND m.post = 'building_head') AS building_heads, \
     (SELECT COUNT(*) FROM council_members m WHERE m.council_id = c.id AND m.ended_at IS NULL AND m.post = 'unit_head') AS unit_heads, \
     (SELECT COUNT(DISTINCT m.resident_id) FROM council_members m WHERE m.council_id = c.id AND m.ended_at IS NULL AND m.party_member) AS party_members";

/// The councils of a subtree, in grid order.
pub async fn councils_in(db: &Db, district: &str, root: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<CouncilSummary>, i64)> {
    let upper = subtree_upper(root);
    let sql = format!(
        "SELECT c.id, c.grid_code, c.name, g.name AS compound, {COUNTS} FROM councils c JOIN grids g ON g.code = c.grid_code \
         WHERE c.district = $1 AND c.grid_code >= $2 AND c.grid_code < $3 ORDER BY c.grid_code LIMIT $4 OFFSET $5"
    );
    let rows = on_pool!(db, |p| sqlx::query_as::<_, CouncilSummary>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(district)
        .bind(root)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await)?;
    let total: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM councils WHERE district = $1 AND grid_code >= $2 AND grid_code < $3"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .fetch_one(p)
    .await)?;
    Ok((rows, total))
}

pub async fn summary(db: &Db, id: Uuid) -> sqlx::Result<Option<CouncilSummary>> {
    let sql = format!(
        "SELECT c.id, c.grid_code, c.name, g.name AS compound, {COUNTS} FROM councils c JOIN grids g ON g.code = c.grid_code WHERE c.id = $1"
    );
    on_pool!(db, |p| sqlx::query_as::<_, CouncilSummary>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id)
        .fetch_optional(p)
        .await)
}

pub async fn insert_council(tx: &mut Tx, id: Uuid, district: &str, grid_code: &str, name: &str, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO councils (id, district, grid_code, name, created_at) VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(id)
    .bind(district)
    .bind(grid_code)
    .bind(name)
    .bind(now)
    .execute(c)
    .await
    .map(|_| ()))
}

const MEMBER_COLS: &str = "id, council_id, resident_id, name, post, building_code, unit_no, party_member, started_at, ended_at";

/// Members, current ones first (by post), then the history.
pub async fn members(db: &Db, council: Uuid, with_history: bool) -> sqlx::Result<Vec<MemberRow>> {
    let filter = if with_history { "" } else { " AND ended_at IS NULL" };
    let sql = format!(
        "SELECT {MEMBER_COLS} FROM council_members WHERE council_id = $1{filter} \
         ORDER BY CASE WHEN ended_at IS NULL THEN 0 ELSE 1 END, \
         CASE post WHEN 'chair' THEN 0 WHEN 'vice_chair' THEN 1 WHEN 'member' THEN 2 WHEN 'building_head' THEN 3 ELSE 4 END, \
         building_code, unit_no, started_at DESC LIMIT 2000"
    );
    on_pool!(db, |p| sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(sql.clone()))
        .bind(council)
        .fetch_all(p)
        .await)
}

pub async fn member(db: &Db, id: Uuid) -> sqlx::Result<Option<MemberRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLS} FROM council_members WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// The posts a resident holds now, on any council.
pub async fn posts_of_resident(db: &Db, resident: Uuid) -> sqlx::Result<Vec<MemberRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEMBER_COLS} FROM council_members WHERE resident_id = $1 AND ended_at IS NULL"
    )))
    .bind(resident)
    .fetch_all(p)
    .await)
}

/// End the current holders of a seat (see `rules::seat`) in this transaction.
pub async fn end_seat(tx: &mut Tx, council: Uuid, post: &str, building: Option<&str>, unit_no: Option<i64>, now: i64) -> sqlx::Result<u64> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE council_members SET ended_at = $1 WHERE council_id = $2 AND post = $3 AND ended_at IS NULL \
         AND COALESCE(building_code, '') = COALESCE($4, '') AND COALESCE(unit_no, 0) = COALESCE($5, 0)"
    )
    .bind(now)
    .bind(council)
    .bind(post)
    .bind(building)
    .bind(unit_no)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn end_member(tx: &mut Tx, id: Uuid, now: i64) -> sqlx::Result<u64> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE council_members SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL"
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

pub async fn insert_member(tx: &mut Tx, m: &MemberRow, district: &str) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO council_members (id, council_id, district, resident_id, name, post, building_code, unit_no, party_member, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(m.id)
    .bind(m.council_id)
    .bind(district)
    .bind(m.resident_id)
    .bind(&m.name)
    .bind(&m.post)
    .bind(&m.building_code)
    .bind(m.unit_no)
    .bind(m.party_member)
    .bind(m.started_at)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn partners(db: &Db, council: Uuid) -> sqlx::Result<Vec<PartnerRow>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, PartnerRow>(
        "SELECT p.unit_id, p.role, u.name FROM council_partners p JOIN units u ON u.id = p.unit_id WHERE p.council_id = $1 ORDER BY p.role, u.name"
    )
    .bind(council)
    .fetch_all(p)
    .await
    })
}

pub async fn insert_opinion(tx: &mut Tx, o: &OpinionRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO council_opinions (id, council_id, district, grid_code, category, body, anonymous, author_name, resident_id, \
         recorded_by, recorder_name, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(o.id)
    .bind(o.council_id)
    .bind(&o.district)
    .bind(&o.grid_code)
    .bind(&o.category)
    .bind(&o.body)
    .bind(o.anonymous)
    .bind(&o.author_name)
    .bind(o.resident_id)
    .bind(o.recorded_by)
    .bind(&o.recorder_name)
    .bind(&o.status)
    .bind(o.created_at)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn opinion(db: &Db, id: Uuid) -> sqlx::Result<Option<OpinionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, OpinionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {OPINION_COLS} FROM council_opinions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Filters for a list of opinions.
pub struct OpinionFilter<'a> {
    pub district: &'a str,
    pub root: &'a str,
    pub status: Option<&'a str>,
    /// Only those still waiting since before this instant (flagged).
    pub waiting_since: Option<i64>,
    /// Only what this account recorded (a resident's own).
    pub recorded_by: Option<Uuid>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn opinions(db: &Db, f: &OpinionFilter<'_>) -> sqlx::Result<(Vec<OpinionRow>, i64)> {
    let mut cond = String::from("district = $1 AND grid_code >= $2 AND grid_code < $3");
    let mut n = 3;
    let mut next = || {
        n += 1;
        n
    };
    if f.status.is_some() {
        cond.push_str(&format!(" AND status = ${}", next()));
    }
    if f.waiting_since.is_some() {
        cond.push_str(&format!(" AND status = 'open' AND created_at <= ${}", next()));
    }
    if f.recorded_by.is_some() {
        cond.push_str(&format!(" AND recorded_by = ${}", next()));
    }
    let (lim, off) = (next(), next());
    let list_sql =
        format!("SELECT {OPINION_COLS} FROM council_opinions WHERE {cond} ORDER BY created_at DESC, id LIMIT ${lim} OFFSET ${off}");
    let count_sql = format!("SELECT COUNT(*) FROM council_opinions WHERE {cond}");
    let upper = subtree_upper(f.root);
    macro_rules! binds {
        ($q:expr) => {{
            let mut q = $q.bind(f.district).bind(f.root).bind(upper.clone());
            if let Some(s) = f.status {
                q = q.bind(s);
            }
            if let Some(t) = f.waiting_since {
                q = q.bind(t);
            }
            if let Some(u) = f.recorded_by {
                q = q.bind(u);
            }
            q
        }};
    }
    let rows = on_pool!(db, |p| binds!(sqlx::query_as::<_, OpinionRow>(sqlx::AssertSqlSafe(
        list_sql.clone()
    )))
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(p)
    .await)?;
    let total: i64 = on_pool!(db, |p| binds!(sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql.clone())))
        .fetch_one(p)
        .await)?;
    Ok((rows, total))
}

/// Settle an opinion, only from the status it was read in (a second answer at the same time loses).
#[allow(clippy::too_many_arguments)]
pub async fn answer_opinion(
    tx: &mut Tx,
    id: Uuid,
    from: &str,
    to: &str,
    answer: &str,
    by: &str,
    meeting: Option<Uuid>,
    case: Option<Uuid>,
    merged_into: Option<Uuid>,
    now: i64,
) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE council_opinions SET status = $1, answer = $2, answered_by = $3, meeting_id = COALESCE($4, meeting_id), \
         case_id = COALESCE($5, case_id), merged_into = $6, answered_at = $7 WHERE id = $8 AND status = $9"
    )
    .bind(to)
    .bind(answer)
    .bind(by)
    .bind(meeting)
    .bind(case)
    .bind(merged_into)
    .bind(now)
    .bind(id)
    .bind(from)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn opinions_of_meeting(db: &Db, meeting: Uuid) -> sqlx::Result<Vec<OpinionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, OpinionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {OPINION_COLS} FROM council_opinions WHERE meeting_id = $1 ORDER BY created_at LIMIT 200"
    )))
    .bind(meeting)
    .fetch_all(p)
    .await)
}

pub async fn insert_meeting(tx: &mut Tx, m: &MeetingRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO council_meetings (id, council_id, district, grid_code, kind, title, place, starts_at, invitees, checkin_code, status, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    )
    .bind(m.id)
    .bind(m.council_id)
    .bind(&m.district)
    .bind(&m.grid_code)
    .bind(&m.kind)
    .bind(&m.title)
    .bind(&m.place)
    .bind(m.starts_at)
    .bind(&m.invitees)
    .bind(&m.checkin_code)
    .bind(&m.status)
    .bind(&m.created_by)
    .bind(m.created_at)
    .execute(c)
    .await
    .map(|_| ()))
}

pub async fn meeting(db: &Db, id: Uuid) -> sqlx::Result<Option<MeetingRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, MeetingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEETING_COLS} FROM council_meetings WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Meetings of a subtree, newest first; `from..to` bounds their start.
pub async fn meetings_in(
    db: &Db,
    district: &str,
    root: &str,
    from: i64,
    to: i64,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<MeetingRow>, i64)> {
    let upper = subtree_upper(root);
    let rows = on_pool!(db, |p| {
        sqlx::query_as::<_, MeetingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEETING_COLS} FROM council_meetings WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND starts_at >= $4 AND starts_at < $5 \
         ORDER BY starts_at DESC, id LIMIT $6 OFFSET $7"
    )))
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(from)
    .bind(to)
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await
    })?;
    let total: i64 = on_pool!(db, |p| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM council_meetings WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND starts_at >= $4 AND starts_at < $5"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(from)
    .bind(to)
    .fetch_one(p)
    .await
    })?;
    Ok((rows, total))
}

/// A planned meeting of these councils' compounds whose sign-in window holds `now`, by its code.
pub async fn meeting_by_code(db: &Db, district: &str, code: &str, from: i64, to: i64) -> sqlx::Result<Vec<MeetingRow>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, MeetingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {MEETING_COLS} FROM council_meetings WHERE district = $1 AND checkin_code = $2 AND starts_at >= $3 AND starts_at <= $4 ORDER BY starts_at"
    )))
    .bind(district)
    .bind(code)
    .bind(from)
    .bind(to)
    .fetch_all(p)
    .await
    })
}

pub async fn attendance(db: &Db, meeting: Uuid) -> sqlx::Result<Vec<AttendanceRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, AttendanceRow>(
        "SELECT resident_id, name, via, at_ms FROM council_attendance WHERE meeting_id = $1 ORDER BY at_ms LIMIT 500"
    )
    .bind(meeting)
    .fetch_all(p)
    .await)
}

/// Record a sign-in; false when already signed in.
pub async fn insert_attendance(tx: &mut Tx, meeting: Uuid, resident: Uuid, name: &str, via: &str, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO council_attendance (meeting_id, resident_id, name, via, at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
    )
    .bind(meeting)
    .bind(resident)
    .bind(name)
    .bind(via)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Record the minutes; only once (a planned meeting becomes held).
pub async fn hold_meeting(tx: &mut Tx, id: Uuid, minutes: &str, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE council_meetings SET status = 'held', minutes = $1, held_at = $2 WHERE id = $3 AND status = 'planned'"
    )
    .bind(minutes)
    .bind(now)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn insert_resolution(tx: &mut Tx, r: &ResolutionRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO council_resolutions (id, meeting_id, council_id, district, grid_code, position, body, responsible, due_at, case_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(r.id)
    .bind(r.meeting_id)
    .bind(r.council_id)
    .bind(&r.district)
    .bind(&r.grid_code)
    .bind(r.position)
    .bind(&r.body)
    .bind(&r.responsible)
    .bind(r.due_at)
    .bind(r.case_id)
    .bind(r.created_at)
    .execute(c)
    .await
    .map(|_| ())
    })
}

pub async fn resolution(db: &Db, id: Uuid) -> sqlx::Result<Option<ResolutionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ResolutionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESOLUTION_COLS} FROM council_resolutions WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn resolutions_of_meeting(db: &Db, meeting: Uuid) -> sqlx::Result<Vec<ResolutionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ResolutionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESOLUTION_COLS} FROM council_resolutions WHERE meeting_id = $1 ORDER BY position"
    )))
    .bind(meeting)
    .fetch_all(p)
    .await)
}

/// Resolutions of a subtree: all, or only the open ones past `overdue_at`.
pub async fn resolutions_in(
    db: &Db,
    district: &str,
    root: &str,
    overdue_at: Option<i64>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ResolutionRow>, i64)> {
    let upper = subtree_upper(root);
    let cond = if overdue_at.is_some() {
        "district = $1 AND grid_code >= $2 AND grid_code < $3 AND done_at IS NULL AND due_at < $4"
    } else {
        "district = $1 AND grid_code >= $2 AND grid_code < $3 AND $4 >= 0"
    };
    let at = overdue_at.unwrap_or(0);
    let rows = on_pool!(db, |p| sqlx::query_as::<_, ResolutionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {RESOLUTION_COLS} FROM council_resolutions WHERE {cond} ORDER BY created_at DESC, position LIMIT $5 OFFSET $6"
    )))
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(at)
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)?;
    let total: i64 = on_pool!(db, |p| sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM council_resolutions WHERE {cond}"
    )))
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(at)
    .fetch_one(p)
    .await)?;
    Ok((rows, total))
}

/// Link a resolution to its case (once).
pub async fn set_resolution_case(tx: &mut Tx, id: Uuid, case: Uuid) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE council_resolutions SET case_id = $1 WHERE id = $2 AND case_id IS NULL AND done_at IS NULL"
    )
    .bind(case)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

pub async fn finish_resolution(tx: &mut Tx, id: Uuid, note: &str, now: i64) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "UPDATE council_resolutions SET done_at = $1, done_note = $2 WHERE id = $3 AND done_at IS NULL"
    )
    .bind(now)
    .bind(note)
    .bind(id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A closed case finishes the resolutions that follow it (the case-closing transaction).
pub async fn finish_by_case(tx: &mut Tx, case: Uuid, now: i64) -> sqlx::Result<u64> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE council_resolutions SET done_at = $1, done_note = '案件已结案' WHERE case_id = $2 AND done_at IS NULL"
    )
    .bind(now)
    .bind(case)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
}

/// The screen's figures for a subtree: meetings held or planned in `week`, resolutions overdue,
/// opinions waiting more than 7 days.
pub async fn figures(db: &Db, district: &str, root: &str, week: (i64, i64), now: i64) -> sqlx::Result<(i64, i64, i64)> {
    let upper = subtree_upper(root);
    let meetings: i64 = on_pool!(db, |p| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM council_meetings WHERE district = $1 AND starts_at >= $2 AND starts_at < $3 AND grid_code >= $4 AND grid_code < $5"
    )
    .bind(district)
    .bind(week.0)
    .bind(week.1)
    .bind(root)
    .bind(&upper)
    .fetch_one(p)
    .await
    })?;
    let overdue: i64 = on_pool!(db, |p| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM council_resolutions WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND done_at IS NULL AND due_at < $4"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(now)
    .fetch_one(p)
    .await
    })?;
    let waiting: i64 = on_pool!(db, |p| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM council_opinions WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 AND status = 'open' AND created_at <= $4"
    )
    .bind(district)
    .bind(root)
    .bind(&upper)
    .bind(now - super::rules::ANSWER_DAYS * 86_400_000)
    .fetch_one(p)
    .await
    })?;
    Ok((meetings, overdue, waiting))
}
