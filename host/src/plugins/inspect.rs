//! What a component is, read from its bytes without compiling or running
//! it: which plugin contract it was built for and what it imports. `plugin
//! check`, `plugin pack` and the loader use it to refuse a file early, with a reason a plugin author can act on.

use wasmparser::{Chunk, Parser, Payload};

/// Contract versions this host loads, newest first.
pub const CONTRACTS: [&str; 3] = ["0.3.0", "0.2.0", "0.1.0"];

/// A component's outline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The `stagehand:plugin` version it was built for.
    pub contract: String,
    /// Its top-level imports (interfaces such as `stagehand:plugin/host@0.3.0`).
    pub imports: Vec<String>,
    /// Its top-level exports.
    pub exports: Vec<String>,
}

/// Why a file is not a plugin this host can load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutlineError {
    /// It is a plugin, built for a contract this host does not load (one
    /// from the future): updating Stagehand would help, fixing the file not.
    pub unsupported_contract: bool,
    pub message: String,
}

impl From<String> for OutlineError {
    fn from(message: String) -> Self {
        OutlineError {
            unsupported_contract: false,
            message,
        }
    }
}

impl From<&str> for OutlineError {
    fn from(message: &str) -> Self {
        message.to_owned().into()
    }
}

/// Reads `wasm`'s outline; an error says why it is not a plugin this host
/// can load.
pub fn outline(wasm: &[u8]) -> Result<Outline, OutlineError> {
    if !wasm.starts_with(b"\0asm") {
        return Err("not a WebAssembly file (it does not start with \\0asm)".into());
    }
    let (mut imports, mut exports) = (Vec::new(), Vec::new());
    let mut parser = Parser::new(0);
    let mut rest = wasm;
    let mut is_component = false;
    // Only the top level matters: nested modules and components are skipped
    // unread, so a file cannot make this walk deep or long.
    loop {
        let (payload, consumed) = match parser.parse(rest, true) {
            Ok(Chunk::Parsed { payload, consumed }) => (payload, consumed),
            Ok(Chunk::NeedMoreData(_)) => {
                return Err("not a valid WebAssembly component: it ends early".into());
            }
            Err(e) => return Err(format!("not a valid WebAssembly component: {e}").into()),
        };
        rest = &rest[consumed..];
        match payload {
            Payload::Version { encoding, .. } => {
                is_component = encoding == wasmparser::Encoding::Component;
                if !is_component {
                    return Err("a core WebAssembly module, not a component: build for \
                         wasm32-wasip2 (or run it through `wasm-tools component new`)"
                        .into());
                }
            }
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                // The nested content follows its header: step over it.
                rest = rest
                    .get(unchecked_range.len()..)
                    .ok_or("not a valid WebAssembly component: a section runs past its end")?;
            }
            Payload::ComponentImportSection(section) => {
                for import in section {
                    let import = import.map_err(|e| format!("unreadable import: {e}"))?;
                    // Types a world uses are imported by plain name; only
                    // functions and instances need the host.
                    if !matches!(import.ty, wasmparser::ComponentTypeRef::Type(_)) {
                        push_capped(&mut imports, import.name.name, "imports")?;
                    }
                }
            }
            Payload::ComponentExportSection(section) => {
                for export in section {
                    let export = export.map_err(|e| format!("unreadable export: {e}"))?;
                    push_capped(&mut exports, export.name.name, "exports")?;
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }
    if !is_component {
        return Err("an empty file".into());
    }
    let contract = contract_of(&exports)?;
    for import in &imports {
        let ours = import.starts_with("stagehand:plugin/");
        let shown = listed(std::slice::from_ref(import));
        if ours && !import.ends_with(&format!("@{contract}")) {
            return Err(format!(
                "it imports {shown} but exports contract {contract}: rebuild it with one SDK version"
            )
            .into());
        }
        if !ours && !import.starts_with("wasi:") {
            return Err(format!(
                "it imports {shown}, which Stagehand does not provide (plugins get only \
                 stagehand:plugin/host and a WASI that grants nothing)"
            )
            .into());
        }
    }
    Ok(Outline {
        contract,
        imports,
        exports,
    })
}

/// Imports or exports a plugin may have: a Rust plugin has a handful, a
/// Python one a few dozen.
const MAX_NAMES: usize = 1_000;

fn push_capped(names: &mut Vec<String>, name: &str, what: &str) -> Result<(), OutlineError> {
    if names.len() >= MAX_NAMES {
        return Err(format!("it has more than {MAX_NAMES} {what}").into());
    }
    names.push(name.to_owned());
    Ok(())
}

/// `names` for a message: the first few, with control characters escaped.
fn listed(names: &[String]) -> String {
    let mut shown: Vec<String> = names
        .iter()
        .take(10)
        .map(|n| n.chars().take(100).flat_map(char::escape_debug).collect())
        .collect();
    if names.len() > 10 {
        shown.push(format!("and {} more", names.len() - 10));
    }
    shown.join(", ")
}

/// The contract a component's exports follow.
fn contract_of(exports: &[String]) -> Result<String, OutlineError> {
    if let Some(version) = exports
        .iter()
        .find_map(|e| e.strip_prefix("stagehand:plugin/handler@"))
    {
        return if CONTRACTS.contains(&version) {
            Ok(version.to_owned())
        } else {
            let version: String = version
                .chars()
                .take(32)
                .flat_map(char::escape_debug)
                .collect();
            let mut oldest_first: Vec<&str> = CONTRACTS.iter().rev().copied().collect();
            let newest = oldest_first.pop().unwrap_or_default();
            Err(OutlineError {
                unsupported_contract: true,
                message: format!(
                    "it was built for plugin contract {version}; this Stagehand loads {} and {newest}: update Stagehand or build with an older SDK",
                    oldest_first.join(", ")
                ),
            })
        };
    }
    // 0.1 exported plain functions at the top of the world.
    let v01 = ["describe", "init", "on-event", "format", "render"];
    if v01.iter().all(|name| exports.iter().any(|e| e == name)) {
        return Ok("0.1.0".into());
    }
    Err(format!(
        "not a Stagehand plugin: it exports {} but no stagehand:plugin/handler interface",
        if exports.is_empty() {
            "nothing".to_owned()
        } else {
            listed(exports)
        }
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_name_the_contract() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            contract_of(&names(&["stagehand:plugin/handler@0.3.0"])).unwrap(),
            "0.3.0"
        );
        assert_eq!(
            contract_of(&names(&["stagehand:plugin/handler@0.2.0"])).unwrap(),
            "0.2.0"
        );
        assert_eq!(
            contract_of(&names(&[
                "describe", "init", "format", "on-event", "render"
            ]))
            .unwrap(),
            "0.1.0"
        );
        let future = contract_of(&names(&["stagehand:plugin/handler@0.9.0"])).unwrap_err();
        assert!(future.unsupported_contract);
        assert!(
            future.message.contains("0.9.0")
                && future.message.contains("loads 0.1.0, 0.2.0 and 0.3.0")
                && future.message.contains("update Stagehand"),
            "{future}"
        );
        let other = contract_of(&names(&["wasi:cli/run@0.2.0"])).unwrap_err();
        assert!(!other.unsupported_contract);
        assert!(other.message.contains("wasi:cli/run"), "{other}");
    }

    #[test]
    fn files_that_are_not_components_are_named_as_such() {
        assert!(
            outline(b"hello")
                .unwrap_err()
                .message
                .contains("not a WebAssembly file")
        );
        // The smallest core module.
        let core = b"\0asm\x01\0\0\0";
        assert!(
            outline(core)
                .unwrap_err()
                .message
                .contains("core WebAssembly module")
        );
        let cut = b"\0asm\x0d\0\x01\0\x01";
        assert!(outline(cut).unwrap_err().message.contains("not a valid"));
    }
}
