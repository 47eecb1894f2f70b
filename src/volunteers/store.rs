//! Storage for volunteers, teams, points accounts, the ledger, points rules, the audit and summaries.
//!
//! Writers take a `Tx` where a caller may want to batch (`insert_volunteer`, `insert_team`,
//! `post_in`, `award_in`), so a demo loader can write thousands in one transaction; the `Db`
//! versions open one transaction, write the audit row and commit.

use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::ledger::{self, AccountKind, Posting};
use super::rules;
use crate::audit::{self, Actor};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{AppError, AppResult};
use crate::grid::rules::subtree_upper;
use crate::registry::residents::ResidentRow;
use crate::{on_pool, on_tx};

// ---------------------------------------------------------------- accounts and the ledger

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

fn actor_parts(actor: &Actor<'_>) -> (Option<Uuid>, String) {
    match actor {
        Actor::User { id, display_name, .. } => (Some(*id), display_name.to_string()),
        Actor::System(n) => (None, n.to_string()),
    }
}

/// Append a transaction inside `tx`: validated by the ledger rules, written with its postings,
/// balances moved by conditional updates so that no volunteer or shop goes below zero even
/// under concurrent writers (`insufficient_points`, 409). On an error the caller must drop `tx`.
pub async fn post_in(tx: &mut Tx, actor: &Actor<'_>, t: &NewTransaction<'_>) -> AppResult<Uuid> {
    ledger::validate(&t.postings).map_err(|e| AppError::invalid(e.code(), e.message()))?;
    let id = new_id();
    let (actor_id, actor_name) = actor_parts(actor);
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
    .bind(&actor_name)
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
}

const TX_COLS: &str = "t.id, t.district, t.at_ms, t.kind, t.reason, t.source_kind, t.source_id, t.reverses_id, t.actor_name";

pub async fn transaction(db: &Db, id: Uuid) -> sqlx::Result<Option<TransactionRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TransactionRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TX_COLS} FROM points_transactions t WHERE t.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
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
    for t in rows {
        let ps = postings(db, t.id).await?;
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

/// A compensating entry: either the exact reverse of an earlier transaction, or `points`
/// (signed) moved between the issuing account and a volunteer. Refused if it would take a
/// volunteer below zero.
pub async fn correct(db: &Db, actor: Actor<'_>, district: &str, target: Correction, reason: &str) -> AppResult<(Uuid, Vec<PostingRow>)> {
    let mut tx = db.begin().await?;
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

// ---------------------------------------------------------------- points rules

#[derive(sqlx::FromRow, Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleRow {
    pub code: String,
    pub name: String,
    pub points: i64,
    pub updated_at: i64,
}

/// Insert the default rules a district does not have yet.
pub async fn seed_rules_in(tx: &mut Tx, district: &str) -> sqlx::Result<()> {
    let now = now_ms();
    for r in &rules::DEFAULTS {
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO points_rules (district, code, name, points, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (district, code) DO NOTHING"
        )
        .bind(district)
        .bind(r.code)
        .bind(r.name)
        .bind(r.points)
        .bind(now)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The district's rules, seeding the defaults on first use.
pub async fn rules_of(db: &Db, district: &str) -> sqlx::Result<Vec<RuleRow>> {
    let read = || async {
        on_pool!(db, |p| sqlx::query_as::<_, RuleRow>(
            "SELECT code, name, points, updated_at FROM points_rules WHERE district = $1 ORDER BY code"
        )
        .bind(district)
        .fetch_all(p)
        .await)
    };
    let rows = read().await?;
    if rows.len() >= rules::DEFAULTS.len() {
        return Ok(rows);
    }
    let mut tx = db.begin().await?;
    seed_rules_in(&mut tx, district).await?;
    tx.commit().await?;
    read().await
}

/// Points a rule gives in the district (its default when never set).
pub async fn rule_points(db: &Db, district: &str, code: &str) -> sqlx::Result<i64> {
    let set: Option<i64> = on_pool!(db, |p| sqlx::query_scalar(
        "SELECT points FROM points_rules WHERE district = $1 AND code = $2"
    )
    .bind(district)
    .bind(code)
    .fetch_optional(p)
    .await)?;
    Ok(set.unwrap_or_else(|| rules::default_of(code).map(|r| r.points).unwrap_or(0)))
}

pub async fn rule_points_in_tx(tx: &mut Tx, district: &str, code: &str) -> sqlx::Result<i64> {
    let set: Option<i64> = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT points FROM points_rules WHERE district = $1 AND code = $2"
    )
    .bind(district)
    .bind(code)
    .fetch_optional(c)
    .await)?;
    Ok(set.unwrap_or_else(|| rules::default_of(code).map(|r| r.points).unwrap_or(0)))
}

/// Set a rule's points (and optionally its name). Unknown codes are refused.
pub async fn set_rule(db: &Db, actor: Actor<'_>, district: &str, code: &str, points: i64, name: Option<&str>) -> AppResult<RuleRow> {
    let Some(default) = rules::default_of(code) else {
        return Err(AppError::not_found("积分规则"));
    };
    if !(0..=rules::MAX_RULE_POINTS).contains(&points) {
        return Err(AppError::invalid(
            "invalid_points",
            format!("积分应为0至{}之间的整数", rules::MAX_RULE_POINTS),
        ));
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(default.name);
    if name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "规则名称不超过64字"));
    }
    let now = now_ms();
    let mut tx = db.begin().await?;
    seed_rules_in(&mut tx, district).await?;
    on_tx!(&mut tx, |c| sqlx::query(
        "UPDATE points_rules SET points = $1, name = $2, updated_at = $3 WHERE district = $4 AND code = $5"
    )
    .bind(points)
    .bind(name)
    .bind(now)
    .bind(district)
    .bind(code)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district,
            action: "points.rule",
            target_kind: "points_rule",
            target_id: code,
            reason: "",
            detail: json!({"points": points, "name": name}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(RuleRow {
        code: code.to_string(),
        name: name.to_string(),
        points,
        updated_at: now,
    })
}

// ---------------------------------------------------------------- volunteers

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct VolunteerRow {
    pub id: Uuid,
    pub district: String,
    pub resident_id: Uuid,
    pub user_id: Option<Uuid>,
    pub grid_code: String,
    pub name: String,
    pub registered_via: String,
    pub unit_id: Option<Uuid>,
    pub minutes: i64,
    pub created_at: i64,
    pub account_id: Option<Uuid>,
    pub balance: i64,
}

const VOL_COLS: &str = "v.id, v.district, v.resident_id, v.user_id, v.grid_code, v.name, v.registered_via, v.unit_id, v.minutes, v.created_at, \
     a.id AS account_id, COALESCE(a.balance, 0) AS balance";
const VOL_FROM: &str = "volunteers v LEFT JOIN points_accounts a ON a.district = v.district AND a.kind = 'volunteer' AND a.owner_id = v.id";

pub async fn volunteer(db: &Db, id: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

/// The volunteer record linked to a user account.
pub async fn volunteer_of_user(db: &Db, user: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.user_id = $1"
    )))
    .bind(user)
    .fetch_optional(p)
    .await)
}

