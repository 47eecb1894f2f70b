//! Five-star operations, shared by the API, the pages and the demo: who may do what on a
//! scorecard (the community assesses its own, the street reviews its communities', the district
//! rates and configures), the product's prefilled figures, evidence files and the district list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Action, Actor, Config, Figures, Kind, Outcome, Refusal, Star, Status};
use super::store::{self, CardRow, CommunityRow, EntryRow, FileRow, SnapshotRow, VerdictRow};
use crate::audit;
use crate::auth::{Capability, Principal, Role};
use crate::cases::attachments::sha256_hex;
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};

fn holds(p: &Principal, role: Role, grid: &str) -> bool {
    p.posts
        .iter()
        .any(|x| x.role == role && x.grid_code.as_deref().is_some_and(|g| grid.starts_with(g)))
}

/// Whether `actor` is one of the caller's parts over the community `grid`: its community staff,
/// its street's staff, the district administration.
pub fn acts_as(p: &Principal, actor: Actor, grid: &str) -> bool {
    match actor {
        Actor::Community => holds(p, Role::CommunityStaff, grid),
        Actor::Street => holds(p, Role::StreetStaff, grid),
        Actor::District => holds(p, Role::DistrictAdmin, grid),
    }
}

/// The year's start and end in China time, as milliseconds.
pub fn year_range(year: i64) -> (i64, i64) {
    let at = |y: i64| {
        jiff::civil::date(y as i16, 1, 1)
            .to_zoned(crate::time::china())
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    };
    (at(year), at(year + 1))
}

/// The China-time year and quarter of an instant.
pub fn quarter_at(ms: i64) -> (i64, i64) {
    let month = crate::time::month_ms(ms);
    let y = month.get(..4).and_then(|s| s.parse().ok()).unwrap_or(2026);
    let m = month.get(5..7).and_then(|s| s.parse().ok()).unwrap_or(1);
    (y, rules::quarter_of_month(m))
}

pub fn check_year(year: i64) -> AppResult<i64> {
    if (2000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::invalid("invalid_year", "年度应为2000至2100"))
    }
}

/// The configuration of the district's year: the saved one, or the defaults.
pub async fn config(db: &Db, district: &str, year: i64) -> AppResult<Config> {
    Ok(match store::config(db, district, year).await? {
        Some(body) => serde_json::from_str(&body).unwrap_or_else(|_| rules::defaults()),
        None => rules::defaults(),
    })
}

/// Whether the caller reads stars at all (grid staff do).
fn reads_some(p: &Principal) -> AppResult<()> {
    if p.has(Capability::ReadRegistry) {
        Ok(())
    } else {
        Err(AppError::forbidden_to("您的岗位不能查看五星支部创建"))
    }
}

/// Save the year's configuration (district administration only).
pub async fn save_config(db: &Db, p: &Principal, year: i64, cfg: &Config) -> AppResult<()> {
    reads_some(p)?;
    let year = check_year(year)?;
    if !acts_as(p, Actor::District, &p.district) {
        return Err(AppError::forbidden_to("只有区级可以设置五星标准"));
    }
    rules::validate(cfg).map_err(|m| AppError::invalid("invalid_config", m))?;
    let body = serde_json::to_string(cfg).map_err(|e| anyhow::anyhow!("config: {e}"))?;
    let mut tx = db.begin().await?;
    store::save_config(&mut tx, &p.district, year, &body, &p.display_name, now_ms()).await?;
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "stars.config",
            target_kind: "district",
            target_id: &p.district,
            reason: "",
            detail: json!({"year": year, "urban": cfg.urban.len(), "village": cfg.village.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The grid a list reads: the one asked for if the caller reads it, else the caller's widest.
pub fn list_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    reads_some(p)?;
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .next()
            .ok_or_else(|| AppError::forbidden_to("您的岗位不能查看五星支部创建")),
    }
}

/// One star of a community in the list.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct StarOutcome {
    pub code: String,
    pub name: String,
    pub status: Outcome,
    /// Why it was denied (or the district's note on an award); null while pending.
    pub reason: Option<String>,
}

