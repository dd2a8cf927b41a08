//! End-to-end: installing, updating and removing plugins from a file, over
//! the API (`POST /api/plugins/install`, `POST /api/plugins/install/{token}`,
//! `DELETE /api/plugins/{name}`) and with `stagehand plugin install`.
//! Packages are made by the real `stagehand plugin pack` from the built
//! plugins; every refused file is shown to change nothing.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Host, client, error_code};

const WAIT: Duration = Duration::from_secs(20);

/// The folder `cargo xtask plugins` built `name` into.
fn built(name: &str) -> PathBuf {
    let root = support::built_plugins();
    [
        root.join("plugins").join(name),
        root.join("test-plugins").join(name),
    ]
    .into_iter()
    .find(|p| p.is_dir())
    .unwrap_or_else(|| panic!("no built plugin {name}"))
}

/// The built component of `name`.
fn component(name: &str) -> Vec<u8> {
    let folder = built(name);
    let wasm = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .unwrap_or_else(|| panic!("no .wasm in {}", folder.display()));
    std::fs::read(wasm).unwrap()
}

/// A package of built plugin `name` made by `stagehand plugin pack`, its
/// `plugin.toml` passed through `edit` first.
fn pack(work: &Path, name: &str, edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let source = tempfile::tempdir_in(work).unwrap();
    for entry in std::fs::read_dir(built(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), source.path().join(entry.file_name())).unwrap();
    }
    let manifest = source.path().join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, edit(text)).unwrap();
    let out = source.path().join("out.stagehand");
    let (ok, stdout, stderr) = support::run_cli(
        work,
        &[
            "plugin",
            "pack",
            source.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(ok, "{stdout}{stderr}");
    std::fs::read(out).unwrap()
}

/// fault-plugin's second version: a new version asking for chat and media
/// from a CDN, with more memory.
fn fault_v2(text: String) -> String {
    let edited = text
        .replace("version = \"1.0.0\"", "version = \"2.0.0\"")
        .replace(
            "[permissions]\n",
            "[permissions]\nchat = true\nmedia = [\"cdn.example.com\"]\n",
        )
        .replace("memory_mib = 16", "memory_mib = 32");
    assert_ne!(edited, text, "fault-plugin's plugin.toml changed shape");
    edited
}

async fn upload(
    host: &Host,
    body: Vec<u8>,
    content_type: &str,
    name: Option<&str>,
) -> reqwest::Response {
    let mut url = host.url("/api/plugins/install");
    if let Some(name) = name {
        url.push_str(&format!("?name={name}"));
    }
    client()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("an answer")
}

/// Uploads `body` and expects a preview.
async fn preview(host: &Host, body: Vec<u8>, content_type: &str, name: Option<&str>) -> Value {
    let resp = upload(host, body, content_type, name).await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body["token"].as_str().is_some_and(|t| t.len() >= 32),
        "{body}"
    );
    assert_eq!(body["expires_in_secs"], 600);
    body
}

