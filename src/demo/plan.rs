//! The demo district, planned in memory from a seed: grid tree with boundaries grown as cells, households,
//! residents, organisations, places and devices. Pure: same seed, same district.

use std::collections::HashSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::cells;
use super::names::*;
use crate::identity;

/// A boundary in degrees: a convex ring of (lng, lat), the first point not repeated. Cells are
/// grown from centres and clipped to the parent ([`super::cells`]), so children tile their parent.
#[derive(Debug, Clone)]
pub struct Shape(pub Vec<(f64, f64)>);

/// Zhoukou's latitude: a degree of longitude is this share of a degree of latitude, so cells are
/// grown in a plane where both run the same length.
const LNG_SHRINK: f64 = 0.8327;

impl Shape {
    pub fn geojson(&self) -> serde_json::Value {
        let mut ring: Vec<[f64; 2]> = self.0.iter().map(|&(x, y)| [x, y]).collect();
        if let Some(&first) = ring.first() {
            ring.push(first);
        }
        serde_json::json!({"type": "Polygon", "coordinates": [ring]})
    }
    fn plane(&self) -> Vec<cells::Pt> {
        self.0.iter().map(|&(lng, lat)| (lng * LNG_SHRINK, lat)).collect()
    }
    fn from_plane(pts: &[cells::Pt]) -> Shape {
        Shape(pts.iter().map(|&(x, y)| (x / LNG_SHRINK, y)).collect())
    }
    /// (min_lng, min_lat, max_lng, max_lat).
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        cells::bounds(&self.0)
    }
    /// Whether (lat, lng) lies inside.
    pub fn contains(&self, lat: f64, lng: f64) -> bool {
        cells::contains(&self.0, (lng, lat))
    }
    /// The shape shrunk to `share` of its size about its centre (a building's footprint in its cell).
    fn shrunk(&self, share: f64) -> Shape {
        Shape::from_plane(&cells::scaled(&self.plane(), share))
    }
    /// A random (lat, lng) well inside (in the shape shrunk to 80 % about its centre).
    pub fn random_point(&self, rng: &mut ChaCha8Rng) -> (f64, f64) {
        let (lng, lat) = cells::random_point(&cells::scaled(&self.0, 0.8), rng);
        (lat, lng)
    }
    /// Cut into `n` cells grown from scattered centres, in reading order.
    pub fn split(&self, n: usize, rng: &mut ChaCha8Rng) -> Vec<Shape> {
        let parent = self.plane();
        let sites = cells::sites(&parent, n.max(1), rng);
        cells::voronoi(&parent, &sites).iter().map(|c| Shape::from_plane(c)).collect()
    }
}

/// The district's outline: a rough convex ring around (`lng`, `lat`), `r` degrees of latitude
/// across, its vertices jittered so it is no circle.
fn outline(lng: f64, lat: f64, r: f64, rng: &mut ChaCha8Rng) -> Shape {
    let n = 11;
    let pts: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let t = std::f64::consts::TAU * (i as f64 + rng.random_range(-0.2..0.2)) / n as f64;
            let rr = r * rng.random_range(0.9..1.05);
            (lng + rr * t.cos() / LNG_SHRINK, lat + rr * t.sin())
        })
        .collect();
    Shape(pts)
}

/// A street's communities nearest the district's centre first: the villages, taken from the end
/// of the list, then lie on the edge of town.
fn town_first(mut cells: Vec<Shape>, root: &Shape) -> Vec<Shape> {
    let (cx, cy) = cells::centroid(&root.plane());
    let d = |s: &Shape| {
        let (x, y) = cells::centroid(&s.plane());
        (x - cx).powi(2) + (y - cy).powi(2)
    };
    cells.sort_by(|a, b| d(a).total_cmp(&d(b)));
    cells
}

/// Split `total` into `parts` positive shares, roughly by random weights.
pub fn split_counts(total: usize, parts: usize, spread: f64, rng: &mut ChaCha8Rng) -> Vec<usize> {
    assert!(parts > 0 && total >= parts);
    let weights: Vec<f64> = (0..parts).map(|_| rng.random_range(1.0..spread).powi(2)).collect();
    let sum: f64 = weights.iter().sum();
    let spare = total - parts;
    let mut out: Vec<usize> = weights.iter().map(|w| 1 + (w / sum * spare as f64).floor() as usize).collect();
    let mut left = total - out.iter().sum::<usize>();
    let mut i = 0;
    while left > 0 {
        out[i % parts] += 1;
        left -= 1;
        i += 7;
    }
    out
}

