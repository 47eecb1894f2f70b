//! The volunteer's home on the phone (我的志愿服务): hours, points, teams, upcoming activities,
//! check-in by code; and registering as a volunteer.

use super::{ActivityView, CheckForm, EntryView, SignupView, activity_view, check, entries_of, hours, in_place, me, signup_label, when};
use crate::auth::Role;
use crate::db::now_ms;
use crate::error::AppError;
use crate::volunteers::VolunteersState;
use crate::volunteers::activities::{self, ActivityFilter, ActivityRow};
use crate::volunteers::store::{self};
use crate::web::pages::{Chrome, PageResult};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_home.html")]
struct HomePage {
    chrome: Chrome,
    id: Uuid,
    name: String,
    hours: String,
    balance: i64,
    teams: Vec<String>,
    leads: bool,
    attended: i64,
    upcoming: Vec<ActivityView>,
    signups: Vec<SignupView>,
    entries: Vec<EntryView>,
    code: String,
    error: Option<String>,
}

async fn render_home(s: &VolunteersState, c: &Console, code: &str, error: Option<AppError>) -> PageResult {
    let v = me(s, c).await?;
    let now = now_ms();
    let teams = store::teams_of(&s.db, v.id).await?;
    let mine = activities::signups_of_volunteer(&s.db, v.id, false, 50).await?;
    // Upcoming: the community's activities and those of my teams, soonest first.
    let community = v.grid_code.get(..12).unwrap_or(&v.grid_code).to_string();
    let mut upcoming: Vec<ActivityRow> = Vec::new();
    let mut filters = vec![ActivityFilter {
        district: &v.district,
        grid: Some(&community),
        from: Some(now),
        limit: 20,
        ..Default::default()
    }];
    for (t, _) in &teams {
        filters.push(ActivityFilter {
            district: &v.district,
            team: Some(*t),
            from: Some(now),
            limit: 10,
            ..Default::default()
        });
    }
    for f in &filters {
        for a in activities::list(&s.db, f).await?.0 {
            if !upcoming.iter().any(|x| x.id == a.id) {
                upcoming.push(a);
            }
        }
    }
    upcoming.sort_by_key(|a| (a.starts_at, a.id));
    upcoming.truncate(20);
    let upcoming = upcoming
        .iter()
        .map(|a| activity_view(a, mine.iter().find(|(m, _)| m.activity_id == a.id).map(|x| &x.0), now))
        .collect();
    let (entries, _) = entries_of(s, &v, 10, 0).await?;
    let leads = !store::teams_led_by(&s.db, v.id).await?.is_empty();
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = HomePage {
        chrome: Chrome::new(c, "我的志愿服务", "volunteer"),
        id: v.id,
        name: v.name.clone(),
        hours: hours(v.minutes),
        balance: v.balance,
        teams: teams.into_iter().map(|t| t.1).collect(),
        leads,
        attended: activities::attended_count(&s.db, v.id).await?,
        upcoming,
        signups: mine
            .iter()
            .take(20)
            .map(|(m, a)| SignupView {
                activity: a.id,
                title: a.title.clone(),
                time: when(a.starts_at),
                status: signup_label(m),
                hours: hours(m.minutes),
                points: m.points,
            })
            .collect(),
        entries,
        code: code.to_string(),
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

pub(super) async fn home(State(s): State<VolunteersState>, c: Console) -> PageResult {
    // A resident who does not volunteer yet is offered to register (网上注册) rather than refused.
    let is_resident = c.principal.posts.iter().any(|p| p.role == Role::Resident);
    if is_resident && store::volunteer_of_user(&s.db, c.principal.user_id).await?.is_none() {
        let pending = store::link_requested_by_user(&s.db, c.principal.user_id).await?;
        return render_register_with(&c, &RegisterForm::default(), None, pending.map(|v| v.name), StatusCode::OK);
    }
    render_home(&s, &c, "", None).await
}

#[derive(Template, WebTemplate)]
#[template(path = "volunteer_register.html")]
struct RegisterPage {
    chrome: Chrome,
    name: String,
    id_number: String,
    error: Option<String>,
    /// The name on the record this account asked to be linked to, while the community checks.
    pending: Option<String>,
}

#[derive(Deserialize, Default)]
pub(super) struct RegisterForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
}

fn render_register(c: &Console, f: &RegisterForm, error: Option<String>, status: StatusCode) -> PageResult {
    render_register_with(c, f, error, None, status)
}

fn render_register_with(c: &Console, f: &RegisterForm, error: Option<String>, pending: Option<String>, status: StatusCode) -> PageResult {
    let page = RegisterPage {
        chrome: Chrome::new(c, "登记成为志愿者", "volunteer"),
        name: f.name.clone(),
        id_number: f.id_number.clone(),
        error,
        pending,
    };
    Ok((status, page).into_response())
}

/// The resident registers themself, by the name and ID number the registry holds for them.
pub(super) async fn register(State(s): State<VolunteersState>, c: Console, Form(f): Form<RegisterForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let p = &c.principal;
    let done = async {
        let r = crate::volunteers::service::resident_of_self(&s, p, &f.id_number, &f.name).await?;
        store::register(&s.db, p.actor(), &r, Some(p.user_id), store::RegisteredVia::SelfOnline, None).await
    }
    .await;
    match done {
        Ok(_) => Ok(Redirect::to("/console/volunteer").into_response()),
        Err(e) if e.status == StatusCode::NOT_FOUND => render_register(
            &c,
            &f,
            Some("未找到与该姓名和身份证号相符的本楼居民，请核对，或到所在社区登记".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) if in_place(&e) => render_register(&c, &f, Some(e.message), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn check_by_code(State(s): State<VolunteersState>, c: Console, Form(f): Form<CheckForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let v = me(&s, &c).await?;
    if f.code.trim().is_empty() {
        return render_home(
            &s,
            &c,
            &f.code,
            Some(AppError::invalid("code_required", "请输入活动现场公布的签到码")),
        )
        .await;
    }
    // Matched among the activities I signed up for only (a code is six characters and not
    // unique across the district), and wrong codes count against me (CodeGuard).
    let picked = s
        .codes
        .guarded(&v, async {
            for a in activities::open_with_code(&s.db, &v.district, &f.code, now_ms()).await? {
                if activities::signup(&s.db, a.id, v.id).await?.is_some() {
                    return Ok(a);
                }
            }
            Err(AppError::invalid(
                "wrong_code",
                "签到码不正确，或您未报名该活动、不在签到时间内（开始前2小时至结束）。未报名的请先到活动页报名。",
            ))
        })
        .await;
    let a = match picked {
        Ok(a) => a,
        Err(e) if in_place(&e) => return render_home(&s, &c, &f.code, Some(e)).await,
        Err(e) => return Err(e.into()),
    };
    let a = &a;
    match check(&s, &c, a, &v, &f).await {
        Ok(done) => Ok(Redirect::to(&format!("/console/volunteer/activities/{}?done={done}", a.id)).into_response()),
        Err(e) if in_place(&e) => render_home(&s, &c, &f.code, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}
