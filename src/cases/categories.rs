//! Case categories (大类/小类): the seeded community and digital-city-management lists, storage.

use serde::Serialize;
use uuid::Uuid;

use crate::db::{Db, Tx, new_id, now_ms};
use crate::{on_pool, on_tx};

/// A time limit: hours on the clock for urgent matters, else working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Hours(u32),
    WorkingDays(u32),
}

/// Seeded categories: (code, parent, name, kind, limit, lowest closing level, default unit name).
/// Leaves carry limits; the three roots (SQ, BJ, SJ) group them.
#[allow(clippy::type_complexity)]
pub const DEFAULTS: &[(&str, Option<&str>, &str, &str, Option<Limit>, i64, Option<&str>)] = &[
    ("SQ", None, "社区治理", "community", None, 3, None),
    (
        "SQ01",
        Some("SQ"),
        "环境卫生",
        "community",
        Some(Limit::WorkingDays(3)),
        4,
        Some("区环境卫生管理中心"),
    ),
    (
        "SQ02",
        Some("SQ"),
        "车辆乱停乱放",
        "community",
        Some(Limit::WorkingDays(2)),
        3,
        Some("周口市公安局川汇分局"),
    ),
    (
        "SQ03",
        Some("SQ"),
        "飞线充电",
        "community",
        Some(Limit::Hours(24)),
        3,
        Some("区消防救援大队"),
    ),
    (
        "SQ04",
        Some("SQ"),
        "高空抛物",
        "community",
        Some(Limit::Hours(24)),
        2,
        Some("周口市公安局川汇分局"),
    ),
    (
        "SQ05",
        Some("SQ"),
        "违建",
        "community",
        Some(Limit::WorkingDays(10)),
        2,
        Some("区城市管理局"),
    ),
    (
        "SQ06",
        Some("SQ"),
        "毁绿种菜",
        "community",
        Some(Limit::WorkingDays(5)),
        3,
        Some("区园林绿化中心"),
    ),
    ("SQ07", Some("SQ"), "楼道堆物", "community", Some(Limit::WorkingDays(3)), 4, None),
    (
        "SQ08",
        Some("SQ"),
        "矛盾纠纷",
        "community",
        Some(Limit::WorkingDays(5)),
        3,
        Some("区司法局"),
    ),
    ("BJ", None, "部件", "component", None, 2, None),
    (
        "BJ01",
        Some("BJ"),
        "公用设施",
        "component",
        Some(Limit::WorkingDays(5)),
        2,
        Some("区城市管理局"),
    ),
    (
        "BJ02",
        Some("BJ"),
        "道路交通",
        "component",
        Some(Limit::WorkingDays(5)),
        2,
        Some("区交通运输局"),
    ),
    (
        "BJ03",
        Some("BJ"),
        "市容环境",
        "component",
        Some(Limit::WorkingDays(3)),
        3,
        Some("区环境卫生管理中心"),
    ),
    (
        "BJ04",
        Some("BJ"),
        "园林绿化",
        "component",
        Some(Limit::WorkingDays(5)),
        3,
        Some("区园林绿化中心"),
    ),
    (
        "BJ05",
        Some("BJ"),
        "房屋土地",
        "component",
        Some(Limit::WorkingDays(10)),
        2,
        Some("市自然资源和规划局川汇分局"),
    ),
    ("SJ", None, "事件", "event", None, 2, None),
    (
        "SJ01",
        Some("SJ"),
        "市容环境",
        "event",
        Some(Limit::WorkingDays(3)),
        3,
        Some("区城市管理局"),
    ),
    (
        "SJ02",
        Some("SJ"),
        "宣传广告",
        "event",
        Some(Limit::WorkingDays(5)),
        3,
        Some("区城市管理局"),
    ),
    (
        "SJ03",
        Some("SJ"),
        "施工管理",
        "event",
        Some(Limit::WorkingDays(5)),
        2,
        Some("区住房和城乡建设局"),
    ),
    (
        "SJ04",
        Some("SJ"),
        "街面秩序",
        "event",
        Some(Limit::WorkingDays(2)),
        3,
        Some("区城市管理局"),
    ),
    (
        "SJ05",
        Some("SJ"),
        "突发事件",
        "event",
        Some(Limit::Hours(2)),
        2,
        Some("区应急管理局"),
    ),
];

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct CategoryRow {
    pub id: Uuid,
    pub code: String,
    pub parent_code: Option<String>,
    pub name: String,
    pub kind: String,
    pub default_unit_id: Option<Uuid>,
    pub limit_hours: Option<i64>,
    pub limit_days: Option<i64>,
    pub close_level: i64,
    pub active: bool,
}

impl CategoryRow {
    pub fn limit(&self) -> Option<Limit> {
        match (self.limit_hours, self.limit_days) {
            (Some(h), _) => Some(Limit::Hours(h.clamp(0, 10_000) as u32)),
            (None, Some(d)) => Some(Limit::WorkingDays(d.clamp(0, 1_000) as u32)),
            _ => None,
        }
    }
    pub fn is_leaf(&self) -> bool {
        self.parent_code.is_some()
    }
}

/// Seed the default categories for a district, inside the caller's transaction.
pub async fn seed(tx: &mut Tx, district: &str) -> sqlx::Result<()> {
    let now = now_ms();
    for (code, parent, name, kind, limit, close, unit) in DEFAULTS {
        let (hours, days) = match limit {
            Some(Limit::Hours(h)) => (Some(i64::from(*h)), None),
            Some(Limit::WorkingDays(d)) => (None, Some(i64::from(*d))),
            None => (None, None),
        };
        on_tx!(&mut *tx, |c| {
            sqlx::query(
            "INSERT INTO case_categories (id, district, code, parent_code, name, kind, default_unit_id, limit_hours, limit_days, close_level, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, (SELECT id FROM units WHERE district = $2 AND kind = 'department' AND name = $7), $8, $9, $10, TRUE, $11)"
        )
        .bind(new_id())
        .bind(district)
        .bind(*code)
        .bind(*parent)
        .bind(*name)
        .bind(*kind)
        .bind(*unit)
        .bind(hours)
        .bind(days)
        .bind(*close)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

const COLS: &str = "id, code, parent_code, name, kind, default_unit_id, limit_hours, limit_days, close_level, active";

pub async fn list(db: &Db, district: &str) -> sqlx::Result<Vec<CategoryRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CategoryRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM case_categories WHERE district = $1 ORDER BY code"
    )))
    .bind(district)
    .fetch_all(p)
    .await)
}

pub async fn get(db: &Db, district: &str, code: &str) -> sqlx::Result<Option<CategoryRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, CategoryRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM case_categories WHERE district = $1 AND code = $2"
    )))
    .bind(district)
    .bind(code)
    .fetch_optional(p)
    .await)
}
