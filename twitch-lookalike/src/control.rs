//! Driving the mock: [`MockControl`] for code in the same process (tests,
//! benchmarks, the demo) and the same operations over HTTP under `/mock`
//! for other processes (the `stagehand trigger` command), protected by a
//! bearer secret generated at start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::helix::auth_token;
use super::hub::{Delivery, Outgoing, SessionInfo};
use super::state::UserInfo;
use super::traffic::{HelixFault, SentChatMessage};
use super::triggers::{Trigger, TriggerError};
use super::{Shared, lock};
use crate::conduits::RoutingCounts;
use crate::wire::Subscription;

/// One EventSub event a trigger produced, and where it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentEvent {
    /// The subscription type (`channel.follow`, ...).
    pub subscription_type: String,
    /// Its version.
    pub subscription_version: String,
    /// The event object, exactly as in the notification.
    pub event: Value,
    /// One entry per subscription it was delivered to (empty when nobody
    /// subscribed, or for a quiet trigger).
    pub deliveries: Vec<Delivery>,
}

/// What a trigger sent: zero or more events (a gift of N is 1 + N).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sent {
    /// The events, in the order they were sent.
    pub events: Vec<SentEvent>,
}

impl Sent {
    /// Every notification's message id, in order.
    pub fn message_ids(&self) -> Vec<String> {
        self.events
            .iter()
            .flat_map(|e| e.deliveries.iter().map(|d| d.message_id.clone()))
            .collect()
    }

    /// How many notifications went out.
    pub fn delivered(&self) -> usize {
        self.events.iter().map(|e| e.deliveries.len()).sum()
    }
}

/// Counts of the channel state and the traffic, for `GET /mock/state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// Followers.
    pub followers: usize,
    /// Subscribers.
    pub subscribers: usize,
    /// VIPs.
    pub vips: usize,
    /// Moderators.
    pub moderators: usize,
    /// Active bans and timeouts.
    pub bans: usize,
    /// Clips.
    pub clips: usize,
    /// Whether the stream is live.
    pub live: bool,
    /// Sessions connected or reconnecting.
    pub live_sessions: usize,
    /// Enabled subscriptions.
    pub enabled_subscriptions: usize,
    /// Chat messages the host sent.
    pub chat_messages_sent: usize,
    /// Requests per path.
    pub requests: BTreeMap<String, u64>,
}

/// One hosted channel, for `GET /mock/channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelSummary {
    /// The broadcaster's user id (the `broadcaster_id` Helix selects by).
    pub id: String,
    /// The broadcaster's login.
    pub login: String,
    /// Followers.
    pub followers: usize,
    /// Subscribers.
    pub subscribers: usize,
    /// Whether the stream is live.
    pub live: bool,
}

/// What a bulk follow run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkReport {
    /// The channel's broadcaster id.
    pub channel_id: String,
    /// Follows made (each a new user, now in the follower list).
    pub follows: usize,
    /// Notifications that went out for them.
    pub delivered: usize,
    /// How long the run took, in seconds.
    pub elapsed_secs: f64,
}

/// Follows per batch of a bulk run: each batch takes the locks once.
const BULK_BATCH: usize = 256;

/// A handle on a running mock: triggers, faults, and what happened.
/// Cheap to clone; every method works on the same server.
#[derive(Clone)]
pub struct MockControl {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for MockControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockControl")
            .field("base", &self.shared.http_base)
            .finish()
    }
}

impl MockControl {
    // --- channel events ------------------------------------------------------

    /// Applies a trigger: the channel state changes and the matching
    /// EventSub notifications go out. Fails for an unknown kind or a
    /// missing or invalid field.
    pub async fn trigger(&self, trigger: Trigger) -> Result<Sent, TriggerError> {
        self.shared.run_trigger(&trigger)
    }

