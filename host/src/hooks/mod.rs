//! Inbound webhooks: payments and events other services send to Stagehand.
//! `POST /hooks/kofi` takes Ko-fi's form (checked against its verification
//! token, see [`kofi`]); `POST /hooks/{name}` takes JSON from any service,
//! signed with the hook's secret (see [`signature`] and [`generic`]). Each
//! accepted request becomes one event of source `external` in the usual
//! pipeline (stored once per id, then plugins and the live feed).
//!
//! [`Hooks`] holds the configuration and counts what each hook received
//! ([`HooksStatus`], shown by `GET /api/hooks`). The HTTP side (rate limit,
//! status codes) is [`crate::web::hooks`].

pub mod generic;
pub mod kofi;
pub mod signature;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{HookKind, HooksConfig, KOFI_HOOK};
use crate::event::{Event, now_ms};
use crate::pipeline::{EventSender, Outcome};

/// Why a hook request was refused: the status it answers, a stable code
/// and a message for the sender (never holding a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl HookError {
    /// 400: the body is not the hook's shape.
    pub fn malformed(message: impl Into<String>) -> HookError {
        HookError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    /// 401: missing or wrong token or signature.
    pub fn unauthorized(message: impl Into<String>) -> HookError {
        HookError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// 503: the event could not be stored (the sender should retry).
    pub fn unavailable(message: impl Into<String>) -> HookError {
        HookError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
        }
    }

    /// The reason `GET /api/hooks` counts this refusal under.
    pub fn reason(&self) -> &'static str {
        match self.status {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::BAD_REQUEST => "malformed",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            _ => "not_stored",
        }
    }
}

/// What became of an accepted request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Accepted {
    /// The event's id.
    pub id: String,
    /// `stored`, `duplicate` (the id was handled before: nothing new) or
    /// `buffered` (stored once the database can be written).
    pub status: &'static str,
}

/// One hook's counters, as `GET /api/hooks` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HookStatus {
    /// Its name: `kofi`, or the `[hooks.<name>]` table's.
    pub name: String,
    /// Where it is reached.
    pub route: String,
    /// What it makes: `donation`, or `hook.<name>`.
    pub kind: String,
    /// Whether it is set up (Ko-fi's is not without a token; the route then
    /// answers 404).
    pub configured: bool,
    /// Requests that reached it (accepted or refused).
    pub received: u64,
    /// Requests that became an event (including repeats of one).
    pub accepted: u64,
    /// Accepted requests whose event id had been handled before.
    pub duplicates: u64,
    /// Refused requests by reason: `unauthorized`, `malformed`,
    /// `rate_limited`, `not_stored`.
    pub refused: BTreeMap<String, u64>,
    /// When the last event was accepted.
    pub last_event_at: Option<DateTime<Utc>>,
    /// The last refusal's message, and when.
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// Every hook's counters: Ko-fi's first, then the generic hooks by name.
/// A small value the dashboard's status card can embed as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HooksStatus {
    pub hooks: Vec<HookStatus>,
}

/// The configured hooks, what they feed and their counters. Cloning is cheap.
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Inner>,
}

struct Inner {
    config: HooksConfig,
    events: EventSender,
    channel_id: String,
    status: Mutex<BTreeMap<String, HookStatus>>,
}

impl Hooks {
    /// Hooks from `config`, whose events go to `events` under `channel_id`.
    pub fn new(config: HooksConfig, events: EventSender, channel_id: impl Into<String>) -> Hooks {
        let mut status = BTreeMap::new();
        status.insert(
            KOFI_HOOK.to_owned(),
            HookStatus {
                name: KOFI_HOOK.into(),
                route: format!("/hooks/{KOFI_HOOK}"),
                kind: "donation".into(),
                configured: config.kofi_token.is_some(),
                ..HookStatus::default()
            },
        );
        for (name, hook) in &config.hooks {
            let kind = match hook.kind {
                HookKind::Other => format!("hook.{name}"),
                HookKind::Donation { .. } => "donation".into(),
            };
            status.insert(
                name.clone(),
                HookStatus {
                    name: name.clone(),
                    route: format!("/hooks/{name}"),
                    kind,
                    configured: true,
                    ..HookStatus::default()
                },
            );
        }
        Hooks {
            inner: Arc::new(Inner {
                config,
                events,
                channel_id: channel_id.into(),
                status: Mutex::new(status),
            }),
        }
    }

