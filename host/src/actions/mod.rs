//! The action executor: carries out what plugins decided, after checking
//! that the plugin declared (and the streamer granted) each effect. Alerts go
//! through the renderer plugins into the overlay queue; TTS rules into the
//! store; webhooks out in the background; chat to Twitch.

pub mod alerts;
pub mod media;
pub mod tts_expiry;
pub mod webhook;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::event::{EventKind, now_ms};
use crate::live::{LiveFeed, LiveMessage};
use crate::plugins::PluginHost;
use crate::plugins::convert::alert_to_json;
use crate::plugins::manifest::Permission;
use crate::plugins::quotas;
use crate::plugins::runtime::wit;
use crate::plugins::worker::ActionBatch;
use crate::store::{self, Store, StoreError};
use crate::tts::{Heard, SpeechService};
use alerts::{OverlayQueue, valid_overlay_name};
use webhook::WebhookSender;

/// Sends chat messages to Twitch; present once the host is logged in.
pub trait ChatOut: Send + Sync {
    fn send(&self, text: String) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

/// What an action needs the streamer to have allowed.
pub fn required_permission(action: &wit::Action) -> Option<Permission> {
    match action {
        wit::Action::ShowAlert(_) | wit::Action::Speak(_) => None,
        wit::Action::SendChat(_) => Some(Permission::Chat),
        wit::Action::MuteTts(_)
        | wit::Action::UnmuteTts(_)
        | wit::Action::CooldownTts(_)
        | wit::Action::ClearTts(_) => Some(Permission::TtsRules),
        // The host is checked against the URL when the webhook is sent.
        wit::Action::Webhook(_) => None,
    }
}

/// Rejects alerts no overlay could show sensibly, or that would show
/// media from a host the streamer did not allow (`media_hosts`).
pub fn validate_alert(alert: &wit::Alert, media_hosts: &BTreeSet<String>) -> Result<(), String> {
    if !valid_overlay_name(&alert.overlay) {
        return Err(format!(
            "overlay {:?} is not a name of a-z, 0-9 and -",
            alert.overlay
        ));
    }
    if alert.duration_ms == 0 || alert.duration_ms > quotas::MAX_ALERT_DURATION_MS {
        return Err(format!(
            "duration_ms {} is outside 1 to {}",
            alert.duration_ms,
            quotas::MAX_ALERT_DURATION_MS
        ));
    }
    let texts = [
        ("title", Some(&alert.title), quotas::MAX_ALERT_TITLE),
        ("message", Some(&alert.message), quotas::MAX_ALERT_MESSAGE),
        ("tts", alert.tts.as_ref(), quotas::MAX_ALERT_TTS),
        ("html", alert.html.as_ref(), quotas::MAX_ALERT_MARKUP),
        ("css", alert.css.as_ref(), quotas::MAX_ALERT_MARKUP),
    ];
    for (field, text, max) in texts {
        if let Some(text) = text
            && text.len() > max
        {
            return Err(format!(
                "alert {field} of {} bytes; at most {max}",
                text.len()
            ));
        }
    }
    for url in [&alert.image_url, &alert.sound_url, &alert.video_url]
        .into_iter()
        .flatten()
    {
        media::check_url(url, media_hosts)?;
    }
    let empty = alert.title.is_empty()
        && alert.message.is_empty()
        && alert.tts.is_none()
        && alert.html.is_none()
        && alert.image_url.is_none()
        && alert.video_url.is_none()
        && alert.sound_url.is_none();
    if empty {
        return Err("the alert has nothing to show".into());
    }
    Ok(())
}

/// Carries out actions.
pub struct Executor {
    pub store: Store,
    pub plugins: PluginHost,
    pub overlays: OverlayQueue,
    pub webhooks: WebhookSender,
    pub chat: Option<Arc<dyn ChatOut>>,
    pub feed: LiveFeed,
    /// Plugins' `speak` goes through the speech queue and, for a chat
    /// message, through the same access policy and rules as chat itself.
    pub speech: SpeechService,
}

impl Executor {
    /// Runs until every sender of action batches is gone, or until `stop`
    /// is cancelled; then carries out what is already queued and returns.
    pub async fn run(self, mut rx: mpsc::Receiver<ActionBatch>, stop: CancellationToken) {
        loop {
            let batch = tokio::select! {
                batch = rx.recv() => batch,
                _ = stop.cancelled() => break,
            };
            match batch {
                Some(batch) => self.execute_guarded(batch).await,
                None => return,
            }
        }
        while let Ok(batch) = rx.try_recv() {
            self.execute_guarded(batch).await;
        }
    }

