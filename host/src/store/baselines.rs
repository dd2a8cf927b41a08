//! When each poller took its baseline for a channel (`poller_baselines`).
//! The first poll of a channel records the state silently (a streamer with
//! 10,000 followers must not get 10,000 alerts on first start); the row
//! written with that state is what tells later polls to report changes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, from_ms, to_ms};

/// When `poller` took its baseline of `channel_id`, or `None` if it never
/// did (its next poll is the baseline).
pub fn taken_at(
    conn: &Connection,
    poller: &str,
    channel_id: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT baseline_at FROM poller_baselines WHERE name = ?1 AND channel_id = ?2",
        )?
        .query_row(params![poller, channel_id], |r| r.get::<_, i64>(0))
        .optional()?
        .map(from_ms))
}

/// Records that `poller` took its baseline of `channel_id` at `at`; an
/// earlier baseline is kept (true when this one was recorded).
pub fn record(
    conn: &Connection,
    poller: &str,
    channel_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO poller_baselines (name, channel_id, baseline_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name, channel_id) DO NOTHING",
        )?
        .execute(params![poller, channel_id, to_ms(at)])?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::memory_db;

    #[test]
    fn a_baseline_is_per_poller_and_channel_and_the_first_one_stays() {
        let conn = memory_db();
        assert_eq!(taken_at(&conn, "vips", "1").unwrap(), None);
        assert!(record(&conn, "vips", "1", from_ms(1_000)).unwrap());
        assert!(!record(&conn, "vips", "1", from_ms(2_000)).unwrap());
        assert_eq!(taken_at(&conn, "vips", "1").unwrap(), Some(from_ms(1_000)));
        assert_eq!(taken_at(&conn, "vips", "2").unwrap(), None);
        assert_eq!(taken_at(&conn, "bans", "1").unwrap(), None);
    }
}