    /// Sends a notification of any type and version with `event` as is
    /// (for types Twitch's table does not list): to the matching
    /// subscriptions, or to every live session when none match.
    pub async fn send_notification(
        &self,
        subscription_type: &str,
        version: &str,
        event: Value,
    ) -> Sent {
        let now = Utc::now();
        let mut condition = serde_json::Map::new();
        condition.insert(
            "broadcaster_user_id".to_owned(),
            Value::from(self.shared.broadcaster_id()),
        );
        let deliveries =
            lock(&self.shared.hub).deliver_any(subscription_type, version, &event, &condition, now);
        Sent {
            events: vec![SentEvent {
                subscription_type: subscription_type.to_owned(),
                subscription_version: version.to_owned(),
                event,
                deliveries,
            }],
        }
    }

    // --- state changes without notifications (polling tests) -----------------

    async fn quiet(&self, trigger: Trigger) -> Result<(), TriggerError> {
        self.shared.run_trigger(&trigger.quiet()).map(|_| ())
    }

    /// `login` follows, without a notification (EventSub missed it).
    pub async fn follow(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.follow").user(login)).await
    }

    /// `login` unfollows (EventSub never announces this).
    pub async fn unfollow(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("unfollow").user(login)).await
    }

    /// Makes `login` a VIP, without a notification.
    pub async fn add_vip(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.vip.add").user(login))
            .await
    }

    /// Removes `login`'s VIP, without a notification.
    pub async fn remove_vip(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.vip.remove").user(login))
            .await
    }

    /// Makes `login` a moderator, without a notification.
    pub async fn add_moderator(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.moderator.add").user(login))
            .await
    }

    /// Removes `login`'s moderator role, without a notification.
    pub async fn remove_moderator(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.moderator.remove").user(login))
            .await
    }

    /// `login` subscribes at `tier` ("1000"/"2000"/"3000"), without a
    /// notification.
    pub async fn subscribe(&self, login: &str, tier: &str) -> Result<(), TriggerError> {
        let trigger = Trigger {
            tier: Some(tier.to_owned()),
            ..Trigger::new("channel.subscribe").user(login)
        };
        self.quiet(trigger).await
    }

    /// `login`'s subscription ends, without a notification.
    pub async fn end_subscription(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.subscription.end").user(login))
            .await
    }

    /// Bans `login` permanently, without a notification.
    pub async fn ban(&self, login: &str, reason: &str) -> Result<(), TriggerError> {
        let trigger = Trigger {
            reason: Some(reason.to_owned()),
            ..Trigger::new("channel.ban").user(login)
        };
        self.quiet(trigger).await
    }

    /// Times `login` out for `duration`, without a notification.
    pub async fn timeout(
        &self,
        login: &str,
        duration: Duration,
        reason: &str,
    ) -> Result<(), TriggerError> {
        let trigger = Trigger {
            reason: Some(reason.to_owned()),
            duration_secs: Some(duration.as_secs().max(1)),
            ..Trigger::new("channel.ban").user(login)
        };
        self.quiet(trigger).await
    }

    /// Lifts `login`'s ban, without a notification.
    pub async fn unban(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("channel.unban").user(login)).await
    }

    /// Ends `login`'s timeout now, as if it ran out.
    pub async fn end_timeout(&self, login: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("timeout.end").user(login)).await
    }

    /// Renames `login` to `new_login` (same id).
    pub async fn rename(&self, login: &str, new_login: &str) -> Result<(), TriggerError> {
        let trigger = Trigger {
            new_login: Some(new_login.to_owned()),
            ..Trigger::new("rename").user(login)
        };
        self.quiet(trigger).await
    }

    /// `creator` makes a clip titled `title`.
    pub async fn create_clip(&self, creator: &str, title: &str) -> Result<(), TriggerError> {
        self.quiet(Trigger::new("clip").user(creator).text(title))
            .await
    }

    // --- channels --------------------------------------------------------------

    /// Hosts another channel for `login` (no followers or other state yet);
    /// answers its broadcaster's (id, login). A login that already has a
    /// channel gets that channel back. Its broadcaster has authorised the
    /// client with the configured scopes, so conduit subscriptions may
    /// name it; [`user_token`](Self::user_token) gives its user token.
    pub async fn add_channel(&self, login: &str) -> Result<(String, String), TriggerError> {
        let mut channels = lock(&self.shared.channels);
        let broadcaster = channels
            .add(login, crate::state::Seed::default(), Utc::now())
            .map_err(TriggerError::Invalid)?;
        Ok((broadcaster.id, broadcaster.login))
    }

    /// Every hosted channel, the default one first.
    pub async fn channels(&self) -> Vec<ChannelSummary> {
        lock(&self.shared.channels)
            .iter()
            .map(|channel| ChannelSummary {
                id: channel.broadcaster().id.clone(),
                login: channel.broadcaster().login.clone(),
                followers: channel.follower_total(),
                subscribers: channel.subscriber_total(),
                live: channel.live().is_some(),
            })
            .collect()
    }

    /// A new user access token of channel `channel`'s broadcaster (id or
    /// login) with the configured scopes, for Helix calls as that
    /// broadcaster (Get Channel Followers, ...). `None` for an unknown
    /// channel.
    pub async fn user_token(&self, channel: &str) -> Option<String> {
        let broadcaster = lock(&self.shared.channels)
            .select(Some(channel))
            .ok()?
            .broadcaster()
            .clone();
        let grant = crate::tokens::Grant {
            user_id: broadcaster.id,
            login: broadcaster.login,
            client_id: self.shared.options.client_id.clone(),
            scopes: self.shared.options.scopes.clone(),
        };
        Some(
            lock(&self.shared.tokens)
                .issue(grant, Utc::now())
                .access_token,
        )
    }

    /// A new app access token for the client (what the client credentials
    /// grant answers): for the conduit API.
    pub async fn app_token(&self) -> String {
        let client_id = &self.shared.options.client_id;
        lock(&self.shared.tokens).issue_app(client_id, Utc::now()).0
    }

    /// `count` new users (`bulk_follower{n}`, unique across channels)
    /// follow `channel` (id or login): each joins the follower list and is
    /// announced as a `channel.follow` notification. As fast as possible
    /// (batches of 256, yielding between them) or at `per_second`. Returns
    /// when all are sent; spawn it to run alongside.
    pub async fn bulk_follows(
        &self,
        channel: &str,
        count: usize,
        per_second: Option<f64>,
    ) -> Result<BulkReport, TriggerError> {
        let channel_id = lock(&self.shared.channels)
            .select(Some(channel))
            .map_err(|_| TriggerError::UnknownChannel(channel.to_owned()))?
            .broadcaster()
            .id
            .clone();
        let rate = per_second.filter(|r| r.is_finite() && *r > 0.0);
        let start = tokio::time::Instant::now();
        let (mut follows, mut delivered) = (0, 0);
        while follows < count {
            let batch = match rate {
                Some(rate) => {
                    // Follows due by now, at least the next one.
                    let due = (start.elapsed().as_secs_f64() * rate) as usize + 1;
                    let batch = due.min(count).saturating_sub(follows).min(BULK_BATCH);
                    if batch == 0 {
                        let next = Duration::from_secs_f64(follows as f64 / rate);
                        tokio::time::sleep_until(start + next).await;
                        continue;
                    }
                    batch
                }
                None => (count - follows).min(BULK_BATCH),
            };
            delivered += self.shared.bulk_follow(&channel_id, batch)?;
            follows += batch;
            tokio::task::yield_now().await;
        }
        Ok(BulkReport {
            channel_id,
            follows,
            delivered,
            elapsed_secs: start.elapsed().as_secs_f64(),
        })
    }

    // --- conduits ----------------------------------------------------------------

    /// What conduit routing did so far: notifications per shard, retries on
    /// a second shard, drops.
    pub async fn routing_counts(&self) -> RoutingCounts {
        lock(&self.shared.hub).routing_counts()
    }

    /// Makes the next `times` sends to session `session_id` fail as if its
    /// socket were gone, without closing it (a conduit then retries on
    /// another shard). False for an unknown session.
    pub async fn fail_sends(&self, session_id: &str, times: u32) -> bool {
        lock(&self.shared.hub).fail_sends(session_id, times)
    }

    /// The user with this login, if the mock knows them.
    pub async fn user(&self, login: &str) -> Option<UserInfo> {
        lock(&self.shared.channels).find_user_login(login)
    }

    // --- EventSub faults -----------------------------------------------------

    /// Sends `session_reconnect` to every connected session; returns the
    /// reconnect URLs. A client that does not move within the grace period
    /// is closed with 4004.
    pub async fn reconnect(&self) -> Vec<String> {
        self.shared.start_reconnect()
    }

    /// Revokes the enabled subscriptions of `subscription_type` (every one
    /// when `None`) with `status` (`user_removed`, `authorization_revoked`,
    /// `version_removed`), sending a `revocation` for each.
    pub async fn revoke(&self, subscription_type: Option<&str>, status: &str) -> Vec<Subscription> {
        lock(&self.shared.hub).revoke(subscription_type, status, Utc::now())
    }

    /// Sends `text` as a raw frame (malformed JSON, an unknown message
    /// type, ...) to every live session; returns how many got it.
    pub async fn send_raw(&self, text: &str) -> usize {
        lock(&self.shared.hub).send_raw(text)
    }

    /// Resends each session's last notification with the same message id
    /// (a duplicate, as Twitch's at-least-once delivery may send).
    pub async fn resend_last(&self) -> usize {
        lock(&self.shared.hub).resend_last()
    }

    /// Sends each session's last notification again with a new message id
    /// and a timestamp 11 minutes old (stale: the host must ignore it).
    pub async fn send_stale(&self) -> usize {
        lock(&self.shared.hub).send_stale(TimeDelta::minutes(11), Utc::now())
    }

    /// Stops keepalives on the current sessions (silent, not closed), so a
    /// watchdog must notice. New sessions get keepalives again.
    pub async fn stop_keepalives(&self) -> usize {
        lock(&self.shared.hub).tell_live(&Outgoing::Keepalives(false))
    }

    /// Turns keepalives back on for the current sessions.
    pub async fn resume_keepalives(&self) -> usize {
        lock(&self.shared.hub).tell_live(&Outgoing::Keepalives(true))
    }

    /// Drops every connection without a close frame (the TCP connection
    /// just closes); their subscriptions are disabled.
    pub async fn drop_connections(&self) -> usize {
        lock(&self.shared.hub).close_all(None, "", Utc::now())
    }

    /// Closes every connection with `code` (4000–4007, or any other);
    /// their subscriptions are disabled.
    pub async fn close_with(&self, code: u16) -> usize {
        let reason =
            crate::wire::CloseCode::from_code(code).map_or("closed by the mock", |c| c.reason());
        lock(&self.shared.hub).close_all(Some(code), reason, Utc::now())
    }

    /// Every session (also closed ones) with its subscriptions.
    pub async fn sessions(&self) -> Vec<SessionInfo> {
        lock(&self.shared.hub).snapshot()
    }

    /// Every subscription, any status.
    pub async fn subscriptions(&self) -> Vec<Subscription> {
        lock(&self.shared.hub).subscriptions()
    }

    /// Waits until at least `count` subscriptions are enabled (true), or
    /// `timeout` passes (false). Tests use it to wait for the host to
    /// finish subscribing.
    pub async fn wait_for_subscriptions(&self, count: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let enabled = lock(&self.shared.hub)
                .subscriptions()
                .iter()
                .filter(|s| s.status == "enabled")
                .count();
            if enabled >= count {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // --- Helix faults and records --------------------------------------------

    /// The next `times` requests under `path_prefix` (e.g.
    /// `channels/followers`, `/oauth2/token`) answer `status`.
    pub async fn fail_helix(&self, path_prefix: &str, status: u16, times: u32) {
        self.add_fault(HelixFault::new(path_prefix, status, times))
            .await;
    }

    /// Only page `page` (1-based; page 1 has no cursor) of the list under
    /// `path_prefix` answers `status`, once: a failure mid-pagination.
    pub async fn fail_helix_page(&self, path_prefix: &str, page: u32, status: u16) {
        self.add_fault(HelixFault::new(path_prefix, status, 1).on_page(page))
            .await;
    }

    /// Adds any fault (method, message, 429 reset delay ...).
    pub async fn add_fault(&self, fault: HelixFault) {
        lock(&self.shared.traffic).add_fault(fault);
    }

    /// Removes every waiting fault.
    pub async fn clear_faults(&self) {
        lock(&self.shared.traffic).clear_faults();
    }

    /// Requests served for `path` (`channels/followers`, `/oauth2/token`,
    /// `/ws`, ...), including those answered with a fault.
    pub async fn request_count(&self, path: &str) -> u64 {
        lock(&self.shared.traffic).request_count(path)
    }

    /// Requests per path.
    pub async fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.traffic).request_counts()
    }

    /// Forgets the request counts.
    pub async fn reset_request_counts(&self) {
        lock(&self.shared.traffic).reset_counts();
    }

    /// The chat messages the host sent, oldest first.
    pub async fn sent_chat_messages(&self) -> Vec<SentChatMessage> {
        lock(&self.shared.traffic).sent_chat().to_vec()
    }

    // --- OAuth -----------------------------------------------------------------

    /// Approves the device-flow login with `user_code` (every pending one
    /// when `None`); returns how many.
    pub async fn approve_device(&self, user_code: Option<&str>) -> usize {
        lock(&self.shared.tokens).approve(user_code)
    }

    /// Makes `access_token` expire now (validate and Helix answer 401).
    pub async fn expire_access_token(&self, access_token: &str) -> bool {
        lock(&self.shared.tokens).expire(access_token, Utc::now())
    }

    /// Makes `refresh_token` unusable ("Invalid refresh token").
    pub async fn invalidate_refresh_token(&self, refresh_token: &str) -> bool {
        lock(&self.shared.tokens).invalidate_refresh(refresh_token)
    }

    /// Replaces the scopes of `access_token` (and of tokens refreshed from
    /// it).
    pub async fn set_scopes(&self, access_token: &str, scopes: &[&str]) -> bool {
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        lock(&self.shared.tokens).set_scopes(access_token, scopes)
    }

    /// Removes one scope from `access_token`.
    pub async fn remove_scope(&self, access_token: &str, scope: &str) -> bool {
        let mut tokens = lock(&self.shared.tokens);
        let Some(mut scopes) = tokens.scopes(access_token) else {
            return false;
        };
        scopes.retain(|s| s != scope);
        tokens.set_scopes(access_token, scopes)
    }

    // --- summary -----------------------------------------------------------------

    /// Counts of everything (what `GET /mock/state` answers).
    pub async fn state(&self) -> StateCounts {
        let now = Utc::now();
        let (followers, subscribers, vips, moderators, bans, clips, live) = {
            let channels = lock(&self.shared.channels);
            let channel = channels.default_channel();
            (
                channel.follower_total(),
                channel.subscriber_total(),
                channel.vips().len(),
                channel.moderators().len(),
                channel.bans(now).len(),
                channel.clips().len(),
                channel.live().is_some(),
            )
        };
        let (live_sessions, enabled_subscriptions) = {
            let hub = lock(&self.shared.hub);
            let sessions = hub.snapshot();
            let live = sessions
                .iter()
                .filter(|s| {
                    matches!(
                        s.status,
                        super::hub::SessionStatus::Connected
                            | super::hub::SessionStatus::Reconnecting
                    )
                })
                .count();
            let enabled = hub
                .subscriptions()
                .iter()
                .filter(|s| s.status == "enabled")
                .count();
            (live, enabled)
        };
        let (chat_messages_sent, requests) = {
            let traffic = lock(&self.shared.traffic);
            (traffic.sent_chat().len(), traffic.request_counts())
        };
        StateCounts {
            followers,
            subscribers,
            vips,
            moderators,
            bans,
            clips,
            live,
            live_sessions,
            enabled_subscriptions,
            chat_messages_sent,
            requests,
        }
    }
}

