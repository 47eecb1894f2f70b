//! Service sites' tables: sites at grid nodes, their rooms, bookings with the half-hour slots
//! each holds (one holder a slot: the database refuses an overlap), and the reception log.

use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::grid::rules::{code_len, subtree_upper};
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SiteRow {
    pub id: Uuid,
    pub district: String,
    pub grid_code: String,
    pub grid_name: String,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub hours: String,
    pub services: String,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct RoomRow {
    pub id: Uuid,
    pub site_id: Uuid,
    pub name: String,
    pub seats: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct BookingRow {
    pub id: Uuid,
    pub site_id: Uuid,
    pub room_id: Uuid,
    pub start_ms: i64,
    pub end_ms: i64,
    pub purpose: String,
    pub booker_kind: String,
    pub booked_by: Option<Uuid>,
    pub booker_name: String,
    pub cancelled_at: Option<i64>,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct ReceptionRow {
    pub id: Uuid,
    pub site_id: Uuid,
    pub at_ms: i64,
    pub visitor: String,
    pub matter: String,
    pub outcome: String,
    pub referred_to: String,
    pub closed_at: Option<i64>,
    pub recorded_by: String,
}

const SITE_COLS: &str = "s.id, s.district, s.grid_code, g.name AS grid_name, s.name, s.kind, s.address, s.hours, s.services FROM service_sites s JOIN grids g ON g.code = s.grid_code";

/// The nodes from the district down to `grid` (its ancestors and itself).
pub fn ancestors(grid: &str) -> Vec<String> {
    (1..=5)
        .map(code_len)
        .filter(|&n| n <= grid.len())
        .map(|n| grid[..n].to_string())
        .collect()
}

/// Sites serving `grid`: at the node or an ancestor (a street's centre serves its communities),
/// and, unless `up_only`, anywhere in its subtree. In grid and name order; `limit` rows at most.
pub async fn serving(db: &Db, district: &str, grid: &str, up_only: bool, limit: i64, offset: i64) -> sqlx::Result<(Vec<SiteRow>, i64)> {
    let up = ancestors(grid);
    let marks: Vec<String> = (0..up.len()).map(|i| format!("${}", i + 4)).collect();
    let down = if up_only {
        "1 = 0"
    } else {
        "(s.grid_code >= $2 AND s.grid_code < $3)"
    };
    // $2 and $3 are used on both paths so that every bound parameter appears in the text.
    let cond = format!("s.district = $1 AND $2 < $3 AND ({down} OR s.grid_code IN ({}))", marks.join(", "));
    let n = up.len() + 4;
    let sql = format!(
        "SELECT {SITE_COLS} WHERE {cond} ORDER BY s.grid_code, s.name, s.id LIMIT ${n} OFFSET ${}",
        n + 1
    );
    let count = format!("SELECT COUNT(*) FROM service_sites s WHERE {cond}");
    let upper = subtree_upper(grid);
    on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, SiteRow>(sqlx::AssertSqlSafe(sql))
            .bind(district)
            .bind(grid)
            .bind(&upper);
        for a in &up {
            q = q.bind(a);
        }
        let rows = q.bind(limit).bind(offset).fetch_all(p).await?;
        let mut c = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count))
            .bind(district)
            .bind(grid)
            .bind(&upper);
        for a in &up {
            c = c.bind(a);
        }
        let total = c.fetch_one(p).await?;
        Ok((rows, total))
    })
}

pub async fn site(db: &Db, id: Uuid) -> sqlx::Result<Option<SiteRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, SiteRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {SITE_COLS} WHERE s.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Rooms of these sites, by name.
pub async fn rooms_of(db: &Db, sites: &[Uuid]) -> sqlx::Result<Vec<RoomRow>> {
    let mut out = Vec::new();
    for chunk in sites.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, site_id, name, seats FROM site_rooms WHERE site_id IN ({}) ORDER BY name, id",
            marks.join(", ")
        );
        let rows = on_pool!(db, |p| {
            let mut q = sqlx::query_as::<_, RoomRow>(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

const BOOKING_COLS: &str =
    "id, site_id, room_id, start_ms, end_ms, purpose, booker_kind, booked_by, booker_name, cancelled_at FROM room_bookings";

/// A site's live bookings that overlap `[from, to)`, by start.
pub async fn bookings(db: &Db, site: Uuid, from: i64, to: i64) -> sqlx::Result<Vec<BookingRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLS} WHERE site_id = $1 AND start_ms < $3 AND end_ms > $2 AND cancelled_at IS NULL ORDER BY start_ms, room_id"
    )))
    .bind(site)
    .bind(from - super::rules::MAX_MS)
    .bind(to)
    .fetch_all(p)
    .await
    .map(|v| v.into_iter().filter(|b| b.end_ms > from).collect()))
}

