//! The five-level grid (五级网格): nodes, boundaries, leaders and public contacts.

pub mod api;
pub mod pages;
pub mod rules;
pub mod store;

pub use store::{Contact, GridRow};
