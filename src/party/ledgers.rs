//! The party members ledger (党员台账): the member list with its filters (subtree, unit, report-in
//! status, cadres), phones masked as the list shows them (full numbers are not kept here).

use super::api::{MemberQuery, member_filter};
use super::{rules, service, store};
use crate::db::now_ms;
use crate::error::AppResult;
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Writer};

const PAGE: i64 = 1_000;

pub struct Members;

impl Export for Members {
    fn name(&self) -> &'static str {
        "party_members"
    }
    fn title(&self) -> &'static str {
        "党员台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "姓名",
            "类别",
            "手机号",
            "所在党组织",
            "工作单位",
            "居住网格",
            "下沉干部",
            "报到状态",
            "报到社区",
            "报到日期",
            "包联网格",
            "近一年服务时长（小时）",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: MemberQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let (root, reported) = member_filter(&ctx.db, &p, &q).await?;
            let (unit, cadre) = (q.unit, q.cadre.filter(|c| *c));
            let db = ctx.db.clone();
            let now = now_ms();
            let since = service::year_window(now);
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, p, root, since) = (db.clone(), p.clone(), root.clone(), since.clone());
                async move {
                    let (rows, _) = store::members(
                        &db,
                        &store::MemberFilter {
                            district: &p.district,
                            root: root.as_deref(),
                            unit,
                            org: None,
                            reported,
                            cadre,
                            since: &since,
                            limit,
                            offset,
                        },
                    )
                    .await?;
                    Ok(rows
                        .into_iter()
                        .map(|m| {
                            let in_service = m.kind == "in_service";
                            let status = rules::report_status(in_service, m.reported_on.as_deref(), m.created_at, now);
                            vec![
                                m.name.into(),
                                (if in_service { "在职党员" } else { "居住地党员" }).into(),
                                m.phone_masked.into(),
                                m.org_name.into(),
                                m.unit_name.into(),
                                m.grid_code.into(),
                                (if m.cadre { "是" } else { "否" }).into(),
                                status.label().into(),
                                m.report_name.into(),
                                m.reported_on.into(),
                                m.assigned_name.into(),
                                ((m.minutes as f64 / 6.0).round() / 10.0).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}
