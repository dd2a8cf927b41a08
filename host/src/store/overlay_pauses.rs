//! Overlays the streamer paused: their alerts wait until resumed. Stored so
//! a paused overlay stays paused across a restart (a host restarted in the
//! middle of a cutscene must not burst every waiting alert onto the stream).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{StoreError, from_ms, to_ms};

/// Pauses `overlay`; false if it was paused already (its pause time is kept).
pub fn pause(conn: &Connection, overlay: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO overlay_pauses (overlay, paused_at) VALUES (?1, ?2)",
        )?
        .execute(params![overlay, to_ms(at)])?;
    Ok(n > 0)
}

/// Resumes `overlay`; false if it was not paused.
pub fn resume(conn: &Connection, overlay: &str) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM overlay_pauses WHERE overlay = ?1")?
        .execute([overlay])?;
    Ok(n > 0)
}

/// Every paused overlay with the time it was paused, by name.
pub fn all(conn: &Connection) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT overlay, paused_at FROM overlay_pauses ORDER BY overlay")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, from_ms(r.get(1)?))))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::memory_db;

    #[test]
    fn a_pause_is_recorded_once_and_lifted_by_resume() {
        let conn = memory_db();
        assert!(pause(&conn, "alerts", from_ms(10)).unwrap());
        assert!(
            !pause(&conn, "alerts", from_ms(20)).unwrap(),
            "already paused"
        );
        assert!(pause(&conn, "side", from_ms(30)).unwrap());
        assert_eq!(
            all(&conn).unwrap(),
            vec![
                ("alerts".to_owned(), from_ms(10)),
                ("side".to_owned(), from_ms(30))
            ],
            "the first pause time is kept"
        );
        assert!(resume(&conn, "alerts").unwrap());
        assert!(!resume(&conn, "alerts").unwrap(), "not paused any more");
        assert_eq!(all(&conn).unwrap(), vec![("side".to_owned(), from_ms(30))]);
    }
}
