//! Party building (党建): party organisations from the district committee down to compound
//! branches and branches in property companies and co-building units.

pub mod service;
