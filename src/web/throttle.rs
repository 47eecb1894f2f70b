//! A keyed, in-memory, bounded throttle for guessable things (sign-in, and later public forms and
//! check-in codes): after a few free failures each further one blocks the key for a growing time
//! (doubling up to a cap), and a key left alone long enough is forgotten.
//!
//! An attempt counts as a failure the moment it is allowed (`attempt`), so parallel guesses cannot
//! slip past the limit together; the caller gives it back on success (`clear` or `forgive`).
//! Attempts refused while a key is blocked do not lengthen the block (so an attacker cannot keep
//! a real user out for longer than the cap at a time) but are counted for the audit log.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the throttle reads the time; tests inject a [`ManualClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for tests.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<Instant>>);

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock(Arc::new(Mutex::new(Instant::now())))
    }
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.0.lock().map(|t| *t).unwrap_or_else(|e| *e.into_inner())
    }
}

/// How a throttle counts.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before the first block.
    pub free: u32,
    /// The block after the `free`-th failure; each further failure doubles it…
    pub first_block: Duration,
    /// …up to this.
    pub max_block: Duration,
    /// A key with no failure for this long starts afresh (longer than `max_block`).
    pub forget_after: Duration,
    /// Keys kept at most; beyond it the least valuable entry (not blocked, oldest) is dropped.
    pub capacity: usize,
}

impl Policy {
    /// How long `failures` consecutive failures block the key, counted from the last one.
    pub fn block_for(&self, failures: u32) -> Duration {
        if failures < self.free.max(1) {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free.max(1)).min(30);
        self.first_block.saturating_mul(1u32 << doublings).min(self.max_block)
    }
}

/// What a throttle holds for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    /// Consecutive failures (including an attempt still in progress).
    pub failures: u32,
    /// Attempts refused while blocked, since `take_refused` last read them.
    pub refused: u32,
    /// How long the key stays blocked if the attempt just counted fails; `None` if it does not block.
    pub blocks_for: Option<Duration>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    refused: u32,
    last: Instant,
}

pub struct Throttle<K> {
    policy: Policy,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<K, Entry>>,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(policy: Policy) -> Self {
        Self::with_clock(policy, Arc::new(SystemClock))
    }

