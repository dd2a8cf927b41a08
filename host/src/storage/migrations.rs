//! The cluster schema for both backends from one place: plain SQL files in
//! `migrations/cluster/` (`NNNN_name.sql`), embedded in the binary, written
//! once in the SQL that PostgreSQL and SQLite both accept.
//!
//! The few words the two dialects spell differently are written as
//! placeholders and substituted by [`render`], the only place that knows
//! both dialects:
//!
//! | placeholder | PostgreSQL | SQLite |
//! |-------------|------------|--------|
//! | `{{bytes}}` | `BYTEA`    | `BLOB` |
//!
//! Everything else is kept portable by choice: times are `BIGINT`
//! microseconds since the Unix epoch, JSON is `TEXT`.
//!
//! Each backend records what it applied in a `schema_version` table (one row
//! per migration) and applies the missing ones in one transaction
//! ([`pending`] decides which, and refuses a database newer than this
//! build).

use std::sync::LazyLock;

use include_dir::{Dir, include_dir};

use super::StorageError;

static FILES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../migrations/cluster");

/// One embedded migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// The SQL as written, placeholders included (see [`render`]).
    pub sql: &'static str,
}

/// The SQL dialect a migration is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// The table each backend records applied migrations in. Created before
/// the first migration, so it is not a migration itself.
pub const SCHEMA_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The highest version recorded (0 for a new database).
pub const CURRENT_VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM schema_version";

/// The embedded migrations, sorted by version. Panics at first use if a file
/// is misnamed, a version is missing or a placeholder is unknown, which the
/// unit tests catch before a release.
pub static MIGRATIONS: LazyLock<Vec<Migration>> = LazyLock::new(|| {
    parse_files(
        FILES
            .files()
            .map(|f| (f.path().to_str().unwrap_or(""), f.contents_utf8())),
    )
    .unwrap_or_else(|e| panic!("embedded cluster migrations are broken: {e}"))
});

/// The schema version this build brings a database to.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The migrations a database at version `current` lacks, in order; a
/// database newer than this build is refused rather than used with a schema
/// this code does not know.
pub fn pending(current: i64) -> Result<&'static [Migration], StorageError> {
    let supported = latest_version();
    if current > supported {
        return Err(StorageError::TooNew {
            found: current,
            supported,
        });
    }
    let done = MIGRATIONS.partition_point(|m| m.version <= current);
    Ok(&MIGRATIONS[done..])
}

/// The SQL of a migration for one dialect: each `{{name}}` placeholder
/// replaced by that dialect's word. An unknown placeholder is an error, so
/// a typo cannot reach a database as literal text.
pub fn render(sql: &str, dialect: Dialect) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("unclosed placeholder at {:?}", &rest[start..]))?;
        let name = &after[..end];
        out.push_str(
            substitute(name, dialect)
                .ok_or_else(|| format!("unknown placeholder {{{{{name}}}}}"))?,
        );
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The dialect's word for a placeholder.
fn substitute(name: &str, dialect: Dialect) -> Option<&'static str> {
    match (name, dialect) {
        ("bytes", Dialect::Postgres) => Some("BYTEA"),
        ("bytes", Dialect::Sqlite) => Some("BLOB"),
        _ => None,
    }
}

fn parse_files(
    files: impl Iterator<Item = (&'static str, Option<&'static str>)>,
) -> Result<Vec<Migration>, String> {
    let mut out = Vec::new();
    for (path, contents) in files {
        let Some(stem) = path.strip_suffix(".sql") else {
            continue;
        };
        let (number, name) = stem
            .split_once('_')
            .ok_or_else(|| format!("{path}: expected NNNN_name.sql"))?;
        let version: i64 = number
            .parse()
            .map_err(|_| format!("{path}: {number:?} is not a version number"))?;
        let sql = contents.ok_or_else(|| format!("{path}: not UTF-8"))?;
        for dialect in [Dialect::Postgres, Dialect::Sqlite] {
            render(sql, dialect).map_err(|e| format!("{path}: {e}"))?;
        }
        out.push(Migration { version, name, sql });
    }
    out.sort_by_key(|m| m.version);
    for (i, m) in out.iter().enumerate() {
        let expected = i as i64 + 1;
        if m.version != expected {
            return Err(format!(
                "migration {:04}_{} found where version {expected} was expected",
                m.version, m.name
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_are_numbered_from_one_and_render_for_both_dialects() {
        assert!(latest_version() >= 1);
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
            for dialect in [Dialect::Postgres, Dialect::Sqlite] {
                let sql = render(m.sql, dialect).unwrap();
                assert!(!sql.contains("{{"), "{}: placeholder left", m.name);
            }
        }
    }

    #[test]
    fn placeholders_become_each_dialects_word() {
        let sql = "CREATE TABLE t (a {{bytes}} NOT NULL, b {{bytes}})";
        assert_eq!(
            render(sql, Dialect::Postgres).unwrap(),
            "CREATE TABLE t (a BYTEA NOT NULL, b BYTEA)"
        );
        assert_eq!(
            render(sql, Dialect::Sqlite).unwrap(),
            "CREATE TABLE t (a BLOB NOT NULL, b BLOB)"
        );
        assert_eq!(render("SELECT 1", Dialect::Sqlite).unwrap(), "SELECT 1");
    }

    #[test]
    fn unknown_or_unclosed_placeholders_are_refused() {
        let unknown = render("a {{json}} b", Dialect::Postgres).unwrap_err();
        assert!(unknown.contains("{{json}}"), "{unknown}");
        let unclosed = render("a {{bytes b", Dialect::Sqlite).unwrap_err();
        assert!(unclosed.contains("unclosed"), "{unclosed}");
        let bad = parse_files([("0001_a.sql", Some("x {{nope}}"))].into_iter());
        assert!(bad.unwrap_err().contains("0001_a.sql"));
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
    fn pending_lists_what_is_missing_and_refuses_a_newer_database() {
        assert_eq!(pending(0).unwrap().len(), MIGRATIONS.len());
        assert!(pending(latest_version()).unwrap().is_empty());
        match pending(latest_version() + 1) {
            Err(StorageError::TooNew { found, supported }) => {
                assert_eq!(found, latest_version() + 1);
                assert_eq!(supported, latest_version());
            }
            other => panic!("expected TooNew, got {other:?}"),
        }
    }
}
