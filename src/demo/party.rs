//! The demo's party building (党建): the district committee, a 党工委 per street, a 党委 or 党总支
//! per community, a branch in most compounds (a few left without) and in some property companies;
//! every resident tagged 党员 a member; 68 district units with 2,920 sunk-down cadres reported in
//! and assigned to compounds; 215 members with consented posts and 28 model households in the
//! first street; a year of service records; the `party` (first compound's branch secretary) and
//! `member` (a member living in building 1) accounts.

use std::collections::{HashMap, HashSet};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::names::{FEMALE_CHARS, MALE_CHARS, MOBILE_PREFIXES, SURNAMES};
use super::plan::Plan;
use super::{V, bulk};
use crate::auth::{Role, store as auth_store};
use crate::db::{Tx, new_id};
use crate::party::rules::POSTS;

/// District units added when the plan has fewer than 68 departments (区直机关、共建单位).
const MORE_UNITS: &[&str] = &[
    "区委办公室",
    "区人大常委会办公室",
    "区政府办公室",
    "区政协办公室",
    "区纪委监委",
    "区委宣传部",
    "区委统战部",
    "区发展和改革委员会",
    "区财政局",
    "区审计局",
    "区统计局",
    "区商务局",
    "区农业农村局",
    "区科学技术和工业信息化局",
    "国家税务总局周口市川汇区税务局",
    "区住房保障中心",
    "区机关事务服务中心",
    "区档案馆",
    "区融媒体中心",
    "区人民法院",
    "区人民检察院",
    "区委党校",
    "区工商业联合会",
    "区科学技术协会",
    "区文学艺术界联合会",
    "区城市管理执法大队",
    "区政务服务和大数据管理局",
    "区公共资源交易中心",
    "区疾病预防控制中心",
    "区人民医院",
    "区妇幼保健院",
    "区供销合作社",
    "区房屋征收服务中心",
    "区金融服务中心",
    "区委机构编制委员会办公室",
];

const SERVICE: [&str; 12] = [
    "入户宣传垃圾分类政策",
    "参加小区环境卫生清理",
    "走访慰问独居老人",
    "调解邻里噪音纠纷",
    "楼道杂物清理劝导",
    "协助开展消防安全检查",
    "参加党群议事会议",
    "电动车飞线充电巡查",
    "文明养犬劝导",
    "为老年人代办医保业务",
    "协助物业排查漏水隐患",
    "开展反诈骗宣传",
];

const DAY: i64 = 86_400_000;

/// Figures of a scale.
struct Figures {
    units: usize,
    cadres: usize,
    posts: usize,
    models: usize,
}

const DISTRICT: Figures = Figures {
    units: 68,
    cadres: 2_920,
    posts: 215,
    models: 28,
};

const SMALL: Figures = Figures {
    units: 12,
    cadres: 60,
    posts: 30,
    models: 6,
};

fn person(rng: &mut ChaCha8Rng) -> String {
    let u: f64 = rng.random();
    let s = SURNAMES[((u * u * u) * SURNAMES.len() as f64) as usize % SURNAMES.len()];
    let chars = if rng.random_bool(0.5) { MALE_CHARS } else { FEMALE_CHARS };
    let mut n = s.to_string() + chars[rng.random_range(0..chars.len())];
    if rng.random_bool(0.6) {
        n += chars[rng.random_range(0..chars.len())];
    }
    n
}

fn masked_mobile(rng: &mut ChaCha8Rng) -> String {
    let p = MOBILE_PREFIXES[rng.random_range(0..MOBILE_PREFIXES.len())];
    crate::identity::mask_phone(&format!("{p}{:08}", rng.random_range(0..100_000_000u32)))
}

