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

/// Default categories a compound's property company handles: 环境卫生, 飞线充电, 楼道堆物,
/// 公用设施 (电梯, 门禁 …), 园林绿化. Migration 0008 sets the same for existing districts.
pub const PROPERTY_SERVES: &[&str] = &["SQ01", "SQ03", "SQ07", "BJ01", "BJ04"];

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
    /// Extra questions (JSON list of [`super::attributes::Field`]).
    pub fields: String,
    /// A compound's property company handles it (楼道堆物, 公用设施, 绿化 …).
    pub property_serves: bool,
}

impl CategoryRow {
    pub fn limit(&self) -> Option<Limit> {
        match (self.limit_hours, self.limit_days) {
            (Some(h), _) => Some(Limit::Hours(h.clamp(0, 10_000) as u32)),
            (None, Some(d)) => Some(Limit::WorkingDays(d.clamp(0, 1_000) as u32)),
            _ => None,
        }
    }
    pub fn fields(&self) -> Vec<super::attributes::Field> {
        super::attributes::parse_fields(&self.fields)
    }
    pub fn is_leaf(&self) -> bool {
        self.parent_code.is_some()
    }
}

/// One 大类 on a report form: its name and its active 小类 as (code, label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceGroup {
    pub name: String,
    pub choices: Vec<(String, String)>,
}

/// The active leaves that `keep` admits, grouped under their 大类 in code order (for
/// `<optgroup>`). A name used under two 大类 (the city standard has 市容环境 both as 部件 and as
/// 事件) is labelled with its 大类, so a closed `<select>` never shows two alike.
pub fn choice_groups(all: &[CategoryRow], keep: impl Fn(&CategoryRow) -> bool) -> Vec<ChoiceGroup> {
    let leaves: Vec<&CategoryRow> = all.iter().filter(|c| c.is_leaf() && c.active && keep(c)).collect();
    let mut groups: Vec<(String, ChoiceGroup)> = Vec::new();
    for leaf in &leaves {
        let parent = leaf.parent_code.clone().unwrap_or_default();
        let parent_name = all
            .iter()
            .find(|c| c.code == parent)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| parent.clone());
        let repeated = leaves.iter().filter(|x| x.name == leaf.name).count() > 1;
        let label = if repeated {
            format!("{}（{parent_name}）", leaf.name)
        } else {
            leaf.name.clone()
        };
        match groups.iter_mut().find(|(code, _)| *code == parent) {
            Some((_, g)) => g.choices.push((leaf.code.clone(), label)),
            None => groups.push((
                parent,
                ChoiceGroup {
                    name: parent_name,
                    choices: vec![(leaf.code.clone(), label)],
                },
            )),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    groups.into_iter().map(|(_, g)| g).collect()
}

/// A 小类 name already used by another 小类 of the same 大类 (`except` is the one being renamed).
fn name_taken(siblings: &[CategoryRow], parent: &str, name: &str, except: Option<&str>) -> bool {
    siblings
        .iter()
        .any(|c| c.parent_code.as_deref() == Some(parent) && c.name == name && Some(c.code.as_str()) != except)
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
    on_tx!(&mut *tx, |c| sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE case_categories SET property_serves = TRUE WHERE district = $1 AND code IN ({})",
        PROPERTY_SERVES.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", ")
    )))
    .bind(district)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    for (code, fields) in super::attributes::DEFAULT_FIELDS {
        // Stored compact, as the API would store it.
        let fields = serde_json::to_string(&super::attributes::parse_fields(fields)).unwrap_or_else(|_| "[]".into());
        on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE case_categories SET fields = $1 WHERE district = $2 AND code = $3"
        )
        .bind(&fields)
        .bind(district)
        .bind(*code)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

const COLS: &str =
    "id, code, parent_code, name, kind, default_unit_id, limit_hours, limit_days, close_level, active, fields, property_serves";

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

/// How long a district's categories are kept without a change seen here: a change made by
/// another server on the same database shows within this time.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// A district's categories and when they were read.
type Kept = (std::time::Instant, std::sync::Arc<Vec<CategoryRow>>);

/// Each district's categories, read once and kept until they change (every report and every
/// `services.json` needs them). Per server state, so two databases in one process never mix.
#[derive(Default)]
pub struct Cache {
    by_district: std::sync::RwLock<std::collections::HashMap<String, Kept>>,
}

impl Cache {
    /// The district's categories (by code), from memory when fresh.
    pub async fn list(&self, db: &Db, district: &str) -> sqlx::Result<std::sync::Arc<Vec<CategoryRow>>> {
        if let Some((at, rows)) = self.by_district.read().unwrap_or_else(|e| e.into_inner()).get(district)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(rows.clone());
        }
        let rows = std::sync::Arc::new(list(db, district).await?);
        self.by_district
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(district.to_string(), (std::time::Instant::now(), rows.clone()));
        Ok(rows)
    }

    /// One category of the district, from memory when fresh.
    pub async fn get(&self, db: &Db, district: &str, code: &str) -> sqlx::Result<Option<CategoryRow>> {
        Ok(self.list(db, district).await?.iter().find(|c| c.code == code).cloned())
    }

    /// Read the district's categories again next time (after a change).
    pub fn forget(&self, district: &str) {
        self.by_district.write().unwrap_or_else(|e| e.into_inner()).remove(district);
    }
}

