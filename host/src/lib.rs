//! Stagehand: a streamer's Twitch event host. Sources (EventSub, Helix
//! pollers, chat, test triggers) send [`event::Event`]s into the
//! [`pipeline`], which de-duplicates them, stores them in SQLite
//! ([`store`]) and publishes them on the [`live`] feed for plugins and the
//! dashboard. [`app`] wires the parts; [`web`] serves them.

pub mod actions;
pub mod app;
pub mod cluster;
pub mod config;
pub mod dedup;
pub mod demo;
pub mod event;
pub mod external;
pub mod health;
pub mod hooks;
pub mod live;
pub mod logging;
pub mod media_library;
pub mod periodic;
pub mod pipeline;
pub mod plugins;
pub mod polling;
pub mod secrets;
pub mod settle;
pub mod storage;
pub mod store;
pub mod tts;
pub mod twitch;
pub mod viewer_rules;
pub mod web;
