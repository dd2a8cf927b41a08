//! Plugin packages: one `.stagehand` file (a gzip-compressed tar holding
//! `plugin.toml`, the component and optionally a README) that a plugin
//! author shares and a streamer installs. Reading one trusts nothing: the
//! sizes are capped while decompressing, only plain files with plain names
//! are accepted, and the manifest and component are checked without
//! running anything.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::discovery::{MAX_MANIFEST_BYTES, MAX_WASM_BYTES, read_capped};
use super::inspect::{self, Outline};
use super::manifest::{self, Manifest};
use super::runtime::LoadError;

/// The file extension of packages.
pub const EXTENSION: &str = "stagehand";
/// A README kept in a package, at most.
pub const MAX_README_BYTES: u64 = 256 << 10;
/// A package file, at most (compressed).
pub const MAX_PACKAGE_BYTES: u64 = MAX_WASM_BYTES + (1 << 20);

/// What is wrong with a file offered as a plugin, so an installer can say
/// it in a status code and a stable error code (`POST /api/plugins/install`
/// answers [`Problem::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Over a size cap.
    TooLarge,
    /// Not a package or a component at all (not gzip, not WebAssembly).
    NotAPackage,
    /// A package whose contents are wrong: damaged, a path or link, a file
    /// that does not belong, a file missing or twice.
    BadPackage,
    /// `plugin.toml` does not parse or breaks a rule.
    BadManifest,
    /// Two names that must agree do not: the manifest's component name and
    /// the file's, or the plugin's name and the one asked for.
    NameMismatch,
    /// A bare `.wasm` came without the name to install it under.
    NameRequired,
    /// The `.wasm` is not a Stagehand plugin component.
    NotAComponent,
    /// A plugin built for a contract this Stagehand does not load.
    UnsupportedContract,
    /// A file could not be read (the command line's paths).
    Unreadable,
}

impl Problem {
    /// The error code the API answers.
    pub fn code(self) -> &'static str {
        match self {
            Problem::TooLarge => "too_large",
            Problem::NotAPackage => "not_a_package",
            Problem::BadPackage => "bad_package",
            Problem::BadManifest => "bad_manifest",
            Problem::NameMismatch => "name_mismatch",
            Problem::NameRequired => "name_required",
            Problem::NotAComponent => "not_a_component",
            Problem::UnsupportedContract => "unsupported_contract",
            Problem::Unreadable => "unreadable",
        }
    }
}

/// Why a file is not a plugin Stagehand can install: what kind of problem,
/// and a message a plugin author or streamer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PackageError {
    pub problem: Problem,
    pub message: String,
}

impl PackageError {
    /// A problem of kind `problem`, said by `message`.
    pub fn new(problem: Problem, message: impl Into<String>) -> Self {
        PackageError {
            problem,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(Problem::BadPackage, message)
    }

    fn unreadable(e: LoadError) -> Self {
        Self::new(Problem::Unreadable, e.0)
    }
}

/// A plugin's files, checked: what `plugin check` reports and an install
/// writes.
#[derive(Debug, Clone)]
pub struct Package {
    pub manifest_text: String,
    pub manifest: Manifest,
    /// The component's file name in the plugin folder.
    pub wasm_name: String,
    pub wasm: Vec<u8>,
    pub readme: Option<String>,
    pub outline: Outline,
}

/// What a package is and asks for: `plugin check` prints it (or gives it
/// as JSON with `--json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    /// The plugin contract it was built for.
    pub contract: String,
    /// Permission keys it asks for (see `GET /api/plugins`).
    pub permissions: Vec<String>,
    pub deadline_ms: u64,
    pub memory_mib: u64,
    pub media_hosts: Vec<String>,
    pub wasm_bytes: usize,
    pub imports: Vec<String>,
}

