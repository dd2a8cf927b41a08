//! Configuration: defaults, then a TOML file, then environment variables
//! (`STAGEHAND_*`, whose names are a stable external contract), then
//! command-line flags. Resolution is a pure function of its inputs so it is
//! tested without touching the process environment.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Pollers whose fast interval `STAGEHAND_POLL_<NAME>_SECS` may override.
pub const POLLERS: [&str; 6] = [
    "followers",
    "subscriptions",
    "vips",
    "moderators",
    "bans",
    "clips",
];

/// Which command is running: the demo keeps its data apart by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Demo,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Twitch endpoints and credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwitchConfig {
    pub client_id: Option<String>,
    /// Skips the login flow when set.
    pub access_token: Option<String>,
    pub eventsub_url: String,
    pub api_url: String,
    /// The base of `eventsub/subscriptions`: `api_url` unless set (the
    /// Twitch CLI serves it apart from its Helix mock).
    pub eventsub_api_url: String,
    pub auth_url: String,
}

/// The resolved configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Database, tokens and the compiled-plugin cache.
    pub data_dir: PathBuf,
    pub plugins_dir: PathBuf,
    pub addr: SocketAddr,
    /// HTTP connections served at once (more wait in the listen backlog).
    pub max_connections: usize,
    /// Bearer token for `/api/*`; generated per run when absent.
    pub api_token: Option<String>,
    /// Overlay key; generated once and kept in the data dir when absent.
    pub overlay_key: Option<String>,
    /// The broadcaster whose events local triggers belong to until a Twitch
    /// login says otherwise.
    pub channel_id: String,
    /// Fast polling intervals overridden by the file or environment.
    pub poll_secs: BTreeMap<String, u64>,
    pub twitch: TwitchConfig,
    pub log_format: LogFormat,
    /// Plugin permissions granted in the file (`[grants] name = ["chat"]`),
    /// besides those granted from the dashboard.
    pub grants: BTreeMap<String, BTreeSet<String>>,
    /// The Redis bridge (off without a URL).
    pub redis: RedisConfig,
    /// Inbound webhooks (`POST /hooks/kofi`, `POST /hooks/{name}`).
    pub hooks: HooksConfig,
}

/// A secret from the configuration: compared, never printed (its `Debug`
/// shows a placeholder, so a logged config leaks nothing).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a configured secret.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the comparison that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Inbound webhooks: Ko-fi's verification token and the streamer's own
/// hooks, each with its secret. A hook not configured answers 404.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HooksConfig {
    /// Ko-fi's verification token (`STAGEHAND_KOFI_TOKEN` or `kofi_token`):
    /// `POST /hooks/kofi` exists only when it is set.
    pub kofi_token: Option<Secret>,
    /// `[hooks.<name>]` tables, by name.
    pub hooks: BTreeMap<String, HookConfig>,
}

/// One generic hook (`POST /hooks/<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookConfig {
    /// The HMAC-SHA256 key its sender signs bodies with.
    pub secret: Secret,
    /// What its JSON becomes.
    pub kind: HookKind,
}

/// What a generic hook's JSON becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookKind {
    /// An event of kind `hook.<name>` carrying the JSON object as it came.
    Other,
    /// A `donation` event; each donation field is read from the dotted
    /// path given (a field not listed is read from its own name).
    Donation { fields: BTreeMap<String, String> },
}

/// The donation fields a hook's `[hooks.<name>.fields]` may map (the
/// `source` is always the hook's name).
pub const DONATION_FIELDS: [&str; 7] = [
    "username",
    "amount",
    "currency",
    "message",
    "is_public",
    "donation_type",
    "tier_name",
];

/// The route name Ko-fi's hook uses, which no generic hook may take.
pub const KOFI_HOOK: &str = "kofi";

/// The channel the Redis bridge subscribes to when none are named: where
/// the streamer's Discord bot publishes.
pub const DEFAULT_REDIS_CHANNEL: &str = "discord_events";
/// The most channels the bridge subscribes to.
pub const MAX_REDIS_CHANNELS: usize = 32;
/// The longest channel name accepted.
pub const MAX_REDIS_CHANNEL_LEN: usize = 100;

