//! The demo's volunteers (志愿服务与积分): organisations, teams, volunteers, a year of weekly
//! activities with attendance and points, love supermarkets and merchants, redemptions — written
//! as rows whose ledger balances (every transaction sums to zero; balances equal their postings).

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::{PGrid, Plan};
use super::{V, bulk};
use crate::db::Tx;
use crate::volunteers::rules;

/// How many of each, by scale.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub volunteers: usize,
    pub organisations: usize,
    pub supermarkets: usize,
    pub merchants: usize,
}

/// Chuanhui: 54 teams (the grid plan's), 32 organisations, 68,000 volunteers, 11 love supermarkets, 36 merchants.
pub const DISTRICT: Sizes = Sizes {
    volunteers: 68_000,
    organisations: 32,
    supermarkets: 11,
    merchants: 36,
};

pub const SMALL: Sizes = Sizes {
    volunteers: 300,
    organisations: 3,
    supermarkets: 2,
    merchants: 3,
};

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

pub struct VActivity {
    pub id: Uuid,
    pub grid: String,
    pub team: Uuid,
    pub title: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub code: String,
}

/// (activity, volunteer, status, signed up, in, out, minutes, points, transaction)
pub struct VSignup {
    pub activity: usize,
    pub volunteer: usize,
    pub status: &'static str,
    pub signed_up_at: i64,
    pub checked_in_at: Option<i64>,
    pub checked_out_at: Option<i64>,
    pub minutes: i64,
    pub points: i64,
    pub transaction: Option<Uuid>,
}

pub struct VItem {
    pub id: Uuid,
    pub shop: usize,
    pub name: String,
    pub points: Option<i64>,
    pub discount: String,
    pub stock: i64,
}

pub struct VShop {
    pub id: Uuid,
    pub kind: &'static str,
    pub name: String,
    pub grid: String,
    pub address: String,
}

/// A ledger transaction: (id, at, kind, reason, source kind, source id, unique key, postings).
pub struct VTransaction {
    pub id: Uuid,
    pub at: i64,
    pub kind: &'static str,
    pub reason: String,
    pub source_kind: &'static str,
    pub source_id: String,
    pub unique_key: String,
    pub postings: Vec<(Uuid, i64)>,
}

pub struct VRedemption {
    pub id: Uuid,
    pub code_id: Uuid,
    pub code: String,
    pub shop: usize,
    pub item: usize,
    pub volunteer: usize,
    pub points: i64,
    pub transaction: Uuid,
    pub at: i64,
}

/// (id, kind, owner, balance)
pub struct VAccount {
    pub id: Uuid,
    pub kind: &'static str,
    pub owner: Uuid,
    pub balance: i64,
}

