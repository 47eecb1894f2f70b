//! Personal numbers at rest: ID numbers and phones sealed with AES-256-GCM, and found through keyed
//! blind indexes (HMAC-SHA-256), so the database file alone reveals no number. The keys come from
//! a key file or the environment, never from the database.
//!
//! A key file holds lines `ID:SECRET` (SECRET: 64 hex digits; `#` starts a comment). The last line
//! seals new values; every line opens what it sealed, so adding a line and running
//! `gongzhi keys rotate` moves the data to the new key while the server keeps serving. The blind
//! indexes are keyed from the first line, so they stay valid across rotations.

use std::path::Path;
use std::sync::OnceLock;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The keys in use: secrets by id (the last seals), and the blind-index key.
pub struct KeyRing {
    seal: Vec<(u32, [u8; 32])>,
    index: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealed with key {0}, which is not loaded")]
    UnknownKey(u32),
    #[error("a sealed value is damaged or was sealed with another key")]
    Damaged,
}

fn derive(secret: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret).expect("any key length");
    m.update(purpose.as_bytes());
    m.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl KeyRing {
    /// Read `ID:SECRET` lines (newlines or commas between them).
    pub fn parse(text: &str) -> Result<KeyRing, String> {
        let mut seal = Vec::new();
        for line in text.split(['\n', ',']) {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (id, secret) = line.split_once(':').ok_or("each key is ID:SECRET")?;
            let id: u32 = id.trim().parse().map_err(|_| "a key id is a whole number")?;
            let bytes = unhex(secret.trim())
                .filter(|b| b.len() == 32)
                .ok_or("a key secret is 64 hex digits (32 bytes)")?;
            if seal.iter().any(|(i, _)| *i == id) {
                return Err(format!("key id {id} appears twice"));
            }
            seal.push((id, <[u8; 32]>::try_from(bytes).expect("32 bytes")));
        }
        let first = seal.first().ok_or("no key")?.1;
        Ok(KeyRing {
            index: derive(&first, "gongzhi blind index v1"),
            seal: seal.into_iter().map(|(id, s)| (id, derive(&s, "gongzhi seal v1"))).collect(),
        })
    }

    /// A new secret as a key-file line.
    pub fn new_line(id: u32) -> String {
        let mut b = [0u8; 32];
        getrandom::fill(&mut b).expect("operating system randomness");
        format!("{id}:{}", hex(&b))
    }

    fn current(&self) -> (u32, &[u8; 32]) {
        let (id, k) = self.seal.last().expect("a ring has a key");
        (*id, k)
    }

    /// The id of the key that seals new values.
    pub fn current_id(&self) -> u32 {
        self.current().0
    }

    /// `s{key id}:{hex(nonce ‖ ciphertext ‖ tag)}`; an empty text stays empty.
    pub fn seal(&self, plain: &str) -> String {
        if plain.is_empty() {
            return String::new();
        }
        let (id, key) = self.current();
        let cipher = Aes256Gcm::new(key.into());
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("operating system randomness");
        let ct = cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .expect("AES-GCM seals any length");
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        format!("s{id}:{}", hex(&out))
    }

    /// The key id a stored value was sealed with; None for text stored before sealing.
    pub fn key_of(stored: &str) -> Option<u32> {
        let (head, _) = stored.split_once(':')?;
        head.strip_prefix('s')?.parse().ok()
    }

    /// Open a stored value. Text stored before sealing (no `s{id}:` prefix) reads as itself until
    /// `keys rotate` seals it.
    pub fn open(&self, stored: &str) -> Result<String, SealError> {
        let Some(id) = Self::key_of(stored) else {
            return Ok(stored.to_string());
        };
        let key = self
            .seal
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, k)| k)
            .ok_or(SealError::UnknownKey(id))?;
        let body = unhex(&stored[stored.find(':').map_or(0, |i| i + 1)..]).ok_or(SealError::Damaged)?;
        if body.len() < 12 + 16 {
            return Err(SealError::Damaged);
        }
        let nonce: [u8; 12] = body[..12].try_into().map_err(|_| SealError::Damaged)?;
        let plain = Aes256Gcm::new(key.into())
            .decrypt(&Nonce::from(nonce), &body[12..])
            .map_err(|_| SealError::Damaged)?;
        String::from_utf8(plain).map_err(|_| SealError::Damaged)
    }

    /// A keyed index of `value` for equality search: the same value and kind give the same text,
    /// and without the key no guess can be checked against it (four digits have only 10,000).
    pub fn blind(&self, kind: &str, value: &str) -> String {
        let mut m = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.index).expect("any key length");
        m.update(kind.as_bytes());
        m.update(&[0x1f]);
        m.update(value.as_bytes());
        hex(&m.finalize().into_bytes()[..16])
    }
}

static RING: OnceLock<KeyRing> = OnceLock::new();

/// Put the ring in use for this process (once; a second call with other keys is refused).
pub fn install(ring: KeyRing) -> Result<(), String> {
    let theirs = (ring.seal.clone(), ring.index);
    let ours = RING.get_or_init(|| ring);
    if (ours.seal.clone(), ours.index) != theirs {
        return Err("personal-data keys were loaded already with other keys".into());
    }
    Ok(())
}

