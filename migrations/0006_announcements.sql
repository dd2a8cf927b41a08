-- Which domain changes were announced by a stored event, so that one source
-- (EventSub or a poller) drops an event only when the other already stored an
-- equivalent one. The tables showing no change is not enough: a ban made
-- before Stagehand first polled, or a baseline taken silently, was never
-- announced, and its removal is news.
-- `subject` names the fact: `follow:<user id>`, `role:<vip|moderator>:<user
-- id>`, `sub:<user id>`, `ban:<user id>`; `present` is its announced state.
CREATE TABLE domain_announcements (
    channel_id   TEXT    NOT NULL,
    subject      TEXT    NOT NULL,
    present      INTEGER NOT NULL CHECK (present IN (0, 1)),
    event_id     TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    announced_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, subject)
) WITHOUT ROWID;
