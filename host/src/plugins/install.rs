//! Installing, updating and removing plugins from a file: a package made by
//! `stagehand plugin pack`, or a bare `.wasm`. The dashboard, the API
//! (`POST /api/plugins/install`) and `stagehand plugin install` all go
//! through here.
//!
//! A file is checked without running anything (the package reader and the
//! component outline: sizes, names, manifest, contract version, imports),
//! then shown as a [`Preview`]: what the plugin asks for and, when a plugin
//! of that name is installed, what changed. Only a confirmed install
//! touches the plugins folder, and then atomically: the files are written
//! into a private temporary folder inside the plugins folder and renamed
//! into place (swapped with the old folder on an update), so a scan never
//! sees a half-written plugin. The folder watcher (or the install itself)
//! loads it.
//!
//! Grants are never inherited silently: an update keeps only the grants the
//! new version still asks for (anything new waits for the streamer, the
//! plugin showing `pending_grant`), and a plugin installed under a name
//! nobody holds starts with no grants, stored data or settings, whatever an
//! older plugin of that name left behind. Removing a plugin deletes its
//! folder and everything stored for it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::oneshot;

use super::PluginHost;
use super::discovery::{self, MAX_WASM_BYTES};
use super::lifecycle::STOP_DRAIN;
use super::manifest::{self, Manifest, Permission};
use super::package::{MAX_PACKAGE_BYTES, Package, PackageError, Problem, Summary};
use super::worker::{Control, Status};
use crate::live::LiveMessage;
use crate::store;

/// How long an uploaded file waits for the streamer's confirmation.
pub const STAGED_FOR: Duration = Duration::from_secs(10 * 60);
/// Uploads waiting for confirmation at most; a new one makes the oldest
/// expire (each may hold a component of up to 32 MiB in memory).
pub const MAX_STAGED: usize = 4;
/// Names a plugin installed from a file cannot take: `install` would
/// share its API path with `POST /api/plugins/install/{token}`.
pub const RESERVED_NAMES: [&str; 1] = ["install"];
/// The largest file accepted: a package, or a bare component.
pub const MAX_FILE_BYTES: u64 = if MAX_PACKAGE_BYTES > MAX_WASM_BYTES {
    MAX_PACKAGE_BYTES
} else {
    MAX_WASM_BYTES
};

/// What an install would do, for the streamer to confirm: the plugin, what
/// it asks for, and what changed when it replaces an installed one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Preview {
    /// Name, version, description, contract, permissions, limits, media
    /// hosts, component size and imports.
    #[serde(flatten)]
    pub plugin: Summary,
    /// The uploaded file's size.
    pub file_bytes: usize,
    /// A bare component (no `plugin.toml`): it asks for nothing, and its
    /// version comes from the component once loaded.
    pub bare: bool,
    /// Set when a plugin of this name is installed: what the new version
    /// changes.
    pub update: Option<Update>,
    /// What it asks for that is not granted: it waits (`pending_grant`)
    /// until the streamer allows it.
    pub needs_grant: Vec<String>,
}

/// What an update changes in what a plugin asks for.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Update {
    pub version: Change<String>,
    /// Permissions (and limits and media hosts, as permission keys) the new
    /// version asks for and the installed one does not.
    pub added_permissions: Vec<String>,
    /// Those the installed one asks for and the new one no longer does.
    pub removed_permissions: Vec<String>,
    /// The per-call deadline, when it changes.
    pub deadline_ms: Option<Change<u64>>,
    /// The memory budget, when it changes.
    pub memory_mib: Option<Change<u64>>,
    pub added_media_hosts: Vec<String>,
    pub removed_media_hosts: Vec<String>,
}

/// A value before and after an update.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Change<T> {
    pub from: T,
    pub to: T,
}

impl Update {
    /// Whether the new version asks for anything more or different.
    pub fn changes_requests(&self) -> bool {
        !self.added_permissions.is_empty()
            || !self.removed_permissions.is_empty()
            || self.deadline_ms.is_some()
            || self.memory_mib.is_some()
    }
}

