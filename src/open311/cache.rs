//! What every Open311 call looks up and rarely changes — the districts served and the API keys —
//! kept in memory for a few seconds, so that a read such as `services.json` asks the database
//! nothing.

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
