//! Secrets kept on disk (the overlay key; later the Twitch tokens): created
//! with owner-only permissions, and tightened if someone loosened them.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` (and its parents) readable by this user only (0700), and
/// takes group and other access away from it if it already existed: the
/// data directory holds the database, tokens and keys, whichever command
/// (`run`, `demo`, `login`) made it first.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o700))?;
    }
    Ok(())
}

/// A fresh random secret: 32 bytes as 64 hex characters.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the secret at `path`, creating it (mode 0600) if absent.
pub fn load_or_create(path: &Path) -> std::io::Result<String> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            restrict(path)?;
            Ok(text.trim().to_owned())
        }
        Ok(_) => write_new(path, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new(path, false),
        Err(e) => Err(e),
    }
}

/// Writes `secret` to `path` with mode 0600, replacing what was there.
pub fn store(path: &Path, secret: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    restrict(&tmp)?;
    fs::rename(&tmp, path)
}

fn write_new(path: &Path, replace: bool) -> std::io::Result<String> {
    let secret = generate();
    if replace {
        store(path, &secret)?;
    } else {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(secret.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    Ok(secret)
}

fn restrict(path: &Path) -> std::io::Result<()> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "secret file was readable by others; setting 0600");
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_created_once_with_0600_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("overlay.key");
        let a = load_or_create(&p).unwrap();
        assert_eq!(a.len(), 64);
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&p).unwrap(), a);
        assert_ne!(generate(), a);
    }

    #[test]
    fn loosened_permissions_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let a = load_or_create(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_or_create(&p).unwrap(), a);
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
