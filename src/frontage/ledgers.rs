//! Frontage's Excel ledger (门前三包台账): the agreements of the caller's scope with this month's
//! checks and compliance; the signer's phone masked.

use super::api::ListQuery;
use super::rules;
use super::service;
use super::store;
use crate::error::AppResult;
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Sink, Writer};

const PAGE: i64 = 1_000;

/// 门前三包台账.
pub struct Agreements;

impl Export for Agreements {
    fn name(&self) -> &'static str {
        "frontage"
    }
    fn title(&self) -> &'static str {
        "门前三包台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "商户或单位",
            "地址",
            "网格编码",
            "责任路段",
            "责任内容",
            "负责人",
            "负责人手机",
            "签订单位",
            "签订日期",
            "期限（月）",
            "本月检查",
            "本月合格",
            "本月达标率",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: ListQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let roots = service::read_roots(&p, q.grid.as_deref())?;
            let db = ctx.db.clone();
            let (from, to) =
                rules::month_range(rules::parse_month(&rules::month_of(crate::db::now_ms())).unwrap_or(jiff::civil::date(2026, 1, 1)));
            let mut figures = std::collections::HashMap::new();
            for r in &roots {
                for (id, checks, passed) in store::compliance_by_agreement(&db, &p.district, r, from, to).await? {
                    figures.insert(id, rules::Compliance { checks, passed });
                }
            }
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    for root in roots {
                        ledgers::paged(&mut sink, PAGE, |limit, offset| {
                            let (db, p, root, figures) = (db.clone(), p.clone(), root.clone(), figures.clone());
                            async move {
                                let (rows, _) = store::agreements_under(&db, &p.district, &root, limit, offset).await?;
                                Ok(rows
                                    .into_iter()
                                    .map(|a| {
                                        let f = figures.get(&a.id).copied().unwrap_or_default();
                                        vec![
                                            a.shop_name.into(),
                                            a.address.into(),
                                            a.grid_code.into(),
                                            a.segment.into(),
                                            rules::duty_labels(a.duties).into(),
                                            a.signer_name.into(),
                                            crate::identity::mask_phone(&a.signer_phone).into(),
                                            a.party_name.into(),
                                            a.signed_on.into(),
                                            a.term_months.into(),
                                            f.checks.into(),
                                            f.passed.into(),
                                            f.label().into(),
                                        ]
                                    })
                                    .collect())
                            }
                        })
                        .await?;
                    }
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}