/// Reads an uploaded file: a package, or a bare component (starting with
/// `\0asm`) named `name`. A package's own name must agree with `name`
/// when one is given. Nothing is run.
pub fn read_upload(bytes: Vec<u8>, name: Option<&str>) -> Result<Package, PackageError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PackageError::new(
            Problem::TooLarge,
            format!(
                "the file is {} bytes; at most {MAX_FILE_BYTES} are accepted",
                bytes.len()
            ),
        ));
    }
    let package = if bytes.starts_with(b"\0asm") {
        let Some(name) = name.filter(|n| !n.trim().is_empty()) else {
            return Err(PackageError::new(
                Problem::NameRequired,
                "a bare .wasm carries no name: give one (?name= on the API; the dashboard uses the file's name)",
            ));
        };
        Package::from_wasm(name, bytes)?
    } else {
        let package = Package::from_bytes(&bytes)?;
        if let Some(asked) = name.filter(|n| !n.trim().is_empty()) {
            let asked_for = manifest::name_from_stem(asked).unwrap_or_else(|| asked.to_owned());
            if asked_for != package.manifest.name {
                return Err(PackageError::new(
                    Problem::NameMismatch,
                    format!(
                        "the package's plugin.toml names the plugin {:?}, not {asked:?}",
                        package.manifest.name
                    ),
                ));
            }
        }
        package
    };
    check_name(&package.manifest.name)?;
    Ok(package)
}

/// Refuses the names no installed plugin may take.
pub fn check_name(name: &str) -> Result<(), PackageError> {
    if RESERVED_NAMES.contains(&name) {
        return Err(PackageError::new(
            Problem::BadManifest,
            format!("{name:?} is reserved by Stagehand: give the plugin another name"),
        ));
    }
    Ok(())
}

/// The preview of installing `package` (read from a file of `file_bytes`)
/// over `installed` (the manifest of the plugin of that name, if any).
/// `granted` is what the streamer has granted that name.
pub fn preview(
    package: &Package,
    file_bytes: usize,
    installed: Option<&Manifest>,
    granted: &BTreeSet<String>,
) -> Preview {
    let plugin = package.summary();
    let needs_grant = plugin
        .permissions
        .iter()
        .filter(|p| !granted.contains(*p))
        .cloned()
        .collect();
    Preview {
        file_bytes,
        bare: package.is_bare(),
        update: installed.map(|old| diff(old, &package.manifest)),
        needs_grant,
        plugin,
    }
}

/// What changes from `old` to `new` in what the plugin asks for.
pub fn diff(old: &Manifest, new: &Manifest) -> Update {
    let keys =
        |m: &Manifest| -> BTreeSet<String> { m.permissions.iter().map(Permission::key).collect() };
    let hosts = |m: &Manifest| -> BTreeSet<String> { m.media_hosts().map(str::to_owned).collect() };
    let (old_keys, new_keys) = (keys(old), keys(new));
    let (old_hosts, new_hosts) = (hosts(old), hosts(new));
    let changed = |from: u64, to: u64| (from != to).then_some(Change { from, to });
    Update {
        version: Change {
            from: old.version.clone(),
            to: new.version.clone(),
        },
        added_permissions: new_keys.difference(&old_keys).cloned().collect(),
        removed_permissions: old_keys.difference(&new_keys).cloned().collect(),
        deadline_ms: changed(
            old.deadline.as_millis() as u64,
            new.deadline.as_millis() as u64,
        ),
        memory_mib: changed(
            (old.memory_bytes >> 20) as u64,
            (new.memory_bytes >> 20) as u64,
        ),
        added_media_hosts: new_hosts.difference(&old_hosts).cloned().collect(),
        removed_media_hosts: old_hosts.difference(&new_hosts).cloned().collect(),
    }
}

/// The manifest of the plugin installed as `name` in `dir`, if there is
/// one (a bare component's is the default; an unreadable one counts as
/// asking for nothing, so every request of the new version shows as added).
pub fn installed(dir: &Path, name: &str) -> Option<Manifest> {
    let found = discovery::discover(dir, &BTreeMap::new()).ok()?;
    let candidate = found.candidates.into_iter().find(|c| c.name == name)?;
    Some(
        discovery::read_manifest(name, &candidate.path)
            .map(|(_, m)| m)
            .unwrap_or_else(|_| manifest::for_bare_wasm(name)),
    )
}

/// Every file or folder in `dir` that claims the plugin name `name`: the
/// one loaded, and any refused because it holds the same name.
fn sources(dir: &Path, name: &str) -> std::io::Result<Vec<PathBuf>> {
    let found = discovery::discover(dir, &BTreeMap::new())?;
    let mut paths: Vec<PathBuf> = found
        .candidates
        .into_iter()
        .filter(|c| c.name == name)
        .map(|c| c.path)
        .collect();
    paths.extend(found.refused.into_iter().filter_map(|r| {
        let stem = r.file_name.strip_suffix(".wasm").unwrap_or(&r.file_name);
        (manifest::name_from_stem(stem).as_deref() == Some(name)).then_some(r.path)
    }));
    Ok(paths)
}

