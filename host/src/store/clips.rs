//! Clips already announced per channel (`seen_clips`), so the clips poller
//! reports each clip once. Helix lists clips by creation window, so only
//! the clips of the window the poller asks for are needed; older rows are
//! pruned.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{StoreError, from_ms, to_ms};

/// Records the clip as seen; true when it was not seen before.
pub fn mark_seen(
    conn: &Connection,
    channel_id: &str,
    clip_id: &str,
    created_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO seen_clips (channel_id, clip_id, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel_id, clip_id) DO NOTHING",
        )?
        .execute(params![channel_id, clip_id, to_ms(created_at)])?;
    Ok(n > 0)
}

/// Ids of the seen clips created at or after `since`.
pub fn seen_since(
    conn: &Connection,
    channel_id: &str,
    since: DateTime<Utc>,
) -> Result<HashSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT clip_id FROM seen_clips WHERE channel_id = ?1 AND created_at >= ?2",
    )?;
    let ids = stmt
        .query_map(params![channel_id, to_ms(since)], |r| r.get(0))?
        .collect::<Result<HashSet<String>, _>>()?;
    Ok(ids)
}

/// When the newest seen clip was created.
pub fn newest(conn: &Connection, channel_id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let newest: Option<i64> = conn
        .prepare_cached("SELECT MAX(created_at) FROM seen_clips WHERE channel_id = ?1")?
        .query_row([channel_id], |r| r.get(0))?;
    Ok(newest.map(from_ms))
}

/// Forgets clips created before `before` (no poll window reaches them any
/// more); returns how many.
pub fn prune(
    conn: &Connection,
    channel_id: &str,
    before: DateTime<Utc>,
) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM seen_clips WHERE channel_id = ?1 AND created_at < ?2")?
        .execute(params![channel_id, to_ms(before)])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::memory_db;

    #[test]
    fn clips_are_seen_once_listed_by_window_and_pruned() {
        let conn = memory_db();
        assert_eq!(newest(&conn, "1").unwrap(), None);
        assert!(mark_seen(&conn, "1", "a", from_ms(1_000)).unwrap());
        assert!(!mark_seen(&conn, "1", "a", from_ms(1_000)).unwrap());
        assert!(mark_seen(&conn, "1", "b", from_ms(5_000)).unwrap());
        assert!(mark_seen(&conn, "2", "c", from_ms(9_000)).unwrap());
        assert_eq!(newest(&conn, "1").unwrap(), Some(from_ms(5_000)));
        let recent = seen_since(&conn, "1", from_ms(2_000)).unwrap();
        assert_eq!(recent, HashSet::from(["b".to_owned()]));
        assert_eq!(seen_since(&conn, "1", from_ms(0)).unwrap().len(), 2);
        assert_eq!(prune(&conn, "1", from_ms(2_000)).unwrap(), 1);
        assert_eq!(seen_since(&conn, "1", from_ms(0)).unwrap().len(), 1);
        assert_eq!(newest(&conn, "2").unwrap(), Some(from_ms(9_000)));
    }
}
