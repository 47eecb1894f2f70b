//! Reports staged in a group commit (组提交): each request stages its checked report in the open
//! batch, and one flush writes the whole batch with multi-row statements just before its commit.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::store::{self, AutoRouted, CaseRow, NewCaseRow};
use crate::audit::Actor;
use crate::db::group::{Flush, GroupCommit, Staged};
use crate::db::{Db, Tx};
use crate::error::{AppError, AppResult};

/// What a staged report's request hears: its case and whether it was there already (a replay).
type Reply = oneshot::Sender<AppResult<(CaseRow, bool)>>;

/// Who reports, owned (the batch outlives the request that staged into it).
enum Who {
    User { id: Uuid, username: String, display_name: String },
    System(String),
}

/// A checked report, owned, with whoever waits for it.
struct StagedCase {
    who: Who,
    district: String,
    category_code: String,
    description: String,
    lat: Option<f64>,
    lng: Option<f64>,
    grid_code: String,
    level: i64,
    source: String,
    reporter_id: Option<Uuid>,
    reporter_name: String,
    reporter_phone: String,
    key: Option<String>,
    fingerprint: Option<String>,
    reported_at: i64,
    due_at: i64,
    duplicate_of: Option<Uuid>,
    duplicate_candidates: Vec<Uuid>,
    attributes: String,
    private: bool,
    routed: Option<(Option<Uuid>, String, f64)>,
    /// The request that staged it, then any retry of its key staged in the same batch.
    replies: Vec<(Reply, bool)>,
}

impl StagedCase {
    fn of(actor: Actor<'_>, n: &NewCaseRow<'_>, reply: Reply) -> StagedCase {
        StagedCase {
            who: match actor {
                Actor::User {
                    id,
                    username,
                    display_name,
                } => Who::User {
                    id,
                    username: username.to_string(),
                    display_name: display_name.to_string(),
                },
                Actor::System(name) => Who::System(name.to_string()),
            },
            district: n.district.to_string(),
            category_code: n.category_code.to_string(),
            description: n.description.to_string(),
            lat: n.lat,
            lng: n.lng,
            grid_code: n.grid_code.to_string(),
            level: n.level,
            source: n.source.to_string(),
            reporter_id: n.reporter_id,
            reporter_name: n.reporter_name.to_string(),
            reporter_phone: n.reporter_phone.to_string(),
            key: n.idempotency_key.map(str::to_string),
            fingerprint: n.idempotency_fingerprint.map(str::to_string),
            reported_at: n.reported_at,
            due_at: n.due_at,
            duplicate_of: n.duplicate_of,
            duplicate_candidates: n.duplicate_candidates.to_vec(),
            attributes: n.attributes.to_string(),
            private: n.private,
            routed: n.routed.as_ref().map(|r| (r.unit, r.note.to_string(), r.confidence)),
            replies: vec![(reply, false)],
        }
    }

    fn actor(&self) -> Actor<'_> {
        match &self.who {
            Who::User {
                id,
                username,
                display_name,
            } => Actor::User {
                id: *id,
                username,
                display_name,
            },
            Who::System(name) => Actor::System(name),
        }
    }

    fn row(&self) -> NewCaseRow<'_> {
        NewCaseRow {
            district: &self.district,
            category_code: &self.category_code,
            description: &self.description,
            lat: self.lat,
            lng: self.lng,
            grid_code: &self.grid_code,
            level: self.level,
            source: &self.source,
            reporter_id: self.reporter_id,
            reporter_name: &self.reporter_name,
            reporter_phone: &self.reporter_phone,
            idempotency_key: self.key.as_deref(),
            idempotency_fingerprint: self.fingerprint.as_deref(),
            reported_at: self.reported_at,
            due_at: self.due_at,
            duplicate_of: self.duplicate_of,
            duplicate_candidates: &self.duplicate_candidates,
            attributes: &self.attributes,
            private: self.private,
            on_reported: None,
            routed: self.routed.as_ref().map(|(unit, note, confidence)| AutoRouted {
                unit: *unit,
                note,
                confidence: *confidence,
            }),
        }
    }

    /// Tell everyone waiting: the first request its case (new), retries the same case (replayed);
    /// with `stored_before`, every one of them replays a case an earlier batch stored.
    fn answer(self, result: &AppResult<CaseRow>, stored_before: bool) {
        for (reply, replay) in self.replies {
            let _ = reply.send(match result {
                Ok(row) => Ok((row.clone(), replay || stored_before)),
                Err(e) => Err(AppError::new(e.status, e.code, e.message.clone())),
            });
        }
    }
}

/// The reports staged in the open batch, and their keys (a retry in the same batch joins its first).
#[derive(Default)]
pub struct Stage {
    items: Vec<StagedCase>,
    by_key: HashMap<String, usize>,
}

impl Stage {
    /// Stage a report; a key staged before in this batch waits for that report instead (or is
    /// refused at once when the request differs).
    fn add(&mut self, actor: Actor<'_>, n: &NewCaseRow<'_>, reply: Reply) -> AppResult<()> {
        if let Some(key) = n.idempotency_key
            && let Some(&i) = self.by_key.get(key)
        {
            let first = &mut self.items[i];
            if let (Some(a), Some(b)) = (first.fingerprint.as_deref(), n.idempotency_fingerprint)
                && a != b
            {
                return Err(crate::web::api::key_reused());
            }
            first.replies.push((reply, true));
            return Ok(());
        }
        if let Some(key) = n.idempotency_key {
            self.by_key.insert(key.to_string(), self.items.len());
        }
        self.items.push(StagedCase::of(actor, n, reply));
        Ok(())
    }
}