/// What [`write`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The plugin's folder.
    pub path: PathBuf,
    /// Whether it replaced an installed plugin of the same name.
    pub replaced: bool,
}

/// Writes `package` into `dir` as the folder `<name>/` (plugin.toml, the
/// component, README.md; 0700 and 0600), atomically: a scan sees the old
/// plugin or the new one, never a part. Other files or folders claiming
/// the same name (a bare `.wasm`, a folder named differently) are removed,
/// so the new one is the only source of that plugin.
pub fn write(dir: &Path, package: &Package) -> std::io::Result<Written> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let name = &package.manifest.name;
    sweep_leftovers(dir, std::time::SystemTime::now());
    let others = sources(dir, name)?;
    let staging = tempfile::Builder::new()
        .prefix(".installing-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(dir)?;
    let mut files = vec![
        ("plugin.toml", package.manifest_text.as_bytes()),
        (package.wasm_name.as_str(), package.wasm.as_slice()),
    ];
    if let Some(readme) = &package.readme {
        files.push(("README.md", readme.as_bytes()));
    }
    for (file, bytes) in files {
        let mut f = std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(staging.path().join(file))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::File::open(staging.path())?.sync_all()?;
    let target = dir.join(name);
    let staged = staging.keep();
    let replaced = match std::fs::symlink_metadata(&target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::rename(&staged, &target).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&staged);
            })?;
            false
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e);
        }
        Ok(_) => {
            if let Err(e) = exchange(&staged, &target) {
                // Without an atomic swap (a file system that lacks it): move
                // the old one aside first; the plugin is briefly absent.
                if !matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
                    let _ = std::fs::remove_dir_all(&staged);
                    return Err(e);
                }
                let aside = hidden(dir, "replaced", name);
                std::fs::rename(&target, &aside)?;
                std::fs::rename(&staged, &target)?;
                std::fs::rename(&aside, &staged)?;
            }
            // `staged` now holds what was installed.
            delete(&staged)?;
            true
        }
    };
    for other in others.iter().filter(|p| **p != target) {
        discard(dir, name, other)?;
    }
    std::fs::File::open(dir)?.sync_all()?;
    Ok(Written {
        path: target,
        replaced: replaced || !others.is_empty(),
    })
}

/// Prefixes of the hidden folders an install or removal works in.
const WORK_PREFIXES: [&str; 3] = [".installing-", ".removing-", ".replaced-"];

/// How old a hidden work folder must be to count as left over by an
/// install or removal that was cut short (a crash, a full disk); younger
/// ones may belong to one running now.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(60 * 60);

/// Deletes hidden work folders in `dir` older than [`LEFTOVER_AGE`].
fn sweep_leftovers(dir: &Path, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if !WORK_PREFIXES.iter().any(|p| file_name.starts_with(p)) {
            continue;
        }
        let old = std::fs::symlink_metadata(entry.path())
            .and_then(|m| m.modified())
            .is_ok_and(|at| now.duration_since(at).is_ok_and(|age| age >= LEFTOVER_AGE));
        if old && let Err(e) = delete(&entry.path()) {
            tracing::warn!(path = %entry.path().display(), error = %e, "cannot delete a left-over install folder");
        }
    }
}

/// Removes every source of plugin `name` from `dir`: each is first renamed
/// to a hidden name (a scan no longer sees it), then deleted. False if
/// there was none.
pub fn remove_files(dir: &Path, name: &str) -> std::io::Result<bool> {
    let found = sources(dir, name)?;
    for path in &found {
        discard(dir, name, path)?;
    }
    Ok(!found.is_empty())
}

/// Moves `path` out of the scan's sight, then deletes it.
fn discard(dir: &Path, name: &str, path: &Path) -> std::io::Result<()> {
    let aside = hidden(dir, "removing", name);
    std::fs::rename(path, &aside)?;
    delete(&aside)
}

/// Deletes a folder (its content, links themselves rather than what they
/// point to) or a file or link.
fn delete(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    }
}

/// A fresh hidden name in `dir` (scans skip names starting with a dot).
fn hidden(dir: &Path, what: &str, name: &str) -> PathBuf {
    let random = &crate::secrets::generate()[..16];
    dir.join(format!(".{what}-{name}-{random}"))
}

