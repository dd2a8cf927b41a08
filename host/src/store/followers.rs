//! Follow history: one row per transition (follow, unfollow); the latest row
//! per viewer is the current state, which the `current_followers` view shows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, from_ms, to_ms};

/// A follow state transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowAction {
    Follow,
    Unfollow,
}

impl FollowAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowAction::Follow => "follow",
            FollowAction::Unfollow => "unfollow",
        }
    }
}

/// Records a transition unless the viewer is already in that state; true
/// when a row was written.
pub fn record(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    action: FollowAction,
    followed_at: Option<DateTime<Utc>>,
    detected_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let following = is_following(conn, channel_id, viewer_id)?;
    if following == (action == FollowAction::Follow) {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO follower_history (viewer_id, channel_id, action, followed_at, detected_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        viewer_id,
        channel_id,
        action.as_str(),
        followed_at.map(to_ms),
        to_ms(detected_at)
    ])?;
    Ok(true)
}

/// Whether the viewer follows the channel now.
pub fn is_following(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
) -> Result<bool, StoreError> {
    let last: Option<String> = conn
        .prepare_cached(
            "SELECT action FROM follower_history WHERE channel_id = ?1 AND viewer_id = ?2
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![channel_id, viewer_id], |r| r.get(0))
        .optional()?;
    Ok(last.as_deref() == Some("follow"))
}

/// A viewer's follow state: (following now, when they followed).
pub type FollowState = (bool, Option<DateTime<Utc>>);

/// The viewer's latest transition: `Some((following, followed_at))`, or
/// `None` when no follow was ever recorded.
pub fn latest(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
) -> Result<Option<FollowState>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT action, followed_at FROM follower_history
             WHERE channel_id = ?1 AND viewer_id = ?2 ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![channel_id, viewer_id], |r| {
            Ok((
                r.get::<_, String>(0)? == "follow",
                r.get::<_, Option<i64>>(1)?.map(from_ms),
            ))
        })
        .optional()?)
}

/// Records a follow even if one is current (a re-follow the history
/// missed in between: an unfollow row keeps the history consistent).
pub fn record_refollow(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    followed_at: Option<DateTime<Utc>>,
    detected_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    record(
        conn,
        channel_id,
        viewer_id,
        FollowAction::Unfollow,
        None,
        detected_at,
    )?;
    record(
        conn,
        channel_id,
        viewer_id,
        FollowAction::Follow,
        followed_at,
        detected_at,
    )?;
    Ok(())
}

/// A current follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentFollower {
    pub viewer_id: i64,
    pub twitch_id: String,
    pub login: String,
    pub display_name: String,
    pub followed_at: Option<DateTime<Utc>>,
}

/// Current followers, newest follow first.
pub fn current(conn: &Connection, channel_id: &str) -> Result<Vec<CurrentFollower>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT viewer_id, twitch_id, login, display_name, followed_at FROM current_followers
         WHERE channel_id = ?1 ORDER BY followed_at DESC, login",
    )?;
    let rows = stmt
        .query_map([channel_id], |r| {
            Ok(CurrentFollower {
                viewer_id: r.get(0)?,
                twitch_id: r.get(1)?,
                login: r.get(2)?,
                display_name: r.get(3)?,
                followed_at: r.get::<_, Option<i64>>(4)?.map(from_ms),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A current follower as the store knows them: what the incremental
/// follower walk compares a Helix page against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFollower {
    /// The login the store has (a rename shows as a difference).
    pub login: String,
    /// The display name the store has.
    pub display_name: String,
    /// When they followed, as recorded.
    pub followed_at: Option<DateTime<Utc>>,
}

/// Which of `twitch_ids` follow the channel now, by Twitch user id: one
/// indexed lookup each, so checking a page of 100 stays cheap on a channel
/// with a million followers.
pub fn current_among(
    conn: &Connection,
    channel_id: &str,
    twitch_ids: &[&str],
) -> Result<HashMap<String, KnownFollower>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.login, v.display_name, h.action, h.followed_at
         FROM viewers v JOIN follower_history h ON h.viewer_id = v.id
         WHERE v.twitch_id = ?1 AND h.channel_id = ?2
         ORDER BY h.id DESC LIMIT 1",
    )?;
    let mut known = HashMap::new();
    for &id in twitch_ids {
        let latest = stmt
            .query_row(params![id, channel_id], |r| {
                Ok((
                    r.get::<_, String>(2)? == "follow",
                    KnownFollower {
                        login: r.get(0)?,
                        display_name: r.get(1)?,
                        followed_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
                    },
                ))
            })
            .optional()?;
        if let Some((true, follower)) = latest {
            known.insert(id.to_owned(), follower);
        }
    }
    Ok(known)
}

/// Calls `each(twitch_id, login, display_name, followed_at)` for every
/// current follower without collecting rows, so a full scan can hold a
/// million followers compactly. Returns how many there were.
pub fn for_each_current(
    conn: &Connection,
    channel_id: &str,
    mut each: impl FnMut(&str, &str, &str, Option<DateTime<Utc>>),
) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT twitch_id, login, display_name, followed_at FROM current_followers
         WHERE channel_id = ?1",
    )?;
    let mut rows = stmt.query([channel_id])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        let text = |i: usize| -> Result<&str, StoreError> {
            row.get_ref(i)?.as_str().map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
                    .into()
            })
        };
        let followed_at = row.get::<_, Option<i64>>(3)?.map(from_ms);
        each(text(0)?, text(1)?, text(2)?, followed_at);
        count += 1;
    }
    Ok(count)
}

