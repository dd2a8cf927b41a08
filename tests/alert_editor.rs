//! End-to-end: the alert editor's preview (`POST /api/plugins/{name}/preview`)
//! runs a plugin with unsaved settings on sample events, changes nothing it
//! was not asked to, and sends test alerts to the real overlay on request.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, client, error_code, install_plugin};

const WAIT: Duration = Duration::from_secs(15);

async fn host_with_alert_box() -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "alert-box");
    let host = Host::start(dir.path(), "run", &[]);
    (dir, host)
}

async fn preview(host: &Host, plugin: &str, body: Value) -> reqwest::Response {
    client()
        .post(host.url(&format!("/api/plugins/{plugin}/preview")))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn preview_ok(host: &Host, body: Value) -> Value {
    let resp = preview(host, "alert-box", body).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    resp.json().await.unwrap()
}

fn first_title(result: &Value) -> String {
    result["alerts"][0]["alert"]["title"]
        .as_str()
        .unwrap_or_else(|| panic!("no alert in {result}"))
        .to_owned()
}

#[tokio::test]
async fn draft_settings_show_in_the_preview_without_being_saved() {
    let (_dir, host) = host_with_alert_box().await;
    let draft = json!({"alerts": {"channel.cheer": {
        "title": "{username} threw {bits}",
        "variations": [{"when": "bits >= 1000", "title": "BIG {bits} from {username}"}],
    }}});
    let body = preview_ok(
        &host,
        json!({"settings": draft, "events": [
            {"kind": "channel.cheer"},
            {"kind": "channel.cheer", "details": {"bits": 1000}},
        ]}),
    )
    .await;
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{body}");
    assert_eq!(first_title(&results[0]), "JaneDoe threw 500");
    assert_eq!(first_title(&results[1]), "BIG 1000 from JaneDoe");
    assert_eq!(results[0]["alerts"][0]["overlay"], "alerts");
    assert_eq!(body["queued"], json!([]));

    // Not saved: the plugin still runs with its manifest's settings, and
    // nothing was queued on the overlay.
    let settings: Value = support::get_json(&host, "/api/plugins/alert-box/settings").await;
    assert_eq!(settings["overridden"], false, "{settings}");
    let overlays: Vec<Value> = support::get_json(&host, "/api/overlays").await;
    assert!(overlays.iter().all(|o| o["pending"] == 0), "{overlays:?}");

    // Without draft settings the preview uses what the plugin runs with.
    let body = preview_ok(&host, json!({"events": [{"kind": "channel.cheer"}]})).await;
    assert!(first_title(&body["results"][0]).contains("500"), "{body}");
    host.stop();
}

#[tokio::test]
async fn a_preview_leaves_the_plugins_stored_data_and_counters_alone() {
    let (_dir, host) = host_with_alert_box().await;
    let draft = json!({"alerts": {"channel.follow": {"title": "follower number {count}"}}});
    for _ in 0..3 {
        let body = preview_ok(
            &host,
            json!({"settings": draft, "events": [{"kind": "channel.follow"}]}),
        )
        .await;
        // Each preview starts from the stored counter (none yet): always 1.
        assert_eq!(first_title(&body["results"][0]), "follower number 1");
    }
    let plugins: Vec<Value> = support::get_json(&host, "/api/plugins").await;
    let alert_box = plugins.iter().find(|p| p["name"] == "alert-box").unwrap();
    assert_eq!(alert_box["calls"], 0, "{alert_box}");
    assert_eq!(alert_box["total_faults"], 0, "{alert_box}");
    host.stop();
}

#[tokio::test]
async fn send_test_queues_the_previewed_alert_on_the_real_overlay() {
    let (_dir, host) = host_with_alert_box().await;
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let draft = json!({"alerts": {"channel.raid": {"title": "Raid of {viewers}!"}}});
    let body = preview_ok(
        &host,
        json!({"settings": draft, "events": [{"kind": "channel.raid", "details": {"viewers": 77}}], "send": true}),
    )
    .await;
    let queued = body["queued"].as_array().unwrap();
    assert_eq!(queued.len(), 1, "{body}");
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["id"], queued[0]);
    assert_eq!(alert["title"], "Raid of 77!");
    assert_eq!(alert["plugin"], "alert-box");
    overlay.ack(&alert).await;
    host.stop();
}

#[tokio::test]
async fn bad_previews_are_refused_with_a_reason() {
    let (_dir, host) = host_with_alert_box().await;
    let one = json!([{"kind": "channel.follow"}]);

    let resp = preview(&host, "no-such-plugin", json!({"events": one})).await;
    assert_eq!(error_code(resp).await, (404, "not_found".into()));

    let resp = preview(&host, "alert-box", json!({"events": []})).await;
    assert_eq!(error_code(resp).await, (400, "bad_request".into()));

    let many: Vec<Value> = (0..17).map(|_| json!({"kind": "channel.follow"})).collect();
    let resp = preview(&host, "alert-box", json!({"events": many})).await;
    assert_eq!(error_code(resp).await, (400, "bad_request".into()));

    let resp = preview(&host, "alert-box", json!({"settings": [1], "events": one})).await;
    assert_eq!(error_code(resp).await, (400, "bad_request".into()));

    // Settings that do not fit the plugin's schema: 422 naming the field,
    // as saving them would.
    let resp = preview(
        &host,
        "alert-box",
        json!({"settings": {"alerts": {"channel.cheer": {"duration_ms": "long"}}}, "events": one}),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_settings", "{body}");
    assert_eq!(
        body["error"]["field"], "alerts.channel.cheer.duration_ms",
        "{body}"
    );
    let resp = preview(
        &host,
        "alert-box",
        json!({"settings": {"alerts": {"channel.folow": {}}}, "events": one}),
    )
    .await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("channel.folow"),
        "{body}"
    );

    // A bad sample is reported in its place; the good one still runs.
    let body = preview_ok(
        &host,
        json!({"events": [{"kind": "channel.cheer", "details": {"bits": "lots"}}, {"kind": "channel.follow"}]}),
    )
    .await;
    let results = body["results"].as_array().unwrap();
    assert!(
        results[0]["error"].as_str().unwrap().contains("bits"),
        "{body}"
    );
    assert_eq!(results[0]["alerts"], json!([]));
    assert!(results[1]["error"].is_null(), "{body}");
    assert_eq!(results[1]["alerts"].as_array().unwrap().len(), 1);

    // An unknown field in the request itself.
    let resp = preview(&host, "alert-box", json!({"events": one, "sned": true})).await;
    assert_eq!(resp.status(), 400);
    host.stop();
}

#[tokio::test]
async fn a_plugin_that_is_not_running_cannot_be_previewed() {
    let (_dir, host) = host_with_alert_box().await;
    let resp = client()
        .post(host.url("/api/plugins/alert-box/disable"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = preview(
        &host,
        "alert-box",
        json!({"events": [{"kind": "channel.follow"}]}),
    )
    .await;
    assert_eq!(error_code(resp).await, (409, "not_running".into()));
    host.stop();
}
