//! The alert box's built-in sounds, synthesised: `cargo xtask alert-sounds`
//! writes them to `host/assets/alerts/` (the host embeds that folder), and
//! a test checks the committed files are exactly what this code makes, so
//! they can always be made again.
//!
//! Each sound is a few notes of a few partials (sine waves at multiples of
//! the note's frequency) under an envelope: a short smooth attack, an
//! exponential decay, and a fade to silence at the end, so nothing clicks.
//! The whoosh is noise through a band-pass filter whose centre sweeps.
//!
//! Only `+ - * /` and `floor` are used (no `sin`, `exp` or `powf` from the
//! platform's maths library, whose last bits differ between systems), so
//! the bytes are the same on every machine.

use std::path::Path;

/// Samples per second: plenty for chimes, and a second of sound is 44 KB.
pub const SAMPLE_RATE: u32 = 22_050;

/// The sounds, by file name (without `.wav`).
pub const NAMES: [&str; 5] = ["chime", "sparkle", "fanfare", "coins", "whoosh"];

/// The WAV file (mono, 16-bit PCM) of sound `name`, or `None` for a name
/// not in [`NAMES`].
pub fn wav(name: &str) -> Option<Vec<u8>> {
    // Peak levels by ear: the whoosh and coins are busier, so softer.
    let (samples, peak) = match name {
        "chime" => (chime(), 0.6),
        "sparkle" => (sparkle(), 0.55),
        "fanfare" => (fanfare(), 0.6),
        "coins" => (coins(), 0.5),
        "whoosh" => (whoosh(), 0.5),
        _ => return None,
    };
    Some(encode(&normalize(samples, peak)))
}

