//! A small tmpfs for tests that fill a disk: mounted in a fresh temporary
//! directory, unmounted when dropped. Mounting needs root (CI runs as root
//! on this machine kind); a test that cannot mount fails and says why
//! rather than pretending to pass.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct TmpFs {
    dir: tempfile::TempDir,
    filler: PathBuf,
}

impl TmpFs {
    /// A tmpfs of `mib` MiB.
    pub fn mount(mib: u32) -> TmpFs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test fills a small disk and needs to mount a tmpfs (run the tests as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let filler = dir.path().join("filler");
        TmpFs { dir, filler }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full.
    pub fn fill(&self) {
        use std::io::Write;
        let mut f = std::fs::File::create(&self.filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }

    /// Takes whatever room came free since [`TmpFs::fill`] (SQLite gives
    /// space back when it truncates its log), down to the last byte.
    pub fn top_up(&self) {
        use std::io::Write;
        let mut f = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.filler.with_extension("more"))
            .unwrap();
        for size in [64 * 1024, 4096, 512, 1] {
            let chunk = vec![0u8; size];
            while f.write_all(&chunk).is_ok() {}
        }
        let _ = f.sync_all();
    }

    /// Deletes what [`TmpFs::fill`] and [`TmpFs::top_up`] wrote.
    pub fn free(&self) {
        std::fs::remove_file(&self.filler).unwrap();
        let _ = std::fs::remove_file(self.filler.with_extension("more"));
    }
}

impl Drop for TmpFs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
