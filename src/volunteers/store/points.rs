//! The points ledger in the database: accounts, appending transactions, awards, corrections, listings and the audit.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::point_rules::rule_points;
use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::subtree_upper;
use crate::volunteers::ledger::{self, AccountKind, Posting};
use crate::volunteers::rules;
use crate::{on_pool, on_tx};

/// The district's issuing account owns the nil UUID.
pub const ISSUER_OWNER: Uuid = Uuid::nil();

/// The account of `(kind, owner)` in a district, opened at zero if it does not exist yet.
pub async fn account_in(tx: &mut Tx, district: &str, kind: AccountKind, owner: Uuid) -> sqlx::Result<Uuid> {
    let existing: Option<Uuid> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM points_accounts WHERE district = $1 AND kind = $2 AND owner_id = $3"
    )
    .bind(district)
    .bind(kind.as_str())
    .bind(owner)
    .fetch_optional(c)
    .await)?;
    if let Some(id) = existing {
        return Ok(id);
    }
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO points_accounts (id, district, kind, owner_id, balance, created_at) VALUES ($1, $2, $3, $4, 0, $5) \
         ON CONFLICT (district, kind, owner_id) DO NOTHING"
    )
    .bind(new_id())
    .bind(district)
    .bind(kind.as_str())
    .bind(owner)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM points_accounts WHERE district = $1 AND kind = $2 AND owner_id = $3"
    )
    .bind(district)
    .bind(kind.as_str())
    .bind(owner)
    .fetch_one(c)
    .await)
}

/// The account id of a volunteer or a shop, if open.
pub async fn account_of(db: &Db, district: &str, kind: AccountKind, owner: Uuid) -> sqlx::Result<Option<(Uuid, i64)>> {
    on_pool!(db, |p| sqlx::query_as::<_, (Uuid, i64)>(
        "SELECT id, balance FROM points_accounts WHERE district = $1 AND kind = $2 AND owner_id = $3"
    )
    .bind(district)
    .bind(kind.as_str())
    .bind(owner)
    .fetch_optional(p)
    .await)
}

/// A transaction to append.
#[derive(Debug, Clone)]
pub struct NewTransaction<'a> {
    pub district: &'a str,
    /// earn | redeem | correction
    pub kind: &'a str,
    pub reason: &'a str,
    /// A rule code, `activity`, `redemption`, `correction`, …
    pub source_kind: &'a str,
    pub source_id: &'a str,
    /// When set, a second transaction with the same key in the district is refused
    /// (`already_posted`): a credit for one attendance or one case happens once.
    pub unique_key: Option<&'a str>,
    pub reverses: Option<Uuid>,
    pub postings: Vec<Posting>,
    pub at_ms: i64,
}