/// Swaps two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (path(a)?, path(b)?);
    // SAFETY: two valid NUL-terminated paths, relative to the working
    // folder only if relative; renameat2 reads nothing else.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Uploads checked and waiting for the streamer's confirmation, by token.
/// Bounded in number and time: an upload not confirmed within
/// [`STAGED_FOR`] is forgotten.
#[derive(Default)]
pub struct Staging {
    uploads: Mutex<HashMap<String, (Instant, Package)>>,
}

impl Staging {
    /// Keeps `package` and answers the token that installs it.
    pub fn stage(&self, package: Package, now: Instant) -> String {
        let token = crate::secrets::generate();
        let mut uploads = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        uploads.retain(|_, (at, _)| now.duration_since(*at) < STAGED_FOR);
        while uploads.len() >= MAX_STAGED {
            let oldest = uploads
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(t, _)| t.clone());
            match oldest {
                Some(t) => uploads.remove(&t),
                None => break,
            };
        }
        uploads.insert(token.clone(), (now, package));
        token
    }

    /// Takes the package staged under `token`, if it has not expired.
    pub fn take(&self, token: &str, now: Instant) -> Option<Package> {
        let mut uploads = self.uploads.lock().unwrap_or_else(|p| p.into_inner());
        uploads.retain(|_, (at, _)| now.duration_since(*at) < STAGED_FOR);
        uploads.remove(token).map(|(_, package)| package)
    }
}

/// Why a confirmed install or a removal did not complete.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The plugins folder could not be written.
    #[error("cannot write the plugins folder: {0}")]
    Files(#[from] std::io::Error),
    /// What is stored for the plugin could not be changed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// A background task failed.
    #[error("the install task failed: {0}")]
    Task(String),
}

impl PluginHost {
    /// Checks an uploaded file without running it and keeps it for
    /// [`PluginHost::install_staged`]: answers the token and the preview.
    pub async fn stage_upload(
        &self,
        bytes: Vec<u8>,
        name: Option<String>,
    ) -> Result<(String, Preview), PackageError> {
        let dir = self.inner.dir.clone();
        let file_bytes = bytes.len();
        let (package, installed) = tokio::task::spawn_blocking(move || {
            let package = read_upload(bytes, name.as_deref())?;
            let installed = installed(&dir, &package.manifest.name);
            Ok::<_, PackageError>((package, installed))
        })
        .await
        .map_err(|e| PackageError::new(Problem::Unreadable, e.to_string()))??;
        let name = package.manifest.name.clone();
        // A fresh install starts without the grants an older plugin of this
        // name may have left: only the config file's count.
        let granted = match installed {
            Some(_) => self.granted(&name).await,
            None => self
                .inner
                .config_grants
                .get(&name)
                .cloned()
                .unwrap_or_default(),
        };
        let mut preview = preview(&package, file_bytes, installed.as_ref(), &granted);
        if let Some(update) = &mut preview.update
            && update.version.from == "0"
            && let Some(status) = self.status(&name)
            && !status.version.is_empty()
        {
            // A bare component's version is its own describe's.
            update.version.from = status.version;
        }
        let token = self.inner.staged.stage(package, Instant::now());
        Ok((token, preview))
    }

    /// Installs the upload staged under `token` and loads it; answers its
    /// status (running, waiting for a grant, or failed with the reason).
    /// None if the token is unknown or expired.
    pub async fn install_staged(&self, token: &str) -> Result<Option<Status>, InstallError> {
        let Some(package) = self.inner.staged.take(token, Instant::now()) else {
            return Ok(None);
        };
        self.install_package(package).await.map(Some)
    }

    /// Installs `package` into the plugins folder and loads it (see the
    /// module's notes on grants).
    pub async fn install_package(&self, package: Package) -> Result<Status, InstallError> {
        let name = package.manifest.name.clone();
        let requested: Vec<String> = package
            .manifest
            .permissions
            .iter()
            .map(Permission::key)
            .collect();
        let lock = self.lifecycle_lock(&name, &self.inner.dir.join(&name));
        let written = {
            let _one_at_a_time = lock.lock().await;
            self.write_locked(package, requested).await
        };
        // Loaded (or, when the write failed, the registry brought back in
        // line with the folder).
        self.forget_version(&name);
        self.load_named(&name).await;
        let written = written?;
        tracing::info!(plugin = %name, path = %written.path.display(), replaced = written.replaced, "plugin installed");
        Ok(self
            .status(&name)
            .unwrap_or_else(|| super::blank_status(&name, &written.path)))
    }