// --- HTTP control API ---------------------------------------------------------------

/// The control routes under `/mock`, behind the bearer secret.
pub(super) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/mock/trigger", post(http_trigger))
        .route("/mock/notification", post(http_notification))
        .route("/mock/reconnect", post(http_reconnect))
        .route("/mock/drop", post(http_drop))
        .route("/mock/close", post(http_close))
        .route("/mock/revoke", post(http_revoke))
        .route("/mock/raw", post(http_raw))
        .route("/mock/duplicate", post(http_duplicate))
        .route("/mock/stale", post(http_stale))
        .route("/mock/keepalives", post(http_keepalives))
        .route(
            "/mock/faults",
            post(http_add_fault).delete(http_clear_faults),
        )
        .route("/mock/approve", post(http_approve))
        .route("/mock/state", get(http_state))
        .route("/mock/sessions", get(http_sessions))
        .route("/mock/chat", get(http_chat))
        .route("/mock/channels", get(http_channels).post(http_add_channel))
        .route("/mock/bulk-follows", post(http_bulk_follows))
        .route("/mock/routing", get(http_routing))
        .route("/mock/fail-sends", post(http_fail_sends))
        .layer(middleware::from_fn_with_state(shared, require_secret))
}

async fn require_secret(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let given = auth_token(request.headers(), &["Bearer"]);
    if given != Some(shared.control_secret.as_str()) {
        let body = json!({"error": "Unauthorized", "status": 401, "message": "bad control secret"});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    next.run(request).await
}

fn control(shared: Arc<Shared>) -> MockControl {
    MockControl { shared }
}

/// Reads a JSON body, treating an empty body as `{}`.
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        bytes
    };
    serde_json::from_slice(bytes)
}

