//! The four lists' operations, shared by the API, the pages, the demo and the other parts of the
//! services (care visits add needs through [`add_need_in`]).

use std::collections::HashMap;

use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Answer, NeedStatus};
use super::store::{self, NeedRow, Page, ProjectRow, ResourceRow, ResultRow, Side, Table};
use crate::audit;
use crate::auth::{Capability, Principal, Role};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};

fn invalid(code: &'static str) -> impl Fn(String) -> AppError {
    move |m| AppError::invalid(code, m)
}

/// A need as a form, the API or another part sends it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct NewNeed {
    /// The grid node it is at (a building, compound or community code).
    pub grid: String,
    /// The resident who needs it, if one (an empty form field is none).
    pub resident: Option<Uuid>,
    /// 生活照料, 医疗健康, 助餐助浴, 维修改造, 心理慰藉, 法律援助, 就业帮扶 or 其他 (or its English key).
    pub kind: String,
    /// `normal` or `urgent`.
    pub urgency: String,
    /// Up to 500 characters.
    pub description: String,
    /// `resident`, `opinion`, `visit` or `officer`.
    pub source: String,
}

/// Add a need in the caller's transaction (audited as its last write so far: callers that write
/// more after it must audit their own action last). Staff who write the grid's registry may add
/// one there; a resident adds one for themself, from the source `resident`.
pub async fn add_need_in(tx: &mut Tx, p: &Principal, need: NewNeed) -> Result<Uuid, AppError> {
    let grid = need.grid.trim().to_string();
    let kind = rules::kind_key(&need.kind).ok_or_else(|| {
        AppError::invalid(
            "invalid_kind",
            "需求类别应为生活照料、医疗健康、助餐助浴、维修改造、心理慰藉、法律援助、就业帮扶或其他",
        )
    })?;
    let urgency = rules::urgency_key(&need.urgency).ok_or_else(|| AppError::invalid("invalid_urgency", "紧急程度应为 normal 或 urgent"))?;
    let source = rules::source_key(&need.source)
        .ok_or_else(|| AppError::invalid("invalid_source", "需求来源应为 resident、opinion、visit 或 officer"))?;
    let description = rules::text(&need.description, 1, 500, "需求描述").map_err(invalid("invalid_description"))?;
    let staff = p.can(Capability::WriteRegistry, &grid);
    let resident_post = p.posts.iter().any(|x| x.role == Role::Resident);
    if !staff && !resident_post {
        if p.has(Capability::WriteRegistry) {
            return Err(AppError::not_found("该网格"));
        }
        return Err(AppError::forbidden_to("只有网格工作人员或居民本人可以登记需求"));
    }
    let (district, _) = store::grid_in(tx, &grid)
        .await?
        .filter(|g| g.0 == p.district)
        .ok_or_else(|| AppError::not_found("该网格"))?;
    let resident = if staff {
        match need.resident {
            Some(r) => {
                let (d, home) = store::resident_in(tx, r).await?.ok_or_else(|| AppError::not_found("该居民"))?;
                if d != district || !p.can(Capability::ReadRegistry, &home) {
                    return Err(AppError::not_found("该居民"));
                }
                if !home.starts_with(&grid) && !grid.starts_with(&home) {
                    return Err(AppError::invalid("resident_elsewhere", "该居民不住在所选网格"));
                }
                Some(r)
            }
            None => None,
        }
    } else {
        // A resident: for themself only, at their own home, as a resident's request.
        let me = store::resident_of_account(tx, p.user_id)
            .await?
            .ok_or_else(|| AppError::forbidden_to("您的账号尚未关联居民信息，请联系社区登记"))?;
        if need.resident.is_some_and(|r| r != me) {
            return Err(AppError::forbidden_to("居民只能为自己登记需求"));
        }
        let (_, home) = store::resident_in(tx, me).await?.ok_or_else(|| AppError::not_found("该居民"))?;
        if !home.starts_with(&grid) {
            return Err(AppError::not_found("该网格"));
        }
        if source != "resident" {
            return Err(AppError::invalid("invalid_source", "居民本人提出的需求，来源应为 resident"));
        }
        Some(me)
    };
    let id = new_id();
    store::insert_need(
        tx,
        &store::NewNeedRow {
            id,
            district: &district,
            grid: &grid,
            resident,
            kind,
            urgency,
            description: &description,
            source,
            recorded_by: &p.display_name,
            at: now_ms(),
        },
    )
    .await?;
    audit::record(
        tx,
        p.actor(),
        audit::Entry {
            district: &district,
            action: "services.need",
            target_kind: "service_need",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"grid": grid, "kind": kind, "urgency": urgency, "source": source}),
        },
    )
    .await?;
    Ok(id)
}