impl Package {
    /// Checks a manifest and component that belong together.
    pub fn new(
        manifest_text: String,
        wasm_name: String,
        wasm: Vec<u8>,
        readme: Option<String>,
    ) -> Result<Package, PackageError> {
        let manifest = manifest::parse(&manifest_text)
            .map_err(|e| PackageError::new(Problem::BadManifest, format!("plugin.toml: {e}")))?;
        if let Some(named) = &manifest.wasm
            && named != &wasm_name
        {
            return Err(PackageError::new(
                Problem::NameMismatch,
                format!("plugin.toml names the component {named:?} but the file is {wasm_name:?}"),
            ));
        }
        let outline = inspect::outline(&wasm).map_err(|e| {
            let problem = if e.unsupported_contract {
                Problem::UnsupportedContract
            } else {
                Problem::NotAComponent
            };
            PackageError::new(problem, format!("{wasm_name}: {e}"))
        })?;
        Ok(Package {
            manifest_text,
            manifest,
            wasm_name,
            wasm,
            readme,
            outline,
        })
    }

    /// What it is and asks for.
    pub fn summary(&self) -> Summary {
        let m = &self.manifest;
        Summary {
            name: m.name.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            contract: self.outline.contract.clone(),
            permissions: m.permissions.iter().map(|p| p.key()).collect(),
            deadline_ms: m.deadline.as_millis() as u64,
            memory_mib: (m.memory_bytes >> 20) as u64,
            media_hosts: m.media_hosts().map(str::to_owned).collect(),
            wasm_bytes: self.wasm.len(),
            imports: self.outline.imports.clone(),
        }
    }

    /// The package file's name: `<name>-<version>.stagehand`.
    pub fn file_name(&self) -> String {
        let version: String = self
            .manifest
            .version
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        format!("{}-{version}.{EXTENSION}", self.manifest.name)
    }

