-- Campaign checklists (测评清单): the items each inspected place is scored against (e.g. 创文 测评
-- items for a compound), each inspection's marks — a failed item never without its photo (the
-- CHECK holds it) — and re-checks, which score again exactly what the inspection before left failing.

CREATE TABLE campaign_checklist_items (
    id          BLOB PRIMARY KEY,
    campaign_id BLOB NOT NULL REFERENCES campaigns(id),
    position    BIGINT NOT NULL CHECK (position BETWEEN 1 AND 50),
    text        TEXT NOT NULL CHECK (length(text) BETWEEN 2 AND 100),
    UNIQUE (campaign_id, position)
);

CREATE TABLE campaign_inspections (
    id          BLOB PRIMARY KEY,
    campaign_id BLOB NOT NULL REFERENCES campaigns(id),
    district    TEXT NOT NULL REFERENCES districts(code),
    -- The place inspected: a grid node under the campaign's (a compound, a community, a street).
    grid_code   TEXT NOT NULL REFERENCES grids(code),
    -- A re-check names the inspection it follows (the place's latest when it was made).
    recheck_of  BLOB REFERENCES campaign_inspections(id),
    passed      BIGINT NOT NULL CHECK (passed >= 0),
    failed      BIGINT NOT NULL CHECK (failed >= 0),
    note        TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    by_id       BLOB NOT NULL REFERENCES users(id),
    by_name     TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    CHECK (passed + failed >= 1)
);
CREATE INDEX campaign_inspections_place ON campaign_inspections(campaign_id, grid_code, at_ms);

CREATE TABLE campaign_inspection_marks (
    inspection_id BLOB NOT NULL REFERENCES campaign_inspections(id),
    item_id       BLOB NOT NULL REFERENCES campaign_checklist_items(id),
    passed        BOOLEAN NOT NULL,
    photo_sha256  TEXT,
    note          TEXT NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    PRIMARY KEY (inspection_id, item_id),
    CHECK (passed OR photo_sha256 IS NOT NULL)
);
