//! Plugin state kept by the host: each plugin's key-value storage, the
//! permissions the streamer granted, and what the streamer set from the
//! dashboard (enabled or not, settings replacing the manifest's).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{StoreError, to_ms};

/// Every stored key-value pair of `plugin`.
pub fn kv_load(conn: &Connection, plugin: &str) -> Result<HashMap<String, String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM plugin_kv WHERE plugin = ?1")?;
    let rows = stmt
        .query_map([plugin], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<HashMap<_, _>, _>>()?;
    Ok(rows)
}

/// Applies changes in order (`None` deletes the key).
pub fn kv_apply(
    conn: &Connection,
    plugin: &str,
    changes: &[(String, Option<String>)],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO plugin_kv (plugin, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )?;
    let mut delete = conn.prepare_cached("DELETE FROM plugin_kv WHERE plugin = ?1 AND key = ?2")?;
    for (key, value) in changes {
        match value {
            Some(v) => upsert.execute(params![plugin, key, v, to_ms(at)])?,
            None => delete.execute(params![plugin, key])?,
        };
    }
    Ok(())
}

/// Permissions granted to `plugin`.
pub fn granted(conn: &Connection, plugin: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT permission FROM plugin_grants WHERE plugin = ?1")?;
    let rows = stmt
        .query_map([plugin], |r| r.get(0))?
        .collect::<Result<BTreeSet<String>, _>>()?;
    Ok(rows)
}

/// Grants `permissions` to `plugin` (already granted ones are kept).
pub fn grant(
    conn: &Connection,
    plugin: &str,
    permissions: &[String],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO plugin_grants (plugin, permission, granted_at) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for p in permissions {
        stmt.execute(params![plugin, p, to_ms(at)])?;
    }
    Ok(())
}

/// Takes back every grant of `plugin` but those in `keep`: an update that
/// no longer asks for a permission loses it, so a later version asking for
/// it again waits for the streamer instead of inheriting it.
pub fn retain_grants(conn: &Connection, plugin: &str, keep: &[String]) -> Result<(), StoreError> {
    let granted = granted(conn, plugin)?;
    let mut delete =
        conn.prepare_cached("DELETE FROM plugin_grants WHERE plugin = ?1 AND permission = ?2")?;
    for permission in granted.iter().filter(|p| !keep.contains(p)) {
        delete.execute(params![plugin, permission])?;
    }
    Ok(())
}

/// Forgets everything kept for `plugin`: its key-value data, grants and
/// dashboard settings (when it is removed, or a new plugin takes a name an
/// old one left behind: it must not read the old one's data or inherit
/// its grants).
pub fn forget(conn: &Connection, plugin: &str) -> Result<(), StoreError> {
    for table in ["plugin_kv", "plugin_grants", "plugin_config"] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE plugin = ?1"))?
            .execute([plugin])?;
    }
    Ok(())
}

/// What the streamer set for a plugin; the default is enabled with the
/// manifest's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    pub enabled: bool,
    /// Settings replacing the manifest's `[settings]`, a JSON object.
    pub settings: Option<Value>,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            enabled: true,
            settings: None,
        }
    }
}

