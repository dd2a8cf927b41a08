//! End-to-end: plugin settings declared as a `[[setting]]` schema in
//! plugin.toml. The host shows the schema, refuses settings that do not fit
//! it (422 naming the field, nothing changes), and hands good ones to the
//! running plugin between two events, without a restart and without losing
//! or repeating an event.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::overlay::Overlay;
use support::{Host, client, install_plugin};

const WAIT: Duration = Duration::from_secs(15);

/// A schema with one field of every type (and a record and a list), served
/// by the follow-alert component: a plugin.toml may declare any schema, and
/// follow-alert reads only the keys it knows.
const EVERY_TYPE: &str = r##"
name = "every-setting"
version = "1.0.0"
description = "follow-alert with a field of every type"

[[setting]]
key = "title"
type = "text"
label = "Title"
default = "New follower!"
max_length = 20

[[setting]]
key = "message"
type = "template"
label = "Message"
default = "{username} just followed"
variables = ["username", "count"]

[[setting]]
key = "volume"
type = "number"
label = "Volume"
min = 0
max = 1
step = 0.25
default = 0.5

[[setting]]
key = "repeat"
type = "number"
label = "Repeat"
min = 1
max = 5
integer = true

[[setting]]
key = "speak"
type = "boolean"
label = "Speak"
default = true

[[setting]]
key = "position"
type = "choice"
label = "Position"
choices = ["top", { value = "bottom", label = "Bottom" }]

[[setting]]
key = "accent"
type = "color"
label = "Accent"
default = "#ff8800"

[[setting]]
key = "image_url"
type = "media"
label = "Picture"
accept = "image"

[[setting]]
key = "duration_ms"
type = "duration"
label = "On screen for"
default = 5000
min_ms = 1000
max_ms = 30000

[[setting]]
key = "style"
type = "record"
label = "Style"
[[setting.fields]]
key = "font"
type = "text"
label = "Font"
default = "sans-serif"

[[setting]]
key = "tiers"
type = "list"
label = "Tier"
max_items = 2
[[setting.fields]]
key = "from"
type = "number"
label = "From"
integer = true
min = 0
[[setting.fields]]
key = "title"
type = "text"
label = "Title"
"##;

/// Installs follow-alert's component under the name `every-setting` with
/// the [`EVERY_TYPE`] manifest.
fn install_every_setting(data_dir: &Path) -> std::path::PathBuf {
    let from = install_plugin(data_dir, "follow-alert");
    let to = data_dir.join("plugins/every-setting");
    std::fs::rename(&from, &to).unwrap();
    std::fs::write(to.join("plugin.toml"), EVERY_TYPE).unwrap();
    to
}

async fn settings_of(host: &Host, name: &str) -> Value {
    support::get_json(host, &format!("/api/plugins/{name}/settings")).await
}

async fn put_settings(host: &Host, name: &str, settings: Value) -> reqwest::Response {
    client()
        .put(host.url(&format!("/api/plugins/{name}/settings")))
        .json(&json!({ "settings": settings }))
        .send()
        .await
        .unwrap()
}

async fn plugin(host: &Host, name: &str) -> Value {
    let all: Vec<Value> = support::get_json(host, "/api/plugins").await;
    all.into_iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no plugin {name}"))
}

async fn follow(host: &Host, username: &str) -> Value {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.follow", "details": {"username": username}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn the_settings_api_shows_the_schema_and_the_defaults_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    install_every_setting(dir.path());
    install_plugin(dir.path(), "event-formatter");
    let host = Host::start(dir.path(), "run", &[]);

    let got = settings_of(&host, "every-setting").await;
    assert_eq!(got["overridden"], false);
    let schema = got["schema"].as_array().expect("a schema");
    let types: Vec<&str> = schema.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "text", "template", "number", "number", "boolean", "choice", "color", "media",
            "duration", "record", "list"
        ]
    );
    assert_eq!(schema[1]["variables"], json!(["username", "count"]));
    assert_eq!(
        schema[5]["choices"],
        json!([{"value": "top", "label": "top"}, {"value": "bottom", "label": "Bottom"}])
    );
    assert_eq!(schema[10]["fields"][1]["key"], "title");
    // No [settings] table: the plugin runs with the schema's defaults.
    let defaults = json!({
        "title": "New follower!",
        "message": "{username} just followed",
        "volume": 0.5,
        "repeat": 1,
        "speak": true,
        "position": "top",
        "accent": "#ff8800",
        "image_url": "",
        "duration_ms": 5000,
        "style": {"font": "sans-serif"},
        "tiers": [],
    });
    assert_eq!(got["settings"], defaults);
    assert_eq!(got["defaults"], defaults);

    // Settings that leave keys out get them at their defaults.
    let resp = put_settings(
        &host,
        "every-setting",
        json!({"title": "Hi", "tiers": [{"from": 3}]}),
    )
    .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let got = settings_of(&host, "every-setting").await;
    assert_eq!(got["overridden"], true);
    assert_eq!(got["settings"]["title"], "Hi");
    assert_eq!(got["settings"]["accent"], "#ff8800");
    assert_eq!(got["settings"]["tiers"], json!([{"from": 3, "title": ""}]));

    // A plugin without a schema keeps free JSON settings.
    let free = settings_of(&host, "event-formatter").await;
    assert_eq!(free["schema"], Value::Null);
    let resp = put_settings(&host, "event-formatter", json!({"anything": [1, 2]})).await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    assert_eq!(
        settings_of(&host, "event-formatter").await["settings"],
        json!({"anything": [1, 2]})
    );
    host.stop();
}

