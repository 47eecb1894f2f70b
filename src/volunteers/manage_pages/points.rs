//! The community's points page: hours and points by team, community and month, the ledger and
//! (for the district) its audit.

use super::{SubNav, subnav};
use crate::auth::Capability;
use crate::volunteers::VolunteersState;
use crate::volunteers::pages::{grouped, when};
use crate::volunteers::service::scope;
use crate::volunteers::store::{self, SummaryBy, SummaryRow};
use crate::web::pages::{Chrome, PageResult, pager, url_encode};
use crate::web::session::Console;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;

pub struct LedgerRow {
    at: String,
    kind: &'static str,
    reason: String,
    points: i64,
    actor: String,
}

/// One summary table; long ones (teams, communities) start folded, their true count in the title.
pub struct SummaryTable {
    title: &'static str,
    key: &'static str,
    unit: &'static str,
    rows: Vec<SummaryRow>,
    count: String,
    open: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "points.html")]
struct PointsPage {
    chrome: Chrome,
    nav: SubNav,
    grid: String,
    tables: Vec<SummaryTable>,
    ledger: Vec<LedgerRow>,
    district_wide: bool,
    /// The ledger's true size in the caller's view, grouped by three ("1,755").
    ledger_total: String,
    audit: Option<(bool, String)>,
    /// The caller may run the audit (it is not run on every visit: it re-reads the whole ledger).
    may_audit: bool,
    pager: String,
}

#[derive(Deserialize)]
pub(super) struct PointsQuery {
    grid: Option<String>,
    page: Option<i64>,
    /// `1`: re-check the whole ledger (账目核对) on this visit.
    audit: Option<String>,
}

pub(super) async fn points_page(State(s): State<VolunteersState>, c: Console, Query(q): Query<PointsQuery>) -> PageResult {
    let p = &c.principal;
    let grid = scope(&s, p, q.grid.as_deref(), Capability::ReadVolunteers).await?;
    let mut tables = Vec::new();
    for (by, title, key, unit) in [
        (SummaryBy::Month, "按月份", "月份", "个月"),
        (SummaryBy::Community, "按社区", "社区", "个社区"),
        (SummaryBy::Team, "按队伍", "队伍", "支队伍"),
    ] {
        let rows = store::summary(&s.db, &s.summaries, &p.district, Some(&grid), by).await?;
        tables.push(SummaryTable {
            title,
            key,
            unit,
            count: grouped(rows.len() as i64),
            open: rows.len() <= 13,
            rows,
        });
    }
    // The ledger: the whole district's, with its check, for those who read the audit (as in the
    // API); otherwise the transactions of the volunteers and shops in the caller's subtree.
    let page = crate::web::pages::page_number(q.page);
    let per = 30;
    let district_wide = p.has(Capability::ReadAudit) && grid == p.district;
    let (rows, ledger_total) = if district_wide {
        store::transactions(&s.db, &p.district, None, per, (page - 1) * per).await?
    } else {
        store::transactions_in_grid(&s.db, &p.district, &grid, per, (page - 1) * per).await?
    };
    let ledger: Vec<LedgerRow> = rows
        .into_iter()
        .map(|(t, ps)| LedgerRow {
            at: when(t.at_ms),
            kind: match t.kind.as_str() {
                "earn" => "发放",
                "redeem" => "兑换",
                "correction" => "更正",
                _ => "其他",
            },
            reason: t.line(),
            points: ps.iter().filter(|x| x.amount > 0).map(|x| x.amount).sum(),
            actor: t.actor_name,
        })
        .collect();
    let pg = pager(&format!("/console/points?grid={}", url_encode(&grid)), page, per, ledger_total);
    let mut audit = None;
    let may_audit = p.has(Capability::ReadAudit);
    // The audit sums every posting of the district (about a second on the district demo), so it
    // runs when asked for, not on every visit to the page.
    if may_audit && q.audit.as_deref() == Some("1") {
        let check = store::audit_ledger(&s.db, Some(&p.district)).await?;
        let text = if check.is_sound() {
            format!(
                "账目平衡：{} 笔交易，全部分录合计为 0，无负余额，缓存余额与分录一致。",
                check.transactions
            )
        } else {
            format!(
                "账目有问题：分录合计 {}，不平衡交易 {} 笔，负余额账户 {} 个，余额与分录不符账户 {} 个。请运行 gongzhi points audit 查看明细。",
                check.postings_sum,
                check.unbalanced.len(),
                check.negative_balances.len(),
                check.mismatched_balances.len()
            )
        };
        audit = Some((check.is_sound(), text));
    }
    Ok(PointsPage {
        chrome: Chrome::new(&c, "时长与积分", "volunteer"),
        nav: subnav(p, "points"),
        grid,
        tables,
        ledger,
        district_wide,
        ledger_total: grouped(ledger_total),
        audit,
        may_audit,
        pager: pg,
    }
    .into_response())
}
