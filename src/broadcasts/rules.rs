//! The broadcasts' pure rules: text and level checks, who may send, receipts per child node,
//! reminder throttling, webhook URLs, the outside groups' message formats, the DingTalk 加签
//! signature and the outbox's backoff. No I/O.

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

use crate::auth::Principal;
use crate::grid::rules::code_len;

pub const TITLE_MAX: usize = 60;
pub const BODY_MAX: usize = 2000;
pub const REPLY_MAX: usize = 500;
pub const URL_MAX: usize = 500;
pub const SECRET_MAX: usize = 200;
/// A recipient is reminded at most once in this long (提醒 throttle).
pub const REMIND_EVERY_MS: i64 = 3_600_000;
/// Every level, 1 (district) to 5 (building), as a bit set.
pub const ALL_LEVELS: i64 = 0b11_1110;

/// 通知 (read is enough) or 指令 (each recipient must acknowledge, 确认收到).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Notice,
    Instruction,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "notice" => Some(Kind::Notice),
            "instruction" => Some(Kind::Instruction),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Notice => "notice",
            Kind::Instruction => "instruction",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Kind::Notice => "通知",
            Kind::Instruction => "指令",
        }
    }
}

/// Label of a stored kind (a kind this version does not know reads as 通知).
pub fn kind_label(s: &str) -> &'static str {
    Kind::parse(s).unwrap_or(Kind::Notice).label()
}

/// Text of 1..=`max` characters, checked in its NFKC form (so full-width spaces count as blank and
/// look-alike characters as what they look like); `multiline` keeps line breaks and tabs, every
/// other control character is refused. What is kept is the text as typed, NFC-composed and
/// trimmed: NFKC would turn Chinese full-width punctuation (，：（）) into ASCII.
pub fn clean_text(raw: &str, max: usize, multiline: bool) -> Result<String, String> {
    let text: String = raw.nfc().collect::<String>().replace("\r\n", "\n");
    let checked: String = text.nfkc().collect();
    let checked = checked.trim();
    if checked.is_empty() {
        return Err("内容不能为空".into());
    }
    if checked.chars().count() > max {
        return Err(format!("内容不能超过{max}字"));
    }
    if checked.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t'))) {
        return Err("内容含有不可见的控制字符".into());
    }
    Ok(text.trim_matches(|c: char| c.is_whitespace()).to_string())
}

/// The level of a grid code by its length, if it is one of the five.
pub fn level_of(code: &str) -> Option<i64> {
    (1..=5).find(|l| code_len(*l) == code.len())
}

/// The levels chosen (each 1–5), as a bit set of those at or below the node's `node_level`;
/// none chosen means all of them. Levels above the node alone reach nobody and are refused.
pub fn levels_mask(chosen: Option<&[i64]>, node_level: i64) -> Result<i64, String> {
    let below: i64 = (node_level.clamp(1, 5)..=5).map(|l| 1i64 << l).sum();
    let Some(chosen) = chosen.filter(|c| !c.is_empty()) else {
        return Ok(below);
    };
    let mut mask = 0;
    for l in chosen {
        if !(1..=5).contains(l) {
            return Err("层级应为1（区）至5（楼栋）".into());
        }
        mask |= 1i64 << l;
    }
    if mask & below == 0 {
        return Err("所选层级都在发送网格之上，没有接收人".into());
    }
    Ok(mask & below)
}

/// The levels of a bit set, in order.
pub fn levels_of(mask: i64) -> Vec<i64> {
    (1..=5).filter(|l| mask & (1 << l) != 0).collect()
}

pub fn selects(mask: i64, level: i64) -> bool {
    (1..=5).contains(&level) && mask & (1 << level) != 0
}

/// May this person send at (and oversee the receipts of) node `code`: a post of the five grid
/// levels (not a resident's) at the node or above it. Departments and companies receive only.
pub fn may_send(p: &Principal, code: &str) -> bool {
    p.posts
        .iter()
        .any(|x| x.role.is_grid_role() && x.grid_code.as_deref().is_some_and(|root| code.starts_with(root)))
}

/// Does this person send anywhere at all (to show the send form)?
pub fn sends_somewhere(p: &Principal) -> bool {
    p.posts.iter().any(|x| x.role.is_grid_role() && x.grid_code.is_some())
}

/// One recipient as the receipts count them.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub grid_code: String,
    pub name: String,
    pub read: bool,
    pub acked: bool,
}

