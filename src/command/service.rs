//! The command centre's operations: the dashboard of a grid node (figures, children, ticker and
//! the other features' panels) and a grid's dispatch panel, read through the features' services.

use serde::Serialize;
use uuid::Uuid;

use crate::auth::{Capability, Principal};
use crate::cases::figures::{self, TrendDay};
use crate::cases::tallies::{day_of, day_start_ms};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::GridRow;
use crate::grid::rules::code_len;
use crate::volunteers::service::VolunteerDay;

/// A grid node as the screen names it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GridRef {
    pub code: String,
    pub name: String,
    pub level: i64,
}

/// The case figures the wall shows; equal to what the board and the assessment count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CaseNumbers {
    pub reported_today: i64,
    pub open: i64,
    pub overdue: i64,
    pub closed_today: i64,
    /// 按期处置率 of the cases reported this month (0..=1), as the assessment computes it.
    pub on_time_rate_month: f64,
    pub reported_month: i64,
    pub on_time_month: i64,
}

/// A category and how often it was reported this month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryCount {
    pub code: String,
    pub name: String,
    pub reported: i64,
}

/// A child node's load, for the map's colours.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChildLoad {
    pub code: String,
    pub name: String,
    pub open: i64,
    pub overdue: i64,
}

/// One line of the ticker: a recent case (no description, no reporter).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TickerItem {
    pub id: Uuid,
    pub tracking_code: String,
    pub category: String,
    pub status: String,
    pub status_label: String,
    pub grid: String,
    pub source: String,
    /// RFC 3339
    pub reported_at: String,
    /// A device's alarm (告警) rather than a person's report.
    pub alarm: bool,
}

/// An instruction still waiting for acknowledgements (shown until everyone has acknowledged).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OpenInstruction {
    pub id: Uuid,
    pub title: String,
    pub grid: String,
    /// RFC 3339
    pub sent_at: String,
    pub recipients: i64,
    pub acknowledged: i64,
}

/// The councils of the subtree: meetings this week (Monday to Sunday), resolutions past their
/// deadline and not done, opinions waiting 7 days or more for an answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CouncilWeek {
    pub meetings_this_week: i64,
    pub resolutions_overdue: i64,
    pub opinions_waiting: i64,
}

/// `GET /api/v1/dashboard`: one node's screen as JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub grid: GridRef,
    pub cases: CaseNumbers,
    /// The last 30 days, oldest first.
    pub trend: Vec<TrendDay>,
    pub top_categories: Vec<CategoryCount>,
    pub children: Vec<ChildLoad>,
    pub latest: Vec<TickerItem>,
    pub volunteers: VolunteerDay,
    /// The councils' week (协商议事).
    pub councils: CouncilWeek,
    /// Post-holders of the subtree connected for calls now (在线).
    pub online: usize,
    /// Instructions (指令) sent in the subtree that someone has still to acknowledge, newest first.
    pub open_instructions: Vec<OpenInstruction>,
    /// RFC 3339
    pub generated_at: String,
}

/// The node a caller's screen shows: the one asked for if it is in their scope, else their widest.
pub async fn node_for(db: &Db, p: &Principal, grid: Option<&str>) -> AppResult<GridRow> {
    let code = match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => g.to_string(),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .next()
            .ok_or_else(AppError::forbidden)?,
    };
    crate::grid::service::load(db, p, &code, Capability::ReadRegistry).await
}

/// A map colour class for a node's load: calm, busy (open cases), alarm (overdue ones).
pub fn load_class(open: i64, overdue: i64) -> &'static str {
    if overdue > 0 {
        "alarm"
    } else if open > 0 {
        "busy"
    } else {
        "calm"
    }
}

/// The children of `g` (with their boundaries, for the map) and each one's open and overdue cases.
pub async fn children_with_loads(db: &Db, g: &GridRow, now: i64) -> AppResult<(Vec<GridRow>, Vec<ChildLoad>)> {
    if g.level >= 5 {
        return Ok((Vec::new(), Vec::new()));
    }
    let kids = crate::grid::store::children(db, &g.code, 500, 0).await?;
    let codes: Vec<String> = kids.iter().map(|k| k.code.clone()).collect();
    let loads = figures::by_child(db, &g.district, &g.code, &codes, code_len(g.level + 1), now).await?;
    let children = kids
        .iter()
        .map(|k| {
            let (open, overdue) = loads.get(&k.code).copied().unwrap_or_default();
            ChildLoad {
                code: k.code.clone(),
                name: k.name.clone(),
                open,
                overdue,
            }
        })
        .collect();
    Ok((kids, children))
}

/// The dashboard of node `g` now.
pub async fn dashboard(db: &Db, hub: &crate::calls::hub::Hub, g: &GridRow) -> AppResult<Dashboard> {
    Ok(dashboard_and_children(db, hub, g).await?.0)
}

