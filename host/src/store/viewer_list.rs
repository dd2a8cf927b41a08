//! The dashboard's viewer list (the Viewers screen): everyone who holds a
//! role or an active subscription in a channel, with what they hold, and
//! how many hold each. Only active rows count, as in [`super::access`].

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

use super::viewers::ViewerRow;
use super::{StoreError, from_ms};

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Holding {
    /// Holds the VIP role.
    Vip,
    /// Holds the moderator role.
    Moderator,
    /// Holds the broadcaster role.
    Broadcaster,
    /// Has an active subscription.
    Subscriber,
}

/// A role held now, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldRole {
    /// `vip`, `moderator` or `broadcaster`.
    pub role: String,
    /// When this grant began.
    pub granted_at: DateTime<Utc>,
}

/// An active subscription as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldSubscription {
    /// `1000`, `2000` or `3000` (Twitch's tier codes).
    pub tier: String,
    /// Somebody else paid for it.
    pub is_gift: bool,
    /// Known from resub messages only.
    pub cumulative_months: Option<u32>,
    /// When this subscription began (as far as the host knows).
    pub start_date: DateTime<Utc>,
}

/// One viewer in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedViewer {
    pub viewer: ViewerRow,
    /// Roles by name.
    pub roles: Vec<HeldRole>,
    pub subscription: Option<HeldSubscription>,
}

/// How many viewers hold each role (whatever the filter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HoldingCounts {
    pub vip: i64,
    pub moderator: i64,
    pub broadcaster: i64,
    pub subscriber: i64,
}

