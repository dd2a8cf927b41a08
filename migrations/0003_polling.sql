-- What the pollers compare Helix against, besides the follower, role and
-- subscription tables. EventSub notifications update the same rows (in the
-- transaction that stores their event), so a change one source delivered
-- is known to the other.

-- Bans and timeouts in force, as last seen. `expires_at` NULL = permanent.
CREATE TABLE viewer_bans (
    channel_id      TEXT    NOT NULL,
    viewer_id       INTEGER NOT NULL REFERENCES viewers (id),
    banned_at       INTEGER NOT NULL,
    expires_at      INTEGER,
    reason          TEXT,
    moderator_login TEXT,
    PRIMARY KEY (channel_id, viewer_id)
) WITHOUT ROWID;

-- Clips already announced.
CREATE TABLE seen_clips (
    channel_id TEXT    NOT NULL,
    clip_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, clip_id)
) WITHOUT ROWID;

-- Per poller and channel: when its baseline was taken. The first poll of a
-- channel records the state silently; later ones emit the differences.
CREATE TABLE poller_baselines (
    name        TEXT    NOT NULL,
    channel_id  TEXT    NOT NULL,
    baseline_at INTEGER NOT NULL,
    PRIMARY KEY (name, channel_id)
) WITHOUT ROWID;

-- The full follower scan that finds unfollows runs on its own, slower
-- schedule (a page per 100 followers).
INSERT INTO polling_config (name, interval_secs, enabled, updated_at) VALUES
    ('followers_full', 21600, 1, 0);
