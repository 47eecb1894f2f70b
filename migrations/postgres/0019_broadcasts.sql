-- Broadcasts down the grid (五群): notices and instructions (通知、指令) sent at a grid node to the
-- post-holders of its subtree, their receipts and replies; outside groups (webhooks) per node and
-- the delivery outbox (PostgreSQL).

-- One message. `levels` is a bit set of the grid levels it reaches (bit 1 the district … bit 5 the
-- building; 62 = all). The counts are kept in the transactions that change them.
CREATE TABLE broadcasts (
    id           UUID PRIMARY KEY,
    district     TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code    TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('notice', 'instruction')),
    title        TEXT COLLATE "C" NOT NULL,
    body         TEXT COLLATE "C" NOT NULL,
    levels       BIGINT NOT NULL CHECK (levels BETWEEN 2 AND 62),
    sender_id    UUID REFERENCES users(id),
    sender_name  TEXT COLLATE "C" NOT NULL,
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
    broadcast_id UUID NOT NULL REFERENCES broadcasts(id),
    user_id      UUID NOT NULL REFERENCES users(id),
    district     TEXT COLLATE "C" NOT NULL,
    grid_code    TEXT COLLATE "C" NOT NULL,
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
    id           UUID PRIMARY KEY,
    broadcast_id UUID NOT NULL REFERENCES broadcasts(id),
    district     TEXT COLLATE "C" NOT NULL,
    user_id      UUID NOT NULL REFERENCES users(id),
    user_name    TEXT COLLATE "C" NOT NULL,
    body         TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX broadcast_replies_broadcast ON broadcast_replies(broadcast_id, created_at);

-- An outside group linked to a grid node: one per node and kind (wecom, dingtalk, generic).
-- `secret` is sealed with the personal-data keys (crate::sealed); '' when none.
CREATE TABLE grid_webhooks (
    id          UUID PRIMARY KEY,
    district    TEXT COLLATE "C" NOT NULL REFERENCES districts(code),
    grid_code   TEXT COLLATE "C" NOT NULL REFERENCES grids(code),
    kind        TEXT COLLATE "C" NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'generic')),
    url         TEXT COLLATE "C" NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (grid_code, kind)
);

-- The outbox: one row per (broadcast, webhook), written with the broadcast. A worker claims due
-- rows with a lease; its id is the delivery id receivers de-duplicate on.
CREATE TABLE broadcast_outbox (
    id            UUID PRIMARY KEY,
    broadcast_id  UUID NOT NULL REFERENCES broadcasts(id),
    webhook_id    UUID NOT NULL REFERENCES grid_webhooks(id),
    district      TEXT COLLATE "C" NOT NULL,
    state         TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       BIGINT NOT NULL,
    lease_until   BIGINT,
    lease_owner   TEXT COLLATE "C" NOT NULL DEFAULT '',
    last_error    TEXT NOT NULL DEFAULT '',
    delivered_at  BIGINT,
    created_at    BIGINT NOT NULL,
    UNIQUE (broadcast_id, webhook_id)
);
CREATE INDEX broadcast_outbox_due ON broadcast_outbox(state, next_at);

-- Post-holders of a subtree are found by their node.
CREATE INDEX posts_grid ON posts(grid_code);
CREATE INDEX posts_unit ON posts(unit_id);
