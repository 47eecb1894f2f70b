//! Campaign pages (专项行动): the list and launch form, the board (figures, the progress line
//! drawn as SVG on the server, communities ranked, teams), the spot list by phase, the phone form
//! to register a spot, and a spot's page with its actions.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use uuid::Uuid;

use super::CampaignsState;
use super::api::{ranked, spot_root};
use super::rules::{Figures, KINDS, Outcome, PHASES, Phase};
use super::service::{self, NewCampaign, NewSpot, SpotAction};
use super::store;
use crate::auth::Capability;
use crate::db::now_ms;
use crate::error::AppError;
use crate::grid::rules::code_len;
use crate::time::day_ms;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to, pager, url_encode};
use crate::web::photo_form::{self, MAX_PHOTO};
use crate::web::session::{Console, check_csrf};

pub fn routes() -> Router<CampaignsState> {
    Router::new()
        .route("/console/campaigns", get(list_page).post(launch))
        .route("/console/campaigns/{id}", get(board_page))
        .route("/console/campaigns/{id}/spots", get(spots_page))
        .route(
            "/console/campaigns/{id}/spots/new",
            get(new_spot_page)
                .post(add_spot)
                .layer(DefaultBodyLimit::max(MAX_PHOTO + 64 * 1024)),
        )
        .route("/console/campaigns/{id}/spots/{spot}", get(spot_page))
        .route(
            "/console/campaigns/{id}/spots/{spot}/act",
            post(act).layer(DefaultBodyLimit::max(MAX_PHOTO + 64 * 1024)),
        )
        .route("/console/campaigns/{id}/spots/{spot}/photo", get(photo))
}

