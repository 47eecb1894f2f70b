//! The demo's owners' decisions (业主共同决定): a property register for every compound with an
//! owners' committee (and the first compound), its households as the exclusive units (45–160 m²,
//! owned by the household heads, a few by an owner of two, some still the developer's), a few
//! dozen decisions in every state with their ballots, and the `owner` account who can vote.

use std::collections::{BTreeMap, HashMap};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use crate::auth::{Role, store as auth_store};
use crate::db::{Tx, new_id};
use crate::decisions::rules::{self, Choice, UnitShare};
use crate::decisions::service::{DEVELOPER_KEY, resident_key};
use crate::decisions::store::{self, DecisionRow, NewBallot, NewUnit};

/// The first compound, where the `owner` account owns a flat.
pub const FIRST_COMPOUND: &str = "411602001001001";

const DAY: i64 = 86_400_000;

/// (matter, title, text).
const SUBJECTS: [(i64, &str, &str); 9] = [
    (
        1,
        "修订《业主大会议事规则》",
        "拟对业主大会议事规则第三章“表决方式”进行修订，增加电子投票方式，书面表决票与网上表决具有同等效力。",
    ),
    (
        2,
        "修改《管理规约》关于电动车停放的条款",
        "拟在管理规约中增加“电动自行车不得进入楼道和电梯，统一在充电棚停放充电”的规定。",
    ),
    (
        3,
        "选举第三届业主委员会",
        "第二届业主委员会任期届满，经筹备，提出第三届业主委员会委员候选人七名，请业主表决。",
    ),
    (
        4,
        "续聘物业服务企业",
        "现物业服务合同将于年底到期，业主委员会提议续聘现物业服务企业三年，物业费标准不变。",
    ),
    (
        5,
        "使用专项维修资金维修屋面防水",
        "3号楼、5号楼屋面渗漏严重，拟使用专项维修资金约18.6万元进行屋面防水维修，按受益面积分摊。",
    ),
    (
        6,
        "续筹专项维修资金",
        "小区专项维修资金余额不足首期交存额的30%，拟按每平方米20元续筹。",
    ),
    (
        7,
        "加装电梯",
        "拟为2号楼两个单元加装电梯，费用按楼层系数分摊，申请老旧小区改造补贴。",
    ),
    (
        8,
        "利用共有部分设置充电桩并收取场地费",
        "拟在小区东侧共有场地设置电动汽车充电桩12个，场地费收益归全体业主共有，计入公共收益账户。",
    ),
    (
        9,
        "小区大门及围墙改造方案",
        "拟对小区南大门及东侧围墙进行改造，增设人脸识别门禁，费用由公共收益列支。",
    ),
];

/// What a decision is made to show.
#[derive(Clone, Copy)]
enum Outcome {
    Passed,
    FailsParticipation,
    FailsApproval,
    OpenNow,
    Draft,
}