/// The Redis bridge (`STAGEHAND_REDIS_*`, `[redis]` in the file).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RedisConfig {
    /// `redis://`, `rediss://` (TLS) or `redis+unix://` URL; the bridge is
    /// off without one. May hold a password: never logged or shown whole.
    pub url: Option<String>,
    /// Channels to subscribe to (at least one when `url` is set).
    pub channels: Vec<String>,
    /// The channel every stored event is published on, if any.
    pub publish: Option<String>,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field(
                "url",
                &self.url.as_deref().map(crate::external::redis::redact_url),
            )
            .field("channels", &self.channels)
            .field("publish", &self.publish)
            .finish()
    }
}

/// The TOML file's shape; every key optional, unknown keys refused (a typo
/// should not silently fall back to a default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub plugins_dir: Option<PathBuf>,
    pub addr: Option<String>,
    pub max_connections: Option<usize>,
    pub api_token: Option<String>,
    pub overlay_key: Option<String>,
    pub channel_id: Option<String>,
    pub log_format: Option<LogFormat>,
    #[serde(default)]
    pub poll_secs: BTreeMap<String, u64>,
    #[serde(default)]
    pub twitch: FileTwitch,
    #[serde(default)]
    pub grants: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub redis: FileRedis,
    /// Ko-fi's verification token (`STAGEHAND_KOFI_TOKEN` overrides it).
    pub kofi_token: Option<String>,
    /// `[hooks.<name>]`: the streamer's own webhooks.
    #[serde(default)]
    pub hooks: BTreeMap<String, FileHook>,
}

/// `[hooks.<name>]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHook {
    pub secret: Option<String>,
    /// `donation`, or absent for `hook.<name>` events.
    pub kind: Option<String>,
    /// For `kind = "donation"`: donation field → dotted path in the JSON.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `[redis]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRedis {
    pub url: Option<String>,
    pub channels: Option<Vec<String>>,
    pub publish: Option<String>,
}

/// `[twitch]` in the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTwitch {
    pub client_id: Option<String>,
    pub access_token: Option<String>,
    pub eventsub_url: Option<String>,
    pub api_url: Option<String>,
    pub eventsub_api_url: Option<String>,
    pub auth_url: Option<String>,
}

/// A configuration value that cannot be used, with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("no data directory: set STAGEHAND_DATA_DIR (this system has no standard one)")]
    NoDataDir,
}

/// Reads a config file.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The config file to read: `--config`, else `STAGEHAND_CONFIG`, else the
/// user's `stagehand/stagehand.toml` if it exists.
pub fn file_path(flag: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = flag {
        return Some(p.to_path_buf());
    }
    if let Some(p) = env("STAGEHAND_CONFIG").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let default = dirs::config_dir()?.join("stagehand").join("stagehand.toml");
    default.is_file().then_some(default)
}