impl StarOutcome {
    /// The tag colour a page shows it in.
    pub fn tag(&self) -> &'static str {
        match self.status {
            Outcome::Awarded => "ok",
            Outcome::Denied => "danger",
            Outcome::Pending => "grey",
        }
    }
}

/// A community (or village) with its stars.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
pub struct ListItem {
    pub grid: String,
    pub name: String,
    #[serde(skip)]
    pub street: String,
    #[serde(skip)]
    pub street_name: String,
    #[serde(skip)]
    pub card_status: Option<Status>,
    pub stars: Vec<StarOutcome>,
}

impl ListItem {
    pub fn awarded(&self) -> usize {
        self.stars.iter().filter(|s| s.status == Outcome::Awarded).count()
    }
}

/// Every community under `root` with its stars of `year`.
pub async fn list(db: &Db, district: &str, root: &str, year: i64) -> AppResult<Vec<ListItem>> {
    let cfg = config(db, district, year).await?;
    let communities = store::communities(db, district, root).await?;
    let mut ratings: HashMap<(String, String), (Option<String>, String)> = HashMap::new();
    for r in store::ratings(db, district, root, year).await? {
        ratings.insert((r.grid_code, r.star_code), (r.rating, r.reason));
    }
    let statuses: HashMap<String, String> = store::statuses(db, district, root, year).await?.into_iter().collect();
    Ok(communities
        .into_iter()
        .map(|c| {
            let kind = Kind::of_grid_kind(&c.kind);
            let stars = cfg
                .stars(kind)
                .iter()
                .map(|s| {
                    let (rating, reason) = ratings.get(&(c.code.clone(), s.code.clone())).cloned().unwrap_or_default();
                    let status = Outcome::of(rating.as_deref());
                    StarOutcome {
                        code: s.code.clone(),
                        name: s.name.clone(),
                        status,
                        reason: (status != Outcome::Pending).then_some(reason),
                    }
                })
                .collect();
            ListItem {
                card_status: statuses.get(&c.code).and_then(|s| Status::parse(s)),
                grid: c.code,
                name: c.name,
                street: c.street_code,
                street_name: c.street_name,
                stars,
            }
        })
        .collect())
}

/// The community `grid` if the caller reads it: 404 outside their scope or not a community.
pub async fn community(db: &Db, p: &Principal, grid: &str) -> AppResult<CommunityRow> {
    reads_some(p)?;
    let grid = grid.trim();
    if grid.len() != crate::grid::rules::code_len(3) || !p.can(Capability::ReadRegistry, grid) {
        return Err(AppError::not_found("该社区"));
    }
    store::communities(db, &p.district, grid)
        .await?
        .into_iter()
        .find(|c| c.code == grid)
        .ok_or_else(|| AppError::not_found("该社区"))
}

/// The product's own figures for a community and year.
pub async fn figures(db: &Db, district: &str, grid: &str, year: i64) -> AppResult<Figures> {
    let (from, to) = year_range(year);
    let (cases, closed, meetings, hours) = store::figures(db, district, grid, from, to).await?;
    let cov = crate::property::service::coverage_summary(db, district, grid).await?;
    Ok(Figures {
        cases,
        cases_closed: closed,
        volunteer_hours: hours,
        meetings_held: meetings,
        compounds: cov.compounds,
        covered: cov.covered,
        three_nos: cov.three_nos,
    })
}

/// A scorecard as its page and the API show it.
pub struct CardView {
    pub community: CommunityRow,
    pub kind: Kind,
    pub year: i64,
    pub card: Option<CardRow>,
    pub stars: Vec<Star>,
    pub entries: Vec<EntryRow>,
    pub verdicts: Vec<VerdictRow>,
    pub files: Vec<FileRow>,
    pub snapshots: Vec<SnapshotRow>,
    pub figures: Figures,
}

