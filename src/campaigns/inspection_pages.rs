//! Checklist pages (测评): the places' latest scores, the phone form that scores a place item by
//! item with a photo for each failure (or re-checks what failed), and one inspection's marks.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use super::CampaignsState;
use super::api::spot_root;
use super::service::{self, MarkInput, NewInspection};
use super::store;
use crate::db::now_ms;
use crate::error::AppError;
use crate::grid::rules::code_len;
use crate::web::extract::{Path, Query};
use crate::web::pages::{Chrome, PageResult, back_to, pager, url_encode};
use crate::web::photo_form::{self, MAX_PHOTO};
use crate::web::session::{Console, check_csrf};

/// The largest inspection form: a few phone photos of failed items at once.
const MAX_FORM: usize = 4 * MAX_PHOTO + 256 * 1024;

pub fn routes() -> Router<CampaignsState> {
    Router::new()
        .route("/console/campaigns/{id}/inspections", get(list_page))
        .route(
            "/console/campaigns/{id}/inspections/new",
            get(new_page).post(submit).layer(DefaultBodyLimit::max(MAX_FORM)),
        )
        .route("/console/campaigns/{id}/inspections/{inspection}", get(inspection_page))
        .route("/console/campaigns/{id}/inspections/{inspection}/photos/{item}", get(photo))
}

#[derive(Deserialize, Default)]
struct Params {
    msg: Option<String>,
    err: Option<String>,
    grid: Option<String>,
    recheck: Option<Uuid>,
    page: Option<i64>,
}

fn clip(s: &Option<String>) -> String {
    s.as_deref().unwrap_or("").chars().take(200).collect()
}