/// Viewers of `channel_id` holding a role or a subscription (only `filter`
/// when given), whose login starts with `login_prefix` (any when empty), by
/// login, at most `limit`; and how many match in all.
pub fn list(
    conn: &Connection,
    channel_id: &str,
    filter: Option<Holding>,
    login_prefix: &str,
    limit: u32,
) -> Result<(Vec<ListedViewer>, i64), StoreError> {
    // The filter's role name, or NULL for "any role or a subscription";
    // `subscriber` alone is matched by the subscription join.
    let (role, subscribers_only) = match filter {
        None => (None, false),
        Some(Holding::Subscriber) => (None, true),
        Some(Holding::Vip) => (Some("vip"), false),
        Some(Holding::Moderator) => (Some("moderator"), false),
        Some(Holding::Broadcaster) => (Some("broadcaster"), false),
    };
    let prefix = format!(
        "{}%",
        crate::viewer_rules::loose_login(login_prefix)
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let matching = "FROM viewers v
         LEFT JOIN viewer_subscriptions s
             ON s.viewer_id = v.id AND s.channel_id = ?1 AND s.end_date IS NULL
         WHERE v.login LIKE ?4 ESCAPE '\\'
           AND CASE
               WHEN ?3 THEN s.id IS NOT NULL
               WHEN ?2 IS NOT NULL THEN EXISTS (SELECT 1 FROM viewer_roles r
                   WHERE r.viewer_id = v.id AND r.channel_id = ?1
                     AND r.revoked_at IS NULL AND r.role_type = ?2)
               ELSE s.id IS NOT NULL OR EXISTS (SELECT 1 FROM viewer_roles r
                   WHERE r.viewer_id = v.id AND r.channel_id = ?1 AND r.revoked_at IS NULL)
           END";
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) {matching}"))?
        .query_row(params![channel_id, role, subscribers_only, prefix], |r| {
            r.get(0)
        })?;
    let sql = format!(
        "SELECT {}, s.tier, s.is_gift, s.cumulative_months, s.start_date,
             (SELECT group_concat(r.role_type || ':' || r.granted_at) FROM viewer_roles r
              WHERE r.viewer_id = v.id AND r.channel_id = ?1 AND r.revoked_at IS NULL)
         {matching}
         ORDER BY v.login, v.id LIMIT ?5",
        ViewerRow::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(
            params![channel_id, role, subscribers_only, prefix, limit],
            |r| {
                let tier: Option<String> = r.get(6)?;
                let subscription = match tier {
                    Some(tier) => Some(HeldSubscription {
                        tier,
                        is_gift: r.get(7)?,
                        cumulative_months: r.get(8)?,
                        start_date: from_ms(r.get(9)?),
                    }),
                    None => None,
                };
                let roles: Option<String> = r.get(10)?;
                Ok(ListedViewer {
                    viewer: ViewerRow::from_row(r)?,
                    roles: parse_roles(roles.as_deref().unwrap_or("")),
                    subscription,
                })
            },
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((rows, total))
}

fn parse_roles(joined: &str) -> Vec<HeldRole> {
    let mut roles: Vec<HeldRole> = joined
        .split(',')
        .filter_map(|part| part.split_once(':'))
        .map(|(role, at)| HeldRole {
            role: role.to_owned(),
            granted_at: from_ms(at.parse().unwrap_or_default()),
        })
        .collect();
    roles.sort_by(|a, b| a.role.cmp(&b.role));
    roles
}

/// How many viewers of `channel_id` hold each role and a subscription now.
pub fn counts(conn: &Connection, channel_id: &str) -> Result<HoldingCounts, StoreError> {
    let mut counts = HoldingCounts::default();
    let mut stmt = conn.prepare_cached(
        "SELECT role_type, count(DISTINCT viewer_id) FROM viewer_roles
         WHERE channel_id = ?1 AND revoked_at IS NULL GROUP BY role_type",
    )?;
    let rows = stmt.query_map([channel_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (role, n) = row?;
        match role.as_str() {
            "vip" => counts.vip = n,
            "moderator" => counts.moderator = n,
            "broadcaster" => counts.broadcaster = n,
            _ => {}
        }
    }
    counts.subscriber = conn
        .prepare_cached(
            "SELECT count(*) FROM viewer_subscriptions WHERE channel_id = ?1 AND end_date IS NULL",
        )?
        .query_row([channel_id], |r| r.get(0))?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::roles::{self, Role};
    use crate::store::subscriptions::{self, SubscriptionTerms};
    use crate::store::testing::memory_db;
    use crate::store::viewers;

    fn viewer(conn: &Connection, id: &str, login: &str) -> i64 {
        viewers::get_or_create(conn, &Viewer::new(id, login, login), from_ms(0)).unwrap()
    }

    fn logins(rows: &[ListedViewer]) -> Vec<&str> {
        rows.iter().map(|r| r.viewer.login.as_str()).collect()
    }

    #[test]
    fn lists_holders_with_what_they_hold_and_counts() {
        let conn = memory_db();
        let ann = viewer(&conn, "1", "ann");
        let bob = viewer(&conn, "2", "bob");
        let cy = viewer(&conn, "3", "cy");
        let _nobody = viewer(&conn, "4", "dee");
        let ed = viewer(&conn, "5", "ed_x");
        roles::grant(&conn, "c", ann, Role::Vip, from_ms(10)).unwrap();
        roles::grant(&conn, "c", ann, Role::Moderator, from_ms(20)).unwrap();
        roles::grant(&conn, "c", bob, Role::Vip, from_ms(10)).unwrap();
        roles::revoke(&conn, "c", bob, Role::Vip, from_ms(11)).unwrap();
        roles::grant(&conn, "other", ed, Role::Vip, from_ms(10)).unwrap();
        let terms = SubscriptionTerms {
            tier: "2000".into(),
            is_gift: true,
            cumulative_months: Some(3),
        };
        subscriptions::upsert(&conn, "c", cy, &terms, from_ms(30)).unwrap();
        subscriptions::upsert(&conn, "c", ann, &terms, from_ms(30)).unwrap();

        let (all, total) = list(&conn, "c", None, "", 100).unwrap();
        assert_eq!(
            logins(&all),
            vec!["ann", "cy"],
            "revoked and other channels do not count"
        );
        assert_eq!(total, 2);
        let roles: Vec<_> = all[0].roles.iter().map(|r| r.role.as_str()).collect();
        assert_eq!(roles, vec!["moderator", "vip"]);
        assert_eq!(all[0].roles[1].granted_at, from_ms(10));
        assert_eq!(all[1].subscription.as_ref().unwrap().tier, "2000");
        assert!(all[1].roles.is_empty());

        let (vips, _) = list(&conn, "c", Some(Holding::Vip), "", 100).unwrap();
        assert_eq!(logins(&vips), vec!["ann"]);
        let (subs, n) = list(&conn, "c", Some(Holding::Subscriber), "", 100).unwrap();
        assert_eq!((logins(&subs), n), (vec!["ann", "cy"], 2));
        let (limited, n) = list(&conn, "c", None, "", 1).unwrap();
        assert_eq!((limited.len(), n), (1, 2), "the total ignores the limit");
        let (found, _) = list(&conn, "c", None, "@C", 100).unwrap();
        assert_eq!(logins(&found), vec!["cy"]);
        let (none, _) = list(&conn, "other", None, "ed%", 100).unwrap();
        assert!(none.is_empty(), "LIKE wildcards in the prefix are literal");

        assert_eq!(
            counts(&conn, "c").unwrap(),
            HoldingCounts {
                vip: 1,
                moderator: 1,
                broadcaster: 0,
                subscriber: 2
            }
        );
    }
}
