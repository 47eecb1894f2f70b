//! The councils' operations, shared by the API, the pages and the demo: who may do what on a
//! council, members over time, opinions and their answers, meetings with sign-in (paying the
//! `council_meeting` points rule), minutes and resolutions followed to their cases.

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, Answer, MeetingKind, OpinionStatus, Post};
use super::store::{self, CouncilRow, MeetingRow, MemberRow, OpinionRow, ResolutionRow};
use crate::audit::{self, Actor};
use crate::auth::{Capability, Principal, Role};
use crate::cases::CasesState;
use crate::cases::hooks::{HookFuture, OnClosed, OnReported};
use crate::cases::store::CaseRow;
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::registry::residents::{self, ResidentRow};

/// Opinion categories (意见类别) a building head picks from.
pub const CATEGORIES: [&str; 8] = [
    "环境卫生",
    "物业服务",
    "设施维修",
    "停车交通",
    "安全隐患",
    "邻里关系",
    "文体活动",
    "其他",
];

/// Who is acting on a council: their grid posts, and the resident they are with the council
/// posts that resident holds now.
pub struct Acting<'a> {
    pub p: &'a Principal,
    pub resident: Option<ResidentRow>,
    pub posts: Vec<MemberRow>,
}

impl<'a> Acting<'a> {
    pub async fn of(db: &Db, p: &'a Principal) -> AppResult<Acting<'a>> {
        // Only a resident's account is a resident; staff act by their grid posts.
        let resident = if p.posts.iter().any(|x| x.role == Role::Resident) {
            residents::of_account(db, p.user_id).await?
        } else {
            None
        };
        let posts = match &resident {
            Some(r) => store::posts_of_resident(db, r.id).await?,
            None => Vec::new(),
        };
        Ok(Acting { p, resident, posts })
    }

    fn holds(&self, council: Uuid, f: impl Fn(&MemberRow, Post) -> bool) -> bool {
        self.posts
            .iter()
            .any(|m| m.council_id == council && Post::parse(&m.post).is_some_and(|post| f(m, post)))
    }

    /// Whether the caller may read a building's opinions: a head of it, or staff over it.
    pub fn records_for_building(&self, building: &str) -> bool {
        self.p.can(Capability::ReadRegistry, building) || self.posts.iter().any(|m| m.building_code.as_deref() == Some(building))
    }

    /// Staff over the compound, or its chair or a vice-chair: may answer opinions, hold meetings,
    /// appoint members.
    pub fn leads(&self, c: &CouncilRow) -> bool {
        self.p.can(Capability::WriteRegistry, &c.grid_code) || self.holds(c.id, |_, post| post.leads())
    }

    /// Staff who read the compound's registry, or anyone on the council.
    pub fn reads(&self, c: &CouncilRow) -> bool {
        self.p.can(Capability::ReadRegistry, &c.grid_code) || self.holds(c.id, |_, _| true)
    }

    /// May record an opinion about this building (or the whole compound): its staff, the council's
    /// leaders, the building's or one of its units' head, and a resident of it for themself.
    pub fn records_for(&self, c: &CouncilRow, grid_code: &str) -> bool {
        self.p.can(Capability::WriteRegistry, grid_code)
            || self.leads(c)
            || self.holds(c.id, |m, post| {
                post.needs_building() && m.building_code.as_deref() == Some(grid_code)
            })
            || self.resident.as_ref().is_some_and(|r| r.grid_code == grid_code)
    }
}

fn hidden() -> AppError {
    AppError::not_found("该议事会或记录")
}

impl Acting<'_> {
    /// Whether the caller reads some council (staff over a registry, or a council's member): one
    /// who does is told "not found" for another's, one who does not "forbidden".
    fn reads_some(&self) -> bool {
        self.p.has(Capability::ReadRegistry) || !self.posts.is_empty()
    }

    fn not_visible(&self) -> AppError {
        if self.reads_some() {
            hidden()
        } else {
            AppError::forbidden_to("您的岗位不能查看议事会")
        }
    }
}