struct PlaceLine {
    id: Uuid,
    place: String,
    score: String,
    failed: i64,
    recheck: bool,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_inspections.html")]
struct ListPage {
    chrome: Chrome,
    id: Uuid,
    title: String,
    items: i64,
    lines: Vec<PlaceLine>,
    total: i64,
    may_inspect: bool,
    pager: String,
}

const PER_PAGE: i64 = 50;

async fn list_page(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Params>) -> PageResult {
    let p = &c.principal;
    let (camp, mine) = service::campaign_for(&s.db, p, id).await?;
    let items = store::checklist(&s.db, camp.id).await?.len() as i64;
    let root = spot_root(p, &camp, &mine, q.grid.as_deref())?;
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let (rows, total) = store::latest_per_place(&s.db, camp.id, &root, PER_PAGE, (page - 1) * PER_PAGE).await?;
    let now = now_ms();
    Ok(ListPage {
        chrome: Chrome::new(&c, "测评记录", "campaigns"),
        id,
        title: camp.title.clone(),
        items,
        lines: rows
            .into_iter()
            .map(|r| PlaceLine {
                id: r.id,
                score: format!("{}/{}", items - r.failed, items),
                failed: r.failed,
                recheck: r.recheck_of.is_some(),
                when: crate::time::when_ms(r.at_ms, now),
                place: r.grid_name,
            })
            .collect(),
        total,
        may_inspect: items > 0 && !service::act_roots(p, &camp, &mine).is_empty(),
        pager: pager(&format!("/console/campaigns/{id}/inspections"), page, PER_PAGE, total),
    }
    .into_response())
}

/// The places the caller may score: their teams' nodes and registry-writing posts inside the
/// campaign, with the compounds under each (at most a few hundred).
async fn inspect_places(
    s: &CampaignsState,
    p: &crate::auth::Principal,
    camp: &store::CampaignRow,
    mine: &[store::TeamRow],
) -> Result<Vec<(String, String)>, AppError> {
    let roots = service::act_roots(p, camp, mine);
    let mut places = Vec::new();
    for r in roots.iter().take(20) {
        if let Some(g) = crate::grid::store::get(&s.db, r).await? {
            places.push((g.code.clone(), g.name.clone()));
        }
        // A street's or community's compounds; a compound's buildings are not scored one by one.
        if r.len() < code_len(4) {
            for child in crate::grid::store::children(&s.db, r, 60, 0).await? {
                let indent = if child.level < 4 { "　" } else { "　　" };
                places.push((child.code.clone(), format!("{indent}{}", child.name)));
                if child.level < 4 && r.len() >= code_len(2) {
                    for c in crate::grid::store::children(&s.db, &child.code, 60, 0).await? {
                        places.push((c.code, format!("　　{}", c.name)));
                    }
                }
            }
        }
    }
    Ok(places)
}

struct ItemLine {
    id: Uuid,
    position: i64,
    text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_inspect.html")]
struct NewPage {
    chrome: Chrome,
    error: String,
    id: Uuid,
    title: String,
    /// For a re-check: the inspection, its place and the items it failed; else the places.
    recheck: Option<Uuid>,
    place: String,
    grid: String,
    places: Vec<(String, String)>,
    items: Vec<ItemLine>,
}

async fn new_page(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, Query(q): Query<Params>) -> PageResult {
    let p = &c.principal;
    let (camp, mine) = service::campaign_for(&s.db, p, id).await?;
    let checklist = store::checklist(&s.db, camp.id).await?;
    if checklist.is_empty() {
        return Err(AppError::invalid("no_checklist", "本次行动没有测评清单").into());
    }
    let (recheck, place, grid, places, items) = match q.recheck {
        Some(r) => {
            let (_, _, ins) = service::inspection_for(&s.db, p, id, r).await?;
            if !service::may_act(p, &camp, &mine, &ins.grid_code) {
                return Err(AppError::forbidden_to("只有工作队队员和网格工作人员可以复查").into());
            }
            let failing: Vec<Uuid> = store::marks(&s.db, r)
                .await?
                .into_iter()
                .filter(|m| !m.passed)
                .map(|m| m.item_id)
                .collect();
            let items = checklist.into_iter().filter(|i| failing.contains(&i.id)).collect::<Vec<_>>();
            (Some(r), ins.grid_name, ins.grid_code, Vec::new(), items)
        }
        None => {
            let places = inspect_places(&s, p, &camp, &mine).await?;
            if places.is_empty() {
                return Err(AppError::forbidden_to("只有工作队队员和网格工作人员可以测评").into());
            }
            (None, String::new(), q.grid.clone().unwrap_or_default(), places, checklist)
        }
    };
    Ok(NewPage {
        chrome: Chrome::new(&c, if recheck.is_some() { "复查" } else { "测评" }, "campaigns"),
        error: clip(&q.err),
        id,
        title: camp.title,
        recheck,
        place,
        grid,
        places,
        items: items
            .into_iter()
            .map(|i| ItemLine {
                id: i.id,
                position: i.position,
                text: i.text,
            })
            .collect(),
    }
    .into_response())
}

async fn submit(State(s): State<CampaignsState>, c: Console, Path(id): Path<Uuid>, req: Request) -> PageResult {
    let f = photo_form::read(req).await?;
    check_csrf(&c, &f.field("csrf"))?;
    let recheck = f.field("recheck").trim().parse::<Uuid>().ok();
    let form = match recheck {
        Some(r) => format!("/console/campaigns/{id}/inspections/new?recheck={r}"),
        None => format!(
            "/console/campaigns/{id}/inspections/new?grid={}",
            url_encode(f.field("grid").trim())
        ),
    };
    let r = async {
        let mut marks = Vec::new();
        // Items are the form's `mark_<id>` fields; each failure's photo is `photo_<id>`.
        for (name, value) in &f.fields {
            let Some(item) = name.strip_prefix("mark_").and_then(|x| x.parse::<Uuid>().ok()) else {
                continue;
            };
            let passed = match value.as_str() {
                "pass" => true,
                "fail" => false,
                _ => continue,
            };
            let photo = match f.photos.get(&item.to_string()) {
                Some(b) if !passed => Some(service::keep_photo(&s, &c.principal, id, b).await?),
                _ => None,
            };
            marks.push(MarkInput {
                item,
                passed,
                photo,
                note: f.field(&format!("note_{item}")),
            });
        }
        let n = NewInspection {
            grid: f.field("grid"),
            recheck_of: recheck,
            note: f.field("note"),
            marks,
        };
        service::inspect(&s, &c.principal, id, &n).await
    }
    .await;
    match r {
        Ok(ins) => {
            let msg = if ins.failed == 0 {
                "测评已提交：全部合格".to_string()
            } else {
                format!("测评已提交：{}项不合格，整改后请复查", ins.failed)
            };
            Ok(
                axum::response::Redirect::to(&format!("/console/campaigns/{id}/inspections/{}?msg={}", ins.id, url_encode(&msg)))
                    .into_response(),
            )
        }
        Err(e) => back_to(&form, Err(e)),
    }
}

struct MarkLine {
    item: Uuid,
    position: i64,
    text: String,
    passed: bool,
    photo: bool,
    note: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "campaign_inspection.html")]
struct InspectionPage {
    chrome: Chrome,
    notice: String,
    id: Uuid,
    inspection: Uuid,
    title: String,
    place: String,
    recheck: bool,
    passed: i64,
    failed: i64,
    note: String,
    by: String,
    when: String,
    marks: Vec<MarkLine>,
    /// The place's latest, failing, and the caller may score the place: offer 复查.
    may_recheck: bool,
    /// A newer inspection of the place, when this one is not the latest.
    newer: Option<Uuid>,
}

async fn inspection_page(
    State(s): State<CampaignsState>,
    c: Console,
    Path((id, inspection)): Path<(Uuid, Uuid)>,
    Query(q): Query<Params>,
) -> PageResult {
    let p = &c.principal;
    let (camp, mine, ins) = service::inspection_for(&s.db, p, id, inspection).await?;
    let mut marks = Vec::new();
    for m in store::marks(&s.db, ins.id).await? {
        // A link only for a photo the server holds (the demo's marks name a digest without a file).
        let photo = match &m.photo_sha256 {
            Some(sha) => crate::cases::attachments::is_kept(&s.cases.data_dir, sha).await,
            None => false,
        };
        marks.push(MarkLine {
            item: m.item_id,
            position: m.position,
            text: m.text,
            passed: m.passed,
            photo,
            note: m.note,
        });
    }
    let history = store::place_inspections(&s.db, camp.id, &ins.grid_code).await?;
    let newer = history.first().map(|h| h.id).filter(|h| *h != ins.id);
    Ok(InspectionPage {
        chrome: Chrome::new(&c, "测评结果", "campaigns"),
        notice: clip(&q.msg),
        id,
        inspection: ins.id,
        title: camp.title.clone(),
        recheck: ins.recheck_of.is_some(),
        passed: ins.passed,
        failed: ins.failed,
        note: ins.note.clone(),
        by: ins.by_name.clone(),
        when: crate::time::when_ms(ins.at_ms, now_ms()),
        may_recheck: newer.is_none() && ins.failed > 0 && service::may_act(p, &camp, &mine, &ins.grid_code),
        newer,
        place: ins.grid_name,
        marks,
    }
    .into_response())
}

async fn photo(State(s): State<CampaignsState>, c: Console, Path((id, inspection, item)): Path<(Uuid, Uuid, Uuid)>) -> PageResult {
    let (_, _, ins) = service::inspection_for(&s.db, &c.principal, id, inspection).await?;
    let sha = store::marks(&s.db, ins.id)
        .await?
        .into_iter()
        .find(|m| m.item_id == item)
        .and_then(|m| m.photo_sha256)
        .ok_or_else(|| AppError::not_found("该照片"))?;
    let bytes = crate::cases::attachments::read_kept(&s.cases.data_dir, &sha).await?;
    Ok(crate::cases::attachments::photo_response(bytes))
}
