//! The audit chain (审计链): each row's SHA-256 over the previous row's hash and its own canonical
//! bytes, appended under the one-row chain head's lock, verified in bounded batches.
//!
//! `hash(n) = SHA-256(hash(n-1) ‖ canonical(row n))`, `hash(0)` = 32 zero bytes. The canonical
//! bytes are a fixed encoding of every column (see [`canonical`]; docs/design.md, "The audit
//! chain"), so nothing depends on how JSON or a driver happens to print a value. Editing a row,
//! deleting one or reordering them breaks the chain at that row; rewriting the whole chain from
//! some row on is caught by a head signed off earlier (`gongzhi audit verify --expect SEQ:HASH`).

use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{Db, Tx};
use crate::on_pool;

/// The hash before the first row.
pub const GENESIS: [u8; 32] = [0; 32];

/// The first bytes of every row's encoding: names the format, so a later one can differ.
pub const FORMAT: &[u8; 16] = b"gongzhi.audit.v1";

/// Rows read per query when verifying or adopting: memory stays bounded whatever the log's size.
const BATCH: i64 = 1000;

/// Every column of an audit row but its hash, as the chain encodes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content<'a> {
    pub seq: i64,
    pub id: Uuid,
    pub district: &'a str,
    pub at_ms: i64,
    pub actor_id: Option<Uuid>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: &'a str,
    pub reason: &'a str,
    /// The JSON text exactly as stored: hashed as bytes, never re-serialised.
    pub detail: &'a str,
}

/// The canonical bytes of a row, version 1:
///
/// ```text
/// "gongzhi.audit.v1"                       16 bytes
/// seq                                      i64, 8 bytes big-endian
/// id                                       16 bytes (the UUID's bytes, RFC 9562 order)
/// district                                 text
/// at_ms                                    i64, 8 bytes big-endian
/// actor_id                                 0x00, or 0x01 then 16 bytes
/// actor_name, action, target_kind,
/// target_id, reason, detail                text, each
/// text = byte length as u64, 8 bytes big-endian, then the UTF-8 bytes
/// ```
///
/// Every field has a fixed size or a length prefix, so two different rows never encode alike.
pub fn canonical(c: &Content<'_>) -> Vec<u8> {
    let texts = [c.district, c.actor_name, c.action, c.target_kind, c.target_id, c.reason, c.detail];
    let mut out = Vec::with_capacity(16 + 8 + 16 + 8 + 17 + texts.iter().map(|t| 8 + t.len()).sum::<usize>());
    let text = |out: &mut Vec<u8>, t: &str| {
        out.extend_from_slice(&(t.len() as u64).to_be_bytes());
        out.extend_from_slice(t.as_bytes());
    };
    out.extend_from_slice(FORMAT);
    out.extend_from_slice(&c.seq.to_be_bytes());
    out.extend_from_slice(c.id.as_bytes());
    text(&mut out, c.district);
    out.extend_from_slice(&c.at_ms.to_be_bytes());
    match c.actor_id {
        None => out.push(0),
        Some(a) => {
            out.push(1);
            out.extend_from_slice(a.as_bytes());
        }
    }
    for t in [c.actor_name, c.action, c.target_kind, c.target_id, c.reason, c.detail] {
        text(&mut out, t);
    }
    out
}

/// A row's hash: SHA-256 of the previous row's hash and the row's canonical bytes.
pub fn row_hash(prev: &[u8; 32], c: &Content<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(c));
    h.finalize().into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn to_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    bytes.try_into().ok()
}

/// The chain's last link: how many rows it holds and the last row's hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    /// Lowercase hex of the 32 bytes.
    pub hash: String,
}

/// A head written down earlier (`SEQ:HASH`, as `gongzhi audit head` prints it): the row with
/// that seq must still carry that hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: [u8; 32],
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Anchor, String> {
        let bad = || format!("expected SEQ:HASH (a positive number, a colon, 64 hex digits), got {s:?}");
        let (seq, hash) = s.split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq.trim().parse().map_err(|_| bad())?;
        if seq < 1 {
            return Err(bad());
        }
        Ok(Anchor {
            seq,
            hash: unhex(&hash.to_ascii_lowercase()).ok_or_else(bad)?,
        })
    }
}

