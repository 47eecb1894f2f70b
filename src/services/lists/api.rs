//! The four lists' API (四张清单): needs, resources, projects and results of a subtree.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{self, NeedStatus};
use super::service::{self, Need, Project, Resource};
use super::store::{NeedRow, ProjectRow, ResourceRow, ResultRow};
use crate::auth::Principal;
use crate::error::{AppResult, ErrorBody};
use crate::services::ServicesState;
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// A grid node (street, community, compound …); by default the caller's widest.
    pub grid: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

impl ListQuery {
    fn read(&self, p: &Principal) -> AppResult<(String, i64, i64)> {
        let (limit, offset) = PageQuery {
            page: self.page,
            per_page: self.per_page,
        }
        .limits()?;
        Ok((service::read_root(p, self.grid.as_deref())?, limit, offset))
    }
}

/// A need (需求).
#[derive(Serialize, utoipa::ToSchema)]
pub struct NeedItem {
    pub id: Uuid,
    pub grid: String,
    pub grid_name: String,
    pub resident: Option<Uuid>,
    /// Masked: 张*.
    pub resident_name: Option<String>,
    pub kind: String,
    pub kind_label: &'static str,
    pub urgency: String,
    pub description: String,
    pub source: String,
    pub status: NeedStatus,
    pub status_label: &'static str,
    /// The projects answering it.
    pub projects: Vec<Uuid>,
    pub created_at: String,
}

fn need_row(n: NeedRow, status: NeedStatus, projects: Vec<Uuid>) -> NeedItem {
    NeedItem {
        id: n.id,
        grid: n.grid_code,
        grid_name: n.grid_name,
        resident: n.resident_id,
        resident_name: n.resident_name.as_deref().map(crate::identity::mask_name),
        kind_label: rules::kind_label(&n.kind),
        kind: n.kind,
        urgency: n.urgency,
        description: n.description,
        source: n.source,
        status,
        status_label: status.label(),
        projects,
        created_at: rfc3339_ms(n.created_at),
    }
}

fn need_item(n: Need) -> NeedItem {
    need_row(n.row, n.status, n.projects)
}

/// A resource (资源).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ResourceItem {
    pub id: Uuid,
    pub grid: String,
    /// unit, merchant, volunteer_team or party_member.
    pub provider_kind: String,
    pub provider: String,
    pub kind: String,
    pub kind_label: &'static str,
    /// People (人次) it can serve in a period.
    pub capacity: i64,
    pub period: String,
    pub description: String,
    /// The projects using it; none: no one uses it yet.
    pub projects: Vec<Uuid>,
}

fn resource_row(r: ResourceRow, projects: Vec<Uuid>) -> ResourceItem {
    ResourceItem {
        id: r.id,
        grid: r.grid_code,
        provider_kind: r.provider_kind,
        provider: r.provider,
        kind_label: rules::kind_label(&r.kind),
        kind: r.kind,
        capacity: r.capacity,
        period: r.period,
        description: r.description,
        projects,
    }
}

fn resource_item(r: Resource) -> ResourceItem {
    resource_row(r.row, r.projects)
}

/// A result (成果).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ResultItem {
    pub project: Uuid,
    pub project_name: String,
    pub delivered: String,
    /// People served.
    pub people: i64,
    pub photos: i64,
    /// The beneficiaries' rating, 1–5.
    pub rating: Option<i64>,
    pub recorded_at: String,
}

fn result_item(r: ResultRow, name: String) -> ResultItem {
    ResultItem {
        project: r.project_id,
        project_name: name,
        delivered: r.delivered,
        people: r.people,
        photos: r.photos,
        rating: r.rating,
        recorded_at: rfc3339_ms(r.recorded_at),
    }
}

/// A project (项目) with the needs it answers, the resources it uses and its result.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProjectItem {
    pub id: Uuid,
    pub grid: String,
    pub name: String,
    pub owner: String,
    pub starts_on: String,
    pub ends_on: String,
    pub needs: Vec<NeedItem>,
    pub resources: Vec<ResourceItem>,
    pub result: Option<ResultItem>,
}

fn project_item(j: Project) -> ProjectItem {
    let ProjectRow {
        id,
        grid_code,
        name,
        owner,
        starts_on,
        ends_on,
        ..
    } = j.row;
    ProjectItem {
        needs: j.needs.into_iter().map(need_item).collect(),
        resources: j.resources.into_iter().map(|r| resource_row(r, vec![id])).collect(),
        result: j.result.map(|r| result_item(r, name.clone())),
        id,
        grid: grid_code,
        name,
        owner,
        starts_on,
        ends_on,
    }
}

#[utoipa::path(get, path = "/api/v1/needs", tag = "services", params(ListQuery),
    responses((status = 200, body = Paged<NeedItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn needs(State(s): State<ServicesState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<NeedItem>>> {
    let (root, limit, offset) = q.read(&p)?;
    let (items, total) = service::needs(&s.db, &p.district, &root, limit, offset).await?;
    Ok(Json(Paged {
        items: items.into_iter().map(need_item).collect(),
        total,
    }))
}

#[utoipa::path(get, path = "/api/v1/resources", tag = "services", params(ListQuery),
    responses((status = 200, body = Paged<ResourceItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resources(State(s): State<ServicesState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<ResourceItem>>> {
    let (root, limit, offset) = q.read(&p)?;
    let (items, total) = service::resources(&s.db, &p.district, &root, limit, offset).await?;
    Ok(Json(Paged {
        items: items.into_iter().map(resource_item).collect(),
        total,
    }))
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "services", params(ListQuery),
    responses((status = 200, body = Paged<ProjectItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn projects(State(s): State<ServicesState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<ProjectItem>>> {
    let (root, limit, offset) = q.read(&p)?;
    let (items, total) = service::projects(&s.db, &p.district, &root, limit, offset).await?;
    Ok(Json(Paged {
        items: items.into_iter().map(project_item).collect(),
        total,
    }))
}

#[utoipa::path(get, path = "/api/v1/results", tag = "services", params(ListQuery),
    responses((status = 200, body = Paged<ResultItem>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn results(State(s): State<ServicesState>, p: Principal, Query(q): Query<ListQuery>) -> AppResult<Json<Paged<ResultItem>>> {
    let (root, limit, offset) = q.read(&p)?;
    let (items, total) = service::results(&s.db, &p.district, &root, limit, offset).await?;
    Ok(Json(Paged {
        items: items.into_iter().map(|(r, j)| result_item(r, j.name)).collect(),
        total,
    }))
}
