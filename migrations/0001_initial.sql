-- Stagehand schema, version 1.
-- Times are integers: milliseconds since the Unix epoch, UTC.

-- Twitch users seen in any event. `twitch_id` is stable; login and display name
-- follow renames in place.
CREATE TABLE viewers (
    id           INTEGER PRIMARY KEY,
    twitch_id    TEXT    NOT NULL UNIQUE CHECK (twitch_id <> ''),
    login        TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX idx_viewers_login ON viewers (login);

-- Every event from every source. `seq` is the insertion order (the cursor of
-- `GET /api/events`); `id` is the event's own id, unique across sources. The
-- viewer is kept as seen at event time, and linked to `viewers` when possible.
CREATE TABLE events (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT    NOT NULL UNIQUE,
    kind                TEXT    NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('eventsub', 'poll', 'chat', 'test')),
    channel_id          TEXT    NOT NULL,
    viewer_id           INTEGER REFERENCES viewers (id),
    viewer_twitch_id    TEXT,
    viewer_login        TEXT,
    viewer_display_name TEXT,
    occurred_at         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    details             TEXT    NOT NULL, -- JSON object (written only by serde_json)
    display             TEXT              -- JSON object from formatter plugins
);
CREATE INDEX idx_events_kind ON events (kind, seq);
CREATE INDEX idx_events_channel ON events (channel_id, seq);
CREATE INDEX idx_events_created ON events (created_at);

-- Follow and unfollow history; the latest row per viewer and channel is the
-- current state.
CREATE TABLE follower_history (
    id          INTEGER PRIMARY KEY,
    viewer_id   INTEGER NOT NULL REFERENCES viewers (id),
    channel_id  TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('follow', 'unfollow')),
    followed_at INTEGER,
    detected_at INTEGER NOT NULL
);
CREATE INDEX idx_follower_history_viewer ON follower_history (channel_id, viewer_id, id);

CREATE VIEW current_followers AS
SELECT h.channel_id, h.viewer_id, v.twitch_id, v.login, v.display_name, h.followed_at
FROM follower_history h
JOIN viewers v ON v.id = h.viewer_id
WHERE h.action = 'follow'
  AND h.id = (SELECT MAX(h2.id) FROM follower_history h2
              WHERE h2.channel_id = h.channel_id AND h2.viewer_id = h.viewer_id);

-- Roles held in a channel. `revoked_at` NULL means active; revoked rows stay as
-- history.
CREATE TABLE viewer_roles (
    id         INTEGER PRIMARY KEY,
    viewer_id  INTEGER NOT NULL REFERENCES viewers (id),
    channel_id TEXT    NOT NULL,
    role_type  TEXT    NOT NULL CHECK (role_type IN ('vip', 'moderator', 'broadcaster')),
    granted_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE UNIQUE INDEX idx_viewer_roles_active
    ON viewer_roles (channel_id, role_type, viewer_id) WHERE revoked_at IS NULL;
CREATE INDEX idx_viewer_roles_viewer ON viewer_roles (viewer_id);

-- Subscriptions. `end_date` NULL means active; at most one active per viewer
-- and channel.
CREATE TABLE viewer_subscriptions (
    id                INTEGER PRIMARY KEY,
    viewer_id         INTEGER NOT NULL REFERENCES viewers (id),
    channel_id        TEXT    NOT NULL,
    tier              TEXT    NOT NULL CHECK (tier IN ('1000', '2000', '3000')),
    is_gift           INTEGER NOT NULL DEFAULT 0 CHECK (is_gift IN (0, 1)),
    cumulative_months INTEGER,
    start_date        INTEGER NOT NULL,
    end_date          INTEGER
);
CREATE UNIQUE INDEX idx_viewer_subscriptions_active
    ON viewer_subscriptions (channel_id, viewer_id) WHERE end_date IS NULL;
CREATE INDEX idx_viewer_subscriptions_viewer ON viewer_subscriptions (viewer_id);

-- Per-poller schedule, changeable at run time.
CREATE TABLE polling_config (
    name          TEXT    PRIMARY KEY,
    interval_secs INTEGER NOT NULL CHECK (interval_secs > 0),
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    last_run_at   INTEGER,
    last_error    TEXT,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO polling_config (name, interval_secs, enabled, updated_at) VALUES
    ('followers',     60,   1, 0),
    ('subscriptions', 300,  1, 0),
    ('vips',          300,  1, 0),
    ('moderators',    300,  1, 0),
    ('bans',          120,  1, 0),
    ('clips',         300,  1, 0),
    ('role_sync',     1800, 1, 0);

-- TTS restrictions per viewer: a mute, or a cooldown (minimum gap between
-- messages). `expires_at` NULL means permanent.
CREATE TABLE viewer_tts_rules (
    id           INTEGER PRIMARY KEY,
    viewer_id    INTEGER NOT NULL REFERENCES viewers (id),
    channel_id   TEXT    NOT NULL,
    rule_type    TEXT    NOT NULL CHECK (rule_type IN ('mute', 'cooldown')),
    gap_secs     INTEGER CHECK (gap_secs IS NULL OR gap_secs > 0),
    created_by   TEXT,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    CHECK ((rule_type = 'cooldown') = (gap_secs IS NOT NULL)),
    UNIQUE (channel_id, viewer_id, rule_type)
);
CREATE INDEX idx_viewer_tts_rules_expires ON viewer_tts_rules (expires_at);

-- Per-plugin key-value storage; survives reloads and restarts.
CREATE TABLE plugin_kv (
    plugin     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID;

-- Alerts queued for an overlay, with delivery and acknowledgement state.
CREATE TABLE overlay_alerts (
    id         TEXT    PRIMARY KEY,
    overlay    TEXT    NOT NULL,
    event_id   TEXT,
    plugin     TEXT,
    payload    TEXT    NOT NULL CHECK (json_type(payload) = 'object'),
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    sent_count INTEGER NOT NULL DEFAULT 0,
    acked_at   INTEGER,
    expired_at INTEGER
);
CREATE INDEX idx_overlay_alerts_pending
    ON overlay_alerts (overlay, created_at) WHERE acked_at IS NULL AND expired_at IS NULL;

-- EventSub message ids already handled, so a redelivery (or a restart) never
-- replays one. Pruned past Twitch's 10-minute replay window.
CREATE TABLE eventsub_messages (
    message_id TEXT    PRIMARY KEY,
    seen_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idx_eventsub_messages_seen ON eventsub_messages (seen_at);
