-- Renovation consultations (老旧小区改造): projects over compounds, their phase history, design plan
-- versions, opinion rounds with one view per household, and the cases reported from a project
-- (SQLite).

-- One project. `grid_code` is the nearest node above all its compounds (a community or a street).
CREATE TABLE renovation_projects (
    id               BLOB PRIMARY KEY,
    district         TEXT NOT NULL REFERENCES districts(code),
    grid_code        TEXT NOT NULL REFERENCES grids(code),
    title            TEXT NOT NULL,
    summary          TEXT NOT NULL,
    phase            TEXT NOT NULL CHECK (phase IN ('planning', 'consultation', 'construction', 'acceptance', 'done')),
    created_by_name  TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX renovation_projects_grid ON renovation_projects(district, grid_code);

-- The compounds (level-4 nodes) a project covers.
CREATE TABLE renovation_compounds (
    project_id     BLOB NOT NULL REFERENCES renovation_projects(id),
    compound_code  TEXT NOT NULL REFERENCES grids(code),
    district       TEXT NOT NULL,
    PRIMARY KEY (project_id, compound_code)
);
CREATE INDEX renovation_compounds_code ON renovation_compounds(compound_code);

-- When each phase began (the history of the state machine).
CREATE TABLE renovation_phases (
    project_id  BLOB NOT NULL REFERENCES renovation_projects(id),
    phase       TEXT NOT NULL,
    actor_name  TEXT NOT NULL,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (project_id, phase)
);

-- Design plan versions (v1, v2 …); one is published.
CREATE TABLE renovation_plans (
    id               BLOB PRIMARY KEY,
    project_id       BLOB NOT NULL REFERENCES renovation_projects(id),
    district         TEXT NOT NULL,
    version          BIGINT NOT NULL,
    body             TEXT NOT NULL,
    published        BOOLEAN NOT NULL DEFAULT FALSE,
    created_by_name  TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    UNIQUE (project_id, version)
);

-- Opinion rounds (征求意见) on one plan version; at most one open per project.
CREATE TABLE renovation_rounds (
    id            BLOB PRIMARY KEY,
    project_id    BLOB NOT NULL REFERENCES renovation_projects(id),
    district      TEXT NOT NULL,
    number        BIGINT NOT NULL,
    plan_version  BIGINT NOT NULL,
    opened_at     BIGINT NOT NULL,
    closed_at     BIGINT,
    UNIQUE (project_id, number)
);

-- A household's current view in a round (recording again replaces it).
CREATE TABLE renovation_views (
    round_id          BLOB NOT NULL REFERENCES renovation_rounds(id),
    household_id      BLOB NOT NULL REFERENCES households(id),
    district          TEXT NOT NULL,
    building_code     TEXT NOT NULL,
    view              TEXT NOT NULL CHECK (view IN ('agree', 'disagree', 'suggestion')),
    note              TEXT NOT NULL DEFAULT '',
    recorded_by_name  TEXT NOT NULL,
    recorded_at       BIGINT NOT NULL,
    PRIMARY KEY (round_id, household_id)
);

-- Problems found in the work (两违, 圈地种菜 …) reported as cases from the project.
CREATE TABLE renovation_cases (
    project_id  BLOB NOT NULL REFERENCES renovation_projects(id),
    case_id     BLOB NOT NULL REFERENCES cases(id),
    district    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (project_id, case_id)
);

-- Files of a plan version (drawings, PDFs, photos), stored once per content hash under
-- `<data dir>/renovation/`.
CREATE TABLE renovation_plan_files (
    project_id   BLOB NOT NULL REFERENCES renovation_projects(id),
    version      BIGINT NOT NULL,
    district     TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    mime         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    name         TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (project_id, version, sha256)
);
CREATE INDEX renovation_plan_files_sha ON renovation_plan_files(project_id, sha256);
