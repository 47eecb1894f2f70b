//! The demo's red proxy service and dispute mediation (红色代办、矛盾纠纷调解): a year of matters
//! done for elderly and disabled residents, each document handed over and returned with both
//! sides' confirmation, the recent ones still open with documents held (a few overdue); and a
//! year of disputes per street (the seeds: one street's 敲门 visits resolved 82), mostly ending
//! in agreements, with sessions and follow-up visits. The `agent` and `mediator` accounts work
//! in the first community; other communities' agents and mediators are records without a login.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::Plan;
use super::{V, bulk};
use crate::auth::Role;
use crate::auth::store as auth_store;
use crate::db::{Tx, new_id};
use crate::services::mediation::rules as mrules;
use crate::services::proxy::rules as prules;

/// The code on every demo slip, so the demo's held documents can be returned by hand.
pub const DEMO_SLIP_CODE: &str = "123456";

const DAY: i64 = 86_400_000;

/// A staff member of the demo: id and name.
type Named = (Uuid, String);

const TERMS: [(&str, &str); 5] = [
    (
        "neighbour",
        "甲方于七日内清理楼道堆放杂物，乙方不再占用公共车位；双方今后互相体谅，和睦相处。",
    ),
    ("family", "双方同意子女轮流照料老人，每月各承担赡养费800元，于每月5日前支付。"),
    ("property", "物业公司于十日内维修楼顶漏水，业主补缴拖欠物业费，双方不再追究。"),
    ("labour", "用工方于十五日内一次性支付拖欠工资3200元，劳动者不再就此主张其他权利。"),
    ("other", "双方就损失赔偿达成一致，甲方一次性赔偿乙方600元，当场履行完毕。"),
];

const STEPS: [&str; 4] = [
    "已到窗口递交材料",
    "已受理，等待审核",
    "审核通过，已取回办理结果",
    "已电话告知本人办理进度",
];

