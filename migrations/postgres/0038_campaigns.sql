-- Campaigns (专项整治行动): a district or street drive over a grid subtree with its teams, and
-- the spot ledger (台账) — every spot found in the survey, its persuasion visits, its clearance
-- (never without an after photo: the CHECK holds it even against a faulty writer) or its
-- escalation to a case, and its re-inspection.

CREATE TABLE campaigns (
    id             UUID PRIMARY KEY,
    district       TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    -- The subtree it covers (the district or a street).
    grid_code      TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    title          TEXT NOT NULL CHECK (char_length(title) BETWEEN 2 AND 60),
    kind           TEXT NOT NULL CHECK (char_length(kind) BETWEEN 2 AND 20),
    kind_name      TEXT NOT NULL CHECK (char_length(kind_name) BETWEEN 2 AND 20),
    -- What its measure counts in: m², 处, 条 …
    unit           TEXT NOT NULL CHECK (char_length(unit) BETWEEN 1 AND 8),
    partners       TEXT NOT NULL DEFAULT '' CHECK (char_length(partners) <= 200),
    starts_on      TEXT NOT NULL,
    deadline       TEXT NOT NULL,
    reinspect_days BIGINT NOT NULL CHECK (reinspect_days BETWEEN 1 AND 90),
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    CHECK (deadline >= starts_on)
);
CREATE INDEX campaigns_grid ON campaigns(district, grid_code);

CREATE TABLE campaign_teams (
    id          UUID PRIMARY KEY,
    campaign_id UUID NOT NULL REFERENCES campaigns(id),
    name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 2 AND 40),
    -- The sunk-down cadre who leads it.
    leader_id   UUID NOT NULL REFERENCES users(id),
    leader_name TEXT NOT NULL,
    -- The communities or compounds it is assigned, joined by ','.
    grids       TEXT NOT NULL CHECK (char_length(grids) BETWEEN 6 AND 2000),
    created_at  BIGINT NOT NULL,
    UNIQUE (campaign_id, name)
);
CREATE INDEX campaign_teams_campaign ON campaign_teams(campaign_id);

CREATE TABLE campaign_members (
    team_id UUID NOT NULL REFERENCES campaign_teams(id),
    user_id UUID NOT NULL REFERENCES users(id),
    name    TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX campaign_members_user ON campaign_members(user_id);

CREATE TABLE campaign_spots (
    id            UUID PRIMARY KEY,
    campaign_id   UUID NOT NULL REFERENCES campaigns(id),
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code     TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    place         TEXT NOT NULL CHECK (char_length(place) BETWEEN 2 AND 100),
    -- The household or shop concerned, as the officer wrote it (masked in lists).
    party         TEXT NOT NULL DEFAULT '' CHECK (char_length(party) <= 40),
    measure       DOUBLE PRECISION NOT NULL CHECK (measure >= 0 AND measure <= 100000),
    note          TEXT NOT NULL DEFAULT '' CHECK (char_length(note) <= 500),
    lat           DOUBLE PRECISION,
    lng           DOUBLE PRECISION,
    phase         TEXT NOT NULL CHECK (phase IN ('surveyed', 'persuading', 'cleared', 'escalated', 'consolidated')),
    self_cleared  BOOLEAN NOT NULL DEFAULT FALSE,
    -- Person-visits (人次) and refusals so far.
    visits        BIGINT NOT NULL DEFAULT 0 CHECK (visits >= 0),
    refusals      BIGINT NOT NULL DEFAULT 0 CHECK (refusals >= 0),
    recurrences   BIGINT NOT NULL DEFAULT 0 CHECK (recurrences >= 0),
    photo_sha256  TEXT,
    after_sha256  TEXT,
    case_id       UUID REFERENCES cases(id),
    found_at      BIGINT NOT NULL,
    cleared_at    BIGINT,
    reinspect_at  BIGINT,
    found_by      TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CHECK (phase NOT IN ('cleared', 'consolidated') OR (after_sha256 IS NOT NULL AND cleared_at IS NOT NULL)),
    CHECK (phase <> 'escalated' OR case_id IS NOT NULL)
);
CREATE INDEX campaign_spots_campaign ON campaign_spots(campaign_id, grid_code, phase);

CREATE TABLE campaign_actions (
    id          UUID PRIMARY KEY,
    spot_id     UUID NOT NULL REFERENCES campaign_spots(id),
    action      TEXT NOT NULL CHECK (action IN ('found', 'visit', 'notice', 'self_cleared', 'cleared', 'escalate', 'reinspect')),
    -- visit: agreed, refused, not_reached; reinspect: held, recurred.
    outcome     TEXT NOT NULL DEFAULT '',
    people      BIGINT NOT NULL DEFAULT 0 CHECK (people BETWEEN 0 AND 50),
    note        TEXT NOT NULL DEFAULT '' CHECK (char_length(note) <= 500),
    photo_sha256 TEXT,
    by_name     TEXT NOT NULL,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX campaign_actions_spot ON campaign_actions(spot_id, at_ms);
