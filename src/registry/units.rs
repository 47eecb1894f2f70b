//! Organisations and units (组织、单位), key places (重点场所) and devices (设施设备).

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules;
use crate::identity;
use crate::{on_pool, on_tx};

/// Kinds of unit, with their Chinese names. The first three can be assigned work.
pub const UNIT_KINDS: [(&str, &str); 10] = [
    ("department", "职能部门"),
    ("property_company", "物业公司"),
    ("community", "社区居委会"),
    ("party_branch", "党组织"),
    ("owners_committee", "业主委员会"),
    ("council", "党群议事会"),
    ("volunteer_team", "志愿服务队"),
    ("merchant_association", "商会"),
    ("love_supermarket", "爱心超市"),
    ("merchant", "爱心商家"),
];

pub fn unit_kind_label(kind: &str) -> &'static str {
    UNIT_KINDS.iter().find(|k| k.0 == kind).map(|k| k.1).unwrap_or("单位")
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct UnitRow {
    pub id: Uuid,
    pub district: String,
    pub kind: String,
    pub name: String,
    pub grid_code: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
}

pub async fn list(
    db: &Db,
    district: &str,
    kind: Option<&str>,
    grid: Option<&str>,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<UnitRow>, i64)> {
    let grid_upper = grid.map(rules::subtree_upper);
    let q = q
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", crate::db::like_escaped(s)));
    let where_ = "district = $1 AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR (grid_code >= $3 AND grid_code < $4)) AND ($5 IS NULL OR LOWER(name) LIKE LOWER($5) ESCAPE '\\')";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, UnitRow>(sqlx::AssertSqlSafe(format!(
            "SELECT id, district, kind, name, grid_code, credit_code, contact_name, contact_phone FROM units WHERE {where_} ORDER BY kind, name LIMIT $6 OFFSET $7"
        )))
        .bind(district)
        .bind(kind)
        .bind(grid)
        .bind(&grid_upper)
        .bind(&q)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM units WHERE {where_}")))
            .bind(district)
            .bind(kind)
            .bind(grid)
            .bind(&grid_upper)
            .bind(&q)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

pub async fn get(db: &Db, id: Uuid) -> sqlx::Result<Option<UnitRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, UnitRow>(
        "SELECT id, district, kind, name, grid_code, credit_code, contact_name, contact_phone FROM units WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// Names a compound's property company for the grid (which keeps only its id).
pub struct Directory;

impl crate::grid::UnitDirectory for Directory {
    fn property_company<'a>(
        &'a self,
        db: &'a Db,
        district: &'a str,
        id: Uuid,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = crate::error::AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            Ok(get(db, id)
                .await?
                .filter(|u| u.district == district && u.kind == "property_company")
                .map(|u| u.name))
        })
    }
}

/// The compounds a property company manages (物业服务的小区).
pub async fn managed_compounds(db: &Db, unit_id: Uuid) -> sqlx::Result<Vec<String>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT code FROM grids WHERE property_company_id = $1 ORDER BY code"
    )
    .bind(unit_id)
    .fetch_all(p)
    .await)
}

#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewUnit {
    pub kind: String,
    pub name: String,
    /// Grid node the unit belongs to (optional for district departments).
    pub grid: Option<String>,
    /// 统一社会信用代码; required for property companies.
    pub credit_code: Option<String>,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub contact_phone: String,
}

pub async fn create(db: &Db, actor: Actor<'_>, district: &str, input: &NewUnit) -> AppResult<UnitRow> {
    if !UNIT_KINDS.iter().any(|k| k.0 == input.kind) {
        return Err(AppError::invalid("invalid_unit_kind", "单位类型不正确"));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "单位名称不能为空且不超过64字"));
    }
    let credit = match input.credit_code.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Some(identity::parse_credit_code(c).map_err(|m| AppError::invalid("invalid_credit_code", m))?),
        None if input.kind == "property_company" => {
            return Err(AppError::invalid("invalid_credit_code", "物业公司须填写统一社会信用代码"));
        }
        None => None,
    };
    let phone = if input.contact_phone.trim().is_empty() {
        String::new()
    } else {
        identity::parse_contact_phone(&input.contact_phone).ok_or_else(|| AppError::invalid("invalid_phone", "联系电话格式不正确"))?
    };
    let id = new_id();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO units (id, district, kind, name, grid_code, credit_code, contact_name, contact_phone, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )
    .bind(id)
    .bind(district)
    .bind(&input.kind)
    .bind(name)
    .bind(&input.grid)
    .bind(&credit)
    .bind(input.contact_name.trim())
    .bind(&phone)
    .bind(now_ms())
    .execute(c)
    .await.map(|r| r.rows_affected()))
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_unit", format!("同类单位「{name}」已存在"))
        } else {
            e.into()
        }
    })?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "unit.create",
            target_kind: "unit",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"name": name, "kind": input.kind}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, id).await?.ok_or_else(AppError::internal)
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct PlaceRow {
    pub id: Uuid,
    pub grid_code: String,
    pub kind: String,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
}

pub const PLACE_KINDS: [(&str, &str); 8] = [
    ("school", "学校"),
    ("market", "农贸市场"),
    ("shop", "沿街商铺"),
    ("enterprise", "企业"),
    ("party_service_center", "党群服务中心"),
    ("civilization_station", "新时代文明实践站"),
    ("warm_station", "暖心驿站"),
    ("cool_space", "清凉空间"),
];

pub fn place_kind_label(kind: &str) -> &'static str {
    PLACE_KINDS.iter().find(|k| k.0 == kind).map(|k| k.1).unwrap_or("场所")
}

pub async fn places_in(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<PlaceRow>, i64)> {
    let upper = rules::subtree_upper(grid);
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, PlaceRow>(
            "SELECT id, grid_code, kind, name, address, lat, lng FROM places WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 ORDER BY grid_code, kind, name LIMIT $4 OFFSET $5",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM places WHERE district = $1 AND grid_code >= $2 AND grid_code < $3")
            .bind(district)
            .bind(grid)
            .bind(&upper)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct DeviceRow {
    pub id: Uuid,
    pub grid_code: String,
    pub kind: String,
    pub name: String,
    pub serial: String,
    pub lat: f64,
    pub lng: f64,
    pub status: String,
}

pub const DEVICE_KINDS: [(&str, &str); 5] = [
    ("charging_port", "电动车充电桩"),
    ("camera", "监控摄像头"),
    ("fire_alarm", "烟感报警器"),
    ("access_gate", "门禁道闸"),
    ("well", "井盖"),
];

pub fn device_kind_label(kind: &str) -> &'static str {
    DEVICE_KINDS.iter().find(|k| k.0 == kind).map(|k| k.1).unwrap_or("设备")
}

pub async fn devices_in(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> sqlx::Result<(Vec<DeviceRow>, i64)> {
    let upper = rules::subtree_upper(grid);
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, DeviceRow>(
            "SELECT id, grid_code, kind, name, serial, lat, lng, status FROM devices WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 ORDER BY grid_code, kind, serial LIMIT $4 OFFSET $5",
        )
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE district = $1 AND grid_code >= $2 AND grid_code < $3")
            .bind(district)
            .bind(grid)
            .bind(&upper)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}
