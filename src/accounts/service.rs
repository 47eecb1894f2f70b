//! Account operations shared by the CLI, the API and the demo loader: a new user's post is checked
//! against the grid node or unit it is held at, then created by `auth`.

use serde::Deserialize;
use uuid::Uuid;

use crate::audit::Actor;
use crate::auth::Role;
use crate::auth::accounts::{self, NewAccount};
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
/// With `within`, the post's place must be in that district (an API caller adds users to their
/// own district only): anything else is "not found", and nothing is written.
pub async fn add_user(db: &Db, actor: Actor<'_>, input: &NewUser, within: Option<&str>) -> AppResult<(Uuid, String)> {
    let username = input.username.trim().to_string();
    let role = accounts::check_new(&username, &input.password, &input.role)?;
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
    if within.is_some_and(|d| d != district) {
        return Err(AppError::not_found(if unit.is_some() { "单位" } else { "网格" }));
    }
    let account = NewAccount {
        username: &username,
        password: &input.password,
        display_name: &input.display_name,
        role,
        district: &district,
        grid: grid.as_deref(),
        unit,
    };
    let id = accounts::create(db, actor, &account).await?;
    Ok((id, district))
}
