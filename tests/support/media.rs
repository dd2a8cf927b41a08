//! Media files made in the test, for uploads: a real PNG and WAV a browser
//! decodes and plays (written byte by byte here: chunk CRCs and zlib from
//! flate2, a RIFF header by hand), and the first bytes of the other formats
//! the media library accepts (enough for its content check, not playable).

#![allow(dead_code)]

use std::io::Write;

/// A `width`×`height` PNG of one RGBA colour.
pub fn png(width: u32, height: u32, rgba: [u8; 4]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // 8 bits per sample, RGBA, deflate, no filter method, no interlace.
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    // Each row: filter type None, then its pixels.
    let mut row = vec![0];
    row.extend_from_slice(&rgba.repeat(width as usize));
    let pixels = row.repeat(height as usize);
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&pixels).unwrap();
    let data = zlib.finish().unwrap();

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A mono 16-bit 8 kHz PCM WAV: `millis` of a quiet 440 Hz tone.
pub fn wav(millis: u32) -> Vec<u8> {
    const RATE: u32 = 8000;
    let samples = RATE * millis / 1000;
    let mut data = Vec::with_capacity(samples as usize * 2);
    for n in 0..samples {
        let t = n as f64 / RATE as f64;
        let value = (f64::sin(2.0 * std::f64::consts::PI * 440.0 * t) * 3000.0) as i16;
        data.extend_from_slice(&value.to_le_bytes());
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// A 1×1 GIF (two-colour table, one pixel).
pub fn gif() -> Vec<u8> {
    let mut out = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
    out.extend_from_slice(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00");
    out.extend_from_slice(b"\x02\x02\x44\x01\x00\x3b");
    out
}

/// The start of a JPEG (SOI and a JFIF APP0 segment).
pub fn jpeg() -> Vec<u8> {
    b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xFF\xD9".to_vec()
}

/// The start of a lossless WebP.
pub fn webp() -> Vec<u8> {
    b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00".to_vec()
}

/// A harmless SVG: a red square.
pub fn svg() -> Vec<u8> {
    br##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8" viewBox="0 0 8 8">
  <defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient></defs>
  <rect width="8" height="8" fill="url(#g)"/>
</svg>
"##
    .to_vec()
}

/// MPEG-1 Layer III frames without an ID3 tag (128 kbit/s, 44.1 kHz: 417
/// bytes each).
pub fn mp3_frames() -> Vec<u8> {
    let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
    frame.resize(417, 0);
    frame.repeat(3)
}

/// An ID3v2 tag followed by MPEG frames.
pub fn mp3_with_id3() -> Vec<u8> {
    let mut out = b"ID3\x04\x00\x00\x00\x00\x00\x0aTIT2\x00\x00\x00\x00\x00\x00".to_vec();
    out.extend_from_slice(&mp3_frames());
    out
}

/// The first page of an Ogg Vorbis stream.
pub fn ogg() -> Vec<u8> {
    let mut out =
        b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04\x00\x00\x00\x00".to_vec();
    out.extend_from_slice(
        b"\x00\x00\x00\x00\x01\x1e\x01vorbis\x00\x00\x00\x00\x01\x44\xac\x00\x00",
    );
    out
}

/// A WebM's EBML header (DocType `webm`) and the start of its segment.
pub fn webm() -> Vec<u8> {
    let mut out = b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\xF7\x81\x01\x42\xF2\x81\x04\x42\xF3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02".to_vec();
    out.extend_from_slice(b"\x18\x53\x80\x67\x01\xFF\xFF\xFF\xFF\xFF\xFF\xFF");
    out.resize(512, 0);
    out
}

/// An MP4's `ftyp` box (brand `isom`) and an empty `mdat`.
pub fn mp4() -> Vec<u8> {
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41\x00\x00\x00\x08mdat".to_vec()
}