#[derive(Debug, Clone)]
pub struct PGrid {
    pub code: String,
    pub level: i64,
    pub kind: &'static str,
    pub name: String,
    pub parent: Option<String>,
    pub shape: Shape,
    pub contacts: Vec<(&'static str, String, String)>,
    pub children: i64,
    pub households: i64,
    pub residents: i64,
}

pub struct PHousehold {
    pub id: Uuid,
    pub grid: usize,
    pub unit_no: i64,
    pub room: String,
    pub address: String,
    pub members: i64,
}

pub struct PResident {
    pub id: Uuid,
    pub household: usize,
    pub grid: usize,
    pub name: String,
    pub gender: &'static str,
    pub birth_date: String,
    pub id_number: String,
    pub phone: String,
    pub relation: &'static str,
    pub tags: Vec<&'static str>,
}

pub struct PUnit {
    pub id: Uuid,
    pub kind: &'static str,
    pub name: String,
    pub grid: Option<String>,
    pub credit_code: Option<String>,
    pub contact_name: String,
    pub contact_phone: String,
    pub serves: Vec<String>,
}

pub struct PPlace {
    pub id: Uuid,
    pub grid: String,
    pub kind: &'static str,
    pub name: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
}

pub struct PDevice {
    pub id: Uuid,
    pub grid: String,
    pub kind: &'static str,
    pub name: String,
    pub serial: String,
    pub lat: f64,
    pub lng: f64,
}

pub struct PAccount {
    pub username: &'static str,
    pub display_name: String,
    pub role: crate::auth::Role,
    pub grid: Option<String>,
    pub unit: Option<Uuid>,
}

pub struct Plan {
    pub district_code: &'static str,
    pub district_name: &'static str,
    pub grids: Vec<PGrid>,
    pub households: Vec<PHousehold>,
    pub residents: Vec<PResident>,
    pub units: Vec<PUnit>,
    pub places: Vec<PPlace>,
    pub devices: Vec<PDevice>,
    pub accounts: Vec<PAccount>,
}

/// Sizes of a demo district.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub streets: usize,
    pub communities: usize,
    pub villages: usize,
    pub compounds: usize,
    pub buildings: usize,
    pub households: usize,
    pub property_companies: usize,
    pub councils: usize,
    pub volunteer_teams: usize,
}

/// Chuanhui's real scale (DOMAIN.md §2).
pub const DISTRICT: Sizes = Sizes {
    streets: 9,
    communities: 88,
    villages: 16,
    compounds: 995,
    buildings: 2640,
    households: 100_000,
    property_companies: 120,
    councils: 766,
    volunteer_teams: 54,
};

/// One street, for quick tests.
pub const SMALL: Sizes = Sizes {
    streets: 1,
    communities: 3,
    villages: 1,
    compounds: 12,
    buildings: 30,
    households: 1_000,
    property_companies: 3,
    councils: 8,
    volunteer_teams: 3,
};

/// Demo timestamps sit at 2023-01-01 00:00 China time so a seed always gives the same rows.
pub const BASE_MS: i64 = 1_672_502_400_000;

struct Gen {
    rng: ChaCha8Rng,
    id_ms: u64,
    used_ids: HashSet<String>,
    used_names: HashSet<String>,
}