pub struct VPlan {
    pub units: Vec<VUnit>,
    pub teams: Vec<VTeam>,
    pub volunteers: Vec<VVolunteer>,
    pub themes: Vec<(String, String, String)>,
    pub activities: Vec<VActivity>,
    pub signups: Vec<VSignup>,
    pub shops: Vec<VShop>,
    pub items: Vec<VItem>,
    pub transactions: Vec<VTransaction>,
    pub redemptions: Vec<VRedemption>,
    pub accounts: Vec<VAccount>,
    /// The volunteer the demo's `resident` account signs in as.
    pub demo_volunteer: Option<usize>,
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
/// 一月一主题: a theme for each month, January first.
const THEMES: [&str; 12] = [
    "迎新春·送温暖",
    "邻里互助·平安过节",
    "学雷锋·志愿服务月",
    "文明祭扫·绿色出行",
    "劳动最光荣·清洁家园",
    "关爱一老一小",
    "防汛安全·守护家园",
    "拥军优属·爱国卫生",
    "助学圆梦·开学护航",
    "敬老爱老·九九重阳",
    "消防安全·除患灭患",
    "垃圾分类·文明城市",
];
/// Activities of a week, by the month's theme: (title, place suffix).
const ACTIVITIES: &[(&str, &str)] = &[
    ("清理楼道杂物", "各小区楼道"),
    ("走访独居老人", "社区党群服务中心"),
    ("文明交通劝导", "路口执勤点"),
    ("垃圾分类宣传", "新时代文明实践站"),
    ("义务理发", "社区党群服务中心"),
    ("消防安全巡查", "各小区"),
    ("环境卫生整治", "背街小巷"),
    ("防诈骗宣传", "社区广场"),
    ("绿化带补植", "社区游园"),
    ("四点半课堂", "新时代文明实践站"),
];
const GOODS: &[(&str, i64)] = &[
    ("大米（5斤）", 60),
    ("食用油（1.8升）", 90),
    ("洗衣液（2公斤）", 45),
    ("毛巾", 15),
    ("牙膏", 12),
    ("鸡蛋（10个）", 25),
    ("挂面（1公斤）", 12),
    ("酱油（500毫升）", 15),
    ("香皂", 8),
    ("卷纸（10卷）", 25),
    ("保温杯", 70),
    ("雨伞", 40),
];
const OFFERS: &[(&str, Option<i64>, &str)] = &[
    ("理发一次", Some(50), ""),
    ("家电清洗", Some(120), ""),
    ("早餐套餐", Some(20), ""),
    ("眼镜清洗调校", Some(10), ""),
    ("凭志愿者证消费九折", None, "九折"),
    ("凭志愿者证消费满百减十", None, "满100减10"),
];

fn uuid_at(rng: &mut ChaCha8Rng, ms: i64) -> Uuid {
    let mut bytes = [0u8; 10];
    for b in &mut bytes {
        *b = rng.random();
    }
    uuid::Builder::from_unix_timestamp_millis(ms.max(0) as u64, &bytes).into_uuid()
}

fn short_code(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Saturday 09:00 China time of the week holding `ms`.
fn saturday_morning(ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let china = ms + 8 * 3_600_000;
    let day = china.div_euclid(DAY);
    // 1970-01-01 was a Thursday: (day + 4) % 7 is the weekday with Sunday = 0.
    let weekday = (day + 4).rem_euclid(7);
    let saturday = day + (6 - weekday);
    saturday * DAY - 8 * 3_600_000 + 9 * 3_600_000
}

/// Plan everything. `now` anchors the year of history (and two weeks ahead).
pub fn plan(p: &Plan, sizes: Sizes, team_count: usize, seed: u64, now: i64) -> VPlan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5f0f_u64);
    let district = p.district_code;
    let year_ago = now - 365 * 86_400_000;
    let grid_by_code: HashMap<&str, &PGrid> = p.grids.iter().map(|g| (g.code.as_str(), g)).collect();
    let communities: Vec<&PGrid> = p.grids.iter().filter(|g| g.level == 3).collect();
    let streets: Vec<&PGrid> = p.grids.iter().filter(|g| g.level == 2).collect();
    let ancestor = |code: &str, level: i64| -> String {
        let n = crate::grid::rules::code_len(level);
        code[..n.min(code.len())].to_string()
    };

    // Organisations (志愿服务组织), registered as units.
    let mut units = Vec::new();
    for i in 0..sizes.organisations {
        let name = if i < BRANDS.len() {
            format!("川汇区{}志愿服务协会", BRANDS[i])
        } else {
            format!("川汇区{}志愿服务协会", CAUSES[(i - BRANDS.len()) % CAUSES.len()])
        };
        units.push(VUnit {
            id: uuid_at(&mut rng, year_ago),
            kind: "volunteer_org",
            name,
            grid: district.to_string(),
        });
    }

