//! `stagehand plugin new NAME`: a plugin crate that builds for
//! wasm32-wasip2 and passes its own test from the first minute.

use std::path::{Path, PathBuf};

use super::manifest::valid_name;

/// Where the SDK's sources were when this binary was built; used as a path
/// dependency when they are still there (a checkout of Stagehand).
const SDK_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../plugin-sdk");

/// Creates the crate `name` inside `parent`; returns its folder.
pub fn create(parent: &Path, name: &str) -> Result<PathBuf, String> {
    if !valid_name(name) {
        return Err(format!(
            "plugin name {name:?} must be 1-64 characters of a-z, 0-9 and -"
        ));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let sdk = match Path::new(SDK_SOURCE).canonicalize() {
        Ok(path) if path.join("Cargo.toml").is_file() => {
            format!("{{ path = {:?} }}", path.display().to_string())
        }
        _ => format!("\"{}\"", env!("CARGO_PKG_VERSION")),
    };
    let inside_workspace = parent.canonicalize().ok().is_some_and(|p| {
        p.ancestors()
            .any(|a| declares_workspace(&a.join("Cargo.toml")))
    });
    let crate_name = name.replace('-', "_");
    let type_name: String = name
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();

    let standalone = if inside_workspace {
        String::new()
    } else {
        "\n# A workspace of its own, so it builds wherever it is created.\n[workspace]\n\n\
         [profile.release]\nstrip = true\nlto = true\ncodegen-units = 1\n"
            .to_owned()
    };
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
stagehand-plugin-sdk = {sdk}
{standalone}"#
    );
    let manifest = format!(
        r#"name = "{name}"
version = "0.1.0"
description = "What {name} does"

# Effects beyond overlay alerts must be declared here and granted by the streamer:
# [permissions]
# chat = false
# tts_rules = false
# webhooks = []

[limits]
deadline_ms = 50
memory_mib = 64

[settings]
title = "New follower!"
"#
    );
    let lib = format!(
        r#"//! {name}: an alert for every new follower. Start here and make it yours.

use stagehand_plugin_sdk::prelude::*;

pub struct {type_name};

impl Plugin for {type_name} {{
    fn describe() -> Info {{
        Info::new("{name}", env!("CARGO_PKG_VERSION")).kinds(["channel.follow"])
    }}

    fn on_event(event: Event) -> Result<Vec<Action>, String> {{
        let title = host::settings()["title"].as_str().unwrap_or("New follower!").to_owned();
        let name = event.username().unwrap_or_else(|| "Someone".into());
        Ok(vec![Action::ShowAlert(Alert::new(title, format!("{{name}} just followed")))])
    }}
}}

stagehand_plugin_sdk::export!({type_name});

#[cfg(test)]
mod tests {{
    use super::*;
    use stagehand_plugin_sdk::serde_json::json;
    use stagehand_plugin_sdk::testing;

    #[test]
    fn a_follow_shows_an_alert() {{
        testing::reset();
        testing::set_settings(json!({{"title": "Welcome!"}}));
        let event = testing::event("channel.follow", json!({{"username": "JaneDoe"}}));
        let actions = {type_name}::on_event(event).unwrap();
        let [Action::ShowAlert(alert)] = actions.as_slice() else {{ panic!("expected one alert") }};
        assert_eq!(alert.title, "Welcome!");
        assert_eq!(alert.message, "JaneDoe just followed");
    }}
}}
"#
    );
    let readme = format!(
        "# {name}\n\nA Stagehand plugin.\n\n```sh\ncargo test\ncargo build --release --target wasm32-wasip2\n\
         mkdir -p \"$STAGEHAND_PLUGINS_DIR/{name}\"\n\
         cp plugin.toml target/wasm32-wasip2/release/{crate_name}.wasm \"$STAGEHAND_PLUGINS_DIR/{name}/\"\n```\n\n\
         Stagehand loads it without a restart, and reloads it whenever the file changes.\n"
    );

    let write = |rel: &str, text: &str| -> Result<(), String> {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
    };
    write("Cargo.toml", &cargo_toml)?;
    write("plugin.toml", &manifest)?;
    write("src/lib.rs", &lib)?;
    write("README.md", &readme)?;
    write(".gitignore", "target/\n")?;
    Ok(dir)
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
    fn it_writes_a_crate_with_manifest_and_test() {
        let dir = tempfile::tempdir().unwrap();
        let made = create(dir.path(), "my-alert").unwrap();
        let lib = std::fs::read_to_string(made.join("src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct MyAlert;"));
        assert!(lib.contains("export!(MyAlert)"));
        let cargo = std::fs::read_to_string(made.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"my-alert\""));
        assert!(cargo.contains("[workspace]"));
        let manifest = std::fs::read_to_string(made.join("plugin.toml")).unwrap();
        assert!(super::super::manifest::parse(&manifest).is_ok());
        assert!(
            create(dir.path(), "my-alert")
                .unwrap_err()
                .contains("already exists")
        );
        assert!(create(dir.path(), "Bad Name").is_err());
    }
}
