//! The device alarms ledger (设备告警台账): every alarm of the devices under a grid node the
//! caller reads (with those of unknown serials for the whole district), newest first.

use super::{rules, service, store};
use crate::error::AppResult;
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Writer};
use crate::time::minute_ms;

const PAGE: i64 = 1_000;

#[derive(serde::Deserialize)]
struct Query {
    grid: Option<String>,
}

pub struct Alarms;

impl Export for Alarms {
    fn name(&self) -> &'static str {
        "alarms"
    }
    fn title(&self) -> &'static str {
        "设备告警台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "接收时间",
            "告警时间",
            "设备",
            "设备编号",
            "网格编码",
            "告警类型",
            "等级",
            "详情",
            "处理结果",
            "案件编号",
            "接入方式",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: Query = ctx.req.params()?;
            let root = service::root_of(&ctx.principal, q.grid.as_deref())?;
            let (db, district) = (ctx.db.clone(), ctx.principal.district.clone());
            let kinds = store::kinds(&db, &district).await?;
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, district, root, kinds) = (db.clone(), district.clone(), root.clone(), kinds.clone());
                async move {
                    let rows = store::recent_page(&db, &district, &root, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| {
                            let kind = kinds.iter().find(|k| k.0 == r.kind).map_or("其他告警".to_string(), |k| k.1.clone());
                            vec![
                                minute_ms(r.received_at).into(),
                                minute_ms(r.at_ms).into(),
                                r.device_name.unwrap_or_else(|| "未登记设备".into()).into(),
                                r.serial.into(),
                                r.grid_code.into(),
                                kind.into(),
                                r.level.map(|l| format!("{l}级")).into(),
                                r.detail.into(),
                                rules::outcome_label(&r.outcome).into(),
                                r.tracking_code.into(),
                                (if r.via == "mqtt" { "MQTT" } else { "HTTP网关" }).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}
