-- Deliberation (协商议事): a council (党群议事会) per compound, its members over time and partner
-- units; residents' opinions (民情民意) and how each was answered; meetings with sign-in and
-- minutes; resolutions, each followed to a case or marked done.

CREATE TABLE councils (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL REFERENCES districts(code),
    grid_code   TEXT NOT NULL UNIQUE REFERENCES grids(code),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

-- One row per holding of a post; `ended_at` is empty while it is held (history kept).
CREATE TABLE council_members (
    id            BLOB PRIMARY KEY,
    council_id    BLOB NOT NULL REFERENCES councils(id),
    district      TEXT NOT NULL,
    resident_id   BLOB NOT NULL REFERENCES residents(id),
    name          TEXT NOT NULL,
    post          TEXT NOT NULL CHECK (post IN ('chair', 'vice_chair', 'member', 'building_head', 'unit_head')),
    building_code TEXT REFERENCES grids(code),
    unit_no       BIGINT,
    party_member  BOOLEAN NOT NULL DEFAULT FALSE,
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT
);
CREATE INDEX council_members_council ON council_members(council_id, ended_at, post);
CREATE INDEX council_members_resident ON council_members(resident_id, ended_at);

CREATE TABLE council_partners (
    council_id  BLOB NOT NULL REFERENCES councils(id),
    unit_id     BLOB NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL,
    PRIMARY KEY (council_id, unit_id)
);

CREATE TABLE council_meetings (
    id            BLOB PRIMARY KEY,
    council_id    BLOB NOT NULL REFERENCES councils(id),
    district      TEXT NOT NULL,
    grid_code     TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('party_mass', 'five_party', 'three_party', 'compound')),
    title         TEXT NOT NULL,
    place         TEXT NOT NULL,
    starts_at     BIGINT NOT NULL,
    invitees      TEXT NOT NULL DEFAULT '',
    checkin_code  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('planned', 'held')),
    minutes       TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    held_at       BIGINT
);
CREATE INDEX council_meetings_grid ON council_meetings(district, grid_code, starts_at);
CREATE INDEX council_meetings_at ON council_meetings(district, starts_at);

CREATE TABLE council_attendance (
    meeting_id    BLOB NOT NULL REFERENCES council_meetings(id),
    resident_id   BLOB NOT NULL REFERENCES residents(id),
    name          TEXT NOT NULL,
    via           TEXT NOT NULL CHECK (via IN ('code', 'staff')),
    at_ms         BIGINT NOT NULL,
    PRIMARY KEY (meeting_id, resident_id)
);

CREATE TABLE council_opinions (
    id            BLOB PRIMARY KEY,
    council_id    BLOB NOT NULL REFERENCES councils(id),
    district      TEXT NOT NULL,
    grid_code     TEXT NOT NULL REFERENCES grids(code),
    category      TEXT NOT NULL,
    body          TEXT NOT NULL,
    anonymous     BOOLEAN NOT NULL DEFAULT FALSE,
    author_name   TEXT NOT NULL,
    resident_id   BLOB REFERENCES residents(id),
    recorded_by   BLOB REFERENCES users(id),
    recorder_name TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'agenda', 'case', 'merged', 'answered')),
    answer        TEXT NOT NULL DEFAULT '',
    answered_by   TEXT NOT NULL DEFAULT '',
    meeting_id    BLOB REFERENCES council_meetings(id),
    case_id       BLOB REFERENCES cases(id),
    merged_into   BLOB REFERENCES council_opinions(id),
    created_at    BIGINT NOT NULL,
    answered_at   BIGINT
);
CREATE INDEX council_opinions_grid ON council_opinions(district, grid_code, status, created_at);
CREATE INDEX council_opinions_status ON council_opinions(district, status, created_at);
CREATE INDEX council_opinions_recorder ON council_opinions(recorded_by, created_at);
CREATE INDEX council_opinions_case ON council_opinions(case_id);

CREATE TABLE council_resolutions (
    id            BLOB PRIMARY KEY,
    meeting_id    BLOB NOT NULL REFERENCES council_meetings(id),
    council_id    BLOB NOT NULL REFERENCES councils(id),
    district      TEXT NOT NULL,
    grid_code     TEXT NOT NULL,
    position      BIGINT NOT NULL,
    body          TEXT NOT NULL,
    responsible   TEXT NOT NULL,
    due_at        BIGINT NOT NULL,
    case_id       BLOB REFERENCES cases(id),
    done_at       BIGINT,
    done_note     TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX council_resolutions_grid ON council_resolutions(district, grid_code, done_at, due_at);
CREATE INDEX council_resolutions_open ON council_resolutions(district, done_at, due_at);
CREATE INDEX council_resolutions_meeting ON council_resolutions(meeting_id, position);
CREATE INDEX council_resolutions_case ON council_resolutions(case_id);
