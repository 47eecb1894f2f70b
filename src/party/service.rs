//! Party operations shared by the API, pages, the demo and features built on party: who may see
//! and act on an organisation or a member, organisations, members and their report-in (双报到)
//! and assignment (分包), posts with consent, service records, model households; and which
//! compounds have a branch and who leads it.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, ModelStatus, ModelStep};
use super::store::{self, MemberRow, ModelRow, OrgRow, PostRow};
use crate::audit::{self, Actor};
use crate::auth::{Capability, Principal, Role};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::subtree_upper;
use crate::registry::residents::{self, ResidentRow};
use crate::{on_pool, on_tx};

/// The compounds (level-4 grid codes) in the subtree of `grid` that have a compound party branch
/// (小区党支部): a `branch` organisation sitting at the compound's own node.
pub async fn compounds_with_branch(db: &Db, district: &str, grid: &str) -> AppResult<BTreeSet<String>> {
    let upper = subtree_upper(grid);
    let codes: Vec<String> = on_pool!(db, |p| sqlx::query_scalar(BRANCH_COMPOUNDS)
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_all(p)
        .await)?;
    Ok(codes.into_iter().collect())
}

/// [`compounds_with_branch`] inside a transaction, which sees what it wrote (the demo's load).
pub async fn compounds_with_branch_in(tx: &mut Tx, district: &str, grid: &str) -> AppResult<BTreeSet<String>> {
    let upper = subtree_upper(grid);
    let codes: Vec<String> = on_tx!(tx, |c| sqlx::query_scalar(BRANCH_COMPOUNDS)
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_all(c)
        .await)?;
    Ok(codes.into_iter().collect())
}

const BRANCH_COMPOUNDS: &str = "SELECT DISTINCT o.grid_code FROM party_orgs o JOIN grids g ON g.code = o.grid_code \
     WHERE o.district = $1 AND o.kind = 'branch' AND g.level = 4 AND o.grid_code >= $2 AND o.grid_code < $3";

/// Whether `user` is the secretary (书记) of the party branch of `compound`.
pub async fn is_branch_secretary(db: &Db, district: &str, user: Uuid, compound: &str) -> AppResult<bool> {
    let n: i64 = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM party_orgs WHERE district = $1 AND kind = 'branch' AND grid_code = $2 AND secretary_user_id = $3"
    )
    .bind(district)
    .bind(compound)
    .bind(user)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// The first day of the service window members' hours are summed over (the last 365 days).
pub fn year_window(now: i64) -> String {
    crate::time::day_ms(now - 365 * 86_400_000)
}

pub fn today() -> String {
    crate::time::day_ms(now_ms())
}

fn hidden() -> AppError {
    AppError::not_found("该党组织或党员")
}

/// Who is acting: their posts, and the party member they are if their account is a resident's.
pub struct Acting<'a> {
    pub p: &'a Principal,
    pub resident: Option<ResidentRow>,
    pub member: Option<MemberRow>,
}

