//! Case loop operations shared by the JSON API, the console pages, the public page and Open311:
//! report (submit), load what the caller may see, act and merge under the who-may rules, deadlines,
//! and the assessment report.

use super::CasesState;
use super::calendar::Calendar;
use super::categories::{self, Limit};
use super::permissions::{self, CaseView};
use super::store::{self, CaseRow, NewCaseRow};
use super::workflow::Action;
use crate::audit::Actor;
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::grid::{rules, store as grids};
use crate::registry::units;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn parse_instant(s: &str) -> AppResult<jiff::Timestamp> {
    let t = s.parse::<jiff::Timestamp>().map_err(|_| {
        AppError::invalid(
            "invalid_time",
            format!("时间格式不正确：{s}（请填写日期，如 2026-11-24；或带时区的时间，如 2026-11-24T09:30:00+08:00）"),
        )
    })?;
    within_reason(t)
}

/// Years a report, an activity or a period may fall in: year 1 or 9999 is a typing slip (or a
/// probe), and the working-day calendar knows nothing of them.
pub const YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;

fn within_reason(t: jiff::Timestamp) -> AppResult<jiff::Timestamp> {
    if YEARS.contains(&t.to_zoned(crate::time::china()).year()) {
        Ok(t)
    } else {
        Err(AppError::invalid(
            "invalid_time",
            format!("时间应在 {} 至 {} 年之间", YEARS.start(), YEARS.end()),
        ))
    }
}