/// A change to a category; fields left out stay as they are. Limits: give `limit_hours` or
/// `limit_working_days` (the other is cleared).
#[derive(serde::Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct CategoryUpdate {
    pub name: Option<String>,
    pub limit_hours: Option<u32>,
    pub limit_working_days: Option<u32>,
    pub close_level: Option<i64>,
    pub default_unit: Option<Uuid>,
    pub active: Option<bool>,
    /// Extra questions asked at report (Open311 service attributes); replaces the list.
    pub fields: Option<Vec<super::attributes::Field>>,
    /// Whether a compound's property company handles this category.
    pub property_serves: Option<bool>,
}

/// A new leaf category under an existing root.
#[derive(serde::Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewCategory {
    pub code: String,
    pub parent: String,
    pub name: String,
    pub limit_hours: Option<u32>,
    pub limit_working_days: Option<u32>,
    pub close_level: i64,
    pub default_unit: Option<Uuid>,
}

fn check_close_level(level: i64) -> Result<i64, crate::error::AppError> {
    if (1..=5).contains(&level) {
        Ok(level)
    } else {
        Err(crate::error::AppError::invalid(
            "invalid_close_level",
            "结案层级应为1（区）至5（楼栋）",
        ))
    }
}

fn check_name(name: &str) -> Result<&str, crate::error::AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(crate::error::AppError::invalid("invalid_name", "类别名称不能为空且不超过32字"));
    }
    Ok(name)
}

fn check_limits(hours: Option<u32>, days: Option<u32>) -> Result<(Option<i64>, Option<i64>), crate::error::AppError> {
    use crate::error::AppError;
    match (hours, days) {
        (Some(_), Some(_)) => Err(AppError::invalid("invalid_limit", "时限只能按小时或按工作日之一设置")),
        (Some(h), None) if (1..=720).contains(&h) => Ok((Some(i64::from(h)), None)),
        (None, Some(d)) if (1..=90).contains(&d) => Ok((None, Some(i64::from(d)))),
        (None, None) => Ok((None, None)),
        _ => Err(AppError::invalid("invalid_limit", "时限应为1至720小时，或1至90个工作日")),
    }
}

pub async fn update(
    db: &Db,
    actor: crate::audit::Actor<'_>,
    district: &str,
    c: &CategoryRow,
    up: &CategoryUpdate,
) -> crate::error::AppResult<CategoryRow> {
    use crate::error::AppError;
    if !c.is_leaf() {
        return Err(AppError::invalid("not_a_leaf", "大类没有时限等设置，请修改其下的小类"));
    }
    let (hours, days) = match check_limits(up.limit_hours, up.limit_working_days)? {
        (None, None) => (c.limit_hours, c.limit_days),
        x => x,
    };
    let close = check_close_level(up.close_level.unwrap_or(c.close_level))?;
    let name = check_name(up.name.as_deref().unwrap_or(&c.name))?.to_string();
    let parent = c.parent_code.as_deref().unwrap_or_default();
    if name_taken(&list(db, district).await?, parent, &name, Some(&c.code)) {
        return Err(AppError::conflict("duplicate_name", format!("该大类下已有名为「{name}」的小类")));
    }
    let unit = match up.default_unit {
        Some(u) => {
            let ok = crate::registry::units::get(db, u).await?.is_some_and(|x| x.district == district);
            if !ok {
                return Err(AppError::invalid("unknown_unit", "默认承办单位不存在"));
            }
            Some(u)
        }
        None => c.default_unit_id,
    };
    let fields = match &up.fields {
        Some(f) => {
            super::attributes::check_fields(f)?;
            serde_json::to_string(f).map_err(|_| AppError::internal())?
        }
        None => c.fields.clone(),
    };
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |x| {
        sqlx::query(
        "UPDATE case_categories SET name = $1, limit_hours = $2, limit_days = $3, close_level = $4, default_unit_id = $5, active = $6, fields = $8, property_serves = $9 WHERE id = $7"
    )
    .bind(&name)
    .bind(hours)
    .bind(days)
    .bind(close)
    .bind(unit)
    .bind(up.active.unwrap_or(c.active))
    .bind(c.id)
    .bind(&fields)
    .bind(up.property_serves.unwrap_or(c.property_serves))
    .execute(x)
    .await
    .map(|r| r.rows_affected())
    })?;
    let entry = crate::audit::Entry {
        district,
        action: "category.update",
        target_kind: "case_category",
        target_id: &c.code,
        reason: "",
        detail: serde_json::json!({"name": name, "limit_hours": hours, "limit_days": days, "close_level": close, "fields": fields, "property_serves": up.property_serves.unwrap_or(c.property_serves)}),
    };
    crate::audit::record(&mut tx, actor, entry).await?;
    tx.commit().await?;
    get(db, district, &c.code).await?.ok_or_else(AppError::internal)
}

