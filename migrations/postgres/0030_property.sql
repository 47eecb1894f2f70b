-- Red property (红色物业). A compound's property company stays in grids.property_company_id and its
-- owners' committee in units (kind owners_committee); this adds what the registry does not keep:
-- a service other than a company (物管会, self-management), the supervising unit and who answers
-- for a 三无 compound, the dated steps taken, committee members who evaluate, the quarterly
-- evaluation of the companies with its ranking and corrections, and monthly fee collection rates.

CREATE TABLE property_compounds (
    grid_code          TEXT COLLATE "C" PRIMARY KEY REFERENCES grids(code),
    district           TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    service            TEXT COLLATE "C" NOT NULL DEFAULT 'none' CHECK (service IN ('none', 'management_committee', 'self')),
    supervising_unit_id UUID REFERENCES units(id),
    responsible        TEXT NOT NULL DEFAULT '',
    -- The owners' committee's term has lapsed or it was dissolved (业委会失效): it counts as none.
    committee_lapsed   BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX property_compounds_district ON property_compounds(district, grid_code);

CREATE TABLE property_steps (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    taken_on    TEXT NOT NULL,
    note        TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX property_steps_grid ON property_steps(district, grid_code, taken_on);

CREATE TABLE property_committee_members (
    grid_code  TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    user_id    UUID NOT NULL REFERENCES users(id),
    district   TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (grid_code, user_id)
);
CREATE INDEX property_committee_user ON property_committee_members(user_id);

CREATE TABLE property_settings (
    district        TEXT COLLATE "C" PRIMARY KEY REFERENCES districts(code),
    w_street        BIGINT NOT NULL CHECK (w_street BETWEEN 0 AND 100),
    w_community     BIGINT NOT NULL CHECK (w_community BETWEEN 0 AND 100),
    w_committee     BIGINT NOT NULL CHECK (w_committee BETWEEN 0 AND 100),
    w_branch        BIGINT NOT NULL CHECK (w_branch BETWEEN 0 AND 100),
    red_n           BIGINT NOT NULL CHECK (red_n BETWEEN 0 AND 1000),
    black_n         BIGINT NOT NULL CHECK (black_n BETWEEN 0 AND 1000),
    floor_score     BIGINT NOT NULL CHECK (floor_score BETWEEN 0 AND 100),
    fee_threshold   BIGINT NOT NULL CHECK (fee_threshold BETWEEN 0 AND 1000),
    updated_at      BIGINT NOT NULL
);

CREATE TABLE property_scores (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    period          TEXT COLLATE "C" NOT NULL,
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    company_id      UUID NOT NULL REFERENCES units(id),
    evaluator       TEXT COLLATE "C" NOT NULL CHECK (evaluator IN ('street', 'community', 'owners_committee', 'party_branch')),
    cleaning        BIGINT NOT NULL CHECK (cleaning BETWEEN 0 AND 100),
    security        BIGINT NOT NULL CHECK (security BETWEEN 0 AND 100),
    repairs         BIGINT NOT NULL CHECK (repairs BETWEEN 0 AND 100),
    greening        BIGINT NOT NULL CHECK (greening BETWEEN 0 AND 100),
    response        BIGINT NOT NULL CHECK (response BETWEEN 0 AND 100),
    cases_assigned  BIGINT NOT NULL DEFAULT 0,
    on_time_pct     BIGINT,
    satisfaction_pct BIGINT,
    submitted_by    UUID NOT NULL REFERENCES users(id),
    submitter_name  TEXT NOT NULL,
    submitted_at    BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (district, period, grid_code, evaluator)
);
CREATE INDEX property_scores_period ON property_scores(district, period, company_id);

CREATE TABLE property_results (
    district     TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    period       TEXT COLLATE "C" NOT NULL,
    company_id   UUID NOT NULL REFERENCES units(id),
    score_x100   BIGINT NOT NULL,
    rank         BIGINT NOT NULL,
    list         TEXT COLLATE "C" CHECK (list IN ('red', 'black')),
    flagged      BOOLEAN NOT NULL DEFAULT FALSE,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (district, period, company_id)
);

CREATE TABLE property_corrections (
    id         UUID PRIMARY KEY,
    district   TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    period     TEXT COLLATE "C" NOT NULL,
    company_id UUID NOT NULL REFERENCES units(id),
    due_on     TEXT NOT NULL,
    done_at    BIGINT,
    note       TEXT NOT NULL DEFAULT '',
    done_by    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (district, period, company_id)
);

CREATE TABLE property_fees (
    grid_code    TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    month        TEXT COLLATE "C" NOT NULL,
    district     TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    company_id   UUID NOT NULL REFERENCES units(id),
    rate_permille BIGINT NOT NULL CHECK (rate_permille BETWEEN 0 AND 1000),
    entered_by   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (grid_code, month)
);
CREATE INDEX property_fees_month ON property_fees(district, month, grid_code);