/// [`add_need_in`] in its own transaction.
pub async fn add_need(db: &Db, p: &Principal, need: NewNeed) -> AppResult<Uuid> {
    let mut tx = db.begin().await?;
    let id = add_need_in(&mut tx, p, need).await?;
    tx.commit().await?;
    Ok(id)
}

/// The node a read of the lists covers: the one asked for if the caller reads its registry,
/// else their widest.
pub fn read_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看四张清单"));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .next()
            .ok_or_else(|| AppError::forbidden_to("该角色不能查看四张清单")),
    }
}

/// A need with where it stands.
#[derive(Debug, Clone)]
pub struct Need {
    pub row: NeedRow,
    pub status: NeedStatus,
    pub projects: Vec<Uuid>,
}

/// A resource with the projects using it.
#[derive(Debug, Clone)]
pub struct Resource {
    pub row: ResourceRow,
    pub projects: Vec<Uuid>,
}

/// A project with what it answers, what it uses and its result.
#[derive(Debug, Clone)]
pub struct Project {
    pub row: ProjectRow,
    pub needs: Vec<Need>,
    pub resources: Vec<ResourceRow>,
    pub result: Option<ResultRow>,
}

fn group(links: &[store::Link], by_project: bool) -> HashMap<Uuid, Vec<Uuid>> {
    let mut m: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for l in links {
        let (k, v) = if by_project {
            (l.project_id, l.other)
        } else {
            (l.other, l.project_id)
        };
        m.entry(k).or_default().push(v);
    }
    m
}

/// The statuses of these needs, by the rule: met only once an answering project has its result.
pub async fn judge_needs(db: &Db, rows: Vec<NeedRow>) -> AppResult<Vec<Need>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let links = store::links(db, Side::Needs, false, &ids).await?;
    let by_need = group(&links, false);
    let mut projects: Vec<Uuid> = links.iter().map(|l| l.project_id).collect();
    projects.sort();
    projects.dedup();
    let res_links = store::links(db, Side::Resources, true, &projects).await?;
    let mut resources: HashMap<Uuid, usize> = HashMap::new();
    for l in &res_links {
        *resources.entry(l.project_id).or_default() += 1;
    }
    let results: std::collections::HashSet<Uuid> = store::results_of(db, &projects).await?.into_iter().map(|r| r.project_id).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let projects = by_need.get(&row.id).cloned().unwrap_or_default();
            let answers: Vec<Answer> = projects
                .iter()
                .map(|j| Answer {
                    resources: resources.get(j).copied().unwrap_or(0),
                    has_result: results.contains(j),
                })
                .collect();
            Need {
                status: rules::need_status(&answers),
                row,
                projects,
            }
        })
        .collect())
}

pub async fn needs(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> AppResult<(Vec<Need>, i64)> {
    let Page { rows, total } = store::needs(db, district, grid, limit, offset).await?;
    Ok((judge_needs(db, rows).await?, total))
}

pub async fn resources(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> AppResult<(Vec<Resource>, i64)> {
    let Page { rows, total } = store::resources(db, district, grid, limit, offset).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let by = group(&store::links(db, Side::Resources, false, &ids).await?, false);
    Ok((
        rows.into_iter()
            .map(|row| Resource {
                projects: by.get(&row.id).cloned().unwrap_or_default(),
                row,
            })
            .collect(),
        total,
    ))
}

/// Projects with their needs, resources and result.
pub async fn complete(db: &Db, rows: Vec<ProjectRow>) -> AppResult<Vec<Project>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let need_links = group(&store::links(db, Side::Needs, true, &ids).await?, true);
    let res_links = group(&store::links(db, Side::Resources, true, &ids).await?, true);
    let mut need_ids: Vec<Uuid> = need_links.values().flatten().copied().collect();
    need_ids.sort();
    need_ids.dedup();
    let mut res_ids: Vec<Uuid> = res_links.values().flatten().copied().collect();
    res_ids.sort();
    res_ids.dedup();
    let needs: HashMap<Uuid, Need> = judge_needs(db, store::needs_by_id(db, &need_ids).await?)
        .await?
        .into_iter()
        .map(|n| (n.row.id, n))
        .collect();
    let resources: HashMap<Uuid, ResourceRow> = store::resources_by_id(db, &res_ids).await?.into_iter().map(|r| (r.id, r)).collect();
    let mut results: HashMap<Uuid, ResultRow> = store::results_of(db, &ids).await?.into_iter().map(|r| (r.project_id, r)).collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let pick = |m: &HashMap<Uuid, Vec<Uuid>>| m.get(&row.id).cloned().unwrap_or_default();
            Project {
                needs: pick(&need_links).iter().filter_map(|i| needs.get(i).cloned()).collect(),
                resources: pick(&res_links).iter().filter_map(|i| resources.get(i).cloned()).collect(),
                result: results.remove(&row.id),
                row,
            }
        })
        .collect())
}

