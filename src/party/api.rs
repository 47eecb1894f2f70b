//! Party building API: organisations, members with report-in and assignment, posts and consent,
//! service records, the member's own view, model households.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::PartyState;
use super::rules::{self, ModelStatus, ReportStatus};
use super::service::{self, Acting, Assign, NewMember, NewOrg, NewPost, NewService, Nominate, Publish, ReportIn, Review};
use super::store::{self, MemberRow, ModelRow, OrgRow, PostRow, ServiceRow};
use crate::auth::{Capability, Principal, Role};
use crate::db::now_ms;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::time::rfc3339_ms;
use crate::web::api::{PageQuery, Paged};
use crate::web::extract::{Json, Path, Query};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Org {
    pub id: Uuid,
    pub parent: Option<Uuid>,
    pub kind: String,
    pub kind_label: &'static str,
    pub name: String,
    pub grid: Option<String>,
    pub unit: Option<Uuid>,
    /// The node's or the unit's name.
    pub place: String,
    pub secretary: String,
    pub members: i64,
    /// A unit's organisation: the community or compound it reported to (双报到), and when.
    pub report_grid: Option<String>,
    pub reported_on: Option<String>,
}

pub fn org_view(o: OrgRow) -> Org {
    Org {
        id: o.id,
        parent: o.parent_id,
        kind_label: rules::org_kind_label(&o.kind),
        kind: o.kind,
        name: o.name,
        grid: o.grid_code,
        unit: o.unit_id,
        place: o.place,
        secretary: o.secretary,
        members: o.members,
        report_grid: o.report_grid,
        reported_on: o.reported_on,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Member {
    pub id: Uuid,
    /// resident or in_service
    pub kind: String,
    pub name: String,
    /// Masked: 138****5678.
    pub phone: String,
    pub resident: Option<Uuid>,
    pub unit: Option<Uuid>,
    pub unit_name: String,
    pub org: Option<Uuid>,
    pub org_name: String,
    /// Where a resident member lives (their building).
    pub grid: Option<String>,
    /// 下沉党员干部
    pub cadre: bool,
    pub report_status: ReportStatus,
    pub report_label: &'static str,
    pub report_grid: Option<String>,
    pub report_name: String,
    pub reported_on: Option<String>,
    /// 分包: the compound or building the member answers for.
    pub assigned_grid: Option<String>,
    pub assigned_name: String,
    /// Hours of service in the last 365 days.
    pub hours: f64,
}

pub fn member_view(m: MemberRow, now: i64) -> Member {
    let status = rules::report_status(m.kind == "in_service", m.reported_on.as_deref(), m.created_at, now);
    Member {
        id: m.id,
        kind: m.kind,
        name: m.name,
        phone: m.phone_masked,
        resident: m.resident_id,
        unit: m.unit_id,
        unit_name: m.unit_name,
        org: m.org_id,
        org_name: m.org_name,
        grid: m.grid_code,
        cadre: m.cadre,
        report_status: status,
        report_label: status.label(),
        report_grid: m.report_grid,
        report_name: m.report_name,
        reported_on: m.reported_on,
        assigned_grid: m.assigned_grid,
        assigned_name: m.assigned_name,
        hours: m.minutes as f64 / 60.0,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PostView {
    pub id: Uuid,
    pub member: Uuid,
    pub member_name: String,
    pub post: String,
    pub post_label: &'static str,
    pub grid: String,
    pub grid_name: String,
    pub consent: bool,
    /// Shown on the compound's public page now.
    pub public: bool,
    pub started_at: String,
    pub ended_at: Option<String>,
}

pub fn post_view(p: PostRow, now: i64) -> PostView {
    PostView {
        id: p.id,
        member: p.member_id,
        member_name: p.member_name,
        post_label: rules::post_label(&p.post).unwrap_or("岗位"),
        post: p.post,
        grid: p.grid_code,
        grid_name: p.grid_name,
        consent: p.consent,
        public: rules::shown_publicly(p.consent, p.ended_at, now),
        started_at: rfc3339_ms(p.started_at),
        ended_at: p.ended_at.map(rfc3339_ms),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Service {
    pub id: Uuid,
    pub member: Uuid,
    pub member_name: String,
    pub grid: String,
    pub grid_name: String,
    pub served_on: String,
    pub hours: f64,
    pub what: String,
    pub activity: Option<Uuid>,
    pub activity_title: String,
    pub case: Option<Uuid>,
    pub case_code: String,
}

pub fn service_view(s: ServiceRow) -> Service {
    Service {
        id: s.id,
        member: s.member_id,
        member_name: s.member_name,
        grid: s.grid_code,
        grid_name: s.grid_name,
        served_on: s.served_on,
        hours: s.minutes as f64 / 60.0,
        what: s.what,
        activity: s.activity_id,
        activity_title: s.activity_title,
        case: s.case_id,
        case_code: s.case_code,
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ModelHousehold {
    pub id: Uuid,
    pub year: i64,
    pub household: Uuid,
    pub address: String,
    pub member: Uuid,
    pub member_name: String,
    pub grid: String,
    pub status: ModelStatus,
    pub status_label: &'static str,
    /// Why it was refused.
    pub reason: String,
}

pub fn model_view(x: ModelRow) -> ModelHousehold {
    let status = ModelStatus::parse(&x.status).unwrap_or(ModelStatus::Nominated);
    ModelHousehold {
        id: x.id,
        year: x.year,
        household: x.household_id,
        address: x.address,
        member: x.member_id,
        member_name: x.member_name,
        grid: x.grid_code,
        status,
        status_label: status.label(),
        reason: x.reason,
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct OrgQuery {
    /// A grid node; by default the caller's own.
    pub grid: Option<String>,
    /// district_committee, working_committee, committee, general_branch, branch
    pub kind: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

fn limits(page: Option<i64>, per_page: Option<i64>) -> AppResult<(i64, i64)> {
    PageQuery { page, per_page }.limits()
}

#[utoipa::path(get, path = "/api/v1/party/orgs", tag = "party", params(OrgQuery),
    responses((status = 200, body = Paged<Org>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_orgs(State(s): State<PartyState>, p: Principal, Query(q): Query<OrgQuery>) -> AppResult<Json<Paged<Org>>> {
    let (limit, offset) = limits(q.page, q.per_page)?;
    let root = service::list_root(&p, q.grid.as_deref())?;
    let kind = q.kind.as_deref().filter(|k| !k.is_empty());
    if kind.is_some_and(|k| !rules::ORG_KINDS.iter().any(|x| x.0 == k)) {
        return Err(AppError::invalid("invalid_kind", "没有这个组织类别"));
    }
    let (rows, total) = store::orgs_in(&s.db, &p.district, &root, kind, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.into_iter().map(org_view).collect(),
        total,
    }))
}

#[utoipa::path(post, path = "/api/v1/party/orgs", tag = "party", request_body = NewOrg,
    responses((status = 201, body = Org), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_org(State(s): State<PartyState>, p: Principal, Json(n): Json<NewOrg>) -> AppResult<(StatusCode, Json<Org>)> {
    let a = Acting::of(&s.db, &p).await?;
    let o = service::create_org(&s.db, &a, &n).await?;
    Ok((StatusCode::CREATED, Json(org_view(o))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrgDetail {
    #[serde(flatten)]
    pub org: Org,
    pub children: Vec<Org>,
    /// The first 200 members.
    pub members_list: Vec<Member>,
    /// Posts held now at the organisation's compound (a compound branch's).
    pub posts: Vec<PostView>,
    /// Its members' newest service records (its work).
    pub service: Vec<Service>,
}

pub async fn org_detail(s: &PartyState, a: &Acting<'_>, o: OrgRow) -> AppResult<OrgDetail> {
    let now = now_ms();
    let since = service::year_window(now);
    let (members, _) = store::members(
        &s.db,
        &store::MemberFilter {
            district: &o.district,
            root: None,
            unit: None,
            org: Some(o.id),
            reported: None,
            cadre: None,
            since: &since,
            limit: 200,
            offset: 0,
        },
    )
    .await?;
    let posts = match &o.grid_code {
        Some(g) if g.len() >= crate::grid::rules::code_len(4) => store::posts_in(&s.db, &o.district, g, false, 200).await?,
        _ => Vec::new(),
    };
    let children = store::children(&s.db, o.id)
        .await?
        .into_iter()
        .filter(|c| a.reads_org(c))
        .map(org_view)
        .collect();
    Ok(OrgDetail {
        children,
        members_list: members.into_iter().map(|m| member_view(m, now)).collect(),
        posts: posts.into_iter().map(|p| post_view(p, now)).collect(),
        service: store::service_of_org(&s.db, o.id, 50)
            .await?
            .into_iter()
            .map(service_view)
            .collect(),
        org: org_view(o),
    })
}

#[utoipa::path(get, path = "/api/v1/party/orgs/{id}", tag = "party", params(("id" = Uuid, Path)),
    responses((status = 200, body = OrgDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_org(State(s): State<PartyState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<OrgDetail>> {
    let a = Acting::of(&s.db, &p).await?;
    let o = service::org_for(&s.db, &a, id).await?;
    Ok(Json(org_detail(&s, &a, o).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct MemberQuery {
    /// Members living, reported or assigned under this node.
    pub grid: Option<String>,
    /// A unit's in-service members (its department handler, or staff over the district).
    pub unit: Option<Uuid>,
    /// reported, unreported
    pub status: Option<String>,
    /// true: sunk-down cadres only.
    pub cadre: Option<bool>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

/// The member list's subtree and report-in filter from its query, checked as the list checks
/// them (the list and its ledger both read them here).
pub async fn member_filter(db: &crate::db::Db, p: &Principal, q: &MemberQuery) -> AppResult<(Option<String>, Option<bool>)> {
    let a = Acting::of(db, p).await?;
    let reported = match q.status.as_deref().filter(|x| !x.is_empty()) {
        None => None,
        Some("reported") => Some(true),
        Some("unreported") => Some(false),
        Some(_) => return Err(AppError::invalid("invalid_status", "状态应为 reported 或 unreported")),
    };
    let root = match q.unit {
        Some(u) => {
            if !a.at_unit(u) && !p.can(Capability::ReadRegistry, &p.district) {
                return Err(if a.handler_units().is_empty() && !p.has(Capability::ReadRegistry) {
                    AppError::forbidden_to("该角色不能查看党员")
                } else {
                    AppError::not_found("该单位")
                });
            }
            None
        }
        None => Some(service::list_root(p, q.grid.as_deref())?),
    };
    Ok((root, reported))
}

#[utoipa::path(get, path = "/api/v1/party/members", tag = "party", params(MemberQuery),
    responses((status = 200, body = Paged<Member>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_members(State(s): State<PartyState>, p: Principal, Query(q): Query<MemberQuery>) -> AppResult<Json<Paged<Member>>> {
    let (limit, offset) = limits(q.page, q.per_page)?;
    let (root, reported) = member_filter(&s.db, &p, &q).await?;
    let now = now_ms();
    let since = service::year_window(now);
    let (rows, total) = store::members(
        &s.db,
        &store::MemberFilter {
            district: &p.district,
            root: root.as_deref(),
            unit: q.unit,
            org: None,
            reported,
            cadre: q.cadre.filter(|c| *c),
            since: &since,
            limit,
            offset,
        },
    )
    .await?;
    Ok(Json(Paged {
        items: rows.into_iter().map(|m| member_view(m, now)).collect(),
        total,
    }))
}

#[utoipa::path(post, path = "/api/v1/party/members", tag = "party", request_body = NewMember,
    responses((status = 201, body = Member), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_member(State(s): State<PartyState>, p: Principal, Json(n): Json<NewMember>) -> AppResult<(StatusCode, Json<Member>)> {
    let a = Acting::of(&s.db, &p).await?;
    let m = service::create_member(&s.db, &a, &n).await?;
    Ok((StatusCode::CREATED, Json(member_view(m, now_ms()))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberDetail {
    #[serde(flatten)]
    pub member: Member,
    pub posts: Vec<PostView>,
    /// The newest 50 service records.
    pub service: Vec<Service>,
    pub service_total: i64,
}

pub async fn member_detail(s: &PartyState, m: MemberRow) -> AppResult<MemberDetail> {
    let now = now_ms();
    let posts = store::posts_of(&s.db, m.id).await?.into_iter().map(|p| post_view(p, now)).collect();
    let (service, total) = store::service_of(&s.db, m.id, 50, 0).await?;
    Ok(MemberDetail {
        member: member_view(m, now),
        posts,
        service: service.into_iter().map(service_view).collect(),
        service_total: total,
    })
}

#[utoipa::path(get, path = "/api/v1/party/members/{id}", tag = "party", params(("id" = Uuid, Path)),
    responses((status = 200, body = MemberDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_member(State(s): State<PartyState>, p: Principal, Path(id): Path<Uuid>) -> AppResult<Json<MemberDetail>> {
    let a = Acting::of(&s.db, &p).await?;
    let m = service::member_for(&s.db, &a, id).await?;
    Ok(Json(member_detail(&s, m).await?))
}

#[utoipa::path(post, path = "/api/v1/party/members/{id}/report", tag = "party", params(("id" = Uuid, Path)), request_body = ReportIn,
    responses((status = 200, body = Member), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report_in(
    State(s): State<PartyState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(r): Json<ReportIn>,
) -> AppResult<Json<Member>> {
    let a = Acting::of(&s.db, &p).await?;
    let m = service::report_in(&s.db, &a, id, &r).await?;
    Ok(Json(member_view(m, now_ms())))
}

#[utoipa::path(post, path = "/api/v1/party/members/{id}/assign", tag = "party", params(("id" = Uuid, Path)), request_body = Assign,
    responses((status = 200, body = Member), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn assign(State(s): State<PartyState>, p: Principal, Path(id): Path<Uuid>, Json(r): Json<Assign>) -> AppResult<Json<Member>> {
    let a = Acting::of(&s.db, &p).await?;
    let m = service::assign(&s.db, &a, id, &r).await?;
    Ok(Json(member_view(m, now_ms())))
}

#[utoipa::path(post, path = "/api/v1/party/members/{id}/posts", tag = "party", params(("id" = Uuid, Path)), request_body = NewPost,
    responses((status = 201, body = PostView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn take_post(
    State(s): State<PartyState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewPost>,
) -> AppResult<(StatusCode, Json<PostView>)> {
    let a = Acting::of(&s.db, &p).await?;
    let row = service::take_post(&s.db, &a, id, &n).await?;
    Ok((StatusCode::CREATED, Json(post_view(row, now_ms()))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Consent {
    pub consent: bool,
}

#[utoipa::path(post, path = "/api/v1/party/posts/{id}/consent", tag = "party", params(("id" = Uuid, Path)), request_body = Consent,
    responses((status = 200, body = PostView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_consent(
    State(s): State<PartyState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(c): Json<Consent>,
) -> AppResult<Json<PostView>> {
    let a = Acting::of(&s.db, &p).await?;
    let row = service::set_consent(&s.db, &a, id, c.consent).await?;
    Ok(Json(post_view(row, now_ms())))
}

#[utoipa::path(post, path = "/api/v1/party/members/{id}/service", tag = "party", params(("id" = Uuid, Path)), request_body = NewService,
    responses((status = 201, body = Service), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_service(
    State(s): State<PartyState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(n): Json<NewService>,
) -> AppResult<(StatusCode, Json<Service>)> {
    let a = Acting::of(&s.db, &p).await?;
    let row = service::add_service(&s.db, &a, id, &n).await?;
    Ok((StatusCode::CREATED, Json(service_view(row))))
}

#[utoipa::path(get, path = "/api/v1/party/me", tag = "party",
    responses((status = 200, body = MemberDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(State(s): State<PartyState>, p: Principal) -> AppResult<Json<MemberDetail>> {
    if !p.posts.iter().any(|x| x.role == Role::Resident) {
        return Err(AppError::forbidden_to("只有居民本人账号有“我的党员”页"));
    }
    let a = Acting::of(&s.db, &p).await?;
    let m = a.member.ok_or_else(|| AppError::not_found("您的党员信息"))?;
    Ok(Json(member_detail(&s, m).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ModelQuery {
    /// By default this year.
    pub year: Option<i64>,
    pub grid: Option<String>,
    /// nominated, approved, refused, published
    pub status: Option<String>,
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/party/model-households", tag = "party", params(ModelQuery),
    responses((status = 200, body = Paged<ModelHousehold>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_models(State(s): State<PartyState>, p: Principal, Query(q): Query<ModelQuery>) -> AppResult<Json<Paged<ModelHousehold>>> {
    let (limit, offset) = limits(q.page, q.per_page)?;
    let root = service::list_root(&p, q.grid.as_deref())?;
    let year = rules::year(q.year.unwrap_or_else(this_year)).map_err(|e| AppError::invalid("invalid_year", e))?;
    let status = q.status.as_deref().filter(|x| !x.is_empty());
    if status.is_some_and(|x| ModelStatus::parse(x).is_none()) {
        return Err(AppError::invalid(
            "invalid_status",
            "状态应为 nominated、approved、refused 或 published",
        ));
    }
    let (rows, total) = store::models_in(&s.db, &p.district, &root, year, status, limit, offset).await?;
    Ok(Json(Paged {
        items: rows.into_iter().map(model_view).collect(),
        total,
    }))
}

pub fn this_year() -> i64 {
    service::today()[..4].parse().unwrap_or(2026)
}

#[utoipa::path(post, path = "/api/v1/party/model-households", tag = "party", request_body = Nominate,
    responses((status = 201, body = ModelHousehold), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn nominate(State(s): State<PartyState>, p: Principal, Json(n): Json<Nominate>) -> AppResult<(StatusCode, Json<ModelHousehold>)> {
    let a = Acting::of(&s.db, &p).await?;
    let x = service::nominate(&s.db, &a, &n).await?;
    Ok((StatusCode::CREATED, Json(model_view(x))))
}

#[utoipa::path(post, path = "/api/v1/party/model-households/{id}/review", tag = "party", params(("id" = Uuid, Path)), request_body = Review,
    responses((status = 200, body = ModelHousehold), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn review(
    State(s): State<PartyState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Json(r): Json<Review>,
) -> AppResult<Json<ModelHousehold>> {
    let a = Acting::of(&s.db, &p).await?;
    Ok(Json(model_view(service::review(&s.db, &a, id, &r).await?)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Published {
    pub published: u64,
}

#[utoipa::path(post, path = "/api/v1/party/model-households/publish", tag = "party", request_body = Publish,
    responses((status = 200, body = Published), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn publish(State(s): State<PartyState>, p: Principal, Json(r): Json<Publish>) -> AppResult<Json<Published>> {
    let a = Acting::of(&s.db, &p).await?;
    Ok(Json(Published {
        published: service::publish(&s.db, &a, &r).await?,
    }))
}
