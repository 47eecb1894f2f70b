-- Routing free-text reports (智能分派): one trained model per district (serialised counts, JSON),
-- and the district's auto-dispatch setting. A report without a category is filed by the model's
-- best suggestion and, at or above the threshold, dispatched to the suggested unit by itself.

CREATE TABLE routing_models (
    district   TEXT PRIMARY KEY REFERENCES districts(code),
    trained_at BIGINT NOT NULL,
    examples   BIGINT NOT NULL CHECK (examples >= 0),
    model      TEXT NOT NULL
);

CREATE TABLE routing_settings (
    district      TEXT PRIMARY KEY REFERENCES districts(code),
    auto_dispatch BOOLEAN NOT NULL,
    threshold_pct BIGINT NOT NULL CHECK (threshold_pct BETWEEN 50 AND 100),
    updated_at    BIGINT NOT NULL
);