impl Gen {
    fn uuid(&mut self) -> Uuid {
        self.id_ms += 1;
        let mut bytes = [0u8; 10];
        for b in &mut bytes {
            *b = self.rng.random();
        }
        uuid::Builder::from_unix_timestamp_millis(self.id_ms, &bytes).into_uuid()
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.rng.random_range(0..xs.len())]
    }
    /// Surnames are drawn with falling weights, as in real populations.
    fn surname(&mut self) -> &'static str {
        let n = SURNAMES.len() as f64;
        let u: f64 = self.rng.random();
        let i = ((u * u * u) * n) as usize;
        SURNAMES[i.min(SURNAMES.len() - 1)]
    }
    fn given(&mut self, male: bool) -> String {
        let chars = if male { MALE_CHARS } else { FEMALE_CHARS };
        let first = self.pick(chars).to_string();
        if self.rng.random_bool(0.7) {
            first + self.pick(chars)
        } else {
            first
        }
    }
    fn person(&mut self, male: bool) -> String {
        let s = self.surname();
        s.to_string() + &self.given(male)
    }
    fn mobile(&mut self) -> String {
        let p = self.pick(MOBILE_PREFIXES).to_string();
        format!("{p}{:08}", self.rng.random_range(0..100_000_000u32))
    }
    fn landline(&mut self) -> String {
        format!("0394-8{:06}", self.rng.random_range(0..1_000_000u32))
    }
    fn id_number(&mut self, birth: (u32, u32, u32), male: bool) -> String {
        let total: u32 = ID_REGIONS.iter().map(|r| r.1).sum();
        let mut x = self.rng.random_range(0..total);
        let mut region = ID_REGIONS[0].0;
        for (r, w) in ID_REGIONS {
            if x < *w {
                region = r;
                break;
            }
            x -= w;
        }
        loop {
            let mut seq = self.rng.random_range(0..500u32) * 2;
            if male {
                seq += 1;
            }
            let first17 = format!("{region}{:04}{:02}{:02}{seq:03}", birth.0, birth.1, birth.2);
            let id = format!("{first17}{}", identity::id_check_char(first17.as_bytes()));
            if self.used_ids.insert(id.clone()) {
                return id;
            }
        }
    }
    fn unique_name(&mut self, mut make: impl FnMut(&mut Self) -> String) -> String {
        for _ in 0..50 {
            let n = make(self);
            if self.used_names.insert(n.clone()) {
                return n;
            }
        }
        // Names run out before places do: vary as a real city does (新…, 东…), never with a number.
        for prefix in ["新", "东", "西", "南", "北", "前", "后", "大", "小"] {
            for _ in 0..10 {
                let n = format!("{prefix}{}", make(self));
                if self.used_names.insert(n.clone()) {
                    return n;
                }
            }
        }
        let n = make(self);
        let n = format!("{n}{}", self.used_names.len());
        self.used_names.insert(n.clone());
        n
    }

    /// A compound's name: a second phase or a district of an existing one before anything else.
    fn compound_name(&mut self, mut make: impl FnMut(&mut Self) -> String) -> String {
        for _ in 0..50 {
            let n = make(self);
            if self.used_names.insert(n.clone()) {
                return n;
            }
        }
        for tail in ["二期", "三期", "东区", "西区", "南区", "北区", "四期", "新区", "五期"] {
            for _ in 0..10 {
                let n = format!("{}{tail}", make(self));
                if self.used_names.insert(n.clone()) {
                    return n;
                }
            }
        }
        self.unique_name(make)
    }
    fn birth(&mut self, age: u32) -> (u32, u32, u32) {
        (2023 - age, self.rng.random_range(1..=12), self.rng.random_range(1..=28))
    }
    /// A GB 32100 credit code for a company registered in the district.
    fn credit_code(&mut self) -> String {
        const ORG: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        let mut body = String::from("91411602");
        let org8: String = (0..8).map(|_| ORG[self.rng.random_range(0..10)] as char).collect();
        // GB 11714 check character of the organisation code.
        let w = [3u32, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = org8.bytes().zip(w).map(|(c, w)| u32::from(c - b'0') * w).sum();
        let c = 11 - sum % 11;
        let check = match c {
            10 => 'X',
            11 => '0',
            d => char::from_digit(d, 10).unwrap_or('0'),
        };
        body.push_str(&org8);
        body.push(check);
        let last = identity::credit_check_char(body.as_bytes()).unwrap_or('0');
        body.push(last);
        body
    }
}