/// The group commit new reports go through: staged reports are written by [`flush`].
pub fn writer(db: Db) -> GroupCommit {
    let flush: Flush = Arc::new(|tx, staged| Box::pin(flush(tx, staged)));
    GroupCommit::with_flush(db, flush)
}

/// Write the staged reports with multi-row statements. When that fails — a key an earlier batch
/// stored (a client retrying after its answer was lost), say — it is undone, those requests hear
/// of the stored case, and the rest are written again; when that fails too, one by one, each in a
/// savepoint of its own, so that one bad report fails alone. Each waiting request is told its
/// result here; it answers after the commit.
fn flush<'a>(tx: &'a mut Tx, staged: Staged) -> Pin<Box<dyn Future<Output = sqlx::Result<()>> + Send + 'a>> {
    Box::pin(async move {
        let Ok(stage) = staged.downcast::<Stage>() else {
            return Ok(());
        };
        let mut items = stage.items;
        // Most batches hold only new keys: the unique index checks them, no query before.
        if let Ok(rows) = write_all(tx, &items).await? {
            answer_all(items, rows);
            return Ok(());
        }
        let keys: Vec<&str> = items.iter().filter_map(|s| s.key.as_deref()).collect();
        let stored = match keys.is_empty() {
            true => Default::default(),
            false => store::keys_in(tx, &keys).await?,
        };
        if !stored.is_empty() {
            let mut fresh = Vec::with_capacity(items.len());
            for item in items {
                let found = item.key.as_ref().and_then(|k| stored.get(&(item.district.clone(), k.clone())));
                match found {
                    None => fresh.push(item),
                    Some((id, fingerprint)) => {
                        let answer = match (fingerprint.as_deref(), item.fingerprint.as_deref()) {
                            (Some(a), Some(b)) if a != b => Err(crate::web::api::key_reused()),
                            _ => store::get_in(tx, *id).await.map_err(AppError::from),
                        };
                        item.answer(&answer, true);
                    }
                }
            }
            items = fresh;
            if items.is_empty() {
                return Ok(());
            }
            if let Ok(rows) = write_all(tx, &items).await? {
                answer_all(items, rows);
                return Ok(());
            }
        }
        for item in items {
            tx.execute_raw("SAVEPOINT group_one").await?;
            let one = store::insert_in(tx, item.actor(), &item.row()).await;
            if one.is_ok() {
                tx.execute_raw("RELEASE SAVEPOINT group_one").await?;
            } else {
                tx.execute_raw("ROLLBACK TO SAVEPOINT group_one").await?;
                tx.execute_raw("RELEASE SAVEPOINT group_one").await?;
            }
            item.answer(&one, false);
        }
        Ok(())
    })
}

/// All the reports in multi-row statements, in a savepoint: undone when any fails (the inner
/// result), the transaction's own failure being the outer one.
async fn write_all(tx: &mut Tx, items: &[StagedCase]) -> sqlx::Result<AppResult<Vec<CaseRow>>> {
    tx.execute_raw("SAVEPOINT group_flush").await?;
    let written = {
        let rows: Vec<(Actor<'_>, NewCaseRow<'_>)> = items.iter().map(|s| (s.actor(), s.row())).collect();
        store::insert_many_in(tx, &rows).await
    };
    match written {
        Ok(_) => tx.execute_raw("RELEASE SAVEPOINT group_flush").await?,
        Err(_) => {
            tx.execute_raw("ROLLBACK TO SAVEPOINT group_flush").await?;
            tx.execute_raw("RELEASE SAVEPOINT group_flush").await?;
        }
    }
    Ok(written)
}

/// Tell each staged request its new case.
fn answer_all(items: Vec<StagedCase>, rows: Vec<CaseRow>) {
    for (item, row) in items.into_iter().zip(rows) {
        item.answer(&Ok(row), false);
    }
}

/// Store a report through the group commit and answer once its batch has committed. A key used
/// before — committed, staged or written earlier in the same batch — returns that case and `true`.
/// Reports with an `on_reported` hook are written in a savepoint of their own (their hook runs
/// after their row); the others are staged and written by the batch's flush.
pub async fn create(db: &Db, writer: &GroupCommit, actor: Actor<'_>, n: &NewCaseRow<'_>) -> AppResult<(CaseRow, bool)> {
    // Keys are checked inside the batch: by the flush for staged reports (one query for all),
    // in the transaction for the others.
    let (written, ticket) = if n.on_reported.is_some() {
        let mut slot = writer.join().await?;
        slot.flush().await?;
        slot.savepoint().await?;
        let written = store::replay_or_insert_in(slot.tx(), actor, n).await;
        let ticket = slot.finish(matches!(written, Ok((_, false)))).await?;
        (written, ticket)
    } else {
        let (reply, answer) = oneshot::channel();
        let mut slot = writer.join().await?;
        slot.stage::<Stage>().add(actor, n, reply)?;
        let ticket = slot.finish(true).await?;
        let written = answer.await.unwrap_or_else(|_| Err(AppError::internal()));
        (written, ticket)
    };
    match written {
        Ok(row) => {
            ticket.committed().await?;
            Ok(row)
        }
        // Another writer stored the key first: once it is committed, answer with its case.
        Err(e) if e.code == store::KEY_RACE => {
            let _ = ticket.committed().await;
            let key = n.idempotency_key.unwrap_or_default();
            let existing = store::replay(db, n.district, key, n.idempotency_fingerprint)
                .await?
                .ok_or_else(|| AppError::conflict(store::KEY_RACE, "该 Idempotency-Key 已被使用，请稍后重试"))?;
            Ok((existing, true))
        }
        Err(e) => Err(e),
    }
}
