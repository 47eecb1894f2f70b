-- Photos on cases (report and handling evidence), stored by content hash under the data directory (SQLite).
CREATE TABLE case_attachments (
    id          BLOB PRIMARY KEY,
    case_id     BLOB NOT NULL REFERENCES cases(id),
    district    TEXT NOT NULL REFERENCES districts(code),
    sha256      TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (case_id, sha256)
);
CREATE INDEX case_attachments_case ON case_attachments(case_id, created_at);
