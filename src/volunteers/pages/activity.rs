//! One activity for a volunteer: sign up, check in and out where it happens.

use super::{ActivityView, CheckForm, CsrfForm, SignupView, activity_view, check, hours, in_place, me, status_label, when};
use crate::db::now_ms;
use crate::error::AppError;
use crate::volunteers::VolunteersState;
use crate::volunteers::activities::{self};
use crate::volunteers::service::{load_activity, may_organise};
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_activity.html")]
struct ActivityPage {
    chrome: Chrome,
    a: ActivityView,
    description: String,
    theme: String,
    mine: Option<SignupView>,
    can_check: bool,
    organiser: bool,
    notice: &'static str,
    code: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

async fn render_activity(
    s: &VolunteersState,
    c: &Console,
    id: Uuid,
    done: Option<&str>,
    code: &str,
    error: Option<AppError>,
) -> PageResult {
    let a = load_activity(s, &c.principal, id).await?;
    let v = me(s, c).await?;
    let now = now_ms();
    let mine = activities::signup(&s.db, a.id, v.id).await?;
    let month = crate::time::month_ms(a.starts_at);
    let theme = activities::themes(&s.db, &a.district, &a.grid_code, Some(&month))
        .await?
        .pop()
        .map(|t| t.title)
        .unwrap_or_default();
    let notice = match done {
        Some("signup") => "报名成功",
        Some("in") => "签到成功，活动结束前请记得签退",
        Some("out") => "签退成功，服务时长和积分已记入",
        _ => "",
    };
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = ActivityPage {
        chrome: Chrome::new(c, a.title.clone(), "volunteer"),
        a: activity_view(&a, mine.as_ref(), now),
        description: a.description.clone(),
        theme,
        can_check: a.status == "open"
            && now >= a.starts_at - 2 * 3_600_000
            && now < a.ends_at
            && mine.as_ref().is_none_or(|m| m.status != "attended"),
        mine: mine.map(|m| SignupView {
            activity: a.id,
            title: a.title.clone(),
            time: when(a.starts_at),
            status: status_label(&m.status),
            hours: hours(m.minutes),
            points: m.points,
        }),
        organiser: may_organise(s, &c.principal, &a).await?,
        notice,
        code: code.to_string(),
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

pub(super) async fn activity_page(
    State(s): State<VolunteersState>,
    c: Console,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    render_activity(&s, &c, id, q.done.as_deref(), "", None).await
}

pub(super) async fn sign_up(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = load_activity(&s, &c.principal, id).await?;
    let v = me(&s, &c).await?;
    match activities::sign_up(&s.db, c.principal.actor(), &a, &v).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/volunteer/activities/{id}?done=signup")).into_response()),
        Err(e) if in_place(&e) => render_activity(&s, &c, id, None, "", Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn check_here(State(s): State<VolunteersState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CheckForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = load_activity(&s, &c.principal, id).await?;
    let v = me(&s, &c).await?;
    match check(&s, &c, &a, &v, &f).await {
        Ok(done) => Ok(Redirect::to(&format!("/console/volunteer/activities/{id}?done={done}")).into_response()),
        Err(e) if in_place(&e) => render_activity(&s, &c, id, None, &f.code, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}
