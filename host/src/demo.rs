//! `stagehand demo`: the whole host against the built-in Twitch look-alike,
//! with a believable stream of events and no account. The host itself runs
//! unchanged; only the Twitch URLs and token point at the look-alike.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Secret};
use crate::hooks::{Hooks, kofi};
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
