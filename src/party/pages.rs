//! Party pages (党建): the hub (staff: organisations and members of their area with report-in
//! status, model households to review; a department: its members' report-in), a member's phone
//! page (我的党员: report-in, posts, service and the form to add one, assigned compound), a branch's
//! page, and the consented posts and model households on the compound's public page.

use crate::web::pages::back_to as back;
use std::future::Future;
use std::pin::Pin;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::PartyState;
use super::api::{self, Member, ModelHousehold, Org, PostView, Service};
use super::rules;
use super::service::{self, Acting, NewService, Review};
use super::store;
use crate::auth::{Capability, Role};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::GridRow;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, page_number, pager};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<PartyState> {
    Router::new()
        .route("/console/party", get(hub))
        .route("/console/party/me", get(me_page))
        .route("/console/party/me/service", post(add_my_service))
        .route("/console/party/orgs/{id}", get(org_page))
        .route("/console/party/models/{id}/review", post(review_model))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    page: Option<i64>,
    mpage: Option<i64>,
    status: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "party.html")]
struct HubPage {
    chrome: Chrome,
    notice: String,
    error: String,
    /// Grid staff: the area's organisations and members.
    staff: bool,
    orgs: Vec<Org>,
    org_total: i64,
    org_pager: String,
    members: Vec<Member>,
    member_total: i64,
    member_pager: String,
    /// (code, label, on) of the member filter.
    filters: Vec<(&'static str, &'static str, bool)>,
    /// The member ledger with the list's filter (党员台账).
    export_href: String,
    /// A department's own members (its handler).
    unit_name: String,
    unit_counts: (i64, i64),
    /// Model households waiting for review (community or above).
    reviews: bool,
    nominated: Vec<ModelHousehold>,
    year: i64,
}

