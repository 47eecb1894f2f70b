//! Storage for volunteers, teams, the points ledger, points rules and summaries; one file a subject, every name re-exported here.
//!
//! Writers take a `Tx` where a caller may want to batch (`insert_volunteer`, `insert_team`,
//! `post_in`, `award_in`), so a demo loader can write thousands in one transaction; the `Db`
//! versions open one transaction, write the audit row and commit.
//!
//! Callers name everything `store::x`, so the split into files changed no caller; the `pub use`
//! lists below say which file holds what.

mod point_rules;
mod points;
mod roster;
mod summary;
mod teams;

pub use point_rules::{RuleRow, rule_points, rule_points_in_tx, rules_of, seed_rules_in, set_rule};
pub use points::{
    Correction, ISSUER_OWNER, NewTransaction, PostingRow, TransactionRow, account_in, account_of, audit_ledger, award, award_in, correct,
    describe, post_in, postings, transaction, transactions, transactions_in_grid,
};
pub use roster::{
    Registered, RegisteredVia, VolunteerFilter, VolunteerRow, decide_link, insert_volunteer, link_requested_by_user, link_requests,
    register, resident_by_id_number, volunteer, volunteer_of_resident, volunteer_of_user, volunteers,
};
pub use summary::{SummaryBy, SummaryCache, SummaryRow, month_start, summary};
pub(super) use teams::by_grid_and_kind;
pub use teams::{NewTeamRow, TeamRow, add_member, add_member_in, create_team, insert_team, team, teams, teams_led_by, teams_of};
