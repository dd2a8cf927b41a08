//! A Rust plugin crate that builds for wasm32-wasip2 and passes its own
//! test from the first minute, on any machine: the SDK (sources and WIT)
//! is written into the crate, so it needs nothing but crates.io and the
//! Rust toolchain.

use std::path::{Path, PathBuf};

use super::Files;

/// The SDK's files, built into this binary; the vendored copy is exactly
/// the SDK this host speaks.
const SDK_FILES: &[(&str, &str)] = &[
    (
        "README.md",
        include_str!("../../../../plugin-sdk/README.md"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../../plugin-sdk/src/lib.rs"),
    ),
    (
        "src/fields.rs",
        include_str!("../../../../plugin-sdk/src/fields.rs"),
    ),
    (
        "src/host.rs",
        include_str!("../../../../plugin-sdk/src/host.rs"),
    ),
    (
        "src/kinds.rs",
        include_str!("../../../../plugin-sdk/src/kinds.rs"),
    ),
    (
        "src/limits.rs",
        include_str!("../../../../plugin-sdk/src/limits.rs"),
    ),
    (
        "src/settings.rs",
        include_str!("../../../../plugin-sdk/src/settings.rs"),
    ),
    (
        "src/testing.rs",
        include_str!("../../../../plugin-sdk/src/testing.rs"),
    ),
    (
        "src/text.rs",
        include_str!("../../../../plugin-sdk/src/text.rs"),
    ),
    (
        "src/types.rs",
        include_str!("../../../../plugin-sdk/src/types.rs"),
    ),
    (
        "wit/since_v0.1.0/plugin.wit",
        include_str!("../../../../plugin-sdk/wit/since_v0.1.0/plugin.wit"),
    ),
    (
        "wit/since_v0.2.0/plugin.wit",
        include_str!("../../../../plugin-sdk/wit/since_v0.2.0/plugin.wit"),
    ),
    (
        "wit/since_v0.3.0/plugin.wit",
        include_str!("../../../../plugin-sdk/wit/since_v0.3.0/plugin.wit"),
    ),
];

/// The SDK's manifest; its workspace-inherited keys are filled in.
const SDK_MANIFEST: &str = include_str!("../../../../plugin-sdk/Cargo.toml");

/// Where the SDK goes inside the new crate.
const SDK_DIR: &str = "stagehand-plugin-sdk";

/// The crate's files.
pub fn files(name: &str) -> Files {
    let mut files: Files = vec![
        ("Cargo.toml".into(), cargo_toml(name).into_bytes()),
        (".cargo/config.toml".into(), cargo_config().into_bytes()),
        ("plugin.toml".into(), manifest(name).into_bytes()),
        ("src/lib.rs".into(), lib_rs(name).into_bytes()),
        ("README.md".into(), readme(name).into_bytes()),
        (".gitignore".into(), b"target/\n*.stagehand\n".to_vec()),
    ];
    for (rel, text) in SDK_FILES {
        files.push((format!("{SDK_DIR}/{rel}"), text.as_bytes().to_vec()));
    }
    files.push((format!("{SDK_DIR}/Cargo.toml"), sdk_manifest().into_bytes()));
    files
}

/// The folder of the Cargo workspace `dir` lies in, if any: a crate made
/// there must be excluded from it (it is a workspace of its own).
pub fn enclosing_workspace(dir: &Path) -> Option<PathBuf> {
    let dir = dir.canonicalize().ok()?;
    dir.ancestors()
        .find(|a| declares_workspace(&a.join("Cargo.toml")))
        .map(Path::to_path_buf)
}

fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

fn type_name(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn cargo_toml(name: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
# The SDK for plugin contract 0.2, as `stagehand plugin new` wrote it.
stagehand-plugin-sdk = {{ path = "{SDK_DIR}" }}

# A workspace of its own, so it builds wherever it is.
[workspace]

# Small, fast components.
[profile.release]
strip = true
lto = true
codegen-units = 1
opt-level = "s"
"#
    )
}

/// `cargo build --release` builds the component; the tests run natively
/// (`cargo test-native`) against the SDK's fake host.
fn cargo_config() -> String {
    format!(
        r#"[build]
# `cargo build --release` builds the component Stagehand loads:
# target/wasm32-wasip2/release/<crate>.wasm (rustup target add wasm32-wasip2 once).
target = "wasm32-wasip2"

[alias]
# The tests run on this machine, against the SDK's fake host.
test-native = ["test", "--target", "{}"]
"#,
        env!("STAGEHAND_TARGET_TRIPLE")
    )
}

fn manifest(name: &str) -> String {
    format!(
        r#"name = "{name}"
version = "0.1.0"
description = "What {name} does"

# Effects beyond overlay alerts must be declared here and granted by the streamer:
# [permissions]
# chat = false
# tts_rules = false
# webhooks = []
# media = []

[limits]
deadline_ms = 50
memory_mib = 64

# Free-form settings. Declare [[setting]] tables instead and the dashboard
# shows the streamer a form (see "Settings forms" in the SDK guide).
[settings]
title = "New follower!"
"#
    )
}

fn lib_rs(name: &str) -> String {
    let ty = type_name(name);
    format!(
        r#"//! {name}: an alert for every new follower. Start here and make it yours.

use stagehand_plugin_sdk::prelude::*;

pub struct {ty} {{
    /// The alert's title, from the settings.
    title: String,
    /// Follows since the plugin started.
    follows: u64,
}}

impl Plugin for {ty} {{
    fn new(settings: Settings) -> Result<Self, String> {{
        Ok({ty} {{
            title: settings.str_or("title", "New follower!"),
            follows: 0,
        }})
    }}

    fn describe() -> Info {{
        Info::new().kinds([kinds::FOLLOW])
    }}
}}

impl Actions for {ty} {{
    fn on_event(&mut self, event: &Event) -> Result<Vec<Action>, String> {{
        let EventData::Follow(_) = &event.data else {{
            return Ok(Vec::new());
        }};
        self.follows += 1;
        let message = format!("{{}} just followed (#{{}})", event.who(), self.follows);
        Ok(vec![Action::ShowAlert(Alert::new(self.title.clone(), message))])
    }}
}}

stagehand_plugin_sdk::export!({ty});

#[cfg(test)]
mod tests {{
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    #[test]
    fn a_follow_shows_an_alert_with_the_set_title() {{
        testing::reset();
        let settings = Settings::from_json(json!({{"title": "Welcome!"}}));
        let mut plugin = {ty}::new(settings).unwrap();
        plugin.on_event(&testing::follow("Ann")).unwrap();
        let actions = plugin.on_event(&testing::follow("JaneDoe")).unwrap();
        let [Action::ShowAlert(alert)] = actions.as_slice() else {{
            panic!("expected one alert, got {{actions:?}}")
        }};
        assert_eq!(alert.title, "Welcome!");
        assert_eq!(alert.message, "JaneDoe just followed (#2)");
    }}
}}
"#
    )
}

fn readme(name: &str) -> String {
    let file = crate_ident(name);
    format!(
        "# {name}\n\nA Stagehand plugin. The SDK's guide is in \
         `{SDK_DIR}/README.md`.\n\n\
         ```sh\n\
         cargo test-native               # its tests, on this machine, against a fake host\n\
         cargo build --release           # the component (rustup target add wasm32-wasip2 once)\n\
         stagehand plugin pack .         # {name}-0.1.0.stagehand: one file to share\n\
         stagehand plugin check {name}-0.1.0.stagehand\n\
         ```\n\n\
         To install it, copy `plugin.toml` and \
         `target/wasm32-wasip2/release/{file}.wasm` into a folder named `{name}` in \
         the plugins directory (or unpack the `.stagehand` file there). Stagehand \
         loads it without a restart, and reloads it whenever the file changes.\n"
    )
}

fn sdk_manifest() -> String {
    SDK_MANIFEST
        .lines()
        .map(|line| match line.split_once(".workspace") {
            Some(("version", _)) => format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
            Some(("edition", _)) => "edition = \"2024\"".to_owned(),
            Some(("rust-version", _)) => {
                format!("rust-version = \"{}\"", env!("CARGO_PKG_RUST_VERSION"))
            }
            Some(("license", _)) => "license = \"MIT OR Apache-2.0\"".to_owned(),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn declares_workspace(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest)
        .map(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_writes_a_crate_with_manifest_test_and_its_own_sdk() {
        let dir = tempfile::tempdir().unwrap();
        let made = super::super::create(dir.path(), "my-alert", super::super::Lang::Rust).unwrap();
        let lib = std::fs::read_to_string(made.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct MyAlert {"));
        assert!(lib.contains("export!(MyAlert)"));
        let cargo = std::fs::read_to_string(made.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"my-alert\""));
        assert!(cargo.contains("[workspace]"));
        assert!(cargo.contains("path = \"stagehand-plugin-sdk\""));
        assert!(!cargo.contains('/'.to_string().repeat(2).as_str()));
        let manifest = std::fs::read_to_string(made.join("plugin.toml")).unwrap();
        assert!(crate::plugins::manifest::parse(&manifest).is_ok());
        let sdk = std::fs::read_to_string(made.join("stagehand-plugin-sdk/Cargo.toml")).unwrap();
        assert!(!sdk.contains("workspace"), "{sdk}");
        assert!(sdk.contains("name = \"stagehand-plugin-sdk\""));
        assert!(
            made.join("stagehand-plugin-sdk/wit/since_v0.3.0/plugin.wit")
                .is_file()
        );
        let config = std::fs::read_to_string(made.join(".cargo/config.toml")).unwrap();
        assert!(config.contains("target = \"wasm32-wasip2\""), "{config}");
        let native = format!("\"--target\", \"{}\"", env!("STAGEHAND_TARGET_TRIPLE"));
        assert!(config.contains(&native), "{config}");
        let again = super::super::create(dir.path(), "my-alert", super::super::Lang::Rust);
        assert!(again.unwrap_err().contains("already exists"));
        assert!(super::super::create(dir.path(), "Bad Name", super::super::Lang::Rust).is_err());
    }

    #[test]
    fn every_sdk_source_file_is_vendored() {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk");
        let vendored: Vec<&str> = SDK_FILES.iter().map(|(rel, _)| *rel).collect();
        let wit = std::fs::read_dir(sdk.join("wit"))
            .unwrap()
            .map(|entry| format!("wit/{}", entry.unwrap().file_name().to_string_lossy()));
        for folder in std::iter::once("src".to_owned()).chain(wit) {
            for entry in std::fs::read_dir(sdk.join(&folder)).unwrap() {
                let rel = format!("{folder}/{}", entry.unwrap().file_name().to_string_lossy());
                assert!(vendored.contains(&rel.as_str()), "{rel} is not vendored");
            }
        }
    }
}
