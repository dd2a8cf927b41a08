-- Events from outside Twitch (a Discord bot through Redis, a service's
-- webhook) have the source `external`. SQLite cannot change a CHECK
-- constraint in place, so the events table is rebuilt with the wider one:
-- same columns, same rows, same `seq` values (the API's cursor), and the
-- AUTOINCREMENT counter carries on from the highest one.
CREATE TABLE events_new (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    id                  TEXT    NOT NULL UNIQUE,
    kind                TEXT    NOT NULL,
    source              TEXT    NOT NULL CHECK (source IN ('eventsub', 'poll', 'chat', 'test', 'external')),
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
INSERT INTO events_new (seq, id, kind, source, channel_id, viewer_id, viewer_twitch_id,
                        viewer_login, viewer_display_name, occurred_at, created_at, details, display)
SELECT seq, id, kind, source, channel_id, viewer_id, viewer_twitch_id,
       viewer_login, viewer_display_name, occurred_at, created_at, details, display
FROM events;
-- Keep the counter at least where the old table's was (rows may have been
-- pruned since the highest seq was handed out).
UPDATE sqlite_sequence
SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0))
WHERE name = 'events_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'events_new', seq FROM sqlite_sequence
WHERE name = 'events' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'events_new');
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX idx_events_kind ON events (kind, seq);
CREATE INDEX idx_events_channel ON events (channel_id, seq);
CREATE INDEX idx_events_created ON events (created_at);
