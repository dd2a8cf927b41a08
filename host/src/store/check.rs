//! `stagehand db check`: a full integrity check and the schema version of a
//! database file, read-only, safe to run beside a live host.

use std::path::Path;
use std::time::Duration;

use super::{StoreError, migrations, open::classify, open_existing_read_only};

/// What `db check` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// `["ok"]`, or SQLite's list of problems.
    pub integrity: Vec<String>,
    pub schema_version: u32,
    /// The version this binary migrates to.
    pub latest_version: u32,
    pub events: i64,
}

impl CheckReport {
    /// Healthy: intact and of a schema this binary understands.
    pub fn is_ok(&self) -> bool {
        self.integrity == ["ok"] && self.schema_version <= self.latest_version
    }
}

/// Runs `PRAGMA integrity_check` and reads the schema version.
pub fn check(path: &Path) -> Result<CheckReport, StoreError> {
    let conn = open_existing_read_only(path, Duration::from_secs(5))?;
    let integrity = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| classify(path, e))?;
    let schema_version = migrations::current_version(&conn).map_err(|e| classify(path, e))?;
    let known_schema = (1..=migrations::latest_version()).contains(&schema_version);
    let events = if integrity == ["ok"] && known_schema {
        conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .map_err(|e| classify(path, e))?
    } else {
        0
    };
    Ok(CheckReport {
        integrity,
        schema_version,
        latest_version: migrations::latest_version(),
        events,
    })
}