impl<'a> Acting<'a> {
    pub async fn of(db: &Db, p: &'a Principal) -> AppResult<Acting<'a>> {
        let resident = if p.posts.iter().any(|x| x.role == Role::Resident) {
            residents::of_account(db, p.user_id).await?
        } else {
            None
        };
        let member = match &resident {
            Some(r) => store::member_of_resident(db, r.id, &year_window(now_ms())).await?,
            None => None,
        };
        Ok(Acting { p, resident, member })
    }

    /// Holds a post at this unit (a department handler, property staff).
    pub fn at_unit(&self, unit: Uuid) -> bool {
        self.p.posts.iter().any(|x| x.unit_id == Some(unit) && x.role.held_at_unit())
    }

    /// The units this person works at as a department handler.
    pub fn handler_units(&self) -> Vec<Uuid> {
        self.p
            .posts
            .iter()
            .filter(|x| x.role == Role::DepartmentHandler)
            .filter_map(|x| x.unit_id)
            .collect()
    }

    /// Reads party work somewhere: grid staff, a department's handler, a member, a secretary.
    fn reads_some(&self) -> bool {
        self.p.has(Capability::ReadRegistry) || !self.handler_units().is_empty() || self.member.is_some()
    }

    fn not_visible(&self) -> AppError {
        if self.reads_some() {
            hidden()
        } else {
            AppError::forbidden_to("您的岗位不能查看党建工作")
        }
    }

    pub fn reads_org(&self, o: &OrgRow) -> bool {
        if o.secretary_user_id == Some(self.p.user_id) {
            return true;
        }
        if self.member.as_ref().is_some_and(|m| m.org_id == Some(o.id)) {
            return true;
        }
        match (&o.grid_code, o.unit_id) {
            (Some(g), _) => self.p.can(Capability::ReadRegistry, g),
            (None, Some(u)) => {
                self.at_unit(u)
                    || self.p.can(Capability::ReadRegistry, &self.p.district)
                    || o.report_grid.as_deref().is_some_and(|g| self.p.can(Capability::ReadRegistry, g))
            }
            (None, None) => false,
        }
    }

    /// Leads an organisation's work (records posts and service for its members): staff who write
    /// its node's registry, or its secretary.
    pub fn leads_org(&self, o: &OrgRow) -> bool {
        o.secretary_user_id == Some(self.p.user_id)
            || match (&o.grid_code, o.unit_id) {
                (Some(g), _) => self.p.can(Capability::WriteRegistry, g),
                (None, Some(u)) => self.at_unit(u) || self.p.can(Capability::WriteRegistry, &self.p.district),
                (None, None) => false,
            }
    }

    fn member_places(m: &MemberRow) -> impl Iterator<Item = &String> {
        m.grid_code.iter().chain(m.report_grid.iter()).chain(m.assigned_grid.iter())
    }

    pub fn is_member(&self, m: &MemberRow) -> bool {
        self.member.as_ref().is_some_and(|x| x.id == m.id)
    }

    /// Reads a member: staff over where they live, reported or are assigned; their unit; themself.
    pub fn reads_member(&self, m: &MemberRow) -> bool {
        self.is_member(m)
            || m.unit_id.is_some_and(|u| self.at_unit(u))
            || Self::member_places(m).any(|g| self.p.can(Capability::ReadRegistry, g))
    }

    /// Records for a member (service, report-in on their behalf): staff who write a place of
    /// theirs, their unit, themself.
    pub fn acts_for_member(&self, m: &MemberRow) -> bool {
        self.is_member(m)
            || m.unit_id.is_some_and(|u| self.at_unit(u))
            || Self::member_places(m).any(|g| self.p.can(Capability::WriteRegistry, g))
    }
}

/// An organisation the caller may see, or 404 (403 for one who reads no party work at all).
pub async fn org_for(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<OrgRow> {
    match store::org(db, id).await?.filter(|o| o.district == a.p.district) {
        Some(o) if a.reads_org(&o) => Ok(o),
        _ => Err(a.not_visible()),
    }
}

/// A member the caller may see, or 404 / 403.
pub async fn member_for(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<MemberRow> {
    match store::member(db, id, &year_window(now_ms()))
        .await?
        .filter(|m| m.district == a.p.district)
    {
        Some(m) if a.reads_member(&m) => Ok(m),
        _ => Err(a.not_visible()),
    }
}

/// The grid a list reads: the one asked for if the caller reads it, else the caller's widest.
pub fn list_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看党组织和党员"));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .next()
            .ok_or_else(|| AppError::forbidden_to("该角色不能查看党组织和党员")),
    }
}

fn text(raw: &str, min: usize, max: usize, code: &'static str, what: &str) -> AppResult<String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min || n > max {
        return Err(AppError::invalid(code, format!("{what}应为{min}至{max}个字")));
    }
    Ok(t.to_string())
}

