//! The calls' pure rules: the socket's messages, who may call whom, who the command centre is, the
//! origin check, rate limits and how a call's outcome and duration are counted. No I/O.

use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Capability, Principal, Role};

/// Longest message a socket accepts (an SDP with video is ~6 KB; ICE candidates are small).
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
/// Longest SDP relayed.
pub const MAX_SDP_BYTES: usize = 24 * 1024;
/// A call not answered in this time is missed (未接).
pub const RING_MS: i64 = 30_000;
/// Longest call recorded (the CHECK on `calls.duration_ms`).
pub const MAX_DURATION_MS: i64 = 86_400_000;

/// Voice or video (语音 / 视频).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Voice,
    Video,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Voice => "voice",
            Kind::Video => "video",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 已接通 (and then hung up).
    Answered,
    /// 未接: nobody answered in time, the callee was not connected, or the caller gave up.
    Missed,
    /// 已拒绝.
    Declined,
    /// 失败: the browsers could not connect to each other.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Missed => "missed",
            Outcome::Declined => "declined",
            Outcome::Failed => "failed",
        }
    }
}

/// The words for an outcome code (none while a call runs).
pub fn outcome_label(code: Option<&str>) -> &'static str {
    match code {
        Some("answered") => "已接通",
        Some("missed") => "未接",
        Some("declined") => "已拒绝",
        Some("failed") => "连接失败",
        _ => "进行中",
    }
}

/// Whom a ring is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A person holding a post at `grid`.
    Person { user: Uuid, grid: String },
    /// The command centre (呼叫指挥中心).
    Command,
}

/// A message from a browser. Unknown or malformed messages are refused, never guessed at.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// Call `to` (a user id, with the grid it was placed from) or `"command"`.
    Ring {
        to: String,
        #[serde(default)]
        grid: Option<String>,
        kind: Kind,
    },
    Accept {
        call: Uuid,
    },
    Decline {
        call: Uuid,
    },
    Offer {
        call: Uuid,
        sdp: String,
    },
    Answer {
        call: Uuid,
        sdp: String,
    },
    Ice {
        call: Uuid,
        candidate: serde_json::Value,
    },
    /// End the call; `failed` when the browsers never connected.
    Hangup {
        call: Uuid,
        #[serde(default)]
        failed: bool,
    },
    Ping,
}

/// Why a message was refused: a stable code and the Chinese words the page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: &'static str,
}

pub const BAD_MESSAGE: Refusal = Refusal {
    code: "bad_message",
    message: "消息格式不正确",
};
pub const RATE_LIMITED: Refusal = Refusal {
    code: "rate_limited",
    message: "操作过于频繁，请稍后再试",
};
pub const BUSY: Refusal = Refusal {
    code: "busy",
    message: "您正在通话中",
};
pub const NOT_REACHABLE: Refusal = Refusal {
    code: "not_reachable",
    message: "对方不在您可呼叫的网格内",
};
pub const NO_CALL: Refusal = Refusal {
    code: "no_call",
    message: "通话不存在或已结束",
};

/// Read one message: bounded, well-formed, with a target that parses.
pub fn parse(text: &str) -> Result<ClientMsg, Refusal> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(BAD_MESSAGE);
    }
    let m: ClientMsg = serde_json::from_str(text).map_err(|_| BAD_MESSAGE)?;
    match &m {
        ClientMsg::Offer { sdp, .. } | ClientMsg::Answer { sdp, .. } if sdp.len() > MAX_SDP_BYTES => Err(BAD_MESSAGE),
        ClientMsg::Ring { to, grid, .. } if target(to, grid.as_deref()).is_none() => Err(BAD_MESSAGE),
        _ => Ok(m),
    }
}

/// The target a ring names: `"command"`, or a user id with a grid code (digits, 6–18).
pub fn target(to: &str, grid: Option<&str>) -> Option<Target> {
    if to == "command" {
        return Some(Target::Command);
    }
    let user = Uuid::parse_str(to).ok()?;
    let grid = grid?;
    let ok = (6..=18).contains(&grid.len()) && grid.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| Target::Person {
        user,
        grid: grid.to_string(),
    })
}

/// The grid nodes where this person holds a post of the five grid levels (district … building):
/// the people who call and are called. Residents, departments, property companies and shops do
/// not take part (their posts are not the grid's duty).
pub fn grid_posts(p: &Principal) -> Vec<(Role, String)> {
    p.posts
        .iter()
        .filter(|x| x.role.is_grid_role() && x.role != Role::Resident)
        .filter_map(|x| x.grid_code.clone().map(|g| (x.role, g)))
        .collect()
}

/// May this person use calls at all (open the socket, read a call log)?
pub fn is_grid_staff(p: &Principal) -> bool {
    !grid_posts(p).is_empty()
}

/// May `p` call someone from grid node `grid`? Grid staff who may read the node.
pub fn may_call_from(p: &Principal, grid: &str) -> bool {
    is_grid_staff(p) && p.can(Capability::ReadGrid, grid)
}

