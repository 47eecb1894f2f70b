//! Roles, posts and scope: who may do what where. Pure rules, no I/O.

use serde::Serialize;
use uuid::Uuid;

/// A role name, stable in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 区指挥中心 / 社区建设管理局
    DistrictAdmin,
    /// 街道办事处工作人员
    StreetStaff,
    /// 社区工作者、支部书记
    CommunityStaff,
    /// 小区网格长
    CompoundLeader,
    /// 楼栋信息员（五级网格长）
    BuildingOfficer,
    /// 职能部门经办人
    DepartmentHandler,
    /// 物业公司人员
    PropertyStaff,
    /// 居民
    Resident,
    /// 爱心超市、爱心商家店员
    ShopKeeper,
}

pub const ALL_ROLES: [Role; 9] = [
    Role::DistrictAdmin,
    Role::StreetStaff,
    Role::CommunityStaff,
    Role::CompoundLeader,
    Role::BuildingOfficer,
    Role::DepartmentHandler,
    Role::PropertyStaff,
    Role::Resident,
    Role::ShopKeeper,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "district_admin",
            Role::StreetStaff => "street_staff",
            Role::CommunityStaff => "community_staff",
            Role::CompoundLeader => "compound_leader",
            Role::BuildingOfficer => "building_officer",
            Role::DepartmentHandler => "department_handler",
            Role::PropertyStaff => "property_staff",
            Role::Resident => "resident",
            Role::ShopKeeper => "shop_keeper",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ALL_ROLES.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::DistrictAdmin => "区级管理员",
            Role::StreetStaff => "街道工作人员",
            Role::CommunityStaff => "社区工作者",
            Role::CompoundLeader => "小区网格长",
            Role::BuildingOfficer => "楼栋信息员",
            Role::DepartmentHandler => "部门经办人",
            Role::PropertyStaff => "物业人员",
            Role::Resident => "居民",
            Role::ShopKeeper => "爱心超市店员",
        }
    }

    /// The five grid levels' own people (district … building), who answer for what happens in
    /// their grid; residents hold a grid post too, but only as where they live.
    pub fn is_grid_role(self) -> bool {
        matches!(
            self,
            Role::DistrictAdmin | Role::StreetStaff | Role::CommunityStaff | Role::CompoundLeader | Role::BuildingOfficer
        )
    }

    /// Roles held at a unit (department, property company, shop) rather than at a grid node.
    pub fn held_at_unit(self) -> bool {
        matches!(self, Role::DepartmentHandler | Role::PropertyStaff | Role::ShopKeeper)
    }

    /// The grid level a grid-held role sits at, if fixed.
    pub fn grid_level(self) -> Option<i64> {
        match self {
            Role::DistrictAdmin => Some(1),
            Role::StreetStaff => Some(2),
            Role::CommunityStaff => Some(3),
            Role::CompoundLeader => Some(4),
            Role::BuildingOfficer => Some(5),
            Role::Resident => Some(5),
            Role::DepartmentHandler | Role::PropertyStaff | Role::ShopKeeper => None,
        }
    }

    pub fn grants(self, cap: Capability) -> bool {
        use Capability::*;
        match self {
            Role::DistrictAdmin => true,
            Role::StreetStaff => {
                matches!(
                    cap,
                    ReadGrid
                        | ReadRegistry
                        | WriteRegistry
                        | RevealPersonal
                        | ManageGrid
                        | ReadUnits
                        | ReadVolunteers
                        | ManageVolunteers
                        | ManageShops
                )
            }
            Role::CommunityStaff => {
                matches!(
                    cap,
                    ReadGrid
                        | ReadRegistry
                        | WriteRegistry
                        | RevealPersonal
                        | ManageGrid
                        | ReadUnits
                        | ReadVolunteers
                        | ManageVolunteers
                        | ManageShops
                        | CorrectPoints
                )
            }
            Role::CompoundLeader | Role::BuildingOfficer => matches!(cap, ReadGrid | ReadRegistry | WriteRegistry | ReadVolunteers),
            Role::DepartmentHandler | Role::PropertyStaff => matches!(cap, ReadGrid | ReadUnits),
            Role::ShopKeeper => matches!(cap, ReadGrid | RedeemPoints),
            Role::Resident => matches!(cap, ReadGrid),
        }
    }
}

