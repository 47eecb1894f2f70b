//! The demo's councils (协商议事): a 党群议事会 for the compounds the plan gives one (766 in the
//! district), with a chair, vice-chairs and members, 楼栋长 and 单元长 at the seeds' figures (2,246
//! and 4,168), partners; a year of residents' opinions and how each was answered; monthly meetings
//! with sign-ins, minutes and resolutions, some followed by the council cases of the case history;
//! and the `council` account, the first compound's chair.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::history::HCase;
use super::plan::Plan;
use super::{V, bulk};
use crate::auth::{Role, store as auth_store};
use crate::db::{Tx, new_id};

/// Opinions as residents put them, by category.
const OPINIONS: [(&str, &str); 16] = [
    ("环境卫生", "楼道里堆了很多纸箱和旧家具，影响通行，希望物业清理"),
    ("环境卫生", "小区垃圾桶满了没人及时清运，夏天味道很大"),
    ("物业服务", "物业服务费收了但保洁一周才来一次，希望公开服务标准"),
    ("物业服务", "门岗晚上经常没人值守，外来人员随便进出"),
    ("设施维修", "3单元电梯经常停运，老人上下楼很困难，希望尽快维修"),
    ("设施维修", "小区路灯坏了好几盏，晚上回家看不清路"),
    ("停车交通", "电动车在楼下飞线充电，存在安全隐患，希望增设充电桩"),
    ("停车交通", "小区停车位太少，消防通道经常被占用"),
    ("安全隐患", "楼顶有居民私搭乱建，担心漏水和安全问题"),
    ("安全隐患", "单元门禁坏了一个多月，希望尽快修好"),
    ("邻里关系", "楼上装修噪音太大，中午和晚上也不停"),
    ("邻里关系", "有住户在公共绿地圈地种菜，其他居民有意见"),
    ("文体活动", "希望在小区广场组织老年人文艺活动，丰富业余生活"),
    ("文体活动", "建议暑假给孩子们办个托管或读书活动"),
    ("其他", "希望社区定期公示小区公共收益的收支情况"),
    ("其他", "老旧管网经常漏水，建议纳入老旧小区改造"),
];

/// Answers given directly.
const ANSWERS: [&str; 5] = [
    "已与物业沟通，本周内安排处理，请留意楼栋群通知。",
    "经议事会讨论，已纳入本季度小区微改造项目，届时公示方案。",
    "已由楼栋长上门了解情况并协调解决，如仍有问题请再反映。",
    "该事项已提交社区统筹，社区将联合相关部门处理。",
    "感谢建议，议事会将在下次会议上听取更多居民意见后答复。",
];

const RESOLUTIONS: [(&str, &str); 8] = [
    ("物业公司两周内清理各楼道堆放杂物，楼栋长监督", "物业公司"),
    ("增设电动车集中充电桩两处，由物业公司申报安装", "物业公司"),
    ("社区协调城管部门清理公共绿地种菜，恢复绿化", "社区居委会"),
    ("小区公共收益每季度在公示栏公开一次", "业主委员会"),
    ("维修损坏路灯和单元门禁，费用从维修资金列支", "物业公司"),
    ("组织志愿者每周开展一次环境卫生清理", "议事会"),
    ("向街道申报老旧管网改造，纳入明年改造计划", "社区居委会"),
    ("规范消防通道停车，设置禁停标识并加强巡查", "物业公司"),
];

const MEETING_KINDS: [(&str, &str); 4] = [
    ("party_mass", "党群议事会"),
    ("five_party", "五方联动会议"),
    ("three_party", "三方联席会议"),
    ("compound", "小区议事会"),
];

const DAY: i64 = 86_400_000;

/// What the demo made, for the summary line.
pub struct Made {
    pub councils: usize,
    pub building_heads: usize,
    pub unit_heads: usize,
    pub opinions: usize,
    pub meetings: usize,
    pub resolutions: usize,
}

