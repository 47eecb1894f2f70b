-- 设备告警 (issue 16 §1): what a device's alarm kind becomes, how often each kind of device
-- reports in, when each device was last heard, and every alarm received.

-- Alarm kind → case category, as the district sets it ('' = store the alarm, open no case).
-- A district without rows uses the defaults in src/alarms/rules.rs.
CREATE TABLE alarm_kinds (
    district       TEXT NOT NULL REFERENCES districts(code),
    kind           TEXT NOT NULL,
    label          TEXT NOT NULL,
    category_code  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (district, kind)
);

-- Heartbeat period per device kind (registry's devices.kind), in minutes.
CREATE TABLE device_heartbeat_periods (
    district     TEXT NOT NULL REFERENCES districts(code),
    device_kind  TEXT NOT NULL,
    minutes      BIGINT NOT NULL CHECK (minutes BETWEEN 1 AND 10080),
    PRIMARY KEY (district, device_kind)
);

-- When a device was last heard (heartbeat or alarm).
CREATE TABLE device_seen (
    device_id     BLOB PRIMARY KEY REFERENCES devices(id),
    district      TEXT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);

CREATE TABLE device_alarms (
    id           BLOB PRIMARY KEY,
    district     TEXT NOT NULL,
    serial       TEXT NOT NULL,
    device_id    BLOB REFERENCES devices(id),
    grid_code    TEXT,
    kind         TEXT NOT NULL,
    level        BIGINT CHECK (level BETWEEN 1 AND 3),
    at_ms        BIGINT NOT NULL,
    detail       TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    via          TEXT NOT NULL,
    case_id      BLOB REFERENCES cases(id),
    outcome      TEXT NOT NULL,
    why          TEXT NOT NULL DEFAULT '',
    fingerprint  TEXT NOT NULL UNIQUE
);
CREATE INDEX device_alarms_device ON device_alarms(device_id, at_ms);
CREATE INDEX device_alarms_grid ON device_alarms(district, grid_code, received_at);
CREATE INDEX device_alarms_outcome ON device_alarms(district, outcome, received_at);
CREATE INDEX device_alarms_case ON device_alarms(case_id);
