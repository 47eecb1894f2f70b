//! The demo's renovation projects (老旧小区改造): projects over 1–3 old compounds of one street in
//! every phase (7 done, 12 in consultation, a few planning, under construction or in acceptance;
//! fewer on the small demo), their phase history, plan versions, rounds with most households'
//! views, and problems found in the work linked to demo cases of their compounds.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};
use crate::grid::rules::subtree_upper;
use crate::renovation::rules::{PHASES, Phase};

const DAY: i64 = 86_400_000;

/// (title, plan v1, plan v2).
const WORKS: [(&str, &str, &str); 6] = [
    (
        "雨污分流及管网改造",
        "更换小区雨水、污水管网，实施雨污分流；修复破损路面，增设雨水篦子。",
        "在一稿基础上增加化粪池清掏和楼前排水沟改造，施工分三段进行，保证住户出行。",
    ),
    (
        "老旧小区综合整治提升",
        "外墙保温及立面粉刷、楼道照明更换为声控灯、屋面防水翻新。",
        "采纳住户意见：增加非机动车充电棚两处，保留中心绿地，拆除违章搭建后新增停车位。",
    ),
    (
        "加装电梯及无障碍改造",
        "对具备条件的单元加装电梯，出入口增设无障碍坡道和扶手。",
        "按住户意见调整电梯井位置以减少对一楼采光影响，费用分摊方案按楼层系数计算。",
    ),
    (
        "供水供暖管网更新",
        "更换老化供水立管和入户阀门，同步改造二次供水设施。",
        "增加供暖管道保温，施工期间设置临时供水点，并提前三天通知停水时间。",
    ),
    (
        "小区环境与停车秩序提升",
        "重新规划停车位，硬化破损路面，增设路灯和监控。",
        "根据征求意见结果减少绿地占用，增设充电桩，出入口增设道闸。",
    ),
    (
        "适老化及公共空间改造",
        "建设小区口袋公园和老年人活动场地，增设休息座椅。",
        "增加儿童游乐设施，调整健身器材位置远离住宅窗口。",
    ),
];

const SUGGESTIONS: [&str; 6] = [
    "希望施工时间避开午休",
    "建议多留一些停车位",
    "楼道扶手希望一起更换",
    "希望保留楼前的树",
    "建议增加电动车充电桩",
    "费用分摊希望再公示一次",
];