pub fn due_for(cal: &Calendar, limit: Option<Limit>, from_ms: i64) -> i64 {
    let from = jiff::Timestamp::from_millisecond(from_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    match limit {
        Some(Limit::Hours(h)) => cal.add_hours(from, h).as_millisecond(),
        Some(Limit::WorkingDays(d)) => cal.add_working_days(from, d).as_millisecond(),
        None => cal.add_working_days(from, 5).as_millisecond(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewCase {
    /// A leaf category code, e.g. `SQ03` (飞线充电). Empty: the district's routing model files the
    /// report (智能分派) and, above the district's threshold, dispatches it to the suggested unit.
    #[serde(default)]
    pub category: String,
    pub description: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// Grid code, when there is no location (or to override it).
    pub grid: Option<String>,
    /// officer, resident, device, hotline, council
    pub source: Option<String>,
    /// RFC 3339; only imports (device, hotline) by the district may date a case in the past.
    pub reported_at: Option<String>,
    /// Answers to the category's `fields`: a string, or a list of strings for multiple choice.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<std::collections::BTreeMap<String, AttributeAnswer>>,
    /// Private: the description never leaves through Open311 (disputes are always private).
    pub private: Option<bool>,
}

/// One answer: a single value or several.
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum AttributeAnswer {
    One(String),
    Many(Vec<String>),
}

impl AttributeAnswer {
    pub fn values(&self) -> Vec<String> {
        match self {
            AttributeAnswer::One(s) => vec![s.clone()],
            AttributeAnswer::Many(v) => v.clone(),
        }
    }
}

/// The longest description an Open311 client's report may carry: GeoReport v2 allows 4,000
/// characters, and `open311` appends the address the client gave.
pub const CLIENT_DESCRIPTION_MAX: usize = 4600;

pub const SOURCES: [&str; 6] = ["officer", "resident", "device", "hotline", "council", "open311"];

/// Who is reporting: a signed-in person, or a resident from a public grid page.
#[derive(Clone, Copy)]
pub enum Reporter<'a> {
    User(&'a Principal),
    /// No account: the district is the grid's; a phone is optional (for a call back).
    Public {
        district: &'a str,
        phone: &'a str,
    },
    /// A city system or app (source `open311`): its key's name, district and grid subtree, the
    /// client's contact fields, and what its feature writes in the report's transaction.
    Client {
        key_name: &'a str,
        district: &'a str,
        scope: &'a str,
        name: &'a str,
        phone: &'a str,
        on_reported: &'a dyn super::hooks::OnReported,
    },
    /// Staff turning a council's opinion or resolution into a case (source `council`); the
    /// council's feature links it in the report's own transaction.
    Council {
        by: &'a Principal,
        on_reported: &'a dyn super::hooks::OnReported,
    },
    /// A registered device's alarm (source `device`): who it is on the timeline (`设备 …`), its
    /// district, and what the alarms feature writes in the report's transaction (the alarm row).
    Device {
        name: &'a str,
        district: &'a str,
        on_reported: &'a dyn super::hooks::OnReported,
    },
}

/// Reports from the public grid page (随手拍, no account) per client address and per grid: a
/// resident files a few; a script filing a hundred in a second is held back.
pub struct PublicReportGuard {
    addresses: crate::web::throttle::Throttle<std::net::IpAddr>,
    grids: crate::web::throttle::Throttle<String>,
}

/// Ten from one address, then waits that double from a minute up to an hour.
pub const PUBLIC_ADDRESS_POLICY: crate::web::throttle::Policy = crate::web::throttle::Policy {
    free: 10,
    first_block: std::time::Duration::from_secs(60),
    max_block: std::time::Duration::from_secs(3600),
    forget_after: std::time::Duration::from_secs(1800),
    capacity: 10_000,
};

/// Sixty into one grid, then waits that double from a minute up to ten (short, because a block
/// holds back every resident of that grid).
pub const PUBLIC_GRID_POLICY: crate::web::throttle::Policy = crate::web::throttle::Policy {
    free: 60,
    first_block: std::time::Duration::from_secs(60),
    max_block: std::time::Duration::from_secs(600),
    forget_after: std::time::Duration::from_secs(600),
    capacity: 10_000,
};

impl Default for PublicReportGuard {
    fn default() -> Self {
        PublicReportGuard {
            addresses: crate::web::throttle::Throttle::new(PUBLIC_ADDRESS_POLICY),
            grids: crate::web::throttle::Throttle::new(PUBLIC_GRID_POLICY),
        }
    }
}

impl PublicReportGuard {
    /// Count one report from `address` into `grid`, or refuse it with a Chinese message.
    pub fn attempt(&self, address: Option<std::net::IpAddr>, grid: &str) -> AppResult<()> {
        let refuse = |wait: std::time::Duration| {
            AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_reports",
                format!(
                    "提交过于频繁，请{}分钟后再试；紧急情况请拨打社区电话",
                    wait.as_secs().div_ceil(60).max(1)
                ),
            )
        };
        if let Some(ip) = address {
            self.addresses.attempt(&ip).map_err(refuse)?;
        }
        if let Err(wait) = self.grids.attempt(&grid.to_string()) {
            if let Some(ip) = address {
                self.addresses.forgive(&ip);
            }
            return Err(refuse(wait));
        }
        Ok(())
    }

    /// A report refused for its content does not count against anyone.
    pub fn forgive(&self, address: Option<std::net::IpAddr>, grid: &str) {
        if let Some(ip) = address {
            self.addresses.forgive(&ip);
        }
        self.grids.forgive(&grid.to_string());
    }
}

/// Who is writing a report, as far as its `source` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A resident signed in, or anyone on the public grid page.
    Resident,
    /// A grid officer or other staff.
    Staff,
    /// The district's imports (device alarms, hotline tickets, council minutes).
    Import,
    /// A city system through Open311.
    Client,
    /// A council (议事会) passing on what residents raised.
    Council,
    /// A registered device raising an alarm (设备告警), over MQTT or a gateway's HTTP call.
    Device,
}

/// A source says which channel a report came through, so only that channel may write it: staff
/// may report as themselves or for a resident who came to them (代报); device, hotline and council
/// reports come in through the district's imports; `open311` only through Open311.
pub fn source_allowed(source: &str, channel: Channel) -> bool {
    match source {
        "open311" => channel == Channel::Client,
        "resident" => matches!(channel, Channel::Resident | Channel::Staff | Channel::Import),
        "officer" => matches!(channel, Channel::Staff | Channel::Import),
        "council" => matches!(channel, Channel::Import | Channel::Council),
        "device" => matches!(channel, Channel::Import | Channel::Device),
        "hotline" => channel == Channel::Import,
        _ => false,
    }
}

/// Whether this user already sent a report with this idempotency key (scoped as `submit` scopes
/// it), e.g. a hotline ticket imported before.
pub async fn idempotency_seen(db: &crate::db::Db, p: &crate::auth::Principal, key: &str) -> sqlx::Result<bool> {
    store::key_used(db, &p.district, &format!("u:{}:{key}", p.user_id)).await
}

/// Validate and store a report. Shared by the API, the console and the public grid page.
pub async fn submit(s: &CasesState, who: Reporter<'_>, input: &NewCase, key: Option<&str>) -> AppResult<(CaseRow, bool)> {
    submit_named(s, who, input, key).await.map(|(c, replayed, _)| (c, replayed))
}

/// `submit`, also giving the category's and the grid's names (for an answer without more queries).
pub async fn submit_named(
    s: &CasesState,
    who: Reporter<'_>,
    input: &NewCase,
    key: Option<&str>,
) -> AppResult<(CaseRow, bool, (String, String))> {
    let r = check(s, who, input, key).await?;
    let (c, replayed) = super::intake::create(&s.db, &s.writer, r.actor(), &r.row()).await?;
    if !replayed {
        announce(s, &c);
    }
    if replayed && c.reporter_id != r.reporter_id {
        // Someone else's key: say nothing about their case.
        return Err(AppError::conflict("idempotency_key_in_use", "该 Idempotency-Key 已被使用"));
    }
    Ok((c, replayed, (r.category_name, r.grid_name)))
}

/// Tell the live feed and the duplicate finder about a stored report (after its commit).
fn announce(s: &CasesState, c: &CaseRow) {
    s.feed.publish(super::events::CaseEvent::of("reported", c));
    if let (Some(a), Some(b)) = (c.lat, c.lng) {
        s.recent_reports.push(&c.district, &c.category_code, c.id, (a, b), c.reported_at);
    }
}

/// A report checked and ready to store: everything its row holds, owned (see [`check`]).
pub struct Checked<'a> {
    who: Reporter<'a>,
    actor_name: String,
    district: String,
    category_code: String,
    category_name: String,
    description: String,
    lat: Option<f64>,
    lng: Option<f64>,
    grid_code: String,
    grid_name: String,
    level: i64,
    source: String,
    reporter_id: Option<Uuid>,
    reporter_name: String,
    reporter_phone: String,
    key: Option<String>,
    fingerprint: Option<String>,
    reported_at: i64,
    due_at: i64,
    /// Recent reports nearby, nearest first: the writing transaction names the nearest still open.
    duplicates: Vec<Uuid>,
    attributes: String,
    private: bool,
    routed: Option<RoutedReport>,
}

impl Checked<'_> {
    /// The row `store::create` (or `store::insert_in`) writes.
    pub fn row(&self) -> NewCaseRow<'_> {
        NewCaseRow {
            duplicate_of: None,
            duplicate_candidates: &self.duplicates,
            district: &self.district,
            category_code: &self.category_code,
            description: &self.description,
            lat: self.lat,
            lng: self.lng,
            grid_code: &self.grid_code,
            level: self.level,
            source: &self.source,
            reporter_id: self.reporter_id,
            reporter_name: &self.reporter_name,
            reporter_phone: &self.reporter_phone,
            idempotency_key: self.key.as_deref(),
            idempotency_fingerprint: self.fingerprint.as_deref(),
            reported_at: self.reported_at,
            due_at: self.due_at,
            attributes: &self.attributes,
            private: self.private,
            on_reported: match &self.who {
                Reporter::Client { on_reported, .. } | Reporter::Council { on_reported, .. } | Reporter::Device { on_reported, .. } => {
                    Some(*on_reported)
                }
                _ => None,
            },
            routed: self.routed.as_ref().map(|r| store::AutoRouted {
                unit: r.unit,
                note: &r.note,
                confidence: r.confidence,
            }),
        }
    }

    /// Who the timeline and the audit log name.
    pub fn actor(&self) -> Actor<'_> {
        match &self.who {
            Reporter::User(p) | Reporter::Council { by: p, .. } => p.actor(),
            _ => Actor::System(&self.actor_name),
        }
    }
}

