//! Calls' operations: ringing, answering, declining, relaying and ending calls between sockets
//! (each state change logged in its own transaction), who of a grid is reachable, the call log,
//! and how many of a subtree's people are connected (for the command screen).

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::CallsState;
use super::hub::{ConnId, Hub, Live, LiveRef, Party};
use super::rules::{self, ClientMsg, Kind, Outcome, Refusal, Target};
use super::store::{self, CallRow, NewCall};
use crate::audit::Actor;
use crate::auth::{Capability, Principal, Role};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};

/// Connected people holding a grid post in the subtree of `grid_code` (for the command screen's
/// panel: 在线网格员).
pub fn online_in(hub: &Hub, district: &str, grid_code: &str) -> usize {
    hub.online_in(district, grid_code)
}

/// One person a grid node's page can call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reachable {
    pub user_id: Uuid,
    pub name: String,
    /// The post's role (`building_officer`, …).
    pub role: String,
    pub role_label: String,
    /// Connected to the calls socket now (a call would ring).
    pub online: bool,
}

/// Who holds a grid post at `grid` and whether they are connected now, for a caller who may
/// call from there; the caller is left out.
pub async fn reachable(s: &CallsState, p: &Principal, grid: &str) -> AppResult<Vec<Reachable>> {
    if !rules::is_grid_staff(p) {
        return Err(AppError::forbidden());
    }
    if !rules::may_call_from(p, grid) {
        return Err(AppError::not_found("网格"));
    }
    let holders = store::post_holders(&s.db, grid).await?;
    if holders.is_empty() && crate::grid::store::get(&s.db, grid).await?.is_none() {
        return Err(AppError::not_found("网格"));
    }
    let online = s.hub.online_users(&p.district);
    let mut out: Vec<Reachable> = Vec::new();
    for h in holders {
        if h.user_id == p.user_id || out.iter().any(|o| o.user_id == h.user_id) {
            continue;
        }
        let label = Role::parse(&h.role).map_or("", Role::label);
        out.push(Reachable {
            online: online.contains(&h.user_id),
            user_id: h.user_id,
            name: h.name,
            role: h.role,
            role_label: label.to_string(),
        });
    }
    // Those who would answer now first.
    out.sort_by_key(|r| !r.online);
    Ok(out)
}

/// The call log in `grid`'s subtree (or all the caller's grids), newest first.
pub async fn log(db: &Db, p: &Principal, grid: Option<&str>, limit: i64, offset: i64) -> AppResult<(Vec<CallRow>, i64)> {
    let roots = rules::log_roots(p);
    if roots.is_empty() {
        return Err(AppError::forbidden());
    }
    let roots = match grid {
        Some(g) => {
            if !roots.iter().any(|r| g.starts_with(r.as_str())) || !p.can(Capability::ReadGrid, g) {
                return Err(AppError::not_found("网格"));
            }
            vec![g.to_string()]
        }
        None => roots,
    };
    Ok(store::list(db, &p.district, &roots, limit, offset).await?)
}

/// A socket's owner and its id in the registry.
pub struct Session {
    pub principal: Principal,
    pub posts: Vec<(Role, String)>,
    pub conn: ConnId,
}

impl Session {
    fn district(&self) -> &str {
        &self.principal.district
    }

    fn me(&self) -> Party {
        Party {
            conn: self.conn,
            user: self.principal.user_id,
            name: self.principal.display_name.clone(),
        }
    }

    fn refuse(&self, s: &CallsState, r: Refusal, call: Option<Uuid>) {
        s.hub.send(
            self.district(),
            self.conn,
            &json!({"t": "error", "code": r.code, "message": r.message, "call": call}),
        );
    }
}

/// Close the calls an earlier process left open, once per process (on the first connection).
pub async fn close_abandoned_once(s: &CallsState) {
    let db = s.db.clone();
    let before = s.hub.started_ms;
    s.hub
        .cleaned
        .get_or_init(|| async move {
            if let Err(e) = store::close_abandoned(&db, before).await {
                tracing::warn!(error = %e, "closing abandoned calls");
            }
        })
        .await;
}

