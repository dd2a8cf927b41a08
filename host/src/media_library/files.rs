//! The media folder on disk: files written whole or not at all (a hidden
//! temporary file, synced, then renamed into place), owner-only (0600),
//! named by an id nobody can guess. Blocking calls: run them off the async
//! runtime.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Temporary upload files start with this. The leading dot keeps them out
/// of `GET /media/{file}`, which serves no hidden names.
const TEMP_PREFIX: &str = ".upload-";
const TEMP_SUFFIX: &str = ".tmp";

/// A new file id: 128 bits from the thread's CSPRNG, as 32 hex digits.
/// Knowing other ids tells nothing about the next, so a file's URL is as
/// good as a secret and needs no token beside it.
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// Whether `id` has the shape [`new_id`] gives (32 lowercase hex digits).
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Writes `bytes` to `dir/file_name` (mode 0600) so that the name appears
/// only once the whole file is on disk: a crash leaves at most a hidden
/// temporary file, which [`sweep_temporaries`] removes at the next start.
pub fn write_atomically(dir: &Path, file_name: &str, bytes: &[u8]) -> io::Result<()> {
    let temp = dir.join(format!("{TEMP_PREFIX}{}{TEMP_SUFFIX}", new_id()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, dir.join(file_name))?;
        // The rename itself survives a crash once the folder is synced.
        fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// Deletes `dir/file_name`; a file already gone is not an error.
pub fn remove(dir: &Path, file_name: &str) -> io::Result<()> {
    match fs::remove_file(dir.join(file_name)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes the temporary files of uploads a crash interrupted; returns how
/// many there were.
pub fn sweep_temporaries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX)
            && name.ends_with(TEMP_SUFFIX)
            && entry.file_type()?.is_file()
        {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn ids_are_128_random_bits_in_hex() {
        let a = new_id();
        assert!(is_id(&a), "{a}");
        assert_ne!(a, new_id());
        for bad in ["", "../x", &a[..31], &a.to_uppercase(), &format!("{a}0")] {
            assert!(!is_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_written_file_is_whole_private_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), "a.png", b"bytes").unwrap();
        let path = dir.path().join("a.png");
        assert_eq!(fs::read(&path).unwrap(), b"bytes");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.png"]);

        remove(dir.path(), "a.png").unwrap();
        assert!(!path.exists());
        remove(dir.path(), "a.png").unwrap();
    }

    #[test]
    fn temporaries_of_interrupted_uploads_are_swept_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".upload-0123.tmp"), b"half").unwrap();
        fs::write(dir.path().join("kept.png"), b"mine").unwrap();
        fs::write(dir.path().join(".other"), b"x").unwrap();
        assert_eq!(sweep_temporaries(dir.path()).unwrap(), 1);
        assert!(dir.path().join("kept.png").exists());
        assert!(dir.path().join(".other").exists());
        assert!(!dir.path().join(".upload-0123.tmp").exists());
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming onto a folder fails after the data was written.
        fs::create_dir(dir.path().join("taken")).unwrap();
        fs::write(dir.path().join("taken/inside"), b"x").unwrap();
        assert!(write_atomically(dir.path(), "taken", b"bytes").is_err());
        assert_eq!(sweep_temporaries(dir.path()).unwrap(), 0);
    }
}
