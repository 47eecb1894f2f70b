//! The demo's organisations, teams and volunteers, and which teams each volunteer joins.

use std::collections::HashMap;

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{VPlan, opt_u, t, uuid_at};
use crate::db::Tx;
use crate::demo::plan::{PGrid, Plan};
use crate::demo::{V, bulk};

pub struct VUnit {
    pub id: Uuid,
    pub kind: &'static str,
    pub name: String,
    pub grid: String,
}

pub struct VTeam {
    pub id: Uuid,
    pub kind: &'static str,
    pub name: String,
    pub grid: String,
    pub unit: Option<Uuid>,
    pub members: Vec<usize>,
}

pub struct VVolunteer {
    pub id: Uuid,
    pub resident: Uuid,
    pub grid: String,
    pub name: String,
    pub via: &'static str,
    pub unit: Option<Uuid>,
    pub minutes: i64,
    pub created_at: i64,
}

const BRANDS: &[&str] = &["民间河长", "爱心粥屋", "爱心车队", "建西老大妈", "文明镜", "马路探长", "爱在邻里"];
const CAUSES: &[&str] = &[
    "青年",
    "巾帼",
    "医疗",
    "法律援助",
    "心理关爱",
    "助老",
    "助残",
    "环保",
    "交通文明",
    "应急救援",
    "文化",
    "科普",
    "读书",
    "义剪",
    "家电维修",
    "法治宣传",
    "禁毒宣传",
    "消防",
    "红十字",
    "退役军人",
    "教育关爱",
    "阳光助学",
    "书画",
    "体育健身",
    "夕阳红",
];
const STANDING: &[&str] = &[
    "应急救援",
    "文明交通",
    "理论宣讲",
    "卫生健康",
    "法律服务",
    "科技科普",
    "文化文艺",
    "助老助残",
    "生态环保",
    "平安巡防",
];

/// Organisations (志愿服务组织), registered as units.
pub(super) fn organisations(rng: &mut ChaCha8Rng, district: &str, count: usize, year_ago: i64) -> Vec<VUnit> {
    let mut units = Vec::new();
    for i in 0..count {
        let name = if i < BRANDS.len() {
            format!("川汇区{}志愿服务协会", BRANDS[i])
        } else {
            format!("川汇区{}志愿服务协会", CAUSES[(i - BRANDS.len()) % CAUSES.len()])
        };
        units.push(VUnit {
            id: uuid_at(rng, year_ago),
            kind: "volunteer_org",
            name,
            grid: district.to_string(),
        });
    }
    units
}

/// Teams: 1 corps, standing, special (one per organisation until they run out), community
/// governance (one per community) and city creation (one per street), to `team_count` in all.
pub(super) fn teams(
    rng: &mut ChaCha8Rng,
    p: &Plan,
    units: &[VUnit],
    communities: &[&PGrid],
    team_count: usize,
    year_ago: i64,
) -> Vec<VTeam> {
    let district = p.district_code;
    let streets: Vec<&PGrid> = p.grids.iter().filter(|g| g.level == 2).collect();
    let n = team_count.max(1);
    let standing = STANDING.len().min((n - 1) / 5);
    let city = streets.len().min((n - 1) / 6);
    let governance = communities.len().min((n - 1 - standing - city) * 2 / 3).max(usize::from(n > 1));
    let special = n - 1 - standing - city - governance.min(n - 1 - standing - city);
    let mut teams = vec![VTeam {
        id: uuid_at(rng, year_ago),
        kind: "corps",
        name: "川汇区志愿服务总队".into(),
        grid: district.into(),
        unit: p
            .units
            .iter()
            .find(|u| u.kind == "volunteer_team" && u.grid.as_deref() == Some(district))
            .map(|u| u.id),
        members: Vec::new(),
    }];
    for s in STANDING.iter().take(standing) {
        teams.push(VTeam {
            id: uuid_at(rng, year_ago),
            kind: "standing",
            name: format!("川汇区{s}志愿服务队"),
            grid: district.into(),
            unit: None,
            members: Vec::new(),
        });
    }
    for i in 0..special {
        let (name, unit) = match units.get(i) {
            Some(u) => (format!("{}特色志愿服务队", u.name.trim_end_matches("志愿服务协会")), Some(u.id)),
            None => (format!("川汇区特色志愿服务第{}队", i + 1), None),
        };
        teams.push(VTeam {
            id: uuid_at(rng, year_ago),
            kind: "special",
            name,
            grid: district.into(),
            unit,
            members: Vec::new(),
        });
    }
    for c in communities.iter().take(governance.min(n - teams.len())) {
        teams.push(VTeam {
            id: uuid_at(rng, year_ago),
            kind: "community_governance",
            name: match c.name.strip_suffix("社区") {
                Some(stem) => format!("{stem}社区治理志愿服务队"),
                None => format!("{}社区治理志愿服务队", c.name),
            },
            grid: c.code.clone(),
            unit: p
                .units
                .iter()
                .find(|u| u.kind == "volunteer_team" && u.grid.as_deref() == Some(c.code.as_str()))
                .map(|u| u.id),
            members: Vec::new(),
        });
    }
    for s in streets.iter().take(n.saturating_sub(teams.len())) {
        teams.push(VTeam {
            id: uuid_at(rng, year_ago),
            kind: "city_creation",
            name: format!("{}城市创建志愿服务队", s.name),
            grid: s.code.clone(),
            unit: None,
            members: Vec::new(),
        });
    }
    teams
}