async fn audit_last(
    tx: &mut Tx,
    actor: Actor<'_>,
    district: &str,
    action: &str,
    kind: &str,
    id: impl ToString,
    detail: serde_json::Value,
) -> AppResult<()> {
    audit::record(
        tx,
        actor,
        audit::Entry {
            district,
            action,
            target_kind: kind,
            target_id: &id.to_string(),
            reason: "",
            detail,
        },
    )
    .await?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewOrg {
    /// district_committee, working_committee, committee, general_branch, branch
    pub kind: String,
    pub name: String,
    /// The grid node it sits at; or
    pub grid: Option<String>,
    /// the unit (property company, co-building unit) it sits in.
    pub unit: Option<Uuid>,
    /// The organisation that leads it (none only for the district committee).
    pub parent: Option<Uuid>,
    /// The secretary's account (书记).
    pub secretary: Option<Uuid>,
}

/// Create an organisation: staff who manage the grid at its node (a unit's: the district).
pub async fn create_org(db: &Db, a: &Acting<'_>, n: &NewOrg) -> AppResult<OrgRow> {
    let p = a.p;
    let grid = n.grid.as_deref().map(str::trim).filter(|g| !g.is_empty());
    let where_ = grid.unwrap_or(&p.district);
    if !p.has(Capability::ManageGrid) {
        return Err(AppError::forbidden_to("只有区、街道、社区工作人员可以设立党组织"));
    }
    if !p.can(Capability::ManageGrid, where_) {
        return Err(AppError::not_found("该网格"));
    }
    let name = text(&n.name, 2, 64, "invalid_name", "组织名称")?;
    let level = match (grid, n.unit) {
        (Some(g), None) => {
            let row = crate::grid::store::get(db, g)
                .await?
                .filter(|x| x.district == p.district)
                .ok_or_else(|| AppError::not_found("该网格"))?;
            Some(row.level)
        }
        (None, Some(u)) => {
            crate::registry::units::get(db, u)
                .await?
                .filter(|x| x.district == p.district)
                .ok_or_else(|| AppError::invalid("unknown_unit", "没有这个单位"))?;
            None
        }
        _ => return Err(AppError::invalid("grid_or_unit", "党组织须设在一个网格或一个单位")),
    };
    if !rules::kind_fits(&n.kind, level) {
        return Err(AppError::invalid("invalid_kind", "组织类别与所在层级不符"));
    }
    let parent = match n.parent {
        Some(id) => {
            let o = store::org(db, id)
                .await?
                .filter(|o| o.district == p.district)
                .ok_or_else(|| AppError::invalid("unknown_parent", "没有这个上级党组织"))?;
            if !rules::parent_fits(&o.kind, o.grid_code.as_deref(), &n.kind, grid) {
                return Err(AppError::invalid("invalid_parent", "上级党组织应为更高一级、所在网格在其之上"));
            }
            Some(o.id)
        }
        None if n.kind == "district_committee" => None,
        None => return Err(AppError::invalid("parent_required", "须指定上级党组织")),
    };
    if let Some(s) = n.secretary {
        let u = crate::auth::store::user_by_id(db, s).await?;
        if u.is_none_or(|u| u.district != p.district) {
            return Err(AppError::invalid("unknown_account", "没有这个账号"));
        }
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    store::insert_org(
        &mut tx,
        &store::NewOrgRow {
            id,
            district: &p.district,
            parent_id: parent,
            kind: &n.kind,
            name: &name,
            grid_code: grid,
            unit_id: n.unit,
            secretary_user_id: n.secretary,
            report_grid: None,
            reported_on: None,
            now: now_ms(),
        },
    )
    .await?;
    audit_last(
        &mut tx,
        p.actor(),
        &p.district,
        "party.org_create",
        "party_org",
        id,
        json!({"kind": n.kind, "grid": grid, "unit": n.unit}),
    )
    .await?;
    tx.commit().await?;
    store::org(db, id).await?.ok_or_else(AppError::internal)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    /// A resident who is a member (their tag 党员 is set with the member row); or
    pub resident: Option<Uuid>,
    /// the unit of an in-service member (在职党员),
    pub unit: Option<Uuid>,
    /// with their name
    pub name: Option<String>,
    /// and mobile (stored masked only).
    pub phone: Option<String>,
    /// A sunk-down cadre (下沉党员干部).
    pub cadre: Option<bool>,
    /// The organisation they belong to.
    pub org: Option<Uuid>,
}

/// Register a party member: a resident (by staff who write their building's registry; the tag
/// 党员 is set in the same transaction) or an in-service member (by their unit or the district).
pub async fn create_member(db: &Db, a: &Acting<'_>, n: &NewMember) -> AppResult<MemberRow> {
    let p = a.p;
    let now = now_ms();
    let id = new_id();
    let mut tx;
    let (kind, detail);
    match (n.resident, n.unit) {
        (Some(rid), None) => {
            if !p.has(Capability::WriteRegistry) {
                return Err(AppError::forbidden_to("只有网格工作人员可以登记居民党员"));
            }
            let r = residents::get(db, rid)
                .await?
                .filter(|r| r.district == p.district && p.can(Capability::WriteRegistry, &r.grid_code))
                .ok_or_else(|| AppError::not_found("该居民"))?;
            let org = check_org(db, a, n.org).await?;
            tx = db.begin().await?;
            let inserted = insert_member_row(
                &mut tx,
                &MemberInsert {
                    id,
                    district: &p.district,
                    org,
                    kind: "resident",
                    resident: Some(r.id),
                    unit: None,
                    name: &r.name,
                    phone_masked: &crate::identity::mask_phone(&r.phone),
                    grid: Some(&r.grid_code),
                    cadre: false,
                    now,
                },
            )
            .await;
            match inserted {
                Err(e) if crate::db::is_unique_violation(&e) => {
                    return Err(AppError::conflict("already_member", "该居民已登记为党员"));
                }
                r => r?,
            }
            tag_party_member(&mut tx, &r).await?;
            kind = "resident";
            detail = json!({"kind": kind, "resident": r.id});
        }
        (None, Some(uid)) => {
            if !a.at_unit(uid) && !p.can(Capability::WriteUnits, &p.district) {
                return Err(if a.handler_units().is_empty() && !p.has(Capability::WriteUnits) {
                    AppError::forbidden_to("只有本单位或区级工作人员可以登记在职党员")
                } else {
                    AppError::not_found("该单位")
                });
            }
            let u = crate::registry::units::get(db, uid)
                .await?
                .filter(|u| u.district == p.district)
                .ok_or_else(|| AppError::not_found("该单位"))?;
            let name = text(n.name.as_deref().unwrap_or(""), 2, 32, "invalid_name", "姓名")?;
            let phone = match n.phone.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
                Some(x) => crate::identity::mask_phone(
                    &crate::identity::parse_mobile(x).ok_or_else(|| AppError::invalid("invalid_phone", "手机号应为11位数字"))?,
                ),
                None => String::new(),
            };
            let org = check_org(db, a, n.org).await?;
            tx = db.begin().await?;
            insert_member_row(
                &mut tx,
                &MemberInsert {
                    id,
                    district: &p.district,
                    org,
                    kind: "in_service",
                    resident: None,
                    unit: Some(u.id),
                    name: &name,
                    phone_masked: &phone,
                    grid: None,
                    cadre: n.cadre.unwrap_or(false),
                    now,
                },
            )
            .await?;
            kind = "in_service";
            detail = json!({"kind": kind, "unit": u.id, "cadre": n.cadre.unwrap_or(false)});
        }
        _ => return Err(AppError::invalid("resident_or_unit", "党员须是一位居民，或一个单位的在职党员")),
    }
    audit_last(&mut tx, p.actor(), &p.district, "party.member_create", "party_member", id, detail).await?;
    tx.commit().await?;
    store::member(db, id, &year_window(now)).await?.ok_or_else(AppError::internal)
}

async fn check_org(db: &Db, a: &Acting<'_>, org: Option<Uuid>) -> AppResult<Option<Uuid>> {
    match org {
        Some(id) => match store::org(db, id).await?.filter(|o| o.district == a.p.district) {
            Some(o) if a.reads_org(&o) => Ok(Some(o.id)),
            _ => Err(AppError::invalid("unknown_org", "没有这个党组织")),
        },
        None => Ok(None),
    }
}

pub struct MemberInsert<'a> {
    pub id: Uuid,
    pub district: &'a str,
    pub org: Option<Uuid>,
    pub kind: &'a str,
    pub resident: Option<Uuid>,
    pub unit: Option<Uuid>,
    pub name: &'a str,
    pub phone_masked: &'a str,
    pub grid: Option<&'a str>,
    pub cadre: bool,
    pub now: i64,
}