/// Insert the demo's projects. `now` anchors the dates.
pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_6e6f);
    let district = p.district_code;
    // Households per compound: (id, building code).
    let index: HashMap<&str, usize> = p.grids.iter().enumerate().map(|(i, g)| (g.code.as_str(), i)).collect();
    let mut by_compound: HashMap<String, Vec<(Uuid, String)>> = HashMap::new();
    for h in &p.households {
        let b = &p.grids[h.grid];
        if let Some(parent) = b.parent.as_deref()
            && index.get(parent).is_some_and(|&i| p.grids[i].kind == "compound")
        {
            by_compound.entry(parent.to_string()).or_default().push((h.id, b.code.clone()));
        }
    }
    // Compounds with households, by street; the first compound first (the demo accounts' own).
    let mut compounds: Vec<&str> = p
        .grids
        .iter()
        .filter(|g| g.kind == "compound" && by_compound.contains_key(&g.code))
        .map(|g| g.code.as_str())
        .collect();
    compounds.sort();
    if compounds.is_empty() {
        return Ok(String::new());
    }
    let small = compounds.len() < 100;
    // (phase, how many)
    let mix: [(Phase, usize); 5] = if small {
        [
            (Phase::Consultation, 3),
            (Phase::Done, 2),
            (Phase::Planning, 1),
            (Phase::Construction, 1),
            (Phase::Acceptance, 1),
        ]
    } else {
        [
            (Phase::Consultation, 12),
            (Phase::Done, 7),
            (Phase::Planning, 3),
            (Phase::Construction, 3),
            (Phase::Acceptance, 2),
        ]
    };
    let name_of = |code: &str| index.get(code).map(|&i| p.grids[i].name.clone()).unwrap_or_default();
    // Pick compounds: the first project takes the first compound; the others are spread over the district.
    let mut free: Vec<&str> = compounds.clone();
    let first = free.remove(0);
    let mut shuffled = free.clone();
    for i in (1..shuffled.len()).rev() {
        let j = rng.random_range(0..=i);
        shuffled.swap(i, j);
    }
    let mut pool = vec![first];
    pool.extend(shuffled);
    let mut used: std::collections::HashSet<&str> = std::collections::HashSet::new();

    let (mut projects, mut comp_rows, mut phase_rows, mut plan_rows, mut round_rows, mut view_rows, mut case_rows) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut counts: HashMap<Phase, usize> = HashMap::new();
    let mut n_views = 0usize;
    let mut n_cases = 0usize;
    let mut cursor = 0usize;
    for (phase, n) in mix {
        for _ in 0..n {
            // The project's compounds: one to three unused compounds of the same street.
            while cursor < pool.len() && used.contains(pool[cursor]) {
                cursor += 1;
            }
            let Some(&lead) = pool.get(cursor) else { break };
            used.insert(lead);
            let street = &lead[..9];
            let want = if small { 1 } else { rng.random_range(1..=3usize) };
            let mut codes = vec![lead.to_string()];
            for c in compounds.iter().filter(|c| c.starts_with(street) && !used.contains(**c)) {
                if codes.len() >= want {
                    break;
                }
                codes.push(c.to_string());
            }
            for c in &codes {
                used.insert(compounds.iter().find(|x| **x == c.as_str()).copied().unwrap_or(lead));
            }
            codes.sort();
            let node = crate::renovation::rules::common_node(&codes).unwrap_or_else(|| street.to_string());
            let id = new_id();
            let work = WORKS[rng.random_range(0..WORKS.len())];
            let title = format!("{}{}", name_of(&codes[0]), work.0);
            let street_name = name_of(street);
            let community_name = name_of(&codes[0][..12]);
            // Phase dates: each step 20–90 days after the one before, the last a few days ago.
            let k = PHASES.iter().position(|x| *x == phase).unwrap_or(0);
            let mut dates = vec![0i64; k + 1];
            let mut t = now - rng.random_range(2..20) * DAY;
            for d in dates.iter_mut().rev() {
                *d = t;
                t -= rng.random_range(20..90) * DAY;
            }
            for (i, at) in dates.iter().enumerate() {
                let by = if matches!(PHASES[i], Phase::Construction | Phase::Done) {
                    format!("{street_name}办事处")
                } else {
                    format!("{community_name}居委会")
                };
                phase_rows.push(vec![V::U(id), V::T(PHASES[i].as_str().into()), V::T(by), V::I(*at)]);
            }
            let created = dates[0];
            projects.push(vec![
                V::U(id),
                V::T(district.into()),
                V::T(node),
                V::T(title),
                V::T(format!("{}，涉及{}个小区。", work.1, codes.len())),
                V::T(phase.as_str().into()),
                V::T(format!("{community_name}居委会")),
                V::I(created),
                V::I(*dates.last().unwrap_or(&created)),
            ]);
            for c in &codes {
                comp_rows.push(vec![V::U(id), V::T(c.clone()), V::T(district.into())]);
            }
            // Plans: v1 at the start; v2 (published) before the consultation for all but the planning ones.
            let versions = if phase == Phase::Planning { 1 } else { 2 };
            for v in 1..=versions {
                plan_rows.push(vec![
                    V::U(new_id()),
                    V::U(id),
                    V::T(district.into()),
                    V::I(v),
                    V::T(if v == 1 { work.1 } else { work.2 }.into()),
                    V::I(i64::from(v == versions && phase != Phase::Planning)),
                    V::T(format!("{community_name}居委会")),
                    V::I(created + v * DAY),
                ]);
            }
            // A round from the consultation on: open in 征求意见, closed after it.
            if k >= 1 {
                let round = new_id();
                let opened = dates[1] + DAY;
                let closed = dates.get(2).copied();
                round_rows.push(vec![
                    V::U(round),
                    V::U(id),
                    V::T(district.into()),
                    V::I(1),
                    V::I(2),
                    V::I(opened),
                    closed.map(V::I).unwrap_or(V::NullI),
                ]);
                let share = if phase == Phase::Consultation {
                    rng.random_range(0.55..0.95)
                } else {
                    rng.random_range(0.85..0.99)
                };
                let until = closed.unwrap_or(now).max(opened + 1);
                for c in &codes {
                    for (h, building) in by_compound.get(c).map(Vec::as_slice).unwrap_or(&[]) {
                        if !rng.random_bool(share) {
                            continue;
                        }
                        let roll = rng.random_range(0..100);
                        let (view, note) = if roll < 78 {
                            ("agree", "")
                        } else if roll < 88 {
                            ("disagree", "")
                        } else {
                            ("suggestion", SUGGESTIONS[rng.random_range(0..SUGGESTIONS.len())])
                        };
                        view_rows.push(vec![
                            V::U(round),
                            V::U(*h),
                            V::T(district.into()),
                            V::T(building.clone()),
                            V::T(view.into()),
                            V::T(note.into()),
                            V::T("楼栋长".into()),
                            V::I(rng.random_range(opened..until)),
                        ]);
                        n_views += 1;
                    }
                }
            }
            // Problems found in the work: demo cases of 违建, 毁绿种菜, 楼道堆物 in its compounds.
            if k >= 2 {
                for c in &codes {
                    let upper = subtree_upper(c);
                    let found: Vec<Uuid> = crate::on_tx!(&mut *tx, |x| sqlx::query_scalar(
                        "SELECT id FROM cases WHERE district = $1 AND grid_code >= $2 AND grid_code < $3 \
                           AND category_code IN ('SQ05', 'SQ06', 'SQ07') ORDER BY reported_at DESC LIMIT 2"
                    )
                    .bind(district)
                    .bind(c)
                    .bind(&upper)
                    .fetch_all(&mut *x)
                    .await)?;
                    for case in found {
                        case_rows.push(vec![V::U(id), V::U(case), V::T(district.into()), V::I(dates[2])]);
                        n_cases += 1;
                    }
                }
            }
            *counts.entry(phase).or_default() += 1;
        }
    }
    let pb = indicatif::ProgressBar::hidden();
    bulk(
        tx,
        "renovation_projects",
        &[
            "id",
            "district",
            "grid_code",
            "title",
            "summary",
            "phase",
            "created_by_name",
            "created_at",
            "updated_at",
        ],
        projects,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "renovation_compounds",
        &["project_id", "compound_code", "district"],
        comp_rows,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "renovation_phases",
        &["project_id", "phase", "actor_name", "changed_at"],
        phase_rows,
        &pb,
    )
    .await?;
    // Booleans as integers do not bind on PostgreSQL: plans go in unpublished, then one update.
    let published: Vec<(Uuid, i64)> = plan_rows
        .iter()
        .filter_map(|r| match (&r[1], &r[3], &r[5]) {
            (V::U(pid), V::I(v), V::I(1)) => Some((*pid, *v)),
            _ => None,
        })
        .collect();
    let plan_rows: Vec<Vec<V>> = plan_rows
        .into_iter()
        .map(|mut r| {
            r.remove(5);
            r
        })
        .collect();
    bulk(
        tx,
        "renovation_plans",
        &["id", "project_id", "district", "version", "body", "created_by_name", "created_at"],
        plan_rows,
        &pb,
    )
    .await?;
    for (pid, v) in published {
        crate::renovation::store::publish(tx, pid, v).await?;
    }
    bulk(
        tx,
        "renovation_rounds",
        &["id", "project_id", "district", "number", "plan_version", "opened_at", "closed_at"],
        round_rows,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "renovation_views",
        &[
            "round_id",
            "household_id",
            "district",
            "building_code",
            "view",
            "note",
            "recorded_by_name",
            "recorded_at",
        ],
        view_rows,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "renovation_cases",
        &["project_id", "case_id", "district", "created_at"],
        case_rows,
        &pb,
    )
    .await?;
    let total: usize = counts.values().sum();
    Ok(format!(
        "{total} renovation projects ({} done, {} in consultation, {} planning, {} construction, {} acceptance) with {n_views} households' views and {n_cases} problems linked as cases in {:.1}s",
        counts.get(&Phase::Done).unwrap_or(&0),
        counts.get(&Phase::Consultation).unwrap_or(&0),
        counts.get(&Phase::Planning).unwrap_or(&0),
        counts.get(&Phase::Construction).unwrap_or(&0),
        counts.get(&Phase::Acceptance).unwrap_or(&0),
        started.elapsed().as_secs_f64(),
    ))
}
