//! The media library's rows (`media_files`): what each uploaded file is and
//! what it is called. The files themselves live in the media folder (see
//! `media_library`); a row is added once its file is complete and removed
//! before its file is.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, from_ms, to_ms};

/// One uploaded file, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRow {
    /// 32 hex digits: 128 random bits.
    pub id: String,
    /// `<id>.<extension>` in the media folder.
    pub file_name: String,
    /// The display name given at upload.
    pub name: String,
    /// What the content is (judged from its bytes at upload).
    pub content_type: String,
    /// `image`, `sound` or `video`.
    pub kind: String,
    /// The file's size.
    pub bytes: u64,
    /// When it was stored.
    pub uploaded_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, file_name, name, content_type, kind, bytes, uploaded_at";

fn from_row(r: &Row) -> rusqlite::Result<MediaRow> {
    Ok(MediaRow {
        id: r.get(0)?,
        file_name: r.get(1)?,
        name: r.get(2)?,
        content_type: r.get(3)?,
        kind: r.get(4)?,
        bytes: r.get::<_, i64>(5)?.max(0) as u64,
        uploaded_at: from_ms(r.get(6)?),
    })
}

/// Adds a file's row.
pub fn insert(conn: &Connection, row: &MediaRow) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO media_files (id, file_name, name, content_type, kind, bytes, uploaded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        row.id,
        row.file_name,
        row.name,
        row.content_type,
        row.kind,
        i64::try_from(row.bytes).unwrap_or(i64::MAX),
        to_ms(row.uploaded_at)
    ])?;
    Ok(())
}

/// Every file, newest first.
pub fn list(conn: &Connection) -> Result<Vec<MediaRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM media_files ORDER BY uploaded_at DESC, id");
    let rows = conn
        .prepare_cached(&sql)?
        .query_map([], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// One file by id.
pub fn get(conn: &Connection, id: &str) -> Result<Option<MediaRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM media_files WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// How many files the library holds and their total size in bytes.
pub fn usage(conn: &Connection) -> Result<(u64, u64), StoreError> {
    let (count, bytes): (i64, i64) = conn
        .prepare_cached("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM media_files")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((count.max(0) as u64, bytes.max(0) as u64))
}

/// Removes a file's row; returns it if there was one.
pub fn remove(conn: &Connection, id: &str) -> Result<Option<MediaRow>, StoreError> {
    let row = get(conn, id)?;
    if row.is_some() {
        conn.prepare_cached("DELETE FROM media_files WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::memory_db;

    fn row(id: &str, bytes: u64, at: i64) -> MediaRow {
        MediaRow {
            id: id.into(),
            file_name: format!("{id}.png"),
            name: "boom.png".into(),
            content_type: "image/png".into(),
            kind: "image".into(),
            bytes,
            uploaded_at: from_ms(at),
        }
    }

    #[test]
    fn files_are_listed_newest_first_counted_and_removed() {
        let conn = memory_db();
        assert_eq!(usage(&conn).unwrap(), (0, 0));
        insert(&conn, &row("a", 10, 1_000)).unwrap();
        insert(&conn, &row("b", 32, 2_000)).unwrap();
        let ids: Vec<String> = list(&conn).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(usage(&conn).unwrap(), (2, 42));
        assert_eq!(get(&conn, "a").unwrap(), Some(row("a", 10, 1_000)));
        assert!(
            insert(&conn, &row("a", 1, 3_000)).is_err(),
            "ids are unique"
        );

        assert_eq!(remove(&conn, "a").unwrap(), Some(row("a", 10, 1_000)));
        assert_eq!(remove(&conn, "a").unwrap(), None);
        assert_eq!(usage(&conn).unwrap(), (1, 32));
    }

    #[test]
    fn the_schema_refuses_unknown_kinds_and_empty_files() {
        let conn = memory_db();
        let mut bad = row("c", 1, 0);
        bad.kind = "document".into();
        assert!(insert(&conn, &bad).is_err());
        assert!(insert(&conn, &row("d", 0, 0)).is_err());
    }
}
