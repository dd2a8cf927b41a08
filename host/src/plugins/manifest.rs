//! `plugin.toml`: who a plugin is, what it may do and its limits. Parsing
//! is pure; a bad manifest is an error naming the file and the problem.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::runtime::limiter;
use super::settings_schema::{self, Schema};

/// Default per-call deadline.
pub const DEFAULT_DEADLINE_MS: u64 = 50;
/// Default memory cap.
pub const DEFAULT_MEMORY_MIB: u64 = 64;
/// The most a plugin may ask for (and the streamer grant).
pub const MAX_DEADLINE_MS: u64 = 5_000;
pub const MAX_MEMORY_MIB: u64 = 1_024;
/// The bounds of `recycle_after_calls`: a fresh instance costs a
/// `configure`, which must not come with every event.
pub const MIN_RECYCLE_AFTER_CALLS: u64 = 1_000;
pub const MAX_RECYCLE_AFTER_CALLS: u64 = 100_000_000;
/// An instance holding more than this share of its memory budget after a
/// call is replaced by a fresh one before the next (percent).
pub const RECYCLE_MEMORY_PERCENT: usize = 90;

/// What `configure` (and instantiation) may take at least: set-up work such as
/// parsing settings or building tables runs once per instance.
pub const INIT_DEADLINE: Duration = Duration::from_secs(2);

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    /// The component file, relative to the plugin folder.
    pub wasm: Option<String>,
    /// What it asks to be allowed.
    pub permissions: BTreeSet<Permission>,
    pub deadline: Duration,
    pub memory_bytes: usize,
    /// Core instances its component may create (`[limits] instances`).
    pub instances: usize,
    /// Replace the instance with a fresh one after this many calls (for
    /// language runtimes whose heap grows with every call); kv is kept.
    pub recycle_after_calls: Option<u64>,
    /// `[settings]` as a JSON object, for `configure` and `host.settings`
    /// (with a schema: checked against it, missing keys at their defaults).
    pub settings: serde_json::Value,
    /// The `[[setting]]` schema the dashboard draws a form from and every
    /// settings object is checked against; None: settings are free JSON.
    pub schema: Option<Schema>,
}

/// Something the streamer must allow: an effect outside the overlay, media
/// from another host, or more time or memory than the host's defaults.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    /// Send chat messages.
    Chat,
    /// Mute, unmute, cool down and clear viewers' TTS.
    TtsRules,
    /// POST webhooks to this host.
    Webhook(String),
    /// Show images, sounds, videos and fonts from this host (https) on the
    /// overlay; without it only the host's own media can be shown.
    Media(String),
    /// A per-call deadline above the default.
    DeadlineMs(u64),
    /// A memory cap above the default.
    MemoryMib(u64),
}

impl Permission {
    /// The permission's name in the API and in grants: `chat`,
    /// `tts_rules`, `webhook:discord.com`, `media:cdn.example.com`,
    /// `deadline_ms:200`, `memory_mib:256`.
    pub fn key(&self) -> String {
        match self {
            Permission::Chat => "chat".into(),
            Permission::TtsRules => "tts_rules".into(),
            Permission::Webhook(host) => format!("webhook:{host}"),
            Permission::Media(host) => format!("media:{host}"),
            Permission::DeadlineMs(ms) => format!("deadline_ms:{ms}"),
            Permission::MemoryMib(mib) => format!("memory_mib:{mib}"),
        }
    }

