//! The media library: images, sounds and short videos the streamer uploads
//! for alerts (`POST /api/media`). Each file's type is judged by its
//! content ([`sniff`]; an SVG must also be harmless, [`svg`]), its size is
//! capped per kind, and the library as a whole is capped in files and
//! bytes. Files go into the data directory's media folder under an id
//! nobody can guess ([`files`]), so the public `GET /media/{file}` route
//! can serve them to overlays without a token and still not give them to
//! anyone who was not told the URL; what each file is and is called is
//! kept in SQLite ([`crate::store::media`]).
//!
//! Files dropped into the media folder by hand are served as before; they
//! are not part of the library (not listed, not counted).

pub mod files;
pub mod sniff;
pub mod svg;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::store::media::{self as rows, MediaRow};
use crate::store::{Store, StoreError};
use sniff::{Format, Kind, SniffError};

/// One MiB, for the caps and their messages.
pub const MIB: u64 = 1024 * 1024;

/// How much the library takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest image file.
    pub max_image_bytes: u64,
    /// The largest sound file.
    pub max_sound_bytes: u64,
    /// The largest video file.
    pub max_video_bytes: u64,
    /// All files together.
    pub max_total_bytes: u64,
    /// How many files.
    pub max_files: u64,
}

impl Default for Limits {
    /// Alert-sized media: a big GIF, a long sound, a short HD video (as
    /// large as the upload route takes), and room for a few hundred of
    /// them without filling a disk.
    fn default() -> Self {
        Limits {
            max_image_bytes: 10 * MIB,
            max_sound_bytes: 20 * MIB,
            max_video_bytes: crate::web::MAX_MEDIA_UPLOAD as u64,
            max_total_bytes: 2048 * MIB,
            max_files: 1000,
        }
    }
}

impl Limits {
    /// The largest file of `kind`.
    pub fn max_bytes(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Image => self.max_image_bytes,
            Kind::Sound => self.max_sound_bytes,
            Kind::Video => self.max_video_bytes,
        }
    }
}

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// A library file as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaItem {
    /// What `DELETE /api/media/{id}` takes.
    pub id: String,
    /// Where overlays load it: `/media/<id>.<extension>`.
    pub url: String,
    /// The display name given at upload.
    pub name: String,
    /// What the content is (and what it is served as).
    pub content_type: String,
    /// Image, sound or video: which alert field it suits.
    pub kind: Kind,
    /// Its size on disk.
    pub bytes: u64,
    /// When it was uploaded (the list is newest first).
    pub uploaded_at: DateTime<Utc>,
}

impl MediaItem {
    fn from_row(row: MediaRow) -> Self {
        let kind = Kind::parse(&row.kind).unwrap_or(Kind::Image);
        MediaItem {
            url: format!("{}{}", crate::actions::media::MEDIA_PREFIX, row.file_name),
            id: row.id,
            name: row.name,
            content_type: row.content_type,
            kind,
            bytes: row.bytes,
            uploaded_at: row.uploaded_at,
        }
    }
}

/// Why an upload was refused or failed; nothing is stored when it is.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No bytes were sent.
    #[error("the request body is empty: send the file's bytes as the body")]
    Empty,
    /// The display name is too long or holds control characters.
    #[error("{0}")]
    BadName(String),
    /// The content is not accepted: its type, its declared type, or an
    /// unsafe SVG.
    #[error(transparent)]
    Refused(#[from] SniffError),
    /// Larger than files of its kind may be.
    #[error("{kind}s are at most {}; this {} file is {}", mib(*.max), .format.label(), mib(*.bytes))]
    TooLarge {
        kind: Kind,
        format: Format,
        bytes: u64,
        max: u64,
    },
    /// The library holds as many files or bytes as it may.
    #[error("{0}")]
    LibraryFull(String),
    /// The disk or the database failed; worth retrying once fixed.
    #[error("cannot store the file: {0}")]
    Storage(String),
}

/// Why a delete failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    /// The library holds no file with this id.
    #[error("no media file with id {0:?}")]
    NotFound(String),
    /// The database failed.
    #[error("cannot delete the file: {0}")]
    Storage(String),
}