/// A 400 in Helix's error shape.
fn bad_request(message: impl std::fmt::Display) -> Response {
    let body = json!({"error": "Bad Request", "status": 400, "message": message.to_string()});
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

async fn http_trigger(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let trigger: Trigger = match body(&bytes) {
        Ok(t) => t,
        Err(e) => return bad_request(e),
    };
    match control(shared).trigger(trigger).await {
        Ok(sent) => axum::Json(sent).into_response(),
        Err(e) => bad_request(e),
    }
}

#[derive(Deserialize)]
struct NotificationBody {
    subscription_type: String,
    #[serde(default = "version_one")]
    version: String,
    #[serde(default)]
    event: Value,
}

fn version_one() -> String {
    "1".to_owned()
}

async fn http_notification(
    State(shared): State<Arc<Shared>>,
    bytes: axum::body::Bytes,
) -> Response {
    let request: NotificationBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let sent = control(shared)
        .send_notification(&request.subscription_type, &request.version, request.event)
        .await;
    axum::Json(sent).into_response()
}

async fn http_reconnect(State(shared): State<Arc<Shared>>) -> Response {
    let urls = control(shared).reconnect().await;
    axum::Json(json!({"reconnect_urls": urls})).into_response()
}

async fn http_drop(State(shared): State<Arc<Shared>>) -> Response {
    let dropped = control(shared).drop_connections().await;
    axum::Json(json!({"dropped": dropped})).into_response()
}

#[derive(Deserialize)]
struct CloseBody {
    #[serde(default = "internal_error")]
    code: u16,
}

fn internal_error() -> u16 {
    4000
}

async fn http_close(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: CloseBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let closed = control(shared).close_with(request.code).await;
    axum::Json(json!({"closed": closed})).into_response()
}

#[derive(Deserialize)]
struct RevokeBody {
    #[serde(default)]
    subscription_type: Option<String>,
    #[serde(default = "authorization_revoked")]
    status: String,
}

fn authorization_revoked() -> String {
    "authorization_revoked".to_owned()
}

async fn http_revoke(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: RevokeBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let revoked = control(shared)
        .revoke(request.subscription_type.as_deref(), &request.status)
        .await;
    axum::Json(json!({"revoked": revoked})).into_response()
}

#[derive(Deserialize)]
struct RawBody {
    text: String,
}

async fn http_raw(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: RawBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let sent = control(shared).send_raw(&request.text).await;
    axum::Json(json!({"sent": sent})).into_response()
}

async fn http_duplicate(State(shared): State<Arc<Shared>>) -> Response {
    let sent = control(shared).resend_last().await;
    axum::Json(json!({"sent": sent})).into_response()
}

async fn http_stale(State(shared): State<Arc<Shared>>) -> Response {
    let sent = control(shared).send_stale().await;
    axum::Json(json!({"sent": sent})).into_response()
}

#[derive(Deserialize)]
struct KeepalivesBody {
    enabled: bool,
}

async fn http_keepalives(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: KeepalivesBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let control = control(shared);
    let sessions = if request.enabled {
        control.resume_keepalives().await
    } else {
        control.stop_keepalives().await
    };
    axum::Json(json!({"sessions": sessions})).into_response()
}

async fn http_add_fault(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let fault: HelixFault = match body(&bytes) {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    control(shared).add_fault(fault).await;
    StatusCode::NO_CONTENT.into_response()
}

async fn http_clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    control(shared).clear_faults().await;
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize, Default)]
struct ApproveBody {
    #[serde(default)]
    user_code: Option<String>,
}