pub async fn volunteer_of_resident(db: &Db, district: &str, resident: Uuid) -> sqlx::Result<Option<VolunteerRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE v.district = $1 AND v.resident_id = $2"
    )))
    .bind(district)
    .bind(resident)
    .fetch_optional(p)
    .await)
}

#[derive(Default)]
pub struct VolunteerFilter<'a> {
    pub district: &'a str,
    pub grid: Option<&'a str>,
    pub team: Option<Uuid>,
    /// Name prefix.
    pub name: Option<&'a str>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn volunteers(db: &Db, f: &VolunteerFilter<'_>) -> sqlx::Result<(Vec<VolunteerRow>, i64)> {
    let upper = f.grid.map(subtree_upper);
    let name = f.name.map(str::trim).filter(|s| !s.is_empty()).map(|s| format!("{s}%"));
    let where_ = "v.district = $1 AND ($2 IS NULL OR (v.grid_code >= $2 AND v.grid_code < $3)) AND ($4 IS NULL OR v.name LIKE $4) \
                  AND ($5 IS NULL OR EXISTS (SELECT 1 FROM volunteer_team_members m WHERE m.team_id = $5 AND m.volunteer_id = v.id))";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, VolunteerRow>(sqlx::AssertSqlSafe(format!(
            "SELECT {VOL_COLS} FROM {VOL_FROM} WHERE {where_} ORDER BY v.grid_code, v.name, v.id LIMIT $6 OFFSET $7"
        )))
        .bind(f.district)
        .bind(f.grid)
        .bind(&upper)
        .bind(&name)
        .bind(f.team)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM volunteers v WHERE {where_}")))
            .bind(f.district)
            .bind(f.grid)
            .bind(&upper)
            .bind(&name)
            .bind(f.team)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

/// Teams a volunteer belongs to: (id, name).
pub async fn teams_of(db: &Db, volunteer: Uuid) -> sqlx::Result<Vec<(Uuid, String)>> {
    on_pool!(db, |p| {
        sqlx::query_as::<_, (Uuid, String)>(
        "SELECT t.id, t.name FROM volunteer_team_members m JOIN volunteer_teams t ON t.id = m.team_id WHERE m.volunteer_id = $1 ORDER BY t.name"
    )
    .bind(volunteer)
    .fetch_all(p)
    .await
    })
}

/// A resident of the district by ID number (for self-registration).
pub async fn resident_by_id_number(db: &Db, district: &str, id_number: &str) -> sqlx::Result<Option<ResidentRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, ResidentRow>(
        "SELECT id, district, household_id, grid_code, name, gender, birth_date, id_number, phone, relation, tags, created_at \
         FROM residents WHERE district = $1 AND id_number = $2"
    )
    .bind(district)
    .bind(id_number)
    .fetch_optional(p)
    .await)
}

