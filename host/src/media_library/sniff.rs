//! What an uploaded file is, judged by its bytes (magic numbers, with the
//! `infer` crate) rather than by its name or the type the client declared:
//! a file is accepted only when its content is one of the [`Format`]s
//! alerts can show and the declared `Content-Type` is of the same family
//! (image, audio, video). No file I/O here.

use std::fmt;

use super::svg;

/// What a media file is for: the three families the overlay plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Shown: PNG, JPEG, GIF, WebP, SVG.
    Image,
    /// Played: MP3, Ogg, WAV.
    Sound,
    /// Shown and played: WebM, MP4.
    Video,
}

impl Kind {
    /// The name the API and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Sound => "sound",
            Kind::Video => "video",
        }
    }

    /// The kind stored under `name`, if it is one.
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "image" => Some(Kind::Image),
            "sound" => Some(Kind::Sound),
            "video" => Some(Kind::Video),
            _ => None,
        }
    }

    /// The MIME top-level type a client declares for this kind.
    fn mime_family(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Sound => "audio",
            Kind::Video => "video",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A file format the media library accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Jpeg,
    Gif,
    Webp,
    Svg,
    Mp3,
    Ogg,
    Wav,
    Webm,
    Mp4,
}

impl Format {
    /// Every accepted format.
    pub const ALL: [Format; 10] = [
        Format::Png,
        Format::Jpeg,
        Format::Gif,
        Format::Webp,
        Format::Svg,
        Format::Mp3,
        Format::Ogg,
        Format::Wav,
        Format::Webm,
        Format::Mp4,
    ];

    /// Image, sound or video.
    pub fn kind(self) -> Kind {
        match self {
            Format::Png | Format::Jpeg | Format::Gif | Format::Webp | Format::Svg => Kind::Image,
            Format::Mp3 | Format::Ogg | Format::Wav => Kind::Sound,
            Format::Webm | Format::Mp4 => Kind::Video,
        }
    }

    /// The `Content-Type` the file is listed and served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
            Format::Svg => "image/svg+xml",
            Format::Mp3 => "audio/mpeg",
            Format::Ogg => "audio/ogg",
            Format::Wav => "audio/wav",
            Format::Webm => "video/webm",
            Format::Mp4 => "video/mp4",
        }
    }

    /// The file name extension the stored file gets (its URL ends with it).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Svg => "svg",
            Format::Mp3 => "mp3",
            Format::Ogg => "ogg",
            Format::Wav => "wav",
            Format::Webm => "webm",
            Format::Mp4 => "mp4",
        }
    }

    /// The format a stored file's extension stands for (so `GET /media/…`
    /// serves a library file with the type it was listed with).
    pub fn from_extension(extension: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(extension))
    }

    /// A short name for messages ("PNG", "MP3").
    pub fn label(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Jpeg => "JPEG",
            Format::Gif => "GIF",
            Format::Webp => "WebP",
            Format::Svg => "SVG",
            Format::Mp3 => "MP3",
            Format::Ogg => "Ogg",
            Format::Wav => "WAV",
            Format::Webm => "WebM",
            Format::Mp4 => "MP4",
        }
    }
}

/// Why a file was not accepted as media.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    /// The declared `Content-Type` is missing or not image/audio/video.
    #[error(
        "declare the file's type in Content-Type (image/…, audio/… or video/…), not {0:?}; accepted: {ACCEPTED}"
    )]
    UndeclaredType(String),
    /// The bytes are no format the library accepts.
    #[error("the file is {0}, which the media library does not accept; accepted: {ACCEPTED}")]
    Unsupported(String),
    /// The bytes are a known format of another family than declared.
    #[error(
        "the file is {found} ({kind}), but was declared as {declared:?}: send it with Content-Type {expected}"
    )]
    Mismatch {
        found: &'static str,
        kind: Kind,
        declared: String,
        expected: &'static str,
    },
    /// Larger than files of its kind may be.
    #[error("{} files may be at most {max} bytes; this one is {bytes}", .format.label())]
    TooLarge {
        format: Format,
        bytes: u64,
        max: u64,
    },
    /// An SVG that could run script, load something or is not well-formed.
    #[error("{0}")]
    UnsafeSvg(#[from] svg::SvgRefusal),
}

/// What the library accepts, for messages.
pub const ACCEPTED: &str =
    "images PNG, JPEG, GIF, WebP, SVG; sounds MP3, Ogg, WAV; videos WebM, MP4";

