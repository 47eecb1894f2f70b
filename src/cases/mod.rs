//! The case closed loop (问题闭环): categories, deadlines, point location, the workflow, storage and API.

pub mod api;
pub mod assessment;
pub mod attachments;
pub mod attributes;
pub mod calendar;
pub mod categories;
pub mod duplicates;
pub mod locate;
pub mod pages;
pub mod permissions;
pub mod store;
pub mod workflow;