/// Act on one message from a socket.
pub async fn handle(s: &CallsState, me: &Session, msg: ClientMsg) {
    match msg {
        ClientMsg::Ping => s.hub.send(me.district(), me.conn, &json!({"t": "pong"})),
        ClientMsg::Ring { to, grid, kind } => {
            // `parse` checked the target already.
            if let Some(target) = rules::target(&to, grid.as_deref()) {
                ring(s, me, target, kind).await;
            }
        }
        ClientMsg::Accept { call } => accept(s, me, call).await,
        ClientMsg::Decline { call } => decline(s, me, call).await,
        ClientMsg::Offer { call, sdp } => relay(s, me, call, json!({"t": "offer", "call": call, "sdp": sdp})).await,
        ClientMsg::Answer { call, sdp } => relay(s, me, call, json!({"t": "answer", "call": call, "sdp": sdp})).await,
        ClientMsg::Ice { call, candidate } => relay(s, me, call, json!({"t": "ice", "call": call, "candidate": candidate})).await,
        ClientMsg::Hangup { call, failed } => hangup(s, me, call, failed).await,
    }
}

async fn ring(s: &CallsState, me: &Session, target: Target, kind: Kind) {
    let d = me.district().to_string();
    let id = crate::db::new_id();
    if !s.hub.reserve(&d, me.conn, id) {
        return me.refuse(s, rules::BUSY, None);
    }
    let p = &me.principal;
    let mut busy = false;
    // Who to ring, and what the log says about whom and where.
    let (rung, grid, callee, command) = match &target {
        Target::Person { user, grid } => {
            if !rules::may_call_from(p, grid) || *user == p.user_id {
                s.hub.release(&d, me.conn, id);
                return me.refuse(s, rules::NOT_REACHABLE, None);
            }
            let holders = match store::post_holders(&s.db, grid).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "reading a grid's post holders");
                    s.hub.release(&d, me.conn, id);
                    return me.refuse(s, rules::NOT_REACHABLE, None);
                }
            };
            let Some(h) = holders.into_iter().find(|h| h.user_id == *user) else {
                s.hub.release(&d, me.conn, id);
                return me.refuse(s, rules::NOT_REACHABLE, None);
            };
            let (free, any) = s.hub.free_conns_of(&d, *user);
            // Connected but in another call: logged as missed, like a phone's busy line.
            busy = any && free.is_empty();
            let rung = free.into_iter().map(|c| (c, *user)).collect::<Vec<_>>();
            (rung, grid.clone(), Some((h.user_id, h.name)), false)
        }
        Target::Command => {
            let Some(grid) = rules::caller_grid(&me.posts) else {
                s.hub.release(&d, me.conn, id);
                return me.refuse(s, rules::NOT_REACHABLE, None);
            };
            (s.hub.command_conns(&d, &grid, p.user_id), grid, None, true)
        }
    };
    let at = now_ms();
    let new = NewCall {
        id,
        district: &d,
        caller: (p.user_id, &p.display_name),
        callee: callee.as_ref().map(|(u, n)| (*u, n.as_str())),
        grid: &grid,
        command,
        kind,
        at,
    };
    if rung.is_empty() {
        // Nobody free to ring: logged at once as missed (未接).
        s.hub.release(&d, me.conn, id);
        if let Err(e) = store::ring(&s.db, p.actor(), &new, Some(Outcome::Missed)).await {
            tracing::error!(error = %e, "logging a call");
            return me.refuse(s, rules::NO_CALL, None);
        }
        return s.hub.send(
            &d,
            me.conn,
            &json!({"t": "ended", "call": id, "outcome": "missed", "reason": if busy { "busy" } else { "offline" }}),
        );
    }
    let live = Live {
        id,
        district: d.clone(),
        caller: me.me(),
        callee: None,
        rung,
        declined: false,
        kind,
        command,
        requested_at: at,
        answered_at: None,
        ended: false,
    };
    let live: LiveRef = Arc::new(tokio::sync::Mutex::new(live));
    // Held while the ring is logged: nobody can answer a call the log does not have yet.
    let mut guard = live.clone().lock_owned().await;
    s.hub.insert_call(&d, live.clone(), id);
    if let Err(e) = store::ring(&s.db, p.actor(), &new, None).await {
        tracing::error!(error = %e, "logging a call");
        guard.ended = true;
        s.hub.remove_call(&d, id);
        s.hub.release(&d, me.conn, id);
        return me.refuse(s, rules::NO_CALL, None);
    }
    let role = me.posts.first().map_or("", |(r, _)| r.label());
    let incoming = json!({"t": "incoming", "call": id, "kind": kind.as_str(), "command": command,
        "from": {"user_id": p.user_id, "name": p.display_name, "role_label": role, "grid": grid}});
    for (c, _) in &guard.rung {
        s.hub.send(&d, *c, &incoming);
    }
    let to_name = callee.as_ref().map_or("指挥中心".to_string(), |(_, n)| n.clone());
    s.hub.send(
        &d,
        me.conn,
        &json!({"t": "ringing", "call": id, "to_name": to_name, "kind": kind.as_str(), "command": command}),
    );
    drop(guard);
    // Unanswered in time: missed.
    let s2 = s.clone();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(rules::RING_MS as u64)).await;
        let mut l = live.lock().await;
        if !l.ended && l.answered_at.is_none() {
            finish(&s2, &mut l, Outcome::Missed, Actor::System("calls")).await;
        }
    });
}