/// Decides what `bytes` are and checks the client's `declared`
/// `Content-Type` (parameters such as `; charset=` are ignored) agrees and
/// the size is at most `max_bytes` of the kind found. An SVG must also pass
/// [`svg::check`] (done last, as it is the costly check).
pub fn sniff(
    bytes: &[u8],
    declared: &str,
    max_bytes: impl Fn(Kind) -> u64,
) -> Result<Format, SniffError> {
    let family = declared_family(declared)?;
    let format = detect(bytes)?;
    if format.kind().mime_family() != family {
        return Err(SniffError::Mismatch {
            found: format.label(),
            kind: format.kind(),
            declared: declared.to_owned(),
            expected: format.content_type(),
        });
    }
    let (size, max) = (bytes.len() as u64, max_bytes(format.kind()));
    if size > max {
        return Err(SniffError::TooLarge {
            format,
            bytes: size,
            max,
        });
    }
    if format == Format::Svg {
        svg::check(bytes)?;
    }
    Ok(format)
}

/// The top-level MIME type of a declared `Content-Type`, lower-cased, if
/// it names a media family.
fn declared_family(declared: &str) -> Result<&'static str, SniffError> {
    let essence = declared.split(';').next().unwrap_or_default().trim();
    let top = essence.split('/').next().unwrap_or_default();
    let has_subtype = essence.split_once('/').is_some_and(|(_, s)| !s.is_empty());
    ["image", "audio", "video"]
        .into_iter()
        .find(|family| has_subtype && top.eq_ignore_ascii_case(family))
        .ok_or_else(|| SniffError::UndeclaredType(declared.to_owned()))
}

/// The format of `bytes`, from their content alone.
fn detect(bytes: &[u8]) -> Result<Format, SniffError> {
    let found = infer::get(bytes);
    let unsupported = |what: &str| Err(SniffError::Unsupported(what.to_owned()));
    // Markup (infer's text types: XML, HTML, which an SVG starting with a
    // comment looks like) is judged below.
    if let Some(found) = found.filter(|f| f.matcher_type() != infer::MatcherType::Text) {
        return match found.mime_type() {
            "image/png" => Ok(Format::Png),
            "image/jpeg" => Ok(Format::Jpeg),
            "image/gif" => Ok(Format::Gif),
            // infer looks at "WEBP" alone; a WebP is a RIFF file.
            "image/webp" if bytes.starts_with(b"RIFF") => Ok(Format::Webp),
            "image/webp" => unsupported("\"WEBP\" without the RIFF header of a WebP"),
            "audio/mpeg" => Ok(Format::Mp3),
            "audio/ogg" | "audio/opus" => Ok(Format::Ogg),
            "audio/x-wav" => Ok(Format::Wav),
            // infer finds the DocType "webm" in the EBML header.
            "video/webm" => Ok(Format::Webm),
            "video/mp4" | "video/x-m4v" => Ok(Format::Mp4),
            other => unsupported(other),
        };
    }
    // MPEG audio without an ID3 tag starts with a frame header, of which
    // infer knows only some (not MPEG-1 with CRC, nor MPEG-2.5).
    if is_mpeg_layer3_frame(bytes) {
        return Ok(Format::Mp3);
    }
    if svg::looks_like_svg(bytes) {
        return Ok(Format::Svg);
    }
    match found {
        Some(text) => unsupported(text.mime_type()),
        None => unsupported("of no recognised type"),
    }
}

