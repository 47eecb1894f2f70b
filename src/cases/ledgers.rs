//! The case loop's Excel ledgers (台账): cases with their timeline dates (the board's filters and
//! scope), and hotline tickets imported from Excel (12345批量导入).

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::CasesState;
use super::api::{BoardQuery, board_scope};
use super::service::{self, NewCase, Reporter};
use super::store;
use super::workflow::{Rating, Status};
use crate::auth::{Principal, Role};
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::ledgers::{BoxFuture, Column, Export, ExportCtx, Import, Outcome, Record, RowError, Sink, Writer};
use crate::on_pool;
use crate::time::minute_ms;

fn source_label(s: &str) -> &'static str {
    match s {
        "officer" => "网格员上报",
        "resident" => "群众反映",
        "device" => "设备告警",
        "hotline" => "热线电话",
        "council" => "议事会",
        "open311" => "Open311接入",
        _ => "其他",
    }
}

fn rating_label(r: &str) -> &'static str {
    [Rating::Satisfied, Rating::BasicallySatisfied, Rating::Dissatisfied]
        .into_iter()
        .find(|x| serde_json::to_value(x).ok().and_then(|v| v.as_str().map(|s| s == r)) == Some(true))
        .map_or("", Rating::label)
}

fn when(ms: Option<i64>) -> String {
    ms.map(minute_ms).unwrap_or_default()
}

/// 案件台账: the board's cases with their timeline dates.
pub struct Cases;

impl Export for Cases {
    fn name(&self) -> &'static str {
        "cases"
    }
    fn title(&self) -> &'static str {
        "案件台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "案件编号",
            "问题类别",
            "问题描述",
            "网格编码",
            "网格",
            "来源",
            "状态",
            "承办单位",
            "上报时间",
            "派遣时间",
            "办结时间",
            "结案时间",
            "办理时限",
            "是否超期",
            "返工次数",
            "督办次数",
            "群众评价",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: BoardQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let scope = board_scope(&ctx.db, &p, &q).await?;
            let db = ctx.db.clone();
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    let (categories, units, grids) = names(&db, &p.district).await?;
                    let f = scope.filter(&p, &q);
                    let now = crate::db::now_ms();
                    store::export(&db, &f, &mut sink, |r| {
                        let c = r.c;
                        let status = Status::parse(&c.status);
                        let open = status.is_some_and(|s| !matches!(s, Status::Closed | Status::Declined));
                        let overdue = c.closed_at.or(c.handled_at).map_or(open && now > c.due_at, |done| done > c.due_at);
                        vec![
                            c.tracking_code.into(),
                            categories.get(&c.category_code).cloned().unwrap_or(c.category_code).into(),
                            c.description.into(),
                            c.grid_code.clone().into(),
                            grids.get(&c.grid_code).cloned().unwrap_or_default().into(),
                            source_label(&c.source).into(),
                            (if c.merged_into.is_some() {
                                "已合并"
                            } else {
                                status.map_or("", Status::label)
                            })
                            .into(),
                            c.unit_id.and_then(|u| units.get(&u).cloned()).unwrap_or_default().into(),
                            minute_ms(c.reported_at).into(),
                            when(r.dispatched_at).into(),
                            when(c.handled_at).into(),
                            when(c.closed_at).into(),
                            minute_ms(c.due_at).into(),
                            (if overdue { "超期" } else { "" }).into(),
                            c.rework.into(),
                            c.supervisions.into(),
                            c.rating.as_deref().map(rating_label).unwrap_or_default().into(),
                        ]
                    })
                    .await?;
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}

/// 考核排名台账: the assessment report (`GET /api/v1/assessment`, `by`, `from`, `to`), one row a
/// unit, street or community, as the API ranks them.
pub struct Assessment {
    pub cases: CasesState,
}

