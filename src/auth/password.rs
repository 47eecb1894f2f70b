//! Passwords: argon2id hashing off the async threads, at most one hash per core at a time, and
//! the rules a new password must meet.

use std::sync::LazyLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use tokio::sync::Semaphore;

/// Every argon2 computation waited too long for a core: the server is saturated (answer 503).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Bounds the argon2 work in flight: each hash takes a core and ~19 MB for tens of
/// milliseconds, so a burst of sign-ins would otherwise queue without bound on the blocking pool.
pub struct Gate {
    permits: Semaphore,
    /// How long a computation may wait for a permit before the caller is told `Busy`.
    wait: Duration,
}

impl Gate {
    pub fn new(permits: usize, wait: Duration) -> Gate {
        Gate {
            permits: Semaphore::new(permits.max(1)),
            wait,
        }
    }

    /// Run `work` on the blocking pool once a permit is free, or `Busy` after `wait`.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let permit = tokio::time::timeout(self.wait, self.permits.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let out = tokio::task::spawn_blocking(work).await.map_err(|_| Busy);
        drop(permit);
        out
    }
}

/// The process's gate: one permit per core; a sign-in waits up to 3 s for one.
static GATE: LazyLock<Gate> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    Gate::new(cores, Duration::from_secs(3))
});

pub async fn hash(password: String) -> anyhow::Result<String> {
    GATE.run(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hash: {e}"))
    })
    .await
    .map_err(|_| anyhow::anyhow!("password hashing is saturated"))?
}

/// Does `password` match the stored hash? `Busy` when no core came free in time.
pub async fn verify(password: String, phc: String) -> Result<bool, Busy> {
    GATE.run(move || {
        PasswordHash::new(&phc)
            .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            .unwrap_or(false)
    })
    .await
}

/// Longest password accepted (and checked at sign-in): far beyond any real one.
pub const MAX_LEN: usize = 128;
/// Shortest new password.
pub const MIN_LEN: usize = 10;

/// Passwords guessed first (leaked-password lists, and what Chinese users pick most), in
/// lower case, at least `MIN_LEN` long — shorter ones fail the length rule anyway.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789a",
    "a123456789",
    "1234567890a",
    "123456789q",
    "q123456789",
    "1qaz2wsx3edc",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "qwertyuiop",
    "qwerty12345",
    "qwerty123456",
    "asdfghjkl;",
    "zxcvbnm123",
    "abc1234567",
    "abcd123456",
    "abc123456789",
    "abcdefghij",
    "password12",
    "password123",
    "password1234",
    "password@123",
    "p@ssw0rd123",
    "passw0rd123",
    "iloveyou123",
    "woaini1314",
    "woaini123456",
    "woaini5201314",
    "5201314520",
    "1314520520",
    "admin12345",
    "admin123456",
    "admin@1234",
    "admin@123456",
    "administrator",
    "root123456",
    "test123456",
    "welcome123",
    "changeme123",
    "qazwsxedcrfv",
    "1qazxsw23edc",
    "aa123456789",
    "zhang123456",
    "wang123456",
    "li12345678",
    "china123456",
    "gongzhi123",
    "gongzhi2024",
    "gongzhi2025",
    "gongzhi2026",
];

/// Rules for a new password: at least `MIN_LEN` characters and at most `MAX_LEN`; not all of one
/// kind (letters, digits, other); not a common password; not containing the username.
pub fn check_new(password: &str, username: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err("密码至少10位");
    }
    if n > MAX_LEN {
        return Err("密码不能超过128位");
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    let letters_only = !kinds[2] && !kinds[3];
    if kinds.iter().filter(|k| **k).count() < 2 || letters_only {
        return Err("密码不能只由一类字符组成，请混合字母、数字或符号");
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let lower = password.to_lowercase();
    if distinct.len() < 5 || COMMON.contains(&lower.as_str()) {
        return Err("密码过于常见或简单，容易被猜中，请换一个");
    }
    let user = username.trim().to_lowercase();
    if user.chars().count() >= 3 && lower.contains(&user) {
        return Err("密码不能包含用户名");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        for (pw, user) in [
            ("short1!", "wang"),
            ("abcdefghijk", "wang"),
            ("ABCDEFGHIJK", "wang"),
            ("AbcDefGhiJk", "wang"),
            ("12345678901", "wang"),
            ("1234567890", "wang"),
            ("Password123", "wang"),
            ("WOAINI1314", "wang"),
            ("aaaaaaaaa1", "wang"),
            ("wang.fang-2024", "wang.fang"),
            ("x-WANG.FANG-x", "wang.fang"),
        ] {
            assert!(check_new(pw, user).is_err(), "{pw} for {user} should be refused");
        }
        assert!(check_new(&"aB3$".repeat(40), "wang").is_err(), "too long");
    }

    #[test]
    fn reasonable_passwords_pass() {
        for pw in ["river-lamp-72", "Tz8!mQ2#vL", "chuanhui#2025x", "绿水青山就是金山银山2025"] {
            assert_eq!(check_new(pw, "wang.fang"), Ok(()), "{pw}");
        }
    }

    #[tokio::test]
    async fn the_gate_bounds_work_in_flight() {
        let gate = std::sync::Arc::new(Gate::new(1, Duration::from_millis(50)));
        let slow = {
            let g = gate.clone();
            tokio::spawn(async move { g.run(|| std::thread::sleep(Duration::from_millis(400))).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(gate.run(|| 1).await, Err(Busy), "no second computation while the core is taken");
        assert_eq!(slow.await.unwrap(), Ok(()));
        assert_eq!(gate.run(|| 2).await, Ok(2), "free again");
    }
}