pub fn plan(sizes: Sizes, seed: u64) -> Plan {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        id_ms: BASE_MS as u64,
        used_ids: HashSet::new(),
        used_names: HashSet::new(),
    };
    let district_code = "411602";
    // About 17 km across, around the centre of Zhoukou.
    let root = outline(114.65, 33.62, 0.078, &mut g.rng);
    let mut grids: Vec<PGrid> = Vec::new();
    let leader = |g: &mut Gen, role: &'static str| {
        let male = g.rng.random_bool(0.6);
        (role, g.person(male), g.mobile())
    };
    let district_leader = leader(&mut g, "leader");
    grids.push(PGrid {
        code: district_code.into(),
        level: 1,
        kind: "district",
        name: "川汇区".into(),
        parent: None,
        shape: root.clone(),
        contacts: vec![district_leader],
        children: sizes.streets as i64,
        households: 0,
        residents: 0,
    });
    let street_rects = root.split(sizes.streets, &mut g.rng);
    let comm_per_street = split_counts(sizes.communities, sizes.streets, 1.4, &mut g.rng);
    let comp_per_comm = split_counts(sizes.compounds, sizes.communities, 1.8, &mut g.rng);
    let bld_per_comp = split_counts(sizes.buildings, sizes.compounds, 2.2, &mut g.rng);
    let hh_per_bld = split_counts(sizes.households, sizes.buildings, 1.8, &mut g.rng);
    // The last communities of each street's list are villages on the edge of town.
    let mut village_left = sizes.villages;
    let (mut ci, mut pi, mut bi) = (0usize, 0usize, 0usize);
    let mut households = Vec::new();
    let mut residents = Vec::new();
    let mut building_heads = 0usize;
    for (si, srect) in street_rects.iter().enumerate() {
        let scode = format!("{district_code}{:03}", si + 1);
        let sname = STREETS[si % STREETS.len()].to_string();
        let s_idx = grids.len();
        let (l, d, ll) = (leader(&mut g, "leader"), leader(&mut g, "deputy"), g.landline());
        grids.push(PGrid {
            code: scode.clone(),
            level: 2,
            kind: "street",
            name: sname.clone(),
            parent: Some(district_code.into()),
            shape: srect.clone(),
            contacts: vec![l, d, ("officer", "街道综治中心".into(), ll)],
            children: comm_per_street[si] as i64,
            households: 0,
            residents: 0,
        });
        let crects = town_first(srect.split(comm_per_street[si], &mut g.rng), &root);
        let villages_here = (village_left.min(sizes.villages.div_ceil(sizes.streets))).min(crects.len().saturating_sub(1));
        village_left -= villages_here;
        for (k, crect) in crects.iter().enumerate() {
            let is_village = k >= crects.len() - villages_here;
            let ccode = format!("{scode}{:03}", k + 1);
            let cname = if is_village {
                g.unique_name(|g| format!("{}{}村", g.surname(), g.pick(VILLAGE_SUFFIXES)))
            } else {
                g.unique_name(|g| format!("{}社区", g.pick(PLACE_WORDS)))
            };
            let c_idx = grids.len();
            let contacts = vec![leader(&mut g, "leader"), leader(&mut g, "secretary"), leader(&mut g, "police")];
            let ncomp = comp_per_comm[ci];
            ci += 1;
            grids.push(PGrid {
                code: ccode.clone(),
                level: 3,
                kind: if is_village { "village" } else { "community" },
                name: cname.clone(),
                parent: Some(scode.clone()),
                shape: crect.clone(),
                contacts,
                children: ncomp as i64,
                households: 0,
                residents: 0,
            });
            let prects = crect.split(ncomp, &mut g.rng);
            for (m, prect) in prects.iter().enumerate() {
                let pcode = format!("{ccode}{:03}", m + 1);
                let pname = if is_village {
                    g.unique_name(|g| format!("{}{}", g.surname(), g.pick(VILLAGE_SUFFIXES)))
                } else if g.rng.random_bool(0.2) {
                    g.compound_name(|g| format!("{}家属院", g.pick(WORK_UNITS)))
                } else {
                    g.compound_name(|g| format!("{}{}", g.pick(PLACE_WORDS), g.pick(COMPOUND_SUFFIXES)))
                };
                let p_idx = grids.len();
                let nb = bld_per_comp[pi];
                pi += 1;
                let l = leader(&mut g, "leader");
                grids.push(PGrid {
                    code: pcode.clone(),
                    level: 4,
                    kind: if is_village { "natural_village" } else { "compound" },
                    name: pname.clone(),
                    parent: Some(ccode.clone()),
                    shape: prect.clone(),
                    contacts: vec![l],
                    children: nb as i64,
                    households: 0,
                    residents: 0,
                });
                // Buildings are footprints inside their cell, so the compound keeps open ground between them.
                let brects = prect.split(nb, &mut g.rng);
                for (n, brect) in brects.iter().enumerate() {
                    let bcode = format!("{pcode}{:03}", n + 1);
                    let bname = if is_village {
                        format!("第{}村民小组", n + 1)
                    } else {
                        format!("{}号楼", n + 1)
                    };
                    let b_idx = grids.len();
                    let l = leader(&mut g, "leader");
                    grids.push(PGrid {
                        code: bcode.clone(),
                        level: 5,
                        kind: if is_village { "group" } else { "building" },
                        name: bname.clone(),
                        parent: Some(pcode.clone()),
                        shape: if is_village { brect.clone() } else { brect.shrunk(0.72) },
                        contacts: vec![l],
                        children: 0,
                        households: 0,
                        residents: 0,
                    });
                    let nh = hh_per_bld[bi];
                    bi += 1;
                    let prefix = format!("{sname}{cname}{pname}{bname}");
                    let units = if is_village { 1 } else { nh.div_ceil(24).clamp(1, 4) };
                    let per_unit = nh.div_ceil(units);
                    let mut head_marked = false;
                    for h in 0..nh {
                        let unit_no = (h / per_unit + 1) as i64;
                        let slot = h % per_unit;
                        let room = if is_village {
                            format!("{}号", slot + 1)
                        } else {
                            format!("{}{:02}", slot / 2 + 1, slot % 2 + 1)
                        };
                        let address = if is_village {
                            format!("{prefix}{room}")
                        } else {
                            format!("{prefix}{unit_no}单元{room}室")
                        };
                        let h_idx = households.len();
                        let hid = g.uuid();
                        let members = family(&mut g, h_idx, b_idx, is_village, &mut residents);
                        if !head_marked && g.rng.random_bool(0.85) {
                            // One resident per building serves as building head (楼栋长).
                            let r = residents.len() - members;
                            residents[r].tags.push("楼栋长");
                            building_heads += 1;
                            head_marked = true;
                        }
                        households.push(PHousehold {
                            id: hid,
                            grid: b_idx,
                            unit_no,
                            room,
                            address,
                            members: members as i64,
                        });
                        for idx in [b_idx, p_idx, c_idx, s_idx, 0] {
                            grids[idx].households += 1;
                            grids[idx].residents += members as i64;
                        }
                    }
                }
            }
        }
    }
    let _ = building_heads;
    let (units, accounts_unit) = organisations(&mut g, &grids, sizes);
    let (places, devices) = places_and_devices(&mut g, &grids);
    let first = |level: i64| grids.iter().find(|x| x.level == level).map(|x| x.code.clone());
    // The grid accounts are the leaders (网格长) their grid pages name, so a visitor who signs in
    // as one meets themselves on the page.
    let leader_of = |level: i64| {
        grids
            .iter()
            .find(|x| x.level == level)
            .and_then(|x| x.contacts.iter().find(|c| c.0 == "leader"))
            .map(|c| c.1.clone())
    };
    let accounts = vec![
        PAccount {
            username: "admin",
            display_name: "区指挥中心管理员".into(),
            role: crate::auth::Role::DistrictAdmin,
            grid: Some(district_code.into()),
            unit: None,
        },
        PAccount {
            username: "street",
            display_name: leader_of(2).unwrap_or_else(|| g.person(true)),
            role: crate::auth::Role::StreetStaff,
            grid: first(2),
            unit: None,
        },
        PAccount {
            username: "community",
            display_name: leader_of(3).unwrap_or_else(|| g.person(false)),
            role: crate::auth::Role::CommunityStaff,
            grid: first(3),
            unit: None,
        },
        PAccount {
            username: "compound",
            display_name: leader_of(4).unwrap_or_else(|| g.person(true)),
            role: crate::auth::Role::CompoundLeader,
            grid: first(4),
            unit: None,
        },
        PAccount {
            username: "building",
            display_name: leader_of(5).unwrap_or_else(|| g.person(false)),
            role: crate::auth::Role::BuildingOfficer,
            grid: first(5),
            unit: None,
        },
        PAccount {
            username: "department",
            display_name: g.person(true),
            role: crate::auth::Role::DepartmentHandler,
            grid: None,
            unit: Some(accounts_unit.0),
        },
        PAccount {
            username: "property",
            display_name: g.person(false),
            role: crate::auth::Role::PropertyStaff,
            grid: None,
            unit: Some(accounts_unit.1),
        },
        PAccount {
            username: "resident",
            display_name: g.person(true),
            role: crate::auth::Role::Resident,
            grid: first(5),
            unit: None,
        },
    ];
    let households_with_ids = households;
    Plan {
        district_code,
        district_name: "川汇区",
        grids,
        households: households_with_ids,
        residents,
        units,
        places,
        devices,
        accounts,
    }
}

