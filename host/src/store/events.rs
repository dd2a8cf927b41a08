//! The `events` table: every event from every source, newest first on read.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use super::{StoreError, from_ms, savepoint, to_ms, viewers};
use crate::event::{Details, Event, EventData, EventKind, Viewer};

/// An event as stored, with what the store added.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Insertion order; the `before` cursor of listings is an event id that
    /// resolves to this.
    pub seq: i64,
    pub event: Event,
    /// When the host stored it.
    pub created_at: DateTime<Utc>,
    /// What formatter plugins made of it (label, icon, color, text), if any.
    pub display: Option<Value>,
}

/// What happened to one insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// Stored with this `seq`.
    New(i64),
    /// An event with this id was already stored; nothing was written.
    Duplicate,
}

/// Stores one event. The viewer is linked to (or created in) `viewers`; if
/// that fails the event is still stored, with no link, and the failure is
/// logged: losing the event would be worse than losing the join.
pub fn insert(
    conn: &Connection,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<Inserted, StoreError> {
    insert_with_display(conn, event, None, now)
}

/// [`insert`] with the formatter's display stored alongside.
pub fn insert_with_display(
    conn: &Connection,
    event: &Event,
    display: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<Inserted, StoreError> {
    let viewer_id = match &event.viewer {
        Some(viewer) => link_viewer(conn, viewer, now, &event.id),
        None => None,
    };
    let details = serde_json::to_string(&event.data.to_details())?;
    let display = display.map(serde_json::to_string).transpose()?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO events (id, kind, source, channel_id, viewer_id, viewer_twitch_id,
                             viewer_login, viewer_display_name, occurred_at, created_at, details, display)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO NOTHING",
    )?;
    let changed = stmt.execute(params![
        event.id,
        event.kind.as_str(),
        event.source.as_str(),
        event.channel_id,
        viewer_id,
        event.viewer.as_ref().map(|v| &v.id),
        event.viewer.as_ref().map(|v| &v.login),
        event.viewer.as_ref().map(|v| &v.display_name),
        to_ms(event.occurred_at),
        to_ms(now),
        details,
        display,
    ])?;
    if changed == 0 {
        Ok(Inserted::Duplicate)
    } else {
        Ok(Inserted::New(conn.last_insert_rowid()))
    }
}

fn link_viewer(
    conn: &Connection,
    viewer: &Viewer,
    now: DateTime<Utc>,
    event_id: &str,
) -> Option<i64> {
    // get_or_create writes with one statement, so a failure undoes only
    // that statement: no savepoint needed.
    match viewers::get_or_create(conn, viewer, now) {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!(
                event_id, viewer = %viewer.id, error = %e,
                "could not record the viewer; the event is kept without a viewer link"
            );
            None
        }
    }
}

/// Stores a batch in one transaction, each event with the display at its
/// index in `displays` if any. Each event succeeds or fails on its
/// own (a bad one does not undo the others; SQLite undoes just the failing
/// statement); results are in input order.
pub fn insert_batch(
    conn: &Connection,
    events: &[Event],
    displays: &[Option<Value>],
    now: DateTime<Utc>,
) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
    savepoint(conn, |c| {
        Ok(events
            .iter()
            .enumerate()
            .map(|(i, e)| insert_with_display(c, e, displays.get(i).and_then(Option::as_ref), now))
            .collect())
    })
}

/// The most rows one pruning statement deletes, so a long-unpruned chat log
/// never holds the writer (and every other write) for long.
pub const PRUNE_BATCH: usize = 5_000;

/// Deletes up to [`PRUNE_BATCH`] events of `kind` stored before `cutoff`,
/// oldest first; returns how many (call again while it returns a full batch).
pub fn prune_kind(
    conn: &Connection,
    kind: &str,
    cutoff: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM events WHERE seq IN (
                 SELECT seq FROM events WHERE kind = ?1 AND created_at < ?2
                 ORDER BY seq LIMIT ?3)",
        )?
        .execute(params![kind, to_ms(cutoff), PRUNE_BATCH as i64])?)
}

/// Attaches a formatter's late display to a stored event that was stored
/// without one; false if there is no such event or it has one already.
pub fn fill_display(conn: &Connection, id: &str, display: &Value) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("UPDATE events SET display = ?2 WHERE id = ?1 AND display IS NULL")?
        .execute(params![id, serde_json::to_string(display)?])?;
    Ok(n > 0)
}

/// A listing: newest first, optionally one channel and one kind, starting
/// below the event `before`.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub channel_id: Option<String>,
    pub kind: Option<String>,
    /// An event id: list only events stored before it.
    pub before: Option<String>,
    pub limit: u32,
}