/// Insert the councils and a year of their work. `council_cases` are the history's cases of source
/// `council`, which resolutions and opinions are linked to.
pub async fn insert(tx: &mut Tx, p: &Plan, council_cases: &[&HCase], password_hash: &str, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC0C1);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    // Council units the plan made name their compounds.
    let with_council: Vec<usize> = p
        .units
        .iter()
        .filter(|u| u.kind == "council")
        .filter_map(|u| p.grids.iter().position(|g| Some(&g.code) == u.grid.as_ref()))
        .collect();
    // Residents by building, adults only (born before 2006), household heads first.
    let mut by_building: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, r) in p.residents.iter().enumerate() {
        if r.birth_date.as_str() < "2006" {
            by_building.entry(r.grid).or_default().push(i);
        }
    }
    // Each building's unit numbers, once (a scan of every household per building took seconds).
    let mut units_of: HashMap<usize, Vec<i64>> = HashMap::new();
    for h in &p.households {
        units_of.entry(h.grid).or_default().push(h.unit_no);
    }
    for u in units_of.values_mut() {
        u.sort();
        u.dedup();
    }
    let mut cases_by_compound: HashMap<&str, Vec<&HCase>> = HashMap::new();
    for c in council_cases {
        if c.grid.len() >= crate::grid::rules::code_len(4) {
            cases_by_compound
                .entry(&c.grid[..crate::grid::rules::code_len(4)])
                .or_default()
                .push(c);
        }
    }
    let partner_units: Vec<(&str, Uuid, &str)> = p
        .units
        .iter()
        .filter_map(|u| {
            let role = match u.kind {
                "owners_committee" => "owners_committee",
                "community" => "residents_committee",
                "property_company" => "property_company",
                _ => return None,
            };
            Some((role, u.id, u.grid.as_deref().unwrap_or("")))
        })
        .collect();
    let company_of: HashMap<&str, Uuid> = p
        .units
        .iter()
        .filter(|u| u.kind == "property_company")
        .flat_map(|u| u.serves.iter().map(move |g| (g.as_str(), u.id)))
        .collect();

    let (mut councils, mut members, mut partners, mut opinions, mut meetings, mut attendance, mut resolutions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut n_bheads, mut n_uheads) = (0, 0);
    let year_ago = now - 365 * DAY;
    let mut first_chair: Option<(Uuid, usize)> = None;
    for &gi in &with_council {
        let g = &p.grids[gi];
        let council = new_id();
        councils.push(vec![
            V::U(council),
            V::T(district.into()),
            V::T(g.code.clone()),
            V::T(format!("{}党群议事会", g.name)),
            V::I(year_ago),
        ]);
        for (role, unit, at) in &partner_units {
            let fits = match *role {
                "owners_committee" => *at == g.code,
                "residents_committee" => g.code.starts_with(at) && at.len() == crate::grid::rules::code_len(3),
                _ => false,
            };
            if fits {
                partners.push(vec![V::U(council), V::U(*unit), V::T(role.to_string())]);
            }
        }
        if let Some(c) = company_of.get(g.code.as_str()) {
            partners.push(vec![V::U(council), V::U(*c), V::T("property_company".into())]);
        }
        let buildings: Vec<usize> = p
            .grids
            .iter()
            .enumerate()
            .filter(|(_, b)| b.level == 5 && b.parent.as_deref() == Some(g.code.as_str()))
            .map(|(i, _)| i)
            .collect();
        let people: Vec<usize> = buildings
            .iter()
            .flat_map(|b| by_building.get(b).cloned().unwrap_or_default())
            .collect();
        if people.len() < 8 {
            continue;
        }
        let mut member = |ri: usize, post: &str, building: Option<usize>, unit: Option<i64>, started: i64, ended: Option<i64>| {
            let r = &p.residents[ri];
            members.push(vec![
                V::U(new_id()),
                V::U(council),
                V::T(district.into()),
                V::U(r.id),
                V::T(r.name.clone()),
                V::T(post.into()),
                building.map(|b| V::T(p.grids[b].code.clone())).unwrap_or(V::NullT),
                unit.map(V::I).unwrap_or(V::NullI),
                V::B(r.tags.contains(&"党员")),
                V::I(started),
                ended.map(V::I).unwrap_or(V::NullI),
            ]);
        };
        // Leaders: a chair, two vice-chairs, four members; one earlier chair stepped down (history).
        let mut picked = std::collections::HashSet::new();
        let mut pick = |rng: &mut ChaCha8Rng| loop {
            let x = people[rng.random_range(0..people.len())];
            if picked.insert(x) || picked.len() >= people.len() {
                return x;
            }
        };
        let chair = pick(&mut rng);
        if first_chair.is_none() {
            first_chair = Some((council, chair));
        }
        let earlier = pick(&mut rng);
        member(earlier, "chair", None, None, year_ago, Some(year_ago + 120 * DAY));
        member(chair, "chair", None, None, year_ago + 120 * DAY, None);
        for post in ["vice_chair", "vice_chair", "member", "member", "member", "member"] {
            let x = pick(&mut rng);
            member(x, post, None, None, year_ago, None);
        }
        // 楼栋长 for most buildings, 单元长 for most of their units.
        for &b in &buildings {
            let Some(res) = by_building.get(&b) else { continue };
            if res.is_empty() || rng.random_bool(0.12) {
                continue;
            }
            member(res[rng.random_range(0..res.len())], "building_head", Some(b), None, year_ago, None);
            n_bheads += 1;
            let units = units_of.get(&b).cloned().unwrap_or_default();
            for u in units {
                if rng.random_bool(0.2) {
                    continue;
                }
                let in_unit: Vec<usize> = res
                    .iter()
                    .copied()
                    .filter(|&ri| p.households[p.residents[ri].household].unit_no == u)
                    .collect();
                if let Some(&x) = in_unit.first() {
                    member(x, "unit_head", Some(b), Some(u), year_ago, None);
                    n_uheads += 1;
                }
            }
        }
        // Monthly meetings over the year, the next one planned.
        let cases = cases_by_compound.get(g.code.as_str()).cloned().unwrap_or_default();
        let mut case_iter = cases.iter();
        let mut meeting_ids = Vec::new();
        for month in 0..13 {
            let id = new_id();
            let starts = year_ago + month * 28 * DAY + rng.random_range(0..5) * DAY + 19 * 3_600_000 - 8 * 3_600_000;
            let held = starts < now - DAY;
            let (kind, label) = MEETING_KINDS[rng.random_range(0..MEETING_KINDS.len())];
            meetings.push(vec![
                V::U(id),
                V::U(council),
                V::T(district.into()),
                V::T(g.code.clone()),
                V::T(kind.into()),
                V::T(format!("{}{}月{}", g.name, (month % 12) + 1, label)),
                V::T("小区党群服务站".into()),
                V::I(starts),
                V::T("社区两委、业委会、物业公司、楼栋长代表".into()),
                V::T(format!("{:06}", rng.random_range(0..1_000_000u32))),
                V::T(if held { "held" } else { "planned" }.into()),
                V::T(if held {
                    "会议听取了楼栋长收集的居民意见，围绕环境卫生、停车和设施维修逐项协商，形成以下决议。".into()
                } else {
                    String::new()
                }),
                V::T("议事会".into()),
                V::I(starts - 7 * DAY),
                if held { V::I(starts + 2 * 3_600_000) } else { V::NullI },
            ]);
            meeting_ids.push((id, starts, held));
            if !held {
                continue;
            }
            let mut seen = std::collections::HashSet::new();
            for _ in 0..rng.random_range(6..12) {
                let ri = people[rng.random_range(0..people.len())];
                if seen.insert(ri) {
                    attendance.push(vec![
                        V::U(id),
                        V::U(p.residents[ri].id),
                        V::T(p.residents[ri].name.clone()),
                        V::T(if rng.random_bool(0.8) { "code" } else { "staff" }.into()),
                        V::I(starts + rng.random_range(0..1_800_000)),
                    ]);
                }
            }
            for pos in 1..=rng.random_range(1..3i64) {
                let (body, who) = RESOLUTIONS[rng.random_range(0..RESOLUTIONS.len())];
                let due = starts + rng.random_range(14..60) * DAY;
                // Some follow a council case of the history; of the rest most were carried out.
                let case = if rng.random_bool(0.5) { case_iter.next() } else { None };
                let (case_id, done_at, note) = match case {
                    Some(c) => (
                        V::U(c.id),
                        c.closed_at.filter(|_| c.status == "closed").map(V::I).unwrap_or(V::NullI),
                        "案件已结案",
                    ),
                    None if due < now && rng.random_bool(0.85) => (V::NullU, V::I(due - rng.random_range(1..10) * DAY), "已按期落实"),
                    None => (V::NullU, V::NullI, ""),
                };
                resolutions.push(vec![
                    V::U(new_id()),
                    V::U(id),
                    V::U(council),
                    V::T(district.into()),
                    V::T(g.code.clone()),
                    V::I(pos),
                    V::T(body.into()),
                    V::T(who.into()),
                    V::I(due),
                    case_id,
                    done_at,
                    V::T(note.into()),
                    V::I(starts + 3 * 3_600_000),
                ]);
            }
        }
        // About two opinions a month per council; the newest still waiting.
        for _ in 0..rng.random_range(18..32) {
            let at = year_ago + rng.random_range(0..365 * DAY);
            let (category, body) = OPINIONS[rng.random_range(0..OPINIONS.len())];
            let b = buildings[rng.random_range(0..buildings.len())];
            let ri = by_building.get(&b).and_then(|v| v.first().copied()).unwrap_or(people[0]);
            let anonymous = rng.random_bool(0.2);
            let age = now - at;
            let roll = rng.random_range(0..100);
            let (status, answer, meeting, case, answered) = if age < 10 * DAY && roll < 70 {
                ("open", "", None, None, None)
            } else if roll < 55 {
                (
                    "answered",
                    ANSWERS[rng.random_range(0..ANSWERS.len())],
                    None,
                    None,
                    Some(at + rng.random_range(1..6) * DAY),
                )
            } else if roll < 75 {
                let m = meeting_ids.iter().find(|(_, s, _)| *s > at).map(|m| m.0);
                match m {
                    Some(m) => ("agenda", "已列入议事会议题", Some(m), None, Some(at + DAY)),
                    None => ("open", "", None, None, None),
                }
            } else if roll < 90 {
                match case_iter.next() {
                    Some(c) => ("case", "已转为案件办理，可在此查看进度", None, Some(c.id), Some(c.reported_at)),
                    None => ("answered", ANSWERS[0], None, None, Some(at + 2 * DAY)),
                }
            } else if roll < 95 {
                ("open", "", None, None, None)
            } else {
                ("answered", ANSWERS[2], None, None, Some(at + 3 * DAY))
            };
            opinions.push(vec![
                V::U(new_id()),
                V::U(council),
                V::T(district.into()),
                V::T(p.grids[b].code.clone()),
                V::T(category.into()),
                V::T(body.into()),
                V::B(anonymous),
                V::T(p.residents[ri].name.clone()),
                V::U(p.residents[ri].id),
                V::NullU,
                V::T("楼栋长".into()),
                V::T(status.into()),
                V::T(answer.into()),
                V::T(if answered.is_some() { "议事会" } else { "" }.into()),
                meeting.map(V::U).unwrap_or(V::NullU),
                case.map(V::U).unwrap_or(V::NullU),
                V::NullU,
                V::I(at.min(now)),
                answered.map(|x: i64| V::I(x.min(now))).unwrap_or(V::NullI),
            ]);
        }
    }
    let made = Made {
        councils: councils.len(),
        building_heads: n_bheads,
        unit_heads: n_uheads,
        opinions: opinions.len(),
        meetings: meetings.len(),
        resolutions: resolutions.len(),
    };
    bulk(
        tx,
        "councils",
        &["id", "district", "grid_code", "name", "created_at"],
        councils,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "council_members",
        &[
            "id",
            "council_id",
            "district",
            "resident_id",
            "name",
            "post",
            "building_code",
            "unit_no",
            "party_member",
            "started_at",
            "ended_at",
        ],
        members,
        &pb,
    )
    .await?;
    bulk(tx, "council_partners", &["council_id", "unit_id", "role"], partners, &pb).await?;
    bulk(
        tx,
        "council_meetings",
        &[
            "id",
            "council_id",
            "district",
            "grid_code",
            "kind",
            "title",
            "place",
            "starts_at",
            "invitees",
            "checkin_code",
            "status",
            "minutes",
            "created_by",
            "created_at",
            "held_at",
        ],
        meetings,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "council_attendance",
        &["meeting_id", "resident_id", "name", "via", "at_ms"],
        attendance,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "council_resolutions",
        &[
            "id",
            "meeting_id",
            "council_id",
            "district",
            "grid_code",
            "position",
            "body",
            "responsible",
            "due_at",
            "case_id",
            "done_at",
            "done_note",
            "created_at",
        ],
        resolutions,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "council_opinions",
        &[
            "id",
            "council_id",
            "district",
            "grid_code",
            "category",
            "body",
            "anonymous",
            "author_name",
            "resident_id",
            "recorded_by",
            "recorder_name",
            "status",
            "answer",
            "answered_by",
            "meeting_id",
            "case_id",
            "merged_into",
            "created_at",
            "answered_at",
        ],
        opinions,
        &pb,
    )
    .await?;
    // The `council` account: the first council's chair, a resident with their own account.
    if let Some((_, ri)) = first_chair {
        let r = &p.residents[ri];
        let id = auth_store::insert_user(tx, district, "council", &r.name, password_hash).await?;
        auth_store::insert_post(tx, district, id, Role::Resident, Some(&p.grids[r.grid].code), None).await?;
        crate::registry::residents::link_account_in(tx, district, id, r.id).await?;
    }
    Ok(format!(
        "{} councils with {} building heads and {} unit heads, {} opinions, {} meetings, {} resolutions",
        made.councils, made.building_heads, made.unit_heads, made.opinions, made.meetings, made.resolutions
    ))
}