/// Writes every sound into `dir` (`host/assets/alerts/`); with `check`,
/// writes nothing and fails when a file there differs.
pub fn write_all(dir: &Path, check: bool) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for name in NAMES {
        let bytes = wav(name).expect("every name has a sound");
        let path = dir.join(format!("{name}.wav"));
        let current = std::fs::read(&path).ok();
        if current.as_deref() == Some(bytes.as_slice()) {
            continue;
        }
        if check {
            return Err(format!(
                "{} is not what `cargo xtask alert-sounds` makes; run it and commit the result",
                path.display()
            ));
        }
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("xtask: wrote {} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}

const PI: f64 = std::f64::consts::PI;

/// sin(2π·cycles), from a polynomial: the same bits everywhere.
fn sine(cycles: f64) -> f64 {
    // Into [-π, π), then [-π/2, π/2], where the series is accurate to 1e-7.
    let t = cycles - cycles.floor();
    let mut x = (t - 0.5) * 2.0 * PI;
    // sin(2πt) = sin(x + π) = -sin(x)
    if x > PI / 2.0 {
        x = PI - x;
    } else if x < -PI / 2.0 {
        x = -PI - x;
    }
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    for n in 1..7 {
        let k = (2 * n) as f64;
        term = -term * x2 / (k * (k + 1.0));
        sum += term;
    }
    -sum
}

/// e^-x for x ≥ 0: a series for a small argument, squared back up.
fn exp_neg(x: f64) -> f64 {
    let mut x = x.max(0.0);
    if x > 60.0 {
        return 0.0;
    }
    let mut halvings = 0;
    while x > 0.25 {
        x /= 2.0;
        halvings += 1;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..12 {
        term = term * -x / n as f64;
        sum += term;
    }
    for _ in 0..halvings {
        sum *= sum;
    }
    sum
}

/// A smooth 0→1 ramp (no corner, so no click).
fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// One partial of a note: its frequency as a multiple of the note's, its
/// loudness, and how much faster than the note it dies away.
#[derive(Clone, Copy)]
struct Partial {
    ratio: f64,
    amp: f64,
    decay: f64,
}

const fn p(ratio: f64, amp: f64, decay: f64) -> Partial {
    Partial { ratio, amp, decay }
}

/// A bell: a few bright, slightly inharmonic partials dying fast.
const BELL: [Partial; 4] = [
    p(1.0, 1.0, 1.0),
    p(2.0, 0.4, 1.6),
    p(3.01, 0.16, 2.4),
    p(4.2, 0.07, 3.5),
];
/// A glassy tinkle: the fundamental and a soft octave.
const GLASS: [Partial; 3] = [p(1.0, 1.0, 1.0), p(2.0, 0.3, 1.8), p(4.0, 0.08, 3.0)];
/// Brass-like: many harmonics, loudness falling as 1/n.
const BRASS: [Partial; 6] = [
    p(1.0, 1.0, 1.0),
    p(2.0, 0.55, 1.1),
    p(3.0, 0.38, 1.2),
    p(4.0, 0.24, 1.3),
    p(5.0, 0.16, 1.4),
    p(6.0, 0.1, 1.5),
];
/// A coin: square-ish (odd harmonics), short.
const COIN: [Partial; 3] = [p(1.0, 1.0, 1.0), p(3.0, 0.28, 1.5), p(5.0, 0.1, 2.0)];

/// A note to add into the buffer.
struct Note<'a> {
    start: f64,
    freq: f64,
    length: f64,
    amp: f64,
    attack: f64,
    /// Time constant of the decay, in seconds.
    decay: f64,
    partials: &'a [Partial],
    /// Depth of a gentle vibrato (fraction of the frequency), at 5.5 Hz.
    vibrato: f64,
}

/// How long the end of every note fades to silence.
const RELEASE: f64 = 0.03;

fn add(buf: &mut [f64], note: &Note) {
    let rate = SAMPLE_RATE as f64;
    let first = (note.start * rate) as usize;
    let count = (note.length * rate) as usize;
    let mut phases = vec![0.0f64; note.partials.len()];
    for i in 0..count {
        let at = first + i;
        if at >= buf.len() {
            break;
        }
        let t = i as f64 / rate;
        let attack = smoothstep(t / note.attack);
        let release = smoothstep((note.length - t) / RELEASE);
        let bend = 1.0 + note.vibrato * sine(5.5 * t) * smoothstep(t / 0.2);
        let mut sample = 0.0;
        for (partial, phase) in note.partials.iter().zip(phases.iter_mut()) {
            let decay = exp_neg(t * partial.decay / note.decay);
            sample += partial.amp * decay * sine(*phase);
            *phase += note.freq * partial.ratio * bend / rate;
        }
        buf[at] += note.amp * attack * release * sample;
    }
}

fn silence(seconds: f64) -> Vec<f64> {
    vec![0.0; (seconds * SAMPLE_RATE as f64) as usize]
}

/// Frequency of the note `semitones` above A4 (440 Hz), by repeated
/// multiplication with the twelfth root of two.
fn pitch(semitones: i32) -> f64 {
    const SEMITONE: f64 = 1.059_463_094_359_295_3;
    let mut f = 440.0;
    for _ in 0..semitones.unsigned_abs() {
        if semitones > 0 {
            f *= SEMITONE;
        } else {
            f /= SEMITONE;
        }
    }
    f
}

/// Two bell notes a fifth apart: a follow.
fn chime() -> Vec<f64> {
    let mut buf = silence(1.1);
    for (start, semis) in [(0.0, 12), (0.13, 19)] {
        add(
            &mut buf,
            &Note {
                start,
                freq: pitch(semis),
                length: 1.1 - start,
                amp: 0.32,
                attack: 0.006,
                decay: 0.38,
                partials: &BELL,
                vibrato: 0.0,
            },
        );
    }
    buf
}

/// A quick rising arpeggio of glassy notes: a sub, a redemption.
fn sparkle() -> Vec<f64> {
    let mut buf = silence(1.0);
    for (i, semis) in [15, 19, 22, 27, 31, 34].into_iter().enumerate() {
        let start = i as f64 * 0.065;
        add(
            &mut buf,
            &Note {
                start,
                freq: pitch(semis),
                length: 1.0 - start,
                amp: 0.2,
                attack: 0.004,
                decay: 0.22,
                partials: &GLASS,
                vibrato: 0.0,
            },
        );
    }
    buf
}

/// A short brass call, G-C-E then a held G: big moments.
fn fanfare() -> Vec<f64> {
    let length = 1.25;
    let mut buf = silence(length);
    let notes = [
        (0.0, 0.13, -2),
        (0.14, 0.13, 3),
        (0.28, 0.13, 7),
        (0.42, 0.83, 10),
    ];
    for (start, hold, semis) in notes {
        for (octave, amp) in [(0, 0.16), (-12, 0.07)] {
            add(
                &mut buf,
                &Note {
                    start,
                    freq: pitch(semis + octave),
                    length: hold,
                    amp,
                    attack: 0.025,
                    decay: if hold > 0.5 { 0.9 } else { 0.5 },
                    partials: &BRASS,
                    vibrato: if hold > 0.5 { 0.006 } else { 0.0 },
                },
            );
        }
    }
    buf
}

/// A handful of two-tone coin pings: cheers.
fn coins() -> Vec<f64> {
    let mut buf = silence(0.85);
    for (i, lift) in [0, 2, 1, 4].into_iter().enumerate() {
        let start = i as f64 * 0.11;
        for (offset, semis, length) in [(0.0, 14 + lift, 0.07), (0.06, 19 + lift, 0.35)] {
            add(
                &mut buf,
                &Note {
                    start: start + offset,
                    freq: pitch(semis),
                    length,
                    amp: 0.15,
                    attack: 0.003,
                    decay: 0.12,
                    partials: &COIN,
                    vibrato: 0.0,
                },
            );
        }
    }
    buf
}

/// Noise through a band-pass sweeping up and back down: a raid arriving.
fn whoosh() -> Vec<f64> {
    let rate = SAMPLE_RATE as f64;
    let length = 0.95;
    let mut buf = silence(length);
    let mut seed: u32 = 0x9e37_79b9;
    let (mut low, mut band) = (0.0f64, 0.0f64);
    let n = buf.len();
    for (i, out) in buf.iter_mut().enumerate() {
        let t = i as f64 / rate;
        let x = t / length;
        // xorshift32: white noise in [-1, 1]
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = seed as f64 / u32::MAX as f64 * 2.0 - 1.0;
        // The centre rises to 2.4 kHz at 40 % of the way, then falls.
        let rise = smoothstep(x / 0.4);
        let fall = smoothstep((x - 0.4) / 0.6);
        let centre = 250.0 + 2150.0 * rise - 1500.0 * fall;
        // Chamberlin state-variable filter.
        let f = 2.0 * sine(centre / (2.0 * rate));
        let q = 0.35;
        let high = noise - low - q * band;
        band += f * high;
        low += f * band;
        let envelope = smoothstep(x / 0.45) * smoothstep((1.0 - x) / 0.55);
        let fade = smoothstep((n - 1 - i) as f64 / (RELEASE * rate));
        *out = 0.55 * band * envelope * fade;
    }
    buf
}

/// Scales `samples` so the loudest is at `peak` (1.0 is full scale).
fn normalize(mut samples: Vec<f64>, peak: f64) -> Vec<f64> {
    let loudest = samples.iter().fold(0.0f64, |m, s| m.max(s.abs()));
    if loudest > 0.0 {
        for s in &mut samples {
            *s *= peak / loudest;
        }
    }
    samples
}

/// 16-bit PCM, mono, in a RIFF/WAVE container.
fn encode(samples: &[f64]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // format chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // bytes per frame
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(wav: &[u8]) -> Vec<i16> {
        wav[44..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn the_committed_sounds_are_what_the_generator_makes() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/assets/alerts");
        for name in NAMES {
            let path = dir.join(format!("{name}.wav"));
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (run `cargo xtask alert-sounds`)", path.display())
            });
            assert!(
                committed == wav(name).unwrap(),
                "{} differs from the generator's output: run `cargo xtask alert-sounds`",
                path.display()
            );
        }
        assert_eq!(write_all(&dir, true), Ok(()));
    }

    #[test]
    fn each_sound_is_a_small_mono_16_bit_wav_without_clicks() {
        for name in NAMES {
            let wav = wav(name).unwrap();
            assert!(wav.len() < 60 * 1024, "{name}: {} bytes", wav.len());
            assert_eq!(&wav[..4], b"RIFF");
            assert_eq!(&wav[8..16], b"WAVEfmt ");
            assert_eq!(u16::from_le_bytes([wav[22], wav[23]]), 1, "{name}: mono");
            assert_eq!(
                u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]),
                22_050
            );
            assert_eq!(u16::from_le_bytes([wav[34], wav[35]]), 16);
            let s = samples(&wav);
            assert_eq!(s.len() * 2 + 44, wav.len());
            let peak = s.iter().map(|v| v.unsigned_abs()).max().unwrap();
            // Loud enough to hear, never clipped.
            assert!((15_000..25_000).contains(&peak), "{name}: peak {peak}");
            // Starts from and ends in silence, smoothly: no click at
            // either end (a click is a jump from or to a loud sample).
            let quiet = |part: &[i16]| part.iter().all(|v| v.unsigned_abs() < 400);
            assert!(quiet(&s[..5]), "{name} starts with {:?}", &s[..5]);
            assert!(
                quiet(&s[s.len() - 5..]),
                "{name} ends with {:?}",
                &s[s.len() - 5..]
            );
        }
        assert_eq!(wav("nope"), None);
    }

    #[test]
    fn the_sounds_differ_from_each_other() {
        let all: Vec<Vec<u8>> = NAMES.iter().map(|n| wav(n).unwrap()).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn the_maths_is_accurate() {
        for i in 0..1000 {
            let c = i as f64 / 997.0 - 0.3;
            assert!((sine(c) - (2.0 * PI * c).sin()).abs() < 1e-6, "sine({c})");
            let x = i as f64 / 50.0;
            assert!((exp_neg(x) - (-x).exp()).abs() < 1e-9, "exp_neg({x})");
        }
        assert!((pitch(12) - 880.0).abs() < 1e-9);
        assert!((pitch(-12) - 220.0).abs() < 1e-9);
    }
}
