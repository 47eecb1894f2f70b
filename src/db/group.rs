//! Group commit (组提交): concurrent writers share one open transaction, each in a savepoint of
//! its own, and one commit — one disk sync — makes all of them durable at once.
//!
//! A writer [`GroupCommit::join`]s the open batch (beginning one if none is open) and either
//! stages owned rows ([`Slot::stage`]), which the feature's flush writes for the whole batch with
//! multi-row statements just before the commit, or opens a savepoint ([`Slot::savepoint`]) and
//! writes through [`Slot::tx`]. It [`Slot::finish`]es — its savepoint is released (kept) or rolled
//! back (a failing writer undoes only its own rows, never its neighbours') — and waits on its
//! [`Ticket`] until the batch holding it has committed; only then may it answer its client.
//!
//! A committer task commits the open batch as soon as the previous commit is done: under load the
//! batch is whatever arrived during one commit (up to [`MAX_BATCH`]); alone, a writer waits for
//! nobody. Writers run in their own tasks, so what they write may borrow from their request.
//! A writer dropped half-way (its client went away) leaves its savepoint marked; the next user of
//! the transaction rolls it back first, so nothing half-written is ever committed.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, Weak};

use tokio::sync::{Mutex, MutexGuard, Notify, watch};

use super::{Db, Tx};

/// At most this many writers share one commit; the next ones wait for it and open the next.
pub const MAX_BATCH: usize = 512;

/// What a batch came to: committed, or why not (every writer in it gets the same answer).
type Outcome = Option<Result<(), Arc<str>>>;

/// What writers staged in a batch (one type per `GroupCommit`, chosen by its feature).
pub type Staged = Box<dyn Any + Send>;

/// Writes what was staged, in the batch's transaction, and tells each staged writer how it went
/// (through channels of its own in the staged rows). An error fails the whole batch.
pub type Flush = Arc<dyn for<'a> Fn(&'a mut Tx, Staged) -> Pin<Box<dyn Future<Output = sqlx::Result<()>> + Send + 'a>> + Send + Sync>;

/// The shared writer of one database (cheap to clone).
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    flush: Option<Flush>,
    open: Mutex<Option<Batch>>,
    wake: Arc<Notify>,
    committer: OnceLock<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The committer holds only a weak reference: wake it so that it sees it is done.
        self.wake.notify_one();
    }
}

/// The open transaction and what is in it.
struct Batch {
    tx: Tx,
    /// Writers whose rows are kept in it.
    kept: usize,
    /// A writer that went away before finishing: its savepoint is undone by the next user.
    dangling: Option<Dangling>,
    /// The transaction failed under a writer (not in its own rows): roll it all back.
    broken: bool,
    /// Rows staged by writers, not yet written.
    staged: Option<Staged>,
    done: watch::Sender<Outcome>,
}

impl Batch {
    /// Roll back what a writer that went away left in its savepoint. A writer that went away
    /// while its savepoint was being released or undone leaves the transaction in doubt: broken.
    async fn settle(&mut self) {
        match self.dangling.take() {
            None => {}
            Some(Dangling::Writing) if undo(&mut self.tx).await.is_err() => self.broken = true,
            Some(Dangling::Writing) => {}
            Some(Dangling::Ending) => self.broken = true,
        }
    }

    /// Write what is staged (the feature's flush).
    async fn flush(&mut self, flush: Option<&Flush>) -> sqlx::Result<()> {
        if let (Some(staged), Some(f)) = (self.staged.take(), flush)
            && let Err(e) = f(&mut self.tx, staged).await
        {
            self.broken = true;
            return Err(e);
        }
        Ok(())
    }

    /// Commit (or roll back when nothing is kept or it broke) and tell every writer in it.
    async fn close(mut self, flush: Option<&Flush>) {
        self.settle().await;
        let _ = self.flush(flush).await;
        let outcome = if self.broken {
            let _ = self.tx.rollback().await;
            Err(Arc::from("事务失败"))
        } else if self.kept == 0 {
            let _ = self.tx.rollback().await;
            Ok(())
        } else {
            self.tx.commit().await.map_err(|e| {
                tracing::error!(error = %e, "group commit failed");
                Arc::from(e.to_string().as_str())
            })
        };
        self.done.send_replace(Some(outcome));
    }
}

/// Where a writer that went away was.
#[derive(Clone, Copy)]
enum Dangling {
    /// Inside its savepoint: undo it.
    Writing,
    /// Releasing or undoing it: whether that happened is unknown.
    Ending,
}

/// One savepoint at a time (writers take turns), so one name serves; run unprepared.
async fn exec(tx: &mut Tx, sql: &'static str) -> sqlx::Result<()> {
    tx.execute_raw(sql).await
}

/// Undo the open savepoint's rows and end it.
async fn undo(tx: &mut Tx) -> sqlx::Result<()> {
    exec(tx, "ROLLBACK TO SAVEPOINT group_item").await?;
    exec(tx, "RELEASE SAVEPOINT group_item").await
}

impl GroupCommit {
    /// A writer whose writers write through savepoints only.
    pub fn new(db: Db) -> GroupCommit {
        Self::build(db, None)
    }

    /// A writer whose writers may also stage rows, written by `flush` before each commit.
    pub fn with_flush(db: Db, flush: Flush) -> GroupCommit {
        Self::build(db, Some(flush))
    }