/// Store reports checked before, in the caller's transaction (an import: all or nothing). Keys
/// must be fresh (a used key fails the transaction); the caller commits, then calls [`announced`].
pub async fn insert_all(tx: &mut crate::db::Tx, checked: &[Checked<'_>]) -> AppResult<Vec<CaseRow>> {
    let mut rows = Vec::with_capacity(checked.len());
    for r in checked {
        rows.push(store::insert_in(tx, r.actor(), &r.row()).await?);
    }
    Ok(rows)
}

/// After the commit of [`insert_all`]: the feed and the duplicate finder learn of the reports.
pub fn announced(s: &CasesState, rows: &[CaseRow]) {
    for c in rows {
        announce(s, c);
    }
}

/// Validate a report and resolve what it names (category, grid, router, duplicates, deadline),
/// without writing. Shared by [`submit_named`] and imports that store many in one transaction.
pub async fn check<'a>(s: &CasesState, who: Reporter<'a>, input: &NewCase, key: Option<&str>) -> AppResult<Checked<'a>> {
    let district = match &who {
        Reporter::User(p) | Reporter::Council { by: p, .. } => p.district.as_str(),
        Reporter::Public { district, .. } => district,
        Reporter::Client { district, .. } | Reporter::Device { district, .. } => district,
    };
    let (is_resident, may_import) = match &who {
        Reporter::User(p) => (
            p.posts.iter().all(|x| x.role == Role::Resident),
            p.posts.iter().any(|x| x.role == Role::DistrictAdmin),
        ),
        Reporter::Public { .. } | Reporter::Client { .. } => (true, false),
        Reporter::Council { .. } | Reporter::Device { .. } => (false, false),
    };
    // No category: the router (智能分派) files it once the grid is known.
    let given = input.category.trim();
    let chosen = match given {
        "" => None,
        code => Some(
            s.categories
                .get(&s.db, district, code)
                .await?
                .filter(|c| c.is_leaf() && c.active)
                .ok_or_else(|| {
                    AppError::invalid(
                        "unknown_category",
                        format!("问题类别「{}」不存在（请使用小类编码）", input.category),
                    )
                })?,
        ),
    };
    let description = input.description.trim();
    let (min, max) = match who {
        Reporter::Client { .. } => (1, CLIENT_DESCRIPTION_MAX),
        _ => (2, 2000),
    };
    if !(min..=max).contains(&description.chars().count()) {
        return Err(AppError::invalid("invalid_description", format!("问题描述应为{min}至{max}字")));
    }
    let source = match &who {
        Reporter::Client { .. } => "open311",
        Reporter::Council { .. } => "council",
        Reporter::Device { .. } => "device",
        _ => input.source.as_deref().unwrap_or(if is_resident { "resident" } else { "officer" }),
    };
    if !SOURCES.contains(&source) {
        return Err(AppError::invalid("invalid_source", format!("来源应为：{}", SOURCES.join(", "))));
    }
    let channel = match &who {
        Reporter::Client { .. } => Channel::Client,
        Reporter::Council { .. } => Channel::Council,
        Reporter::Device { .. } => Channel::Device,
        Reporter::Public { .. } => Channel::Resident,
        Reporter::User(_) if is_resident => Channel::Resident,
        Reporter::User(_) if may_import => Channel::Import,
        Reporter::User(_) => Channel::Staff,
    };
    if !source_allowed(source, channel) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "source_not_allowed",
            "该来源只能由相应渠道写入（设备、热线、议事会来源由区级导入）",
        ));
    }
    let now = crate::db::now_ms();
    let reported_at = match input.reported_at.as_deref() {
        None => now,
        Some(t) => {
            let at = parse_instant(t)?.as_millisecond();
            if at > now + 60_000 {
                return Err(AppError::invalid("invalid_time", "上报时间不能晚于当前时间"));
            }
            if now - at > 300_000 && !(may_import && matches!(source, "device" | "hotline")) {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    "import_not_allowed",
                    "只有区级导入（设备、热线来源）可以补录过去的上报时间",
                ));
            }
            at
        }
    };
    let (lat, lng) = match (input.lat, input.lng) {
        (Some(a), Some(b)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => (Some(a), Some(b)),
        (None, None) => (None, None),
        _ => return Err(AppError::invalid("invalid_location", "位置应同时给出有效的纬度 lat 和经度 lng")),
    };
    let (grid_code, grid_name) = match (input.grid.as_deref().filter(|g| !g.is_empty()), lat, lng) {
        (Some(g), _, _) => grids::get(&s.db, g)
            .await?
            .filter(|x| x.district == district)
            .map(|x| (x.code, x.name))
            .ok_or_else(|| AppError::invalid("unknown_grid", format!("网格编码 {g} 不存在")))?,
        (None, Some(a), Some(b)) => {
            let idx = s.grid_index.get(&s.db).await?;
            idx.locate_named(a, b)
                .filter(|(c, _)| c.starts_with(district))
                .map(|(c, n)| (c.to_string(), n.to_string()))
                .ok_or_else(|| AppError::invalid("outside_district", "该位置不在本区网格范围内"))?
        }
        _ => return Err(AppError::invalid("location_required", "请提供位置（lat、lng）或网格编码 grid")),
    };
    if let Reporter::Client { scope, .. } = &who
        && !grid_code.starts_with(scope)
    {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "outside_key_scope",
            "该位置不在此接入密钥的网格范围内",
        ));
    }
    let (cat, routed) = match chosen {
        Some(c) => (c, None),
        None => route(s, district, &grid_code, description).await?,
    };
    let answers: std::collections::BTreeMap<String, Vec<String>> =
        input.attributes.iter().flatten().map(|(k, v)| (k.clone(), v.values())).collect();
    // A routed report answered no category's questions.
    let attributes = match routed {
        Some(_) => "{}".to_string(),
        None => super::attributes::check_answers(&cat.fields(), &answers)?.to_string(),
    };
    let private = input.private.unwrap_or(false) || super::attributes::PRIVATE_CATEGORIES.contains(&cat.code.as_str());
    let level = (1..=5).rev().find(|l| rules::code_len(*l) <= grid_code.len()).unwrap_or(5);
    let due_at = due_for(&s.calendar, cat.limit(), reported_at);
    let (reporter_id, reporter_name, reporter_phone) = match &who {
        Reporter::User(p) | Reporter::Council { by: p, .. } => (Some(p.user_id), p.display_name.clone(), String::new()),
        Reporter::Public { phone, .. } => {
            let phone = match phone.trim() {
                "" => String::new(),
                ph => crate::identity::parse_mobile(ph).ok_or_else(|| AppError::invalid("invalid_phone", "联系电话应为11位手机号"))?,
            };
            (None, "居民".to_string(), phone)
        }
        Reporter::Client { key_name, name, phone, .. } => {
            // Kept for a call back, never sent out again through Open311.
            let name = match name.trim() {
                "" => format!("Open311：{key_name}"),
                n => n.chars().take(64).collect(),
            };
            let phone: String = phone.trim().chars().take(32).collect();
            (None, name, phone)
        }
        Reporter::Device { name, .. } => (None, name.chars().take(64).collect(), String::new()),
    };
    let duplicates = match (lat, lng) {
        (Some(a), Some(b)) => {
            let (meters, hours) = s.duplicate_rule;
            s.recent_reports
                .near(&s.db, district, &cat.code, (a, b), meters, reported_at - hours * 3_600_000)
                .await?
        }
        _ => Vec::new(),
    };
    // A key names a retry of one reporter's report, so it is scoped by who reports: two officers
    // (or two apps) using the same key each get their own case. An anonymous reporter has no id,
    // so their key is scoped by grid and by what they wrote: an honest retry sends the same form
    // and lands on its case; someone else's key with other words makes a case of its own and
    // never learns of the first.
    let scoped_key = key.map(|k| match &who {
        Reporter::User(p) | Reporter::Council { by: p, .. } => format!("u:{}:{k}", p.user_id),
        Reporter::Public { .. } => {
            let content = crate::auth::hash_secret(&format!("{}\u{1f}{}\u{1f}{}", cat.code, description, reporter_phone));
            format!("p:{grid_code}:{k}:{}", &content[..16])
        }
        // Open311 keys come already scoped by the API key (`o311:{key id}:…`); a device's by its serial.
        Reporter::Client { .. } | Reporter::Device { .. } => k.to_string(),
    });
    let key = scoped_key.as_deref();
    let (lat_s, lng_s) = (format!("{lat:?}"), format!("{lng:?}"));
    let fingerprint = key.map(|_| {
        crate::web::api::request_fingerprint(&[
            &cat.code,
            description,
            &grid_code,
            &lat_s,
            &lng_s,
            source,
            input.reported_at.as_deref().unwrap_or(""),
            &attributes,
            if private { "private" } else { "" },
        ])
    });
    let actor_name = match &who {
        Reporter::Public { .. } => "居民".to_string(),
        Reporter::Client { key_name, .. } => format!("open311:{key_name}"),
        Reporter::Device { name, .. } => name.to_string(),
        Reporter::User(_) | Reporter::Council { .. } => String::new(),
    };
    Ok(Checked {
        who,
        actor_name,
        district: district.to_string(),
        category_code: cat.code.clone(),
        category_name: cat.name.clone(),
        description: description.to_string(),
        lat,
        lng,
        grid_code,
        grid_name,
        level,
        source: source.to_string(),
        reporter_id,
        reporter_name,
        reporter_phone,
        key: key.map(str::to_string),
        fingerprint,
        reported_at,
        due_at,
        duplicates,
        attributes,
        private,
        routed,
    })
}

