-- A key names one request: what it asked for is kept beside it, so the same key with a different
-- body is refused (422) rather than answered with the first result (IETF Idempotency-Key draft).
ALTER TABLE cases ADD COLUMN idempotency_fingerprint TEXT;
ALTER TABLE redemptions ADD COLUMN idempotency_fingerprint TEXT;
