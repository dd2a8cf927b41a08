//! End-to-end in headless Chromium: a plugin that declares a settings
//! schema gets a form on the Plugins page; a value the host refuses shows
//! its message next to the field, and saved settings are used by the
//! plugin on the very next event, without a restart.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::browser::Browser;
use support::overlay::Overlay;
use support::{Host, TOKEN, client, install_plugin};

const WAIT: Duration = Duration::from_secs(12);

/// The settings form of follow-alert's card.
const FORM: &str =
    "document.querySelector('article[data-plugin=\"follow-alert\"] form.plugin-form')";

/// JavaScript that sets the control of setting `field` to `value` (a JS
/// expression) and tells the form, as typing would.
fn set_field(field: &str, value: &str) -> String {
    format!(
        "(() => {{ const input = {FORM}.querySelector('[data-field=\"{field}\"] input, [data-field=\"{field}\"] textarea'); input.value = {value}; input.dispatchEvent(new Event('input', {{ bubbles: true }})); return true; }})()"
    )
}

#[tokio::test]
async fn a_settings_form_is_filled_checked_by_the_host_saved_and_used_on_the_next_alert() {
    let dir = tempfile::tempdir().unwrap();
    install_plugin(dir.path(), "follow-alert");
    install_plugin(dir.path(), "event-formatter");
    let host = Host::start(dir.path(), "run", &[]);
    let mut overlay = Overlay::connect(&host.base, "alerts").await;
    let browser = Browser::start().await;
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser.eval("(location.hash = 'plugins')").await;
    browser
        .wait_for(
            "document.querySelector('article[data-plugin=\"follow-alert\"] details.settings summary') !== null",
            WAIT,
        )
        .await;
    browser
        .eval("document.querySelector('article[data-plugin=\"follow-alert\"] details.settings summary').click()")
        .await;
    browser.wait_for(&format!("{FORM} !== null"), WAIT).await;

    // Every field of the schema has its control, filled with the defaults.
    // Media fields pick from the media library (a URL box when the host has
    // none to list).
    browser
        .wait_for(
            &format!("{FORM}.querySelector('[data-field=\"image_url\"] input.media-url, [data-field=\"image_url\"] select.media-pick') !== null"),
            WAIT,
        )
        .await;
    let controls = browser
        .eval(&format!(
            "Array.from({FORM}.querySelectorAll('[data-field]')).map((f) => [f.dataset.field, f.querySelector('.media-url, .media-pick') ? 'media' : f.querySelector('input, textarea, select').type])"
        ))
        .await;
    assert_eq!(
        controls,
        json!([
            ["title", "text"],
            ["message", "textarea"],
            ["speak", "checkbox"],
            ["tts", "textarea"],
            ["duration_ms", "number"],
            ["image_url", "media"],
            ["sound_url", "media"]
        ])
    );
    assert_eq!(
        browser
            .eval(&format!(
                "{FORM}.querySelector('[data-field=\"title\"] input').value"
            ))
            .await,
        json!("New follower!")
    );
    assert_eq!(
        browser
            .eval(&format!(
                "{FORM}.querySelector('[data-field=\"duration_ms\"] input').value"
            ))
            .await,
        json!("5")
    );
    // The JSON editor is for plugins without a schema.
    assert_eq!(
        browser
            .eval("document.querySelector('article[data-plugin=\"follow-alert\"] details.settings > textarea').hidden")
            .await,
        json!(true)
    );
    assert_eq!(
        browser
            .eval("document.querySelector('article[data-plugin=\"event-formatter\"] details.settings > textarea').hidden")
            .await,
        json!(false)
    );

    // The message: typed text, then a variable inserted with its chip.
    browser.eval(&set_field("message", "'Say hi to '")).await;
    browser
        .eval(&format!(
            "(() => {{ const area = {FORM}.querySelector('[data-field=\"message\"] textarea'); area.selectionStart = area.selectionEnd = area.value.length; {FORM}.querySelector('[data-field=\"message\"] button.variable').click(); return area.value; }})()"
        ))
        .await;
    assert_eq!(
        browser
            .eval(&format!(
                "{FORM}.querySelector('[data-field=\"message\"] textarea').value"
            ))
            .await,
        json!("Say hi to {username}")
    );
    browser
        .eval(&format!(
            "{FORM}.querySelector('[data-field=\"speak\"] input').click()"
        ))
        .await;
    browser.eval(&set_field("duration_ms", "'3'")).await;

    // Too long a title (past the box's maxlength hint): the host refuses it
    // and the form shows why, next to the title.
    browser.eval(&set_field("title", "'x'.repeat(101)")).await;
    browser
        .eval(&format!(
            "{FORM}.querySelector('button.save-settings').click()"
        ))
        .await;
    let shown = browser
        .wait_for(
            &format!("{FORM}.querySelector('[data-field=\"title\"] .field-error:not([hidden])')?.textContent"),
            WAIT,
        )
        .await;
    assert!(shown.as_str().unwrap().contains("at most 100"), "{shown}");
    let settings: Value = support::get_json(&host, "/api/plugins/follow-alert/settings").await;
    assert_eq!(
        settings["overridden"], false,
        "a refused save changed the settings"
    );

    // Fixed and saved: the plugin runs with the new settings.
    browser.eval(&set_field("title", "'Thanks, friend!'")).await;
    browser
        .eval(&format!(
            "{FORM}.querySelector('button.save-settings').click()"
        ))
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let settings: Value = support::get_json(&host, "/api/plugins/follow-alert/settings").await;
        if settings["overridden"] == true {
            assert_eq!(
                settings["settings"],
                json!({
                    "title": "Thanks, friend!",
                    "message": "Say hi to {username}",
                    "speak": false,
                    "tts": "Thanks for the follow, {username}!",
                    "duration_ms": 3000,
                    "image_url": "",
                    "sound_url": "",
                })
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the form never saved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser
        .wait_for(
            &format!("{FORM} && !{FORM}.querySelector('.field-error:not([hidden])')"),
            WAIT,
        )
        .await;

    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.follow", "details": {"username": "Zed"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let alert = overlay.alert(WAIT).await;
    assert_eq!(alert["plugin"], "follow-alert");
    assert_eq!(alert["title"], "Thanks, friend!", "{alert}");
    assert_eq!(alert["message"], "Say hi to Zed", "{alert}");
    assert_eq!(alert["tts"], Value::Null, "{alert}");
    assert_eq!(alert["duration_ms"], 3000, "{alert}");
    browser.close().await;
    host.stop();
}

/// A schema with the types follow-alert does not use: served by the
/// follow-alert component under another name (it reads only its own keys).
const LISTS_AND_RECORDS: &str = r##"
name = "every-setting"
version = "1.0.0"

[[setting]]
key = "volume"
type = "number"
label = "Volume"
min = 0
max = 1
step = 0.25
default = 0.5

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

#[tokio::test]
async fn lists_records_choices_colors_and_numbers_are_edited_in_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let from = install_plugin(dir.path(), "follow-alert");
    let folder = dir.path().join("plugins/every-setting");
    std::fs::rename(&from, &folder).unwrap();
    std::fs::write(folder.join("plugin.toml"), LISTS_AND_RECORDS).unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let browser = Browser::start().await;
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser.eval("(location.hash = 'plugins')").await;
    let card = "document.querySelector('article[data-plugin=\"every-setting\"]')";
    let form = format!("{card}.querySelector('form.plugin-form')");
    browser
        .wait_for(
            &format!("{card}?.querySelector('details.settings summary') != null"),
            WAIT,
        )
        .await;
    browser
        .eval(&format!(
            "{card}.querySelector('details.settings summary').click()"
        ))
        .await;
    browser.wait_for(&format!("{form} != null"), WAIT).await;
    let js = |body: &str| format!("(() => {{ const form = {form}; {body} }})()");
    let set = "const set = (selector, value, type = 'input') => { const input = form.querySelector(selector); input.value = value; input.dispatchEvent(new Event(type, { bubbles: true })); };";

    // A bounded number has a slider beside its box; the record is a fieldset.
    assert_eq!(
        browser
            .eval(&js("return [form.querySelectorAll('[data-field=\"volume\"] input').length, form.querySelector('[data-field=\"style\"]').tagName, form.querySelector('[data-field=\"style.font\"] input').value];"))
            .await,
        json!([2, "FIELDSET", "sans-serif"])
    );
    // Two tiers (the most allowed: the add button turns off).
    browser
        .eval(&js("form.querySelector('[data-field=\"tiers\"] button.add-item').click(); form.querySelector('[data-field=\"tiers\"] button.add-item').click(); return true;"))
        .await;
    assert_eq!(
        browser
            .eval(&js("return [form.querySelectorAll('[data-field=\"tiers\"] .list-item').length, form.querySelector('[data-field=\"tiers\"] button.add-item').disabled];"))
            .await,
        json!([2, true])
    );
    browser
        .eval(&js(&format!(
            "{set} set('[data-field=\"tiers.0.title\"] input', 'Small'); set('[data-field=\"tiers.0.from\"] input', '1'); set('[data-field=\"tiers.1.title\"] input', 'Big'); set('[data-field=\"tiers.1.from\"] input', '100'); return true;"
        )))
        .await;
    // Big moves up, then Small (now second) is removed.
    browser
        .eval(&js("form.querySelector('[data-field=\"tiers.1\"] button[data-move=\"up\"]').click(); return true;"))
        .await;
    assert_eq!(
        browser
            .eval(&js(
                "return form.querySelector('[data-field=\"tiers.0.title\"] input').value;"
            ))
            .await,
        json!("Big")
    );
    browser
        .eval(&js("form.querySelector('[data-field=\"tiers.1\"] button[data-move=\"remove\"]').click(); return true;"))
        .await;
    browser
        .eval(&js(&format!(
            "{set} set('[data-field=\"position\"] select', 'bottom', 'change'); set('[data-field=\"accent\"] input', '#112233'); set('[data-field=\"volume\"] input[type=number]', '0.75'); set('[data-field=\"style.font\"] input', 'serif'); form.querySelector('button.save-settings').click(); return true;"
        )))
        .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let settings: Value = support::get_json(&host, "/api/plugins/every-setting/settings").await;
        if settings["overridden"] == true {
            assert_eq!(
                settings["settings"],
                json!({
                    "volume": 0.75,
                    "position": "bottom",
                    "accent": "#112233",
                    "style": {"font": "serif"},
                    "tiers": [{"from": 100, "title": "Big"}],
                })
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the form never saved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A value the host refuses inside a list item is shown beside that field.
    browser
        .wait_for(
            &format!(
                "{form}?.querySelector('[data-field=\"tiers.0.from\"] input')?.value === '100'"
            ),
            WAIT,
        )
        .await;
    browser
        .eval(&js(&format!(
            "{set} set('[data-field=\"tiers.0.from\"] input', '-5'); form.querySelector('button.save-settings').click(); return true;"
        )))
        .await;
    let shown = browser
        .wait_for(
            &js("return form.querySelector('[data-field=\"tiers.0.from\"] .field-error:not([hidden])')?.textContent;"),
            WAIT,
        )
        .await;
    assert!(
        shown.as_str().unwrap().contains("below the minimum"),
        "{shown}"
    );
    browser.close().await;
    host.stop();
}