/// A size for people: "10 MiB", "1.5 MiB", "300 bytes".
pub fn mib(bytes: u64) -> String {
    if bytes < 1024 * 10 {
        format!("{bytes} bytes")
    } else if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

/// The library: the media folder and its rows. Clone freely.
#[derive(Clone)]
pub struct MediaLibrary {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    store: Store,
    limits: Limits,
    /// One upload at a time past the checks, so two cannot both fit in the
    /// last free room.
    uploading: tokio::sync::Mutex<()>,
}

impl MediaLibrary {
    /// The library kept in `dir` (which must exist), with its rows in
    /// `store`. Temporary files of uploads a crash interrupted are removed.
    pub fn open(dir: &Path, store: Store, limits: Limits) -> Self {
        match files::sweep_temporaries(dir) {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed unfinished media uploads"),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot look for unfinished media uploads")
            }
        }
        MediaLibrary {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                store,
                limits,
                uploading: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The caps in force.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Checks and stores one file: `bytes` as uploaded, `declared` its
    /// `Content-Type`, `name` the display name (the stored file's name
    /// when absent).
    pub async fn upload(
        &self,
        bytes: axum::body::Bytes,
        declared: &str,
        name: Option<&str>,
    ) -> Result<MediaItem, UploadError> {
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        let name = display_name(name)?;
        let limits = self.inner.limits;
        let declared_owned = declared.to_owned();
        let checked = bytes.clone();
        // Parsing a large SVG takes a while: off the async runtime.
        let format = tokio::task::spawn_blocking(move || {
            sniff::sniff(&checked, &declared_owned, |kind| limits.max_bytes(kind))
        })
        .await
        .map_err(|e| UploadError::Storage(format!("the type check failed: {e}")))?
        .map_err(|e| match e {
            SniffError::TooLarge { format, bytes, max } => UploadError::TooLarge {
                kind: format.kind(),
                format,
                bytes,
                max,
            },
            other => UploadError::Refused(other),
        })?;

        let _one_at_a_time = self.inner.uploading.lock().await;
        let (count, used) = self
            .inner
            .store
            .read(rows::usage)
            .await
            .map_err(|e| UploadError::Storage(e.to_string()))?;
        let size = bytes.len() as u64;
        if count >= limits.max_files {
            return Err(UploadError::LibraryFull(format!(
                "the media library holds {count} files, its most; delete some first"
            )));
        }
        if used + size > limits.max_total_bytes {
            return Err(UploadError::LibraryFull(format!(
                "the media library holds {} of at most {}; this file ({}) does not fit: delete some first",
                mib(used),
                mib(limits.max_total_bytes),
                mib(size)
            )));
        }

        let id = files::new_id();
        let file_name = format!("{id}.{}", format.extension());
        let dir = self.inner.dir.clone();
        let target = file_name.clone();
        tokio::task::spawn_blocking(move || files::write_atomically(&dir, &target, &bytes))
            .await
            .map_err(|e| UploadError::Storage(e.to_string()))?
            .map_err(|e| UploadError::Storage(e.to_string()))?;
        let row = MediaRow {
            id,
            file_name: file_name.clone(),
            name: name.unwrap_or_else(|| file_name.clone()),
            content_type: format.content_type().to_owned(),
            kind: format.kind().as_str().to_owned(),
            bytes: size,
            uploaded_at: crate::event::now_ms(),
        };
        let stored = row.clone();
        if let Err(e) = self
            .inner
            .store
            .write(move |c| rows::insert(c, &stored))
            .await
        {
            // Not listed, so not kept.
            self.remove_file(file_name).await;
            return Err(UploadError::Storage(e.to_string()));
        }
        tracing::info!(id = %row.id, kind = %row.kind, bytes = size, "media file uploaded");
        Ok(MediaItem::from_row(row))
    }

    /// Every library file, newest first.
    pub async fn list(&self) -> Result<Vec<MediaItem>, StoreError> {
        let rows = self.inner.store.read(rows::list).await?;
        Ok(rows.into_iter().map(MediaItem::from_row).collect())
    }

    /// Deletes a library file: its row first (it is no longer listed),
    /// then the file.
    pub async fn delete(&self, id: &str) -> Result<MediaItem, DeleteError> {
        if !files::is_id(id) {
            return Err(DeleteError::NotFound(id.to_owned()));
        }
        let key = id.to_owned();
        let removed = self
            .inner
            .store
            .write(move |c| rows::remove(c, &key))
            .await
            .map_err(|e| DeleteError::Storage(e.to_string()))?
            .ok_or_else(|| DeleteError::NotFound(id.to_owned()))?;
        self.remove_file(removed.file_name.clone()).await;
        tracing::info!(%id, "media file deleted");
        Ok(MediaItem::from_row(removed))
    }

    async fn remove_file(&self, file_name: String) {
        let dir = self.inner.dir.clone();
        let name = file_name.clone();
        let result = tokio::task::spawn_blocking(move || files::remove(&dir, &name)).await;
        if !matches!(result, Ok(Ok(()))) {
            tracing::warn!(file = %file_name, ?result, "cannot remove a media file; it is no longer listed");
        }
    }
}

/// The display name: trimmed, at most [`MAX_NAME_CHARS`] characters, no
/// control characters; None when absent or blank.
fn display_name(name: Option<&str>) -> Result<Option<String>, UploadError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(UploadError::BadName(format!(
            "name is at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(UploadError::BadName(
            "name must not contain control characters".into(),
        ));
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    async fn library(limits: Limits) -> (tempfile::TempDir, MediaLibrary) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("m.db"), StoreOptions::default()).unwrap();
        std::fs::create_dir(dir.path().join("media")).unwrap();
        let library = MediaLibrary::open(&dir.path().join("media"), store, limits);
        (dir, library)
    }

    fn png(size: usize) -> axum::body::Bytes {
        let mut bytes = PNG.to_vec();
        bytes.resize(size, 0);
        bytes.into()
    }

    #[tokio::test]
    async fn an_upload_is_stored_listed_and_deleted() {
        let (dir, library) = library(Limits::default()).await;
        let item = library
            .upload(png(100), "image/png", Some("  boom.png "))
            .await
            .unwrap();
        assert!(files::is_id(&item.id));
        assert_eq!(item.url, format!("/media/{}.png", item.id));
        assert_eq!(
            (item.name.as_str(), item.kind, item.bytes),
            ("boom.png", Kind::Image, 100)
        );
        let path = dir.path().join("media").join(format!("{}.png", item.id));
        assert_eq!(std::fs::read(&path).unwrap(), png(100));
        assert_eq!(library.list().await.unwrap(), vec![item.clone()]);

        let unnamed = library.upload(png(10), "image/png", None).await.unwrap();
        assert_eq!(unnamed.name, format!("{}.png", unnamed.id));

        assert_eq!(library.delete(&item.id).await.unwrap(), item);
        assert!(!path.exists());
        assert!(matches!(
            library.delete(&item.id).await,
            Err(DeleteError::NotFound(_))
        ));
        assert!(matches!(
            library.delete("../m.db").await,
            Err(DeleteError::NotFound(_))
        ));
        assert_eq!(library.list().await.unwrap(), vec![unnamed]);
    }

    #[tokio::test]
    async fn caps_per_kind_and_for_the_library_refuse_and_store_nothing() {
        let limits = Limits {
            max_image_bytes: 100,
            max_total_bytes: 150,
            max_files: 2,
            ..Limits::default()
        };
        let (dir, library) = library(limits).await;
        let err = library
            .upload(png(101), "image/png", None)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                UploadError::TooLarge {
                    max: 100,
                    bytes: 101,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("images are at most 100 bytes"),
            "{err}"
        );

        library.upload(png(100), "image/png", None).await.unwrap();
        let err = library
            .upload(png(51), "image/png", None)
            .await
            .unwrap_err();
        assert!(matches!(err, UploadError::LibraryFull(_)), "{err}");
        assert!(err.to_string().contains("does not fit"), "{err}");
        library.upload(png(50), "image/png", None).await.unwrap();
        let err = library
            .upload(png(20), "image/png", None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("2 files"), "{err}");

        let on_disk = std::fs::read_dir(dir.path().join("media")).unwrap().count();
        assert_eq!(on_disk, 2, "refused uploads leave no file");
    }

    #[tokio::test]
    async fn bad_uploads_are_refused_with_the_reason() {
        let (_dir, library) = library(Limits::default()).await;
        assert!(matches!(
            library
                .upload(axum::body::Bytes::new(), "image/png", None)
                .await,
            Err(UploadError::Empty)
        ));
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(matches!(
            library.upload(png(10), "image/png", Some(&long)).await,
            Err(UploadError::BadName(_))
        ));
        assert!(matches!(
            library.upload(png(10), "image/png", Some("a\nb")).await,
            Err(UploadError::BadName(_))
        ));
        assert!(matches!(
            library.upload(png(10), "audio/mpeg", None).await,
            Err(UploadError::Refused(SniffError::Mismatch { .. }))
        ));
        assert!(library.list().await.unwrap().is_empty());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(mib(300), "300 bytes");
        assert_eq!(mib(10 * MIB), "10 MiB");
        assert_eq!(mib(MIB + MIB / 2), "1.5 MiB");
    }
}
