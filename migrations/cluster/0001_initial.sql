-- The cluster's shared schema, written once for PostgreSQL and SQLite (see
-- host/src/storage/migrations.rs for the one substitution, {{bytes}}).
-- Times are BIGINT microseconds since the Unix epoch, JSON is TEXT: both
-- read and compare the same way in the two databases.

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    -- SHA-256 (hex) of the overlay key and of the dashboard token: the
    -- secrets themselves are never stored.
    overlay_key_digest TEXT UNIQUE,
    dashboard_token_digest TEXT UNIQUE,
    -- The Twitch user token sealed with the cluster's token key.
    sealed_user_token {{bytes}},
    created_at BIGINT NOT NULL
);

-- The last event seq and alert position handed out in each channel. A commit
-- locks its channels' rows here first, so seqs are gapless and unique even
-- when several nodes commit to one channel at once.
CREATE TABLE channel_seq (
    channel_id TEXT PRIMARY KEY REFERENCES channels (id),
    last_event BIGINT NOT NULL,
    last_alert BIGINT NOT NULL
);

CREATE TABLE events (
    channel_id TEXT NOT NULL REFERENCES channels (id),
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    stored_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    display TEXT,
    PRIMARY KEY (channel_id, seq),
    UNIQUE (channel_id, id)
);

CREATE TABLE overlay_alerts (
    channel_id TEXT NOT NULL REFERENCES channels (id),
    id TEXT NOT NULL,
    overlay TEXT NOT NULL,
    position BIGINT NOT NULL,
    event_id TEXT,
    plugin TEXT,
    body TEXT NOT NULL,
    queued_at BIGINT NOT NULL,
    acked_at BIGINT,
    PRIMARY KEY (channel_id, position),
    UNIQUE (channel_id, id)
);

-- What an overlay page asks for: its alerts still waiting, in order.
CREATE INDEX overlay_alerts_waiting
    ON overlay_alerts (channel_id, overlay, position)
    WHERE acked_at IS NULL;

CREATE TABLE plugin_kv (
    channel_id TEXT NOT NULL REFERENCES channels (id),
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (channel_id, plugin, key)
);

CREATE TABLE channel_plugins (
    channel_id TEXT NOT NULL REFERENCES channels (id),
    name TEXT NOT NULL,
    package {{bytes}} NOT NULL,
    digest TEXT NOT NULL,
    -- JSON array of permission names.
    granted TEXT NOT NULL,
    settings TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, name)
);

CREATE TABLE known_followers (
    channel_id TEXT NOT NULL REFERENCES channels (id),
    user_id TEXT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);

-- Cluster-wide: which node holds what (worker partitions, pollers).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE stream_cursors (
    partition BIGINT PRIMARY KEY,
    sequence BIGINT NOT NULL
);
