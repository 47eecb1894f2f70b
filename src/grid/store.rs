//! Grid storage and the grid's writes (create a child, change a boundary or leader).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::layers::{BaseFeature, Geometry};
use super::rules::{self, Boundary};
use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::identity;
use crate::{on_pool, on_tx};

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct GridRow {
    pub code: String,
    pub district: String,
    pub level: i64,
    pub kind: String,
    pub name: String,
    pub parent_code: Option<String>,
    pub boundary: String,
    pub center_lat: f64,
    pub center_lng: f64,
    pub children: i64,
    pub households: i64,
    pub residents: i64,
    /// The compound's property company (a unit of the registry), if one manages it.
    pub property_company_id: Option<Uuid>,
}

const GRID_COLS: &str = "code, district, level, kind, name, parent_code, boundary, center_lat, center_lng, children, households, residents, property_company_id";

#[derive(sqlx::FromRow, Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Contact {
    #[serde(skip)]
    pub grid_code: String,
    /// leader (网格长), deputy, officer (网格员), police (社区民警), …
    pub role: String,
    pub name: String,
    pub phone: String,
}

impl Contact {
    pub fn role_label(&self) -> &'static str {
        match self.role.as_str() {
            "leader" => "网格长",
            "deputy" => "副网格长",
            "officer" => "网格员",
            "police" => "社区民警",
            "secretary" => "党组织书记",
            _ => "联系人",
        }
    }
}

pub async fn get(db: &Db, code: &str) -> sqlx::Result<Option<GridRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, GridRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {GRID_COLS} FROM grids WHERE code = $1"
    )))
    .bind(code)
    .fetch_optional(p)
    .await)
}

pub async fn children(db: &Db, code: &str, limit: i64, offset: i64) -> sqlx::Result<Vec<GridRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, GridRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {GRID_COLS} FROM grids WHERE parent_code = $1 ORDER BY code LIMIT $2 OFFSET $3"
    )))
    .bind(code)
    .bind(limit)
    .bind(offset)
    .fetch_all(p)
    .await)
}

/// The node and its ancestors, district first. Codes are hierarchical, so they are its prefixes.
pub async fn chain(db: &Db, code: &str) -> sqlx::Result<Vec<GridRow>> {
    let mut codes = Vec::new();
    for level in 1..=5 {
        let n = rules::code_len(level);
        if n <= code.len() {
            codes.push(code[..n].to_string());
        }
    }
    let mut out = Vec::new();
    for c in codes {
        if let Some(g) = get(db, &c).await? {
            out.push(g);
        }
    }
    Ok(out)
}

/// Names of the district's nodes among `codes`, by code; unknown codes are left out. One query per
/// 500 codes (a page of cases names a few hundred at most).
pub async fn names(db: &Db, district: &str, codes: &[String]) -> sqlx::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for chunk in codes.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT code, name FROM grids WHERE district = $1 AND code IN ({})",
            placeholders.join(", ")
        );
        let rows: Vec<(String, String)> = on_pool!(db, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(district);
            for c in chunk {
                q = q.bind(c);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn contacts(db: &Db, codes: &[String]) -> sqlx::Result<HashMap<String, Vec<Contact>>> {
    let mut map: HashMap<String, Vec<Contact>> = HashMap::new();
    if codes.is_empty() {
        return Ok(map);
    }
    let placeholders: Vec<String> = (1..=codes.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT grid_code, role, name, phone FROM grid_contacts WHERE grid_code IN ({}) ORDER BY grid_code, position",
        placeholders.join(", ")
    );
    let rows = on_pool!(db, |p| {
        let mut q = sqlx::query_as::<_, Contact>(sqlx::AssertSqlSafe(sql));
        for c in codes {
            q = q.bind(c);
        }
        q.fetch_all(p).await
    })?;
    for r in rows {
        map.entry(r.grid_code.clone()).or_default().push(r);
    }
    Ok(map)
}

/// Leader input: name and a public phone.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct LeaderInput {
    pub name: String,
    pub phone: String,
}

/// A new child node of an existing grid node.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct NewGrid {
    pub parent: String,
    pub code: String,
    pub name: String,
    /// street, community, village, compound, natural_village, building, group
    pub kind: String,
    /// GeoJSON Polygon, [lng, lat] order.
    #[schema(value_type = Object)]
    pub boundary: serde_json::Value,
    pub leader: LeaderInput,
}