    /// Carries out a batch; a panic in that (a bug) costs the batch, not
    /// the executor.
    async fn execute_guarded(&self, batch: ActionBatch) {
        let plugin = batch.plugin.clone();
        let run = std::panic::AssertUnwindSafe(self.execute_batch(batch));
        if let Err(panic) = futures_util::FutureExt::catch_unwind(run).await {
            let why = crate::health::panic_message(&*panic);
            tracing::error!(
                plugin = &*plugin,
                "carrying out a plugin's actions crashed: {why}"
            );
            self.plugins.report(
                &plugin,
                format!("its actions could not be carried out (host error: {why})"),
            );
        }
    }

    async fn execute_batch(&self, batch: ActionBatch) {
        for action in &batch.actions {
            if let Err(why) = self.execute(&batch, action).await {
                tracing::warn!(plugin = &*batch.plugin, event_id = %batch.event.event.id, "action refused: {why}");
                self.plugins
                    .report(&batch.plugin, format!("action refused: {why}"));
                self.answer_in_chat(&batch, action, &why).await;
            }
        }
    }

    /// A TTS-rule command from chat that could not be carried out (an
    /// unknown viewer, say) is answered in chat, so the moderator knows,
    /// when the plugin may chat.
    async fn answer_in_chat(&self, batch: &ActionBatch, action: &wit::Action, why: &str) {
        let event = &batch.event.event;
        let is_rule = required_permission(action) == Some(Permission::TtsRules);
        if !is_rule
            || event.kind != EventKind::ChatMessage
            || !batch.permissions.contains(&Permission::Chat)
        {
            return;
        }
        let (Some(chat), Some(who)) = (&self.chat, &event.viewer) else {
            return;
        };
        let reply: String = format!("@{} {}: {why}", who.login, action_name(action))
            .chars()
            .take(500)
            .collect();
        if let Err(e) = chat.send(reply).await {
            tracing::warn!(error = %e, "cannot answer a refused chat command");
        }
    }