    /// The stored state and the files of an install, under the plugin's
    /// lifecycle lock.
    async fn write_locked(
        &self,
        package: Package,
        requested: Vec<String>,
    ) -> Result<Written, InstallError> {
        let name = package.manifest.name.clone();
        let (dir, plugin) = (self.inner.dir.clone(), name.clone());
        let replacing = tokio::task::spawn_blocking(move || installed(&dir, &plugin))
            .await
            .map_err(|e| InstallError::Task(e.to_string()))?
            .is_some();
        // Stored state first, so the load the new files cause sees it.
        let plugin = name.clone();
        self.inner
            .store
            .write(move |c| match replacing {
                true => store::plugins::retain_grants(c, &plugin, &requested),
                false => store::plugins::forget(c, &plugin),
            })
            .await?;
        if !replacing && let Some(entry) = self.entries().get_mut(&name) {
            entry.kv = None;
        }
        let dir = self.inner.dir.clone();
        tokio::task::spawn_blocking(move || write(&dir, &package))
            .await
            .map_err(|e| InstallError::Task(e.to_string()))?
            .map_err(InstallError::from)
    }

    /// Removes plugin `name`: its files leave the plugins folder, it is
    /// unloaded (its worker stopped and waited for, so nothing it saves
    /// comes after), then its stored data, grants and settings are deleted.
    /// False if there is no such plugin.
    pub async fn remove(&self, name: &str) -> Result<bool, InstallError> {
        let dir = self.inner.dir.clone();
        let lock = self.lifecycle_lock_existing(name);
        let _one_at_a_time = lock.lock().await;
        let plugin = name.to_owned();
        let removed = tokio::task::spawn_blocking(move || remove_files(&dir, &plugin))
            .await
            .map_err(|e| InstallError::Task(e.to_string()))??;
        // A source refused for another's name is listed under its file
        // name: it is no plugin to remove, and stays listed.
        let entry = {
            let mut entries = self.entries();
            match entries.get(name) {
                Some(e) if !e.refused => entries.remove(name),
                _ => None,
            }
        };
        let known = entry.is_some();
        if let Some(worker) = entry.and_then(|e| e.worker) {
            let (done, stopped) = oneshot::channel();
            let grace = STOP_DRAIN + worker.busy.deadline() + Duration::from_millis(200);
            let drain_until = std::time::Instant::now();
            if worker
                .control(Control::Stop {
                    drain_until,
                    done: Some(done),
                })
                .is_ok()
                && tokio::time::timeout(grace, stopped).await.is_err()
            {
                tracing::warn!(
                    plugin = name,
                    "the removed plugin did not stop in time; its last writes may outlive it"
                );
            }
        }
        if !removed && !known {
            return Ok(false);
        }
        let plugin = name.to_owned();
        self.inner
            .store
            .write(move |c| store::plugins::forget(c, &plugin))
            .await?;
        self.rebuild_routes();
        self.inner.feed.publish(LiveMessage::PluginsChanged);
        tracing::info!(plugin = name, "plugin removed with its stored data");
        Ok(true)
    }

