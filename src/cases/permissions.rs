//! Who may take which case action (403 when not): pure rules over the caller's posts and the case.

use uuid::Uuid;

use super::workflow::Action;
use crate::auth::{Principal, Role};
use crate::grid::rules;

/// A resident and nothing more: someone who sees their own reports as the public does — what was
/// done, not who inside the government did it.
pub fn resident_only(p: &Principal) -> bool {
    p.posts.iter().all(|x| x.role == Role::Resident)
}

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
    /// The compound's property company (物业公司), when the category is one it serves: the
    /// compound's own people may hand the case to it (小事不出小区).
    pub property_company: Option<Uuid>,
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

/// Anyone holding a grid post (any of the five levels) at or above the grid answering for the
/// case: that level may accept it and handle it itself (小事不出格).
fn answering_grid(p: &Principal, c: &CaseView<'_>) -> bool {
    p.posts
        .iter()
        .any(|post| post.role.is_grid_role() && post.grid_code.as_deref().is_some_and(|g| c.handling_code().starts_with(g)))
}

/// A grid post over the place, above the level answering for the case: checks (核查) and closes
/// (结案) what that level handled itself, so no one signs off their own work.
fn above_answering(p: &Principal, c: &CaseView<'_>) -> bool {
    p.posts.iter().any(|post| {
        post.role.is_grid_role()
            && post
                .grid_code
                .as_deref()
                .is_some_and(|g| c.grid_code.starts_with(g) && post_level(g) < c.level)
    })
}

/// Anyone holding a grid post over the place where the case happened (reporting grid).
fn reporting_grid(p: &Principal, c: &CaseView<'_>) -> bool {
    p.posts
        .iter()
        .any(|post| post.role.is_grid_role() && post.grid_code.as_deref().is_some_and(|g| c.grid_code.starts_with(g)))
}

/// The unit the case is dispatched to: its own staff, or the community committee's staff.
fn assigned_unit(p: &Principal, c: &CaseView<'_>) -> bool {
    let Some(unit) = c.unit else { return false };
    p.posts.iter().any(|post| {
        post.unit_id == Some(unit)
            || (post.role == Role::CommunityStaff && c.unit_grid.is_some_and(|ug| post.grid_code.as_deref() == Some(ug)))
    })
}

fn district_admin(p: &Principal) -> bool {
    p.posts.iter().any(|x| x.role == Role::DistrictAdmin)
}

pub fn may(p: &Principal, c: &CaseView<'_>, action: &Action) -> bool {
    let self_handled = c.unit.is_none();
    match action {
        Action::Accept | Action::Decline { .. } | Action::Escalate => answering_grid(p, c),
        // Departments are sent work by staff; the compound's own people may send it to their
        // property company.
        Action::Dispatch { unit } => grid_staff(p, c) || answering_grid(p, c) && c.property_company == Some(*unit),
        Action::Whistle { .. } => grid_staff(p, c),
        Action::Start | Action::Handle { .. } => assigned_unit(p, c) || self_handled && answering_grid(p, c),
        Action::Verify | Action::Return { .. } if self_handled => above_answering(p, c) || district_admin(p),
        Action::Verify | Action::Return { .. } => reporting_grid(p, c) || district_admin(p),
        Action::Close => {
            p.posts.iter().any(|post| {
                post.role.is_grid_role()
                    && post.grid_code.as_deref().is_some_and(|g| {
                        c.grid_code.starts_with(g) && post_level(g) <= c.close_level && (!self_handled || post_level(g) < c.level)
                    })
            }) || district_admin(p)
        }
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
            property_company: None,
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
    fn a_small_matter_is_handled_where_it_arises_and_checked_from_above() {
        let building = who(vec![(Role::BuildingOfficer, Some("411602001001001001"), None)]);
        let compound = who(vec![(Role::CompoundLeader, Some("411602001001001"), None)]);
        let other_building = who(vec![(Role::BuildingOfficer, Some("411602001001001002"), None)]);
        let resident = who(vec![(Role::Resident, Some("411602001001001001"), None)]);
        let note = Action::Handle { note: "已清理".into() };
        let mut c = case(5, None);
        c.close_level = 4;
        // The building accepts and handles its own small matter; nobody else's.
        for a in [Action::Accept, Action::Start, note.clone()] {
            assert!(may(&building, &c, &a), "{a:?}");
            assert!(!may(&other_building, &c, &a), "{a:?}");
            assert!(!may(&resident, &c, &a), "{a:?}");
        }
        // It does not check or close its own work; the compound above does (a level-4 category).
        for a in [Action::Verify, Action::Return { note: "x".into() }, Action::Close] {
            assert!(!may(&building, &c, &a), "{a:?}");
            assert!(may(&compound, &c, &a), "{a:?}");
        }
        // A category closed by the community: the compound checks, the community closes.
        c.close_level = 3;
        assert!(may(&compound, &c, &Action::Verify));
        assert!(!may(&compound, &c, &Action::Close));
        assert!(may(
            &who(vec![(Role::CommunityStaff, Some("411602001001"), None)]),
            &c,
            &Action::Close
        ));
        // Escalated to the compound: the compound handles it, and the building no longer may.
        let up = case(4, None);
        assert!(may(&compound, &up, &Action::Start));
        assert!(!may(&building, &up, &Action::Start));
        assert!(!may(&compound, &up, &Action::Verify), "not its own work");
        assert!(may(
            &who(vec![(Role::CommunityStaff, Some("411602001001"), None)]),
            &up,
            &Action::Verify
        ));
        // Dispatched to a department, the building checks the department's work as before.
        let sent = case(5, Some(Uuid::from_u128(5)));
        assert!(may(&building, &sent, &Action::Verify));
        assert!(!may(&building, &sent, &Action::Start));
    }

    #[test]
    fn the_compound_sends_work_to_its_own_property_company_only() {
        let company = Uuid::from_u128(40);
        let department = Uuid::from_u128(41);
        let compound = who(vec![(Role::CompoundLeader, Some("411602001001001"), None)]);
        let mut c = case(5, None);
        assert!(
            !may(&compound, &c, &Action::Dispatch { unit: company }),
            "no company serves this category"
        );
        c.property_company = Some(company);
        assert!(may(&compound, &c, &Action::Dispatch { unit: company }));
        assert!(!may(&compound, &c, &Action::Dispatch { unit: department }));
        assert!(!may(&compound, &c, &Action::Whistle { units: vec![department] }));
        // Staff may send it anywhere, the company included.
        let community = who(vec![(Role::CommunityStaff, Some("411602001001"), None)]);
        assert!(may(&community, &c, &Action::Dispatch { unit: company }));
        assert!(may(&community, &c, &Action::Dispatch { unit: department }));
        // The company's staff handle what was sent to them.
        let staff = who(vec![(Role::PropertyStaff, None, Some(company))]);
        c.unit = Some(company);
        assert!(may(&staff, &c, &Action::Start) && may_see(&staff, &c));
        assert!(!may(&staff, &c, &Action::Verify));
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
