-- Permissions the streamer granted to plugins (`chat`, `tts_rules`,
-- `webhook:<host>`). A plugin asking for more than it was granted waits.
CREATE TABLE plugin_grants (
    plugin     TEXT    NOT NULL,
    permission TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (plugin, permission)
) WITHOUT ROWID;