    // Teams: 1 corps, standing, special (one per organisation until they run out), community
    // governance (one per community) and city creation (one per street), to `team_count` in all.
    let n = team_count.max(1);
    let standing = STANDING.len().min((n - 1) / 5);
    let city = streets.len().min((n - 1) / 6);
    let governance = communities.len().min((n - 1 - standing - city) * 2 / 3).max(usize::from(n > 1));
    let special = n - 1 - standing - city - governance.min(n - 1 - standing - city);
    let mut teams = vec![VTeam {
        id: uuid_at(&mut rng, year_ago),
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
            id: uuid_at(&mut rng, year_ago),
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
            id: uuid_at(&mut rng, year_ago),
            kind: "special",
            name,
            grid: district.into(),
            unit,
            members: Vec::new(),
        });
    }
    for c in communities.iter().take(governance.min(n - teams.len())) {
        teams.push(VTeam {
            id: uuid_at(&mut rng, year_ago),
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
            id: uuid_at(&mut rng, year_ago),
            kind: "city_creation",
            name: format!("{}城市创建志愿服务队", s.name),
            grid: s.code.clone(),
            unit: None,
            members: Vec::new(),
        });
    }
    let governance_of: HashMap<String, usize> = teams
        .iter()
        .enumerate()
        .filter(|(_, t)| t.kind == "community_governance")
        .map(|(i, t)| (t.grid.clone(), i))
        .collect();

    // Volunteers: residents aged 16–74, those tagged 志愿者 first. The demo's `resident` account
    // lives in the first building: one of its residents volunteers.
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
    candidates.truncate(sizes.volunteers);
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
            id: uuid_at(&mut rng, created_at),
            resident: r.id,
            grid,
            name: r.name.clone(),
            via,
            unit,
            minutes: 0,
            created_at,
        });
    }
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

    // Themes for each community, each month of the year.
    let mut themes = Vec::new();
    let mut months: Vec<(i64, i64)> = (0..13)
        .map(|k| {
            let t = jiff::Timestamp::from_millisecond(year_ago + k * 30 * 86_400_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            let d = t.to_zoned(crate::time::china()).date();
            (i64::from(d.year()), i64::from(d.month()))
        })
        .collect();
    months.dedup();
    for c in &communities {
        for (y, m) in &months {
            themes.push((c.code.clone(), format!("{y:04}-{m:02}"), THEMES[(*m as usize - 1) % 12].to_string()));
        }
    }

    // Weekly activities (一周一活动) for the year and two weeks ahead: community teams every week,
    // the others every other week. Attendance credits points from the district's issuing account.
    let mut activities = Vec::new();
    let mut signups = Vec::new();
    let mut credits: Vec<(i64, usize, i64, usize)> = Vec::new(); // (at, volunteer, points, signup)
    let weeks = 54;
    for (ti, t) in teams.iter().enumerate() {
        if t.members.is_empty() {
            continue;
        }
        // Big teams hold more than one activity a week (Saturday and Sunday mornings).
        let per_week = (t.members.len() / 600).clamp(1, 2);
        for slot in 0..weeks * per_week {
            let w = slot / per_week;
            if t.kind != "community_governance" && t.members.len() < 200 && (w + ti) % 2 == 1 {
                continue;
            }
            let starts_at = saturday_morning(year_ago + w as i64 * 7 * 86_400_000) + (slot % per_week) as i64 * 86_400_000;
            let ends_at = starts_at + 2 * 3_600_000;
            let (title, place) = ACTIVITIES[rng.random_range(0..ACTIVITIES.len())];
            let host = grid_by_code.get(t.grid.as_str()).map(|g| g.name.clone()).unwrap_or_default();
            let capacity = rng.random_range(15..=40);
            let ai = activities.len();
            activities.push(VActivity {
                id: uuid_at(&mut rng, starts_at - 5 * 86_400_000),
                grid: t.grid.clone(),
                team: t.id,
                title: title.to_string(),
                place: format!("{host}{place}"),
                starts_at,
                ends_at,
                capacity,
                code: short_code(&mut rng, 6),
            });
            let want = (rng.random_range(capacity / 3..=capacity) as usize).min(t.members.len());
            let mut picked = std::collections::BTreeSet::new();
            while picked.len() < want {
                picked.insert(t.members[rng.random_range(0..t.members.len())]);
            }
            for vi in picked {
                let signed_up_at = starts_at - rng.random_range(3_600_000..5 * 86_400_000);
                if starts_at > now {
                    signups.push(VSignup {
                        activity: ai,
                        volunteer: vi,
                        status: "signed_up",
                        signed_up_at,
                        checked_in_at: None,
                        checked_out_at: None,
                        minutes: 0,
                        points: 0,
                        transaction: None,
                    });
                    continue;
                }
                if rng.random_bool(0.08) {
                    // Signed up, did not come.
                    signups.push(VSignup {
                        activity: ai,
                        volunteer: vi,
                        status: "signed_up",
                        signed_up_at,
                        checked_in_at: None,
                        checked_out_at: None,
                        minutes: 0,
                        points: 0,
                        transaction: None,
                    });
                    continue;
                }
                let checked_in = starts_at + rng.random_range(-600_000..900_000);
                let checked_out = ends_at + rng.random_range(-1_800_000..600_000);
                let minutes = rules::credited_minutes(starts_at, ends_at, checked_in, checked_out);
                let points = rules::points_for_minutes(minutes, 10);
                volunteers[vi].minutes += minutes;
                let si = signups.len();
                signups.push(VSignup {
                    activity: ai,
                    volunteer: vi,
                    status: "attended",
                    signed_up_at,
                    checked_in_at: Some(checked_in),
                    checked_out_at: Some(checked_out),
                    minutes,
                    points,
                    transaction: None,
                });
                if points > 0 {
                    credits.push((checked_out, vi, points, si));
                }
            }
        }
    }

    // Love supermarkets (one per community until they run out) and merchants of the 商会.
    let mut shops = Vec::new();
    for i in 0..sizes.supermarkets {
        let c = communities[i % communities.len().max(1)];
        shops.push(VShop {
            id: uuid_at(&mut rng, year_ago),
            kind: "love_supermarket",
            name: format!("{}爱心超市", c.name),
            grid: c.code.clone(),
            address: format!("{}党群服务中心一楼", c.name),
        });
    }
    for i in 0..sizes.merchants {
        let c = communities[rng.random_range(0..communities.len().max(1))];
        let kind = ["理发店", "早餐店", "眼镜店", "家电维修部", "便利店", "药店"][i % 6];
        shops.push(VShop {
            id: uuid_at(&mut rng, year_ago),
            kind: "merchant",
            name: format!(
                "{}{}{}",
                c.name.trim_end_matches("社区").trim_end_matches('村'),
                ["惠民", "邻里", "红星", "和顺", "福满"][i % 5],
                kind
            ),
            grid: c.code.clone(),
            address: format!("{}临街商铺", c.name),
        });
    }
    let mut items = Vec::new();
    for (si, s) in shops.iter().enumerate() {
        if s.kind == "love_supermarket" {
            for (name, price) in GOODS {
                items.push(VItem {
                    id: uuid_at(&mut rng, year_ago),
                    shop: si,
                    name: name.to_string(),
                    points: Some(*price),
                    discount: String::new(),
                    stock: 0,
                });
            }
        } else {
            for k in 0..2 {
                let (name, price, discount) = OFFERS[(si + k * 3) % OFFERS.len()];
                items.push(VItem {
                    id: uuid_at(&mut rng, year_ago),
                    shop: si,
                    name: name.to_string(),
                    points: price,
                    discount: discount.to_string(),
                    stock: 0,
                });
            }
        }
    }

    // The ledger, in time order: credits as they happen; now and then a volunteer with enough
    // points redeems an item at a shop of their street (or any), within the stock on hand.
    let mut accounts: Vec<VAccount> = Vec::new();
    let issuer = uuid_at(&mut rng, year_ago);
    accounts.push(VAccount {
        id: issuer,
        kind: "issuer",
        owner: Uuid::nil(),
        balance: 0,
    });
    let mut volunteer_account: HashMap<usize, usize> = HashMap::new();
    let mut shop_account: HashMap<usize, usize> = HashMap::new();
    let mut transactions = Vec::new();
    let mut redemptions = Vec::new();
    let priced: Vec<usize> = (0..items.len()).filter(|&i| items[i].points.is_some()).collect();
    credits.sort_by_key(|c| c.0);
    for (at, vi, points, si) in credits {
        let va = *volunteer_account.entry(vi).or_insert_with(|| {
            accounts.push(VAccount {
                id: uuid_at(&mut rng, at),
                kind: "volunteer",
                owner: volunteers[vi].id,
                balance: 0,
            });
            accounts.len() - 1
        });
        let tid = uuid_at(&mut rng, at);
        let activity = &activities[signups[si].activity];
        transactions.push(VTransaction {
            id: tid,
            at,
            kind: "earn",
            reason: rules::default_of(rules::VOLUNTEER_HOUR)
                .map(|r| r.name)
                .unwrap_or("志愿服务")
                .to_string(),
            source_kind: "activity",
            source_id: activity.id.to_string(),
            unique_key: format!("attendance:{}:{}", activity.id, volunteers[vi].id),
            postings: vec![(issuer, -points), (accounts[va].id, points)],
        });
        accounts[0].balance -= points;
        accounts[va].balance += points;
        signups[si].transaction = Some(tid);
        if priced.is_empty() || !rng.random_bool(0.12) {
            continue;
        }
        let ii = priced[rng.random_range(0..priced.len())];
        let price = items[ii].points.unwrap_or(0);
        if accounts[va].balance < price || at + 86_400_000 > now {
            continue;
        }
        let when = at + rng.random_range(3_600_000..3 * 86_400_000);
        let shop = items[ii].shop;
        let sa = *shop_account.entry(shop).or_insert_with(|| {
            accounts.push(VAccount {
                id: uuid_at(&mut rng, when),
                kind: "shop",
                owner: shops[shop].id,
                balance: 0,
            });
            accounts.len() - 1
        });
        let rid = uuid_at(&mut rng, when);
        let tid = uuid_at(&mut rng, when);
        transactions.push(VTransaction {
            id: tid,
            at: when,
            kind: "redeem",
            reason: format!("兑换 {} × 1", items[ii].name),
            source_kind: "redemption",
            source_id: rid.to_string(),
            unique_key: format!("redemption:{rid}"),
            postings: vec![(accounts[va].id, -price), (accounts[sa].id, price)],
        });
        accounts[va].balance -= price;
        accounts[sa].balance += price;
        redemptions.push(VRedemption {
            id: rid,
            code_id: uuid_at(&mut rng, when - 120_000),
            code: short_code(&mut rng, 8),
            shop,
            item: ii,
            volunteer: vi,
            points: price,
            transaction: tid,
            at: when,
        });
    }
    // Stock on hand now (what was redeemed came out of earlier deliveries).
    for it in items.iter_mut() {
        it.stock = if it.points.is_some() { rng.random_range(5..120) } else { 0 };
    }
    transactions.sort_by_key(|t| (t.at, t.id));
    VPlan {
        units,
        teams,
        volunteers,
        themes,
        activities,
        signups,
        shops,
        items,
        transactions,
        redemptions,
        accounts,
        demo_volunteer,
    }
}