impl CardView {
    pub fn status(&self) -> Status {
        self.card.as_ref().and_then(|c| Status::parse(&c.status)).unwrap_or(Status::Draft)
    }

    pub fn entry(&self, star: &str, criterion: &str) -> Option<&EntryRow> {
        self.entries.iter().find(|e| e.star_code == star && e.criterion == criterion)
    }

    pub fn verdict(&self, star: &str) -> Option<&VerdictRow> {
        self.verdicts.iter().find(|v| v.star_code == star)
    }

    pub fn star_score(&self, star: &Star) -> f64 {
        rules::star_score(star, |c| self.entry(&star.code, c).map(|e| e.score))
    }
}

/// Load a community's card of `year` (an empty draft if none yet), for a reader of it.
pub async fn load(db: &Db, p: &Principal, grid: &str, year: i64) -> AppResult<CardView> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    let kind = Kind::of_grid_kind(&community.kind);
    let cfg = config(db, &p.district, year).await?;
    let card = store::card(db, &p.district, &community.code, year).await?;
    let (entries, verdicts, files, snapshots) = match &card {
        Some(c) => (
            store::entries(db, c.id).await?,
            store::verdicts(db, c.id).await?,
            store::files(db, c.id).await?,
            store::snapshots(db, c.id).await?,
        ),
        None => Default::default(),
    };
    let figures = figures(db, &p.district, &community.code, year).await?;
    Ok(CardView {
        kind,
        year,
        card,
        stars: cfg.stars(kind).to_vec(),
        entries,
        verdicts,
        files,
        snapshots,
        figures,
        community,
    })
}

fn refused(r: Refusal, actor: Actor, status: Status) -> AppError {
    match r {
        Refusal::NotYours => AppError::forbidden_to(match actor {
            Actor::Community => "只有本社区（村）可以自评和提交",
            Actor::Street => "只有所属街道可以审核",
            Actor::District => "只有区级可以评定",
        }),
        Refusal::WrongState => AppError::conflict("wrong_state", format!("该评星表当前为“{}”，不能进行此操作", status.label())),
    }
}

/// The caller's part over the card for `action`, or why not.
fn check_actor(p: &Principal, grid: &str, action: Action, status: Status) -> AppResult<Actor> {
    let actor = rules::ACTORS
        .into_iter()
        .find(|a| acts_as(p, *a, grid) && rules::next(status, *a, action) != Err(Refusal::NotYours));
    match actor {
        Some(a) => {
            rules::next(status, a, action).map_err(|r| refused(r, a, status))?;
            Ok(a)
        }
        None => {
            let needed = match action {
                Action::Assess | Action::Submit => Actor::Community,
                Action::Review { .. } => Actor::Street,
                Action::Rate => Actor::District,
            };
            Err(refused(Refusal::NotYours, needed, status))
        }
    }
}

/// An evidence link: a case, a volunteer activity or a council meeting of the community.
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct Link {
    /// case, activity or meeting
    pub kind: String,
    pub id: Uuid,
}

/// One criterion's self-assessment.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct EntryInput {
    pub star: String,
    pub criterion: String,
    /// 0–100.
    pub score: i64,
    /// At most 500 characters.
    #[serde(default)]
    pub note: String,
    /// At most 20 links to the community's own cases, activities and meetings.
    #[serde(default)]
    pub links: Vec<Link>,
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct AssessInput {
    pub entries: Vec<EntryInput>,
}

fn star_of<'a>(stars: &'a [Star], code: &str) -> AppResult<&'a Star> {
    stars
        .iter()
        .find(|s| s.code == code)
        .ok_or_else(|| AppError::invalid("unknown_star", format!("没有星级“{}”", code.chars().take(32).collect::<String>())))
}

async fn audit_card(tx: &mut crate::db::Tx, p: &Principal, action: &str, card: &CardRow, detail: serde_json::Value) -> AppResult<()> {
    audit::record(
        tx,
        p.actor(),
        audit::Entry {
            district: &card.district,
            action,
            target_kind: "star_card",
            target_id: &card.id.to_string(),
            reason: "",
            detail,
        },
    )
    .await?;
    Ok(())
}

