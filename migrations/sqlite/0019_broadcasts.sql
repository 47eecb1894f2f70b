-- Broadcasts down the grid (五群): notices and instructions (通知、指令) sent at a grid node to the
-- post-holders of its subtree, their receipts and replies; outside groups (webhooks) per node and
-- the delivery outbox (SQLite).

-- One message. `levels` is a bit set of the grid levels it reaches (bit 1 the district … bit 5 the
-- building; 62 = all). The counts are kept in the transactions that change them.
CREATE TABLE broadcasts (
    id           BLOB PRIMARY KEY,
    district     TEXT NOT NULL REFERENCES districts(code),
    grid_code    TEXT NOT NULL REFERENCES grids(code),
    kind         TEXT NOT NULL CHECK (kind IN ('notice', 'instruction')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    levels       BIGINT NOT NULL CHECK (levels BETWEEN 2 AND 62),
    sender_id    BLOB REFERENCES users(id),
    sender_name  TEXT NOT NULL,
    recipients   BIGINT NOT NULL DEFAULT 0,
    read_count   BIGINT NOT NULL DEFAULT 0,
    acked_count  BIGINT NOT NULL DEFAULT 0,
    replies      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE INDEX broadcasts_grid ON broadcasts(district, grid_code, created_at);
CREATE INDEX broadcasts_sender ON broadcasts(sender_id, created_at);

-- One row per recipient (a person with several posts in the subtree gets one), grouped by the
-- grid node of the post that reached them.
CREATE TABLE broadcast_recipients (
    broadcast_id BLOB NOT NULL REFERENCES broadcasts(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    district     TEXT NOT NULL,
    grid_code    TEXT NOT NULL,
    level        BIGINT NOT NULL,
    sent_at      BIGINT NOT NULL,
    read_at      BIGINT,
    acked_at     BIGINT,
    reminded_at  BIGINT,
    reminders    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (broadcast_id, user_id)
);
CREATE INDEX broadcast_recipients_user ON broadcast_recipients(user_id, sent_at);
CREATE INDEX broadcast_recipients_grid ON broadcast_recipients(broadcast_id, grid_code);

CREATE TABLE broadcast_replies (
    id           BLOB PRIMARY KEY,
    broadcast_id BLOB NOT NULL REFERENCES broadcasts(id),
    district     TEXT NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id),
    user_name    TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX broadcast_replies_broadcast ON broadcast_replies(broadcast_id, created_at);

-- An outside group linked to a grid node: one per node and kind (wecom, dingtalk, generic).
-- `secret` is sealed with the personal-data keys (crate::sealed); '' when none.
CREATE TABLE grid_webhooks (
    id          BLOB PRIMARY KEY,
    district    TEXT NOT NULL REFERENCES districts(code),
    grid_code   TEXT NOT NULL REFERENCES grids(code),
    kind        TEXT NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'generic')),
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (grid_code, kind)
);

-- The outbox: one row per (broadcast, webhook), written with the broadcast. A worker claims due
-- rows with a lease; its id is the delivery id receivers de-duplicate on.
CREATE TABLE broadcast_outbox (
    id            BLOB PRIMARY KEY,
    broadcast_id  BLOB NOT NULL REFERENCES broadcasts(id),
    webhook_id    BLOB NOT NULL REFERENCES grid_webhooks(id),
    district      TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       BIGINT NOT NULL,
    lease_until   BIGINT,
    lease_owner   TEXT NOT NULL DEFAULT '',
    last_error    TEXT NOT NULL DEFAULT '',
    delivered_at  BIGINT,
    created_at    BIGINT NOT NULL,
    UNIQUE (broadcast_id, webhook_id)
);
CREATE INDEX broadcast_outbox_due ON broadcast_outbox(state, next_at);

-- Post-holders of a subtree are found by their node.
CREATE INDEX posts_grid ON posts(grid_code);
CREATE INDEX posts_unit ON posts(unit_id);