fn check_leader(l: &LeaderInput) -> AppResult<(String, String)> {
    let name = l.name.trim();
    if name.is_empty() || name.chars().count() > 32 {
        return Err(AppError::invalid("invalid_leader", "网格长姓名不能为空且不超过32字"));
    }
    let phone = identity::parse_contact_phone(&l.phone)
        .ok_or_else(|| AppError::invalid("invalid_phone", "网格长联系电话格式不正确（手机号或 0394-1234567 形式的座机）"))?;
    Ok((name.to_string(), phone))
}

/// Parse and validate a boundary off the async threads (validation grows faster than the vertex
/// count, which `parse_boundary` bounds).
async fn check_boundary(v: &serde_json::Value) -> AppResult<Boundary> {
    let v = v.clone();
    tokio::task::spawn_blocking(move || rules::parse_boundary(&v))
        .await
        .map_err(|e| anyhow::anyhow!("boundary check: {e}"))?
        .map_err(|m| AppError::invalid("invalid_boundary", m))
}

#[derive(sqlx::FromRow)]
struct Shape {
    code: String,
    name: String,
    boundary: String,
}

/// Take the write lock on a node's row until commit (a no-op update: the same on both engines).
/// Writes that check a node's children or siblings lock the parent first, so two of them under
/// one parent take turns and each sees the other's result; locks go ancestor first, so no deadlock.
async fn lock(tx: &mut Tx, code: &str) -> sqlx::Result<Option<GridRow>> {
    on_tx!(&mut *tx, |c| sqlx::query("UPDATE grids SET children = children WHERE code = $1")
        .bind(code)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(&mut *tx, |c| sqlx::query_as::<_, GridRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {GRID_COLS} FROM grids WHERE code = $1"
    )))
    .bind(code)
    .fetch_optional(&mut *c)
    .await)
}

/// A boundary must lie within its parent's and must not overlap a sibling's. Runs inside the
/// writing transaction, after `lock(parent)`, so what it checks is what gets committed.
async fn check_fit(tx: &mut Tx, b: &Boundary, parent: &GridRow, own_code: &str) -> AppResult<()> {
    let parent_b = rules::parse_boundary_text(&parent.boundary).map_err(|_| AppError::internal())?;
    if rules::outside_share(&b.polygon, &parent_b.polygon) > rules::AREA_TOLERANCE {
        return Err(AppError::invalid(
            "boundary_outside_parent",
            format!("边界超出上级网格「{}」的范围", parent.name),
        ));
    }
    let sibs = on_tx!(&mut *tx, |c| sqlx::query_as::<_, Shape>(
        "SELECT code, name, boundary FROM grids WHERE parent_code = $1 AND code <> $2 \
         AND max_lat > $3 AND min_lat < $4 AND max_lng > $5 AND min_lng < $6"
    )
    .bind(&parent.code)
    .bind(own_code)
    .bind(b.bbox.0)
    .bind(b.bbox.2)
    .bind(b.bbox.1)
    .bind(b.bbox.3)
    .fetch_all(&mut *c)
    .await)?;
    for s in sibs {
        if let Ok(sb) = rules::parse_boundary_text(&s.boundary)
            && rules::overlap_share(&b.polygon, &sb.polygon) > rules::AREA_TOLERANCE
        {
            return Err(AppError::invalid(
                "boundary_overlap",
                format!("边界与同级网格「{}」({}) 重叠", s.name, s.code),
            ));
        }
    }
    Ok(())
}