async fn insert_member_row(tx: &mut Tx, m: &MemberInsert<'_>) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO party_members (id, district, org_id, kind, resident_id, unit_id, name, phone_masked, grid_code, cadre, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(m.id)
    .bind(m.district)
    .bind(m.org)
    .bind(m.kind)
    .bind(m.resident)
    .bind(m.unit)
    .bind(m.name)
    .bind(m.phone_masked)
    .bind(m.grid)
    .bind(m.cadre)
    .bind(m.now)
    .execute(c)
    .await
    .map(|_| ()))
}

/// Give a resident the tag 党员 (if they have it not yet), in the member's transaction.
async fn tag_party_member(tx: &mut Tx, r: &ResidentRow) -> AppResult<()> {
    let mut tags = r.tag_list();
    if tags.iter().any(|t| t == "党员") {
        return Ok(());
    }
    tags.push("党员".into());
    on_tx!(tx, |c| {
        sqlx::query("INSERT INTO resident_tags (resident_id, district, tag, grid_code) VALUES ($1, $2, $3, $4)")
            .bind(r.id)
            .bind(&r.district)
            .bind("党员")
            .bind(&r.grid_code)
            .execute(&mut *c)
            .await?;
        sqlx::query("UPDATE residents SET tags = $1, updated_at = $2 WHERE id = $3")
            .bind(tags.join(","))
            .bind(now_ms())
            .bind(r.id)
            .execute(&mut *c)
            .await?;
        Ok::<(), sqlx::Error>(())
    })?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ReportIn {
    /// The community (社区) or compound (小区) reported to.
    pub grid: String,
    /// YYYY-MM-DD; today by default.
    pub date: Option<String>,
}

/// 双报到: an in-service member reports to a community or compound. Their unit, the member
/// themself, or staff who write that place's registry record it.
pub async fn report_in(db: &Db, a: &Acting<'_>, id: Uuid, r: &ReportIn) -> AppResult<MemberRow> {
    let m = member_for(db, a, id).await?;
    let grid = r.grid.trim();
    let at_grid = a.p.can(Capability::WriteRegistry, grid);
    if !(a.is_member(&m) || m.unit_id.is_some_and(|u| a.at_unit(u)) || at_grid) {
        return Err(AppError::forbidden_to("只有本人、所在单位或报到社区可以登记报到"));
    }
    if m.kind != "in_service" {
        return Err(AppError::invalid("not_in_service", "居住地党员无须双报到"));
    }
    let g = crate::grid::store::get(db, grid)
        .await?
        .filter(|g| g.district == m.district && (g.level == 3 || g.level == 4))
        .ok_or_else(|| AppError::invalid("invalid_grid", "报到地应为一个社区或小区"))?;
    let today = today();
    let date = match r.date.as_deref().filter(|d| !d.trim().is_empty()) {
        Some(d) => rules::past_date(d, &today).map_err(|e| AppError::invalid("invalid_date", e))?,
        None => today,
    };
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE party_members SET report_grid = $1, reported_on = $2 WHERE id = $3"
    )
    .bind(&g.code)
    .bind(&date)
    .bind(m.id)
    .execute(c)
    .await
    .map(|_| ()))?;
    audit_last(
        &mut tx,
        a.p.actor(),
        &m.district,
        "party.report",
        "party_member",
        m.id,
        json!({"grid": g.code, "date": date}),
    )
    .await?;
    tx.commit().await?;
    store::member(db, m.id, &year_window(now_ms()))
        .await?
        .ok_or_else(AppError::internal)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Assign {
    /// The compound or building (分包) the cadre answers for.
    pub grid: String,
}

