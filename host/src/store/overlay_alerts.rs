//! The overlay alert queue: alerts wait here until an overlay acknowledges
//! them, so a reconnecting overlay gets what it missed and never what it
//! already showed.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{StoreError, from_ms, to_ms};

/// A queued alert.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedAlert {
    /// Queue order.
    pub rowid: i64,
    pub id: String,
    pub overlay: String,
    pub event_id: Option<String>,
    pub plugin: Option<String>,
    /// The alert fields (title, message, media, tts, duration_ms, html, css).
    pub payload: Value,
    pub sent_count: i64,
}

/// Queues an alert; returns its queue position.
pub fn enqueue(
    conn: &Connection,
    id: &str,
    overlay: &str,
    event_id: Option<&str>,
    plugin: Option<&str>,
    payload: &Value,
    at: DateTime<Utc>,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO overlay_alerts (id, overlay, event_id, plugin, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        overlay,
        event_id,
        plugin,
        serde_json::to_string(payload)?,
        to_ms(at)
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Alerts of `overlay` neither acknowledged nor expired, after queue
/// position `after`, oldest first.
pub fn pending(
    conn: &Connection,
    overlay: &str,
    after: i64,
    upto: i64,
    limit: u32,
) -> Result<Vec<QueuedAlert>, StoreError> {
    between(conn, overlay, after, upto, limit, false)
}

/// Alerts of `overlay` after `after` up to `upto`, oldest first, not
/// withdrawn; with `acknowledged`, also those another page already showed
/// (what a page that fell behind missed while connected).
pub fn between(
    conn: &Connection,
    overlay: &str,
    after: i64,
    upto: i64,
    limit: u32,
    acknowledged: bool,
) -> Result<Vec<QueuedAlert>, StoreError> {
    if acknowledged {
        select(conn, overlay, after, upto, limit, i64::MIN, i64::MIN)
    } else {
        select(conn, overlay, after, upto, limit, i64::MAX, i64::MAX)
    }
}

/// What a page is owed when its overlay is resumed: the alerts of `overlay`
/// after `after` up to `upto`, oldest first, not withdrawn, and either
/// still pending at `since` (the resume) or queued after `horizon` (the
/// last alert stored when the page subscribed: those came while it was
/// connected, so it is owed them even if another page showed them first).
pub fn owed(
    conn: &Connection,
    overlay: &str,
    after: i64,
    upto: i64,
    limit: u32,
    horizon: i64,
    since: DateTime<Utc>,
) -> Result<Vec<QueuedAlert>, StoreError> {
    select(conn, overlay, after, upto, limit, horizon, to_ms(since))
}

/// Alerts of `overlay` in (`after`, `upto`], not withdrawn, that are
/// pending, after `horizon`, or acknowledged at or after `acked_since` (ms).
fn select(
    conn: &Connection,
    overlay: &str,
    after: i64,
    upto: i64,
    limit: u32,
    horizon: i64,
    acked_since: i64,
) -> Result<Vec<QueuedAlert>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT rowid, id, overlay, event_id, plugin, payload, sent_count FROM overlay_alerts
         WHERE overlay = ?1 AND rowid > ?2 AND rowid <= ?3 AND expired_at IS NULL
           AND (acked_at IS NULL OR rowid > ?5 OR acked_at >= ?6)
         ORDER BY rowid LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(
            params![overlay, after, upto, limit, horizon, acked_since],
            |r| {
                let payload: String = r.get(5)?;
                Ok(QueuedAlert {
                    rowid: r.get(0)?,
                    id: r.get(1)?,
                    overlay: r.get(2)?,
                    event_id: r.get(3)?,
                    plugin: r.get(4)?,
                    payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                    sent_count: r.get(6)?,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How long the label of a queued alert may be in the dashboard's list.
const LABEL_CHARS: usize = 200;

/// A waiting alert as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueueEntry {
    pub id: String,
    /// What the alert says: its title, else its message, else its speech
    /// text (a speech item's only text), cut to 200 characters.
    pub title: String,
    /// The kind of the event it came from (None when it came from none, or
    /// that event is no longer stored).
    pub kind: Option<String>,
    pub plugin: Option<String>,
    pub event_id: Option<String>,
    pub queued_at: DateTime<Utc>,
    /// A speech item (chat read aloud, a plugin's `speak`).
    pub speech: bool,
    /// Handed to a page at least once (it may be playing now, or waiting in
    /// a page while the overlay is paused).
    pub sent: bool,
}

/// The first `limit` alerts of `overlay` neither acknowledged nor
/// withdrawn, in play order.
pub fn queued(conn: &Connection, overlay: &str, limit: u32) -> Result<Vec<QueueEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, json_extract(a.payload, '$.title'), json_extract(a.payload, '$.message'),
                json_extract(a.payload, '$.tts'), json_extract(a.payload, '$.speech') IS 1,
                e.kind, a.plugin, a.event_id, a.created_at, a.sent_count
         FROM overlay_alerts a LEFT JOIN events e ON e.id = a.event_id
         WHERE a.overlay = ?1 AND a.acked_at IS NULL AND a.expired_at IS NULL
         ORDER BY a.rowid LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![overlay, limit], |r| {
            // A plugin's fields are strings; anything else reads as empty.
            let text = |i: usize| -> rusqlite::Result<String> {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    _ => String::new(),
                })
            };
            let label = [text(1)?, text(2)?, text(3)?]
                .into_iter()
                .find(|t| !t.trim().is_empty())
                .unwrap_or_default();
            Ok(QueueEntry {
                id: r.get(0)?,
                title: cut(&label, LABEL_CHARS),
                speech: r.get(4)?,
                kind: r.get(5)?,
                plugin: r.get(6)?,
                event_id: r.get(7)?,
                queued_at: from_ms(r.get(8)?),
                sent: r.get::<_, i64>(9)? > 0,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// `text` cut to at most `max` characters, marked with an ellipsis.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// How many alerts of `overlay` wait (neither acknowledged nor withdrawn).
pub fn pending_count(conn: &Connection, overlay: &str) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM overlay_alerts
             WHERE overlay = ?1 AND acked_at IS NULL AND expired_at IS NULL",
        )?
        .query_row([overlay], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// Withdraws every alert of `overlay` still pending; returns their ids in
/// queue order.
pub fn expire_overlay(
    conn: &Connection,
    overlay: &str,
    at: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE overlay_alerts SET expired_at = ?2
         WHERE overlay = ?1 AND acked_at IS NULL AND expired_at IS NULL RETURNING rowid, id",
    )?;
    let mut withdrawn = stmt
        .query_map(params![overlay, to_ms(at)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    withdrawn.sort_unstable();
    Ok(withdrawn.into_iter().map(|(_, id)| id).collect())
}

/// Withdraws alert `id` if it is pending in `overlay`'s queue; false when
/// it is not (unknown, another overlay's, already shown or withdrawn).
pub fn expire_in(
    conn: &Connection,
    overlay: &str,
    id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE overlay_alerts SET expired_at = ?3
             WHERE id = ?1 AND overlay = ?2 AND acked_at IS NULL AND expired_at IS NULL",
        )?
        .execute(params![id, overlay, to_ms(at)])?;
    Ok(n > 0)
}

/// How many alerts each overlay has neither acknowledged nor expired, by
/// overlay name.
pub fn pending_counts(conn: &Connection) -> Result<Vec<(String, u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT overlay, COUNT(*) FROM overlay_alerts
         WHERE acked_at IS NULL AND expired_at IS NULL
         GROUP BY overlay ORDER BY overlay",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Records that alerts were sent to an overlay.
pub fn mark_sent(conn: &Connection, ids: &[String], at: DateTime<Utc>) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE overlay_alerts SET sent_at = ?2, sent_count = sent_count + 1 WHERE id = ?1",
    )?;
    for id in ids {
        stmt.execute(params![id, to_ms(at)])?;
    }
    Ok(())
}

/// The alerts of `overlay` waiting for an acknowledgement (neither
/// acknowledged nor expired), oldest first, each with when it was queued.
pub fn unacknowledged(
    conn: &Connection,
    overlay: &str,
    limit: u32,
) -> Result<Vec<(QueuedAlert, DateTime<Utc>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT rowid, id, overlay, event_id, plugin, payload, sent_count, created_at
         FROM overlay_alerts
         WHERE overlay = ?1 AND acked_at IS NULL AND expired_at IS NULL
         ORDER BY rowid LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![overlay, limit], |r| {
            let payload: String = r.get(5)?;
            let alert = QueuedAlert {
                rowid: r.get(0)?,
                id: r.get(1)?,
                overlay: r.get(2)?,
                event_id: r.get(3)?,
                plugin: r.get(4)?,
                payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
                sent_count: r.get(6)?,
            };
            Ok((alert, from_ms(r.get(7)?)))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether an alert with this id is queued (in any state).
pub fn exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM overlay_alerts WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Acknowledges an alert of `overlay`; false if unknown or already acknowledged.
pub fn ack(
    conn: &Connection,
    overlay: &str,
    id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE overlay_alerts SET acked_at = ?3 WHERE id = ?1 AND overlay = ?2 AND acked_at IS NULL",
        )?
        .execute(params![id, overlay, to_ms(at)])?;
    Ok(n > 0)
}

/// Acknowledges an alert of `overlay` still waiting (neither acknowledged
/// nor expired): what [`unacknowledged`] lists; false for any other.
pub fn ack_waiting(
    conn: &Connection,
    overlay: &str,
    id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE overlay_alerts SET acked_at = ?3
             WHERE id = ?1 AND overlay = ?2 AND acked_at IS NULL AND expired_at IS NULL",
        )?
        .execute(params![id, overlay, to_ms(at)])?;
    Ok(n > 0)
}

/// Speech waiting in any overlay's queue (sent or not, not acknowledged),
/// in queue order: what the dashboard's speech queue lists.
pub fn pending_speech(conn: &Connection) -> Result<Vec<QueuedSpeech>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, overlay, payload, created_at, sent_count FROM overlay_alerts
         WHERE acked_at IS NULL AND expired_at IS NULL
           AND json_extract(payload, '$.speech') = 1
         ORDER BY rowid",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let payload: String = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, payload, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<Vec<(String, String, String, i64, i64)>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(id, overlay, payload, created, sent)| {
            let payload: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
            let field = |k: &str| payload[k].as_str().unwrap_or_default().to_owned();
            QueuedSpeech {
                id,
                overlay,
                login: field("viewer"),
                display_name: field("viewer_name"),
                text: field("tts"),
                queued_at: from_ms(created),
                sent: sent > 0,
            }
        })
        .collect())
}

/// A speech item as the dashboard lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueuedSpeech {
    pub id: String,
    pub overlay: String,
    /// The viewer whose chat it reads ("" for a plugin's own speech).
    pub login: String,
    /// How the viewer's name is shown ("" for a plugin's own speech).
    pub display_name: String,
    pub text: String,
    pub queued_at: DateTime<Utc>,
    /// Handed to a page at least once (it may be playing now).
    pub sent: bool,
}

