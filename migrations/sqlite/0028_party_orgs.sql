-- Party organisations (党组织): district committee → street 党工委 → community 党委/党总支/党支部 →
-- compound branches (小区党支部), branches in property companies (物业公司党支部) and in co-building
-- units (共建单位). Each sits at a grid node or at a unit.

CREATE TABLE party_orgs (
    id                   BLOB PRIMARY KEY,
    district             TEXT NOT NULL REFERENCES districts(code),
    parent_id            BLOB REFERENCES party_orgs(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('district_committee', 'working_committee', 'committee', 'general_branch', 'branch')),
    name                 TEXT NOT NULL,
    grid_code            TEXT REFERENCES grids(code),
    unit_id              BLOB REFERENCES units(id),
    secretary_user_id    BLOB REFERENCES users(id),
    -- 双报到: a unit's organisation reports to a community or compound (the date it did).
    report_grid          TEXT REFERENCES grids(code),
    reported_on          TEXT,
    created_at           BIGINT NOT NULL,
    CHECK ((grid_code IS NULL) <> (unit_id IS NULL))
);
CREATE INDEX party_orgs_grid ON party_orgs(district, grid_code);
CREATE INDEX party_orgs_unit ON party_orgs(unit_id);
CREATE INDEX party_orgs_parent ON party_orgs(parent_id);
