//! The demo's five-star scorecards (五星支部创建): a 2026 card for every community and village,
//! self-assessed with quarterly snapshots; most reviewed by their street, many rated by the
//! district, a few sent back; 共建共享 denied by its prerequisite where red property coverage is
//! not full. The first community's card is sent back for changes; the second is rated.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};
use crate::stars::rules::{self, Figures, Kind, Outcome, Status};

/// The demo's year.
pub const YEAR: i64 = 2026;

const NOTES: [&str; 6] = [
    "已按要求完成，台账齐全",
    "全年按计划推进，群众满意度较高",
    "基本完成，个别事项仍在推进",
    "建立了工作机制，详见附件材料",
    "与共建单位联合开展，成效明显",
    "存在短板，已制定整改措施",
];

const BACK: [&str; 3] = [
    "佐证材料不全，请补充活动照片和台账",
    "自评分偏高，请对照细则重新评估",
    "请补充具体数据",
];

const DENY: [&str; 3] = ["佐证材料不足，未达到授星标准", "群众满意度测评未达标", "年度重点任务未完成"];

/// Compounds and covered compounds per community, by the red-property rule the pages apply.
async fn coverage(tx: &mut Tx, district: &str) -> anyhow::Result<HashMap<String, (i64, i64)>> {
    let items = crate::property::service::coverage_in(tx, district, district).await?;
    let per = crate::property::service::tally_by_prefix(&items, crate::grid::rules::code_len(3));
    Ok(per.into_iter().map(|(c, t)| (c, (t.compounds, t.covered))).collect())
}