/// 分包: assign an in-service member (a sunk-down cadre) to a compound or building: staff who
/// manage the grid there (district, street, community).
pub async fn assign(db: &Db, a: &Acting<'_>, id: Uuid, r: &Assign) -> AppResult<MemberRow> {
    let m = member_for(db, a, id).await?;
    let grid = r.grid.trim();
    if !a.p.has(Capability::ManageGrid) {
        return Err(AppError::forbidden_to("只有区、街道、社区工作人员可以分包"));
    }
    if !a.p.can(Capability::ManageGrid, grid) {
        return Err(AppError::not_found("该网格"));
    }
    if m.kind != "in_service" {
        return Err(AppError::invalid("not_in_service", "分包对象应为在职党员或下沉干部"));
    }
    let g = crate::grid::store::get(db, grid)
        .await?
        .filter(|g| g.district == m.district && (g.level == 4 || g.level == 5))
        .ok_or_else(|| AppError::invalid("invalid_grid", "分包对象应为一个小区或楼栋"))?;
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE party_members SET assigned_grid = $1, cadre = TRUE WHERE id = $2"
    )
    .bind(&g.code)
    .bind(m.id)
    .execute(c)
    .await
    .map(|_| ()))?;
    audit_last(
        &mut tx,
        a.p.actor(),
        &m.district,
        "party.assign",
        "party_member",
        m.id,
        json!({"grid": g.code}),
    )
    .await?;
    tx.commit().await?;
    store::member(db, m.id, &year_window(now_ms()))
        .await?
        .ok_or_else(AppError::internal)
}

