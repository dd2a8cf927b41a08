//! Per-poller schedule (`polling_config`): the fast interval, whether it
//! runs, and how its last run went. Changeable at run time through the API.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::{StoreError, from_ms, to_ms};

/// One poller's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PollingRow {
    pub name: String,
    /// The fast interval (used while EventSub is down).
    pub interval_secs: u64,
    pub enabled: bool,
    pub last_run_at: Option<DateTime<Utc>>,
    /// The last run's error; `None` after a successful run.
    pub last_error: Option<String>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PollingRow> {
    Ok(PollingRow {
        name: r.get(0)?,
        interval_secs: r.get::<_, i64>(1)?.max(1) as u64,
        enabled: r.get(2)?,
        last_run_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
        last_error: r.get(4)?,
    })
}

const COLUMNS: &str = "name, interval_secs, enabled, last_run_at, last_error";

/// Every row, by name.
pub fn all(conn: &Connection) -> Result<Vec<PollingRow>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM polling_config ORDER BY name"
    ))?;
    let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The row of `name`.
pub fn get(conn: &Connection, name: &str) -> Result<Option<PollingRow>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM polling_config WHERE name = ?1"
        ))?
        .query_row([name], row)
        .optional()?)
}

/// Changes the interval and/or enabled flag of `name`; the new row, or
/// `None` for an unknown poller.
pub fn set(
    conn: &Connection,
    name: &str,
    interval_secs: Option<u64>,
    enabled: Option<bool>,
    now: DateTime<Utc>,
) -> Result<Option<PollingRow>, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE polling_config SET
                 interval_secs = COALESCE(?2, interval_secs),
                 enabled = COALESCE(?3, enabled),
                 updated_at = ?4
             WHERE name = ?1",
        )?
        .execute(params![
            name,
            interval_secs.map(|s| s as i64),
            enabled,
            to_ms(now)
        ])?;
    if n == 0 {
        return Ok(None);
    }
    get(conn, name)
}

/// Records a run of `name` at `at`, with its error if it failed.
pub fn record_run(
    conn: &Connection,
    name: &str,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE polling_config SET last_run_at = ?2, last_error = ?3 WHERE name = ?1",
    )?
    .execute(params![name, to_ms(at), error])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::memory_db;

    #[test]
    fn the_default_intervals_are_there_and_can_be_changed() {
        let conn = memory_db();
        let rows = all(&conn).unwrap();
        let followers = rows.iter().find(|r| r.name == "followers").unwrap();
        assert_eq!(followers.interval_secs, 60);
        assert!(followers.enabled);
        let role_sync = rows.iter().find(|r| r.name == "role_sync").unwrap();
        assert_eq!(role_sync.interval_secs, 1800);
        let changed = set(&conn, "followers", Some(30), Some(false), Utc::now())
            .unwrap()
            .unwrap();
        assert_eq!(changed.interval_secs, 30);
        assert!(!changed.enabled);
        let only_enabled = set(&conn, "followers", None, Some(true), Utc::now())
            .unwrap()
            .unwrap();
        assert_eq!(only_enabled.interval_secs, 30);
        assert!(
            set(&conn, "nope", Some(1), None, Utc::now())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_run_is_recorded_with_its_error_and_cleared_by_success() {
        let conn = memory_db();
        record_run(&conn, "bans", Utc::now(), Some("boom")).unwrap();
        assert_eq!(
            get(&conn, "bans").unwrap().unwrap().last_error.as_deref(),
            Some("boom")
        );
        record_run(&conn, "bans", Utc::now(), None).unwrap();
        let row = get(&conn, "bans").unwrap().unwrap();
        assert!(row.last_error.is_none());
        assert!(row.last_run_at.is_some());
    }
}
