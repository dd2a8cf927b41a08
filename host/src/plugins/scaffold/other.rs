//! TypeScript, JavaScript and Python projects: the template of each
//! language with `{{name}}` filled in, plus that language's SDK (its
//! package files as published) in `stagehand-plugin-sdk/`, which the
//! project depends on by path.

use std::path::Path;

use include_dir::{Dir, include_dir};

use super::Files;

static TS_TEMPLATE: Dir = include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/templates/ts");
static JS_TEMPLATE: Dir = include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/templates/js");
static PY_TEMPLATE: Dir = include_dir!("$CARGO_MANIFEST_DIR/../sdk-py/template");

/// The JS SDK as its package.json's `files` lists it.
static JS_SDK_DIRS: [(&str, Dir); 5] = [
    ("lib", include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/lib")),
    (
        "testing",
        include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/testing"),
    ),
    ("bin", include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/bin")),
    ("types", include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/types")),
    ("wit", include_dir!("$CARGO_MANIFEST_DIR/../sdk-js/wit")),
];
const JS_SDK_FILES: [(&str, &[u8]); 4] = [
    (
        "package.json",
        include_bytes!("../../../../sdk-js/package.json"),
    ),
    ("index.js", include_bytes!("../../../../sdk-js/index.js")),
    (
        "index.d.ts",
        include_bytes!("../../../../sdk-js/index.d.ts"),
    ),
    ("README.md", include_bytes!("../../../../sdk-js/README.md")),
];

/// The Python SDK: its package sources and what pip needs to install it.
static PY_SDK_PACKAGE: Dir = include_dir!("$CARGO_MANIFEST_DIR/../sdk-py/src/stagehand_plugin");
const PY_SDK_FILES: [(&str, &[u8]); 2] = [
    (
        "pyproject.toml",
        include_bytes!("../../../../sdk-py/pyproject.toml"),
    ),
    ("README.md", include_bytes!("../../../../sdk-py/README.md")),
];

/// Where the SDK goes inside a project.
const SDK_DIR: &str = "stagehand-plugin-sdk";

/// A TypeScript project.
pub fn typescript(name: &str) -> Files {
    let mut files = template(&TS_TEMPLATE, name);
    files.extend(js_sdk());
    files
}

/// A JavaScript project.
pub fn javascript(name: &str) -> Files {
    let mut files = template(&JS_TEMPLATE, name);
    files.extend(js_sdk());
    files
}

/// A Python project.
pub fn python(name: &str) -> Files {
    let mut files = template(&PY_TEMPLATE, name);
    for (rel, bytes) in PY_SDK_FILES {
        files.push((format!("{SDK_DIR}/{rel}"), bytes.to_vec()));
    }
    files.extend(tree(
        &PY_SDK_PACKAGE,
        &format!("{SDK_DIR}/src/stagehand_plugin"),
    ));
    files
}

/// Marks the SDK's build script executable (npm runs bins directly).
pub fn make_executable(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(SDK_DIR).join("bin/stagehand-build.js");
    if script.is_file() {
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", script.display()))?;
    }
    Ok(())
}

fn js_sdk() -> Files {
    let mut files: Files = JS_SDK_FILES
        .iter()
        .map(|(rel, bytes)| (format!("{SDK_DIR}/{rel}"), bytes.to_vec()))
        .collect();
    for (folder, dir) in &JS_SDK_DIRS {
        files.extend(tree(dir, &format!("{SDK_DIR}/{folder}")));
    }
    files
}

/// A template's files with `{{name}}` filled in.
fn template(dir: &Dir, name: &str) -> Files {
    tree(dir, "")
        .into_iter()
        .map(|(rel, bytes)| {
            let text = String::from_utf8_lossy(&bytes).replace("{{name}}", name);
            (rel, text.into_bytes())
        })
        .collect()
}

/// Every file under `dir`, placed under `prefix`; build leftovers (Python
/// caches) are left out.
fn tree(dir: &Dir, prefix: &str) -> Files {
    let mut out = Files::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        stack.extend(d.dirs());
        for file in d.files() {
            let rel = file.path().to_string_lossy().into_owned();
            if rel.contains("__pycache__") || rel.ends_with(".pyc") {
                continue;
            }
            let path = if prefix.is_empty() {
                rel
            } else {
                format!("{prefix}/{rel}")
            };
            out.push((path, file.contents().to_vec()));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(files: &Files) -> Vec<&str> {
        files.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn a_typescript_project_holds_its_template_and_the_sdk() {
        let files = typescript("shout-out");
        let names = names(&files);
        for expected in [
            "package.json",
            "plugin.toml",
            "src/plugin.ts",
            "tsconfig.json",
            ".gitignore",
            "stagehand-plugin-sdk/package.json",
            "stagehand-plugin-sdk/index.js",
            "stagehand-plugin-sdk/bin/stagehand-build.js",
            "stagehand-plugin-sdk/testing/register.js",
            "stagehand-plugin-sdk/wit/plugin.wit",
        ] {
            assert!(names.contains(&expected), "{expected} missing: {names:?}");
        }
        let package = &files.iter().find(|(p, _)| p == "package.json").unwrap().1;
        let package = String::from_utf8_lossy(package);
        assert!(package.contains("\"name\": \"shout-out\""), "{package}");
        assert!(!names.iter().any(|n| n.contains("node_modules")));
    }

    #[test]
    fn a_python_project_holds_its_template_and_the_sdk_without_caches() {
        let files = python("shout-out");
        let names = names(&files);
        for expected in [
            "app.py",
            "plugin.toml",
            "requirements.txt",
            "stagehand-plugin-sdk/pyproject.toml",
            "stagehand-plugin-sdk/README.md",
            "stagehand-plugin-sdk/src/stagehand_plugin/__init__.py",
        ] {
            assert!(names.contains(&expected), "{expected} missing: {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("__pycache__")));
        // The SDK's own text is not a template: its `{{` stays.
        let text = files
            .iter()
            .find(|(p, _)| p.ends_with("stagehand_plugin/text.py"))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .unwrap();
        assert!(text.contains("{{"), "the SDK's text module was altered");
    }

    /// What a new project builds against is the newest contract, byte for
    /// byte, in every language.
    #[test]
    fn new_projects_carry_the_newest_contract() {
        let newest = include_bytes!("../../../../plugin-sdk/wit/since_v0.3.0/plugin.wit");
        let wit_of = |files: &Files, path: &str| {
            files
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, bytes)| bytes.clone())
                .unwrap_or_else(|| panic!("{path} missing"))
        };
        for files in [typescript("a"), javascript("b")] {
            assert_eq!(
                wit_of(&files, "stagehand-plugin-sdk/wit/plugin.wit"),
                newest
            );
        }
        let python = python("c");
        assert_eq!(
            wit_of(
                &python,
                "stagehand-plugin-sdk/src/stagehand_plugin/wit/plugin.wit"
            ),
            newest
        );
    }
}