    async fn execute(&self, batch: &ActionBatch, action: &wit::Action) -> Result<(), String> {
        if let Some(needed) = required_permission(action)
            && !batch.permissions.contains(&needed)
        {
            return Err(format!(
                "{} needs permission \"{}\", which the plugin's plugin.toml does not declare",
                action_name(action),
                needed.key()
            ));
        }
        let channel = batch.event.event.channel_id.clone();
        match action {
            wit::Action::ShowAlert(alert) => {
                validate_alert(alert, &media::granted_hosts(&batch.permissions))?;
                let granted = self.plugins.media_hosts();
                let check = |a: &wit::Alert| validate_alert(a, &granted);
                let alert = self.plugins.render(alert.clone(), check).await;
                self.queue(&alert.overlay.clone(), batch, alert_to_json(&alert))
                    .await
            }
            wit::Action::Speak(text) => self.speak(batch, text).await,
            wit::Action::SendChat(text) => {
                if text.trim().is_empty() || text.chars().count() > quotas::MAX_CHAT_MESSAGE {
                    return Err(format!(
                        "chat messages must be 1 to {} characters",
                        quotas::MAX_CHAT_MESSAGE
                    ));
                }
                match &self.chat {
                    Some(chat) => chat.send(text.clone()).await,
                    None => {
                        Err("not connected to Twitch chat; log in to send chat messages".into())
                    }
                }
            }
            wit::Action::MuteTts(m) => {
                crate::viewer_rules::check_mute(m.minutes)?;
                let minutes = m.minutes;
                self.tts_rule(&channel, &m.login, &batch.plugin, move |c, ch, id, by| {
                    store::tts_rules::mute(c, ch, id, minutes, Some(by), now_ms())
                })
                .await?;
                // Muted now: what they already queued is not said either.
                self.speech
                    .silence(&m.login)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("muted, but cannot withdraw their queued speech: {e}"))
            }
            wit::Action::CooldownTts(cd) => {
                crate::viewer_rules::check_cooldown(cd.gap_seconds, cd.minutes)?;
                let (gap, minutes) = (cd.gap_seconds, cd.minutes);
                self.tts_rule(&channel, &cd.login, &batch.plugin, move |c, ch, id, by| {
                    store::tts_rules::cooldown(c, ch, id, gap, minutes, Some(by), now_ms())
                })
                .await
            }
            wit::Action::UnmuteTts(login) => {
                self.tts_rule(&channel, login, &batch.plugin, |c, ch, id, _| {
                    store::tts_rules::remove(c, ch, id, Some(store::tts_rules::RuleType::Mute))
                        .map(|_| ())
                })
                .await
            }
            wit::Action::ClearTts(login) => {
                self.tts_rule(&channel, login, &batch.plugin, |c, ch, id, _| {
                    store::tts_rules::remove(c, ch, id, None).map(|_| ())
                })
                .await
            }
            wit::Action::Webhook(req) => {
                let url = webhook::check_url(&req.url, &batch.permissions)?;
                if serde_json::from_str::<serde_json::Value>(&req.body).is_err() {
                    return Err("webhook body is not JSON".into());
                }
                self.webhooks
                    .spawn(batch.plugin.to_string(), url, req.body.clone());
                Ok(())
            }
        }
    }

    async fn speak(&self, batch: &ActionBatch, text: &str) -> Result<(), String> {
        let event = &batch.event.event;
        let plugin = Some(batch.plugin.to_string());
        if event.kind == EventKind::ChatMessage
            && let Some(viewer) = &event.viewer
        {
            // Reading a chatter aloud: their access, mute and gap apply.
            let heard = self
                .speech
                .admit_and_queue(
                    &event.channel_id,
                    &viewer.id,
                    &viewer.login,
                    &viewer.display_name,
                    text,
                    Some(event.id.clone()),
                    plugin,
                )
                .await
                .map_err(|e| format!("cannot queue speech: {e}"))?;
            if let Heard::Refused(why) = heard {
                tracing::debug!(event_id = %event.id, reason = %why.reason(), "plugin speech for a chatter not read");
            }
            return Ok(());
        }
        match self
            .speech
            .queue_plain(text, Some(event.id.clone()), plugin)
            .await
            .map_err(|e| format!("cannot queue speech: {e}"))?
        {
            Ok(_) => Ok(()),
            Err(why) => Err(format!("speech not queued: {}", why.reason())),
        }
    }

    async fn queue(
        &self,
        overlay: &str,
        batch: &ActionBatch,
        payload: serde_json::Value,
    ) -> Result<(), String> {
        self.overlays
            .enqueue(
                overlay,
                Some(batch.event.event.id.clone()),
                Some(batch.plugin.to_string()),
                payload,
            )
            .await
            .map(|_| ())
            .map_err(|e| format!("cannot queue the alert: {e}"))
    }