/// A person's live bookings from `from` on.
pub async fn bookings_of(db: &Db, user: Uuid, from: i64) -> sqlx::Result<Vec<BookingRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLS} WHERE booked_by = $1 AND end_ms > $2 AND cancelled_at IS NULL ORDER BY start_ms LIMIT 50"
    )))
    .bind(user)
    .bind(from)
    .fetch_all(p)
    .await)
}

pub async fn booking_in(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<BookingRow>> {
    on_tx!(tx, |c| sqlx::query_as::<_, BookingRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLS} WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(c)
    .await)
}

/// Insert the booking and the slots it holds. A slot already held fails with a unique
/// violation (on PostgreSQL after the holder's transaction ends), whatever the timing.
pub async fn insert_booking(tx: &mut Tx, district: &str, b: &BookingRow, slots: &[i64], at: i64) -> sqlx::Result<()> {
    let marks: Vec<String> = (0..slots.len()).map(|i| format!("($1, ${}, $2)", i + 3)).collect();
    let slot_sql = format!(
        "INSERT INTO room_slots (room_id, slot_start, booking_id) VALUES {}",
        marks.join(", ")
    );
    on_tx!(tx, |c| {
        sqlx::query(
            "INSERT INTO room_bookings (id, district, site_id, room_id, start_ms, end_ms, purpose, booker_kind, booked_by, booker_name, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(b.id)
        .bind(district)
        .bind(b.site_id)
        .bind(b.room_id)
        .bind(b.start_ms)
        .bind(b.end_ms)
        .bind(&b.purpose)
        .bind(&b.booker_kind)
        .bind(b.booked_by)
        .bind(&b.booker_name)
        .bind(at)
        .execute(&mut *c)
        .await?;
        let mut q = sqlx::query(sqlx::AssertSqlSafe(slot_sql)).bind(b.room_id).bind(b.id);
        for s in slots {
            q = q.bind(*s);
        }
        q.execute(&mut *c).await?;
        Ok::<_, sqlx::Error>(())
    })
}

/// The live booking holding one of `[from, to)`'s slots of a room, if any.
pub async fn clash(db: &Db, room: Uuid, from: i64, to: i64) -> sqlx::Result<Option<(i64, i64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (i64, i64)>(
        "SELECT b.start_ms, b.end_ms FROM room_slots s JOIN room_bookings b ON b.id = s.booking_id \
         WHERE s.room_id = $1 AND s.slot_start >= $2 AND s.slot_start < $3 ORDER BY s.slot_start LIMIT 1"
    )
    .bind(room)
    .bind(from)
    .bind(to)
    .fetch_optional(p)
    .await)
}

/// Cancel a booking: its slots are free again.
pub async fn cancel(tx: &mut Tx, id: Uuid, at: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| {
        let n = sqlx::query("UPDATE room_bookings SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL")
            .bind(id)
            .bind(at)
            .execute(&mut *c)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM room_slots WHERE booking_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        Ok::<_, sqlx::Error>(n == 1)
    })
}

/// A site's reception log, newest first.
pub async fn receptions(db: &Db, site: Uuid, limit: i64) -> sqlx::Result<Vec<ReceptionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ReceptionRow>(
        "SELECT id, site_id, at_ms, visitor, matter, outcome, referred_to, closed_at, recorded_by FROM site_receptions \
         WHERE site_id = $1 ORDER BY at_ms DESC, id LIMIT $2"
    )
    .bind(site)
    .bind(limit)
    .fetch_all(p)
    .await)
}

pub async fn insert_reception(tx: &mut Tx, district: &str, r: &ReceptionRow) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO site_receptions (id, district, site_id, at_ms, visitor, matter, outcome, referred_to, closed_at, recorded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(r.id)
    .bind(district)
    .bind(r.site_id)
    .bind(r.at_ms)
    .bind(&r.visitor)
    .bind(&r.matter)
    .bind(&r.outcome)
    .bind(&r.referred_to)
    .bind(r.closed_at)
    .bind(&r.recorded_by)
    .execute(c)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// The site of a reception, inside the transaction.
pub async fn reception_site(tx: &mut Tx, id: Uuid) -> sqlx::Result<Option<Uuid>> {
    on_tx!(tx, |c| sqlx::query_scalar::<_, Uuid>(
        "SELECT site_id FROM site_receptions WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await)
}

pub async fn close_reception(tx: &mut Tx, id: Uuid, at: i64) -> sqlx::Result<bool> {
    on_tx!(tx, |c| sqlx::query(
        "UPDATE site_receptions SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL"
    )
    .bind(id)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected() == 1))
}
