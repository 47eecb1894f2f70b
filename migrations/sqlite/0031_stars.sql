-- Five-star branches (五星支部创建): the stars' configuration per district and year, a scorecard
-- per community or village and year with its self-assessment per criterion, the evidence files,
-- each star's review by the street and rating by the district, and a snapshot per quarter.

CREATE TABLE star_configs (
    district    TEXT NOT NULL REFERENCES districts(code),
    year        BIGINT NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    body        TEXT NOT NULL,              -- JSON: {"urban": [star…], "village": [star…]}
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (district, year)
);

CREATE TABLE star_cards (
    id            BLOB PRIMARY KEY,
    district      TEXT NOT NULL REFERENCES districts(code),
    grid_code     TEXT NOT NULL REFERENCES grids(code),
    year          BIGINT NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    kind          TEXT NOT NULL CHECK (kind IN ('urban', 'village')),
    status        TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'returned', 'reviewed', 'rated')),
    submitted_at  BIGINT,
    reviewed_at   BIGINT,
    rated_at      BIGINT,
    updated_at    BIGINT NOT NULL,
    UNIQUE (district, grid_code, year)
);
CREATE INDEX star_cards_year ON star_cards(district, year, grid_code);

CREATE TABLE star_entries (
    card_id       BLOB NOT NULL REFERENCES star_cards(id),
    star_code     TEXT NOT NULL,
    criterion     TEXT NOT NULL,
    score         BIGINT NOT NULL CHECK (score BETWEEN 0 AND 100),
    note          TEXT NOT NULL DEFAULT '',
    links         TEXT NOT NULL DEFAULT '[]', -- JSON: [{"kind": "case"|"activity"|"meeting", "id"}]
    updated_by    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (card_id, star_code, criterion)
);

CREATE TABLE star_verdicts (
    card_id         BLOB NOT NULL REFERENCES star_cards(id),
    star_code       TEXT NOT NULL,
    review          TEXT CHECK (review IN ('agree', 'back')),
    review_comment  TEXT NOT NULL DEFAULT '',
    reviewed_by     TEXT NOT NULL DEFAULT '',
    reviewed_at     BIGINT,
    rating          TEXT CHECK (rating IN ('awarded', 'denied')),
    reason          TEXT NOT NULL DEFAULT '',
    rated_by        TEXT NOT NULL DEFAULT '',
    rated_at        BIGINT,
    PRIMARY KEY (card_id, star_code)
);

CREATE TABLE star_files (
    card_id      BLOB NOT NULL REFERENCES star_cards(id),
    star_code    TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    mime         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    name         TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (card_id, star_code, sha256)
);

CREATE TABLE star_snapshots (
    card_id   BLOB NOT NULL REFERENCES star_cards(id),
    quarter   BIGINT NOT NULL CHECK (quarter BETWEEN 1 AND 4),
    score     DOUBLE PRECISION NOT NULL,
    body      TEXT NOT NULL,               -- JSON: {star code: weighted score}
    taken_at  BIGINT NOT NULL,
    PRIMARY KEY (card_id, quarter)
);
