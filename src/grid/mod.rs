//! The five-level grid (五级网格): nodes, boundaries, leaders and public contacts, point location.

pub mod api;
pub mod layers;
pub mod locate;
pub mod map;
pub mod pages;
pub mod rules;
pub mod service;
pub mod store;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::FromRef;

use uuid::Uuid;

use crate::db::Db;
use crate::error::AppResult;
use crate::web::session::Console;
pub use store::{Contact, GridRow};

/// What the grid's handlers need: the database, the point-location index (rebuilt after an edit),
/// the sections higher features add to a node's console page, and the unit directory that names
/// a compound's property company.
#[derive(Clone)]
pub struct GridState {
    pub db: Db,
    pub grid_index: Arc<locate::SharedIndex>,
    pub panels: Arc<[Arc<dyn GridPanel>]>,
    pub units: Arc<dyn UnitDirectory>,
}

impl FromRef<GridState> for Db {
    fn from_ref(s: &GridState) -> Db {
        s.db.clone()
    }
}

/// A section a higher feature adds to a grid node's console page (the registry adds a building's
/// households and their form), so the grid names no feature built on it.
pub trait GridPanel: Send + Sync {
    /// Names the panel, so a failed form of its own can bring its message back to it.
    fn key(&self) -> &'static str;
    /// The panel's HTML for node `g`, or nothing. `page` is the page's `?page=`; `error` is this
    /// panel's form error to show, with the form open.
    fn render<'a>(
        &'a self,
        db: &'a Db,
        c: &'a Console,
        g: &'a GridRow,
        page: i64,
        error: Option<&'a str>,
    ) -> Pin<Box<dyn Future<Output = AppResult<Option<String>>> + Send + 'a>>;
}

/// What a directory lookup returns: a boxed future (the trait is used as `dyn`).
pub type Lookup<'a, T> = Pin<Box<dyn Future<Output = AppResult<T>> + Send + 'a>>;

/// Units (单位) are kept by the registry, above the grid; a compound only links to its property
/// company (物业公司) by id, and asks the registry, through this, what that id names.
pub trait UnitDirectory: Send + Sync {
    /// The district's property company `id` (its name and contact), or nothing if `id` is not one.
    fn property_company<'a>(&'a self, db: &'a Db, district: &'a str, id: Uuid) -> Lookup<'a, Option<CompanyCard>>;

    /// Every property company of the district, by name: the choices for a compound.
    fn property_companies<'a>(&'a self, db: &'a Db, district: &'a str) -> Lookup<'a, Vec<(Uuid, String)>>;
}

/// A property company as a compound's page and public page show it.
#[derive(Debug, Clone)]
pub struct CompanyCard {
    pub name: String,
    pub contact_name: String,
    pub contact_phone: String,
}