/// Recent events for `query`, or `None` when the `before` event is unknown.
pub fn recent(
    conn: &Connection,
    query: &EventQuery,
) -> Result<Option<Vec<StoredEvent>>, StoreError> {
    let before_seq = match &query.before {
        Some(id) => match seq_of(conn, id)? {
            Some(seq) => seq,
            None => return Ok(None),
        },
        None => i64::MAX,
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM events
         WHERE seq < ?1
           AND (?2 IS NULL OR channel_id = ?2)
           AND (?3 IS NULL OR kind = ?3)
         ORDER BY seq DESC LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(
            params![before_seq, query.channel_id, query.kind, query.limit],
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(rows))
}

/// A channel's events stored before `before` (a `seq`), newest first.
pub fn of_channel_before(
    conn: &Connection,
    channel_id: &str,
    before: i64,
    limit: u32,
) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE channel_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![channel_id, before, limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A channel's events stored after `after` (a `seq`), oldest first.
pub fn of_channel_after(
    conn: &Connection,
    channel_id: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<StoredEvent>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE channel_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![channel_id, after, limit], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many events of a channel are stored.
pub fn count_of_channel(conn: &Connection, channel_id: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM events WHERE channel_id = ?1")?
        .query_row([channel_id], |r| r.get(0))?)
}

/// How many events each channel id in the file has, most first.
pub fn channel_counts(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel_id, count(*) AS n FROM events GROUP BY channel_id ORDER BY n DESC, channel_id",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One event by id.
pub fn by_id(conn: &Connection, id: &str) -> Result<Option<StoredEvent>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// Whether an event with this id is stored.
pub fn exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(seq_of(conn, id)?.is_some())
}

/// How many events are stored.
pub fn count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?)
}

