//! What every Open311 call looks up and rarely changes — the districts served and the API keys —
//! kept in memory for a few seconds, so that a read such as `services.json` asks the database
//! nothing; and rendered request searches, kept until a case changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::apikeys::{self as keys, ApiKey};
use crate::db::Db;

/// A key revoked by another server (or the command line) stops working within this time; one
/// revoked in this process stops at once (`apikeys::revocations`).
const KEY_TTL: Duration = Duration::from_secs(10);
/// Districts are created by the command line; a new one is served within this time.
const DISTRICTS_TTL: Duration = Duration::from_secs(30);
/// Keys remembered at most; past it the oldest half is dropped (keys are few; this bounds a flood).
const MAX_KEYS: usize = 4096;

/// The districts served (code, name), and when they were read.
type Districts = (Instant, Arc<Vec<(String, String)>>);

#[derive(Default)]
pub struct Lookups {
    districts: Mutex<Option<Districts>>,
    /// Live keys by their secret's hash, with when they were read and the revocation count then.
    keys: Mutex<HashMap<String, (Instant, u64, ApiKey)>>,
}

impl Lookups {
    /// The districts served (code, name).
    pub async fn districts(&self, db: &Db) -> sqlx::Result<Arc<Vec<(String, String)>>> {
        if let Some((at, d)) = &*self.districts.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < DISTRICTS_TTL
        {
            return Ok(d.clone());
        }
        let d = Arc::new(super::store::districts(db).await?);
        *self.districts.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), d.clone()));
        Ok(d)
    }

    /// The live key with this secret. Unknown secrets are not remembered: each is asked again.
    pub async fn key(&self, db: &Db, secret: &str) -> sqlx::Result<Option<ApiKey>> {
        let hash = keys::hash(secret.trim());
        let revocations = keys::revocations();
        if let Some((at, seen, k)) = self.keys.lock().unwrap_or_else(|e| e.into_inner()).get(&hash)
            && at.elapsed() < KEY_TTL
            && *seen == revocations
        {
            return Ok(Some(k.clone()));
        }
        let found = keys::find(db, secret).await?;
        let mut kept = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        match &found {
            Some(k) => {
                if kept.len() >= MAX_KEYS {
                    let mut ages: Vec<Instant> = kept.values().map(|(at, ..)| *at).collect();
                    ages.sort();
                    let cut = ages[ages.len() / 2];
                    kept.retain(|_, (at, ..)| *at > cut);
                }
                kept.insert(hash, (Instant::now(), revocations, k.clone()));
            }
            None => {
                kept.remove(&hash);
            }
        }
        Ok(found)
    }
}

/// A search answer kept for other servers' changes at most this long; this process's own changes
/// drop it at once (the case feed's count).
const ANSWER_TTL: Duration = Duration::from_secs(2);
/// Bytes of answers kept at most (a full 1,000-request answer is under 1 MB).
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// A rendered search answer: its body, its `ETag`, when it was built and the case feed's count
/// read before its query.
struct Kept {
    at: Instant,
    changes: u64,
    body: axum::body::Bytes,
    tag: Arc<str>,
}

/// Rendered request searches by what was asked (format, district, key scope, filters, page), so
/// that clients polling the same search share one query.
#[derive(Default)]
pub struct Answers {
    kept: Mutex<HashMap<String, Kept>>,
}

impl Answers {
    /// The kept answer to `asked`, if nothing changed since it was built: body and tag.
    pub fn get(&self, asked: &str, changes: u64) -> Option<(axum::body::Bytes, Arc<str>)> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.get(asked)
            .filter(|k| k.changes == changes && k.at.elapsed() < ANSWER_TTL)
            .map(|k| (k.body.clone(), k.tag.clone()))
    }

    /// Keep an answer built after reading the count `changes`. Stale answers go first; past the
    /// byte budget, the oldest.
    pub fn put(&self, asked: String, changes: u64, body: axum::body::Bytes, tag: Arc<str>) {
        if body.len() > MAX_ANSWER_BYTES / 4 {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|_, k| k.changes == changes && k.at.elapsed() < ANSWER_TTL);
        let mut used: usize = kept.values().map(|k| k.body.len()).sum::<usize>() + body.len();
        while used > MAX_ANSWER_BYTES {
            let Some(oldest) = kept.iter().min_by_key(|(_, k)| k.at).map(|(a, _)| a.clone()) else {
                break;
            };
            used -= kept.remove(&oldest).map_or(0, |k| k.body.len());
        }
        kept.insert(
            asked,
            Kept {
                at: Instant::now(),
                changes,
                body,
                tag,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_served_until_a_change_and_the_budget_holds() {
        let a = Answers::default();
        let body = |n: usize| axum::body::Bytes::from(vec![b'x'; n]);
        a.put("q".into(), 7, body(10), "\"t\"".into());
        assert_eq!(a.get("q", 7).map(|(b, t)| (b.len(), t.to_string())), Some((10, "\"t\"".into())));
        assert!(a.get("q", 8).is_none(), "a change since the answer was built");
        assert!(a.get("other", 7).is_none());
        // Too big to keep at all.
        a.put("big".into(), 7, body(MAX_ANSWER_BYTES / 4 + 1), "\"b\"".into());
        assert!(a.get("big", 7).is_none());
        // Past the budget the oldest go; what is kept never exceeds it.
        for i in 0..8 {
            a.put(format!("p{i}"), 7, body(MAX_ANSWER_BYTES / 4), "\"p\"".into());
        }
        let kept = a.kept.lock().unwrap();
        assert!(kept.values().map(|k| k.body.len()).sum::<usize>() <= MAX_ANSWER_BYTES);
        assert!(kept.contains_key("p7") && !kept.contains_key("p0"));
    }
}
