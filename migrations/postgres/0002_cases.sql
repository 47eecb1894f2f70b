-- The case closed loop: categories, cases, their timeline and whistles (PostgreSQL).

-- 大类/小类. A leaf carries the time limit (hours on the clock, or working days), the default
-- handling unit and the lowest grid level that may close it.
CREATE TABLE case_categories (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    code            TEXT COLLATE "C" NOT NULL,
    parent_code     TEXT COLLATE "C",
    name            TEXT COLLATE "C" NOT NULL,
    kind            TEXT NOT NULL,          -- community, component (部件), event (事件)
    default_unit_id UUID REFERENCES units(id),
    limit_hours     BIGINT,
    limit_days      BIGINT,                 -- working days
    close_level     BIGINT NOT NULL DEFAULT 3,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      BIGINT NOT NULL,
    UNIQUE (district, code)
);

CREATE TABLE cases (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    tracking_code   TEXT COLLATE "C" NOT NULL UNIQUE,   -- what a resident follows the case by
    category_code   TEXT COLLATE "C" NOT NULL,
    description     TEXT NOT NULL,
    lat             DOUBLE PRECISION,
    lng             DOUBLE PRECISION,
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),  -- where it happened (smallest grid)
    level           BIGINT NOT NULL,        -- the grid level answering for it now
    source          TEXT NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    unit_id         UUID REFERENCES units(id),
    rework          BIGINT NOT NULL DEFAULT 0,
    supervisions    BIGINT NOT NULL DEFAULT 0,
    rating          TEXT,
    reporter_id     UUID REFERENCES users(id),
    reporter_name   TEXT NOT NULL DEFAULT '',
    reporter_phone  TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT COLLATE "C",
    reported_at     BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    handled_at      BIGINT,
    closed_at       BIGINT,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL DEFAULT 0,  -- bumped by every action; a stale writer loses
    duplicate_of    UUID,                       -- a likely duplicate of this open case (same category, near, recent)
    merged_into     UUID,                       -- merged: handled as part of this case
    UNIQUE (district, idempotency_key)
);
CREATE INDEX cases_status ON cases(district, status, due_at);
CREATE INDEX cases_grid ON cases(district, grid_code, reported_at);
CREATE INDEX cases_unit ON cases(unit_id, status);
CREATE INDEX cases_reported ON cases(district, reported_at);
CREATE INDEX cases_category ON cases(district, category_code, reported_at);

-- The timeline: every action taken, in order.
CREATE TABLE case_events (
    id          UUID PRIMARY KEY,
    case_id     UUID NOT NULL REFERENCES cases(id),
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    at_ms       BIGINT NOT NULL,
    actor_id    UUID,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events(case_id, at_ms);

-- 吹哨报到: departments summoned to a case, each to report by a deadline.
CREATE TABLE case_whistles (
    case_id         UUID NOT NULL REFERENCES cases(id),
    unit_id         UUID NOT NULL REFERENCES units(id),
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    summoned_at     BIGINT NOT NULL,
    due_at          BIGINT NOT NULL,
    acknowledged_at BIGINT,
    PRIMARY KEY (case_id, unit_id)
);
CREATE INDEX case_whistles_unit ON case_whistles(unit_id, acknowledged_at);
