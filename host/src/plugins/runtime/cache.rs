//! Compiled components on disk, so a restart or a reload of an unchanged
//! plugin skips compilation (seconds for big guests).
//!
//! Loading a compiled component is `unsafe` in wasmtime: it trusts the
//! bytes to be machine code it wrote itself. So every file carries an
//! HMAC-SHA256 tag made with a secret kept in the cache folder (0600) and
//! covering its name and content; a file that does not verify (written by
//! anyone else, truncated, renamed, or from another data directory) is
//! deleted and the plugin compiled again. Entries of versions no longer
//! loaded are removed once their plugin moves on, and the whole cache is
//! kept under [`MAX_CACHE_BYTES`], least recently used first.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

use super::LoadError;

/// The secret file inside the cache folder.
const KEY_FILE: &str = "cache.key";
const TAG_BYTES: usize = 32;
/// Compiled components kept on disk in all.
pub const MAX_CACHE_BYTES: u64 = 1 << 30;
/// The largest cache file read back (a compiled 32 MiB component is about
/// three times its size).
const MAX_ENTRY_BYTES: u64 = 256 << 20;
/// Unused entries older than this are removed.
const MAX_IDLE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The cache folder and its secret.
pub struct ComponentCache {
    dir: PathBuf,
    secret: Vec<u8>,
}

