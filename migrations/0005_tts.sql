-- TTS access (issue 7): who may be read aloud, and channel-points grants.

-- The speech settings, one JSON object (validated by the host before it is
-- written; defaults fill what is missing).
CREATE TABLE tts_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    settings   TEXT    NOT NULL CHECK (json_type(settings) = 'object'),
    updated_at INTEGER NOT NULL
);

-- Time-limited TTS access for one viewer (a channel-points redemption, or
-- given in the dashboard). One row per grant; `expired_at` is set by the
-- cleanup job once `expires_at` passed, and the row is deleted 7 days later.
CREATE TABLE tts_grants (
    id         INTEGER PRIMARY KEY,
    channel_id TEXT    NOT NULL,
    viewer_id  INTEGER NOT NULL REFERENCES viewers (id),
    source     TEXT    NOT NULL CHECK (source IN ('channel_points', 'dashboard')),
    granted_by TEXT,
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    expired_at INTEGER
);
CREATE INDEX idx_tts_grants_viewer ON tts_grants (channel_id, viewer_id, expires_at);
CREATE INDEX idx_tts_grants_expires ON tts_grants (expires_at);
