-- What the streamer set for a plugin from the dashboard: whether it runs, and
-- settings that replace the [settings] table of its plugin.toml (NULL: the
-- manifest's own). A plugin with no row is enabled with its manifest's
-- settings.
CREATE TABLE plugin_config (
    plugin     TEXT    PRIMARY KEY,
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    settings   TEXT    CHECK (settings IS NULL OR json_type(settings) = 'object'),
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