async fn http_approve(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: ApproveBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let approved = control(shared)
        .approve_device(request.user_code.as_deref())
        .await;
    axum::Json(json!({"approved": approved})).into_response()
}

async fn http_state(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).state().await).into_response()
}

async fn http_sessions(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).sessions().await).into_response()
}

async fn http_chat(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).sent_chat_messages().await).into_response()
}

async fn http_channels(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).channels().await).into_response()
}

#[derive(Deserialize)]
struct AddChannelBody {
    login: String,
}

/// `POST /mock/channels {"login"}` → the broadcaster's id and login, and a
/// user token for it (other processes cannot mint one themselves).
async fn http_add_channel(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: AddChannelBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let control = control(shared);
    let (id, login) = match control.add_channel(&request.login).await {
        Ok(channel) => channel,
        Err(e) => return bad_request(e),
    };
    let access_token = control.user_token(&id).await;
    axum::Json(json!({"id": id, "login": login, "access_token": access_token})).into_response()
}

#[derive(Deserialize)]
struct BulkFollowsBody {
    /// Broadcaster id or login; the default channel when absent.
    #[serde(default)]
    channel: Option<String>,
    count: usize,
    #[serde(default)]
    per_second: Option<f64>,
}

/// `POST /mock/bulk-follows {"channel", "count", "per_second"}`: answers
/// when all are sent.
async fn http_bulk_follows(
    State(shared): State<Arc<Shared>>,
    bytes: axum::body::Bytes,
) -> Response {
    let request: BulkFollowsBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    let channel = match request.channel {
        Some(channel) => channel,
        None => shared.broadcaster_id(),
    };
    match control(shared)
        .bulk_follows(&channel, request.count, request.per_second)
        .await
    {
        Ok(report) => axum::Json(report).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn http_routing(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(control(shared).routing_counts().await).into_response()
}

#[derive(Deserialize)]
struct FailSendsBody {
    session_id: String,
    #[serde(default = "one_time")]
    times: u32,
}

fn one_time() -> u32 {
    1
}

async fn http_fail_sends(State(shared): State<Arc<Shared>>, bytes: axum::body::Bytes) -> Response {
    let request: FailSendsBody = match body(&bytes) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    if control(shared)
        .fail_sends(&request.session_id, request.times)
        .await
    {
        StatusCode::NO_CONTENT.into_response()
    } else {
        bad_request(format!("unknown session {:?}", request.session_id))
    }
}
