//! Opening the database file safely: prove it is a healthy SQLite database of
//! a schema we understand before anything writes to it, so a wrong or damaged
//! file is reported and left byte-for-byte as it was.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{StoreError, migrations};

/// Opens the database for the writer: checks it, switches to WAL and applies
/// migrations.
pub fn open_for_writing(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    if path.is_dir() {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            source: rusqlite::Error::InvalidPath(path.to_path_buf()),
        });
    }
    // Prove an existing file healthy on a read-only connection first: a
    // read-only connection never writes (not even a WAL checkpoint on close),
    // so a wrong or damaged file is left exactly as it was.
    let existed = std::fs::metadata(path)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    if existed {
        let ro = open_existing_read_only(path, busy_timeout)?;
        verify_readable(&ro, path)?;
        quick_check(&ro, path)?;
        let found = migrations::current_version(&ro).map_err(|e| classify(path, e))?;
        let supported = migrations::latest_version();
        if found > supported {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found,
                supported,
            });
        }
    }

    make_private(path).map_err(|e| StoreError::Open {
        path: path.to_path_buf(),
        source: rusqlite::Error::InvalidPath(format!("{}: {e}", path.display()).into()),
    })?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    conn.busy_timeout(busy_timeout)
        .map_err(|e| classify(path, e))?;
    verify_readable(&conn, path)?;

    // WAL: readers never block the writer; NORMAL sync is durable against a
    // crash of this process (the WAL is fsynced at checkpoints). Checkpoints
    // run on their own thread (store::checkpoint), not inside a commit.
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
        .map_err(|e| classify(path, e))?;
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -32000;
         PRAGMA wal_autocheckpoint = 0;",
    )
    .map_err(|e| classify(path, e))?;
    migrations::apply(&mut conn).map_err(|source| StoreError::Migrate {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(conn)
}

/// The database file readable by this user only (0600): created so if new
/// (SQLite gives its WAL and shared-memory files the same mode), tightened
/// if it exists with looser permissions.
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o600))?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(drop),
        Err(e) => Err(e),
    }
}

/// Opens an existing database read-only (for `stagehand db check` and the
/// read pool); never creates the file.
pub fn open_existing_read_only(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            source: rusqlite::Error::InvalidPath(path.to_path_buf()),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
    conn.busy_timeout(busy_timeout)
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// Reads the schema: fails at once for a file that is not SQLite.
fn verify_readable(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|_| ())
    .map_err(|e| classify(path, e))
}

/// Walks every page (without the slower index cross-checks of
/// `integrity_check`), stopping at the first problem.
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let result: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if result == "ok" {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            details: result,
        })
    }
}

/// Names the file in errors that mean "this is not a (healthy) database".
pub(crate) fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
            details: e.to_string(),
        },
        _ => StoreError::Open {
            path: path.to_path_buf(),
            source: e,
        },
    }
}
