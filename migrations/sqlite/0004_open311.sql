-- Open311 GeoReport v2: API keys for city systems and apps, what arrived through them, and the
-- case fields the standard needs (service attributes, privacy) (SQLite).

-- A key is shown once; only its SHA-256 is kept. It reaches the grid subtree under grid_code.
CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    district     TEXT NOT NULL REFERENCES districts(code),
    name         TEXT NOT NULL,
    grid_code    TEXT NOT NULL REFERENCES grids(code),
    key_hash     TEXT NOT NULL UNIQUE,
    key_prefix   TEXT NOT NULL,              -- the first characters, to recognise a key in a list
    per_minute   BIGINT NOT NULL,            -- rate limit
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_district ON api_keys(district, created_at);

-- A case reported through Open311: the key, the client's token and the fields without a home in cases.
CREATE TABLE open311_requests (
    case_id        BLOB PRIMARY KEY REFERENCES cases(id),
    district       TEXT NOT NULL REFERENCES districts(code),
    api_key_id     BLOB NOT NULL REFERENCES api_keys(id),
    token          TEXT NOT NULL UNIQUE,
    address_string TEXT NOT NULL DEFAULT '',
    address_id     TEXT NOT NULL DEFAULT '',
    media_url      TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    device_id      TEXT NOT NULL DEFAULT '',
    account_id     TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);

-- Service attributes: a category's extra questions (JSON list), and a case's answers (JSON object).
ALTER TABLE case_categories ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE cases ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
-- A private case (disputes, a named household): its description never leaves through Open311.
ALTER TABLE cases ADD COLUMN private BOOLEAN NOT NULL DEFAULT FALSE;
