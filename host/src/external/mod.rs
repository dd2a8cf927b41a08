//! Events from outside Twitch: programs of the streamer's community (a
//! Discord bot publishing on Redis, see [`redis`]) feed the same pipeline
//! as Twitch, with source `external`.

pub mod redis;
