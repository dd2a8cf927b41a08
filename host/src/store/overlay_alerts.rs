//! The overlay alert queue: alerts wait here until an overlay acknowledges
//! them, so a reconnecting overlay gets what it missed and never what it
//! already showed.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde_json::Value;

use super::{StoreError, to_ms};

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
    let mut stmt = conn.prepare_cached(
        "SELECT rowid, id, overlay, event_id, plugin, payload, sent_count FROM overlay_alerts
         WHERE overlay = ?1 AND rowid > ?2 AND rowid <= ?3
           AND acked_at IS NULL AND expired_at IS NULL
         ORDER BY rowid LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(params![overlay, after, upto, limit], |r| {
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
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_ms;
    use crate::store::testing::memory_db;
    use serde_json::json;

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
}
