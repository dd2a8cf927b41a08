//! Bans and timeouts in force per channel (`viewer_bans`), as last seen by
//! EventSub or the bans poller: the state the poller diffs Helix against.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, from_ms, to_ms};

/// A ban or timeout in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveBan {
    pub viewer_id: i64,
    pub twitch_id: String,
    pub login: String,
    pub banned_at: DateTime<Utc>,
    /// `None` for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub moderator_login: Option<String>,
}

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanUpsert {
    /// There was no ban in force.
    Created,
    /// A ban was in force with another expiry (a timeout became a ban, or
    /// a new timeout replaced one).
    Changed,
    /// The same ban was already recorded.
    Unchanged,
}

/// Records that the viewer is banned until `expires_at` (forever if `None`).
#[allow(clippy::too_many_arguments)]
pub fn upsert(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    banned_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    reason: Option<&str>,
    moderator_login: Option<&str>,
) -> Result<BanUpsert, StoreError> {
    let current: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT expires_at FROM viewer_bans WHERE channel_id = ?1 AND viewer_id = ?2",
        )?
        .query_row(params![channel_id, viewer_id], |r| r.get(0))
        .optional()?;
    // Twitch's times carry sub-second noise between sources: compare to the second.
    let secs = |t: Option<i64>| t.map(|ms| ms.div_euclid(1000));
    let wanted = expires_at.map(to_ms);
    let outcome = match current {
        None => BanUpsert::Created,
        Some(existing) if secs(existing) == secs(wanted) => return Ok(BanUpsert::Unchanged),
        Some(_) => BanUpsert::Changed,
    };
    conn.prepare_cached(
        "INSERT INTO viewer_bans (channel_id, viewer_id, banned_at, expires_at, reason, moderator_login)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (channel_id, viewer_id) DO UPDATE SET
             banned_at = excluded.banned_at, expires_at = excluded.expires_at,
             reason = excluded.reason, moderator_login = excluded.moderator_login",
    )?
    .execute(params![
        channel_id,
        viewer_id,
        to_ms(banned_at),
        wanted,
        reason,
        moderator_login
    ])?;
    Ok(outcome)
}

/// Lifts the viewer's ban; true if one was in force.
pub fn remove(conn: &Connection, channel_id: &str, viewer_id: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM viewer_bans WHERE channel_id = ?1 AND viewer_id = ?2")?
        .execute(params![channel_id, viewer_id])?;
    Ok(n > 0)
}

/// Removes the viewer's timeout if it is still the one expiring at
/// `expires_at` (to the second): a timeout that ran out, reported by the
/// poller, must not lift a ban or a newer timeout recorded meanwhile.
/// True when removed.
pub fn remove_timeout(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "DELETE FROM viewer_bans WHERE channel_id = ?1 AND viewer_id = ?2
             AND expires_at IS NOT NULL AND expires_at / 1000 = ?3 / 1000",
        )?
        .execute(params![channel_id, viewer_id, to_ms(expires_at)])?;
    Ok(n > 0)
}

/// Every ban in force in the channel (expired timeouts included until
/// someone removes them: the poller reports those as ended).
pub fn active(conn: &Connection, channel_id: &str) -> Result<Vec<ActiveBan>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.viewer_id, v.twitch_id, v.login, b.banned_at, b.expires_at, b.reason, b.moderator_login
         FROM viewer_bans b JOIN viewers v ON v.id = b.viewer_id
         WHERE b.channel_id = ?1 ORDER BY v.login",
    )?;
    let rows = stmt
        .query_map([channel_id], |r| {
            Ok(ActiveBan {
                viewer_id: r.get(0)?,
                twitch_id: r.get(1)?,
                login: r.get(2)?,
                banned_at: from_ms(r.get(3)?),
                expires_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
                reason: r.get(5)?,
                moderator_login: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::testing::memory_db;
    use crate::store::viewers;

    #[test]
    fn a_ban_is_created_once_changed_by_a_new_expiry_and_removed() {
        let conn = memory_db();
        let id =
            viewers::get_or_create(&conn, &Viewer::new("9", "troll", "Troll"), Utc::now()).unwrap();
        let at = Utc::now();
        let until = Some(at + chrono::TimeDelta::minutes(10));
        assert_eq!(
            upsert(&conn, "1", id, at, until, Some("spam"), None).unwrap(),
            BanUpsert::Created
        );
        assert_eq!(
            upsert(&conn, "1", id, at, until, Some("spam"), None).unwrap(),
            BanUpsert::Unchanged
        );
        assert_eq!(
            upsert(&conn, "1", id, at, None, None, Some("mod")).unwrap(),
            BanUpsert::Changed
        );
        let bans = active(&conn, "1").unwrap();
        assert_eq!(bans.len(), 1);
        assert_eq!(bans[0].expires_at, None);
        assert_eq!(bans[0].moderator_login.as_deref(), Some("mod"));
        assert!(remove(&conn, "1", id).unwrap());
        assert!(!remove(&conn, "1", id).unwrap());
        assert!(active(&conn, "1").unwrap().is_empty());
    }

    #[test]
    fn only_the_timeout_that_ran_out_is_removed() {
        let conn = memory_db();
        let id =
            viewers::get_or_create(&conn, &Viewer::new("9", "troll", "Troll"), Utc::now()).unwrap();
        let at = from_ms(1_000_000);
        let until = from_ms(1_600_000);
        upsert(&conn, "1", id, at, Some(until), None, None).unwrap();
        let other_expiry = until + chrono::TimeDelta::minutes(5);
        assert!(!remove_timeout(&conn, "1", id, other_expiry).unwrap());
        assert!(
            remove_timeout(&conn, "1", id, until + chrono::TimeDelta::milliseconds(400)).unwrap()
        );
        assert!(active(&conn, "1").unwrap().is_empty());
        upsert(&conn, "1", id, at, None, None, None).unwrap();
        assert!(
            !remove_timeout(&conn, "1", id, until).unwrap(),
            "a permanent ban stays"
        );
        assert_eq!(active(&conn, "1").unwrap().len(), 1);
    }
}
