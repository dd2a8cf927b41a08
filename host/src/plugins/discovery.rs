//! What the plugins folder holds: plugin folders (`plugin.toml` and a
//! `.wasm`) and bare `.wasm` files, each under one plugin name, and the
//! files of one plugin read safely.
//!
//! A plugin's files are written by its author, so they are read as hostile:
//! only regular files inside the plugin's own folder (no links, FIFOs or
//! devices, no paths in the manifest), opened without blocking and never
//! more than a size cap. Two sources whose names normalise to the same
//! plugin name cannot share its identity (grants, settings, stored data):
//! one keeps the name and the other is refused, naming both.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::manifest::{self, Manifest};
use super::runtime::LoadError;

/// The largest component loaded.
pub const MAX_WASM_BYTES: u64 = 32 << 20;
/// The largest `plugin.toml` read.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// One plugin found in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    /// The folder, or the bare `.wasm` file.
    pub path: PathBuf,
}

impl Candidate {
    fn is_folder(&self) -> bool {
        self.path.is_dir()
    }
}

/// A source refused because another one holds its plugin name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Its file name in the plugins folder (what the API lists it as).
    pub file_name: String,
    pub path: PathBuf,
    /// Says which plugin name and which other source.
    pub reason: String,
}

/// What one scan found.
#[derive(Debug, Default)]
pub struct Found {
    pub candidates: Vec<Candidate>,
    pub refused: Vec<Refused>,
}

/// Lists the plugins in `dir` (created if missing). `running` maps plugin
/// names to the path each runs from now, so that when two sources claim a
/// name the one running keeps it (unless the other is named exactly so).
pub fn discover(dir: &Path, running: &BTreeMap<String, PathBuf>) -> std::io::Result<Found> {
    std::fs::create_dir_all(dir)?;
    let mut claims: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let stem = if file_type.is_dir() || (file_type.is_symlink() && path.is_dir()) {
            if !looks_like_plugin(&path) {
                continue; // an unrelated folder
            }
            file_name.as_str()
        } else if let Some(stem) = file_name.strip_suffix(".wasm") {
            stem
        } else {
            continue;
        };
        let Some(name) = manifest::name_from_stem(stem) else {
            tracing::warn!(path = %path.display(), "ignoring a plugin whose name is not a-z, 0-9, -, _ and spaces");
            continue;
        };
        claims.entry(name).or_default().push((file_name, path));
    }
    let mut found = Found::default();
    for (name, mut sources) in claims {
        sources.sort();
        let winner = sources
            .iter()
            .position(|(file, _)| file == &name || file == &format!("{name}.wasm"))
            .or_else(|| {
                running
                    .get(&name)
                    .and_then(|p| sources.iter().position(|(_, path)| path == p))
            })
            .unwrap_or(0);
        let (_, kept) = sources.remove(winner);
        for (file_name, path) in sources {
            let reason = format!(
                "refused: {} and {} both name the plugin {name:?}; {} keeps the name: rename or remove one",
                path.display(),
                kept.display(),
                kept.display()
            );
            found.refused.push(Refused {
                file_name,
                path,
                reason,
            });
        }
        found.candidates.push(Candidate { name, path: kept });
    }
    Ok(found)
}

/// A folder holding `plugin.toml` or a `.wasm`.
fn looks_like_plugin(folder: &Path) -> bool {
    if std::fs::symlink_metadata(folder.join("plugin.toml")).is_ok() {
        return true;
    }
    std::fs::read_dir(folder).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".wasm"))
    })
}

/// A plugin's files, read.
#[derive(Debug)]
pub struct Files {
    /// `plugin.toml`'s text, if the plugin has one.
    pub manifest_text: Option<String>,
    /// The manifest (a bare `.wasm` gets the default one).
    pub manifest: Manifest,
    pub wasm: Vec<u8>,
}

/// Reads the manifest and component of `candidate`: the manifest first,
/// checked before anything it names is touched.
pub fn read_files(candidate: &Candidate) -> Result<Files, LoadError> {
    if !candidate.is_folder() {
        let wasm = read_capped(&candidate.path, MAX_WASM_BYTES, "the component")?;
        return Ok(Files {
            manifest_text: None,
            manifest: manifest::for_bare_wasm(&candidate.name),
            wasm,
        });
    }
    let (manifest_text, manifest) = read_manifest(&candidate.name, &candidate.path)?;
    let wasm_path = match &manifest.wasm {
        Some(file) => candidate.path.join(file),
        None => only_wasm(&candidate.path)?,
    };
    let wasm = read_capped(&wasm_path, MAX_WASM_BYTES, "the component")?;
    Ok(Files {
        manifest_text,
        manifest,
        wasm,
    })
}

