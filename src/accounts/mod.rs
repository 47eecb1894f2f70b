//! Accounts as people meet them: adding a user at a grid node or unit, signing in and out, who am I, the audit log.

pub mod api;
pub mod pages;
pub mod service;
