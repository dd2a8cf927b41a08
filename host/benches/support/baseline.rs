//! The baseline every storage benchmark prints beside its own figures: the
//! same event rows written by a plain rusqlite loop in one transaction.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::json;

use stagehand::event::{Event, EventKind, Source, Viewer, now_ms};

/// Events per measurement.
pub const EVENTS: usize = 100_000;
/// Distinct viewers among them.
pub const VIEWERS: usize = 10_000;

pub fn sample_events() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| {
            let v = i % VIEWERS;
            Event::new(EventKind::Follow, Source::Eventsub, "1000")
                .with_viewer(Viewer::new(v.to_string(), format!("viewer{v}"), format!("Viewer{v}")))
                .with_details(json!({"username": format!("Viewer{v}"), "action": "follow", "followed_at": "2025-01-15T14:32:00Z"}))
        })
        .collect()
}

/// The baseline: the same rows, written by a plain loop in one transaction
/// on a connection with the same pragmas, no writer thread, no savepoints.
pub fn bare_rusqlite(path: &std::path::Path, events: &[Event]) -> Duration {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -32000;",
    )
    .unwrap();
    stagehand::store::migrations::apply(&mut conn).unwrap();
    let now = now_ms().timestamp_millis();
    let start = Instant::now();
    let tx = conn.transaction().unwrap();
    {
        let mut find = tx
            .prepare("SELECT id FROM viewers WHERE twitch_id = ?1")
            .unwrap();
        let mut viewer = tx
            .prepare(
                "INSERT INTO viewers (twitch_id, login, display_name, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
            )
            .unwrap();
        let mut insert = tx
            .prepare(
                "INSERT INTO events (id, kind, source, channel_id, viewer_id, viewer_twitch_id,
                     viewer_login, viewer_display_name, occurred_at, created_at, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )
            .unwrap();
        for e in events {
            let v = e.viewer.as_ref().unwrap();
            let viewer_id: i64 = match find.query_row([&v.id], |r| r.get(0)) {
                Ok(id) => id,
                Err(_) => viewer
                    .query_row(params![v.id, v.login, v.display_name, now], |r| r.get(0))
                    .unwrap(),
            };
            insert
                .execute(params![
                    e.id,
                    e.kind.as_str(),
                    e.source.as_str(),
                    e.channel_id,
                    viewer_id,
                    v.id,
                    v.login,
                    v.display_name,
                    e.occurred_at.timestamp_millis(),
                    now,
                    serde_json::to_string(&e.details()).unwrap(),
                ])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    start.elapsed()
}