    /// Parses [`Permission::key`].
    pub fn parse(key: &str) -> Option<Permission> {
        let (kind, value) = key.split_once(':').unwrap_or((key, ""));
        match (kind, value) {
            ("chat", "") => Some(Permission::Chat),
            ("tts_rules", "") => Some(Permission::TtsRules),
            ("webhook", h) if valid_host(h) => Some(Permission::Webhook(h.to_ascii_lowercase())),
            ("media", h) if valid_host(h) => Some(Permission::Media(h.to_ascii_lowercase())),
            ("deadline_ms", n) => n
                .parse()
                .ok()
                .filter(|n| (1..=MAX_DEADLINE_MS).contains(n))
                .map(Permission::DeadlineMs),
            ("memory_mib", n) => n
                .parse()
                .ok()
                .filter(|n| (1..=MAX_MEMORY_MIB).contains(n))
                .map(Permission::MemoryMib),
            _ => None,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: String,
    version: String,
    description: Option<String>,
    wasm: Option<String>,
    #[serde(default)]
    permissions: RawPermissions,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    settings: Option<toml::Table>,
    #[serde(default)]
    setting: Option<Vec<settings_schema::RawField>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPermissions {
    #[serde(default)]
    chat: bool,
    #[serde(default)]
    tts_rules: bool,
    #[serde(default)]
    webhooks: Vec<String>,
    #[serde(default)]
    media: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    deadline_ms: Option<u64>,
    memory_mib: Option<u64>,
    recycle_after_calls: Option<u64>,
    instances: Option<u64>,
}

/// Parses manifest text.
pub fn parse(text: &str) -> Result<Manifest, String> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| e.to_string())?;
    if !valid_name(&raw.name) {
        return Err(format!(
            "name {:?} must be 1-64 characters of a-z, 0-9 and -",
            raw.name
        ));
    }
    if raw.version.trim().is_empty() {
        return Err("version must not be empty".into());
    }
    // Shown in terminals (`plugin check`) and on the dashboard: plain text
    // of a sane length, so a package cannot hide what it asks for.
    let plain = |field: &str, text: &str, max: usize| {
        if text.chars().count() > max {
            Err(format!("{field} is over {max} characters"))
        } else if text.chars().any(char::is_control) {
            Err(format!("{field} holds control characters"))
        } else {
            Ok(())
        }
    };
    plain("version", &raw.version, 64)?;
    if let Some(description) = &raw.description {
        plain("description", description, 500)?;
    }
    if let Some(wasm) = &raw.wasm
        && (wasm.contains('/') || wasm.contains('\\') || !wasm.ends_with(".wasm"))
    {
        return Err(format!(
            "wasm {wasm:?} must be a .wasm file name in the plugin folder"
        ));
    }
    let mut permissions = BTreeSet::new();
    if raw.permissions.chat {
        permissions.insert(Permission::Chat);
    }
    if raw.permissions.tts_rules {
        permissions.insert(Permission::TtsRules);
    }
    for host in raw.permissions.webhooks {
        if !valid_host(&host) {
            return Err(format!(
                "webhooks: {host:?} is not a host name like discord.com"
            ));
        }
        permissions.insert(Permission::Webhook(host.to_ascii_lowercase()));
    }
    for host in raw.permissions.media {
        if !valid_host(&host) {
            return Err(format!(
                "media: {host:?} is not a host name like cdn.example.com"
            ));
        }
        permissions.insert(Permission::Media(host.to_ascii_lowercase()));
    }
    let deadline_ms = raw.limits.deadline_ms.unwrap_or(DEFAULT_DEADLINE_MS);
    if !(1..=MAX_DEADLINE_MS).contains(&deadline_ms) {
        return Err(format!(
            "limits.deadline_ms {deadline_ms} is outside 1 to {MAX_DEADLINE_MS}"
        ));
    }
    if deadline_ms > DEFAULT_DEADLINE_MS {
        permissions.insert(Permission::DeadlineMs(deadline_ms));
    }
    let memory_mib = raw.limits.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
    if !(1..=MAX_MEMORY_MIB).contains(&memory_mib) {
        return Err(format!(
            "limits.memory_mib {memory_mib} is outside 1 to {MAX_MEMORY_MIB}"
        ));
    }
    if memory_mib > DEFAULT_MEMORY_MIB {
        permissions.insert(Permission::MemoryMib(memory_mib));
    }
    if let Some(n) = raw.limits.recycle_after_calls
        && !(MIN_RECYCLE_AFTER_CALLS..=MAX_RECYCLE_AFTER_CALLS).contains(&n)
    {
        return Err(format!(
            "limits.recycle_after_calls {n} is outside {MIN_RECYCLE_AFTER_CALLS} to {MAX_RECYCLE_AFTER_CALLS}"
        ));
    }
    let instances = raw
        .limits
        .instances
        .unwrap_or(limiter::DEFAULT_INSTANCES as u64);
    if !(1..=limiter::MAX_INSTANCES as u64).contains(&instances) {
        return Err(format!(
            "limits.instances {instances} is outside 1 to {}",
            limiter::MAX_INSTANCES
        ));
    }
    let settings = serde_json::to_value(raw.settings.unwrap_or_default())
        .map_err(|e| format!("settings: {e}"))?;
    let media_hosts = crate::actions::media::granted_hosts(&permissions);
    let schema = raw
        .setting
        .map(|fields| settings_schema::parse(fields, &media_hosts))
        .transpose()?;
    let settings = match &schema {
        Some(schema) => schema
            .apply(&settings, &media_hosts)
            .map_err(|e| format!("[settings] does not fit the [[setting]] schema: {e}"))?,
        None => settings,
    };
    Ok(Manifest {
        name: raw.name,
        version: raw.version,
        description: raw.description,
        wasm: raw.wasm,
        permissions,
        deadline: Duration::from_millis(deadline_ms),
        memory_bytes: (memory_mib as usize) << 20,
        recycle_after_calls: raw.limits.recycle_after_calls,
        instances: instances as usize,
        settings,
        schema,
    })
}

impl Manifest {
    /// The deadline of `configure` and instantiation: the call deadline, but at
    /// least [`INIT_DEADLINE`].
    pub fn init_deadline(&self) -> Duration {
        self.deadline.max(INIT_DEADLINE)
    }

