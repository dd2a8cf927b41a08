//! EventSub message ids already handled. Twitch delivers at least once and
//! resends with the same id; keeping the ids on disk means neither a resend
//! nor a restart replays an event. Ids older than the replay window are
//! pruned (Twitch's own limit: messages over 10 minutes old are rejected).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{StoreError, to_ms};

/// Marks `message_id` as seen; true when it was not seen before.
pub fn mark_seen(
    conn: &Connection,
    message_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO eventsub_messages (message_id, seen_at) VALUES (?1, ?2)
             ON CONFLICT (message_id) DO NOTHING",
        )?
        .execute(params![message_id, to_ms(at)])?;
    Ok(n > 0)
}

/// Whether `message_id` was seen.
pub fn is_seen(conn: &Connection, message_id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM eventsub_messages WHERE message_id = ?1)")?
        .query_row([message_id], |r| r.get(0))?)
}

/// Forgets ids seen before `cutoff`; returns how many.
pub fn prune(conn: &Connection, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM eventsub_messages WHERE seen_at < ?1")?
        .execute([to_ms(cutoff)])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_ms;
    use crate::store::testing::memory_db;

    #[test]
    fn ids_are_seen_once_and_pruned_by_age() {
        let conn = memory_db();
        assert!(mark_seen(&conn, "m1", from_ms(1_000)).unwrap());
        assert!(!mark_seen(&conn, "m1", from_ms(2_000)).unwrap());
        assert!(mark_seen(&conn, "m2", from_ms(5_000)).unwrap());
        assert!(is_seen(&conn, "m1").unwrap());
        assert_eq!(prune(&conn, from_ms(3_000)).unwrap(), 1);
        assert!(!is_seen(&conn, "m1").unwrap());
        assert!(is_seen(&conn, "m2").unwrap());
    }
}