/// What the router decided for a report without a category: the timeline's words and the unit.
struct RoutedReport {
    unit: Option<Uuid>,
    note: String,
    confidence: f64,
}

/// File a report that came without a category by the router's best suggestion, and dispatch it to
/// the suggested unit when the district's threshold allows (the unit must still take work).
async fn route(
    s: &CasesState,
    district: &str,
    grid_code: &str,
    description: &str,
) -> AppResult<(categories::CategoryRow, Option<RoutedReport>)> {
    let required = || AppError::invalid("category_required", "请选择问题类别");
    let Some(router) = &s.hooks.router else {
        return Err(required());
    };
    let r = router.route(&s.db, district, grid_code, description).await?.ok_or_else(required)?;
    let cat = s
        .categories
        .get(&s.db, district, &r.category)
        .await?
        .filter(|c| c.is_leaf() && c.active)
        .ok_or_else(required)?;
    let unit = match r.unit.filter(|_| r.dispatch()) {
        Some(u) => units::get(&s.db, u)
            .await?
            .filter(|x| x.district == district && matches!(x.kind.as_str(), "department" | "property_company" | "community")),
        None => None,
    };
    // Whole percent, rounded down: never more sure than the model is.
    let pct = (r.confidence * 100.0).floor().clamp(0.0, 100.0);
    let note = match &unit {
        Some(x) => format!("系统按智能分派建议归类为「{}」并派往{}（置信度 {pct}%）", cat.name, x.name),
        None => format!("系统按智能分派建议归类为「{}」（置信度 {pct}%），待人工派遣", cat.name),
    };
    let routed = RoutedReport {
        unit: unit.map(|x| x.id),
        note,
        confidence: r.confidence,
    };
    Ok((cat, Some(routed)))
}