/// A node's new boundary must still hold each of its children.
async fn check_holds_children(tx: &mut Tx, b: &Boundary, code: &str) -> AppResult<()> {
    let kids = on_tx!(&mut *tx, |c| sqlx::query_as::<_, Shape>(
        "SELECT code, name, boundary FROM grids WHERE parent_code = $1"
    )
    .bind(code)
    .fetch_all(&mut *c)
    .await)?;
    for k in kids {
        if let Ok(kb) = rules::parse_boundary_text(&k.boundary)
            && rules::outside_share(&kb.polygon, &b.polygon) > rules::AREA_TOLERANCE
        {
            return Err(AppError::invalid(
                "boundary_excludes_child",
                format!("新边界未能包含下级网格「{}」({})，请先调整下级网格", k.name, k.code),
            ));
        }
    }
    Ok(())
}

pub async fn create(db: &Db, actor: Actor<'_>, input: &NewGrid) -> AppResult<GridRow> {
    let parent = get(db, &input.parent).await?.ok_or_else(|| AppError::not_found("上级网格"))?;
    rules::check_child_code(&parent.code, parent.level, &input.code).map_err(|m| AppError::invalid("invalid_grid_code", m))?;
    let level = parent.level + 1;
    if rules::kind_level(&input.kind) != Some(level) {
        return Err(AppError::invalid(
            "invalid_grid_kind",
            format!("第{level}级网格（{}）的类型不能是「{}」", rules::level_label(level), input.kind),
        ));
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "网格名称不能为空且不超过64字"));
    }
    let (leader, phone) = check_leader(&input.leader)?;
    let b = check_boundary(&input.boundary).await?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    let parent = lock(&mut tx, &parent.code).await?.ok_or_else(|| AppError::not_found("上级网格"))?;
    check_fit(&mut tx, &b, &parent, &input.code).await?;
    insert_grid(
        &mut tx,
        &GridInsert {
            code: &input.code,
            district: &parent.district,
            level,
            kind: &input.kind,
            name,
            parent: Some(&parent.code),
            boundary: &b,
        },
        now,
    )
    .await
    .map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_grid_code", format!("网格编码 {} 已被使用", input.code))
        } else {
            e.into()
        }
    })?;
    insert_contact(&mut tx, &input.code, "leader", &leader, &phone, 0).await?;
    on_tx!(&mut tx, |c| sqlx::query("UPDATE grids SET children = children + 1 WHERE code = $1")
        .bind(&parent.code)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &parent.district,
            action: "grid.create",
            target_kind: "grid",
            target_id: &input.code,
            reason: "",
            detail: json!({"name": name, "kind": input.kind, "parent": parent.code}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, &input.code).await?.ok_or_else(AppError::internal)
}

/// A change to a grid node; fields left out stay as they are.
#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct GridUpdate {
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub boundary: Option<serde_json::Value>,
    pub leader: Option<LeaderInput>,
    /// A compound's property company: a unit id, or `null` to say none manages it.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub property_company: Option<Option<Uuid>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(d).map(Some)
}