pub async fn insert(tx: &mut Tx, p: &Plan, password_hash: &str, seed: u64, now: i64) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x278);
    let district = p.district_code;
    // The compounds with an owners' committee, and the first compound.
    let mut compounds: Vec<String> = p
        .units
        .iter()
        .filter(|u| u.kind == "owners_committee")
        .filter_map(|u| u.grid.clone())
        .collect();
    if p.grids.iter().any(|g| g.code == FIRST_COMPOUND) {
        compounds.push(FIRST_COMPOUND.to_string());
    }
    compounds.sort();
    compounds.dedup();
    let registered: std::collections::HashSet<&str> = compounds.iter().map(String::as_str).collect();

    // Household heads by household index.
    let mut head: HashMap<usize, usize> = HashMap::new();
    for (i, r) in p.residents.iter().enumerate() {
        if r.relation == "户主" {
            head.entry(r.household).or_insert(i);
        }
    }
    // The residents other demo accounts are (`resident`, `council`): not the `owner`.
    let taken: std::collections::HashSet<Uuid> = crate::on_tx!(&mut *tx, |c| sqlx::query_scalar::<_, Uuid>(
        "SELECT resident_id FROM resident_accounts"
    )
    .fetch_all(&mut *c)
    .await)?
    .into_iter()
    .collect();

    let mut units: Vec<NewUnit> = Vec::new();
    let mut by_compound: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut last_head: HashMap<String, Uuid> = HashMap::new();
    for (hi, h) in p.households.iter().enumerate() {
        let b = &p.grids[h.grid];
        let Some(compound) = b.parent.as_deref() else { continue };
        if b.level != 5 || !registered.contains(compound) {
            continue;
        }
        let Some(&ri) = head.get(&hi) else { continue };
        let resident = p.residents[ri].id;
        let building_no: i64 = b.code[b.code.len() - 3..].parse().unwrap_or(1);
        let label = format!("{building_no}-{}-{}", h.unit_no, h.room);
        let area = rng.random_range(4_500..=16_000i64);
        let roll = rng.random_range(0..100);
        let (resident_id, owner_name, developer, key) = if roll < 6 {
            (
                None,
                format!("{}置业有限公司", b.name.split('小').next().unwrap_or("川汇")),
                true,
                DEVELOPER_KEY.to_string(),
            )
        } else if roll < 9 && last_head.contains_key(compound) && !taken.contains(&resident) {
            // An owner of two flats in the compound.
            let other = last_head[compound];
            (Some(other), String::new(), false, resident_key(other))
        } else {
            last_head.insert(compound.to_string(), resident);
            (Some(resident), String::new(), false, resident_key(resident))
        };
        by_compound.entry(compound.to_string()).or_default().push(units.len());
        units.push(NewUnit {
            id: new_id(),
            district: district.to_string(),
            compound_code: compound.to_string(),
            building_code: b.code.clone(),
            label,
            area_centi: area,
            resident_id,
            owner_name,
            developer,
            owner_key: key,
            created_at: now - 400 * DAY,
        });
    }
    // Developer names per compound are one company: the first name seen.
    let mut dev_name: HashMap<String, String> = HashMap::new();
    for u in units.iter_mut().filter(|u| u.developer) {
        let n = dev_name.entry(u.compound_code.clone()).or_insert_with(|| u.owner_name.clone());
        u.owner_name = n.clone();
    }
    store::insert_units(tx, &units).await?;

    // The `owner` account: a resident owning a flat in the first compound (not the `resident`'s person).
    let owner_unit = by_compound.get(FIRST_COMPOUND).and_then(|ix| {
        ix.iter()
            .map(|&i| &units[i])
            .find(|u| u.resident_id.is_some_and(|r| !taken.contains(&r)))
    });
    if let Some(u) = owner_unit {
        let resident = u.resident_id.unwrap_or_default();
        let r = p.residents.iter().find(|r| r.id == resident);
        let name = r.map(|r| r.name.clone()).unwrap_or_else(|| "业主".into());
        let home = r.map(|r| p.grids[r.grid].code.clone()).unwrap_or_else(|| u.building_code.clone());
        let id = auth_store::insert_user(tx, district, "owner", &name, password_hash).await?;
        auth_store::insert_post(tx, district, id, Role::Resident, Some(&home), None).await?;
        crate::on_tx!(&mut *tx, |c| sqlx::query(
            "INSERT INTO resident_accounts (user_id, resident_id, district, created_at) VALUES ($1, $2, $3, $4)"
        )
        .bind(id)
        .bind(resident)
        .bind(district)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }

    // Decisions: the first compound gets one of each state; then one each in up to 36 more compounds.
    let mut decisions: Vec<(DecisionRow, Outcome)> = Vec::new();
    let first_states = [
        Outcome::OpenNow,
        Outcome::Passed,
        Outcome::FailsParticipation,
        Outcome::FailsApproval,
        Outcome::Draft,
    ];
    let cycle = [
        Outcome::Passed,
        Outcome::FailsParticipation,
        Outcome::FailsApproval,
        Outcome::OpenNow,
        Outcome::Passed,
        Outcome::FailsApproval,
        Outcome::Draft,
    ];
    let mut plan: Vec<(String, Outcome)> = Vec::new();
    if by_compound.contains_key(FIRST_COMPOUND) {
        plan.extend(first_states.iter().map(|o| (FIRST_COMPOUND.to_string(), *o)));
    }
    for (i, c) in by_compound.keys().filter(|c| c.as_str() != FIRST_COMPOUND).take(36).enumerate() {
        plan.push((c.clone(), cycle[i % cycle.len()]));
    }
    let mut ballots: Vec<NewBallot> = Vec::new();
    let (mut passed, mut failed_p, mut failed_a, mut open, mut drafts) = (0, 0, 0, 0, 0);
    for (i, (compound, outcome)) in plan.iter().enumerate() {
        let (matter, title, body) = SUBJECTS[(i * 4 + 1) % SUBJECTS.len()];
        let (opens, closes, status) = match outcome {
            Outcome::OpenNow => (now - 2 * DAY, now + 12 * DAY, "open"),
            Outcome::Draft => (now + 5 * DAY, now + 20 * DAY, "draft"),
            _ => {
                let back = rng.random_range(20..300) * DAY;
                (now - back - 14 * DAY, now - back, "closed")
            }
        };
        let id = new_id();
        // The owners and their areas, then the ballots that give the outcome.
        let owners: BTreeMap<&str, i64> = rules::owners(
            &by_compound[compound]
                .iter()
                .map(|&k| UnitShare {
                    owner: &units[k].owner_key,
                    area: units[k].area_centi,
                })
                .collect::<Vec<_>>(),
        );
        let (take, yes) = match outcome {
            Outcome::Passed => (rng.random_range(78..95), if (6..=8).contains(&matter) { 88 } else { 72 }),
            Outcome::FailsParticipation => (rng.random_range(35..60), 70),
            Outcome::FailsApproval => (rng.random_range(75..92), if (6..=8).contains(&matter) { 60 } else { 38 }),
            Outcome::OpenNow => (rng.random_range(25..45), 65),
            Outcome::Draft => (0, 0),
        };
        let mut votes: HashMap<&str, Choice> = HashMap::new();
        for (o, _) in owners.iter() {
            if rng.random_range(0..100) < take {
                let r = rng.random_range(0..100);
                let c = if r < yes {
                    Choice::Yes
                } else if r < yes + (100 - yes) * 2 / 3 {
                    Choice::No
                } else {
                    Choice::Abstain
                };
                votes.insert(o, c);
            }
        }
        // The `owner` has not voted yet on the open decision of the first compound.
        if let (Outcome::OpenNow, Some(u)) = (outcome, owner_unit) {
            votes.remove(u.owner_key.as_str());
        }
        let units_here: Vec<UnitShare> = owners.iter().map(|(o, a)| UnitShare { owner: o, area: *a }).collect();
        let rule = rules::rule_of(matter).unwrap_or(rules::Rule::Majority);
        let t = rules::tally(rule, &units_here, &votes);
        let result = (status == "closed").then(|| t.passed());
        match (status, result) {
            ("closed", Some(true)) => passed += 1,
            ("closed", _) if !t.participation_met() => failed_p += 1,
            ("closed", _) => failed_a += 1,
            ("open", _) => open += 1,
            _ => drafts += 1,
        }
        for (o, c) in &votes {
            ballots.push(NewBallot {
                decision_id: id,
                owner_key: o.to_string(),
                choice: c.as_str(),
                cast_at: opens + rng.random_range(0..(closes.min(now) - opens).max(1)),
            });
        }
        decisions.push((
            DecisionRow {
                id,
                district: district.to_string(),
                compound_code: compound.clone(),
                matter,
                title: title.to_string(),
                body: body.to_string(),
                status: status.to_string(),
                opens_at: opens,
                closes_at: closes,
                passed: result,
                created_at: opens - 3 * DAY,
                updated_at: if status == "closed" { closes } else { opens - 3 * DAY },
            },
            *outcome,
        ));
    }
    for (d, _) in &decisions {
        crate::on_tx!(&mut *tx, |c| {
            sqlx::query(
            "INSERT INTO decisions (id, district, compound_code, matter, title, body, status, opens_at, closes_at, passed, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $12)"
        )
        .bind(d.id)
        .bind(&d.district)
        .bind(&d.compound_code)
        .bind(d.matter)
        .bind(&d.title)
        .bind(&d.body)
        .bind(&d.status)
        .bind(d.opens_at)
        .bind(d.closes_at)
        .bind(d.passed)
        .bind(d.created_at)
        .bind(d.updated_at)
        .execute(&mut *c)
        .await
        .map(|_| ())
        })?;
    }
    store::insert_ballots(tx, &ballots).await?;
    Ok(format!(
        "a property register of {} exclusive units in {} compounds, {} owners' decisions ({} passed, {} failed on participation, {} failed on approval, {} open, {} drafts) with {} ballots ({:.1}s)",
        units.len(),
        by_compound.len(),
        decisions.len(),
        passed,
        failed_p,
        failed_a,
        open,
        drafts,
        ballots.len(),
        started.elapsed().as_secs_f64()
    ))
}
