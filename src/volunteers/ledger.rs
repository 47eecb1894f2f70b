//! The points ledger as pure double-entry bookkeeping: postings, balanced transactions, balances.
//!
//! Points (爱心积分) are money-like. Every change is a transaction whose postings sum to zero;
//! nothing is edited, a mistake is undone by a compensating transaction; a balance is the sum of
//! its account's postings. The district's issuing account is the source of points and may go
//! negative (its balance is minus the points in circulation); no volunteer or shop account may.
//! No I/O here: the store asks [`validate`] and [`apply`] and writes what they accept.

use std::collections::BTreeMap;

use uuid::Uuid;

/// Whose account it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccountKind {
    /// The district's issuing account (发放账户): the source of points, may go negative.
    Issuer,
    /// A volunteer's points.
    Volunteer,
    /// A love supermarket's or merchant's takings.
    Shop,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Issuer => "issuer",
            AccountKind::Volunteer => "volunteer",
            AccountKind::Shop => "shop",
        }
    }

    pub fn parse(s: &str) -> Option<AccountKind> {
        [AccountKind::Issuer, AccountKind::Volunteer, AccountKind::Shop]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// Only the issuer may owe points.
    pub fn may_go_negative(self) -> bool {
        self == AccountKind::Issuer
    }
}

/// One line of a transaction: `amount` points into (positive) or out of (negative) an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: Uuid,
    pub kind: AccountKind,
    pub amount: i64,
}

/// Why a transaction is refused. `code` and `message` are the API's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// A transaction needs postings.
    Empty,
    /// A posting of zero points says nothing.
    ZeroAmount,
    /// The postings do not sum to zero (or the sum overflows).
    Unbalanced,
    /// This account would go below zero.
    InsufficientPoints(Uuid),
    /// An account named with two kinds.
    KindMismatch(Uuid),
}

impl LedgerError {
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Empty => "empty_transaction",
            LedgerError::ZeroAmount => "zero_amount",
            LedgerError::Unbalanced => "unbalanced_transaction",
            LedgerError::InsufficientPoints(_) => "insufficient_points",
            LedgerError::KindMismatch(_) => "account_kind_mismatch",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            LedgerError::Empty => "积分交易没有分录",
            LedgerError::ZeroAmount => "积分分录金额不能为零",
            LedgerError::Unbalanced => "积分交易借贷不平衡",
            LedgerError::InsufficientPoints(_) => "余额不足",
            LedgerError::KindMismatch(_) => "积分账户类型不一致",
        }
    }
}

/// A transaction is well formed when it has postings, none of zero, and they sum to exactly zero.
pub fn validate(postings: &[Posting]) -> Result<(), LedgerError> {
    if postings.is_empty() {
        return Err(LedgerError::Empty);
    }
    if postings.iter().any(|p| p.amount == 0) {
        return Err(LedgerError::ZeroAmount);
    }
    let sum = postings.iter().try_fold(0i64, |acc, p| acc.checked_add(p.amount));
    if sum != Some(0) {
        return Err(LedgerError::Unbalanced);
    }
    let mut kinds: BTreeMap<Uuid, AccountKind> = BTreeMap::new();
    for p in postings {
        if *kinds.entry(p.account).or_insert(p.kind) != p.kind {
            return Err(LedgerError::KindMismatch(p.account));
        }
    }
    Ok(())
}

/// Net change per account (an account may appear in several postings).
pub fn net(postings: &[Posting]) -> BTreeMap<Uuid, (AccountKind, i64)> {
    let mut out: BTreeMap<Uuid, (AccountKind, i64)> = BTreeMap::new();
    for p in postings {
        let e = out.entry(p.account).or_insert((p.kind, 0));
        e.1 = e.1.saturating_add(p.amount);
    }
    out
}

/// Balances by account. Accounts not present are at zero.
pub type Balances = BTreeMap<Uuid, (AccountKind, i64)>;

/// Apply a transaction to balances: all of it or (on refusal) none of it.
pub fn apply(balances: &mut Balances, postings: &[Posting]) -> Result<(), LedgerError> {
    validate(postings)?;
    let changes = net(postings);
    let mut next = Vec::with_capacity(changes.len());
    for (account, (kind, delta)) in &changes {
        let (held_kind, now) = balances.get(account).copied().unwrap_or((*kind, 0));
        if held_kind != *kind {
            return Err(LedgerError::KindMismatch(*account));
        }
        let after = now.checked_add(*delta).ok_or(LedgerError::Unbalanced)?;
        if after < 0 && !kind.may_go_negative() {
            return Err(LedgerError::InsufficientPoints(*account));
        }
        next.push((*account, (*kind, after)));
    }
    balances.extend(next);
    Ok(())
}