/// The ring in use. Loaded at start (`load`); tests and benches install a fixed one.
pub fn ring() -> &'static KeyRing {
    RING.get().expect("personal-data keys are not loaded (sealed::install)")
}

/// For tests and benchmarks: the keys in `GONGZHI_DATA_KEYS` (to read a demo made with them),
/// else a fixed ring that is never for real data.
pub fn install_for_tests() {
    let text = std::env::var("GONGZHI_DATA_KEYS").unwrap_or_else(|_| format!("1:{}", "ab".repeat(32)));
    let _ = install(KeyRing::parse(&text).expect("test keys"));
}

/// Load the keys: `GONGZHI_DATA_KEYS` (lines separated by commas), else the key file named in the
/// settings, else `<data_dir>/gongzhi.keys`, made with a fresh key (readable by the owner only)
/// when it does not exist yet.
pub fn load(env_keys: Option<&str>, key_file: Option<&Path>, data_dir: &Path) -> anyhow::Result<KeyRing> {
    if let Some(text) = env_keys.filter(|t| !t.trim().is_empty()) {
        return KeyRing::parse(text).map_err(|e| anyhow::anyhow!("GONGZHI_DATA_KEYS: {e}"));
    }
    let path = key_file.map(Path::to_path_buf).unwrap_or_else(|| data_dir.join("gongzhi.keys"));
    if key_file.is_none() && !path.exists() {
        std::fs::create_dir_all(data_dir)?;
        let text = format!(
            "# gongzhi personal-data keys: back this file up apart from the database; without it the\n\
             # ID numbers and phones in the database cannot be read. Add a line and run\n\
             # `gongzhi keys rotate` to move to a new key.\n{}\n",
            KeyRing::new_line(1)
        );
        write_private(&path, &text)?;
        tracing::warn!(path = %path.display(), "made a new personal-data key file; back it up apart from the database");
    }
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("cannot read key file {}: {e}", path.display()))?;
    KeyRing::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ring(lines: &str) -> KeyRing {
        KeyRing::parse(lines).unwrap()
    }

    #[test]
    fn key_files_are_read_strictly() {
        assert!(KeyRing::parse("").is_err());
        assert!(KeyRing::parse("1:abcd").is_err(), "too short");
        assert!(KeyRing::parse(&format!("x:{}", "00".repeat(32))).is_err());
        assert!(KeyRing::parse(&format!("1:{0}\n1:{0}", "00".repeat(32))).is_err(), "an id twice");
        let r = ring(&format!("# comment\n1:{}\n2:{} # new\n", "00".repeat(32), "11".repeat(32)));
        assert_eq!(r.current_id(), 2);
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_indexes_stable() {
        let (a, b) = ("01".repeat(32), "02".repeat(32));
        let old = ring(&format!("1:{a}"));
        let both = ring(&format!("1:{a}\n2:{b}"));
        let sealed = old.seal("13812345678");
        assert_eq!(KeyRing::key_of(&sealed), Some(1));
        assert_eq!(both.open(&sealed).unwrap(), "13812345678");
        let resealed = both.seal("13812345678");
        assert_eq!(KeyRing::key_of(&resealed), Some(2));
        assert_eq!(old.open(&resealed), Err(SealError::UnknownKey(2)));
        assert_eq!(old.blind("phone", "13812345678"), both.blind("phone", "13812345678"));
        // Text stored before sealing reads as itself; a damaged value does not read at all.
        assert_eq!(both.open("41160219800101123X").unwrap(), "41160219800101123X");
        let mut broken = resealed.clone();
        let last = broken.pop().unwrap();
        broken.push(if last == '0' { '1' } else { '0' });
        assert_eq!(both.open(&broken), Err(SealError::Damaged));
        // Another ring cannot open it, nor compute the same index.
        let other = ring(&format!("1:{}", "03".repeat(32)));
        assert_eq!(other.open(&sealed), Err(SealError::Damaged));
        assert_ne!(other.blind("phone", "13812345678"), old.blind("phone", "13812345678"));
    }

    proptest! {
        // A key file and a stored value are outside input too: read or refused, never a panic.
        #[test]
        fn any_key_file_or_stored_value_is_read_or_refused(text in "\\PC{0,120}|[0-9]{1,3}:[0-9a-f]{0,70}", stored in "s[0-9]{0,3}:[0-9a-fA-F]{0,90}|\\PC{0,40}") {
            let _ = KeyRing::parse(&text);
            let r = ring(&format!("1:{}", "5a".repeat(32)));
            let _ = r.open(&stored);
        }

        #[test]
        fn sealing_round_trips_and_hides_the_text(text in "[0-9X]{4,18}|\\PC{1,40}") {
            let r = ring(&format!("7:{}", "5a".repeat(32)));
            let s = r.seal(&text);
            prop_assert_eq!(r.open(&s).unwrap(), text.clone());
            if text.len() >= 11 {
                prop_assert!(!s.contains(&text), "hex of random bytes cannot hold eleven given characters by chance");
            }
            prop_assert_ne!(s, r.seal(&text), "a fresh nonce each time");
            prop_assert_eq!(r.blind("id", &text), r.blind("id", &text));
            prop_assert_ne!(r.blind("id", &text), r.blind("phone", &text));
        }
    }
}
