//! End-to-end: chat read aloud through the Twitch look-alike. Chat messages
//! arrive over EventSub, pass the access policy and the TTS rules, and reach
//! the overlay socket as speech; moderators' `~mutevoice` (the
//! `chat-commands` plugin) silences a viewer within one message, shows on
//! the live feed and expires on time; bad commands are refused.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::twitch::*;
use support::{Host, TOKEN, client, get_json, install_plugin};
use twitch_lookalike::{MockTwitch, Trigger};

/// A host connected to the look-alike with the `chat-commands` plugin
/// allowed, reading everyone's chat with no gap.
async fn chat_host(dir: &std::path::Path, mock: &MockTwitch, settings: Value) -> Host {
    install_plugin(dir, "chat-commands");
    let host = start_host(dir, &twitch_env(mock, 10, false));
    connected(&host).await;
    let granted = client()
        .post(host.url("/api/plugins/chat-commands/grant"))
        .send()
        .await
        .unwrap();
    assert!(granted.status().is_success(), "{}", granted.status());
    let put = client()
        .put(host.url("/api/tts/settings"))
        .json(&settings)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    host
}

async fn chat(mock: &MockTwitch, login: &str, text: &str) {
    trigger(
        mock,
        Trigger::new("channel.chat.message").user(login).text(text),
    )
    .await;
}

/// Speech alerts that arrive within `wait`, acknowledged like the page does.
async fn speech(overlay: &mut Overlay, wait: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    for m in overlay.drain(wait).await {
        if m["type"] == "alert" && m["speech"] == true {
            overlay.ack(&m).await;
            out.push(m);
        }
    }
    out
}