async fn hub(State(s): State<PartyState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let a = Acting::of(&s.db, p).await?;
    let staff = p.has(Capability::ReadRegistry);
    let units = a.handler_units();
    if !staff && units.is_empty() {
        if p.posts.iter().any(|x| x.role == Role::Resident) {
            return Ok(Redirect::to("/console/party/me").into_response());
        }
        return Err(AppError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", "您的岗位不使用党建").into());
    }
    let now = now_ms();
    let since = service::year_window(now);
    let status = q.status.as_deref().unwrap_or("");
    let reported = match status {
        "reported" => Some(true),
        "unreported" => Some(false),
        _ => None,
    };
    let cadre = (status == "cadre").then_some(true);
    let (mut orgs, mut org_total, mut org_pager) = (Vec::new(), 0, String::new());
    let (mut unit_name, mut unit_counts) = (String::new(), (0, 0));
    let mpage = page_number(q.mpage);
    let suffix = if status.is_empty() {
        String::new()
    } else {
        format!("?status={status}")
    };
    let (root, unit) = if staff {
        let root = service::list_root(p, None)?;
        let page = page_number(q.page);
        let (rows, t) = store::orgs_in(&s.db, &p.district, &root, None, 20, (page - 1) * 20).await?;
        org_total = t;
        org_pager = pager("/console/party", page, 20, t);
        orgs = rows.into_iter().map(api::org_view).collect();
        (Some(root), None)
    } else {
        let u = units[0];
        unit_name = crate::registry::units::get(&s.db, u).await?.map(|x| x.name).unwrap_or_default();
        unit_counts = store::unit_counts(&s.db, u).await?;
        (None, Some(u))
    };
    let (rows, member_total) = store::members(
        &s.db,
        &store::MemberFilter {
            district: &p.district,
            root: root.as_deref(),
            unit,
            org: None,
            reported,
            cadre,
            since: &since,
            limit: 20,
            offset: (mpage - 1) * 20,
        },
    )
    .await?;
    let mut export = vec![match status {
        "reported" | "unreported" => format!("status={status}"),
        "cadre" => "cadre=true".to_string(),
        _ => String::new(),
    }];
    if let Some(u) = unit {
        export.push(format!("unit={u}"));
    }
    export.retain(|x| !x.is_empty());
    let export_href = match export.join("&") {
        q if q.is_empty() => "/api/v1/exports/party_members.xlsx".to_string(),
        q => format!("/api/v1/exports/party_members.xlsx?{q}"),
    };
    let member_pager = pager(&format!("/console/party{suffix}"), mpage, 20, member_total).replace("page=", "mpage=");
    let reviews = p.has(Capability::ManageGrid);
    let year = api::this_year();
    let nominated = match (&root, reviews) {
        (Some(r), true) => store::models_in(&s.db, &p.district, r, year, Some("nominated"), 20, 0)
            .await?
            .0
            .into_iter()
            .map(api::model_view)
            .collect(),
        _ => Vec::new(),
    };
    let filters = [
        ("", "全部"),
        ("reported", "已报到"),
        ("unreported", "未报到"),
        ("cadre", "下沉干部"),
    ]
    .into_iter()
    .map(|(code, label)| (code, label, code == status))
    .collect();
    Ok(HubPage {
        chrome: Chrome::new(&c, "党建", "party"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        staff,
        orgs,
        org_total,
        org_pager,
        members: rows.into_iter().map(|m| api::member_view(m, now)).collect(),
        member_total,
        member_pager,
        filters,
        export_href,
        unit_name,
        unit_counts,
        reviews,
        nominated,
        year,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "party_me.html")]
struct MePage {
    chrome: Chrome,
    notice: String,
    error: String,
    member: Option<Member>,
    posts: Vec<PostView>,
    service: Vec<Service>,
    service_total: i64,
    today: String,
    /// The compound branch this member leads as its secretary.
    branch: Option<(Uuid, String)>,
}

async fn me_page(State(s): State<PartyState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    if !p.posts.iter().any(|x| x.role == Role::Resident) {
        return Ok(Redirect::to("/console/party").into_response());
    }
    let a = Acting::of(&s.db, p).await?;
    let branch: Option<(Uuid, String)> = crate::on_pool!(&s.db, |pool| sqlx::query_as::<_, (Uuid, String)>(
        "SELECT id, name FROM party_orgs WHERE secretary_user_id = $1 ORDER BY created_at LIMIT 1"
    )
    .bind(p.user_id)
    .fetch_optional(pool)
    .await)?;
    let (member, posts, service, service_total) = match a.member {
        Some(m) => {
            let d = api::member_detail(&s, m).await?;
            (Some(d.member), d.posts, d.service, d.service_total)
        }
        None => (None, Vec::new(), Vec::new(), 0),
    };
    Ok(MePage {
        chrome: Chrome::new(&c, "我的党员身份", "party"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        member,
        posts,
        service,
        service_total,
        today: service::today(),
        branch,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct ServiceForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    served_on: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    what: String,
}

async fn add_my_service(State(s): State<PartyState>, c: Console, Form(f): Form<ServiceForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let Some(m) = a.member.as_ref() else {
        return Err(AppError::not_found("您的党员信息").into());
    };
    let n = NewService {
        served_on: f.served_on,
        hours: serde_json::Value::String(f.hours),
        what: f.what,
        activity: None,
        case: None,
    };
    let r = service::add_service(&s.db, &a, m.id, &n).await.map(|_| "服务记录已保存");
    back("/console/party/me", r)
}

#[derive(Template, WebTemplate)]
#[template(path = "party_org.html")]
struct OrgPage {
    chrome: Chrome,
    org: Org,
    parent: Option<(Uuid, String)>,
    children: Vec<Org>,
    members: Vec<Member>,
    posts: Vec<PostView>,
    service: Vec<Service>,
}

async fn org_page(State(s): State<PartyState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    let a = Acting::of(&s.db, &c.principal).await?;
    let o = service::org_for(&s.db, &a, id).await?;
    let parent = match o.parent_id {
        Some(pid) => store::org(&s.db, pid).await?.filter(|x| a.reads_org(x)).map(|x| (x.id, x.name)),
        None => None,
    };
    let d = api::org_detail(&s, &a, o).await?;
    Ok(OrgPage {
        chrome: Chrome::new(&c, d.org.name.clone(), "party"),
        org: d.org,
        parent,
        children: d.children,
        members: d.members_list,
        posts: d.posts,
        service: d.service,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct ReviewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn review_model(State(s): State<PartyState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ReviewForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let r = service::review(
        &s.db,
        &a,
        id,
        &Review {
            decision: f.decision,
            reason: Some(f.reason),
        },
    )
    .await
    .map(|_| "审核结果已保存");
    back("/console/party", r)
}

/// The party's panel on the public grid page of a compound or building: members shown with their
/// posts (亮身份, with consent) and the newest year's published model households.
#[derive(Template)]
#[template(path = "party_public.html")]
struct PublicPanel {
    posts: Vec<(String, &'static str, String)>,
    models: Vec<(i64, String, String)>,
}

pub struct PublicPosts;

impl crate::cases::hooks::PublicSection for PublicPosts {
    fn render<'a>(&'a self, db: &'a Db, g: &'a GridRow) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>> {
        Box::pin(async move {
            if g.level < 4 {
                return Ok(None);
            }
            let compound = &g.code[..crate::grid::rules::code_len(4)];
            let now = now_ms();
            let posts: Vec<_> = store::posts_in(db, &g.district, compound, true, 100)
                .await?
                .into_iter()
                .filter(|p| rules::shown_publicly(p.consent, p.ended_at, now))
                .map(|p| (p.member_name, rules::post_label(&p.post).unwrap_or("岗位"), p.grid_name))
                .collect();
            let models: Vec<_> = store::published_in(db, &g.district, compound, 50)
                .await?
                .into_iter()
                .map(|x| (x.year, x.member_name, short_address(&x.address)))
                .collect();
            if posts.is_empty() && models.is_empty() {
                return Ok(None);
            }
            PublicPanel { posts, models }.render().map(Some).map_err(|_| AppError::internal())
        })
    }
}

/// An address without its room: the building and unit are public, the door is not.
fn short_address(a: &str) -> String {
    match a.rfind("单元") {
        Some(i) => a[..i + "单元".len()].to_string(),
        None => a.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_addresses_stop_at_the_unit() {
        assert_eq!(super::short_address("幸福小区1号楼2单元301"), "幸福小区1号楼2单元");
        assert_eq!(super::short_address("幸福小区1号楼"), "幸福小区1号楼");
    }
}