/// Points issued to a volunteer (or a shop) from the district's issuing account.
pub fn issue(issuer: Uuid, to: (Uuid, AccountKind), points: i64) -> Vec<Posting> {
    vec![
        Posting {
            account: issuer,
            kind: AccountKind::Issuer,
            amount: -points,
        },
        Posting {
            account: to.0,
            kind: to.1,
            amount: points,
        },
    ]
}

/// A volunteer spends points at a shop.
pub fn redeem(volunteer: Uuid, shop: Uuid, points: i64) -> Vec<Posting> {
    vec![
        Posting {
            account: volunteer,
            kind: AccountKind::Volunteer,
            amount: -points,
        },
        Posting {
            account: shop,
            kind: AccountKind::Shop,
            amount: points,
        },
    ]
}

/// The compensating transaction: every posting negated. Applying it after the original leaves
/// every balance as it was (if the accounts still hold the points).
pub fn reverse(postings: &[Posting]) -> Vec<Posting> {
    postings.iter().map(|p| Posting { amount: -p.amount, ..*p }).collect()
}

/// What a full re-check of the stored ledger found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    pub transactions: i64,
    /// Sum of every posting: zero in a sound ledger.
    pub postings_sum: i64,
    /// Transactions whose postings do not sum to zero (or have none).
    pub unbalanced: Vec<Uuid>,
    /// Non-issuer accounts whose derived balance is below zero.
    pub negative_balances: Vec<Uuid>,
    /// Accounts whose cached balance differs from the sum of their postings.
    pub mismatched_balances: Vec<Uuid>,
}

impl Check {
    pub fn is_sound(&self) -> bool {
        self.postings_sum == 0 && self.unbalanced.is_empty() && self.negative_balances.is_empty() && self.mismatched_balances.is_empty()
    }
}

