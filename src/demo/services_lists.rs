//! The demo's four lists and service sites (四张清单, 服务阵地): for every community ~60 needs,
//! ~12 resources (its volunteer teams, party members, shops, co-building units), 30 projects
//! (40 a community in the first street) most with results; sites at streets, communities and compounds with
//! rooms, a year of bookings and four weeks ahead, and a year of receptions.

use std::time::Instant;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};
use crate::services::lists::rules::KINDS;
use crate::services::sites::rules::SLOT_MS;

const NEEDS: [(&str, &str); 16] = [
    ("daily_care", "独居老人希望每周有人上门打扫卫生"),
    ("daily_care", "失能老人需要定期助浴和理发"),
    ("health", "高龄老人希望定期上门测血压血糖"),
    ("health", "慢性病患者需要家庭医生签约服务"),
    ("meals_bathing", "老人做饭不便，希望社区食堂送餐上门"),
    ("meals_bathing", "希望开设老年助餐点"),
    ("repairs", "楼道灯损坏，老人夜间出行不便"),
    ("repairs", "卫生间需要加装扶手防滑"),
    ("counselling", "空巢老人情绪低落，希望有人陪伴聊天"),
    ("counselling", "留守儿童需要课后陪伴和心理疏导"),
    ("legal_aid", "赡养纠纷需要法律咨询"),
    ("legal_aid", "农民工讨薪需要法律援助"),
    ("employment", "失业人员希望参加技能培训"),
    ("employment", "残疾人希望找到居家灵活就业岗位"),
    ("other", "希望小区开展防诈骗宣传"),
    ("other", "希望组织暑期青少年托管"),
];

const UNITS: [(&str, &str, &str); 8] = [
    ("区人民医院", "health", "每月第一个周六上午"),
    ("区司法局法律援助中心", "legal_aid", "每周三下午"),
    ("区人社局就业服务中心", "employment", "每月两次"),
    ("区供电公司共产党员服务队", "repairs", "随叫随到"),
    ("区中医院", "health", "每周二上午"),
    ("区心理咨询协会", "counselling", "每月一次"),
    ("区老年大学", "other", "每周五下午"),
    ("区妇联", "counselling", "每季度一次"),
];

const PROJECTS: [(&str, &str); 8] = [
    ("daily_care", "银龄关爱上门服务"),
    ("health", "健康义诊进社区"),
    ("meals_bathing", "幸福食堂助餐"),
    ("repairs", "红色物业微修缮"),
    ("counselling", "暖心陪伴计划"),
    ("legal_aid", "法律明白人进万家"),
    ("employment", "家门口就业驿站"),
    ("other", "平安社区宣传月"),
];

const PURPOSES: [&str; 8] = [
    "党群议事会",
    "矛盾纠纷调解",
    "党员学习日",
    "志愿者培训",
    "老年书法班",
    "四点半课堂",
    "居民代表会议",
    "业委会例会",
];

const MATTERS: [(&str, &str); 6] = [
    ("咨询养老保险缴费", ""),
    ("反映楼道堆物", "小区物业"),
    ("办理高龄津贴", ""),
    ("邻里漏水纠纷", "社区调解委员会"),
    ("咨询低保申请条件", "街道民政办"),
    ("开具居住证明", ""),
];

fn kind_of(k: &str) -> &'static str {
    KINDS.iter().find(|x| x.0 == k).map_or("other", |x| x.0)
}

