-- Overlays the streamer paused (a cutscene, a break): their alerts wait in
-- `overlay_alerts` until the overlay is resumed. One row per paused overlay;
-- resuming deletes it. Kept here so a paused overlay stays paused across a
-- restart.
CREATE TABLE overlay_pauses (
    overlay   TEXT    PRIMARY KEY,
    paused_at INTEGER NOT NULL
) WITHOUT ROWID;