/// Insert the stage's rows; the summary line says what was made.
pub async fn insert(tx: &mut Tx, p: &Plan, password_hash: &str, seed: u64, now: i64) -> anyhow::Result<String> {
    let started = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9C0D);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let cal = crate::cases::calendar::Calendar::built_in();
    let account_grid = |u: &str| p.accounts.iter().find(|a| a.username == u).and_then(|a| a.grid.clone());
    let first_community = account_grid("community").unwrap_or_default();
    let first_building = account_grid("building").unwrap_or_default();

    // The two demo accounts: community workers of the first community; `mediator` sits on its
    // mediation committee.
    let agent = auth_store::insert_user(tx, district, "agent", "王红梅", password_hash).await?;
    auth_store::insert_post(tx, district, agent, Role::CommunityStaff, Some(&first_community), None).await?;
    let mediator = auth_store::insert_user(tx, district, "mediator", "李建国", password_hash).await?;
    auth_store::insert_post(tx, district, mediator, Role::CommunityStaff, Some(&first_community), None).await?;

    // Other communities' agents and mediators: records only (disabled, no password).
    let communities: Vec<&str> = p.grids.iter().filter(|g| g.level == 3).map(|g| g.code.as_str()).collect();
    let (mut users, mut posts, mut committee) = (Vec::new(), Vec::new(), Vec::new());
    let mut staff: HashMap<&str, (Named, Named)> = HashMap::new();
    for c in &communities {
        let pick = |rng: &mut ChaCha8Rng| {
            format!(
                "{}{}",
                super::names::SURNAMES[rng.random_range(0..30)],
                super::names::FEMALE_CHARS[rng.random_range(0..super::names::FEMALE_CHARS.len())]
            )
        };
        let pair = if *c == first_community {
            ((agent, "王红梅".to_string()), (mediator, "李建国".to_string()))
        } else {
            let (a, m) = ((new_id(), pick(&mut rng)), (new_id(), pick(&mut rng)));
            for (u, name, kind) in [(&a, "代办员", "a"), (&m, "调解员", "m")] {
                users.push(vec![
                    V::U(u.0),
                    V::T(district.to_string()),
                    V::T(format!("{kind}{c}")),
                    V::T(format!("{}（{}）", u.1, name)),
                    V::T("!".into()),
                    V::B(true),
                    V::I(now),
                ]);
                // Every account holds a post: a community worker of the community.
                posts.push(vec![
                    V::U(new_id()),
                    V::T(district.to_string()),
                    V::U(u.0),
                    V::S(Role::CommunityStaff.as_str()),
                    V::T(c.to_string()),
                    V::I(now),
                ]);
            }
            (a, m)
        };
        committee.push(vec![V::T(c.to_string()), V::U(pair.1.0), V::T(district.to_string()), V::I(now)]);
        staff.insert(*c, pair);
    }
    bulk(
        tx,
        "users",
        &[
            "id",
            "district",
            "username",
            "display_name",
            "password_hash",
            "disabled",
            "created_at",
        ],
        users,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "posts",
        &["id", "district", "user_id", "role", "grid_code", "created_at"],
        posts,
        &pb,
    )
    .await?;
    bulk(tx, "mediators", &["grid_code", "user_id", "district", "created_at"], committee, &pb).await?;

    // The district's list of matters.
    let mut kinds = Vec::new();
    let mut kind_rows = Vec::new();
    for (name, docs, days) in prules::DEFAULT_KINDS {
        let id = new_id();
        kinds.push((id, name, docs, days));
        kind_rows.push(vec![
            V::U(id),
            V::T(district.into()),
            V::T(name.into()),
            V::T(docs.into()),
            V::I(days),
            V::B(true),
            V::I(now),
        ]);
    }
    bulk(
        tx,
        "proxy_kinds",
        &["id", "district", "name", "documents", "limit_days", "active", "updated_at"],
        kind_rows,
        &pb,
    )
    .await?;

    // Residents per community: those who need care first.
    let mut people: HashMap<&str, (Vec<usize>, Vec<usize>)> = HashMap::new();
    for (i, r) in p.residents.iter().enumerate() {
        let code = &p.grids[r.grid].code;
        let Some(c) = code.get(..12) else { continue };
        let e = people.entry(c).or_default();
        if r.tags.iter().any(|t| matches!(*t, "独居老人" | "空巢老人" | "残疾人")) {
            e.0.push(i);
        } else {
            e.1.push(i);
        }
    }

    let (mut matters, mut docs, mut steps) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_done, mut n_held, mut n_overdue) = (0usize, 0usize, 0usize);
    for c in &communities {
        let Some((cared, others)) = people.get(c) else { continue };
        let pool: &Vec<usize> = if cared.is_empty() { others } else { cared };
        if pool.is_empty() {
            continue;
        }
        let ((agent_id, agent_name), _) = staff[c].clone();
        let n = 20;
        for k in 0..n {
            // The newest few are in hand: one open, three taken (the first of them overdue).
            let age_days = match k {
                0 => 1,
                1 => 3,
                2 => 5,
                3 => 20,
                _ => rng.random_range(25..365),
            };
            let mut r = pool[rng.random_range(0..pool.len())];
            if *c == first_community && k == 1 {
                // The matrix's matter: a resident of building 1.
                if let Some(i) = p.residents.iter().position(|x| p.grids[x.grid].code == first_building) {
                    r = i;
                }
            }
            let res = &p.residents[r];
            let (kind_id, _, kdocs, days) = kinds[if k == 3 { 4 } else { rng.random_range(0..kinds.len()) }];
            let created = now - age_days * DAY - rng.random_range(0..8 * 3_600_000);
            let from = jiff::Timestamp::from_millisecond(created)?;
            let due = cal.add_working_days(from, days as u32).as_millisecond();
            let id = new_id();
            let status = match k {
                0 => prules::Status::Open,
                1..=3 => prules::Status::Taken,
                _ => prules::Status::Done,
            };
            let taken_at = (status != prules::Status::Open).then_some(created + 3_600_000);
            let done_at = (status == prules::Status::Done)
                .then(|| (due - rng.random_range(0..days.max(1)) * DAY / 2).max(created + DAY).min(now - DAY));
            match status {
                prules::Status::Done => n_done += 1,
                prules::Status::Taken => {
                    n_held += 1;
                    if due < now {
                        n_overdue += 1;
                    }
                }
                prules::Status::Open => {}
            }
            let via = prules::VIA[rng.random_range(0..3)].0;
            matters.push(vec![
                V::U(id),
                V::T(district.into()),
                V::T(p.grids[res.grid].code.clone()),
                V::U(res.id),
                V::U(kind_id),
                V::T(via.into()),
                V::T(String::new()),
                V::T(prules::code_hash(id, DEMO_SLIP_CODE)),
                V::T(status.as_str().into()),
                if taken_at.is_some() { V::U(agent_id) } else { V::NullU },
                V::T(if taken_at.is_some() { agent_name.clone() } else { String::new() }),
                V::I(due),
                V::T(agent_name.clone()),
                V::I(created),
                taken_at.map_or(V::NullI, V::I),
                done_at.map_or(V::NullI, V::I),
                if status == prules::Status::Done {
                    V::I(rng.random_range(4..=5))
                } else {
                    V::NullI
                },
                V::I(done_at.unwrap_or(created)),
            ]);
            if let Some(t) = taken_at {
                for (j, d) in kdocs.split('、').take(2).enumerate() {
                    let handed = t + j as i64 * 60_000;
                    let (state, ret, person_ret) = match (status, done_at) {
                        (prules::Status::Done, Some(dn)) => ("returned", Some(dn), Some(dn)),
                        _ => ("held", None, None),
                    };
                    docs.push(vec![
                        V::U(new_id()),
                        V::U(id),
                        V::T(district.into()),
                        V::T(d.to_string()),
                        V::T(state.into()),
                        V::I(handed),
                        V::T(agent_name.clone()),
                        V::I(handed),
                        ret.map_or(V::NullI, V::I),
                        if ret.is_some() { V::T(agent_name.clone()) } else { V::NullT },
                        person_ret.map_or(V::NullI, V::I),
                    ]);
                }
                let n_steps = if status == prules::Status::Done { 3 } else { 1 };
                for (j, s) in STEPS.iter().take(n_steps).enumerate() {
                    steps.push(vec![
                        V::U(new_id()),
                        V::U(id),
                        V::T(s.to_string()),
                        V::T(agent_name.clone()),
                        V::I(t + (j as i64 + 1) * DAY / 2),
                    ]);
                }
            }
        }
    }
    let (n_matters, n_docs) = (matters.len(), docs.len());
    bulk(
        tx,
        "proxy_matters",
        &[
            "id",
            "district",
            "grid_code",
            "resident_id",
            "kind_id",
            "via",
            "note",
            "code_hash",
            "status",
            "agent_id",
            "agent_name",
            "due_at",
            "created_by",
            "created_at",
            "taken_at",
            "done_at",
            "rating",
            "updated_at",
        ],
        matters,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "proxy_documents",
        &[
            "id",
            "matter_id",
            "district",
            "name",
            "state",
            "handed_at",
            "handed_by",
            "person_handed_at",
            "returned_at",
            "returned_by",
            "person_returned_at",
        ],
        docs,
        &pb,
    )
    .await?;
    bulk(tx, "proxy_steps", &["id", "matter_id", "note", "by_name", "at_ms"], steps, &pb).await?;

    // Disputes: about 90 a year per street, shared among its communities.
    let per_street: HashMap<&str, usize> = communities.iter().fold(HashMap::new(), |mut m, c| {
        *m.entry(&c[..9]).or_insert(0) += 1;
        m
    });
    let today = crate::time::day_ms(now);
    let (mut disputes, mut parties, mut dms, mut sessions) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut n_agreed, mut n_followed) = (0usize, 0usize);
    for c in &communities {
        let Some((cared, others)) = people.get(c) else { continue };
        let all: Vec<usize> = cared.iter().chain(others.iter()).copied().collect();
        if all.len() < 2 {
            continue;
        }
        let (_, (med_id, med_name)) = staff[c].clone();
        let n = 90 / per_street.get(&c[..9]).copied().unwrap_or(1).max(1);
        for k in 0..n.max(2) {
            let age_days = if k == 0 { 2 } else { rng.random_range(3..365) };
            let created = now - age_days * DAY - rng.random_range(0..8 * 3_600_000);
            let kind = match rng.random_range(0..20) {
                0..=7 => "neighbour",
                8..=11 => "family",
                12..=16 => "property",
                17 => "labour",
                _ => "other",
            };
            let a = &p.residents[all[rng.random_range(0..all.len())]];
            let b = &p.residents[all[rng.random_range(0..all.len())]];
            let id = new_id();
            let n_sessions = if k == 0 { 1 } else { rng.random_range(1..=3) };
            let decided = k != 0 && age_days > 10;
            let outcome_at = created + n_sessions * 2 * DAY;
            let agreed = decided && rng.random_range(0..100) < 88;
            let referral = (decided && !agreed).then(|| if rng.random_range(0..2) == 0 { "department" } else { "court" });
            let due = decided
                .then(|| {
                    crate::time::day_ms(outcome_at)
                        .parse::<jiff::civil::Date>()
                        .ok()
                        .map(|d| mrules::follow_up_due(d).to_string())
                })
                .flatten();
            let followed = due.as_deref().is_some_and(|d| d <= today.as_str()) && rng.random_range(0..10) < 9;
            n_agreed += usize::from(agreed);
            n_followed += usize::from(followed);
            let terms = TERMS.iter().find(|t| t.0 == kind).map_or("", |t| t.1);
            disputes.push(vec![
                V::U(id),
                V::T(district.into()),
                V::T(p.grids[a.grid].code.clone()),
                V::T(kind.into()),
                V::T(format!(
                    "{}：双方因琐事发生争执，经网格员敲门走访发现，申请调解",
                    mrules::kind_label(kind)
                )),
                V::T(
                    if !decided {
                        "open"
                    } else if agreed {
                        "agreed"
                    } else {
                        "referred"
                    }
                    .into(),
                ),
                V::T(crate::time::month_ms(created)),
                if agreed { V::T(terms.into()) } else { V::NullT },
                referral.map_or(V::NullT, |r| V::T(r.into())),
                V::T(if referral == Some("court") {
                    "引导当事人向人民法院起诉".into()
                } else if referral.is_some() {
                    "转区人力资源和社会保障局".into()
                } else {
                    String::new()
                }),
                V::NullU,
                if decided { V::I(outcome_at) } else { V::NullI },
                due.clone().map_or(V::NullT, V::T),
                if followed { V::I(outcome_at + 31 * DAY) } else { V::NullI },
                V::T(if followed {
                    "回访时双方已履行，关系缓和".into()
                } else {
                    String::new()
                }),
                V::T(med_name.clone()),
                V::I(created),
                V::I(created),
            ]);
            parties.push(vec![V::U(id), V::I(1), V::T(a.name.clone())]);
            parties.push(vec![V::U(id), V::I(2), V::T(b.name.clone())]);
            dms.push(vec![V::U(id), V::U(med_id), V::T(med_name.clone())]);
            for s in 0..n_sessions {
                sessions.push(vec![
                    V::U(new_id()),
                    V::U(id),
                    V::T(crate::time::day_ms(created + (s * 2 + 1).min(age_days) * DAY / 2)),
                    V::T(if s == 0 {
                        "分别听取双方陈述，释法明理".into()
                    } else {
                        "组织双方面对面协商".to_string()
                    }),
                    V::T(med_name.clone()),
                    V::I(created + s * DAY),
                ]);
            }
        }
    }
    let n_disputes = disputes.len();
    bulk(
        tx,
        "disputes",
        &[
            "id",
            "district",
            "grid_code",
            "kind",
            "summary",
            "status",
            "opened_month",
            "terms",
            "referral",
            "referral_note",
            "case_id",
            "outcome_at",
            "follow_up_due",
            "followed_up_at",
            "follow_up_note",
            "created_by",
            "created_at",
            "updated_at",
        ],
        disputes,
        &pb,
    )
    .await?;
    bulk(tx, "dispute_parties", &["dispute_id", "seq", "name"], parties, &pb).await?;
    bulk(tx, "dispute_mediators", &["dispute_id", "user_id", "name"], dms, &pb).await?;
    bulk(
        tx,
        "dispute_sessions",
        &["id", "dispute_id", "held_on", "note", "recorded_by", "created_at"],
        sessions,
        &pb,
    )
    .await?;
    tracing::info!(elapsed_s = started.elapsed().as_secs_f64(), "demo: services proxy stage");
    Ok(format!(
        "red proxy: {n_matters} matters ({n_done} done, {n_held} in hand, {n_overdue} overdue), {n_docs} documents; mediation: {n_disputes} disputes ({n_agreed} agreements, {n_followed} followed up)"
    ))
}
