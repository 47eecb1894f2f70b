//! Care visit operations, shared by the API, the pages, the bench and the demo: who is due in the
//! caller's grids, recording a visit (place checked, photo kept), the district's schedules, and a
//! case filed from a visit — each scoped to the caller's posts.

use std::collections::HashMap;
use std::path::Path;

use jiff::civil::Date;
use serde_json::json;
use uuid::Uuid;

use super::rules::{self, CARE_TAGS, Escalation, Every, Schedule, Standing};
use super::store::{self, DueRow, ScheduleRow, VisitRow};
use crate::audit;
use crate::auth::{Capability, Principal};
use crate::cases::calendar::Calendar;
use crate::db::{Db, new_id, now_ms};
use crate::error::{AppError, AppResult};

/// The grid roots a due list covers: the node asked for if the caller reads it, else all of theirs
/// (a building officer's several buildings).
pub fn read_roots(p: &Principal, grid: Option<&str>) -> AppResult<Vec<String>> {
    if !p.has(Capability::ReadRegistry) {
        return Err(AppError::forbidden_to("该角色不能查看关爱走访名单"));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if g.len() <= 32 && p.can(Capability::ReadRegistry, g) => Ok(vec![g.to_string()]),
        Some(_) => Err(AppError::not_found("该网格")),
        None => Ok(p.roots(Capability::ReadRegistry)),
    }
}

/// The district's schedules, every care tag, the defaults where the district set none.
pub async fn schedules(db: &Db, district: &str) -> AppResult<Vec<Schedule>> {
    let stored = store::schedules(db, district).await?;
    Ok(rules::defaults()
        .into_iter()
        .map(|d| {
            stored
                .iter()
                .find(|s| s.tag == d.tag)
                .and_then(|s| {
                    Some(Schedule {
                        tag: d.tag,
                        every: Every::parse(&s.every_unit, s.every_count).ok()?,
                        grace_days: u32::try_from(s.grace_days).ok()?,
                        active: s.active,
                    })
                })
                .unwrap_or(d)
        })
        .collect())
}

/// One person on a due list: the most pressing of their care tags.
#[derive(Debug, Clone)]
pub struct DueItem {
    pub resident: Uuid,
    pub name: String,
    pub tag: &'static str,
    pub grid: String,
    pub standing: Standing,
    pub last_visit_at: Option<i64>,
}