    async fn tts_rule<F>(
        &self,
        channel: &str,
        login: &str,
        plugin: &Arc<str>,
        apply: F,
    ) -> Result<(), String>
    where
        F: FnOnce(&rusqlite::Connection, &str, i64, &str) -> Result<(), StoreError>
            + Send
            + 'static,
    {
        let Some(login) = crate::viewer_rules::normalize_login(login) else {
            return Err(format!(
                "a TTS rule needs a viewer's login (letters, digits and _), not {login:?}"
            ));
        };
        let (channel, by) = (channel.to_owned(), plugin.to_string());
        let who = login.clone();
        let applied = self
            .store
            .write(move |c| {
                let Some(viewer) = store::viewers::by_login(c, &who)? else {
                    return Ok(false);
                };
                apply(c, &channel, viewer.id, &by)?;
                Ok(true)
            })
            .await
            .map_err(|e| format!("cannot store the TTS rule: {e}"))?;
        if !applied {
            return Err(format!(
                "no viewer named {login:?} has been seen in this channel"
            ));
        }
        self.feed.publish(LiveMessage::TtsRulesChanged);
        Ok(())
    }
}

fn action_name(action: &wit::Action) -> &'static str {
    match action {
        wit::Action::ShowAlert(_) => "show-alert",
        wit::Action::Speak(_) => "speak",
        wit::Action::SendChat(_) => "send-chat",
        wit::Action::MuteTts(_) => "mute-tts",
        wit::Action::UnmuteTts(_) => "unmute-tts",
        wit::Action::CooldownTts(_) => "cooldown-tts",
        wit::Action::ClearTts(_) => "clear-tts",
        wit::Action::Webhook(_) => "webhook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert() -> wit::Alert {
        wit::Alert {
            overlay: "alerts".into(),
            title: "t".into(),
            message: "m".into(),
            image_url: None,
            sound_url: None,
            video_url: None,
            tts: None,
            duration_ms: 5000,
            html: None,
            css: None,
        }
    }

    #[test]
    fn effects_beyond_the_overlay_need_a_permission() {
        assert_eq!(required_permission(&wit::Action::ShowAlert(alert())), None);
        assert_eq!(required_permission(&wit::Action::Speak("hi".into())), None);
        assert_eq!(
            required_permission(&wit::Action::SendChat("hi".into())),
            Some(Permission::Chat)
        );
        assert_eq!(
            required_permission(&wit::Action::ClearTts("a".into())),
            Some(Permission::TtsRules)
        );
        assert_eq!(
            required_permission(&wit::Action::MuteTts(wit::TtsMute {
                login: "a".into(),
                minutes: None
            })),
            Some(Permission::TtsRules)
        );
    }

    #[test]
    fn malformed_alerts_are_rejected() {
        let none = BTreeSet::new();
        assert!(validate_alert(&alert(), &none).is_ok());
        type Mutation = Box<dyn Fn(&mut wit::Alert)>;
        let cases: Vec<(Mutation, &str)> = vec![
            (Box::new(|a| a.overlay = "Main Overlay".into()), "overlay"),
            (Box::new(|a| a.overlay = String::new()), "overlay"),
            (Box::new(|a| a.duration_ms = 0), "duration_ms"),
            (Box::new(|a| a.duration_ms = 3_600_000), "duration_ms"),
            (Box::new(|a| a.title = "x".repeat(20_000)), "alert title"),
            (Box::new(|a| a.message = "x".repeat(5_000)), "alert message"),
            (Box::new(|a| a.css = Some("x".repeat(70_000))), "alert css"),
            (
                Box::new(|a| a.image_url = Some("https://tracker.example/x.png?ip".into())),
                "not allowed",
            ),
            (
                Box::new(|a| a.image_url = Some("javascript:alert(1)".into())),
                "media URL",
            ),
            (
                Box::new(|a| {
                    a.title.clear();
                    a.message.clear();
                }),
                "nothing to show",
            ),
        ];
        for (mutate, needle) in cases {
            let mut a = alert();
            mutate(&mut a);
            let err = validate_alert(&a, &none).unwrap_err();
            assert!(err.contains(needle), "{err}");
        }
    }
}