/// The subtrees whose call log `p` reads: their grid posts' nodes, narrowest dropped under widest.
pub fn log_roots(p: &Principal) -> Vec<String> {
    let mut roots: Vec<String> = grid_posts(p).into_iter().map(|(_, g)| g).collect();
    roots.sort_by_key(|r| (r.len(), r.clone()));
    let mut out: Vec<String> = Vec::new();
    for r in roots {
        if !out.iter().any(|o| r.starts_with(o.as_str())) {
            out.push(r);
        }
    }
    out
}

/// The grid a command-centre call is logged under: the caller's narrowest grid post (where
/// they stand when they call for help).
pub fn caller_grid(posts: &[(Role, String)]) -> Option<String> {
    posts.iter().map(|(_, g)| g.clone()).max_by_key(|g| g.len())
}

/// Does a connected person with these grid posts answer the command centre for a call from
/// `caller_grid`? The district's admins (区指挥中心), and the street staff of the caller's own
/// street (街道指挥分中心), so a call is answered nearby when the district's desk is unmanned.
pub fn answers_command(posts: &[(Role, String)], caller_grid: &str) -> bool {
    posts.iter().any(|(role, g)| match role {
        Role::DistrictAdmin => caller_grid.starts_with(g.as_str()),
        Role::StreetStaff => caller_grid.starts_with(g.as_str()),
        _ => false,
    })
}

/// A call's duration: from answer to end, bounded; zero if never answered.
pub fn duration_ms(answered_at: Option<i64>, ended_at: i64) -> i64 {
    answered_at.map_or(0, |a| (ended_at - a).clamp(0, MAX_DURATION_MS))
}

/// What ends a call that rang and was never answered: the callee (all of them, for the command
/// centre) declining, or the caller giving up / the time running out (missed).
pub fn unanswered_outcome(all_declined: bool) -> Outcome {
    if all_declined { Outcome::Declined } else { Outcome::Missed }
}

/// Is the `Origin` a browser sent the same site as this server? It must name the host the
/// request was sent to (`Host`), or the configured public address. A page of another site
/// opening our socket with the user's cookie (cross-site WebSocket hijacking) is refused; so is a
/// request without an `Origin`, which every browser sends on a WebSocket handshake.
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, public_url: &str) -> bool {
    let Some(origin) = origin.and_then(|o| url::Url::parse(o).ok()) else {
        return false;
    };
    if !matches!(origin.scheme(), "http" | "https") {
        return false;
    }
    let Some(own) = authority(&origin) else {
        return false;
    };
    if host.is_some_and(|h| h.eq_ignore_ascii_case(&own)) {
        return true;
    }
    url::Url::parse(public_url)
        .ok()
        .is_some_and(|p| p.scheme() == origin.scheme() && authority(&p).is_some_and(|a| a.eq_ignore_ascii_case(&own)))
}