/// Write the plan inside the demo's transaction. Links the `resident` account to its volunteer and
/// adds a `keeper` account at the first love supermarket. Returns a one-line summary.
pub(super) async fn insert(
    tx: &mut Tx,
    district: &str,
    v: &VPlan,
    password_hash: &str,
    pb: &indicatif::ProgressBar,
) -> anyhow::Result<String> {
    let now = crate::db::now_ms();
    let t = |s: &str| V::T(s.to_string());
    let opt_u = |u: Option<Uuid>| u.map(V::U).unwrap_or(V::NullU);
    let opt_i = |i: Option<i64>| i.map(V::I).unwrap_or(V::NullI);
    let mut units: Vec<Vec<V>> = v
        .units
        .iter()
        .map(|u| vec![V::U(u.id), t(district), t(u.kind), t(&u.name), t(&u.grid), V::I(now)])
        .collect();
    units.extend(
        v.shops
            .iter()
            .map(|s| vec![V::U(s.id), t(district), t(s.kind), t(&s.name), t(&s.grid), V::I(now)]),
    );
    bulk(
        tx,
        "units",
        &["id", "district", "kind", "name", "grid_code", "created_at"],
        units,
        pb,
    )
    .await?;
    let association: Option<Uuid> = crate::on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT id FROM units WHERE district = $1 AND kind = 'merchant_association' ORDER BY name LIMIT 1"
    )
    .bind(district)
    .fetch_optional(c)
    .await)?;
    let shops = v
        .shops
        .iter()
        .map(|s| {
            let assoc = if s.kind == "merchant" { opt_u(association) } else { V::NullU };
            vec![
                V::U(s.id),
                t(district),
                t(s.kind),
                t(&s.name),
                t(&s.grid),
                t(&s.address),
                assoc,
                V::I(now),
            ]
        })
        .collect();
    bulk(
        tx,
        "shops",
        &[
            "id",
            "district",
            "kind",
            "name",
            "grid_code",
            "address",
            "association_id",
            "created_at",
        ],
        shops,
        pb,
    )
    .await?;
    let items = v
        .items
        .iter()
        .map(|i| {
            vec![
                V::U(i.id),
                t(district),
                V::U(v.shops[i.shop].id),
                t(&i.name),
                opt_i(i.points),
                t(&i.discount),
                V::I(i.stock),
                V::I(now),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        tx,
        "shop_items",
        &[
            "id",
            "district",
            "shop_id",
            "name",
            "points",
            "discount",
            "stock",
            "created_at",
            "updated_at",
        ],
        items,
        pb,
    )
    .await?;
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
    let themes = v
        .themes
        .iter()
        .map(|(g, m, title)| vec![t(district), t(g), t(m), t(title), V::I(now)])
        .collect();
    bulk(
        tx,
        "activity_themes",
        &["district", "grid_code", "month", "title", "updated_at"],
        themes,
        pb,
    )
    .await?;
    let mut signed = vec![0i64; v.activities.len()];
    for s in &v.signups {
        signed[s.activity] += 1;
    }
    let activities = v
        .activities
        .iter()
        .enumerate()
        .map(|(i, a)| {
            vec![
                V::U(a.id),
                t(district),
                t(&a.grid),
                V::U(a.team),
                t(&a.title),
                t(&a.place),
                V::I(a.starts_at),
                V::I(a.ends_at),
                V::I(a.capacity),
                V::I(signed[i]),
                t(&a.code),
                V::I(a.starts_at - 5 * 86_400_000),
            ]
        })
        .collect();
    bulk(
        tx,
        "volunteer_activities",
        &[
            "id",
            "district",
            "grid_code",
            "team_id",
            "title",
            "place",
            "starts_at",
            "ends_at",
            "capacity",
            "signed_up",
            "code",
            "created_at",
        ],
        activities,
        pb,
    )
    .await?;
    let signups = v
        .signups
        .iter()
        .map(|s| {
            vec![
                V::U(v.activities[s.activity].id),
                V::U(v.volunteers[s.volunteer].id),
                t(district),
                t(s.status),
                V::I(s.signed_up_at),
                opt_i(s.checked_in_at),
                opt_i(s.checked_out_at),
                V::I(s.minutes),
                V::I(s.points),
                opt_u(s.transaction),
            ]
        })
        .collect();
    bulk(
        tx,
        "activity_signups",
        &[
            "activity_id",
            "volunteer_id",
            "district",
            "status",
            "signed_up_at",
            "checked_in_at",
            "checked_out_at",
            "minutes",
            "points",
            "transaction_id",
        ],
        signups,
        pb,
    )
    .await?;
    crate::volunteers::store::seed_rules_in(tx, district).await?;
    // Accounts: every volunteer and shop has one, zero when nothing moved.
    let mut owners: std::collections::HashSet<Uuid> = v.accounts.iter().map(|a| a.owner).collect();
    let mut accounts: Vec<Vec<V>> = v
        .accounts
        .iter()
        .map(|a| vec![V::U(a.id), t(district), t(a.kind), V::U(a.owner), V::I(a.balance), V::I(now)])
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0xacc0);
    for (kind, owner) in v
        .volunteers
        .iter()
        .map(|x| ("volunteer", x.id))
        .chain(v.shops.iter().map(|s| ("shop", s.id)))
    {
        if owners.insert(owner) {
            accounts.push(vec![
                V::U(uuid_at(&mut rng, now)),
                t(district),
                t(kind),
                V::U(owner),
                V::I(0),
                V::I(now),
            ]);
        }
    }
    bulk(
        tx,
        "points_accounts",
        &["id", "district", "kind", "owner_id", "balance", "created_at"],
        accounts,
        pb,
    )
    .await?;
    let mut postings = Vec::new();
    let transactions = v
        .transactions
        .iter()
        .map(|x| {
            for (account, amount) in &x.postings {
                postings.push(vec![
                    V::U(uuid_at(&mut rng, x.at)),
                    V::U(x.id),
                    t(district),
                    V::U(*account),
                    V::I(*amount),
                    V::I(x.at),
                ]);
            }
            vec![
                V::U(x.id),
                t(district),
                V::I(x.at),
                t(x.kind),
                t(&x.reason),
                t(x.source_kind),
                t(&x.source_id),
                t(&x.unique_key),
                t("演示数据"),
            ]
        })
        .collect();
    bulk(
        tx,
        "points_transactions",
        &[
            "id",
            "district",
            "at_ms",
            "kind",
            "reason",
            "source_kind",
            "source_id",
            "unique_key",
            "actor_name",
        ],
        transactions,
        pb,
    )
    .await?;
    bulk(
        tx,
        "points_postings",
        &["id", "transaction_id", "district", "account_id", "amount", "at_ms"],
        postings,
        pb,
    )
    .await?;
    let codes = v
        .redemptions
        .iter()
        .map(|r| {
            vec![
                V::U(r.code_id),
                t(district),
                V::U(v.volunteers[r.volunteer].id),
                t(&r.code),
                V::I(r.at - 120_000),
                V::I(r.at + 480_000),
                V::I(r.at),
            ]
        })
        .collect();
    bulk(
        tx,
        "redemption_codes",
        &["id", "district", "volunteer_id", "code", "created_at", "expires_at", "used_at"],
        codes,
        pb,
    )
    .await?;
    let redemptions = v
        .redemptions
        .iter()
        .map(|r| {
            vec![
                V::U(r.id),
                t(district),
                V::U(v.shops[r.shop].id),
                V::U(v.items[r.item].id),
                V::U(v.volunteers[r.volunteer].id),
                V::U(r.code_id),
                V::I(1),
                V::I(r.points),
                V::U(r.transaction),
                V::I(r.at),
            ]
        })
        .collect();
    bulk(
        tx,
        "redemptions",
        &[
            "id",
            "district",
            "shop_id",
            "item_id",
            "volunteer_id",
            "code_id",
            "quantity",
            "points",
            "transaction_id",
            "at_ms",
        ],
        redemptions,
        pb,
    )
    .await?;
    // The `resident` account is the first building's volunteer; `keeper` keeps the first love supermarket.
    if let Some(i) = v.demo_volunteer {
        let x = &v.volunteers[i];
        crate::on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE volunteers SET user_id = (SELECT id FROM users WHERE username = 'resident') WHERE id = $1"
        )
        .bind(x.id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        crate::on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE users SET display_name = $1 WHERE username = 'resident'"
        )
        .bind(&x.name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    if let Some(shop) = v.shops.iter().find(|s| s.kind == "love_supermarket") {
        let id = crate::auth::store::insert_user(tx, district, "keeper", "爱心超市店员", password_hash).await?;
        crate::auth::store::insert_post(tx, district, id, crate::auth::Role::ShopKeeper, None, Some(shop.id)).await?;
    }
    Ok(format!(
        "{} volunteers in {} teams and {} organisations, {} activities, {} points transactions, {} redemptions at {} love supermarkets and {} merchants",
        v.volunteers.len(),
        v.teams.len(),
        v.units.len(),
        v.activities.len(),
        v.transactions.len(),
        v.redemptions.len(),
        v.shops.iter().filter(|s| s.kind == "love_supermarket").count(),
        v.shops.iter().filter(|s| s.kind == "merchant").count(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volunteers::ledger::{self, AccountKind};

    #[test]
    fn saturday_mornings_are_saturday_nine_china_time() {
        // 2026-11-24 is a Tuesday; its Saturday is 2026-11-28, 09:00 +08:00.
        let tue: jiff::Timestamp = "2026-11-24T10:00:00+08:00".parse().unwrap();
        let sat: jiff::Timestamp = "2026-11-28T09:00:00+08:00".parse().unwrap();
        assert_eq!(saturday_morning(tue.as_millisecond()), sat.as_millisecond());
        assert_eq!(saturday_morning(sat.as_millisecond() - 3_600_000), sat.as_millisecond());
    }

    #[test]
    fn the_small_plan_has_a_sound_ledger() {
        let p = super::super::plan::plan(super::super::plan::SMALL, 7);
        let now: i64 = 1_795_000_000_000;
        let v = plan(&p, SMALL, super::super::plan::SMALL.volunteer_teams, 7, now);
        assert_eq!(v.volunteers.len(), SMALL.volunteers);
        assert_eq!(v.teams.len(), super::super::plan::SMALL.volunteer_teams);
        assert_eq!(v.shops.len(), SMALL.supermarkets + SMALL.merchants);
        assert!(!v.redemptions.is_empty() && !v.activities.is_empty());
        assert!(v.demo_volunteer.is_some());
        assert!(v.activities.iter().any(|a| a.starts_at > now), "upcoming activities to sign up to");
        // Every transaction sums to zero; each account's balance is its postings' sum; only the issuer is negative.
        let kind_of: HashMap<Uuid, AccountKind> = v.accounts.iter().map(|a| (a.id, AccountKind::parse(a.kind).unwrap())).collect();
        let tx_sums: Vec<(Uuid, i64, i64)> = v
            .transactions
            .iter()
            .map(|t| (t.id, t.postings.iter().map(|p| p.1).sum(), t.postings.len() as i64))
            .collect();
        let mut sums: HashMap<Uuid, i64> = HashMap::new();
        for t in &v.transactions {
            for (a, amt) in &t.postings {
                *sums.entry(*a).or_default() += amt;
            }
        }
        let accounts: Vec<(Uuid, AccountKind, i64, i64)> = v
            .accounts
            .iter()
            .map(|a| (a.id, kind_of[&a.id], a.balance, sums.get(&a.id).copied().unwrap_or(0)))
            .collect();
        let check = ledger::check(&tx_sums, &accounts);
        assert!(check.is_sound(), "{check:?}");
        // Hours: each volunteer's minutes are their attended sign-ups'.
        let mut minutes = vec![0i64; v.volunteers.len()];
        for s in &v.signups {
            minutes[s.volunteer] += s.minutes;
        }
        assert!(v.volunteers.iter().zip(&minutes).all(|(a, m)| a.minutes == *m));
    }
}