/// Volunteers: residents aged 16–74, those tagged 志愿者 first. Returns them and the one the
/// demo's `resident` account signs in as.
pub(super) fn volunteers(rng: &mut ChaCha8Rng, p: &Plan, units: &[VUnit], count: usize, year_ago: i64) -> (Vec<VVolunteer>, Option<usize>) {
    let this_year: i64 = 2026;
    let mut candidates: Vec<usize> = (0..p.residents.len())
        .filter(|&i| {
            let born: i64 = p.residents[i].birth_date[..4].parse().unwrap_or(2000);
            (16..=74).contains(&(this_year - born))
        })
        .collect();
    // Keys drawn once: a sort must not see a key change between comparisons.
    let mut keyed: Vec<(bool, u32, usize)> = candidates
        .iter()
        .map(|&i| (!p.residents[i].tags.contains(&"志愿者"), rng.random::<u32>(), i))
        .collect();
    keyed.sort_unstable();
    candidates = keyed.into_iter().map(|k| k.2).collect();
    let first_building = p.grids.iter().find(|g| g.level == 5).map(|g| g.code.clone()).unwrap_or_default();
    // The demo's `resident` account lives in the first building: one of its people volunteers.
    if let Some(pos) = candidates.iter().position(|&i| p.grids[p.residents[i].grid].code == first_building) {
        let chosen = candidates.remove(pos);
        candidates.insert(0, chosen);
    }
    candidates.truncate(count);
    candidates.sort_unstable();
    let departments: Vec<Uuid> = p.units.iter().filter(|u| u.kind == "department").map(|u| u.id).collect();
    let mut volunteers = Vec::with_capacity(candidates.len());
    let mut demo_volunteer = None;
    for &ri in &candidates {
        let r = &p.residents[ri];
        let grid = p.grids[r.grid].code.clone();
        let roll: f64 = rng.random();
        let (via, unit) = if roll < 0.6 {
            ("community", None)
        } else if roll < 0.8 && !(units.is_empty() && departments.is_empty()) {
            let pool: Vec<Uuid> = units.iter().map(|u| u.id).chain(departments.iter().copied()).collect();
            ("unit", Some(pool[rng.random_range(0..pool.len())]))
        } else {
            ("self", None)
        };
        if demo_volunteer.is_none() && grid == first_building {
            demo_volunteer = Some(volunteers.len());
        }
        let created_at = year_ago - rng.random_range(0..(2 * 365 * 86_400_000i64));
        volunteers.push(VVolunteer {
            id: uuid_at(rng, created_at),
            resident: r.id,
            grid,
            name: r.name.clone(),
            via,
            unit,
            minutes: 0,
            created_at,
        });
    }
    (volunteers, demo_volunteer)
}

/// Each volunteer joins their home team, and one in five a second team.
pub(super) fn join_teams(rng: &mut ChaCha8Rng, teams: &mut [VTeam], volunteers: &[VVolunteer]) {
    let ancestor = |code: &str, level: i64| -> String {
        let n = crate::grid::rules::code_len(level);
        code[..n.min(code.len())].to_string()
    };
    let governance_of: HashMap<String, usize> = teams
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == "community_governance")
        .map(|(i, t)| (t.grid.clone(), i))
        .collect();
    let city_of: HashMap<String, usize> = teams
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == "city_creation")
        .map(|(i, t)| (t.grid.clone(), i))
        .collect();
    for (vi, v) in volunteers.iter().enumerate() {
        // Home team: the community's own, else the street's city-creation team, else any team.
        let home = governance_of
            .get(&ancestor(&v.grid, 3))
            .or_else(|| city_of.get(&ancestor(&v.grid, 2)))
            .copied()
            .unwrap_or_else(|| rng.random_range(0..teams.len()));
        teams[home].members.push(vi);
        if teams.len() > 1 && rng.random_bool(0.2) {
            let other = rng.random_range(0..teams.len());
            if other != home {
                teams[other].members.push(vi);
            }
        }
    }
}

/// Write the teams, the volunteers and the team memberships.
pub(super) async fn insert(tx: &mut Tx, district: &str, v: &VPlan, now: i64, pb: &indicatif::ProgressBar) -> anyhow::Result<()> {
    let teams = v
        .teams
        .iter()
        .map(|x| {
            vec![
                V::U(x.id),
                t(district),
                t(x.kind),
                t(&x.name),
                t(&x.grid),
                opt_u(x.unit),
                V::I(x.members.len() as i64),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        tx,
        "volunteer_teams",
        &["id", "district", "kind", "name", "grid_code", "unit_id", "members", "created_at"],
        teams,
        pb,
    )
    .await?;
    let volunteers = v
        .volunteers
        .iter()
        .map(|x| {
            vec![
                V::U(x.id),
                t(district),
                V::U(x.resident),
                t(&x.grid),
                t(&x.name),
                t(x.via),
                opt_u(x.unit),
                V::I(x.minutes),
                V::I(x.created_at),
            ]
        })
        .collect();
    bulk(
        tx,
        "volunteers",
        &[
            "id",
            "district",
            "resident_id",
            "grid_code",
            "name",
            "registered_via",
            "unit_id",
            "minutes",
            "created_at",
        ],
        volunteers,
        pb,
    )
    .await?;
    let members = v
        .teams
        .iter()
        .flat_map(|x| {
            x.members
                .iter()
                .map(|&m| vec![V::U(x.id), V::U(v.volunteers[m].id), t(district), V::I(v.volunteers[m].created_at)])
        })
        .collect();
    bulk(
        tx,
        "volunteer_team_members",
        &["team_id", "volunteer_id", "district", "joined_at"],
        members,
        pb,
    )
    .await?;
    Ok(())
}
