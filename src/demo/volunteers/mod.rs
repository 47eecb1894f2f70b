//! The demo's volunteers (志愿服务与积分): sizes, the plan they fill, and the entry points `plan` and `insert`.
//!
//! Organisations, teams, volunteers, a year of weekly activities with attendance and points, love
//! supermarkets and merchants, redemptions — written as rows whose ledger balances (every
//! transaction sums to zero; balances equal their postings). Each sub-area plans and writes its
//! own rows: `teams`, `activities`, `shops`, `ledger`.

mod activities;
mod ledger;
mod shops;
mod teams;

pub use activities::{VActivity, VSignup};
pub use ledger::{VAccount, VTransaction};
pub use shops::{VItem, VRedemption, VShop};
pub use teams::{VTeam, VUnit, VVolunteer};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::plan::{PGrid, Plan};
use super::{V, bulk};
use crate::db::Tx;

/// How many of each, by scale.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub volunteers: usize,
    pub organisations: usize,
    pub supermarkets: usize,
    pub merchants: usize,
}

/// Chuanhui: 54 teams (the grid plan's), 32 organisations, 68,000 volunteers, 11 love supermarkets, 36 merchants.
pub const DISTRICT: Sizes = Sizes {
    volunteers: 68_000,
    organisations: 32,
    supermarkets: 11,
    merchants: 36,
};

pub const SMALL: Sizes = Sizes {
    volunteers: 300,
    organisations: 3,
    supermarkets: 2,
    merchants: 3,
};

pub struct VPlan {
    pub units: Vec<VUnit>,
    pub teams: Vec<VTeam>,
    pub volunteers: Vec<VVolunteer>,
    pub themes: Vec<(String, String, String)>,
    pub activities: Vec<VActivity>,
    pub signups: Vec<VSignup>,
    pub shops: Vec<VShop>,
    pub items: Vec<VItem>,
    pub transactions: Vec<VTransaction>,
    pub redemptions: Vec<VRedemption>,
    pub accounts: Vec<VAccount>,
    /// The volunteer the demo's `resident` account signs in as.
    pub demo_volunteer: Option<usize>,
}

/// A bulk-insert cell: text.
fn t(s: &str) -> V {
    V::T(s.to_string())
}

/// A bulk-insert cell: a uuid or a uuid-typed NULL.
fn opt_u(u: Option<Uuid>) -> V {
    u.map(V::U).unwrap_or(V::NullU)
}

/// A bulk-insert cell: an integer or an integer-typed NULL.
fn opt_i(i: Option<i64>) -> V {
    i.map(V::I).unwrap_or(V::NullI)
}

