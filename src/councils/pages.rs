//! Council pages (议事协商): the hub (staff: the councils of their area and opinions waiting;
//! residents: record an opinion, my opinions and their answers, sign in to a meeting), a council's
//! page (members, opinions to answer, meetings, resolutions), a meeting's page (agenda, sign-in
//! code, attendance, minutes and resolutions) with its printable 会议纪要, and the public
//! resolutions of a compound (公示).

use crate::web::pages::back_to as back;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::CouncilsState;
use super::api::{Opinion, Resolution, opinion_view, resolution_view};
use super::rules::{MEETING_KINDS, MeetingKind, OPINION_STATUSES, OpinionStatus, Post};
use super::service::{self, Acting, AnswerInput, CATEGORIES, MinutesInput, NewMeeting, NewOpinion, NewResolution};
use super::store;
use crate::db::now_ms;
use crate::error::AppError;
use crate::time::{minute_ms, when_ms};
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, page_number, pager, url_encode};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<CouncilsState> {
    Router::new()
        .route("/console/councils", get(hub))
        .route("/console/councils/opinions", post(record_opinion))
        .route("/console/councils/checkin", post(check_in))
        .route("/console/councils/{id}", get(council_page))
        .route("/console/councils/{id}/meetings", post(schedule))
        .route("/console/opinions/{id}/answer", post(answer))
        .route("/console/council-members/{id}/end", post(dismiss))
        .route("/console/meetings/{id}", get(meeting_page))
        .route("/console/meetings/{id}/print", get(print_page))
        .route("/console/meetings/{id}/minutes", post(minutes))
        .route("/console/meetings/{id}/present", post(present))
        .route("/console/resolutions/{id}/case", post(resolution_case))
        .route("/console/resolutions/{id}/done", post(resolution_done))
        .route("/g/{code}/council", get(public_page))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    page: Option<i64>,
    status: Option<String>,
    flagged: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

/// A council line of the hub.
struct CouncilLine {
    id: Uuid,
    name: String,
    compound: String,
    members: i64,
    heads: String,
}

/// An opinion as a list shows it.
struct OpinionLine {
    o: Opinion,
    when: String,
    case_label: String,
}

async fn opinion_lines(s: &CouncilsState, rows: Vec<store::OpinionRow>, now: i64) -> Result<Vec<OpinionLine>, AppError> {
    let states = service::case_states(&s.db, rows.iter().filter_map(|o| o.case_id)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for o in rows {
        let when = when_ms(o.created_at, now);
        let case = o.case_id.and_then(|id| states.get(&id).cloned());
        let case_label = case.as_ref().map(|c| format!("{} {}", c.2, c.1)).unwrap_or_default();
        out.push(OpinionLine {
            o: opinion_view(o, case, now),
            when,
            case_label,
        });
    }
    Ok(out)
}

#[derive(Template, WebTemplate)]
#[template(path = "councils.html")]
struct HubPage {
    chrome: Chrome,
    notice: String,
    error: String,
    staff: bool,
    /// Any grid post: renovation projects are theirs to see.
    grid_staff: bool,
    councils: Vec<CouncilLine>,
    total: i64,
    pager: String,
    flagged: i64,
    /// A resident's own: record, check in, my opinions.
    resident: bool,
    my_councils: Vec<(Uuid, String, &'static str)>,
    categories: &'static [&'static str],
    mine: Vec<OpinionLine>,
    /// Buildings the caller records for (their own, those they head, their post's building).
    record_grids: Vec<(String, String)>,
    /// Opinions still waiting in those buildings (a head's or building officer's list).
    building_open: Vec<OpinionLine>,
}

async fn hub(State(s): State<CouncilsState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let a = Acting::of(&s.db, &c.principal).await?;
    let p = &c.principal;
    let now = now_ms();
    let staff = p.has(crate::auth::Capability::ReadRegistry);
    let resident = a.resident.is_some() || p.posts.iter().any(|x| x.role == crate::auth::Role::Resident);
    let officer = p.posts.iter().any(|x| x.role == crate::auth::Role::BuildingOfficer);
    if !staff && !resident {
        return Err(AppError::new(axum::http::StatusCode::FORBIDDEN, "forbidden", "您的岗位不使用议事协商").into());
    }
    let (mut councils, mut total, mut pager_html, mut flagged) = (Vec::new(), 0, String::new(), 0);
    if staff {
        let root = service::list_root(p, None)?;
        let page = page_number(q.page);
        let (rows, t) = store::councils_in(&s.db, &p.district, &root, 20, (page - 1) * 20).await?;
        total = t;
        pager_html = pager("/console/councils", page, 20, t);
        councils = rows
            .into_iter()
            .map(|x| CouncilLine {
                id: x.id,
                name: x.name,
                compound: x.compound,
                members: x.members,
                heads: format!("楼栋长 {} · 单元长 {} · 党员 {}", x.building_heads, x.unit_heads, x.party_members),
            })
            .collect();
        flagged = store::figures(&s.db, &p.district, &root, (0, 0), now).await?.2;
    }
    let mut my_councils = Vec::new();
    for m in &a.posts {
        if let Some(c) = store::council(&s.db, m.council_id).await? {
            my_councils.push((c.id, c.name, Post::parse(&m.post).map(|x| x.label()).unwrap_or("")));
        }
    }
    let mine = if resident {
        let (rows, _) = super::api::list_opinions(&s.db, p, None, None, false, 20, 0, now).await?;
        opinion_lines(&s, rows, now).await?
    } else {
        Vec::new()
    };
    // Where the caller records: their own building, the buildings they head, a building post's.
    let mut codes: Vec<String> = a.resident.iter().map(|r| r.grid_code.clone()).collect();
    codes.extend(a.posts.iter().filter_map(|m| m.building_code.clone()));
    codes.extend(
        p.posts
            .iter()
            .filter(|x| x.role == crate::auth::Role::BuildingOfficer)
            .filter_map(|x| x.grid_code.clone()),
    );
    codes.dedup();
    let mut record_grids = Vec::new();
    let mut building_open = Vec::new();
    for code in codes.iter().take(10) {
        if let Some(g) = crate::grid::store::get(&s.db, code).await? {
            record_grids.push((g.code.clone(), g.name.clone()));
        }
    }
    let heads_or_officer =
        !a.posts.iter().all(|m| m.building_code.is_none()) || p.posts.iter().any(|x| x.role == crate::auth::Role::BuildingOfficer);
    if heads_or_officer {
        for (code, _) in record_grids.iter().filter(|(c, _)| a.records_for_building(c)) {
            let (rows, _) = store::opinions(
                &s.db,
                &store::OpinionFilter {
                    district: &p.district,
                    root: code,
                    status: Some("open"),
                    waiting_since: None,
                    recorded_by: None,
                    limit: 20,
                    offset: 0,
                },
            )
            .await?;
            building_open.extend(opinion_lines(&s, rows, now).await?);
        }
    }
    Ok(HubPage {
        chrome: Chrome::new(&c, "议事协商", "councils"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        staff: staff && !officer,
        grid_staff: staff,
        councils,
        total,
        pager: pager_html,
        flagged,
        resident,
        my_councils,
        categories: &CATEGORIES,
        mine,
        record_grids,
        building_open,
    }
    .into_response())
}

#[derive(Deserialize, Default)]
struct OpinionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grid: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    anonymous: Option<String>,
    #[serde(default)]
    author: String,
    /// Where to come back to.
    #[serde(default)]
    back: String,
}

fn safe_back(b: &str, default: &str) -> String {
    if b.starts_with("/console/") && !b.contains("//") {
        b.to_string()
    } else {
        default.to_string()
    }
}

async fn record_opinion(State(s): State<CouncilsState>, c: Console, Form(f): Form<OpinionForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let n = NewOpinion {
        grid: Some(f.grid.clone()).filter(|g| !g.trim().is_empty()),
        category: f.category.clone(),
        body: f.body.clone(),
        anonymous: f.anonymous.is_some(),
        author: Some(f.author.clone()).filter(|x| !x.trim().is_empty()),
    };
    let to = safe_back(&f.back, "/console/councils");
    back(
        &to,
        service::record_opinion(&s.db, &a, &n)
            .await
            .map(|_| "意见已记录，议事会将在7天内答复"),
    )
}

#[derive(Deserialize, Default)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

async fn check_in(State(s): State<CouncilsState>, c: Console, Form(f): Form<CodeForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let r = service::check_in(&s.db, &a, &f.code).await;
    let msg = match &r {
        Ok((m, Some(points))) => format!("已签到：{}，获得志愿积分 {points} 分", m.title),
        Ok((m, None)) => format!("已签到：{}", m.title),
        Err(_) => String::new(),
    };
    back("/console/councils", r.map(|_| msg.as_str()))
}

struct MemberLine {
    id: Uuid,
    name: String,
    post: &'static str,
    place: String,
    party: bool,
    period: String,
    current: bool,
}

struct MeetingLine {
    id: Uuid,
    title: String,
    kind: &'static str,
    when: String,
    held: bool,
}

struct ResolutionLine {
    r: Resolution,
    due: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "council.html")]
struct CouncilPage {
    chrome: Chrome,
    notice: String,
    error: String,
    id: Uuid,
    name: String,
    compound: String,
    compound_code: String,
    leads: bool,
    members: Vec<MemberLine>,
    partners: Vec<(String, String)>,
    status_choices: Vec<(&'static str, &'static str, bool)>,
    flagged_only: bool,
    opinions: Vec<OpinionLine>,
    opinion_total: i64,
    opinion_pager: String,
    planned: Vec<MeetingLine>,
    meetings: Vec<MeetingLine>,
    resolutions: Vec<ResolutionLine>,
    kinds: Vec<(&'static str, &'static str)>,
    buildings: Vec<(String, String)>,
    categories: &'static [&'static str],
}