async fn accept(s: &CallsState, me: &Session, id: Uuid) {
    let d = me.district();
    let Some(live) = s.hub.call(d, id) else {
        return me.refuse(s, rules::NO_CALL, Some(id));
    };
    let mut l = live.lock().await;
    if l.ended || l.answered_at.is_some() || !l.rung.iter().any(|(c, _)| *c == me.conn) {
        return me.refuse(s, rules::NO_CALL, Some(id));
    }
    if !s.hub.reserve(d, me.conn, id) {
        return me.refuse(s, rules::BUSY, Some(id));
    }
    let at = now_ms();
    let p = &me.principal;
    if let Err(e) = store::answer(&s.db, p.actor(), d, id, (p.user_id, &p.display_name), at).await {
        tracing::error!(error = %e, "logging an answer");
        s.hub.release(d, me.conn, id);
        return me.refuse(s, rules::NO_CALL, Some(id));
    }
    l.answered_at = Some(at);
    l.callee = Some(me.me());
    // The others ringing stop: someone took it.
    for (c, u) in std::mem::take(&mut l.rung) {
        if c != me.conn {
            // Another of the same person's pages stops quietly; another person hears who took it.
            let reason = if u == p.user_id { "answered_elsewhere" } else { "taken" };
            s.hub
                .send(d, c, &json!({"t": "cancel", "call": id, "reason": reason, "by": p.display_name}));
        }
    }
    s.hub
        .send(d, l.caller.conn, &json!({"t": "accepted", "call": id, "by": p.display_name}));
    s.hub.send(
        d,
        me.conn,
        &json!({"t": "connected", "call": id, "peer": l.caller.name, "kind": l.kind.as_str()}),
    );
}

async fn decline(s: &CallsState, me: &Session, id: Uuid) {
    let d = me.district();
    let Some(live) = s.hub.call(d, id) else {
        return me.refuse(s, rules::NO_CALL, Some(id));
    };
    let mut l = live.lock().await;
    if l.ended || l.answered_at.is_some() || !l.rung.iter().any(|(c, _)| *c == me.conn) {
        return me.refuse(s, rules::NO_CALL, Some(id));
    }
    // Declining on one device declines on all of this person's devices.
    let user = me.principal.user_id;
    let mine: Vec<ConnId> = l.rung.iter().filter(|(_, u)| *u == user).map(|(c, _)| *c).collect();
    l.rung.retain(|(_, u)| *u != user);
    l.declined = true;
    for c in mine {
        s.hub.send(d, c, &json!({"t": "cancel", "call": id, "reason": "declined"}));
    }
    if l.rung.is_empty() {
        finish(s, &mut l, Outcome::Declined, me.principal.actor()).await;
    }
}

