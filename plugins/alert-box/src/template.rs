//! Text templates: `{username} cheered {bits} bits!` (the SDK's).

pub use stagehand_plugin_sdk::text::{is_name, render};
