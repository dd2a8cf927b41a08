//! EventSub conduits as data: each client's conduits, their shards (which
//! WebSocket session each shard is, and whether it is enabled), the choice
//! of shard for a notification, and the counts of what routing did. The
//! hub owns one [`Conduits`] beside its sessions, so assigning a session,
//! losing it and routing over the shards are decided under one lock.
//!
//! Routing follows Twitch's description of conduits: a notification goes
//! to one enabled shard, and if that shard does not take it, to one other
//! shard. Which shard is a stable hash of the broadcaster id over the
//! enabled shards, so one channel's events keep their order while the set
//! of enabled shards does not change.
//!
//! Pure: time comes in as an argument; sockets are the hub's business.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::hub::ApiError;
use crate::wire::Transport;

/// Conduits one client may have.
pub const MAX_CONDUITS_PER_CLIENT: usize = 5;
/// Shards one conduit may have.
pub const MAX_SHARDS: u32 = 20_000;
/// The subscription type announcing a disabled shard.
pub const SHARD_DISABLED: &str = "conduit.shard.disabled";
/// `max_total_cost` of an app token's subscriptions.
pub const APP_MAX_TOTAL_COST: u32 = 10_000;
/// Status of a shard that delivers.
pub const ENABLED: &str = "enabled";
/// Status of a shard whose WebSocket session closed (also of a shard that
/// never had a transport: it cannot deliver either).
pub const WEBSOCKET_DISCONNECTED: &str = "websocket_disconnected";
/// Status of a webhook shard: the look-alike never calls callbacks, so it
/// stays waiting for the verification.
pub const WEBHOOK_PENDING: &str = "webhook_callback_verification_pending";

/// The `code` of a per-shard error in Update Conduit Shards.
const INVALID_PARAMETER: &str = "invalid_parameter";

/// `{id, shard_count}`, as the conduit endpoints answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConduitInfo {
    /// The conduit id (a UUID).
    pub id: String,
    /// Number of shards.
    pub shard_count: u32,
}

/// A shard as Get Conduit Shards and Update Conduit Shards answer it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShardInfo {
    /// The shard id (its index, as a string).
    pub id: String,
    /// `enabled`, `websocket_disconnected`, ...
    pub status: String,
    /// The transport: method, session id, connected and disconnected time.
    pub transport: Transport,
}

/// A per-shard failure of Update Conduit Shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardError {
    /// The shard id as the request gave it.
    pub id: String,
    /// Twitch's message.
    pub message: String,
    /// The error code.
    pub code: String,
}

impl ShardError {
    fn new(id: &str, message: &str) -> Self {
        ShardError {
            id: id.to_owned(),
            message: message.to_owned(),
            code: INVALID_PARAMETER.to_owned(),
        }
    }
}

/// One shard update of the request body: `{id, transport}`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ShardUpdate {
    /// The shard id.
    #[serde(default)]
    pub id: serde_json::Value,
    /// `{method, session_id}` or `{method, callback, secret}`.
    #[serde(default)]
    pub transport: serde_json::Map<String, serde_json::Value>,
}

/// How many notifications each shard got, how many were retried on a
/// second shard and how many were dropped (no enabled shard, or both
/// tries failed). For tests that assert the routing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoutingCounts {
    /// Per conduit and shard, notifications delivered.
    pub shards: Vec<ShardCount>,
    /// Notifications whose first shard failed, tried on another.
    pub retried: u64,
    /// Notifications no shard took.
    pub dropped: u64,
}

/// Notifications delivered by one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShardCount {
    /// The conduit.
    pub conduit_id: String,
    /// The shard.
    pub shard_id: String,
    /// Notifications it took.
    pub delivered: u64,
}

#[derive(Debug, Clone)]
struct Shard {
    status: &'static str,
    transport: Transport,
}

impl Shard {
    fn unassigned() -> Self {
        Shard {
            status: WEBSOCKET_DISCONNECTED,
            transport: Transport {
                method: "websocket".to_owned(),
                ..Transport::default()
            },
        }
    }

    fn session(&self) -> Option<&str> {
        self.transport.session_id.as_deref()
    }
}

#[derive(Debug, Clone)]
struct Conduit {
    id: String,
    client_id: String,
    shards: Vec<Shard>,
}