/// Make one household's members; returns how many.
fn family(g: &mut Gen, h_idx: usize, b_idx: usize, village: bool, out: &mut Vec<PResident>) -> usize {
    let size = match g.rng.random_range(0..100) {
        0..10 => 1,
        10..35 => 2,
        35..67 => 3,
        67..88 => 4,
        _ => 5,
    };
    let head_age: u32 = if size == 1 {
        g.rng.random_range(25..92)
    } else {
        g.rng.random_range(28..80)
    };
    let head_male = g.rng.random_bool(0.7);
    let surname = g.surname();
    let push = |g: &mut Gen, age: u32, male: bool, surname: &str, relation: &'static str, out: &mut Vec<PResident>| {
        let birth = g.birth(age);
        let mut tags: Vec<&'static str> = Vec::new();
        if age >= 18 && g.rng.random_bool(0.05) {
            tags.push("党员");
        }
        if (16..75).contains(&age) && g.rng.random_bool(0.09) {
            tags.push("志愿者");
        }
        if age >= 20 && male && g.rng.random_bool(0.03) {
            tags.push("退役军人");
        }
        if g.rng.random_bool(0.015) {
            tags.push("残疾人");
        }
        if village && age < 16 && g.rng.random_bool(0.2) {
            tags.push("留守儿童");
        }
        let name = format!("{surname}{}", g.given(male));
        let id_number = g.id_number(birth, male);
        let phone = g.mobile();
        let id = g.uuid();
        out.push(PResident {
            id,
            household: h_idx,
            grid: b_idx,
            name,
            gender: if male { "male" } else { "female" },
            birth_date: format!("{:04}-{:02}-{:02}", birth.0, birth.1, birth.2),
            id_number,
            phone,
            relation,
            tags,
        });
    };
    let start = out.len();
    push(g, head_age, head_male, surname, "户主", out);
    let mut n = 1;
    if size >= 2 {
        let spouse_age = (head_age as i32 + g.rng.random_range(-4..5)).clamp(20, 95) as u32;
        let s2 = g.surname();
        push(g, spouse_age, !head_male, s2, "配偶", out);
        n += 1;
    }
    while n < size {
        if n == 4 && head_age < 60 {
            let pa = (head_age + g.rng.random_range(22..32)).min(98);
            let s3 = g.surname();
            let male = g.rng.random_bool(0.4);
            push(g, pa, male, s3, "父母", out);
        } else {
            let ca = head_age.saturating_sub(g.rng.random_range(22..34)).max(1);
            let male = g.rng.random_bool(0.5);
            push(g, ca, male, surname, "子女", out);
        }
        n += 1;
    }
    // Care tags depend on the whole household.
    let ages: Vec<u32> = out[start..]
        .iter()
        .map(|r| 2023 - r.birth_date[..4].parse::<u32>().unwrap_or(2000))
        .collect();
    if size == 1 && ages[0] >= 65 {
        out[start].tags.push("独居老人");
    }
    if size == 2 && ages.iter().all(|a| *a >= 65) {
        out[start].tags.push("空巢老人");
        out[start + 1].tags.push("空巢老人");
    }
    if g.rng.random_bool(0.02) {
        out[start].tags.push("低保");
    }
    if g.rng.random_bool(0.005) {
        out[start].tags.push("监测对象");
    }
    size
}