/// What the who-may rules need to know about a stored case beyond its row.
pub struct CaseContext {
    /// The unit's home grid when the case is dispatched to a community committee.
    unit_grid: Option<String>,
    summoned: Vec<Uuid>,
    close_level: i64,
    /// The compound's property company, when it serves the case's category.
    property_company: Option<Uuid>,
}

impl CaseContext {
    pub async fn of(s: &CasesState, c: &CaseRow) -> AppResult<CaseContext> {
        let unit_grid = match c.unit_id {
            Some(u) => units::get(&s.db, u)
                .await?
                .filter(|x| x.kind == "community")
                .and_then(|x| x.grid_code),
            None => None,
        };
        let summoned = store::whistles(&s.db, c.id).await?.into_iter().map(|w| w.unit_id).collect();
        let category = categories::get(&s.db, &c.district, &c.category_code).await?;
        let close_level = category.as_ref().map(|x| x.close_level).unwrap_or(3);
        let property_company = match category {
            Some(cat) if cat.property_serves => compound_company(&s.db, &c.grid_code).await?,
            _ => None,
        };
        Ok(CaseContext {
            unit_grid,
            summoned,
            close_level,
            property_company,
        })
    }

    pub fn view<'a>(&'a self, c: &'a CaseRow) -> CaseView<'a> {
        CaseView {
            grid_code: &c.grid_code,
            level: c.level,
            unit: c.unit_id,
            unit_grid: self.unit_grid.as_deref(),
            summoned: &self.summoned,
            reporter: c.reporter_id,
            close_level: self.close_level,
            property_company: self.property_company,
        }
    }
}

