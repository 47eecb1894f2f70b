//! The demo's care visits (关爱走访): the district's schedule for every care tag; a year of weekly
//! visits to the elderly living alone by their building's officer, some stopped a week or more
//! ago so they are overdue today (the first building's first one always); one recent visit for
//! the other tags' people, some already due; and the due row of every (person, care tag).

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};
use crate::services::care::rules::{self, CARE_TAGS, Every};

const NOTES: [&str; 6] = [
    "身体状况良好，精神不错，家中整洁",
    "血压偏高，已提醒按时服药",
    "饮食正常，冰箱有储备，子女每周来电",
    "腿脚不便，下楼困难，近期少出门",
    "天气转凉，提醒关好门窗、注意用电安全",
    "与老人聊天半小时，情绪稳定",
];

const NEEDS: [&str; 4] = [
    "希望有人帮忙代买药品",
    "卫生间水管漏水，需要维修",
    "想参加社区助餐",
    "需要协助办理高龄津贴",
];

/// The district's first building, whose officer is the `building` demo account.
const FIRST_BUILDING: &str = "411602001001001001";

pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xCA4E);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let schedules = rules::defaults();
    bulk(
        tx,
        "care_schedules",
        &["district", "tag", "every_unit", "every_count", "grace_days", "active", "updated_at"],
        schedules
            .iter()
            .map(|s| {
                vec![
                    V::T(district.into()),
                    V::T(s.tag.into()),
                    V::T(s.every.unit().into()),
                    V::I(i64::from(s.every.count())),
                    V::I(i64::from(s.grace_days)),
                    V::B(true),
                    V::I(now),
                ]
            })
            .collect(),
        &pb,
    )
    .await?;
    let every: HashMap<&str, Every> = schedules.iter().map(|s| (s.tag, s.every)).collect();
    let today = rules::day_of_ms(now);
    let day_ms = 86_400_000_i64;

    // The officer of a building, and its centre (a visit's position, near the door).
    let officer = |g: usize| -> String {
        p.grids[g]
            .contacts
            .first()
            .map_or_else(|| "楼栋信息员".to_string(), |c| c.1.clone())
    };
    let centre = |g: usize| -> (f64, f64) {
        let pts = &p.grids[g].shape.0;
        let n = pts.len().max(1) as f64;
        let (x, y) = pts.iter().fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        (y / n, x / n)
    };

    let mut visits: Vec<Vec<V>> = Vec::new();
    let mut due: Vec<Vec<V>> = Vec::new();
    let mut overdue = 0usize;
    let mut alone = 0usize;
    let mut first_forced = false;
    // The latest visit of each person saw them (an absent call would not have set the due day).
    let visit_row = |rng: &mut ChaCha8Rng, r: &super::plan::PResident, at: i64, latest: bool, forced_needs: bool| -> Vec<V> {
        let (lat, lng) = centre(r.grid);
        let roll: f64 = rng.random();
        let (condition, needs) = if forced_needs || roll < 0.03 {
            ("poor", NEEDS[rng.random_range(0..NEEDS.len())])
        } else if roll < 0.2 {
            ("fair", "")
        } else if roll < 0.24 && !latest {
            ("absent", "")
        } else {
            ("good", "")
        };
        let outside = rng.random_bool(0.05);
        vec![
            V::U(new_id()),
            V::T(district.into()),
            V::U(r.id),
            V::T(p.grids[r.grid].code.clone()),
            V::I(at),
            V::NullU,
            V::T(officer(r.grid)),
            V::T(condition.into()),
            V::T(NOTES[rng.random_range(0..NOTES.len())].into()),
            V::T(needs.into()),
            V::F(lat + if outside { 0.01 } else { 0.0 }),
            V::F(lng),
            V::T(if outside { "outside" } else { "in_building" }.into()),
            V::NullT,
            V::NullT,
            V::I(at),
        ]
    };
    for r in &p.residents {
        for tag in r.tags.iter().filter(|t| CARE_TAGS.contains(t)) {
            let e = every[tag];
            // The first care-tagged person of the first building is 13 days overdue (the
            // `building` account's list, its tests and e2e rely on it).
            let force = p.grids[r.grid].code == FIRST_BUILDING && !first_forced;
            first_forced |= force;
            let last: i64 = if *tag == "独居老人" {
                alone += 1;
                // Weekly over the past year; about one in twelve stopped 8 to 40 days ago.
                let stop_days = if force {
                    20
                } else if rng.random_bool(0.08) {
                    rng.random_range(8..=40)
                } else {
                    rng.random_range(0..=6)
                };
                let mut at = now - stop_days * day_ms - rng.random_range(0..8 * 3_600_000_i64);
                let last = at;
                let first = now - 365 * day_ms;
                let mut first_row = true;
                while at > first {
                    visits.push(visit_row(&mut rng, r, at, first_row, force && first_row));
                    first_row = false;
                    at -= 7 * day_ms + rng.random_range(-day_ms / 2..day_ms / 2);
                }
                last
            } else if force {
                let due = today.checked_sub(jiff::Span::new().days(13)).unwrap_or(today);
                let span = match e {
                    Every::Days(n) => jiff::Span::new().days(i64::from(n)),
                    Every::Weeks(n) => jiff::Span::new().weeks(i64::from(n)),
                    Every::Months(n) => jiff::Span::new().months(i64::from(n)),
                };
                let at = rules::ms_of_day(due.checked_sub(span).unwrap_or(due)) + 10 * 3_600_000;
                visits.push(visit_row(&mut rng, r, at, true, true));
                at
            } else {
                // One recent visit, up to a fifth past the period: some are due already.
                let period = match e {
                    Every::Days(n) => i64::from(n),
                    Every::Weeks(n) => 7 * i64::from(n),
                    Every::Months(n) => 30 * i64::from(n),
                };
                let at = now - rng.random_range(1..=period + period / 5) * day_ms;
                visits.push(visit_row(&mut rng, r, at, true, false));
                at
            };
            let next = rules::next_due(rules::day_of_ms(last), e);
            if next < today {
                overdue += 1;
            }
            due.push(vec![
                V::U(r.id),
                V::T((*tag).into()),
                V::T(district.into()),
                V::T(p.grids[r.grid].code.clone()),
                V::I(rules::ms_of_day(next)),
                V::I(last),
            ]);
        }
    }
    let n_visits = visits.len();
    bulk(
        tx,
        "care_visits",
        &[
            "id",
            "district",
            "resident_id",
            "grid_code",
            "visited_at",
            "visited_by",
            "visitor_name",
            "condition",
            "note",
            "needs",
            "lat",
            "lng",
            "located",
            "photo_sha256",
            "photo_mime",
            "created_at",
        ],
        visits,
        &pb,
    )
    .await?;
    let n_due = due.len();
    bulk(
        tx,
        "care_due",
        &["resident_id", "tag", "district", "grid_code", "due_at", "last_visit_at"],
        due,
        &pb,
    )
    .await?;
    Ok(format!(
        "care visits: {n_visits} visits to {n_due} people-tags ({alone} elderly living alone visited weekly), {overdue} overdue today"
    ))
}
