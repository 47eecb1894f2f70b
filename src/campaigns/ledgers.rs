//! The spot ledger (专项行动点位台账): every spot of a campaign the caller reads, with the spot
//! list's filters (`grid`, `phase`); households and shops masked.

use serde::Deserialize;
use uuid::Uuid;

use super::api::spot_root;
use super::rules::Phase;
use super::{service, store};
use crate::error::{AppError, AppResult};
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Writer};
use crate::time::minute_ms;

const PAGE: i64 = 1_000;

#[derive(Deserialize)]
struct Query {
    campaign: Option<Uuid>,
    grid: Option<String>,
    phase: Option<String>,
}

pub struct Spots;

impl Export for Spots {
    fn name(&self) -> &'static str {
        "campaign_spots"
    }
    fn title(&self) -> &'static str {
        "专项行动点位台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "网格编码",
            "位置",
            "涉及住户或商户",
            "数量",
            "单位",
            "阶段",
            "自行清理",
            "走访人次",
            "拒绝次数",
            "反弹次数",
            "登记人",
            "登记时间",
            "清理时间",
            "已移交案件",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: Query = ctx.req.params()?;
            let id = q
                .campaign
                .ok_or_else(|| AppError::invalid("campaign_required", "请指定专项行动（campaign）"))?;
            let (c, mine) = service::campaign_for(&ctx.db, &ctx.principal, id).await?;
            let phase = match q.phase.as_deref().map(str::trim).filter(|x| !x.is_empty()) {
                None => None,
                Some(x) => Some(Phase::parse(x).ok_or_else(|| AppError::invalid("invalid_phase", "阶段有误"))?),
            };
            let root = spot_root(&ctx.principal, &c, &mine, q.grid.as_deref())?;
            let (db, unit) = (ctx.db.clone(), c.unit.clone());
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, root, unit) = (db.clone(), root.clone(), unit.clone());
                async move {
                    let (rows, _) = store::spots(&db, id, &root, phase.map(Phase::as_str), limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| {
                            let ph = Phase::parse(&r.phase).unwrap_or(Phase::Surveyed);
                            vec![
                                r.grid_code.into(),
                                r.place.into(),
                                crate::identity::mask_name(&r.party).into(),
                                r.measure.into(),
                                unit.clone().into(),
                                ph.label().into(),
                                (if r.self_cleared { "是" } else { "否" }).into(),
                                r.visits.into(),
                                r.refusals.into(),
                                r.recurrences.into(),
                                r.found_by.into(),
                                minute_ms(r.found_at).into(),
                                r.cleared_at.map(minute_ms).into(),
                                (if r.case_id.is_some() { "是" } else { "否" }).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}
