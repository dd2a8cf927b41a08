//! Roles held in a channel (VIP, moderator, broadcaster), with history:
//! `revoked_at` NULL means active, and revoked rows are kept.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::viewers::{self, ViewerRow};
use super::{StoreError, savepoint, to_ms};
use crate::event::Viewer;

/// A channel role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Vip,
    Moderator,
    Broadcaster,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Vip => "vip",
            Role::Moderator => "moderator",
            Role::Broadcaster => "broadcaster",
        }
    }
}

/// Grants `role` unless the viewer already holds it; true when granted now.
pub fn grant(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    role: Role,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT INTO viewer_roles (viewer_id, channel_id, role_type, granted_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (channel_id, role_type, viewer_id) WHERE revoked_at IS NULL DO NOTHING",
        )?
        .execute(params![viewer_id, channel_id, role.as_str(), to_ms(at)])?;
    Ok(n > 0)
}

/// Revokes `role` if the viewer holds it; true when revoked now.
pub fn revoke(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    role: Role,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE viewer_roles SET revoked_at = ?4
             WHERE viewer_id = ?1 AND channel_id = ?2 AND role_type = ?3 AND revoked_at IS NULL",
        )?
        .execute(params![viewer_id, channel_id, role.as_str(), to_ms(at)])?;
    Ok(n > 0)
}

/// Whether the viewer holds `role` now.
pub fn has_role(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    role: Role,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM viewer_roles
             WHERE viewer_id = ?1 AND channel_id = ?2 AND role_type = ?3 AND revoked_at IS NULL)",
        )?
        .query_row(params![viewer_id, channel_id, role.as_str()], |r| r.get(0))?)
}

/// Everyone holding `role` now, by login.
pub fn active(
    conn: &Connection,
    channel_id: &str,
    role: Role,
) -> Result<Vec<ViewerRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM viewer_roles r JOIN viewers v ON v.id = r.viewer_id
         WHERE r.channel_id = ?1 AND r.role_type = ?2 AND r.revoked_at IS NULL
         ORDER BY v.login",
        ViewerRow::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![channel_id, role.as_str()], ViewerRow::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// What a full role sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSetChange {
    /// Viewers (local ids) who gained the role.
    pub granted: Vec<i64>,
    /// Viewers who lost it.
    pub revoked: Vec<i64>,
    /// How many hold it afterwards.
    pub active: usize,
}

/// Makes `present` exactly the set of viewers holding `role`: grants it to
/// everyone present, revokes it from everyone absent. All or nothing.
pub fn replace_all(
    conn: &Connection,
    channel_id: &str,
    role: Role,
    present: &[Viewer],
    at: DateTime<Utc>,
) -> Result<RoleSetChange, StoreError> {
    savepoint(conn, |c| {
        let mut change = RoleSetChange::default();
        let mut keep = HashSet::with_capacity(present.len());
        for viewer in present {
            let id = viewers::get_or_create(c, viewer, at)?;
            if keep.insert(id) && grant(c, channel_id, id, role, at)? {
                change.granted.push(id);
            }
        }
        let holders: Vec<i64> = c
            .prepare_cached(
                "SELECT viewer_id FROM viewer_roles
                 WHERE channel_id = ?1 AND role_type = ?2 AND revoked_at IS NULL",
            )?
            .query_map(params![channel_id, role.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in holders {
            if !keep.contains(&id) && revoke(c, channel_id, id, role, at)? {
                change.revoked.push(id);
            }
        }
        change.active = keep.len();
        Ok(change)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_ms;
    use crate::store::testing::memory_db;

    fn v(id: &str) -> Viewer {
        Viewer::new(id, format!("user{id}"), format!("User{id}"))
    }

    #[test]
    fn grant_and_revoke_keep_history() {
        let conn = memory_db();
        let id = viewers::get_or_create(&conn, &v("1"), from_ms(0)).unwrap();
        assert!(grant(&conn, "c", id, Role::Vip, from_ms(1)).unwrap());
        assert!(
            !grant(&conn, "c", id, Role::Vip, from_ms(2)).unwrap(),
            "already held"
        );
        assert!(has_role(&conn, "c", id, Role::Vip).unwrap());
        assert!(!has_role(&conn, "c", id, Role::Moderator).unwrap());
        assert!(!has_role(&conn, "other", id, Role::Vip).unwrap());
        assert!(revoke(&conn, "c", id, Role::Vip, from_ms(3)).unwrap());
        assert!(!revoke(&conn, "c", id, Role::Vip, from_ms(4)).unwrap());
        assert!(!has_role(&conn, "c", id, Role::Vip).unwrap());
        assert!(grant(&conn, "c", id, Role::Vip, from_ms(5)).unwrap());
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM viewer_roles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2, "the revoked grant stays as history");
    }

    #[test]
    fn replace_all_grants_present_and_revokes_absent() {
        let conn = memory_db();
        let first = replace_all(
            &conn,
            "c",
            Role::Moderator,
            &[v("1"), v("2"), v("3")],
            from_ms(1),
        )
        .unwrap();
        assert_eq!(first.granted.len(), 3);
        assert!(first.revoked.is_empty());
        assert_eq!(first.active, 3);

        let second = replace_all(
            &conn,
            "c",
            Role::Moderator,
            &[v("2"), v("3"), v("4"), v("4")],
            from_ms(2),
        )
        .unwrap();
        let id1 = viewers::by_twitch_id(&conn, "1").unwrap().unwrap().id;
        let id4 = viewers::by_twitch_id(&conn, "4").unwrap().unwrap().id;
        assert_eq!(second.granted, vec![id4]);
        assert_eq!(second.revoked, vec![id1]);
        assert_eq!(second.active, 3);
        let logins: Vec<_> = active(&conn, "c", Role::Moderator)
            .unwrap()
            .into_iter()
            .map(|r| r.login)
            .collect();
        assert_eq!(logins, vec!["user2", "user3", "user4"]);

        let vips = replace_all(&conn, "c", Role::Vip, &[v("1")], from_ms(3)).unwrap();
        assert_eq!(vips.granted, vec![id1]);
        assert_eq!(
            active(&conn, "c", Role::Moderator).unwrap().len(),
            3,
            "other roles untouched"
        );

        let empty = replace_all(&conn, "c", Role::Moderator, &[], from_ms(4)).unwrap();
        assert_eq!(empty.revoked.len(), 3);
        assert!(active(&conn, "c", Role::Moderator).unwrap().is_empty());
    }

    #[test]
    fn replace_all_is_all_or_nothing() {
        let conn = memory_db();
        replace_all(&conn, "c", Role::Vip, &[v("1"), v("2")], from_ms(1)).unwrap();
        // A viewer with an empty id cannot be stored: the whole sync is undone.
        let bad = replace_all(
            &conn,
            "c",
            Role::Vip,
            &[v("3"), Viewer::new("", "x", "x")],
            from_ms(2),
        );
        assert!(bad.is_err());
        let logins: Vec<_> = active(&conn, "c", Role::Vip)
            .unwrap()
            .into_iter()
            .map(|r| r.login)
            .collect();
        assert_eq!(logins, vec!["user1", "user2"]);
    }
}
