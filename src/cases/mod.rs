//! The case closed loop (问题闭环): working-day deadlines so far; the workflow follows (issue 3).

pub mod calendar;
pub mod locate;
pub mod workflow;