impl Conduit {
    fn info(&self) -> ConduitInfo {
        ConduitInfo {
            id: self.id.clone(),
            shard_count: self.shards.len() as u32,
        }
    }
}

/// A shard the hub may send to: its id and session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The shard id.
    pub shard_id: String,
    /// The session behind it.
    pub session_id: String,
}

/// A shard that was just disabled, for the `conduit.shard.disabled` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Disabled {
    /// The conduit.
    pub conduit_id: String,
    /// Its owner.
    pub client_id: String,
    /// The shard, as it now is.
    pub shard: ShardInfo,
}

/// Every conduit and the routing counts.
#[derive(Debug, Default)]
pub struct Conduits {
    conduits: Vec<Conduit>,
    delivered: HashMap<(String, String), u64>,
    retried: u64,
    dropped: u64,
}

/// A stable hash (FNV-1a) of the routing key: the same broadcaster maps to
/// the same shard on every run.
fn stable_hash(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The shard status Twitch reports for a session that ended with `code`.
pub fn disabled_status(code: Option<u16>) -> &'static str {
    match code {
        Some(4000) => "websocket_internal_error",
        Some(4001) => "websocket_received_inbound_traffic",
        Some(4002) => "websocket_failed_ping_pong",
        Some(4004) => "websocket_failed_to_reconnect",
        Some(4005) => "websocket_network_timeout",
        Some(4006) => "websocket_network_error",
        _ => WEBSOCKET_DISCONNECTED,
    }
}

fn not_found() -> ApiError {
    ApiError::new(404, "Conduit not found")
}

fn check_shard_count(count: Option<i64>) -> Result<u32, ApiError> {
    match count {
        Some(n) if (1..=i64::from(MAX_SHARDS)).contains(&n) => Ok(n as u32),
        _ => Err(ApiError::new(
            400,
            format!("The shard_count field must be between 1 and {MAX_SHARDS}"),
        )),
    }
}

impl Conduits {
    /// No conduits.
    pub fn new() -> Self {
        Conduits::default()
    }

    fn owned(&self, client_id: &str, id: &str) -> Option<&Conduit> {
        self.conduits
            .iter()
            .find(|c| c.id == id && c.client_id == client_id)
    }

    fn owned_mut(&mut self, client_id: &str, id: &str) -> Option<&mut Conduit> {
        self.conduits
            .iter_mut()
            .find(|c| c.id == id && c.client_id == client_id)
    }

    /// Whether `client_id` owns conduit `id`.
    pub fn owns(&self, client_id: &str, id: &str) -> bool {
        self.owned(client_id, id).is_some()
    }