async fn confirm(host: &Host, token: &str) -> Value {
    let resp = client()
        .post(host.url(&format!("/api/plugins/install/{token}")))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

async fn plugins(host: &Host) -> Vec<Value> {
    support::get_json(host, "/api/plugins").await
}

async fn wait_for(host: &Host, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let all = plugins(host).await;
        if let Some(p) = all.iter().find(|p| p["name"] == name)
            && check(p)
        {
            return p.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never became {what}: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn grant(host: &Host, name: &str) -> Value {
    let resp = client()
        .post(host.url(&format!("/api/plugins/{name}/grant")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn post_event(host: &Host, body: Value) {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
}

/// What the database holds for `plugin`: its kv `count`, its grants, and
/// whether it has dashboard settings.
fn stored(data_dir: &Path, plugin: &str) -> (Option<String>, Vec<String>, bool) {
    let conn = rusqlite::Connection::open_with_flags(
        data_dir.join("stagehand.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let count = conn
        .query_row(
            "SELECT value FROM plugin_kv WHERE plugin = ?1 AND key = 'count'",
            [plugin],
            |r| r.get(0),
        )
        .ok();
    let mut stmt = conn
        .prepare("SELECT permission FROM plugin_grants WHERE plugin = ?1 ORDER BY permission")
        .unwrap();
    let grants = stmt
        .query_map([plugin], |r| r.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap();
    let config: i64 = conn
        .query_row(
            "SELECT count(*) FROM plugin_config WHERE plugin = ?1",
            [plugin],
            |r| r.get(0),
        )
        .unwrap();
    (count, grants, config > 0)
}

/// Waits until fault-plugin's stored `count` is `value`.
async fn wait_count(data_dir: &Path, value: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while stored(data_dir, "fault-plugin").0.as_deref() != Some(value) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the kv count never became {value}: {:?}",
            stored(data_dir, "fault-plugin")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the plugins folder holds (names, hidden ones included).
fn folder(data_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data_dir.join("plugins"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A gzip-compressed tar of `entries`, names written raw (the tar builder
/// itself refuses `..`; an attacker's tool does not).
fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, *bytes).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// Install, grant, keep data across an update that shows what it adds and
/// waits for the new grants, then remove: the folder, kv, grants and
/// settings go, and a reinstall inherits nothing.
#[tokio::test]
async fn a_package_installs_updates_with_a_diff_and_removes_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let v1 = pack(work.path(), "fault-plugin", |t| t);
    let v2 = pack(work.path(), "fault-plugin", fault_v2);
    let host = Host::start(dir.path(), "run", &[]);

    let shown = preview(&host, v1.clone(), "application/gzip", None).await;
    assert_eq!(shown["name"], "fault-plugin");
    assert_eq!(shown["version"], "1.0.0");
    assert_eq!(shown["contract"], "0.3.0");
    assert_eq!(shown["permissions"], json!(["webhook:127.0.0.1"]));
    assert_eq!(shown["memory_mib"], 16);
    assert_eq!(shown["deadline_ms"], 50);
    assert_eq!(shown["media_hosts"], json!([]));
    assert_eq!(shown["bare"], false);
    assert_eq!(shown["update"], Value::Null);
    assert_eq!(shown["needs_grant"], json!(["webhook:127.0.0.1"]));
    assert_eq!(shown["file_bytes"], v1.len());
    assert!(
        shown["description"]
            .as_str()
            .unwrap()
            .contains("Misbehaves")
    );
    // Nothing is installed before the confirmation.
    assert!(folder(dir.path()).is_empty(), "{:?}", folder(dir.path()));
    assert!(plugins(&host).await.is_empty());

    let status = confirm(&host, shown["token"].as_str().unwrap()).await;
    assert_eq!(status["name"], "fault-plugin");
    assert_eq!(status["status"], "pending_grant", "{status}");
    // A token installs once.
    let again = client()
        .post(host.url(&format!(
            "/api/plugins/install/{}",
            shown["token"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(again).await, (404, "unknown_token".into()));
    assert_eq!(folder(dir.path()), vec!["fault-plugin"]);
    use std::os::unix::fs::PermissionsExt;
    let installed = dir.path().join("plugins/fault-plugin");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&installed), 0o700);
    assert_eq!(mode(&installed.join("plugin.toml")), 0o600);

    assert_eq!(grant(&host, "fault-plugin").await["status"], "running");
    post_event(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "kv"}}),
    )
    .await;
    wait_count(dir.path(), "1").await;
    let resp = client()
        .put(host.url("/api/plugins/fault-plugin/settings"))
        .json(&json!({"settings": {"label": "mine"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The update: what it adds, what changes, and what waits for a grant.
    let shown = preview(&host, v2, "application/octet-stream", None).await;
    let update = &shown["update"];
    assert_eq!(update["version"], json!({"from": "1.0.0", "to": "2.0.0"}));
    assert_eq!(
        update["added_permissions"],
        json!(["chat", "media:cdn.example.com"])
    );
    assert_eq!(update["removed_permissions"], json!([]));
    assert_eq!(update["memory_mib"], json!({"from": 16, "to": 32}));
    assert_eq!(update["deadline_ms"], Value::Null);
    assert_eq!(update["added_media_hosts"], json!(["cdn.example.com"]));
    assert_eq!(update["removed_media_hosts"], json!([]));
    assert_eq!(
        shown["needs_grant"],
        json!(["chat", "media:cdn.example.com"])
    );
    let status = confirm(&host, shown["token"].as_str().unwrap()).await;
    assert_eq!(status["status"], "pending_grant", "{status}");
    assert_eq!(status["version"], "2.0.0");
    assert_eq!(status["granted_permissions"], json!(["webhook:127.0.0.1"]));
    assert!(
        status["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("chat") && e.contains("media:cdn.example.com")),
        "{status}"
    );
    // Allowed, it runs with its data and settings kept.
    assert_eq!(grant(&host, "fault-plugin").await["status"], "running");
    post_event(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "kv"}}),
    )
    .await;
    wait_count(dir.path(), "2").await;
    assert!(stored(dir.path(), "fault-plugin").2, "settings kept");

    // Removal: folder, data, grants and settings.
    let resp = client()
        .delete(host.url("/api/plugins/fault-plugin"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"removed": "fault-plugin"}));
    assert!(folder(dir.path()).is_empty(), "{:?}", folder(dir.path()));
    assert!(
        plugins(&host)
            .await
            .iter()
            .all(|p| p["name"] != "fault-plugin"),
        "still listed"
    );
    assert_eq!(stored(dir.path(), "fault-plugin"), (None, vec![], false));
    let resp = client()
        .delete(host.url("/api/plugins/fault-plugin"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (404, "not_found".into()));

    // Installed again, it starts from nothing: no grant is inherited.
    let shown = preview(&host, v1, "application/gzip", None).await;
    assert_eq!(shown["update"], Value::Null);
    assert_eq!(shown["needs_grant"], json!(["webhook:127.0.0.1"]));
    let status = confirm(&host, shown["token"].as_str().unwrap()).await;
    assert_eq!(status["status"], "pending_grant", "{status}");
    host.stop();
}

/// A plugin folder deleted by hand leaves its grants and data in the
/// database; a package installed later under that name inherits neither.
#[tokio::test]
async fn a_new_plugin_under_an_old_name_inherits_no_grant_or_data() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let package = pack(work.path(), "fault-plugin", |t| t);
    let host = Host::start(dir.path(), "run", &[]);
    let shown = preview(&host, package.clone(), "application/gzip", None).await;
    confirm(&host, shown["token"].as_str().unwrap()).await;
    grant(&host, "fault-plugin").await;
    post_event(
        &host,
        json!({"kind": "test.fault", "details": {"mode": "kv"}}),
    )
    .await;
    wait_count(dir.path(), "1").await;

    std::fs::remove_dir_all(dir.path().join("plugins/fault-plugin")).unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while plugins(&host)
        .await
        .iter()
        .any(|p| p["name"] == "fault-plugin")
    {
        assert!(tokio::time::Instant::now() < deadline, "never unloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        stored(dir.path(), "fault-plugin").1,
        vec!["webhook:127.0.0.1"],
        "left behind"
    );

    let shown = preview(&host, package, "application/gzip", None).await;
    assert_eq!(shown["update"], Value::Null);
    assert_eq!(shown["needs_grant"], json!(["webhook:127.0.0.1"]));
    let status = confirm(&host, shown["token"].as_str().unwrap()).await;
    assert_eq!(status["status"], "pending_grant", "{status}");
    assert_eq!(stored(dir.path(), "fault-plugin"), (None, vec![], false));
    host.stop();
}

/// A bare `.wasm` installs under the name given (as a file name would be
/// normalised), asking for nothing, and runs.
#[tokio::test]
async fn a_bare_component_installs_under_its_name_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::start(dir.path(), "run", &[]);
    let wasm = component("follow-alert");
    let shown = preview(
        &host,
        wasm.clone(),
        "application/wasm",
        Some("Follow_Alert"),
    )
    .await;
    assert_eq!(shown["name"], "follow-alert");
    assert_eq!(shown["bare"], true);
    assert_eq!(shown["permissions"], json!([]));
    assert_eq!(shown["needs_grant"], json!([]));
    assert_eq!(shown["wasm_bytes"], wasm.len());
    let status = confirm(&host, shown["token"].as_str().unwrap()).await;
    assert_eq!(status["status"], "running", "{status}");
    assert_eq!(status["version"], "0.1.0", "the component's own version");
    let installed = dir.path().join("plugins/follow-alert");
    assert_eq!(
        std::fs::read(installed.join("follow-alert.wasm")).unwrap(),
        wasm
    );

    // The same file again is an update of the running plugin.
    let shown = preview(&host, wasm, "application/wasm", Some("follow-alert")).await;
    assert_eq!(
        shown["update"]["version"],
        json!({"from": "0.1.0", "to": "0"})
    );
    assert_eq!(shown["update"]["added_permissions"], json!([]));
    host.stop();
}

/// Every refused file answers a clear error naming the problem, and the
/// plugins folder and the plugin list stay as they were.
#[tokio::test]
async fn bad_files_are_refused_with_the_reason_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let good = pack(work.path(), "follow-alert", |t| t);
    let wasm = component("follow-alert");
    let manifest = b"name = \"x\"\nversion = \"1.0.0\"\n";
    let mut future = wasm.clone();
    let (from, to) = (
        b"stagehand:plugin/handler@0.3.0",
        b"stagehand:plugin/handler@0.9.0",
    );
    let mut patched = 0;
    for i in 0..future.len() - from.len() {
        if &future[i..i + from.len()] == from {
            future[i..i + to.len()].copy_from_slice(to);
            patched += 1;
        }
    }
    assert!(patched > 0, "follow-alert exports no handler@0.3.0");
    let host = Host::start(dir.path(), "run", &[]);

    let oversized = {
        let mut big = good.clone();
        big.resize(34 << 20, 0);
        big
    };
    /// (what, body, content type, ?name=, status, code, words in the message)
    type Case<'a> = (
        &'a str,
        Vec<u8>,
        &'a str,
        Option<&'a str>,
        u16,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "not gzip",
            b"PK\x03\x04 a zip file".to_vec(),
            "application/gzip",
            None,
            400,
            "not_a_package",
            "not a plugin package",
        ),
        (
            "path traversal",
            tar_gz(&[("../plugin.toml", manifest), ("x.wasm", &wasm)]),
            "application/gzip",
            None,
            422,
            "bad_package",
            "\"../plugin.toml\"",
        ),
        (
            "missing manifest",
            tar_gz(&[("x.wasm", &wasm)]),
            "application/gzip",
            None,
            422,
            "bad_package",
            "no plugin.toml",
        ),
        (
            "manifest names another component",
            tar_gz(&[
                (
                    "plugin.toml",
                    b"name = \"x\"\nversion = \"1\"\nwasm = \"y.wasm\"\n",
                ),
                ("x.wasm", &wasm),
            ]),
            "application/gzip",
            None,
            422,
            "name_mismatch",
            "\"y.wasm\"",
        ),
        (
            "package named otherwise than asked",
            good.clone(),
            "application/gzip",
            Some("other-plugin"),
            422,
            "name_mismatch",
            "\"follow-alert\"",
        ),
        (
            "bad manifest",
            tar_gz(&[
                (
                    "plugin.toml",
                    b"name = \"x\"\nversion = \"1\"\nnetwork = true\n",
                ),
                ("x.wasm", &wasm),
            ]),
            "application/gzip",
            None,
            422,
            "bad_manifest",
            "unknown field",
        ),
        (
            "core module",
            b"\0asm\x01\0\0\0".to_vec(),
            "application/wasm",
            Some("core"),
            422,
            "not_a_component",
            "core WebAssembly module",
        ),
        (
            "component in a package that is not a component",
            tar_gz(&[("plugin.toml", manifest), ("x.wasm", b"\0asm\x01\0\0\0")]),
            "application/gzip",
            None,
            422,
            "not_a_component",
            "x.wasm",
        ),
        (
            "contract from the future",
            future,
            "application/wasm",
            Some("future"),
            422,
            "unsupported_contract",
            "0.9.0",
        ),
        (
            "bare wasm without a name",
            wasm.clone(),
            "application/wasm",
            None,
            400,
            "name_required",
            "name",
        ),
        (
            "reserved name",
            wasm.clone(),
            "application/wasm",
            Some("install"),
            422,
            "bad_manifest",
            "reserved",
        ),
        (
            "not a plugin file type",
            good.clone(),
            "application/json",
            None,
            415,
            "unsupported_media_type",
            "application/gzip",
        ),
        (
            "over the package cap",
            oversized,
            "application/gzip",
            None,
            413,
            "too_large",
            "at most",
        ),
    ];
    for (what, body, content_type, name, status, code, needle) in cases {
        let resp = upload(&host, body, content_type, name).await;
        let got = resp.status().as_u16();
        let body: Value = resp.json().await.expect("a JSON error body");
        assert_eq!(
            (got, body["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{what}: {body}"
        );
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains(needle),
            "{what}: {needle:?} not in {message:?}"
        );
        assert!(
            folder(dir.path()).is_empty(),
            "{what}: {:?}",
            folder(dir.path())
        );
    }

    // Over the route's cap, without a length: read up to it, then refused.
    let chunk = vec![0u8; 1 << 20];
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..40)
        .map(|_| Ok(chunk.clone()))
        .chain([Ok(vec![0u8; 256 << 10])])
        .collect();
    let resp = client()
        .post(host.url("/api/plugins/install"))
        .header("content-type", "application/gzip")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .expect("an answer, not a reset");
    assert_eq!(error_code(resp).await, (413, "too_large".into()));

    let resp = client()
        .post(host.url("/api/plugins/install/0123456789abcdef"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (404, "unknown_token".into()));
    assert!(plugins(&host).await.is_empty());
    assert!(folder(dir.path()).is_empty());
    host.stop();
}

/// `stagehand plugin install FILE --yes` installs into the plugins folder
/// a running host watches; an update shows its diff; without `--yes` and
/// without a terminal it refuses and writes nothing.
#[tokio::test]
async fn the_command_line_installs_with_yes_and_refuses_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let v1 = work.path().join("fault-plugin-1.stagehand");
    std::fs::write(&v1, pack(work.path(), "fault-plugin", |t| t)).unwrap();
    let v2 = work.path().join("fault-plugin-2.stagehand");
    std::fs::write(&v2, pack(work.path(), "fault-plugin", fault_v2)).unwrap();

    let (ok, out, err) = support::run_cli(dir.path(), &["plugin", "install", v1.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("not a terminal") && err.contains("--yes"),
        "{err}"
    );
    assert!(
        out.contains("asks for:     webhook:127.0.0.1"),
        "it still shows what it asks for: {out}"
    );
    assert!(folder(dir.path()).is_empty(), "{:?}", folder(dir.path()));

    let host = Host::start(dir.path(), "run", &[]);
    let (ok, out, err) = support::run_cli(
        dir.path(),
        &["plugin", "install", v1.to_str().unwrap(), "--yes"],
    );
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("Install fault-plugin 1.0.0 (plugin contract 0.3.0)"),
        "{out}"
    );
    assert!(out.contains("needs grant:  webhook:127.0.0.1"), "{out}");
    assert!(out.contains("Installed fault-plugin"), "{out}");
    // The running host picks it up from the folder.
    wait_for(&host, "fault-plugin", "pending_grant", |p| {
        p["status"] == "pending_grant"
    })
    .await;
    grant(&host, "fault-plugin").await;

    let (ok, out, err) = support::run_cli(
        dir.path(),
        &["plugin", "install", v2.to_str().unwrap(), "-y"],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("Update fault-plugin 1.0.0 -> 2.0.0"), "{out}");
    assert!(
        out.contains("changes:      + chat, + media:cdn.example.com, memory 16 -> 32 MiB"),
        "{out}"
    );
    assert!(
        out.contains("needs grant:  chat, media:cdn.example.com"),
        "{out}"
    );
    let status = wait_for(&host, "fault-plugin", "2.0.0 waiting for its grant", |p| {
        p["version"] == "2.0.0" && p["status"] == "pending_grant"
    })
    .await;
    assert_eq!(status["granted_permissions"], json!(["webhook:127.0.0.1"]));

    let (ok, _, err) = support::run_cli(
        dir.path(),
        &[
            "plugin",
            "install",
            work.path().join("missing.stagehand").to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(!ok && err.contains("missing.stagehand"), "{err}");
    host.stop();
}
