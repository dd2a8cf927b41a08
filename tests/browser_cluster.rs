//! The cluster edge's channel dashboard in headless Chromium, against a real
//! cluster (one edge, worker and ingest on this machine's NATS and
//! PostgreSQL, the Twitch look-alike's conduit) with two channels:
//!
//! - a wrong dashboard token is refused on the sign-in page, the right one
//!   opens the channel's dashboard;
//! - follows show up in their channel's live list without a reload, and
//!   never in the other channel's dashboard;
//! - a package installed from the page shows in its plugins; settings that
//!   are not JSON or that the plugin's schema refuses show their error and
//!   are not stored; good settings are stored;
//! - a viewer name made of markup shows as text, never as elements.
//!
//! Each test starts its own cluster; they take turns (one cluster and its
//! browsers at a time), so a slow machine does not make them flaky.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::browser::Browser;
use support::cluster::{ChannelCreds, Cluster};
use tokio::sync::{Mutex, MutexGuard};
use twitch_lookalike::Trigger;

/// Settings that make the cluster react quickly in tests.
const QUICK: &[&str] = &["--lease-secs", "3", "--poll-secs", "2", "--partitions", "4"];
/// What a page may take to show something.
const WAIT: Duration = Duration::from_secs(30);
/// What a follow may take from the look-alike to a dashboard.
const EVENT_WAIT: Duration = Duration::from_secs(60);

/// One cluster at a time in this test binary.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// A running cluster with two channels whose follows reach ingest.
struct Rig {
    cluster: Cluster,
    edge: usize,
    a: ChannelCreds,
    b: ChannelCreds,
    // Last: released after the cluster's processes are gone.
    _turn: MutexGuard<'static, ()>,
}