async fn council_page(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let a = Acting::of(&s.db, &c.principal).await?;
    let council = service::council_for(&s.db, &a, id).await?;
    let now = now_ms();
    let summary = store::summary(&s.db, id).await?.ok_or_else(AppError::internal)?;
    let leads = a.leads(&council);
    let buildings: Vec<(String, String)> = crate::grid::store::children(&s.db, &council.grid_code, 200, 0)
        .await?
        .into_iter()
        .map(|g| (g.code, g.name))
        .collect();
    let building_name = |code: &str| buildings.iter().find(|b| b.0 == code).map(|b| b.1.clone()).unwrap_or_default();
    let members = store::members(&s.db, id, true)
        .await?
        .into_iter()
        .map(|m| {
            let post = Post::parse(&m.post).unwrap_or(Post::Member);
            MemberLine {
                id: m.id,
                name: m.name,
                post: post.label(),
                place: match (&m.building_code, m.unit_no) {
                    (Some(b), Some(u)) => format!("{}{}单元", building_name(b), u),
                    (Some(b), None) => building_name(b),
                    _ => String::new(),
                },
                party: m.party_member,
                period: match m.ended_at {
                    Some(e) => format!("{} 至 {}", crate::time::day_ms(m.started_at), crate::time::day_ms(e)),
                    None => format!("{} 起", crate::time::day_ms(m.started_at)),
                },
                current: m.ended_at.is_none(),
            }
        })
        .collect();
    let status = q.status.as_deref().and_then(OpinionStatus::parse);
    let flagged_only = q.flagged.is_some();
    let page = page_number(q.page);
    let (rows, opinion_total) = store::opinions(
        &s.db,
        &store::OpinionFilter {
            district: &council.district,
            root: &council.grid_code,
            status: status.map(|x| x.as_str()),
            waiting_since: flagged_only.then_some(now - super::rules::ANSWER_DAYS * 86_400_000),
            recorded_by: None,
            limit: 20,
            offset: (page - 1) * 20,
        },
    )
    .await?;
    let base = format!(
        "/console/councils/{id}?status={}{}",
        status.map(|x| x.as_str()).unwrap_or(""),
        if flagged_only { "&flagged=1" } else { "" }
    );
    let (meeting_rows, _) = store::meetings_in(&s.db, &council.district, &council.grid_code, 0, i64::MAX, 30, 0).await?;
    let line = |m: store::MeetingRow| MeetingLine {
        id: m.id,
        title: m.title,
        kind: MeetingKind::parse(&m.kind).map(|k| k.label()).unwrap_or(""),
        when: minute_ms(m.starts_at),
        held: m.status == "held",
    };
    let (planned, meetings): (Vec<_>, Vec<_>) = meeting_rows.into_iter().map(line).partition(|m| !m.held);
    let (res_rows, _) = store::resolutions_in(&s.db, &council.district, &council.grid_code, None, 20, 0).await?;
    let mut resolutions = Vec::new();
    for r in res_rows {
        let due = crate::time::day_ms(r.due_at);
        resolutions.push(ResolutionLine {
            r: resolution_view(&s.db, r, now).await?,
            due,
        });
    }
    Ok(CouncilPage {
        chrome: Chrome::new(&c, council.name.clone(), "councils"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        id,
        name: council.name.clone(),
        compound: summary.compound,
        compound_code: council.grid_code.clone(),
        leads,
        members,
        partners: store::partners(&s.db, id)
            .await?
            .into_iter()
            .map(|p| (partner_label(&p.role).to_string(), p.name))
            .collect(),
        status_choices: OPINION_STATUSES
            .iter()
            .map(|x| (x.as_str(), x.label(), status == Some(*x)))
            .collect(),
        flagged_only,
        opinions: opinion_lines(&s, rows, now).await?,
        opinion_total,
        opinion_pager: pager(&base, page, 20, opinion_total),
        planned,
        meetings,
        resolutions,
        kinds: MEETING_KINDS.iter().map(|k| (k.as_str(), k.label())).collect(),
        buildings,
        categories: &CATEGORIES,
    }
    .into_response())
}

fn partner_label(role: &str) -> &'static str {
    match role {
        "residents_committee" => "居委会",
        "owners_committee" => "业主委员会",
        "property_management_committee" => "物业管理委员会",
        "property_company" => "物业公司",
        "party_branch" => "小区党支部",
        _ => "共建单位",
    }
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn dismiss(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<CsrfForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let m = store::member(&s.db, id).await?.ok_or_else(|| AppError::not_found("该成员"))?;
    back(
        &format!("/console/councils/{}", m.council_id),
        service::dismiss(&s.db, &a, id).await.map(|_| "已卸任"),
    )
}

#[derive(Deserialize, Default)]
struct MeetingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    invitees: String,
}