    /// The package file's bytes; the same files give the same bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut tar = tar::Builder::new(gz);
        let mut add = |name: &str, bytes: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            tar.append_data(&mut header, name, bytes)
                .map_err(|e| format!("writing {name}: {e}"))
        };
        add("plugin.toml", self.manifest_text.as_bytes())?;
        add(&self.wasm_name, &self.wasm)?;
        if let Some(readme) = &self.readme {
            add("README.md", readme.as_bytes())?;
        }
        let gz = tar.into_inner().map_err(|e| e.to_string())?;
        gz.finish().map_err(|e| e.to_string())
    }

    /// Reads a package file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Package, PackageError> {
        if bytes.len() as u64 > MAX_PACKAGE_BYTES {
            return Err(PackageError::new(
                Problem::TooLarge,
                format!(
                    "the package is {} bytes; at most {MAX_PACKAGE_BYTES} are accepted",
                    bytes.len()
                ),
            ));
        }
        if !bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(PackageError::new(
                Problem::NotAPackage,
                format!(
                    "not a plugin package (a .{EXTENSION} file is gzip-compressed; make one with `stagehand plugin pack`)"
                ),
            ));
        }
        // The whole decompressed stream is capped, not only the entries read
        // here: tar reads long-name and pax records itself, unbounded.
        let most = MAX_MANIFEST_BYTES + MAX_WASM_BYTES + MAX_README_BYTES + (64 << 10);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes).take(most));
        let (mut manifest_text, mut wasm, mut readme) = (None, None::<(String, Vec<u8>)>, None);
        let entries = archive.entries().map_err(|e| {
            PackageError::new(Problem::NotAPackage, format!("not a plugin package: {e}"))
        })?;
        for entry in entries {
            let mut entry =
                entry.map_err(|e| PackageError::bad(format!("the package is damaged: {e}")))?;
            let path = entry
                .path()
                .map_err(|e| {
                    PackageError::bad(format!("the package holds an unreadable name: {e}"))
                })?
                .to_string_lossy()
                .into_owned();
            let name = path.strip_prefix("./").unwrap_or(&path).to_owned();
            if !entry.header().entry_type().is_file() {
                return Err(PackageError::bad(format!(
                    "the package holds {name:?}, which is not a plain file"
                )));
            }
            // Plain names only: no paths, control characters or the like.
            let plain = !name.is_empty()
                && name.len() <= 128
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !plain || name.starts_with('.') {
                return Err(PackageError::bad(format!(
                    "the package holds {name:?}; only plugin.toml, one .wasm and README.md belong at its top"
                )));
            }
            let cap = match name.as_str() {
                "plugin.toml" => MAX_MANIFEST_BYTES,
                "README.md" => MAX_README_BYTES,
                n if n.ends_with(".wasm") => MAX_WASM_BYTES,
                _ => {
                    return Err(PackageError::bad(format!(
                        "the package holds {name:?}; only plugin.toml, one .wasm and README.md belong in it"
                    )));
                }
            };
            let content = read_entry(&mut entry, cap, &name)?;
            let duplicate = match name.as_str() {
                "plugin.toml" => manifest_text.replace(text(content, &name)?).is_some(),
                "README.md" => readme.replace(text(content, &name)?).is_some(),
                _ => wasm.replace((name.clone(), content)).is_some(),
            };
            if duplicate {
                return Err(PackageError::bad(match name.ends_with(".wasm") {
                    true => "the package holds more than one .wasm".to_owned(),
                    false => format!("the package holds {name} twice"),
                }));
            }
        }
        let manifest_text =
            manifest_text.ok_or_else(|| PackageError::bad("the package holds no plugin.toml"))?;
        let (wasm_name, wasm) =
            wasm.ok_or_else(|| PackageError::bad("the package holds no .wasm component"))?;
        Package::new(manifest_text, wasm_name, wasm, readme)
    }

    /// Gathers a plugin from a folder: a plugin folder as installed, or a
    /// plugin crate whose component was built (`target/wasm32-wasip2/release`,
    /// or under `CARGO_TARGET_DIR`).
    pub fn from_dir(dir: &Path) -> Result<Package, PackageError> {
        let manifest_path = dir.join("plugin.toml");
        if std::fs::symlink_metadata(&manifest_path).is_err() {
            // A folder holding only a component, as the plugins folder allows.
            let folder = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            let stem = folder.file_name().unwrap_or_default().to_string_lossy();
            return Package::bare(&stem, &find_component(dir, &manifest::for_bare_wasm("x"))?);
        }
        let manifest_text = read_capped(&manifest_path, MAX_MANIFEST_BYTES, "plugin.toml")
            .map_err(PackageError::unreadable)
            .and_then(|b| text(b, "plugin.toml"))?;
        let manifest = manifest::parse(&manifest_text)
            .map_err(|e| PackageError::new(Problem::BadManifest, format!("plugin.toml: {e}")))?;
        let wasm_path = find_component(dir, &manifest)?;
        let wasm = read_capped(&wasm_path, MAX_WASM_BYTES, "the component")
            .map_err(PackageError::unreadable)?;
        let wasm_name = manifest
            .wasm
            .clone()
            .unwrap_or_else(|| format!("{}.wasm", manifest.name));
        let readme = match std::fs::symlink_metadata(dir.join("README.md")) {
            Ok(meta) if meta.is_file() => Some(
                read_capped(&dir.join("README.md"), MAX_README_BYTES, "README.md")
                    .map_err(PackageError::unreadable)
                    .and_then(|b| text(b, "README.md"))?,
            ),
            _ => None,
        };
        Package::new(manifest_text, wasm_name, wasm, readme)
    }

    /// Reads whatever `path` is: a package, a bare `.wasm` (named after its
    /// file, with the default manifest) or a folder.
    pub fn from_path(path: &Path) -> Result<Package, PackageError> {
        if path.is_dir() {
            return Package::from_dir(path);
        }
        if path.extension().is_some_and(|x| x == "wasm") {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            return Package::bare(&stem, path);
        }
        let bytes = read_file(path, MAX_PACKAGE_BYTES, "the file")?;
        Package::from_bytes(&bytes)
    }

    /// A bare component named `stem`, with the default manifest.
    fn bare(stem: &str, wasm: &Path) -> Result<Package, PackageError> {
        let bytes = read_file(wasm, MAX_WASM_BYTES, "the component")?;
        Package::from_wasm(stem, bytes)
    }

    /// A bare component (a `.wasm` without `plugin.toml`) named after
    /// `stem` (its file name, or the name the streamer gave it), with the
    /// default manifest: no permissions, default limits, and its version
    /// from its own `describe` once loaded.
    pub fn from_wasm(stem: &str, wasm: Vec<u8>) -> Result<Package, PackageError> {
        let name = manifest::name_from_stem(stem).ok_or_else(|| {
            PackageError::new(
                Problem::BadManifest,
                format!("{stem:?} is no plugin name: rename it to a-z, 0-9 and -"),
            )
        })?;
        if wasm.len() as u64 > MAX_WASM_BYTES {
            return Err(PackageError::new(
                Problem::TooLarge,
                format!(
                    "the component is {} bytes; at most {MAX_WASM_BYTES} bytes ({} MiB) are loaded",
                    wasm.len(),
                    MAX_WASM_BYTES >> 20
                ),
            ));
        }
        if !wasm.starts_with(b"\0asm") {
            return Err(PackageError::new(
                Problem::NotAPackage,
                "not a WebAssembly file (it does not start with \\0asm)",
            ));
        }
        Package::new(bare_manifest(&name), format!("{name}.wasm"), wasm, None)
    }

    /// Whether this is a bare component, without a `plugin.toml` of its own.
    pub fn is_bare(&self) -> bool {
        self.manifest.version == "0" && self.manifest_text == bare_manifest(&self.manifest.name)
    }
}

