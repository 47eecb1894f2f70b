-- Frontage responsibility (门前三包). A shop or unit along a street signs an agreement (责任书) for
-- its frontage: 包卫生、包秩序、包绿化 over a segment located in the street's grid, with the
-- street or community that signs for the other party. Patrols check each duty from the phone;
-- failures in a China-time calendar month lead to a notice, then a case (frontage_notices).

CREATE TABLE frontage_agreements (
    id             UUID PRIMARY KEY,
    district       TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code      TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    street_code    TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    shop_name      TEXT NOT NULL CHECK (char_length(shop_name) BETWEEN 1 AND 64),
    address        TEXT NOT NULL CHECK (char_length(address) BETWEEN 1 AND 128),
    signer_name    TEXT NOT NULL CHECK (char_length(signer_name) BETWEEN 1 AND 32),
    signer_phone   TEXT NOT NULL DEFAULT '' CHECK (char_length(signer_phone) <= 20),
    party_name     TEXT NOT NULL CHECK (char_length(party_name) BETWEEN 1 AND 64),
    segment        TEXT NOT NULL CHECK (char_length(segment) BETWEEN 1 AND 200),
    from_lat       DOUBLE PRECISION CHECK (from_lat IS NULL OR from_lat BETWEEN -90 AND 90),
    from_lng       DOUBLE PRECISION CHECK (from_lng IS NULL OR from_lng BETWEEN -180 AND 180),
    to_lat         DOUBLE PRECISION CHECK (to_lat IS NULL OR to_lat BETWEEN -90 AND 90),
    to_lng         DOUBLE PRECISION CHECK (to_lng IS NULL OR to_lng BETWEEN -180 AND 180),
    duties         BIGINT NOT NULL CHECK (duties BETWEEN 1 AND 7),
    signed_on      TEXT NOT NULL CHECK (char_length(signed_on) = 10),
    term_months    BIGINT NOT NULL CHECK (term_months BETWEEN 1 AND 60),
    created_by     UUID REFERENCES users(id),
    created_at     BIGINT NOT NULL
);
CREATE INDEX frontage_agreements_grid ON frontage_agreements(district, grid_code);
CREATE INDEX frontage_agreements_street ON frontage_agreements(district, street_code);

CREATE TABLE frontage_checks (
    id            UUID PRIMARY KEY,
    agreement_id  UUID NOT NULL REFERENCES frontage_agreements(id),
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code     TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    checked_at    BIGINT NOT NULL CHECK (checked_at >= 0),
    month         TEXT NOT NULL CHECK (char_length(month) = 7),
    checked_by    UUID REFERENCES users(id),
    checker_name  TEXT NOT NULL CHECK (char_length(checker_name) <= 64),
    sanitation    BIGINT CHECK (sanitation IS NULL OR sanitation IN (0, 1)),
    orderliness   BIGINT CHECK (orderliness IS NULL OR orderliness IN (0, 1)),
    greenery      BIGINT CHECK (greenery IS NULL OR greenery IN (0, 1)),
    passed        BOOLEAN NOT NULL,
    note          TEXT NOT NULL DEFAULT '' CHECK (char_length(note) <= 500),
    lat           DOUBLE PRECISION CHECK (lat IS NULL OR lat BETWEEN -90 AND 90),
    lng           DOUBLE PRECISION CHECK (lng IS NULL OR lng BETWEEN -180 AND 180),
    photo_sha256  TEXT CHECK (photo_sha256 IS NULL OR char_length(photo_sha256) = 64),
    photo_mime    TEXT,
    CHECK (passed OR photo_sha256 IS NOT NULL)
);
CREATE INDEX frontage_checks_agreement ON frontage_checks(agreement_id, checked_at);
CREATE INDEX frontage_checks_grid ON frontage_checks(district, grid_code, checked_at);

CREATE TABLE frontage_notices (
    id            UUID PRIMARY KEY,
    agreement_id  UUID NOT NULL REFERENCES frontage_agreements(id),
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    month         TEXT NOT NULL CHECK (char_length(month) = 7),
    kind          TEXT NOT NULL CHECK (kind IN ('notice', 'case')),
    check_id      UUID NOT NULL REFERENCES frontage_checks(id),
    case_id       UUID REFERENCES cases(id),
    message       TEXT NOT NULL CHECK (char_length(message) <= 500),
    created_at    BIGINT NOT NULL,
    UNIQUE (agreement_id, month, kind)
);
CREATE INDEX frontage_notices_district ON frontage_notices(district, created_at);