fn organisations(g: &mut Gen, grids: &[PGrid], sizes: Sizes) -> (Vec<PUnit>, (Uuid, Uuid)) {
    let mut units = Vec::new();
    let mut unit =
        |g: &mut Gen, kind: &'static str, name: String, grid: Option<String>, credit: Option<String>, serves: Vec<String>| -> Uuid {
            let id = g.uuid();
            let male = g.rng.random_bool(0.5);
            let contact_name = g.person(male);
            let contact_phone = if kind == "department" { g.landline() } else { g.mobile() };
            units.push(PUnit {
                id,
                kind,
                name,
                grid,
                credit_code: credit,
                contact_name,
                contact_phone,
                serves,
            });
            id
        };
    let mut city_management = Uuid::nil();
    for d in DEPARTMENTS {
        let id = unit(g, "department", d.to_string(), Some("411602".into()), None, vec![]);
        if *d == "区城市管理局" {
            city_management = id;
        }
    }
    for c in grids.iter().filter(|x| x.level == 3) {
        let committee = if c.kind == "village" {
            "村民委员会"
        } else {
            "居民委员会"
        };
        unit(g, "community", format!("{}{committee}", c.name), Some(c.code.clone()), None, vec![]);
        unit(
            g,
            "party_branch",
            format!("中共{}委员会", c.name),
            Some(c.code.clone()),
            None,
            vec![],
        );
    }
    let compounds: Vec<&PGrid> = grids.iter().filter(|x| x.kind == "compound").collect();
    // About 85% of urban compounds have a property company; the rest are tracked as 三无小区. The
    // first is always managed, by the first company: the demo's property account serves it.
    let managed: Vec<&PGrid> = compounds
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || g.rng.random_bool(0.85))
        .map(|(_, c)| *c)
        .collect();
    let per_company = split_counts(
        managed.len().max(sizes.property_companies),
        sizes.property_companies,
        1.6,
        &mut g.rng,
    );
    let mut first_property = Uuid::nil();
    let mut at = 0;
    for (i, n) in per_company.iter().enumerate() {
        let serves: Vec<String> = managed.iter().skip(at).take(*n).map(|c| c.code.clone()).collect();
        at += n;
        let name = g.unique_name(|g| {
            let (place, kind) = (
                g.pick(&["周口市", "周口", "河南", "河南省"]),
                g.pick(&["物业服务", "物业管理", "物业"]),
            );
            format!("{place}{}{kind}有限公司", g.pick(PROPERTY_WORDS))
        });
        let credit = g.credit_code();
        let id = unit(
            g,
            "property_company",
            name.clone(),
            Some("411602".into()),
            Some(credit),
            serves.clone(),
        );
        if i == 0 {
            first_property = id;
        }
        if g.rng.random_bool(0.6) {
            unit(
                g,
                "party_branch",
                format!("中共{name}支部委员会"),
                Some("411602".into()),
                None,
                vec![],
            );
        }
    }
    for (i, c) in compounds.iter().enumerate() {
        if g.rng.random_bool(0.6) {
            unit(
                g,
                "owners_committee",
                format!("{}业主委员会", c.name),
                Some(c.code.clone()),
                None,
                vec![],
            );
        }
        if i < sizes.councils {
            unit(g, "council", format!("{}党群议事会", c.name), Some(c.code.clone()), None, vec![]);
        }
    }
    unit(
        g,
        "volunteer_team",
        "川汇区志愿服务总队".into(),
        Some("411602".into()),
        None,
        vec![],
    );
    for c in grids.iter().filter(|x| x.level == 3).take(sizes.volunteer_teams.saturating_sub(1)) {
        unit(
            g,
            "volunteer_team",
            format!("{}志愿服务队", c.name),
            Some(c.code.clone()),
            None,
            vec![],
        );
    }
    unit(g, "merchant_association", "川汇区商会".into(), Some("411602".into()), None, vec![]);
    (units, (city_management, first_property))
}