/// Resolves the configuration from the file (if any) and `env`.
pub fn resolve(
    file: FileConfig,
    env: &dyn Fn(&str) -> Option<String>,
    mode: Mode,
) -> Result<Config, ConfigError> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());

    let data_dir = match var("STAGEHAND_DATA_DIR")
        .map(PathBuf::from)
        .or(file.data_dir)
    {
        Some(dir) => dir,
        None => {
            let base = dirs::data_dir()
                .ok_or(ConfigError::NoDataDir)?
                .join("stagehand");
            match mode {
                Mode::Run => base,
                Mode::Demo => base.join("demo"),
            }
        }
    };
    let plugins_dir = var("STAGEHAND_PLUGINS_DIR")
        .map(PathBuf::from)
        .or(file.plugins_dir)
        .unwrap_or_else(|| data_dir.join("plugins"));

    let (addr_text, origin) = match var("STAGEHAND_ADDR") {
        Some(a) => (a, "STAGEHAND_ADDR".to_owned()),
        None => match file.addr {
            Some(a) => (a, "addr in the config file".to_owned()),
            None => ("127.0.0.1:7878".to_owned(), "default".to_owned()),
        },
    };
    let addr: SocketAddr = addr_text.parse().map_err(|_| ConfigError::Invalid {
        origin,
        message: format!("{addr_text:?} is not an address like 127.0.0.1:7878"),
    })?;

    let max_connections = match var("STAGEHAND_MAX_CONNECTIONS") {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ConfigError::Invalid {
                origin: "STAGEHAND_MAX_CONNECTIONS".into(),
                message: format!("{v:?} is not a number of connections"),
            })?,
        None => file.max_connections.unwrap_or(512),
    };
    if !(1..=65_536).contains(&max_connections) {
        return Err(ConfigError::Invalid {
            origin: "STAGEHAND_MAX_CONNECTIONS".into(),
            message: format!("{max_connections} is outside 1 to 65536"),
        });
    }

    let api_token = var("STAGEHAND_API_TOKEN").or(file.api_token);
    if let Some(t) = &api_token {
        check_secret("STAGEHAND_API_TOKEN", t)?;
    }
    let overlay_key = var("STAGEHAND_OVERLAY_KEY").or(file.overlay_key);
    if let Some(k) = &overlay_key {
        check_secret("STAGEHAND_OVERLAY_KEY", k)?;
    }

    let mut poll_secs = BTreeMap::new();
    for (name, secs) in file.poll_secs {
        if !POLLERS.contains(&name.as_str()) {
            return Err(ConfigError::Invalid {
                origin: "poll_secs in the config file".into(),
                message: format!("unknown poller {name:?} (known: {})", POLLERS.join(", ")),
            });
        }
        let secs = check_interval(&format!("poll_secs.{name}"), secs)?;
        poll_secs.insert(name, secs);
    }
    for name in POLLERS {
        let key = format!("STAGEHAND_POLL_{}_SECS", name.to_uppercase());
        if let Some(v) = var(&key) {
            let secs = v.trim().parse::<u64>().map_err(|_| ConfigError::Invalid {
                origin: key.clone(),
                message: format!("{v:?} is not a whole number of seconds"),
            })?;
            poll_secs.insert(name.to_owned(), check_interval(&key, secs)?);
        }
    }

    let api_url = trim_slash(
        var("TWITCH_API_URL")
            .or(file.twitch.api_url)
            .unwrap_or_else(|| "https://api.twitch.tv/helix".into()),
    );
    let twitch = TwitchConfig {
        client_id: var("TWITCH_CLIENT_ID").or(file.twitch.client_id),
        access_token: var("TWITCH_ACCESS_TOKEN").or(file.twitch.access_token),
        eventsub_url: var("TWITCH_EVENTSUB_URL")
            .or(file.twitch.eventsub_url)
            .unwrap_or_else(|| "wss://eventsub.wss.twitch.tv/ws".into()),
        eventsub_api_url: trim_slash(
            var("TWITCH_EVENTSUB_API_URL")
                .or(file.twitch.eventsub_api_url)
                .unwrap_or_else(|| api_url.clone()),
        ),
        api_url,
        auth_url: trim_slash(
            var("TWITCH_AUTH_URL")
                .or(file.twitch.auth_url)
                .unwrap_or_else(|| "https://id.twitch.tv/oauth2".into()),
        ),
    };

    let log_format = match var("STAGEHAND_LOG_FORMAT") {
        Some(v) => match v.to_lowercase().as_str() {
            "human" => LogFormat::Human,
            "json" => LogFormat::Json,
            _ => {
                return Err(ConfigError::Invalid {
                    origin: "STAGEHAND_LOG_FORMAT".into(),
                    message: format!("{v:?} is not human or json"),
                });
            }
        },
        None => file.log_format.unwrap_or_default(),
    };

    let mut grants = BTreeMap::new();
    for (plugin, permissions) in file.grants {
        for p in &permissions {
            if crate::plugins::manifest::Permission::parse(p).is_none() {
                return Err(ConfigError::Invalid {
                    origin: format!("grants.{plugin} in the config file"),
                    message: format!(
                        "{p:?} is not a permission (chat, tts_rules, webhook:<host>, media:<host>, deadline_ms:<n>, memory_mib:<n>)"
                    ),
                });
            }
        }
        grants.insert(plugin, permissions.into_iter().collect());
    }

    let redis = resolve_redis(file.redis, &var)?;

    let hooks = resolve_hooks(var("STAGEHAND_KOFI_TOKEN"), file.kofi_token, file.hooks)?;

    let channel_id = file.channel_id.unwrap_or_else(|| match mode {
        Mode::Run => "local".into(),
        Mode::Demo => "demo".into(),
    });

    Ok(Config {
        data_dir,
        plugins_dir,
        addr,
        max_connections,
        api_token,
        overlay_key,
        channel_id,
        poll_secs,
        twitch,
        log_format,
        grants,
        redis,
        hooks,
    })
}

