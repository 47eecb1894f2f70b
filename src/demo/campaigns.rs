//! The demo's campaigns (专项整治行动): the first street's 小菜园 drive as seed 001 reports it
//! (a team per community, led by a cadre; spots found, persuaded, 18 cleared, 82 person-visits,
//! about 500 m² of green restored), a 空中飞线 drive in one compound of the second community with
//! the three carriers, and a running 楼道堆物 drive over the whole district (about 10,000 spots at
//! district scale), and a 创文 测评 drive over the first street with a checklist of eight items,
//! every compound scored and most failures re-checked. Cleared spots and failed items carry an after photo's digest; no file is written (the page
//! shows a photo link only for a file it has).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};

/// A placeholder digest for the demo's photos.
const DEMO_PHOTO: &str = "1111111111111111111111111111111111111111111111111111111111111111";

const GARDEN_PLACES: [&str; 6] = [
    "楼东侧绿化带",
    "楼后空地",
    "单元门口花坛",
    "围墙边绿地",
    "车棚旁草坪",
    "小区中心绿地",
];
const WIRE_PLACES: [&str; 4] = ["楼道窗口", "单元门口", "车棚上方", "两楼之间"];
const CLUTTER_PLACES: [&str; 5] = ["一楼楼道", "消防通道", "楼梯转角", "电表箱旁", "地下室入口"];
/// The 创文 测评 checklist the demo's drive carries (items of the civilised-city field check).
const CIVIL_ITEMS: [&str; 8] = [
    "楼道无堆物、消防通道畅通",
    "无乱贴乱画、小广告",
    "垃圾分类投放点整洁、无满溢",
    "公益广告和文明宣传栏规范",
    "非机动车停放有序、无飞线充电",
    "绿化带无毁绿种菜",
    "无占道经营、无乱搭乱建",
    "公共设施完好、无破损",
];
const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "赵", "周"];

