//! The in-process registry of who is connected to the calls socket now (per district), with their
//! grid posts, and the calls ringing or running between them.
//!
//! The maps sit behind one short `std` lock never held across an await. Each live call has its
//! own async lock: every change to a call (ring, accept, decline, hang up, time out) takes it,
//! writes the log row, then changes the call, so the log's writes happen in the call's order.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use uuid::Uuid;

use super::rules::{self, Kind};
use crate::auth::Role;

/// One socket.
pub type ConnId = u64;

/// What a socket's writer is told to send.
#[derive(Debug)]
pub enum Out {
    Text(String),
    Close,
}

/// Messages waiting for one slow socket; beyond this they are dropped (the page resyncs on
/// the next state message, and a call whose signalling is lost is hung up by the user).
pub const QUEUE: usize = 256;

struct Conn {
    user_id: Uuid,
    name: String,
    posts: Vec<(Role, String)>,
    tx: mpsc::Sender<Out>,
    /// The call this socket is in (calling out, or answered); `None` when free.
    call: Option<Uuid>,
}

/// One side of a call.
#[derive(Debug, Clone)]
pub struct Party {
    pub conn: ConnId,
    pub user: Uuid,
    pub name: String,
}

/// A call ringing or running.
#[derive(Debug)]
pub struct Live {
    pub id: Uuid,
    pub district: String,
    pub caller: Party,
    /// Who answered.
    pub callee: Option<Party>,
    /// Sockets ringing now, with their users.
    pub rung: Vec<(ConnId, Uuid)>,
    /// Some callee declined (the outcome when nobody is left ringing).
    pub declined: bool,
    pub kind: Kind,
    pub command: bool,
    pub requested_at: i64,
    pub answered_at: Option<i64>,
    pub ended: bool,
}

/// A live call, locked per change.
pub type LiveRef = Arc<tokio::sync::Mutex<Live>>;

#[derive(Default)]
struct District {
    conns: HashMap<ConnId, Conn>,
    calls: HashMap<Uuid, LiveRef>,
}

/// The registry.
pub struct Hub {
    districts: Mutex<HashMap<String, District>>,
    next: AtomicU64,
    /// When this process's registry began: calls logged open before it were left by an earlier
    /// process (closed on the first connection, `service::connect`).
    pub started_ms: i64,
    pub(super) cleaned: tokio::sync::OnceCell<()>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            districts: Mutex::default(),
            next: AtomicU64::new(1),
            started_ms: crate::db::now_ms(),
            cleaned: tokio::sync::OnceCell::new(),
        }
    }
}

impl Hub {
    fn with<T>(&self, district: &str, f: impl FnOnce(&mut District) -> T) -> T {
        let mut map = self.districts.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(district.to_string()).or_default())
    }

    /// Register a socket; returns its id.
    pub fn connect(&self, district: &str, user_id: Uuid, name: &str, posts: Vec<(Role, String)>, tx: mpsc::Sender<Out>) -> ConnId {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Conn {
            user_id,
            name: name.to_string(),
            posts,
            tx,
            call: None,
        };
        self.with(district, |d| d.conns.insert(id, conn));
        id
    }

    /// Forget a socket; returns the district's live calls, which the caller checks under each
    /// call's lock for this socket (a district has a handful at a time).
    pub fn disconnect(&self, district: &str, conn: ConnId) -> Vec<LiveRef> {
        self.with(district, |d| {
            d.conns.remove(&conn);
            d.calls.values().cloned().collect()
        })
    }

    /// Send a JSON message to a socket (dropped if it is gone or too far behind).
    pub fn send(&self, district: &str, conn: ConnId, msg: &serde_json::Value) {
        let text = msg.to_string();
        self.with(district, |d| {
            if let Some(c) = d.conns.get(&conn) {
                let _ = c.tx.try_send(Out::Text(text));
            }
        });
    }

    /// Is any socket of this user connected?
    pub fn online(&self, district: &str, user: Uuid) -> bool {
        self.with(district, |d| d.conns.values().any(|c| c.user_id == user))
    }

    /// The users connected now.
    pub fn online_users(&self, district: &str) -> HashSet<Uuid> {
        self.with(district, |d| d.conns.values().map(|c| c.user_id).collect())
    }

    /// Distinct people connected now who hold a grid post in the subtree of `code`.
    pub fn online_in(&self, district: &str, code: &str) -> usize {
        self.online_under(district, std::slice::from_ref(&code.to_string()))
    }

    /// Distinct people connected now who hold a grid post under any of `roots`.
    pub fn online_under(&self, district: &str, roots: &[String]) -> usize {
        self.with(district, |d| {
            d.conns
                .values()
                .filter(|c| c.posts.iter().any(|(_, g)| roots.iter().any(|r| g.starts_with(r.as_str()))))
                .map(|c| c.user_id)
                .collect::<HashSet<_>>()
                .len()
        })
    }

    /// A user's sockets: the free ones, and whether any is connected at all.
    pub fn free_conns_of(&self, district: &str, user: Uuid) -> (Vec<ConnId>, bool) {
        self.with(district, |d| {
            let mine: Vec<(&ConnId, &Conn)> = d.conns.iter().filter(|(_, c)| c.user_id == user).collect();
            let any = !mine.is_empty();
            (mine.into_iter().filter(|(_, c)| c.call.is_none()).map(|(id, _)| *id).collect(), any)
        })
    }

    /// Free sockets of the command centre for a call from `caller_grid`, without the caller's own.
    pub fn command_conns(&self, district: &str, caller_grid: &str, caller: Uuid) -> Vec<(ConnId, Uuid)> {
        self.with(district, |d| {
            d.conns
                .iter()
                .filter(|(_, c)| c.user_id != caller && c.call.is_none() && rules::answers_command(&c.posts, caller_grid))
                .map(|(id, c)| (*id, c.user_id))
                .collect()
        })
    }

    /// The name a socket's user goes by.
    pub fn name_of(&self, district: &str, conn: ConnId) -> Option<String> {
        self.with(district, |d| d.conns.get(&conn).map(|c| c.name.clone()))
    }

    /// Mark a socket as in `call` if it is free; false if it is in another call or gone.
    pub fn reserve(&self, district: &str, conn: ConnId, call: Uuid) -> bool {
        self.with(district, |d| match d.conns.get_mut(&conn) {
            Some(c) if c.call.is_none() || c.call == Some(call) => {
                c.call = Some(call);
                true
            }
            _ => false,
        })
    }

    /// Free a socket of `call` (if it is still in it).
    pub fn release(&self, district: &str, conn: ConnId, call: Uuid) {
        self.with(district, |d| {
            if let Some(c) = d.conns.get_mut(&conn)
                && c.call == Some(call)
            {
                c.call = None;
            }
        });
    }

    pub fn insert_call(&self, district: &str, live: LiveRef, id: Uuid) {
        self.with(district, |d| d.calls.insert(id, live));
    }

    pub fn call(&self, district: &str, id: Uuid) -> Option<LiveRef> {
        self.with(district, |d| d.calls.get(&id).cloned())
    }

    pub fn remove_call(&self, district: &str, id: Uuid) {
        self.with(district, |d| d.calls.remove(&id));
    }

    /// Calls ringing or running now, over every district (for tests and metrics).
    pub fn live_calls(&self) -> usize {
        let map = self.districts.lock().unwrap_or_else(|e| e.into_inner());
        map.values().map(|d| d.calls.len()).sum()
    }
}