/// Record this quarter's snapshot of the card's self-assessment.
async fn snapshot(tx: &mut crate::db::Tx, card: &CardRow, stars: &[Star], now: i64) -> AppResult<()> {
    let entries = store::entries_tx(tx, card.id).await?;
    let mut body = serde_json::Map::new();
    let mut total = 0.0;
    for s in stars {
        let v = rules::star_score(s, |c| {
            entries.iter().find(|e| e.star_code == s.code && e.criterion == c).map(|e| e.score)
        });
        total += v;
        body.insert(s.code.clone(), json!((v * 10.0).round() / 10.0));
    }
    let score = if stars.is_empty() { 0.0 } else { total / stars.len() as f64 };
    let (y, q) = quarter_at(now);
    // A card of another year keeps its snapshots in that year's last quarter reached.
    let q = if y == card.year {
        q
    } else if y > card.year {
        4
    } else {
        1
    };
    store::snapshot(
        tx,
        card.id,
        q,
        (score * 10.0).round() / 10.0,
        &serde_json::Value::Object(body).to_string(),
        now,
    )
    .await?;
    Ok(())
}

/// Save the community's self-assessment (scores, notes, links); the card is made on first save.
pub async fn assess(db: &Db, p: &Principal, grid: &str, year: i64, input: &AssessInput) -> AppResult<CardRow> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    let existing = store::card(db, &p.district, &community.code, year).await?;
    let status = existing.as_ref().and_then(|c| Status::parse(&c.status)).unwrap_or(Status::Draft);
    check_actor(p, &community.code, Action::Assess, status)?;
    let kind = Kind::of_grid_kind(&community.kind);
    let cfg = config(db, &p.district, year).await?;
    let stars = cfg.stars(kind);
    if input.entries.is_empty() || input.entries.len() > 80 {
        return Err(AppError::invalid("invalid_entries", "请填写1至80项自评"));
    }
    let now = now_ms();
    let mut rows = Vec::with_capacity(input.entries.len());
    for e in &input.entries {
        let s = star_of(stars, &e.star)?;
        if !s.criteria.iter().any(|c| c.code == e.criterion) {
            return Err(AppError::invalid("unknown_criterion", format!("“{}”没有这项细则", s.name)));
        }
        if !(0..=100).contains(&e.score) {
            return Err(AppError::invalid("invalid_score", "分数应为0至100的整数"));
        }
        let note = e.note.trim();
        if note.chars().count() > 500 || note.chars().any(|c| c.is_control() && c != '\n') {
            return Err(AppError::invalid("invalid_note", "自评说明不超过500字"));
        }
        if e.links.len() > 20 {
            return Err(AppError::invalid("invalid_links", "每项细则最多关联20条记录"));
        }
        for l in &e.links {
            let at = store::link_grid(db, &l.kind, l.id).await?;
            if !at.is_some_and(|g| g.starts_with(&community.code)) {
                return Err(AppError::invalid("invalid_link", "关联的案件、活动或会议应为本社区（村）的记录"));
            }
        }
        rows.push(EntryRow {
            star_code: s.code.clone(),
            criterion: e.criterion.clone(),
            score: e.score,
            note: note.to_string(),
            links: serde_json::to_string(&e.links).unwrap_or_else(|_| "[]".into()),
            updated_by: p.display_name.clone(),
            updated_at: now,
        });
    }
    let mut tx = db.begin().await?;
    let card = store::card_in_tx(&mut tx, &p.district, &community.code, year, kind.as_str(), new_id(), now).await?;
    let status = Status::parse(&card.status).unwrap_or(Status::Draft);
    check_actor(p, &community.code, Action::Assess, status)?;
    if !store::set_status(&mut tx, card.id, &card.status, &card.status, None, now).await? {
        return Err(AppError::conflict("card_changed", "该评星表刚被他人处理，请刷新后再看"));
    }
    for r in &rows {
        store::upsert_entry(&mut tx, card.id, r).await?;
    }
    snapshot(&mut tx, &card, stars, now).await?;
    audit_card(
        &mut tx,
        p,
        "stars.assess",
        &card,
        json!({"grid": card.grid_code, "year": year, "entries": rows.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(card)
}

/// Submit the self-assessment to the street.
pub async fn submit(db: &Db, p: &Principal, grid: &str, year: i64) -> AppResult<()> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    let card = store::card(db, &p.district, &community.code, year).await?;
    let status = card.as_ref().and_then(|c| Status::parse(&c.status)).unwrap_or(Status::Draft);
    check_actor(p, &community.code, Action::Submit, status)?;
    let card = card.ok_or_else(|| AppError::conflict("nothing_assessed", "请先填写自评再提交"))?;
    let cfg = config(db, &p.district, year).await?;
    let stars = cfg.stars(Kind::of_grid_kind(&community.kind));
    let entries = store::entries(db, card.id).await?;
    let missing: Vec<&str> = stars
        .iter()
        .filter(|s| {
            !s.criteria
                .iter()
                .all(|c| entries.iter().any(|e| e.star_code == s.code && e.criterion == c.code))
        })
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "incomplete",
            format!("以下星级的细则尚未全部自评：{}", missing.join("、")),
        ));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    if !store::set_status(
        &mut tx,
        card.id,
        status.as_str(),
        Status::Submitted.as_str(),
        Some("submitted_at"),
        now,
    )
    .await?
    {
        return Err(AppError::conflict("card_changed", "该评星表刚被他人处理，请刷新后再看"));
    }
    snapshot(&mut tx, &card, stars, now).await?;
    audit_card(&mut tx, p, "stars.submit", &card, json!({"grid": card.grid_code, "year": year})).await?;
    tx.commit().await?;
    Ok(())
}

