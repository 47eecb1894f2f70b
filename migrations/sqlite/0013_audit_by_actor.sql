-- Limits counted from the audit log (whole-number lookups, refused duplicate registrations) read
-- one account's recent rows of one action.
CREATE INDEX audit_log_actor ON audit_log(actor_id, action, at_ms);