#[derive(Deserialize, Default)]
struct Notice {
    msg: Option<String>,
    err: Option<String>,
    phase: Option<String>,
    grid: Option<String>,
    page: Option<i64>,
    after: Option<String>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

struct Line {
    id: Uuid,
    title: String,
    kind: String,
    grid: String,
    period: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaigns.html")]
struct ListPage {
    chrome: Chrome,
    notice: String,
    error: String,
    lines: Vec<Line>,
    /// District or street staff: the launch form, with the nodes they may launch over.
    grids: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    today: String,
}

async fn list_page(State(s): State<CampaignsState>, c: Console, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let rows = service::list(&s.db, p).await?;
    let mut grids = Vec::new();
    for r in p.roots(Capability::ManageGrid).iter().filter(|r| r.len() <= code_len(2)) {
        if let Some(g) = crate::grid::store::get(&s.db, r).await? {
            grids.push((g.code.clone(), g.name.clone()));
        }
        for child in crate::grid::store::children(&s.db, r, 60, 0).await? {
            grids.push((child.code, child.name));
        }
    }
    if rows.is_empty() && grids.is_empty() && !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不参与专项行动").into());
    }
    Ok(ListPage {
        chrome: Chrome::new(&c, "专项行动", "campaigns"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        lines: rows
            .into_iter()
            .map(|r| Line {
                id: r.id,
                title: r.title,
                kind: r.kind_name,
                grid: r.grid_name,
                period: format!("{} 至 {}", r.starts_on, r.deadline),
            })
            .collect(),
        grids,
        kinds: KINDS.iter().map(|k| (k.0, k.1)).collect(),
        today: day_ms(now_ms()),
    }
    .into_response())
}

#[derive(Deserialize)]
struct LaunchForm {
    csrf: String,
    title: String,
    kind: String,
    #[serde(default)]
    kind_name: String,
    #[serde(default)]
    unit: String,
    grid: String,
    starts_on: String,
    deadline: String,
    #[serde(default)]
    partners: String,
    #[serde(default)]
    reinspect_days: String,
    /// One checklist item per line.
    #[serde(default)]
    checklist: String,
}

async fn launch(State(s): State<CampaignsState>, c: Console, Form(f): Form<LaunchForm>) -> PageResult {
    check_csrf(&c, &f.csrf)?;
    let days = crate::identity::half_width(f.reinspect_days.trim());
    let reinspect_days = match days.as_str() {
        "" => None,
        d => Some(
            d.parse::<i64>()
                .map_err(|_| AppError::invalid("invalid_reinspect_days", "复查间隔应为1至90天")),
        ),
    };
    let r = async {
        let n = NewCampaign {
            title: f.title,
            kind: f.kind,
            kind_name: f.kind_name,
            unit: f.unit,
            grid: f.grid,
            starts_on: f.starts_on,
            deadline: f.deadline,
            partners: f.partners,
            reinspect_days: reinspect_days.transpose()?,
            checklist: f.checklist.lines().map(str::to_string).collect(),
        };
        service::launch(&s.db, &c.principal, &n).await
    }
    .await;
    match r {
        Ok(row) => Ok(
            axum::response::Redirect::to(&format!("/console/campaigns/{}?msg={}", row.id, url_encode("专项行动已发起"))).into_response(),
        ),
        Err(e) => back_to("/console/campaigns", Err(e)),
    }
}

struct Stat {
    label: &'static str,
    value: String,
    warn: bool,
}

fn stats(f: &Figures, unit: &str) -> Vec<Stat> {
    vec![
        Stat {
            label: "摸排点位",
            value: f.spots.to_string(),
            warn: false,
        },
        Stat {
            label: "已清理",
            value: f.cleared.to_string(),
            warn: false,
        },
        Stat {
            label: "其中自行清理",
            value: f.self_cleared.to_string(),
            warn: false,
        },
        Stat {
            label: "待清理",
            value: f.remaining.to_string(),
            warn: f.remaining > 0,
        },
        Stat {
            label: "移交部门",
            value: f.escalated.to_string(),
            warn: false,
        },
        Stat {
            label: "拒绝次数",
            value: f.refusals.to_string(),
            warn: f.refusals > 0,
        },
        Stat {
            label: "走访人次",
            value: f.visits.to_string(),
            warn: false,
        },
        Stat {
            label: "恢复",
            value: format!("{}{unit}", trim_num(f.measure_restored)),
            warn: false,
        },
    ]
}

fn trim_num(x: f64) -> String {
    if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.1}") }
}

struct Ranked {
    rank: usize,
    name: String,
    spots: i64,
    cleared: i64,
    remaining: i64,
    percent: i64,
    measure: String,
}

struct TeamLine {
    name: String,
    leader: String,
    grids: String,
    spots: i64,
    cleared: i64,
    visits: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_board.html")]
struct BoardPage {
    chrome: Chrome,
    notice: String,
    id: Uuid,
    title: String,
    kind: String,
    grid: String,
    period: String,
    days_left: i64,
    partners: String,
    stats: Vec<Stat>,
    svg: String,
    ranked: Vec<Ranked>,
    teams: Vec<TeamLine>,
    may_register: bool,
    median: String,
    /// The campaign's node with its children coloured by what is left to clear.
    map: String,
    /// The checklist's figures and items (empty when the drive carries none).
    checklist_stats: Vec<Stat>,
    checklist: Vec<(i64, String, i64)>,
    may_inspect: bool,
}

/// The board's map: each child of the campaign's node green when cleared, amber when half or
/// more is cleared, red when less; a click opens the spot ledger of that child.
async fn board_map(
    s: &CampaignsState,
    camp: &store::CampaignRow,
    children: &std::collections::BTreeMap<String, Figures>,
) -> Result<String, AppError> {
    let Some(g) = crate::grid::store::get(&s.db, &camp.grid_code).await? else {
        return Ok(String::new());
    };
    let kids = crate::grid::store::children(&s.db, &g.code, 200, 0).await?;
    let base = crate::grid::service::base_layers(&s.db, &g).await?;
    let mut overlay = crate::grid::map::Overlay::default();
    for (code, f) in children {
        let class = if f.remaining == 0 {
            "calm"
        } else if 2 * f.cleared >= f.spots {
            "busy"
        } else {
            "alarm"
        };
        overlay.fills.insert(code.clone(), class);
        overlay.notes.insert(
            code.clone(),
            if f.remaining == 0 {
                format!("{}处已清零", f.spots)
            } else {
                format!("待清理{}", f.remaining)
            },
        );
    }
    Ok(crate::grid::map::area_map_svg(&g, &kids, &base, &overlay))
}

/// The progress line, drawn here: found (grey) and cleared (green) so far per day.
fn progress_svg(points: &[(String, i64, i64)]) -> String {
    let (w, h, pad) = (340.0_f64, 160.0_f64, 24.0_f64);
    let max = points.iter().map(|p| p.1.max(p.2)).max().unwrap_or(0).max(1) as f64;
    let n = points.len().max(2) as f64 - 1.0;
    let xy = |i: usize, v: i64| (pad + (w - 2.0 * pad) * i as f64 / n, h - pad - (h - 2.0 * pad) * v as f64 / max);
    let line = |pick: fn(&(String, i64, i64)) -> i64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let (x, y) = xy(i, pick(p));
                format!("{x:.1},{y:.1}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (first, last) = (
        points.first().map(|p| p.0.as_str()).unwrap_or(""),
        points.last().map(|p| p.0.as_str()).unwrap_or(""),
    );
    format!(
        "<svg viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"每日进度：摸排点位累计与已清理累计\" class=\"progress-line\">\
         <line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#8a8f99\"/>\
         <polyline fill=\"none\" stroke=\"#5c6370\" stroke-width=\"2\" points=\"{found}\"/>\
         <polyline fill=\"none\" stroke=\"#1d7a3a\" stroke-width=\"3\" points=\"{cleared}\"/>\
         <text x=\"{pad}\" y=\"{t}\" font-size=\"12\" fill=\"#333\">{max:.0}</text>\
         <text x=\"{pad}\" y=\"{h}\" font-size=\"12\" fill=\"#333\">{first}</text>\
         <text x=\"{r}\" y=\"{h}\" font-size=\"12\" fill=\"#333\" text-anchor=\"end\">{last}</text></svg>",
        b = h - pad,
        r = w - pad,
        t = pad - 6.0,
        found = line(|p| p.1),
        cleared = line(|p| p.2),
    )
}

async fn board_page(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let (camp, mine) = service::campaign_for(&s.db, p, id).await?;
    let b = service::board(&s.db, &camp).await?;
    let map = board_map(&s, &camp, &b.children).await?;
    let cl = service::checklist_board(&s.db, &camp).await?;
    let names: std::collections::HashMap<String, String> = crate::grid::store::children(&s.db, &camp.grid_code, 200, 0)
        .await?
        .into_iter()
        .map(|g| (g.code, g.name))
        .collect();
    let mut community_names = std::collections::HashMap::new();
    for (code, _) in &b.communities {
        if !community_names.contains_key(code) {
            let name = match names.get(code) {
                Some(n) => n.clone(),
                None => crate::grid::store::get(&s.db, code)
                    .await?
                    .map(|g| g.name)
                    .unwrap_or_else(|| code.clone()),
            };
            community_names.insert(code.clone(), name);
        }
    }
    let today = day_ms(now_ms());
    let days_left = match (camp.deadline.parse::<jiff::civil::Date>(), today.parse::<jiff::civil::Date>()) {
        (Ok(d), Ok(t)) => (d - t).get_days() as i64,
        _ => 0,
    };
    let may_register = !service::act_roots(p, &camp, &mine).is_empty();
    Ok(BoardPage {
        chrome: Chrome::new(&c, camp.title.clone(), "campaigns"),
        notice: clip(&q.msg),
        id: camp.id,
        stats: stats(&b.whole, &camp.unit),
        median: b
            .whole
            .median_days_to_clear
            .map(|d| format!("{}天", trim_num(d)))
            .unwrap_or_default(),
        svg: progress_svg(&b.progress),
        ranked: ranked(b.communities)
            .into_iter()
            .enumerate()
            .map(|(i, r)| Ranked {
                rank: i + 1,
                name: community_names.get(&r.grid).cloned().unwrap_or(r.grid),
                spots: r.figures.spots,
                cleared: r.figures.cleared,
                remaining: r.figures.remaining,
                percent: r.cleared_percent,
                measure: format!("{}{}", trim_num(r.figures.measure_restored), camp.unit),
            })
            .collect(),
        teams: b
            .teams
            .into_iter()
            .map(|(t, f)| TeamLine {
                grids: t.grid_list().len().to_string(),
                name: t.name,
                leader: t.leader_name,
                spots: f.spots,
                cleared: f.cleared,
                visits: f.visits,
            })
            .collect(),
        title: camp.title,
        kind: camp.kind_name,
        grid: camp.grid_name,
        period: format!("{} 至 {}", camp.starts_on, camp.deadline),
        days_left,
        partners: camp.partners,
        may_inspect: may_register && !cl.items.is_empty(),
        may_register,
        map,
        checklist_stats: if cl.items.is_empty() {
            Vec::new()
        } else {
            vec![
                Stat {
                    label: "已测评",
                    value: format!("{}处", cl.figures.places),
                    warn: false,
                },
                Stat {
                    label: "全部合格",
                    value: format!("{}处", cl.figures.passing),
                    warn: false,
                },
                Stat {
                    label: "待整改",
                    value: format!("{}处", cl.figures.failing),
                    warn: cl.figures.failing > 0,
                },
                Stat {
                    label: "项目合格率",
                    value: format!("{}%", trim_num(cl.figures.item_pass_rate)),
                    warn: false,
                },
                Stat {
                    label: "复查",
                    value: format!("{}次", cl.figures.rechecks),
                    warn: false,
                },
            ]
        },
        checklist: cl.items.into_iter().map(|(i, n)| (i.position, i.text, n)).collect(),
    }
    .into_response())
}

struct SpotLine {
    id: Uuid,
    place: String,
    party: String,
    measure: String,
    phase: &'static str,
    phase_class: &'static str,
    found: String,
    visits: i64,
}

fn phase_class(p: Phase) -> &'static str {
    match p {
        Phase::Cleared | Phase::Consolidated => "ok",
        Phase::Escalated => "grey",
        Phase::Persuading => "warn",
        Phase::Surveyed => "",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_spots.html")]
struct SpotsPage {
    chrome: Chrome,
    id: Uuid,
    title: String,
    filters: Vec<(&'static str, &'static str, bool)>,
    lines: Vec<SpotLine>,
    total: i64,
    pager: String,
    export_href: String,
}

async fn spots_page(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let (camp, mine) = service::campaign_for(&s.db, p, id).await?;
    let phase = q.phase.as_deref().and_then(Phase::parse);
    let root = spot_root(p, &camp, &mine, q.grid.as_deref())?;
    let page = crate::web::pages::page_number(q.page);
    let (rows, total) = store::spots(&s.db, camp.id, &root, phase.map(Phase::as_str), 30, (page - 1) * 30).await?;
    let now = now_ms();
    let base = format!("/console/campaigns/{id}/spots?phase={}", phase.map(Phase::as_str).unwrap_or(""));
    let mut filters = vec![("", "全部", phase.is_none())];
    filters.extend(PHASES.iter().map(|x| (x.as_str(), x.label(), Some(*x) == phase)));
    let mut export = format!("/api/v1/exports/campaign_spots.xlsx?campaign={id}");
    if let Some(x) = phase {
        export.push_str(&format!("&phase={}", x.as_str()));
    }
    Ok(SpotsPage {
        chrome: Chrome::new(&c, format!("{} · 点位台账", camp.title), "campaigns"),
        id,
        title: camp.title,
        filters,
        lines: rows
            .into_iter()
            .map(|r| {
                let ph = Phase::parse(&r.phase).unwrap_or(Phase::Surveyed);
                SpotLine {
                    id: r.id,
                    party: crate::identity::mask_name(&r.party),
                    measure: format!("{}{}", trim_num(r.measure), camp.unit),
                    phase: ph.label(),
                    phase_class: phase_class(ph),
                    found: crate::time::when_ms(r.found_at, now),
                    visits: r.visits,
                    place: r.place,
                }
            })
            .collect(),
        total,
        pager: pager(&base, page, 30, total),
        export_href: export,
    }
    .into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_spot_new.html")]
struct NewSpotPage {
    chrome: Chrome,
    error: String,
    id: Uuid,
    title: String,
    unit: String,
    /// The nodes the officer may pick when the phone cannot locate them.
    grids: Vec<(String, String)>,
}

async fn new_spot_page(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Notice>) -> PageResult {
    let p = &c.principal;
    let (camp, mine) = service::campaign_for(&s.db, p, id).await?;
    let roots = service::act_roots(p, &camp, &mine);
    let mut grids = Vec::new();
    for r in roots.iter().take(20) {
        if let Some(g) = crate::grid::store::get(&s.db, r).await? {
            grids.push((g.code.clone(), g.name.clone()));
        }
        if r.len() < code_len(5) {
            for child in crate::grid::store::children(&s.db, r, 40, 0).await? {
                grids.push((child.code, format!("　{}", child.name)));
            }
        }
    }
    if grids.is_empty() {
        return Err(AppError::not_found("该专项行动").into());
    }
    Ok(NewSpotPage {
        chrome: Chrome::new(&c, "登记点位", "campaigns"),
        error: clip(&q.err),
        id,
        title: camp.title,
        unit: camp.unit,
        grids,
    }
    .into_response())
}

fn number(s: &str, code: &'static str, message: &str) -> Result<f64, AppError> {
    let s = crate::identity::half_width(s.trim());
    if s.is_empty() {
        return Ok(0.0);
    }
    s.parse::<f64>().map_err(|_| AppError::invalid(code, message.to_string()))
}

async fn add_spot(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, req: Request) -> PageResult {
    let f = photo_form::read(req).await?;
    check_csrf(&c, &f.field("csrf"))?;
    let form = format!("/console/campaigns/{id}/spots/new");
    let r = async {
        let (lat, lng) = (
            crate::web::photo_form::coordinate(&f.field("lat"))?,
            crate::web::photo_form::coordinate(&f.field("lng"))?,
        );
        let grid = f.field("grid");
        let n = NewSpot {
            place: f.field("place"),
            party: f.field("party"),
            measure: number(&f.field("measure"), "invalid_measure", "数量应为数字")?,
            note: f.field("note"),
            // A chosen node wins over a position the phone guessed.
            grid: (!grid.trim().is_empty()).then_some(grid),
            lat,
            lng,
        };
        let photo = match &f.photo {
            Some(b) => Some(service::keep_photo(&s, &c.principal, id, b).await?),
            None => None,
        };
        service::add_spot(&s, &c.principal, id, &n, photo.as_deref()).await
    }
    .await;
    match r {
        Ok(spot) => Ok(axum::response::Redirect::to(&format!(
            "/console/campaigns/{id}/spots/{}?msg={}",
            spot.id,
            url_encode("点位已登记")
        ))
        .into_response()),
        Err(e) => back_to(&form, Err(e)),
    }
}

struct Step {
    when: String,
    what: String,
    by: String,
    photo: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_spot.html")]
struct SpotPage {
    chrome: Chrome,
    notice: String,
    error: String,
    id: Uuid,
    spot: Uuid,
    title: String,
    place: String,
    party: String,
    measure: String,
    phase: &'static str,
    phase_class: &'static str,
    open: bool,
    escalated: bool,
    cleared: bool,
    reinspect: String,
    case: Option<Uuid>,
    has_photo: bool,
    has_after: bool,
    steps: Vec<Step>,
    may_act: bool,
    outcomes: Vec<(&'static str, &'static str)>,
    categories: Vec<(String, String)>,
}

fn step_words(a: &store::ActionRow) -> String {
    let people = if a.people > 1 {
        format!("（{}人）", a.people)
    } else {
        String::new()
    };
    let what = match a.action.as_str() {
        "found" => "摸排登记".to_string(),
        "visit" => format!("上门劝导{people}：{}", Outcome::parse(&a.outcome).map_or("", Outcome::label)),
        "notice" => "发送通知".to_string(),
        "self_cleared" => "住户自行清理，已拍照核实".to_string(),
        "cleared" => format!("工作队清理{people}"),
        "escalate" => "移交部门处理（已生成案件）".to_string(),
        "reinspect" if a.outcome == "recurred" => "复查：出现反弹，重新劝导".to_string(),
        "reinspect" => "复查：保持清理".to_string(),
        _ => "其他".to_string(),
    };
    if a.note.is_empty() { what } else { format!("{what}。{}", a.note) }
}

async fn spot_page(
    State(s): State<CampaignsState>,
    c: Console,
    Path((id, spot)): Path<(Uuid, Uuid)>,
    Query(q): Query<Notice>,
) -> PageResult {
    let p = &c.principal;
    let (camp, mine, row) = service::spot_for(&s.db, p, id, spot).await?;
    let ph = Phase::parse(&row.phase).unwrap_or(Phase::Surveyed);
    let now = now_ms();
    let steps = store::actions(&s.db, row.id)
        .await?
        .iter()
        .map(|a| Step {
            when: crate::time::when_ms(a.at_ms, now),
            what: step_words(a),
            by: a.by_name.clone(),
            photo: a.photo_sha256.is_some(),
        })
        .collect();
    let may_act = service::may_act(p, &camp, &mine, &row.grid_code);
    let categories = if ph == Phase::Surveyed || ph == Phase::Persuading {
        crate::cases::categories::list(&s.db, &p.district)
            .await?
            .into_iter()
            .filter(|x| x.is_leaf() && x.active)
            .map(|x| (x.code, x.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(SpotPage {
        chrome: Chrome::new(&c, "点位", "campaigns"),
        notice: clip(&q.msg),
        error: clip(&q.err),
        id,
        spot: row.id,
        title: camp.title,
        party: crate::identity::mask_name(&row.party),
        measure: format!("{}{}", trim_num(row.measure), camp.unit),
        phase: ph.label(),
        phase_class: phase_class(ph),
        open: matches!(ph, Phase::Surveyed | Phase::Persuading),
        escalated: ph == Phase::Escalated,
        cleared: ph.is_cleared(),
        reinspect: row.reinspect_at.map(day_ms).unwrap_or_default(),
        case: row.case_id,
        has_photo: kept(&s, &row.photo_sha256).await,
        has_after: kept(&s, &row.after_sha256).await,
        place: row.place,
        steps,
        may_act,
        outcomes: [Outcome::Agreed, Outcome::Refused, Outcome::NotReached]
            .iter()
            .map(|o| (o.as_str(), o.label()))
            .collect(),
        categories,
    }
    .into_response())
}

/// Whether the spot's photo is on disk (the demo's spots name photos it never wrote).
async fn kept(s: &CampaignsState, sha: &Option<String>) -> bool {
    match sha {
        Some(x) => crate::cases::attachments::is_kept(&s.cases.data_dir, x).await,
        None => false,
    }
}

async fn act(State(s): State<CampaignsState>, c: Console, Path((id, spot)): Path<(Uuid, Uuid)>, req: Request) -> PageResult {
    let f = photo_form::read(req).await?;
    check_csrf(&c, &f.field("csrf"))?;
    let to = format!("/console/campaigns/{id}/spots/{spot}");
    let r = async {
        let people = crate::identity::half_width(f.field("people").trim());
        let a = SpotAction {
            action: f.field("action"),
            outcome: f.field("outcome"),
            people: match people.as_str() {
                "" => None,
                x => Some(
                    x.parse::<i64>()
                        .map_err(|_| AppError::invalid("invalid_people", "参与人数应为1至50人"))?,
                ),
            },
            note: f.field("note"),
            category: f.field("category"),
        };
        let photo = match &f.photo {
            Some(b) => Some(service::keep_photo(&s, &c.principal, id, b).await?),
            None => None,
        };
        service::act(&s, &c.principal, id, spot, &a, photo.as_deref()).await
    }
    .await;
    back_to(&to, r.map(|_| "已记录"))
}

async fn photo(State(s): State<CampaignsState>, c: Console, Path((id, spot)): Path<(Uuid, Uuid)>, Query(q): Query<Notice>) -> PageResult {
    let bytes = service::photo(&s.db, &s.cases.data_dir, &c.principal, id, spot, q.after.as_deref() == Some("1")).await?;
    Ok(crate::cases::attachments::photo_response(bytes))
}