impl Export for Assessment {
    fn name(&self) -> &'static str {
        "assessment"
    }
    fn title(&self) -> &'static str {
        "考核排名台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "名次",
            "名称",
            "受理数",
            "结案数",
            "按期处置率",
            "结案率",
            "返工率",
            "满意率",
            "平均处置时长（小时）",
            "综合得分",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        let s = self.cases.clone();
        Box::pin(async move {
            let q: super::api::AssessmentQuery = ctx.req.params()?;
            let report = service::assessment_for(&s, &ctx.principal, &q.by, q.from.as_deref(), q.to.as_deref()).await?;
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    let pct = |x: f64| (x * 1000.0).round() / 10.0;
                    for r in report.items {
                        let f = r.figures;
                        sink.push(vec![
                            (r.rank as i64).into(),
                            r.name.into(),
                            f.received.into(),
                            f.closed.into(),
                            pct(f.on_time_rate).into(),
                            pct(f.closure_rate).into(),
                            pct(f.rework_rate).into(),
                            pct(f.satisfaction_rate).into(),
                            ((f.mean_handling_hours * 10.0).round() / 10.0).into(),
                            ((f.score * 1000.0).round() / 1000.0).into(),
                        ])
                        .await?;
                    }
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}

type Names = (HashMap<String, String>, HashMap<Uuid, String>, HashMap<String, String>);

/// Category, unit and grid names of a district, read once per export.
async fn names(db: &Db, district: &str) -> AppResult<Names> {
    let cats: Vec<(String, String)> = on_pool!(db, |p| sqlx::query_as("SELECT code, name FROM case_categories WHERE district = $1")
        .bind(district)
        .fetch_all(p)
        .await)?;
    let units: Vec<(Uuid, String)> = on_pool!(db, |p| sqlx::query_as("SELECT id, name FROM units WHERE district = $1")
        .bind(district)
        .fetch_all(p)
        .await)?;
    let grids: Vec<(String, String)> = on_pool!(db, |p| sqlx::query_as("SELECT code, name FROM grids WHERE district = $1")
        .bind(district)
        .fetch_all(p)
        .await)?;
    Ok((cats.into_iter().collect(), units.into_iter().collect(), grids.into_iter().collect()))
}

/// 12345热线工单批量导入: each ticket becomes a case with source `hotline`, dated when the hotline
/// took it, through the case loop's own `submit` (deadlines, audit and the timeline keep their
/// meaning). The ticket number is the idempotency key, so a ticket imported twice is one case.
pub struct HotlineImport {
    pub cases: CasesState,
}

const HOTLINE_COLUMNS: &[Column] = &[
    Column {
        header: "工单编号",
        required: true,
        example: "12345-20261126-0001",
        note: "热线工单编号，同一工单只导入一次（2至64字）",
    },
    Column {
        header: "问题类别编码",
        required: true,
        example: "SQ03",
        note: "问题类别小类编码（见案件类别）",
    },
    Column {
        header: "问题描述",
        required: true,
        example: "3号楼楼道有人飞线给电动车充电",
        note: "2至2000字",
    },
    Column {
        header: "网格编码",
        required: true,
        example: "411602001001001001",
        note: "问题所在网格的编码",
    },
    Column {
        header: "受理时间",
        required: true,
        example: "2026-11-20 09:30",
        note: "热线受理的时间（北京时间），不晚于现在",
    },
];

/// A China-time `2026-11-20 09:30` (or a date, or RFC 3339) as RFC 3339.
fn hotline_time(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.to_string());
    }
    let dt = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M", s)
        .or_else(|_| jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s))
        .or_else(|_| jiff::civil::DateTime::strptime("%Y/%m/%d %H:%M", s))
        .or_else(|_| s.parse::<jiff::civil::Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
        .ok()?;
    dt.to_zoned(crate::time::china()).ok().map(|z| z.timestamp().to_string())
}