/// What an action needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    ReadGrid,
    /// Residents and households, masked.
    ReadRegistry,
    WriteRegistry,
    /// See an ID number or phone in full (audited).
    RevealPersonal,
    /// Create grid nodes, change boundaries and leaders.
    ManageGrid,
    ReadUnits,
    WriteUnits,
    ManageUsers,
    ReadAudit,
    /// Volunteers, their hours and points, in a subtree.
    ReadVolunteers,
    /// Register volunteers, create teams and activities, mark attendance.
    ManageVolunteers,
    /// Open shops (爱心超市, merchants) and keep their catalogue.
    ManageShops,
    /// Compensating entries in the points ledger (district and community only).
    CorrectPoints,
    /// Confirm a redemption at the till (held at the shop's unit).
    RedeemPoints,
}

/// One post (岗位): a role held at a grid node or at a unit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Post {
    pub role: Role,
    pub grid_code: Option<String>,
    pub unit_id: Option<Uuid>,
}

/// The signed-in person and their posts.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub username: String,
    pub display_name: String,
    pub district: String,
    pub posts: Vec<Post>,
}

impl Principal {
    /// This person as the audit log and timelines record them.
    pub fn actor(&self) -> crate::audit::Actor<'_> {
        crate::audit::Actor::User {
            id: self.user_id,
            username: &self.username,
            display_name: &self.display_name,
        }
    }

    /// May this person use `cap` on the grid node `code` (or anything under it)?
    /// A grid-held post reaches its node's subtree; a unit-held post reads the whole district's grid.
    pub fn can(&self, cap: Capability, code: &str) -> bool {
        self.posts.iter().any(|p| {
            p.role.grants(cap)
                && match &p.grid_code {
                    Some(root) => code.starts_with(root.as_str()),
                    None => code.starts_with(self.district.as_str()),
                }
        })
    }

    /// May this person use `cap` anywhere at all?
    pub fn has(&self, cap: Capability) -> bool {
        self.posts.iter().any(|p| p.role.grants(cap))
    }

    /// The grid roots this person may use `cap` under, shortest first.
    pub fn roots(&self, cap: Capability) -> Vec<String> {
        let mut roots: Vec<String> = self
            .posts
            .iter()
            .filter(|p| p.role.grants(cap))
            .map(|p| p.grid_code.clone().unwrap_or_else(|| self.district.clone()))
            .collect();
        roots.sort_by_key(|r| (r.len(), r.clone()));
        // Drop roots already covered by a wider one.
        let mut out: Vec<String> = Vec::new();
        for r in roots {
            if !out.iter().any(|o| r.starts_with(o.as_str())) {
                out.push(r);
            }
        }
        out
    }

    pub fn role_labels(&self) -> String {
        let mut labels: Vec<&str> = self.posts.iter().map(|p| p.role.label()).collect();
        labels.dedup();
        labels.join("、")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn principal(posts: Vec<(Role, Option<&str>)>) -> Principal {
        Principal {
            user_id: Uuid::nil(),
            username: "u".into(),
            display_name: "u".into(),
            district: "411602".into(),
            posts: posts
                .into_iter()
                .map(|(role, g)| Post {
                    role,
                    grid_code: g.map(String::from),
                    unit_id: g.is_none().then(Uuid::nil),
                })
                .collect(),
        }
    }

    #[test]
    fn role_names_round_trip() {
        for r in ALL_ROLES {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn scope_is_the_subtree() {
        let p = principal(vec![(Role::CommunityStaff, Some("411602001001"))]);
        assert!(p.can(Capability::ReadRegistry, "411602001001"));
        assert!(p.can(Capability::ReadRegistry, "411602001001003002"));
        assert!(!p.can(Capability::ReadRegistry, "411602001002"));
        assert!(!p.can(Capability::ReadRegistry, "411602001"));
        assert!(!p.can(Capability::ManageUsers, "411602001001"));
        let d = principal(vec![(Role::DepartmentHandler, None)]);
        assert!(d.can(Capability::ReadGrid, "411602009"));
        assert!(!d.can(Capability::ReadRegistry, "411602009"));
        assert!(!d.can(Capability::ReadGrid, "411603"));
    }

    #[test]
    fn several_posts_add_up() {
        let p = principal(vec![
            (Role::BuildingOfficer, Some("411602001001001001")),
            (Role::BuildingOfficer, Some("411602001001001002")),
            (Role::Resident, Some("411602002001001001")),
        ]);
        assert!(p.can(Capability::ReadRegistry, "411602001001001002"));
        assert!(!p.can(Capability::ReadRegistry, "411602002001001001"));
        assert!(p.can(Capability::ReadGrid, "411602002001001001"));
        assert_eq!(p.roots(Capability::ReadRegistry).len(), 2);
        let wide = principal(vec![
            (Role::StreetStaff, Some("411602001")),
            (Role::CommunityStaff, Some("411602001003")),
        ]);
        assert_eq!(wide.roots(Capability::ReadRegistry), vec!["411602001".to_string()]);
    }

    /// Every capability, in declaration order.
    const ALL_CAPS: [Capability; 14] = [
        Capability::ReadGrid,
        Capability::ReadRegistry,
        Capability::WriteRegistry,
        Capability::RevealPersonal,
        Capability::ManageGrid,
        Capability::ReadUnits,
        Capability::WriteUnits,
        Capability::ManageUsers,
        Capability::ReadAudit,
        Capability::ReadVolunteers,
        Capability::ManageVolunteers,
        Capability::ManageShops,
        Capability::CorrectPoints,
        Capability::RedeemPoints,
    ];

    // The exhaustive match stops compiling when a capability is added, so ALL_CAPS cannot go stale.
    #[test]
    fn all_caps_lists_every_capability_once() {
        use Capability::*;
        let index = |c: Capability| match c {
            ReadGrid => 0,
            ReadRegistry => 1,
            WriteRegistry => 2,
            RevealPersonal => 3,
            ManageGrid => 4,
            ReadUnits => 5,
            WriteUnits => 6,
            ManageUsers => 7,
            ReadAudit => 8,
            ReadVolunteers => 9,
            ManageVolunteers => 10,
            ManageShops => 11,
            CorrectPoints => 12,
            RedeemPoints => 13,
        };
        for (i, c) in ALL_CAPS.into_iter().enumerate() {
            assert_eq!(index(c), i);
        }
    }

    /// A grid code as its levels: the district (`411602`), then one 3-digit group per level below.
    fn code(groups: &[u32]) -> String {
        let mut s = groups[0].to_string();
        for g in &groups[1..] {
            s.push_str(&format!("{g:03}"));
        }
        s
    }

    /// A post's node (`root`, in district 411602, level 1–5) and a node `other` placed relative to
    /// it by construction, with whether `other` is in `root`'s subtree. Half the cases are inside
    /// (root itself or a descendant); the rest are a proper ancestor, or share a prefix and then
    /// leave it (a sibling or cousin at any depth, or another district).
    fn root_and_other() -> impl Strategy<Value = (Vec<u32>, Vec<u32>, bool)> {
        let root = (0usize..=4, proptest::collection::vec(1u32..1000, 4))
            .prop_map(|(below, groups)| [vec![411602], groups[..below].to_vec()].concat());
        let place = (any::<bool>(), any::<bool>(), 0usize..5, 0u32..1000, 0usize..5);
        (root, place, proptest::collection::vec(1u32..1000, 4)).prop_map(|(root, (inside, ancestor, k, fork, depth), tail)| {
            let other = if inside {
                let extra = depth % (5 - root.len() + 1);
                [root.clone(), tail[..extra].to_vec()].concat()
            } else {
                // Keep the first k levels (k < root's depth), then leave root's path.
                let k = k % root.len();
                if ancestor && k > 0 {
                    root[..k].to_vec()
                } else {
                    // A different group at level k: another district, or 1–998 steps round 001–999.
                    let fork_group = if k == 0 {
                        [411603, 411621, 410102][fork as usize % 3]
                    } else {
                        1 + (root[k] + fork % 998) % 999
                    };
                    let extra = depth % (5 - k);
                    [root[..k].to_vec(), vec![fork_group], tail[..extra].to_vec()].concat()
                }
            };
            (root, other, inside)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        // Every role, every capability: a grid-held post reaches exactly its node's subtree for the
        // capabilities its role grants (allowed inside, refused outside) and nothing for the rest;
        // a unit-held post reaches exactly its district.
        #[test]
        fn scope_is_exactly_the_subtree((root, other, inside) in root_and_other(), r in 0usize..ALL_ROLES.len()) {
            let role = ALL_ROLES[r];
            let (root_code, other_code) = (code(&root), code(&other));
            let p = principal(vec![(role, (!role.held_at_unit()).then_some(root_code.as_str()))]);
            // A unit-held post's scope is the whole district, whatever `root` was drawn.
            let in_scope = if role.held_at_unit() { other[0] == 411602 } else { inside };
            let scope = if role.held_at_unit() { "411602".to_string() } else { root_code.clone() };
            prop_assert!(role.grants(Capability::ReadGrid), "every role reads the grid, so each case checks a granted pair");
            for cap in ALL_CAPS {
                let granted = role.grants(cap);
                prop_assert_eq!(p.can(cap, &other_code), granted && in_scope, "{:?} {:?} at {} on {}", role, cap, scope, other_code);
                prop_assert_eq!(p.has(cap), granted);
                prop_assert_eq!(p.roots(cap), if granted { vec![scope.clone()] } else { vec![] });
            }
        }
    }
}