/// Insert the year's scorecards; the summary line says what was made.
pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x57A5);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let cov = coverage(tx, district).await?;
    let cfg = rules::defaults();
    let (from, _) = crate::stars::service::year_range(YEAR);
    let quarter_end = |q: i64| from + q * 91 * 86_400_000 - 86_400_000;
    let (_, this_quarter) = crate::stars::service::quarter_at(now);
    let (mut cards, mut entries, mut verdicts, mut snapshots) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut counts: HashMap<Status, usize> = HashMap::new();
    let (mut awarded, mut prereq_denied) = (0usize, 0usize);
    let communities: Vec<_> = p.grids.iter().filter(|g| g.level == 3).collect();
    let streets: HashMap<&str, &str> = p
        .grids
        .iter()
        .filter(|g| g.level == 2)
        .map(|g| (g.code.as_str(), g.name.as_str()))
        .collect();
    for (i, g) in communities.iter().enumerate() {
        let kind = Kind::of_grid_kind(g.kind);
        let stars = cfg.stars(kind);
        let status = match i {
            0 => Status::Returned,
            1 => Status::Rated,
            _ => match rng.random_range(0..100) {
                0..5 => Status::Draft,
                5..12 => Status::Returned,
                12..27 => Status::Submitted,
                27..50 => Status::Reviewed,
                _ => Status::Rated,
            },
        };
        *counts.entry(status).or_default() += 1;
        let id = new_id();
        let stamp = |q: i64| quarter_end(q).min(now - 3_600_000);
        let submitted = (status != Status::Draft).then(|| stamp(3));
        let reviewed = matches!(status, Status::Returned | Status::Reviewed | Status::Rated).then(|| stamp(4) - 20 * 86_400_000);
        let rated = (status == Status::Rated).then(|| stamp(4) - 5 * 86_400_000);
        let at = |v: Option<i64>| v.map_or(V::NullI, V::I);
        cards.push(vec![
            V::U(id),
            V::T(district.into()),
            V::T(g.code.clone()),
            V::I(YEAR),
            V::T(kind.as_str().into()),
            V::T(status.as_str().into()),
            at(submitted),
            at(reviewed),
            at(rated),
            V::I(rated.or(reviewed).or(submitted).unwrap_or(now - 86_400_000)),
        ]);
        // Self-assessment: a level per community, a spread per criterion; the quarters climb to it.
        let level: i64 = rng.random_range(62..95);
        let mut scores: Vec<(usize, usize, i64)> = Vec::new();
        for (si, s) in stars.iter().enumerate() {
            for (ci, c) in s.criteria.iter().enumerate() {
                let score = (level + rng.random_range(-12..=8)).clamp(0, 100);
                scores.push((si, ci, score));
                entries.push(vec![
                    V::U(id),
                    V::T(s.code.clone()),
                    V::T(c.code.clone()),
                    V::I(score),
                    V::T(NOTES[rng.random_range(0..NOTES.len())].into()),
                    V::T("[]".into()),
                    V::T(format!("{}社区工作者", g.name)),
                    V::I(submitted.unwrap_or(now - 86_400_000)),
                ]);
            }
        }
        for q in 1..=this_quarter {
            let factor = q as f64 / this_quarter as f64;
            let mut body = serde_json::Map::new();
            let mut total = 0.0;
            for (si, s) in stars.iter().enumerate() {
                let v = rules::star_score(s, |code| {
                    let ci = s.criteria.iter().position(|c| c.code == code)?;
                    scores.iter().find(|x| x.0 == si && x.1 == ci).map(|x| (x.2 as f64 * factor) as i64)
                });
                total += v;
                body.insert(s.code.clone(), serde_json::json!((v * 10.0).round() / 10.0));
            }
            let score = ((total / stars.len() as f64) * 10.0).round() / 10.0;
            snapshots.push(vec![
                V::U(id),
                V::I(q),
                V::F(score),
                V::T(serde_json::Value::Object(body).to_string()),
                V::I(stamp(q)),
            ]);
        }
        if reviewed.is_none() {
            continue;
        }
        let back = if status == Status::Returned {
            rng.random_range(0..stars.len())
        } else {
            usize::MAX
        };
        let (compounds, covered) = cov.get(&g.code).copied().unwrap_or((0, 0));
        let f = Figures {
            compounds,
            covered,
            ..Figures::default()
        };
        for (si, s) in stars.iter().enumerate() {
            let (review, comment) = if si == back {
                ("back", BACK[rng.random_range(0..BACK.len())])
            } else {
                ("agree", "")
            };
            let (rating, reason) = if status == Status::Rated {
                let award = rng.random_bool(0.8);
                let deny = DENY[rng.random_range(0..DENY.len())];
                let (o, why) = rules::rating(s, &f, award, if award { "" } else { deny }).map_err(|e| anyhow::anyhow!(e))?;
                if o == Outcome::Awarded {
                    awarded += 1;
                } else if award {
                    prereq_denied += 1;
                }
                (V::T(if o == Outcome::Awarded { "awarded" } else { "denied" }.into()), why)
            } else {
                (V::NullT, String::new())
            };
            verdicts.push(vec![
                V::U(id),
                V::T(s.code.clone()),
                V::T(review.into()),
                V::T(comment.into()),
                V::T(format!(
                    "{}审核组",
                    streets.get(g.parent.as_deref().unwrap_or("")).copied().unwrap_or("街道")
                )),
                at(reviewed),
                rating,
                V::T(reason),
                V::T(if status == Status::Rated {
                    "区委组织部".into()
                } else {
                    String::new()
                }),
                at(rated),
            ]);
        }
    }
    let n = cards.len();
    bulk(
        tx,
        "star_cards",
        &[
            "id",
            "district",
            "grid_code",
            "year",
            "kind",
            "status",
            "submitted_at",
            "reviewed_at",
            "rated_at",
            "updated_at",
        ],
        cards,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "star_entries",
        &[
            "card_id",
            "star_code",
            "criterion",
            "score",
            "note",
            "links",
            "updated_by",
            "updated_at",
        ],
        entries,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "star_verdicts",
        &[
            "card_id",
            "star_code",
            "review",
            "review_comment",
            "reviewed_by",
            "reviewed_at",
            "rating",
            "reason",
            "rated_by",
            "rated_at",
        ],
        verdicts,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "star_snapshots",
        &["card_id", "quarter", "score", "body", "taken_at"],
        snapshots,
        &pb,
    )
    .await?;
    let c = |s: Status| counts.get(&s).copied().unwrap_or(0);
    Ok(format!(
        "{n} five-star scorecards for {YEAR} ({} rated with {awarded} stars awarded and {prereq_denied} denied by a prerequisite, {} reviewed, {} submitted, {} sent back, {} in self-assessment)",
        c(Status::Rated),
        c(Status::Reviewed),
        c(Status::Submitted),
        c(Status::Returned),
        c(Status::Draft)
    ))
}
