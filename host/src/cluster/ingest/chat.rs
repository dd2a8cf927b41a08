//! Sends the chat messages workers' plugins asked for. Workers hold no
//! Twitch token; an ingest node does (sealed in the store), so requests
//! travel on `<prefix>.chat.<channel>` to one ingest node of the queue group.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::IngestShared;
use super::poller::user_token;

#[derive(Deserialize)]
struct ChatRequest {
    text: String,
    #[serde(default)]
    plugin: Option<String>,
}

/// Takes chat requests until `stop`.
pub async fn run(shared: Arc<IngestShared>, stop: CancellationToken) {
    loop {
        match shared.bus.subscribe_chat().await {
            Ok(mut requests) => loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    next = requests.next() => match next {
                        Some((channel, payload)) => send(&shared, channel.as_str(), &payload).await,
                        None => break,
                    },
                }
            },
            Err(e) => tracing::warn!("cannot take chat requests: {e}"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

async fn send(shared: &IngestShared, channel: &str, payload: &[u8]) {
    let Ok(request) = serde_json::from_slice::<ChatRequest>(payload) else {
        tracing::warn!(channel_id = %channel, "unreadable chat request dropped");
        shared.metrics.malformed(1);
        return;
    };
    let plugin = request.plugin.unwrap_or_default();
    let token = match user_token(shared, channel).await {
        Ok(Some(token)) => token,
        Ok(None) => {
            tracing::info!(channel_id = %channel, plugin = %plugin, "chat message not sent: the channel has no Twitch token");
            return;
        }
        Err(why) => {
            tracing::warn!(channel_id = %channel, plugin = %plugin, "chat message not sent: {why}");
            return;
        }
    };
    match shared.app.send_chat(channel, &token, &request.text).await {
        Ok(()) => tracing::debug!(channel_id = %channel, plugin = %plugin, "chat message sent"),
        Err(e) => {
            tracing::warn!(channel_id = %channel, plugin = %plugin, "chat message not sent: {e}")
        }
    }
}