/// The manifest of the plugin at `path` (a folder, or a bare `.wasm`), and
/// its text if it has one; checked against the plugin's name.
pub fn read_manifest(name: &str, path: &Path) -> Result<(Option<String>, Manifest), LoadError> {
    if !path.is_dir() {
        return Ok((None, manifest::for_bare_wasm(name)));
    }
    let file = path.join("plugin.toml");
    let text = match read_capped(&file, MAX_MANIFEST_BYTES, "plugin.toml") {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| LoadError("plugin.toml is not UTF-8 text".into()))?,
        Err(_) if std::fs::symlink_metadata(&file).is_err() => {
            return Ok((None, manifest::for_bare_wasm(name)));
        }
        Err(e) => return Err(e),
    };
    let manifest = manifest::parse(&text).map_err(|e| LoadError(format!("plugin.toml: {e}")))?;
    if manifest.name != name {
        return Err(LoadError(format!(
            "plugin.toml names the plugin {:?} but its folder is {name:?}",
            manifest.name
        )));
    }
    Ok((Some(text), manifest))
}

/// The folder's only `.wasm` (when the manifest names none).
fn only_wasm(folder: &Path) -> Result<PathBuf, LoadError> {
    let mut wasm: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| LoadError(format!("cannot read {}: {e}", folder.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    match wasm.len() {
        1 => Ok(wasm.remove(0)),
        0 => Err(LoadError(format!("no .wasm file in {}", folder.display()))),
        _ => Err(LoadError(format!(
            "several .wasm files in {}: name one with wasm = \"...\" in plugin.toml",
            folder.display()
        ))),
    }
}

/// Reads a regular file of at most `cap` bytes without following a link
/// and without blocking (a FIFO or device is refused, not opened for
/// reading and waited on).
pub fn read_capped(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>, LoadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                LoadError(format!(
                    "{what} {} is a symbolic link; plugin files must be regular files inside the plugin's folder",
                    path.display()
                ))
            } else {
                LoadError(format!("cannot read {}: {e}", path.display()))
            }
        })?;
    let meta = file
        .metadata()
        .map_err(|e| LoadError(format!("cannot read {}: {e}", path.display())))?;
    if !meta.file_type().is_file() {
        return Err(LoadError(format!(
            "{what} {} is not a regular file",
            path.display()
        )));
    }
    let too_big = |len: u64| {
        LoadError(format!(
            "{what} {} is {} bytes; at most {cap} bytes ({} MiB) are loaded",
            path.display(),
            len,
            cap >> 20
        ))
    };
    if meta.len() > cap {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| LoadError(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(dir: &Path, name: &str, manifest: Option<&str>, wasm: &[(&str, &[u8])]) -> PathBuf {
        let f = dir.join(name);
        std::fs::create_dir_all(&f).unwrap();
        if let Some(m) = manifest {
            std::fs::write(f.join("plugin.toml"), m).unwrap();
        }
        for (file, bytes) in wasm {
            std::fs::write(f.join(file), bytes).unwrap();
        }
        f
    }

    fn manifest(name: &str, extra: &str) -> String {
        format!("name = \"{name}\"\nversion = \"1.0.0\"\n{extra}")
    }

    #[test]
    fn folders_and_bare_files_are_found_and_unrelated_folders_skipped() {
        let dir = tempfile::tempdir().unwrap();
        folder(
            dir.path(),
            "alpha",
            Some(&manifest("alpha", "")),
            &[("a.wasm", b"\0asm")],
        );
        folder(dir.path(), "notes", None, &[("readme.txt", b"hi")]);
        std::fs::write(dir.path().join("Beta_Plugin.wasm"), b"\0asm").unwrap();
        let found = discover(dir.path(), &BTreeMap::new()).unwrap();
        let names: Vec<_> = found.candidates.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["alpha", "beta-plugin"]);
        assert!(found.refused.is_empty());
    }

    #[test]
    fn two_sources_of_one_name_leave_one_and_refuse_the_other_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let exact = folder(
            dir.path(),
            "follow-alert",
            Some(&manifest("follow-alert", "")),
            &[("x.wasm", b"\0asm")],
        );
        std::fs::write(dir.path().join("Follow_Alert.wasm"), b"\0asm").unwrap();
        for _ in 0..3 {
            let found = discover(dir.path(), &BTreeMap::new()).unwrap();
            assert_eq!(found.candidates.len(), 1);
            assert_eq!(
                found.candidates[0].path, exact,
                "the exact name always wins"
            );
            assert_eq!(found.refused.len(), 1);
            let refused = &found.refused[0];
            assert_eq!(refused.file_name, "Follow_Alert.wasm");
            assert!(
                refused.reason.contains("Follow_Alert.wasm"),
                "{}",
                refused.reason
            );
            assert!(
                refused.reason.contains("follow-alert"),
                "{}",
                refused.reason
            );
        }
    }

    #[test]
    fn without_an_exact_name_the_running_source_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("My_Plugin.wasm");
        let b = dir.path().join("my plugin.wasm");
        std::fs::write(&a, b"\0asm").unwrap();
        std::fs::write(&b, b"\0asm").unwrap();
        let running = BTreeMap::from([("my-plugin".to_owned(), b.clone())]);
        for _ in 0..3 {
            let found = discover(dir.path(), &running).unwrap();
            assert_eq!(found.candidates[0].path, b);
            assert_eq!(found.refused[0].path, a);
        }
    }

    #[test]
    fn a_manifest_cannot_name_a_path_outside_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        for (i, wasm) in ["/dev/zero", "../other/x.wasm", "..", "sub/x.wasm", "x.so"]
            .iter()
            .enumerate()
        {
            let name = format!("p{i}");
            folder(
                dir.path(),
                &name,
                Some(&manifest(&name, &format!("wasm = {wasm:?}"))),
                &[],
            );
            let err = read_files(&Candidate {
                name: name.clone(),
                path: dir.path().join(&name),
            })
            .unwrap_err();
            assert!(
                err.0.contains("plugin.toml") && err.0.contains("wasm"),
                "{wasm}: {err}"
            );
        }
    }

    #[test]
    fn links_fifos_and_oversized_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let f = folder(
            dir.path(),
            "linked",
            Some(&manifest("linked", "wasm = \"x.wasm\"")),
            &[],
        );
        std::os::unix::fs::symlink("/dev/zero", f.join("x.wasm")).unwrap();
        let err = read_files(&Candidate {
            name: "linked".into(),
            path: f,
        })
        .unwrap_err();
        assert!(err.0.contains("symbolic link"), "{err}");

        let f = folder(
            dir.path(),
            "piped",
            Some(&manifest("piped", "wasm = \"x.wasm\"")),
            &[],
        );
        let fifo = std::ffi::CString::new(f.join("x.wasm").to_str().unwrap()).unwrap();
        // SAFETY: creating a FIFO at a path we own.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let err = read_files(&Candidate {
            name: "piped".into(),
            path: f,
        })
        .unwrap_err();
        assert!(err.0.contains("not a regular file"), "{err}");

        let f = folder(dir.path(), "huge", Some(&manifest("huge", "")), &[]);
        let big = std::fs::File::create(f.join("huge.wasm")).unwrap();
        big.set_len(MAX_WASM_BYTES + 1).unwrap();
        let err = read_files(&Candidate {
            name: "huge".into(),
            path: f,
        })
        .unwrap_err();
        assert!(
            err.0.contains("at most") && err.0.contains("32 MiB"),
            "{err}"
        );

        let f = folder(dir.path(), "tomlink", None, &[("t.wasm", b"\0asm")]);
        std::os::unix::fs::symlink("/etc/hostname", f.join("plugin.toml")).unwrap();
        let err = read_files(&Candidate {
            name: "tomlink".into(),
            path: f,
        })
        .unwrap_err();
        assert!(
            err.0.contains("plugin.toml") && err.0.contains("symbolic link"),
            "{err}"
        );
    }

    #[test]
    fn the_manifest_must_name_its_folder() {
        let dir = tempfile::tempdir().unwrap();
        let f = folder(
            dir.path(),
            "one",
            Some(&manifest("two", "")),
            &[("x.wasm", b"\0asm")],
        );
        let err = read_files(&Candidate {
            name: "one".into(),
            path: f,
        })
        .unwrap_err();
        assert!(err.0.contains("\"two\""), "{err}");
    }
}
