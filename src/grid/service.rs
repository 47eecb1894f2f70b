//! Grid operations shared by the API, the pages and the features built on the grid: load a node
//! within the caller's reach, create a child, update a node (and rebuild the point index), import
//! base layers and load those a map shows.

use super::GridState;
use super::layers::{self, BaseFeature};
use super::map;
use super::store::{self, GridRow, GridUpdate, NewGrid};
use crate::audit::{self, Actor};
use crate::auth::{Capability, Principal};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};

/// Load a grid node the caller may use `cap` on; anything else is "not found".
pub async fn load(db: &Db, p: &Principal, code: &str, cap: Capability) -> AppResult<GridRow> {
    if !p.can(cap, code) {
        if p.has(cap) {
            return Err(AppError::not_found("网格"));
        }
        return Err(AppError::forbidden());
    }
    store::get(db, code).await?.ok_or_else(|| AppError::not_found("网格"))
}

/// Create a child of `input.parent`, which the caller must manage.
pub async fn create(s: &GridState, p: &Principal, input: &NewGrid) -> AppResult<GridRow> {
    load(&s.db, p, &input.parent, Capability::ManageGrid).await?;
    let g = store::create(&s.db, p.actor(), input).await?;
    s.grid_index.invalidate().await;
    Ok(g)
}

/// Change a node's name, boundary, leader or (for a compound) property company.
pub async fn update(s: &GridState, p: &Principal, code: &str, up: &GridUpdate) -> AppResult<GridRow> {
    let g = load(&s.db, p, code, Capability::ManageGrid).await?;
    if let Some(Some(company)) = up.property_company {
        if g.level != 4 {
            return Err(AppError::invalid("not_a_compound", "只有小区（四级网格）可以指定物业公司"));
        }
        if s.units.property_company(&s.db, &g.district, company).await?.is_none() {
            return Err(AppError::invalid("unknown_property_company", "指定的物业公司不存在"));
        }
    }
    let g = store::update(&s.db, p.actor(), &g, up).await?;
    s.grid_index.invalidate().await;
    Ok(g)
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportReport {
    pub district: String,
    pub kind: String,
    pub imported: usize,
    pub replaced: u64,
}

/// Import a GeoJSON FeatureCollection of base-layer features of `kind` (底图导入) into `district`
/// (or the database's only district): checked whole first, then stored in one transaction whose
/// last write is its audit row. `replace` first removes the district's features of that kind.
pub async fn import_layers(
    db: &Db,
    actor: Actor<'_>,
    district: Option<&str>,
    kind: &str,
    text: String,
    name: Option<&str>,
    replace: bool,
) -> AppResult<ImportReport> {
    let district = match district {
        Some(d) => d.to_string(),
        None => {
            let all = store::districts(db).await?;
            match all.as_slice() {
                [one] => one.clone(),
                [] => return Err(AppError::invalid("no_district", "数据库中还没有区，请先建立区级网格")),
                _ => {
                    return Err(AppError::invalid(
                        "which_district",
                        format!("数据库中有多个区（{}），请用 --district 指定", all.join("、")),
                    ));
                }
            }
        }
    };
    let bbox = store::district_bbox(db, &district)
        .await?
        .ok_or_else(|| AppError::not_found("区"))?;
    let (kind_owned, name_owned) = (kind.to_string(), name.map(str::to_string));
    // Parsing a file of up to 20 MB is work for a blocking thread.
    let features = tokio::task::spawn_blocking(move || layers::parse_collection(&text, &kind_owned, name_owned.as_deref(), bbox))
        .await
        .map_err(|e| anyhow::anyhow!("layer parse: {e}"))?
        .map_err(|m| AppError::invalid("invalid_geojson", m))?;
    let mut tx = db.begin().await?;
    let replaced = store::insert_layers(&mut tx, &district, kind, &features, replace, now_ms()).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &district,
            action: "map.import",
            target_kind: "district",
            target_id: &district,
            reason: "",
            detail: serde_json::json!({"kind": kind, "features": features.len(), "replaced": replaced}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ImportReport {
        district,
        kind: kind.to_string(),
        imported: features.len(),
        replaced,
    })
}

/// The base-layer features an area map of `g` shows (none when its boundary cannot be read).
pub async fn base_layers(db: &Db, g: &GridRow) -> AppResult<Vec<BaseFeature>> {
    match map::area_window(g) {
        Some(w) => Ok(store::layers_in(db, &g.district, w).await?),
        None => Ok(Vec::new()),
    }
}
