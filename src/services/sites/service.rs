//! Service sites' operations, shared by the API, the pages and the demo: which sites serve a
//! node, booking a room (one transaction holding the booking's slots), cancelling, receptions.

use serde_json::json;
use uuid::Uuid;

use super::rules;
use super::store::{self, BookingRow, ReceptionRow, RoomRow, SiteRow};
use crate::audit;
use crate::auth::{Capability, Principal, Role};
use crate::db::{Db, is_unique_violation, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::time::{minute_ms, rfc3339_ms};

/// The node a read of sites covers: the one asked for if the caller sees it, else their widest.
pub fn read_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadGrid, g) => Ok(g.to_string()),
        Some(_) if p.has(Capability::ReadGrid) => Err(AppError::not_found("该网格")),
        Some(_) => Err(AppError::forbidden()),
        None => p.roots(Capability::ReadGrid).into_iter().next().ok_or_else(AppError::forbidden),
    }
}

/// A site with its rooms.
pub struct Site {
    pub row: SiteRow,
    pub rooms: Vec<RoomRow>,
}

/// Sites serving `grid` (see [`store::serving`]) with their rooms.
pub async fn serving(db: &Db, district: &str, grid: &str, up_only: bool, limit: i64, offset: i64) -> AppResult<(Vec<Site>, i64)> {
    let (rows, total) = store::serving(db, district, grid, up_only, limit, offset).await?;
    let ids: Vec<Uuid> = rows.iter().map(|s| s.id).collect();
    let rooms = store::rooms_of(db, &ids).await?;
    Ok((
        rows.into_iter()
            .map(|row| Site {
                rooms: rooms.iter().filter(|r| r.site_id == row.id).cloned().collect(),
                row,
            })
            .collect(),
        total,
    ))
}

/// How a person may use a site, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Grid staff of the site's branch of the tree: book, see every booking and the reception log.
    Staff,
    /// A resident the site serves: book and cancel their own.
    Resident,
}

/// Grid staff whose node is on the site's branch (above it, at it or below it), or a resident
/// living under it.
pub fn standing(p: &Principal, s: &SiteRow) -> Option<Standing> {
    if s.district != p.district {
        return None;
    }
    let on_branch = |g: &str| g.starts_with(&s.grid_code) || s.grid_code.starts_with(g);
    let staff = p
        .posts
        .iter()
        .any(|x| (x.role.is_grid_role() && x.grid_code.as_deref().is_some_and(on_branch)) || x.role == Role::DistrictAdmin);
    if staff {
        return Some(Standing::Staff);
    }
    let resident = p
        .posts
        .iter()
        .any(|x| x.role == Role::Resident && x.grid_code.as_deref().is_some_and(|g| g.starts_with(&s.grid_code)));
    resident.then_some(Standing::Resident)
}

/// A site the caller may see: 404 when it is elsewhere (or not theirs), 403 for a role that
/// books nowhere.
pub async fn site_for(db: &Db, p: &Principal, id: Uuid) -> AppResult<(SiteRow, Standing)> {
    let bookers = p.posts.iter().any(|x| x.role.is_grid_role() || x.role == Role::Resident);
    if !bookers {
        return Err(AppError::forbidden_to("该角色不能预约服务阵地"));
    }
    let s = store::site(db, id).await?.ok_or_else(|| AppError::not_found("该服务阵地"))?;
    let st = standing(p, &s).ok_or_else(|| AppError::not_found("该服务阵地"))?;
    Ok((s, st))
}

/// A booking request.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct NewBooking {
    pub room: Uuid,
    /// RFC 3339, on a half hour.
    pub start: String,
    /// RFC 3339, on a half hour, at most 12 hours after the start.
    pub end: String,
    /// Up to 100 characters.
    pub purpose: String,
}

fn instant(s: &str) -> AppResult<i64> {
    Ok(crate::cases::service::parse_instant(s.trim())?.as_millisecond())
}

