//! The community's volunteers: the list, one volunteer's hours and ledger, the printable
//! 志愿服务证明.

use super::{SubNav, subnav};
use crate::auth::Capability;
use crate::db::now_ms;
use crate::volunteers::VolunteersState;
use crate::volunteers::activities::{self};
use crate::volunteers::pages::{EntryView, entries_of, hours, signup_label, when};
use crate::volunteers::service::{scope, visible_volunteer};
use crate::volunteers::store::{self, VolunteerFilter, VolunteerRow};
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageResult, pager, url_encode};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

pub struct VolunteerView {
    id: Uuid,
    name: String,
    grid: String,
    hours: String,
    balance: i64,
    linked: bool,
}

fn volunteer_view(v: &VolunteerRow) -> VolunteerView {
    VolunteerView {
        id: v.id,
        name: v.name.clone(),
        grid: v.grid_code.clone(),
        hours: hours(v.minutes),
        balance: v.balance,
        linked: v.user_id.is_some(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteers.html")]
struct VolunteersPage {
    chrome: Chrome,
    nav: SubNav,
    q: String,
    rows: Vec<VolunteerView>,
    total: i64,
    pager: String,
    /// Accounts waiting for the community to confirm their link (待核实的账号关联): id, name, since.
    requests: Vec<(Uuid, String, String)>,
    /// The Excel ledger of this list, with its search (导出Excel).
    export_href: String,
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    q: Option<String>,
    page: Option<i64>,
}

pub(super) async fn volunteers_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<SearchQuery>) -> PageResult {
    let p = &c.principal;
    let grid = scope(&s, p, None, Capability::ReadVolunteers).await?;
    let page = crate::web::pages::page_number(q.page);
    let per = 30;
    let name = q.q.clone().unwrap_or_default();
    let (rows, total) = store::volunteers(
        &s.db,
        &VolunteerFilter {
            district: &p.district,
            grid: Some(&grid),
            name: Some(name.trim()),
            limit: per,
            offset: (page - 1) * per,
            ..Default::default()
        },
    )
    .await?;
    let requests = if p.can(Capability::ManageVolunteers, &grid) {
        store::link_requests(&s.db, &p.district, &grid, 20)
            .await?
            .into_iter()
            .map(|v| (v.id, v.name, when(v.link_requested_at.unwrap_or_default())))
            .collect()
    } else {
        Vec::new()
    };
    Ok(VolunteersPage {
        requests,
        chrome: Chrome::new(&c, "志愿者", "volunteer"),
        nav: subnav(p, "volunteers"),
        pager: pager(&format!("/console/volunteers?q={}", url_encode(name.trim())), page, per, total),
        export_href: format!("/api/v1/exports/volunteers.xlsx?q={}", url_encode(name.trim())),
        q: name,
        rows: rows.iter().map(volunteer_view).collect(),
        total,
    }
    .into_response())
}

pub struct ServedRow {
    title: String,
    date: String,
    status: &'static str,
    hours: String,
    points: i64,
}

/// An account's request to be linked, as the community sees it.
pub struct LinkRequestView {
    account: String,
    at: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_detail.html")]
struct VolunteerPage {
    chrome: Chrome,
    nav: SubNav,
    v: VolunteerView,
    /// Shown with 同意/不同意 to those who manage the volunteer.
    link_request: Option<LinkRequestView>,
    notice: Option<&'static str>,
    error: Option<String>,
    registered: String,
    teams: Vec<String>,
    served: Vec<ServedRow>,
    attended: i64,
    entries: Vec<EntryView>,
    entries_total: i64,
    pager: String,
}

#[derive(Deserialize)]
pub(super) struct PageQuery {
    page: Option<i64>,
    linked: Option<String>,
}

pub(super) async fn volunteer_page(
    State(s): State<VolunteersState>,
    c: Console,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let notice = match q.linked.as_deref() {
        Some("1") => Some("已同意，账号已关联"),
        Some("0") => Some("已不同意该关联申请"),
        _ => None,
    };
    render_volunteer(&s, &c, id, q.page, notice, None).await
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    csrf: String,
    approve: String,
}

/// 同意/不同意 an account's request to be linked to this volunteer.
pub(super) async fn decide_link(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<LinkForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = visible_volunteer(&s, &c.principal, id).await?;
    if !c.principal.can(Capability::ManageVolunteers, &v.grid_code) {
        return Err(crate::error::AppError::forbidden().into());
    }
    let approve = f.approve == "1";
    match store::decide_link(&s.db, c.principal.actor(), &v, approve).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/volunteers/{id}?linked={}", u8::from(approve))).into_response()),
        Err(e) if e.status == StatusCode::CONFLICT => render_volunteer(&s, &c, id, None, None, Some(e.message)).await,
        Err(e) => Err(e.into()),
    }
}

async fn render_volunteer(
    s: &VolunteersState,
    c: &Console,
    id: Uuid,
    page: Option<i64>,
    notice: Option<&'static str>,
    error: Option<String>,
) -> PageResult {
    let v = visible_volunteer(s, &c.principal, id).await?;
    let link_request = match v.link_requested_by {
        Some(u) if c.principal.can(Capability::ManageVolunteers, &v.grid_code) => {
            let (username, display) = crate::auth::store::names_of(&s.db, u).await?.unwrap_or_default();
            Some(LinkRequestView {
                account: format!("{display}（{username}）"),
                at: when(v.link_requested_at.unwrap_or_default()),
            })
        }
        _ => None,
    };
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let page = crate::web::pages::page_number(page);
    let per = 20;
    let (entries, entries_total) = entries_of(s, &v, per, (page - 1) * per).await?;
    let served = activities::signups_of_volunteer(&s.db, v.id, false, 50)
        .await?
        .into_iter()
        .map(|(x, a)| ServedRow {
            title: a.title,
            date: when(a.starts_at)[..10].to_string(),
            status: signup_label(&x),
            hours: hours(x.minutes),
            points: x.points,
        })
        .collect();
    let html = VolunteerPage {
        chrome: Chrome::new(c, v.name.clone(), "volunteer"),
        nav: subnav(&c.principal, "volunteers"),
        link_request,
        notice,
        error,
        registered: when(v.created_at)[..10].to_string(),
        teams: store::teams_of(&s.db, v.id).await?.into_iter().map(|t| t.1).collect(),
        served,
        attended: activities::attended_count(&s.db, v.id).await?,
        entries,
        entries_total,
        pager: pager(&format!("/console/volunteers/{id}"), page, per, entries_total),
        v: volunteer_view(&v),
    };
    Ok((status, html).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "certificate.html")]
struct CertificatePage {
    chrome: Chrome,
    id: Uuid,
    name: String,
    id_number: String,
    community: String,
    since: String,
    hours: String,
    served: Vec<ServedRow>,
    date: String,
}

/// 志愿服务证明: credited service only, the ID number masked.
pub(super) async fn certificate(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    let v = visible_volunteer(&s, &c.principal, id).await?;
    let id_number = crate::registry::residents::get(&s.db, v.resident_id)
        .await?
        .map(|r| r.id_number)
        .filter(|n| !n.is_empty())
        .map(|n| crate::identity::mask_id_number(&n))
        .unwrap_or_default();
    let community_code = v.grid_code.get(..12).unwrap_or(&v.grid_code);
    let community = crate::grid::store::get(&s.db, community_code)
        .await?
        .map(|g| g.name)
        .unwrap_or_default();
    let served = activities::signups_of_volunteer(&s.db, v.id, true, 1000)
        .await?
        .into_iter()
        .map(|(x, a)| ServedRow {
            title: a.title,
            date: when(x.checked_out_at.unwrap_or(a.starts_at))[..10].to_string(),
            status: signup_label(&x),
            hours: hours(x.minutes),
            points: x.points,
        })
        .collect();
    let today = crate::time::format_ms(now_ms());
    Ok(CertificatePage {
        chrome: Chrome::new(&c, "志愿服务证明", "volunteer"),
        id: v.id,
        name: v.name.clone(),
        id_number,
        community,
        since: format!(
            "{}年{}月{}日",
            &when(v.created_at)[..4],
            &when(v.created_at)[5..7],
            &when(v.created_at)[8..10]
        ),
        hours: hours(v.minutes),
        served,
        date: format!("{}年{}月{}日", &today[..4], &today[5..7], &today[8..10]),
    }
    .into_response())
}