fn authority(u: &url::Url) -> Option<String> {
    let host = u.host_str()?;
    Some(match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

/// A token bucket: `burst` messages at once, then `per_sec` a second.
#[derive(Debug, Clone)]
pub struct Bucket {
    tokens: f64,
    burst: f64,
    per_ms: f64,
    at_ms: i64,
}

impl Bucket {
    pub fn new(burst: u32, per_sec: f64, now_ms: i64) -> Bucket {
        Bucket {
            tokens: f64::from(burst),
            burst: f64::from(burst),
            per_ms: per_sec / 1000.0,
            at_ms: now_ms,
        }
    }

    /// Take one token if there is one.
    pub fn take(&mut self, now_ms: i64) -> bool {
        let elapsed = (now_ms - self.at_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * self.per_ms).min(self.burst);
        self.at_ms = now_ms.max(self.at_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The limits of one socket: messages (ICE candidates come in bursts), and rings (each writes).
pub fn message_bucket(now_ms: i64) -> Bucket {
    Bucket::new(60, 20.0, now_ms)
}

pub fn ring_bucket(now_ms: i64) -> Bucket {
    Bucket::new(10, 0.3, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Post;

    fn principal(posts: &[(Role, &str)]) -> Principal {
        Principal {
            user_id: Uuid::nil(),
            username: "u".into(),
            display_name: "u".into(),
            district: "411602".into(),
            posts: posts
                .iter()
                .map(|(r, g)| Post {
                    role: *r,
                    grid_code: Some(g.to_string()),
                    unit_id: None,
                })
                .collect(),
        }
    }

    #[test]
    fn messages_parse_and_refuse() {
        let id = Uuid::now_v7();
        let m = parse(&format!(r#"{{"t":"ring","to":"{id}","grid":"411602001","kind":"video"}}"#)).unwrap();
        assert_eq!(
            m,
            ClientMsg::Ring {
                to: id.to_string(),
                grid: Some("411602001".into()),
                kind: Kind::Video
            }
        );
        assert!(matches!(
            parse(r#"{"t":"ring","to":"command","kind":"voice"}"#),
            Ok(ClientMsg::Ring { .. })
        ));
        // A person without the grid it was called from, a bad grid, a bad kind, extra fields.
        assert_eq!(parse(&format!(r#"{{"t":"ring","to":"{id}","kind":"voice"}}"#)), Err(BAD_MESSAGE));
        assert_eq!(
            parse(&format!(r#"{{"t":"ring","to":"{id}","grid":"41x","kind":"voice"}}"#)),
            Err(BAD_MESSAGE)
        );
        assert_eq!(parse(r#"{"t":"ring","to":"command","kind":"fax"}"#), Err(BAD_MESSAGE));
        assert_eq!(parse(&format!(r#"{{"t":"accept","call":"{id}","x":1}}"#)), Err(BAD_MESSAGE));
        assert_eq!(parse(r#"{"t":"nope"}"#), Err(BAD_MESSAGE));
        assert_eq!(parse("not json"), Err(BAD_MESSAGE));
        let big = "a".repeat(MAX_SDP_BYTES + 1);
        assert_eq!(parse(&format!(r#"{{"t":"offer","call":"{id}","sdp":"{big}"}}"#)), Err(BAD_MESSAGE));
        assert_eq!(parse(&"x".repeat(MAX_MESSAGE_BYTES + 1)), Err(BAD_MESSAGE));
        assert_eq!(
            parse(&format!(r#"{{"t":"hangup","call":"{id}"}}"#)),
            Ok(ClientMsg::Hangup { call: id, failed: false })
        );
    }

    #[test]
    fn only_grid_staff_call_and_within_their_grid() {
        let building = principal(&[(Role::BuildingOfficer, "411602001001001001")]);
        assert!(may_call_from(&building, "411602001001001001"));
        assert!(!may_call_from(&building, "411602001001001002"));
        assert!(!may_call_from(&building, "411602001001001"));
        let resident = principal(&[(Role::Resident, "411602001001001001")]);
        assert!(!is_grid_staff(&resident));
        assert!(!may_call_from(&resident, "411602001001001001"));
        let admin = principal(&[(Role::DistrictAdmin, "411602")]);
        assert!(may_call_from(&admin, "411602001001001002"));
        let two = principal(&[(Role::CommunityStaff, "411602001001"), (Role::CompoundLeader, "411602001001001")]);
        assert_eq!(log_roots(&two), vec!["411602001001".to_string()]);
        assert_eq!(caller_grid(&grid_posts(&two)).as_deref(), Some("411602001001001"));
    }

    #[test]
    fn the_command_centre_is_the_district_and_the_callers_street() {
        let caller = "411602001001001001";
        assert!(answers_command(&[(Role::DistrictAdmin, "411602".into())], caller));
        assert!(answers_command(&[(Role::StreetStaff, "411602001".into())], caller));
        assert!(!answers_command(&[(Role::StreetStaff, "411602002".into())], caller));
        assert!(!answers_command(&[(Role::CommunityStaff, "411602001001".into())], caller));
        assert!(!answers_command(&[(Role::DistrictAdmin, "411603".into())], caller));
    }

    #[test]
    fn origins() {
        let p = "https://gongzhi.example.cn";
        assert!(origin_allowed(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080"), p));
        assert!(origin_allowed(Some("https://gongzhi.example.cn"), Some("10.0.0.2:8080"), p));
        assert!(!origin_allowed(Some("http://gongzhi.example.cn"), Some("10.0.0.2:8080"), p));
        assert!(!origin_allowed(Some("http://evil.example"), Some("127.0.0.1:8080"), p));
        assert!(!origin_allowed(Some("http://127.0.0.1:8081"), Some("127.0.0.1:8080"), p));
        assert!(!origin_allowed(None, Some("127.0.0.1:8080"), p));
        assert!(!origin_allowed(Some("null"), Some("127.0.0.1:8080"), p));
    }

    #[test]
    fn durations_and_outcomes() {
        assert_eq!(duration_ms(None, 10_000), 0);
        assert_eq!(duration_ms(Some(1_000), 61_000), 60_000);
        assert_eq!(duration_ms(Some(5_000), 1_000), 0);
        assert_eq!(duration_ms(Some(0), 2 * MAX_DURATION_MS), MAX_DURATION_MS);
        assert_eq!(unanswered_outcome(true), Outcome::Declined);
        assert_eq!(unanswered_outcome(false), Outcome::Missed);
        assert_eq!(outcome_label(Some("missed")), "未接");
    }

    #[test]
    fn buckets_limit_bursts_and_refill() {
        let mut b = Bucket::new(3, 1.0, 0);
        assert!(b.take(0) && b.take(0) && b.take(0));
        assert!(!b.take(10));
        assert!(b.take(1_010));
        assert!(!b.take(1_020));
        let mut r = ring_bucket(0);
        let taken = (0..20).filter(|_| r.take(0)).count();
        assert_eq!(taken, 10);
    }
}