async fn schedule(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<MeetingForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let n = NewMeeting {
        kind: f.kind,
        title: f.title,
        place: f.place,
        starts_at: f.starts_at,
        invitees: f.invitees,
        agenda: Vec::new(),
    };
    match service::schedule(&s.db, &a, id, &n).await {
        Ok(m) => Ok(Redirect::to(&format!(
            "/console/meetings/{}?msg={}",
            m.id,
            url_encode("会议已安排，签到码见下方")
        ))
        .into_response()),
        Err(e) => back(&format!("/console/councils/{id}"), Err(e)),
    }
}

#[derive(Deserialize, Default)]
struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    meeting: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    into: String,
}

async fn answer(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<AnswerForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let (_, council) = service::opinion_for(&s.db, &a, id).await?;
    let input = AnswerInput {
        action: f.action,
        answer: f.answer,
        meeting: f.meeting.trim().parse().ok(),
        category: Some(f.category).filter(|x| !x.trim().is_empty()),
        into: f.into.trim().parse().ok(),
    };
    let r = service::answer_opinion(&s.cases, &a, id, &input).await;
    back(&format!("/console/councils/{}", council.id), r.map(|_| "已处理该意见"))
}

#[derive(Template, WebTemplate)]
#[template(path = "council_meeting.html")]
struct MeetingPage {
    chrome: Chrome,
    notice: String,
    error: String,
    print: bool,
    id: Uuid,
    council_id: Uuid,
    council: String,
    title: String,
    kind: &'static str,
    when: String,
    place: String,
    invitees: String,
    held: bool,
    minutes: String,
    code: String,
    leads: bool,
    agenda: Vec<OpinionLine>,
    attendance: Vec<(String, String)>,
    resolutions: Vec<ResolutionLine>,
    slots: Vec<usize>,
}