    fn build(db: Db, flush: Option<Flush>) -> GroupCommit {
        GroupCommit {
            inner: Arc::new(Inner {
                db,
                flush,
                open: Mutex::new(None),
                wake: Arc::new(Notify::new()),
                committer: OnceLock::new(),
            }),
        }
    }

    /// A savepoint in the open batch (which this may begin). Hold the slot only while writing.
    pub async fn join(&self) -> sqlx::Result<Slot<'_>> {
        let inner = &*self.inner;
        inner.committer.get_or_init(|| {
            tokio::spawn(commit_loop(Arc::downgrade(&self.inner), inner.wake.clone()));
        });
        loop {
            let mut open = inner.open.lock().await;
            if let Some(b) = open.as_ref()
                && (b.kept >= MAX_BATCH || b.broken)
            {
                // Full (or failed): wait for its end, then join the next one.
                let mut done = b.done.subscribe();
                drop(open);
                inner.wake.notify_one();
                let _ = done.wait_for(Option::is_some).await;
                continue;
            }
            if open.is_none() {
                *open = Some(Batch {
                    tx: inner.db.begin().await?,
                    kept: 0,
                    dangling: None,
                    broken: false,
                    staged: None,
                    done: watch::channel(None).0,
                });
            }
            let b = open.as_mut().expect("a batch is open");
            b.settle().await;
            if b.broken {
                continue;
            }
            return Ok(Slot {
                open,
                inner,
                savepoint: false,
            });
        }
    }
}

/// Commit whatever batch is open each time a writer finishes, until the writer is dropped.
async fn commit_loop(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        let Some(inner) = inner.upgrade() else { return };
        let batch = inner.open.lock().await.take();
        let flush = inner.flush.clone();
        drop(inner);
        if let Some(b) = batch {
            // In a task of its own: a panic in a flush drops (rolls back) that batch and fails
            // its writers, and the next batch still commits.
            let _ = tokio::spawn(async move { b.close(flush.as_ref()).await }).await;
        }
    }
}

/// One writer's place in the open batch: its savepoint, and the batch locked to it meanwhile.
pub struct Slot<'g> {
    open: MutexGuard<'g, Option<Batch>>,
    inner: &'g Inner,
    savepoint: bool,
}

impl Slot<'_> {
    fn batch(&mut self) -> &mut Batch {
        self.open.as_mut().expect("a batch is open")
    }

    /// The batch's staging area for this writer's feature (created empty on first use).
    pub fn stage<S: Default + Send + 'static>(&mut self) -> &mut S {
        let staged = self.batch().staged.get_or_insert_with(|| Box::new(S::default()));
        if !staged.is::<S>() {
            // One feature stages one type; anything else is a programming error caught in tests.
            *staged = Box::new(S::default());
        }
        staged.downcast_mut::<S>().expect("the staged type was just set")
    }

    /// Write what the batch has staged so far, so that this writer's statements come after it.
    pub async fn flush(&mut self) -> sqlx::Result<()> {
        let flush = self.inner.flush.as_ref();
        self.batch().flush(flush).await
    }

    /// Open this writer's savepoint: what it writes through [`Slot::tx`] from now on is undone
    /// alone when it finishes with `keep = false` (or goes away).
    pub async fn savepoint(&mut self) -> sqlx::Result<()> {
        let b = self.batch();
        if let Err(e) = exec(&mut b.tx, "SAVEPOINT group_item").await {
            b.broken = true;
            return Err(e);
        }
        b.dangling = Some(Dangling::Writing);
        self.savepoint = true;
        Ok(())
    }

    /// The shared transaction (inside this writer's savepoint, once opened).
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.batch().tx
    }

    /// Keep this writer's rows (`keep`) or undo them; the ticket waits for the batch's commit.
    pub async fn finish(mut self, keep: bool) -> sqlx::Result<Ticket> {
        let savepoint = self.savepoint;
        let b = self.batch();
        let ended = match (savepoint, keep) {
            (false, _) => Ok(()),
            (true, true) => {
                b.dangling = Some(Dangling::Ending);
                exec(&mut b.tx, "RELEASE SAVEPOINT group_item").await
            }
            (true, false) => {
                b.dangling = Some(Dangling::Ending);
                undo(&mut b.tx).await
            }
        };
        b.dangling = None;
        match ended {
            Ok(()) if keep => b.kept += 1,
            Ok(()) => {}
            Err(e) => {
                b.broken = true;
                return Err(e);
            }
        }
        Ok(Ticket(b.done.subscribe()))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        // Finished or not, the batch may now be committed (a writer that went away half-way
        // left its savepoint marked in `dangling`, undone before the commit).
        self.inner.wake.notify_one();
    }
}

/// Waits for the commit of the batch a writer's rows are in.
pub struct Ticket(watch::Receiver<Outcome>);

impl Ticket {
    /// Returns once the rows are durable; an error when the batch did not commit.
    pub async fn committed(mut self) -> sqlx::Result<()> {
        let failed = |why: &str| sqlx::Error::Protocol(format!("the batch was not committed: {why}"));
        let outcome = match self.0.wait_for(Option::is_some).await {
            Ok(o) => o.clone(),
            Err(_) => return Err(failed("the writer stopped")),
        };
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(why)) => Err(failed(&why)),
            None => Err(failed("no outcome")),
        }
    }
}
