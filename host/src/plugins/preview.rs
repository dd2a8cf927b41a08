//! Previews: the alerts a plugin would queue for sample events, with
//! settings the streamer has not saved yet. The alert editor shows them in
//! the overlay's own code before anything reaches the stream.
//!
//! A preview runs a throw-away instance of the version that is running (its
//! compiled component, manifest limits and deadlines), configured with the
//! draft settings and given a copy of the plugin's stored data: what it
//! writes is dropped, nothing it does counts as a fault of the running
//! plugin, and the actions other than alerts are ignored. The alerts go
//! through the same checks and renderer plugins as real ones.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use super::PluginHost;
use super::quotas::LogBudget;
use super::runtime::KvCache;
use super::runtime::wit;
use super::worker;
use crate::event::Event;
use crate::store;

/// Sample events one preview may run.
pub const MAX_EVENTS: usize = 16;
/// Previews that may run at once; more wait up to [`QUEUE_WAIT`].
const CONCURRENT: usize = 2;
/// How long a preview waits for its turn before it is refused.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Bounds the CPU previews take from the event path: a dashboard open in
/// many tabs, or a script, cannot start more than [`CONCURRENT`] at once.
static RUNNING: Semaphore = Semaphore::const_new(CONCURRENT);

/// What one sample event produced.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewResult {
    /// The sample event's kind.
    pub kind: String,
    /// Alerts as the overlay would receive them (the fields of an overlay
    /// `alert` message, with the overlay's name).
    pub alerts: Vec<PreviewAlert>,
    /// Why this event produced nothing usable: the plugin's own error, a
    /// fault, or an alert the host refused.
    pub error: Option<String>,
}

/// One alert of a preview.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewAlert {
    /// The overlay it would be queued on.
    pub overlay: String,
    /// The alert's fields, as queued (title, message, media, duration...).
    pub alert: Value,
}

/// Why a preview could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// No plugin of that name.
    #[error("no plugin named {0:?}")]
    NoPlugin(String),
    /// The plugin is not running (disabled, waiting for a grant, failed).
    #[error("plugin {0:?} is not running, so it cannot be previewed")]
    NotRunning(String),
    /// The draft settings do not fit the plugin's settings schema.
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(super::settings_schema::Invalid),
    /// The draft settings were refused by the plugin's `configure`.
    #[error("the plugin does not start with these settings: {0}")]
    Refused(String),
    /// Too many previews are running.
    #[error("too many previews are running; try again in a moment")]
    Busy,
    /// The instance could not be made or the task failed.
    #[error("cannot run the preview: {0}")]
    Failed(String),
}

impl PluginHost {
    /// Runs `events` through a fresh instance of plugin `name` configured
    /// with `settings` (None: the settings it runs with) and answers the
    /// alerts each would queue, after the renderer plugins.
    pub async fn preview(
        &self,
        name: &str,
        settings: Option<Value>,
        events: Vec<Event>,
    ) -> Result<Vec<PreviewResult>, PreviewError> {
        let version = {
            let entries = self.entries();
            let entry = entries
                .get(name)
                .filter(|e| !e.refused)
                .ok_or_else(|| PreviewError::NoPlugin(name.to_owned()))?;
            match (&entry.worker, &entry.version) {
                (Some(_), Some(version)) => version.clone(),
                _ => return Err(PreviewError::NotRunning(name.to_owned())),
            }
        };
        let _turn = tokio::time::timeout(QUEUE_WAIT, RUNNING.acquire())
            .await
            .map_err(|_| PreviewError::Busy)?
            .map_err(|_| PreviewError::Busy)?;
        let plugin = name.to_owned();
        let stored = self
            .inner
            .store
            .read(move |c| store::plugins::kv_load(c, &plugin))
            .await
            .map_err(|e| PreviewError::Failed(format!("cannot read its stored data: {e}")))?;
        let mut manifest = version.manifest.clone();
        if let Some(settings) = settings {
            // Checked and completed as saving them would.
            manifest.settings = manifest
                .settings_for(Some(&settings))
                .map_err(PreviewError::Invalid)?;
        }
        let runtime = self.inner.runtime.clone();
        let plugin: Arc<str> = Arc::from(name);
        let grants = crate::actions::media::granted_hosts(&version.manifest.permissions);
        let raw = tokio::task::spawn_blocking(move || {
            // Its own data copy and log budget: nothing reaches the real ones.
            let kv = Arc::new(KvCache::new(stored));
            let log = Arc::new(LogBudget::default());
            let mut instance = runtime
                .instantiate(
                    &version.compiled,
                    worker::context(&plugin, &kv, &log, &manifest),
                )
                .map_err(|f| PreviewError::Failed(format!("cannot start it: {f}")))?;
            match instance.init(&manifest.settings.to_string(), manifest.init_deadline()) {
                Ok(Ok(())) => {}
                Ok(Err(why)) => return Err(PreviewError::Refused(why)),
                Err(fault) => {
                    return Err(PreviewError::Refused(format!("configure failed: {fault}")));
                }
            }
            let mut results = Vec::with_capacity(events.len());
            for event in &events {
                kv.begin_call();
                let outcome = match instance.on_event(event) {
                    Ok(Ok(actions)) => Ok(actions
                        .into_iter()
                        .filter_map(|a| match a {
                            wit::Action::ShowAlert(alert) => Some(alert),
                            _ => None,
                        })
                        .collect::<Vec<_>>()),
                    Ok(Err(why)) => Err(format!("the plugin refused the event: {why}")),
                    Err(fault) => Err(format!("the plugin failed: {fault}")),
                };
                results.push((event.kind.as_str().to_owned(), outcome));
            }
            Ok(results)
        })
        .await
        .map_err(|e| PreviewError::Failed(e.to_string()))??;

        let granted = self.media_hosts();
        let mut out = Vec::with_capacity(raw.len());
        for (kind, outcome) in raw {
            let mut result = PreviewResult {
                kind,
                alerts: Vec::new(),
                error: None,
            };
            match outcome {
                Ok(alerts) => {
                    for alert in alerts {
                        if let Err(why) = crate::actions::validate_alert(&alert, &grants) {
                            result.error = Some(format!("the host would refuse an alert: {why}"));
                            continue;
                        }
                        let check = |a: &wit::Alert| crate::actions::validate_alert(a, &granted);
                        let alert = self.render(alert, check).await;
                        result.alerts.push(PreviewAlert {
                            overlay: alert.overlay.clone(),
                            alert: super::convert::alert_to_json(&alert),
                        });
                    }
                }
                Err(why) => result.error = Some(why),
            }
            out.push(result);
        }
        Ok(out)
    }
}