/// The newest `followed_at` ever recorded for the channel: how far up the
/// follower list the store has seen.
pub fn newest_followed_at(
    conn: &Connection,
    channel_id: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let newest: Option<i64> = conn
        .prepare_cached(
            "SELECT MAX(followed_at) FROM follower_history
             WHERE channel_id = ?1 AND action = 'follow'",
        )?
        .query_row([channel_id], |r| r.get(0))?;
    Ok(newest.map(from_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::testing::memory_db;
    use crate::store::viewers;

    #[test]
    fn history_records_transitions_and_the_view_shows_current_followers() {
        let conn = memory_db();
        let a = viewers::get_or_create(&conn, &Viewer::new("1", "a", "A"), from_ms(0)).unwrap();
        let b = viewers::get_or_create(&conn, &Viewer::new("2", "b", "B"), from_ms(0)).unwrap();
        assert!(
            record(
                &conn,
                "c",
                a,
                FollowAction::Follow,
                Some(from_ms(10)),
                from_ms(11)
            )
            .unwrap()
        );
        assert!(
            !record(
                &conn,
                "c",
                a,
                FollowAction::Follow,
                Some(from_ms(10)),
                from_ms(12)
            )
            .unwrap()
        );
        assert!(
            record(
                &conn,
                "c",
                b,
                FollowAction::Follow,
                Some(from_ms(20)),
                from_ms(21)
            )
            .unwrap()
        );
        assert!(!record(&conn, "c", b, FollowAction::Follow, None, from_ms(22)).unwrap());

        let logins: Vec<_> = current(&conn, "c")
            .unwrap()
            .into_iter()
            .map(|f| f.login)
            .collect();
        assert_eq!(logins, vec!["b", "a"]);

        assert!(record(&conn, "c", a, FollowAction::Unfollow, None, from_ms(30)).unwrap());
        assert!(!record(&conn, "c", a, FollowAction::Unfollow, None, from_ms(31)).unwrap());
        assert!(!is_following(&conn, "c", a).unwrap());
        let now: Vec<_> = current(&conn, "c")
            .unwrap()
            .into_iter()
            .map(|f| f.login)
            .collect();
        assert_eq!(now, vec!["b"]);

        assert!(
            record(
                &conn,
                "c",
                a,
                FollowAction::Follow,
                Some(from_ms(40)),
                from_ms(41)
            )
            .unwrap()
        );
        assert_eq!(current(&conn, "c").unwrap()[0].login, "a");
        assert!(current(&conn, "other").unwrap().is_empty());
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM follower_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 4);
    }

    #[test]
    fn current_followers_are_found_by_twitch_id_and_visited() {
        let conn = memory_db();
        let a = viewers::get_or_create(&conn, &Viewer::new("1", "a", "A"), from_ms(0)).unwrap();
        let b = viewers::get_or_create(&conn, &Viewer::new("2", "b", "B"), from_ms(0)).unwrap();
        viewers::get_or_create(&conn, &Viewer::new("3", "c", "C"), from_ms(0)).unwrap();
        assert_eq!(newest_followed_at(&conn, "c").unwrap(), None);
        record(
            &conn,
            "c",
            a,
            FollowAction::Follow,
            Some(from_ms(10)),
            from_ms(11),
        )
        .unwrap();
        record(
            &conn,
            "c",
            b,
            FollowAction::Follow,
            Some(from_ms(20)),
            from_ms(21),
        )
        .unwrap();
        record(&conn, "c", b, FollowAction::Unfollow, None, from_ms(30)).unwrap();
        let known = current_among(&conn, "c", &["1", "2", "3", "404"]).unwrap();
        assert_eq!(known.len(), 1, "only current followers: {known:?}");
        assert_eq!(
            known["1"],
            KnownFollower {
                login: "a".into(),
                display_name: "A".into(),
                followed_at: Some(from_ms(10)),
            }
        );
        assert!(current_among(&conn, "other", &["1"]).unwrap().is_empty());
        let mut seen = Vec::new();
        let n = for_each_current(&conn, "c", |id, login, name, at| {
            seen.push((id.to_owned(), login.to_owned(), name.to_owned(), at));
        })
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(
            seen,
            vec![("1".into(), "a".into(), "A".into(), Some(from_ms(10)))]
        );
        assert_eq!(newest_followed_at(&conn, "c").unwrap(), Some(from_ms(20)));
    }

    #[test]
    fn an_unfollow_of_a_non_follower_writes_nothing() {
        let conn = memory_db();
        let a = viewers::get_or_create(&conn, &Viewer::new("1", "a", "A"), from_ms(0)).unwrap();
        assert!(!record(&conn, "c", a, FollowAction::Unfollow, None, from_ms(1)).unwrap());
    }
}
