//! The demo's frontage responsibility (门前三包): agreements for the shops along the first street
//! (tens of them; at district scale some in every street), a month of patrols by each
//! community's staff, most shops passing, a few failing often enough for a notice (整改通知), and
//! the first community's first failing shop three failures into this month, so the next failure a
//! patrol records files a case.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::plan::Plan;
use super::{V, bulk};
use crate::db::{Tx, new_id};
use crate::frontage::rules::{self, ALL_DUTIES, Step};

const SHOPS: [&str; 24] = [
    "老街烩面馆",
    "便民超市",
    "鑫源五金",
    "福满堂药房",
    "小李水果店",
    "百味早餐",
    "金凤理发",
    "华联手机",
    "好运来饭店",
    "益民粮油",
    "阳光花店",
    "老王烟酒",
    "惠民菜店",
    "佳佳母婴",
    "顺达快递点",
    "兴隆茶叶",
    "德顺包子铺",
    "新华书店",
    "明亮眼镜",
    "康乐诊所",
    "喜洋洋童装",
    "美美服饰",
    "天天洗衣",
    "老字号胡辣汤",
];
const ROADS: [&str; 6] = ["交通路", "七一路", "人和街", "八一路", "中州大道", "文昌大道"];
const SURNAMES: [&str; 10] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"];
const GIVEN: [&str; 10] = ["建国", "秀兰", "志强", "桂英", "红梅", "国庆", "丽娜", "海涛", "春生", "玉珍"];
const NOTES: [&str; 4] = ["门前有纸屑烟头", "出店经营占用人行道", "门前电动车乱停", "树池内堆放杂物"];

