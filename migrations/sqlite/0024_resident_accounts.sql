-- A resident's own account (居民本人账号): which registry record a signed-in resident is. Features
-- that act for a resident (opinions, owners' ballots) read it through the registry. Only staff who
-- checked the person link one (a self-registered volunteer's account is not proof of identity).
CREATE TABLE resident_accounts (
    user_id      BLOB PRIMARY KEY REFERENCES users(id),
    resident_id  BLOB NOT NULL UNIQUE REFERENCES residents(id),
    district     TEXT NOT NULL REFERENCES districts(code),
    created_at   BIGINT NOT NULL
);