    /// The lifecycle lock of `name` without creating an entry for it (a
    /// plugin not in the registry gets a lock of its own).
    fn lifecycle_lock_existing(&self, name: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
        self.entries()
            .get(name)
            .map(|e| e.lifecycle.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(extra: &str) -> Manifest {
        manifest::parse(&format!("name = \"x\"\nversion = \"1.0.0\"\n{extra}")).unwrap()
    }

    #[test]
    fn an_update_shows_what_it_adds_removes_and_changes() {
        let old = manifest(
            "[permissions]\nchat = true\nmedia = [\"a.example.com\"]\n[limits]\ndeadline_ms = 200",
        );
        let mut new = manifest(
            "[permissions]\nwebhooks = [\"discord.com\"]\nmedia = [\"b.example.com\"]\n[limits]\nmemory_mib = 128",
        );
        new.version = "2.0.0".into();
        let update = diff(&old, &new);
        assert_eq!(
            update.version,
            Change {
                from: "1.0.0".into(),
                to: "2.0.0".into()
            }
        );
        assert_eq!(
            update.added_permissions,
            vec![
                "media:b.example.com",
                "memory_mib:128",
                "webhook:discord.com"
            ]
        );
        assert_eq!(
            update.removed_permissions,
            vec!["chat", "deadline_ms:200", "media:a.example.com"]
        );
        assert_eq!(update.deadline_ms, Some(Change { from: 200, to: 50 }));
        assert_eq!(update.memory_mib, Some(Change { from: 64, to: 128 }));
        assert_eq!(update.added_media_hosts, vec!["b.example.com"]);
        assert_eq!(update.removed_media_hosts, vec!["a.example.com"]);
        assert!(update.changes_requests());
        assert!(!diff(&old, &old).changes_requests());
    }

    #[test]
    fn uploads_expire_and_are_bounded() {
        let staging = Staging::default();
        let package = || {
            // The smallest component is enough to stage: nothing runs.
            Package {
                manifest_text: "name = \"x\"\nversion = \"1\"\n".into(),
                manifest: manifest(""),
                wasm_name: "x.wasm".into(),
                wasm: Vec::new(),
                readme: None,
                outline: super::super::inspect::Outline {
                    contract: "0.2.0".into(),
                    imports: vec![],
                    exports: vec![],
                },
            }
        };
        let t0 = Instant::now();
        let first = staging.stage(package(), t0);
        assert!(staging.take(&first, t0 + STAGED_FOR).is_none(), "expired");
        let tokens: Vec<String> = (0..=MAX_STAGED)
            .map(|i| staging.stage(package(), t0 + Duration::from_secs(i as u64)))
            .collect();
        assert!(
            staging.take(&tokens[0], t0).is_none(),
            "the oldest made way"
        );
        assert!(staging.take(&tokens[MAX_STAGED], t0).is_some());
        assert!(
            staging.take(&tokens[MAX_STAGED], t0).is_none(),
            "a token installs once"
        );
    }

    #[test]
    fn a_bare_component_needs_a_name_and_a_reserved_name_is_refused() {
        let err = read_upload(b"\0asm\x0d\0\x01\0".to_vec(), None).unwrap_err();
        assert_eq!(err.problem, Problem::NameRequired);
        let err = read_upload(b"\0asm\x0d\0\x01\0".to_vec(), Some("Bad Näme")).unwrap_err();
        assert_eq!(err.problem, Problem::BadManifest, "{err}");
        assert_eq!(
            check_name("install").unwrap_err().problem,
            Problem::BadManifest
        );
        let err = read_upload(b"just text".to_vec(), None).unwrap_err();
        assert_eq!(err.problem, Problem::NotAPackage);
    }

    #[test]
    fn writing_replaces_a_folder_atomically_and_removes_other_sources() {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        let package = |version: &str| Package {
            manifest_text: format!("name = \"x\"\nversion = \"{version}\"\n"),
            manifest: manifest(""),
            wasm_name: "x.wasm".into(),
            wasm: b"\0asm".to_vec(),
            readme: Some("hello".into()),
            outline: super::super::inspect::Outline {
                contract: "0.2.0".into(),
                imports: vec![],
                exports: vec![],
            },
        };
        let written = write(&plugins, &package("1")).unwrap();
        assert_eq!(
            written,
            Written {
                path: plugins.join("x"),
                replaced: false
            }
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&plugins.join("x")), 0o700);
        assert_eq!(mode(&plugins.join("x/plugin.toml")), 0o600);
        assert_eq!(mode(&plugins.join("x/x.wasm")), 0o600);
        // A bare component claiming the same name, and a stray old file.
        std::fs::write(plugins.join("X.wasm"), b"\0asm").unwrap();
        std::fs::write(plugins.join("x/old.txt"), b"old").unwrap();
        let written = write(&plugins, &package("2")).unwrap();
        assert!(written.replaced);
        let text = std::fs::read_to_string(plugins.join("x/plugin.toml")).unwrap();
        assert!(text.contains("\"2\""), "{text}");
        assert!(
            !plugins.join("x/old.txt").exists(),
            "the old folder went whole"
        );
        assert!(!plugins.join("X.wasm").exists());
        let left: Vec<_> = std::fs::read_dir(&plugins)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["x"], "no temporary folder is left");
        assert!(remove_files(&plugins, "x").unwrap());
        assert!(!remove_files(&plugins, "x").unwrap());
        assert_eq!(std::fs::read_dir(&plugins).unwrap().count(), 0);
    }

    #[test]
    fn only_old_leftovers_of_cut_short_installs_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        for name in [".installing-abc", ".removing-x-123", "keep-me", ".hidden"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        let now = std::time::SystemTime::now();
        sweep_leftovers(dir.path(), now);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            4,
            "young ones stay"
        );
        sweep_leftovers(dir.path(), now + LEFTOVER_AGE + Duration::from_secs(1));
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec![".hidden", "keep-me"]);
    }
}