/// The street's verdict on one star.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct ReviewVerdict {
    pub star: String,
    /// agree or back (send back for changes, with a comment)
    pub verdict: String,
    #[serde(default)]
    pub comment: String,
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct ReviewInput {
    /// One verdict for every star of the card.
    pub verdicts: Vec<ReviewVerdict>,
}

fn comment(raw: &str, what: &str) -> AppResult<String> {
    let s = raw.trim();
    if s.chars().count() > 200 || s.chars().any(char::is_control) {
        return Err(AppError::invalid("invalid_comment", format!("{what}不超过200字")));
    }
    Ok(s.to_string())
}

/// The street reviews every star of a submitted card: all agreed → reviewed; any sent back →
/// returned to the community.
pub async fn review(db: &Db, p: &Principal, grid: &str, year: i64, input: &ReviewInput) -> AppResult<Status> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    let card = store::card(db, &p.district, &community.code, year).await?;
    let status = card.as_ref().and_then(|c| Status::parse(&c.status)).unwrap_or(Status::Draft);
    let any_back = input.verdicts.iter().any(|v| v.verdict == "back");
    check_actor(p, &community.code, Action::Review { any_back }, status)?;
    let card = card.ok_or_else(|| AppError::conflict("wrong_state", "该社区尚未提交自评"))?;
    let cfg = config(db, &p.district, year).await?;
    let stars = cfg.stars(Kind::of_grid_kind(&community.kind));
    let mut verdicts = Vec::new();
    for s in stars {
        let v = input
            .verdicts
            .iter()
            .find(|v| v.star == s.code)
            .ok_or_else(|| AppError::invalid("incomplete", format!("请审核“{}”", s.name)))?;
        if !["agree", "back"].contains(&v.verdict.as_str()) {
            return Err(AppError::invalid("invalid_verdict", "审核意见应为 agree（同意）或 back（退回）"));
        }
        let c = comment(&v.comment, "审核意见")?;
        if v.verdict == "back" && c.is_empty() {
            return Err(AppError::invalid("comment_required", format!("退回“{}”须填写意见", s.name)));
        }
        verdicts.push((s.code.clone(), v.verdict.clone(), c));
    }
    if input.verdicts.len() != stars.len() {
        return Err(AppError::invalid("invalid_verdict", "每个星级填写一条审核意见"));
    }
    let to = if any_back { Status::Returned } else { Status::Reviewed };
    let now = now_ms();
    let mut tx = db.begin().await?;
    if !store::set_status(&mut tx, card.id, status.as_str(), to.as_str(), Some("reviewed_at"), now).await? {
        return Err(AppError::conflict("card_changed", "该评星表刚被他人处理，请刷新后再看"));
    }
    for (star, verdict, c) in &verdicts {
        store::review_star(&mut tx, card.id, star, verdict, c, &p.display_name, now).await?;
    }
    let backs: Vec<&str> = verdicts.iter().filter(|v| v.1 == "back").map(|v| v.0.as_str()).collect();
    audit_card(
        &mut tx,
        p,
        "stars.review",
        &card,
        json!({"grid": card.grid_code, "year": year, "back": backs}),
    )
    .await?;
    tx.commit().await?;
    Ok(to)
}