pub async fn create(db: &Db, actor: crate::audit::Actor<'_>, district: &str, n: &NewCategory) -> crate::error::AppResult<CategoryRow> {
    use crate::error::AppError;
    let parent = get(db, district, &n.parent)
        .await?
        .filter(|p| !p.is_leaf())
        .ok_or_else(|| AppError::invalid("unknown_parent", "大类不存在"))?;
    let code = n.code.trim();
    if !code.starts_with(parent.code.as_str())
        || code.len() != parent.code.len() + 2
        || !code[parent.code.len()..].bytes().all(|b| b.is_ascii_digit())
    {
        return Err(AppError::invalid(
            "invalid_code",
            format!("小类编码应为大类编码 {} 加两位数字", parent.code),
        ));
    }
    let (hours, days) = check_limits(n.limit_hours, n.limit_working_days)?;
    if hours.is_none() && days.is_none() {
        return Err(AppError::invalid("invalid_limit", "请设置处置时限"));
    }
    check_close_level(n.close_level)?;
    let name = check_name(&n.name)?;
    let all = list(db, district).await?;
    if all.iter().any(|c| c.code == code) {
        return Err(AppError::conflict("duplicate_code", format!("类别编码 {code} 已存在")));
    }
    if name_taken(&all, &parent.code, name, None) {
        return Err(AppError::conflict("duplicate_name", format!("该大类下已有名为「{name}」的小类")));
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |x| sqlx::query(
        "INSERT INTO case_categories (id, district, code, parent_code, name, kind, default_unit_id, limit_hours, limit_days, close_level, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, TRUE, $11)"
    )
    .bind(new_id())
    .bind(district)
    .bind(code)
    .bind(&parent.code)
    .bind(name)
    .bind(&parent.kind)
    .bind(n.default_unit)
    .bind(hours)
    .bind(days)
    .bind(n.close_level)
    .bind(now_ms())
    .execute(x)
    .await
    .map(|r| r.rows_affected()))
    .map_err(|e| if crate::db::is_unique_violation(&e) { AppError::conflict("duplicate_code", format!("类别编码 {code} 已存在")) } else { e.into() })?;
    let entry = crate::audit::Entry {
        district,
        action: "category.create",
        target_kind: "case_category",
        target_id: code,
        reason: "",
        detail: serde_json::json!({"name": name}),
    };
    crate::audit::record(&mut tx, actor, entry).await?;
    tx.commit().await?;
    get(db, district, code).await?.ok_or_else(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(code: &str, parent: Option<&str>, name: &str, active: bool) -> CategoryRow {
        CategoryRow {
            id: Uuid::nil(),
            code: code.into(),
            parent_code: parent.map(String::from),
            name: name.into(),
            kind: "event".into(),
            default_unit_id: None,
            limit_hours: None,
            limit_days: Some(3),
            close_level: 3,
            active,
            fields: "[]".into(),
            property_serves: false,
        }
    }

    /// The seeded lists, grouped: every 大类 once, every label unique, 市容环境 told apart.
    #[test]
    fn seeded_choices_are_grouped_and_never_alike() {
        let all: Vec<CategoryRow> = DEFAULTS
            .iter()
            .map(|(code, parent, name, ..)| row(code, *parent, name, true))
            .collect();
        let groups = choice_groups(&all, |_| true);
        let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["部件", "事件", "社区治理"]);
        let labels: Vec<&str> = groups.iter().flat_map(|g| g.choices.iter().map(|c| c.1.as_str())).collect();
        let unique: std::collections::BTreeSet<&str> = labels.iter().copied().collect();
        assert_eq!(unique.len(), labels.len(), "labels repeat: {labels:?}");
        assert!(labels.contains(&"市容环境（部件）") && labels.contains(&"市容环境（事件）"));
        assert!(labels.contains(&"飞线充电"), "a name used once is left as it is");
        assert_eq!(groups[0].choices[0], ("BJ01".to_string(), "公用设施".to_string()));
    }

    #[test]
    fn inactive_and_filtered_out_leaves_are_not_offered() {
        let all = vec![
            row("SQ", None, "社区治理", true),
            row("SQ01", Some("SQ"), "环境卫生", true),
            row("SQ02", Some("SQ"), "停用的", false),
            row("SJ", None, "事件", true),
            row("SJ01", Some("SJ"), "环境卫生", true),
        ];
        let groups = choice_groups(&all, |c| c.code.starts_with("SQ"));
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0].choices,
            [("SQ01".to_string(), "环境卫生".to_string())],
            "the other one is not on the list"
        );
        assert!(name_taken(&all, "SQ", "环境卫生", None));
        assert!(!name_taken(&all, "SQ", "环境卫生", Some("SQ01")), "renaming to its own name");
        assert!(!name_taken(&all, "SQ", "违建", None));
    }
}
