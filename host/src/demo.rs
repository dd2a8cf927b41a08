//! `stagehand demo`: the whole host against the built-in Twitch look-alike,
//! with a believable stream of events and no account. The host itself runs
//! unchanged; only the Twitch URLs and token point at the look-alike.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Secret};
use crate::external::redis::protocol;
use crate::hooks::{Hooks, kofi};
use crate::pipeline::EventSender;
use crate::secrets;
use twitch_lookalike::demo::DemoStream;
use twitch_lookalike::{MockOptions, MockTwitch};

/// Where a running demo tells `stagehand trigger` how to reach its
/// look-alike (mode 0600: it holds the control secret).
pub const DEMO_FILE: &str = "demo-twitch.json";

/// What `stagehand trigger` reads from [`DEMO_FILE`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoEndpoint {
    /// The look-alike's control API, e.g. `http://127.0.0.1:PORT/mock`.
    pub control_url: String,
    /// Bearer secret for the control API.
    pub control_secret: String,
}

/// The demo's look-alike and its event generator.
pub struct DemoTwitch {
    mock: MockTwitch,
    stream_stop: CancellationToken,
    file: PathBuf,
}

impl DemoTwitch {
    /// Starts the look-alike and points `config` at it.
    pub async fn start(config: &mut Config) -> Result<DemoTwitch> {
        let options = MockOptions {
            followers: 240,
            subscribers: 18,
            vips: 4,
            moderators: 3,
            bans: 2,
            ..MockOptions::default()
        };
        let mock = MockTwitch::start(options)
            .await
            .context("cannot start the Twitch look-alike")?;
        config.twitch.eventsub_url = mock.eventsub_url();
        config.twitch.api_url = mock.api_url();
        config.twitch.eventsub_api_url = mock.api_url();
        config.twitch.auth_url = mock.auth_url();
        config.twitch.client_id = Some(mock.client_id().to_owned());
        config.twitch.access_token = Some(mock.access_token().to_owned());
        // The demo's donations come through the Ko-fi hook, which needs a
        // token: a fresh one unless the streamer set theirs.
        if config.hooks.kofi_token.is_none() {
            config.hooks.kofi_token = Some(Secret::new(secrets::generate()));
        }
        let file = config.data_dir.join(DEMO_FILE);
        crate::secrets::private_dir(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
        let endpoint = DemoEndpoint {
            control_url: mock.control_url(),
            control_secret: mock.control_secret().to_owned(),
        };
        secrets::store(&file, &serde_json::to_string(&endpoint)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(DemoTwitch {
            mock,
            stream_stop: CancellationToken::new(),
            file,
        })
    }

    /// Starts generating events, one every `mean` on average (none when
    /// zero).
    pub fn generate(&self, mean: Duration) {
        if mean.is_zero() {
            return;
        }
        let stream = DemoStream::new(self.mock.control(), mean, None);
        tokio::spawn(stream.run(self.stream_stop.clone()));
    }

    /// Also generates the Discord events a streamer's bot would publish
    /// (see [`demo_external_events`]), for `channel_id`, until the demo
    /// stops generating.
    pub fn generate_external(&self, events: EventSender, channel_id: String, mean: Duration) {
        if mean.is_zero() {
            return;
        }
        tokio::spawn(demo_external_events(
            events,
            channel_id,
            mean,
            self.stream_stop.clone(),
        ));
    }

    /// Stops generating events (Twitch and Discord): called before the
    /// host stops, since the Discord generator holds an event sender.
    pub fn stop_generating(&self) {
        self.stream_stop.cancel();
    }

    /// Stops the generator and the look-alike.
    pub async fn stop(self) {
        self.stream_stop.cancel();
        let _ = std::fs::remove_file(&self.file);
        self.mock.shutdown().await;
    }
}

/// Now and then (about one event in twelve of the demo's `mean` gap) a
/// Ko-fi payment: a form body exactly as Ko-fi sends it, with `token`,
/// taken by [`Hooks::receive_kofi`] like a real one (parsed, checked,
/// private messages dropped, stored once, alerted). Runs until `stop`.
pub fn demo_donations(hooks: Hooks, token: String, mean: Duration, stop: CancellationToken) {
    use rand::RngExt;
    if mean.is_zero() {
        return;
    }
    const NAMES: [&str; 8] = [
        "Ko-fi Supporter",
        "Mara",
        "pixelpaul",
        "Juniper",
        "Theo K.",
        "nightowl",
        "Ines",
        "",
    ];
    const MESSAGES: [&str; 5] = [
        "Keep it up!",
        "For the coffee fund",
        "Loved today's stream",
        "",
        "Happy birthday to the channel!",
    ];
    const AMOUNTS: [&str; 8] = [
        "3.00", "3.00", "5.00", "5.00", "10.00", "15.00", "25.00", "100.00",
    ];
    tokio::spawn(async move {
        let mut rng: rand::rngs::StdRng = rand::make_rng();
        loop {
            let wait = mean.mul_f64(12.0 * rng.random_range(0.5..1.5));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let pick = |rng: &mut rand::rngs::StdRng, list: &[&'static str]| {
                list[rng.random_range(0..list.len())]
            };
            let subscription = rng.random_bool(0.2);
            let data = serde_json::json!({
                "verification_token": token,
                "message_id": uuid::Uuid::now_v7().to_string(),
                "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "type": if subscription { "Subscription" } else { "Donation" },
                "is_public": rng.random_bool(0.8),
                "from_name": pick(&mut rng, &NAMES),
                "message": pick(&mut rng, &MESSAGES),
                "amount": pick(&mut rng, &AMOUNTS),
                "currency": "USD",
                "is_subscription_payment": subscription,
                "is_first_subscription_payment": subscription,
                "tier_name": if subscription { serde_json::Value::from("Supporter") } else { serde_json::Value::Null },
            });
            let body = kofi::form_body(&data);
            if let Some(Err(e)) = hooks.receive_kofi(body.as_bytes()).await {
                tracing::warn!(error = %e.message, "the demo's donation was refused");
            }
        }
    });
}

/// The channel the demo's Discord bot would publish on.
const DEMO_DISCORD_CHANNEL: &str = "discord_events";
/// The demo's Discord server.
const DEMO_GUILD: &str = "112233445566778899";
/// Discord events are rarer than Twitch ones: one per this many of the
/// Twitch generator's mean gaps, on average.
const DISCORD_EVENT_RARITY: u32 = 4;

/// The demo's Discord community: a bot's messages in the shape it
/// publishes on Redis (members join and leave, a giveaway is created,
/// entered and ended, a ticket is opened and closed), each read by the
/// Redis bridge's own protocol code and sent into the pipeline with source
/// `external`, so the demo shows exactly what a real bot's events look
/// like. Runs until `stop`.
pub async fn demo_external_events(
    events: EventSender,
    channel_id: String,
    mean: Duration,
    stop: CancellationToken,
) {
    const MEMBERS: &[&str] = &[
        "PixelPanda",
        "NeonOtter",
        "SleepyFalcon",
        "TurboBadger",
        "CosmicLlama",
        "QuietYeti",
    ];
    const PRIZES: &[&str] = &[
        "Steam key",
        "Channel merch",
        "Nitro (1 month)",
        "Signed poster",
    ];
    let pick = |list: &[&'static str]| list[rand::random_range(0..list.len())];
    let member = |n: usize| {
        let name = pick(MEMBERS);
        serde_json::json!({"userId": format!("4000000000000000{n:02}"), "username": name})
    };
    let mut step: usize = 0;
    let mut giveaway = 0u32;
    let mut ticket = 0u32;
    loop {
        let gap = mean.mul_f64(f64::from(DISCORD_EVENT_RARITY) * (0.5 + rand::random::<f64>()));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(gap) => {}
        }
        let n = rand::random_range(0..100usize);
        let (message_type, data) = match step % 8 {
            0 => ("MEMBER_JOIN", member(n)),
            1 => {
                giveaway += 1;
                (
                    "GIVEAWAY_CREATE",
                    serde_json::json!({"giveawayId": format!("demo-g{giveaway}"), "prize": pick(PRIZES)}),
                )
            }
            2 | 3 => {
                let mut entry = member(n);
                entry["giveawayId"] = format!("demo-g{giveaway}").into();
                ("GIVEAWAY_ENTRY", entry)
            }
            4 => {
                let winner = member(n);
                (
                    "GIVEAWAY_END",
                    serde_json::json!({
                        "giveawayId": format!("demo-g{giveaway}"),
                        "winnerId": winner["userId"],
                        "username": winner["username"],
                    }),
                )
            }
            5 => {
                ticket += 1;
                let mut opened = member(n);
                opened["ticketId"] = format!("demo-t{ticket}").into();
                ("TICKET_CREATE", opened)
            }
            6 => (
                "TICKET_CLOSE",
                serde_json::json!({"ticketId": format!("demo-t{ticket}")}),
            ),
            _ => ("MEMBER_LEAVE", member(n)),
        };
        step += 1;
        let now = crate::event::now_ms();
        let payload = protocol::discord_message(message_type, DEMO_GUILD, now, data);
        match protocol::parse(DEMO_DISCORD_CHANNEL, payload.as_bytes(), &channel_id, now) {
            Ok(event) => {
                tracing::debug!(kind = %event.kind, "demo Discord event");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    sent = events.send(event) => {
                        if sent.is_err() {
                            return;
                        }
                    }
                }
            }
            Err(malformed) => tracing::warn!(%malformed, "a demo Discord message did not parse"),
        }
    }
}

/// Reads the running demo's endpoint from `data_dir`.
pub fn read_endpoint(data_dir: &Path) -> Result<DemoEndpoint> {
    let file = data_dir.join(DEMO_FILE);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "no running demo found ({} is missing): start `stagehand demo` first",
            file.display()
        )
    })?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a demo endpoint", file.display()))
}