/// The district's rating of one star.
#[derive(Deserialize, Debug, Clone, utoipa::ToSchema)]
pub struct StarRating {
    pub star: String,
    /// awarded or denied
    pub rating: String,
    /// Required when denied; a failing prerequisite's reason replaces it.
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize, Debug, Clone, Default, utoipa::ToSchema)]
pub struct RateInput {
    /// One rating for every star of the card.
    pub ratings: Vec<StarRating>,
}

/// The district rates every star of a reviewed card; a failing prerequisite forces `denied`.
pub async fn rate(db: &Db, p: &Principal, grid: &str, year: i64, input: &RateInput) -> AppResult<Vec<(String, Outcome, String)>> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    let card = store::card(db, &p.district, &community.code, year).await?;
    let status = card.as_ref().and_then(|c| Status::parse(&c.status)).unwrap_or(Status::Draft);
    check_actor(p, &community.code, Action::Rate, status)?;
    let card = card.ok_or_else(|| AppError::conflict("wrong_state", "该社区尚未提交自评"))?;
    let cfg = config(db, &p.district, year).await?;
    let stars = cfg.stars(Kind::of_grid_kind(&community.kind));
    let f = figures(db, &p.district, &community.code, year).await?;
    let mut out = Vec::new();
    for s in stars {
        let r = input
            .ratings
            .iter()
            .find(|r| r.star == s.code)
            .ok_or_else(|| AppError::invalid("incomplete", format!("请评定“{}”", s.name)))?;
        let award = match r.rating.as_str() {
            "awarded" => true,
            "denied" => false,
            _ => {
                return Err(AppError::invalid(
                    "invalid_rating",
                    "评定结果应为 awarded（授星）或 denied（不授星）",
                ));
            }
        };
        let reason = comment(&r.reason, "评定理由")?;
        let (o, why) = rules::rating(s, &f, award, &reason).map_err(|m| AppError::invalid("reason_required", m))?;
        out.push((s.code.clone(), o, why));
    }
    if input.ratings.len() != stars.len() {
        return Err(AppError::invalid("invalid_rating", "每个星级填写一条评定结果"));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    if !store::set_status(&mut tx, card.id, status.as_str(), Status::Rated.as_str(), Some("rated_at"), now).await? {
        return Err(AppError::conflict("card_changed", "该评星表刚被他人处理，请刷新后再看"));
    }
    for (star, o, why) in &out {
        let r = if *o == Outcome::Awarded { "awarded" } else { "denied" };
        store::rate_star(&mut tx, card.id, star, r, why, &p.display_name, now).await?;
    }
    let awarded = out.iter().filter(|x| x.1 == Outcome::Awarded).count();
    audit_card(
        &mut tx,
        p,
        "stars.rate",
        &card,
        json!({"grid": card.grid_code, "year": year, "awarded": awarded}),
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

pub const MAX_BYTES: usize = crate::renovation::files::MAX_BYTES;

fn path_of(dir: &Path, sha: &str) -> PathBuf {
    dir.join("stars").join(&sha[..2]).join(sha)
}

/// Write under the SHA-256 (a temporary name, synced, renamed); an intact existing file is kept.
fn store_file(dir: &Path, bytes: &[u8]) -> anyhow::Result<String> {
    use std::io::Write;
    let sha = sha256_hex(bytes);
    let path = path_of(dir, &sha);
    if std::fs::read(&path).is_ok_and(|b| b.len() == bytes.len() && sha256_hex(&b) == sha) {
        return Ok(sha);
    }
    let parent = path.parent().ok_or_else(|| anyhow::anyhow!("no folder for {}", path.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| anyhow::anyhow!("create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(".{sha}.{}", Uuid::now_v7()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| anyhow::anyhow!("create {}: {e}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| anyhow::anyhow!("write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| anyhow::anyhow!("rename {}: {e}", path.display()))?;
    Ok(sha)
}

/// Add an evidence file (PDF, JPEG, PNG or WebP up to 10 MB) to a star of the community's card.
#[allow(clippy::too_many_arguments)]
pub async fn add_file(
    db: &Db,
    dir: &Path,
    p: &Principal,
    grid: &str,
    year: i64,
    star: &str,
    name: &str,
    bytes: &[u8],
) -> AppResult<FileRow> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    let existing = store::card(db, &p.district, &community.code, year).await?;
    let status = existing.as_ref().and_then(|c| Status::parse(&c.status)).unwrap_or(Status::Draft);
    check_actor(p, &community.code, Action::Assess, status)?;
    let kind = Kind::of_grid_kind(&community.kind);
    let cfg = config(db, &p.district, year).await?;
    let s = star_of(cfg.stars(kind), star)?;
    let mime = crate::renovation::files::check(bytes)?;
    let name = crate::renovation::files::clean_name(name, mime);
    let (owned, root) = (bytes.to_vec(), dir.to_path_buf());
    let sha = tokio::task::spawn_blocking(move || store_file(&root, &owned))
        .await
        .map_err(|e| anyhow::anyhow!("file writer: {e}"))??;
    let now = now_ms();
    let f = FileRow {
        star_code: s.code.clone(),
        sha256: sha,
        mime: mime.into(),
        size: bytes.len() as i64,
        name,
        uploaded_by: p.display_name.clone(),
        created_at: now,
    };
    let mut tx = db.begin().await?;
    let card = store::card_in_tx(&mut tx, &p.district, &community.code, year, kind.as_str(), new_id(), now).await?;
    let status = Status::parse(&card.status).unwrap_or(Status::Draft);
    check_actor(p, &community.code, Action::Assess, status)?;
    if !store::set_status(&mut tx, card.id, &card.status, &card.status, None, now).await? {
        return Err(AppError::conflict("card_changed", "该评星表刚被他人处理，请刷新后再看"));
    }
    if store::insert_file(&mut tx, card.id, &f).await? {
        audit_card(
            &mut tx,
            p,
            "stars.file",
            &card,
            json!({"star": f.star_code, "sha256": f.sha256, "mime": f.mime, "size": f.size}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(f)
}

/// The bytes, type and name of an evidence file of a card the caller reads.
pub async fn read_file(db: &Db, dir: &Path, p: &Principal, grid: &str, year: i64, sha: &str) -> AppResult<(String, String, Vec<u8>)> {
    let year = check_year(year)?;
    let community = community(db, p, grid).await?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::not_found("文件"));
    }
    let card = store::card(db, &p.district, &community.code, year)
        .await?
        .ok_or_else(|| AppError::not_found("文件"))?;
    let f = store::files(db, card.id)
        .await?
        .into_iter()
        .find(|f| f.sha256 == sha)
        .ok_or_else(|| AppError::not_found("文件"))?;
    let bytes = tokio::fs::read(path_of(dir, sha)).await.map_err(|_| AppError::not_found("文件"))?;
    Ok((f.mime, f.name, bytes))
}
