//! The organiser's pages: a month's activities with 一月一主题 and the publish form, one activity
//! with its check-in code and QR, attendance and 标记出勤.

use super::{SubNav, in_place, subnav};
use crate::auth::{Capability, Principal};
use crate::db::now_ms;
use crate::error::{AppError, AppResult};
use crate::volunteers::VolunteersState;
use crate::volunteers::activities::{self, ActivityFilter, ActivityRow, NewActivityRow};
use crate::volunteers::pages::{check_in_link_for, hours, qr_svg, signup_label, when};
use crate::volunteers::service::{activity_grid, load_activity, load_team, may_organise, parse_time, refuse, scope};
use crate::volunteers::store::{self, TeamRow, VolunteerFilter, VolunteerRow};
use crate::web::extract::Path;
use crate::web::pages::{Chrome, PageResult, url_encode};
use crate::web::session::{Console, check_csrf};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use uuid::Uuid;

/// Who may organise here: staff managing volunteers (at their widest grid), and team leaders
/// (their teams). Refused otherwise, as the API refuses.
pub(super) async fn organiser(s: &VolunteersState, p: &Principal) -> AppResult<(Option<String>, Vec<TeamRow>)> {
    let root = p.roots(Capability::ManageVolunteers).into_iter().next();
    let led = match store::volunteer_of_user(&s.db, p.user_id).await? {
        Some(v) if v.district == p.district => store::teams_led_by(&s.db, v.id).await?,
        _ => Vec::new(),
    };
    if root.is_none() && led.is_empty() {
        return Err(refuse(p, Capability::ManageVolunteers, "志愿活动"));
    }
    Ok((root, led))
}

fn month_bounds(month: &str) -> AppResult<(i64, i64)> {
    if !activities::valid_month(month) {
        return Err(AppError::invalid("invalid_month", "月份格式应为 YYYY-MM"));
    }
    let start = crate::cases::service::parse_day_or_instant(&format!("{month}-01"))?;
    Ok((start, store::month_start(start + 32 * 86_400_000)))
}

pub struct ListRow {
    id: Uuid,
    title: String,
    time: String,
    place: String,
    places: String,
    cancelled: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "activities.html")]
