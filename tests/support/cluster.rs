//! A cluster on this machine for end-to-end tests: the Twitch look-alike in
//! process, a fresh PostgreSQL database, a fresh NATS subject prefix, and
//! `stagehand cluster ROLE` processes that can be killed (SIGKILL) and
//! started again on the same addresses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use twitch_lookalike::{MockOptions, MockTwitch};

/// The operator token every edge of a test cluster accepts.
pub const OPERATOR_TOKEN: &str = "test-operator-token-0123456789";

/// Where the machine's NATS is (or `STAGEHAND_TEST_NATS_URL`).
pub fn nats_url() -> String {
    std::env::var("STAGEHAND_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// Where the machine's PostgreSQL is (or `STAGEHAND_TEST_DATABASE_URL`).
pub fn database_url() -> String {
    std::env::var("STAGEHAND_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// One process of the cluster.
pub struct Node {
    pub role: &'static str,
    pub name: String,
    /// The edge's address, or the operations endpoint's.
    pub addr: Option<String>,
    child: Option<Child>,
    log: PathBuf,
    extra: Vec<String>,
}

/// Channel credentials the operator API answered.
#[derive(Debug, Clone)]
pub struct ChannelCreds {
    pub id: String,
    pub login: String,
    pub dashboard_token: String,
    pub overlay_key: String,
}

/// The cluster under test.
pub struct Cluster {
    pub twitch: MockTwitch,
    pub database: String,
    database_name: String,
    pub prefix: String,
    pub token_key: String,
    pub nodes: Vec<Node>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// Extra arguments for every node (lease time, poll interval, ...).
    pub common: Vec<String>,
}

impl Cluster {
    /// A look-alike with room for many channels, a new database and prefix.
    pub async fn start(common: &[&str]) -> Cluster {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let twitch = MockTwitch::start(MockOptions {
            rate_limit_per_minute: 1_000_000,
            max_total_cost: 1_000_000,
            max_websocket_connections: 1000,
            ..MockOptions::fast()
        })
        .await
        .expect("look-alike starts");
        let suffix = format!("{:08x}", rand_u32());
        let database_name = format!("stagehand_e2e_{suffix}");
        let admin = database_url();
        let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL reachable (STAGEHAND_TEST_DATABASE_URL)");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {database_name}"))
            .await
            .expect("create the test database");
        let database = replace_db(&admin, &database_name);
        Cluster {
            twitch,
            database,
            database_name,
            prefix: format!("e2e{suffix}"),
            token_key: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
            nodes: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            common: common.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Starts a node of `role` named `name`; answers its index.
    pub fn spawn(&mut self, role: &'static str, name: &str, extra: &[&str]) -> usize {
        let node = Node {
            role,
            name: name.to_owned(),
            addr: None,
            child: None,
            log: self.dir.path().join(format!("{name}.log")),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        self.nodes.push(node);
        let index = self.nodes.len() - 1;
        self.launch(index);
        index
    }

    fn launch(&mut self, index: usize) {
        let node = &self.nodes[index];
        let listen = node.addr.clone().unwrap_or_else(|| "127.0.0.1:0".into());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stagehand"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("STAGEHAND_LOG", "info")
            .env("STAGEHAND_TOKEN_KEY", &self.token_key)
            .env("STAGEHAND_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("TWITCH_CLIENT_ID", self.twitch.client_id())
            .env("TWITCH_CLIENT_SECRET", self.twitch.client_secret())
            .env("TWITCH_API_URL", self.twitch.api_url())
            .env("TWITCH_AUTH_URL", self.twitch.auth_url())
            .env("TWITCH_EVENTSUB_URL", self.twitch.eventsub_url())
            .arg("cluster")
            .arg(node.role)
            .args(["--nats", &nats_url()])
            .args(["--database", &self.database])
            .args(["--prefix", &self.prefix])
            .args(["--node-id", &node.name])
            .args(&self.common)
            .args(&node.extra);
        if node.role == "edge" {
            cmd.args(["--listen", &listen]);
        } else {
            cmd.args(["--ops", &listen]);
        }
        let log = std::fs::File::create(&node.log).unwrap();
        cmd.stdout(Stdio::null()).stderr(log);
        let child = cmd.spawn().expect("start stagehand cluster");
        self.nodes[index].child = Some(child);
        if self.nodes[index].addr.is_none() {
            let addr = self.wait_listening(index);
            self.nodes[index].addr = Some(addr);
        }
    }

    /// Reads the address the node logged it listens on.
    fn wait_listening(&mut self, index: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&self.nodes[index].log).unwrap_or_default();
            for line in text.lines() {
                let Ok(v) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                let message = v["message"].as_str().unwrap_or("");
                if (message == "edge listening" || message == "operations endpoint listening")
                    && let Some(addr) = v["addr"].as_str()
                {
                    return addr.to_owned();
                }
            }
            if let Some(child) = self.nodes[index].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "{} exited ({status}) before listening:\n{text}",
                    self.nodes[index].name
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen:\n{text}",
                self.nodes[index].name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://ADDR` of node `index`.
    pub fn url(&self, index: usize) -> String {
        format!(
            "http://{}",
            self.nodes[index].addr.as_deref().expect("listening")
        )
    }

    /// Waits until `/readyz` of node `index` answers 200.
    pub async fn wait_ready(&self, index: usize, wait: Duration) {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(r) = self
                .http
                .get(format!("{}/readyz", self.url(index)))
                .send()
                .await
                && r.status() == 200
            {
                return;
            }
            if Instant::now() > deadline {
                let body = match self
                    .http
                    .get(format!("{}/readyz", self.url(index)))
                    .send()
                    .await
                {
                    Ok(r) => r.text().await.unwrap_or_default(),
                    Err(e) => e.to_string(),
                };
                panic!(
                    "{} not ready within {wait:?}: {body}\n{}",
                    self.nodes[index].name,
                    self.log_tail(index, 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILLs node `index`: no drain, no goodbye.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERMs node `index` and waits for it to exit; answers its exit code.
    pub fn terminate(&mut self, index: usize, wait: Duration) -> Option<i32> {
        let mut child = self.nodes[index].child.take()?;
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts node `index` again on the same address.
    pub fn restart(&mut self, index: usize) {
        self.kill(index);
        self.launch(index);
    }

    /// The last `n` lines node `index` logged.
    pub fn log_tail(&self, index: usize, n: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[index].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Every line node `index` logged (all its runs).
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(&self.nodes[index].log).unwrap_or_default()
    }

    /// Adds a look-alike channel and registers it through edge `edge`'s
    /// operator API with its Twitch token.
    pub async fn add_channel(&self, edge: usize, login: &str) -> ChannelCreds {
        let control = self.twitch.control();
        let (id, login) = control
            .add_channel(login)
            .await
            .expect("look-alike channel");
        let token = control.user_token(&id).await.expect("channel token");
        let r = self
            .http
            .post(format!("{}/api/channels", self.url(edge)))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"id": id, "login": login, "user_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "channel created: {}",
            r.text().await.unwrap_or_default()
        );
        let body: Value = r.json().await.unwrap();
        ChannelCreds {
            id,
            login,
            dashboard_token: body["dashboard_token"].as_str().unwrap().to_owned(),
            overlay_key: body["overlay_key"].as_str().unwrap().to_owned(),
        }
    }

    /// Installs `package` as `name` for a channel through edge `edge`.
    pub async fn install(&self, edge: usize, channel: &ChannelCreds, name: &str, package: &[u8]) {
        let r = self
            .http
            .put(format!("{}/api/plugins/{name}", self.url(edge)))
            .bearer_auth(&channel.dashboard_token)
            .body(package.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "install: {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// A channel's stored events through edge `edge` (newest first).
    pub async fn events(&self, edge: usize, token: &str, limit: u32) -> Vec<Value> {
        let r = self
            .http
            .get(format!("{}/api/events?limit={limit}", self.url(edge)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        body["events"].as_array().cloned().unwrap_or_default()
    }

    /// Deletes the test's stream (and with it its consumers).
    pub async fn delete_stream(&self) {
        if let Ok(client) = async_nats::connect(nats_url()).await {
            let js = async_nats::jetstream::new(client);
            let _ = js
                .delete_stream(format!("{}_EVENTS", self.prefix.to_uppercase()))
                .await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            for node in &self.nodes {
                let text = std::fs::read_to_string(&node.log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                eprintln!(
                    "--- last lines of {} ---\n{}",
                    node.name,
                    lines[lines.len().saturating_sub(30)..].join("\n")
                );
            }
        }
        // The database goes with the test (nothing may still use it), unless
        // asked to keep it for a look after a failure.
        if std::env::var_os("STAGEHAND_TEST_KEEP_DB").is_some() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()).keep();
            eprintln!(
                "kept database {} and logs in {}",
                self.database_name,
                dir.display()
            );
            return;
        }
        let name = self.database_name.clone();
        let admin = database_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

fn replace_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) if url[..i].contains('@') || url[..i].contains("//") => {
            format!("{}/{db}", &url[..i])
        }
        _ => format!("{url}/{db}"),
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) as u32
}

/// A package of built plugin `name` (made by `stagehand plugin pack`).
pub fn package(work: &Path, name: &str) -> Vec<u8> {
    let built = super::built_plugins();
    let from = [
        built.join("plugins").join(name),
        built.join("test-plugins").join(name),
    ]
    .into_iter()
    .find(|p| p.is_dir())
    .unwrap_or_else(|| panic!("no built plugin {name}"));
    let out = work.join(format!("{name}.stagehand"));
    let (ok, _, stderr) = super::run_cli(
        work,
        &[
            "plugin",
            "pack",
            from.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(ok, "pack {name}: {stderr}");
    std::fs::read(out).unwrap()
}