fn places_and_devices(g: &mut Gen, grids: &[PGrid]) -> (Vec<PPlace>, Vec<PDevice>) {
    let mut places = Vec::new();
    let mut devices = Vec::new();
    for (ci, c) in grids.iter().enumerate().filter(|(_, x)| x.level == 3) {
        let kids: Vec<&PGrid> = grids[ci + 1..]
            .iter()
            .take_while(|x| x.level > 3)
            .filter(|x| x.level == 4)
            .collect();
        let mut kinds: Vec<(&'static str, String)> = vec![
            ("party_service_center", format!("{}党群服务中心", c.name)),
            ("civilization_station", format!("{}新时代文明实践站", c.name)),
        ];
        if g.rng.random_bool(0.4) {
            kinds.push(("warm_station", format!("{}暖心驿站", c.name)));
        }
        if g.rng.random_bool(0.3) {
            kinds.push(("cool_space", format!("{}清凉空间", c.name)));
        }
        if g.rng.random_bool(0.5) {
            kinds.push(("school", format!("{}小学", c.name.trim_end_matches("社区").trim_end_matches('村'))));
        }
        if g.rng.random_bool(0.4) {
            kinds.push((
                "market",
                format!("{}农贸市场", c.name.trim_end_matches("社区").trim_end_matches('村')),
            ));
        }
        for _ in 0..g.rng.random_range(2..5) {
            let shop = format!(
                "{}{}",
                g.person(true),
                g.pick(&["超市", "便利店", "餐馆", "理发店", "药店", "五金店"])
            );
            kinds.push(("shop", shop));
        }
        for _ in 0..g.rng.random_range(0..3) {
            let e = format!(
                "周口{}{}有限公司",
                g.pick(PROPERTY_WORDS),
                g.pick(&["商贸", "食品", "纺织", "建材", "科技"])
            );
            kinds.push(("enterprise", e));
        }
        for (kind, name) in kinds {
            let host = if kids.is_empty() {
                c
            } else {
                kids[g.rng.random_range(0..kids.len())]
            };
            let (lat, lng) = host.shape.random_point(&mut g.rng);
            let id = g.uuid();
            places.push(PPlace {
                id,
                grid: host.code.clone(),
                kind,
                address: format!("{}{}", c.name, host.name),
                name,
                lat,
                lng,
            });
        }
    }
    let mut serial = 0;
    for p in grids.iter().filter(|x| x.kind == "compound") {
        let counts = [
            ("camera", g.rng.random_range(1..5), "监控"),
            ("access_gate", g.rng.random_range(1..3), "门禁"),
            ("fire_alarm", g.rng.random_range(0..7), "烟感"),
            ("charging_port", g.rng.random_range(0..4), "充电桩"),
            ("well", g.rng.random_range(0..3), "井盖"),
        ];
        for (kind, n, label) in counts {
            for i in 0..n {
                serial += 1;
                let (lat, lng) = p.shape.random_point(&mut g.rng);
                let id = g.uuid();
                devices.push(PDevice {
                    id,
                    grid: p.code.clone(),
                    kind,
                    name: format!("{}{label}{}", p.name, i + 1),
                    serial: format!("CH{serial:07}"),
                    lat,
                    lng,
                });
            }
        }
    }
    (places, devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_plan_is_consistent() {
        let p = plan(SMALL, 7);
        let count = |l| p.grids.iter().filter(|g| g.level == l).count();
        assert_eq!((count(1), count(2), count(3), count(4), count(5)), (1, 1, 3, 12, 30));
        assert_eq!(p.households.len(), 1_000);
        let total: i64 = p.households.iter().map(|h| h.members).sum();
        assert_eq!(total as usize, p.residents.len());
        assert_eq!(p.grids[0].residents as usize, p.residents.len());
        // Every code extends its parent's.
        for g in &p.grids {
            if let Some(parent) = &g.parent {
                assert!(g.code.starts_with(parent.as_str()));
            }
        }
        // Every ID number and credit code validates.
        for r in &p.residents {
            identity::parse_id_number(&r.id_number).unwrap();
            assert!(identity::parse_mobile(&r.phone).is_some());
        }
        for u in p.units.iter().filter_map(|u| u.credit_code.as_ref()) {
            identity::parse_credit_code(u).unwrap();
        }
        // Same seed, same district.
        let q = plan(SMALL, 7);
        assert_eq!(p.residents[123].id_number, q.residents[123].id_number);
        assert_eq!(p.residents[123].id, q.residents[123].id);
    }

    #[test]
    fn siblings_do_not_overlap() {
        use crate::grid::rules::{AREA_TOLERANCE, outside_share, overlap_share, parse_boundary};
        let p = plan(SMALL, 11);
        let polys: Vec<_> = p
            .grids
            .iter()
            .map(|g| parse_boundary(&g.shape.geojson()).unwrap().polygon)
            .collect();
        for (i, a) in p.grids.iter().enumerate() {
            if let Some(parent) = &a.parent {
                let pi = p.grids.iter().position(|x| &x.code == parent).unwrap();
                assert!(
                    outside_share(&polys[i], &polys[pi]) < AREA_TOLERANCE,
                    "{} outside {}",
                    a.code,
                    parent
                );
            }
            for (j, b) in p.grids.iter().enumerate().skip(i + 1) {
                if a.parent == b.parent {
                    assert!(
                        overlap_share(&polys[i], &polys[j]) < AREA_TOLERANCE,
                        "{} overlaps {}",
                        a.code,
                        b.code
                    );
                }
            }
        }
    }

    #[test]
    fn district_cells_partition_their_parents_and_hold_their_points() {
        use crate::grid::rules::parse_boundary;
        use geo::{Area, Intersects, Point};
        let p = plan(DISTRICT, 20231);
        let polys: Vec<_> = p.grids.iter().map(|g| parse_boundary(&g.shape.geojson()).unwrap()).collect();
        let index: std::collections::HashMap<&str, usize> = p.grids.iter().enumerate().map(|(i, g)| (g.code.as_str(), i)).collect();
        // Children's areas add up to their parent's (buildings are footprints: less).
        let mut kids_area = vec![0.0; p.grids.len()];
        for (i, g) in p.grids.iter().enumerate() {
            if let Some(parent) = &g.parent {
                kids_area[index[parent.as_str()]] += polys[i].polygon.unsigned_area();
                // The cell's own centre (stored on the node) lies inside the parent.
                let (lat, lng) = polys[i].center;
                assert!(
                    p.grids[index[parent.as_str()]].shape.contains(lat, lng) || g.level == 5,
                    "{}",
                    g.code
                );
            }
        }
        for (i, g) in p.grids.iter().enumerate().filter(|(_, g)| g.level < 4) {
            let own = polys[i].polygon.unsigned_area();
            assert!(
                (kids_area[i] - own).abs() < own * 1e-4,
                "{}: children {} of {own}",
                g.code,
                kids_area[i]
            );
        }
        // Not a lattice: cells of a level differ in shape (vertex counts vary).
        let sides: std::collections::HashSet<usize> = p.grids.iter().filter(|g| g.level == 4).map(|g| g.shape.0.len()).collect();
        assert!(sides.len() >= 3, "{sides:?}");
        // Places and devices lie inside the grid they are filed under.
        for (grid, lat, lng) in p
            .places
            .iter()
            .map(|x| (&x.grid, x.lat, x.lng))
            .chain(p.devices.iter().map(|x| (&x.grid, x.lat, x.lng)))
        {
            assert!(polys[index[grid.as_str()]].polygon.intersects(&Point::new(lng, lat)), "{grid}");
        }
    }

    #[test]
    fn split_counts_adds_up() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (total, parts) in [(995, 88), (2640, 995), (100_000, 2640), (5, 5)] {
            let v = split_counts(total, parts, 2.0, &mut rng);
            assert_eq!(v.iter().sum::<usize>(), total);
            assert!(v.iter().all(|x| *x >= 1));
        }
    }
}