pub async fn update(db: &Db, actor: Actor<'_>, grid: &GridRow, up: &GridUpdate) -> AppResult<GridRow> {
    let name = match &up.name {
        Some(n) if n.trim().is_empty() || n.trim().chars().count() > 64 => {
            return Err(AppError::invalid("invalid_name", "网格名称不能为空且不超过64字"));
        }
        Some(n) => Some(n.trim().to_string()),
        None => None,
    };
    let leader = up.leader.as_ref().map(check_leader).transpose()?;
    let boundary = match &up.boundary {
        Some(v) => Some(check_boundary(v).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    if let Some(b) = &boundary {
        if let Some(pc) = &grid.parent_code {
            let parent = lock(&mut tx, pc).await?.ok_or_else(AppError::internal)?;
            check_fit(&mut tx, b, &parent, &grid.code).await?;
        }
        lock(&mut tx, &grid.code).await?;
        check_holds_children(&mut tx, b, &grid.code).await?;
    }
    let now = now_ms();
    if let Some(n) = &name {
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE grids SET name = $1, updated_at = $2 WHERE code = $3"
        )
        .bind(n)
        .bind(now)
        .bind(&grid.code)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    if let Some(b) = &boundary {
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE grids SET boundary = $1, center_lat = $2, center_lng = $3, min_lat = $4, min_lng = $5, max_lat = $6, max_lng = $7, updated_at = $8 WHERE code = $9"
        )
        .bind(&b.geojson)
        .bind(b.center.0)
        .bind(b.center.1)
        .bind(b.bbox.0)
        .bind(b.bbox.1)
        .bind(b.bbox.2)
        .bind(b.bbox.3)
        .bind(now)
        .bind(&grid.code)
        .execute(c)
        .await.map(|r| r.rows_affected())
        })?;
    }
    if let Some(company) = up.property_company {
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE grids SET property_company_id = $1, updated_at = $2 WHERE code = $3"
        )
        .bind(company)
        .bind(now)
        .bind(&grid.code)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    if let Some((n, p)) = &leader {
        on_tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM grid_contacts WHERE grid_code = $1 AND role = 'leader'"
        )
        .bind(&grid.code)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        insert_contact(&mut tx, &grid.code, "leader", n, p, 0).await?;
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &grid.district,
            action: "grid.update",
            target_kind: "grid",
            target_id: &grid.code,
            reason: "",
            detail: json!({"name": name, "boundary": boundary.is_some(), "leader": leader.as_ref().map(|l| &l.0), "property_company": up.property_company}),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, &grid.code).await?.ok_or_else(AppError::internal)
}

pub struct GridInsert<'a> {
    pub code: &'a str,
    pub district: &'a str,
    pub level: i64,
    pub kind: &'a str,
    pub name: &'a str,
    pub parent: Option<&'a str>,
    pub boundary: &'a Boundary,
}