async fn render_meeting(s: &CouncilsState, c: &Console, id: Uuid, q: &Notice, print: bool) -> PageResult {
    let a = Acting::of(&s.db, &c.principal).await?;
    let (m, council) = service::meeting_for(&s.db, &a, id).await?;
    let now = now_ms();
    let leads = a.leads(&council);
    let mut resolutions = Vec::new();
    for r in store::resolutions_of_meeting(&s.db, m.id).await? {
        let due = crate::time::day_ms(r.due_at);
        resolutions.push(ResolutionLine {
            r: resolution_view(&s.db, r, now).await?,
            due,
        });
    }
    Ok(MeetingPage {
        chrome: Chrome::new(c, m.title.clone(), "councils"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        print,
        id: m.id,
        council_id: council.id,
        council: council.name,
        kind: MeetingKind::parse(&m.kind).map(|k| k.label()).unwrap_or(""),
        when: minute_ms(m.starts_at),
        held: m.status == "held",
        code: if leads { m.checkin_code.clone() } else { String::new() },
        leads,
        agenda: opinion_lines(s, store::opinions_of_meeting(&s.db, m.id).await?, now).await?,
        attendance: store::attendance(&s.db, m.id)
            .await?
            .into_iter()
            .map(|x| {
                (
                    x.name,
                    if x.via == "code" {
                        "扫码签到".to_string()
                    } else {
                        "工作人员代签".to_string()
                    },
                )
            })
            .collect(),
        resolutions,
        slots: (1..=3).collect(),
        title: m.title,
        place: m.place,
        invitees: m.invitees,
        minutes: m.minutes,
    }
    .into_response())
}

async fn meeting_page(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    render_meeting(&s, &c, id, &q, false).await
}

async fn print_page(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>) -> PageResult {
    render_meeting(&s, &c, id, &Notice::default(), true).await
}

#[derive(Deserialize, Default)]
struct MinutesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    r1: String,
    #[serde(default)]
    p1: String,
    #[serde(default)]
    d1: String,
    #[serde(default)]
    r2: String,
    #[serde(default)]
    p2: String,
    #[serde(default)]
    d2: String,
    #[serde(default)]
    r3: String,
    #[serde(default)]
    p3: String,
    #[serde(default)]
    d3: String,
}

