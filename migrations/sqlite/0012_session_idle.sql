-- Sessions end after idle time as well as at an absolute time (issue 11, item 4): when the session
-- was last used, and how long it may rest, fixed when it was made.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_ms BIGINT NOT NULL DEFAULT 7200000;
UPDATE sessions SET last_seen_at = created_at;
