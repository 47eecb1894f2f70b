//! Integration tests: one binary, a real server on 127.0.0.1:0, on SQLite and — when
//! GONGZHI_TEST_DATABASE_URL is set — on PostgreSQL too, in a fresh schema per test.

mod accounts;
mod audit_chain;
mod broadcasts;
mod calls;
mod cases;
mod chrome;
mod command;
mod councils;
mod decisions;
mod durability;
mod grid;
mod lowest_level;
mod map_layers;
mod matrix;
mod open311;
mod open311_conformance;
mod open311_privacy;
mod pages;
mod party;
mod phone;
mod place;
mod property;
mod registry;
mod renovation;
mod scope;
mod security;
mod services_care;
mod services_lists;
mod services_mediation;
mod services_proxy;
mod services_sites;
mod stars;
mod support;
mod volunteer_pages;
mod volunteers;