#[tokio::test]
async fn settings_that_do_not_fit_the_schema_get_422_naming_the_field_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    install_every_setting(dir.path());
    let host = Host::start(dir.path(), "run", &[]);
    let good = json!({"title": "Kept", "volume": 0.25});
    assert_eq!(
        put_settings(&host, "every-setting", good).await.status(),
        200
    );
    let before = settings_of(&host, "every-setting").await;
    let reloads = plugin(&host, "every-setting").await["reloads"].clone();

    for (settings, field, needle) in [
        (json!({"colour": "#000000"}), "colour", "no setting named"),
        (json!({"title": 7}), "title", "must be text"),
        (json!({"title": "x".repeat(21)}), "title", "at most 20"),
        (json!({"title": "two\nlines"}), "title", "line breaks"),
        (
            json!({"message": "bell\u{7}"}),
            "message",
            "control characters",
        ),
        (json!({"volume": 2}), "volume", "above the maximum"),
        (json!({"volume": 0.3}), "volume", "step"),
        (json!({"volume": "loud"}), "volume", "must be a number"),
        (json!({"repeat": 1.5}), "repeat", "not a whole number"),
        (json!({"repeat": 0}), "repeat", "below the minimum"),
        (json!({"speak": "yes"}), "speak", "true or false"),
        (
            json!({"position": "left"}),
            "position",
            "not one of the choices",
        ),
        (json!({"accent": "red"}), "accent", "not a color"),
        (
            json!({"image_url": "https://evil.example/x.png"}),
            "image_url",
            "not allowed",
        ),
        (
            json!({"image_url": "/api/events"}),
            "image_url",
            "not served",
        ),
        (
            json!({"image_url": "/media/ding.ogg"}),
            "image_url",
            "looks like a sound",
        ),
        (
            json!({"duration_ms": 500}),
            "duration_ms",
            "outside 1000 to 30000",
        ),
        (
            json!({"duration_ms": "5s"}),
            "duration_ms",
            "whole number of milliseconds",
        ),
        (json!({"style": {"font": 3}}), "style.font", "must be text"),
        (
            json!({"style": {"weight": 700}}),
            "style.weight",
            "no setting named",
        ),
        (json!({"tiers": [{}, {}, {}]}), "tiers", "between 0 and 2"),
        (
            json!({"tiers": [{"from": -1}]}),
            "tiers.0.from",
            "below the minimum",
        ),
        (json!({"tiers": [{}, "x"]}), "tiers.1", "must be an object"),
    ] {
        let resp = put_settings(&host, "every-setting", settings.clone()).await;
        assert_eq!(resp.status(), 422, "{settings}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "invalid_settings",
            "{settings}: {body}"
        );
        assert_eq!(body["error"]["field"], field, "{settings}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{settings}: {body}");
    }
    assert_eq!(settings_of(&host, "every-setting").await, before);
    let status = plugin(&host, "every-setting").await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(
        status["reloads"], reloads,
        "a refused change reloaded the plugin"
    );
    host.stop();
}

