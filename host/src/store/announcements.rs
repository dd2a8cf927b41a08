//! The last announced state of each domain fact (a follow, a role, a
//! subscription, a ban) and the event that announced it: what cross-source
//! de-duplication compares with. See migration 0006.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, to_ms};

/// A fact's last announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Whether the fact was announced as holding (a ban in force) or not
    /// (an unban).
    pub present: bool,
    /// The stored event that announced it.
    pub event_id: String,
    /// `eventsub`, `poll`, ...
    pub source: String,
}

/// The last announcement of `subject` in `channel`.
pub fn last(
    conn: &Connection,
    channel: &str,
    subject: &str,
) -> Result<Option<Announcement>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT present, event_id, source FROM domain_announcements
             WHERE channel_id = ?1 AND subject = ?2",
        )?
        .query_row(params![channel, subject], |r| {
            Ok(Announcement {
                present: r.get(0)?,
                event_id: r.get(1)?,
                source: r.get(2)?,
            })
        })
        .optional()?)
}

/// Records that `event_id` (from `source`) announced `subject` as
/// `present`.
pub fn record(
    conn: &Connection,
    channel: &str,
    subject: &str,
    announcement: &Announcement,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO domain_announcements (channel_id, subject, present, event_id, source, announced_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (channel_id, subject) DO UPDATE SET present = excluded.present,
             event_id = excluded.event_id, source = excluded.source,
             announced_at = excluded.announced_at",
    )?
    .execute(params![
        channel,
        subject,
        announcement.present,
        announcement.event_id,
        announcement.source,
        to_ms(at)
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_ms;
    use crate::store::testing::memory_db;

    #[test]
    fn the_latest_announcement_per_fact_and_channel_is_kept() {
        let conn = memory_db();
        assert_eq!(last(&conn, "1", "ban:42").unwrap(), None);
        let ban = Announcement {
            present: true,
            event_id: "e1".into(),
            source: "poll".into(),
        };
        record(&conn, "1", "ban:42", &ban, from_ms(1)).unwrap();
        let unban = Announcement {
            present: false,
            event_id: "e2".into(),
            source: "eventsub".into(),
        };
        record(&conn, "1", "ban:42", &unban, from_ms(2)).unwrap();
        assert_eq!(last(&conn, "1", "ban:42").unwrap(), Some(unban));
        assert_eq!(last(&conn, "2", "ban:42").unwrap(), None, "per channel");
    }
}