/// Whether `bytes` start with a valid MPEG-1/2/2.5 Layer III frame header:
/// 11 sync bits, a version and layer that exist, a usable bitrate and a
/// sample rate that is not reserved.
pub fn is_mpeg_layer3_frame(bytes: &[u8]) -> bool {
    let [0xFF, b1, b2, ..] = *bytes else {
        return false;
    };
    let sync = b1 & 0xE0 == 0xE0;
    let version_ok = (b1 >> 3) & 0b11 != 0b01;
    let layer3 = (b1 >> 1) & 0b11 == 0b01;
    let bitrate = b2 >> 4;
    let sample_rate = (b2 >> 2) & 0b11;
    sync && version_ok && layer3 && bitrate != 0 && bitrate != 0b1111 && sample_rate != 0b11
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_cap(_: Kind) -> u64 {
        u64::MAX
    }

    /// An EBML header naming `doc_type`, padded as a file's first 300 bytes
    /// (infer looks for the DocType in the first 256).
    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut bytes = b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\xF7\x81\x01\x42\xF2\x81\x04\x42\xF3\x81\x08\x42\x82".to_vec();
        bytes.push(0x80 | doc_type.len() as u8);
        bytes.extend_from_slice(doc_type);
        bytes.extend_from_slice(b"\x42\x87\x81\x04\x42\x85\x81\x02");
        bytes.resize(300, 0);
        bytes
    }

    /// The first bytes of a file of each accepted format (enough for the
    /// sniffer; not playable media).
    pub(crate) fn sample(format: Format) -> Vec<u8> {
        match format {
            Format::Png => b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
            Format::Jpeg => b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec(),
            Format::Gif => b"GIF89a\x01\0\x01\0".to_vec(),
            Format::Webp => b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0".to_vec(),
            Format::Svg => br#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4" fill="red"/></svg>"#.to_vec(),
            Format::Mp3 => b"ID3\x04\0\0\0\0\0\0\xFF\xFB\x90\x64".to_vec(),
            Format::Ogg => b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\x02\x03\x04\0\0\0\0\0\0\0\0\x01\x1e\x01vorbis".to_vec(),
            Format::Wav => b"RIFF\x24\0\0\0WAVEfmt \x10\0\0\0".to_vec(),
            Format::Webm => ebml(b"webm"),
            Format::Mp4 => b"\0\0\0\x18ftypisom\0\0\x02\0isommp41".to_vec(),
        }
    }

    #[test]
    fn every_accepted_format_is_recognised_by_its_bytes() {
        for format in Format::ALL {
            let bytes = sample(format);
            assert_eq!(
                sniff(&bytes, format.content_type(), no_cap),
                Ok(format),
                "{format:?}"
            );
            assert_eq!(Format::from_extension(format.extension()), Some(format));
        }
    }

    #[test]
    fn mp3_is_recognised_with_and_without_an_id3_tag() {
        // MPEG-1 Layer III without CRC, with CRC; MPEG-2; MPEG-2.5.
        for header in [
            [0xFF, 0xFB, 0x90, 0x64],
            [0xFF, 0xFA, 0x90, 0x64],
            [0xFF, 0xF3, 0x64, 0xC4],
            [0xFF, 0xE3, 0x18, 0xC4],
        ] {
            assert_eq!(
                sniff(&header, "audio/mpeg", no_cap),
                Ok(Format::Mp3),
                "{header:x?}"
            );
        }
        assert_eq!(
            sniff(b"ID3\x03\0\0\0\0\0\x0a", "audio/mpeg", no_cap),
            Ok(Format::Mp3)
        );
        // Layer I and II, a reserved version, a bad bitrate, a reserved rate.
        for not_mp3 in [
            [0xFF, 0xFF, 0x90, 0x64],
            [0xFF, 0xFD, 0x90, 0x64],
            [0xFF, 0xEB, 0x90, 0x64],
            [0xFF, 0xFA, 0xF0, 0x64],
            [0xFF, 0xFA, 0x9C, 0x64],
        ] {
            assert!(!is_mpeg_layer3_frame(&not_mp3), "{not_mp3:x?}");
        }
    }

    #[test]
    fn each_kind_has_its_own_size_cap_checked_before_the_svg_is_parsed() {
        let cap = |kind| if kind == Kind::Image { 16 } else { 1000 };
        let png = sample(Format::Png);
        assert_eq!(png.len(), 16);
        assert_eq!(sniff(&png, "image/png", cap), Ok(Format::Png));
        let mut larger = png.clone();
        larger.push(0);
        let err = sniff(&larger, "image/png", cap).unwrap_err();
        assert_eq!(
            err,
            SniffError::TooLarge {
                format: Format::Png,
                bytes: 17,
                max: 16
            }
        );
        assert!(err.to_string().contains("at most 16 bytes"), "{err}");
        let wav = sample(Format::Wav);
        assert_eq!(sniff(&wav, "audio/wav", cap), Ok(Format::Wav));
        let hostile_svg =
            br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
        assert!(matches!(
            sniff(hostile_svg, "image/svg+xml", cap),
            Err(SniffError::TooLarge { .. })
        ));
        assert!(matches!(
            sniff(hostile_svg, "image/svg+xml", no_cap),
            Err(SniffError::UnsafeSvg(_))
        ));
    }

    #[test]
    fn svg_is_recognised_after_a_declaration_or_a_comment_and_other_markup_is_not() {
        for start in [
            "<?xml version=\"1.0\"?>",
            "<!-- made by hand -->",
            "\u{feff}",
            "\n  ",
        ] {
            let text = format!("{start}<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
            assert_eq!(
                sniff(text.as_bytes(), "image/svg+xml", no_cap),
                Ok(Format::Svg),
                "{start:?}"
            );
        }
        let html = sniff(b"<html><body>x</body></html>", "image/svg+xml", no_cap).unwrap_err();
        assert!(html.to_string().contains("text/html"), "{html}");
        let xml = sniff(b"<?xml version=\"1.0\"?><feed/>", "image/svg+xml", no_cap).unwrap_err();
        assert!(xml.to_string().contains("text/xml"), "{xml}");
    }

    #[test]
    fn ogg_opus_is_a_sound() {
        let mut opus = b"OggS\0\x02".to_vec();
        opus.resize(28, 0);
        opus.extend_from_slice(b"OpusHead\x01\x01");
        assert_eq!(sniff(&opus, "audio/ogg", no_cap), Ok(Format::Ogg));
        assert_eq!(sniff(&opus, "audio/opus", no_cap), Ok(Format::Ogg));
    }

    #[test]
    fn the_declared_family_must_match_the_content() {
        let png = sample(Format::Png);
        let err = sniff(&png, "audio/mpeg", no_cap).unwrap_err();
        assert!(matches!(err, SniffError::Mismatch { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("PNG") && message.contains("audio/mpeg"),
            "{message}"
        );
        assert!(
            message.contains("image/png"),
            "says what to send: {message}"
        );
        // Within a family, the exact subtype does not matter: the content decides.
        assert_eq!(sniff(&png, "image/jpeg", no_cap), Ok(Format::Png));
        assert_eq!(
            sniff(&png, "IMAGE/PNG; charset=binary", no_cap),
            Ok(Format::Png)
        );
        let wav = sample(Format::Wav);
        assert!(matches!(
            sniff(&wav, "video/webm", no_cap),
            Err(SniffError::Mismatch { .. })
        ));
        let webm = sample(Format::Webm);
        assert!(matches!(
            sniff(&webm, "audio/webm", no_cap),
            Err(SniffError::Mismatch { .. })
        ));
    }

    #[test]
    fn a_missing_or_non_media_declared_type_is_refused() {
        let png = sample(Format::Png);
        for declared in [
            "",
            "application/octet-stream",
            "text/plain",
            "image",
            "image/",
            "imagex/png",
        ] {
            assert!(
                matches!(
                    sniff(&png, declared, no_cap),
                    Err(SniffError::UndeclaredType(_))
                ),
                "{declared:?}"
            );
        }
    }

    #[test]
    fn other_formats_are_refused_naming_what_they_are() {
        let matroska = ebml(b"matroska");
        let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
        elf.resize(64, 0);
        let cases: [(&[u8], &str, &str); 7] = [
            (&elf, "image/png", "application/x-executable"),
            (b"%PDF-1.7\n", "image/png", "application/pdf"),
            (b"BM\x3a\0\0\0\0\0\0\0", "image/bmp", "image/bmp"),
            (&matroska, "video/x-matroska", "video/x-matroska"),
            (
                b"\0\0\0\x14ftypqt  \0\0\0\0",
                "video/quicktime",
                "video/quicktime",
            ),
            (b"fLaC\0\0\0\x22", "audio/flac", "audio/x-flac"),
            (b"hello, I am text", "image/png", "no recognised type"),
        ];
        for (bytes, declared, named) in cases {
            let err = sniff(bytes, declared, no_cap).unwrap_err();
            assert!(
                matches!(err, SniffError::Unsupported(_)),
                "{declared}: {err}"
            );
            assert!(err.to_string().contains(named), "{err}");
        }
        // "WEBP" without a RIFF header, an EBML header of another DocType.
        let err = sniff(b"XXXX\0\0\0\0WEBPVP8 ", "image/webp", no_cap).unwrap_err();
        assert!(err.to_string().contains("RIFF"), "{err}");
        assert!(sniff(&ebml(b"other"), "video/webm", no_cap).is_err());
    }
}