/// The hooks' configuration, each secret and name checked.
fn resolve_hooks(
    kofi_env: Option<String>,
    kofi_file: Option<String>,
    file: BTreeMap<String, FileHook>,
) -> Result<HooksConfig, ConfigError> {
    let kofi_token = match (kofi_env, kofi_file) {
        (Some(t), _) => {
            check_secret("STAGEHAND_KOFI_TOKEN", &t)?;
            Some(Secret::new(t))
        }
        (None, Some(t)) => {
            check_secret("kofi_token in the config file", &t)?;
            Some(Secret::new(t))
        }
        (None, None) => None,
    };
    let mut hooks = BTreeMap::new();
    for (name, hook) in file {
        let origin = format!("hooks.{name} in the config file");
        let invalid = |message: String| ConfigError::Invalid {
            origin: origin.clone(),
            message,
        };
        if !valid_hook_name(&name) {
            return Err(invalid(
                "a hook's name is 1 to 64 lowercase letters, digits, '-' or '_'".into(),
            ));
        }
        if name == KOFI_HOOK {
            return Err(invalid(
                "`kofi` is Ko-fi's hook: set kofi_token (or STAGEHAND_KOFI_TOKEN) instead".into(),
            ));
        }
        let Some(secret) = hook.secret else {
            return Err(invalid(
                "needs a `secret` (at least 16 characters) to check signatures with".into(),
            ));
        };
        check_secret(&origin, &secret)?;
        let kind = match hook.kind.as_deref() {
            None => {
                if !hook.fields.is_empty() {
                    return Err(invalid(
                        "`fields` maps a typed kind's fields: set kind = \"donation\" too".into(),
                    ));
                }
                HookKind::Other
            }
            Some("donation") => {
                for (field, path) in &hook.fields {
                    if !DONATION_FIELDS.contains(&field.as_str()) {
                        return Err(invalid(format!(
                            "fields.{field}: a donation has no such field (it has {})",
                            DONATION_FIELDS.join(", ")
                        )));
                    }
                    if path.is_empty() || path.split('.').any(str::is_empty) {
                        return Err(invalid(format!(
                            "fields.{field}: {path:?} is not a dotted path like \"donor.name\""
                        )));
                    }
                }
                HookKind::Donation {
                    fields: hook.fields,
                }
            }
            Some(other) => {
                return Err(invalid(format!(
                    "kind {other:?} is not one a hook maps to: use \"donation\", or leave it out for hook.{name} events"
                )));
            }
        };
        hooks.insert(
            name,
            HookConfig {
                secret: Secret::new(secret),
                kind,
            },
        );
    }
    Ok(HooksConfig { kofi_token, hooks })
}

/// Whether `name` may name a hook (it is part of the route and of the
/// event kind `hook.<name>`).
pub fn valid_hook_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// `STAGEHAND_REDIS_URL`, `STAGEHAND_REDIS_CHANNELS` (comma-separated) and
/// `STAGEHAND_REDIS_PUBLISH`, over `[redis]` in the file.
fn resolve_redis(
    file: FileRedis,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<RedisConfig, ConfigError> {
    let (url, url_origin) = match var("STAGEHAND_REDIS_URL") {
        Some(url) => (Some(url.trim().to_owned()), "STAGEHAND_REDIS_URL"),
        None => (file.url, "redis.url in the config file"),
    };
    let (channels, channels_origin) = match var("STAGEHAND_REDIS_CHANNELS") {
        Some(list) => (
            Some(list.split(',').map(|c| c.trim().to_owned()).collect()),
            "STAGEHAND_REDIS_CHANNELS",
        ),
        None => (file.channels, "redis.channels in the config file"),
    };
    let (publish, publish_origin) = match var("STAGEHAND_REDIS_PUBLISH") {
        Some(channel) => (Some(channel.trim().to_owned()), "STAGEHAND_REDIS_PUBLISH"),
        None => (file.publish, "redis.publish in the config file"),
    };
    let invalid = |origin: &str, message: String| ConfigError::Invalid {
        origin: origin.to_owned(),
        message,
    };
    let Some(url) = url else {
        if channels.is_some() {
            return Err(invalid(
                channels_origin,
                "names channels but no Redis server: set STAGEHAND_REDIS_URL too".into(),
            ));
        }
        if publish.is_some() {
            return Err(invalid(
                publish_origin,
                "names a channel but no Redis server: set STAGEHAND_REDIS_URL too".into(),
            ));
        }
        return Ok(RedisConfig::default());
    };
    check_redis_url(&url).map_err(|message| invalid(url_origin, message))?;
    let mut names: Vec<String> = Vec::new();
    for channel in channels.unwrap_or_else(|| vec![DEFAULT_REDIS_CHANNEL.to_owned()]) {
        check_redis_channel(&channel).map_err(|message| invalid(channels_origin, message))?;
        if !names.contains(&channel) {
            names.push(channel);
        }
    }
    if names.is_empty() {
        return Err(invalid(channels_origin, "names no channel".into()));
    }
    if names.len() > MAX_REDIS_CHANNELS {
        return Err(invalid(
            channels_origin,
            format!(
                "names {} channels; at most {MAX_REDIS_CHANNELS}",
                names.len()
            ),
        ));
    }
    if let Some(channel) = &publish {
        check_redis_channel(channel).map_err(|message| invalid(publish_origin, message))?;
        if names.contains(channel) {
            return Err(invalid(
                publish_origin,
                format!(
                    "{channel:?} is also a channel the bridge subscribes to: every published event would come back as a new one; publish on another channel"
                ),
            ));
        }
    }
    Ok(RedisConfig {
        url: Some(url),
        channels: names,
        publish,
    })
}

/// Why `url` is not a Redis URL the bridge can use (the message never
/// repeats the URL, which may hold a password).
fn check_redis_url(url: &str) -> Result<(), String> {
    let shape = "a Redis URL like redis://127.0.0.1:6379 (rediss:// for TLS, redis+unix:///path for a socket)";
    if url.len() > 2048 {
        return Err(format!(
            "is longer than 2048 characters; it must be {shape}"
        ));
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("is not {shape}: {e}"))?;
    match parsed.scheme() {
        "redis" | "rediss" | "valkey" | "valkeys" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(format!("names no host; it must be {shape}"));
            }
            Ok(())
        }
        "redis+unix" | "valkey+unix" | "unix" => Ok(()),
        other => Err(format!("has the scheme {other:?}; it must be {shape}")),
    }
}

