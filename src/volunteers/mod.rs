//! Volunteers and points (志愿服务与爱心积分): teams, activities and attendance, the points ledger, love supermarkets and redemptions.

pub mod activities;
pub mod api;
pub mod ledger;
pub mod manage_pages;
pub mod pages;
pub mod rules;
pub mod shops;
pub mod store;
