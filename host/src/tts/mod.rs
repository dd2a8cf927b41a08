//! Chat read aloud (issue 7): who may be heard ([`settings`], [`gate`]),
//! the speech queue on the overlay ([`service`]), and the upkeep jobs
//! (grant cleanup, chat retention: [`upkeep`]).

pub mod gate;
pub mod service;
pub mod settings;
pub mod upkeep;

pub use service::{Heard, SpeechService};
pub use settings::TtsSettings;