/// Insert the stage; the summary line says what was made.
pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5E41);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let day = 86_400_000i64;
    let c3 = crate::grid::rules::code_len(3);
    let communities: Vec<_> = p.grids.iter().filter(|g| g.level == 3).collect();
    let first_street = p.grids.iter().find(|g| g.level == 2).map(|g| g.code.clone()).unwrap_or_default();
    let teams: Vec<(String, String)> = crate::on_tx!(&mut *tx, |c| sqlx::query_as::<_, (String, String)>(
        "SELECT name, grid_code FROM volunteer_teams WHERE district = $1 ORDER BY name"
    )
    .bind(district)
    .fetch_all(c)
    .await)?;
    let members: Vec<(String, String)> = crate::on_tx!(&mut *tx, |c| {
        sqlx::query_as::<_, (String, String)>(
        "SELECT name, grid_code FROM party_members WHERE district = $1 AND kind = 'resident' AND grid_code IS NOT NULL ORDER BY created_at, id"
    )
    .bind(district)
    .fetch_all(c)
    .await
    })?;
    // Residents by community, a few of each, for needs named after a person.
    let mut people: std::collections::HashMap<&str, Vec<Uuid>> = std::collections::HashMap::new();
    for r in &p.residents {
        let g = &p.grids[r.grid].code;
        if let Some(k) = g.get(..c3) {
            let v = people.entry(k).or_default();
            if v.len() < 40 {
                v.push(r.id);
            }
        }
    }
    let (mut needs, mut resources, mut projects, mut pneeds, mut pres, mut results) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for g in &communities {
        let places: Vec<&str> = std::iter::once(g.code.as_str())
            .chain(
                p.grids
                    .iter()
                    .filter(|x| x.level == 4 && x.code.starts_with(&g.code))
                    .map(|x| x.code.as_str()),
            )
            .collect();
        let folks = people.get(g.code.as_str()).cloned().unwrap_or_default();
        // Resources: the community's volunteer teams and party members, shops, units.
        let mut res: Vec<(Uuid, &'static str)> = Vec::new();
        let mut add_res = |rng: &mut ChaCha8Rng, pk: &str, provider: String, kind: &'static str, period: &str| {
            let id = new_id();
            res.push((id, kind));
            resources.push(vec![
                V::U(id),
                V::T(district.into()),
                V::T(g.code.clone()),
                V::T(pk.into()),
                V::T(provider.chars().take(64).collect()),
                V::T(kind.into()),
                V::I(rng.random_range(10..200)),
                V::T(period.into()),
                V::T(String::new()),
                V::I(now - rng.random_range(200..400) * day),
            ]);
        };
        for (name, _) in teams.iter().filter(|t| t.1.starts_with(&g.code)).take(3) {
            let k = KINDS[rng.random_range(0..KINDS.len())].0;
            add_res(&mut rng, "volunteer_team", name.clone(), k, "每周六上午");
        }
        for (name, _) in members.iter().filter(|m| m.1.starts_with(&g.code)).take(3) {
            let k = ["daily_care", "repairs", "counselling"][rng.random_range(0..3)];
            add_res(
                &mut rng,
                "party_member",
                format!("党员{}", crate::identity::mask_name(name)),
                k,
                "每月两次",
            );
        }
        for pl in p.places.iter().filter(|x| x.kind == "shop" && x.grid.starts_with(&g.code)).take(3) {
            let k = ["meals_bathing", "repairs", "other"][rng.random_range(0..3)];
            add_res(&mut rng, "merchant", pl.name.clone(), k, "工作日");
        }
        for _ in 0..4 {
            let (n, k, per) = UNITS[rng.random_range(0..UNITS.len())];
            add_res(&mut rng, "unit", n.into(), kind_of(k), per);
        }
        // Needs: two per project, plus some still waiting for a resource.
        // The first street is the seeds' pilot: 40 projects a community there.
        let n_projects = if g.code.starts_with(&first_street) { 40usize } else { 30 };
        let n_needs = n_projects * 2 + rng.random_range(6..14);
        let mut need_ids: Vec<(Uuid, &'static str)> = Vec::new();
        for i in 0..n_needs {
            let (k, text) = NEEDS[rng.random_range(0..NEEDS.len())];
            let id = new_id();
            need_ids.push((id, kind_of(k)));
            let who = (i % 2 == 0 && !folks.is_empty()).then(|| folks[rng.random_range(0..folks.len())]);
            let source = ["resident", "opinion", "visit", "officer"][rng.random_range(0..4)];
            // Older needs first: the projects answer those; the last ones wait.
            let at = now - ((n_needs - i) as i64 * 5 + rng.random_range(0..4)) * day;
            needs.push(vec![
                V::U(id),
                V::T(district.into()),
                V::T(places[rng.random_range(0..places.len())].into()),
                who.map_or(V::NullU, V::U),
                V::T(k.into()),
                V::T(if rng.random_range(0..6) == 0 { "urgent" } else { "normal" }.into()),
                V::T(text.into()),
                V::T(source.into()),
                V::T(format!("{}网格员", g.name)),
                V::I(at),
            ]);
        }
        // Unused resources: the last two never join a project.
        let usable = res.len().saturating_sub(2).max(1);
        for j in 0..n_projects {
            let id = new_id();
            let (_, name) = PROJECTS[rng.random_range(0..PROJECTS.len())];
            let start = now - ((n_projects - j) as i64 * 10 + 20) * day;
            let end = start + rng.random_range(20..90) * day;
            projects.push(vec![
                V::U(id),
                V::T(district.into()),
                V::T(g.code.clone()),
                V::T(format!("{}{}", g.name, name)),
                V::T(format!("{}社区书记", g.name)),
                V::T(crate::time::day_ms(start)),
                V::T(crate::time::day_ms(end)),
                V::I(start),
            ]);
            for n in &need_ids[j * 2..j * 2 + 2] {
                pneeds.push(vec![V::U(id), V::U(n.0)]);
            }
            let r1 = rng.random_range(0..usable);
            pres.push(vec![V::U(id), V::U(res[r1].0)]);
            let r2 = rng.random_range(0..usable);
            if r2 != r1 {
                pres.push(vec![V::U(id), V::U(res[r2].0)]);
            }
            // Projects that ended delivered their result; the newest are still running.
            if end < now && rng.random_range(0..10) < 8 {
                results.push(vec![
                    V::U(id),
                    V::T(district.into()),
                    V::T(format!("{name}顺利完成，群众反响良好")),
                    V::I(rng.random_range(10..300)),
                    V::I(rng.random_range(0..9)),
                    if rng.random_range(0..5) == 0 {
                        V::NullI
                    } else {
                        V::I(rng.random_range(3..=5))
                    },
                    V::T(format!("{}社区工作者", g.name)),
                    V::I(end),
                ]);
            }
        }
    }
    let (n_needs, n_resources, n_projects, n_results) = (needs.len(), resources.len(), projects.len(), results.len());
    let first_street_projects = communities.iter().filter(|g| g.code.starts_with(&first_street)).count() * 40;
    bulk(
        tx,
        "service_needs",
        &[
            "id",
            "district",
            "grid_code",
            "resident_id",
            "kind",
            "urgency",
            "description",
            "source",
            "recorded_by",
            "created_at",
        ],
        needs,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "service_resources",
        &[
            "id",
            "district",
            "grid_code",
            "provider_kind",
            "provider",
            "kind",
            "capacity",
            "period",
            "description",
            "created_at",
        ],
        resources,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "service_projects",
        &["id", "district", "grid_code", "name", "owner", "starts_on", "ends_on", "created_at"],
        projects,
        &pb,
    )
    .await?;
    bulk(tx, "service_project_needs", &["project_id", "need_id"], pneeds, &pb).await?;
    bulk(tx, "service_project_resources", &["project_id", "resource_id"], pres, &pb).await?;
    bulk(
        tx,
        "service_results",
        &[
            "project_id",
            "district",
            "delivered",
            "people",
            "photos",
            "rating",
            "recorded_by",
            "recorded_at",
        ],
        results,
        &pb,
    )
    .await?;

    // Sites: a centre per street; per community a centre, a practice station and (every other)
    // a day-care centre; a warm station at every fourth compound, a cool space at every seventh.
    let (mut sites, mut rooms, mut bookings, mut slots, mut receptions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut booked_rooms: Vec<(Uuid, Uuid)> = Vec::new();
    let mut centres: Vec<Uuid> = Vec::new();
    let mut add_site = |g: &super::plan::PGrid, kind: &str, name: String, hours: &str, services: &str, rs: &[(&str, i64)], book: bool| {
        let id = new_id();
        sites.push(vec![
            V::U(id),
            V::T(district.into()),
            V::T(g.code.clone()),
            V::T(name),
            V::T(kind.into()),
            V::T(format!("{}服务大厅", g.name).chars().take(128).collect()),
            V::T(hours.into()),
            V::T(services.into()),
            V::I(now - 400 * day),
        ]);
        for (n, seats) in rs {
            let rid = new_id();
            rooms.push(vec![V::U(rid), V::U(id), V::T((*n).into()), V::I(*seats)]);
            if book {
                booked_rooms.push((id, rid));
            }
        }
        id
    };
    for g in p.grids.iter().filter(|g| g.level == 2) {
        add_site(
            g,
            "party_center",
            format!("{}党群服务中心", g.name),
            "周一至周日 8:30–17:30",
            "政务服务、党员活动、志愿服务",
            &[("多功能厅", 100), ("会议室", 30)],
            false,
        );
    }
    for g in &communities {
        let c = add_site(
            g,
            "party_center",
            format!("{}党群服务中心", g.name),
            "周一至周六 8:30–18:00",
            "便民服务、调解、议事、阅读",
            &[("会议室", 30), ("调解室", 8), ("阅览室", 20)],
            true,
        );
        centres.push(c);
        add_site(
            g,
            "civilization",
            format!("{}新时代文明实践站", g.name),
            "周一至周日 9:00–21:00",
            "理论宣讲、文化活动、志愿服务",
            &[("活动室", 40)],
            true,
        );
        if rng.random_range(0..2) == 0 {
            add_site(
                g,
                "day_care",
                format!("{}日间照料中心", g.name),
                "周一至周五 8:00–18:00",
                "助餐、休息、康复、文娱",
                &[("休息室", 12)],
                false,
            );
        }
    }
    for (i, g) in p.grids.iter().filter(|g| g.level == 4).enumerate() {
        if i % 4 == 0 {
            add_site(
                g,
                "warm_station",
                format!("{}暖心驿站", g.name),
                "全天开放",
                "饮水、充电、休息（户外劳动者）",
                &[("休息区", 6)],
                false,
            );
        } else if i % 7 == 0 {
            add_site(
                g,
                "cool_space",
                format!("{}清凉空间", g.name),
                "6月至9月 10:00–18:00",
                "纳凉、饮水、防暑药品",
                &[("纳凉区", 10)],
                false,
            );
        }
    }
    let (n_sites, n_rooms) = (sites.len(), rooms.len());
    // A year of bookings and four weeks ahead: in each room up to two a week, on different days,
    // between 8:00 and 20:00 China time, so no two share a slot.
    let week0 = crate::time::week_of(now).0;
    for (site, room) in &booked_rooms {
        for w in -52i64..4 {
            let n = rng.random_range(0..3);
            let mut days: Vec<i64> = Vec::new();
            while days.len() < n {
                let d = rng.random_range(0..6);
                if !days.contains(&d) {
                    days.push(d);
                }
            }
            for d in days {
                let start = week0 + w * 7 * day + d * day + rng.random_range(16..36) * SLOT_MS;
                let len = rng.random_range(2..7) * SLOT_MS;
                let id = new_id();
                let kind = ["staff", "council", "resident"][rng.random_range(0..3)];
                bookings.push(vec![
                    V::U(id),
                    V::T(district.into()),
                    V::U(*site),
                    V::U(*room),
                    V::I(start),
                    V::I(start + len),
                    V::T(PURPOSES[rng.random_range(0..PURPOSES.len())].into()),
                    V::T(kind.into()),
                    V::NullU,
                    V::T(
                        match kind {
                            "staff" => "社区工作者",
                            "council" => "党群议事会",
                            _ => "居民",
                        }
                        .into(),
                    ),
                    V::I(start - rng.random_range(1..10) * day),
                ]);
                for s in (start..start + len).step_by(SLOT_MS as usize) {
                    slots.push(vec![V::U(*room), V::I(s), V::U(id)]);
                }
            }
        }
    }
    for c in &centres {
        for w in 0..52i64 {
            for _ in 0..rng.random_range(0..4) {
                let at = now - w * 7 * day - rng.random_range(1..7) * day + rng.random_range(9..17) * 3_600_000;
                let (m, referred) = MATTERS[rng.random_range(0..MATTERS.len())];
                let surname = super::names::SURNAMES[rng.random_range(0..super::names::SURNAMES.len())];
                receptions.push(vec![
                    V::U(new_id()),
                    V::T(district.into()),
                    V::U(*c),
                    V::I(at),
                    V::T(format!("{surname}{}", if rng.random_range(0..2) == 0 { "先生" } else { "女士" })),
                    V::T(m.into()),
                    V::T(if referred.is_empty() { "handled" } else { "referred" }.into()),
                    V::T(referred.into()),
                    if referred.is_empty() || w > 0 {
                        V::I(at + 3_600_000)
                    } else {
                        V::NullI
                    },
                    V::T("值班社工".into()),
                ]);
            }
        }
    }
    let (n_bookings, n_receptions) = (bookings.len(), receptions.len());
    bulk(
        tx,
        "service_sites",
        &[
            "id",
            "district",
            "grid_code",
            "name",
            "kind",
            "address",
            "hours",
            "services",
            "created_at",
        ],
        sites,
        &pb,
    )
    .await?;
    bulk(tx, "site_rooms", &["id", "site_id", "name", "seats"], rooms, &pb).await?;
    bulk(
        tx,
        "room_bookings",
        &[
            "id",
            "district",
            "site_id",
            "room_id",
            "start_ms",
            "end_ms",
            "purpose",
            "booker_kind",
            "booked_by",
            "booker_name",
            "created_at",
        ],
        bookings,
        &pb,
    )
    .await?;
    bulk(tx, "room_slots", &["room_id", "slot_start", "booking_id"], slots, &pb).await?;
    bulk(
        tx,
        "site_receptions",
        &[
            "id",
            "district",
            "site_id",
            "at_ms",
            "visitor",
            "matter",
            "outcome",
            "referred_to",
            "closed_at",
            "recorded_by",
        ],
        receptions,
        &pb,
    )
    .await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: services lists stage");
    Ok(format!(
        "four lists: {n_needs} needs, {n_resources} resources, {n_projects} projects ({first_street_projects} in the first street), {n_results} results; \
         {n_sites} service sites with {n_rooms} rooms, {n_bookings} bookings, {n_receptions} receptions"
    ))
}