/// Every care-tagged person under `roots` with where they stand on `today`, the earliest due day
/// first. A (person, tag) seen for the first time is due today and gets its row now, so it is
/// overdue from tomorrow on.
pub async fn due(db: &Db, cal: &Calendar, district: &str, roots: &[String], today: Date) -> AppResult<Vec<DueItem>> {
    let sched = schedules(db, district).await?;
    let active: HashMap<&str, &Schedule> = sched.iter().filter(|s| s.active).map(|s| (s.tag, s)).collect();
    let mut rows: Vec<DueRow> = Vec::new();
    for r in roots {
        rows.extend(store::due_in(db, district, r).await?);
    }
    let today_ms = rules::ms_of_day(today);
    let fresh: Vec<&DueRow> = rows
        .iter()
        .filter(|r| r.due_at.is_none() && active.contains_key(r.tag.as_str()))
        .collect();
    if !fresh.is_empty() {
        let mut tx = db.begin().await?;
        for r in &fresh {
            store::insert_due(&mut tx, district, r, today_ms).await?;
        }
        tx.commit().await?;
    }
    let work = |d: Date| cal.is_working_day(d);
    let mut best: HashMap<Uuid, DueItem> = HashMap::new();
    for r in rows {
        let Some(s) = active.get(r.tag.as_str()) else { continue };
        let due = rules::day_of_ms(r.due_at.unwrap_or(today_ms));
        let item = DueItem {
            resident: r.resident_id,
            name: r.name,
            tag: s.tag,
            grid: r.grid_code,
            standing: rules::standing(due, today, s.grace_days, &work),
            last_visit_at: r.last_visit_at,
        };
        match best.get(&item.resident) {
            Some(b) if b.standing.due <= item.standing.due => {}
            _ => {
                best.insert(item.resident, item);
            }
        }
    }
    let mut out: Vec<DueItem> = best.into_values().collect();
    out.sort_by(|a, b| {
        a.standing
            .due
            .cmp(&b.standing.due)
            .then_with(|| a.grid.cmp(&b.grid))
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(out)
}

/// Those due on or before `until` (today's list, or a few days ahead).
pub fn due_by(items: Vec<DueItem>, until: Date) -> Vec<DueItem> {
    items.into_iter().filter(|i| i.standing.due <= until).collect()
}

/// How many of `items` fall under each child node of the root they are under, with how many of
/// those are overdue: a wide list's way down (a district holds tens of thousands of care-tagged
/// people, more than a page can show). Children in code order; items at a root itself are left out.
pub fn per_child(items: &[DueItem], roots: &[String]) -> Vec<(String, usize, usize)> {
    let mut counts: std::collections::BTreeMap<String, (usize, usize)> = std::collections::BTreeMap::new();
    for i in items {
        let Some(root) = roots.iter().filter(|r| i.grid.starts_with(r.as_str())).max_by_key(|r| r.len()) else {
            continue;
        };
        let Some(level) = (1..=5).find(|l| crate::grid::rules::code_len(*l) == root.len()) else {
            continue;
        };
        let width = crate::grid::rules::code_len(level + 1);
        if level >= 5 || i.grid.len() < width {
            continue;
        }
        let e = counts.entry(i.grid[..width].to_string()).or_default();
        e.0 += 1;
        if i.standing.overdue_days > 0 {
            e.1 += 1;
        }
    }
    counts.into_iter().map(|(code, (n, late))| (code, n, late)).collect()
}

/// Those escalated at least to `level`.
pub fn escalated(items: Vec<DueItem>, level: Escalation) -> Vec<DueItem> {
    items.into_iter().filter(|i| i.standing.escalation >= level).collect()
}

/// A visit as recorded from the phone.
#[derive(Debug, Clone, Default)]
pub struct NewVisit {
    pub resident: Uuid,
    /// good, fair, poor or absent; empty means good.
    pub condition: String,
    pub note: String,
    pub needs: String,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
}

/// Bound and check a position sent by a phone: both or neither, finite, in range.
pub fn check_position(lat: Option<f64>, lng: Option<f64>) -> AppResult<Option<(f64, f64)>> {
    let refuse = || AppError::invalid("invalid_location", "位置信息有误，请重新定位或不带位置提交");
    match (lat, lng) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() && (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&b) => {
            Ok(Some((a, b)))
        }
        _ => Err(refuse()),
    }
}

/// A resident the caller may visit (WriteRegistry over their building), or 403/404.
async fn resident_to_visit(db: &Db, p: &Principal, id: Uuid) -> AppResult<crate::registry::residents::ResidentRow> {
    if !p.has(Capability::WriteRegistry) {
        return Err(AppError::forbidden_to("该角色不能记录关爱走访"));
    }
    crate::registry::residents::get(db, id)
        .await?
        .filter(|r| r.district == p.district && p.can(Capability::WriteRegistry, &r.grid_code))
        .ok_or_else(|| AppError::not_found("该居民"))
}

/// The person a visit form is for, with their active care tags (the caller must be able to visit).
pub async fn visit_subject(db: &Db, p: &Principal, id: Uuid) -> AppResult<(crate::registry::residents::ResidentRow, Vec<&'static str>)> {
    let r = resident_to_visit(db, p, id).await?;
    let sched = schedules(db, &p.district).await?;
    let tags: Vec<&'static str> = sched
        .iter()
        .filter(|s| s.active && r.tag_list().iter().any(|t| t == s.tag))
        .map(|s| s.tag)
        .collect();
    if tags.is_empty() {
        return Err(AppError::not_found("该关爱对象"));
    }
    Ok((r, tags))
}

/// What a recorded visit gives back.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub visit: VisitRow,
    /// The next visit's day, if the person was seen (an absent call leaves the schedule as it was).
    pub next_due: Option<Date>,
}

