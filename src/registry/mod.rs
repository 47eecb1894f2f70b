//! The registry (人、地、物、事、组织): households, residents, units, key places and devices.

pub mod api;
pub mod building;
pub mod ledgers;
pub mod pages;
pub mod residents;
pub mod service;
pub mod units;

use axum::extract::FromRef;

use crate::db::Db;
use crate::grid::GridState;

/// What the registry's handlers need: the database, and the grid's state to re-show a grid page
/// with a failed household form.
#[derive(Clone)]
pub struct RegistryState {
    pub db: Db,
    pub grid: GridState,
}

impl FromRef<RegistryState> for Db {
    fn from_ref(s: &RegistryState) -> Db {
        s.db.clone()
    }
}

/// Tags for people who need care or hold a role (重点人群标签). A fixed vocabulary keeps filters exact.
pub const TAGS: [&str; 10] = [
    "独居老人",
    "空巢老人",
    "残疾人",
    "低保",
    "监测对象",
    "党员",
    "志愿者",
    "退役军人",
    "留守儿童",
    "楼栋长",
];

pub fn check_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = t.trim();
        if !TAGS.contains(&t) {
            return Err(format!("未知标签「{t}」，可用标签：{}", TAGS.join("、")));
        }
        if !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}
