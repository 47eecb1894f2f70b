//! The demo's red property (红色物业): owners' committees where the plan lacks them, 物管会 and
//! self-management for compounds without a company, a supervising unit (the community) for each,
//! a handful of 三无 compounds with who answers and dated steps (two fixed during the year); four
//! published quarters of evaluations of every company by all four evaluator kinds, the red and
//! black list with corrections and removal flags; twelve months of fee collection rates; and the
//! `owner` account as a member of the first compound's owners' committee.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};
use crate::on_tx;
use crate::property::rules::{self, EVALUATORS, Evaluator, List, ListRule, Quarter};

const STEPS: [&str; 5] = [
    "社区党委牵头入户走访，摸清小区产权和业主意见",
    "召开业主代表座谈会，商议成立物业管理委员会",
    "街道协调住建部门，明确小区监管责任单位",
    "推选物管会成员，报街道党工委审核",
    "物管会成立，小区党支部书记兼任物管会主任，聘请保洁和门岗人员",
];

const CORRECTED: [&str; 4] = [
    "已增加保洁频次，楼道杂物清理完毕，经复查合格",
    "门岗恢复24小时值守，监控维修到位",
    "电梯和路灯维修完成，居民回访满意",
    "已公示服务标准和收费明细，整改到位",
];

async fn user_id(tx: &mut Tx, username: &str) -> sqlx::Result<Option<Uuid>> {
    on_tx!(tx, |c| sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(c)
        .await)
}

pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9E0F);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let admin = user_id(tx, "admin")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo: no admin account"))?;
    let owner = user_id(tx, "owner").await?;

    let compounds: Vec<&super::plan::PGrid> = p.grids.iter().filter(|g| g.kind == "compound").collect();
    let company_of: HashMap<&str, Uuid> = p
        .units
        .iter()
        .filter(|u| u.kind == "property_company")
        .flat_map(|u| u.serves.iter().map(move |c| (c.as_str(), u.id)))
        .collect();
    let companies: Vec<Uuid> = p.units.iter().filter(|u| u.kind == "property_company").map(|u| u.id).collect();
    let committees: HashSet<&str> = p
        .units
        .iter()
        .filter(|u| u.kind == "owners_committee")
        .filter_map(|u| u.grid.as_deref())
        .collect();
    let community_unit: HashMap<&str, Uuid> = p
        .units
        .iter()
        .filter(|u| u.kind == "community")
        .filter_map(|u| u.grid.as_deref().map(|g| (g, u.id)))
        .collect();
    let name_of: HashMap<&str, &str> = p.grids.iter().map(|g| (g.code.as_str(), g.name.as_str())).collect();

    // Compounds without a company: the 三无 candidates, those without a committee first (the others'
    // committees have lapsed, 业委会失效). About one in 150 stays 三无 (at least one); one more (two
    // at district scale) was 三无 and is fixed this year.
    let mut pool: Vec<&str> = compounds
        .iter()
        .rev()
        .map(|c| c.code.as_str())
        .filter(|c| !company_of.contains_key(c) && !committees.contains(c))
        .collect();
    pool.extend(
        compounds
            .iter()
            .rev()
            .map(|c| c.code.as_str())
            .filter(|c| !company_of.contains_key(c) && committees.contains(c)),
    );
    let still = (compounds.len() / 150).max(1).min(pool.len());
    let fixed = (if compounds.len() >= 100 { 2 } else { 1 }).min(pool.len() - still);
    let three_nos: Vec<&str> = pool[..still].to_vec();
    let repaired: Vec<&str> = pool[still..still + fixed].to_vec();

    // Owners' committees where the plan lacks them: most managed compounds, and the first.
    let mut unit_rows = Vec::new();
    let mut with_committee: HashSet<&str> = committees.clone();
    for (i, c) in compounds.iter().enumerate() {
        let code = c.code.as_str();
        if company_of.contains_key(code) && !committees.contains(code) && (i == 0 || rng.random_bool(0.9)) {
            with_committee.insert(code);
            unit_rows.push(vec![
                V::U(new_id()),
                V::T(district.into()),
                V::T("owners_committee".into()),
                V::T(format!("{}业主委员会", c.name)),
                V::T(code.into()),
                V::I(now),
            ]);
        }
    }
    let added_committees = unit_rows.len();
    bulk(
        tx,
        "units",
        &["id", "district", "kind", "name", "grid_code", "created_at"],
        unit_rows,
        &pb,
    )
    .await?;

    // Each compound's service, supervisor and responsible person.
    let person = |rng: &mut ChaCha8Rng| {
        let s = super::names::SURNAMES[rng.random_range(0..30)];
        let g = super::names::MALE_CHARS[rng.random_range(0..super::names::MALE_CHARS.len())];
        format!("{s}{g}")
    };
    let mut rows = Vec::new();
    let mut step_rows = Vec::new();
    let (mut mc, mut selfm) = (0, 0);
    for c in &compounds {
        let code = c.code.as_str();
        let community = &code[..crate::grid::rules::code_len(3)];
        let supervisor = community_unit.get(community).copied();
        let is_three_nos = three_nos.contains(&code);
        let was = repaired.contains(&code);
        let service = if company_of.contains_key(code) || is_three_nos {
            "none"
        } else if was || rng.random_bool(0.8) {
            mc += 1;
            "management_committee"
        } else {
            selfm += 1;
            "self"
        };
        let responsible = if is_three_nos || was {
            format!("{}（社区党委书记）", person(&mut rng))
        } else {
            String::new()
        };
        rows.push(vec![
            V::T(code.into()),
            V::T(district.into()),
            V::T(service.into()),
            match supervisor.filter(|_| !is_three_nos) {
                Some(u) => V::U(u),
                None => V::NullU,
            },
            V::T(responsible),
            V::B(is_three_nos && committees.contains(code)),
            V::I(now),
        ]);
        if is_three_nos || was {
            let n = if was { STEPS.len() } else { rng.random_range(2..4) };
            for (k, step) in STEPS.iter().take(n).enumerate() {
                let day = now - (300 - 45 * k as i64) * 86_400_000 - rng.random_range(0..10) * 86_400_000;
                step_rows.push(vec![
                    V::U(new_id()),
                    V::T(district.into()),
                    V::T(code.into()),
                    V::T(crate::time::day_ms(day)),
                    V::T(step.to_string()),
                    V::T(format!("{}社区", name_of.get(community).unwrap_or(&"")).replace("社区社区", "社区")),
                    V::I(day),
                ]);
            }
        }
    }
    bulk(
        tx,
        "property_compounds",
        &[
            "grid_code",
            "district",
            "service",
            "supervising_unit_id",
            "responsible",
            "committee_lapsed",
            "updated_at",
        ],
        rows,
        &pb,
    )
    .await?;
    let n_steps = step_rows.len();
    bulk(
        tx,
        "property_steps",
        &["id", "district", "grid_code", "taken_on", "note", "recorded_by", "created_at"],
        step_rows,
        &pb,
    )
    .await?;

    // The `owner` account sits on the first compound's owners' committee (业委会委员) and scores.
    if let (Some(owner), Some(first)) = (owner, compounds.first()) {
        bulk(
            tx,
            "property_committee_members",
            &["grid_code", "user_id", "district", "created_at"],
            vec![vec![V::T(first.code.clone()), V::U(owner), V::T(district.into()), V::I(now)]],
            &pb,
        )
        .await?;
    }

    // Settings: equal weights; ten each way at district scale (a third of the companies at most).
    let settings = crate::property::store::SettingsRow::default();
    bulk(
        tx,
        "property_settings",
        &[
            "district",
            "w_street",
            "w_community",
            "w_committee",
            "w_branch",
            "red_n",
            "black_n",
            "floor_score",
            "fee_threshold",
            "updated_at",
        ],
        vec![vec![
            V::T(district.into()),
            V::I(settings.w_street),
            V::I(settings.w_community),
            V::I(settings.w_committee),
            V::I(settings.w_branch),
            V::I(settings.red_n),
            V::I(settings.black_n),
            V::I(settings.floor_score),
            V::I(settings.fee_threshold),
            V::I(now),
        ]],
        &pb,
    )
    .await?;

    // Four published quarters before this one. Each company has a quality; the last one (and at
    // district scale one more) serves badly all year, so it lands on the black list twice running.
    let quality: HashMap<Uuid, f64> = companies
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let bad = i + 1 == companies.len() || (companies.len() > 20 && i == companies.len() / 2);
            (*c, if bad { 52.0 } else { rng.random_range(66.0..94.0) })
        })
        .collect();
    let weights: BTreeMap<Evaluator, i64> = EVALUATORS.into_iter().map(|e| (e, 25)).collect();
    let rule = ListRule {
        red_n: settings.red_n,
        black_n: settings.black_n,
        floor_x100: settings.floor_score * 100,
    };
    let last = Quarter::of_ms(now).previous();
    let quarters = [
        last.previous().previous().previous(),
        last.previous().previous(),
        last.previous(),
        last,
    ];
    let labels = |e: Evaluator, code: &str| -> String {
        let street = name_of.get(&code[..crate::grid::rules::code_len(2)]).copied().unwrap_or("");
        let community = name_of.get(&code[..crate::grid::rules::code_len(3)]).copied().unwrap_or("");
        let compound = name_of.get(code).copied().unwrap_or("");
        match e {
            Evaluator::Street => street.to_string(),
            Evaluator::Community => community.to_string(),
            Evaluator::OwnersCommittee => format!("{compound}业委会"),
            Evaluator::PartyBranch => format!("{compound}党支部"),
        }
    };
    let mut score_rows = Vec::new();
    let mut result_rows = Vec::new();
    let mut correction_rows = Vec::new();
    let mut previous: HashMap<Uuid, Option<List>> = HashMap::new();
    let (mut flagged_total, mut reds, mut blacks) = (0, 0, 0);
    for (qi, q) in quarters.iter().enumerate() {
        let (from, to) = q.bounds_ms();
        let at = (from + to) / 2 + 40 * 86_400_000;
        let mut per_company: BTreeMap<Uuid, Vec<f64>> = BTreeMap::new();
        for c in &compounds {
            let code = c.code.as_str();
            let Some(company) = company_of.get(code) else { continue };
            let base = quality[company] + rng.random_range(-4.0..4.0);
            let mut sheets = Vec::new();
            for e in EVALUATORS {
                // Some sheets are missing (a committee not yet formed, a branch late): re-weighted.
                if (e == Evaluator::OwnersCommittee && !with_committee.contains(code)) || rng.random_bool(0.06) {
                    continue;
                }
                let crit: [i64; 5] = std::array::from_fn(|_| (base + rng.random_range(-8.0..8.0)).round().clamp(0.0, 100.0) as i64);
                sheets.push((e, rules::sheet_score(crit)));
                let assigned = rng.random_range(0..9i64);
                score_rows.push(vec![
                    V::U(new_id()),
                    V::T(district.into()),
                    V::T(q.to_string()),
                    V::T(code.into()),
                    V::U(*company),
                    V::T(e.as_str().into()),
                    V::I(crit[0]),
                    V::I(crit[1]),
                    V::I(crit[2]),
                    V::I(crit[3]),
                    V::I(crit[4]),
                    V::I(assigned),
                    if assigned > 0 { V::I(rng.random_range(60..101)) } else { V::NullI },
                    if assigned > 0 { V::I(rng.random_range(60..101)) } else { V::NullI },
                    V::U(admin),
                    V::T(labels(e, code)),
                    V::I(at),
                    V::I(at),
                ]);
            }
            if let Some(v) = rules::compound_score(&sheets, &weights) {
                per_company.entry(*company).or_default().push(v);
            }
        }
        let scores: Vec<(Uuid, i64)> = per_company
            .iter()
            .filter_map(|(c, v)| rules::company_score(v).map(|s| (*c, s)))
            .collect();
        let published = at + 20 * 86_400_000;
        let mut now_lists = HashMap::new();
        for r in rules::rank(&scores, rule) {
            let flagged = rules::flag_for_removal(previous.get(&r.key).copied().flatten(), r.list);
            flagged_total += usize::from(flagged && qi == quarters.len() - 1);
            reds += usize::from(r.list == Some(List::Red));
            blacks += usize::from(r.list == Some(List::Black));
            result_rows.push(vec![
                V::T(district.into()),
                V::T(q.to_string()),
                V::U(r.key),
                V::I(r.score_x100),
                V::I(r.rank),
                match r.list {
                    Some(l) => V::T(l.as_str().into()),
                    None => V::NullT,
                },
                V::B(flagged),
                V::I(published),
            ]);
            if r.list == Some(List::Black) {
                // Corrections of earlier quarters are done; the last quarter's are under way.
                let done = qi + 1 < quarters.len() && quality[&r.key] > 55.0;
                correction_rows.push(vec![
                    V::U(new_id()),
                    V::T(district.into()),
                    V::T(q.to_string()),
                    V::U(r.key),
                    V::T(q.correction_due()),
                    if done { V::I(published + 25 * 86_400_000) } else { V::NullI },
                    V::T(if done {
                        CORRECTED[rng.random_range(0..CORRECTED.len())].into()
                    } else {
                        String::new()
                    }),
                    V::T(if done { "街道城建办".into() } else { String::new() }),
                    V::I(published),
                ]);
            }
            now_lists.insert(r.key, r.list);
        }
        previous = now_lists;
    }
    let n_scores = score_rows.len();
    bulk(
        tx,
        "property_scores",
        &[
            "id",
            "district",
            "period",
            "grid_code",
            "company_id",
            "evaluator",
            "cleaning",
            "security",
            "repairs",
            "greening",
            "response",
            "cases_assigned",
            "on_time_pct",
            "satisfaction_pct",
            "submitted_by",
            "submitter_name",
            "submitted_at",
            "updated_at",
        ],
        score_rows,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "property_results",
        &[
            "district",
            "period",
            "company_id",
            "score_x100",
            "rank",
            "list",
            "flagged",
            "published_at",
        ],
        result_rows,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "property_corrections",
        &[
            "id",
            "district",
            "period",
            "company_id",
            "due_on",
            "done_at",
            "note",
            "done_by",
            "created_at",
        ],
        correction_rows,
        &pb,
    )
    .await?;

    // Twelve months of fee collection rates, up to last month, entered by each company.
    let this_month = crate::time::month_ms(now);
    let (y, m): (i32, i32) = (
        this_month.get(..4).and_then(|s| s.parse().ok()).unwrap_or(2026),
        this_month.get(5..7).and_then(|s| s.parse().ok()).unwrap_or(1),
    );
    let months: Vec<String> = (1..=12)
        .rev()
        .map(|k| {
            let idx = y * 12 + (m - 1) - k;
            format!("{:04}-{:02}", idx / 12, idx % 12 + 1)
        })
        .collect();
    let mut fee_rows = Vec::new();
    for c in &compounds {
        let code = c.code.as_str();
        let Some(company) = company_of.get(code) else { continue };
        let mut rate: f64 = (quality[company] + rng.random_range(-5.0..12.0)).clamp(40.0, 99.0);
        for month in &months {
            rate = (rate + rng.random_range(-3.0..3.5)).clamp(30.0, 100.0);
            fee_rows.push(vec![
                V::T(code.into()),
                V::T(month.clone()),
                V::T(district.into()),
                V::U(*company),
                V::I((rate * 10.0).round() as i64),
                V::T("物业公司财务".into()),
                V::I(now),
            ]);
        }
    }
    let n_fees = fee_rows.len();
    bulk(
        tx,
        "property_fees",
        &[
            "grid_code",
            "month",
            "district",
            "company_id",
            "rate_permille",
            "entered_by",
            "updated_at",
        ],
        fee_rows,
        &pb,
    )
    .await?;
    Ok(format!(
        "red property: {} compounds ({} with a company, {mc} 物管会, {selfm} self-managed, {still} 三无 and {fixed} fixed this year with {n_steps} steps, {added_committees} owners' committees added), {} companies scored over 4 quarters ({n_scores} sheets, {reds} red and {blacks} black placings, {flagged_total} flagged for removal), {n_fees} monthly fee rates",
        compounds.len(),
        company_of.len(),
        companies.len(),
    ))
}
