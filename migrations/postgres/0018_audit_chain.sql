-- The audit log becomes a hash chain no one can quietly edit (issue 11, item 11; docs/design.md,
-- "The audit chain"). Each row carries `seq` (1, 2, 3 … with no gap) and `hash` =
-- SHA-256(previous row's hash ‖ the row's canonical bytes); `audit_chain_head` holds the last
-- (seq, hash). Rows are never updated or deleted: triggers refuse it.
--
-- The canonical bytes are built in Rust, one implementation for both engines, so rows written
-- before this migration move to `audit_log_unchained`, and the application appends them to the
-- chain, in id order (UUIDv7: the order they were written), content unchanged, before its first
-- audited write (`audit::chain::adopt_unchained`, run at start by `serve`, `migrate` and `audit`).

CREATE TABLE audit_log_unchained (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL,
    at_ms       BIGINT NOT NULL,
    actor_id    UUID,
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
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL,
    at_ms       BIGINT NOT NULL,
    actor_id    UUID,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}',
    seq         BIGINT NOT NULL UNIQUE,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(district, at_ms);
CREATE INDEX audit_log_target ON audit_log(target_kind, target_id);

-- The one row: the last link of the chain; seq 0 and 32 zero bytes before the first row.
-- Appending locks it (SELECT … FOR UPDATE) for the rest of the writer's transaction, so
-- concurrent transactions extend the chain one after the other.
CREATE TABLE audit_chain_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- A row must extend the chain: the next seq after the head's, a 32-byte hash. It then becomes
-- the head, in the same statement.
CREATE FUNCTION audit_log_extends_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(NEW.hash) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'audit_log: a new row must carry a 32-byte hash';
    END IF;
    UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1 AND seq = NEW.seq - 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit_log: a new row must extend the chain head (seq = head + 1)';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_extends_head BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_extends_head();

CREATE FUNCTION audit_log_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%: % refused: audit rows are never updated or deleted', TG_TABLE_NAME, TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

CREATE FUNCTION audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'audit_chain_head only moves forward';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward();
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();