/// A Helix client logged in to `mock` with its pre-issued token (`retry`:
/// quicker retries for tests; `None` keeps the defaults): how tests and
/// benchmarks talk to the look-alike through the host's own client.
pub async fn lookalike_helix(
    mock: &MockTwitch,
    retry: Option<crate::twitch::helix::RetryPolicy>,
) -> Result<crate::twitch::helix::HelixClient> {
    let http = crate::app::twitch_http_client()?;
    let auth = crate::twitch::auth::TwitchAuth::new(
        http.clone(),
        &mock.auth_url(),
        Some(mock.client_id().to_owned()),
        None,
        Some(mock.access_token().to_owned()),
    );
    auth.start().await.context("the look-alike's token")?;
    let helix = crate::twitch::helix::HelixClient::new(http, &mock.api_url(), auth);
    Ok(match retry {
        Some(policy) => helix.with_retry(policy),
        None => helix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Source};
    use crate::live::LiveFeed;
    use crate::pipeline::{Pipeline, PipelineOptions};
    use crate::store::{Store, StoreOptions};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_discord_bot_goes_through_the_redis_protocol() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.db"), StoreOptions::default()).unwrap();
        let feed = LiveFeed::new(256);
        let mut live = feed.subscribe();
        let (pipeline, events) = Pipeline::new(store, feed, PipelineOptions::default());
        tokio::spawn(pipeline.run());
        let stop = CancellationToken::new();
        let generator = tokio::spawn(demo_external_events(
            events,
            "demo-channel".into(),
            Duration::from_millis(1),
            stop.clone(),
        ));
        let mut kinds = Vec::new();
        while kinds.len() < 8 {
            if let crate::live::Received::Message(crate::live::LiveMessage::Event(stored)) =
                live.recv().await
            {
                assert_eq!(stored.event.source, Source::External);
                assert_eq!(stored.event.channel_id, "demo-channel");
                assert!(stored.event.id.starts_with("redis:"), "{}", stored.event.id);
                kinds.push(stored.event.kind.clone());
            }
        }
        stop.cancel();
        generator.await.unwrap();
        for kind in [
            EventKind::DiscordMemberJoin,
            EventKind::DiscordGiveawayCreate,
            EventKind::DiscordGiveawayEntry,
            EventKind::DiscordGiveawayEnd,
            EventKind::DiscordTicketCreate,
            EventKind::DiscordTicketClose,
            EventKind::DiscordMemberLeave,
        ] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }
    }
}