/// The compound (level-4 code) of a grid code at level 4 or 5.
fn compound_of(code: &str) -> Option<&str> {
    let n = crate::grid::rules::code_len(4);
    (code.len() >= n).then(|| &code[..n])
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewPost {
    /// building_center, policy, mediation, environment, safety, care, civility, service
    pub post: String,
    /// The compound or building where the post is held.
    pub grid: String,
    /// The member agreed to be shown on the compound's public page (亮身份).
    pub consent: bool,
}

/// 定岗定责: a member takes a post at a compound or building where they live, reported or are
/// assigned; staff who write the place's registry or the compound branch's secretary record it.
pub async fn take_post(db: &Db, a: &Acting<'_>, id: Uuid, n: &NewPost) -> AppResult<PostRow> {
    let m = member_for(db, a, id).await?;
    let grid = n.grid.trim();
    let compound = compound_of(grid).ok_or_else(|| AppError::invalid("invalid_grid", "岗位应设在一个小区或楼栋"))?;
    let secretary = is_branch_secretary(db, &m.district, a.p.user_id, compound).await?;
    if !(a.p.can(Capability::WriteRegistry, grid) || secretary) {
        return Err(if a.p.has(Capability::WriteRegistry) {
            AppError::not_found("该网格")
        } else {
            AppError::forbidden_to("只有小区、社区工作人员或小区党支部书记可以设岗")
        });
    }
    let label = rules::post_label(&n.post).ok_or_else(|| AppError::invalid("invalid_post", "没有这个岗位"))?;
    let g = crate::grid::store::get(db, grid)
        .await?
        .filter(|g| g.district == m.district)
        .ok_or_else(|| AppError::invalid("invalid_grid", "岗位应设在一个小区或楼栋"))?;
    if !rules::post_grid_fits(&n.post, g.level) {
        return Err(AppError::invalid("invalid_grid", "楼栋党员中心户设在楼栋，其他岗位设在小区或楼栋"));
    }
    let belongs =
        Acting::member_places(&m).any(|x| x.starts_with(compound) || (x.len() < compound.len() && compound.starts_with(x.as_str())));
    if !belongs {
        return Err(AppError::invalid("not_here", "该党员不在本小区居住、报到或分包"));
    }
    let pid = new_id();
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO party_posts (id, district, member_id, post, grid_code, consent, started_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(pid)
    .bind(&m.district)
    .bind(m.id)
    .bind(&n.post)
    .bind(&g.code)
    .bind(n.consent)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|_| ()))?;
    audit_last(
        &mut tx,
        a.p.actor(),
        &m.district,
        "party.post",
        "party_member",
        m.id,
        json!({"post": n.post, "label": label, "grid": g.code, "consent": n.consent}),
    )
    .await?;
    tx.commit().await?;
    store::post(db, pid).await?.ok_or_else(AppError::internal)
}

