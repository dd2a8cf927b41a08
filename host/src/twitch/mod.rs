//! Twitch as an event source. This module holds the pure parts of the
//! EventSub connection, kept apart from any socket so they are testable as
//! plain functions:
//!
//! - [`eventsub::protocol`] parses (and, for tests and the mock server,
//!   builds) EventSub WebSocket frames exactly as Twitch documents them;
//! - [`eventsub::subscriptions`] is the table of subscriptions Stagehand
//!   wants, planned against the token's scopes;
//! - [`normalize`] turns a notification's event payload into the host's
//!   [`crate::event::Event`] plus the domain-table change it implies.

pub mod auth;
pub mod chat_out;
pub mod domain;
pub mod eventsub;
pub mod helix;
pub mod link;
pub mod normalize;
