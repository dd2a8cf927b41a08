//! `stagehand plugin new NAME [--lang rust|ts|js|python]`: a plugin project
//! that builds with one command and passes its own test from the first
//! minute, on any machine. Each language's SDK is written into the project
//! from this binary, so it needs only its language's package registry.

mod other;
mod rust;

use std::path::{Path, PathBuf};

use super::manifest::valid_name;

pub use rust::enclosing_workspace;

/// A project's files: path relative to its folder, and content.
pub type Files = Vec<(String, Vec<u8>)>;

/// The languages a plugin can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    TypeScript,
    JavaScript,
    Python,
}

impl Lang {
    /// Reads `rust`, `ts`/`typescript`, `js`/`javascript`, `python`/`py`.
    pub fn parse(name: &str) -> Result<Lang, String> {
        match name.to_ascii_lowercase().as_str() {
            "rust" | "rs" => Ok(Lang::Rust),
            "ts" | "typescript" => Ok(Lang::TypeScript),
            "js" | "javascript" => Ok(Lang::JavaScript),
            "python" | "py" => Ok(Lang::Python),
            other => Err(format!(
                "{other:?} is not a plugin language: use rust, ts, js or python"
            )),
        }
    }

    /// The commands that build and test a project of this language, for
    /// the message after creating one.
    pub fn next_steps(self) -> &'static [&'static str] {
        match self {
            Lang::Rust => &[
                "cargo test-native            (its tests, natively)",
                "cargo build --release        (the component; once: rustup target add wasm32-wasip2)",
            ],
            Lang::TypeScript | Lang::JavaScript => &[
                "npm install && npm run build (the component, in dist/)",
                "npm test                     (its tests, under Node with a fake host)",
            ],
            Lang::Python => &[
                "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt",
                "pytest                       (its tests, with a fake host)",
                "python -m stagehand_plugin.build   (the component, in dist/)",
            ],
        }
    }
}

/// Creates the project `name` in `lang` inside `parent`; returns its folder.
pub fn create(parent: &Path, name: &str, lang: Lang) -> Result<PathBuf, String> {
    if !valid_name(name) {
        return Err(format!(
            "plugin name {name:?} must be 1-64 characters of a-z, 0-9 and -"
        ));
    }
    let dir = parent.join(name);
    if dir.exists() {
        return Err(format!("{} already exists", dir.display()));
    }
    let files = match lang {
        Lang::Rust => rust::files(name),
        Lang::TypeScript => other::typescript(name),
        Lang::JavaScript => other::javascript(name),
        Lang::Python => other::python(name),
    };
    for (rel, content) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, content).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if lang != Lang::Rust {
        // The build scripts shipped with the SDKs are run directly.
        other::make_executable(&dir)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_read_by_their_usual_names() {
        assert_eq!(Lang::parse("ts").unwrap(), Lang::TypeScript);
        assert_eq!(Lang::parse("Python").unwrap(), Lang::Python);
        assert_eq!(Lang::parse("js").unwrap(), Lang::JavaScript);
        assert!(
            Lang::parse("cobol")
                .unwrap_err()
                .contains("rust, ts, js or python")
        );
    }

    #[test]
    fn every_language_writes_a_manifest_named_after_the_plugin() {
        for lang in [Lang::Rust, Lang::TypeScript, Lang::JavaScript, Lang::Python] {
            let dir = tempfile::tempdir().unwrap();
            let made = create(dir.path(), "shout-out", lang).unwrap();
            let manifest = std::fs::read_to_string(made.join("plugin.toml")).unwrap();
            let parsed = crate::plugins::manifest::parse(&manifest).unwrap();
            assert_eq!(parsed.name, "shout-out", "{lang:?}");
            assert!(made.join(".gitignore").is_file(), "{lang:?}");
            assert!(made.join("README.md").is_file(), "{lang:?}");
        }
    }
}
