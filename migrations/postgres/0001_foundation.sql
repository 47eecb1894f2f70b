-- Foundation: districts, the five-level grid, the registry, accounts, audit (PostgreSQL).
-- Instants are integer milliseconds UTC; ids are UUIDv7 stored as UUID.

CREATE TABLE districts (
    code        TEXT COLLATE "C" PRIMARY KEY,           -- GB/T 2260, e.g. 411602
    name        TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL
);

-- 网格: codes are hierarchical (a child's code starts with its parent's), so a subtree is a code range.
CREATE TABLE grids (
    code          TEXT COLLATE "C" PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    level         BIGINT NOT NULL CHECK (level BETWEEN 1 AND 5),
    kind          TEXT NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    parent_code   TEXT COLLATE "C" REFERENCES grids(code),
    boundary      TEXT NOT NULL,            -- GeoJSON Polygon
    center_lat    DOUBLE PRECISION NOT NULL,
    center_lng    DOUBLE PRECISION NOT NULL,
    min_lat       DOUBLE PRECISION NOT NULL,
    min_lng       DOUBLE PRECISION NOT NULL,
    max_lat       DOUBLE PRECISION NOT NULL,
    max_lng       DOUBLE PRECISION NOT NULL,
    children      BIGINT NOT NULL DEFAULT 0,  -- direct children
    households    BIGINT NOT NULL DEFAULT 0,  -- whole subtree
    residents     BIGINT NOT NULL DEFAULT 0,  -- whole subtree
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX grids_parent ON grids(parent_code, code);
CREATE INDEX grids_district_level ON grids(district, level, code);

-- 网格长 and other public contacts of a grid node (公示具体负责人及联系方式).
CREATE TABLE grid_contacts (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    role        TEXT NOT NULL,              -- leader, deputy, officer, police, …
    name        TEXT COLLATE "C" NOT NULL,
    phone       TEXT NOT NULL,
    position    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX grid_contacts_grid ON grid_contacts(grid_code, position);

-- 户
CREATE TABLE households (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    unit_no     BIGINT NOT NULL,
    room        TEXT NOT NULL,
    address     TEXT NOT NULL,
    members     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (grid_code, unit_no, room)
);

-- 居民
CREATE TABLE residents (
    id            UUID PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    household_id  UUID NOT NULL REFERENCES households(id),
    grid_code     TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    name          TEXT COLLATE "C" NOT NULL,
    gender        TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date    TEXT NOT NULL,
    id_number     TEXT NOT NULL,
    phone         TEXT NOT NULL,
    id_tail       TEXT COLLATE "C" NOT NULL,
    phone_tail    TEXT COLLATE "C" NOT NULL,
    relation      TEXT NOT NULL,            -- to the household head: 户主, 配偶, 子女, …
    tags          TEXT NOT NULL DEFAULT '', -- comma-joined, mirrors resident_tags
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (district, id_number)
);
CREATE INDEX residents_grid ON residents(district, grid_code, name, id);
CREATE INDEX residents_name ON residents(district, name, grid_code, id);
CREATE INDEX residents_phone_tail ON residents(district, phone_tail);
CREATE INDEX residents_id_tail ON residents(district, id_tail);
CREATE INDEX residents_household ON residents(household_id);

CREATE TABLE resident_tags (
    resident_id UUID NOT NULL REFERENCES residents(id),
    district    TEXT COLLATE "C" NOT NULL,
    tag         TEXT COLLATE "C" NOT NULL,
    grid_code   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (resident_id, tag)
);
CREATE INDEX resident_tags_lookup ON resident_tags(district, tag, grid_code, resident_id);

-- 组织 and 单位: departments, property companies, community committees, party branches, …
CREATE TABLE units (
    id            UUID PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    kind          TEXT NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    grid_code     TEXT COLLATE "C" REFERENCES grids(code),
    credit_code   TEXT,                     -- GB 32100 统一社会信用代码
    contact_name  TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (district, kind, name)
);
CREATE INDEX units_kind ON units(district, kind, name);
CREATE INDEX units_grid ON units(grid_code);

-- Which grids a unit serves (a property company's compounds).
CREATE TABLE unit_grids (
    unit_id     UUID NOT NULL REFERENCES units(id),
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    PRIMARY KEY (unit_id, grid_code)
);
CREATE INDEX unit_grids_grid ON unit_grids(grid_code);

-- 重点场所 and 服务阵地
CREATE TABLE places (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    kind        TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    address     TEXT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lng         DOUBLE PRECISION NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX places_grid ON places(district, grid_code);

-- 设施设备
CREATE TABLE devices (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    kind        TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    serial      TEXT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lng         DOUBLE PRECISION NOT NULL,
    status      TEXT NOT NULL DEFAULT 'normal',
    created_at  BIGINT NOT NULL,
    UNIQUE (district, serial)
);
CREATE INDEX devices_grid ON devices(district, grid_code);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    username      TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

-- A post (岗位): one role held at one grid node or one unit. A person may hold several.
CREATE TABLE posts (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    user_id     UUID NOT NULL REFERENCES users(id),
    role        TEXT NOT NULL,
    grid_code   TEXT COLLATE "C" REFERENCES grids(code),
    unit_id     UUID REFERENCES units(id),
    created_at  BIGINT NOT NULL,
    CHECK ((grid_code IS NULL) <> (unit_id IS NULL))
);
CREATE INDEX posts_user ON posts(user_id);

-- Console cookies and API bearer tokens; only a SHA-256 of the secret is kept.
-- Sessions belong to a user (and so to the user's district); they are short-lived and not sharded.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,              -- cookie | bearer
    csrf        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE audit_log (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL,
    at_ms       BIGINT NOT NULL,
    actor_id    UUID,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(district, at_ms);
CREATE INDEX audit_log_target ON audit_log(target_kind, target_id);
