//! The four lists' Excel ledgers (四张清单台账): needs, resources, projects and results of the
//! caller's subtree, the list's `grid` filter, residents' names masked as on the page.

use super::api::ListQuery;
use super::{rules, service};
use crate::error::AppResult;
use crate::ledgers::{self, BoxFuture, Export, ExportCtx, Writer};
use crate::time::{day_ms, minute_ms};

const PAGE: i64 = 500;

/// The list's subtree, checked as its API checks it, before any byte of the file.
fn root(ctx: &ExportCtx) -> AppResult<String> {
    let q: ListQuery = ctx.req.params()?;
    service::read_root(&ctx.principal, q.grid.as_deref())
}

/// 需求清单.
pub struct Needs;

impl Export for Needs {
    fn name(&self) -> &'static str {
        "needs"
    }
    fn title(&self) -> &'static str {
        "需求清单"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "网格",
            "居民",
            "类别",
            "紧急程度",
            "需求内容",
            "来源",
            "状态",
            "对接项目数",
            "登记人",
            "登记时间",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let root = root(&ctx)?;
            let (db, district) = (ctx.db.clone(), ctx.principal.district.clone());
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, district, root) = (db.clone(), district.clone(), root.clone());
                async move {
                    let (rows, _) = service::needs(&db, &district, &root, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|n| {
                            vec![
                                n.row.grid_name.into(),
                                n.row.resident_name.as_deref().map(crate::identity::mask_name).into(),
                                rules::kind_label(&n.row.kind).into(),
                                (if n.row.urgency == "urgent" { "紧急" } else { "一般" }).into(),
                                n.row.description.into(),
                                rules::source_label(&n.row.source).into(),
                                n.status.label().into(),
                                (n.projects.len() as i64).into(),
                                n.row.recorded_by.into(),
                                minute_ms(n.row.created_at).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 资源清单.
pub struct Resources;

impl Export for Resources {
    fn name(&self) -> &'static str {
        "resources"
    }
    fn title(&self) -> &'static str {
        "资源清单"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "网格编码",
            "提供方类型",
            "提供方",
            "类别",
            "可服务人次",
            "周期",
            "说明",
            "使用项目数",
            "登记时间",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let root = root(&ctx)?;
            let (db, district) = (ctx.db.clone(), ctx.principal.district.clone());
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, district, root) = (db.clone(), district.clone(), root.clone());
                async move {
                    let (rows, _) = service::resources(&db, &district, &root, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|r| {
                            vec![
                                r.row.grid_code.into(),
                                rules::provider_label(&r.row.provider_kind).into(),
                                r.row.provider.into(),
                                rules::kind_label(&r.row.kind).into(),
                                r.row.capacity.into(),
                                r.row.period.into(),
                                r.row.description.into(),
                                (r.projects.len() as i64).into(),
                                minute_ms(r.row.created_at).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 项目清单.
pub struct Projects;

impl Export for Projects {
    fn name(&self) -> &'static str {
        "projects"
    }
    fn title(&self) -> &'static str {
        "项目清单"
    }
    fn headers(&self) -> &'static [&'static str] {
        &[
            "网格编码",
            "项目",
            "负责方",
            "开始日期",
            "结束日期",
            "对接需求数",
            "使用资源",
            "成果",
            "服务人数",
            "评价",
        ]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let root = root(&ctx)?;
            let (db, district) = (ctx.db.clone(), ctx.principal.district.clone());
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, district, root) = (db.clone(), district.clone(), root.clone());
                async move {
                    let (rows, _) = service::projects(&db, &district, &root, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|j| {
                            let resources: Vec<String> = j.resources.iter().map(|r| r.provider.clone()).collect();
                            vec![
                                j.row.grid_code.into(),
                                j.row.name.into(),
                                j.row.owner.into(),
                                j.row.starts_on.into(),
                                j.row.ends_on.into(),
                                (j.needs.len() as i64).into(),
                                resources.join("、").into(),
                                j.result.as_ref().map(|r| r.delivered.clone()).into(),
                                j.result.as_ref().map(|r| r.people).into(),
                                j.result.as_ref().and_then(|r| r.rating).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}

/// 成果清单.
pub struct Results;

impl Export for Results {
    fn name(&self) -> &'static str {
        "results"
    }
    fn title(&self) -> &'static str {
        "成果清单"
    }
    fn headers(&self) -> &'static [&'static str] {
        &["网格编码", "项目", "成果", "服务人数", "照片数", "评价", "登记人", "登记日期"]
    }
    fn open(&self, ctx: ExportCtx) -> BoxFuture<'static, AppResult<Writer>> {
        Box::pin(async move {
            let root = root(&ctx)?;
            let (db, district) = (ctx.db.clone(), ctx.principal.district.clone());
            Ok(ledgers::paged_writer(PAGE, move |limit, offset| {
                let (db, district, root) = (db.clone(), district.clone(), root.clone());
                async move {
                    let (rows, _) = service::results(&db, &district, &root, limit, offset).await?;
                    Ok(rows
                        .into_iter()
                        .map(|(r, j)| {
                            vec![
                                j.grid_code.into(),
                                j.name.into(),
                                r.delivered.into(),
                                r.people.into(),
                                r.photos.into(),
                                r.rating.into(),
                                r.recorded_by.into(),
                                day_ms(r.recorded_at).into(),
                            ]
                        })
                        .collect())
                }
            }))
        })
    }
}