struct Spot {
    id: Uuid,
    grid: String,
    place: String,
    party: String,
    measure: f64,
    /// 0 surveyed, 1 persuading, 2 self-cleared, 3 team-cleared, 4 consolidated (self-cleared)
    fate: u8,
    visits: Vec<(i64, &'static str, i64)>,
    found_at: i64,
}

pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xCA4B);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let day = 86_400_000_i64;
    let small = p.grids.iter().filter(|g| g.level == 2).count() <= 1;
    let street = p.grids.iter().find(|g| g.level == 2).ok_or_else(|| anyhow::anyhow!("no street"))?;
    let communities: Vec<_> = p
        .grids
        .iter()
        .filter(|g| g.level == 3 && g.parent.as_deref() == Some(street.code.as_str()))
        .collect();
    let buildings_of = |community: &str| -> Vec<&str> {
        p.grids
            .iter()
            .filter(|g| g.level == 5 && g.code.starts_with(community))
            .map(|g| g.code.as_str())
            .collect()
    };
    // Team leaders and members: the demo's staff accounts.
    let staff: Vec<(Uuid, String, String)> = crate::on_tx!(tx, |c| {
        sqlx::query_as::<_, (Uuid, String, String)>(
        "SELECT id, username, display_name FROM users WHERE district = $1 AND username IN ('street', 'community', 'compound', 'building', 'admin') ORDER BY username"
    )
    .bind(district)
    .fetch_all(c)
    .await
    })?;
    let user = |name: &str| staff.iter().find(|s| s.1 == name).map(|s| (s.0, s.2.clone()));
    let (Some(leader), Some(worker), Some(officer)) = (user("street"), user("community"), user("building")) else {
        anyhow::bail!("the demo's staff accounts are missing");
    };

    let mut campaigns: Vec<Vec<V>> = Vec::new();
    let mut teams: Vec<Vec<V>> = Vec::new();
    let mut members: Vec<Vec<V>> = Vec::new();
    let mut spots: Vec<Vec<V>> = Vec::new();
    let mut actions: Vec<Vec<V>> = Vec::new();
    let mut campaign = |id: Uuid,
                        grid: &str,
                        title: String,
                        kind: &'static str,
                        kind_name: &'static str,
                        unit: &'static str,
                        partners: &str,
                        starts: i64,
                        deadline: i64| {
        campaigns.push(vec![
            V::U(id),
            V::S(district),
            V::T(grid.to_string()),
            V::T(title),
            V::S(kind),
            V::S(kind_name),
            V::S(unit),
            V::T(partners.to_string()),
            V::T(crate::time::day_ms(starts)),
            V::T(crate::time::day_ms(deadline)),
            V::I(14),
            V::S("区专项办"),
            V::I(starts),
        ]);
    };
    let write = |campaign: Uuid, list: Vec<Spot>, spots: &mut Vec<Vec<V>>, actions: &mut Vec<Vec<V>>, rng: &mut ChaCha8Rng| {
        for s in list {
            let people: i64 = s.visits.iter().map(|v| v.2).sum();
            let refusals = s.visits.iter().filter(|v| v.1 == "refused").count() as i64;
            let cleared_at = (s.fate >= 2).then(|| s.visits.last().map_or(s.found_at, |v| v.0) + rng.random_range(1..3) * day);
            let cleared_at = cleared_at.map(|c| c.min(now - 3_600_000));
            let team_people = if s.fate == 3 { rng.random_range(3..7i64) } else { 0 };
            let phase = match s.fate {
                0 => "surveyed",
                1 => "persuading",
                4 => "consolidated",
                _ => "cleared",
            };
            spots.push(vec![
                V::U(s.id),
                V::U(campaign),
                V::S(district),
                V::T(s.grid.clone()),
                V::T(s.place.clone()),
                V::T(s.party.clone()),
                V::F(s.measure),
                V::T(String::new()),
                V::S(phase),
                V::B(s.fate == 2 || s.fate == 4),
                V::I(people),
                V::I(refusals),
                V::I(0),
                if s.fate >= 2 { V::S(DEMO_PHOTO) } else { V::NullT },
                V::NullT,
                V::I(s.found_at),
                cleared_at.map_or(V::NullI, V::I),
                cleared_at.map_or(V::NullI, |c| V::I(c + 14 * day)),
                V::S("网格员"),
                V::I(cleared_at.unwrap_or(s.found_at)),
            ]);
            let mut act = |action: &'static str, outcome: &'static str, people: i64, at: i64, photo: bool| {
                actions.push(vec![
                    V::U(new_id()),
                    V::U(s.id),
                    V::S(action),
                    V::S(outcome),
                    V::I(people),
                    if photo { V::S(DEMO_PHOTO) } else { V::NullT },
                    V::S("网格员"),
                    V::I(at),
                ]);
            };
            act("found", "", 1, s.found_at, false);
            for v in &s.visits {
                act("visit", v.1, v.2, v.0, false);
            }
            if let Some(c) = cleared_at {
                if s.fate == 3 {
                    act("cleared", "", team_people, c, true);
                } else {
                    act("self_cleared", "", 1, c, true);
                }
                if s.fate == 4 {
                    act("reinspect", "held", 1, c + 14 * day, false);
                }
            }
        }
    };

    // 1. The first street's 小菜园 drive: 27 spots, 18 cleared (11 by the households), 82
    //    person-visits in all, about 500 m².
    let garden = new_id();
    let starts = now - 40 * day;
    campaign(
        garden,
        &street.code,
        format!("{}小菜园专项整治", street.name),
        "vegetable_plots",
        "小菜园（毁绿种菜）",
        "m²",
        "",
        starts,
        now + 20 * day,
    );
    let mut list = Vec::new();
    let n_spots = 27usize;
    let mut visits_left = 82i64;
    let first_building = buildings_of(&communities[0].code).first().map(|b| b.to_string());
    for i in 0..n_spots {
        let c = communities[i % communities.len()];
        let bs = buildings_of(&c.code);
        let grid = match (i, &first_building) {
            // The first spot in building 1 (the demo's `building` account's).
            (0, Some(b)) => b.clone(),
            _ => bs
                .get(rng.random_range(0..bs.len().max(1)))
                .map_or(c.code.clone(), |b| b.to_string()),
        };
        let fate = match i {
            0 => 1,
            _ if i < 12 => 2,
            _ if i < 19 => 3,
            _ if i < 24 => 1,
            _ => 0,
        };
        let found_at = starts + (i as i64 % 10) * day + rng.random_range(0..8) * 3_600_000;
        let mut visits = Vec::new();
        let want = match fate {
            0 => 0,
            _ if i == n_spots - 4 => visits_left.max(0),
            _ => 3,
        };
        let mut people = 0;
        while people < want && visits_left > 0 {
            let k = 2.min(visits_left).min(want - people);
            let outcome = if fate == 1 && visits.is_empty() {
                "refused"
            } else if people + k >= want {
                "agreed"
            } else {
                "not_reached"
            };
            visits.push((found_at + (visits.len() as i64 + 1) * day, outcome, k));
            people += k;
            visits_left -= k;
        }
        list.push(Spot {
            id: new_id(),
            grid,
            place: format!("{}{}", c.name, GARDEN_PLACES[i % GARDEN_PLACES.len()]),
            party: format!("{}某", SURNAMES[i % SURNAMES.len()]),
            measure: [12.0, 18.5, 30.0, 24.0, 40.0, 9.5][i % 6] + if i < 19 { 5.0 } else { 0.0 },
            fate: if (2..5).contains(&i) { 4 } else { fate },
            visits,
            found_at,
        });
    }
    write(garden, list, &mut spots, &mut actions, &mut rng);
    for (i, c) in communities.iter().enumerate().take(9) {
        let team = new_id();
        teams.push(vec![
            V::U(team),
            V::U(garden),
            V::T(format!("第{}工作队（{}）", i + 1, c.name)),
            V::U(leader.0),
            V::T(leader.1.clone()),
            V::T(c.code.clone()),
            V::I(starts),
        ]);
        if i == 0 {
            members.push(vec![V::U(team), V::U(worker.0), V::T(worker.1.clone())]);
            members.push(vec![V::U(team), V::U(officer.0), V::T(officer.1.clone())]);
        }
    }

    // 2. 空中飞线 in one compound of the second community, with the three carriers.
    let compound = communities
        .get(1)
        .and_then(|c| p.grids.iter().find(|g| g.level == 4 && g.code.starts_with(&c.code)))
        .or_else(|| p.grids.iter().find(|g| g.level == 4))
        .ok_or_else(|| anyhow::anyhow!("no compound"))?;
    let wires = new_id();
    campaign(
        wires,
        &compound.code,
        format!("{}空中飞线整治", compound.name),
        "flying_wires",
        "空中飞线",
        "处",
        "中国移动、中国联通、中国电信",
        now - 20 * day,
        now + 10 * day,
    );
    let bs: Vec<&str> = p
        .grids
        .iter()
        .filter(|g| g.level == 5 && g.code.starts_with(&compound.code))
        .map(|g| g.code.as_str())
        .collect();
    let list = (0..12)
        .map(|i| Spot {
            id: new_id(),
            grid: bs.get(i % bs.len().max(1)).map_or(compound.code.clone(), |b| b.to_string()),
            place: WIRE_PLACES[i % WIRE_PLACES.len()].to_string(),
            party: String::new(),
            measure: 1.0 + (i % 3) as f64,
            fate: if i < 5 { 3 } else { 1 },
            visits: vec![(now - (19 - i as i64) * day, "agreed", 2)],
            found_at: now - 20 * day + i as i64 * 3_600_000,
        })
        .collect();
    write(wires, list, &mut spots, &mut actions, &mut rng);
    teams.push(vec![
        V::U(new_id()),
        V::U(wires),
        V::S("运营商联合工作队"),
        V::U(leader.0),
        V::T(leader.1.clone()),
        V::T(compound.code.clone()),
        V::I(now - 20 * day),
    ]);

    // 3. 楼道堆物, district-wide and running: a few spots per compound.
    let clutter = new_id();
    let cstart = now - 60 * day;
    campaign(
        clutter,
        district,
        "楼道堆物清理专项行动".to_string(),
        "corridor_clutter",
        "楼道堆物",
        "处",
        "消防救援大队",
        cstart,
        now + 30 * day,
    );
    let (per, cap) = if small { (2, 200) } else { (4, 10_000) };
    let mut list = Vec::new();
    for b in p.grids.iter().filter(|g| g.level == 5) {
        if list.len() >= cap {
            break;
        }
        for k in 0..per {
            let found_at = cstart + rng.random_range(0..55) * day + rng.random_range(0..10) * 3_600_000;
            let fate = match rng.random_range(0..10) {
                0..=4 => 2,
                5..=6 => 3,
                7..=8 => 1,
                _ => 0,
            };
            let visits = if fate == 0 {
                Vec::new()
            } else {
                vec![(
                    (found_at + day).min(now - 7_200_000),
                    if fate == 1 { "refused" } else { "agreed" },
                    2,
                )]
            };
            list.push(Spot {
                id: new_id(),
                grid: b.code.clone(),
                place: format!("{}{}", b.name, CLUTTER_PLACES[(k + list.len()) % CLUTTER_PLACES.len()]),
                party: String::new(),
                measure: 1.0,
                fate,
                visits,
                found_at: found_at.min(now - 10_800_000),
            });
        }
    }
    let n_clutter = list.len();
    write(clutter, list, &mut spots, &mut actions, &mut rng);

    // 4. 创文 测评 in the first street: a checklist, every compound scored, failures re-checked.
    let civil = new_id();
    let vstart = now - 40 * day;
    campaign(
        civil,
        &street.code,
        "创建全国文明城市实地测评迎检".to_string(),
        "civilised_city",
        "创文测评",
        "项",
        "区文明办",
        vstart,
        now + 20 * day,
    );
    let mut items: Vec<Vec<V>> = Vec::new();
    let item_ids: Vec<Uuid> = CIVIL_ITEMS.iter().map(|_| new_id()).collect();
    for (i, (id, text)) in item_ids.iter().zip(CIVIL_ITEMS).enumerate() {
        items.push(vec![V::U(*id), V::U(civil), V::I(i as i64 + 1), V::S(text)]);
    }
    let mut inspections: Vec<Vec<V>> = Vec::new();
    let mut marks: Vec<Vec<V>> = Vec::new();
    let mut n_rechecks = 0;
    for g in p.grids.iter().filter(|g| g.level == 4 && g.code.starts_with(&street.code)) {
        let by = if g.code.starts_with(&communities.first().map(|c| c.code.clone()).unwrap_or_default()) {
            &worker
        } else {
            &leader
        };
        let mut at = vstart + rng.random_range(1..20) * day + rng.random_range(8..17) * 3_600_000;
        let mut to_score: Vec<Uuid> = item_ids.clone();
        let mut previous: Option<Uuid> = None;
        // A first inspection; while something fails, most places are re-checked a few days on.
        loop {
            let id = new_id();
            let mut failing = Vec::new();
            for item in &to_score {
                let fail_rate = if previous.is_none() { 12 } else { 25 };
                let passed = rng.random_range(0..100) >= fail_rate;
                if !passed {
                    failing.push(*item);
                }
                marks.push(vec![
                    V::U(id),
                    V::U(*item),
                    V::B(passed),
                    if passed { V::NullT } else { V::S(DEMO_PHOTO) },
                    V::S(if passed {
                        ""
                    } else {
                        "现场发现问题，已拍照，限期整改"
                    }),
                ]);
            }
            inspections.push(vec![
                V::U(id),
                V::U(civil),
                V::S(district),
                V::T(g.code.clone()),
                previous.map_or(V::NullU, V::U),
                V::I((to_score.len() - failing.len()) as i64),
                V::I(failing.len() as i64),
                V::S(""),
                V::U(by.0),
                V::T(by.1.clone()),
                V::I(at),
            ]);
            let next = at + rng.random_range(3..8) * day;
            if failing.is_empty() || next > now - 3_600_000 || rng.random_range(0..10) < 3 {
                break;
            }
            n_rechecks += 1;
            previous = Some(id);
            to_score = failing;
            at = next;
        }
    }
    let n_inspections = inspections.len();

    let (n_campaigns, n_spots, n_actions) = (campaigns.len(), spots.len(), actions.len());
    bulk(
        tx,
        "campaigns",
        &[
            "id",
            "district",
            "grid_code",
            "title",
            "kind",
            "kind_name",
            "unit",
            "partners",
            "starts_on",
            "deadline",
            "reinspect_days",
            "created_by",
            "created_at",
        ],
        campaigns,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "campaign_teams",
        &["id", "campaign_id", "name", "leader_id", "leader_name", "grids", "created_at"],
        teams,
        &pb,
    )
    .await?;
    bulk(tx, "campaign_members", &["team_id", "user_id", "name"], members, &pb).await?;
    bulk(
        tx,
        "campaign_spots",
        &[
            "id",
            "campaign_id",
            "district",
            "grid_code",
            "place",
            "party",
            "measure",
            "note",
            "phase",
            "self_cleared",
            "visits",
            "refusals",
            "recurrences",
            "after_sha256",
            "photo_sha256",
            "found_at",
            "cleared_at",
            "reinspect_at",
            "found_by",
            "updated_at",
        ],
        spots,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "campaign_actions",
        &["id", "spot_id", "action", "outcome", "people", "photo_sha256", "by_name", "at_ms"],
        actions,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "campaign_checklist_items",
        &["id", "campaign_id", "position", "text"],
        items,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "campaign_inspections",
        &[
            "id",
            "campaign_id",
            "district",
            "grid_code",
            "recheck_of",
            "passed",
            "failed",
            "note",
            "by_id",
            "by_name",
            "at_ms",
        ],
        inspections,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "campaign_inspection_marks",
        &["inspection_id", "item_id", "passed", "photo_sha256", "note"],
        marks,
        &pb,
    )
    .await?;
    Ok(format!(
        "{n_campaigns} campaigns ({n_clutter} corridor spots district-wide), {n_spots} spots with {n_actions} actions; \
         创文 测评: {n_inspections} inspections of the first street's compounds ({n_rechecks} re-checks)"
    ))
}
