//! Believable filler for made-up viewers: logins, chat lines, reward
//! titles and clip titles, drawn from a caller's random generator so a
//! seeded demo is reproducible.

use rand::{Rng, RngExt};

const ADJECTIVES: &[&str] = &[
    "sleepy", "pixel", "cosmic", "salty", "turbo", "quiet", "lucky", "grumpy", "neon", "frosty",
    "mighty", "tiny", "rusty", "sneaky", "golden", "chill", "spicy", "retro", "brave", "fuzzy",
];

const NOUNS: &[&str] = &[
    "fox", "otter", "panda", "wizard", "goblin", "falcon", "noodle", "badger", "comet", "knight",
    "potato", "llama", "ninja", "walrus", "dragon", "pancake", "raccoon", "bard", "moth", "yeti",
];

const CHAT_LINES: &[&str] = &[
    "hello chat!",
    "first time here, love the vibe",
    "LUL",
    "that was so close",
    "GG",
    "what game is next?",
    "PogChamp",
    "the music is great today",
    "how long have you been streaming?",
    "hype!",
    "can we get an F in chat",
    "F",
    "lurking but here <3",
    "Kappa",
    "clip it!",
];

const REWARDS: &[&str] = &[
    "Hydrate!",
    "Posture check",
    "Choose the next song",
    "Say hi on stream",
    "Do 10 push-ups",
    "Unlock TTS",
];

const CLIP_TITLES: &[&str] = &[
    "insane clutch",
    "that jump though",
    "chat was right",
    "unexpected ending",
    "the perfect timing",
];

fn pick<'a>(rng: &mut (impl Rng + ?Sized), list: &[&'a str]) -> &'a str {
    list[rng.random_range(0..list.len())]
}

/// A made-up login such as `cosmic_otter42`.
pub fn login(rng: &mut (impl Rng + ?Sized)) -> String {
    let adjective = pick(rng, ADJECTIVES);
    let noun = pick(rng, NOUNS);
    let number: u32 = rng.random_range(1..1000);
    format!("{adjective}_{noun}{number}")
}

/// A chat line.
pub fn chat_line(rng: &mut (impl Rng + ?Sized)) -> &'static str {
    pick(rng, CHAT_LINES)
}

/// A channel-points reward title.
pub fn reward_title(rng: &mut (impl Rng + ?Sized)) -> &'static str {
    pick(rng, REWARDS)
}

/// A clip title.
pub fn clip_title(rng: &mut (impl Rng + ?Sized)) -> &'static str {
    pick(rng, CLIP_TITLES)
}

/// A clip id in Twitch's slug style (`CosmicOtterPogChamp-x1y2z3`).
pub fn clip_slug(rng: &mut (impl Rng + ?Sized)) -> String {
    fn capitalize(word: &str) -> String {
        let mut chars = word.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    }
    let adjective = capitalize(pick(rng, ADJECTIVES));
    let noun = capitalize(pick(rng, NOUNS));
    let suffix: u32 = rng.random_range(0..0x100_0000);
    format!("{adjective}{noun}Kappa-{suffix:06x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn the_same_seed_gives_the_same_names() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        assert_eq!(login(&mut a), login(&mut b));
        let name = login(&mut a);
        assert!(name.contains('_'));
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
        assert!(clip_slug(&mut a).contains("Kappa-"));
    }
}
