-- Volunteers and points (志愿服务与爱心积分): teams, volunteers, activities, the points ledger,
-- love supermarkets and merchants, redemptions (PostgreSQL).
-- Points are money-like: every change is a balanced transaction of postings (sum zero), appended
-- and never edited; account balances are a cache that `gongzhi points audit` re-derives.

-- 志愿服务队: 总队 corps, 常设队 standing, 特色队 special, 社区治理队 governance, 城市创建队 city creation.
-- A team belongs to a grid node (the district code for district-wide teams) and may belong to a unit.
CREATE TABLE volunteer_teams (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    kind        TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    unit_id     UUID REFERENCES units(id),
    leader_id   UUID,                       -- a volunteer (the team leader may organise its activities)
    members     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (district, name)
);
CREATE INDEX volunteer_teams_grid ON volunteer_teams(district, grid_code, name);

-- A volunteer is a resident; registered by their community, their unit, or themselves (self).
CREATE TABLE volunteers (
    id              UUID PRIMARY KEY,
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    resident_id     UUID NOT NULL REFERENCES residents(id),
    user_id         UUID REFERENCES users(id),  -- the resident's own account, once linked
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    name            TEXT COLLATE "C" NOT NULL,
    registered_via  TEXT NOT NULL,          -- community | unit | self
    unit_id         UUID REFERENCES units(id),
    minutes         BIGINT NOT NULL DEFAULT 0,  -- service time credited, in minutes
    created_at      BIGINT NOT NULL,
    UNIQUE (district, resident_id),
    UNIQUE (user_id)
);
CREATE INDEX volunteers_grid ON volunteers(district, grid_code, name, id);

CREATE TABLE volunteer_team_members (
    team_id       UUID NOT NULL REFERENCES volunteer_teams(id),
    volunteer_id  UUID NOT NULL REFERENCES volunteers(id),
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    joined_at     BIGINT NOT NULL,
    PRIMARY KEY (team_id, volunteer_id)
);
CREATE INDEX volunteer_team_members_volunteer ON volunteer_team_members(volunteer_id);

-- 一月一主题: a grid node's theme for a month (YYYY-MM, China time).
CREATE TABLE activity_themes (
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    month       TEXT COLLATE "C" NOT NULL,
    title       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (grid_code, month)
);

-- 一周一活动. `code` is shown as a QR code by the organiser for check-in and check-out.
CREATE TABLE volunteer_activities (
    id           UUID PRIMARY KEY,
    district     TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code    TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    team_id      UUID REFERENCES volunteer_teams(id),
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    place        TEXT NOT NULL,
    starts_at    BIGINT NOT NULL,
    ends_at      BIGINT NOT NULL,
    capacity     BIGINT NOT NULL,
    signed_up    BIGINT NOT NULL DEFAULT 0,
    code         TEXT COLLATE "C" NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',   -- open | cancelled
    created_by   UUID REFERENCES users(id),
    created_at   BIGINT NOT NULL,
    CHECK (signed_up >= 0 AND signed_up <= capacity AND ends_at > starts_at)
);
CREATE INDEX volunteer_activities_grid ON volunteer_activities(district, grid_code, starts_at);
CREATE INDEX volunteer_activities_starts ON volunteer_activities(district, starts_at);

CREATE TABLE activity_signups (
    activity_id     UUID NOT NULL REFERENCES volunteer_activities(id),
    volunteer_id    UUID NOT NULL REFERENCES volunteers(id),
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    status          TEXT NOT NULL,          -- signed_up | checked_in | attended | cancelled
    signed_up_at    BIGINT NOT NULL,
    checked_in_at   BIGINT,
    checked_out_at  BIGINT,
    minutes         BIGINT NOT NULL DEFAULT 0,
    points          BIGINT NOT NULL DEFAULT 0,
    transaction_id  UUID,
    PRIMARY KEY (activity_id, volunteer_id)
);
CREATE INDEX activity_signups_volunteer ON activity_signups(volunteer_id, signed_up_at);

-- District-editable points rules: rule code → points (per hour, per case, per meeting, …).
CREATE TABLE points_rules (
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    code        TEXT COLLATE "C" NOT NULL,
    name        TEXT NOT NULL,
    points      BIGINT NOT NULL CHECK (points >= 0),
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (district, code)
);

