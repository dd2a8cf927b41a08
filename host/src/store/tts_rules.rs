//! TTS restrictions per viewer: a mute (for some minutes or for good) and a
//! cooldown (a minimum gap between messages, for some minutes). Setting a
//! rule again replaces it; expired rules are removed by a background job
//! and never count.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, params};

use super::viewers::ViewerRow;
use super::{StoreError, from_ms, to_ms};

/// A rule's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleType {
    Mute,
    Cooldown,
}

impl RuleType {
    fn as_str(self) -> &'static str {
        match self {
            RuleType::Mute => "mute",
            RuleType::Cooldown => "cooldown",
        }
    }
}

/// An active rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TtsRule {
    pub viewer: ViewerRow,
    pub rule_type: RuleType,
    /// Cooldowns: the minimum gap between messages.
    pub gap_secs: Option<i64>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    /// None: until removed.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Mutes a viewer for `minutes` (None: until unmuted). Replaces an older mute.
pub fn mute(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    minutes: Option<u32>,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let expires = minutes.map(|m| now + Duration::minutes(m as i64));
    set(
        conn,
        channel_id,
        viewer_id,
        RuleType::Mute,
        None,
        by,
        now,
        expires,
    )
}

/// Makes a viewer wait `gap_secs` between messages, for `minutes`.
pub fn cooldown(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    gap_secs: u32,
    minutes: u32,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let expires = Some(now + Duration::minutes(minutes as i64));
    set(
        conn,
        channel_id,
        viewer_id,
        RuleType::Cooldown,
        Some(gap_secs as i64),
        by,
        now,
        expires,
    )
}

#[allow(clippy::too_many_arguments)]
fn set(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    rule: RuleType,
    gap_secs: Option<i64>,
    by: Option<&str>,
    now: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO viewer_tts_rules (viewer_id, channel_id, rule_type, gap_secs, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (channel_id, viewer_id, rule_type) DO UPDATE SET
             gap_secs = excluded.gap_secs, created_by = excluded.created_by,
             created_at = excluded.created_at, expires_at = excluded.expires_at",
    )?
    .execute(params![
        viewer_id,
        channel_id,
        rule.as_str(),
        gap_secs,
        by,
        to_ms(now),
        expires.map(to_ms)
    ])?;
    Ok(())
}

/// Removes one kind of rule (None: both); true if something was removed.
pub fn remove(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    rule: Option<RuleType>,
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "DELETE FROM viewer_tts_rules WHERE channel_id = ?1 AND viewer_id = ?2
             AND (?3 IS NULL OR rule_type = ?3)",
        )?
        .execute(params![channel_id, viewer_id, rule.map(RuleType::as_str)])?;
    Ok(n > 0)
}

/// Rules in force at `now`, soonest expiry first (permanent last).
pub fn active(
    conn: &Connection,
    channel_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<TtsRule>, StoreError> {
    let sql = format!(
        "SELECT {}, r.rule_type, r.gap_secs, r.created_by, r.created_at, r.expires_at
         FROM viewer_tts_rules r JOIN viewers v ON v.id = r.viewer_id
         WHERE r.channel_id = ?1 AND (r.expires_at IS NULL OR r.expires_at > ?2)
         ORDER BY r.expires_at IS NULL, r.expires_at, v.login",
        ViewerRow::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params![channel_id, to_ms(now)], |r| {
            let rule: String = r.get(6)?;
            Ok(TtsRule {
                viewer: ViewerRow::from_row(r)?,
                rule_type: if rule == "mute" {
                    RuleType::Mute
                } else {
                    RuleType::Cooldown
                },
                gap_secs: r.get(7)?,
                created_by: r.get(8)?,
                created_at: from_ms(r.get(9)?),
                expires_at: r.get::<_, Option<i64>>(10)?.map(from_ms),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A viewer's rules in force at `now`: (muted, cooldown gap in seconds).
pub fn of_viewer(
    conn: &Connection,
    channel_id: &str,
    viewer_id: i64,
    now: DateTime<Utc>,
) -> Result<(bool, Option<i64>), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT rule_type, gap_secs FROM viewer_tts_rules
         WHERE channel_id = ?1 AND viewer_id = ?2 AND (expires_at IS NULL OR expires_at > ?3)",
    )?;
    let mut muted = false;
    let mut gap = None;
    let rows = stmt.query_map(params![channel_id, viewer_id, to_ms(now)], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
    })?;
    for row in rows {
        match row? {
            (kind, _) if kind == "mute" => muted = true,
            (_, g) => gap = g,
        }
    }
    Ok((muted, gap))
}

/// Deletes rules that expired before `now`; returns how many.
pub fn remove_expired(conn: &Connection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM viewer_tts_rules WHERE expires_at IS NOT NULL AND expires_at <= ?1",
        )?
        .execute([to_ms(now)])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Viewer;
    use crate::store::testing::memory_db;
    use crate::store::viewers;

    #[test]
    fn mutes_and_cooldowns_replace_expire_and_clear() {
        let conn = memory_db();
        let id = viewers::get_or_create(&conn, &Viewer::new("1", "a", "A"), from_ms(0)).unwrap();
        let t0 = from_ms(1_000_000);
        mute(&conn, "c", id, Some(5), Some("mod"), t0).unwrap();
        mute(&conn, "c", id, Some(10), Some("mod2"), t0).unwrap();
        cooldown(&conn, "c", id, 120, 30, None, t0).unwrap();
        let rules = active(&conn, "c", t0).unwrap();
        assert_eq!(rules.len(), 2, "a second mute replaces the first");
        assert_eq!(rules[0].rule_type, RuleType::Mute);
        assert_eq!(rules[0].expires_at, Some(t0 + Duration::minutes(10)));
        assert_eq!(rules[0].created_by.as_deref(), Some("mod2"));
        assert_eq!(rules[1].gap_secs, Some(120));

        let later = t0 + Duration::minutes(11);
        assert_eq!(
            active(&conn, "c", later).unwrap().len(),
            1,
            "the mute expired"
        );
        assert_eq!(remove_expired(&conn, later).unwrap(), 1);
        assert!(remove(&conn, "c", id, None).unwrap());
        assert!(active(&conn, "c", later).unwrap().is_empty());

        mute(&conn, "c", id, None, None, t0).unwrap();
        let far = t0 + Duration::days(365);
        assert_eq!(
            active(&conn, "c", far).unwrap()[0].expires_at,
            None,
            "permanent"
        );
        assert_eq!(remove_expired(&conn, far).unwrap(), 0);
        assert!(remove(&conn, "c", id, Some(RuleType::Mute)).unwrap());
    }
}