impl Rig {
    async fn start() -> Rig {
        let turn = SERIAL.lock().await;
        let mut cluster = Cluster::start(QUICK).await;
        let edge = cluster.spawn("edge", "edge-1", &[]);
        let worker = cluster.spawn("worker", "worker-1", &[]);
        let ingest = cluster.spawn("ingest", "ingest-1", &[]);
        cluster.wait_ready(edge, WAIT).await;
        let a = cluster.add_channel(edge, "alpha").await;
        let b = cluster.add_channel(edge, "bravo").await;
        cluster.wait_ready(worker, WAIT).await;
        cluster.wait_ready(ingest, WAIT).await;
        // Follows reach ingest once the conduit has both channels' follow
        // subscriptions.
        let control = cluster.twitch.control();
        let deadline = Instant::now() + WAIT;
        loop {
            let subscribed: HashSet<String> = control
                .subscriptions()
                .await
                .into_iter()
                .filter(|s| s.kind == "channel.follow" && s.status == "enabled")
                .filter_map(|s| {
                    s.condition["broadcaster_user_id"]
                        .as_str()
                        .map(str::to_owned)
                })
                .collect();
            if subscribed.contains(&a.id) && subscribed.contains(&b.id) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ingest did not subscribe to both channels' follows within {WAIT:?} \
                 (subscribed: {subscribed:?})\n{}",
                cluster.log_tail(ingest, 30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Rig {
            cluster,
            edge,
            a,
            b,
            _turn: turn,
        }
    }

    /// Stops the nodes and deletes the test's stream (the database goes
    /// when the cluster is dropped).
    async fn finish(mut self) {
        for node in 0..self.cluster.nodes.len() {
            self.cluster.kill(node);
        }
        self.cluster.delete_stream().await;
    }

    fn url(&self) -> String {
        format!("{}/", self.cluster.url(self.edge))
    }

    /// The channel's plugins as `GET /api/plugins` answers them.
    async fn plugins(&self, token: &str) -> Vec<Value> {
        let r = self
            .cluster
            .http
            .get(format!("{}/api/plugins", self.cluster.url(self.edge)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["plugins"].as_array().cloned().unwrap_or_default()
    }

    /// Ids of the channel's stored events, as its token sees them.
    async fn event_ids(&self, channel: &ChannelCreds) -> HashSet<String> {
        self.cluster
            .events(self.edge, &channel.dashboard_token, 500)
            .await
            .iter()
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect()
    }
}

/// A JavaScript string literal of `text`.
fn js(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Opens the edge's dashboard and waits for its sign-in form.
async fn open_signed_out(browser: &Browser, rig: &Rig) {
    browser.goto(&rig.url()).await;
    browser
        .wait_for(
            "!document.getElementById('sign-in-view').hidden && document.getElementById('dashboard').hidden",
            WAIT,
        )
        .await;
}

/// Types `token` into the sign-in form and submits it.
async fn submit_token(browser: &Browser, token: &str) {
    browser
        .eval(&format!(
            "(document.getElementById('token').value = {}, document.getElementById('sign-in').click(), true)",
            js(token)
        ))
        .await;
}

/// Signs in as `channel` and waits until its dashboard is live.
async fn sign_in(browser: &Browser, rig: &Rig, channel: &ChannelCreds) {
    open_signed_out(browser, rig).await;
    submit_token(browser, &channel.dashboard_token).await;
    let shown = browser
        .wait_for(
            "!document.getElementById('dashboard').hidden && document.getElementById('live-status').textContent === 'live' && document.getElementById('channel-login').textContent",
            WAIT,
        )
        .await;
    assert_eq!(
        shown,
        json!(channel.login),
        "signed in as the wrong channel"
    );
}

/// `data-event-id`s of the rows in the page's event list.
async fn shown_event_ids(browser: &Browser) -> HashSet<String> {
    let ids = browser
        .eval("[...document.querySelectorAll('#events li.event')].map((li) => li.dataset.eventId)")
        .await;
    ids.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn a_wrong_token_is_refused_and_the_right_one_shows_the_channel() {
    let rig = Rig::start().await;
    let browser = Browser::start().await;
    open_signed_out(&browser, &rig).await;

    submit_token(&browser, "not-the-dashboard-token-0123456789").await;
    let message = browser
        .wait_for(
            "!document.getElementById('sign-in-error').hidden && document.getElementById('sign-in-error').textContent",
            WAIT,
        )
        .await;
    assert_eq!(message, json!("token refused"));
    let state = browser
        .eval(
            "({dashboard: document.getElementById('dashboard').hidden, \
               signIn: document.getElementById('sign-in-view').hidden, \
               login: document.getElementById('channel-login').textContent, \
               live: document.getElementById('live-status').textContent, \
               kept: sessionStorage.getItem('stagehand.cluster.token')})",
        )
        .await;
    assert_eq!(
        state,
        json!({"dashboard": true, "signIn": false, "login": "", "live": "offline", "kept": null}),
        "a refused token leaves the page signed out"
    );
    // Another channel's overlay key is no dashboard token either.
    submit_token(&browser, &rig.a.overlay_key).await;
    browser
        .wait_for(
            "!document.getElementById('sign-in-error').hidden && document.getElementById('sign-in-error').textContent === 'token refused' && document.getElementById('dashboard').hidden",
            WAIT,
        )
        .await;

    submit_token(&browser, &rig.b.dashboard_token).await;
    let login = browser
        .wait_for(
            "!document.getElementById('dashboard').hidden && document.getElementById('sign-in-view').hidden && document.getElementById('channel-login').textContent",
            WAIT,
        )
        .await;
    assert_eq!(login, json!(rig.b.login));
    let id = browser
        .eval("document.getElementById('channel-id').textContent")
        .await;
    assert_eq!(id, json!(format!("#{}", rig.b.id)));
    browser
        .wait_for(
            "document.getElementById('live-status').textContent === 'live'",
            WAIT,
        )
        .await;
    browser.close().await;
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn follows_appear_live_in_their_channels_dashboard_and_never_in_anothers() {
    let rig = Rig::start().await;
    let alpha = Browser::start().await;
    let bravo = Browser::start().await;
    sign_in(&alpha, &rig, &rig.a).await;
    sign_in(&bravo, &rig, &rig.b).await;
    // Gone if the page were loaded again.
    alpha.eval("(window.__sameLoad = true)").await;
    assert_eq!(
        alpha
            .eval("document.querySelectorAll('#events li.event').length")
            .await,
        json!(0)
    );

    let control = rig.cluster.twitch.control();
    control.bulk_follows(&rig.a.id, 3, None).await.unwrap();
    alpha
        .wait_for(
            "document.querySelectorAll('#events li.event').length >= 3",
            EVENT_WAIT,
        )
        .await;
    let rows = alpha
        .eval(
            "({same: window.__sameLoad === true, \
               live: document.getElementById('live-status').textContent, \
               rows: [...document.querySelectorAll('#events li.event')].map((li) => \
                 ({kind: li.dataset.kind, seq: Number(li.dataset.seq), fresh: li.classList.contains('fresh')}))})",
        )
        .await;
    assert_eq!(rows["same"], json!(true), "the page was reloaded: {rows}");
    assert_eq!(rows["live"], json!("live"), "{rows}");
    let rows = rows["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "each follow shown once: {rows:?}");
    for row in rows {
        assert_eq!(row["kind"], "channel.follow", "{rows:?}");
        assert_eq!(row["fresh"], true, "came in on the live socket: {rows:?}");
    }
    let seqs: Vec<i64> = rows.iter().map(|r| r["seq"].as_i64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    let alpha_ids = rig.event_ids(&rig.a).await;
    assert_eq!(
        shown_event_ids(&alpha).await,
        alpha_ids,
        "alpha shows its stored follows"
    );

    // Bravo's own follow shows in bravo's dashboard, and none of alpha's.
    control.bulk_follows(&rig.b.id, 1, None).await.unwrap();
    bravo
        .wait_for(
            "document.querySelectorAll('#events li.event').length >= 1",
            EVENT_WAIT,
        )
        .await;
    let bravo_ids = rig.event_ids(&rig.b).await;
    assert_eq!(
        bravo_ids.len(),
        1,
        "bravo stored its one follow: {bravo_ids:?}"
    );
    // Anything misrouted would have arrived by now, alongside.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let shown = shown_event_ids(&bravo).await;
    assert_eq!(shown, bravo_ids, "bravo shows its own follow only");
    assert!(
        shown.is_disjoint(&alpha_ids),
        "alpha's events in bravo's dashboard"
    );
    assert_eq!(
        shown_event_ids(&alpha).await,
        alpha_ids,
        "bravo's follow in alpha's dashboard"
    );

    // Signed out and in as bravo in the first browser: still only bravo's.
    alpha
        .eval("(document.getElementById('sign-out').click(), true)")
        .await;
    alpha
        .wait_for(
            "!document.getElementById('sign-in-view').hidden && document.querySelectorAll('#events li').length === 0",
            WAIT,
        )
        .await;
    submit_token(&alpha, &rig.b.dashboard_token).await;
    alpha
        .wait_for(
            "document.getElementById('channel-login').textContent === 'bravo' && document.querySelectorAll('#events li.event').length >= 1",
            WAIT,
        )
        .await;
    assert_eq!(shown_event_ids(&alpha).await, bravo_ids);
    alpha.close().await;
    bravo.close().await;
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn a_package_installed_from_the_page_takes_only_settings_its_schema_accepts() {
    let rig = Rig::start().await;
    let work = tempfile::tempdir().unwrap();
    support::cluster::package(work.path(), "follow-alert");
    let file = work.path().join("follow-alert.stagehand");
    assert!(file.is_file(), "package written to {}", file.display());

    let browser = Browser::start().await;
    sign_in(&browser, &rig, &rig.a).await;
    browser
        .wait_for("!document.getElementById('plugins-empty').hidden", WAIT)
        .await;

    // A name the package does not carry is refused, with the host's code.
    browser.choose_file("#install-file", &file).await;
    let suggested = browser
        .wait_for("document.getElementById('install-name').value", WAIT)
        .await;
    assert_eq!(
        suggested,
        json!("follow-alert"),
        "the name follows the file"
    );
    let install = |name: &str| {
        format!(
            "(document.getElementById('install-name').value = {}, document.getElementById('install').click(), true)",
            js(name)
        )
    };
    browser.eval(&install("greeter")).await;
    let code = browser
        .wait_for(
            "document.getElementById('install-result').dataset.state === 'error' && document.getElementById('install-result').dataset.code",
            WAIT,
        )
        .await;
    assert_eq!(code, json!("name_mismatch"));
    assert!(rig.plugins(&rig.a.dashboard_token).await.is_empty());

    browser.eval(&install("follow-alert")).await;
    let result = browser
        .wait_for(
            "document.getElementById('install-result').dataset.state === 'ok' && document.querySelector('#plugins .plugin[data-name=\"follow-alert\"]') !== null && \
             ({code: document.getElementById('install-result').dataset.code ?? null, text: document.getElementById('install-result').textContent})",
            WAIT,
        )
        .await;
    assert_eq!(
        result["code"],
        Value::Null,
        "an old error's code stays: {result}"
    );
    assert!(
        result["text"]
            .as_str()
            .unwrap()
            .contains("Installed follow-alert 0.1.0."),
        "{result}"
    );
    let plugins = rig.plugins(&rig.a.dashboard_token).await;
    assert_eq!(plugins.len(), 1, "{plugins:?}");
    assert_eq!(plugins[0]["name"], "follow-alert");
    assert_eq!(plugins[0]["settings"], Value::Null);
    assert!(
        rig.plugins(&rig.b.dashboard_token).await.is_empty(),
        "alpha's plugin shows for bravo"
    );

    let card = "document.querySelector('#plugins .plugin[data-name=\"follow-alert\"]')";
    let save = |settings: &str| {
        format!(
            "(() => {{ const card = {card}; card.querySelector('details.settings').open = true; \
             const text = card.querySelector('textarea.settings-json'); text.value = {}; \
             text.dispatchEvent(new Event('input', {{bubbles: true}})); \
             card.querySelector('[data-action=save-settings]').click(); return true; }})()",
            js(settings)
        )
    };
    let error = format!(
        "(() => {{ const e = {card}.querySelector('.settings-error'); \
         return !e.hidden && {{text: e.textContent, code: e.dataset.code ?? null}}; }})()"
    );

    // JSON the schema refuses (below the 1000 ms minimum): the host's 422.
    browser.eval(&save("{\"duration_ms\": 5}")).await;
    let shown = browser
        .wait_for(
            &format!(
                "(() => {{ const s = {error}; return s && s.code === 'invalid_settings' && s; }})()"
            ),
            WAIT,
        )
        .await;
    assert!(
        shown["text"].as_str().unwrap().contains("duration_ms"),
        "the error names the field: {shown}"
    );
    assert_eq!(
        rig.plugins(&rig.a.dashboard_token).await[0]["settings"],
        Value::Null,
        "refused settings were stored"
    );

    // Not JSON: refused in the page, without the host's earlier code.
    browser.eval(&save("{\"duration_ms\": ")).await;
    let shown = browser
        .wait_for(
            &format!("(() => {{ const s = {error}; return s && s.text.startsWith('Not valid JSON') && s; }})()"),
            WAIT,
        )
        .await;
    assert_eq!(
        shown["code"],
        Value::Null,
        "an old error's code stays: {shown}"
    );

    // Good settings are stored.
    browser
        .eval(&save("{\"duration_ms\": 2000, \"speak\": false}"))
        .await;
    browser
        .wait_for(
            &format!(
                "(() => {{ const card = {card}; return card.querySelector('.settings-error').hidden && \
                 card.querySelector('.settings-note').textContent.startsWith('Settings saved'); }})()"
            ),
            WAIT,
        )
        .await;
    let plugins = rig.plugins(&rig.a.dashboard_token).await;
    assert_eq!(
        plugins[0]["settings"],
        json!({"duration_ms": 2000, "speak": false})
    );
    browser.close().await;
    rig.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn a_viewer_name_made_of_markup_shows_as_text() {
    let rig = Rig::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &rig, &rig.a).await;

    let hostile = "<img src=x id=injected onerror=\"window.__pwned=1\"><b class=injected>b</b>";
    rig.cluster
        .twitch
        .control()
        .trigger(
            Trigger::new("channel.follow")
                .user(hostile)
                .channel(rig.a.id.clone()),
        )
        .await
        .unwrap();
    browser
        .wait_for(
            "document.querySelectorAll('#events li.event').length >= 1",
            EVENT_WAIT,
        )
        .await;
    let events = rig
        .cluster
        .events(rig.edge, &rig.a.dashboard_token, 10)
        .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let name = events[0]["event"]["viewer"]["display_name"]
        .as_str()
        .unwrap_or_else(|| panic!("a display name in {}", events[0]))
        .to_owned();
    assert!(
        name.contains("<img") && name.contains("<b"),
        "stored as sent: {name}"
    );

    // Give an onerror handler the time to run, were there an image.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let page = browser
        .eval(
            "({text: document.querySelector('#events li.event .event-text').textContent, \
               injected: document.querySelectorAll('#injected, .injected, #events img, #events b').length, \
               pwned: window.__pwned === undefined ? null : window.__pwned})",
        )
        .await;
    assert_eq!(page["injected"], json!(0), "markup became elements: {page}");
    assert_eq!(page["pwned"], Value::Null, "a script ran: {page}");
    assert!(
        page["text"].as_str().unwrap().contains(&name),
        "the name shows as written: {page}"
    );

    // The same after a reload (the list then comes from the API).
    browser.reload().await;
    browser
        .wait_for(
            "document.getElementById('live-status').textContent === 'live' && document.querySelectorAll('#events li.event').length >= 1",
            WAIT,
        )
        .await;
    let page = browser
        .eval(
            "({text: document.querySelector('#events li.event .event-text').textContent, \
               injected: document.querySelectorAll('#injected, .injected, #events img, #events b').length, \
               pwned: window.__pwned === undefined ? null : window.__pwned})",
        )
        .await;
    assert_eq!(page["injected"], json!(0), "markup became elements: {page}");
    assert!(page["text"].as_str().unwrap().contains(&name), "{page}");
    browser.close().await;
    rig.finish().await;
}
