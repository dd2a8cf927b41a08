//! Time-limited TTS access for one viewer: a channel-points redemption, or
//! a grant made in the dashboard. A grant counts until its `expires_at`;
//! the cleanup job marks it expired afterwards and deletes it 7 days later,
//! so a question like "why was she read aloud yesterday?" can still be
//! answered for a week.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::viewers::ViewerRow;
use super::{StoreError, from_ms, to_ms};

/// How long expired grants are kept before they are deleted.
pub const KEEP_EXPIRED: Duration = Duration::days(7);

/// Where a grant came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantSource {
    /// A viewer redeemed the configured channel-points reward.
    ChannelPoints,
    /// The streamer granted it in the dashboard (or the API).
    Dashboard,
}

impl GrantSource {
    fn as_str(self) -> &'static str {
        match self {
            GrantSource::ChannelPoints => "channel_points",
            GrantSource::Dashboard => "dashboard",
        }
    }

    fn parse(s: &str) -> GrantSource {
        if s == "channel_points" {
            GrantSource::ChannelPoints
        } else {
            GrantSource::Dashboard
        }
    }
}

/// A grant in force.
#[derive(Debug, Clone, PartialEq)]
pub struct TtsGrant {
    pub viewer: ViewerRow,
    pub source: GrantSource,
    pub granted_by: Option<String>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Grants `viewer_id` TTS access for `minutes`. A channel-points grant on
/// top of one in force extends it (two redemptions buy twice the time); a
/// dashboard grant sets the end to `now + minutes`. Returns the new end.
pub fn grant(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    minutes: u32,
    source: GrantSource,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, StoreError> {
    let current: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT id, expires_at FROM tts_grants
             WHERE channel_id = ?1 AND viewer_id = ?2 AND expires_at > ?3
             ORDER BY expires_at DESC LIMIT 1",
        )?
        .query_row(params![channel_id, viewer_id, to_ms(now)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let length = Duration::minutes(i64::from(minutes));
    let until = match (current, source) {
        (Some((_, end)), GrantSource::ChannelPoints) => from_ms(end) + length,
        _ => now + length,
    };
    match current {
        Some((id, _)) => {
            conn.prepare_cached(
                "UPDATE tts_grants SET expires_at = ?2, source = ?3, granted_by = ?4,
                 granted_at = ?5 WHERE id = ?1",
            )?
            .execute(params![id, to_ms(until), source.as_str(), by, to_ms(now)])?;
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO tts_grants
                 (channel_id, viewer_id, source, granted_by, granted_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                channel_id,
                viewer_id,
                source.as_str(),
                by,
                to_ms(now),
                to_ms(until)
            ])?;
        }
    }
    Ok(until)
}

/// Ends a viewer's grants now (kept as expired, like any other); false if
/// none was in force.
pub fn revoke(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE tts_grants SET expires_at = ?3, expired_at = ?3
             WHERE channel_id = ?1 AND viewer_id = ?2 AND expires_at > ?3",
        )?
        .execute(params![channel_id, viewer_id, to_ms(now)])?;
    Ok(n > 0)
}

/// Whether `viewer_id` holds a grant in force at `now`.
pub fn holds(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM tts_grants WHERE channel_id = ?1 AND viewer_id = ?2
             AND expires_at > ?3 LIMIT 1",
        )?
        .query_row(params![channel_id, viewer_id, to_ms(now)], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Grants in force at `now`, soonest expiry first.
pub fn active(
    conn: &Connection,
    channel_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TtsGrant>, StoreError> {
    let sql = format!(
        "SELECT {}, g.source, g.granted_by, g.granted_at, g.expires_at
         FROM tts_grants g JOIN viewers v ON v.id = g.viewer_id
         WHERE g.channel_id = ?1 AND g.expires_at > ?2
         ORDER BY g.expires_at, v.login",
        ViewerRow::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![channel_id, to_ms(now)], |r| {
            let source: String = r.get(6)?;
            Ok(TtsGrant {
                viewer: ViewerRow::from_row(r)?,
                source: GrantSource::parse(&source),
                granted_by: r.get(7)?,
                granted_at: from_ms(r.get(8)?),
                expires_at: from_ms(r.get(9)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What one cleanup pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Grants whose time ran out since the last pass (now marked expired).
    pub expired: usize,
    /// Expired grants older than [`KEEP_EXPIRED`], deleted.
    pub deleted: usize,
}

/// Marks grants past their end as expired and deletes those expired more
/// than [`KEEP_EXPIRED`] ago.
pub fn clean_up(conn: &Connection, now: DateTime<Utc>) -> Result<Cleanup, StoreError> {
    let expired = conn
        .prepare_cached(
            "UPDATE tts_grants SET expired_at = expires_at
             WHERE expired_at IS NULL AND expires_at <= ?1",
        )?
        .execute([to_ms(now)])?;
    let deleted = conn
        .prepare_cached("DELETE FROM tts_grants WHERE expired_at IS NOT NULL AND expired_at <= ?1")?
        .execute([to_ms(now - KEEP_EXPIRED)])?;
    Ok(Cleanup { expired, deleted })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::testing::memory_db;
    use crate::store::viewers;

    fn at(minutes: i64) -> DateTime<Utc> {
        from_ms(1_700_000_000_000) + Duration::minutes(minutes)
    }

    fn viewer(conn: &Connection, login: &str) -> i64 {
        viewers::get_or_create(
            conn,
            &Viewer::new(format!("id-{login}"), login, login),
            at(0),
        )
        .unwrap()
    }

    #[test]
    fn a_grant_counts_until_it_ends() {
        let conn = memory_db();
        let alice = viewer(&conn, "alice");
        assert!(!holds(&conn, "c", alice, at(0)).unwrap());
        let end = grant(&conn, "c", alice, 30, GrantSource::Dashboard, None, at(0)).unwrap();
        assert_eq!(end, at(30));
        assert!(holds(&conn, "c", alice, at(29)).unwrap());
        assert!(!holds(&conn, "c", alice, at(30)).unwrap(), "ends on time");
        assert!(!holds(&conn, "other", alice, at(1)).unwrap(), "per channel");
        let listed = active(&conn, "c", at(1)).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].viewer.login, "alice");
        assert_eq!(listed[0].source, GrantSource::Dashboard);
    }

    #[test]
    fn redemptions_stack_and_dashboard_grants_reset() {
        let conn = memory_db();
        let bob = viewer(&conn, "bob");
        let src = GrantSource::ChannelPoints;
        grant(&conn, "c", bob, 10, src, None, at(0)).unwrap();
        assert_eq!(
            grant(&conn, "c", bob, 10, src, None, at(5)).unwrap(),
            at(20)
        );
        assert_eq!(active(&conn, "c", at(6)).unwrap().len(), 1, "one row");
        let reset = grant(&conn, "c", bob, 5, GrantSource::Dashboard, None, at(6)).unwrap();
        assert_eq!(reset, at(11));
        // After the end, a redemption starts afresh.
        assert_eq!(
            grant(&conn, "c", bob, 10, src, None, at(30)).unwrap(),
            at(40)
        );
    }

    #[test]
    fn revoking_ends_it_now() {
        let conn = memory_db();
        let carol = viewer(&conn, "carol");
        assert!(!revoke(&conn, "c", carol, at(0)).unwrap());
        grant(&conn, "c", carol, 60, GrantSource::Dashboard, None, at(0)).unwrap();
        assert!(revoke(&conn, "c", carol, at(1)).unwrap());
        assert!(!holds(&conn, "c", carol, at(1)).unwrap());
    }

    #[test]
    fn expired_grants_are_kept_seven_days_then_deleted() {
        let conn = memory_db();
        let dave = viewer(&conn, "dave");
        grant(
            &conn,
            "c",
            dave,
            10,
            GrantSource::ChannelPoints,
            None,
            at(0),
        )
        .unwrap();
        assert_eq!(clean_up(&conn, at(5)).unwrap(), Cleanup::default());
        assert_eq!(
            clean_up(&conn, at(11)).unwrap(),
            Cleanup {
                expired: 1,
                deleted: 0
            }
        );
        assert_eq!(clean_up(&conn, at(12)).unwrap(), Cleanup::default(), "once");
        let count = || -> i64 {
            conn.query_row("SELECT COUNT(*) FROM tts_grants", [], |r| r.get(0))
                .unwrap()
        };
        let week = 7 * 24 * 60;
        clean_up(&conn, at(10 + week - 1)).unwrap();
        assert_eq!(count(), 1, "kept for a week");
        assert_eq!(clean_up(&conn, at(10 + week)).unwrap().deleted, 1);
        assert_eq!(count(), 0);
    }
}
