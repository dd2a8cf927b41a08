//! The host interface a plugin may call (`stagehand:plugin/host`): logging,
//! its own key-value storage, the time and its settings. Every function
//! returns at once; quotas are enforced here, and breaking one traps the
//! call with a message saying which quota (kv-set has no error result in
//! the contract, and a plugin that ignores its limits should stop anyway).

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings;
use super::kv::KvCache;
use super::limiter::PluginLimiter;
use super::wit;
use crate::plugins::quotas::{self, LogBudget};

/// Per-instance host state.
pub struct HostState {
    pub(super) plugin: Arc<str>,
    pub(super) kv: Arc<KvCache>,
    pub(super) settings: Arc<str>,
    pub(super) log: Arc<LogBudget>,
    pub(super) wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) limiter: PluginLimiter,
    /// The quota a host call refused, for the fault message.
    pub(super) quota: Option<String>,
    /// The running call's time budget.
    pub(super) budget: super::budget::CallBudget,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    /// Writes a plugin's log line under its rate budget: control characters
    /// are escaped (no forged log lines), long lines cut, and lines over the
    /// rate dropped (the worker sums them up, see [`LogBudget`]).
    pub fn write_log(&self, level: wit::Level, message: &str) {
        if !self.log.admit(Instant::now()) {
            return;
        }
        let plugin = &*self.plugin;
        let message = quotas::truncate(&escape_controls(message), quotas::MAX_LOG_LINE);
        match level {
            wit::Level::Trace => tracing::trace!(plugin, "{message}"),
            wit::Level::Debug => tracing::debug!(plugin, "{message}"),
            wit::Level::Info => tracing::info!(plugin, "{message}"),
            wit::Level::Warn => tracing::warn!(plugin, "{message}"),
            wit::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    /// Applies key changes (all or none), or traps with the quota they
    /// break.
    pub fn kv_change(&mut self, changes: Vec<(String, Option<String>)>) -> wasmtime::Result<()> {
        self.kv.apply(changes).map_err(|e| {
            let message = e.to_string();
            self.quota = Some(message.clone());
            wasmtime::Error::msg(message)
        })
    }
}

/// Replaces control characters (newlines included) with their escapes.
fn escape_controls(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl wit::Host for HostState {}

impl bindings::v0_3::stagehand::plugin::host::Host for HostState {
    fn log(&mut self, level: wit::Level, message: String) -> wasmtime::Result<()> {
        self.write_log(level, &message);
        Ok(())
    }

    fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.kv.get(&key))
    }

    fn kv_set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        self.kv_change(vec![(key, Some(value))])
    }

    fn kv_delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.kv_change(vec![(key, None)])
    }

    fn kv_write(&mut self, changes: Vec<wit::KvChange>) -> wasmtime::Result<()> {
        self.kv_change(changes.into_iter().map(|c| (c.key, c.value)).collect())
    }

    fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(chrono::Utc::now().timestamp_millis().max(0) as u64)
    }

    fn settings(&mut self) -> wasmtime::Result<String> {
        Ok(self.settings.to_string())
    }
}

/// A frozen world's imports: the newest host functions, through that
/// world's own generated types (the host interface has not changed since
/// 0.1; only the types are generated once per version).
macro_rules! frozen_host {
    ($version:ident) => {
        mod $version {
            use super::HostState;
            use crate::plugins::runtime::bindings::v0_3::stagehand::plugin::host::Host as Current;
            use crate::plugins::runtime::bindings::$version::stagehand::plugin::{host, types};
            use crate::plugins::runtime::wit;

            impl types::Host for HostState {}

            impl host::Host for HostState {
                fn log(&mut self, level: types::Level, message: String) -> wasmtime::Result<()> {
                    let level = match level {
                        types::Level::Trace => wit::Level::Trace,
                        types::Level::Debug => wit::Level::Debug,
                        types::Level::Info => wit::Level::Info,
                        types::Level::Warn => wit::Level::Warn,
                        types::Level::Error => wit::Level::Error,
                    };
                    Current::log(self, level, message)
                }

                fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
                    Current::kv_get(self, key)
                }

                fn kv_set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
                    Current::kv_set(self, key, value)
                }

                fn kv_delete(&mut self, key: String) -> wasmtime::Result<()> {
                    Current::kv_delete(self, key)
                }

                fn kv_write(&mut self, changes: Vec<types::KvChange>) -> wasmtime::Result<()> {
                    let changes = changes
                        .into_iter()
                        .map(|c| wit::KvChange {
                            key: c.key,
                            value: c.value,
                        })
                        .collect();
                    Current::kv_write(self, changes)
                }

                fn now_ms(&mut self) -> wasmtime::Result<u64> {
                    Current::now_ms(self)
                }

                fn settings(&mut self) -> wasmtime::Result<String> {
                    Current::settings(self)
                }
            }
        }
    };
}

frozen_host!(v0_2);
frozen_host!(v0_1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_log_lines() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(
            escape_controls("ok\n2026-01-01 ERROR fake"),
            "ok\\n2026-01-01 ERROR fake"
        );
        assert_eq!(escape_controls("\u{1b}[31mred"), "\\u{1b}[31mred");
    }
}
