//! Creating accounts with their first post: shared by the CLI, the API and the demo loader.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{Role, password, store};
use crate::audit::{self, Actor};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::grid::{rules, store as grids};
use crate::registry::units;

#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub display_name: String,
    /// district_admin, street_staff, community_staff, compound_leader, building_officer, department_handler, property_staff, resident, shop_keeper
    pub role: String,
    /// The grid node the post is held at (grid-held roles).
    pub grid: Option<String>,
    /// The unit the post is held at (department_handler, property_staff, shop_keeper).
    pub unit: Option<Uuid>,
}

/// Validate and create a user and its post in one transaction. Returns (user id, district).
pub async fn add_user(db: &Db, actor: Actor<'_>, input: &NewUser) -> AppResult<(Uuid, String)> {
    let username = input.username.trim().to_string();
    super::check_username(&username).map_err(|m| AppError::invalid("invalid_username", m))?;
    password::check_new(&input.password).map_err(|m| AppError::invalid("invalid_password", m))?;
    let role = Role::parse(&input.role).ok_or_else(|| {
        let names: Vec<&str> = super::roles::ALL_ROLES.iter().map(|r| r.as_str()).collect();
        AppError::invalid(
            "invalid_role",
            format!("未知角色「{}」，可用角色：{}", input.role, names.join(", ")),
        )
    })?;
    let (district, grid, unit) = if role.held_at_unit() {
        let id = input
            .unit
            .ok_or_else(|| AppError::invalid("unit_required", format!("{}岗位须指定所属单位（--unit）", role.label())))?;
        let u = units::get(db, id)
            .await?
            .ok_or_else(|| AppError::invalid("unknown_unit", "所属单位不存在"))?;
        let want = match role {
            Role::DepartmentHandler => ["department", "community"],
            Role::ShopKeeper => ["love_supermarket", "merchant"],
            _ => ["property_company", "property_company"],
        };
        if !want.contains(&u.kind.as_str()) {
            return Err(AppError::invalid(
                "wrong_unit_kind",
                format!("{}不能设在「{}」类单位", role.label(), units::unit_kind_label(&u.kind)),
            ));
        }
        (u.district, None, Some(id))
    } else {
        let code = input
            .grid
            .as_deref()
            .ok_or_else(|| AppError::invalid("grid_required", format!("{}岗位须指定所在网格（--grid）", role.label())))?;
        let g = grids::get(db, code)
            .await?
            .ok_or_else(|| AppError::invalid("unknown_grid", format!("网格编码 {code} 不存在")))?;
        if let Some(level) = role.grid_level()
            && level != g.level
        {
            return Err(AppError::invalid(
                "wrong_grid_level",
                format!(
                    "{}岗位应设在第{}级网格（{}），而 {} 是第{}级",
                    role.label(),
                    level,
                    rules::level_label(level),
                    g.code,
                    g.level
                ),
            ));
        }
        (g.district, Some(g.code), None)
    };
    let display = if input.display_name.trim().is_empty() {
        username.clone()
    } else {
        input.display_name.trim().to_string()
    };
    let hash = password::hash(input.password.clone()).await?;
    let mut tx = db.begin().await?;
    let id = store::insert_user(&mut tx, &district, &username, &display, &hash)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                AppError::conflict("duplicate_username", format!("用户名「{username}」已被使用"))
            } else {
                e.into()
            }
        })?;
    store::insert_post(&mut tx, &district, id, role, grid.as_deref(), unit).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &district,
            action: "user.create",
            target_kind: "user",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"username": username, "role": role.as_str(), "grid": grid, "unit": unit}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((id, district))
}