/// Pending speech of one viewer (by login), as (id, overlay).
pub fn pending_speech_of(
    conn: &Connection,
    login: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, overlay FROM overlay_alerts
         WHERE acked_at IS NULL AND expired_at IS NULL
           AND json_extract(payload, '$.speech') = 1
           AND json_extract(payload, '$.viewer') = ?1
         ORDER BY rowid",
    )?;
    let rows = stmt
        .query_map([login], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// How many speech items wait (not acknowledged), across overlays.
pub fn pending_speech_count(conn: &Connection) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM overlay_alerts
             WHERE acked_at IS NULL AND expired_at IS NULL
               AND json_extract(payload, '$.speech') = 1",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(n.max(0) as usize)
}

/// Withdraws pending alerts: they are never sent again. Returns the
/// (id, overlay) of those that were still pending.
pub fn expire(
    conn: &Connection,
    ids: &[String],
    at: DateTime<Utc>,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE overlay_alerts SET expired_at = ?2
         WHERE id = ?1 AND acked_at IS NULL AND expired_at IS NULL RETURNING overlay",
    )?;
    let mut withdrawn = Vec::new();
    for id in ids {
        if let Some(overlay) = stmt
            .query_row(params![id, to_ms(at)], |r| r.get::<_, String>(0))
            .optional()?
        {
            withdrawn.push((id.clone(), overlay));
        }
    }
    Ok(withdrawn)
}