fn seq_of(conn: &Connection, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq FROM events WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

const COLUMNS: &str = "seq, id, kind, source, channel_id, viewer_twitch_id, viewer_login, \
                       viewer_display_name, occurred_at, created_at, details, display";

fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let source: String = row.get(3)?;
    let viewer = match (
        row.get::<_, Option<String>>(5)?,
        row.get::<_, Option<String>>(6)?,
        row.get::<_, Option<String>>(7)?,
    ) {
        (Some(id), Some(login), Some(display_name)) => Some(Viewer {
            id,
            login,
            display_name,
        }),
        _ => None,
    };
    let details: String = row.get(10)?;
    let details: Details = serde_json::from_str(&details).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let kind = EventKind::from(row.get::<_, String>(2)?);
    let data = EventData::from_stored(&kind, details);
    let display = row
        .get::<_, Option<String>>(11)?
        .and_then(|s| serde_json::from_str(&s).ok());
    Ok(StoredEvent {
        seq: row.get(0)?,
        event: Event {
            id: row.get(1)?,
            kind,
            source: source.parse().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?,
            channel_id: row.get(4)?,
            viewer,
            occurred_at: from_ms(row.get(8)?),
            data,
        },
        created_at: from_ms(row.get(9)?),
        display,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Source;
    use crate::store::testing::memory_db;
    use serde_json::json;

    fn follow(login: &str, id: &str) -> Event {
        Event::new(EventKind::Follow, Source::Eventsub, "100")
            .with_viewer(Viewer::new(id, login, login))
            .with_details(json!({"username": login, "action": "follow"}))
    }

    #[test]
    fn pruning_deletes_only_old_events_of_the_kind() {
        let conn = memory_db();
        let chat = |n: u32| {
            Event::new(EventKind::ChatMessage, Source::Eventsub, "100")
                .with_details(json!({"username": "a", "text": format!("m{n}"), "badges": []}))
        };
        let old = crate::store::from_ms(1_000);
        let new = crate::store::from_ms(9_000);
        insert(&conn, &chat(1), old).unwrap();
        insert(&conn, &chat(2), old).unwrap();
        insert(&conn, &follow("alice", "1"), old).unwrap();
        insert(&conn, &chat(3), new).unwrap();
        let cutoff = crate::store::from_ms(5_000);
        assert_eq!(
            prune_kind(&conn, EventKind::ChatMessage.as_str(), cutoff).unwrap(),
            2
        );
        assert_eq!(
            prune_kind(&conn, EventKind::ChatMessage.as_str(), cutoff).unwrap(),
            0
        );
        assert_eq!(
            count(&conn).unwrap(),
            2,
            "the follow and the new message stay"
        );
    }

    #[test]
    fn an_event_round_trips() {
        let conn = memory_db();
        let e = follow("alice", "1");
        let now = crate::event::now_ms();
        assert!(matches!(insert(&conn, &e, now).unwrap(), Inserted::New(_)));
        let back = by_id(&conn, &e.id).unwrap().unwrap();
        assert_eq!(back.event, e);
        assert_eq!(back.created_at, now);
        assert_eq!(back.display, None);
        let viewer_id: Option<i64> = conn
            .query_row("SELECT viewer_id FROM events WHERE id = ?1", [&e.id], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(viewer_id.is_some());
    }

    #[test]
    fn a_second_insert_of_the_same_id_is_a_duplicate() {
        let conn = memory_db();
        let e = follow("alice", "1");
        let now = crate::event::now_ms();
        assert!(matches!(insert(&conn, &e, now).unwrap(), Inserted::New(_)));
        assert_eq!(insert(&conn, &e, now).unwrap(), Inserted::Duplicate);
        assert_eq!(count(&conn).unwrap(), 1);
    }

    #[test]
    fn unknown_kinds_are_stored_and_read_back() {
        let conn = memory_db();
        let e = Event::new(
            EventKind::from("channel.shoutout.create"),
            Source::Eventsub,
            "100",
        );
        insert(&conn, &e, crate::event::now_ms()).unwrap();
        let back = by_id(&conn, &e.id).unwrap().unwrap();
        assert_eq!(back.event.kind.as_str(), "channel.shoutout.create");
    }

    #[test]
    fn a_viewer_that_cannot_be_created_leaves_viewer_id_null_and_keeps_the_event() {
        let conn = memory_db();
        conn.execute_batch(
            "CREATE TRIGGER no_viewers BEFORE INSERT ON viewers
             BEGIN SELECT RAISE(ABORT, 'viewers table refuses writes'); END;",
        )
        .unwrap();
        let e = follow("bob", "2");
        assert!(matches!(
            insert(&conn, &e, crate::event::now_ms()).unwrap(),
            Inserted::New(_)
        ));
        let viewer_id: Option<i64> = conn
            .query_row("SELECT viewer_id FROM events WHERE id = ?1", [&e.id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(viewer_id, None);
        let back = by_id(&conn, &e.id).unwrap().unwrap();
        assert_eq!(
            back.event.viewer, e.viewer,
            "the viewer as seen is still kept"
        );
    }

    #[test]
    fn a_batch_keeps_the_good_events_when_one_fails() {
        let conn = memory_db();
        let good1 = follow("a", "1");
        let mut bad = follow("b", "2");
        bad.source = Source::Poll;
        let good2 = follow("c", "3");
        conn.execute_batch(
            "CREATE TRIGGER no_polls BEFORE INSERT ON events WHEN NEW.source = 'poll'
             BEGIN SELECT RAISE(ABORT, 'no polls'); END;",
        )
        .unwrap();
        let results = insert_batch(
            &conn,
            &[good1.clone(), bad, good2.clone(), good1.clone()],
            &[],
            crate::event::now_ms(),
        )
        .unwrap();
        assert!(matches!(results[0], Ok(Inserted::New(_))));
        assert!(results[1].is_err());
        assert!(matches!(results[2], Ok(Inserted::New(_))));
        assert!(matches!(results[3], Ok(Inserted::Duplicate)));
        assert_eq!(count(&conn).unwrap(), 2);
        assert!(by_id(&conn, &good2.id).unwrap().is_some());
    }

    #[test]
    fn recent_lists_newest_first_with_kind_channel_and_cursor() {
        let conn = memory_db();
        let now = crate::event::now_ms();
        let mut ids = Vec::new();
        for i in 0..10 {
            let mut e = if i % 2 == 0 {
                follow(&format!("u{i}"), &i.to_string())
            } else {
                Event::new(EventKind::Raid, Source::Eventsub, "100")
            };
            if i == 9 {
                e.channel_id = "200".into();
            }
            insert(&conn, &e, now).unwrap();
            ids.push(e.id);
        }
        let all = recent(
            &conn,
            &EventQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap()
        .unwrap();
        let got: Vec<_> = all.iter().map(|s| s.event.id.clone()).collect();
        let mut want = ids.clone();
        want.reverse();
        assert_eq!(got, want);

        let follows = recent(
            &conn,
            &EventQuery {
                kind: Some("channel.follow".into()),
                limit: 2,
                ..Default::default()
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(follows.len(), 2);
        assert_eq!(follows[0].event.id, ids[8]);
        assert_eq!(follows[1].event.id, ids[6]);

        let page2 = recent(
            &conn,
            &EventQuery {
                kind: Some("channel.follow".into()),
                before: Some(follows[1].event.id.clone()),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .unwrap();
        let got: Vec<_> = page2.iter().map(|s| s.event.id.clone()).collect();
        assert_eq!(got, vec![ids[4].clone(), ids[2].clone(), ids[0].clone()]);

        let other = recent(
            &conn,
            &EventQuery {
                channel_id: Some("200".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].event.id, ids[9]);

        let unknown = recent(
            &conn,
            &EventQuery {
                before: Some("nope".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(unknown.is_none());
    }

    #[test]
    fn a_late_display_fills_in_only_a_missing_one() {
        let conn = memory_db();
        let e = follow("a", "1");
        insert(&conn, &e, crate::event::now_ms()).unwrap();
        let d = json!({"label": "Follow", "icon": "👥", "color": "#0066cc", "text": "a followed"});
        assert!(fill_display(&conn, &e.id, &d).unwrap());
        assert_eq!(
            by_id(&conn, &e.id).unwrap().unwrap().display,
            Some(d.clone())
        );
        assert!(!fill_display(&conn, &e.id, &json!({"label": "other"})).unwrap());
        assert_eq!(by_id(&conn, &e.id).unwrap().unwrap().display, Some(d));
        assert!(!fill_display(&conn, "missing", &json!({})).unwrap());
    }
}