/// A UUIDv7 at `ms` with seeded random bits: ids sort by time and repeat from run to run.
fn uuid_at(rng: &mut ChaCha8Rng, ms: i64) -> Uuid {
    let mut bytes = [0u8; 10];
    for b in &mut bytes {
        *b = rng.random();
    }
    uuid::Builder::from_unix_timestamp_millis(ms.max(0) as u64, &bytes).into_uuid()
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A moment between `from` and `to` o'clock China time (UTC+8 all year) on the China day that is
/// `days` after the one holding `ms`: demo people sign up, serve and shop in waking hours.
fn at_hours(rng: &mut ChaCha8Rng, ms: i64, days: i64, (from, to): (i64, i64)) -> i64 {
    let day = (ms + 8 * HOUR).div_euclid(DAY) + days;
    day * DAY - 8 * HOUR + rng.random_range(from * HOUR..to * HOUR)
}

/// The China-time hour of day of `ms` (0–23).
#[cfg(test)]
fn china_hour(ms: i64) -> i64 {
    (ms + 8 * HOUR).rem_euclid(DAY) / HOUR
}

/// A code of `len` letters and digits that cannot be misread (no I, O, 0, 1).
fn short_code(rng: &mut ChaCha8Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Plan everything. `now` anchors the year of history (and two weeks ahead).
///
/// One seeded generator is drawn from in this order (organisations, teams, volunteers and their
/// teams, activities, shops, the ledger, stock): reordering the steps changes the whole demo.
pub fn plan(p: &Plan, sizes: Sizes, team_count: usize, seed: u64, now: i64) -> VPlan {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5f0f_u64);
    let year_ago = now - 365 * 86_400_000;
    let communities: Vec<&PGrid> = p.grids.iter().filter(|g| g.level == 3).collect();
    let units = teams::organisations(&mut rng, p.district_code, sizes.organisations, year_ago);
    let mut teams = teams::teams(&mut rng, p, &units, &communities, team_count, year_ago);
    let (mut volunteers, demo_volunteer) = teams::volunteers(&mut rng, p, &units, sizes.volunteers, year_ago);
    teams::join_teams(&mut rng, &mut teams, &volunteers);
    let themes = activities::themes(&communities, year_ago);
    let (activities, signups, credits) = activities::weekly(&mut rng, p, &teams, &mut volunteers, year_ago, now);
    let (shops, items) = shops::shops_and_items(&mut rng, &communities, sizes, year_ago);
    let mut v = VPlan {
        units,
        teams,
        volunteers,
        themes,
        activities,
        signups,
        shops,
        items,
        transactions: Vec::new(),
        redemptions: Vec::new(),
        accounts: Vec::new(),
        demo_volunteer,
    };
    ledger::walk(&mut rng, &mut v, credits, year_ago, now);
    shops::stock(&mut rng, &mut v.items);
    v.transactions.sort_by_key(|t| (t.at, t.id));
    v
}

/// Write the plan inside the demo's transaction. Links the `resident` account to its volunteer and
/// adds a `keeper` account at the first love supermarket. Returns a one-line summary.
pub(super) async fn insert(
    tx: &mut Tx,
    district: &str,
    v: &VPlan,
    password_hash: &str,
    pb: &indicatif::ProgressBar,
) -> anyhow::Result<String> {
    let now = crate::db::now_ms();
    // Organisations and shops are both units: one batch.
    let mut units: Vec<Vec<V>> = v
        .units
        .iter()
        .map(|u| vec![V::U(u.id), t(district), t(u.kind), t(&u.name), t(&u.grid), V::I(now)])
        .collect();
    units.extend(
        v.shops
            .iter()
            .map(|s| vec![V::U(s.id), t(district), t(s.kind), t(&s.name), t(&s.grid), V::I(now)]),
    );
    bulk(
        tx,
        "units",
        &["id", "district", "kind", "name", "grid_code", "created_at"],
        units,
        pb,
    )
    .await?;
    shops::insert(tx, district, v, now, pb).await?;
    teams::insert(tx, district, v, now, pb).await?;
    activities::insert(tx, district, v, now, pb).await?;
    ledger::insert(tx, district, v, now, pb).await?;
    shops::insert_redemptions(tx, district, v, pb).await?;
    // The `resident` account is the first building's volunteer; `keeper` keeps the first love supermarket.
    if let Some(i) = v.demo_volunteer {
        let x = &v.volunteers[i];
        crate::on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE volunteers SET user_id = (SELECT id FROM users WHERE username = 'resident') WHERE id = $1"
        )
        .bind(x.id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        // The community has checked who the account is: it is that resident's own.
        crate::on_tx!(&mut *tx, |c| sqlx::query(
            "INSERT INTO resident_accounts (user_id, resident_id, district, created_at) \
             SELECT id, $1, $2, $3 FROM users WHERE username = 'resident'"
        )
        .bind(x.resident)
        .bind(district)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        crate::on_tx!(&mut *tx, |c| sqlx::query(
            "UPDATE users SET display_name = $1 WHERE username = 'resident'"
        )
        .bind(&x.name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    if let Some(shop) = v.shops.iter().find(|s| s.kind == "love_supermarket") {
        let id = crate::auth::store::insert_user(tx, district, "keeper", "爱心超市店员", password_hash).await?;
        crate::auth::store::insert_post(tx, district, id, crate::auth::Role::ShopKeeper, None, Some(shop.id)).await?;
    }
    Ok(format!(
        "{} volunteers in {} teams and {} organisations, {} activities, {} points transactions, {} redemptions at {} love supermarkets and {} merchants",
        v.volunteers.len(),
        v.teams.len(),
        v.units.len(),
        v.activities.len(),
        v.transactions.len(),
        v.redemptions.len(),
        v.shops.iter().filter(|s| s.kind == "love_supermarket").count(),
        v.shops.iter().filter(|s| s.kind == "merchant").count(),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use uuid::Uuid;

    use super::*;
    use crate::volunteers::ledger::{self, AccountKind};

    #[test]
    fn unit_names_are_unique_at_district_scale() {
        // units (district, kind, name) is unique: the demo must never draw a name twice.
        let p = super::super::plan::plan(super::super::plan::DISTRICT, 20231);
        let v = plan(&p, DISTRICT, super::super::plan::DISTRICT.volunteer_teams, 20231, 1_795_000_000_000);
        let mut seen = std::collections::HashSet::new();
        let names = p.units.iter().map(|u| (u.kind, u.name.as_str()));
        let names = names.chain(v.units.iter().map(|u| (u.kind, u.name.as_str())));
        for (kind, name) in names.chain(v.shops.iter().map(|s| (s.kind, s.name.as_str()))) {
            assert!(seen.insert((kind, name)), "{kind} {name} twice");
        }
    }

    #[test]
    fn the_small_plan_has_a_sound_ledger() {
        let p = super::super::plan::plan(super::super::plan::SMALL, 7);
        let now: i64 = 1_795_000_000_000;
        let v = plan(&p, SMALL, super::super::plan::SMALL.volunteer_teams, 7, now);
        assert_eq!(v.volunteers.len(), SMALL.volunteers);
        assert_eq!(v.teams.len(), super::super::plan::SMALL.volunteer_teams);
        assert_eq!(v.shops.len(), SMALL.supermarkets + SMALL.merchants);
        assert!(!v.redemptions.is_empty() && !v.activities.is_empty());
        assert!(v.demo_volunteer.is_some());
        assert!(v.activities.iter().any(|a| a.starts_at > now), "upcoming activities to sign up to");
        // Every transaction sums to zero; each account's balance is its postings' sum; only the issuer is negative.
        let kind_of: HashMap<Uuid, AccountKind> = v.accounts.iter().map(|a| (a.id, AccountKind::parse(a.kind).unwrap())).collect();
        let tx_sums: Vec<(Uuid, i64, i64)> = v
            .transactions
            .iter()
            .map(|t| (t.id, t.postings.iter().map(|p| p.1).sum(), t.postings.len() as i64))
            .collect();
        let mut sums: HashMap<Uuid, i64> = HashMap::new();
        for t in &v.transactions {
            for (a, amt) in &t.postings {
                *sums.entry(*a).or_default() += amt;
            }
        }
        let accounts: Vec<(Uuid, AccountKind, i64, i64)> = v
            .accounts
            .iter()
            .map(|a| (a.id, kind_of[&a.id], a.balance, sums.get(&a.id).copied().unwrap_or(0)))
            .collect();
        let check = ledger::check(&tx_sums, &accounts);
        assert!(check.is_sound(), "{check:?}");
        // Hours: each volunteer's minutes are their attended sign-ups'.
        let mut minutes = vec![0i64; v.volunteers.len()];
        for s in &v.signups {
            minutes[s.volunteer] += s.minutes;
        }
        assert!(v.volunteers.iter().zip(&minutes).all(|(a, m)| a.minutes == *m));
    }

    #[test]
    fn demo_people_act_in_waking_hours_and_sign_as_themselves() {
        let p = super::super::plan::plan(super::super::plan::SMALL, 7);
        let now: i64 = 1_795_000_000_000;
        let v = plan(&p, SMALL, super::super::plan::SMALL.volunteer_teams, 7, now);
        // Redemptions in shop hours (08:00–20:00 China time), before now.
        for r in &v.redemptions {
            assert!(
                (8..20).contains(&china_hour(r.at)) && r.at < now,
                "redemption at {}",
                crate::time::format_ms(r.at)
            );
        }
        // Sign-ups, check-ins and check-outs in the day.
        for s in &v.signups {
            for at in [Some(s.signed_up_at), s.checked_in_at, s.checked_out_at].into_iter().flatten() {
                assert!(
                    (7..22).contains(&china_hour(at)),
                    "sign-up activity at {}",
                    crate::time::format_ms(at)
                );
            }
        }
        // Every ledger line in the day, none signed 演示数据.
        for t in &v.transactions {
            assert!(
                (7..22).contains(&china_hour(t.at)),
                "{} at {}",
                t.reason,
                crate::time::format_ms(t.at)
            );
            assert!(!t.actor.is_empty() && !t.actor.contains("演示"), "{}", t.actor);
        }
    }
}
