//! Where each role lands and which console links it sees: one table of feature links (导航),
//! pure functions of the principal's posts and capabilities.
//!
//! The kit names feature URLs as strings here, in this one table, until features register their
//! own links (a nav registry is a later step).

use crate::auth::{Capability, Principal, Role};

/// One link of the console's nav.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavLink {
    /// The key a page passes to `Chrome::new` to mark its link as the current one.
    pub key: &'static str,
    pub label: &'static str,
    pub href: String,
}

fn holds(p: &Principal, role: Role) -> bool {
    p.posts.iter().any(|x| x.role == role)
}

/// Grid staff (district, street, community, compound, building): they work a subtree of the grid.
fn works_grid(p: &Principal) -> bool {
    p.has(Capability::ReadRegistry)
}

/// Those who handle cases: grid staff, and departments and property companies at their unit.
fn works_cases(p: &Principal) -> bool {
    works_grid(p) || holds(p, Role::DepartmentHandler) || holds(p, Role::PropertyStaff)
}

/// The grid node a grid worker's 网格 link opens: their widest node.
pub fn home_grid(p: &Principal) -> String {
    p.roots(Capability::ReadRegistry)
        .into_iter()
        .next()
        .or_else(|| p.roots(Capability::ReadGrid).into_iter().next())
        .unwrap_or_else(|| p.district.clone())
}

struct Entry {
    key: &'static str,
    label: &'static str,
    href: fn(&Principal) -> String,
    shown: fn(&Principal) -> bool,
}

/// Every console link, in the order the nav shows them.
const NAV: [Entry; 20] = [
    Entry {
        key: "me",
        label: "我的",
        href: |_| "/console/me".into(),
        shown: |p| holds(p, Role::Resident),
    },
    Entry {
        key: "command",
        label: "指挥中心",
        href: |_| "/console/command".into(),
        shown: |p| holds(p, Role::DistrictAdmin) || holds(p, Role::StreetStaff) || holds(p, Role::CommunityStaff),
    },
    Entry {
        key: "grid",
        label: "网格",
        href: |p| format!("/console/grids/{}", home_grid(p)),
        shown: works_grid,
    },
    Entry {
        key: "inbox",
        label: "待办",
        href: |_| "/console/inbox".into(),
        shown: works_cases,
    },
    Entry {
        key: "broadcasts",
        label: "通知",
        href: |_| "/console/broadcasts".into(),
        // Grid workers send and receive; departments and property companies receive.
        shown: works_cases,
    },
    Entry {
        key: "cases",
        label: "案件",
        href: |_| "/console/cases".into(),
        shown: works_cases,
    },
    Entry {
        key: "calls",
        label: "值班通话",
        href: |_| "/console/calls".into(),
        // Live calls (一键智达) are the five grid levels' duty.
        shown: works_grid,
    },
    Entry {
        key: "councils",
        label: "议事协商",
        href: |_| "/console/councils".into(),
        // Grid staff answer residents' opinions; residents raise them and sign in to meetings.
        shown: |p| works_grid(p) || holds(p, Role::Resident),
    },
    Entry {
        key: "party",
        label: "党建",
        href: |p| {
            if works_grid(p) || holds(p, Role::DepartmentHandler) {
                "/console/party".into()
            } else {
                "/console/party/me".into()
            }
        },
        // Grid staff see their area's organisations and members, a department its members'
        // report-in, a resident their own party page (党员本人).
        shown: |p| works_grid(p) || holds(p, Role::DepartmentHandler) || holds(p, Role::Resident),
    },
    Entry {
        key: "property",
        label: "红色物业",
        href: |p| {
            if works_grid(p) {
                "/console/property".into()
            } else if holds(p, Role::PropertyStaff) {
                "/console/property/fees".into()
            } else {
                "/console/property/evaluate".into()
            }
        },
        // Grid staff follow coverage and score; companies enter fees; residents on an owners'
        // committee or leading a branch score.
        shown: |p| works_grid(p) || holds(p, Role::PropertyStaff) || holds(p, Role::Resident),
    },
    Entry {
        key: "services",
        label: "为民服务",
        href: |_| "/console/services".into(),
        // Grid staff run the services; residents book rooms, and some are proxy agents.
        shown: |p| works_grid(p) || holds(p, Role::Resident),
    },
    Entry {
        key: "frontage",
        label: "门前三包",
        href: |_| "/console/frontage".into(),
        // Street and community staff sign the agreements; grid officers patrol.
        shown: works_grid,
    },
    Entry {
        key: "campaigns",
        label: "专项行动",
        href: |_| "/console/campaigns".into(),
        // The district and streets launch drives; communities and grid officers work them.
        shown: works_grid,
    },
    Entry {
        key: "residents",
        label: "居民",
        href: |_| "/console/residents".into(),
        shown: |p| p.has(Capability::ReadRegistry),
    },
    Entry {
        key: "volunteer",
        label: "志愿服务",
        href: |p| {
            if p.has(Capability::ReadVolunteers) {
                "/console/volunteers".into()
            } else {
                "/console/volunteer".into()
            }
        },
        shown: |p| p.has(Capability::ReadVolunteers) || holds(p, Role::Resident),
    },
    Entry {
        key: "shop",
        label: "兑换",
        href: |_| "/console/shop".into(),
        // The till serves the shops this person keeps, so only a keeper's post opens it.
        shown: |p| holds(p, Role::ShopKeeper),
    },
    Entry {
        key: "assessment",
        label: "考核",
        href: |_| "/console/assessment".into(),
        shown: |p| p.has(Capability::ManageGrid),
    },
    Entry {
        key: "units",
        label: "组织单位",
        href: |_| "/console/units".into(),
        shown: |p| p.has(Capability::ReadUnits),
    },
    Entry {
        key: "keys",
        label: "接口密钥",
        href: |_| "/console/api-keys".into(),
        shown: |p| p.can(Capability::ManageUsers, &p.district),
    },
    Entry {
        key: "audit",
        label: "审计日志",
        href: |_| "/console/audit".into(),
        shown: |p| p.has(Capability::ReadAudit),
    },
];