/// Record a visit: the caller must hold the resident's building; the person must have an active
/// care tag. The place is checked against the building (在楼栋/不在楼栋/未定位), never refused.
pub async fn record_visit(db: &Db, data_dir: &Path, p: &Principal, v: &NewVisit, photo: Option<&[u8]>) -> AppResult<Recorded> {
    let r = resident_to_visit(db, p, v.resident).await?;
    let sched = schedules(db, &p.district).await?;
    let tags: Vec<&Schedule> = sched
        .iter()
        .filter(|s| s.active && r.tag_list().iter().any(|t| t == s.tag))
        .collect();
    if tags.is_empty() {
        return Err(AppError::invalid("not_cared", "该居民没有需要定期走访的关爱标签"));
    }
    let condition = match v.condition.trim() {
        "" => "good",
        c => rules::CONDITIONS
            .iter()
            .find(|x| x.0 == c)
            .map(|x| x.0)
            .ok_or_else(|| AppError::invalid("invalid_condition", "请选择走访对象的状况"))?,
    };
    let note = v.note.trim();
    if note.is_empty() || note.chars().count() > 1000 {
        return Err(AppError::invalid("invalid_note", "请填写走访情况（不超过1000字）"));
    }
    let needs = v.needs.trim();
    if needs.chars().count() > 500 {
        return Err(AppError::invalid("invalid_needs", "发现的需求不超过500字"));
    }
    let at = check_position(v.lat, v.lng)?;
    let photo = match photo {
        Some(bytes) => Some(crate::cases::attachments::keep(data_dir, bytes).await?),
        None => None,
    };
    let building = crate::grid::store::get(db, &r.grid_code).await?;
    let boundary = building.and_then(|g| crate::grid::rules::parse_boundary_text(&g.boundary).ok());
    let located = rules::position(boundary.as_ref().map(|b| &b.polygon), at);
    let now = now_ms();
    let visit = VisitRow {
        id: new_id(),
        district: r.district.clone(),
        resident_id: r.id,
        grid_code: r.grid_code.clone(),
        visited_at: now,
        visited_by: Some(p.user_id),
        visitor_name: p.display_name.chars().take(64).collect(),
        condition: condition.to_string(),
        note: note.to_string(),
        needs: needs.to_string(),
        lat: at.map(|a| a.0),
        lng: at.map(|a| a.1),
        located: located.as_str().to_string(),
        photo_sha256: photo.as_ref().map(|x| x.0.clone()),
        photo_mime: photo.as_ref().map(|x| x.1.to_string()),
    };
    let today = rules::day_of_ms(now);
    let mut next_due: Option<Date> = None;
    let mut tx = db.begin().await?;
    store::insert_visit(&mut tx, &visit, now).await?;
    if rules::counts_as_visit(condition) {
        for s in &tags {
            let due = rules::next_due(today, s.every);
            next_due = Some(next_due.map_or(due, |d| d.min(due)));
            store::set_due(&mut tx, &r.district, r.id, s.tag, &r.grid_code, rules::ms_of_day(due), now).await?;
        }
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &r.district,
            action: "care.visit",
            target_kind: "resident",
            target_id: &r.id.to_string(),
            reason: "",
            detail: json!({"visit": visit.id, "condition": condition, "located": located.as_str(), "photo": visit.photo_sha256.is_some(), "needs": !needs.is_empty()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Recorded { visit, next_due })
}

/// A visit the caller may read (ReadRegistry over its building), or 404.
pub async fn visit_to_read(db: &Db, p: &Principal, id: Uuid) -> AppResult<VisitRow> {
    store::visit(db, id)
        .await?
        .filter(|v| v.district == p.district && p.can(Capability::ReadRegistry, &v.grid_code))
        .ok_or_else(|| AppError::not_found("该走访记录"))
}

/// The bytes and type of a visit's photo.
pub async fn photo(db: &Db, data_dir: &Path, p: &Principal, id: Uuid) -> AppResult<(Vec<u8>, String)> {
    let v = visit_to_read(db, p, id).await?;
    let (Some(sha), Some(mime)) = (v.photo_sha256, v.photo_mime) else {
        return Err(AppError::not_found("该照片"));
    };
    Ok((crate::cases::attachments::read_kept(data_dir, &sha).await?, mime))
}

/// A schedule as the district sends it.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct ScheduleInput {
    /// A care tag: 独居老人, 空巢老人, 残疾人, 低保, 监测对象 or 留守儿童.
    pub tag: String,
    /// day, week or month.
    pub unit: String,
    /// 1–366 days, 1–52 weeks or 1–12 months.
    pub count: i64,
    /// Working days late before the compound is alerted, 0–60.
    pub grace_days: i64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Set a tag's schedule (district only); people already visited get their next day on the new
/// schedule at once.
pub async fn save_schedule(db: &Db, p: &Principal, input: &ScheduleInput) -> AppResult<Schedule> {
    if !p.can(Capability::ManageGrid, &p.district) {
        return Err(AppError::forbidden_to("只有区级管理员可以设置关爱走访周期"));
    }
    let tag = rules::care_tag(input.tag.trim())
        .ok_or_else(|| AppError::invalid("unknown_tag", format!("关爱标签应为：{}", CARE_TAGS.join("、"))))?;
    let every = Every::parse(input.unit.trim(), input.count).map_err(|m| AppError::invalid("invalid_schedule", m))?;
    if !(0..=rules::MAX_GRACE).contains(&input.grace_days) {
        return Err(AppError::invalid(
            "invalid_grace",
            format!("宽限期应为0至{}个工作日", rules::MAX_GRACE),
        ));
    }
    let row = ScheduleRow {
        tag: tag.to_string(),
        every_unit: every.unit().to_string(),
        every_count: i64::from(every.count()),
        grace_days: input.grace_days,
        active: input.active,
    };
    let mut tx = db.begin().await?;
    store::upsert_schedule(&mut tx, &p.district, &row, now_ms()).await?;
    let visited = store::visited_of_tag(&mut tx, &p.district, tag).await?;
    for (resident, last) in &visited {
        let due = rules::next_due(rules::day_of_ms(*last), every);
        store::move_due(&mut tx, *resident, tag, rules::ms_of_day(due)).await?;
    }
    audit::record(
        &mut tx,
        p.actor(),
        audit::Entry {
            district: &p.district,
            action: "care.schedule",
            target_kind: "district",
            target_id: &p.district,
            reason: "",
            detail: json!({"tag": tag, "unit": row.every_unit, "count": row.every_count, "grace_days": row.grace_days, "active": row.active, "moved": visited.len()}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Schedule {
        tag,
        every,
        grace_days: input.grace_days as u32,
        active: input.active,
    })
}

/// File a case from a visit's needs ("一键转案件"): in the resident's building, private (it is
/// about a person's circumstances), reported by the officer who may visit there.
pub async fn visit_case(
    s: &crate::cases::CasesState,
    p: &Principal,
    visit_id: Uuid,
    category: &str,
    description: &str,
) -> AppResult<crate::cases::store::CaseRow> {
    if !p.has(Capability::WriteRegistry) {
        return Err(AppError::forbidden_to("该角色不能从走访记录上报问题"));
    }
    let v = store::visit(&s.db, visit_id)
        .await?
        .filter(|v| v.district == p.district && p.can(Capability::WriteRegistry, &v.grid_code))
        .ok_or_else(|| AppError::not_found("该走访记录"))?;
    let new = crate::cases::service::NewCase {
        category: category.trim().chars().take(16).collect(),
        description: description.trim().chars().take(2000).collect(),
        lat: None,
        lng: None,
        grid: Some(v.grid_code.clone()),
        source: None,
        reported_at: None,
        attributes: None,
        private: Some(true),
    };
    let (case, _) = crate::cases::service::submit(s, crate::cases::service::Reporter::User(p), &new, None).await?;
    Ok(case)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(grid: &str, overdue_days: i64) -> DueItem {
        DueItem {
            resident: Uuid::now_v7(),
            name: "张三".into(),
            tag: "独居老人",
            grid: grid.into(),
            standing: rules::Standing {
                due: jiff::civil::date(2026, 11, 2),
                overdue_days,
                escalation: Escalation::None,
            },
            last_visit_at: None,
        }
    }

    #[test]
    fn a_wide_list_counts_each_child_of_its_root() {
        let items = [
            item("411602001001001001", 0),
            item("411602001001002001", 3),
            item("411602001001002002", 0),
            item("411602002001001001", 1),
            item("411602001001", 0),
        ];
        // Under the district: one line per street.
        assert_eq!(
            per_child(&items, &["411602".into()]),
            vec![("411602001".into(), 4, 1), ("411602002".into(), 1, 1)]
        );
        // Under a community: its compounds; a person filed at the community itself is not counted.
        assert_eq!(
            per_child(&items, &["411602001001".into()]),
            vec![("411602001001001".into(), 1, 0), ("411602001001002".into(), 2, 1)]
        );
        // Two roots: each item goes under the root it is in.
        assert_eq!(
            per_child(&items, &["411602001001002".into(), "411602002".into()]),
            vec![
                ("411602001001002001".into(), 1, 1),
                ("411602001001002002".into(), 1, 0),
                ("411602002001".into(), 1, 1)
            ]
        );
        // A building has no children.
        assert!(per_child(&items, &["411602001001001001".into()]).is_empty());
    }
}