struct ListPage {
    chrome: Chrome,
    nav: SubNav,
    month: String,
    prev: String,
    next: String,
    theme: String,
    can_theme: bool,
    theme_title: String,
    rows: Vec<ListRow>,
    /// Activities in the month beyond those listed.
    more: i64,
    teams: Vec<(Uuid, String, bool)>,
    form: ActivityForm,
    error: Option<String>,
    /// The month's activities ledger (志愿活动台账) with the page's scope.
    export_href: String,
    /// The month's attendance ledger, for staff.
    attendance_href: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub(super) struct ActivityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
pub(super) struct MonthQuery {
    month: Option<String>,
}

pub(super) async fn render_list(
    s: &VolunteersState,
    c: &Console,
    month: Option<&str>,
    form: Option<ActivityForm>,
    theme_title: &str,
    error: Option<AppError>,
) -> PageResult {
    let p = &c.principal;
    let (root, led) = organiser(s, p).await?;
    let now = now_ms();
    let this_month = crate::time::month_ms(now);
    let month = month.filter(|m| activities::valid_month(m)).unwrap_or(&this_month).to_string();
    let (from, to) = month_bounds(&month)?;
    let mut rows: Vec<ActivityRow> = Vec::new();
    let mut filters = Vec::new();
    if let Some(r) = &root {
        filters.push(ActivityFilter {
            district: &p.district,
            grid: Some(r),
            from: Some(from),
            to: Some(to),
            limit: 200,
            ..Default::default()
        });
    }
    for t in &led {
        filters.push(ActivityFilter {
            district: &p.district,
            team: Some(t.id),
            from: Some(from),
            to: Some(to),
            limit: 200,
            ..Default::default()
        });
    }
    let mut more = 0;
    for f in &filters {
        let (found, total) = activities::list(&s.db, f).await?;
        more += (total - found.len() as i64).max(0);
        for a in found {
            if !rows.iter().any(|x| x.id == a.id) {
                rows.push(a);
            }
        }
    }
    rows.sort_by_key(|a| (a.starts_at, a.id));
    let theme_grid = root
        .clone()
        .or_else(|| led.first().map(|t| t.grid_code.clone()))
        .unwrap_or_else(|| p.district.clone());
    let theme = activities::themes(&s.db, &p.district, &theme_grid, Some(&month))
        .await?
        .pop()
        .map(|t| t.title)
        .unwrap_or_default();
    let mut teams = led.clone();
    if let Some(r) = &root {
        for t in store::teams(&s.db, &p.district, Some(r), None, 100, 0).await?.0 {
            if !teams.iter().any(|x| x.id == t.id) {
                teams.push(t);
            }
        }
    }
    let form = form.unwrap_or_else(|| ActivityForm {
        date: crate::time::day_ms(now),
        start: "09:00".into(),
        end: "11:00".into(),
        capacity: "20".into(),
        ..Default::default()
    });
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let period = format!("from={month}-01&to={}-01", crate::time::month_ms(to));
    let export_href = match (&root, led.first()) {
        (Some(r), _) => format!("/api/v1/exports/activities.xlsx?grid={r}&{period}"),
        (None, Some(t)) => format!("/api/v1/exports/activities.xlsx?team={}&{period}", t.id),
        (None, None) => format!("/api/v1/exports/activities.xlsx?{period}"),
    };
    let attendance_href = root.as_ref().map(|r| format!("/api/v1/exports/attendance.xlsx?grid={r}&{period}"));
    let page = ListPage {
        export_href,
        attendance_href,
        chrome: Chrome::new(c, "志愿活动", "volunteer"),
        nav: subnav(p, "activities"),
        prev: crate::time::month_ms(from - 86_400_000),
        next: crate::time::month_ms(to),
        month,
        theme,
        can_theme: root.is_some(),
        theme_title: theme_title.to_string(),
        rows: rows
            .iter()
            .map(|a| ListRow {
                id: a.id,
                title: a.title.clone(),
                time: format!("{} 至 {}", when(a.starts_at), &when(a.ends_at)[11..]),
                place: a.place.clone(),
                places: format!("{}/{}", a.signed_up, a.capacity),
                cancelled: a.status != "open",
            })
            .collect(),
        teams: teams
            .iter()
            .map(|t| (t.id, t.name.clone(), t.id.to_string() == form.team))
            .collect(),
        more,
        form,
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

pub(super) async fn list_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<MonthQuery>) -> PageResult {
    render_list(&s, &c, q.month.as_deref(), None, "", None).await
}

pub(super) async fn create_activity(s: &VolunteersState, c: &Console, f: &ActivityForm) -> AppResult<ActivityRow> {
    let p = &c.principal;
    let team = match f.team.trim() {
        "" => None,
        t => Some(
            load_team(
                s,
                p,
                t.parse::<Uuid>().map_err(|_| AppError::invalid("unknown_team", "请选择队伍"))?,
            )
            .await?,
        ),
    };
    let wanted = Some(f.grid.trim().to_string())
        .filter(|g| !g.is_empty())
        .or_else(|| team.as_ref().map(|t| t.grid_code.clone()));
    let grid = activity_grid(s, p, team.as_ref(), wanted.as_deref()).await?;
    let at = |time: &str| {
        let time = time.trim();
        let secs = if time.len() == 5 { ":00" } else { "" };
        parse_time(&format!("{}T{time}{secs}+08:00", f.date.trim()))
            .map_err(|_| AppError::invalid("invalid_time", "请填写活动日期和开始、结束时间"))
    };
    let capacity = f
        .capacity
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::invalid("invalid_capacity", "人数上限应为1至10000的整数"))?;
    activities::create(
        &s.db,
        p.actor(),
        &NewActivityRow {
            district: &p.district,
            grid_code: &grid,
            team_id: team.as_ref().map(|t| t.id),
            title: &f.title,
            description: &f.description,
            place: &f.place,
            starts_at: at(&f.start)?,
            ends_at: at(&f.end)?,
            capacity,
            created_by: Some(p.user_id),
        },
    )
    .await
}

pub(super) async fn create(State(s): State<VolunteersState>, c: Console, Form(f): Form<ActivityForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    organiser(&s, &c.principal).await?;
    match create_activity(&s, &c, &f).await {
        Ok(a) => Ok(Redirect::to(&format!("/console/activities/{}?done=created", a.id)).into_response()),
        Err(e) if in_place(&e) || e.status == StatusCode::NOT_FOUND || e.status == StatusCode::FORBIDDEN => {
            let month = f.date.get(..7).map(str::to_string);
            render_list(&s, &c, month.as_deref(), Some(f), "", Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub(super) struct ThemeForm {
    csrf: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    title: String,
}

pub(super) async fn set_theme(State(s): State<VolunteersState>, c: Console, Form(f): Form<ThemeForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let p = &c.principal;
    let grid = scope(&s, p, None, Capability::ManageVolunteers).await?;
    match activities::set_theme(&s.db, p.actor(), &p.district, &grid, f.month.trim(), &f.title).await {
        Ok(_) => Ok(Redirect::to(&format!("/console/activities?month={}", url_encode(f.month.trim()))).into_response()),
        Err(e) if in_place(&e) => render_list(&s, &c, Some(f.month.trim()), None, &f.title, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

pub struct AttendanceRow {
    volunteer: Uuid,
    name: String,
    status: &'static str,
    checked_in: String,
    hours: String,
    points: i64,
    attended: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "activity_detail.html")]
struct DetailPage {
    chrome: Chrome,
    id: Uuid,
    title: String,
    time: String,
    place: String,
    places: String,
    theme: String,
    code: String,
    /// What the QR code encodes: the volunteer's check-in link.
    link: String,
    qr: String,
    rows: Vec<AttendanceRow>,
    attended: usize,
    scheduled: i64,
    notice: &'static str,
    name: String,
    minutes: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn organised(s: &VolunteersState, p: &Principal, id: Uuid) -> AppResult<ActivityRow> {
    let a = load_activity(s, p, id).await?;
    if !may_organise(s, p, &a).await? {
        return Err(refuse(p, Capability::ManageVolunteers, "志愿活动"));
    }
    Ok(a)
}

pub(super) async fn render_detail(
    s: &VolunteersState,
    c: &Console,
    headers: &HeaderMap,
    id: Uuid,
    done: Option<&str>,
    form: Option<&MarkForm>,
    error: Option<AppError>,
) -> PageResult {
    let a = organised(s, &c.principal, id).await?;
    let month = crate::time::month_ms(a.starts_at);
    let theme = activities::themes(&s.db, &a.district, &a.grid_code, Some(&month))
        .await?
        .pop()
        .map(|t| t.title)
        .unwrap_or_default();
    let rows: Vec<AttendanceRow> = activities::signups(&s.db, a.id)
        .await?
        .into_iter()
        .map(|(x, name)| AttendanceRow {
            volunteer: x.volunteer_id,
            name,
            status: signup_label(&x),
            checked_in: x.checked_in_at.map(when).unwrap_or_default(),
            hours: hours(x.minutes),
            points: x.points,
            attended: x.status == "attended",
        })
        .collect();
    let notice = match done {
        Some("created") => "活动已创建。请在现场出示签到码或二维码，志愿者凭码签到、签退。",
        Some("marked") => "已登记出勤，服务时长和积分已记入",
        _ => "",
    };
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let link = check_in_link_for(headers, a.id, &a.code);
    let page = DetailPage {
        chrome: Chrome::new(c, a.title.clone(), "volunteer"),
        id: a.id,
        title: a.title.clone(),
        time: format!("{} 至 {}", when(a.starts_at), &when(a.ends_at)[11..]),
        place: a.place.clone(),
        places: format!("{}/{}", a.signed_up, a.capacity),
        theme,
        qr: qr_svg(&link),
        link,
        code: a.code.clone(),
        attended: rows.iter().filter(|r| r.attended).count(),
        rows,
        scheduled: crate::volunteers::rules::scheduled_minutes(a.starts_at, a.ends_at),
        notice,
        name: form.map(|f| f.name.clone()).unwrap_or_default(),
        minutes: form.map(|f| f.minutes.clone()).unwrap_or_default(),
        error: error.map(|e| e.message),
    };
    Ok((status, page).into_response())
}

pub(super) async fn detail_page(
    State(s): State<VolunteersState>,
    c: Console,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    render_detail(&s, &c, &headers, id, q.done.as_deref(), None, None).await
}

#[derive(Deserialize)]
pub(super) struct MarkForm {
    csrf: String,
    /// A volunteer picked from the list…
    #[serde(default)]
    volunteer: String,
    /// …or typed by name (someone who came without signing up).
    #[serde(default)]
    name: String,
    #[serde(default)]
    minutes: String,
}

/// The volunteer a mark-attendance form means: picked, or found by full name in the activity's community.
pub(super) async fn marked_volunteer(s: &VolunteersState, p: &Principal, a: &ActivityRow, f: &MarkForm) -> AppResult<VolunteerRow> {
    if let Ok(id) = f.volunteer.trim().parse::<Uuid>() {
        return store::volunteer(&s.db, id)
            .await?
            .filter(|v| v.district == p.district)
            .ok_or_else(|| AppError::not_found("志愿者"));
    }
    let name = f.name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("volunteer_required", "请从名单中选择志愿者，或填写志愿者姓名"));
    }
    let community = a.grid_code.get(..12).unwrap_or(&a.grid_code);
    let (found, _) = store::volunteers(
        &s.db,
        &VolunteerFilter {
            district: &p.district,
            grid: Some(community),
            name: Some(name),
            limit: 10,
            ..Default::default()
        },
    )
    .await?;
    let exact: Vec<VolunteerRow> = found.into_iter().filter(|v| v.name == name).collect();
    match exact.len() {
        0 => Err(AppError::invalid(
            "unknown_volunteer",
            format!("本社区没有名为「{name}」的志愿者，请先登记"),
        )),
        1 => Ok(exact.into_iter().next().unwrap_or_else(|| unreachable!())),
        _ => Err(AppError::invalid(
            "ambiguous_volunteer",
            format!("本社区有多名「{name}」，请从名单中选择"),
        )),
    }
}

pub(super) async fn attendance(
    State(s): State<VolunteersState>,
    c: Console,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(f): Form<MarkForm>,
) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = organised(&s, &c.principal, id).await?;
    let minutes = match f.minutes.trim() {
        "" => Ok(None),
        m => m
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid("invalid_minutes", "服务时长应为整数分钟，留空为活动全程")),
    };
    let r = match (minutes, marked_volunteer(&s, &c.principal, &a, &f).await) {
        (Ok(m), Ok(v)) => match crate::volunteers::service::may_credit(&s, &c.principal, &a, &v).await {
            Ok(()) => activities::mark_attendance(&s.db, c.principal.actor(), &a, &v, m).await.map(|_| ()),
            Err(e) => Err(e),
        },
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/console/activities/{id}?done=marked")).into_response()),
        Err(e) if in_place(&e) || e.status == StatusCode::NOT_FOUND || matches!(e.code, "self_credit" | "volunteer_out_of_scope") => {
            render_detail(&s, &c, &headers, id, None, Some(&f), Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}
