//! The schema: plain SQL files in `migrations/` (`NNNN_name.sql`), embedded in
//! the binary and applied in order at start-up by `rusqlite_migration`, which
//! keeps the version in SQLite's `user_version`.

use include_dir::{Dir, include_dir};
use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};
use std::sync::LazyLock;

static MIGRATION_FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../migrations");

/// One embedded migration file.
#[derive(Debug, Clone)]
pub struct MigrationFile {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// The embedded migration files, sorted by version. Panics at first use if a
/// file is misnamed or a version is missing, which a unit test catches.
pub static FILES: LazyLock<Vec<MigrationFile>> = LazyLock::new(|| {
    parse_files(
        MIGRATION_FILES
            .files()
            .map(|f| (f.path().to_str().unwrap_or(""), f.contents_utf8())),
    )
    .unwrap_or_else(|e| panic!("embedded migrations are broken: {e}"))
});

fn parse_files(
    files: impl Iterator<Item = (&'static str, Option<&'static str>)>,
) -> Result<Vec<MigrationFile>, String> {
    let mut out = Vec::new();
    for (path, contents) in files {
        let Some(stem) = path.strip_suffix(".sql") else {
            continue;
        };
        let (number, name) = stem
            .split_once('_')
            .ok_or_else(|| format!("{path}: expected NNNN_name.sql"))?;
        let version: u32 = number
            .parse()
            .map_err(|_| format!("{path}: {number:?} is not a version number"))?;
        let sql = contents.ok_or_else(|| format!("{path}: not UTF-8"))?;
        out.push(MigrationFile { version, name, sql });
    }
    out.sort_by_key(|m| m.version);
    for (i, m) in out.iter().enumerate() {
        let expected = i as u32 + 1;
        if m.version != expected {
            return Err(format!(
                "migration {:04}_{} found where version {expected} was expected",
                m.version, m.name
            ));
        }
    }
    Ok(out)
}

/// The schema version this binary brings the database to.
pub fn latest_version() -> u32 {
    FILES.len() as u32
}

/// The version recorded in the database (0 for a new one).
pub fn current_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies every migration the database lacks, each in its own transaction.
pub fn apply(conn: &mut Connection) -> Result<(), rusqlite_migration::Error> {
    let migrations = Migrations::new(FILES.iter().map(|m| M::up(m.sql)).collect());
    migrations.to_latest(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_are_numbered_from_one_without_gaps() {
        assert!(latest_version() >= 1);
        for (i, m) in FILES.iter().enumerate() {
            assert_eq!(m.version, i as u32 + 1);
            assert!(!m.sql.trim().is_empty());
        }
    }

    #[test]
    fn misnamed_or_missing_versions_are_reported() {
        let gap = parse_files([("0001_a.sql", Some("x")), ("0003_c.sql", Some("y"))].into_iter());
        assert!(gap.unwrap_err().contains("version 2 was expected"));
        let bad = parse_files([("first.sql", Some("x"))].into_iter());
        assert!(bad.unwrap_err().contains("NNNN_name.sql"));
        let other = parse_files([("README.md", Some("x"))].into_iter()).unwrap();
        assert!(other.is_empty());
    }

    #[test]
    fn migrations_apply_to_a_new_database_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest_version());
        apply(&mut conn).unwrap();
        assert_eq!(current_version(&conn).unwrap(), latest_version());
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in [
            "viewers",
            "events",
            "follower_history",
            "current_followers",
            "viewer_roles",
            "viewer_subscriptions",
            "polling_config",
            "viewer_tts_rules",
            "plugin_kv",
            "plugin_config",
            "overlay_alerts",
            "overlay_pauses",
            "eventsub_messages",
            "media_files",
        ] {
            assert!(tables.iter().any(|n| n == t), "missing {t} in {tables:?}");
        }
    }
}
