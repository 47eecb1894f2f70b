//! The proxy matters ledger (代办台账): the matters of the caller's subtree (or their own as an
//! agent), with the list's filters, people's names masked as in the list.

use super::api::ListQuery;
use super::rules::{self, Status};
use super::service;
use super::store::{self, Which};
use crate::db::now_ms;
use crate::error::AppResult;
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Writer};
use crate::time::{day_ms, minute_ms};

const PAGE: i64 = 500;

pub struct Matters;

impl Export for Matters {
    fn name(&self) -> &'static str {
        "proxy_matters"
    }
    fn title(&self) -> &'static str {
        "代办台账"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "网格编码",
            "服务对象",
            "事项",
            "求助方式",
            "说明",
            "状态",
            "代办员",
            "办结期限",
            "是否逾期",
            "未归还材料",
            "登记时间",
            "办结时间",
            "评价",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let q: ListQuery = ctx.req.params()?;
            let p = ctx.principal.clone();
            let mine = q.mine == Some(true);
            // Checked now, so a refusal is answered before the file starts.
            let root = if mine {
                String::new()
            } else {
                service::list_root(&p, q.grid.as_deref())?
            };
            let status = q.status()?.map(str::to_string);
            let db = ctx.db.clone();
            let now = now_ms();
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, p, root, status) = (db.clone(), p.clone(), root.clone(), status.clone());
                async move {
                    let which = if mine {
                        Which::Agent(p.user_id)
                    } else {
                        Which::Under {
                            root: &root,
                            status: status.as_deref(),
                        }
                    };
                    let rows = store::matters_page(&db, &p.district, which, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|m| {
                            let st = Status::parse(&m.status).unwrap_or(Status::Done);
                            vec![
                                m.grid_code.into(),
                                // An agent's own matters carry the full name, as on their list.
                                (if mine {
                                    m.person_name
                                } else {
                                    crate::identity::mask_name(&m.person_name)
                                })
                                .into(),
                                m.kind_name.into(),
                                rules::via_label(&m.via).into(),
                                m.note.into(),
                                st.label().into(),
                                m.agent_name.into(),
                                day_ms(m.due_at).into(),
                                (if rules::overdue(st, m.due_at, now) { "是" } else { "否" }).into(),
                                m.docs_out.into(),
                                minute_ms(m.created_at).into(),
                                m.done_at.map(minute_ms).into(),
                                m.rating.into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}