    /// Whether an instance that served `calls` and holds `memory_used`
    /// bytes (`baseline` once configured) should make way for a fresh one.
    /// One that starts above the memory mark would only be replaced by
    /// another like it: it is not recycled for memory.
    pub fn recycle_due(&self, calls: u64, memory_used: usize, baseline: usize) -> bool {
        let mark = self.memory_bytes / 100 * RECYCLE_MEMORY_PERCENT;
        self.recycle_after_calls.is_some_and(|n| calls >= n)
            || (memory_used > mark && baseline <= mark)
    }

    /// The media hosts this plugin asks for, as the settings schema checks
    /// media URLs against them.
    pub fn media_host_set(&self) -> BTreeSet<String> {
        crate::actions::media::granted_hosts(&self.permissions)
    }

    /// The settings the plugin runs with when the streamer's `settings`
    /// (None: the manifest's) are given: with a schema, checked against it
    /// and completed with its defaults.
    pub fn settings_for(
        &self,
        settings: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, settings_schema::Invalid> {
        match (settings, &self.schema) {
            (Some(given), Some(schema)) => schema.apply(given, &self.media_host_set()),
            (Some(given), None) => Ok(given.clone()),
            (None, _) => Ok(self.settings.clone()),
        }
    }

    /// The hosts whose media this plugin's alerts may show.
    pub fn media_hosts(&self) -> impl Iterator<Item = &str> {
        self.permissions.iter().filter_map(|p| match p {
            Permission::Media(host) => Some(host.as_str()),
            _ => None,
        })
    }
}

/// The manifest of a bare `.wasm` dropped into the plugins folder.
pub fn for_bare_wasm(name: &str) -> Manifest {
    Manifest {
        name: name.to_owned(),
        version: "0".into(),
        description: None,
        wasm: None,
        permissions: BTreeSet::new(),
        deadline: Duration::from_millis(DEFAULT_DEADLINE_MS),
        memory_bytes: (DEFAULT_MEMORY_MIB as usize) << 20,
        recycle_after_calls: None,
        instances: limiter::DEFAULT_INSTANCES,
        settings: serde_json::Value::Object(Default::default()),
        schema: None,
    }
}

/// A plugin name from a file stem: lowercase, `_` and spaces become `-`.
pub fn name_from_stem(stem: &str) -> Option<String> {
    let name: String = stem
        .chars()
        .map(|c| match c {
            '_' | ' ' | '.' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    valid_name(&name).then_some(name)
}

/// Plugin names: 1-64 of a-z, 0-9, `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.contains('.')
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_manifest_parses() {
        let m = parse(
            r#"
            name = "discord-webhook"
            version = "1.2.0"
            description = "posts to Discord"
            wasm = "discord_webhook.wasm"
            [permissions]
            chat = true
            tts_rules = true
            webhooks = ["Discord.com", "discordapp.com"]
            [limits]
            deadline_ms = 20
            memory_mib = 16
            [settings]
            webhook_url = "https://discord.com/api/webhooks/1/x"
            events = ["channel.follow"]
            "#,
        )
        .unwrap();
        assert_eq!(m.name, "discord-webhook");
        assert_eq!(m.deadline, Duration::from_millis(20));
        assert_eq!(m.memory_bytes, 16 << 20);
        let keys: Vec<_> = m.permissions.iter().map(Permission::key).collect();
        assert_eq!(
            keys,
            vec![
                "chat",
                "tts_rules",
                "webhook:discord.com",
                "webhook:discordapp.com"
            ]
        );
        assert_eq!(m.settings["events"][0], "channel.follow");
    }

    #[test]
    fn a_minimal_manifest_gets_defaults() {
        let m = parse("name = \"x\"\nversion = \"0.1.0\"").unwrap();
        assert!(m.permissions.is_empty());
        assert_eq!(m.deadline, Duration::from_millis(50));
        assert_eq!(m.memory_bytes, 64 << 20);
        assert_eq!(m.settings, serde_json::json!({}));
    }

    #[test]
    fn bad_manifests_say_what_is_wrong() {
        for (text, needle) in [
            ("version = \"1\"", "name"),
            ("name = \"Bad Name\"\nversion = \"1\"", "must be 1-64"),
            ("name = \"x\"\nversion = \"\"", "version"),
            (
                "name = \"x\"\nversion = \"1\"\nwasm = \"../evil.wasm\"",
                "wasm",
            ),
            (
                "name = \"x\"\nversion = \"1\"\n[permissions]\nwebhooks = [\"http://x\"]",
                "webhooks",
            ),
            (
                "name = \"x\"\nversion = \"1\"\n[limits]\ndeadline_ms = 0",
                "deadline_ms",
            ),
            (
                "name = \"x\"\nversion = \"1\"\n[limits]\nmemory_mib = 100000",
                "memory_mib",
            ),
            (
                "name = \"x\"\nversion = \"1\"\nnetwork = true",
                "unknown field",
            ),
            (
                "name = \"x\"\nversion = \"1\"\n[permissions]\nfilesystem = true",
                "unknown field",
            ),
            ("name = = \"x\"", "expected"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn permission_keys_round_trip() {
        for p in [
            Permission::Chat,
            Permission::TtsRules,
            Permission::Webhook("discord.com".into()),
            Permission::Media("cdn.example.com".into()),
            Permission::DeadlineMs(200),
            Permission::MemoryMib(256),
        ] {
            assert_eq!(Permission::parse(&p.key()), Some(p));
        }
        for bad in [
            "webhook:",
            "filesystem",
            "chat:x",
            "media:not a host",
            "deadline_ms:0",
            "deadline_ms:99999",
            "memory_mib:4096",
            "memory_mib:lots",
        ] {
            assert_eq!(Permission::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn more_than_the_default_limits_is_a_request_the_streamer_grants() {
        let m = parse(
            "name = \"x\"\nversion = \"1\"\n[permissions]\nmedia = [\"CDN.example.com\"]\n[limits]\ndeadline_ms = 200\nmemory_mib = 256",
        )
        .unwrap();
        let keys: Vec<_> = m.permissions.iter().map(Permission::key).collect();
        assert_eq!(
            keys,
            vec!["media:cdn.example.com", "deadline_ms:200", "memory_mib:256"]
        );
        assert_eq!(m.media_hosts().collect::<Vec<_>>(), vec!["cdn.example.com"]);
        assert_eq!(m.init_deadline(), INIT_DEADLINE);
        // Asking for less than the defaults needs nobody's permission.
        let small =
            parse("name = \"x\"\nversion = \"1\"\n[limits]\ndeadline_ms = 20\nmemory_mib = 16")
                .unwrap();
        assert!(small.permissions.is_empty());
        // Nothing above the host's ceilings, granted or not.
        for (limit, value) in [("deadline_ms", 5001), ("memory_mib", 1025)] {
            let err = parse(&format!(
                "name = \"x\"\nversion = \"1\"\n[limits]\n{limit} = {value}"
            ))
            .unwrap_err();
            assert!(err.contains(limit) && err.contains("outside"), "{err}");
        }
    }

    #[test]
    fn every_shipped_plugin_manifest_parses_and_matches_its_folder() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut seen = 0;
        for set in ["plugins", "tests/plugins"] {
            for entry in std::fs::read_dir(root.join(set)).unwrap() {
                let folder = entry.unwrap().path();
                let path = folder.join("plugin.toml");
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let m = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let folder_name = folder.file_name().unwrap().to_str().unwrap();
                assert_eq!(m.name, folder_name, "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 5, "found only {seen} manifests");
    }

    #[test]
    fn a_settings_schema_fills_in_and_checks_the_manifests_settings() {
        let base = "name = \"x\"\nversion = \"1\"\n[[setting]]\nkey = \"title\"\ntype = \"text\"\nlabel = \"Title\"\ndefault = \"Hi\"\n[[setting]]\nkey = \"ms\"\ntype = \"duration\"\nlabel = \"Ms\"\nmax_ms = 100\n";
        let m = parse(base).unwrap();
        assert_eq!(m.settings, serde_json::json!({"title": "Hi", "ms": 0}));
        assert_eq!(m.schema.as_ref().unwrap().fields.len(), 2);
        // Streamer settings: checked and completed; without a schema, as given.
        let given = serde_json::json!({"ms": 50});
        assert_eq!(
            m.settings_for(Some(&given)).unwrap(),
            serde_json::json!({"title": "Hi", "ms": 50})
        );
        let bad = m
            .settings_for(Some(&serde_json::json!({"ms": 500})))
            .unwrap_err();
        assert_eq!(bad.field, "ms");
        let free = parse("name = \"x\"\nversion = \"1\"").unwrap();
        assert!(free.schema.is_none());
        assert_eq!(free.settings_for(Some(&given)).unwrap(), given);

        let with_table = format!("{base}[settings]\ntitle = \"Hello\"");
        assert_eq!(parse(&with_table).unwrap().settings["title"], "Hello");
        let misfit = format!("{base}[settings]\ntitel = \"Hello\"");
        let err = parse(&misfit).unwrap_err();
        assert!(
            err.contains("[settings] does not fit the [[setting]] schema: titel"),
            "{err}"
        );
        // A media default may name a host the plugin asks for, and no other.
        let media = "name = \"x\"\nversion = \"1\"\n[permissions]\nmedia = [\"cdn.example.com\"]\n[[setting]]\nkey = \"m\"\ntype = \"media\"\nlabel = \"M\"\ndefault = \"https://cdn.example.com/a.png\"";
        assert!(parse(media).is_ok());
        let elsewhere = media.replace("default = \"https://cdn", "default = \"https://other");
        assert!(parse(&elsewhere).unwrap_err().contains("setting \"m\""));
    }

    #[test]
    fn names_from_file_stems() {
        assert_eq!(
            name_from_stem("follow_alert").as_deref(),
            Some("follow-alert")
        );
        assert_eq!(name_from_stem("My Plugin").as_deref(), Some("my-plugin"));
        assert_eq!(name_from_stem("ünïcode"), None);
    }

    #[test]
    fn recycling_follows_the_call_count_and_the_memory_mark() {
        let m =
            parse("name = \"x\"\nversion = \"1\"\n[limits]\nrecycle_after_calls = 1000").unwrap();
        assert_eq!(m.recycle_after_calls, Some(1000));
        assert!(!m.recycle_due(999, 1 << 20, 1 << 20));
        assert!(m.recycle_due(1000, 1 << 20, 1 << 20));
        // 90% of 64 MiB.
        let plain = parse("name = \"x\"\nversion = \"1\"").unwrap();
        assert!(!plain.recycle_due(u64::MAX, 57 << 20, 1 << 20));
        assert!(plain.recycle_due(1, 58 << 20, 1 << 20));
        // Above the mark from the start: a fresh one would be no better.
        assert!(!plain.recycle_due(1, 60 << 20, 59 << 20));
        for n in [0, 1, 999] {
            let text =
                format!("name = \"x\"\nversion = \"1\"\n[limits]\nrecycle_after_calls = {n}");
            let err = parse(&text).unwrap_err();
            assert!(
                err.contains(&format!("recycle_after_calls {n} is outside 1000")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_plugin_may_ask_for_more_core_instances_within_bounds() {
        let plain = parse("name = \"x\"\nversion = \"1\"").unwrap();
        assert_eq!(plain.instances, limiter::DEFAULT_INSTANCES);
        let bigger = parse("name = \"x\"\nversion = \"1\"\n[limits]\ninstances = 24").unwrap();
        assert_eq!(bigger.instances, 24);
        for n in [0, 33] {
            let text = format!("name = \"x\"\nversion = \"1\"\n[limits]\ninstances = {n}");
            assert!(
                parse(&text).unwrap_err().contains("limits.instances"),
                "{n}"
            );
        }
    }

    #[test]
    fn version_and_description_are_plain_text() {
        let esc = parse("name = \"x\"\nversion = \"1\\u001b[8m\"");
        assert!(
            esc.unwrap_err()
                .contains("version holds control characters")
        );
        let long = format!(
            "name = \"x\"\nversion = \"1\"\ndescription = \"{}\"",
            "d".repeat(501)
        );
        assert!(
            parse(&long)
                .unwrap_err()
                .contains("description is over 500")
        );
        let fine = parse("name = \"x\"\nversion = \"1.0.0-beta\"\ndescription = \"Alerts\"");
        assert!(fine.is_ok());
    }
}