async fn minutes(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<MinutesForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let resolutions = [(&f.r1, &f.p1, &f.d1), (&f.r2, &f.p2, &f.d2), (&f.r3, &f.p3, &f.d3)]
        .into_iter()
        .filter(|(r, _, _)| !r.trim().is_empty())
        .map(|(r, p, d)| NewResolution {
            body: r.clone(),
            responsible: p.clone(),
            due: d.clone(),
        })
        .collect();
    let input = MinutesInput {
        minutes: f.minutes,
        resolutions,
    };
    let r = service::record_minutes(&s.db, &a, id, &input).await;
    back(&format!("/console/meetings/{id}"), r.map(|_| "纪要和决议已记录"))
}

#[derive(Deserialize, Default)]
struct PresentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resident: String,
}

async fn present(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<PresentForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let resident: Uuid = match f.resident.trim().parse() {
        Ok(r) => r,
        Err(_) => {
            return back(
                &format!("/console/meetings/{id}"),
                Err(AppError::invalid("unknown_resident", "没有这位居民")),
            );
        }
    };
    let r = service::mark_present(&s.db, &a, id, resident).await;
    back(&format!("/console/meetings/{id}"), r.map(|_| "已代为签到"))
}

#[derive(Deserialize, Default)]
struct ResolutionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    note: String,
}

async fn resolution_case(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ResolutionForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let (r, _) = service::resolution_for(&s.db, &a, id).await?;
    let out = service::resolution_to_case(&s.cases, &a, id, &f.category).await;
    back(&format!("/console/meetings/{}", r.meeting_id), out.map(|_| "决议已转为案件办理"))
}

async fn resolution_done(State(s): State<CouncilsState>, c: Console, Path(id): Path<Uuid>, Form(f): Form<ResolutionForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let a = Acting::of(&s.db, &c.principal).await?;
    let (r, _) = service::resolution_for(&s.db, &a, id).await?;
    let out = service::finish_resolution(&s.db, &a, id, &f.note).await;
    back(&format!("/console/meetings/{}", r.meeting_id), out.map(|_| "决议已办结"))
}

#[derive(Template, WebTemplate)]
#[template(path = "public_council.html")]
struct PublicPage {
    name: String,
    compound: String,
    code: String,
    members: Vec<(&'static str, String)>,
    resolutions: Vec<ResolutionLine>,
    /// 长辈版, and where its switch returns.
    elder: crate::web::elder::Elder,
}

/// The compound's public page of its council (公示): who sits on it, what it resolved and how
/// each resolution stands. Names of post-holders are public; no one else's.
async fn public_page(State(s): State<CouncilsState>, Path(code): Path<String>, elder: crate::web::elder::Elder) -> PageResult {
    let council = store::council_over(&s.db, &code)
        .await?
        .filter(|c| c.grid_code == code)
        .ok_or_else(|| AppError::not_found("该小区的议事会"))?;
    let g = crate::grid::store::get(&s.db, &code)
        .await?
        .ok_or_else(|| AppError::not_found("该小区"))?;
    let now = now_ms();
    let (rows, _) = store::resolutions_in(&s.db, &council.district, &council.grid_code, None, 30, 0).await?;
    let mut resolutions = Vec::new();
    for r in rows {
        let due = crate::time::day_ms(r.due_at);
        resolutions.push(ResolutionLine {
            r: resolution_view(&s.db, r, now).await?,
            due,
        });
    }
    let members = store::members(&s.db, council.id, false)
        .await?
        .into_iter()
        .filter_map(|m| {
            Post::parse(&m.post)
                .filter(|p| p.leads() || *p == Post::Member)
                .map(|p| (p.label(), m.name))
        })
        .collect();
    Ok(PublicPage {
        name: council.name,
        compound: g.name,
        code,
        members,
        resolutions,
        elder,
    }
    .into_response())
}