    pub fn with_clock(policy: Policy, clock: Arc<dyn Clock>) -> Self {
        Throttle {
            policy,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry>> {
        // A panic while holding the lock leaves counts that are still counts.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry for `key` as of `now`, or none if it was never seen or has been forgotten.
    fn live(&self, map: &HashMap<K, Entry>, key: &K, now: Instant) -> Option<Entry> {
        map.get(key)
            .copied()
            .filter(|e| now.saturating_duration_since(e.last) < self.policy.forget_after)
    }

    fn remaining(&self, e: &Entry, now: Instant) -> Option<Duration> {
        let until = e.last + self.policy.block_for(e.failures);
        let left = until.saturating_duration_since(now);
        (!left.is_zero()).then_some(left)
    }

    /// How long `key` is still blocked, if it is; changes nothing.
    pub fn blocked_for(&self, key: &K) -> Option<Duration> {
        let now = self.clock.now();
        let map = self.lock();
        self.live(&map, key, now).and_then(|e| self.remaining(&e, now))
    }

    /// Ask to try: refused with the time left while the key is blocked (counted as refused);
    /// otherwise the attempt is counted as a failure now and its standing returned.
    pub fn attempt(&self, key: &K) -> Result<Standing, Duration> {
        let now = self.clock.now();
        let mut map = self.lock();
        let entry = self.live(&map, key, now);
        if let Some(mut e) = entry
            && let Some(left) = self.remaining(&e, now)
        {
            e.refused = e.refused.saturating_add(1);
            map.insert(key.clone(), e);
            return Err(left);
        }
        if entry.is_none() && !map.contains_key(key) && map.len() >= self.policy.capacity {
            self.make_room(&mut map, now);
        }
        let mut e = entry.unwrap_or(Entry {
            failures: 0,
            refused: 0,
            last: now,
        });
        e.failures = e.failures.saturating_add(1);
        e.last = now;
        map.insert(key.clone(), e);
        let block = self.policy.block_for(e.failures);
        Ok(Standing {
            failures: e.failures,
            refused: e.refused,
            blocks_for: (!block.is_zero()).then_some(block),
        })
    }

    /// The attempt succeeded: forget the key. Returns what it held before (the successful
    /// attempt itself not counted).
    pub fn clear(&self, key: &K) -> Standing {
        let now = self.clock.now();
        let mut map = self.lock();
        let before = self.live(&map, key, now);
        map.remove(key);
        before
            .map(|e| Standing {
                failures: e.failures.saturating_sub(1),
                refused: e.refused,
                blocks_for: None,
            })
            .unwrap_or_default()
    }

    /// Give back one attempt (it succeeded, or failed through no fault of the caller's) without
    /// forgetting the others: for keys shared by many people, such as a client address.
    pub fn forgive(&self, key: &K) {
        let mut map = self.lock();
        if let Some(e) = map.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
            if e.failures == 0 && e.refused == 0 {
                map.remove(key);
            }
        }
    }

    /// Read and reset the count of refused attempts (reported once).
    pub fn take_refused(&self, key: &K) -> u32 {
        let mut map = self.lock();
        map.get_mut(key).map(|e| std::mem::take(&mut e.refused)).unwrap_or(0)
    }

    /// Keys held now (forgotten ones included until they are swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop forgotten entries; if none were, drop the entry that unblocks first (one not blocked
    /// at all, oldest first), so a flood of new keys cannot grow the table or free a blocked key
    /// while unblocked ones remain.
    fn make_room(&self, map: &mut HashMap<K, Entry>, now: Instant) {
        let forget = self.policy.forget_after;
        map.retain(|_, e| now.saturating_duration_since(e.last) < forget);
        while map.len() >= self.policy.capacity.max(1) {
            let victim = map
                .iter()
                .min_by_key(|(_, e)| e.last + self.policy.block_for(e.failures))
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => {
                    map.remove(&k);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            free: 3,
            first_block: Duration::from_secs(30),
            max_block: Duration::from_secs(300),
            forget_after: Duration::from_secs(900),
            capacity: 100,
        }
    }

    fn throttle() -> (Throttle<String>, ManualClock) {
        let clock = ManualClock::default();
        (Throttle::with_clock(policy(), Arc::new(clock.clone())), clock)
    }

    #[test]
    fn blocks_grow_and_stop_at_the_cap() {
        let p = policy();
        let blocks: Vec<u64> = (0..10).map(|n| p.block_for(n).as_secs()).collect();
        assert_eq!(blocks, vec![0, 0, 0, 30, 60, 120, 240, 300, 300, 300]);
        assert_eq!(p.block_for(u32::MAX), p.max_block, "no overflow however many failures");
    }

    #[test]
    fn free_failures_then_a_block_that_expires() {
        let (t, clock) = throttle();
        let k = "wang".to_string();
        for n in 1..=2 {
            let s = t.attempt(&k).unwrap();
            assert_eq!((s.failures, s.blocks_for), (n, None));
        }
        let s = t.attempt(&k).unwrap();
        assert_eq!(s.blocks_for, Some(Duration::from_secs(30)), "the third failure blocks");
        // Blocked: even the right answer is not tried, and waiting is not lengthened by asking.
        for _ in 0..5 {
            assert_eq!(t.attempt(&k), Err(Duration::from_secs(30)));
        }
        clock.advance(Duration::from_secs(29));
        assert_eq!(t.attempt(&k), Err(Duration::from_secs(1)));
        assert_eq!(t.take_refused(&k), 6);
        clock.advance(Duration::from_secs(1));
        // Free to try again; one more failure doubles the block.
        let s = t.attempt(&k).unwrap();
        assert_eq!((s.failures, s.blocks_for), (4, Some(Duration::from_secs(60))));
        clock.advance(Duration::from_secs(60));
        // The right answer now: the key is forgotten.
        t.attempt(&k).unwrap();
        let before = t.clear(&k);
        assert_eq!(before.failures, 4);
        assert_eq!(t.attempt(&k).unwrap().failures, 1);
    }

    #[test]
    fn keys_are_separate_and_forgiven_attempts_do_not_count() {
        let (t, _clock) = throttle();
        let (a, b) = ("a".to_string(), "b".to_string());
        for _ in 0..3 {
            t.attempt(&a).unwrap();
        }
        assert!(t.blocked_for(&a).is_some());
        assert!(t.blocked_for(&b).is_none() && t.attempt(&b).is_ok());
        // Successes from a shared key (an office's address) are given back one by one.
        for _ in 0..10 {
            t.attempt(&b).unwrap();
            t.forgive(&b);
        }
        assert_eq!(t.attempt(&b).unwrap().failures, 2);
    }

    #[test]
    fn a_quiet_key_is_forgotten() {
        let (t, clock) = throttle();
        let k = "k".to_string();
        for _ in 0..3 {
            t.attempt(&k).unwrap();
        }
        clock.advance(Duration::from_secs(900));
        assert_eq!(t.blocked_for(&k), None);
        assert_eq!(t.attempt(&k).unwrap().failures, 1, "starts afresh");
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_blocked_keys() {
        let (t, clock) = throttle();
        let victim = "victim".to_string();
        for _ in 0..3 {
            t.attempt(&victim).unwrap();
        }
        for i in 0..10_000 {
            t.attempt(&format!("spray{i}")).unwrap();
            if i % 1000 == 0 {
                clock.advance(Duration::from_millis(1));
            }
        }
        assert!(t.len() <= 100, "{}", t.len());
        assert!(
            t.blocked_for(&victim).is_some(),
            "a flood of new keys does not unblock a blocked one"
        );
    }

    #[test]
    fn parallel_attempts_cannot_pass_the_limit_together() {
        let (t, _clock) = throttle();
        let t = Arc::new(t);
        let k = "x".to_string();
        let allowed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16).map(|_| s.spawn(|| t.attempt(&k).is_ok() as usize)).collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(allowed, 3, "exactly the free attempts are let through at once");
    }
}
