-- Care visits (关爱走访). Residents with a care tag (resident_tags) are visited on the schedule the
-- district sets per tag; care_due keeps, per (resident, tag), the day the next visit is due (as
-- China-time midnight in ms) and the last visit, so an officer's list is an indexed read. A row
-- appears on the first read after the tag is given; a tag taken away leaves its row unread.

CREATE TABLE care_schedules (
    district    TEXT NOT NULL REFERENCES districts(code),
    tag         TEXT NOT NULL CHECK (tag IN ('独居老人', '空巢老人', '残疾人', '低保', '监测对象', '留守儿童')),
    every_unit  TEXT NOT NULL CHECK (every_unit IN ('day', 'week', 'month')),
    every_count BIGINT NOT NULL CHECK (every_count BETWEEN 1 AND 366),
    grace_days  BIGINT NOT NULL CHECK (grace_days BETWEEN 0 AND 60),
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (district, tag)
);

CREATE TABLE care_due (
    resident_id   BLOB NOT NULL REFERENCES residents(id),
    tag           TEXT NOT NULL,
    district      TEXT NOT NULL REFERENCES districts(code),
    grid_code     TEXT NOT NULL REFERENCES grids(code),
    due_at        BIGINT NOT NULL CHECK (due_at >= 0),
    last_visit_at BIGINT CHECK (last_visit_at IS NULL OR last_visit_at >= 0),
    PRIMARY KEY (resident_id, tag)
);
CREATE INDEX care_due_grid ON care_due(district, grid_code, due_at);

CREATE TABLE care_visits (
    id           BLOB PRIMARY KEY,
    district     TEXT NOT NULL REFERENCES districts(code),
    resident_id  BLOB NOT NULL REFERENCES residents(id),
    grid_code    TEXT NOT NULL REFERENCES grids(code),
    visited_at   BIGINT NOT NULL CHECK (visited_at >= 0),
    visited_by   BLOB REFERENCES users(id),
    visitor_name TEXT NOT NULL CHECK (length(visitor_name) <= 64),
    condition    TEXT NOT NULL CHECK (condition IN ('good', 'fair', 'poor', 'absent')),
    note         TEXT NOT NULL CHECK (length(note) <= 1000),
    needs        TEXT NOT NULL DEFAULT '' CHECK (length(needs) <= 500),
    lat          DOUBLE PRECISION CHECK (lat IS NULL OR lat BETWEEN -90 AND 90),
    lng          DOUBLE PRECISION CHECK (lng IS NULL OR lng BETWEEN -180 AND 180),
    located      TEXT NOT NULL CHECK (located IN ('in_building', 'outside', 'unknown')),
    photo_sha256 TEXT CHECK (photo_sha256 IS NULL OR length(photo_sha256) = 64),
    photo_mime   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX care_visits_resident ON care_visits(district, resident_id, visited_at);
CREATE INDEX care_visits_grid ON care_visits(district, grid_code, visited_at);
