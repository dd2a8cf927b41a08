//! End-to-end: the Plugins page in headless Chromium installs a plugin from
//! a package file (preview, then Install), shows a refused file's reason,
//! and removes a plugin after its confirmation dialog. The package is made
//! by the real `stagehand plugin pack` from the built follow-alert.

mod support;

use std::time::Duration;

use serde_json::json;
use support::browser::Browser;
use support::{Host, TOKEN};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_package_is_installed_from_the_page_a_bad_one_refused_and_a_plugin_removed() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let package = work.path().join("follow-alert-0.1.0.stagehand");
    let built = support::built_plugins().join("plugins/follow-alert");
    let (ok, out, err) = support::run_cli(
        work.path(),
        &[
            "plugin",
            "pack",
            built.to_str().unwrap(),
            "--out",
            package.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    // A second version asking to send chat messages.
    let source = work.path().join("follow-alert-src");
    std::fs::create_dir(&source).unwrap();
    for entry in std::fs::read_dir(&built).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), source.join(entry.file_name())).unwrap();
    }
    let manifest = std::fs::read_to_string(source.join("plugin.toml")).unwrap();
    let manifest = manifest.replace("version = \"0.1.0\"", "version = \"0.2.0\"");
    std::fs::write(
        source.join("plugin.toml"),
        format!("{manifest}\n[permissions]\nchat = true\n"),
    )
    .unwrap();
    let update = work.path().join("follow-alert-0.2.0.stagehand");
    let (ok, out, err) = support::run_cli(
        work.path(),
        &[
            "plugin",
            "pack",
            source.to_str().unwrap(),
            "--out",
            update.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}{err}");
    let bad = work.path().join("broken.stagehand");
    std::fs::write(&bad, "this is not a plugin").unwrap();

    let host = Host::start(dir.path(), "run", &[]);
    let browser = Browser::start().await;
    browser.goto(&host.url(&format!("/?token={TOKEN}"))).await;
    browser.eval("(location.hash = 'plugins')").await;
    browser
        .wait_for(
            "!document.querySelector('#page-plugins').hidden && document.getElementById('live-state')?.textContent === 'live'",
            WAIT,
        )
        .await;

    // Chosen, it is checked and previewed; nothing is installed yet.
    browser.choose_file("#plugin-install-file", &package).await;
    let title = browser
        .wait_for(
            "!document.querySelector('#plugin-install-preview').hidden && document.querySelector('#plugin-install-preview h4').textContent",
            WAIT,
        )
        .await;
    assert_eq!(title, json!("Install follow-alert 0.1.0"));
    let preview = browser
        .eval("document.querySelector('#plugin-install-preview').textContent")
        .await;
    let preview = preview.as_str().unwrap();
    assert!(
        preview.contains("nothing beyond overlay alerts"),
        "{preview}"
    );
    assert!(preview.contains("stagehand:plugin@0.3.0"), "{preview}");
    assert!(!dir.path().join("plugins/follow-alert").exists());

    // Install: the plugin appears, running.
    browser
        .eval("document.querySelector('[data-action=install-confirm]').click()")
        .await;
    browser
        .wait_for(
            "document.querySelector('#plugin-list [data-plugin=\"follow-alert\"][data-status=\"running\"]') !== null",
            WAIT,
        )
        .await;
    assert!(
        dir.path()
            .join("plugins/follow-alert/plugin.toml")
            .is_file()
    );
    assert_eq!(
        browser
            .eval("document.querySelector('#plugin-install-preview').hidden")
            .await,
        json!(true)
    );

    // An update shows what changes; Cancel leaves the installed version.
    browser.choose_file("#plugin-install-file", &update).await;
    let title = browser
        .wait_for(
            "!document.querySelector('#plugin-install-preview').hidden && document.querySelector('#plugin-install-preview h4').textContent",
            WAIT,
        )
        .await;
    assert_eq!(title, json!("Update follow-alert 0.1.0 → 0.2.0"));
    let changes = browser
        .eval("document.querySelector('#plugin-install-preview .install-changes').textContent")
        .await;
    assert_eq!(changes, json!("New: send chat messages"));
    let preview = browser
        .eval("document.querySelector('#plugin-install-preview').textContent")
        .await;
    assert!(
        preview
            .as_str()
            .unwrap()
            .contains("Once installed it waits until you allow: send chat messages."),
        "{preview}"
    );
    browser
        .eval("document.querySelector('[data-action=install-cancel]').click()")
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector('#plugin-install-preview').hidden")
            .await,
        json!(true)
    );
    let installed =
        std::fs::read_to_string(dir.path().join("plugins/follow-alert/plugin.toml")).unwrap();
    assert!(installed.contains("version = \"0.1.0\""), "{installed}");

    // A bad file: its reason is shown, nothing changes.
    browser.choose_file("#plugin-install-file", &bad).await;
    let error = browser
        .wait_for(
            "!document.querySelector('#plugin-install-error').hidden && document.querySelector('#plugin-install-error').textContent",
            WAIT,
        )
        .await;
    let error = error.as_str().unwrap();
    assert!(
        error.contains("broken.stagehand cannot be installed")
            && error.contains("not a plugin package"),
        "{error}"
    );
    assert_eq!(
        browser
            .eval("document.querySelector('#plugin-install-error').dataset.code")
            .await,
        json!("not_a_package")
    );
    assert_eq!(
        browser
            .eval("document.querySelector('#plugin-install-preview').hidden")
            .await,
        json!(true)
    );
    let names: Vec<String> = std::fs::read_dir(dir.path().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["follow-alert"]);

    // Remove asks first: Cancel keeps it, Remove deletes it.
    let remove = "document.querySelector('#plugin-list [data-plugin=\"follow-alert\"] [data-action=remove]').click()";
    browser.eval(remove).await;
    browser
        .wait_for(
            "document.querySelector('#plugin-remove-dialog')?.open === true",
            WAIT,
        )
        .await;
    browser
        .eval("document.querySelector('[data-action=remove-cancel]').click()")
        .await;
    browser
        .wait_for(
            "document.querySelector('#plugin-remove-dialog') === null",
            WAIT,
        )
        .await;
    assert!(dir.path().join("plugins/follow-alert").exists());
    browser.eval(remove).await;
    browser
        .wait_for(
            "document.querySelector('#plugin-remove-dialog')?.open === true",
            WAIT,
        )
        .await;
    browser
        .eval("document.querySelector('[data-action=remove-confirm]').click()")
        .await;
    browser
        .wait_for(
            "document.querySelector('#plugin-list [data-plugin=\"follow-alert\"]') === null",
            WAIT,
        )
        .await;
    assert!(!dir.path().join("plugins/follow-alert").exists());
    browser.close().await;
    host.stop();
}