/// Give or withdraw consent to be shown with a post: the member themself, or staff who write the
/// post's place.
pub async fn set_consent(db: &Db, a: &Acting<'_>, post: Uuid, consent: bool) -> AppResult<PostRow> {
    let row = store::post(db, post).await?;
    let Some(row) = row else { return Err(a.not_visible()) };
    let m = member_for(db, a, row.member_id).await?;
    if !(a.is_member(&m) || a.p.can(Capability::WriteRegistry, &row.grid_code)) {
        return Err(AppError::forbidden_to("只有党员本人或小区工作人员可以更改公示意愿"));
    }
    if row.ended_at.is_some() {
        return Err(AppError::conflict("post_ended", "该岗位已结束"));
    }
    let mut tx = db.begin().await?;
    on_tx!(&mut tx, |c| sqlx::query("UPDATE party_posts SET consent = $1 WHERE id = $2")
        .bind(consent)
        .bind(row.id)
        .execute(c)
        .await
        .map(|_| ()))?;
    audit_last(
        &mut tx,
        a.p.actor(),
        &m.district,
        "party.consent",
        "party_member",
        m.id,
        json!({"post": row.id, "consent": consent}),
    )
    .await?;
    tx.commit().await?;
    store::post(db, row.id).await?.ok_or_else(AppError::internal)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewService {
    /// YYYY-MM-DD, not after today.
    pub served_on: String,
    /// Hours, 0.5 to 24 in half hours (text or number; full-width digits read).
    pub hours: serde_json::Value,
    /// What was done, 2–500 characters.
    pub what: String,
    /// A volunteer activity it was part of.
    pub activity: Option<Uuid>,
    /// A case the member handled.
    pub case: Option<Uuid>,
}

/// Record a member's service: the member themself, their unit, staff over a place of theirs.
pub async fn add_service(db: &Db, a: &Acting<'_>, id: Uuid, n: &NewService) -> AppResult<store::ServiceRow> {
    let m = member_for(db, a, id).await?;
    if !a.acts_for_member(&m) {
        return Err(AppError::forbidden_to("只有党员本人、所在单位或网格工作人员可以记录服务"));
    }
    let hours = match &n.hours {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(x) => x.to_string(),
        _ => String::new(),
    };
    let minutes = rules::service_minutes(&hours).map_err(|e| AppError::invalid("invalid_hours", e))?;
    let served_on = rules::past_date(&n.served_on, &today()).map_err(|e| AppError::invalid("invalid_date", e))?;
    let what = text(&n.what, 2, 500, "invalid_what", "服务内容")?;
    let Some(grid) = m.assigned_grid.clone().or(m.report_grid.clone()).or(m.grid_code.clone()) else {
        return Err(AppError::invalid("no_place", "该党员尚未报到或分包，无法记录服务地点"));
    };
    if !exists(db, "volunteer_activities", n.activity, &m.district).await? {
        return Err(AppError::invalid("unknown_activity", "没有这个志愿活动"));
    }
    if !exists(db, "cases", n.case, &m.district).await? {
        return Err(AppError::invalid("unknown_case", "没有这个案件"));
    }
    let sid = new_id();
    let mut tx = db.begin().await?;
    store::insert_service(
        &mut tx,
        &store::NewServiceRow {
            id: sid,
            district: &m.district,
            member_id: m.id,
            grid_code: &grid,
            served_on: &served_on,
            minutes,
            what: &what,
            activity_id: n.activity,
            case_id: n.case,
            recorded_by: Some(a.p.user_id),
            now: now_ms(),
        },
    )
    .await?;
    audit_last(
        &mut tx,
        a.p.actor(),
        &m.district,
        "party.service",
        "party_member",
        m.id,
        json!({"minutes": minutes, "served_on": served_on}),
    )
    .await?;
    tx.commit().await?;
    let (rows, _) = store::service_of(db, m.id, 50, 0).await?;
    rows.into_iter().find(|s| s.id == sid).ok_or_else(AppError::internal)
}

/// Whether a row of `table` (a fixed table name) with this id is in the district; no id: yes.
async fn exists(db: &Db, table: &'static str, id: Option<Uuid>, district: &str) -> AppResult<bool> {
    let Some(id) = id else { return Ok(true) };
    let n: i64 = on_pool!(db, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {table} WHERE id = $1 AND district = $2"
    )))
    .bind(id)
    .bind(district)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Nominate {
    pub household: Uuid,
    pub year: i64,
}

/// Nominate a household with a resident party member as a model household (党员示范户) for a
/// year: staff who write its building's registry, or the compound branch's secretary.
pub async fn nominate(db: &Db, a: &Acting<'_>, n: &Nominate) -> AppResult<ModelRow> {
    let p = a.p;
    let hh = residents::household(db, n.household).await?.filter(|h| h.district == p.district);
    let Some(hh) = hh else {
        return Err(if p.has(Capability::WriteRegistry) || a.member.is_some() {
            AppError::not_found("该住户")
        } else {
            AppError::forbidden_to("只有网格工作人员或小区党支部书记可以推荐示范户")
        });
    };
    let secretary = match compound_of(&hh.grid_code) {
        Some(c) => is_branch_secretary(db, &p.district, p.user_id, c).await?,
        None => false,
    };
    if !(p.can(Capability::WriteRegistry, &hh.grid_code) || secretary) {
        return Err(if p.has(Capability::WriteRegistry) {
            AppError::not_found("该住户")
        } else {
            AppError::forbidden_to("只有网格工作人员或小区党支部书记可以推荐示范户")
        });
    }
    let year = rules::year(n.year).map_err(|e| AppError::invalid("invalid_year", e))?;
    let member: Option<Uuid> = on_pool!(db, |c| {
        sqlx::query_scalar(
        "SELECT m.id FROM party_members m JOIN residents r ON r.id = m.resident_id WHERE r.household_id = $1 ORDER BY m.created_at LIMIT 1"
    )
    .bind(hh.id)
    .fetch_optional(c)
    .await
    })?;
    let member = member.ok_or_else(|| AppError::invalid("no_party_member", "该住户没有登记的党员"))?;
    let id = new_id();
    let mut tx = db.begin().await?;
    let r = on_tx!(&mut tx, |c| sqlx::query(
        "INSERT INTO party_model_households (id, district, year, household_id, member_id, grid_code, status, nominated_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'nominated', $7, $8)"
    )
    .bind(id)
    .bind(&p.district)
    .bind(year)
    .bind(hh.id)
    .bind(member)
    .bind(&hh.grid_code)
    .bind(p.user_id)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|_| ()));
    match r {
        Err(e) if crate::db::is_unique_violation(&e) => return Err(AppError::conflict("already_nominated", "该住户本年度已推荐")),
        r => r?,
    };
    audit_last(
        &mut tx,
        p.actor(),
        &p.district,
        "party.model_nominate",
        "household",
        hh.id,
        json!({"year": year}),
    )
    .await?;
    tx.commit().await?;
    store::model(db, id).await?.ok_or_else(AppError::internal)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Review {
    /// approve or refuse
    pub decision: String,
    /// Required to refuse, 2–200 characters.
    pub reason: Option<String>,
}

