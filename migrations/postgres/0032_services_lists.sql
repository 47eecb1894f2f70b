-- Services for residents, two parts (issue 15). The four lists (四张清单): needs (需求), resources
-- (资源), projects (项目) that match resources to needs, and a project's result (成果); a need is
-- met once a project answering it records its result. Service sites (服务阵地) with rooms, room
-- bookings whose half-hour slots are each taken once (room_slots' primary key: two bookings of
-- one room never overlap, whatever the timing of the requests), and the reception log (接访).

CREATE TABLE service_needs (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    resident_id UUID REFERENCES residents(id),
    kind        TEXT COLLATE "C" NOT NULL CHECK (kind IN ('daily_care', 'health', 'meals_bathing', 'repairs', 'counselling', 'legal_aid', 'employment', 'other')),
    urgency     TEXT COLLATE "C" NOT NULL CHECK (urgency IN ('normal', 'urgent')),
    description TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    source      TEXT COLLATE "C" NOT NULL CHECK (source IN ('resident', 'opinion', 'visit', 'officer')),
    recorded_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX service_needs_grid ON service_needs(district, grid_code, created_at);

CREATE TABLE service_resources (
    id            UUID PRIMARY KEY,
    district      TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code     TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    provider_kind TEXT COLLATE "C" NOT NULL CHECK (provider_kind IN ('unit', 'merchant', 'volunteer_team', 'party_member')),
    provider      TEXT NOT NULL CHECK (length(provider) BETWEEN 1 AND 64),
    kind          TEXT COLLATE "C" NOT NULL CHECK (kind IN ('daily_care', 'health', 'meals_bathing', 'repairs', 'counselling', 'legal_aid', 'employment', 'other')),
    capacity      BIGINT NOT NULL CHECK (capacity BETWEEN 1 AND 100000),
    period        TEXT NOT NULL CHECK (length(period) BETWEEN 1 AND 64),
    description   TEXT NOT NULL CHECK (length(description) <= 500),
    created_at    BIGINT NOT NULL
);
CREATE INDEX service_resources_grid ON service_resources(district, grid_code, created_at);

CREATE TABLE service_projects (
    id         UUID PRIMARY KEY,
    district   TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code  TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    owner      TEXT NOT NULL CHECK (length(owner) BETWEEN 1 AND 64),
    starts_on  TEXT COLLATE "C" NOT NULL CHECK (length(starts_on) = 10),
    ends_on    TEXT COLLATE "C" NOT NULL CHECK (length(ends_on) = 10 AND ends_on >= starts_on),
    created_at BIGINT NOT NULL
);
CREATE INDEX service_projects_grid ON service_projects(district, grid_code, created_at);

CREATE TABLE service_project_needs (
    project_id UUID NOT NULL REFERENCES service_projects(id),
    need_id    UUID NOT NULL REFERENCES service_needs(id),
    PRIMARY KEY (project_id, need_id)
);
CREATE INDEX service_project_needs_need ON service_project_needs(need_id);

CREATE TABLE service_project_resources (
    project_id  UUID NOT NULL REFERENCES service_projects(id),
    resource_id UUID NOT NULL REFERENCES service_resources(id),
    PRIMARY KEY (project_id, resource_id)
);
CREATE INDEX service_project_resources_resource ON service_project_resources(resource_id);

-- One result per project: what was delivered, to how many, the photos' count and the rating.
CREATE TABLE service_results (
    project_id  UUID PRIMARY KEY REFERENCES service_projects(id),
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    delivered   TEXT NOT NULL CHECK (length(delivered) BETWEEN 1 AND 500),
    people      BIGINT NOT NULL CHECK (people BETWEEN 0 AND 1000000),
    photos      BIGINT NOT NULL CHECK (photos BETWEEN 0 AND 100),
    rating      BIGINT CHECK (rating BETWEEN 1 AND 5),
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE TABLE service_sites (
    id         UUID PRIMARY KEY,
    district   TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code  TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    kind       TEXT COLLATE "C" NOT NULL CHECK (kind IN ('party_center', 'civilization', 'warm_station', 'cool_space', 'day_care')),
    address    TEXT NOT NULL CHECK (length(address) <= 128),
    hours      TEXT NOT NULL CHECK (length(hours) <= 64),
    services   TEXT NOT NULL CHECK (length(services) <= 256),
    created_at BIGINT NOT NULL
);
CREATE INDEX service_sites_grid ON service_sites(district, grid_code);

CREATE TABLE site_rooms (
    id      UUID PRIMARY KEY,
    site_id UUID NOT NULL REFERENCES service_sites(id),
    name    TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    seats   BIGINT NOT NULL CHECK (seats BETWEEN 1 AND 1000)
);
CREATE INDEX site_rooms_site ON site_rooms(site_id);

-- Instants in ms; a booking starts and ends on a half hour and lasts at most 12 hours.
CREATE TABLE room_bookings (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    site_id     UUID NOT NULL REFERENCES service_sites(id),
    room_id     UUID NOT NULL REFERENCES site_rooms(id),
    start_ms    BIGINT NOT NULL CHECK (start_ms % 1800000 = 0),
    end_ms      BIGINT NOT NULL CHECK (end_ms % 1800000 = 0 AND end_ms > start_ms AND end_ms - start_ms <= 43200000),
    purpose     TEXT NOT NULL CHECK (length(purpose) BETWEEN 1 AND 100),
    booker_kind TEXT COLLATE "C" NOT NULL CHECK (booker_kind IN ('staff', 'council', 'resident')),
    booked_by   UUID REFERENCES users(id),
    booker_name TEXT NOT NULL,
    cancelled_at BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX room_bookings_room ON room_bookings(room_id, start_ms);
CREATE INDEX room_bookings_site ON room_bookings(site_id, start_ms);
CREATE INDEX room_bookings_user ON room_bookings(booked_by, start_ms);

-- The no-overlap rule: each live booking holds its half-hour slots; a slot is held once.
CREATE TABLE room_slots (
    room_id    UUID NOT NULL REFERENCES site_rooms(id),
    slot_start BIGINT NOT NULL CHECK (slot_start % 1800000 = 0),
    booking_id UUID NOT NULL REFERENCES room_bookings(id),
    PRIMARY KEY (room_id, slot_start)
);
CREATE INDEX room_slots_booking ON room_slots(booking_id);

CREATE TABLE site_receptions (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    site_id     UUID NOT NULL REFERENCES service_sites(id),
    at_ms       BIGINT NOT NULL,
    visitor     TEXT NOT NULL CHECK (length(visitor) BETWEEN 1 AND 32),
    matter      TEXT NOT NULL CHECK (length(matter) BETWEEN 1 AND 500),
    outcome     TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('handled', 'referred')),
    referred_to TEXT NOT NULL CHECK (length(referred_to) <= 64),
    closed_at   BIGINT,
    recorded_by TEXT NOT NULL
);
CREATE INDEX site_receptions_site ON site_receptions(site_id, at_ms);