pub async fn projects(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> AppResult<(Vec<Project>, i64)> {
    let Page { rows, total } = store::projects(db, district, grid, limit, offset).await?;
    Ok((complete(db, rows).await?, total))
}

pub async fn results(db: &Db, district: &str, grid: &str, limit: i64, offset: i64) -> AppResult<(Vec<(ResultRow, ProjectRow)>, i64)> {
    let Page { rows, total } = store::results(db, district, grid, limit, offset).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.project_id).collect();
    let projects: HashMap<Uuid, ProjectRow> = store::projects_by_id(db, &ids).await?.into_iter().map(|j| (j.id, j)).collect();
    Ok((
        rows.into_iter()
            .filter_map(|r| projects.get(&r.project_id).cloned().map(|j| (r, j)))
            .collect(),
        total,
    ))
}

/// The node a write of resources, projects or results is at: ManageGrid over it (community,
/// street, district staff).
async fn node_to_manage(tx: &mut Tx, p: &Principal, grid: &str) -> AppResult<String> {
    if !p.has(Capability::ManageGrid) {
        return Err(AppError::forbidden_to("只有社区、街道或区级工作人员可以维护资源、项目和成果"));
    }
    let grid = grid.trim();
    let (district, _) = store::grid_in(tx, grid)
        .await?
        .filter(|g| g.0 == p.district && p.can(Capability::ManageGrid, grid))
        .ok_or_else(|| AppError::not_found("该网格"))?;
    Ok(district)
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewResource {
    pub grid: String,
    pub provider_kind: String,
    pub provider: String,
    pub kind: String,
    pub capacity: String,
    pub period: String,
    pub description: String,
}

pub async fn add_resource(db: &Db, p: &Principal, n: &NewResource) -> AppResult<Uuid> {
    let mut tx = db.begin().await?;
    let district = node_to_manage(&mut tx, p, &n.grid).await?;
    let row = ResourceRow {
        id: new_id(),
        grid_code: n.grid.trim().to_string(),
        provider_kind: rules::provider_key(&n.provider_kind)
            .ok_or_else(|| AppError::invalid("invalid_provider", "资源提供方应为共建单位、商户、志愿服务队或党员"))?
            .to_string(),
        provider: rules::text(&n.provider, 1, 64, "提供方名称").map_err(invalid("invalid_provider"))?,
        kind: rules::kind_key(&n.kind)
            .ok_or_else(|| AppError::invalid("invalid_kind", "资源类别不正确"))?
            .to_string(),
        capacity: rules::number(&n.capacity, 1..=100_000, "服务能力（人次）").map_err(invalid("invalid_capacity"))?,
        period: rules::text(&n.period, 1, 64, "服务时段").map_err(invalid("invalid_period"))?,
        description: rules::text(&n.description, 0, 500, "资源说明").map_err(invalid("invalid_description"))?,
        created_at: now_ms(),
    };
    store::insert_resource(&mut tx, &district, &row).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &district,
            action: "services.resource",
            target_kind: "service_resource",
            target_id: &row.id.to_string(),
            reason: "",
            detail: json!({"grid": row.grid_code, "kind": row.kind, "provider_kind": row.provider_kind, "capacity": row.capacity}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

#[derive(Debug, Clone, Default)]
pub struct NewProject {
    pub grid: String,
    pub name: String,
    pub owner: String,
    pub starts_on: String,
    pub ends_on: String,
    pub needs: Vec<Uuid>,
    pub resources: Vec<Uuid>,
}

pub async fn add_project(db: &Db, p: &Principal, n: &NewProject) -> AppResult<Uuid> {
    let name = rules::text(&n.name, 1, 64, "项目名称").map_err(invalid("invalid_name"))?;
    let owner = rules::text(&n.owner, 1, 64, "负责人").map_err(invalid("invalid_owner"))?;
    let starts_on = rules::date(&n.starts_on, "开始日期").map_err(invalid("invalid_date"))?;
    let ends_on = rules::date(&n.ends_on, "结束日期").map_err(invalid("invalid_date"))?;
    if ends_on < starts_on {
        return Err(AppError::invalid("invalid_date", "结束日期不能早于开始日期"));
    }
    let mut needs = n.needs.clone();
    needs.sort();
    needs.dedup();
    let mut resources = n.resources.clone();
    resources.sort();
    resources.dedup();
    if needs.is_empty() {
        return Err(AppError::invalid("no_needs", "请至少选择一项该项目回应的需求"));
    }
    if needs.len() > 50 || resources.len() > 50 {
        return Err(AppError::invalid("too_many_links", "一个项目最多关联50项需求和50项资源"));
    }
    let mut tx = db.begin().await?;
    let district = node_to_manage(&mut tx, p, &n.grid).await?;
    let grid = n.grid.trim();
    if store::count_in(&mut tx, Table::Needs, &district, grid, &needs).await? != needs.len() as i64
        || store::count_in(&mut tx, Table::Resources, &district, grid, &resources).await? != resources.len() as i64
    {
        return Err(AppError::invalid("unknown_link", "所选需求或资源不在该网格内"));
    }
    let row = ProjectRow {
        id: new_id(),
        grid_code: grid.to_string(),
        name,
        owner,
        starts_on,
        ends_on,
        created_at: now_ms(),
    };
    store::insert_project(&mut tx, &district, &row, &needs, &resources).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &district,
            action: "services.project",
            target_kind: "service_project",
            target_id: &row.id.to_string(),
            reason: "",
            detail: json!({"grid": row.grid_code, "name": row.name, "needs": needs.len(), "resources": resources.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.id)
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewResult {
    pub delivered: String,
    pub people: String,
    pub photos: String,
    /// 1–5, or empty when the beneficiaries have not rated it.
    pub rating: String,
}

/// Record a project's result: the needs it answers are then met.
pub async fn add_result(db: &Db, p: &Principal, project: Uuid, n: &NewResult) -> AppResult<()> {
    let delivered = rules::text(&n.delivered, 1, 500, "成果说明").map_err(invalid("invalid_delivered"))?;
    let people = rules::number(&n.people, 0..=1_000_000, "受益人数").map_err(invalid("invalid_people"))?;
    let photos = if n.photos.trim().is_empty() {
        0
    } else {
        rules::number(&n.photos, 0..=100, "照片张数").map_err(invalid("invalid_photos"))?
    };
    let rating = if n.rating.trim().is_empty() {
        None
    } else {
        Some(rules::number(&n.rating, 1..=5, "满意度评分").map_err(invalid("invalid_rating"))?)
    };
    let mut tx = db.begin().await?;
    let (district, grid, name) = store::project_in(&mut tx, project)
        .await?
        .filter(|j| j.0 == p.district)
        .ok_or_else(|| AppError::not_found("该项目"))?;
    node_to_manage(&mut tx, p, &grid).await?;
    let row = ResultRow {
        project_id: project,
        delivered,
        people,
        photos,
        rating,
        recorded_by: p.display_name.clone(),
        recorded_at: now_ms(),
    };
    if !store::insert_result(&mut tx, &district, &row).await? {
        return Err(AppError::conflict("result_exists", format!("项目“{name}”已登记成果")));
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &district,
            action: "services.result",
            target_kind: "service_project",
            target_id: &project.to_string(),
            reason: "",
            detail: json!({"people": people, "photos": photos, "rating": rating}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The community board: every need, resource and project of the subtree (a community holds
/// a few hundred), each need judged.
pub struct Board {
    pub needs: Vec<Need>,
    pub resources: Vec<Resource>,
    pub projects: Vec<Project>,
}

/// Rows the board reads at most per list.
pub const BOARD_LIMIT: i64 = 1_000;

pub async fn board(db: &Db, district: &str, grid: &str) -> AppResult<Board> {
    let (needs, _) = needs(db, district, grid, BOARD_LIMIT, 0).await?;
    let (resources, _) = resources(db, district, grid, BOARD_LIMIT, 0).await?;
    let (projects, _) = projects(db, district, grid, BOARD_LIMIT, 0).await?;
    Ok(Board {
        needs,
        resources,
        projects,
    })
}

/// A resident's own needs (their account's resident), newest first.
pub async fn my_needs(db: &Db, p: &Principal) -> AppResult<Vec<Need>> {
    let Some(r) = crate::registry::residents::of_account(db, p.user_id).await? else {
        return Ok(Vec::new());
    };
    judge_needs(db, store::needs_of_resident(db, r.id, 200).await?).await
}