    /// The owner of conduit `id`.
    pub fn owner(&self, id: &str) -> Option<&str> {
        self.conduits
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.client_id.as_str())
    }

    /// Create Conduits: `shard_count` (1..=20,000) shards, none assigned.
    /// A client has at most five conduits.
    pub fn create(
        &mut self,
        client_id: &str,
        shard_count: Option<i64>,
    ) -> Result<ConduitInfo, ApiError> {
        let count = check_shard_count(shard_count)?;
        let owned = self
            .conduits
            .iter()
            .filter(|c| c.client_id == client_id)
            .count();
        if owned >= MAX_CONDUITS_PER_CLIENT {
            return Err(ApiError::new(429, "Conduit limit reached"));
        }
        let conduit = Conduit {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: client_id.to_owned(),
            shards: (0..count).map(|_| Shard::unassigned()).collect(),
        };
        let info = conduit.info();
        self.conduits.push(conduit);
        Ok(info)
    }

    /// Get Conduits: the client's conduits, oldest first.
    pub fn list(&self, client_id: &str) -> Vec<ConduitInfo> {
        self.conduits
            .iter()
            .filter(|c| c.client_id == client_id)
            .map(Conduit::info)
            .collect()
    }

    /// Update Conduits: a new shard count. New shards start unassigned;
    /// shards past the new count are gone (their sessions stay open but
    /// get nothing more).
    pub fn update(
        &mut self,
        client_id: &str,
        id: Option<&str>,
        shard_count: Option<i64>,
    ) -> Result<ConduitInfo, ApiError> {
        let id = id.ok_or_else(|| ApiError::new(400, "The id field is required"))?;
        let count = check_shard_count(shard_count)?;
        let conduit = self.owned_mut(client_id, id).ok_or_else(not_found)?;
        conduit
            .shards
            .resize_with(count as usize, Shard::unassigned);
        Ok(conduit.info())
    }

    /// Delete Conduit. The caller deletes the conduit's subscriptions.
    pub fn delete(&mut self, client_id: &str, id: &str) -> Result<(), ApiError> {
        let before = self.conduits.len();
        self.conduits
            .retain(|c| !(c.id == id && c.client_id == client_id));
        if self.conduits.len() == before {
            return Err(not_found());
        }
        Ok(())
    }

    /// Get Conduit Shards: every shard in id order, optionally only those
    /// with `status`.
    pub fn shards(
        &self,
        client_id: &str,
        id: &str,
        status: Option<&str>,
    ) -> Result<Vec<ShardInfo>, ApiError> {
        let conduit = self.owned(client_id, id).ok_or_else(not_found)?;
        Ok(conduit
            .shards
            .iter()
            .enumerate()
            .filter(|(_, s)| status.is_none_or(|want| s.status == want))
            .map(|(index, s)| shard_info(index, s))
            .collect())
    }

    /// Update Conduit Shards for one shard. `session_live` tells whether a
    /// WebSocket session exists and is connected; `connected_at` is when
    /// its welcome went out. Answers the shard as it now is, or Twitch's
    /// per-shard error.
    pub fn assign(
        &mut self,
        client_id: &str,
        id: &str,
        update: &ShardUpdate,
        session_connected_at: impl Fn(&str) -> Option<DateTime<Utc>>,
    ) -> Result<ShardInfo, ShardError> {
        let shard_id = match &update.id {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            _ => String::new(),
        };
        let conduit = self
            .owned_mut(client_id, id)
            .ok_or_else(|| ShardError::new(&shard_id, "Conduit not found"))?;
        let index = shard_id
            .parse::<usize>()
            .ok()
            .filter(|&index| index < conduit.shards.len() && index.to_string() == shard_id)
            .ok_or_else(|| {
                ShardError::new(&shard_id, "The shard id is outside the conduit's range")
            })?;
        let field = |key: &str| {
            update
                .transport
                .get(key)
                .and_then(serde_json::Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let shard = match field("method") {
            Some("websocket") => {
                let session_id = field("session_id").ok_or_else(|| {
                    ShardError::new(
                        &shard_id,
                        "The session_id field is required if you specify the WebSocket transport method",
                    )
                })?;
                let connected_at = session_connected_at(session_id).ok_or_else(|| {
                    ShardError::new(&shard_id, "The websocket session is not connected")
                })?;
                Shard {
                    status: ENABLED,
                    transport: Transport {
                        connected_at: Some(connected_at),
                        ..Transport::websocket(session_id)
                    },
                }
            }
            Some("webhook") => {
                let callback = field("callback").ok_or_else(|| {
                    ShardError::new(
                        &shard_id,
                        "The callback field is required if you specify the webhook transport method",
                    )
                })?;
                let https_443 = url::Url::parse(callback).is_ok_and(|url| {
                    url.scheme() == "https" && url.port_or_known_default() == Some(443)
                });
                if !https_443 {
                    return Err(ShardError::new(
                        &shard_id,
                        "The URL in the transport's callback field is not valid. The URL must use the HTTPS protocol and the 443 port number",
                    ));
                }
                let secret_ok = field("secret").is_some_and(|s| (10..=100).contains(&s.len()));
                if !secret_ok {
                    return Err(ShardError::new(
                        &shard_id,
                        "The length of the string in the secret field is not valid",
                    ));
                }
                Shard {
                    status: WEBHOOK_PENDING,
                    transport: Transport {
                        method: "webhook".to_owned(),
                        callback: Some(callback.to_owned()),
                        ..Transport::default()
                    },
                }
            }
            _ => {
                return Err(ShardError::new(
                    &shard_id,
                    "The value specified in the method field is not valid",
                ));
            }
        };
        conduit.shards[index] = shard;
        Ok(shard_info(index, &conduit.shards[index]))
    }

    /// The session `session_id` ended with `code`: every enabled shard it
    /// was is disabled. Returns those shards for the
    /// `conduit.shard.disabled` notifications.
    pub fn session_closed(
        &mut self,
        session_id: &str,
        code: Option<u16>,
        now: DateTime<Utc>,
    ) -> Vec<Disabled> {
        let status = disabled_status(code);
        let mut disabled = Vec::new();
        for conduit in &mut self.conduits {
            for (index, shard) in conduit.shards.iter_mut().enumerate() {
                if shard.status == ENABLED && shard.session() == Some(session_id) {
                    shard.status = status;
                    shard.transport.disconnected_at = Some(now);
                    disabled.push(Disabled {
                        conduit_id: conduit.id.clone(),
                        client_id: conduit.client_id.clone(),
                        shard: shard_info(index, shard),
                    });
                }
            }
        }
        disabled
    }

    /// A client followed `session_reconnect` from `old` to `new`: the
    /// shards it was move with it. Returns whether any did.
    pub fn session_moved(&mut self, old: &str, new: &str, now: DateTime<Utc>) -> bool {
        let mut moved = false;
        for shard in self.conduits.iter_mut().flat_map(|c| c.shards.iter_mut()) {
            if shard.status == ENABLED && shard.session() == Some(old) {
                shard.transport.session_id = Some(new.to_owned());
                shard.transport.connected_at = Some(now);
                moved = true;
            }
        }
        moved
    }

    /// Where a notification of conduit `id` for `key` (the broadcaster id)
    /// goes: the enabled shard the key hashes to, then (for a retry) the
    /// next enabled shard. Empty when no shard is enabled.
    pub fn route(&self, id: &str, key: &str) -> Vec<Target> {
        let Some(conduit) = self.conduits.iter().find(|c| c.id == id) else {
            return Vec::new();
        };
        let enabled: Vec<(usize, &str)> = conduit
            .shards
            .iter()
            .enumerate()
            .filter(|(_, s)| s.status == ENABLED)
            .filter_map(|(index, s)| s.session().map(|session| (index, session)))
            .collect();
        if enabled.is_empty() {
            return Vec::new();
        }
        let first = (stable_hash(key) % enabled.len() as u64) as usize;
        let mut targets = vec![first];
        if enabled.len() > 1 {
            targets.push((first + 1) % enabled.len());
        }
        targets
            .into_iter()
            .map(|position| {
                let (index, session) = enabled[position];
                Target {
                    shard_id: index.to_string(),
                    session_id: session.to_owned(),
                }
            })
            .collect()
    }

    /// Counts a notification shard `shard_id` of conduit `id` took.
    pub fn count_delivered(&mut self, id: &str, shard_id: &str) {
        *self
            .delivered
            .entry((id.to_owned(), shard_id.to_owned()))
            .or_default() += 1;
    }

    /// Counts a notification tried on a second shard.
    pub fn count_retried(&mut self) {
        self.retried += 1;
    }

    /// Counts a notification no shard took.
    pub fn count_dropped(&mut self) {
        self.dropped += 1;
    }

    /// The routing counts, shards sorted by conduit and shard number.
    pub fn counts(&self) -> RoutingCounts {
        let mut shards: Vec<ShardCount> = self
            .delivered
            .iter()
            .map(|((conduit_id, shard_id), delivered)| ShardCount {
                conduit_id: conduit_id.clone(),
                shard_id: shard_id.clone(),
                delivered: *delivered,
            })
            .collect();
        shards.sort_by(|a, b| {
            let number = |s: &ShardCount| s.shard_id.parse::<u64>().unwrap_or(u64::MAX);
            (a.conduit_id.as_str(), number(a)).cmp(&(b.conduit_id.as_str(), number(b)))
        });
        RoutingCounts {
            shards,
            retried: self.retried,
            dropped: self.dropped,
        }
    }
}

fn shard_info(index: usize, shard: &Shard) -> ShardInfo {
    ShardInfo {
        id: index.to_string(),
        status: shard.status.to_owned(),
        transport: shard.transport.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(id: serde_json::Value, transport: serde_json::Value) -> ShardUpdate {
        serde_json::from_value(json!({"id": id, "transport": transport})).unwrap()
    }

    fn live(session: &str) -> Option<DateTime<Utc>> {
        session.starts_with("live").then(Utc::now)
    }

    #[test]
    fn conduits_are_per_client_and_limited_to_five() {
        let mut conduits = Conduits::new();
        for _ in 0..5 {
            conduits.create("a", Some(2)).unwrap();
        }
        assert_eq!(conduits.create("a", Some(1)).unwrap_err().status, 429);
        assert_eq!(conduits.create("b", Some(0)).unwrap_err().status, 400);
        assert_eq!(conduits.create("b", Some(20_001)).unwrap_err().status, 400);
        let b = conduits.create("b", Some(20_000)).unwrap();
        assert_eq!(conduits.list("a").len(), 5);
        assert_eq!(conduits.list("b"), std::slice::from_ref(&b));
        assert_eq!(
            conduits
                .update("a", Some(&b.id), Some(3))
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            conduits
                .update("b", Some(&b.id), Some(3))
                .unwrap()
                .shard_count,
            3
        );
        assert_eq!(conduits.delete("a", &b.id).unwrap_err().status, 404);
        conduits.delete("b", &b.id).unwrap();
        assert!(conduits.list("b").is_empty());
    }

    #[test]
    fn shards_are_assigned_checked_and_disabled() {
        let mut conduits = Conduits::new();
        let c = conduits.create("a", Some(2)).unwrap();
        let ok = conduits
            .assign(
                "a",
                &c.id,
                &update(
                    json!("0"),
                    json!({"method": "websocket", "session_id": "live1"}),
                ),
                live,
            )
            .unwrap();
        assert_eq!(ok.status, ENABLED);
        let errors = [
            update(
                json!("2"),
                json!({"method": "websocket", "session_id": "live1"}),
            ),
            update(
                json!("1"),
                json!({"method": "websocket", "session_id": "gone"}),
            ),
            update(json!("1"), json!({"method": "websocket"})),
            update(json!("1"), json!({"method": "carrier_pigeon"})),
            update(
                json!("1"),
                json!({"method": "webhook", "callback": "http://x"}),
            ),
        ];
        for bad in &errors {
            assert!(conduits.assign("a", &c.id, bad, live).is_err(), "{bad:?}");
        }
        let shards = conduits.shards("a", &c.id, None).unwrap();
        assert_eq!(shards[1].status, WEBSOCKET_DISCONNECTED);
        assert_eq!(conduits.shards("a", &c.id, Some(ENABLED)).unwrap().len(), 1);

        assert_eq!(conduits.route(&c.id, "100").len(), 1);
        let disabled = conduits.session_closed("live1", Some(4004), Utc::now());
        assert_eq!(disabled.len(), 1);
        assert_eq!(disabled[0].shard.status, "websocket_failed_to_reconnect");
        assert!(disabled[0].shard.transport.disconnected_at.is_some());
        assert!(conduits.route(&c.id, "100").is_empty());
    }

    #[test]
    fn routing_is_stable_per_key_and_offers_one_other_shard() {
        let mut conduits = Conduits::new();
        let c = conduits.create("a", Some(4)).unwrap();
        for shard in 0..4 {
            let session = format!("live{shard}");
            conduits
                .assign(
                    "a",
                    &c.id,
                    &update(
                        json!(shard.to_string()),
                        json!({"method": "websocket", "session_id": session}),
                    ),
                    live,
                )
                .unwrap();
        }
        let first = conduits.route(&c.id, "100000002");
        assert_eq!(first.len(), 2);
        assert_ne!(first[0], first[1]);
        assert_eq!(conduits.route(&c.id, "100000002"), first);
        let spread: std::collections::HashSet<String> = (0..64)
            .map(|n| {
                conduits.route(&c.id, &format!("1000{n}"))[0]
                    .shard_id
                    .clone()
            })
            .collect();
        assert!(spread.len() > 1, "keys spread over shards");
        assert!(conduits.session_moved("live0", "live9", Utc::now()));
        let shards = conduits.shards("a", &c.id, Some(ENABLED)).unwrap();
        assert_eq!(shards[0].transport.session_id.as_deref(), Some("live9"));
    }
}