impl ComponentCache {
    /// Opens (creating) the cache in `dir` (0700) with its secret (0600).
    pub fn open(dir: &Path) -> Result<ComponentCache, LoadError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| LoadError(format!("plugin cache {}: {e}", dir.display())))?;
        let secret = crate::secrets::load_or_create(&dir.join(KEY_FILE))
            .map_err(|e| LoadError(format!("plugin cache key in {}: {e:#}", dir.display())))?;
        let cache = ComponentCache {
            dir: dir.to_path_buf(),
            secret: secret.into_bytes(),
        };
        cache.remove_leftovers();
        Ok(cache)
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.cwasm"))
    }

    fn tag(&self, key: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(key.as_bytes());
        mac.update(&[0]);
        mac.update(body);
        mac
    }

    /// The component cached under `key`, if its file verifies.
    pub fn get(&self, engine: &Engine, key: &str) -> Option<Component> {
        let path = self.path(key);
        let bytes = match read_regular(&path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unusable compiled plugin; recompiling");
                let _ = std::fs::remove_file(&path);
                return None;
            }
        };
        if bytes.len() < TAG_BYTES
            || self
                .tag(key, &bytes[TAG_BYTES..])
                .verify_slice(&bytes[..TAG_BYTES])
                .is_err()
        {
            tracing::warn!(path = %path.display(), "compiled plugin does not verify (not written by this host); removing it and recompiling");
            let _ = std::fs::remove_file(&path);
            return None;
        }
        // SAFETY: the bytes carry a tag made with this cache's secret over
        // this key, so they are exactly what `put` wrote from
        // `Component::serialize` of an engine with the same configuration
        // (the key includes wasmtime's compatibility hash).
        match unsafe { Component::deserialize(engine, &bytes[TAG_BYTES..]) } {
            Ok(component) => {
                touch(&path);
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e.root_cause(), "stale compiled plugin; recompiling");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `component` under `key` (written to a temporary file, then
    /// renamed, so a crash never leaves half a file under the key).
    pub fn put(&self, key: &str, component: &Component) {
        let body = match component.serialize() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e.root_cause(), "cannot serialize a compiled plugin");
                return;
            }
        };
        let tag = self.tag(key, &body).finalize().into_bytes();
        let path = self.path(key);
        let tmp = self.dir.join(format!("{key}.{}.tmp", std::process::id()));
        let written =
            write_private(&tmp, &[&tag, &body]).and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache a compiled plugin");
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// Whether a file is cached under `key` (not whether it verifies).
    pub fn contains(&self, key: &str) -> bool {
        self.path(key).is_file()
    }

    /// Removes the entry of `key` (a version no longer loaded).
    pub fn remove(&self, key: &str) {
        let _ = std::fs::remove_file(self.path(key));
    }

    /// Removes entries not in `in_use` that have been idle too long, then
    /// the least recently used ones until the cache fits its budget.
    pub fn prune(&self, in_use: &HashSet<String>) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut unused = Vec::new();
        let mut total = 0u64;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(key) = name.strip_suffix(".cwasm") else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            total += meta.len();
            if in_use.contains(key) {
                continue;
            }
            let used = meta.modified().unwrap_or(now);
            if now.duration_since(used).unwrap_or_default() > MAX_IDLE {
                total -= meta.len();
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            unused.push((used, meta.len(), entry.path()));
        }
        unused.sort();
        for (_, len, path) in unused {
            if total <= MAX_CACHE_BYTES {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }

    /// Temporary files of writes that never finished (a crash).
    fn remove_leftovers(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Reads `path` if it is a regular file (not a link, FIFO or device) of at
/// most [`MAX_ENTRY_BYTES`]; None if there is none.
fn read_regular(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(std::io::Error::other("too large"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

fn write_private(path: &Path, parts: &[&[u8]]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    for part in parts {
        f.write_all(part)?;
    }
    f.sync_all()
}

/// Marks an entry as used now (its age decides what pruning removes).
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().write(true).open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        Engine::new(&config).unwrap()
    }

    fn component(engine: &Engine) -> Component {
        // An empty component: the magic, version 0x0d and layer 1.
        Component::from_binary(engine, &[0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]).unwrap()
    }

    #[test]
    fn an_entry_round_trips_and_a_forged_one_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = ComponentCache::open(dir.path()).unwrap();
        cache.put("k1", &component(&engine));
        assert!(cache.get(&engine, "k1").is_some());

        // Someone replaces the file with their own bytes.
        let path = dir.path().join("k1.cwasm");
        let forged = component(&engine).serialize().unwrap();
        let mut bytes = vec![0u8; TAG_BYTES];
        bytes.extend_from_slice(&forged);
        std::fs::write(&path, bytes).unwrap();
        assert!(cache.get(&engine, "k1").is_none());
        assert!(!path.exists(), "a file that does not verify is deleted");
    }

    #[test]
    fn a_renamed_entry_does_not_verify_under_another_key() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = ComponentCache::open(dir.path()).unwrap();
        cache.put("k1", &component(&engine));
        std::fs::rename(dir.path().join("k1.cwasm"), dir.path().join("k2.cwasm")).unwrap();
        assert!(cache.get(&engine, "k2").is_none());
    }

    #[test]
    fn another_data_dirs_cache_does_not_verify() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let engine = engine();
        ComponentCache::open(a.path())
            .unwrap()
            .put("k", &component(&engine));
        std::fs::copy(a.path().join("k.cwasm"), b.path().join("k.cwasm")).unwrap();
        assert!(
            ComponentCache::open(b.path())
                .unwrap()
                .get(&engine, "k")
                .is_none()
        );
    }

    #[test]
    fn links_and_leftovers_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        std::fs::create_dir_all(dir.path()).unwrap();
        std::fs::write(dir.path().join("x.123.tmp"), b"half").unwrap();
        let cache = ComponentCache::open(dir.path()).unwrap();
        assert!(!dir.path().join("x.123.tmp").exists());
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("z.cwasm")).unwrap();
        assert!(cache.get(&engine, "z").is_none());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn pruning_keeps_what_is_in_use_and_drops_old_unused_entries() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine();
        let cache = ComponentCache::open(dir.path()).unwrap();
        for key in ["used", "recent", "old"] {
            cache.put(key, &component(&engine));
        }
        let long_ago = SystemTime::now() - MAX_IDLE - Duration::from_secs(60);
        for key in ["used", "old"] {
            std::fs::File::options()
                .write(true)
                .open(dir.path().join(format!("{key}.cwasm")))
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        cache.prune(&HashSet::from(["used".to_owned()]));
        assert!(cache.contains("used"));
        assert!(cache.contains("recent"));
        assert!(!cache.contains("old"));
    }
}
