//! Who may take which case action (403 when not): pure rules over the caller's posts and the case.

use uuid::Uuid;

use super::workflow::Action;
use crate::auth::{Principal, Role};
use crate::grid::rules;

/// What the rules need to know about a case.
pub struct CaseView<'a> {
    /// Where it happened (smallest grid).
    pub grid_code: &'a str,
    /// The level answering for it now.
    pub level: i64,
    pub unit: Option<Uuid>,
    /// The unit's home grid when the unit is a community committee (社区居委会).
    pub unit_grid: Option<&'a str>,
    pub summoned: &'a [Uuid],
    pub reporter: Option<Uuid>,
    /// Lowest grid level that may close the case's category.
    pub close_level: i64,
}

impl CaseView<'_> {
    /// The code of the grid answering for the case now.
    pub fn handling_code(&self) -> &str {
        let n = rules::code_len(self.level).min(self.grid_code.len());
        &self.grid_code[..n]
    }
}

fn post_level(code: &str) -> i64 {
    (1..=5).find(|l| rules::code_len(*l) == code.len()).unwrap_or(5)
}

/// Grid staff (district, street, community) whose post covers the answering grid.
fn grid_staff(p: &Principal, c: &CaseView<'_>) -> bool {
    p.posts.iter().any(|post| {
        matches!(post.role, Role::DistrictAdmin | Role::StreetStaff | Role::CommunityStaff)
            && post.grid_code.as_deref().is_some_and(|g| c.handling_code().starts_with(g))
    })
}

/// Anyone holding a grid post over the place where the case happened (reporting grid).
fn reporting_grid(p: &Principal, c: &CaseView<'_>) -> bool {
    p.posts.iter().any(|post| {
        matches!(
            post.role,
            Role::DistrictAdmin | Role::StreetStaff | Role::CommunityStaff | Role::CompoundLeader | Role::BuildingOfficer
        ) && post.grid_code.as_deref().is_some_and(|g| c.grid_code.starts_with(g))
    })
}

/// The unit the case is dispatched to: its own staff, or the community committee's staff.
fn assigned_unit(p: &Principal, c: &CaseView<'_>) -> bool {
    let Some(unit) = c.unit else { return false };
    p.posts.iter().any(|post| {
        post.unit_id == Some(unit)
            || (post.role == Role::CommunityStaff && c.unit_grid.is_some_and(|ug| post.grid_code.as_deref() == Some(ug)))
    })
}

pub fn may(p: &Principal, c: &CaseView<'_>, action: &Action) -> bool {
    match action {
        Action::Accept | Action::Decline { .. } | Action::Dispatch { .. } | Action::Escalate | Action::Whistle { .. } => grid_staff(p, c),
        Action::Start | Action::Handle { .. } => assigned_unit(p, c) || grid_staff(p, c) && c.unit.is_none(),
        Action::Verify | Action::Return { .. } => reporting_grid(p, c) || p.posts.iter().any(|x| x.role == Role::DistrictAdmin),
        Action::Close => p.posts.iter().any(|post| {
            matches!(post.role, Role::DistrictAdmin | Role::StreetStaff | Role::CommunityStaff)
                && post
                    .grid_code
                    .as_deref()
                    .is_some_and(|g| c.grid_code.starts_with(g) && post_level(g) <= c.close_level)
        }),
        Action::Acknowledge { unit } => c.summoned.contains(unit) && p.posts.iter().any(|post| post.unit_id == Some(*unit)),
        // Supervision (督办) comes from above the level answering for the case.
        Action::Supervise => p.posts.iter().any(|post| {
            matches!(post.role, Role::DistrictAdmin | Role::StreetStaff)
                && post
                    .grid_code
                    .as_deref()
                    .is_some_and(|g| c.grid_code.starts_with(g) && post_level(g) < c.level)
        }),
        Action::Rate { .. } => c.reporter.is_some_and(|r| r == p.user_id),
    }
}