async fn rules(host: &Host) -> Vec<Value> {
    get_json::<Value>(host, "/api/tts/rules").await["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Reads `/api/live` until a `topic` message arrives (or `wait` passes).
async fn live_topic(url: String, topic: &'static str, wait: Duration) -> bool {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let mut response = response;
    let mut seen = String::new();
    let needle = format!("event: {topic}");
    tokio::time::timeout(wait, async {
        while let Ok(Some(chunk)) = response.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains(&needle) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_is_spoken_and_a_moderator_mute_stops_it_until_it_expires() {
    let mock = mock().await;
    mock.control().add_moderator("modsquad").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = chat_host(
        dir.path(),
        &mock,
        json!({"access": ["everyone"], "viewer_gap_seconds": 0}),
    )
    .await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;

    // Allowed chat reaches the overlay as speech, in order.
    chat(&mock, "chatty", "hello world").await;
    chat(&mock, "other", "second in line").await;
    let heard = speech(&mut overlay, Duration::from_secs(3)).await;
    let texts: Vec<&str> = heard.iter().map(|m| m["tts"].as_str().unwrap()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].ends_with("says hello world"), "{texts:?}");
    assert!(texts[1].ends_with("says second in line"), "{texts:?}");
    assert_eq!(heard[0]["viewer"], "chatty");

    // The mute, watched on the live feed the TTS page listens to.
    let watch = tokio::spawn(live_topic(
        host.url("/api/live"),
        "tts_rules",
        Duration::from_secs(20),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await; // the feed is open
    let muted_at = std::time::Instant::now();
    chat(&mock, "modsquad", "~mutevoice @chatty 1").await;
    // Chatty keeps talking straight away: at most one more message is said.
    for n in 0..5 {
        chat(&mock, "chatty", &format!("still here {n}")).await;
    }
    assert!(watch.await.unwrap(), "a tts_rules notice on /api/live");
    eventually("the mute is listed", || async {
        rules(&host)
            .await
            .iter()
            .any(|r| r["login"] == "chatty" && r["type"] == "mute")
    })
    .await;
    let rule = rules(&host).await.remove(0);
    assert_eq!(rule["created_by"], "chat-commands");
    let after_mute = speech(&mut overlay, Duration::from_secs(2)).await;
    assert!(
        after_mute.len() <= 1,
        "stopped within one message: {after_mute:?}"
    );
    assert!(
        after_mute.iter().all(|m| m["viewer"] == "chatty"),
        "{after_mute:?}"
    );
    chat(&mock, "chatty", "nobody hears this").await;
    chat(&mock, "other", "but this is heard").await;
    let heard = speech(&mut overlay, Duration::from_secs(2)).await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert_eq!(heard[0]["viewer"], "other");

    // On time: still muted shortly before the minute, heard right after.
    let minute = Duration::from_secs(60);
    tokio::time::sleep((minute - Duration::from_secs(4)).saturating_sub(muted_at.elapsed())).await;
    chat(&mock, "chatty", "almost free").await;
    assert!(
        speech(&mut overlay, Duration::from_secs(1))
            .await
            .is_empty()
    );
    tokio::time::sleep((minute + Duration::from_secs(2)).saturating_sub(muted_at.elapsed())).await;
    chat(&mock, "chatty", "free again").await;
    let heard = speech(&mut overlay, Duration::from_secs(3)).await;
    assert_eq!(heard.len(), 1, "{heard:?}");
    assert!(heard[0]["tts"].as_str().unwrap().ends_with("free again"));
    assert!(
        rules(&host).await.is_empty(),
        "the expired mute is no longer listed"
    );
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_are_refused_and_answered() {
    let mock = mock().await;
    mock.control().add_moderator("modsquad").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = chat_host(dir.path(), &mock, json!({"access": ["everyone"]})).await;
    chat(&mock, "target", "hi").await;
    wait_for_events(&host, "channel.chat.message", 1).await;

    // A non-moderator's command does nothing.
    chat(&mock, "rando", "~mutevoice @target 5").await;
    // An absurd or negative duration gets the usage reply, no rule.
    chat(&mock, "modsquad", "~mutevoice @target 999999").await;
    chat(&mock, "modsquad", "~cooldownvoice @target -5 10").await;
    // A viewer never seen: refused, and the moderator is told in chat.
    chat(&mock, "modsquad", "~mutevoice @nobody_here 5").await;
    eventually("three replies in chat", || async {
        mock.control().sent_chat_messages().await.len() >= 3
    })
    .await;
    let replies: Vec<String> = mock
        .control()
        .sent_chat_messages()
        .await
        .into_iter()
        .map(|m| m.message)
        .collect();
    assert!(
        replies[0].starts_with("@modsquad usage: ~mutevoice"),
        "{replies:?}"
    );
    assert!(
        replies[1].starts_with("@modsquad usage: ~cooldownvoice"),
        "{replies:?}"
    );
    assert!(
        replies[2].contains("nobody_here") && replies[2].contains("has been seen"),
        "{replies:?}"
    );
    assert!(rules(&host).await.is_empty(), "no rule from any of them");

    // A mute issued twice is one mute.
    chat(&mock, "modsquad", "~mutevoice @target 5").await;
    chat(&mock, "modsquad", "~mutevoice @target 10").await;
    eventually("the second mute replaced the first", || async {
        let rules = rules(&host).await;
        rules.len() == 1 && {
            let set =
                chrono::DateTime::parse_from_rfc3339(rules[0]["created_at"].as_str().unwrap())
                    .unwrap();
            let ends =
                chrono::DateTime::parse_from_rfc3339(rules[0]["expires_at"].as_str().unwrap())
                    .unwrap();
            (ends - set).num_minutes() == 10
        }
    })
    .await;
    assert_eq!(
        mock.control().sent_chat_messages().await.len(),
        3,
        "no reply to good commands"
    );
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_and_a_huge_message_are_held_to_the_limits() {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let host = chat_host(
        dir.path(),
        &mock,
        json!({"access": ["everyone"], "viewer_gap_seconds": 30, "max_chars": 100}),
    )
    .await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    for n in 0..30 {
        chat(&mock, "flooder", &format!("spam {n}")).await;
    }
    chat(&mock, "essayist", &"word ".repeat(2_000)).await;
    wait_for_events(&host, "channel.chat.message", 31).await;
    let heard = speech(&mut overlay, Duration::from_secs(3)).await;
    let flooder: Vec<_> = heard.iter().filter(|m| m["viewer"] == "flooder").collect();
    assert_eq!(flooder.len(), 1, "one message per 30 s: {flooder:?}");
    assert!(flooder[0]["tts"].as_str().unwrap().ends_with("spam 0"));
    let essay: Vec<_> = heard.iter().filter(|m| m["viewer"] == "essayist").collect();
    assert_eq!(essay.len(), 1);
    let said = essay[0]["tts"].as_str().unwrap();
    let body = said.split_once(" says ").unwrap().1;
    assert!(
        body.chars().count() <= 100 && body.ends_with("word"),
        "{said}"
    );
    // Every message is still in the event log, spoken or not.
    assert_eq!(events(&host, "channel.chat.message").await.len(), 31);
    host.stop();
}
