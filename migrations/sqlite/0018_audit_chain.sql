-- The audit log becomes a hash chain no one can quietly edit (issue 11, item 11; docs/design.md,
-- "The audit chain"). Each row carries `seq` (1, 2, 3 … with no gap) and `hash` =
-- SHA-256(previous row's hash ‖ the row's canonical bytes); `audit_chain_head` holds the last
-- (seq, hash). Rows are never updated or deleted: triggers refuse it.
--
-- SQLite has no SHA-256, so rows written before this migration cannot be hashed here. They move
-- to `audit_log_unchained`, and the application appends them to the chain, in id order (UUIDv7:
-- the order they were written), content unchanged, before its first audited write
-- (`audit::chain::adopt_unchained`, run at start by `serve`, `migrate` and `audit`).

CREATE TABLE audit_log_unchained (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    actor_id    BLOB,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO audit_log_unchained (id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail)
    SELECT id, district, at_ms, actor_id, actor_name, action, target_kind, target_id, reason, detail FROM audit_log;
DROP TABLE audit_log;

CREATE TABLE audit_log (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    actor_id    BLOB,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}',
    seq         BIGINT NOT NULL UNIQUE,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(district, at_ms);
CREATE INDEX audit_log_target ON audit_log(target_kind, target_id);

-- The one row: the last link of the chain; seq 0 and 32 zero bytes before the first row.
CREATE TABLE audit_chain_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- A row must extend the chain: the next seq after the head's, a 32-byte hash. It then becomes
-- the head, in the same statement. (Writes are serialised on SQLite: one writer, BEGIN IMMEDIATE.)
CREATE TRIGGER audit_log_extends_head BEFORE INSERT ON audit_log
WHEN length(NEW.hash) IS NOT 32 OR NEW.seq IS NOT (SELECT seq + 1 FROM audit_chain_head WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_log: a new row must extend the chain head (seq = head + 1, 32-byte hash)');
END;
CREATE TRIGGER audit_log_advances_head AFTER INSERT ON audit_log
BEGIN
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are never updated');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are never deleted');
END;
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
WHEN NEW.id IS NOT OLD.id OR NEW.seq <= OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_head only moves forward');
END;
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_head is never deleted');
END;
