//! Subscriptions: `end_date` NULL means active, at most one active per viewer
//! and channel; ended ones stay as history.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::viewers::ViewerRow;
use super::{StoreError, from_ms, savepoint, to_ms};

/// A subscription's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionTerms {
    /// "1000", "2000" or "3000".
    pub tier: String,
    pub is_gift: bool,
    /// Known from resub messages; Helix does not tell it.
    pub cumulative_months: Option<u32>,
}

/// An active subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    pub viewer: ViewerRow,
    pub terms: SubscriptionTerms,
    pub start_date: DateTime<Utc>,
}

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new active subscription.
    Created,
    /// The active one changed (tier, gift flag or months).
    Updated,
    /// The active one already had these terms.
    Unchanged,
}

/// Records that the viewer is subscribed with these terms.
pub fn upsert(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    terms: &SubscriptionTerms,
    at: DateTime<Utc>,
) -> Result<Upserted, StoreError> {
    let current: Option<(i64, String, bool, Option<u32>)> = conn
        .prepare_cached(
            "SELECT id, tier, is_gift, cumulative_months FROM viewer_subscriptions
             WHERE channel_id = ?1 AND viewer_id = ?2 AND end_date IS NULL",
        )?
        .query_row(params![channel_id, viewer_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    match current {
        None => {
            conn.prepare_cached(
                "INSERT INTO viewer_subscriptions
                     (viewer_id, channel_id, tier, is_gift, cumulative_months, start_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                viewer_id,
                channel_id,
                terms.tier,
                terms.is_gift,
                terms.cumulative_months,
                to_ms(at)
            ])?;
            Ok(Upserted::Created)
        }
        Some((id, tier, is_gift, months)) => {
            let months_after = terms.cumulative_months.or(months);
            if tier == terms.tier && is_gift == terms.is_gift && months == months_after {
                return Ok(Upserted::Unchanged);
            }
            conn.prepare_cached(
                "UPDATE viewer_subscriptions SET tier = ?2, is_gift = ?3, cumulative_months = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id, terms.tier, terms.is_gift, months_after])?;
            Ok(Upserted::Updated)
        }
    }
}

/// Ends the viewer's active subscription; true if there was one.
pub fn end(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE viewer_subscriptions SET end_date = ?3
             WHERE channel_id = ?1 AND viewer_id = ?2 AND end_date IS NULL",
        )?
        .execute(params![channel_id, viewer_id, to_ms(at)])?;
    Ok(n > 0)
}

/// The viewer's active subscription terms, if subscribed now.
pub fn active_terms(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
) -> Result<Option<SubscriptionTerms>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT tier, is_gift, cumulative_months FROM viewer_subscriptions
             WHERE channel_id = ?1 AND viewer_id = ?2 AND end_date IS NULL",
        )?
        .query_row(params![channel_id, viewer_id], |r| {
            Ok(SubscriptionTerms {
                tier: r.get(0)?,
                is_gift: r.get(1)?,
                cumulative_months: r.get(2)?,
            })
        })
        .optional()?)
}

/// Whether the viewer is subscribed now.
pub fn is_subscriber(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM viewer_subscriptions
             WHERE channel_id = ?1 AND viewer_id = ?2 AND end_date IS NULL)",
        )?
        .query_row(params![channel_id, viewer_id], |r| r.get(0))?)
}

