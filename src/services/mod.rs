//! Services for residents (为民服务): the four lists, red proxy service, dispute mediation, care
//! visits, and service sites with room booking. One feature; each part in its own folder.

pub mod care;
pub mod lists;
pub mod mediation;
pub mod pages;
pub mod proxy;
pub mod sites;

use axum::Router;
use axum::extract::FromRef;

use crate::auth::{Capability, Principal};
use crate::cases::CasesState;
use crate::db::Db;
use crate::error::{AppError, AppResult};

/// What the services' handlers need: the database, and the case loop to open cases from a
/// visit, a referral or a need.
#[derive(Clone)]
pub struct ServicesState {
    pub db: Db,
    pub cases: CasesState,
}

impl FromRef<ServicesState> for Db {
    fn from_ref(s: &ServicesState) -> Db {
        s.db.clone()
    }
}

/// One part of the services, as the hub page `/console/services` lists it.
pub struct Part {
    pub title: &'static str,
    pub blurb: &'static str,
    pub href: &'static str,
    /// Whether this person has work in the part (the part's own checks still decide each action).
    pub shown: fn(&Principal) -> bool,
}

/// The parts, in the order the hub shows them. Each part adds its own line.
pub const PARTS: &[Part] = &[
    Part {
        title: "四张清单",
        blurb: "需求、资源、项目、成果：居民需求对接资源立项，办结登记成果",
        href: "/console/services/lists",
        shown: lists::pages::shown,
    },
    Part {
        title: "关爱走访",
        blurb: "独居老人、残疾人、低保等关爱对象按周期走访，逾期提醒小区和社区",
        href: "/console/services/care",
        shown: |p| p.has(crate::auth::Capability::ReadRegistry),
    },
    Part {
        title: "服务阵地",
        blurb: "党群服务中心、新时代文明实践站等阵地的开放时间、功能室预约和接访登记",
        href: "/console/services/sites",
        shown: sites::pages::shown,
    },
    Part {
        title: "红色代办",
        blurb: "为独居老人、残疾人等代办社保、医保、救助等事项，材料交接双方确认",
        href: "/console/services/proxy",
        shown: |p| p.has(crate::auth::Capability::ReadRegistry),
    },
    Part {
        title: "矛盾调解",
        blurb: "人民调解：登记纠纷、调解记录、调解协议书、转办与回访，按月统计",
        href: "/console/services/mediation",
        shown: |p| p.has(crate::auth::Capability::ManageGrid),
    },
];

/// The services' API and pages.
pub fn routes() -> Router<ServicesState> {
    Router::new()
        .merge(lists::routes())
        .merge(sites::routes())
        .merge(proxy::routes())
        .merge(mediation::routes())
        .merge(care::routes())
        .merge(pages::routes())
}

/// The node a part's list reads: `grid` when given and within the caller's `cap`, else the first
/// node their posts give them; `refusal` says, in Chinese, what a role without `cap` may not see.
pub fn scope_root(p: &Principal, grid: Option<&str>, cap: Capability, refusal: &str) -> AppResult<String> {
    if !p.has(cap) {
        return Err(AppError::forbidden_to(refusal));
    }
    match grid.map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) if p.can(cap, g) => Ok(g.to_string()),
        Some(_) => Err(AppError::not_found("该网格")),
        None => p.roots(cap).into_iter().next().ok_or_else(|| AppError::forbidden_to(refusal)),
    }
}