/// Re-check a ledger from its raw parts: per-transaction posting sums, per-account posting sums
/// and the cached balances `(account, kind, cached balance)`.
pub fn check(tx_sums: &[(Uuid, i64, i64)], accounts: &[(Uuid, AccountKind, i64, i64)]) -> Check {
    let mut c = Check {
        transactions: tx_sums.len() as i64,
        ..Check::default()
    };
    for (id, sum, count) in tx_sums {
        c.postings_sum = c.postings_sum.saturating_add(*sum);
        if *sum != 0 || *count == 0 {
            c.unbalanced.push(*id);
        }
    }
    for (id, kind, cached, derived) in accounts {
        if *derived < 0 && !kind.may_go_negative() {
            c.negative_balances.push(*id);
        }
        if cached != derived {
            c.mismatched_balances.push(*id);
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    const ISSUER: u128 = 1;

    #[test]
    fn malformed_transactions_are_refused() {
        assert_eq!(validate(&[]), Err(LedgerError::Empty));
        let p = |a: u128, k, amount| Posting {
            account: id(a),
            kind: k,
            amount,
        };
        assert_eq!(
            validate(&[p(1, AccountKind::Issuer, 0), p(2, AccountKind::Volunteer, 0)]),
            Err(LedgerError::ZeroAmount)
        );
        assert_eq!(
            validate(&[p(1, AccountKind::Issuer, -5), p(2, AccountKind::Volunteer, 4)]),
            Err(LedgerError::Unbalanced)
        );
        assert_eq!(
            validate(&[p(1, AccountKind::Issuer, i64::MAX), p(2, AccountKind::Volunteer, i64::MAX)]),
            Err(LedgerError::Unbalanced)
        );
        assert_eq!(
            validate(&[p(1, AccountKind::Issuer, -5), p(1, AccountKind::Volunteer, 5)]),
            Err(LedgerError::KindMismatch(id(1)))
        );
        assert!(validate(&issue(id(1), (id(2), AccountKind::Volunteer), 5)).is_ok());
    }

    #[test]
    fn spending_more_than_held_is_refused_and_changes_nothing() {
        let mut b = Balances::new();
        apply(&mut b, &issue(id(ISSUER), (id(2), AccountKind::Volunteer), 30)).unwrap();
        let before = b.clone();
        let err = apply(&mut b, &redeem(id(2), id(3), 31)).unwrap_err();
        assert_eq!(err, LedgerError::InsufficientPoints(id(2)));
        assert_eq!((err.code(), err.message()), ("insufficient_points", "余额不足"));
        assert_eq!(b, before);
        apply(&mut b, &redeem(id(2), id(3), 30)).unwrap();
        assert_eq!(b[&id(2)].1, 0);
        assert_eq!(b[&id(3)].1, 30);
        assert_eq!(b[&id(ISSUER)].1, -30);
    }

    #[test]
    fn a_reversal_restores_the_balances() {
        let mut b = Balances::new();
        let t = issue(id(ISSUER), (id(2), AccountKind::Volunteer), 12);
        apply(&mut b, &t).unwrap();
        apply(&mut b, &reverse(&t)).unwrap();
        assert!(b.values().all(|(_, v)| *v == 0));
        // A points credit cannot be reversed once spent.
        apply(&mut b, &t).unwrap();
        apply(&mut b, &redeem(id(2), id(3), 10)).unwrap();
        assert_eq!(apply(&mut b, &reverse(&t)), Err(LedgerError::InsufficientPoints(id(2))));
    }

    #[test]
    fn the_check_finds_each_kind_of_fault() {
        let ok = check(
            &[(id(10), 0, 2)],
            &[(id(1), AccountKind::Issuer, -5, -5), (id(2), AccountKind::Volunteer, 5, 5)],
        );
        assert!(ok.is_sound());
        let bad = check(
            &[(id(10), 1, 2), (id(11), 0, 0)],
            &[(id(1), AccountKind::Issuer, -5, -6), (id(2), AccountKind::Volunteer, 0, -1)],
        );
        assert!(!bad.is_sound());
        assert_eq!(bad.postings_sum, 1);
        assert_eq!(bad.unbalanced, vec![id(10), id(11)]);
        assert_eq!(bad.negative_balances, vec![id(2)]);
        assert_eq!(bad.mismatched_balances, vec![id(1), id(2)]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Issue {
            to: u128,
            points: i64,
        },
        Redeem {
            from: u128,
            shop: u128,
            points: i64,
        },
        Reverse {
            which: usize,
        },
        /// Balanced by construction: these legs and one more, into `last`, that makes the sum zero.
        Balanced {
            legs: Vec<(u128, i64)>,
            last: u128,
        },
        /// A balanced transaction and one extra leg (never of zero points): unbalanced.
        Unbalanced {
            legs: Vec<(u128, i64)>,
            last: u128,
            extra: (u128, i64),
        },
        Raw {
            postings: Vec<(u128, i64)>,
        },
    }

    fn kind_of(n: u128) -> AccountKind {
        match n {
            ISSUER => AccountKind::Issuer,
            2..=9 => AccountKind::Volunteer,
            _ => AccountKind::Shop,
        }
    }

    fn nonzero(max: i64) -> impl Strategy<Value = i64> {
        prop_oneof![-max..0, 1..=max]
    }

    /// 1–5 legs over the issuer, volunteers and shops. Credits are drawn twice as often as debits
    /// and the balancing leg often falls to the issuer, so that about half of these transactions
    /// fit the balances built up so far and the rest overdraw some account.
    fn legs() -> impl Strategy<Value = Vec<(u128, i64)>> {
        proptest::collection::vec((1u128..13, prop_oneof![2 => 1i64..=60, 1 => -60i64..0]), 1..6)
    }

    fn balancing_account() -> impl Strategy<Value = u128> {
        prop_oneof![Just(ISSUER), 1u128..13]
    }

    /// The legs of a balanced transaction: `legs`, then the leg into `last` that brings the sum
    /// to zero (left out when the legs already sum to zero, since a zero leg is refused).
    fn balanced(legs: &[(u128, i64)], last: u128) -> Vec<(u128, i64)> {
        let sum: i64 = legs.iter().map(|l| l.1).sum();
        let mut out = legs.to_vec();
        if sum != 0 {
            out.push((last, -sum));
        }
        out
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (2u128..10, 1i64..200).prop_map(|(to, points)| Op::Issue { to, points }),
            1 => (2u128..10, 10u128..13, -5i64..300).prop_map(|(from, shop, points)| Op::Redeem { from, shop, points }),
            1 => (0usize..50).prop_map(|which| Op::Reverse { which }),
            4 => (legs(), balancing_account()).prop_map(|(legs, last)| Op::Balanced { legs, last }),
            1 => (legs(), balancing_account(), (1u128..13, nonzero(60))).prop_map(|(legs, last, extra)| Op::Unbalanced { legs, last, extra }),
            1 => proptest::collection::vec((1u128..13, -100i64..100), 0..5).prop_map(|postings| Op::Raw { postings }),
        ]
    }

    /// How `apply` must answer a transaction the test built.
    #[derive(Debug)]
    enum Expect {
        /// Issues, redemptions, reversals and raw postings: only the invariants are checked.
        Unchecked,
        Accepted,
        /// Refused for one of these accounts, which would end below zero.
        Overdrawn(Vec<Uuid>),
        Unbalanced,
    }

    fn postings(legs: Vec<(u128, i64)>) -> Vec<Posting> {
        legs.into_iter()
            .map(|(a, amount)| Posting {
                account: id(a),
                kind: kind_of(a),
                amount,
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        // Whatever is attempted: accepted transactions balance, the whole ledger sums to zero,
        // no volunteer or shop goes negative, a refusal changes nothing, an acceptance moves each
        // account by exactly its postings, and every balance equals the sum of its account's
        // accepted postings. About a third of the operations are balanced multi-leg transactions
        // (built balanced), accepted exactly when no volunteer or shop would end below zero;
        // unbalanced ones are refused as such.
        #[test]
        fn the_ledger_keeps_its_invariants(ops in proptest::collection::vec(op(), 0..60)) {
            let mut balances = Balances::new();
            let mut journal: Vec<Vec<Posting>> = Vec::new();
            for o in ops {
                // What a balanced or unbalanced transaction must come to, worked out here from its
                // legs alone.
                let mut expect = Expect::Unchecked;
                let postings = match o {
                    Op::Issue { to, points } => issue(id(ISSUER), (id(to), kind_of(to)), points),
                    Op::Redeem { from, shop, points } => redeem(id(from), id(shop), points),
                    Op::Reverse { which } => match journal.get(which) {
                        Some(t) => reverse(t),
                        None => continue,
                    },
                    Op::Balanced { legs, last } => {
                        let legs = balanced(&legs, last);
                        let mut after: BTreeMap<u128, i64> = BTreeMap::new();
                        for (a, amount) in &legs {
                            *after.entry(*a).or_insert_with(|| balances.get(&id(*a)).map_or(0, |b| b.1)) += amount;
                        }
                        let short: Vec<Uuid> = after
                            .into_iter()
                            .filter(|(a, v)| *v < 0 && kind_of(*a) != AccountKind::Issuer)
                            .map(|(a, _)| id(a))
                            .collect();
                        expect = if short.is_empty() { Expect::Accepted } else { Expect::Overdrawn(short) };
                        postings(legs)
                    }
                    Op::Unbalanced { legs, last, extra } => {
                        let mut legs = balanced(&legs, last);
                        legs.push(extra);
                        expect = Expect::Unbalanced;
                        postings(legs)
                    }
                    Op::Raw { postings: legs } => postings(legs),
                };
                let before = balances.clone();
                let result = apply(&mut balances, &postings);
                match (&expect, &result) {
                    (Expect::Unchecked, _) | (Expect::Accepted, Ok(())) | (Expect::Unbalanced, Err(LedgerError::Unbalanced)) => {}
                    (Expect::Overdrawn(short), Err(LedgerError::InsufficientPoints(a))) if short.contains(a) => {}
                    _ => prop_assert!(false, "{:?} gave {:?}, expected {:?}", postings, result, expect),
                }
                match result {
                    Ok(()) => {
                        prop_assert_eq!(postings.iter().map(|p| p.amount).sum::<i64>(), 0);
                        prop_assert!(postings.iter().all(|p| p.amount != 0));
                        // All of it: every account moved by exactly its postings, no other moved.
                        for (acc, (_, v)) in &balances {
                            let moved: i64 = postings.iter().filter(|p| p.account == *acc).map(|p| p.amount).sum();
                            prop_assert_eq!(*v, before.get(acc).map_or(0, |b| b.1) + moved, "{}", acc);
                        }
                        journal.push(postings);
                    }
                    // None of it.
                    Err(_) => prop_assert_eq!(&balances, &before),
                }
                prop_assert_eq!(balances.values().map(|(_, v)| *v).sum::<i64>(), 0);
                for (acc, (kind, v)) in &balances {
                    prop_assert!(*v >= 0 || kind.may_go_negative(), "{acc} negative");
                }
            }
            // Balances are derived: replaying the journal's postings gives the same numbers,
            // and the full check finds nothing.
            let mut derived: BTreeMap<Uuid, i64> = BTreeMap::new();
            for t in &journal {
                for p in t {
                    *derived.entry(p.account).or_default() += p.amount;
                }
            }
            for (acc, (_, v)) in &balances {
                prop_assert_eq!(derived.get(acc).copied().unwrap_or(0), *v);
            }
            let sums: Vec<(Uuid, i64, i64)> = journal
                .iter()
                .enumerate()
                .map(|(i, t)| (id(1000 + i as u128), t.iter().map(|p| p.amount).sum(), t.len() as i64))
                .collect();
            let accounts: Vec<(Uuid, AccountKind, i64, i64)> =
                balances.iter().map(|(a, (k, v))| (*a, *k, *v, derived[a])).collect();
            prop_assert!(check(&sums, &accounts).is_sound());
        }

        // Issuing then reversing is the identity, whatever the amount.
        #[test]
        fn issue_and_reverse_cancel(points in 1i64..1_000_000, to in 2u128..10) {
            let mut b = Balances::new();
            let t = issue(id(ISSUER), (id(to), AccountKind::Volunteer), points);
            apply(&mut b, &t).unwrap();
            prop_assert_eq!(b[&id(to)].1, points);
            apply(&mut b, &reverse(&t)).unwrap();
            prop_assert!(b.values().all(|(_, v)| *v == 0));
        }
    }
}