/// How a volunteer came to be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredVia {
    Community,
    Unit(Uuid),
    SelfOnline,
}

impl RegisteredVia {
    pub fn as_str(self) -> &'static str {
        match self {
            RegisteredVia::Community => "community",
            RegisteredVia::Unit(_) => "unit",
            RegisteredVia::SelfOnline => "self",
        }
    }
    fn unit(self) -> Option<Uuid> {
        match self {
            RegisteredVia::Unit(u) => Some(u),
            _ => None,
        }
    }
}

/// Insert a volunteer and open their points account inside `tx` (bulk-friendly; no audit row).
pub async fn insert_volunteer(
    tx: &mut Tx,
    id: Uuid,
    resident: &ResidentRow,
    user: Option<Uuid>,
    via: RegisteredVia,
    at_ms: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO volunteers (id, district, resident_id, user_id, grid_code, name, registered_via, unit_id, minutes, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)"
    )
    .bind(id)
    .bind(&resident.district)
    .bind(resident.id)
    .bind(user)
    .bind(&resident.grid_code)
    .bind(&resident.name)
    .bind(via.as_str())
    .bind(via.unit())
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    account_in(tx, &resident.district, AccountKind::Volunteer, id).await?;
    Ok(())
}

/// Add a volunteer to a team inside `tx`; already a member is fine.
pub async fn add_member_in(tx: &mut Tx, district: &str, team: Uuid, volunteer: Uuid) -> sqlx::Result<bool> {
    let n = on_tx!(tx, |c| sqlx::query(
        "INSERT INTO volunteer_team_members (team_id, volunteer_id, district, joined_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (team_id, volunteer_id) DO NOTHING"
    )
    .bind(team)
    .bind(volunteer)
    .bind(district)
    .bind(now_ms())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 1 {
        on_tx!(tx, |c| sqlx::query(
            "UPDATE volunteer_teams SET members = members + 1 WHERE id = $1"
        )
        .bind(team)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(n == 1)
}

/// Register a resident as a volunteer (one transaction with the audit row). When the resident
/// is already a volunteer, the existing record is returned with `false`; a self-registration
/// then links the caller's account if none is linked yet.
pub async fn register(
    db: &Db,
    actor: Actor<'_>,
    resident: &ResidentRow,
    user: Option<Uuid>,
    via: RegisteredVia,
    team: Option<Uuid>,
) -> AppResult<(VolunteerRow, bool)> {
    if let Some(existing) = volunteer_of_resident(db, &resident.district, resident.id).await? {
        let mut tx = db.begin().await?;
        if let (Some(u), None) = (user, existing.user_id) {
            on_tx!(&mut tx, |c| sqlx::query(
                "UPDATE volunteers SET user_id = $1 WHERE id = $2 AND user_id IS NULL"
            )
            .bind(u)
            .bind(existing.id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        } else if user.is_some() && existing.user_id != user {
            return Err(AppError::conflict("volunteer_linked", "该居民的志愿者档案已关联其他账号"));
        }
        if let Some(t) = team {
            add_member_in(&mut tx, &resident.district, t, existing.id).await?;
        }
        tx.commit().await?;
        let v = volunteer(db, existing.id).await?.ok_or_else(AppError::internal)?;
        return Ok((v, false));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    match insert_volunteer(&mut tx, id, resident, user, via, now_ms()).await {
        Ok(()) => {}
        Err(e) if crate::db::is_unique_violation(&e) => {
            return Err(AppError::conflict(
                "already_volunteer",
                "该居民已登记为志愿者，或该账号已关联志愿者",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(t) = team {
        add_member_in(&mut tx, &resident.district, t, id).await?;
    }
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: &resident.district,
            action: "volunteer.register",
            target_kind: "volunteer",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"resident": resident.id, "via": via.as_str(), "unit": via.unit(), "team": team}),
        },
    )
    .await?;
    tx.commit().await?;
    let v = volunteer(db, id).await?.ok_or_else(AppError::internal)?;
    Ok((v, true))
}

// ---------------------------------------------------------------- teams

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct TeamRow {
    pub id: Uuid,
    pub district: String,
    pub kind: String,
    pub name: String,
    pub grid_code: String,
    pub unit_id: Option<Uuid>,
    pub leader_id: Option<Uuid>,
    pub members: i64,
    pub created_at: i64,
}

const TEAM_COLS: &str = "id, district, kind, name, grid_code, unit_id, leader_id, members, created_at";

pub struct NewTeamRow<'a> {
    pub district: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub grid_code: &'a str,
    pub unit_id: Option<Uuid>,
    pub leader_id: Option<Uuid>,
}

/// Insert a team inside `tx` (bulk-friendly; no audit row). The leader, if any, becomes a member.
pub async fn insert_team(tx: &mut Tx, id: Uuid, t: &NewTeamRow<'_>, at_ms: i64) -> sqlx::Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO volunteer_teams (id, district, kind, name, grid_code, unit_id, leader_id, members, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)"
    )
    .bind(id)
    .bind(t.district)
    .bind(t.kind)
    .bind(t.name)
    .bind(t.grid_code)
    .bind(t.unit_id)
    .bind(t.leader_id)
    .bind(at_ms)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if let Some(l) = t.leader_id {
        add_member_in(tx, t.district, id, l).await?;
    }
    Ok(())
}

pub async fn create_team(db: &Db, actor: Actor<'_>, t: &NewTeamRow<'_>) -> AppResult<TeamRow> {
    if !rules::TEAM_KINDS.iter().any(|k| k.0 == t.kind) {
        let kinds: Vec<&str> = rules::TEAM_KINDS.iter().map(|k| k.0).collect();
        return Err(AppError::invalid(
            "invalid_team_kind",
            format!("队伍类型应为：{}", kinds.join(", ")),
        ));
    }
    let name = t.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::invalid("invalid_name", "队伍名称不能为空且不超过64字"));
    }
    let id = new_id();
    let mut tx = db.begin().await?;
    insert_team(&mut tx, id, &NewTeamRow { name, ..*t }, now_ms()).await.map_err(|e| {
        if crate::db::is_unique_violation(&e) {
            AppError::conflict("duplicate_team", format!("本区已有名为「{name}」的队伍"))
        } else {
            e.into()
        }
    })?;
    audit::record(
        &mut tx,
        actor,
        audit::Entry {
            district: t.district,
            action: "volunteer.team_create",
            target_kind: "volunteer_team",
            target_id: &id.to_string(),
            reason: "",
            detail: json!({"kind": t.kind, "name": name, "grid": t.grid_code, "unit": t.unit_id}),
        },
    )
    .await?;
    tx.commit().await?;
    team(db, id).await?.ok_or_else(AppError::internal)
}

pub async fn team(db: &Db, id: Uuid) -> sqlx::Result<Option<TeamRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TEAM_COLS} FROM volunteer_teams WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(p)
    .await)
}