    /// Whether `name` is a hook this host answers (`kofi` only with a
    /// token); any other name is answered 404 without looking further.
    pub fn exists(&self, name: &str) -> bool {
        if name == KOFI_HOOK {
            self.inner.config.kofi_token.is_some()
        } else {
            self.inner.config.hooks.contains_key(name)
        }
    }

    /// Takes one Ko-fi request body: checked, parsed and stored (`None`
    /// when the Ko-fi hook is not configured).
    pub async fn receive_kofi(&self, body: &[u8]) -> Option<Result<Accepted, HookError>> {
        let token = self.inner.config.kofi_token.as_ref()?;
        let event = kofi::parse(body, token.expose())
            .map(|payment| payment.into_event(&self.inner.channel_id));
        Some(self.finish(KOFI_HOOK, event).await)
    }

    /// Takes one request of generic hook `name`: signature checked, body
    /// read, event stored (`None` when no such hook is configured).
    pub async fn receive(
        &self,
        name: &str,
        body: &[u8],
        signature_header: Option<&str>,
        id_header: Option<&str>,
    ) -> Option<Result<Accepted, HookError>> {
        let hook = self.inner.config.hooks.get(name)?;
        let event =
            signature::verify(hook.secret.expose(), body, signature_header).and_then(|()| {
                generic::to_event(name, &hook.kind, body, id_header, &self.inner.channel_id)
            });
        Some(self.finish(name, event).await)
    }

    /// Counts a request refused before it was read (too many wrong
    /// signatures from its address).
    pub fn refuse(&self, name: &str, error: &HookError) {
        self.update(name, |s| {
            s.received += 1;
            count_refusal(s, error);
        });
    }

    /// Every hook's counters.
    pub fn status(&self) -> HooksStatus {
        let status = self.inner.status.lock().unwrap_or_else(|p| p.into_inner());
        let mut hooks: Vec<HookStatus> = status.values().cloned().collect();
        // Ko-fi first, then by name.
        hooks.sort_by_key(|h| (h.name != KOFI_HOOK, h.name.clone()));
        HooksStatus { hooks }
    }

    /// Stores the event (if the request made one) and counts the outcome.
    async fn finish(
        &self,
        name: &str,
        event: Result<Event, HookError>,
    ) -> Result<Accepted, HookError> {
        let result = match event {
            Ok(event) => self.store(event).await,
            Err(e) => Err(e),
        };
        self.update(name, |s| {
            s.received += 1;
            match &result {
                Ok(accepted) => {
                    s.accepted += 1;
                    if accepted.status == "duplicate" {
                        s.duplicates += 1;
                    }
                    s.last_event_at = Some(now_ms());
                }
                Err(e) => count_refusal(s, e),
            }
        });
        match &result {
            Ok(accepted) => {
                tracing::info!(hook = name, event_id = %accepted.id, status = accepted.status, "hook request accepted")
            }
            Err(e) => {
                tracing::warn!(hook = name, status = %e.status, reason = %e.message, "hook request refused")
            }
        }
        result
    }

    async fn store(&self, event: Event) -> Result<Accepted, HookError> {
        let id = event.id.clone();
        let status = match self.inner.events.submit(event).await {
            Ok(Outcome::Stored(_)) => "stored",
            Ok(Outcome::Duplicate) => "duplicate",
            Ok(Outcome::Buffered) => "buffered",
            Ok(Outcome::Failed(why)) => {
                return Err(HookError::unavailable(format!(
                    "the event was not stored: {why}"
                )));
            }
            Err(closed) => return Err(HookError::unavailable(closed.to_string())),
        };
        Ok(Accepted { id, status })
    }

    fn update(&self, name: &str, change: impl FnOnce(&mut HookStatus)) {
        let mut status = self.inner.status.lock().unwrap_or_else(|p| p.into_inner());
        // Only configured hooks (and Ko-fi's) have counters: unknown names
        // never reach here, so a scanner cannot grow this map.
        if let Some(s) = status.get_mut(name) {
            change(s);
        }
    }
}

fn count_refusal(s: &mut HookStatus, error: &HookError) {
    *s.refused.entry(error.reason().to_owned()).or_default() += 1;
    s.last_error = Some(error.message.clone());
    s.last_error_at = Some(now_ms());
}