async fn relay(s: &CallsState, me: &Session, id: Uuid, msg: Value) {
    let d = me.district();
    let Some(live) = s.hub.call(d, id) else {
        return me.refuse(s, rules::NO_CALL, Some(id));
    };
    let l = live.lock().await;
    let peer = match &l.callee {
        Some(callee) if !l.ended && l.caller.conn == me.conn => callee.conn,
        Some(callee) if !l.ended && callee.conn == me.conn => l.caller.conn,
        _ => return me.refuse(s, rules::NO_CALL, Some(id)),
    };
    s.hub.send(d, peer, &msg);
}

async fn hangup(s: &CallsState, me: &Session, id: Uuid, failed: bool) {
    let d = me.district();
    let Some(live) = s.hub.call(d, id) else {
        return me.refuse(s, rules::NO_CALL, Some(id));
    };
    let mut l = live.lock().await;
    if l.ended {
        return;
    }
    let is_party = l.caller.conn == me.conn || l.callee.as_ref().is_some_and(|c| c.conn == me.conn);
    if !is_party {
        drop(l);
        // A callee hanging up while it rings declines it.
        return decline(s, me, id).await;
    }
    let outcome = match (l.answered_at, failed) {
        (_, true) => Outcome::Failed,
        (Some(_), false) => Outcome::Answered,
        (None, false) => rules::unanswered_outcome(false),
    };
    finish(s, &mut l, outcome, me.principal.actor()).await;
}

/// A socket closed: end its calls, or stop ringing it.
pub async fn disconnected(s: &CallsState, me: &Session) {
    let d = me.district();
    for live in s.hub.disconnect(d, me.conn) {
        let mut l = live.lock().await;
        if l.ended {
            continue;
        }
        let is_party = l.caller.conn == me.conn || l.callee.as_ref().is_some_and(|c| c.conn == me.conn);
        if is_party {
            let outcome = if l.answered_at.is_some() {
                Outcome::Answered
            } else {
                Outcome::Missed
            };
            finish(s, &mut l, outcome, me.principal.actor()).await;
        } else if l.rung.iter().any(|(c, _)| *c == me.conn) {
            l.rung.retain(|(c, _)| *c != me.conn);
            if l.rung.is_empty() && l.answered_at.is_none() {
                let outcome = rules::unanswered_outcome(l.declined);
                finish(s, &mut l, outcome, Actor::System("calls")).await;
            }
        }
    }
}

/// End a call: log it (the memory state ends even if the log write fails, so no call hangs on),
/// tell everyone still in it, free the sockets.
async fn finish(s: &CallsState, l: &mut Live, outcome: Outcome, actor: Actor<'_>) {
    let at = now_ms();
    if let Err(e) = store::end(&s.db, actor, &l.district, l.id, outcome, l.answered_at, at).await {
        tracing::error!(error = %e, "logging the end of a call");
    }
    l.ended = true;
    let duration = rules::duration_ms(l.answered_at, at);
    let msg = json!({"t": "ended", "call": l.id, "outcome": outcome.as_str(), "duration_ms": duration});
    let d = l.district.clone();
    let mut told = vec![l.caller.conn];
    if let Some(c) = &l.callee {
        told.push(c.conn);
    }
    // Both sides hear it, the one who hung up too (its page shows the logged duration).
    for c in told {
        s.hub.send(&d, c, &msg);
        s.hub.release(&d, c, l.id);
    }
    for (c, _) in std::mem::take(&mut l.rung) {
        s.hub.send(&d, c, &json!({"t": "cancel", "call": l.id, "reason": "ended"}));
    }
    s.hub.remove_call(&d, l.id);
}