/// Receipts of one child node (or the node itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridReceipts {
    pub grid_code: String,
    pub recipients: i64,
    pub read: i64,
    pub acked: i64,
    /// Who has not read (a notice) or not acknowledged (an instruction), by name, at most 50.
    pub pending: Vec<String>,
    pub pending_total: i64,
}

/// Receipts grouped by the child of `node` each recipient's post sits under (the node itself for
/// posts at the node), in code order.
pub fn receipts_by_child(node: &str, kind: Kind, rows: &[Receipt]) -> Vec<GridReceipts> {
    let child_len = level_of(node).map(|l| code_len(l + 1)).unwrap_or(node.len());
    let mut out: std::collections::BTreeMap<String, GridReceipts> = Default::default();
    for r in rows {
        let key = if r.grid_code.len() > node.len() && r.grid_code.len() >= child_len {
            r.grid_code[..child_len].to_string()
        } else {
            node.to_string()
        };
        let g = out.entry(key.clone()).or_insert_with(|| GridReceipts {
            grid_code: key,
            recipients: 0,
            read: 0,
            acked: 0,
            pending: Vec::new(),
            pending_total: 0,
        });
        g.recipients += 1;
        g.read += i64::from(r.read);
        g.acked += i64::from(r.acked);
        if is_pending(kind, r.read, r.acked) {
            g.pending_total += 1;
            if g.pending.len() < 50 {
                g.pending.push(r.name.clone());
            }
        }
    }
    out.into_values().collect()
}

/// Still owed: a notice not read, an instruction not acknowledged.
pub fn is_pending(kind: Kind, read: bool, acked: bool) -> bool {
    match kind {
        Kind::Notice => !read,
        Kind::Instruction => !acked,
    }
}

/// May a recipient last reminded at `last` be reminded `now`?
pub fn may_remind(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|t| now - t >= REMIND_EVERY_MS)
}

/// The outside groups a node can link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// 企业微信群机器人
    Wecom,
    /// 钉钉自定义机器人
    Dingtalk,
    Generic,
}

impl HookKind {
    pub fn parse(s: &str) -> Option<HookKind> {
        match s {
            "wecom" => Some(HookKind::Wecom),
            "dingtalk" => Some(HookKind::Dingtalk),
            "generic" => Some(HookKind::Generic),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Wecom => "wecom",
            HookKind::Dingtalk => "dingtalk",
            HookKind::Generic => "generic",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            HookKind::Wecom => "企业微信群机器人",
            HookKind::Dingtalk => "钉钉群机器人",
            HookKind::Generic => "通用接口",
        }
    }
}

/// A webhook URL: absolute http or https with a host, at most [`URL_MAX`] characters.
pub fn check_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > URL_MAX {
        return Err(format!("地址不能为空且不超过{URL_MAX}个字符"));
    }
    let u = url::Url::parse(raw).map_err(|_| "地址格式不正确".to_string())?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err("地址应以 http:// 或 https:// 开头".into());
    }
    if !u.username().is_empty() || u.password().is_some() || u.fragment().is_some() {
        return Err("地址不能含有用户名、密码或 # 片段".into());
    }
    Ok(u.to_string())
}

/// A URL as logs and pages may show it: scheme, host, port and path, never the query (robots
/// carry their access token there).
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let query = if u.query().is_some() { "?…" } else { "" };
            format!("{}://{}{port}{}{query}", u.scheme(), u.host_str().unwrap_or(""), u.path())
        }
        Err(_) => "(无效地址)".into(),
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// DingTalk's 加签: URL-encoded base64 of HMAC-SHA256 over "{timestamp}\n{secret}", keyed by the secret.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let sig = base64(&m.finalize().into_bytes());
    percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The URL a DingTalk robot is called at: its own, plus `timestamp` and `sign` when it has a secret.
pub fn dingtalk_url(url: &str, secret: &str, timestamp_ms: i64) -> String {
    if secret.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={timestamp_ms}&sign={}", dingtalk_sign(secret, timestamp_ms))
}

/// What an outside group is sent about one broadcast.
pub struct Message<'a> {
    pub id: &'a str,
    pub kind: Kind,
    pub grid_code: &'a str,
    pub grid_name: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub sender: &'a str,
    pub sent_at: &'a str,
}

