//! A real browser for end-to-end tests: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`; `.ci/run`
//! installs them). Each [`Browser`] runs its own chromedriver on a free
//! port with a throw-away profile, and kills it (and the browser under it)
//! when dropped.
//!
//! ```ignore
//! let browser = Browser::start().await;
//! browser.goto(&host.url("/overlay/alerts#key=…")).await;
//! browser.wait_for("window.__overlay.status === 'connected'", WAIT).await;
//! let title = browser.eval("document.title").await;
//! browser.close().await;
//! ```
//!
//! Missing binaries fail the test with a message saying what to install:
//! a browser test never passes by being skipped.
//! `STAGEHAND_CHROMIUM` and `STAGEHAND_CHROMEDRIVER` override the paths.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How often [`Browser::wait_for`] re-evaluates its condition.
const POLL: Duration = Duration::from_millis(50);

/// A headless Chromium session. Dropping it kills chromedriver and the
/// browser; [`Browser::close`] ends the session politely first.
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn binary(env: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "browser tests need {} (Debian package `{package}`): install it with \
         `apt-get install -y chromium chromium-driver` (as .ci/run does), or set {env}",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port for chromedriver")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (autoplay with sound
    /// allowed, as OBS's browser source does; audio muted).
    pub async fn start() -> Browser {
        let chromium = binary("STAGEHAND_CHROMIUM", CHROMIUM, "chromium");
        let chromedriver = binary("STAGEHAND_CHROMEDRIVER", CHROMEDRIVER, "chromium-driver");
        let profile = tempfile::tempdir().expect("a browser profile folder");
        let port = free_port();
        // Its own process group, so Drop can stop the browser it spawns too.
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromedriver.display()));
        let mut browser = Browser {
            client: None,
            driver,
            _profile: profile,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = browser.driver.try_wait() {
                panic!("chromedriver exited at start-up ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--autoplay-policy=no-user-gesture-required".to_owned(),
            "--mute-audio".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,720".to_owned(),
            format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://{addr}"))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {}: {e}", chromium.display()));
        browser.client = Some(client);
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the browser is open")
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Reloads the current page (as OBS's "refresh" does).
    pub async fn reload(&self) {
        self.client().refresh().await.expect("reload");
    }

    /// The value of JavaScript expression `expression` in the page (JSON;
    /// DOM nodes come back as WebDriver references, so return data).
    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression)
            .await
            .unwrap_or_else(|e| panic!("evaluating `{expression}` failed: {e}"))
    }

    async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        self.client()
            .execute(&format!("return ({expression});"), vec![])
            .await
            .map_err(|e| e.to_string())
    }

    /// Waits until `condition` (a JavaScript expression) is truthy and
    /// returns its value; fails the test after `timeout`, showing the last
    /// value or error. Errors while the page loads count as "not yet".
    pub async fn wait_for(&self, condition: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.try_eval(condition).await;
            if let Ok(value) = &last
                && truthy(value)
            {
                return value.clone();
            }
            if Instant::now() > deadline {
                panic!("`{condition}` still not true after {timeout:?}; last: {last:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Resizes the window so the page's viewport is `width`×`height` CSS
    /// pixels (the window's own frame comes on top), as an OBS browser
    /// source of that size would be.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        let frame = self
            .eval(
                "[window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]",
            )
            .await;
        let extra = |i: usize| frame[i].as_u64().unwrap_or(0) as u32;
        self.client()
            .set_window_size(width + extra(0), height + extra(1))
            .await
            .expect("resize the window");
        let want = format!("window.innerWidth === {width} && window.innerHeight === {height}");
        self.wait_for(&want, Duration::from_secs(10)).await;
    }

    /// Chooses the one file at `path` in the file input `selector`.
    pub async fn choose_file(&self, selector: &str, path: &std::path::Path) {
        self.choose_files(selector, &[path]).await;
    }

    /// Chooses `files` in the page's file input `selector`, as a person
    /// picking them in the file dialog would (the page's change handler
    /// runs).
    pub async fn choose_files(&self, selector: &str, files: &[&std::path::Path]) {
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        let input = self
            .client()
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no {selector} on the page: {e}"));
        input
            .send_keys(&paths.join("\n"))
            .await
            .unwrap_or_else(|e| panic!("cannot choose {paths:?} in {selector}: {e}"));
    }

    /// Evaluates `expression` inside the frame the CSS `selector` finds (a
    /// sandboxed frame the page itself cannot look into), then returns to
    /// the page.
    pub async fn eval_in_frame(&self, selector: &str, expression: &str) -> Value {
        let frame = self
            .client()
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no frame {selector}: {e}"));
        frame
            .enter_frame()
            .await
            .unwrap_or_else(|e| panic!("cannot enter frame {selector}: {e}"));
        let value = self.eval(expression).await;
        self.client()
            .enter_parent_frame()
            .await
            .expect("back to the page from its frame");
        value
    }

    /// Saves a PNG of the page (for looking at a failure).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let png = self.client().screenshot().await.expect("screenshot");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Takes a picture of the page for the documentation: always taken
    /// (and checked to be a PNG), written to `docs/images/<name>.png` only
    /// when `STAGEHAND_SCREENSHOTS` is set, so ordinary test runs leave the
    /// working tree alone. `cargo xtask screenshots` sets it.
    pub async fn doc_picture(&self, name: &str) {
        let png = self.client().screenshot().await.expect("screenshot");
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
            "screenshot {name} is not a PNG picture ({} bytes)",
            png.len()
        );
        if std::env::var_os("STAGEHAND_SCREENSHOTS").is_some() {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/images");
            std::fs::create_dir_all(&dir).expect("create docs/images");
            std::fs::write(dir.join(format!("{name}.png")), png).expect("write picture");
        }
    }

    /// Ends the WebDriver session (closing Chromium), then chromedriver.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
    }
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started.
        let group = -(self.driver.id() as i32);
        // SAFETY: signalling the process group this Browser created.
        unsafe {
            libc::kill(group, libc::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}
