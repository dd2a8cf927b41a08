//! Twitch users. A viewer is found by Twitch user id, which never changes; a
//! renamed login or display name updates the same row in place.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, from_ms, to_ms};
use crate::event::Viewer;

/// A stored viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerRow {
    /// Local row id, referenced by the other tables.
    pub id: i64,
    pub twitch_id: String,
    pub login: String,
    pub display_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ViewerRow {
    /// The viewer as events carry it.
    pub fn to_viewer(&self) -> Viewer {
        Viewer::new(&self.twitch_id, &self.login, &self.display_name)
    }

    pub(crate) const COLUMNS: &'static str =
        "v.id, v.twitch_id, v.login, v.display_name, v.created_at, v.updated_at";

    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ViewerRow {
            id: row.get(0)?,
            twitch_id: row.get(1)?,
            login: row.get(2)?,
            display_name: row.get(3)?,
            created_at: from_ms(row.get(4)?),
            updated_at: from_ms(row.get(5)?),
        })
    }
}

/// Returns the local id of `viewer`, creating the row if needed and bringing
/// login and display name up to date.
pub fn get_or_create(
    conn: &Connection,
    viewer: &Viewer,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let login = viewer.login.to_lowercase();
    // Most events come from viewers already known under the same name: a
    // read settles those without writing.
    let known: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT id, login, display_name FROM viewers WHERE twitch_id = ?1")?
        .query_row([&viewer.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((id, known_login, known_name)) = &known
        && *known_login == login
        && *known_name == viewer.display_name
    {
        return Ok(*id);
    }
    let mut stmt = conn.prepare_cached(
        "INSERT INTO viewers (twitch_id, login, display_name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (twitch_id) DO UPDATE SET
             login = excluded.login,
             display_name = excluded.display_name,
             updated_at = CASE
                 WHEN login <> excluded.login OR display_name <> excluded.display_name
                 THEN excluded.updated_at ELSE updated_at END
         RETURNING id",
    )?;
    let id = stmt.query_row(
        params![viewer.id, login, viewer.display_name, to_ms(now)],
        |r| r.get(0),
    )?;
    Ok(id)
}

/// The viewer with this Twitch user id.
pub fn by_twitch_id(conn: &Connection, twitch_id: &str) -> Result<Option<ViewerRow>, StoreError> {
    let sql = format!(
        "SELECT {} FROM viewers v WHERE v.twitch_id = ?1",
        ViewerRow::COLUMNS
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([twitch_id], ViewerRow::from_row)
        .optional()?)
}

/// The viewer with this login (case-insensitive; a leading `@` is ignored),
/// as chat commands name them.
pub fn by_login(conn: &Connection, login: &str) -> Result<Option<ViewerRow>, StoreError> {
    let login = crate::viewer_rules::loose_login(login);
    let sql = format!(
        "SELECT {} FROM viewers v WHERE v.login = ?1 ORDER BY v.updated_at DESC LIMIT 1",
        ViewerRow::COLUMNS
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([login], ViewerRow::from_row)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::memory_db;

    #[test]
    fn get_or_create_returns_the_same_row_for_the_same_twitch_id() {
        let conn = memory_db();
        let t0 = from_ms(1_000);
        let a = get_or_create(&conn, &Viewer::new("11", "alice", "Alice"), t0).unwrap();
        let b = get_or_create(&conn, &Viewer::new("11", "alice", "Alice"), from_ms(2_000)).unwrap();
        assert_eq!(a, b);
        let row = by_twitch_id(&conn, "11").unwrap().unwrap();
        assert_eq!(row.updated_at, t0, "no change, no update time");
    }

    #[test]
    fn a_renamed_login_updates_in_place() {
        let conn = memory_db();
        let id =
            get_or_create(&conn, &Viewer::new("11", "alice", "Alice"), from_ms(1_000)).unwrap();
        let again = get_or_create(
            &conn,
            &Viewer::new("11", "Alice_Two", "Alice_Two"),
            from_ms(5_000),
        )
        .unwrap();
        assert_eq!(id, again);
        let row = by_twitch_id(&conn, "11").unwrap().unwrap();
        assert_eq!(row.login, "alice_two");
        assert_eq!(row.display_name, "Alice_Two");
        assert_eq!(row.updated_at, from_ms(5_000));
        assert!(by_login(&conn, "alice").unwrap().is_none());
        assert_eq!(by_login(&conn, "@ALICE_two").unwrap().unwrap().id, id);
        let n: i64 = conn
            .query_row("SELECT count(*) FROM viewers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn an_empty_twitch_id_is_refused() {
        let conn = memory_db();
        assert!(get_or_create(&conn, &Viewer::new("", "x", "x"), from_ms(0)).is_err());
    }
}
