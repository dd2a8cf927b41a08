//! What the streamer changes from the dashboard or the API: grants
//! (permissions, media hosts, more time or memory), quarantine resets,
//! reloads, enabling and disabling, and settings. Each takes only the
//! lifecycle lock of the plugin it changes, so one plugin's slow start
//! never holds up a change to another, and each is bounded by that
//! plugin's own deadlines.

use std::path::PathBuf;

use serde_json::Value;

use super::PluginHost;
use super::discovery;
use super::lifecycle::{fingerprint, manifest_at};
use super::manifest::Permission;
use super::settings_schema::{Invalid, Schema};
use super::worker::{Control, Status};
use crate::store;

/// A plugin's settings as the dashboard edits them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginSettings {
    /// What the plugin runs with: the streamer's, else the manifest's.
    pub settings: Value,
    /// The `[settings]` of its `plugin.toml`.
    pub defaults: Value,
    /// Whether the streamer's settings replace the manifest's.
    pub overridden: bool,
    /// The `[[setting]]` schema the dashboard draws its form from; null for a
    /// plugin whose settings are free JSON.
    pub schema: Option<Schema>,
}

/// Why settings could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The plugin would not start with the new settings (its `configure` refused
    /// them, or the plugin cannot load at all); nothing was changed.
    #[error("{0}")]
    Refused(String),
    /// The settings do not fit the plugin's settings schema; nothing was
    /// changed. Names the field.
    #[error("{0}")]
    Invalid(Invalid),
    /// The plugin's files could not be read.
    #[error("cannot read the plugin: {0}")]
    Unreadable(String),
    /// The change could not be stored.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl PluginHost {
    /// Grants everything the plugin's manifest asks for (permissions, media
    /// hosts, limits above the defaults) and starts it if it was waiting.
    /// None if there is no such plugin.
    pub async fn grant(&self, name: &str) -> Result<Option<Status>, store::StoreError> {
        let Some(requested) = self.entries().get(name).filter(|e| !e.refused).map(|e| {
            e.version
                .as_ref()
                .map(|v| {
                    v.manifest
                        .permissions
                        .iter()
                        .map(Permission::key)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }) else {
            return Ok(None);
        };
        let plugin = name.to_owned();
        let perms = requested.clone();
        self.inner
            .store
            .write(move |c| store::plugins::grant(c, &plugin, &perms, crate::event::now_ms()))
            .await?;
        tracing::info!(plugin = name, permissions = ?requested, "permissions granted");
        // Load again so a waiting version starts with its grant.
        let waiting = self
            .entries()
            .get(name)
            .is_some_and(|e| e.worker.is_none() && e.fingerprint.is_some());
        if waiting {
            self.forget_version(name);
        }
        self.load_named(name).await;
        Ok(self.status(name))
    }

    /// Takes a plugin out of quarantine (or gives a failed one another
    /// try). None if there is no such plugin.
    pub async fn reset(&self, name: &str) -> Option<Status> {
        let worker = self.entries().get(name)?.worker.clone();
        match worker {
            Some(worker) => {
                if worker.control(Control::Reset).is_err() {
                    tracing::warn!(plugin = name, "plugin too busy to take a reset; try again");
                }
            }
            None => {
                self.forget_version(name);
            }
        }
        self.load_named(name).await;
        self.status(name)
    }

    /// Loads the plugin again from its files even if they did not change:
    /// a running plugin swaps in a fresh instance between two events (its
    /// stored data is kept), a failed one gets another try. A disabled
    /// plugin stays disabled. None if there is no such plugin.
    pub async fn reload(&self, name: &str) -> Option<Status> {
        self.forget_version(name)?;
        self.load_named(name).await;
        self.status(name)
    }

    /// Enables or disables a plugin, remembered across restarts. A disabled
    /// plugin finishes the events already queued for it (briefly), then
    /// gets no more; enabling loads it again. None if there is no such
    /// plugin.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<Option<Status>, store::StoreError> {
        if self.entries().get(name).is_none_or(|e| e.refused) {
            return Ok(None);
        }
        let plugin = name.to_owned();
        self.inner
            .store
            .write(move |c| {
                store::plugins::set_enabled(c, &plugin, enabled, crate::event::now_ms())
            })
            .await?;
        tracing::info!(plugin = name, enabled, "plugin enabled state changed");
        self.forget_version(name);
        self.load_named(name).await;
        Ok(self.status(name))
    }

    /// The plugin's settings: what it runs with and its manifest's
    /// defaults. None if there is no such plugin.
    pub async fn settings(&self, name: &str) -> Result<Option<PluginSettings>, SettingsError> {
        let Some(path) = self
            .entries()
            .get(name)
            .filter(|e| !e.refused)
            .map(|e| e.path.clone())
        else {
            return Ok(None);
        };
        let config = self.config_of(name).await;
        let plugin = name.to_owned();
        let manifest = tokio::task::spawn_blocking(move || manifest_at(&plugin, &path))
            .await
            .map_err(|e| SettingsError::Unreadable(e.to_string()))?
            .map_err(SettingsError::Unreadable)?;
        // With a schema, the form shows every field: the streamer's values
        // completed with the defaults (as they are, if they no longer fit).
        let settings = match &config.settings {
            Some(given) => manifest
                .settings_for(Some(given))
                .unwrap_or_else(|_| given.clone()),
            None => manifest.settings.clone(),
        };
        Ok(Some(PluginSettings {
            overridden: config.settings.is_some(),
            settings,
            defaults: manifest.settings,
            schema: manifest.schema,
        }))
    }

    /// Replaces the plugin's settings (None: back to its manifest's). With a
    /// settings schema they are checked against it first
    /// ([`SettingsError::Invalid`] names the field). The plugin is started with them first, off to the side (its `configure` runs
    /// under its set-up deadline): if it refuses them, nothing changes and
    /// the refusal is the error; if it accepts, they are stored and that
    /// instance replaces the running one between two events. A disabled
    /// plugin keeps them for when it is enabled. None if there is no such
    /// plugin.
    pub async fn set_settings(
        &self,
        name: &str,
        settings: Option<Value>,
    ) -> Result<Option<Status>, SettingsError> {
        let Some((lock, path)) = self
            .entries()
            .get(name)
            .filter(|e| !e.refused)
            .map(|e| (e.lifecycle.clone(), e.path.clone()))
        else {
            return Ok(None);
        };
        // No load of this plugin may swap versions while this one is tried
        // and installed.
        let _one_at_a_time = lock.lock().await;
        let candidate = discovery::Candidate {
            name: name.to_owned(),
            path: path.clone(),
        };
        let files = tokio::task::spawn_blocking(move || discovery::read_files(&candidate))
            .await
            .map_err(|e| SettingsError::Unreadable(e.to_string()))?
            .map_err(|e| SettingsError::Refused(e.0))?;
        if let Some(given) = &settings {
            files
                .manifest
                .settings_for(Some(given))
                .map_err(SettingsError::Invalid)?;
        }
        let fingerprint = fingerprint(
            files.manifest_text.as_deref(),
            &files.wasm,
            settings.as_ref(),
        );
        let prepared = self
            .prepare(name, files, fingerprint, settings.clone())
            .await
            .map_err(|e| SettingsError::Refused(e.0))?;
        let (plugin, stored) = (name.to_owned(), settings.clone());
        self.inner
            .store
            .write(move |c| {
                store::plugins::set_settings(c, &plugin, stored.as_ref(), crate::event::now_ms())
            })
            .await?;
        tracing::info!(
            plugin = name,
            overridden = settings.is_some(),
            "plugin settings changed"
        );
        if self.config_of(name).await.enabled {
            self.install(name, &PathBuf::from(&path), prepared).await;
            self.rebuild_routes();
        } else if let Some(status) = self.entries().get(name).map(|e| e.status.clone()) {
            self.set_status(&status, |s| s.settings_overridden = settings.is_some());
        }
        Ok(self.status(name))
    }
}
