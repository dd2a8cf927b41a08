//! Log output: readable lines by default, JSON lines on request. The filter
//! comes from `STAGEHAND_LOG` (or `RUST_LOG`), `info` by default.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; logs go to stderr so stdout carries only
/// what the user asked for (URLs, command output).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("STAGEHAND_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
