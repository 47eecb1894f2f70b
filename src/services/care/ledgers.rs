//! The care visits due ledger (关爱走访台账): everyone due a visit under the caller's grids, with
//! the due list's filters (`grid`, `within`, `escalated`), names as the registry shows them.

use super::api::{DueQuery, due_items};
use super::rules;
use crate::error::AppResult;
use crate::ledgers::{BoxFuture, Export, ExportCtx, Sink, Writer};
use crate::services::ServicesState;
use crate::time::{day_ms, minute_ms};

pub struct Due {
    pub state: ServicesState,
}

impl Export for Due {
    fn name(&self) -> &'static str {
        "care_due"
    }
    fn title(&self) -> &'static str {
        "关爱走访台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["姓名", "关爱类别", "楼栋网格编码", "应走访日期", "逾期天数", "提醒", "上次走访"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        let s = self.state.clone();
        Box::pin(async move {
            let q: DueQuery = ctx.req.params()?;
            let items = due_items(&s, &ctx.principal, &q).await?;
            Ok(Box::new(move |mut sink: Sink| {
                Box::pin(async move {
                    for i in items {
                        sink.push(vec![
                            i.name.into(),
                            i.tag.into(),
                            i.grid.into(),
                            day_ms(rules::ms_of_day(i.standing.due)).into(),
                            i.standing.overdue_days.into(),
                            i.standing.escalation.label().into(),
                            i.last_visit_at.map(minute_ms).into(),
                        ])
                        .await?;
                    }
                    Ok(sink)
                }) as BoxFuture<'static, AppResult<Sink>>
            }) as Writer)
        })
    }
}
