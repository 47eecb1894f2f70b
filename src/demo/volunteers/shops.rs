//! The demo's love supermarkets and merchants, their catalogue and stock, and the redemptions made there.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::{Sizes, VPlan, opt_i, opt_u, t, uuid_at};
use crate::db::Tx;
use crate::demo::plan::PGrid;
use crate::demo::{V, bulk};

pub struct VShop {
    pub id: Uuid,
    pub kind: &'static str,
    pub name: String,
    pub grid: String,
    pub address: String,
}

pub struct VItem {
    pub id: Uuid,
    pub shop: usize,
    pub name: String,
    pub points: Option<i64>,
    pub discount: String,
    pub stock: i64,
}

pub struct VRedemption {
    pub id: Uuid,
    pub code_id: Uuid,
    pub code: String,
    pub shop: usize,
    pub item: usize,
    pub volunteer: usize,
    pub points: i64,
    pub transaction: Uuid,
    pub at: i64,
}

const GOODS: &[(&str, i64)] = &[
    ("大米（5斤）", 60),
    ("食用油（1.8升）", 90),
    ("洗衣液（2公斤）", 45),
    ("毛巾", 15),
    ("牙膏", 12),
    ("鸡蛋（10个）", 25),
    ("挂面（1公斤）", 12),
    ("酱油（500毫升）", 15),
    ("香皂", 8),
    ("卷纸（10卷）", 25),
    ("保温杯", 70),
    ("雨伞", 40),
];
const OFFERS: &[(&str, Option<i64>, &str)] = &[
    ("理发一次", Some(50), ""),
    ("家电清洗", Some(120), ""),
    ("早餐套餐", Some(20), ""),
    ("眼镜清洗调校", Some(10), ""),
    ("凭志愿者证消费九折", None, "九折"),
    ("凭志愿者证消费满百减十", None, "满100减10"),
];

/// Love supermarkets (one per community until they run out) and merchants of the 商会, with
/// their catalogue; stock is set after the ledger walk (`stock`).
pub(super) fn shops_and_items(rng: &mut ChaCha8Rng, communities: &[&PGrid], sizes: Sizes, year_ago: i64) -> (Vec<VShop>, Vec<VItem>) {
    let mut shops = Vec::new();
    for i in 0..sizes.supermarkets {
        let c = communities[i % communities.len().max(1)];
        shops.push(VShop {
            id: uuid_at(rng, year_ago),
            kind: "love_supermarket",
            name: format!("{}爱心超市", c.name),
            grid: c.code.clone(),
            address: format!("{}党群服务中心一楼", c.name),
        });
    }
    let mut taken = std::collections::HashSet::new();
    for i in 0..sizes.merchants {
        let kind = ["理发店", "早餐店", "眼镜店", "家电维修部", "便利店", "药店"][i % 6];
        let mut at = rng.random_range(0..communities.len().max(1));
        // Unit names are unique in a district: the same word and trade (every 30th merchant)
        // drawn in the same community again moves on to the next community.
        let (c, name) = loop {
            let c = communities[at % communities.len().max(1)];
            let name = format!(
                "{}{}{}",
                c.name.trim_end_matches("社区").trim_end_matches('村'),
                ["惠民", "邻里", "红星", "和顺", "福满"][i % 5],
                kind
            );
            if taken.insert(name.clone()) || at >= i + communities.len() * 2 {
                break (c, name);
            }
            at += 1;
        };
        shops.push(VShop {
            id: uuid_at(rng, year_ago),
            kind: "merchant",
            name,
            grid: c.code.clone(),
            address: format!("{}临街商铺", c.name),
        });
    }
    let mut items = Vec::new();
    for (si, s) in shops.iter().enumerate() {
        if s.kind == "love_supermarket" {
            for (name, price) in GOODS {
                items.push(VItem {
                    id: uuid_at(rng, year_ago),
                    shop: si,
                    name: name.to_string(),
                    points: Some(*price),
                    discount: String::new(),
                    stock: 0,
                });
            }
        } else {
            for k in 0..2 {
                let (name, price, discount) = OFFERS[(si + k * 3) % OFFERS.len()];
                items.push(VItem {
                    id: uuid_at(rng, year_ago),
                    shop: si,
                    name: name.to_string(),
                    points: price,
                    discount: discount.to_string(),
                    stock: 0,
                });
            }
        }
    }
    (shops, items)
}

