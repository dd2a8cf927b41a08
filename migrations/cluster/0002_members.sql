-- The pollers' baselines of a channel's lists (subscribers, VIPs,
-- moderators, bans): who was on each list when it was last polled. A list
-- has a row in member_lists once its first poll recorded it (its baseline,
-- even when empty); `generation` counts the changes recorded since, and
-- makes the ids of the events a poll publishes (the same change found again
-- before it was recorded gets the same id, a later one another).

CREATE TABLE member_lists (
    channel_id TEXT NOT NULL REFERENCES channels (id),
    list TEXT NOT NULL CHECK (list IN ('subscribers', 'vips', 'moderators', 'banned')),
    generation BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, list)
);

CREATE TABLE channel_members (
    channel_id TEXT NOT NULL,
    list TEXT NOT NULL,
    user_id TEXT NOT NULL,
    login TEXT NOT NULL,
    display_name TEXT NOT NULL,
    -- JSON object: what the list says beyond the names (a sub's tier, a
    -- ban's expiry and reason).
    data TEXT NOT NULL,
    PRIMARY KEY (channel_id, list, user_id),
    FOREIGN KEY (channel_id, list) REFERENCES member_lists (channel_id, list)
);