/// The manifest a bare component gets.
fn bare_manifest(name: &str) -> String {
    format!("name = \"{name}\"\nversion = \"0\"\n")
}

/// Reads a file given on the command line (see [`read_capped`]); one over
/// `cap` is [`Problem::TooLarge`].
fn read_file(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>, PackageError> {
    read_capped(path, cap, what).map_err(|e| {
        let too_big = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() > cap);
        let problem = if too_big {
            Problem::TooLarge
        } else {
            Problem::Unreadable
        };
        PackageError::new(problem, e.0)
    })
}

/// Where a folder's component is: named by the manifest, the folder's only
/// `.wasm`, or the crate's release build for wasm32-wasip2.
fn find_component(dir: &Path, manifest: &Manifest) -> Result<PathBuf, PackageError> {
    if let Some(named) = &manifest.wasm {
        return Ok(dir.join(named));
    }
    let mut here: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| {
            PackageError::new(
                Problem::Unreadable,
                format!("cannot read {}: {e}", dir.display()),
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    if here.len() == 1 {
        return Ok(here.remove(0));
    }
    if here.len() > 1 {
        return Err(PackageError::new(
            Problem::BadManifest,
            format!(
                "several .wasm files in {}: name one with wasm = \"...\" in plugin.toml",
                dir.display()
            ),
        ));
    }
    // Where cargo put it: CARGO_TARGET_DIR when set, else the crate's target.
    // Cargo reads a relative CARGO_TARGET_DIR from where it runs: here.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| match std::env::current_dir() {
            Ok(cwd) if t.is_relative() => cwd.join(t),
            _ => t,
        })
        .unwrap_or_else(|| dir.join("target"));
    let file = format!(
        "{}.wasm",
        crate_name(dir).unwrap_or_else(|| manifest.name.replace('-', "_"))
    );
    let built = target.join("wasm32-wasip2/release").join(file);
    if built.is_file() {
        return Ok(built);
    }
    Err(PackageError::new(
        Problem::Unreadable,
        format!(
            "no component in {}: build it first (`cargo build --release --target wasm32-wasip2`, \
             expected at {})",
            dir.display(),
            built.display()
        ),
    ))
}

/// The crate name in `dir/Cargo.toml`, as its library file is named.
fn crate_name(dir: &Path) -> Option<String> {
    let bytes = read_capped(&dir.join("Cargo.toml"), MAX_MANIFEST_BYTES, "Cargo.toml").ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    let name = table.get("package")?.get("name")?.as_str()?;
    Some(name.replace('-', "_"))
}

fn read_entry(entry: &mut impl Read, cap: u64, name: &str) -> Result<Vec<u8>, PackageError> {
    let mut bytes = Vec::new();
    entry
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| PackageError::bad(format!("the package is damaged at {name}: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(PackageError::new(
            Problem::TooLarge,
            format!("{name} in the package is over {cap} bytes"),
        ));
    }
    Ok(bytes)
}

