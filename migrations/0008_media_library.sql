-- The media library: files the streamer uploaded (`POST /api/media`), kept
-- in the data directory's media folder as `file_name` (`<id>.<extension>`,
-- the id 128 random bits in hex). A row is written only after its file is
-- complete, and removed before its file, so every listed file exists.
-- `name` is the display name given at upload; `kind` is image, sound or video.
CREATE TABLE media_files (
    id           TEXT    PRIMARY KEY,
    file_name    TEXT    NOT NULL UNIQUE,
    name         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('image', 'sound', 'video')),
    bytes        INTEGER NOT NULL CHECK (bytes > 0),
    uploaded_at  INTEGER NOT NULL
) WITHOUT ROWID;