/// The head as stored (`audit_chain_head`).
pub async fn head(db: &Db) -> sqlx::Result<Head> {
    let (seq, hash): (i64, Vec<u8>) = on_pool!(db, |p| sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
        .fetch_one(p)
        .await)?;
    Ok(Head { seq, hash: hex(&hash) })
}

/// The head, read inside a write transaction and held until it ends: on PostgreSQL the row is
/// locked (`FOR UPDATE`), so concurrent writers extend the chain one at a time; on SQLite the
/// transaction already holds the database's one write lock (BEGIN IMMEDIATE).
async fn lock_head(tx: &mut Tx) -> sqlx::Result<(i64, [u8; 32])> {
    let (seq, hash): (i64, Vec<u8>) = match tx {
        Tx::Sqlite(t) => {
            sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
                .fetch_one(&mut **t)
                .await?
        }
        Tx::Pg(t) => {
            sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut **t)
                .await?
        }
    };
    let hash = to_hash(&hash).ok_or_else(|| sqlx::Error::Protocol("audit_chain_head.hash is not 32 bytes".into()))?;
    Ok((seq, hash))
}

/// Insert one row as the chain's next link; the database's trigger checks that `seq` follows
/// the head and makes the row the new head.
async fn insert(tx: &mut Tx, c: &Content<'_>, hash: &[u8; 32]) -> sqlx::Result<()> {
    crate::on_tx!(tx, |conn| sqlx::query(
        "INSERT INTO audit_log (id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail, seq, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )
    .bind(c.id)
    .bind(c.district)
    .bind(c.at_ms)
    .bind(c.actor_id)
    .bind(c.actor_name)
    .bind(c.action)
    .bind(c.target_kind)
    .bind(c.target_id)
    .bind(c.reason)
    .bind(c.detail)
    .bind(c.seq)
    .bind(&hash[..])
    .execute(conn)
    .await
    .map(|_| ()))
}

/// Append a row (its `seq` is set here) in the writer's transaction. The head stays locked until
/// that transaction ends, so callers append as the last write before committing.
pub(super) async fn append(tx: &mut Tx, mut c: Content<'_>) -> sqlx::Result<i64> {
    let (mut seq, mut prev) = lock_head(tx).await?;
    if seq == 0 {
        // Rows written before the chain existed come first (only ever present at seq 0).
        (seq, prev) = adopt_in(tx, seq, prev).await?;
    }
    c.seq = seq + 1;
    let hash = row_hash(&prev, &c);
    insert(tx, &c, &hash).await?;
    Ok(c.seq)
}

/// Rows a multi-row insert carries at most (12 parameters each: within both engines' limits).
const ROWS_PER_INSERT: usize = 500;

/// Append many rows in order (their `seq` set here) with multi-row inserts: one lock of the head
/// and one statement per [`ROWS_PER_INSERT`] rows instead of two statements a row. Each row still
/// passes the database's trigger, which advances the head row by row.
pub(super) async fn append_many(tx: &mut Tx, mut rows: Vec<Content<'_>>) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev) = lock_head(tx).await?;
    if seq == 0 {
        (seq, prev) = adopt_in(tx, seq, prev).await?;
    }
    let mut hashes = Vec::with_capacity(rows.len());
    for c in rows.iter_mut() {
        seq += 1;
        c.seq = seq;
        prev = row_hash(&prev, c);
        hashes.push(prev);
    }
    for (chunk, hashes) in rows.chunks(ROWS_PER_INSERT).zip(hashes.chunks(ROWS_PER_INSERT)) {
        let mut sql = String::from(
            "INSERT INTO audit_log (id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail, seq, hash) VALUES ",
        );
        crate::db::values_list(&mut sql, tx.engine(), chunk.len(), 12);
        crate::on_tx!(&mut *tx, |conn| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (c, hash) in chunk.iter().zip(hashes) {
                q = q
                    .bind(c.id)
                    .bind(c.district)
                    .bind(c.at_ms)
                    .bind(c.actor_id)
                    .bind(c.actor_name)
                    .bind(c.action)
                    .bind(c.target_kind)
                    .bind(c.target_id)
                    .bind(c.reason)
                    .bind(c.detail)
                    .bind(c.seq)
                    .bind(&hash[..]);
            }
            q.execute(conn).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// One row of the log as read back, every column.
#[derive(sqlx::FromRow)]
struct StoredRow {
    id: Uuid,
    district: String,
    at_ms: i64,
    actor_id: Option<Uuid>,
    actor_name: String,
    action: String,
    target_kind: String,
    target_id: String,
    reason: String,
    detail: String,
    /// Absent (0) for rows waiting in `audit_log_unchained`.
    #[sqlx(default)]
    seq: i64,
    #[sqlx(default)]
    hash: Vec<u8>,
}

impl StoredRow {
    fn content(&self) -> Content<'_> {
        Content {
            seq: self.seq,
            id: self.id,
            district: &self.district,
            at_ms: self.at_ms,
            actor_id: self.actor_id,
            actor_name: &self.actor_name,
            action: &self.action,
            target_kind: &self.target_kind,
            target_id: &self.target_id,
            reason: &self.reason,
            detail: &self.detail,
        }
    }
}

/// Chain the rows waiting in `audit_log_unchained` (written before migration 0018), in id order
/// (UUIDv7: the order they were written), batch by batch, each moved with its content unchanged.
async fn adopt_in(tx: &mut Tx, mut seq: i64, mut prev: [u8; 32]) -> sqlx::Result<(i64, [u8; 32])> {
    loop {
        let batch: Vec<StoredRow> = crate::on_tx!(&mut *tx, |c| sqlx::query_as(
            "SELECT id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail \
             FROM audit_log_unchained ORDER BY id LIMIT $1"
        )
        .bind(BATCH)
        .fetch_all(c)
        .await)?;
        if batch.is_empty() {
            return Ok((seq, prev));
        }
        for row in &batch {
            let mut c = row.content();
            seq += 1;
            c.seq = seq;
            prev = row_hash(&prev, &c);
            insert(tx, &c, &prev).await?;
            crate::on_tx!(&mut *tx, |conn| sqlx::query("DELETE FROM audit_log_unchained WHERE id = $1")
                .bind(row.id)
                .execute(conn)
                .await
                .map(|_| ()))?;
        }
    }
}

/// Chain any rows written before migration 0018 (a one-off after upgrading; nothing to do
/// otherwise). Run at start so that the audit page shows them from the first request.
pub async fn adopt_unchained(db: &Db) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    let (seq, prev) = lock_head(&mut tx).await?;
    if seq != 0 {
        return Ok(0);
    }
    let (after, _) = adopt_in(&mut tx, seq, prev).await?;
    tx.commit().await?;
    Ok(after as u64)
}

/// Where and how the chain first fails.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Broken {
    /// The first row that does not check out (for `missing`, the number that is absent).
    pub seq: i64,
    /// That row's id; none when the row is missing.
    pub id: Option<Uuid>,
    /// `altered` (its hash is not the hash of its content and the previous hash), `missing`
    /// (a number is absent: a row deleted), `head_mismatch` (the head names another last hash),
    /// `anchor_mismatch` (a head written down earlier no longer matches this row), `truncated`
    /// (a head written down earlier is beyond today's head).
    pub problem: &'static str,
}

/// What `gongzhi audit verify` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    /// Rows checked (the chain up to the head read at the start).
    pub rows: i64,
    pub head: Head,
    /// Rows still waiting to be chained (written before migration 0018 and not yet adopted).
    pub unchained: i64,
    /// Heads written down earlier that were checked.
    pub anchors_checked: usize,
    pub broken: Option<Broken>,
}

