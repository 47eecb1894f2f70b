//! Volunteers' Excel ledgers (台账): the roster, activities, attendance and the points ledger,
//! each with its list's filters and scope.

use super::VolunteersState;
use super::activities::{self, ActivityFilter};
use super::api::activities::ActivityQuery;
use super::api::points::{LedgerQuery, ledger_account};
use super::api::volunteers::VolunteerQuery;
use super::service::{parse_time, scope};
use super::store::{self, VolunteerFilter};
use crate::auth::Capability;
use crate::error::AppResult;
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Sink, Writer};
use crate::time::minute_ms;

const PAGE: i64 = 1_000;

fn via_label(v: &str) -> &'static str {
    match v {
        "community" => "社区登记",
        "unit" => "单位登记",
        "self" => "本人申请",
        _ => "其他",
    }
}

fn signup_label(s: &str) -> &'static str {
    match s {
        "signed_up" => "已报名",
        "checked_in" => "已签到",
        "attended" => "已参加",
        "cancelled" => "已取消",
        _ => "其他",
    }
}

/// 志愿者台账.
pub struct Volunteers {
    pub state: VolunteersState,
}

impl Export for Volunteers {
    fn name(&self) -> &'static str {
        "volunteers"
    }
    fn title(&self) -> &'static str {
        "志愿者台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "姓名",
            "所在网格",
            "登记方式",
            "已关联账号",
            "积分余额",
            "服务时长（小时）",
            "登记时间",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        let s = self.state.clone();
        Box::pin(async move {
            let q: VolunteerQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let grid = scope(&s, &p, q.grid.as_deref(), Capability::ReadVolunteers).await?;
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (s, p, grid, name) = (s.clone(), p.clone(), grid.clone(), q.q.clone());
                let team = q.team;
                async move {
                    let f = VolunteerFilter {
                        district: &p.district,
                        grid: Some(&grid),
                        team,
                        name: name.as_deref(),
                        limit,
                        offset,
                    };
                    let (rows, _) = store::volunteers(&s.db, &f).await?;
                    Ok(rows
                        .into_iter()
                        .map(|v| {
                            vec![
                                v.name.into(),
                                v.grid_code.into(),
                                via_label(&v.registered_via).into(),
                                (if v.user_id.is_some() { "是" } else { "否" }).into(),
                                v.balance.into(),
                                ((v.minutes as f64 / 6.0).round() / 10.0).into(),
                                minute_ms(v.created_at).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// The activity list's filter from its query.
fn activity_times(q: &ActivityQuery) -> AppResult<(Option<i64>, Option<i64>)> {
    let from = q.from.as_deref().filter(|x| !x.is_empty()).map(parse_time).transpose()?;
    let to = q.to.as_deref().filter(|x| !x.is_empty()).map(parse_time).transpose()?;
    Ok((from, to))
}

/// 志愿活动台账.
pub struct Activities;

impl Export for Activities {
    fn name(&self) -> &'static str {
        "activities"
    }
    fn title(&self) -> &'static str {
        "志愿活动台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["活动", "网格编码", "地点", "开始时间", "结束时间", "名额", "已报名", "状态"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: ActivityQuery = ctx.req.params()?;
            let (from, to) = activity_times(&q)?;
            let p = ctx.principal.clone();
            let db = ctx.db.clone();
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, p, grid) = (db.clone(), p.clone(), q.grid.clone());
                let team = q.team;
                async move {
                    let f = ActivityFilter {
                        district: &p.district,
                        grid: grid.as_deref().filter(|g| !g.is_empty()),
                        team,
                        from,
                        to,
                        limit,
                        offset,
                    };
                    let (rows, _) = activities::list(&db, &f).await?;
                    Ok(rows
                        .into_iter()
                        .map(|a| {
                            vec![
                                a.title.into(),
                                a.grid_code.into(),
                                a.place.into(),
                                minute_ms(a.starts_at).into(),
                                minute_ms(a.ends_at).into(),
                                a.capacity.into(),
                                a.signed_up.into(),
                                (if a.status == "open" { "进行中" } else { "已取消" }).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 志愿活动出勤台账: everyone signed up for the activities of the list's filter, within the
/// caller's volunteer scope.
pub struct Attendance {
    pub state: VolunteersState,
}

impl Export for Attendance {
    fn name(&self) -> &'static str {
        "attendance"
    }
    fn title(&self) -> &'static str {
        "志愿活动出勤台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "活动",
            "活动开始",
            "志愿者",
            "状态",
            "签到时间",
            "签退时间",
            "服务时长（分钟）",
            "获得积分",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        let s = self.state.clone();
        Box::pin(async move {
            let q: ActivityQuery = ctx.req.params()?;
            let (from, to) = activity_times(&q)?;
            let p = ctx.principal.clone();
            let grid = scope(&s, &p, q.grid.as_deref(), Capability::ReadVolunteers).await?;
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    let mut offset = 0;
                    loop {
                        let f = ActivityFilter {
                            district: &p.district,
                            grid: Some(&grid),
                            team: q.team,
                            from,
                            to,
                            limit: PAGE,
                            offset,
                        };
                        let (rows, _) = activities::list(&s.db, &f).await?;
                        let n = rows.len() as i64;
                        for a in rows {
                            for (su, name) in activities::signups(&s.db, a.id).await? {
                                sink.push(vec![
                                    a.title.clone().into(),
                                    minute_ms(a.starts_at).into(),
                                    name.into(),
                                    signup_label(&su.status).into(),
                                    su.checked_in_at.map(minute_ms).into(),
                                    su.checked_out_at.map(minute_ms).into(),
                                    su.minutes.into(),
                                    su.points.into(),
                                ])
                                .await?;
                            }
                        }
                        if n < PAGE {
                            break;
                        }
                        offset += PAGE;
                    }
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}

/// 积分台账: the points ledger's transactions as its list reads them.
pub struct Points {
    pub state: VolunteersState,
}

impl Export for Points {
    fn name(&self) -> &'static str {
        "points"
    }
    fn title(&self) -> &'static str {
        "积分台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["时间", "类型", "事由", "积分变动", "经办人"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        let s = self.state.clone();
        Box::pin(async move {
            let q: LedgerQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let account = ledger_account(&s, &p, &q).await?;
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (s, p) = (s.clone(), p.clone());
                async move {
                    let (rows, _) = store::transactions(&s.db, &p.district, account, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|(t, postings)| {
                            // The account's own change; on the whole ledger, the change to
                            // whoever is not the issuer.
                            let change: i64 = postings
                                .iter()
                                .filter(|x| match account {
                                    Some(a) => x.account_id == a,
                                    None => x.account_kind != "issuer",
                                })
                                .map(|x| x.amount)
                                .sum();
                            vec![
                                minute_ms(t.at_ms).into(),
                                match t.kind.as_str() {
                                    "earn" => "发放",
                                    "redeem" => "兑换",
                                    "correction" => "更正",
                                    _ => "其他",
                                }
                                .into(),
                                t.line().into(),
                                change.into(),
                                t.actor_name.into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}
