-- 一键智达: the log of live calls made in the browser (WebRTC, signalled through this server).
-- A call is placed to one person from a grid node, or to the command centre (指挥中心), where
-- whoever accepts first takes it; `callee_id` is then the person who answered.
-- While a call rings or runs, `outcome` (or `ended_at`) is still empty; the server fills it in the
-- transaction of the state change that ends the call.
CREATE TABLE calls (
    id            UUID PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    caller_id     UUID NOT NULL REFERENCES users(id),
    caller_name   TEXT NOT NULL,
    callee_id     UUID REFERENCES users(id),
    callee_name   TEXT NOT NULL DEFAULT '',
    grid_code     TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    target        TEXT NOT NULL CHECK (target IN ('person', 'command')),
    kind          TEXT NOT NULL CHECK (kind IN ('voice', 'video')),
    requested_at  BIGINT NOT NULL,
    answered_at   BIGINT,
    ended_at      BIGINT,
    outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('answered', 'missed', 'declined', 'failed')),
    duration_ms   BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms BETWEEN 0 AND 86400000)
);
CREATE INDEX calls_grid ON calls(district, grid_code, requested_at);
CREATE INDEX calls_at ON calls(district, requested_at);
CREATE INDEX calls_open ON calls(ended_at) WHERE ended_at IS NULL;