fn text(bytes: Vec<u8>, name: &str) -> Result<String, PackageError> {
    String::from_utf8(bytes).map_err(|_| {
        let problem = if name == "plugin.toml" {
            Problem::BadManifest
        } else {
            Problem::BadPackage
        };
        PackageError::new(problem, format!("{name} is not UTF-8 text"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(entries: &[(&str, &[u8], tar::EntryType)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes, kind) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            // Names written raw: the builder itself refuses `..`, an
            // attacker's tool does not.
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            if kind.is_symlink() {
                header.set_size(0);
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            let body: &[u8] = if kind.is_symlink() { &[] } else { bytes };
            tar.append(&header, body).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap()
    }

    const MANIFEST: &[u8] = b"name = \"x\"\nversion = \"1\"\n";
    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn bad_packages_get_a_reason() {
        let cases: Vec<(Vec<u8>, &str, Problem)> = vec![
            (
                b"PK\x03\x04zip".to_vec(),
                "not a plugin package",
                Problem::NotAPackage,
            ),
            (vec![0x1f, 0x8b, 0, 1, 2], "package", Problem::BadPackage),
            (
                tar_gz(&[("x.wasm", b"\0asm", FILE)]),
                "no plugin.toml",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[("plugin.toml", MANIFEST, FILE)]),
                "no .wasm",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[("../plugin.toml", MANIFEST, FILE)]),
                "only plugin.toml",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[("evil.sh", b"rm -rf /", FILE)]),
                "only plugin.toml, one .wasm and README.md belong",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[("plugin.toml", b"", tar::EntryType::Symlink)]),
                "not a plain file",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[("a.wasm", b"\0asm", FILE), ("b.wasm", b"\0asm", FILE)]),
                "more than one .wasm",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[
                    ("plugin.toml", MANIFEST, FILE),
                    ("plugin.toml", MANIFEST, FILE),
                ]),
                "plugin.toml twice",
                Problem::BadPackage,
            ),
            (
                tar_gz(&[
                    ("plugin.toml", b"name = 1", FILE),
                    ("x.wasm", b"\0asm", FILE),
                ]),
                "plugin.toml:",
                Problem::BadManifest,
            ),
            (
                tar_gz(&[("plugin.toml", MANIFEST, FILE), ("x.wasm", b"text", FILE)]),
                "x.wasm: not a WebAssembly file",
                Problem::NotAComponent,
            ),
            (
                tar_gz(&[
                    (
                        "plugin.toml",
                        b"name = \"x\"\nversion = \"1\"\nwasm = \"y.wasm\"",
                        FILE,
                    ),
                    ("x.wasm", b"\0asm", FILE),
                ]),
                "names the component \"y.wasm\"",
                Problem::NameMismatch,
            ),
        ];
        for (bytes, expected, problem) in cases {
            let err = Package::from_bytes(&bytes).unwrap_err();
            assert!(
                err.message.contains(expected),
                "{expected:?} not in {err:?}"
            );
            assert_eq!(err.problem, problem, "{err:?}");
        }
    }

    #[test]
    fn a_huge_long_name_record_stops_at_the_cap() {
        // A GNU long-name record announcing 1 GiB of zeros: tar would read
        // it whole before this code sees an entry.
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(1 << 30);
        header.set_cksum();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, header.as_bytes()).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            std::io::Write::write_all(&mut gz, &zeros).unwrap();
        }
        let bytes = gz.finish().unwrap();
        assert!((bytes.len() as u64) < MAX_PACKAGE_BYTES, "{}", bytes.len());
        let err = Package::from_bytes(&bytes).unwrap_err();
        assert!(err.message.contains("package"), "{err}");
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_cap() {
        let big = vec![0u8; (MAX_MANIFEST_BYTES + 10) as usize];
        let bytes = tar_gz(&[("plugin.toml", &big, FILE)]);
        assert!(bytes.len() < 10_000, "compresses well: {}", bytes.len());
        let err = Package::from_bytes(&bytes).unwrap_err();
        assert!(
            err.message.contains("plugin.toml in the package is over"),
            "{err}"
        );
        assert_eq!(err.problem, Problem::TooLarge);
    }
}