/// Append a transaction inside `tx`: validated by the ledger rules, written with its postings,
/// balances moved by conditional updates so that no volunteer or shop goes below zero even
/// under concurrent writers (`insufficient_points`, 409). On an error the caller must drop `tx`.
pub async fn post_in(tx: &mut Tx, actor: &Actor<'_>, t: &NewTransaction<'_>) -> AppResult<Uuid> {
    ledger::validate(&t.postings).map_err(|e| AppError::invalid(e.code(), e.message()))?;
    let id = new_id();
    let (actor_id, actor_name) = (actor.id(), actor.display_name());
    let inserted = on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO points_transactions (id, district, at_ms, kind, reason, source_kind, source_id, unique_key, reverses_id, actor_id, actor_name) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    )
    .bind(id)
    .bind(t.district)
    .bind(t.at_ms)
    .bind(t.kind)
    .bind(t.reason)
    .bind(t.source_kind)
    .bind(t.source_id)
    .bind(t.unique_key)
    .bind(t.reverses)
    .bind(actor_id)
    .bind(actor_name)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    });
    match inserted {
        Ok(_) => {}
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(AppError::conflict("already_posted", "该积分已经记过账，不会重复发放"));
        }
        Err(e) => return Err(e.into()),
    }
    for p in &t.postings {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO points_postings (id, transaction_id, district, account_id, amount, at_ms) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(new_id())
        .bind(id)
        .bind(t.district)
        .bind(p.account)
        .bind(p.amount)
        .bind(t.at_ms)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    // Accounts in id order: concurrent transactions lock them in the same order.
    for (account, (kind, delta)) in ledger::net(&t.postings) {
        if delta == 0 {
            continue;
        }
        let n = on_tx!(tx, |c| sqlx::query(
            "UPDATE points_accounts SET balance = balance + $1 WHERE id = $2 AND kind = $3 AND (kind = 'issuer' OR balance + $1 >= 0)"
        )
        .bind(delta)
        .bind(account)
        .bind(kind.as_str())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if n != 1 {
            let e = ledger::LedgerError::InsufficientPoints(account);
            return Err(AppError::conflict(e.code(), e.message()));
        }
    }
    Ok(id)
}

/// Award a district rule's points to a volunteer inside `tx` (from the issuing account).
/// Returns the transaction id, or `None` when the rule gives no points.
#[allow(clippy::too_many_arguments)]
pub async fn award_in(
    tx: &mut Tx,
    actor: &Actor<'_>,
    district: &str,
    volunteer: Uuid,
    rule_code: &str,
    points: i64,
    (source_kind, source_id): (&str, &str),
    unique_key: Option<&str>,
) -> AppResult<Option<Uuid>> {
    if points <= 0 {
        return Ok(None);
    }
    let issuer = account_in(tx, district, AccountKind::Issuer, ISSUER_OWNER).await?;
    let to = account_in(tx, district, AccountKind::Volunteer, volunteer).await?;
    let name = rules::default_of(rule_code).map(|r| r.name).unwrap_or(rule_code);
    let t = NewTransaction {
        district,
        kind: "earn",
        reason: name,
        source_kind,
        source_id,
        unique_key,
        reverses: None,
        postings: ledger::issue(issuer, (to, AccountKind::Volunteer), points),
        at_ms: now_ms(),
    };
    post_in(tx, actor, &t).await.map(Some)
}

/// Award a rule to a volunteer in its own transaction (with the audit row). The hook for other
/// features: a valid case, a council meeting. `unique_key` (e.g. `case:ID`) makes it once-only.
pub async fn award(
    db: &Db,
    actor: Actor<'_>,
    district: &str,
    volunteer: Uuid,
    rule_code: &str,
    source: (&str, &str),
    unique_key: Option<&str>,
) -> AppResult<Option<Uuid>> {
    let points = rule_points(db, district, rule_code).await?;
    let mut tx = db.begin().await?;
    let id = award_in(&mut tx, &actor, district, volunteer, rule_code, points, source, unique_key).await?;
    if let Some(id) = id {
        audit::record(
            &mut tx,
            actor,
            audit::Entry {
                district,
                action: "points.award",
                target_kind: "volunteer",
                target_id: &volunteer.to_string(),
                reason: "",
                detail: json!({"rule": rule_code, "points": points, "transaction": id}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

#[derive(sqlx::FromRow, Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostingRow {
    pub account_id: Uuid,
    /// issuer, volunteer or shop
    pub account_kind: String,
    /// The volunteer's or shop's id (nil for the issuer).
    pub owner_id: Uuid,
    pub amount: i64,
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct TransactionRow {
    pub id: Uuid,
    pub district: String,
    pub at_ms: i64,
    pub kind: String,
    pub reason: String,
    pub source_kind: String,
    pub source_id: String,
    pub reverses_id: Option<Uuid>,
    pub actor_name: String,
    /// What it was for beyond the rule: the activity served, the case reported, the shop and
    /// item bought (filled by [`describe`]; empty when nothing more is known).
    #[sqlx(skip)]
    pub subject: String,
}

impl TransactionRow {
    /// The line as a person reads it: what it was for, then the rule or the reason.
    pub fn line(&self) -> String {
        if self.subject.is_empty() {
            self.reason.clone()
        } else {
            format!("{} · {}", self.subject, self.reason)
        }
    }
}

/// Fill `t.subject` from its source: 活动「…」, 问题 TRACKING, or the shop of a redemption
/// (whose reason already names the item). One primary-key lookup a row.
pub async fn describe(db: &Db, t: &mut TransactionRow) -> sqlx::Result<()> {
    let Ok(source) = t.source_id.parse::<Uuid>() else {
        return Ok(());
    };
    let found: Option<String> = match t.source_kind.as_str() {
        "activity" => on_pool!(db, |p| sqlx::query_scalar("SELECT title FROM volunteer_activities WHERE id = $1")
            .bind(source)
            .fetch_optional(p)
            .await)?
        .map(|title: String| format!("活动「{title}」")),
        "case" => on_pool!(db, |p| sqlx::query_scalar("SELECT tracking_code FROM cases WHERE id = $1")
            .bind(source)
            .fetch_optional(p)
            .await)?
        .map(|code: String| format!("上报问题 {code}")),
        "redemption" => on_pool!(db, |p| sqlx::query_scalar(
            "SELECT s.name FROM redemptions r JOIN shops s ON s.id = r.shop_id WHERE r.id = $1"
        )
        .bind(source)
        .fetch_optional(p)
        .await)?,
        _ => None,
    };
    t.subject = found.unwrap_or_default();
    Ok(())
}

const TX_COLS: &str = "t.id, t.district, t.at_ms, t.kind, t.reason, t.source_kind, t.source_id, t.reverses_id, t.actor_name";

pub async fn transaction(db: &Db, id: Uuid) -> sqlx::Result<Option<TransactionRow>> {
    let row = on_pool!(db, |p| sqlx::query_as::<_, TransactionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TX_COLS} FROM points_transactions t WHERE t.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)?;
    let Some(mut t) = row else { return Ok(None) };
    describe(db, &mut t).await?;
    Ok(Some(t))
}

/// The ledger, newest first; with `account`, only transactions touching that account.
pub async fn transactions(
    db: &Db,
    district: &str,
    account: Option<Uuid>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<(TransactionRow, Vec<PostingRow>)>, i64)> {
    let (rows, total) = on_pool!(db, |p| {
        let rows =
            match account {
                Some(a) => {
                    sqlx::query_as::<_, TransactionRow>(sqlx::AssertSqlSafe(format!(
                        "SELECT {TX_COLS} FROM points_postings x JOIN points_transactions t ON t.id = x.transaction_id \
                     WHERE x.account_id = $1 ORDER BY x.at_ms DESC, t.id DESC LIMIT $2 OFFSET $3"
                    )))
                    .bind(a)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(p)
                    .await?
                }
                None => sqlx::query_as::<_, TransactionRow>(sqlx::AssertSqlSafe(format!(
                    "SELECT {TX_COLS} FROM points_transactions t WHERE t.district = $1 ORDER BY t.at_ms DESC, t.id DESC LIMIT $2 OFFSET $3"
                )))
                .bind(district)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await?,
            };
        let total: i64 = match account {
            Some(a) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM points_postings WHERE account_id = $1")
                    .bind(a)
                    .fetch_one(p)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT COUNT(*) FROM points_transactions WHERE district = $1")
                    .bind(district)
                    .fetch_one(p)
                    .await?
            }
        };
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for mut t in rows {
        let ps = postings(db, t.id).await?;
        describe(db, &mut t).await?;
        out.push((t, ps));
    }
    Ok((out, total))
}

pub async fn postings(db: &Db, transaction: Uuid) -> sqlx::Result<Vec<PostingRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, PostingRow>(
        "SELECT x.account_id, a.kind AS account_kind, a.owner_id, x.amount FROM points_postings x \
         JOIN points_accounts a ON a.id = x.account_id WHERE x.transaction_id = $1 ORDER BY x.amount, x.id"
    )
    .bind(transaction)
    .fetch_all(p)
    .await)
}

/// The ledger seen from a grid subtree, newest first: transactions touching a volunteer who lives
/// there or a shop that stands there (what staff reading those volunteers may see, one by one).
pub async fn transactions_in_grid(
    db: &Db,
    district: &str,
    grid: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<(TransactionRow, Vec<PostingRow>)>, i64)> {
    let upper = subtree_upper(grid);
    let touched = "SELECT x.transaction_id FROM points_postings x JOIN points_accounts a ON a.id = x.account_id \
                   WHERE a.district = $1 AND ((a.kind = 'volunteer' AND a.owner_id IN \
                   (SELECT id FROM volunteers WHERE district = $1 AND grid_code >= $2 AND grid_code < $3)) \
                   OR (a.kind = 'shop' AND a.owner_id IN (SELECT id FROM shops WHERE district = $1 AND grid_code >= $2 AND grid_code < $3)))";
    let (rows, total) = on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, TransactionRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {TX_COLS} FROM points_transactions t WHERE t.id IN ({touched}) ORDER BY t.at_ms DESC, t.id DESC LIMIT $4 OFFSET $5"
        )))
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COUNT(DISTINCT y.transaction_id) AS BIGINT) FROM ({touched}) y"
        )))
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_one(p)
        .await?;
        Ok::<_, sqlx::Error>((rows, total))
    })?;
    let mut out = Vec::with_capacity(rows.len());
    for mut t in rows {
        let ps = postings(db, t.id).await?;
        describe(db, &mut t).await?;
        out.push((t, ps));
    }
    Ok((out, total))
}