pub async fn teams(
    db: &Db,
    district: &str,
    grid: Option<&str>,
    kind: Option<&str>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<TeamRow>, i64)> {
    by_grid_and_kind(db, "volunteer_teams", TEAM_COLS, district, grid, kind, (limit, offset)).await
}

/// Rows of `table` under a grid subtree (or the whole district), of one `kind` if given, ordered
/// by grid and name, a page of them and the total. Teams and shops are listed this way.
pub(super) async fn by_grid_and_kind<T>(
    db: &Db,
    table: &str,
    cols: &str,
    district: &str,
    grid: Option<&str>,
    kind: Option<&str>,
    (limit, offset): (i64, i64),
) -> sqlx::Result<(Vec<T>, i64)>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow> + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let upper = grid.map(subtree_upper);
    let where_ = "district = $1 AND ($2 IS NULL OR (grid_code >= $2 AND grid_code < $3)) AND ($4 IS NULL OR kind = $4)";
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM {table} WHERE {where_} ORDER BY grid_code, name LIMIT $5 OFFSET $6"
        )))
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .bind(kind)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE {where_}")))
            .bind(district)
            .bind(grid)
            .bind(&upper)
            .bind(kind)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}

pub async fn add_member(db: &Db, actor: Actor<'_>, t: &TeamRow, volunteer: Uuid) -> AppResult<bool> {
    let mut tx = db.begin().await?;
    let added = add_member_in(&mut tx, &t.district, t.id, volunteer).await?;
    if added {
        audit::record(
            &mut tx,
            actor,
            audit::Entry {
                district: &t.district,
                action: "volunteer.team_join",
                target_kind: "volunteer_team",
                target_id: &t.id.to_string(),
                reason: "",
                detail: json!({"volunteer": volunteer}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}

// ---------------------------------------------------------------- summaries

/// One line of the hours-and-points summary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SummaryRow {
    /// Team id, community grid code, or month (YYYY-MM).
    pub key: String,
    pub name: String,
    pub volunteers: i64,
    pub attendances: i64,
    pub minutes: i64,
    /// minutes / 60, one decimal.
    pub hours: f64,
    /// Points credited for the service time.
    pub points: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryBy {
    Team,
    Community,
    Month,
}

/// Hours and points from attendance, in a grid subtree (by the volunteer's home), grouped.
/// Months are China-time calendar months of the check-out (or the activity's end).
pub async fn summary(db: &Db, district: &str, grid: Option<&str>, by: SummaryBy) -> sqlx::Result<Vec<SummaryRow>> {
    let upper = grid.map(subtree_upper);
    let at = "COALESCE(s.checked_out_at, a.ends_at)";
    let from = "FROM activity_signups s JOIN volunteers v ON v.id = s.volunteer_id JOIN volunteer_activities a ON a.id = s.activity_id \
                LEFT JOIN volunteer_teams t ON t.id = a.team_id \
                WHERE s.district = $1 AND s.status = 'attended' AND ($2 IS NULL OR (v.grid_code >= $2 AND v.grid_code < $3))";
    let aggregates = "CAST(COUNT(DISTINCT s.volunteer_id) AS BIGINT), CAST(COUNT(*) AS BIGINT), \
                      CAST(COALESCE(SUM(s.minutes), 0) AS BIGINT), CAST(COALESCE(SUM(s.points), 0) AS BIGINT)";
    let row = |key: String, name: String, (vols, n, minutes, points): (i64, i64, i64, i64)| SummaryRow {
        key,
        name,
        volunteers: vols,
        attendances: n,
        minutes,
        hours: (minutes as f64 / 6.0).round() / 10.0,
        points,
    };
    // China keeps UTC+8 all year (no summer time since 1991), so a China-time month is the UTC
    // month of the instant plus eight hours; the two engines only spell it differently.
    let key = match (by, db.engine()) {
        (SummaryBy::Team, _) => "COALESCE(t.name, '')".to_string(),
        (SummaryBy::Community, _) => "SUBSTR(v.grid_code, 1, 12)".to_string(),
        (SummaryBy::Month, crate::db::Engine::Sqlite) => format!("strftime('%Y-%m', ({at} + 28800000) / 1000, 'unixepoch')"),
        (SummaryBy::Month, crate::db::Engine::Postgres) => {
            format!("to_char(to_timestamp(({at} + 28800000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM')")
        }
    };
    let sql = format!("SELECT {key} AS k, {aggregates} {from} GROUP BY {key} ORDER BY {key}");
    let rows: Vec<(String, i64, i64, i64, i64)> = on_pool!(db, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(district)
        .bind(grid)
        .bind(&upper)
        .fetch_all(p)
        .await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, a, b, c, d) in rows {
        let name = match by {
            SummaryBy::Team if k.is_empty() => "未指定队伍".to_string(),
            SummaryBy::Team | SummaryBy::Month => k.clone(),
            SummaryBy::Community => crate::grid::store::get(db, &k).await?.map(|g| g.name).unwrap_or_default(),
        };
        out.push(row(k, name, (a, b, c, d)));
    }
    Ok(out)
}

/// The first instant of the China-time month holding `ms`.
pub fn month_start(ms: i64) -> i64 {
    let z = jiff::Timestamp::from_millisecond(ms)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_zoned(crate::time::china());
    z.date()
        .first_of_month()
        .to_zoned(crate::time::china())
        .map(|d| d.timestamp().as_millisecond())
        .unwrap_or(ms)
}

/// Teams a volunteer leads (they may organise the teams' activities).
pub async fn teams_led_by(db: &Db, volunteer: Uuid) -> sqlx::Result<Vec<TeamRow>> {
    on_pool!(db, |p| sqlx::query_as::<_, TeamRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {TEAM_COLS} FROM volunteer_teams WHERE leader_id = $1 ORDER BY name"
    )))
    .bind(volunteer)
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
    for t in rows {
        let ps = postings(db, t.id).await?;
        out.push((t, ps));
    }
    Ok((out, total))
}
