-- Red proxy service (红色代办) and dispute mediation (矛盾纠纷调解).
--
-- Proxy: the district's list of matters (社保, 医保 … with the documents each needs and a time
-- limit in working days); a matter done for a resident by an agent; its steps; every document
-- handed over, with the agent's and the person's confirmation of the hand-over and of the return
-- (the person confirms with the code on the slip they keep). A document cannot be returned
-- without the person's confirmation: the CHECKs below hold it even against a faulty writer.
--
-- Mediation: the community's mediation committee (人民调解委员会), disputes with their parties
-- (names only: no ID numbers, no phones), the mediators on each, sessions, the outcome
-- (agreement with its terms, or referral) and the follow-up visit 30 days later.

CREATE TABLE proxy_kinds (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL REFERENCES districts(code),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 2 AND 40),
    -- The documents it needs, joined by '、'.
    documents   TEXT NOT NULL DEFAULT '' CHECK (length(documents) <= 400),
    limit_days  BIGINT NOT NULL CHECK (limit_days BETWEEN 1 AND 60),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  BIGINT NOT NULL,
    UNIQUE (district, name)
);

CREATE TABLE proxy_matters (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL REFERENCES districts(code),
    -- The person's building (their registry grid).
    grid_code   TEXT NOT NULL REFERENCES grids(code),
    resident_id BLOB NOT NULL REFERENCES residents(id),
    kind_id     BLOB NOT NULL REFERENCES proxy_kinds(id),
    via         TEXT NOT NULL CHECK (via IN ('in_person', 'phone', 'building_officer')),
    note        TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    -- SHA-256 of the matter id and the six-digit code printed on the person's slip.
    code_hash   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'taken', 'done')),
    agent_id    BLOB REFERENCES users(id),
    agent_name  TEXT NOT NULL DEFAULT '',
    due_at      BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    taken_at    BIGINT,
    done_at     BIGINT,
    rating      BIGINT CHECK (rating BETWEEN 1 AND 5),
    updated_at  BIGINT NOT NULL,
    CHECK (status = 'open' OR agent_id IS NOT NULL),
    CHECK (status <> 'done' OR done_at IS NOT NULL)
);
CREATE INDEX proxy_matters_grid ON proxy_matters(district, grid_code, status);
CREATE INDEX proxy_matters_agent ON proxy_matters(agent_id, status);

CREATE TABLE proxy_steps (
    id          BLOB PRIMARY KEY,
    matter_id   BLOB NOT NULL REFERENCES proxy_matters(id),
    note        TEXT NOT NULL CHECK (length(note) BETWEEN 2 AND 500),
    by_name     TEXT NOT NULL,
    at_ms       BIGINT NOT NULL
);
CREATE INDEX proxy_steps_matter ON proxy_steps(matter_id, at_ms);

CREATE TABLE proxy_documents (
    id                 BLOB PRIMARY KEY,
    matter_id          BLOB NOT NULL REFERENCES proxy_matters(id),
    district           TEXT NOT NULL REFERENCES districts(code),
    name               TEXT NOT NULL CHECK (length(name) BETWEEN 2 AND 40),
    -- offered: the agent signed for it, the person has not confirmed; held: both confirmed, the
    -- agent holds it; return_offered: the agent says it is back; returned: the person confirmed.
    state              TEXT NOT NULL CHECK (state IN ('offered', 'held', 'return_offered', 'returned')),
    handed_at          BIGINT NOT NULL,
    handed_by          TEXT NOT NULL,
    person_handed_at   BIGINT,
    returned_at        BIGINT,
    returned_by        TEXT,
    person_returned_at BIGINT,
    CHECK (state = 'offered' OR person_handed_at IS NOT NULL),
    CHECK (state NOT IN ('return_offered', 'returned') OR returned_at IS NOT NULL),
    CHECK (state <> 'returned' OR person_returned_at IS NOT NULL)
);
CREATE INDEX proxy_documents_matter ON proxy_documents(matter_id, state);

CREATE TABLE mediators (
    grid_code   TEXT NOT NULL REFERENCES grids(code),
    user_id     BLOB NOT NULL REFERENCES users(id),
    district    TEXT NOT NULL REFERENCES districts(code),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (grid_code, user_id)
);
CREATE INDEX mediators_user ON mediators(user_id);

CREATE TABLE disputes (
    id             BLOB PRIMARY KEY,
    district       TEXT NOT NULL REFERENCES districts(code),
    grid_code      TEXT NOT NULL REFERENCES grids(code),
    kind           TEXT NOT NULL CHECK (kind IN ('neighbour', 'family', 'property', 'labour', 'other')),
    summary        TEXT NOT NULL CHECK (length(summary) BETWEEN 2 AND 1000),
    status         TEXT NOT NULL CHECK (status IN ('open', 'agreed', 'referred')),
    -- China-time month it was registered, for the street's counts: 2026-05.
    opened_month   TEXT NOT NULL,
    terms          TEXT CHECK (terms IS NULL OR length(terms) BETWEEN 2 AND 2000),
    referral       TEXT CHECK (referral IN ('department', 'case', 'court')),
    referral_note  TEXT NOT NULL DEFAULT '',
    case_id        BLOB REFERENCES cases(id),
    outcome_at     BIGINT,
    follow_up_due  TEXT,
    followed_up_at BIGINT,
    follow_up_note TEXT NOT NULL DEFAULT '',
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    CHECK (status <> 'agreed' OR terms IS NOT NULL),
    CHECK (status <> 'referred' OR referral IS NOT NULL),
    CHECK (status = 'open' OR (outcome_at IS NOT NULL AND follow_up_due IS NOT NULL)),
    CHECK (followed_up_at IS NULL OR status <> 'open')
);
CREATE INDEX disputes_grid ON disputes(district, grid_code, status);
CREATE INDEX disputes_month ON disputes(district, opened_month, kind);

CREATE TABLE dispute_parties (
    dispute_id  BLOB NOT NULL REFERENCES disputes(id),
    seq         BIGINT NOT NULL CHECK (seq BETWEEN 1 AND 10),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    PRIMARY KEY (dispute_id, seq)
);

CREATE TABLE dispute_mediators (
    dispute_id  BLOB NOT NULL REFERENCES disputes(id),
    user_id     BLOB NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    PRIMARY KEY (dispute_id, user_id)
);
CREATE INDEX dispute_mediators_user ON dispute_mediators(user_id);

CREATE TABLE dispute_sessions (
    id          BLOB PRIMARY KEY,
    dispute_id  BLOB NOT NULL REFERENCES disputes(id),
    held_on     TEXT NOT NULL,
    note        TEXT NOT NULL CHECK (length(note) BETWEEN 2 AND 2000),
    recorded_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX dispute_sessions_dispute ON dispute_sessions(dispute_id, held_on);
