//! The disputes ledger (矛盾纠纷台账): the disputes list as its API reads it (the caller's scope
//! or their own mediations, parties masked), for those who may see it.

use super::api::{ListQuery, listed};
use super::{service, store};
use crate::error::AppResult;
use crate::ledgers::{BoxFuture, Export, ExportCtx, Sink, Writer};

/// An RFC 3339 instant in China time (`2026-11-20 09:30`); anything else as it is.
fn china(s: &Option<String>) -> String {
    match s.as_deref() {
        Some(t) => t
            .parse::<jiff::Timestamp>()
            .map(|x| crate::time::minute_ms(x.as_millisecond()))
            .unwrap_or_else(|_| t.to_string()),
        None => String::new(),
    }
}

pub struct Disputes;

impl Export for Disputes {
    fn name(&self) -> &'static str {
        "disputes"
    }
    fn title(&self) -> &'static str {
        "矛盾纠纷台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "网格",
            "类型",
            "纠纷概要",
            "当事人",
            "状态",
            "调解次数",
            "协议内容",
            "分流去向",
            "结果时间",
            "回访期限",
            "回访时间",
            "登记人",
            "登记时间",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: ListQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let rows = if q.mine == Some(true) {
                store::of_mediator(&ctx.db, p.user_id, 200).await?
            } else {
                let root = service::list_root(&p, q.grid.as_deref())?;
                store::under(&ctx.db, &p.district, &root, 200).await?
            };
            let items = listed(&ctx.db, rows).await?;
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    for d in items {
                        sink.push(vec![
                            d.grid_name.into(),
                            d.kind_label.into(),
                            d.summary.into(),
                            d.parties.join("、").into(),
                            d.status_label.into(),
                            d.sessions.into(),
                            d.terms.into(),
                            d.referral_label.into(),
                            china(&d.outcome_at).into(),
                            china(&d.follow_up_due).into(),
                            china(&d.followed_up_at).into(),
                            d.created_by.into(),
                            china(&Some(d.created_at)).into(),
                        ])
                        .await?;
                    }
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}
