//! gongzhi (共治): party-led grassroots governance — five-level grid, registry, accounts, console and API.

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod broadcasts;
pub mod calls;
pub mod cases;
pub mod command;
pub mod config;
pub mod councils;
pub mod db;
pub mod decisions;
pub mod demo;
pub mod error;
pub mod grid;
pub mod identity;
pub mod open311;
pub mod party;
pub mod property;
pub mod registry;
pub mod renovation;
pub mod sealed;
pub mod stars;
pub mod time;
pub mod volunteers;
pub mod web;