#[tokio::test]
async fn new_settings_apply_on_the_next_event_without_a_restart_and_no_event_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert");
    let host = Host::start(dir.path(), "run", &[]);
    let pid = host.child.id();
    let mut overlay = Overlay::connect(&host.base, "alerts").await;

    let total = 80;
    let change_at = 30;
    let mut sent = Vec::new();
    for n in 0..total {
        let event = follow(&host, &format!("viewer{n}")).await;
        sent.push(event["id"].clone());
        if n == change_at {
            let resp = put_settings(
                &host,
                "follow-alert",
                json!({
                    "title": "Welcome aboard!",
                    "message": "{username} is follower number {count}",
                    "speak": false,
                    "duration_ms": 2000,
                }),
            )
            .await;
            assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
        }
    }
    let mut seen = Vec::new();
    while seen.len() < total {
        let alert = overlay.alert(WAIT).await;
        overlay.ack(&alert).await;
        assert_eq!(alert["plugin"], "follow-alert");
        seen.push(alert);
    }
    assert!(
        overlay.drain(Duration::from_millis(500)).await.is_empty(),
        "an event was alerted twice"
    );
    let ids: Vec<Value> = seen.iter().map(|a| a["event_id"].clone()).collect();
    assert_eq!(ids, sent, "every event exactly once, in order");
    let first_new = seen
        .iter()
        .position(|a| a["title"] == "Welcome aboard!")
        .expect("the new settings were used");
    assert!(
        first_new <= change_at + 1,
        "an event sent after the change was answered with the old settings"
    );
    for (n, alert) in seen.iter().enumerate() {
        if n < first_new {
            assert_eq!(alert["title"], "New follower!", "{alert}");
            assert_eq!(alert["message"], format!("viewer{n} just followed"));
            assert_eq!(alert["tts"], format!("Thanks for the follow, viewer{n}!"));
        } else {
            assert_eq!(alert["title"], "Welcome aboard!", "{alert}");
            // The new instance counts its own followers from one.
            let number = n - first_new + 1;
            assert_eq!(
                alert["message"],
                format!("viewer{n} is follower number {number}")
            );
            assert_eq!(alert["tts"], Value::Null, "{alert}");
            assert_eq!(alert["duration_ms"], 2000, "{alert}");
        }
    }
    let status = plugin(&host, "follow-alert").await;
    assert_eq!(status["status"], "running");
    assert_eq!(status["settings_overridden"], true);
    assert_eq!(host.child.id(), pid);

    // Back to plugin.toml's defaults, again without a restart.
    let reset = client()
        .delete(host.url("/api/plugins/follow-alert/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    follow(&host, "Ann").await;
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["title"], "New follower!", "{alert}");
    assert_eq!(alert["message"], "Ann just followed", "{alert}");
    host.stop();
}

#[tokio::test]
async fn saved_settings_that_an_updated_schema_refuses_stop_the_plugin_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let folder = install_every_setting(dir.path());
    let host = Host::start(dir.path(), "run", &[]);
    let resp = put_settings(&host, "every-setting", json!({"accent": "#112233"})).await;
    assert_eq!(resp.status(), 200);
    // The plugin's next version drops the accent setting.
    let without_accent = EVERY_TYPE.replace(
        "[[setting]]\nkey = \"accent\"\ntype = \"color\"\nlabel = \"Accent\"\ndefault = \"#ff8800\"\n",
        "",
    );
    assert_ne!(without_accent, EVERY_TYPE);
    std::fs::write(folder.join("plugin.toml"), without_accent).unwrap();
    let reloaded = client()
        .post(host.url("/api/plugins/every-setting/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    let status: Value = reloaded.json().await.unwrap();
    let error = status["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("do not fit its settings schema") && error.contains("accent"),
        "{status}"
    );
    // Restoring plugin.toml's settings starts it again.
    let reset = client()
        .delete(host.url("/api/plugins/every-setting/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    let status: Value = reset.json().await.unwrap();
    assert_eq!(status["status"], "running", "{status}");
    host.stop();
}

/// `plugin check` shows a schema's problems: a malformed one is refused
/// naming the setting; a loadable one with a doubtful default is warned about.
#[test]
fn plugin_check_shows_schema_problems() {
    let dir = tempfile::tempdir().unwrap();
    let folder = install_every_setting(dir.path());
    let check = |folder: &Path| {
        support::run_cli(dir.path(), &["plugin", "check", folder.to_str().unwrap()])
    };
    let (ok, out, err) = check(&folder);
    assert!(ok, "{out}{err}");
    assert!(out.contains("settings:  a form of 11 fields"), "{out}");

    let broken = EVERY_TYPE.replace("min = 1\nmax = 5", "min = 5\nmax = 1");
    std::fs::write(folder.join("plugin.toml"), broken).unwrap();
    let (ok, out, err) = check(&folder);
    assert!(!ok, "{out}");
    assert!(
        err.contains("setting \"repeat\": min 5 is above max 1"),
        "{err}"
    );

    let choiceless = EVERY_TYPE.replace(
        "choices = [\"top\", { value = \"bottom\", label = \"Bottom\" }]",
        "",
    );
    std::fs::write(folder.join("plugin.toml"), choiceless).unwrap();
    let (ok, _, err) = check(&folder);
    assert!(!ok);
    assert!(
        err.contains("setting \"position\": a choice setting needs a non-empty choices list"),
        "{err}"
    );

    let typo = EVERY_TYPE.replace(
        "default = \"{username} just followed\"",
        "default = \"{usernme} just followed\"",
    );
    std::fs::write(folder.join("plugin.toml"), typo).unwrap();
    let (ok, out, err) = check(&folder);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("Warning: setting \"message\": its default uses {usernme}"),
        "{out}"
    );
}
