//! The demo's points ledger: accounts, earn and redeem transactions in time order, and their rows.

use std::collections::HashMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::shops::VRedemption;
use super::{VPlan, short_code, t, uuid_at};
use crate::db::Tx;
use crate::demo::{V, bulk};
use crate::volunteers::rules;

/// A ledger transaction: (id, at, kind, reason, source kind, source id, unique key, postings).
pub struct VTransaction {
    pub id: Uuid,
    pub at: i64,
    pub kind: &'static str,
    pub reason: String,
    pub source_kind: &'static str,
    pub source_id: String,
    pub unique_key: String,
    /// Who made it, as a live system records it: the volunteer who checked out, the shop that
    /// confirmed a redemption.
    pub actor: String,
    pub postings: Vec<(Uuid, i64)>,
}

/// (id, kind, owner, balance)
pub struct VAccount {
    pub id: Uuid,
    pub kind: &'static str,
    pub owner: Uuid,
    pub balance: i64,
}

/// An attendance to pay: (at, volunteer, points, signup).
pub(super) type Credit = (i64, usize, i64, usize);

/// The ledger, in time order: credits as they happen; now and then a volunteer with enough
/// points redeems an item at a shop of their street (or any), within the stock on hand. Fills
/// the plan's accounts, transactions and redemptions, and each paid sign-up's transaction.
pub(super) fn walk(rng: &mut ChaCha8Rng, v: &mut VPlan, mut credits: Vec<Credit>, year_ago: i64, now: i64) {
    let (volunteers, activities, shops, items) = (&v.volunteers, &v.activities, &v.shops, &v.items);
    let signups = &mut v.signups;
    let mut accounts: Vec<VAccount> = Vec::new();
    let issuer = uuid_at(rng, year_ago);
    accounts.push(VAccount {
        id: issuer,
        kind: "issuer",
        owner: Uuid::nil(),
        balance: 0,
    });
    let mut volunteer_account: HashMap<usize, usize> = HashMap::new();
    let mut shop_account: HashMap<usize, usize> = HashMap::new();
    let mut transactions = Vec::new();
    let mut redemptions = Vec::new();
    let priced: Vec<usize> = (0..items.len()).filter(|&i| items[i].points.is_some()).collect();
    credits.sort_by_key(|c| c.0);
    for (at, vi, points, si) in credits {
        let va = *volunteer_account.entry(vi).or_insert_with(|| {
            accounts.push(VAccount {
                id: uuid_at(rng, at),
                kind: "volunteer",
                owner: volunteers[vi].id,
                balance: 0,
            });
            accounts.len() - 1
        });
        let tid = uuid_at(rng, at);
        let activity = &activities[signups[si].activity];
        transactions.push(VTransaction {
            id: tid,
            at,
            kind: "earn",
            reason: rules::default_of(rules::VOLUNTEER_HOUR)
                .map(|r| r.name)
                .unwrap_or("志愿服务")
                .to_string(),
            source_kind: "activity",
            source_id: activity.id.to_string(),
            unique_key: format!("attendance:{}:{}", activity.id, volunteers[vi].id),
            actor: volunteers[vi].name.clone(),
            postings: vec![(issuer, -points), (accounts[va].id, points)],
        });
        accounts[0].balance -= points;
        accounts[va].balance += points;
        signups[si].transaction = Some(tid);
        if priced.is_empty() || !rng.random_bool(0.12) {
            continue;
        }
        let ii = priced[rng.random_range(0..priced.len())];
        let price = items[ii].points.unwrap_or(0);
        if accounts[va].balance < price || at + 86_400_000 > now {
            continue;
        }
        // In shop hours (08:00–20:00 China time), within three days after the service.
        let days = rng.random_range(0..3);
        let mut when = super::at_hours(rng, at, days, (8, 20));
        if when <= at + 1_800_000 {
            when += 86_400_000;
        }
        if when >= now {
            continue;
        }
        let shop = items[ii].shop;
        let sa = *shop_account.entry(shop).or_insert_with(|| {
            accounts.push(VAccount {
                id: uuid_at(rng, when),
                kind: "shop",
                owner: shops[shop].id,
                balance: 0,
            });
            accounts.len() - 1
        });
        let rid = uuid_at(rng, when);
        let tid = uuid_at(rng, when);
        transactions.push(VTransaction {
            id: tid,
            at: when,
            kind: "redeem",
            reason: format!("兑换 {} × 1", items[ii].name),
            source_kind: "redemption",
            source_id: rid.to_string(),
            unique_key: format!("redemption:{rid}"),
            actor: shops[shop].name.clone(),
            postings: vec![(accounts[va].id, -price), (accounts[sa].id, price)],
        });
        accounts[va].balance -= price;
        accounts[sa].balance += price;
        redemptions.push(VRedemption {
            id: rid,
            code_id: uuid_at(rng, when - 120_000),
            code: short_code(rng, 8),
            shop,
            item: ii,
            volunteer: vi,
            points: price,
            transaction: tid,
            at: when,
        });
    }
    v.accounts = accounts;
    v.transactions = transactions;
    v.redemptions = redemptions;
}

/// Write the district's points rules, every account (zero when nothing moved), the transactions and their postings.
pub(super) async fn insert(tx: &mut Tx, district: &str, v: &VPlan, now: i64, pb: &indicatif::ProgressBar) -> anyhow::Result<()> {
    crate::volunteers::store::seed_rules_in(tx, district).await?;
    // Accounts: every volunteer and shop has one, zero when nothing moved.
    let mut owners: std::collections::HashSet<Uuid> = v.accounts.iter().map(|a| a.owner).collect();
    let mut accounts: Vec<Vec<V>> = v
        .accounts
        .iter()
        .map(|a| vec![V::U(a.id), t(district), t(a.kind), V::U(a.owner), V::I(a.balance), V::I(now)])
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(0xacc0);
    for (kind, owner) in v
        .volunteers
        .iter()
        .map(|x| ("volunteer", x.id))
        .chain(v.shops.iter().map(|s| ("shop", s.id)))
    {
        if owners.insert(owner) {
            accounts.push(vec![
                V::U(uuid_at(&mut rng, now)),
                t(district),
                t(kind),
                V::U(owner),
                V::I(0),
                V::I(now),
            ]);
        }
    }
    bulk(
        tx,
        "points_accounts",
        &["id", "district", "kind", "owner_id", "balance", "created_at"],
        accounts,
        pb,
    )
    .await?;
    let mut postings = Vec::new();
    let transactions = v
        .transactions
        .iter()
        .map(|x| {
            for (account, amount) in &x.postings {
                postings.push(vec![
                    V::U(uuid_at(&mut rng, x.at)),
                    V::U(x.id),
                    t(district),
                    V::U(*account),
                    V::I(*amount),
                    V::I(x.at),
                ]);
            }
            vec![
                V::U(x.id),
                t(district),
                V::I(x.at),
                t(x.kind),
                t(&x.reason),
                t(x.source_kind),
                t(&x.source_id),
                t(&x.unique_key),
                t(&x.actor),
            ]
        })
        .collect();
    bulk(
        tx,
        "points_transactions",
        &[
            "id",
            "district",
            "at_ms",
            "kind",
            "reason",
            "source_kind",
            "source_id",
            "unique_key",
            "actor_name",
        ],
        transactions,
        pb,
    )
    .await?;
    bulk(
        tx,
        "points_postings",
        &["id", "transaction_id", "district", "account_id", "amount", "at_ms"],
        postings,
        pb,
    )
    .await?;
    Ok(())
}