/// Markdown special characters a title or body might carry, escaped so they show as written.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '_' | '`' | '[' | ']' | '#' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The JSON body for a webhook of `kind`.
pub fn payload(kind: HookKind, m: &Message<'_>) -> Value {
    let heading = format!("【{}】{}", m.kind.label(), md(m.title));
    let text = format!(
        "### {heading}\n\n{}\n\n> {} · {} · {}{}",
        md(m.body).replace('\n', "\n\n"),
        md(m.grid_name),
        md(m.sender),
        m.sent_at,
        if m.kind == Kind::Instruction {
            "\n\n请登录共治平台确认收到。"
        } else {
            ""
        }
    );
    match kind {
        HookKind::Wecom => json!({"msgtype": "markdown", "markdown": {"content": text}}),
        HookKind::Dingtalk => json!({"msgtype": "markdown", "markdown": {"title": heading, "text": text}}),
        HookKind::Generic => json!({
            "id": m.id,
            "kind": m.kind.as_str(),
            "grid": m.grid_code,
            "grid_name": m.grid_name,
            "title": m.title,
            "body": m.body,
            "sender": m.sender,
            "sent_at": m.sent_at,
        }),
    }
}

/// Retries of the outbox: exponential from `base_ms`, capped, with jitter; `max_attempts` tries in all.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base_ms: i64,
    pub cap_ms: i64,
    pub max_attempts: i64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 5_000,
            cap_ms: 300_000,
            max_attempts: 20,
        }
    }
}

impl Backoff {
    /// The wait after the `attempt`-th failed try (1 = the first), `jitter` in [0, 1): between
    /// half and all of the capped exponential step, so retries of many rows spread out.
    pub fn delay_ms(&self, attempt: i64, jitter: f64) -> i64 {
        let step = self
            .base_ms
            .saturating_mul(1i64 << (attempt - 1).clamp(0, 30))
            .min(self.cap_ms)
            .max(1);
        step / 2 + ((step - step / 2) as f64 * jitter.clamp(0.0, 1.0)) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Post, Role};
    use uuid::Uuid;

    fn person(posts: &[(Role, Option<&str>)]) -> Principal {
        Principal {
            user_id: Uuid::nil(),
            username: "u".into(),
            display_name: "u".into(),
            district: "411602".into(),
            posts: posts
                .iter()
                .map(|(role, g)| Post {
                    role: *role,
                    grid_code: g.map(String::from),
                    unit_id: g.is_none().then(Uuid::nil),
                })
                .collect(),
        }
    }

    #[test]
    fn text_is_normalised_bounded_and_not_empty() {
        assert_eq!(clean_text("  ＡＢＣ　防汛，注意 ", 10, false).unwrap(), "ＡＢＣ　防汛，注意");
        assert_eq!(clean_text("e\u{301}", 10, false).unwrap(), "\u{e9}", "composed");
        assert!(clean_text(" \u{3000} ", 10, false).is_err());
        assert!(clean_text(&"汛".repeat(11), 10, false).is_err());
        assert_eq!(clean_text(&"汛".repeat(10), 10, false).unwrap().chars().count(), 10);
        assert!(clean_text("a\nb", 10, false).is_err());
        assert_eq!(clean_text("a\r\nb", 10, true).unwrap(), "a\nb");
        assert!(clean_text("a\u{7}b", 10, true).is_err());
    }

    #[test]
    fn levels_default_to_the_subtree_and_refuse_nonsense() {
        assert_eq!(levels_mask(None, 1), Ok(ALL_LEVELS));
        assert_eq!(levels_of(levels_mask(None, 3).unwrap()), vec![3, 4, 5]);
        assert_eq!(levels_of(levels_mask(Some(&[5]), 3).unwrap()), vec![5]);
        assert_eq!(
            levels_of(levels_mask(Some(&[2, 4]), 3).unwrap()),
            vec![4],
            "above the node is dropped"
        );
        assert!(levels_mask(Some(&[1, 2]), 3).is_err());
        assert!(levels_mask(Some(&[6]), 1).is_err());
        assert!(levels_mask(Some(&[0]), 1).is_err());
        assert_eq!(levels_mask(Some(&[]), 2).unwrap(), levels_mask(None, 2).unwrap());
        assert!(selects(levels_mask(Some(&[4]), 1).unwrap(), 4) && !selects(levels_mask(Some(&[4]), 1).unwrap(), 5));
        assert_eq!(level_of("411602001"), Some(2));
        assert_eq!(level_of("4116020"), None);
    }