/// May this person see the case at all?
pub fn may_see(p: &Principal, c: &CaseView<'_>) -> bool {
    reporting_grid(p, c)
        || assigned_unit(p, c)
        || c.reporter == Some(p.user_id)
        || p.posts.iter().any(|post| post.unit_id.is_some_and(|u| c.summoned.contains(&u)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Post;

    fn who(posts: Vec<(Role, Option<&str>, Option<Uuid>)>) -> Principal {
        Principal {
            user_id: Uuid::from_u128(99),
            username: "u".into(),
            display_name: "u".into(),
            district: "411602".into(),
            posts: posts
                .into_iter()
                .map(|(role, g, u)| Post {
                    role,
                    grid_code: g.map(String::from),
                    unit_id: u,
                })
                .collect(),
        }
    }

    fn case(level: i64, unit: Option<Uuid>) -> CaseView<'static> {
        CaseView {
            grid_code: "411602001001001001",
            level,
            unit,
            unit_grid: None,
            summoned: &[],
            reporter: Some(Uuid::from_u128(99)),
            close_level: 3,
        }
    }

    #[test]
    fn grid_staff_dispatch_only_at_or_above_the_answering_level() {
        let community = who(vec![(Role::CommunityStaff, Some("411602001001"), None)]);
        let other = who(vec![(Role::CommunityStaff, Some("411602001002"), None)]);
        let dispatch = Action::Dispatch { unit: Uuid::from_u128(1) };
        assert!(may(&community, &case(5, None), &dispatch));
        assert!(!may(&other, &case(5, None), &dispatch));
        // Escalated to the street: the community no longer dispatches it.
        assert!(!may(&community, &case(2, None), &dispatch));
        assert!(may(
            &who(vec![(Role::StreetStaff, Some("411602001"), None)]),
            &case(2, None),
            &dispatch
        ));
        assert!(!may(
            &who(vec![(Role::BuildingOfficer, Some("411602001001001001"), None)]),
            &case(5, None),
            &dispatch
        ));
    }

    #[test]
    fn units_handle_reporting_grid_verifies_and_closing_needs_the_level() {
        let dept = Uuid::from_u128(5);
        let handler = who(vec![(Role::DepartmentHandler, None, Some(dept))]);
        assert!(may(&handler, &case(5, Some(dept)), &Action::Start));
        assert!(!may(&handler, &case(5, Some(Uuid::from_u128(6))), &Action::Start));
        assert!(!may(&handler, &case(5, Some(dept)), &Action::Verify));
        let officer = who(vec![(Role::BuildingOfficer, Some("411602001001001001"), None)]);
        assert!(may(&officer, &case(5, Some(dept)), &Action::Verify));
        assert!(
            !may(&officer, &case(5, Some(dept)), &Action::Close),
            "a building cannot close a level-3 category"
        );
        assert!(may(
            &who(vec![(Role::CommunityStaff, Some("411602001001"), None)]),
            &case(5, Some(dept)),
            &Action::Close
        ));
        let mut c = case(5, Some(dept));
        c.close_level = 2;
        assert!(!may(
            &who(vec![(Role::CommunityStaff, Some("411602001001"), None)]),
            &c,
            &Action::Close
        ));
        assert!(may(&who(vec![(Role::StreetStaff, Some("411602001"), None)]), &c, &Action::Close));
    }

    #[test]
    fn whistles_supervision_and_rating() {
        let dept = Uuid::from_u128(5);
        let summoned = [dept];
        let mut c = case(3, None);
        c.summoned = &summoned;
        assert!(may(
            &who(vec![(Role::DepartmentHandler, None, Some(dept))]),
            &c,
            &Action::Acknowledge { unit: dept }
        ));
        assert!(!may(
            &who(vec![(Role::DepartmentHandler, None, Some(Uuid::from_u128(6)))]),
            &c,
            &Action::Acknowledge { unit: dept }
        ));
        assert!(may_see(&who(vec![(Role::DepartmentHandler, None, Some(dept))]), &c));
        assert!(may(
            &who(vec![(Role::StreetStaff, Some("411602001"), None)]),
            &c,
            &Action::Supervise
        ));
        assert!(
            !may(
                &who(vec![(Role::StreetStaff, Some("411602001"), None)]),
                &case(2, None),
                &Action::Supervise
            ),
            "not from its own level"
        );
        assert!(may(
            &who(vec![(Role::Resident, Some("411602001001001001"), None)]),
            &c,
            &Action::Rate {
                rating: super::super::workflow::Rating::Satisfied
            }
        ));
        let mut stranger = who(vec![]);
        stranger.user_id = Uuid::from_u128(1);
        assert!(!may(
            &stranger,
            &c,
            &Action::Rate {
                rating: super::super::workflow::Rating::Satisfied
            }
        ));
        assert!(!may_see(&stranger, &c));
    }
}
