//! Accounts and permission: users, posts (roles at grid nodes or units), sessions and tokens.

pub mod accounts;
pub mod password;
pub mod roles;
pub mod store;

pub use roles::{Capability, Post, Principal, Role};

/// A fresh random secret (hex) and its SHA-256 (hex) for storage.
pub fn new_secret() -> (String, String) {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).expect("operating system randomness");
    let secret = hex(&buf);
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(secret.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Username rules: 3–32 of a-z, 0-9, '_', '-', '.'.
pub fn check_username(u: &str) -> Result<(), &'static str> {
    let ok = (3..=32).contains(&u.len())
        && u.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err("用户名应为3至32位小写字母、数字、下划线、点或连字符")
    }
}
