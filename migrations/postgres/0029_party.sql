-- Party members (党员) and their work: residents who are members (tag 党员) and in-service members
-- of district units (在职党员, 下沉党员干部) with their report-in (双报到) and assignment (分包);
-- posts (亮身份、定岗定责) with consent to be shown; service records; model households (党员示范户).

CREATE TABLE party_members (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    org_id          UUID REFERENCES party_orgs(id),
    kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('resident', 'in_service')),
    resident_id     UUID REFERENCES residents(id),
    unit_id         UUID REFERENCES units(id),
    name            TEXT NOT NULL,
    phone_masked    TEXT NOT NULL DEFAULT '',
    grid_code       TEXT COLLATE "C" REFERENCES grids(code),
    cadre           BOOLEAN NOT NULL DEFAULT FALSE,
    report_grid     TEXT COLLATE "C" REFERENCES grids(code),
    reported_on     TEXT,
    assigned_grid   TEXT COLLATE "C" REFERENCES grids(code),
    created_at      BIGINT NOT NULL,
    CHECK ((kind = 'resident') = (resident_id IS NOT NULL)),
    CHECK ((kind = 'in_service') = (unit_id IS NOT NULL))
);
CREATE UNIQUE INDEX party_members_resident ON party_members(resident_id);
CREATE INDEX party_members_unit ON party_members(unit_id);
CREATE INDEX party_members_grid ON party_members(district, grid_code);
CREATE INDEX party_members_report ON party_members(district, report_grid);
CREATE INDEX party_members_assigned ON party_members(district, assigned_grid);
CREATE INDEX party_members_org ON party_members(org_id);

CREATE TABLE party_posts (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    member_id       UUID NOT NULL REFERENCES party_members(id),
    post            TEXT COLLATE "C" NOT NULL,
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    consent         BOOLEAN NOT NULL DEFAULT FALSE,
    started_at      BIGINT NOT NULL,
    ended_at        BIGINT
);
CREATE INDEX party_posts_grid ON party_posts(district, grid_code);
CREATE INDEX party_posts_member ON party_posts(member_id);

CREATE TABLE party_service (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    member_id       UUID NOT NULL REFERENCES party_members(id),
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    served_on       TEXT NOT NULL,
    minutes         BIGINT NOT NULL CHECK (minutes BETWEEN 1 AND 1440),
    what            TEXT NOT NULL,
    activity_id     UUID REFERENCES volunteer_activities(id),
    case_id         UUID REFERENCES cases(id),
    recorded_by     UUID REFERENCES users(id),
    created_at      BIGINT NOT NULL
);
CREATE INDEX party_service_member ON party_service(member_id, served_on);
CREATE INDEX party_service_grid ON party_service(district, grid_code, served_on);

CREATE TABLE party_model_households (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    year            BIGINT NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    household_id    UUID NOT NULL REFERENCES households(id),
    member_id       UUID NOT NULL REFERENCES party_members(id),
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    status          TEXT COLLATE "C" NOT NULL CHECK (status IN ('nominated', 'approved', 'refused', 'published')),
    reason          TEXT NOT NULL DEFAULT '',
    nominated_by    UUID REFERENCES users(id),
    reviewed_by     UUID REFERENCES users(id),
    created_at      BIGINT NOT NULL,
    reviewed_at     BIGINT,
    published_at    BIGINT,
    UNIQUE (household_id, year)
);
CREATE INDEX party_model_households_grid ON party_model_households(district, year, grid_code);