impl Import for HotlineImport {
    fn name(&self) -> &'static str {
        "hotline"
    }
    fn title(&self) -> &'static str {
        "12345热线工单"
    }
    fn columns(&self) -> &'static [Column] {
        HOTLINE_COLUMNS
    }
    fn allowed(&self, p: &Principal) -> bool {
        // The case loop takes past-dated hotline reports from the district only.
        p.posts.iter().any(|x| x.role == Role::DistrictAdmin)
    }
    fn run<'a>(&'a self, db: &'a Db, p: &'a Principal, records: Vec<Record>, dry_run: bool) -> BoxFuture<'a, AppResult<Outcome>> {
        Box::pin(async move {
            let h = |i: usize| HOTLINE_COLUMNS[i].header;
            let now = crate::db::now_ms();
            let leaves: HashSet<String> = super::categories::list(db, &p.district)
                .await?
                .into_iter()
                .filter(|c| c.is_leaf() && c.active)
                .map(|c| c.code)
                .collect();
            let mut grids_seen: HashMap<String, bool> = HashMap::new();
            let mut tickets: HashMap<String, u32> = HashMap::new();
            let mut errors = Vec::new();
            let mut lines: Vec<(String, NewCase)> = Vec::new();
            for rec in &records {
                let before = errors.len();
                let ticket = rec.get(0).to_string();
                if !(2..=64).contains(&ticket.chars().count()) {
                    errors.push(RowError::new(rec.row, h(0), "工单编号应为2至64字"));
                } else if let Some(first) = tickets.insert(ticket.clone(), rec.row) {
                    errors.push(RowError::new(rec.row, h(0), format!("与第{first}行的工单编号重复")));
                }
                if !leaves.contains(rec.get(1)) {
                    errors.push(RowError::new(
                        rec.row,
                        h(1),
                        format!("问题类别「{}」不存在（请使用小类编码）", rec.get(1)),
                    ));
                }
                if !(2..=2000).contains(&rec.get(2).chars().count()) {
                    errors.push(RowError::new(rec.row, h(2), "问题描述应为2至2000字"));
                }
                let grid = rec.get(3).to_string();
                if !grids_seen.contains_key(&grid) {
                    let ok = crate::grid::store::get(db, &grid).await?.is_some_and(|g| g.district == p.district);
                    grids_seen.insert(grid.clone(), ok);
                }
                if !grids_seen[&grid] {
                    errors.push(RowError::new(rec.row, h(3), "网格编码不存在"));
                }
                let at = hotline_time(rec.get(4));
                match at.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok()) {
                    Some(t) if t.as_millisecond() <= now + 60_000 => {}
                    Some(_) => errors.push(RowError::new(rec.row, h(4), "受理时间不能晚于现在")),
                    None => errors.push(RowError::new(rec.row, h(4), "受理时间应为“2026-11-20 09:30”这样的日期和时间")),
                }
                if errors.len() == before {
                    lines.push((
                        ticket,
                        NewCase {
                            category: rec.get(1).to_string(),
                            description: rec.get(2).to_string(),
                            lat: None,
                            lng: None,
                            grid: Some(grid),
                            source: Some("hotline".into()),
                            reported_at: at,
                            attributes: None,
                            private: None,
                        },
                    ));
                }
            }
            let mut out = Outcome {
                rows: records.len(),
                errors,
                ..Outcome::default()
            };
            // Tickets imported before: their idempotency keys are in the case loop's table.
            let mut fresh = Vec::with_capacity(lines.len());
            for (ticket, case) in lines {
                if service::idempotency_seen(db, p, &key_of(&ticket)).await? {
                    out.skipped += 1;
                } else {
                    fresh.push((ticket, case));
                }
            }
            if !out.errors.is_empty() || dry_run {
                return Ok(out);
            }
            // Every ticket checked as a report (category, grid, deadline), then all stored in one
            // transaction: a failure stores none of them.
            let mut checked = Vec::with_capacity(fresh.len());
            for (ticket, case) in &fresh {
                let key = key_of(ticket);
                checked.push(
                    service::check(&self.cases, Reporter::User(p), case, Some(&key))
                        .await
                        .map_err(|e| {
                            AppError::new(
                                e.status,
                                e.code,
                                format!("工单{ticket}未能导入（本次未导入任何工单）：{}", e.message),
                            )
                        })?,
                );
            }
            let mut tx = db.begin().await?;
            let rows = service::insert_all(&mut tx, &checked).await.map_err(|e| {
                AppError::new(
                    e.status,
                    e.code,
                    format!("导入未完成，本次未导入任何工单，请稍后重试：{}", e.message),
                )
            })?;
            out.created = rows.len();
            crate::ledgers::audit_import(&mut tx, p, "hotline", out.created, out.skipped).await?;
            tx.commit().await?;
            service::announced(&self.cases, &rows);
            Ok(out)
        })
    }
}

fn key_of(ticket: &str) -> String {
    format!("hotline:{ticket}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotline_times_read_in_china_time() {
        assert_eq!(hotline_time("2026-11-20 09:30").as_deref(), Some("2026-11-20T01:30:00Z"));
        assert_eq!(hotline_time("2026/11/20 09:30").as_deref(), Some("2026-11-20T01:30:00Z"));
        assert_eq!(hotline_time("2026-11-20").as_deref(), Some("2026-11-19T16:00:00Z"));
        assert_eq!(hotline_time("2026-11-20T01:30:00Z").as_deref(), Some("2026-11-20T01:30:00Z"));
        assert_eq!(hotline_time("昨天"), None);
    }

    #[test]
    fn ratings_have_words() {
        assert_eq!(rating_label("satisfied"), "满意");
        assert_eq!(rating_label("basically_satisfied"), "基本满意");
        assert_eq!(rating_label("?"), "");
    }
}