/// What the streamer set for `plugin` (the default when nothing).
pub fn config(conn: &Connection, plugin: &str) -> Result<PluginConfig, StoreError> {
    let row: Option<(bool, Option<String>)> = conn
        .prepare_cached("SELECT enabled, settings FROM plugin_config WHERE plugin = ?1")?
        .query_row([plugin], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((enabled, settings)) = row else {
        return Ok(PluginConfig::default());
    };
    Ok(PluginConfig {
        enabled,
        settings: settings.map(|s| serde_json::from_str(&s)).transpose()?,
    })
}

/// Enables or disables `plugin`, keeping its settings.
pub fn set_enabled(
    conn: &Connection,
    plugin: &str,
    enabled: bool,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO plugin_config (plugin, enabled, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (plugin) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at",
    )?
    .execute(params![plugin, enabled, to_ms(at)])?;
    Ok(())
}

/// Replaces `plugin`'s settings (None: back to the manifest's), keeping
/// whether it is enabled.
pub fn set_settings(
    conn: &Connection,
    plugin: &str,
    settings: Option<&Value>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let text = settings.map(serde_json::to_string).transpose()?;
    conn.prepare_cached(
        "INSERT INTO plugin_config (plugin, settings, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (plugin) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
    )?
    .execute(params![plugin, text, to_ms(at)])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::from_ms;
    use crate::store::testing::memory_db;

    #[test]
    fn kv_changes_apply_in_order_per_plugin() {
        let conn = memory_db();
        kv_apply(
            &conn,
            "a",
            &[
                ("k1".into(), Some("1".into())),
                ("k2".into(), Some("2".into())),
                ("k1".into(), Some("3".into())),
                ("k2".into(), None),
            ],
            from_ms(1),
        )
        .unwrap();
        kv_apply(&conn, "b", &[("k1".into(), Some("b".into()))], from_ms(1)).unwrap();
        let a = kv_load(&conn, "a").unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a["k1"], "3");
        assert_eq!(kv_load(&conn, "b").unwrap()["k1"], "b");
    }

    #[test]
    fn grants_accumulate() {
        let conn = memory_db();
        grant(&conn, "p", &["chat".into()], from_ms(1)).unwrap();
        grant(
            &conn,
            "p",
            &["chat".into(), "webhook:discord.com".into()],
            from_ms(2),
        )
        .unwrap();
        let g: Vec<_> = granted(&conn, "p").unwrap().into_iter().collect();
        assert_eq!(g, vec!["chat", "webhook:discord.com"]);
        assert!(granted(&conn, "q").unwrap().is_empty());
    }

    #[test]
    fn forgetting_a_plugin_leaves_the_others_and_pruning_keeps_what_is_asked() {
        let conn = memory_db();
        for plugin in ["p", "q"] {
            kv_apply(&conn, plugin, &[("k".into(), Some("v".into()))], from_ms(1)).unwrap();
            grant(
                &conn,
                plugin,
                &["chat".into(), "tts_rules".into()],
                from_ms(1),
            )
            .unwrap();
            set_enabled(&conn, plugin, false, from_ms(1)).unwrap();
        }
        retain_grants(&conn, "q", &["tts_rules".into(), "webhook:x.com".into()]).unwrap();
        let kept: Vec<_> = granted(&conn, "q").unwrap().into_iter().collect();
        assert_eq!(kept, vec!["tts_rules"]);
        forget(&conn, "p").unwrap();
        assert!(kv_load(&conn, "p").unwrap().is_empty());
        assert!(granted(&conn, "p").unwrap().is_empty());
        assert_eq!(config(&conn, "p").unwrap(), PluginConfig::default());
        assert_eq!(kv_load(&conn, "q").unwrap()["k"], "v");
        assert!(!config(&conn, "q").unwrap().enabled);
    }

    #[test]
    fn config_defaults_and_keeps_each_field() {
        let conn = memory_db();
        assert_eq!(config(&conn, "p").unwrap(), PluginConfig::default());
        set_enabled(&conn, "p", false, from_ms(1)).unwrap();
        let settings = serde_json::json!({"webhook_url": "https://discord.com/api/webhooks/1/x"});
        set_settings(&conn, "p", Some(&settings), from_ms(2)).unwrap();
        assert_eq!(
            config(&conn, "p").unwrap(),
            PluginConfig {
                enabled: false,
                settings: Some(settings)
            }
        );
        set_enabled(&conn, "p", true, from_ms(3)).unwrap();
        set_settings(&conn, "p", None, from_ms(4)).unwrap();
        assert_eq!(config(&conn, "p").unwrap(), PluginConfig::default());
        assert!(
            set_settings(&conn, "q", Some(&serde_json::json!([1])), from_ms(5)).is_err(),
            "settings are an object"
        );
    }
}
