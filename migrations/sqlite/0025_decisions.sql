-- Owners' decisions (业主共同决定, Civil Code art. 278). The property register (专有部分) of a
-- compound: each exclusive unit with its registered area in hundredths of m² (exact, two decimals
-- as in the 不动产登记簿) and its owner: a resident, or a named outside owner (the developer's units
-- are flagged and count as one owner together). `owner_key` is the counting owner the rule sees.
CREATE TABLE property_units (
    id             BLOB PRIMARY KEY,
    district       TEXT NOT NULL REFERENCES districts(code),
    compound_code  TEXT NOT NULL REFERENCES grids(code),
    building_code  TEXT NOT NULL REFERENCES grids(code),
    label          TEXT NOT NULL,
    area_centi     BIGINT NOT NULL CHECK (area_centi > 0),
    resident_id    BLOB REFERENCES residents(id),
    owner_name     TEXT NOT NULL,
    developer      BOOLEAN NOT NULL,
    owner_key      TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (compound_code, label)
);
CREATE INDEX property_units_owner ON property_units (compound_code, owner_key);
CREATE INDEX property_units_resident ON property_units (resident_id);

-- A decision put to a compound's owners: matter 1..9 of art. 278, a voting window, its state
-- (draft → open → closed); the result is computed from the register and the ballots, and kept at
-- closing (passed).
CREATE TABLE decisions (
    id             BLOB PRIMARY KEY,
    district       TEXT NOT NULL REFERENCES districts(code),
    compound_code  TEXT NOT NULL REFERENCES grids(code),
    matter         BIGINT NOT NULL,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    status         TEXT NOT NULL,
    opens_at       BIGINT NOT NULL,
    closes_at      BIGINT NOT NULL,
    passed         BOOLEAN,
    created_by     BLOB REFERENCES users(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX decisions_compound ON decisions (district, compound_code, created_at);

-- One current ballot per counting owner (同意/反对/弃权); a change replaces it (each change is in
-- the audit log). Paper ballots carry the SHA-256 of their photo.
CREATE TABLE decision_ballots (
    decision_id    BLOB NOT NULL REFERENCES decisions(id),
    owner_key      TEXT NOT NULL,
    choice         TEXT NOT NULL,
    channel        TEXT NOT NULL,
    photo_sha256   TEXT NOT NULL,
    cast_by        BLOB REFERENCES users(id),
    cast_at        BIGINT NOT NULL,
    changes        BIGINT NOT NULL,
    PRIMARY KEY (decision_id, owner_key)
);