/// Why `name` is not a channel name the bridge accepts: 1 to 100 ASCII
/// letters, digits, `.`, `_`, `-` or `:` (channel names also become event
/// kinds and ids, so they keep to characters safe in both).
fn check_redis_channel(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':');
    if name.is_empty() {
        return Err("has an empty channel name".into());
    }
    if name.len() > MAX_REDIS_CHANNEL_LEN || !name.chars().all(allowed) {
        let shown: String = name.chars().take(40).flat_map(char::escape_debug).collect();
        return Err(format!(
            "channel \"{shown}\" is not 1 to {MAX_REDIS_CHANNEL_LEN} letters, digits, '.', '_', '-' or ':'"
        ));
    }
    Ok(())
}

fn check_secret(origin: &str, value: &str) -> Result<(), ConfigError> {
    if value.len() < 16 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            message: "must be at least 16 characters, without spaces".into(),
        });
    }
    Ok(())
}

fn check_interval(origin: &str, secs: u64) -> Result<u64, ConfigError> {
    if !(1..=7 * 24 * 3600).contains(&secs) {
        return Err(ConfigError::Invalid {
            origin: origin.into(),
            message: format!("{secs} s is outside 1 s to 7 days"),
        });
    }
    Ok(secs)
}

fn trim_slash(mut url: String) -> String {
    while url.ends_with('/') {
        url.pop();
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_bind_loopback_and_use_twitch() {
        let c = resolve(
            FileConfig::default(),
            &env(&[("STAGEHAND_DATA_DIR", "/d")]),
            Mode::Run,
        )
        .unwrap();
        assert_eq!(c.addr, "127.0.0.1:7878".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.plugins_dir, PathBuf::from("/d/plugins"));
        assert_eq!(c.twitch.eventsub_url, "wss://eventsub.wss.twitch.tv/ws");
        assert_eq!(c.twitch.api_url, "https://api.twitch.tv/helix");
        assert_eq!(c.twitch.eventsub_api_url, c.twitch.api_url);
        assert_eq!(c.twitch.auth_url, "https://id.twitch.tv/oauth2");
        assert_eq!(c.api_token, None);
        assert_eq!(c.log_format, LogFormat::Human);
    }

    #[test]
    fn the_demo_keeps_its_data_apart_by_default() {
        // Tests run with a home directory, so there is a standard data dir.
        let run = resolve(FileConfig::default(), &env(&[]), Mode::Run).unwrap();
        let demo = resolve(FileConfig::default(), &env(&[]), Mode::Demo).unwrap();
        assert_eq!(demo.data_dir, run.data_dir.join("demo"));
        assert!(
            run.data_dir.ends_with("stagehand"),
            "{}",
            run.data_dir.display()
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let file: FileConfig = toml::from_str(
            r#"
            addr = "127.0.0.1:9000"
            data_dir = "/from-file"
            api_token = "file-token-0123456789"
            [poll_secs]
            followers = 30
            clips = 600
            [twitch]
            api_url = "http://127.0.0.1:1/helix/"
            "#,
        )
        .unwrap();
        let c = resolve(
            file,
            &env(&[
                ("STAGEHAND_ADDR", "127.0.0.1:9100"),
                ("STAGEHAND_POLL_FOLLOWERS_SECS", "15"),
                ("STAGEHAND_POLL_BANS_SECS", "45"),
                ("TWITCH_EVENTSUB_URL", "ws://127.0.0.1:2/ws"),
                ("STAGEHAND_LOG_FORMAT", "json"),
            ]),
            Mode::Run,
        )
        .unwrap();
        assert_eq!(c.addr.port(), 9100);
        assert_eq!(c.data_dir, PathBuf::from("/from-file"));
        assert_eq!(c.api_token.as_deref(), Some("file-token-0123456789"));
        assert_eq!(c.poll_secs["followers"], 15);
        assert_eq!(c.poll_secs["clips"], 600);
        assert_eq!(c.poll_secs["bans"], 45);
        assert_eq!(c.twitch.api_url, "http://127.0.0.1:1/helix");
        assert_eq!(c.twitch.eventsub_url, "ws://127.0.0.1:2/ws");
        assert_eq!(
            c.twitch.eventsub_api_url, "http://127.0.0.1:1/helix",
            "the subscriptions endpoint follows TWITCH_API_URL unless set"
        );
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_name_their_origin() {
        let cases = [
            ("STAGEHAND_ADDR", "localhost", "STAGEHAND_ADDR"),
            (
                "STAGEHAND_POLL_FOLLOWERS_SECS",
                "soon",
                "STAGEHAND_POLL_FOLLOWERS_SECS",
            ),
            (
                "STAGEHAND_POLL_CLIPS_SECS",
                "0",
                "STAGEHAND_POLL_CLIPS_SECS",
            ),
            ("STAGEHAND_API_TOKEN", "short", "STAGEHAND_API_TOKEN"),
            ("STAGEHAND_LOG_FORMAT", "xml", "STAGEHAND_LOG_FORMAT"),
        ];
        for (key, value, origin) in cases {
            let err = resolve(
                FileConfig::default(),
                &env(&[("STAGEHAND_DATA_DIR", "/d"), (key, value)]),
                Mode::Run,
            )
            .unwrap_err()
            .to_string();
            assert!(err.starts_with(origin), "{key}={value}: {err}");
        }
    }

    #[test]
    fn grants_come_from_the_file_and_are_checked() {
        let file: FileConfig =
            toml::from_str("[grants]\ndiscord-webhook = [\"webhook:discord.com\"]").unwrap();
        let c = resolve(file, &env(&[("STAGEHAND_DATA_DIR", "/d")]), Mode::Run).unwrap();
        assert!(c.grants["discord-webhook"].contains("webhook:discord.com"));
        let bad: FileConfig = toml::from_str("[grants]\nx = [\"filesystem\"]").unwrap();
        let err = resolve(bad, &env(&[("STAGEHAND_DATA_DIR", "/d")]), Mode::Run).unwrap_err();
        assert!(err.to_string().contains("grants.x"), "{err}");
    }

    #[test]
    fn unknown_file_keys_and_pollers_are_refused() {
        assert!(toml::from_str::<FileConfig>("adress = \"x\"").is_err());
        let file: FileConfig = toml::from_str("[poll_secs]\nfollowerz = 5").unwrap();
        let err = resolve(file, &env(&[("STAGEHAND_DATA_DIR", "/d")]), Mode::Run).unwrap_err();
        assert!(err.to_string().contains("followerz"), "{err}");
    }

    #[test]
    fn redis_is_off_by_default_and_subscribes_to_discord_events() {
        let c = resolve(
            FileConfig::default(),
            &env(&[("STAGEHAND_DATA_DIR", "/d")]),
            Mode::Run,
        )
        .unwrap();
        assert_eq!(c.redis, RedisConfig::default());
        let c = resolve(
            FileConfig::default(),
            &env(&[
                ("STAGEHAND_DATA_DIR", "/d"),
                ("STAGEHAND_REDIS_URL", "redis://127.0.0.1:6379"),
            ]),
            Mode::Run,
        )
        .unwrap();
        assert_eq!(c.redis.url.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(c.redis.channels, vec!["discord_events".to_owned()]);
        assert_eq!(c.redis.publish, None);
    }

    #[test]
    fn redis_settings_come_from_the_file_and_the_environment_wins() {
        let file: FileConfig = toml::from_str(
            r#"
            [redis]
            url = "redis://:pw@127.0.0.1:6379"
            channels = ["a", "b"]
            publish = "out"
            "#,
        )
        .unwrap();
        let c = resolve(file, &env(&[("STAGEHAND_DATA_DIR", "/d")]), Mode::Run).unwrap();
        assert_eq!(c.redis.channels, vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(c.redis.publish.as_deref(), Some("out"));
        assert!(
            !format!("{c:?}").contains("pw@"),
            "the password stays out of Debug"
        );
        let file: FileConfig =
            toml::from_str("[redis]\nurl = \"redis://127.0.0.1:1\"\nchannels = [\"a\"]").unwrap();
        let c = resolve(
            file,
            &env(&[
                ("STAGEHAND_DATA_DIR", "/d"),
                (
                    "STAGEHAND_REDIS_CHANNELS",
                    " bot:events , alerts,bot:events",
                ),
                ("STAGEHAND_REDIS_PUBLISH", "twitch_events"),
            ]),
            Mode::Run,
        )
        .unwrap();
        assert_eq!(
            c.redis.channels,
            vec!["bot:events".to_owned(), "alerts".to_owned()],
            "trimmed, repeats once"
        );
        assert_eq!(c.redis.publish.as_deref(), Some("twitch_events"));
    }

    #[test]
    fn bad_redis_settings_are_refused_with_their_origin() {
        let url = ("STAGEHAND_REDIS_URL", "redis://127.0.0.1:6379");
        // (environment, the origin the error names, what it says)
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
        let cases: Vec<Case> = vec![
            (
                vec![("STAGEHAND_REDIS_URL", "http://x")],
                "STAGEHAND_REDIS_URL",
                "scheme",
            ),
            (
                vec![("STAGEHAND_REDIS_URL", "127.0.0.1:6379")],
                "STAGEHAND_REDIS_URL",
                "Redis URL",
            ),
            (
                vec![("STAGEHAND_REDIS_URL", "redis://:hunter2@")],
                "STAGEHAND_REDIS_URL",
                "Redis URL",
            ),
            (
                vec![("STAGEHAND_REDIS_CHANNELS", "a")],
                "STAGEHAND_REDIS_CHANNELS",
                "STAGEHAND_REDIS_URL",
            ),
            (
                vec![("STAGEHAND_REDIS_PUBLISH", "a")],
                "STAGEHAND_REDIS_PUBLISH",
                "STAGEHAND_REDIS_URL",
            ),
            (
                vec![url, ("STAGEHAND_REDIS_CHANNELS", "a,,b")],
                "STAGEHAND_REDIS_CHANNELS",
                "empty",
            ),
            (
                vec![url, ("STAGEHAND_REDIS_CHANNELS", "news feed")],
                "STAGEHAND_REDIS_CHANNELS",
                "letters",
            ),
            (
                vec![url, ("STAGEHAND_REDIS_CHANNELS", "a/b")],
                "STAGEHAND_REDIS_CHANNELS",
                "letters",
            ),
            (
                vec![url, ("STAGEHAND_REDIS_PUBLISH", "x*")],
                "STAGEHAND_REDIS_PUBLISH",
                "letters",
            ),
            (
                vec![
                    url,
                    ("STAGEHAND_REDIS_CHANNELS", "a,b"),
                    ("STAGEHAND_REDIS_PUBLISH", "b"),
                ],
                "STAGEHAND_REDIS_PUBLISH",
                "come back",
            ),
            (
                vec![url, ("STAGEHAND_REDIS_PUBLISH", "discord_events")],
                "STAGEHAND_REDIS_PUBLISH",
                "come back",
            ),
        ];
        for (pairs, origin, needle) in cases {
            let mut all = vec![("STAGEHAND_DATA_DIR", "/d")];
            all.extend(pairs.iter().copied());
            let err = resolve(FileConfig::default(), &env(&all), Mode::Run)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(origin), "{pairs:?}: {err}");
            assert!(err.contains(needle), "{pairs:?}: {err}");
            assert!(!err.contains("hunter2"), "{pairs:?}: {err}");
        }
        let long = "c".repeat(101);
        let err = resolve(
            FileConfig::default(),
            &env(&[
                ("STAGEHAND_DATA_DIR", "/d"),
                url,
                ("STAGEHAND_REDIS_CHANNELS", &long),
            ]),
            Mode::Run,
        )
        .unwrap_err();
        assert!(err.to_string().contains("1 to 100"), "{err}");
        let many = (0..33)
            .map(|n| format!("c{n}"))
            .collect::<Vec<_>>()
            .join(",");
        let err = resolve(
            FileConfig::default(),
            &env(&[
                ("STAGEHAND_DATA_DIR", "/d"),
                url,
                ("STAGEHAND_REDIS_CHANNELS", &many),
            ]),
            Mode::Run,
        )
        .unwrap_err();
        assert!(err.to_string().contains("at most 32"), "{err}");
        assert!(toml::from_str::<FileConfig>("[redis]\nurll = \"x\"").is_err());
    }

    #[test]
    fn hooks_come_from_the_file_with_their_secrets_checked() {
        let file: FileConfig = toml::from_str(
            r#"
            kofi_token = "kofi-token-from-the-file"
            [hooks.tips]
            secret = "tips-secret-0123456789"
            kind = "donation"
            [hooks.tips.fields]
            username = "donor.name"
            [hooks.deploys]
            secret = "deploys-secret-0123456789"
            "#,
        )
        .unwrap();
        let c = resolve(
            file,
            &env(&[
                ("STAGEHAND_DATA_DIR", "/d"),
                ("STAGEHAND_KOFI_TOKEN", "kofi-token-from-the-env"),
            ]),
            Mode::Run,
        )
        .unwrap();
        assert_eq!(
            c.hooks.kofi_token.as_ref().map(Secret::expose),
            Some("kofi-token-from-the-env")
        );
        let tips = &c.hooks.hooks["tips"];
        assert_eq!(tips.secret.expose(), "tips-secret-0123456789");
        let HookKind::Donation { fields } = &tips.kind else {
            panic!("tips maps to donations");
        };
        assert_eq!(fields["username"], "donor.name");
        assert_eq!(c.hooks.hooks["deploys"].kind, HookKind::Other);
        let shown = format!("{c:?}");
        for secret in ["kofi-token", "tips-secret", "deploys-secret"] {
            assert!(!shown.contains(secret), "{secret} leaks into {shown}");
        }
    }

    #[test]
    fn bad_hooks_are_refused_naming_the_hook() {
        let cases = [
            ("[hooks.tips]\nkind = \"donation\"", "needs a `secret`"),
            ("[hooks.tips]\nsecret = \"short\"", "at least 16"),
            (
                "[hooks.Tips]\nsecret = \"tips-secret-0123456789\"",
                "lowercase",
            ),
            (
                "[hooks.kofi]\nsecret = \"tips-secret-0123456789\"",
                "Ko-fi's hook",
            ),
            (
                "[hooks.tips]\nsecret = \"tips-secret-0123456789\"\nkind = \"channel.cheer\"",
                "not one a hook maps to",
            ),
            (
                "[hooks.tips]\nsecret = \"tips-secret-0123456789\"\nkind = \"donation\"\n[hooks.tips.fields]\nbits = \"x\"",
                "no such field",
            ),
            (
                "[hooks.tips]\nsecret = \"tips-secret-0123456789\"\nkind = \"donation\"\n[hooks.tips.fields]\namount = \"a..b\"",
                "dotted path",
            ),
            (
                "[hooks.tips]\nsecret = \"tips-secret-0123456789\"\n[hooks.tips.fields]\namount = \"a\"",
                "kind = \"donation\"",
            ),
            ("kofi_token = \"short\"", "kofi_token"),
        ];
        for (text, needle) in cases {
            let file: FileConfig = toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let err = resolve(file, &env(&[("STAGEHAND_DATA_DIR", "/d")]), Mode::Run)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        assert!(toml::from_str::<FileConfig>("[hooks.tips]\nsecrett = \"x\"").is_err());
    }

    #[test]
    fn read_file_names_the_file_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "addr = [").unwrap();
        let err = read_file(&p).unwrap_err().to_string();
        assert!(err.contains("bad.toml"), "{err}");
        let missing = read_file(&dir.path().join("none.toml"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("none.toml"), "{missing}");
    }
}