/// A photo's digest for the demo's failed checks (no file is written; the page shows no photo then).
const DEMO_PHOTO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub async fn insert(tx: &mut Tx, p: &Plan, seed: u64, now: i64) -> anyhow::Result<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xF407);
    let district = p.district_code;
    let pb = indicatif::ProgressBar::hidden();
    let day = 86_400_000_i64;
    let small = p.grids.iter().filter(|g| g.level == 2).count() <= 1;
    let streets: Vec<usize> = (0..p.grids.len()).filter(|i| p.grids[*i].level == 2).collect();
    let this_month = rules::month_of(now);
    let (month_start, _) = rules::month_range(rules::parse_month(&this_month).unwrap_or(jiff::civil::date(2026, 1, 1)));
    let mut agreements: Vec<Vec<V>> = Vec::new();
    let mut checks: Vec<Vec<V>> = Vec::new();
    let mut notices: Vec<Vec<V>> = Vec::new();
    let mut shop_no = 0usize;
    for (si, &s) in streets.iter().enumerate() {
        let street = &p.grids[s];
        let communities: Vec<usize> = (0..p.grids.len())
            .filter(|i| p.grids[*i].level == 3 && p.grids[*i].parent.as_deref() == Some(street.code.as_str()))
            .collect();
        // The first street: every community's shops (tens in all); the others a few in two.
        let (per_community, take) = if si == 0 {
            (if small { 14 } else { 10 }, communities.len())
        } else {
            (6, 2)
        };
        for (ci, &c) in communities.iter().take(take).enumerate() {
            let community = &p.grids[c];
            let patrol = community.contacts.first().map_or_else(|| "社区网格员".to_string(), |x| x.1.clone());
            let road = ROADS[(si + ci) % ROADS.len()];
            for k in 0..per_community {
                shop_no += 1;
                let id = new_id();
                let base = SHOPS[(shop_no - 1) % SHOPS.len()];
                // Unique names: past the first round of names, the community is named.
                let shop = if shop_no > SHOPS.len() {
                    format!("{base}（{}店）", community.name)
                } else {
                    base.to_string()
                };
                let no = 2 + 2 * k as i64;
                let signer = format!(
                    "{}{}",
                    SURNAMES[rng.random_range(0..SURNAMES.len())],
                    GIVEN[rng.random_range(0..GIVEN.len())]
                );
                let phone = format!("139{:08}", rng.random_range(0..100_000_000u32));
                let (lat, lng) = community.shape.random_point(&mut rng);
                let signed = now - rng.random_range(40..300) * day;
                agreements.push(vec![
                    V::U(id),
                    V::S(district),
                    V::T(community.code.clone()),
                    V::T(street.code.clone()),
                    V::T(shop.chars().take(64).collect()),
                    V::T(format!("{road}{no}号")),
                    V::T(signer),
                    V::T(phone),
                    V::T(format!("{}居民委员会", community.name).chars().take(64).collect()),
                    V::T(format!("{road}{no}号门前至路沿石，东西各5米")),
                    V::F(lat),
                    V::F(lng),
                    V::F(lat + 0.00005),
                    V::F(lng + 0.0001),
                    V::I(if k % 5 == 4 { 3 } else { ALL_DUTIES }),
                    V::T(crate::time::day_ms(signed)),
                    V::I(12),
                    V::NullU,
                    V::I(signed),
                ]);
                let duties = if k % 5 == 4 { 3 } else { ALL_DUTIES };
                // Most shops keep their frontage; a few often fail.
                let fail_p = match k % 7 {
                    0 => 0.45,
                    3 => 0.2,
                    _ => 0.04,
                };
                // The first community's first shop: three failures this month, a notice, no case yet.
                let forced = si == 0 && ci == 0 && k == 0;
                let mut month_state: std::collections::HashMap<String, (u32, bool)> = Default::default();
                let mut times: Vec<i64> = (0..11)
                    .map(|n| now - (30 - 3 * n) * day + rng.random_range(-3_600_000..3_600_000i64) - 2 * 3_600_000)
                    .filter(|t| *t < now - 60_000)
                    .collect();
                if forced {
                    times = (0..3)
                        .map(|n| month_start.max(now - 3 * day) + n * 3_600_000)
                        .filter(|t| *t < now)
                        .collect();
                    if times.len() < 3 {
                        times = vec![now - 3 * 3_600_000, now - 2 * 3_600_000, now - 3_600_000];
                    }
                }
                for t in times {
                    let month = rules::month_of(t);
                    let mut failed = if forced { true } else { rng.random_bool(fail_p) };
                    let st = month_state.entry(month.clone()).or_insert((0, false));
                    let step = rules::next_step(failed, st.0 + u32::from(failed), st.1, false);
                    if step == Step::Case {
                        // The demo files no case: the shop put it right before the patrol came.
                        failed = false;
                    }
                    if failed {
                        st.0 += 1;
                    }
                    let which = rng.random_range(0..3usize);
                    let verdict = |bit: i64, i: usize| -> V {
                        if duties & bit == 0 {
                            V::NullI
                        } else {
                            V::I(i64::from(!(failed && i == which.min(if duties == 3 { 1 } else { 2 }))))
                        }
                    };
                    let check = new_id();
                    checks.push(vec![
                        V::U(check),
                        V::U(id),
                        V::S(district),
                        V::T(community.code.clone()),
                        V::I(t),
                        V::T(month.clone()),
                        V::NullU,
                        V::T(patrol.clone()),
                        verdict(1, 0),
                        verdict(2, 1),
                        verdict(4, 2),
                        V::B(!failed),
                        V::T(if failed {
                            NOTES[which % NOTES.len()].to_string()
                        } else {
                            String::new()
                        }),
                        V::F(lat),
                        V::F(lng),
                        if failed { V::S(DEMO_PHOTO) } else { V::NullT },
                        if failed { V::S("image/jpeg") } else { V::NullT },
                    ]);
                    if step == Step::Notice {
                        st.1 = true;
                        notices.push(vec![
                            V::U(new_id()),
                            V::U(id),
                            V::S(district),
                            V::T(month.clone()),
                            V::S("notice"),
                            V::U(check),
                            V::NullU,
                            V::T(format!(
                                "【门前三包整改通知】{}：本月门前{}已{}次检查不合格，请于3日内整改。再次不合格将立案交有关部门处理。",
                                shop,
                                rules::duty_labels(duties),
                                st.0
                            )),
                            V::I(t),
                        ]);
                    }
                }
            }
        }
    }
    let (n_agreements, n_checks, n_notices) = (agreements.len(), checks.len(), notices.len());
    bulk(
        tx,
        "frontage_agreements",
        &[
            "id",
            "district",
            "grid_code",
            "street_code",
            "shop_name",
            "address",
            "signer_name",
            "signer_phone",
            "party_name",
            "segment",
            "from_lat",
            "from_lng",
            "to_lat",
            "to_lng",
            "duties",
            "signed_on",
            "term_months",
            "created_by",
            "created_at",
        ],
        agreements,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "frontage_checks",
        &[
            "id",
            "agreement_id",
            "district",
            "grid_code",
            "checked_at",
            "month",
            "checked_by",
            "checker_name",
            "sanitation",
            "orderliness",
            "greenery",
            "passed",
            "note",
            "lat",
            "lng",
            "photo_sha256",
            "photo_mime",
        ],
        checks,
        &pb,
    )
    .await?;
    bulk(
        tx,
        "frontage_notices",
        &[
            "id",
            "agreement_id",
            "district",
            "month",
            "kind",
            "check_id",
            "case_id",
            "message",
            "created_at",
        ],
        notices,
        &pb,
    )
    .await?;
    Ok(format!(
        "门前三包: {n_agreements} agreements, {n_checks} patrol checks, {n_notices} notices"
    ))
}
