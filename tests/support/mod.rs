//! Shared harness for end-to-end tests: runs the real `stagehand` binary on
//! 127.0.0.1 with a fresh data directory, and talks to it over HTTP.

#![allow(dead_code)]

pub mod browser;
pub mod cluster;
pub mod media;
pub mod overlay;
pub mod pubsub;
pub mod tmpfs;
pub mod twitch;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The API token the harness gives every host.
pub const TOKEN: &str = "test-token-0123456789abcdef";
/// The overlay key the harness gives every host.
pub const OVERLAY_KEY: &str = "test-overlay-key-0123456789";

/// A `stagehand` command with an isolated environment.
pub fn stagehand(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stagehand"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", data_dir)
        .env("XDG_CONFIG_HOME", data_dir.join("xdg-config"))
        .env("STAGEHAND_DATA_DIR", data_dir)
        .env("STAGEHAND_ADDR", "127.0.0.1:0")
        .env("STAGEHAND_API_TOKEN", TOKEN)
        .env("STAGEHAND_OVERLAY_KEY", OVERLAY_KEY)
        .env("STAGEHAND_PLUGINS_DIR", data_dir.join("plugins"))
        .env("STAGEHAND_LOG", "info,stagehand=debug");
    cmd
}

/// Where `cargo xtask plugins` put the built plugins (`plugins/` and
/// `test-plugins/` folders, one folder per plugin).
pub fn built_plugins() -> PathBuf {
    let target = std::env::var_os("STAGEHAND_TEST_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    assert!(
        target.join("plugins").is_dir() && target.join("test-plugins").is_dir(),
        "built plugins not found in {}: run `cargo xtask plugins` (`cargo xtask test` does)",
        target.display()
    );
    target
}

/// Copies built plugin `name` (from `plugins/` or `test-plugins/`) into the
/// host's plugins folder under `data_dir`.
pub fn install_plugin(data_dir: &Path, name: &str) -> PathBuf {
    let built = built_plugins();
    let from = [
        built.join("plugins").join(name),
        built.join("test-plugins").join(name),
    ]
    .into_iter()
    .find(|p| p.is_dir())
    .unwrap_or_else(|| panic!("no built plugin {name}"));
    let to = data_dir.join("plugins").join(name);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to
}

/// A running host process.
pub struct Host {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub data_dir: PathBuf,
    /// Lines the host printed on stdout.
    pub stdout: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Host {
    /// Starts `stagehand run` (or `demo`), waits until it listens and its
    /// plugins have loaded (`/healthz` says `"plugins": "ready"`).
    pub fn start(data_dir: &Path, command: &str, env: &[(&str, &str)]) -> Host {
        let host = Host::start_serving(data_dir, command, env);
        host.wait_plugins_ready(Duration::from_secs(60));
        host
    }

    /// Waits until the first load of the plugins folder has finished.
    pub fn wait_plugins_ready(&self, wait: Duration) {
        let deadline = std::time::Instant::now() + wait;
        loop {
            if let Some((200, body)) = raw_get(&self.base, "/healthz")
                && body.contains("\"plugins\":\"ready\"")
            {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "plugins did not finish loading within {wait:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts `stagehand run` (or `demo`) and waits only until it listens:
    /// its plugins may still be loading.
    pub fn start_serving(data_dir: &Path, command: &str, env: &[(&str, &str)]) -> Host {
        Host::spawn(data_dir, command, env, false)
    }

    /// Starts `stagehand run` with its stderr closed (every log write
    /// fails) and waits until it listens and its plugins have loaded.
    pub fn start_without_stderr(data_dir: &Path, env: &[(&str, &str)]) -> Host {
        let host = Host::spawn(data_dir, "run", env, true);
        host.wait_plugins_ready(Duration::from_secs(60));
        host
    }

    fn spawn(data_dir: &Path, command: &str, env: &[(&str, &str)], close_stderr: bool) -> Host {
        let mut cmd = stagehand(data_dir);
        cmd.arg(command);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if close_stderr {
            use std::os::unix::process::CommandExt;
            // SAFETY: close(2) is async-signal-safe; fd 2 is the child's own.
            unsafe {
                cmd.pre_exec(|| {
                    libc::close(2);
                    Ok(())
                });
            }
        }
        let mut child = cmd.spawn().expect("spawn stagehand");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let mut base = None;
        // The start-up banner ends with the dashboard line.
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if line.contains("listening on") {
                        base = line
                            .split_whitespace()
                            .find(|w| w.starts_with("http://"))
                            .map(str::to_owned);
                    }
                    let done = line.starts_with("Dashboard:");
                    lines.push(line);
                    if done {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let err = stderr.join().unwrap_or_default();
                    panic!("stagehand did not start; stdout: {lines:?}\nstderr:\n{err}");
                }
            }
        }
        let base = base.expect("a 'listening on http://…' line");
        // Keep draining stdout so the host never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        Host {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            stdout: lines,
            stderr: Some(stderr),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then waits for a clean exit; returns the stderr log.
    pub fn stop(mut self) -> String {
        let pid = self.child.id() as i32;
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let status = self.child.wait().expect("wait");
        let log = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        assert!(
            status.success(),
            "stagehand exited with {status}; log:\n{log}"
        );
        log
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain blocking `GET` (for waits outside an async runtime): the status
/// and body, or None if the host did not answer within 5 s.
pub fn raw_get(base: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// reqwest is built without a default TLS provider (the host picks ring).
fn tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client that sends the harness token.
pub fn client() -> reqwest::Client {
    tls_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {TOKEN}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// GETs `path` with the harness token and parses the JSON answer.
pub async fn get_json<T: serde::de::DeserializeOwned>(host: &Host, path: &str) -> T {
    let resp = client().get(host.url(path)).send().await.expect("GET");
    assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    resp.json().await.expect("a JSON body")
}

/// A client with no token.
pub fn anonymous() -> reqwest::Client {
    tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Runs `stagehand` to completion with `args`; returns (success, stdout, stderr).
pub fn run_cli(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = stagehand(data_dir)
        .args(args)
        .output()
        .expect("run stagehand");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `stagehand` in the folder `cwd` with extra environment `env`;
/// returns (success, stdout, stderr).
pub fn run_cli_in(
    data_dir: &Path,
    cwd: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let out = stagehand(data_dir)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run stagehand");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `stagehand <command>` expecting it to fail at start-up (a host that
/// starts serving instead is killed after 20 s); returns stderr.
pub fn start_fails(data_dir: &Path, command: &str) -> String {
    let mut child = stagehand(data_dir)
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run stagehand");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("stagehand {command} kept running instead of failing");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "stagehand {command} should have failed");
    err
}

/// The status and `error.code` of a failed API answer, checking that the
/// body is the JSON error shape with a message for people.
pub async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.expect("a JSON error body");
    let code = body["error"]["code"]
        .as_str()
        .expect("error.code")
        .to_owned();
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (status, code)
}

/// Posts a test chat message from `name` (Twitch id `id`), so the host has
/// seen the viewer and the speech service hears it.
#[allow(dead_code)]
pub async fn post_chat(host: &Host, id: &str, name: &str, text: &str) {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&serde_json::json!({
            "kind": "channel.chat.message",
            "details": {"username": name, "text": text},
            "viewer": {"id": id, "login": name.to_lowercase(), "display_name": name}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}