/// Insert the party's data. Runs after the councils and decisions (their accounts are linked).
pub async fn insert(tx: &mut Tx, p: &Plan, small: bool, password_hash: &str, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9A27);
    let district = p.district_code;
    let f = if small { SMALL } else { DISTRICT };
    let pb = indicatif::ProgressBar::hidden();
    let day = |ms: i64| crate::time::day_ms(ms);
    let year: i64 = day(now)[..4].parse().unwrap_or(2026);

    // Organisations.
    let mut orgs: Vec<Vec<V>> = Vec::new();
    let mut org_at: HashMap<&str, Uuid> = HashMap::new();
    let push_org = |orgs: &mut Vec<Vec<V>>,
                    parent: Option<Uuid>,
                    kind: &str,
                    name: String,
                    grid: Option<&str>,
                    unit: Option<Uuid>,
                    report: Option<(&str, String)>| {
        let id = new_id();
        orgs.push(vec![
            V::U(id),
            V::T(district.into()),
            parent.map(V::U).unwrap_or(V::NullU),
            V::T(kind.into()),
            V::T(name),
            grid.map(|g| V::T(g.into())).unwrap_or(V::NullT),
            unit.map(V::U).unwrap_or(V::NullU),
            V::NullU,
            report.as_ref().map(|r| V::T(r.0.into())).unwrap_or(V::NullT),
            report.map(|r| V::T(r.1)).unwrap_or(V::NullT),
            V::I(now - 400 * DAY),
        ]);
        id
    };
    let root = p.grids.iter().find(|g| g.level == 1).expect("the district");
    let committee = push_org(
        &mut orgs,
        None,
        "district_committee",
        format!("中共{}委员会", root.name),
        Some(&root.code),
        None,
        None,
    );
    org_at.insert(&root.code, committee);
    let first_compound = p.grids.iter().find(|g| g.level == 4).map(|g| g.code.clone()).unwrap_or_default();
    let mut compound_ix = 0usize;
    let mut without_branch = 0usize;
    for g in &p.grids {
        let (kind, name) = match g.level {
            2 => ("working_committee", format!("中共{}工作委员会", g.name)),
            3 if g.kind == "village" => ("committee", format!("中共{}委员会", g.name)),
            3 if g.children >= 8 => ("committee", format!("中共{}委员会", g.name)),
            3 => ("general_branch", format!("中共{}总支部委员会", g.name)),
            4 => {
                compound_ix += 1;
                // A few compounds have no branch yet (coverage has gaps): one in 23, and in the
                // small district its third.
                let gap = if small { compound_ix == 3 } else { compound_ix.is_multiple_of(23) };
                if g.code != first_compound && gap {
                    without_branch += 1;
                    continue;
                }
                ("branch", format!("中共{}支部委员会", g.name))
            }
            _ => continue,
        };
        let parent = g.parent.as_deref().and_then(|x| org_at.get(x)).copied();
        let id = push_org(&mut orgs, parent, kind, name, Some(&g.code), None, None);
        org_at.insert(&g.code, id);
    }
    // Branches in about a third of the property companies, under the community they first serve.
    let mut company_branches = 0;
    for (i, u) in p.units.iter().filter(|u| u.kind == "property_company").enumerate() {
        if !i.is_multiple_of(3) {
            continue;
        }
        let Some(serves) = u.serves.first() else { continue };
        let community = &serves[..crate::grid::rules::code_len(3).min(serves.len())];
        let parent = org_at.get(community).copied();
        push_org(
            &mut orgs,
            parent,
            "branch",
            format!("{}党支部", u.name),
            None,
            Some(u.id),
            Some((community, day(now - 300 * DAY))),
        );
        company_branches += 1;
    }
    // District units: the plan's departments, and more up to the figure.
    let mut units: Vec<(Uuid, String)> = p
        .units
        .iter()
        .filter(|u| u.kind == "department")
        .map(|u| (u.id, u.name.clone()))
        .take(f.units)
        .collect();
    let mut new_units = Vec::new();
    for name in MORE_UNITS.iter().take(f.units.saturating_sub(units.len())) {
        let id = new_id();
        new_units.push(vec![
            V::U(id),
            V::T(district.into()),
            V::T("department".into()),
            V::T((*name).into()),
            V::T(district.into()),
            V::NullT,
            V::T(person(&mut rng)),
            V::T(format!("0394-8{:06}", rng.random_range(0..1_000_000u32))),
            V::I(now - 500 * DAY),
        ]);
        units.push((id, (*name).into()));
    }
    bulk(
        tx,
        "units",
        &[
            "id",
            "district",
            "kind",
            "name",
            "grid_code",
            "credit_code",
            "contact_name",
            "contact_phone",
            "created_at",
        ],
        new_units,
        &pb,
    )
    .await?;
    let compounds: Vec<&super::plan::PGrid> = p.grids.iter().filter(|g| g.level == 4).collect();
    let mut unit_org = Vec::new();
    for (i, (uid, name)) in units.iter().enumerate() {
        // Each unit's branch reports to a community (单位党组织到社区报到).
        let c = compounds[(i * 7919) % compounds.len()];
        let community = c.parent.clone().unwrap_or_default();
        let id = push_org(
            &mut orgs,
            Some(committee),
            "branch",
            format!("{name}机关党支部"),
            None,
            Some(*uid),
            Some((&community, day(now - 330 * DAY))),
        );
        unit_org.push(id);
    }
    let n_orgs = orgs.len();
    // The `party` account first: the first compound's branch names it as its secretary.
    let taken: HashSet<Uuid> = crate::on_tx!(&mut *tx, |c| sqlx::query_scalar::<_, Uuid>(
        "SELECT resident_id FROM resident_accounts"
    )
    .fetch_all(&mut *c)
    .await)?
    .into_iter()
    .collect();
    let is_member = |r: &super::plan::PResident| r.tags.contains(&"党员");
    let first_building = p
        .grids
        .iter()
        .find(|g| g.level == 5 && g.code.starts_with(&first_compound))
        .map(|g| g.code.clone());
    let secretary = p.residents.iter().find(|r| {
        is_member(r)
            && !taken.contains(&r.id)
            && p.grids[r.grid].code.starts_with(&first_compound)
            && Some(&p.grids[r.grid].code) != first_building.as_ref()
    });
    let member_acc = p
        .residents
        .iter()
        .find(|r| is_member(r) && !taken.contains(&r.id) && Some(&p.grids[r.grid].code) == first_building.as_ref());
    let mut accounts = Vec::new();
    for (username, r) in [("party", secretary), ("member", member_acc)] {
        let Some(r) = r else { continue };
        let id = auth_store::insert_user(tx, district, username, &r.name, password_hash).await?;
        auth_store::insert_post(tx, district, id, Role::Resident, Some(&p.grids[r.grid].code), None).await?;
        crate::registry::residents::link_account_in(tx, district, id, r.id).await?;
        accounts.push((username, id, r.id));
    }
    if let Some((_, uid, _)) = accounts.iter().find(|a| a.0 == "party")
        && let Some(&branch) = org_at.get(first_compound.as_str())
        && let Some(row) = orgs.iter_mut().find(|o| matches!(o[0], V::U(x) if x == branch))
    {
        row[7] = V::U(*uid);
    }
    bulk(
        tx,
        "party_orgs",
        &[
            "id",
            "district",
            "parent_id",
            "kind",
            "name",
            "grid_code",
            "unit_id",
            "secretary_user_id",
            "report_grid",
            "reported_on",
            "created_at",
        ],
        orgs,
        &pb,
    )
    .await?;

    // Members: every resident tagged 党员, in the branch of their compound (or their community's).
    let first_street = p.grids.iter().find(|g| g.level == 2).map(|g| g.code.clone()).unwrap_or_default();
    let mut members = Vec::new();
    let mut member_of_resident: HashMap<Uuid, Uuid> = HashMap::new();
    // (member, its place, in the first street, household index)
    let mut resident_members: Vec<(Uuid, usize, usize)> = Vec::new();
    for r in p.residents.iter().filter(|r| is_member(r)) {
        let g = &p.grids[r.grid];
        let compound = &g.code[..crate::grid::rules::code_len(4).min(g.code.len())];
        let community = &g.code[..crate::grid::rules::code_len(3).min(g.code.len())];
        let org = org_at.get(compound).or_else(|| org_at.get(community)).copied();
        let id = new_id();
        members.push(vec![
            V::U(id),
            V::T(district.into()),
            org.map(V::U).unwrap_or(V::NullU),
            V::T("resident".into()),
            V::U(r.id),
            V::NullU,
            V::T(r.name.clone()),
            V::T(crate::identity::mask_phone(&r.phone)),
            V::T(g.code.clone()),
            V::B(false),
            V::NullT,
            V::NullT,
            V::NullT,
            V::I(now - 400 * DAY),
        ]);
        member_of_resident.insert(r.id, id);
        resident_members.push((id, r.grid, r.household));
    }
    let n_resident_members = members.len();
    // Sunk-down cadres: spread over the units and the compounds; most reported in long ago, a few
    // registered lately and still due, a few overdue.
    let mut cadres: Vec<(Uuid, String)> = Vec::new();
    let buildings_of: HashMap<&str, Vec<&str>> = p.grids.iter().filter(|g| g.level == 5).fold(HashMap::new(), |mut m, g| {
        if let Some(parent) = g.parent.as_deref() {
            m.entry(parent).or_default().push(g.code.as_str());
        }
        m
    });
    for i in 0..f.cadres {
        let u = i % units.len();
        let c = compounds[(i * 37 + u) % compounds.len()];
        let roll = rng.random_range(0..100);
        let (created, reported) = match roll {
            0..=2 => (now - 10 * DAY, None),
            3..=5 => (now - 60 * DAY, None),
            _ => (now - 330 * DAY, Some(day(now - rng.random_range(200..320) * DAY))),
        };
        let assigned = match buildings_of.get(c.code.as_str()) {
            Some(b) if rng.random_bool(0.3) => b[rng.random_range(0..b.len())].to_string(),
            _ => c.code.clone(),
        };
        let id = new_id();
        members.push(vec![
            V::U(id),
            V::T(district.into()),
            V::U(unit_org[u]),
            V::T("in_service".into()),
            V::NullU,
            V::U(units[u].0),
            V::T(person(&mut rng)),
            V::T(masked_mobile(&mut rng)),
            V::NullT,
            V::B(true),
            if reported.is_some() { V::T(c.code.clone()) } else { V::NullT },
            reported.clone().map(V::T).unwrap_or(V::NullT),
            V::T(assigned.clone()),
            V::I(created),
        ]);
        if reported.is_some() {
            cadres.push((id, assigned));
        }
    }
    let n_members = members.len();
    bulk(
        tx,
        "party_members",
        &[
            "id",
            "district",
            "org_id",
            "kind",
            "resident_id",
            "unit_id",
            "name",
            "phone_masked",
            "grid_code",
            "cadre",
            "report_grid",
            "reported_on",
            "assigned_grid",
            "created_at",
        ],
        members,
        &pb,
    )
    .await?;

    // Posts: members of the first street (the `member` account first), consented; a few more there
    // without consent.
    let member_id = accounts
        .iter()
        .find(|a| a.0 == "member")
        .and_then(|a| member_of_resident.get(&a.2))
        .copied();
    let mut in_street: Vec<&(Uuid, usize, usize)> = resident_members
        .iter()
        .filter(|m| p.grids[m.1].code.starts_with(&first_street))
        .collect();
    in_street.sort_by_key(|m| (Some(m.0) != member_id, m.0));
    let mut posts = Vec::new();
    let mut with_post = Vec::new();
    for (i, m) in in_street.iter().take(f.posts + f.posts / 5).enumerate() {
        let building = &p.grids[m.1].code;
        let (code, _) = if i == 0 {
            POSTS[0]
        } else {
            POSTS[rng.random_range(0..POSTS.len())]
        };
        let grid = if code == "building_center" {
            building.clone()
        } else {
            building[..crate::grid::rules::code_len(4)].to_string()
        };
        posts.push(vec![
            V::U(new_id()),
            V::T(district.into()),
            V::U(m.0),
            V::T(code.into()),
            V::T(grid),
            V::B(i < f.posts),
            V::I(now - rng.random_range(30..300) * DAY),
            V::NullI,
        ]);
        with_post.push(m.0);
    }
    let n_posts = posts.len();
    bulk(
        tx,
        "party_posts",
        &[
            "id",
            "district",
            "member_id",
            "post",
            "grid_code",
            "consent",
            "started_at",
            "ended_at",
        ],
        posts,
        &pb,
    )
    .await?;

    // Model households: this year's, published, in the first street; a few nominated in the first
    // community waiting for review.
    let mut models = Vec::new();
    let mut seen = HashSet::new();
    let first_community = &first_compound[..crate::grid::rules::code_len(3).min(first_compound.len())];
    let mut waiting = 0;
    for m in in_street.iter() {
        if !seen.insert(m.2) {
            continue;
        }
        let published = models.len() < f.models;
        let code = &p.grids[m.1].code;
        if !published && (!code.starts_with(first_community) || waiting >= 4) {
            continue;
        }
        if !published {
            waiting += 1;
        }
        models.push(vec![
            V::U(new_id()),
            V::T(district.into()),
            V::I(year),
            V::U(p.households[m.2].id),
            V::U(m.0),
            V::T(code.clone()),
            V::T(if published { "published" } else { "nominated" }.into()),
            V::T(String::new()),
            V::I(now - 90 * DAY),
            if published { V::I(now - 60 * DAY) } else { V::NullI },
            if published { V::I(now - 30 * DAY) } else { V::NullI },
        ]);
        if models.len() >= f.models + 4 {
            break;
        }
    }
    bulk(
        tx,
        "party_model_households",
        &[
            "id",
            "district",
            "year",
            "household_id",
            "member_id",
            "grid_code",
            "status",
            "reason",
            "created_at",
            "reviewed_at",
            "published_at",
        ],
        models,
        &pb,
    )
    .await?;

    // A year of service: cadres about monthly, members with a post twice a month, others now and then.
    let mut service = Vec::new();
    let add = |rng: &mut ChaCha8Rng, member: Uuid, grid: &str, n: usize, service: &mut Vec<Vec<V>>| {
        for _ in 0..n {
            let at = now - rng.random_range(1..365) * DAY;
            service.push(vec![
                V::U(new_id()),
                V::T(district.into()),
                V::U(member),
                V::T(grid.into()),
                V::T(day(at)),
                V::I(rng.random_range(1..=8) * 30),
                V::T(SERVICE[rng.random_range(0..SERVICE.len())].into()),
                V::I(at),
            ]);
        }
    };
    for (id, grid) in &cadres {
        let n = rng.random_range(8..=14);
        add(&mut rng, *id, grid, n, &mut service);
    }
    let posted: HashSet<Uuid> = with_post.into_iter().collect();
    for (id, g, _) in &resident_members {
        let n = if posted.contains(id) {
            rng.random_range(18..=30)
        } else {
            rng.random_range(0..=3)
        };
        add(&mut rng, *id, &p.grids[*g].code, n, &mut service);
    }
    let n_service = service.len();
    bulk(
        tx,
        "party_service",
        &[
            "id",
            "district",
            "member_id",
            "grid_code",
            "served_on",
            "minutes",
            "what",
            "created_at",
        ],
        service,
        &pb,
    )
    .await?;
    Ok(format!(
        "{n_orgs} party organisations ({company_branches} in property companies, {} units'; {without_branch} compounds without a branch), {n_members} party members ({n_resident_members} residents, {} sunk-down cadres of {} units), {n_posts} posts, {} model households, {n_service} service records",
        units.len(),
        f.cadres,
        units.len(),
        f.models
    ))
}