pub async fn insert_grid(tx: &mut Tx, g: &GridInsert<'_>, now: i64) -> sqlx::Result<()> {
    let b = g.boundary;
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO grids (code, district, level, kind, name, parent_code, boundary, center_lat, center_lng, min_lat, min_lng, max_lat, max_lng, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
    )
    .bind(g.code)
    .bind(g.district)
    .bind(g.level)
    .bind(g.kind)
    .bind(g.name)
    .bind(g.parent)
    .bind(&b.geojson)
    .bind(b.center.0)
    .bind(b.center.1)
    .bind(b.bbox.0)
    .bind(b.bbox.1)
    .bind(b.bbox.2)
    .bind(b.bbox.3)
    .bind(now)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn insert_contact(tx: &mut Tx, code: &str, role: &str, name: &str, phone: &str, position: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO grid_contacts (id, district, grid_code, role, name, phone, position) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(new_id())
    .bind(&code[..6])
    .bind(code)
    .bind(role)
    .bind(name)
    .bind(phone)
    .bind(position)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Add `households` and `residents` to a building and every ancestor's subtree counts.
pub async fn bump_counts(tx: &mut Tx, building_code: &str, households: i64, residents: i64) -> sqlx::Result<()> {
    for level in 1..=5 {
        let n = rules::code_len(level);
        if n > building_code.len() {
            break;
        }
        on_tx!(tx, |c| sqlx::query(
            "UPDATE grids SET households = households + $1, residents = residents + $2 WHERE code = $3"
        )
        .bind(households)
        .bind(residents)
        .bind(&building_code[..n])
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Compounds (level 4) of a subtree that no property company manages (三无小区 candidates).
pub async fn unmanaged_compounds(db: &Db, code: &str) -> sqlx::Result<i64> {
    let upper = super::rules::subtree_upper(code);
    crate::on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM grids WHERE code >= $1 AND code < $2 AND level = 4 AND property_company_id IS NULL"
    )
    .bind(code)
    .bind(upper.as_str())
    .fetch_one(p)
    .await)
}

#[derive(sqlx::FromRow)]
struct LayerRow {
    kind: String,
    class: String,
    name: String,
    geometry: String,
}

/// The most base-layer features one map loads.
pub const MAX_LAYER_ROWS: i64 = 20_000;

/// The district's base-layer features whose box meets `window` (min_lat, min_lng, max_lat,
/// max_lng): areas first, then rivers, roads, landmarks.
pub async fn layers_in(db: &Db, district: &str, window: (f64, f64, f64, f64)) -> sqlx::Result<Vec<BaseFeature>> {
    let (min_lat, min_lng, max_lat, max_lng) = window;
    let rows = on_pool!(db, |p| sqlx::query_as::<_, LayerRow>(
        "SELECT kind, class, name, geometry FROM map_layers WHERE district = $1 \
         AND max_lng >= $2 AND min_lng <= $3 AND max_lat >= $4 AND min_lat <= $5 \
         ORDER BY kind, id LIMIT $6"
    )
    .bind(district)
    .bind(min_lng)
    .bind(max_lng)
    .bind(min_lat)
    .bind(max_lat)
    .bind(MAX_LAYER_ROWS)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let class = ["road", "river", "landmark", "green", "water"]
                .into_iter()
                .find(|c| *c == r.class)?;
            Some(BaseFeature {
                geometry: Geometry::from_geojson(&r.geometry)?,
                kind: r.kind,
                class,
                name: r.name,
            })
        })
        .collect())
}

/// Count of a district's base-layer features by kind.
pub async fn layer_counts(db: &Db, district: &str) -> sqlx::Result<Vec<(String, i64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (String, i64)>(
        "SELECT kind, COUNT(*) FROM map_layers WHERE district = $1 GROUP BY kind ORDER BY kind"
    )
    .bind(district)
    .fetch_all(p)
    .await)
}

/// The box (min_lat, min_lng, max_lat, max_lng) of a district's root node.
pub async fn district_bbox(db: &Db, district: &str) -> sqlx::Result<Option<(f64, f64, f64, f64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (f64, f64, f64, f64)>(
        "SELECT min_lat, min_lng, max_lat, max_lng FROM grids WHERE code = $1"
    )
    .bind(district)
    .fetch_optional(p)
    .await)
}

/// Every district's code.
pub async fn districts(db: &Db) -> sqlx::Result<Vec<String>> {
    on_pool!(db, |p| sqlx::query_scalar::<_, String>("SELECT code FROM districts ORDER BY code")
        .fetch_all(p)
        .await)
}

/// Store imported features of one kind in the open transaction, first removing the district's
/// features of that kind when `replace`. Returns how many were removed.
pub async fn insert_layers(
    tx: &mut Tx,
    district: &str,
    kind: &str,
    features: &[BaseFeature],
    replace: bool,
    now: i64,
) -> sqlx::Result<u64> {
    let removed = if replace {
        on_tx!(&mut *tx, |c| sqlx::query(
            "DELETE FROM map_layers WHERE district = $1 AND kind = $2"
        )
        .bind(district)
        .bind(kind)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?
    } else {
        0
    };
    for f in features {
        let (min_lat, min_lng, max_lat, max_lng) = f.geometry.bbox();
        let geometry = f.geometry.to_geojson();
        on_tx!(&mut *tx, |c| sqlx::query(
            "INSERT INTO map_layers (id, district, kind, class, name, geometry, min_lat, min_lng, max_lat, max_lng, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(new_id())
        .bind(district)
        .bind(&f.kind)
        .bind(f.class)
        .bind(&f.name)
        .bind(&geometry)
        .bind(min_lat)
        .bind(min_lng)
        .bind(max_lat)
        .bind(max_lng)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(removed)
}
