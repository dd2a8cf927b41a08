//! The stored speech settings: one JSON object, so adding a setting needs no
//! migration. The host validates before writing; reading tolerates missing
//! fields (defaults fill them) but not a broken row, which is reported.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{StoreError, to_ms};

/// The stored settings object, if any was saved.
pub fn load(conn: &Connection) -> Result<Option<Value>, StoreError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT settings FROM tts_settings WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    // A broken row is a JSON error naming the cause; the caller falls back
    // to defaults and says so.
    Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
}

/// Replaces the stored settings.
pub fn save(conn: &Connection, settings: &Value, now: DateTime<Utc>) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO tts_settings (id, settings, updated_at) VALUES (1, ?1, ?2)
         ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
    )?
    .execute(params![settings.to_string(), to_ms(now)])?;
    Ok(())
}