    #[test]
    fn grid_people_send_in_their_subtree_only() {
        let c = person(&[(Role::CommunityStaff, Some("411602001001"))]);
        assert!(may_send(&c, "411602001001"));
        assert!(may_send(&c, "411602001001002"));
        assert!(!may_send(&c, "411602001"));
        assert!(!may_send(&c, "411602001002"));
        let r = person(&[(Role::Resident, Some("411602001001001001"))]);
        assert!(!may_send(&r, "411602001001001001") && !sends_somewhere(&r));
        let d = person(&[(Role::DepartmentHandler, None)]);
        assert!(!may_send(&d, "411602") && !sends_somewhere(&d));
    }

    #[test]
    fn receipts_group_by_child_and_name_who_is_pending() {
        let r = |g: &str, n: &str, read, acked| Receipt {
            grid_code: g.into(),
            name: n.into(),
            read,
            acked,
        };
        let rows = [
            r("411602001", "街道甲", true, true),
            r("411602001001", "社区甲", true, false),
            r("411602001001001", "小区甲", false, false),
            r("411602001002", "社区乙", true, true),
        ];
        let g = receipts_by_child("411602001", Kind::Instruction, &rows);
        assert_eq!(g.len(), 3);
        assert_eq!((g[0].grid_code.as_str(), g[0].recipients, g[0].pending_total), ("411602001", 1, 0));
        assert_eq!(
            (g[1].grid_code.as_str(), g[1].recipients, g[1].read, g[1].acked),
            ("411602001001", 2, 1, 0)
        );
        assert_eq!(g[1].pending, vec!["社区甲".to_string(), "小区甲".to_string()]);
        let n = receipts_by_child("411602001", Kind::Notice, &rows);
        assert_eq!(n[1].pending, vec!["小区甲".to_string()]);
    }

    #[test]
    fn reminders_wait_an_hour() {
        assert!(may_remind(None, 0));
        assert!(!may_remind(Some(1_000), 1_000 + REMIND_EVERY_MS - 1));
        assert!(may_remind(Some(1_000), 1_000 + REMIND_EVERY_MS));
    }

    #[test]
    fn urls_are_http_and_logged_without_query() {
        assert!(check_url("https://oapi.dingtalk.com/robot/send?access_token=abc").is_ok());
        assert!(check_url("http://127.0.0.1:9/x").is_ok());
        for bad in ["ftp://x/y", "javascript:alert(1)", "", "http://", "https://u:p@h/x", "/relative"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://h/{}", "a".repeat(URL_MAX))).is_err());
        let shown = redacted("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRETKEY");
        assert_eq!(shown, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…");
        assert!(!shown.contains("SECRETKEY"));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), enc);
        }
    }

    #[test]
    fn dingtalk_url_carries_timestamp_and_sign() {
        let u = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SEC1", 1_700_000_000_000);
        assert!(u.starts_with("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign="));
        assert!(!u["https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign=".len()..].contains(['+', '/', '=']));
        assert_eq!(dingtalk_url("http://h/x", "", 5), "http://h/x");
    }

    #[test]
    fn payloads_have_each_groups_shape() {
        let m = Message {
            id: "b1",
            kind: Kind::Instruction,
            grid_code: "411602001",
            grid_name: "陈州回族街道",
            title: "防汛*值守*",
            body: "今晚22时前到岗",
            sender: "张三",
            sent_at: "2026-07-01T08:00:00+08:00",
        };
        let w = payload(HookKind::Wecom, &m);
        assert_eq!(w["msgtype"], "markdown");
        let content = w["markdown"]["content"].as_str().unwrap();
        assert!(content.contains("【指令】防汛\\*值守\\*") && content.contains("确认收到"));
        let d = payload(HookKind::Dingtalk, &m);
        assert_eq!(d["markdown"]["title"], "【指令】防汛\\*值守\\*");
        assert!(d["markdown"]["text"].as_str().unwrap().contains("今晚22时前到岗"));
        let g = payload(HookKind::Generic, &m);
        assert_eq!(
            (g["id"].as_str(), g["title"].as_str(), g["kind"].as_str()),
            (Some("b1"), Some("防汛*值守*"), Some("instruction"))
        );
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let b = Backoff {
            base_ms: 1_000,
            cap_ms: 60_000,
            max_attempts: 10,
        };
        assert_eq!(b.delay_ms(1, 0.0), 500);
        assert_eq!(b.delay_ms(1, 0.999_999), 999);
        assert_eq!(b.delay_ms(3, 0.0), 2_000);
        assert_eq!(b.delay_ms(10, 0.0), 30_000);
        assert!(b.delay_ms(60, 0.99) <= 60_000);
        assert!(b.delay_ms(0, 0.5) >= 500);
    }
}