/// A compensating entry: either the exact reverse of an earlier transaction, or `points`
/// (signed) moved between the issuing account and a volunteer. Refused if it would take a
/// volunteer below zero.
pub async fn correct(db: &Db, actor: Actor<'_>, district: &str, target: Correction, reason: &str) -> AppResult<(Uuid, Vec<PostingRow>)> {
    let mut tx = db.begin().await?;
    if let Some(actor_id) = actor.id() {
        let (from, _) = crate::volunteers::rules::china_day(now_ms());
        let today = on_tx!(&mut tx, |c| sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM points_transactions WHERE district = $1 AND at_ms >= $2 AND kind = 'correction' AND actor_id = $3"
        )
        .bind(district)
        .bind(from)
        .bind(actor_id)
        .fetch_one(c)
        .await)?;
        if today >= crate::volunteers::rules::MAX_CORRECTIONS_PER_DAY {
            return Err(AppError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too_many_corrections",
                format!(
                    "今天已做{today}次积分更正，每人每天最多{}次",
                    crate::volunteers::rules::MAX_CORRECTIONS_PER_DAY
                ),
            ));
        }
    }
    let (lines, reverses, source_id) = match &target {
        Correction::Reverse(t) => {
            let ps = postings(db, *t).await?;
            let lines: Vec<Posting> = ps
                .iter()
                .map(|p| Posting {
                    account: p.account_id,
                    kind: AccountKind::parse(&p.account_kind).unwrap_or(AccountKind::Issuer),
                    amount: p.amount,
                })
                .collect();
            (ledger::reverse(&lines), Some(*t), t.to_string())
        }
        Correction::Adjust { volunteer, points } => {
            let issuer = account_in(&mut tx, district, AccountKind::Issuer, ISSUER_OWNER).await?;
            let to = account_in(&mut tx, district, AccountKind::Volunteer, *volunteer).await?;
            (
                ledger::issue(issuer, (to, AccountKind::Volunteer), *points),
                None,
                volunteer.to_string(),
            )
        }
    };
    // A transaction is reversed at most once.
    let unique = reverses.map(|r| format!("reverse:{r}"));
    let t = NewTransaction {
        district,
        kind: "correction",
        reason,
        source_kind: "correction",
        source_id: &source_id,
        unique_key: unique.as_deref(),
        reverses,
        postings: lines,
        at_ms: now_ms(),
    };
    let id = post_in(&mut tx, &actor, &t).await?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "points.correct",
            target_kind: "points_transaction",
            target_id: &id.to_string(),
            reason,
            detail: json!({"reverses": reverses, "source": source_id}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((id, postings(db, id).await?))
}

