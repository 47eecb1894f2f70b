//! The audit log: every write and every reveal of personal data, in the writer's transaction.

use serde::Serialize;
use uuid::Uuid;

use crate::db::{Db, Tx, new_id, now_ms};
use crate::{on_pool, on_tx};

/// Who acted: a signed-in person (by account id and names, whatever the account type), or the
/// command line / demo loader.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    User {
        id: Uuid,
        username: &'a str,
        display_name: &'a str,
    },
    System(&'a str),
}

impl Actor<'_> {
    /// The account's id; none for the command line or the demo loader.
    pub fn id(&self) -> Option<Uuid> {
        match self {
            Actor::User { id, .. } => Some(*id),
            Actor::System(_) => None,
        }
    }

    /// The name the audit log records: the username, or the system's name.
    pub fn username(&self) -> &str {
        match self {
            Actor::User { username, .. } => username,
            Actor::System(name) => name,
        }
    }

    /// The name a timeline shows: the person's display name, or the system's name.
    pub fn display_name(&self) -> &str {
        match self {
            Actor::User { display_name, .. } => display_name,
            Actor::System(name) => name,
        }
    }
}

pub struct Entry<'a> {
    pub district: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub reason: &'a str,
    pub detail: serde_json::Value,
}

pub async fn record(tx: &mut Tx, actor: Actor<'_>, e: Entry<'_>) -> sqlx::Result<()> {
    let (actor_id, actor_name) = (actor.id(), actor.username());
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO audit_log (id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(new_id())
    .bind(e.district)
    .bind(now_ms())
    .bind(actor_id)
    .bind(actor_name)
    .bind(e.action)
    .bind(e.target_kind)
    .bind(e.target_id)
    .bind(e.reason)
    .bind(e.detail.to_string())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow, Serialize, utoipa::ToSchema, Debug)]
pub struct AuditRow {
    pub id: Uuid,
    pub at_ms: i64,
    pub actor_name: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub reason: String,
    pub detail: String,
}

pub async fn list(db: &Db, district: &str, action: Option<&str>, limit: i64, offset: i64) -> sqlx::Result<(Vec<AuditRow>, i64)> {
    let action = action.filter(|a| !a.is_empty());
    on_pool!(db, |p| {
        let rows = sqlx::query_as::<_, AuditRow>(
            "SELECT id, at_ms, actor_name, action, target_kind, target_id, reason, detail FROM audit_log \
             WHERE district = $1 AND ($2 IS NULL OR action = $2) ORDER BY at_ms DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(district)
        .bind(action)
        .bind(limit)
        .bind(offset)
        .fetch_all(p)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE district = $1 AND ($2 IS NULL OR action = $2)")
            .bind(district)
            .bind(action)
            .fetch_one(p)
            .await?;
        Ok((rows, total))
    })
}