fn reviews(p: &Principal) -> AppResult<()> {
    if p.has(Capability::ManageGrid) {
        Ok(())
    } else {
        Err(AppError::forbidden_to("只有区、街道、社区工作人员可以审核示范户"))
    }
}

/// Review a nominated model household: community staff or above over it.
pub async fn review(db: &Db, a: &Acting<'_>, id: Uuid, r: &Review) -> AppResult<ModelRow> {
    let p = a.p;
    reviews(p)?;
    let x = store::model(db, id)
        .await?
        .filter(|x| x.district == p.district && p.can(Capability::ManageGrid, &x.grid_code))
        .ok_or_else(|| AppError::not_found("该示范户"))?;
    let step = match r.decision.as_str() {
        "approve" => ModelStep::Approve,
        "refuse" => ModelStep::Refuse,
        _ => return Err(AppError::invalid("invalid_decision", "审核结果应为 approve 或 refuse")),
    };
    let reason = r.reason.as_deref().unwrap_or("").trim().to_string();
    let from = ModelStatus::parse(&x.status).ok_or_else(AppError::internal)?;
    let to = rules::model_step(from, step, &reason).map_err(|e| {
        if from == ModelStatus::Nominated {
            AppError::invalid("reason_required", e)
        } else {
            AppError::conflict("already_reviewed", e)
        }
    })?;
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, |c| {
        sqlx::query(
        "UPDATE party_model_households SET status = $1, reason = $2, reviewed_by = $3, reviewed_at = $4 WHERE id = $5 AND status = 'nominated'"
    )
    .bind(to.as_str())
    .bind(&reason)
    .bind(p.user_id)
    .bind(now_ms())
    .bind(x.id)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if n != 1 {
        return Err(AppError::conflict("already_reviewed", "该示范户已审核"));
    }
    audit_last(
        &mut tx,
        p.actor(),
        &p.district,
        "party.model_review",
        "household",
        x.household_id,
        json!({"year": x.year, "status": to.as_str(), "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    store::model(db, x.id).await?.ok_or_else(AppError::internal)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Publish {
    pub year: i64,
    /// The community or street whose approved households are published.
    pub grid: String,
}

/// Publish a year's approved model households in a subtree (community staff or above); returns
/// how many were published.
pub async fn publish(db: &Db, a: &Acting<'_>, r: &Publish) -> AppResult<u64> {
    let p = a.p;
    reviews(p)?;
    let grid = r.grid.trim();
    if !p.can(Capability::ManageGrid, grid) {
        return Err(AppError::not_found("该网格"));
    }
    let year = rules::year(r.year).map_err(|e| AppError::invalid("invalid_year", e))?;
    let upper = subtree_upper(grid);
    let mut tx = db.begin().await?;
    let n = on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE party_model_households SET status = 'published', published_at = $1 \
         WHERE district = $2 AND year = $3 AND grid_code >= $4 AND grid_code < $5 AND status = 'approved'"
    )
    .bind(now_ms())
    .bind(&p.district)
    .bind(year)
    .bind(grid)
    .bind(&upper)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::conflict("nothing_to_publish", "没有审核通过、待公布的示范户"));
    }
    audit_last(
        &mut tx,
        p.actor(),
        &p.district,
        "party.model_publish",
        "grid",
        grid,
        json!({"grid": grid, "year": year, "published": n}),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}