/// The dashboard, and the children's rows the screen draws its map from (read once for both).
pub async fn dashboard_and_children(db: &Db, hub: &crate::calls::hub::Hub, g: &GridRow) -> AppResult<(Dashboard, Vec<GridRow>)> {
    let now = now_ms();
    let f = figures::of_node(db, &g.district, &g.code, now).await?;
    let cats = crate::cases::categories::list(db, &g.district).await?;
    let cat_name = |code: &str| {
        cats.iter()
            .find(|c| c.code == code)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let (kids, children) = children_with_loads(db, g, now).await?;
    let week_ago = now - 7 * 86_400_000;
    let latest = figures::latest(db, &g.district, &g.code, week_ago, 12).await?;
    let codes: Vec<String> = latest.iter().map(|c| c.grid_code.clone()).collect();
    let names = crate::grid::store::names(db, &g.district, &codes).await?;
    let today = day_of(now);
    let volunteers =
        crate::volunteers::service::day_figures(db, &g.district, &g.code, day_start_ms(today), day_start_ms(today + 1)).await?;
    let (meetings_this_week, resolutions_overdue, opinions_waiting) =
        crate::councils::service::screen_figures(db, &g.district, &g.code, now).await?;
    let d = Dashboard {
        grid: GridRef {
            code: g.code.clone(),
            name: g.name.clone(),
            level: g.level,
        },
        cases: CaseNumbers {
            reported_today: f.reported_today,
            open: f.open,
            overdue: f.overdue,
            closed_today: f.closed_today,
            on_time_rate_month: f.on_time_rate_month,
            reported_month: f.reported_month,
            on_time_month: f.on_time_month,
        },
        trend: f.trend,
        top_categories: f
            .top_categories
            .iter()
            .map(|(code, n)| CategoryCount {
                code: code.clone(),
                name: cat_name(code),
                reported: *n,
            })
            .collect(),
        children,
        latest: latest
            .iter()
            .map(|c| TickerItem {
                id: c.id,
                tracking_code: c.tracking_code.clone(),
                category: cat_name(&c.category_code),
                status: c.status.clone(),
                status_label: c.status_label().to_string(),
                grid: names.get(&c.grid_code).cloned().unwrap_or_else(|| c.grid_code.clone()),
                source: c.source.clone(),
                reported_at: crate::time::rfc3339_ms(c.reported_at),
                alarm: c.source == "device",
            })
            .collect(),
        volunteers,
        councils: CouncilWeek {
            meetings_this_week,
            resolutions_overdue,
            opinions_waiting,
        },
        online: crate::calls::service::online_in(hub, &g.district, &g.code),
        open_instructions: crate::broadcasts::service::open_instructions(db, &g.district, &g.code)
            .await?
            .into_iter()
            .take(10)
            .map(|i| OpenInstruction {
                id: i.id,
                title: i.title,
                grid: i.grid,
                sent_at: crate::time::rfc3339_ms(i.sent_at),
                recipients: i.recipients,
                acknowledged: i.acked,
            })
            .collect(),
        generated_at: crate::time::rfc3339_ms(now),
    };
    Ok((d, kids))
}

/// Someone to reach at a grid: a public contact (with a phone) or a post-holder (an account).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reachable {
    pub name: String,
    /// 网格长, 网格员, 小区网格长 …
    pub role: String,
    /// Masked unless the caller may read the grid's people.
    pub phone: Option<String>,
    /// The account, for a message or a live call.
    pub user_id: Option<Uuid>,
    /// Connected for calls now.
    pub online: bool,
}

/// The people of a grid node a duty officer can reach: its public contacts (phones shown in full
/// to those who work that grid, masked to others) and the accounts holding posts there.
pub async fn reachable(db: &Db, hub: &crate::calls::hub::Hub, p: &Principal, g: &GridRow) -> AppResult<Vec<Reachable>> {
    let full = p.can(Capability::ReadRegistry, &g.code);
    let contacts = crate::grid::store::contacts(db, std::slice::from_ref(&g.code)).await?;
    let mut out: Vec<Reachable> = contacts
        .get(&g.code)
        .into_iter()
        .flatten()
        .map(|c| Reachable {
            name: c.name.clone(),
            role: c.role_label().to_string(),
            phone: Some(if full {
                c.phone.clone()
            } else {
                crate::identity::mask_phone(&c.phone)
            }),
            user_id: None,
            online: false,
        })
        .collect();
    for h in crate::calls::store::post_holders(db, &g.code).await? {
        out.push(Reachable {
            role: crate::auth::Role::parse(&h.role).map(|r| r.label()).unwrap_or("岗位").to_string(),
            name: h.name,
            phone: None,
            user_id: Some(h.user_id),
            online: hub.online(&g.district, h.user_id),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_outranks_open_in_the_colour() {
        assert_eq!(load_class(0, 0), "calm");
        assert_eq!(load_class(3, 0), "busy");
        assert_eq!(load_class(3, 1), "alarm");
    }
}