/// Stock on hand now (what was redeemed came out of earlier deliveries).
pub(super) fn stock(rng: &mut ChaCha8Rng, items: &mut [VItem]) {
    for it in items.iter_mut() {
        it.stock = if it.points.is_some() { rng.random_range(5..120) } else { 0 };
    }
}

/// Write the shops and their catalogue (their units are written with the organisations).
pub(super) async fn insert(tx: &mut Tx, district: &str, v: &VPlan, now: i64, pb: &indicatif::ProgressBar) -> anyhow::Result<()> {
    let association: Option<Uuid> = crate::on_tx!(&mut *tx, |c| sqlx::query_scalar(
        "SELECT id FROM units WHERE district = $1 AND kind = 'merchant_association' ORDER BY name LIMIT 1"
    )
    .bind(district)
    .fetch_optional(c)
    .await)?;
    let shops = v
        .shops
        .iter()
        .map(|s| {
            let assoc = if s.kind == "merchant" { opt_u(association) } else { V::NullU };
            vec![
                V::U(s.id),
                t(district),
                t(s.kind),
                t(&s.name),
                t(&s.grid),
                t(&s.address),
                assoc,
                V::I(now),
            ]
        })
        .collect();
    bulk(
        tx,
        "shops",
        &[
            "id",
            "district",
            "kind",
            "name",
            "grid_code",
            "address",
            "association_id",
            "created_at",
        ],
        shops,
        pb,
    )
    .await?;
    let items = v
        .items
        .iter()
        .map(|i| {
            vec![
                V::U(i.id),
                t(district),
                V::U(v.shops[i.shop].id),
                t(&i.name),
                opt_i(i.points),
                t(&i.discount),
                V::I(i.stock),
                V::I(now),
                V::I(now),
            ]
        })
        .collect();
    bulk(
        tx,
        "shop_items",
        &[
            "id",
            "district",
            "shop_id",
            "name",
            "points",
            "discount",
            "stock",
            "created_at",
            "updated_at",
        ],
        items,
        pb,
    )
    .await?;
    Ok(())
}

/// Write the used redemption codes and the redemptions (after the ledger they point at).
pub(super) async fn insert_redemptions(tx: &mut Tx, district: &str, v: &VPlan, pb: &indicatif::ProgressBar) -> anyhow::Result<()> {
    let codes = v
        .redemptions
        .iter()
        .map(|r| {
            vec![
                V::U(r.code_id),
                t(district),
                V::U(v.volunteers[r.volunteer].id),
                t(&r.code),
                V::I(r.at - 120_000),
                V::I(r.at + 480_000),
                V::I(r.at),
            ]
        })
        .collect();
    bulk(
        tx,
        "redemption_codes",
        &["id", "district", "volunteer_id", "code", "created_at", "expires_at", "used_at"],
        codes,
        pb,
    )
    .await?;
    let redemptions = v
        .redemptions
        .iter()
        .map(|r| {
            vec![
                V::U(r.id),
                t(district),
                V::U(v.shops[r.shop].id),
                V::U(v.items[r.item].id),
                V::U(v.volunteers[r.volunteer].id),
                V::U(r.code_id),
                V::I(1),
                V::I(r.points),
                V::U(r.transaction),
                V::I(r.at),
            ]
        })
        .collect();
    bulk(
        tx,
        "redemptions",
        &[
            "id",
            "district",
            "shop_id",
            "item_id",
            "volunteer_id",
            "code_id",
            "quantity",
            "points",
            "transaction_id",
            "at_ms",
        ],
        redemptions,
        pb,
    )
    .await?;
    Ok(())
}