-- Accounts: the district's issuing account (the source of points; may go negative), one per
-- volunteer, one per shop. `balance` caches the sum of the account's postings.
CREATE TABLE points_accounts (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    kind        TEXT NOT NULL,              -- issuer | volunteer | shop
    owner_id    UUID NOT NULL,              -- volunteer or shop id; the nil UUID for the issuer
    balance     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    UNIQUE (district, kind, owner_id),
    CHECK (kind = 'issuer' OR balance >= 0)
);

-- Append-only. `unique_key` makes a credit happen once (attendance:…, redemption:…, case:…).
CREATE TABLE points_transactions (
    id           UUID PRIMARY KEY,
    district     TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    at_ms        BIGINT NOT NULL,
    kind         TEXT NOT NULL,             -- earn | redeem | correction
    reason       TEXT NOT NULL,
    source_kind  TEXT NOT NULL,             -- rule code, activity, redemption, correction, …
    source_id    TEXT NOT NULL DEFAULT '',
    unique_key   TEXT COLLATE "C",
    reverses_id  UUID,                      -- a correction compensating this transaction
    actor_id     UUID,
    actor_name   TEXT NOT NULL,
    UNIQUE (district, unique_key)
);
CREATE INDEX points_transactions_at ON points_transactions(district, at_ms, id);

CREATE TABLE points_postings (
    id              UUID PRIMARY KEY,
    transaction_id  UUID NOT NULL REFERENCES points_transactions(id),
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    account_id      UUID NOT NULL REFERENCES points_accounts(id),
    amount          BIGINT NOT NULL CHECK (amount <> 0),
    at_ms           BIGINT NOT NULL
);
CREATE INDEX points_postings_tx ON points_postings(transaction_id);
CREATE INDEX points_postings_account ON points_postings(account_id, at_ms);

-- 爱心超市 and partner merchants (商会 members). A shop is a unit (same id); its keepers hold
-- `shop_keeper` posts at that unit.
CREATE TABLE shops (
    id              UUID PRIMARY KEY REFERENCES units(id),
    district        TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    kind            TEXT NOT NULL,          -- love_supermarket | merchant
    name            TEXT COLLATE "C" NOT NULL,
    grid_code       TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    address         TEXT NOT NULL DEFAULT '',
    association_id  UUID REFERENCES units(id),  -- the 商会 a merchant belongs to
    created_at      BIGINT NOT NULL
);
CREATE INDEX shops_grid ON shops(district, grid_code, name);

CREATE TABLE shop_items (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    shop_id     UUID NOT NULL REFERENCES shops(id),
    name        TEXT NOT NULL,
    points      BIGINT,                     -- price in points; NULL for a discount-only offer
    discount    TEXT NOT NULL DEFAULT '',   -- e.g. 凭志愿者证九折
    stock       BIGINT NOT NULL DEFAULT 0,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK (stock >= 0 AND (points IS NULL OR points > 0))
);
CREATE INDEX shop_items_shop ON shop_items(shop_id, name);

-- One-time codes a volunteer shows at the till (valid for minutes).
CREATE TABLE redemption_codes (
    id            UUID PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    volunteer_id  UUID NOT NULL REFERENCES volunteers(id),
    code          TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    UNIQUE (district, code)
);

CREATE TABLE redemptions (
    id               UUID PRIMARY KEY,
    district         TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    shop_id          UUID NOT NULL REFERENCES shops(id),
    item_id          UUID NOT NULL REFERENCES shop_items(id),
    volunteer_id     UUID NOT NULL REFERENCES volunteers(id),
    code_id          UUID NOT NULL REFERENCES redemption_codes(id),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    points           BIGINT NOT NULL,
    transaction_id   UUID NOT NULL REFERENCES points_transactions(id),
    idempotency_key  TEXT COLLATE "C",
    keeper_id        UUID REFERENCES users(id),
    at_ms            BIGINT NOT NULL,
    UNIQUE (district, idempotency_key),
    UNIQUE (code_id)
);
CREATE INDEX redemptions_shop ON redemptions(shop_id, at_ms);
CREATE INDEX redemptions_volunteer ON redemptions(volunteer_id, at_ms);