/// Book a room for `[start, end)`. Refused with 409 `room_taken` (naming the clashing slot)
/// when any of its half hours is held: the slots' primary key decides, so of two requests at
/// the same moment exactly one wins.
pub async fn book(db: &Db, p: &Principal, site: Uuid, b: &NewBooking) -> AppResult<BookingRow> {
    let (s, standing) = site_for(db, p, site).await?;
    let (start, end) = (instant(&b.start)?, instant(&b.end)?);
    let purpose = rules::text(&b.purpose, 1, 100, "用途").map_err(|m| AppError::invalid("invalid_purpose", m))?;
    let now = now_ms();
    let slots = rules::slots(start, end, now).map_err(|e| AppError::invalid(e.code(), e.message()))?;
    let room = store::rooms_of(db, &[s.id])
        .await?
        .into_iter()
        .find(|r| r.id == b.room)
        .ok_or_else(|| AppError::invalid("unknown_room", "该服务阵地没有这个房间"))?;
    let row = BookingRow {
        id: new_id(),
        site_id: s.id,
        room_id: room.id,
        start_ms: start,
        end_ms: end,
        purpose,
        booker_kind: match standing {
            Standing::Staff => "staff",
            Standing::Resident => "resident",
        }
        .to_string(),
        booked_by: Some(p.user_id),
        booker_name: p.display_name.clone(),
        cancelled_at: None,
    };
    let mut tx = db.begin().await?;
    match store::insert_booking(&mut tx, &s.district, &row, &slots, now).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            tx.rollback().await?;
            let when = match store::clash(db, room.id, start, end).await? {
                Some((a, z)) => format!(
                    "{} 至 {}（{} / {}）",
                    minute_ms(a),
                    &minute_ms(z)[11..],
                    rfc3339_ms(a),
                    rfc3339_ms(z)
                ),
                None => "所选时段".to_string(),
            };
            return Err(AppError::conflict(
                "room_taken",
                format!("{}{} 已被预订，请另选时段", room.name, when),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &s.district,
            action: "services.booking",
            target_kind: "room_booking",
            target_id: &row.id.to_string(),
            reason: "",
            detail: json!({"site": s.id, "room": room.id, "start": rfc3339_ms(start), "end": rfc3339_ms(end)}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

/// Cancel a booking: the booker cancels their own; staff of the site's community (ManageGrid
/// over the site's node) cancel any.
pub async fn cancel(db: &Db, p: &Principal, id: Uuid) -> AppResult<BookingRow> {
    let mut tx = db.begin().await?;
    let b = store::booking_in(&mut tx, id).await?.ok_or_else(|| AppError::not_found("该预约"))?;
    let s = store::site(db, b.site_id).await?.ok_or_else(|| AppError::not_found("该预约"))?;
    let own = b.booked_by == Some(p.user_id);
    if s.district != p.district || !(own || p.can(Capability::ManageGrid, &s.grid_code)) {
        return Err(AppError::not_found("该预约"));
    }
    if b.end_ms <= now_ms() {
        return Err(AppError::conflict("booking_over", "该预约时段已过，不能取消"));
    }
    if !store::cancel(&mut tx, id, now_ms()).await? {
        return Err(AppError::conflict("booking_cancelled", "该预约已取消"));
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &s.district,
            action: "services.booking_cancel",
            target_kind: "room_booking",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"site": s.id, "room": b.room_id, "own": own}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(b)
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct NewReception {
    pub visitor: String,
    pub matter: String,
    /// `handled` or `referred`.
    pub outcome: String,
    pub referred_to: String,
}

/// Record a visit at the site (接访): staff of the site's branch only.
pub async fn receive(db: &Db, p: &Principal, site: Uuid, n: &NewReception) -> AppResult<Uuid> {
    let (s, st) = site_for(db, p, site).await?;
    if st != Standing::Staff {
        return Err(AppError::forbidden_to("只有工作人员可以登记接访"));
    }
    let text = rules::text;
    let visitor = text(&n.visitor, 1, 32, "来访人").map_err(|m| AppError::invalid("invalid_visitor", m))?;
    let matter = text(&n.matter, 1, 500, "来访事项").map_err(|m| AppError::invalid("invalid_matter", m))?;
    let outcome = match n.outcome.trim() {
        "handled" => "handled",
        "referred" => "referred",
        _ => return Err(AppError::invalid("invalid_outcome", "办理结果应为当场办结或转办")),
    };
    let referred_to = text(&n.referred_to, usize::from(outcome == "referred"), 64, "转办单位")
        .map_err(|m| AppError::invalid("invalid_referred_to", m))?;
    let now = now_ms();
    let row = ReceptionRow {
        id: new_id(),
        site_id: s.id,
        at_ms: now,
        visitor,
        matter,
        outcome: outcome.to_string(),
        referred_to,
        closed_at: (outcome == "handled").then_some(now),
        recorded_by: p.display_name.clone(),
    };
    let mut tx = db.begin().await?;
    store::insert_reception(&mut tx, &s.district, &row).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &s.district,
            action: "services.reception",
            target_kind: "site_reception",
            target_id: &row.id.to_string(),
            reason: "",
            detail: json!({"site": s.id, "outcome": outcome}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

/// Close a referred visit once it is answered.
pub async fn close_reception(db: &Db, p: &Principal, id: Uuid) -> AppResult<Uuid> {
    let mut tx = db.begin().await?;
    let site = store::reception_site(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("该接访记录"))?;
    let (s, st) = site_for(db, p, site).await?;
    if st != Standing::Staff {
        return Err(AppError::not_found("该接访记录"));
    }
    if !store::close_reception(&mut tx, id, now_ms()).await? {
        return Err(AppError::conflict("reception_closed", "该接访已办结"));
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &s.district,
            action: "services.reception_close",
            target_kind: "site_reception",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"site": s.id}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(s.id)
}