/// The links this person may open, in nav order.
pub fn nav(p: &Principal) -> Vec<NavLink> {
    NAV.iter()
        .filter(|e| (e.shown)(p))
        .map(|e| NavLink {
            key: e.key,
            label: e.label,
            href: (e.href)(p),
        })
        .collect()
}

/// Where `/console` sends this person: the district to the command centre's screen, grid workers, departments
/// and property companies to their 待办, a keeper to the till, a resident to 我的. With several
/// posts the widest work wins; without any post, 我的 (who I am) is all there is to show.
pub fn landing(p: &Principal) -> String {
    if holds(p, Role::DistrictAdmin) {
        "/console/command".into()
    } else if works_cases(p) {
        "/console/inbox".into()
    } else if holds(p, Role::ShopKeeper) {
        "/console/shop".into()
    } else {
        "/console/me".into()
    }
}

/// The header's line: the person's name, then once each the role and the post's place
/// (`张三 · 爱心超市店员 · 东风路爱心超市`); a part equal to one before it is left out.
pub fn who_line(name: &str, roles: &str, place: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in [name, roles, place] {
        let part = part.trim();
        if !part.is_empty() && !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Post;
    use uuid::Uuid;

    /// The demo's posts: each role at its place.
    fn as_role(role: Role) -> Principal {
        let grid = match role {
            Role::DistrictAdmin => Some("411602"),
            Role::StreetStaff => Some("411602001"),
            Role::CommunityStaff => Some("411602001001"),
            Role::CompoundLeader => Some("411602001001001"),
            Role::BuildingOfficer | Role::Resident => Some("411602001001001001"),
            Role::DepartmentHandler | Role::PropertyStaff | Role::ShopKeeper => None,
        };
        Principal {
            user_id: Uuid::nil(),
            username: "u".into(),
            display_name: "张三".into(),
            district: "411602".into(),
            posts: vec![Post {
                role,
                grid_code: grid.map(String::from),
                unit_id: grid.is_none().then(Uuid::nil),
            }],
        }
    }

    fn keys(role: Role) -> Vec<&'static str> {
        nav(&as_role(role)).into_iter().map(|l| l.key).collect()
    }

    #[test]
    fn each_role_lands_on_its_work() {
        assert_eq!(landing(&as_role(Role::DistrictAdmin)), "/console/command");
        for r in [Role::StreetStaff, Role::CommunityStaff, Role::CompoundLeader, Role::BuildingOfficer] {
            assert_eq!(landing(&as_role(r)), "/console/inbox", "{r:?}");
        }
        assert_eq!(landing(&as_role(Role::DepartmentHandler)), "/console/inbox");
        assert_eq!(landing(&as_role(Role::PropertyStaff)), "/console/inbox");
        assert_eq!(landing(&as_role(Role::ShopKeeper)), "/console/shop");
        assert_eq!(landing(&as_role(Role::Resident)), "/console/me");
        let mut nobody = as_role(Role::Resident);
        nobody.posts.clear();
        assert_eq!(landing(&nobody), "/console/me");
    }

    #[test]
    fn a_building_officer_who_also_lives_there_lands_on_the_work() {
        let mut p = as_role(Role::Resident);
        p.posts.extend(as_role(Role::BuildingOfficer).posts);
        assert_eq!(landing(&p), "/console/inbox");
        assert!(keys_of(&p).contains(&"me") && keys_of(&p).contains(&"inbox"));
    }

    fn keys_of(p: &Principal) -> Vec<&'static str> {
        nav(p).into_iter().map(|l| l.key).collect()
    }

    #[test]
    fn the_nav_shows_each_role_only_what_it_may_open() {
        assert_eq!(
            keys(Role::DistrictAdmin),
            [
                "command",
                "grid",
                "inbox",
                "broadcasts",
                "cases",
                "calls",
                "councils",
                "party",
                "property",
                "services",
                "frontage",
                "campaigns",
                "residents",
                "volunteer",
                "assessment",
                "units",
                "keys",
                "audit"
            ]
        );
        for r in [Role::StreetStaff, Role::CommunityStaff] {
            assert_eq!(
                keys(r),
                [
                    "command",
                    "grid",
                    "inbox",
                    "broadcasts",
                    "cases",
                    "calls",
                    "councils",
                    "party",
                    "property",
                    "services",
                    "frontage",
                    "campaigns",
                    "residents",
                    "volunteer",
                    "assessment",
                    "units"
                ],
                "{r:?}"
            );
        }
        for r in [Role::CompoundLeader, Role::BuildingOfficer] {
            assert_eq!(
                keys(r),
                [
                    "grid",
                    "inbox",
                    "broadcasts",
                    "cases",
                    "calls",
                    "councils",
                    "party",
                    "property",
                    "services",
                    "frontage",
                    "campaigns",
                    "residents",
                    "volunteer"
                ],
                "{r:?}"
            );
        }
        assert_eq!(keys(Role::DepartmentHandler), ["inbox", "broadcasts", "cases", "party", "units"]);
        assert_eq!(keys(Role::PropertyStaff), ["inbox", "broadcasts", "cases", "property", "units"]);
        assert_eq!(keys(Role::ShopKeeper), ["shop"]);
        assert_eq!(
            keys(Role::Resident),
            ["me", "councils", "party", "property", "services", "volunteer"]
        );
    }

    #[test]
    fn links_point_at_the_role_s_own_pages() {
        let href = |r: Role, key: &str| nav(&as_role(r)).into_iter().find(|l| l.key == key).map(|l| l.href);
        assert_eq!(href(Role::CommunityStaff, "grid").as_deref(), Some("/console/grids/411602001001"));
        assert_eq!(href(Role::BuildingOfficer, "volunteer").as_deref(), Some("/console/volunteers"));
        assert_eq!(href(Role::Resident, "volunteer").as_deref(), Some("/console/volunteer"));
        assert_eq!(href(Role::Resident, "me").as_deref(), Some("/console/me"));
        assert_eq!(href(Role::PropertyStaff, "property").as_deref(), Some("/console/property/fees"));
        assert_eq!(href(Role::StreetStaff, "property").as_deref(), Some("/console/property"));
        assert_eq!(href(Role::Resident, "party").as_deref(), Some("/console/party/me"));
        assert_eq!(href(Role::DepartmentHandler, "party").as_deref(), Some("/console/party"));
        // Every role's landing is one of its own links, or 我的 (always open).
        for r in crate::auth::roles::ALL_ROLES {
            let land = landing(&as_role(r));
            assert!(
                land == "/console/me" || nav(&as_role(r)).iter().any(|l| l.href == land),
                "{r:?} lands on {land}, which its nav does not offer"
            );
        }
    }

    #[test]
    fn the_header_says_each_part_once() {
        assert_eq!(
            who_line("张三", "爱心超市店员", "东风路爱心超市"),
            "张三 · 爱心超市店员 · 东风路爱心超市"
        );
        assert_eq!(
            who_line("爱心超市店员", "爱心超市店员", "东风路爱心超市"),
            "爱心超市店员 · 东风路爱心超市"
        );
        assert_eq!(who_line("李四", "居民", ""), "李四 · 居民");
    }
}