/// The property company of the compound holding grid `code` (a compound or a building in one).
pub async fn compound_company(db: &crate::db::Db, code: &str) -> AppResult<Option<Uuid>> {
    let n = rules::code_len(4);
    if code.len() < n {
        return Ok(None);
    }
    Ok(grids::get(db, &code[..n]).await?.and_then(|g| g.property_company_id))
}

/// A case of the caller's district that the caller may see (otherwise "not found"), with its context.
pub async fn load_visible(s: &CasesState, p: &Principal, id: Uuid) -> AppResult<(CaseRow, CaseContext)> {
    let c = store::get(&s.db, id)
        .await?
        .filter(|c| c.district == p.district)
        .ok_or_else(|| AppError::not_found("案件"))?;
    let ctx = CaseContext::of(s, &c).await?;
    if !permissions::may_see(p, &ctx.view(&c)) {
        return Err(AppError::not_found("案件"));
    }
    Ok((c, ctx))
}

pub async fn load(s: &CasesState, p: &Principal, id: Uuid) -> AppResult<CaseRow> {
    Ok(load_visible(s, p, id).await?.0)
}

/// Authorise and apply one action: the one path for the API and the console. `version`, when
/// given, is the version a form was shown at; a case changed since is not acted on.
pub async fn act_as(s: &CasesState, p: &Principal, id: Uuid, action: &Action, version: Option<i64>) -> AppResult<CaseRow> {
    // A unit named twice in one whistle is summoned once (not a conflict with itself).
    let deduped;
    let action = match action {
        Action::Whistle { units } => {
            let mut seen = std::collections::HashSet::new();
            deduped = Action::Whistle {
                units: units.iter().copied().filter(|u| seen.insert(*u)).collect(),
            };
            &deduped
        }
        _ => action,
    };
    let (c, ctx) = load_visible(s, p, id).await?;
    if !permissions::may(p, &ctx.view(&c), action) {
        return Err(AppError::forbidden());
    }
    if version.is_some_and(|v| v != c.version) {
        return Err(AppError::conflict("concurrent_update", "案件刚被他人处理，请查看最新进度后再操作"));
    }
    // Units named in the action must exist in the district and be able to take work.
    let named: Vec<Uuid> = match action {
        Action::Dispatch { unit } => vec![*unit],
        Action::Whistle { units } => units.clone(),
        _ => vec![],
    };
    let mut names = Vec::new();
    for u in named {
        match units::get(&s.db, u).await? {
            Some(x) if x.district == c.district && matches!(x.kind.as_str(), "department" | "property_company" | "community") => {
                names.push(x.name)
            }
            _ => return Err(AppError::invalid("unknown_unit", "指定的单位不存在或不能承办案件")),
        }
    }
    // The timeline says who the case went to, and who handled it.
    let note = match action {
        Action::Dispatch { .. } if c.unit_id.is_some() => Some(format!("改派至{}", names.join("、"))),
        Action::Dispatch { .. } => Some(format!("派至{}", names.join("、"))),
        Action::Whistle { .. } => Some(format!("召集{}", names.join("、"))),
        Action::Start if c.unit_id.is_none() => Some(format!("由{}自行处置", rules::level_label(c.level))),
        _ => None,
    };
    let whistle_due = s
        .calendar
        .add_hours(
            jiff::Timestamp::from_millisecond(crate::db::now_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            24,
        )
        .as_millisecond();
    let done = store::act(&s.db, &s.hooks, p.actor(), &c, action, note, whistle_due).await?;
    s.feed.publish(super::events::CaseEvent::of(action.name(), &done));
    Ok(done)
}

/// Merge case `id` into `into`: both must be visible to the caller, and merging is a grid
/// decision, like accepting or declining.
pub async fn merge_as(s: &CasesState, p: &Principal, id: Uuid, into: Uuid) -> AppResult<CaseRow> {
    let (dup, ctx) = load_visible(s, p, id).await?;
    let into = load(s, p, into).await?;
    if !permissions::may(p, &ctx.view(&dup), &Action::Accept) {
        return Err(AppError::forbidden());
    }
    let done = store::merge(&s.db, p.actor(), &dup, &into).await?;
    s.feed.publish(super::events::CaseEvent::of("merge", &done));
    Ok(done)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AssessmentReport {
    pub from: String,
    pub to: String,
    pub items: Vec<super::assessment::Row>,
}

/// An instant from RFC 3339 or a China-time date (its midnight).
pub fn parse_day_or_instant(s: &str) -> AppResult<i64> {
    // jiff also reads the date out of a full timestamp: only a bare YYYY-MM-DD is a day.
    if s.len() == 10
        && let Ok(d) = s.parse::<jiff::civil::Date>()
    {
        let t = d
            .to_zoned(crate::time::china())
            .map(|z| z.timestamp())
            .map_err(|_| AppError::invalid("invalid_time", "日期超出范围"))?;
        return Ok(within_reason(t)?.as_millisecond());
    }
    Ok(parse_instant(s)?.as_millisecond())
}

/// Shared by the API and the console page.
pub async fn assessment_for(s: &CasesState, p: &Principal, by: &str, from: Option<&str>, to: Option<&str>) -> AppResult<AssessmentReport> {
    use super::assessment::By;
    let by = match by {
        "unit" => By::Unit,
        "street" => By::Street,
        "community" => By::Community,
        _ => return Err(AppError::invalid("invalid_by", "by 应为 unit、street 或 community")),
    };
    if !p.has(crate::auth::Capability::ManageGrid) {
        return Err(AppError::forbidden());
    }
    let now = crate::db::now_ms();
    let to_ms = match to.filter(|x| !x.is_empty()) {
        Some(t) => parse_day_or_instant(t)?,
        None => now,
    };
    let from_ms = match from.filter(|x| !x.is_empty()) {
        Some(t) => parse_day_or_instant(t)?,
        None => to_ms - 30 * 86_400_000,
    };
    if from_ms >= to_ms {
        return Err(AppError::invalid("invalid_period", "开始时间应早于结束时间"));
    }
    let scope = p.roots(crate::auth::Capability::ManageGrid).into_iter().next();
    let scope = scope.filter(|s| s.len() > 6);
    let items = super::assessment::report(
        &s.db,
        &p.district,
        by,
        from_ms,
        to_ms,
        if by == By::Unit { None } else { scope.as_deref() },
    )
    .await?;
    Ok(AssessmentReport {
        from: crate::time::rfc3339_ms(from_ms),
        to: crate::time::rfc3339_ms(to_ms),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::{Channel, SOURCES, parse_day_or_instant, source_allowed};

    #[test]
    fn each_source_is_written_only_by_its_channel() {
        use Channel::*;
        let table: [(&str, &[Channel]); 6] = [
            ("officer", &[Staff, Import]),
            ("resident", &[Resident, Staff, Import]),
            ("device", &[Import, Device]),
            ("hotline", &[Import]),
            ("council", &[Import, Council]),
            ("open311", &[Client]),
        ];
        assert_eq!(table.map(|t| t.0), SOURCES, "every source has a row");
        for (source, allowed) in table {
            for ch in [Resident, Staff, Import, Client, Council, Device] {
                assert_eq!(source_allowed(source, ch), allowed.contains(&ch), "{source} by {ch:?}");
            }
        }
        assert!(!source_allowed("rumour", Import));
    }

    #[test]
    fn a_day_is_midnight_in_china_and_an_instant_keeps_its_time() {
        let day = parse_day_or_instant("2026-11-24").unwrap();
        let midnight: jiff::Timestamp = "2026-11-24T00:00:00+08:00".parse().unwrap();
        assert_eq!(day, midnight.as_millisecond());
        let at = parse_day_or_instant("2026-11-24T09:30:00+08:00").unwrap();
        assert_eq!(at - day, (9 * 60 + 30) * 60_000);
        assert!(parse_day_or_instant("24/11/2026").is_err());
        for far in [
            "0001-01-01",
            "9999-12-31",
            "0001-01-01T00:00:00+08:00",
            "9999-12-31T00:00:00+08:00",
            "1999-12-31T15:59:59Z",
        ] {
            assert_eq!(parse_day_or_instant(far).unwrap_err().code, "invalid_time", "{far}");
        }
        assert!(parse_day_or_instant("2000-01-01").is_ok() && parse_day_or_instant("2100-12-31T12:00:00+08:00").is_ok());
    }
}