/// Walk the chain from its first row to the head read at the start, in batches of [`BATCH`] rows
/// (bounded memory; rows appended meanwhile are left for the next run), recomputing every hash;
/// stop at the first row that does not check out. `anchors` are heads signed off earlier.
pub async fn verify(db: &Db, anchors: &[Anchor]) -> sqlx::Result<Report> {
    let (head_seq, head_hash): (i64, Vec<u8>) = on_pool!(db, |p| sqlx::query_as("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
        .fetch_one(p)
        .await)?;
    let unchained: i64 = on_pool!(db, |p| sqlx::query_scalar("SELECT COUNT(*) FROM audit_log_unchained")
        .fetch_one(p)
        .await)?;
    let (mut last, mut prev, mut rows) = (0i64, GENESIS, 0i64);
    let mut broken = None;
    'walk: while last < head_seq {
        let batch: Vec<StoredRow> = on_pool!(db, |p| sqlx::query_as(
            "SELECT id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail, seq, hash \
             FROM audit_log WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        )
        .bind(last)
        .bind(head_seq)
        .bind(BATCH)
        .fetch_all(p)
        .await)?;
        if batch.is_empty() {
            break;
        }
        for row in &batch {
            if row.seq != last + 1 {
                broken = Some(Broken {
                    seq: last + 1,
                    id: None,
                    problem: "missing",
                });
                break 'walk;
            }
            let stored = to_hash(&row.hash);
            if stored != Some(row_hash(&prev, &row.content())) {
                broken = Some(Broken {
                    seq: row.seq,
                    id: Some(row.id),
                    problem: "altered",
                });
                break 'walk;
            }
            let stored = stored.unwrap_or(GENESIS);
            if anchors.iter().any(|a| a.seq == row.seq && a.hash != stored) {
                broken = Some(Broken {
                    seq: row.seq,
                    id: Some(row.id),
                    problem: "anchor_mismatch",
                });
                break 'walk;
            }
            (last, prev, rows) = (row.seq, stored, rows + 1);
        }
    }
    if broken.is_none() && last < head_seq {
        // The last rows are gone while the head still counts them.
        broken = Some(Broken {
            seq: last + 1,
            id: None,
            problem: "missing",
        });
    }
    if broken.is_none() && head_hash != prev {
        broken = Some(Broken {
            seq: head_seq,
            id: None,
            problem: "head_mismatch",
        });
    }
    if broken.is_none()
        && let Some(a) = anchors.iter().filter(|a| a.seq > head_seq).min_by_key(|a| a.seq)
    {
        broken = Some(Broken {
            seq: a.seq,
            id: None,
            problem: "truncated",
        });
    }
    Ok(Report {
        ok: broken.is_none() && unchained == 0,
        rows,
        head: Head {
            seq: head_seq,
            hash: hex(&head_hash),
        },
        unchained,
        anchors_checked: anchors.iter().filter(|a| a.seq <= last).count(),
        broken,
    })
}

/// What `gongzhi audit head` prints: the head, when its row was written, and the line to give
/// `audit verify --expect` later.
#[derive(Debug, Clone, Serialize)]
pub struct HeadExport {
    pub seq: i64,
    pub hash: String,
    pub at_ms: Option<i64>,
    /// The head row's time in China time (ISO 8601, +08:00).
    pub at: Option<String>,
    pub expect: String,
}

pub async fn export_head(db: &Db) -> sqlx::Result<HeadExport> {
    let h = head(db).await?;
    let at_ms: Option<i64> = on_pool!(db, |p| sqlx::query_scalar("SELECT at_ms FROM audit_log WHERE seq = $1")
        .bind(h.seq)
        .fetch_optional(p)
        .await)?;
    Ok(HeadExport {
        at: at_ms.map(crate::time::rfc3339_ms),
        at_ms,
        expect: format!("{}:{}", h.seq, h.hash),
        seq: h.seq,
        hash: h.hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> (Uuid, Uuid) {
        (
            Uuid::parse_str("0190a5f1-2b3c-7d4e-8f60-718293a4b5c6").unwrap(),
            Uuid::parse_str("0190a5f0-0000-7000-8000-000000000001").unwrap(),
        )
    }

    fn row<'a>(id: Uuid, actor: Option<Uuid>) -> Content<'a> {
        Content {
            seq: 1,
            id,
            district: "411602",
            at_ms: 1_700_000_000_000,
            actor_id: actor,
            actor_name: "admin",
            action: "resident.reveal",
            target_kind: "resident",
            target_id: "0190a5f1-0000-7000-8000-0000000000aa",
            reason: "核对身份",
            detail: r#"{"fields":["id_number"]}"#,
        }
    }

    /// The documented encoding and hash, pinned by a value computed outside this code (Python's
    /// hashlib over the bytes the design document describes), so the format cannot drift.
    #[test]
    fn the_encoding_is_the_documented_one() {
        let (id, actor) = sample();
        let c = row(id, Some(actor));
        let bytes = canonical(&c);
        assert_eq!(&bytes[..16], b"gongzhi.audit.v1");
        assert_eq!(&bytes[16..24], &1i64.to_be_bytes());
        assert_eq!(&bytes[24..40], id.as_bytes());
        assert_eq!(&bytes[40..48], &6u64.to_be_bytes());
        assert_eq!(&bytes[48..54], b"411602");
        assert_eq!(
            hex(&row_hash(&GENESIS, &c)),
            "f6eb2536b68b37d7d05e8440ed4057a7efc5736e336ffeb0db097b0b0fbeace0"
        );
        let none = row(id, None);
        assert_eq!(canonical(&none).len(), bytes.len() - 16);
    }

    /// One field of a row, changed to `to`: (field index, new text or number).
    fn changed<'a>(base: &Content<'a>, field: usize, text: &'a str, number: i64, uuid: Uuid) -> Content<'a> {
        let mut c = base.clone();
        match field {
            0 => c.seq = number,
            1 => c.id = uuid,
            2 => c.district = text,
            3 => c.at_ms = number,
            4 => c.actor_id = if c.actor_id == Some(uuid) { None } else { Some(uuid) },
            5 => c.actor_name = text,
            6 => c.action = text,
            7 => c.target_kind = text,
            8 => c.target_id = text,
            9 => c.reason = text,
            _ => c.detail = text,
        }
        c
    }

    fn any_uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    proptest! {
        /// Any change to any one field changes the row's hash, and the previous hash counts too.
        #[test]
        fn any_change_to_any_field_changes_the_hash(
            texts in proptest::collection::vec("[a-z.{}\":0-9审计]{0,6}", 7),
            seq in 1i64..1_000_000,
            at in any::<i64>(),
            id in any_uuid(),
            actor in proptest::option::of(any_uuid()),
            field in 0usize..11,
            text in "[a-z.{}\":0-9审计]{0,6}",
            number in any::<i64>(),
            uuid in any_uuid(),
            prev in any::<[u8; 32]>(),
            other_prev in any::<[u8; 32]>(),
        ) {
            let base = Content {
                seq, id, district: &texts[0], at_ms: at, actor_id: actor, actor_name: &texts[1], action: &texts[2],
                target_kind: &texts[3], target_id: &texts[4], reason: &texts[5], detail: &texts[6],
            };
            let after = changed(&base, field, &text, number, uuid);
            prop_assume!(after != base);
            prop_assert_ne!(canonical(&after), canonical(&base));
            prop_assert_ne!(row_hash(&prev, &after), row_hash(&prev, &base));
            prop_assume!(prev != other_prev);
            prop_assert_ne!(row_hash(&prev, &base), row_hash(&other_prev, &base));
        }

        /// Moving bytes from one text field to the next (same concatenation) still changes the
        /// encoding: the length prefixes keep fields apart.
        #[test]
        fn field_boundaries_are_part_of_the_encoding(s in "[a-z审]{1,12}", cut in 0usize..12, field in 0usize..6) {
            let cut = s.char_indices().map(|(i, _)| i).nth(cut % s.chars().count()).unwrap_or(0);
            let (a, b) = s.split_at(cut);
            let (id, _) = sample();
            let mut one = row(id, None);
            let mut two = row(id, None);
            // fields i and i+1 hold (s, "") in one row and (a, b) in the other
            let texts_one = [s.as_str(), ""];
            let texts_two = [a, b];
            for (c, t) in [(&mut one, texts_one), (&mut two, texts_two)] {
                match field {
                    0 => { c.district = t[0]; c.actor_name = t[1]; }
                    1 => { c.actor_name = t[0]; c.action = t[1]; }
                    2 => { c.action = t[0]; c.target_kind = t[1]; }
                    3 => { c.target_kind = t[0]; c.target_id = t[1]; }
                    4 => { c.target_id = t[0]; c.reason = t[1]; }
                    _ => { c.reason = t[0]; c.detail = t[1]; }
                }
            }
            prop_assume!(one != two);
            prop_assert_ne!(canonical(&one), canonical(&two));
        }
    }

    #[test]
    fn anchors_read_as_audit_head_prints_them() {
        let h = "ab".repeat(32);
        let a: Anchor = format!("12:{h}").parse().unwrap();
        assert_eq!((a.seq, hex(&a.hash)), (12, h.clone()));
        let upper: Anchor = format!("12:{}", h.to_uppercase()).parse().unwrap();
        assert_eq!(upper, a);
        let bad = [
            String::new(),
            "12".into(),
            format!("0:{h}"),
            format!("-1:{h}"),
            format!("x:{h}"),
            "1:abc".into(),
            format!("1:{}", "g".repeat(64)),
            format!("1:{h}00"),
        ];
        for bad in bad {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
    }
}