/// The queue position of the last alert stored (0 for none).
pub fn last_position(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(rowid), 0) FROM overlay_alerts")?
        .query_row([], |r| r.get(0))?)
}

/// Deletes up to `batch` alerts acknowledged or withdrawn before `before`:
/// they will never be sent again, and the table must not grow forever.
/// Returns how many were deleted.
pub fn prune_done(
    conn: &Connection,
    before: DateTime<Utc>,
    batch: usize,
) -> Result<usize, StoreError> {
    let n = conn
        .prepare_cached(
            "DELETE FROM overlay_alerts WHERE rowid IN (
                SELECT rowid FROM overlay_alerts
                WHERE COALESCE(acked_at, expired_at) < ?1
                LIMIT ?2)",
        )?
        .execute(params![to_ms(before), batch as i64])?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_ms;
    use crate::store::testing::memory_db;
    use serde_json::json;

    #[test]
    fn a_page_that_fell_behind_gets_acknowledged_alerts_too_but_never_withdrawn_ones() {
        let conn = memory_db();
        for id in ["a", "b", "c"] {
            enqueue(
                &conn,
                id,
                "alerts",
                None,
                None,
                &json!({"title": id}),
                from_ms(1),
            )
            .unwrap();
        }
        ack(&conn, "alerts", "a", from_ms(2)).unwrap();
        expire(&conn, &["c".into()], from_ms(2)).unwrap();
        let ids = |alerts: Vec<QueuedAlert>| alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(
            ids(pending(&conn, "alerts", 0, i64::MAX, 10).unwrap()),
            vec!["b"]
        );
        assert_eq!(
            ids(between(&conn, "alerts", 0, i64::MAX, 10, true).unwrap()),
            vec!["a", "b"]
        );
    }

    #[test]
    fn old_finished_alerts_are_pruned_and_pending_ones_kept() {
        let conn = memory_db();
        for (id, at) in [
            ("old-acked", 1),
            ("old-expired", 2),
            ("new-acked", 3),
            ("pending", 4),
        ] {
            enqueue(
                &conn,
                id,
                "alerts",
                None,
                None,
                &json!({"title": id}),
                from_ms(at),
            )
            .unwrap();
        }
        ack(&conn, "alerts", "old-acked", from_ms(10)).unwrap();
        expire(&conn, &["old-expired".into()], from_ms(20)).unwrap();
        ack(&conn, "alerts", "new-acked", from_ms(1_000)).unwrap();
        assert_eq!(
            prune_done(&conn, from_ms(500), 1).unwrap(),
            1,
            "one batch at a time"
        );
        assert_eq!(prune_done(&conn, from_ms(500), 100).unwrap(), 1);
        assert_eq!(prune_done(&conn, from_ms(500), 100).unwrap(), 0);
        let left: Vec<String> = conn
            .prepare("SELECT id FROM overlay_alerts ORDER BY rowid")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(left, vec!["new-acked", "pending"]);
    }

    #[test]
    fn pending_alerts_are_those_not_acknowledged_in_queue_order() {
        let conn = memory_db();
        let a = enqueue(
            &conn,
            "a",
            "alerts",
            Some("e1"),
            Some("p"),
            &json!({"title": "A"}),
            from_ms(1),
        )
        .unwrap();
        enqueue(
            &conn,
            "b",
            "alerts",
            None,
            None,
            &json!({"title": "B"}),
            from_ms(2),
        )
        .unwrap();
        enqueue(
            &conn,
            "c",
            "other",
            None,
            None,
            &json!({"title": "C"}),
            from_ms(3),
        )
        .unwrap();
        let p = pending(&conn, "alerts", 0, i64::MAX, 10).unwrap();
        assert_eq!(
            p.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        let upto_a = pending(&conn, "alerts", 0, a, 10).unwrap();
        assert_eq!(upto_a.len(), 1, "nothing after the horizon");
        assert_eq!(upto_a[0].id, "a");
        assert_eq!(p[0].payload["title"], "A");
        mark_sent(&conn, &["a".into()], from_ms(4)).unwrap();
        assert!(ack(&conn, "alerts", "a", from_ms(5)).unwrap());
        assert!(
            !ack(&conn, "alerts", "a", from_ms(6)).unwrap(),
            "acknowledged once"
        );
        assert!(
            !ack(&conn, "other", "b", from_ms(6)).unwrap(),
            "another overlay's key cannot ack it"
        );
        let p = pending(&conn, "alerts", 0, i64::MAX, 10).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].id, "b");
        assert_eq!(
            pending(&conn, "alerts", p[0].rowid, i64::MAX, 10)
                .unwrap()
                .len(),
            0
        );
        assert!(a < p[0].rowid);
        assert_eq!(
            pending_counts(&conn).unwrap(),
            vec![("alerts".to_owned(), 1), ("other".to_owned(), 1)]
        );
    }

    #[test]
    fn speech_is_listed_counted_and_withdrawn_per_viewer() {
        let conn = memory_db();
        let speech =
            |login: &str, text: &str| json!({"speech": true, "viewer": login, "tts": text});
        enqueue(
            &conn,
            "s1",
            "alerts",
            None,
            None,
            &speech("alice", "one"),
            from_ms(1),
        )
        .unwrap();
        enqueue(
            &conn,
            "a1",
            "alerts",
            None,
            None,
            &json!({"title": "Follow"}),
            from_ms(2),
        )
        .unwrap();
        enqueue(
            &conn,
            "s2",
            "side",
            None,
            None,
            &speech("bob", "two"),
            from_ms(3),
        )
        .unwrap();
        enqueue(
            &conn,
            "s3",
            "alerts",
            None,
            None,
            &speech("alice", "three"),
            from_ms(4),
        )
        .unwrap();
        let listed = pending_speech(&conn).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|q| (q.id.as_str(), q.login.as_str(), q.text.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("s1", "alice", "one"),
                ("s2", "bob", "two"),
                ("s3", "alice", "three")
            ]
        );
        assert_eq!(pending_speech_count(&conn).unwrap(), 3);
        let alices = pending_speech_of(&conn, "alice").unwrap();
        assert_eq!(
            alices,
            vec![
                ("s1".into(), "alerts".into()),
                ("s3".into(), "alerts".into())
            ]
        );
        assert!(ack(&conn, "alerts", "s1", from_ms(5)).unwrap());
        let ids = vec!["s1".to_owned(), "s3".to_owned(), "nope".to_owned()];
        assert_eq!(
            expire(&conn, &ids, from_ms(6)).unwrap(),
            vec![("s3".into(), "alerts".into())],
            "only what was pending"
        );
        assert_eq!(pending_speech_count(&conn).unwrap(), 1);
        assert!(
            pending(&conn, "alerts", 0, i64::MAX, 10)
                .unwrap()
                .iter()
                .all(|a| a.id == "a1"),
            "withdrawn is never resent"
        );
    }

    #[test]
    fn a_resumed_page_is_owed_what_was_pending_at_the_resume_and_all_that_came_after_it_subscribed()
    {
        let conn = memory_db();
        for (id, at) in [("before", 1), ("shown-early", 2), ("late", 3), ("later", 4)] {
            enqueue(
                &conn,
                id,
                "alerts",
                None,
                None,
                &json!({"title": id}),
                from_ms(at),
            )
            .unwrap();
        }
        let horizon = 2; // the page subscribed after "shown-early" was stored
        ack(&conn, "alerts", "shown-early", from_ms(50)).unwrap();
        // Another page showed these just after the resume at 100.
        ack(&conn, "alerts", "before", from_ms(100)).unwrap();
        ack(&conn, "alerts", "late", from_ms(120)).unwrap();
        expire(&conn, &["later".into()], from_ms(130)).unwrap();
        let ids = |alerts: Vec<QueuedAlert>| alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(
            ids(owed(&conn, "alerts", 0, i64::MAX, 10, horizon, from_ms(100)).unwrap()),
            vec!["before", "late"],
            "not what was shown before the resume, nor what was withdrawn"
        );
        assert_eq!(
            ids(owed(&conn, "alerts", 1, 3, 10, horizon, from_ms(100)).unwrap()),
            vec!["late"],
            "only after `after` and up to `upto`"
        );
    }

    #[test]
    fn the_queue_lists_waiting_alerts_in_play_order_with_their_event_kind() {
        let conn = memory_db();
        conn.execute(
            "INSERT INTO events (id, kind, source, channel_id, occurred_at, created_at, details)
             VALUES ('ev1', 'channel.raid', 'test', '1', 1, 1, '{}')",
            [],
        )
        .unwrap();
        let long = "x".repeat(300);
        for (id, event, payload) in [
            ("a", Some("ev1"), json!({"title": "Raid!", "message": "m"})),
            ("b", None, json!({"title": "", "message": "only a message"})),
            (
                "s",
                Some("gone"),
                json!({"speech": true, "title": "", "tts": "hi there"}),
            ),
            ("l", None, json!({"title": long, "html": "<b>x</b>"})),
            ("n", None, json!({"title": 5})),
            ("done", None, json!({"title": "shown"})),
            ("other", None, json!({"title": "elsewhere"})),
        ] {
            let overlay = if id == "other" { "side" } else { "alerts" };
            enqueue(
                &conn,
                id,
                overlay,
                event,
                Some("alert-box"),
                &payload,
                from_ms(7),
            )
            .unwrap();
        }
        mark_sent(&conn, &["a".into()], from_ms(8)).unwrap();
        ack(&conn, "alerts", "done", from_ms(9)).unwrap();
        let listed = queued(&conn, "alerts", 10).unwrap();
        let summary: Vec<_> = listed
            .iter()
            .map(|q| {
                (
                    q.id.as_str(),
                    q.title.as_str(),
                    q.kind.as_deref(),
                    q.speech,
                    q.sent,
                )
            })
            .collect();
        let cut_title = format!("{}…", "x".repeat(200));
        assert_eq!(
            summary,
            vec![
                ("a", "Raid!", Some("channel.raid"), false, true),
                ("b", "only a message", None, false, false),
                ("s", "hi there", None, true, false),
                ("l", cut_title.as_str(), None, false, false),
                ("n", "", None, false, false),
            ]
        );
        assert_eq!(listed[0].event_id.as_deref(), Some("ev1"));
        assert_eq!(listed[0].plugin.as_deref(), Some("alert-box"));
        assert_eq!(listed[0].queued_at, from_ms(7));
        assert_eq!(queued(&conn, "alerts", 2).unwrap().len(), 2, "capped");
        assert_eq!(pending_count(&conn, "alerts").unwrap(), 5);
        assert_eq!(pending_count(&conn, "nowhere").unwrap(), 0);
    }

    #[test]
    fn clearing_withdraws_only_that_overlays_waiting_alerts_and_removing_only_its_own() {
        let conn = memory_db();
        for (id, overlay) in [
            ("a", "alerts"),
            ("b", "alerts"),
            ("c", "side"),
            ("d", "alerts"),
        ] {
            enqueue(
                &conn,
                id,
                overlay,
                None,
                None,
                &json!({"title": id}),
                from_ms(1),
            )
            .unwrap();
        }
        ack(&conn, "alerts", "a", from_ms(2)).unwrap();
        assert!(
            !expire_in(&conn, "alerts", "c", from_ms(3)).unwrap(),
            "another overlay's"
        );
        assert!(
            !expire_in(&conn, "alerts", "a", from_ms(3)).unwrap(),
            "already shown"
        );
        assert!(
            !expire_in(&conn, "alerts", "zz", from_ms(3)).unwrap(),
            "unknown"
        );
        assert!(expire_in(&conn, "alerts", "d", from_ms(3)).unwrap());
        assert!(
            !expire_in(&conn, "alerts", "d", from_ms(4)).unwrap(),
            "once"
        );
        enqueue(
            &conn,
            "e",
            "alerts",
            None,
            None,
            &json!({"title": "e"}),
            from_ms(5),
        )
        .unwrap();
        assert_eq!(
            expire_overlay(&conn, "alerts", from_ms(6)).unwrap(),
            vec!["b", "e"]
        );
        assert!(
            expire_overlay(&conn, "alerts", from_ms(7))
                .unwrap()
                .is_empty()
        );
        assert_eq!(pending_counts(&conn).unwrap(), vec![("side".to_owned(), 1)]);
    }
}