/// A council visible to the caller, or 404 (the caller is not told it exists).
pub async fn council_for(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<CouncilRow> {
    let Some(c) = store::council(db, id).await?.filter(|c| c.district == a.p.district) else {
        return Err(a.not_visible());
    };
    if !a.reads(&c) {
        return Err(a.not_visible());
    }
    Ok(c)
}

/// The same council for one who must lead it: 404 outside, 403 for a reader who may not lead.
pub async fn council_to_lead(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<CouncilRow> {
    let c = council_for(db, a, id).await?;
    if !a.leads(&c) {
        return Err(AppError::forbidden_to("只有议事会主任、副主任或社区、小区工作人员可以操作"));
    }
    Ok(c)
}

/// The grid a list reads: the one asked for if the caller reads it, else the caller's own widest.
pub fn list_root(p: &Principal, grid: Option<&str>) -> AppResult<String> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看议事会"));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(Capability::ReadRegistry, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None => p
            .roots(Capability::ReadRegistry)
            .into_iter()
            .next()
            .ok_or_else(|| AppError::forbidden_to("该角色不能查看议事会")),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    /// The resident taking the post (must live in the compound).
    pub resident: Uuid,
    /// chair, vice_chair, member, building_head, unit_head
    pub post: String,
    /// The building (楼栋 grid code) for a building or unit head.
    pub building: Option<String>,
    /// The unit (单元) number for a unit head, 1–30.
    pub unit_no: Option<i64>,
    /// 党员; by default from the resident's tags.
    pub party_member: Option<bool>,
}

/// Appoint a resident to a post; a single seat's earlier holder steps down in the same transaction.
pub async fn appoint(db: &Db, a: &Acting<'_>, council: Uuid, n: &NewMember) -> AppResult<MemberRow> {
    let c = council_to_lead(db, a, council).await?;
    let post = Post::parse(&n.post)
        .ok_or_else(|| AppError::invalid("invalid_post", "职务应为 chair、vice_chair、member、building_head 或 unit_head"))?;
    let r = residents::get(db, n.resident)
        .await?
        .filter(|r| r.district == c.district)
        .ok_or_else(|| AppError::invalid("unknown_resident", "没有这位居民"))?;
    if !r.grid_code.starts_with(&c.grid_code) {
        return Err(AppError::invalid("not_in_compound", "议事会成员应为本小区居民"));
    }
    let (building, unit_no) = if post.needs_building() {
        let b = n
            .building
            .as_deref()
            .map(str::trim)
            .filter(|b| b.starts_with(&c.grid_code) && b.len() == crate::grid::rules::code_len(5))
            .ok_or_else(|| AppError::invalid("building_required", "楼栋长、单元长须指定本小区的楼栋"))?;
        crate::grid::store::get(db, b)
            .await?
            .ok_or_else(|| AppError::invalid("building_required", "楼栋长、单元长须指定本小区的楼栋"))?;
        let unit = if post == Post::UnitHead {
            Some(
                n.unit_no
                    .filter(|u| (1..=30).contains(u))
                    .ok_or_else(|| AppError::invalid("invalid_unit", "单元号应为1至30"))?,
            )
        } else {
            None
        };
        (Some(b.to_string()), unit)
    } else {
        (None, None)
    };
    let now = now_ms();
    let m = MemberRow {
        id: new_id(),
        council_id: c.id,
        resident_id: r.id,
        name: r.name.clone(),
        post: post.as_str().into(),
        building_code: building.clone(),
        unit_no,
        party_member: n.party_member.unwrap_or_else(|| r.tag_list().iter().any(|t| t == "党员")),
        started_at: now,
        ended_at: None,
    };
    let mut tx = db.begin().await?;
    let replaced = match rules::seat(post, building.as_deref(), unit_no) {
        Some(_) => store::end_seat(&mut tx, c.id, post.as_str(), building.as_deref(), unit_no, now).await?,
        None => 0,
    };
    store::insert_member(&mut tx, &m, &c.district).await?;
    audit::record(
        &mut tx,
        a.p.actor(),
        audit::Entry {
            district: &c.district,
            action: "council.appoint",
            target_kind: "council",
            target_id: &c.id.to_string(),
            reason: "",
            detail: json!({"member": m.id, "resident": r.id, "post": post.as_str(), "building": building, "unit": unit_no, "replaced": replaced}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

/// A member steps down (the row stays, with its end).
pub async fn dismiss(db: &Db, a: &Acting<'_>, member: Uuid) -> AppResult<()> {
    let m = store::member(db, member).await?.ok_or_else(hidden)?;
    let c = council_to_lead(db, a, m.council_id).await?;
    let mut tx = db.begin().await?;
    if store::end_member(&mut tx, m.id, now_ms()).await? != 1 {
        return Err(AppError::conflict("already_ended", "该成员已卸任"));
    }
    audit::record(
        &mut tx,
        a.p.actor(),
        audit::Entry {
            district: &c.district,
            action: "council.dismiss",
            target_kind: "council",
            target_id: &c.id.to_string(),
            reason: "",
            detail: json!({"member": m.id, "post": m.post}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct NewOpinion {
    /// A building (楼栋) or the compound; by default the resident's own building.
    pub grid: Option<String>,
    /// One of 环境卫生, 物业服务, 设施维修, 停车交通, 安全隐患, 邻里关系, 文体活动, 其他.
    pub category: String,
    /// What was said, 2–1000 characters.
    pub body: String,
    /// Shown without a name (the recorder is still kept).
    #[serde(default)]
    pub anonymous: bool,
    /// Whose opinion it is, when a head records it for someone; by default the recorder's name.
    pub author: Option<String>,
}

/// Record an opinion (民情民意).
pub async fn record_opinion(db: &Db, a: &Acting<'_>, n: &NewOpinion) -> AppResult<OpinionRow> {
    if !(a.p.has(Capability::WriteRegistry) || a.resident.is_some() || !a.posts.is_empty()) {
        return Err(AppError::forbidden_to("请使用居民本人账号或网格工作人员账号记录意见"));
    }
    let grid = match n.grid.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => g.to_string(),
        None => a
            .resident
            .as_ref()
            .map(|r| r.grid_code.clone())
            .ok_or_else(|| AppError::invalid("grid_required", "请选择楼栋"))?,
    };
    let c = store::council_over(db, &grid)
        .await?
        .filter(|c| c.district == a.p.district && grid.starts_with(&c.grid_code))
        .ok_or_else(|| AppError::not_found("该小区的议事会"))?;
    if !a.records_for(&c, &grid) {
        return Err(AppError::not_found("该楼栋"));
    }
    let category = CATEGORIES
        .iter()
        .find(|x| **x == n.category.trim())
        .ok_or_else(|| AppError::invalid("invalid_category", format!("意见类别应为：{}", CATEGORIES.join("、"))))?;
    let body = rules::text(&n.body, 2, 1000, "意见内容").map_err(|m| AppError::invalid("invalid_body", m))?;
    let author = match n.author.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(x) => rules::text(x, 1, 32, "反映人").map_err(|m| AppError::invalid("invalid_author", m))?,
        None => a
            .resident
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_else(|| a.p.display_name.clone()),
    };
    let o = OpinionRow {
        id: new_id(),
        council_id: c.id,
        district: c.district.clone(),
        grid_code: grid,
        category: category.to_string(),
        body,
        anonymous: n.anonymous,
        author_name: author,
        resident_id: a.resident.as_ref().map(|r| r.id),
        recorded_by: Some(a.p.user_id),
        recorder_name: a.p.display_name.clone(),
        status: OpinionStatus::Open.as_str().into(),
        answer: String::new(),
        answered_by: String::new(),
        meeting_id: None,
        case_id: None,
        merged_into: None,
        created_at: now_ms(),
        answered_at: None,
    };
    let mut tx = db.begin().await?;
    store::insert_opinion(&mut tx, &o).await?;
    audit::record(
        &mut tx,
        a.p.actor(),
        audit::Entry {
            district: &c.district,
            action: "opinion.record",
            target_kind: "opinion",
            target_id: &o.id.to_string(),
            reason: "",
            detail: json!({"council": c.id, "grid": o.grid_code, "category": o.category, "anonymous": o.anonymous}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(o)
}

/// An opinion the caller may see: the council's readers, or the one who recorded it.
pub async fn opinion_for(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<(OpinionRow, CouncilRow)> {
    // A resident may record opinions, so for them another's is "not found".
    let refuse = || {
        if a.reads_some() || a.resident.is_some() {
            hidden()
        } else {
            a.not_visible()
        }
    };
    let o = store::opinion(db, id).await?.ok_or_else(refuse)?;
    let c = store::council(db, o.council_id).await?.ok_or_else(refuse)?;
    if c.district != a.p.district || !(a.reads(&c) || o.recorded_by == Some(a.p.user_id)) {
        return Err(refuse());
    }
    Ok((o, c))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct AnswerInput {
    /// agenda, case, merge or answer
    pub action: String,
    /// The answer the resident reads (required for `answer` and `merge`, optional otherwise).
    #[serde(default)]
    pub answer: String,
    /// `agenda`: the planned meeting of this council.
    pub meeting: Option<Uuid>,
    /// `case`: a leaf case category (e.g. SQ03).
    pub category: Option<String>,
    /// `merge`: the opinion this one joins.
    pub into: Option<Uuid>,
}

/// Writes the opinion's case link inside the case's own transaction.
struct LinkOpinion<'a> {
    opinion: &'a OpinionRow,
    answer: &'a str,
    by: &'a str,
    done: std::sync::atomic::AtomicBool,
}

impl OnReported for LinkOpinion<'_> {
    fn reported<'a>(&'a self, tx: &'a mut Tx, case_id: Uuid, _district: &'a str) -> HookFuture<'a> {
        Box::pin(async move {
            let ok = store::answer_opinion(
                tx,
                self.opinion.id,
                &self.opinion.status,
                OpinionStatus::Case.as_str(),
                self.answer,
                self.by,
                None,
                Some(case_id),
                None,
                now_ms(),
            )
            .await?;
            if !ok {
                return Err(AppError::conflict("opinion_changed", "该意见刚被他人处理，请刷新后再看"));
            }
            self.done.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
    }
}

/// Answer an opinion: on an agenda, into a case (linked both ways), merged, or answered directly.
pub async fn answer_opinion(cases: &CasesState, a: &Acting<'_>, id: Uuid, input: &AnswerInput) -> AppResult<OpinionRow> {
    let db = &cases.db;
    let (o, c) = opinion_for(db, a, id).await?;
    if !a.leads(&c) {
        return Err(AppError::forbidden_to("只有议事会主任、副主任或社区、小区工作人员可以答复意见"));
    }
    let how =
        Answer::parse(&input.action).ok_or_else(|| AppError::invalid("invalid_action", "处理方式应为 agenda、case、merge 或 answer"))?;
    let from = OpinionStatus::parse(&o.status).ok_or_else(AppError::internal)?;
    if !rules::may_answer(from, how) {
        return Err(AppError::conflict(
            "opinion_settled",
            format!("该意见{}，不能再这样处理", from.label()),
        ));
    }
    let answer = input.answer.trim();
    if answer.chars().count() > 1000 {
        return Err(AppError::invalid("invalid_answer", "答复应在1000字以内"));
    }
    let by = a.p.display_name.as_str();
    let now = now_ms();
    match how {
        Answer::Case => {
            let category = input.category.clone().unwrap_or_default();
            let answer = if answer.is_empty() {
                "已转为案件办理，可在此查看进度"
            } else {
                answer
            };
            let link = LinkOpinion {
                opinion: &o,
                answer,
                by,
                done: Default::default(),
            };
            let new = crate::cases::service::NewCase {
                category,
                description: format!("【议事会转办】{}", o.body),
                lat: None,
                lng: None,
                grid: Some(o.grid_code.clone()),
                source: None,
                reported_at: None,
                attributes: None,
                private: None,
            };
            crate::cases::service::submit(
                cases,
                crate::cases::service::Reporter::Council {
                    by: a.p,
                    on_reported: &link,
                },
                &new,
                None,
            )
            .await?;
        }
        Answer::Agenda | Answer::Merge | Answer::Direct => {
            let mut meeting = None;
            let mut into = None;
            match how {
                Answer::Agenda => {
                    let m = input.meeting.ok_or_else(|| AppError::invalid("meeting_required", "请选择会议"))?;
                    let m = store::meeting(db, m)
                        .await?
                        .filter(|m| m.council_id == c.id && m.status == "planned")
                        .ok_or_else(|| AppError::invalid("unknown_meeting", "请选择本议事会尚未召开的会议"))?;
                    meeting = Some(m.id);
                }
                Answer::Merge => {
                    let target = input
                        .into
                        .ok_or_else(|| AppError::invalid("into_required", "请选择要合并到的意见"))?;
                    let t = store::opinion(db, target)
                        .await?
                        .filter(|t| t.council_id == c.id && t.id != o.id && t.status != "merged")
                        .ok_or_else(|| AppError::invalid("unknown_opinion", "只能合并到本议事会的另一条未合并意见"))?;
                    into = Some(t.id);
                }
                _ => {
                    if answer.chars().count() < 2 {
                        return Err(AppError::invalid("answer_required", "请填写答复内容（至少2字）"));
                    }
                }
            }
            let text = match (how, answer.is_empty()) {
                (Answer::Agenda, true) => "已列入议事会议题".to_string(),
                (Answer::Merge, true) => "已与同类意见合并办理".to_string(),
                _ => answer.to_string(),
            };
            let mut tx = db.begin().await?;
            if !store::answer_opinion(&mut tx, o.id, &o.status, how.target().as_str(), &text, by, meeting, None, into, now).await? {
                return Err(AppError::conflict("opinion_changed", "该意见刚被他人处理，请刷新后再看"));
            }
            audit::record(
                &mut tx,
                a.p.actor(),
                audit::Entry {
                    district: &c.district,
                    action: "opinion.answer",
                    target_kind: "opinion",
                    target_id: &o.id.to_string(),
                    reason: "",
                    detail: json!({"action": input.action.trim(), "meeting": meeting, "into": into}),
                },
            )
            .await?;
            tx.commit().await?;
        }
    }
    store::opinion(db, o.id).await?.ok_or_else(AppError::internal)
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct NewMeeting {
    /// party_mass (党群议事会), five_party (五方联动), three_party (三方联席会议), compound (小区议事会)
    pub kind: String,
    pub title: String,
    pub place: String,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` China time (as a browser's datetime field sends it).
    pub starts_at: String,
    /// Who is invited, as text (units and people).
    #[serde(default)]
    pub invitees: String,
    /// Waiting opinions of this council to put on the agenda.
    #[serde(default)]
    pub agenda: Vec<Uuid>,
}

/// A time as an API or a browser's `datetime-local` field sends it (the latter in China time).
pub fn parse_time(raw: &str) -> AppResult<i64> {
    let t = crate::identity::half_width(raw.trim());
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    let civil: jiff::civil::DateTime = t
        .parse()
        .map_err(|_| AppError::invalid("invalid_time", "时间格式应为 2026-12-01T19:30"))?;
    civil
        .to_zoned(crate::time::china())
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|_| AppError::invalid("invalid_time", "时间格式应为 2026-12-01T19:30"))
}

/// A fresh 6-digit sign-in code (签到码) from the operating system's randomness.
fn checkin_code() -> String {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("operating system randomness");
    format!("{:06}", u32::from_le_bytes(b) % 1_000_000)
}

/// Schedule a meeting with its sign-in code; the chosen waiting opinions go on its agenda.
pub async fn schedule(db: &Db, a: &Acting<'_>, council: Uuid, n: &NewMeeting) -> AppResult<MeetingRow> {
    let c = council_to_lead(db, a, council).await?;
    let kind = MeetingKind::parse(&n.kind)
        .ok_or_else(|| AppError::invalid("invalid_kind", "会议类型应为 party_mass、five_party、three_party 或 compound"))?;
    let title = rules::text(&n.title, 2, 100, "会议名称").map_err(|m| AppError::invalid("invalid_title", m))?;
    let place = rules::text(&n.place, 2, 100, "会议地点").map_err(|m| AppError::invalid("invalid_place", m))?;
    let invitees = rules::text(&n.invitees, 0, 500, "参会人员").map_err(|m| AppError::invalid("invalid_invitees", m))?;
    let starts_at = parse_time(&n.starts_at)?;
    let now = now_ms();
    if starts_at < now - 30 * 86_400_000 || starts_at > now + 365 * 86_400_000 {
        return Err(AppError::invalid("invalid_time", "会议时间应在过去30天至未来一年之间"));
    }
    if n.agenda.len() > 50 {
        return Err(AppError::invalid("agenda_too_long", "一次会议最多50个议题"));
    }
    let m = MeetingRow {
        id: new_id(),
        council_id: c.id,
        district: c.district.clone(),
        grid_code: c.grid_code.clone(),
        kind: kind.as_str().into(),
        title,
        place,
        starts_at,
        invitees,
        checkin_code: checkin_code(),
        status: "planned".into(),
        minutes: String::new(),
        created_by: a.p.display_name.clone(),
        created_at: now,
        held_at: None,
    };
    let mut tx = db.begin().await?;
    store::insert_meeting(&mut tx, &m).await?;
    for id in &n.agenda {
        let ok = match store::opinion(db, *id).await? {
            Some(o) if o.council_id == c.id => {
                store::answer_opinion(
                    &mut tx,
                    o.id,
                    "open",
                    "agenda",
                    "已列入议事会议题",
                    &m.created_by,
                    Some(m.id),
                    None,
                    None,
                    now,
                )
                .await?
            }
            _ => false,
        };
        if !ok {
            return Err(AppError::invalid("unknown_opinion", "议题只能是本议事会待答复的意见"));
        }
    }
    audit::record(
        &mut tx,
        a.p.actor(),
        audit::Entry {
            district: &c.district,
            action: "council.meeting",
            target_kind: "meeting",
            target_id: &m.id.to_string(),
            reason: "",
            detail: json!({"council": c.id, "kind": m.kind, "starts_at": starts_at, "agenda": n.agenda.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(m)
}

/// A meeting the caller may see, with its council.
pub async fn meeting_for(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<(MeetingRow, CouncilRow)> {
    let m = store::meeting(db, id).await?.ok_or_else(hidden)?;
    let c = council_for(db, a, m.council_id).await?;
    Ok((m, c))
}

/// Sign-in opens two hours before a meeting and closes six hours after its start.
pub const CHECKIN_BEFORE_MS: i64 = 2 * 3_600_000;
pub const CHECKIN_AFTER_MS: i64 = 6 * 3_600_000;

/// Record one attendance and pay the `council_meeting` points rule once, if the resident is a
/// volunteer, in the caller's transaction.
async fn attend_in(tx: &mut Tx, actor: &Actor<'_>, m: &MeetingRow, r: &ResidentRow, via: &str, db: &Db) -> AppResult<Option<i64>> {
    if !store::insert_attendance(tx, m.id, r.id, &r.name, via, now_ms()).await? {
        return Err(AppError::conflict("already_signed_in", "已签到，无需重复签到"));
    }
    let Some(v) = crate::volunteers::store::volunteer_of_resident(db, &m.district, r.id).await? else {
        return Ok(None);
    };
    let points = crate::volunteers::store::rule_points_in_tx(tx, &m.district, crate::volunteers::rules::COUNCIL_MEETING).await?;
    let key = format!("council:{}:{}", m.id, v.id);
    let paid = crate::volunteers::store::award_in(
        tx,
        actor,
        &m.district,
        v.id,
        crate::volunteers::rules::COUNCIL_MEETING,
        points,
        ("council_meeting", &m.id.to_string()),
        Some(&key),
    )
    .await?;
    Ok(paid.map(|_| points))
}

/// A resident signs in with the meeting's code (by phone); their own compound's meetings, or any
/// council they sit on. Returns the meeting and the points paid.
pub async fn check_in(db: &Db, a: &Acting<'_>, code: &str) -> AppResult<(MeetingRow, Option<i64>)> {
    let r = a
        .resident
        .as_ref()
        .ok_or_else(|| AppError::forbidden_to("请使用已由社区核实的居民本人账号签到"))?;
    let code = rules::normalise_code(code);
    if code.len() != 6 {
        return Err(AppError::invalid("invalid_code", "签到码为6位数字"));
    }
    let now = now_ms();
    let found = store::meeting_by_code(db, &r.district, &code, now - CHECKIN_AFTER_MS, now + CHECKIN_BEFORE_MS).await?;
    let m = found
        .into_iter()
        .find(|m| r.grid_code.starts_with(&m.grid_code) || a.posts.iter().any(|p| p.council_id == m.council_id))
        .ok_or_else(|| AppError::invalid("unknown_code", "签到码不正确，或不在签到时间内（会前2小时至会后6小时）"))?;
    let mut tx = db.begin().await?;
    let actor = a.p.actor();
    let points = attend_in(&mut tx, &actor, &m, r, "code", db).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &m.district,
            action: "council.checkin",
            target_kind: "meeting",
            target_id: &m.id.to_string(),
            reason: "",
            detail: json!({"resident": r.id, "via": "code", "points": points}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((m, points))
}

/// Staff mark a resident present (one who came without a phone).
pub async fn mark_present(db: &Db, a: &Acting<'_>, meeting: Uuid, resident: Uuid) -> AppResult<Option<i64>> {
    let (m, c) = meeting_for(db, a, meeting).await?;
    if !a.leads(&c) {
        return Err(AppError::forbidden_to("只有议事会主任、副主任或社区、小区工作人员可以代为签到"));
    }
    let r = residents::get(db, resident)
        .await?
        .filter(|r| r.district == c.district)
        .ok_or_else(|| AppError::invalid("unknown_resident", "没有这位居民"))?;
    let mut tx = db.begin().await?;
    let actor = a.p.actor();
    let points = attend_in(&mut tx, &actor, &m, &r, "staff", db).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &m.district,
            action: "council.checkin",
            target_kind: "meeting",
            target_id: &m.id.to_string(),
            reason: "",
            detail: json!({"resident": r.id, "via": "staff", "points": points}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(points)
}

#[derive(Deserialize, utoipa::ToSchema, Default, Clone)]
pub struct NewResolution {
    /// What was decided, 2–500 characters.
    pub body: String,
    /// The unit or person who sees it through.
    pub responsible: String,
    /// The deadline, `YYYY-MM-DD` (end of that day, China time).
    pub due: String,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct MinutesInput {
    /// 会议纪要, 2–5000 characters.
    pub minutes: String,
    /// At most 20.
    #[serde(default)]
    pub resolutions: Vec<NewResolution>,
}

/// The end of a China day given as `YYYY-MM-DD`.
pub fn parse_due(raw: &str) -> AppResult<i64> {
    let d: jiff::civil::Date = crate::identity::half_width(raw.trim())
        .parse()
        .map_err(|_| AppError::invalid("invalid_due", "期限格式应为 2026-12-31"))?;
    let next = d
        .tomorrow()
        .map_err(|_| AppError::invalid("invalid_due", "期限格式应为 2026-12-31"))?;
    next.to_zoned(crate::time::china())
        .map(|z| z.timestamp().as_millisecond() - 1)
        .map_err(|_| AppError::invalid("invalid_due", "期限格式应为 2026-12-31"))
}

/// Record the minutes and resolutions of a meeting (once): it is then held.
pub async fn record_minutes(db: &Db, a: &Acting<'_>, meeting: Uuid, n: &MinutesInput) -> AppResult<Vec<ResolutionRow>> {
    let (m, c) = meeting_for(db, a, meeting).await?;
    if !a.leads(&c) {
        return Err(AppError::forbidden_to("只有议事会主任、副主任或社区、小区工作人员可以记录纪要"));
    }
    let minutes = rules::text(&n.minutes, 2, 5000, "会议纪要").map_err(|e| AppError::invalid("invalid_minutes", e))?;
    if n.resolutions.len() > 20 {
        return Err(AppError::invalid("too_many_resolutions", "一次会议最多20项决议"));
    }
    let now = now_ms();
    let mut rows = Vec::new();
    for (i, r) in n.resolutions.iter().enumerate() {
        let at = |e: String| format!("第{}项决议：{e}", i + 1);
        let body = rules::text(&r.body, 2, 500, "决议内容").map_err(|e| AppError::invalid("invalid_resolution", at(e)))?;
        let responsible =
            rules::text(&r.responsible, 2, 64, "责任单位或责任人").map_err(|e| AppError::invalid("invalid_resolution", at(e)))?;
        let due_at = parse_due(&r.due)?;
        if due_at < m.starts_at || due_at > now + 3 * 365 * 86_400_000 {
            return Err(AppError::invalid("invalid_due", at("期限应在会议之后三年以内".into())));
        }
        rows.push(ResolutionRow {
            id: new_id(),
            meeting_id: m.id,
            council_id: c.id,
            district: c.district.clone(),
            grid_code: c.grid_code.clone(),
            position: i as i64 + 1,
            body,
            responsible,
            due_at,
            case_id: None,
            done_at: None,
            done_note: String::new(),
            created_at: now,
        });
    }
    let mut tx = db.begin().await?;
    if !store::hold_meeting(&mut tx, m.id, &minutes, now).await? {
        return Err(AppError::conflict("already_held", "该会议已记录纪要"));
    }
    for r in &rows {
        store::insert_resolution(&mut tx, r).await?;
    }
    audit::record(
        &mut tx,
        a.p.actor(),
        audit::Entry {
            district: &c.district,
            action: "council.minutes",
            target_kind: "meeting",
            target_id: &m.id.to_string(),
            reason: "",
            detail: json!({"resolutions": rows.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// A resolution the caller may see, with its council.
pub async fn resolution_for(db: &Db, a: &Acting<'_>, id: Uuid) -> AppResult<(ResolutionRow, CouncilRow)> {
    let r = store::resolution(db, id).await?.ok_or_else(hidden)?;
    let c = council_for(db, a, r.council_id).await?;
    Ok((r, c))
}

/// Writes the resolution's case link inside the case's own transaction.
struct LinkResolution<'a> {
    resolution: &'a ResolutionRow,
}

impl OnReported for LinkResolution<'_> {
    fn reported<'a>(&'a self, tx: &'a mut Tx, case_id: Uuid, _district: &'a str) -> HookFuture<'a> {
        Box::pin(async move {
            if !store::set_resolution_case(tx, self.resolution.id, case_id).await? {
                return Err(AppError::conflict("resolution_changed", "该决议已转案件或已办结"));
            }
            Ok(())
        })
    }
}

/// Turn a resolution into a case (source `council`); its state then follows the case.
pub async fn resolution_to_case(cases: &CasesState, a: &Acting<'_>, id: Uuid, category: &str) -> AppResult<CaseRow> {
    let (r, c) = resolution_for(&cases.db, a, id).await?;
    if !a.leads(&c) {
        return Err(AppError::forbidden_to("只有议事会主任、副主任或社区、小区工作人员可以转办"));
    }
    if r.case_id.is_some() || r.done_at.is_some() {
        return Err(AppError::conflict("resolution_changed", "该决议已转案件或已办结"));
    }
    let link = LinkResolution { resolution: &r };
    let new = crate::cases::service::NewCase {
        category: category.to_string(),
        description: format!("【议事会决议】{}（责任：{}）", r.body, r.responsible),
        lat: None,
        lng: None,
        grid: Some(r.grid_code.clone()),
        source: None,
        reported_at: None,
        attributes: None,
        private: None,
    };
    let (case, _) = crate::cases::service::submit(
        cases,
        crate::cases::service::Reporter::Council {
            by: a.p,
            on_reported: &link,
        },
        &new,
        None,
    )
    .await?;
    Ok(case)
}

/// Mark a resolution carried out (one not followed by a case, or whose case was declined).
pub async fn finish_resolution(db: &Db, a: &Acting<'_>, id: Uuid, note: &str) -> AppResult<()> {
    let (r, c) = resolution_for(db, a, id).await?;
    if !a.leads(&c) {
        return Err(AppError::forbidden_to("只有议事会主任、副主任或社区、小区工作人员可以办结决议"));
    }
    let note = rules::text(note, 2, 500, "办结说明").map_err(|e| AppError::invalid("invalid_note", e))?;
    let mut tx = db.begin().await?;
    if !store::finish_resolution(&mut tx, r.id, &note, now_ms()).await? {
        return Err(AppError::conflict("already_done", "该决议已办结"));
    }
    audit::record(
        &mut tx,
        a.p.actor(),
        audit::Entry {
            district: &c.district,
            action: "council.resolution_done",
            target_kind: "resolution",
            target_id: &r.id.to_string(),
            reason: "",
            detail: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A case closing finishes the resolutions it carried (registered with the case loop).
pub struct FinishResolutions;

impl OnClosed for FinishResolutions {
    fn closed<'a>(&'a self, tx: &'a mut Tx, _actor: Actor<'a>, c: &'a CaseRow) -> HookFuture<'a> {
        Box::pin(async move {
            if c.source == "council" {
                store::finish_by_case(tx, c.id, now_ms()).await?;
            }
            Ok(())
        })
    }
}

/// A case's status, its label and tracking code, for showing where an opinion or resolution stands.
pub type CaseState = (String, String, String);

/// A case's state, for showing where an opinion or resolution stands.
pub async fn case_state(db: &Db, id: Option<Uuid>) -> AppResult<Option<CaseState>> {
    let Some(id) = id else { return Ok(None) };
    Ok(case_states(db, [id]).await?.remove(&id))
}

/// The states of the cases a list of opinions or resolutions points to, in one query.
pub async fn case_states(db: &Db, ids: impl IntoIterator<Item = Uuid>) -> AppResult<std::collections::HashMap<Uuid, CaseState>> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = crate::cases::store::states(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|(id, status, code)| {
            let label = crate::cases::workflow::Status::parse(&status)
                .map(|s| s.label())
                .unwrap_or("")
                .to_string();
            (id, (status, label, code))
        })
        .collect())
}

/// The command screen's council figures for a subtree: meetings this week (Monday to Sunday,
/// China time), resolutions overdue, opinions waiting 7 days or more.
pub async fn screen_figures(db: &Db, district: &str, root: &str, now: i64) -> AppResult<(i64, i64, i64)> {
    let week = crate::time::week_of(now);
    Ok(store::figures(db, district, root, week, now).await?)
}