pub enum Correction {
    Reverse(Uuid),
    Adjust { volunteer: Uuid, points: i64 },
}

/// Re-check the ledger from the postings: every transaction sums to zero, no volunteer or shop
/// below zero, every cached balance equals its postings. `district` None checks the whole database.
pub async fn audit_ledger(db: &Db, district: Option<&str>) -> sqlx::Result<ledger::Check> {
    on_pool!(db, |p| {
        let (count, sum): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE((SELECT SUM(amount) FROM points_postings WHERE $1 IS NULL OR district = $1), 0) AS BIGINT) \
             FROM points_transactions WHERE $1 IS NULL OR district = $1",
        )
        .bind(district)
        .fetch_one(p)
        .await?;
        let unbalanced: Vec<(Uuid, i64, i64)> = sqlx::query_as(
            "SELECT t.id, CAST(COALESCE(SUM(x.amount), 0) AS BIGINT), CAST(COUNT(x.id) AS BIGINT) FROM points_transactions t \
             LEFT JOIN points_postings x ON x.transaction_id = t.id WHERE $1 IS NULL OR t.district = $1 \
             GROUP BY t.id HAVING COALESCE(SUM(x.amount), 0) <> 0 OR COUNT(x.id) = 0",
        )
        .bind(district)
        .fetch_all(p)
        .await?;
        let faulty: Vec<(Uuid, String, i64, i64)> = sqlx::query_as(
            "SELECT a.id, a.kind, a.balance, CAST(COALESCE(SUM(x.amount), 0) AS BIGINT) FROM points_accounts a \
             LEFT JOIN points_postings x ON x.account_id = a.id WHERE $1 IS NULL OR a.district = $1 \
             GROUP BY a.id, a.kind, a.balance \
             HAVING a.balance <> COALESCE(SUM(x.amount), 0) OR (a.kind <> 'issuer' AND COALESCE(SUM(x.amount), 0) < 0)",
        )
        .bind(district)
        .fetch_all(p)
        .await?;
        let accounts: Vec<(Uuid, AccountKind, i64, i64)> = faulty
            .into_iter()
            .map(|(id, k, cached, derived)| (id, AccountKind::parse(&k).unwrap_or(AccountKind::Volunteer), cached, derived))
            .collect();
        let mut c = ledger::check(&unbalanced, &accounts);
        c.transactions = count;
        c.postings_sum = sum;
        Ok(c)
    })
}