/// Every active subscription in the channel, by login.
pub fn active(conn: &Connection, channel_id: &str) -> Result<Vec<ActiveSubscription>, StoreError> {
    let sql = format!(
        "SELECT {}, s.tier, s.is_gift, s.cumulative_months, s.start_date
         FROM viewer_subscriptions s JOIN viewers v ON v.id = s.viewer_id
         WHERE s.channel_id = ?1 AND s.end_date IS NULL ORDER BY v.login",
        ViewerRow::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map([channel_id], |r| {
            Ok(ActiveSubscription {
                viewer: ViewerRow::from_row(r)?,
                terms: SubscriptionTerms {
                    tier: r.get(6)?,
                    is_gift: r.get(7)?,
                    cumulative_months: r.get(8)?,
                },
                start_date: from_ms(r.get(9)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What a full subscriber sync ([`replace_all`]) changed, so the role sync
/// can report counts the way it does for VIPs and moderators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionSetChange {
    /// Viewers (local ids) who had no active subscription and have one now.
    pub created: Vec<i64>,
    /// Viewers whose active subscription changed terms (tier or gift flag).
    pub updated: Vec<i64>,
    /// Viewers whose active subscription was ended because they were absent.
    pub ended: Vec<i64>,
    /// How many are subscribed afterwards.
    pub active: usize,
}

impl SubscriptionSetChange {
    /// Subscribers present before and after with the same terms.
    pub fn unchanged(&self) -> usize {
        self.active - self.created.len() - self.updated.len()
    }
}

/// Makes `present` (local viewer id, terms) exactly the channel's active
/// subscriptions: upserts everyone present, ends the active subscription of
/// everyone absent (`end_date = at`, the row stays as history). All or
/// nothing, so a failure never leaves half a sync applied. A viewer listed
/// twice counts once, with the first terms given.
pub fn replace_all(
    conn: &Connection,
    channel_id: &str,
    present: &[(i64, SubscriptionTerms)],
    at: DateTime<Utc>,
) -> Result<SubscriptionSetChange, StoreError> {
    savepoint(conn, |c| {
        let mut change = SubscriptionSetChange::default();
        let mut keep = HashSet::with_capacity(present.len());
        for (viewer_id, terms) in present {
            if !keep.insert(*viewer_id) {
                continue;
            }
            match upsert(c, channel_id, *viewer_id, terms, at)? {
                Upserted::Created => change.created.push(*viewer_id),
                Upserted::Updated => change.updated.push(*viewer_id),
                Upserted::Unchanged => {}
            }
        }
        let subscribed: Vec<i64> = c
            .prepare_cached(
                "SELECT viewer_id FROM viewer_subscriptions
                 WHERE channel_id = ?1 AND end_date IS NULL",
            )?
            .query_map([channel_id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for viewer_id in subscribed {
            if !keep.contains(&viewer_id) && end(c, channel_id, viewer_id, at)? {
                change.ended.push(viewer_id);
            }
        }
        change.active = keep.len();
        Ok(change)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::testing::memory_db;
    use crate::store::viewers;

    fn terms(tier: &str, gift: bool, months: Option<u32>) -> SubscriptionTerms {
        SubscriptionTerms {
            tier: tier.into(),
            is_gift: gift,
            cumulative_months: months,
        }
    }

    #[test]
    fn upsert_creates_updates_and_ends() {
        let conn = memory_db();
        let id = viewers::get_or_create(&conn, &Viewer::new("1", "a", "A"), from_ms(0)).unwrap();
        assert_eq!(
            upsert(&conn, "c", id, &terms("1000", true, None), from_ms(1)).unwrap(),
            Upserted::Created
        );
        assert_eq!(
            upsert(&conn, "c", id, &terms("1000", true, None), from_ms(2)).unwrap(),
            Upserted::Unchanged
        );
        assert_eq!(
            upsert(&conn, "c", id, &terms("2000", false, Some(3)), from_ms(3)).unwrap(),
            Upserted::Updated
        );
        // A later update without months keeps the months we knew.
        assert_eq!(
            upsert(&conn, "c", id, &terms("2000", false, None), from_ms(4)).unwrap(),
            Upserted::Unchanged
        );
        assert!(is_subscriber(&conn, "c", id).unwrap());
        let subs = active(&conn, "c").unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].terms, terms("2000", false, Some(3)));
        assert_eq!(subs[0].start_date, from_ms(1));

        assert!(end(&conn, "c", id, from_ms(5)).unwrap());
        assert!(!end(&conn, "c", id, from_ms(6)).unwrap());
        assert!(!is_subscriber(&conn, "c", id).unwrap());
        assert!(active(&conn, "c").unwrap().is_empty());

        assert_eq!(
            upsert(&conn, "c", id, &terms("1000", false, None), from_ms(7)).unwrap(),
            Upserted::Created
        );
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM viewer_subscriptions", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(rows, 2, "the ended subscription stays as history");
    }

    #[test]
    fn a_bad_tier_is_refused() {
        let conn = memory_db();
        let id = viewers::get_or_create(&conn, &Viewer::new("1", "a", "A"), from_ms(0)).unwrap();
        assert!(upsert(&conn, "c", id, &terms("prime", false, None), from_ms(1)).is_err());
    }

    fn viewer(conn: &Connection, id: &str) -> i64 {
        viewers::get_or_create(conn, &Viewer::new(id, format!("user{id}"), id), from_ms(0)).unwrap()
    }

    #[test]
    fn replace_all_upserts_present_and_ends_absent() {
        let conn = memory_db();
        let (a, b, c, d) = (
            viewer(&conn, "1"),
            viewer(&conn, "2"),
            viewer(&conn, "3"),
            viewer(&conn, "4"),
        );
        let first = replace_all(
            &conn,
            "c",
            &[
                (a, terms("1000", false, None)),
                (b, terms("2000", true, None)),
                (c, terms("3000", false, None)),
            ],
            from_ms(1),
        )
        .unwrap();
        assert_eq!(first.created, vec![a, b, c]);
        assert!(first.updated.is_empty() && first.ended.is_empty());
        assert_eq!((first.active, first.unchanged()), (3, 0));

        // b changes tier, c leaves, d arrives (listed twice), a stays.
        let second = replace_all(
            &conn,
            "c",
            &[
                (a, terms("1000", false, None)),
                (b, terms("1000", true, None)),
                (d, terms("1000", false, None)),
                (d, terms("3000", false, None)),
            ],
            from_ms(2),
        )
        .unwrap();
        assert_eq!(second.created, vec![d]);
        assert_eq!(second.updated, vec![b]);
        assert_eq!(second.ended, vec![c]);
        assert_eq!((second.active, second.unchanged()), (3, 1));
        assert!(!is_subscriber(&conn, "c", c).unwrap());
        assert_eq!(
            active_terms(&conn, "c", d).unwrap(),
            Some(terms("1000", false, None)),
            "the first terms listed win"
        );
        let ended_at: Option<i64> = conn
            .query_row(
                "SELECT end_date FROM viewer_subscriptions WHERE viewer_id = ?1",
                [c],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            ended_at,
            Some(2),
            "the ended subscription stays with its end date"
        );

        // Another channel is untouched; an empty list ends everyone.
        replace_all(
            &conn,
            "other",
            &[(a, terms("1000", false, None))],
            from_ms(3),
        )
        .unwrap();
        let empty = replace_all(&conn, "c", &[], from_ms(4)).unwrap();
        assert_eq!(empty.ended.len(), 3);
        assert_eq!(empty.active, 0);
        assert!(active(&conn, "c").unwrap().is_empty());
        assert!(is_subscriber(&conn, "other", a).unwrap());
    }

    #[test]
    fn replace_all_is_all_or_nothing() {
        let conn = memory_db();
        let (a, b, c) = (viewer(&conn, "1"), viewer(&conn, "2"), viewer(&conn, "3"));
        replace_all(
            &conn,
            "c",
            &[
                (a, terms("1000", false, None)),
                (b, terms("1000", false, None)),
            ],
            from_ms(1),
        )
        .unwrap();
        // A tier the schema refuses undoes the whole sync: c is not added,
        // a is not updated and b is not ended.
        let bad = replace_all(
            &conn,
            "c",
            &[
                (c, terms("1000", false, None)),
                (a, terms("2000", false, None)),
                (b, terms("prime", false, None)),
            ],
            from_ms(2),
        );
        assert!(bad.is_err());
        let subs: Vec<_> = active(&conn, "c")
            .unwrap()
            .into_iter()
            .map(|s| (s.viewer.id, s.terms.tier))
            .collect();
        assert_eq!(subs, vec![(a, "1000".to_owned()), (b, "1000".to_owned())]);
    }
}
