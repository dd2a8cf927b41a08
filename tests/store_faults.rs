//! End-to-end: the database faults of the foundation issue, against the
//! real binary: a file that is not SQLite, a corrupt one, one from a newer
//! schema, a second host on the same data, and SIGKILL mid-burst.

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use support::{Host, client, run_cli, start_fails};

fn digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stagehand.db");
    let junk: Vec<u8> = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&db, &junk).unwrap();

    let err = start_fails(dir.path(), "run");
    assert!(
        err.contains(&db.display().to_string()),
        "names the file: {err}"
    );
    assert!(err.contains("not a SQLite database"), "{err}");
    assert_eq!(digest(&db), junk, "the file was changed");

    let (ok, _out, err) = run_cli(dir.path(), &["db", "check"]);
    assert!(!ok);
    assert!(err.contains("not a SQLite database"), "{err}");
    assert_eq!(digest(&db), junk);
}

/// A database with some events, checkpointed into the main file.
fn make_database(dir: &Path, events: usize) -> std::path::PathBuf {
    let host = Host::start(dir, "run", &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client();
        for i in 0..events {
            let body = json!({"kind": "test.padded", "details": {"username": format!("user{i}"), "padding": "p".repeat(200)}});
            let resp = c.post(host.url("/api/events/test")).json(&body).send().await.unwrap();
            assert_eq!(resp.status(), 201);
        }
    });
    host.stop();
    let db = dir.join("stagehand.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
        .unwrap();
    drop(conn);
    db
}

#[test]
fn a_corrupt_database_is_refused_with_its_name_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = make_database(dir.path(), 300);
    // Scribble over pages past the schema, keeping the header valid.
    let mut bytes = digest(&db);
    assert!(
        bytes.len() > 16 * 4096,
        "database too small to corrupt: {}",
        bytes.len()
    );
    for b in &mut bytes[6 * 4096..12 * 4096] {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();

    let err = start_fails(dir.path(), "run");
    assert!(
        err.contains(&db.display().to_string()),
        "names the file: {err}"
    );
    assert!(err.contains("corrupt"), "{err}");
    assert_eq!(digest(&db), bytes, "the file was changed");

    let (ok, out, _err) = run_cli(dir.path(), &["db", "check"]);
    assert!(!ok, "db check must fail on a corrupt file: {out}");
    assert_eq!(digest(&db), bytes);
}

#[test]
fn a_database_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stagehand.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
            .unwrap();
    }
    let before = digest(&db);
    let err = start_fails(dir.path(), "run");
    assert!(err.contains("schema version 99"), "{err}");
    assert!(err.contains(&db.display().to_string()), "{err}");
    assert_eq!(digest(&db), before);

    let (ok, out, _) = run_cli(dir.path(), &["db", "check"]);
    assert!(!ok);
    assert!(out.contains("schema version: 99"), "{out}");
}

#[test]
fn a_second_host_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = Host::start(dir.path(), "run", &[]);
    let err = start_fails(dir.path(), "run");
    assert!(err.contains("already running"), "{err}");
    first.stop();
}

#[test]
fn db_check_reports_integrity_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path(), 3);
    let (ok, out, err) = run_cli(dir.path(), &["db", "check"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("integrity: ok"), "{out}");
    let latest = stagehand::store::migrations::latest_version();
    let expected = format!("schema version: {latest} (this Stagehand: {latest})");
    assert!(out.contains(&expected), "{out}");
    assert!(out.contains("events: 3"), "{out}");
    let (ok, out, _) = run_cli(dir.path(), &["db", "check", "--json"]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["integrity"], json!(["ok"]));
    assert_eq!(report["events"], 3);

    let (ok, _, err) = run_cli(dir.path(), &["db", "check", "--db", "/nonexistent/x.db"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/x.db"), "{err}");

    // A new data directory: no database yet, and that is fine.
    let fresh = tempfile::tempdir().unwrap();
    let (ok, out, err) = run_cli(fresh.path(), &["db", "check"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("no database yet"), "{out}");
    assert!(!err.contains("Invalid path"), "{err}");
    let (ok, out, _) = run_cli(fresh.path(), &["db", "check", "--json"]);
    assert!(ok);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["exists"], false);
}

#[test]
fn the_data_dir_and_database_are_private_whichever_command_made_them() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for command in ["run", "demo"] {
        let parent = tempfile::tempdir().unwrap();
        let data = parent.path().join("data");
        let host = Host::start(&data, command, &[("STAGEHAND_DEMO_INTERVAL_MS", "0")]);
        host.stop();
        assert_eq!(mode(&data), 0o700, "{command}: data dir");
        assert_eq!(
            mode(&data.join("stagehand.db")),
            0o600,
            "{command}: database"
        );
    }
    // A data dir someone made world-readable is tightened.
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("loose");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let host = Host::start(&data, "run", &[]);
    host.stop();
    assert_eq!(mode(&data), 0o700);
}

#[test]
fn sigkill_mid_burst_loses_no_committed_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut host = Host::start(dir.path(), "run", &[]);
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Eight writers post as fast as they can; every 201 is an event the host
    // reported committed.
    let mut tasks = Vec::new();
    for w in 0..8 {
        let url = host.url("/api/events/test");
        let acked = acked.clone();
        tasks.push(rt.spawn(async move {
            let c = client();
            for i in 0.. {
                let body =
                    json!({"kind": "test.burst", "details": {"writer": w, "n": i, "bits": 100}});
                match c.post(&url).json(&body).send().await {
                    Ok(resp) if resp.status() == 201 => {
                        let v: serde_json::Value = match resp.json().await {
                            Ok(v) => v,
                            Err(_) => break,
                        };
                        acked
                            .lock()
                            .unwrap()
                            .push(v["id"].as_str().unwrap().to_owned());
                    }
                    Ok(resp) => panic!("unexpected status {}", resp.status()),
                    Err(_) => break, // the host died
                }
            }
        }));
    }
    // Let the burst run, then kill the process without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 2_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    host.kill();
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100, "the burst barely ran: {}", acked.len());

    let (ok, out, err) = run_cli(dir.path(), &["db", "check"]);
    assert!(ok, "db check after SIGKILL: {out}{err}");
    assert!(out.contains("integrity: ok"), "{out}");

    // Restart: every acknowledged event is there.
    let host = Host::start(dir.path(), "run", &[]);
    let conn = rusqlite::Connection::open_with_flags(
        dir.path().join("stagehand.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut stmt = conn.prepare("SELECT 1 FROM events WHERE id = ?1").unwrap();
    let missing: Vec<_> = acked
        .iter()
        .filter(|id| !stmt.exists([id.as_str()]).unwrap())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost",
        missing.len(),
        acked.len()
    );
    drop(stmt);
    drop(conn);
    host.stop();
}

/// Posts a test follow; the status and body.
async fn post_follow(host: &Host, name: &str) -> (u16, serde_json::Value) {
    let resp = client()
        .post(host.url("/api/events/test"))
        .json(&json!({"kind": "channel.follow", "details": {"username": name}}))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn health(host: &Host) -> (u16, serde_json::Value) {
    let resp = client().get(host.url("/healthz")).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn stored_names(host: &Host) -> Vec<String> {
    let events: Vec<serde_json::Value> = support::get_json(host, "/api/events?limit=500").await;
    let mut names: Vec<String> = events
        .iter()
        .map(|e| e["details"]["username"].as_str().unwrap_or("").to_owned())
        .collect();
    names.reverse();
    names
}

/// The full-disk story against a host: events wait in memory while the
/// disk is full, `/healthz` says so, and all of them are stored, in order,
/// once space returns.
async fn survive_a_full_disk(host: &Host, disk: &support::tmpfs::TmpFs) {
    for name in ["before1", "before2"] {
        assert_eq!(post_follow(host, name).await.0, 201);
    }
    disk.fill();
    let mut buffered = Vec::new();
    for n in 0..5 {
        let name = format!("during{n}");
        let (status, body) = post_follow(host, &name).await;
        assert!(status == 202 || status == 201, "{status} {body}");
        if status == 202 {
            assert_eq!(body["status"], "buffered", "{body}");
        }
        buffered.push((name, status));
    }
    assert!(
        buffered.iter().any(|(_, s)| *s == 202),
        "a full disk made no write wait: {buffered:?}"
    );
    let (status, body) = health(host).await;
    assert_eq!(status, 503, "{body}");
    let problem = body["problems"]["store"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(problem.contains("events wait in memory"), "{body}");
    disk.free();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = health(host).await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never recovered: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected: Vec<String> = ["before1", "before2"]
        .into_iter()
        .map(str::to_owned)
        .chain((0..5).map(|n| format!("during{n}")))
        .collect();
    assert_eq!(
        stored_names(host).await,
        expected,
        "every event, once, in order"
    );
    assert_eq!(post_follow(host, "after").await.0, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_events_in_memory_until_space_returns() {
    let disk = support::tmpfs::TmpFs::mount(8);
    let host = Host::start(disk.path(), "run", &[]);
    survive_a_full_disk(&host, &disk).await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_stderr_and_a_full_disk_do_not_stop_the_host() {
    let disk = support::tmpfs::TmpFs::mount(8);
    let host = Host::start_without_stderr(disk.path(), &[]);
    survive_a_full_disk(&host, &disk).await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_waiting_for_disk_space_are_written_at_shutdown_when_space_is_back() {
    let disk = support::tmpfs::TmpFs::mount(8);
    let host = Host::start(disk.path(), "run", &[]);
    assert_eq!(post_follow(&host, "before").await.0, 201);
    disk.fill();
    for n in 0..3 {
        let (status, body) = post_follow(&host, &format!("waiting{n}")).await;
        assert!(status == 202 || status == 201, "{status} {body}");
    }
    assert_eq!(health(&host).await.0, 503);
    // Retries come after 1, 2 and 4 s: after 4 s the next is due 4 s later,
    // so only shutdown itself can write the events in time.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        health(&host).await.0,
        503,
        "still stalled before space returns"
    );
    disk.free();
    let log = host.stop();
    assert!(
        !log.contains("they are lost"),
        "events were given up at shutdown:\n{log}"
    );
    let conn = rusqlite::Connection::open(disk.path().join("stagehand.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT json_extract(details, '$.username') FROM events ORDER BY seq")
        .unwrap();
    let names: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(names, ["before", "waiting0", "waiting1", "waiting2"]);
}

/// `stagehand db move-to-cluster`: what is missing is named and nothing is
/// written; a streamer's events and plugin data are copied, once however
/// often it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamers_history_moves_to_a_cluster_once_and_what_is_missing_is_named() {
    use stagehand::event::{Event, EventKind, Source, Viewer};
    use stagehand::storage::{
        ChannelPlugin, ClusterStore, KvChange, NewEvent, PluginKv, SqliteStore,
    };
    use stagehand::store::{Store, StoreOptions, StreamerStore};

    let dir = tempfile::tempdir().unwrap();
    let cluster_db = dir.path().join("cluster").join("cluster.db");
    let target = format!("sqlite:{}", cluster_db.display());
    let args = [
        "db",
        "move-to-cluster",
        "--database",
        &target,
        "--channel",
        "1001",
    ];
    let owned = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    // No single-host database yet.
    let (ok, _, err) = cli(dir.path(), owned(&args)).await;
    assert!(!ok);
    assert!(err.contains("no database at"), "{err}");

    // A streamer with three events and a counter.
    let store = Store::open(dir.path().join("stagehand.db"), StoreOptions::default()).unwrap();
    let streamer = StreamerStore::new(store.clone(), "1001");
    let events = (1..=3)
        .map(|n| {
            let event = Event::new(EventKind::Follow, Source::Eventsub, "1001")
                .with_viewer(Viewer::new(
                    format!("{n}"),
                    format!("v{n}"),
                    format!("V{n}"),
                ))
                .with_details(serde_json::json!({"username": format!("v{n}"), "action": "follow"}));
            NewEvent::from_event(&event, None)
        })
        .collect();
    use stagehand::storage::EventLog;
    streamer.append_events(events).await.unwrap();
    let kv = KvChange {
        channel_id: "1001".into(),
        plugin: "counter".into(),
        key: "follows".into(),
        value: Some("3".into()),
    };
    streamer.apply_kv(vec![kv]).await.unwrap();
    store.close().await;

    // No cluster database at the path given.
    let (ok, _, err) = cli(dir.path(), owned(&args)).await;
    assert!(!ok);
    assert!(err.contains("no cluster database at"), "{err}");
    assert!(!cluster_db.exists(), "a mistyped path creates nothing");

    // A cluster that does not have the channel.
    let cluster = SqliteStore::open(&cluster_db).unwrap();
    let (ok, _, err) = cli(dir.path(), owned(&args)).await;
    assert!(!ok);
    assert!(err.contains("the cluster has no channel 1001"), "{err}");

    // A database address the cluster cannot use.
    let mut wrong = owned(&args);
    wrong[3] = "mysql://somewhere/db".into();
    let (ok, _, err) = cli(dir.path(), wrong).await;
    assert!(!ok);
    assert!(err.contains("--database must be postgres://"), "{err}");

    let counter = |channel: &str| ChannelPlugin {
        channel_id: channel.into(),
        name: "counter".into(),
        package: b"package".to_vec(),
        digest: "d".into(),
        granted: Vec::new(),
        settings: serde_json::json!({}),
        enabled: true,
        updated_at: chrono::Utc::now(),
    };
    for (id, login) in [("1001", "alice"), ("2002", "bob")] {
        cluster.create_channel(id, login).await.unwrap();
        cluster.put_plugin(counter(id)).await.unwrap();
    }

    // The wrong channel: the file's plugin data is not given to it.
    let mut other = owned(&args);
    other[5] = "2002".into();
    let (ok, _, err) = cli(dir.path(), other).await;
    assert!(!ok);
    assert!(
        err.contains("holds no events of channel 2002; it holds: 1001 (3 events)"),
        "{err}"
    );
    assert!(
        cluster
            .plugin_kv("2002", "counter")
            .await
            .unwrap()
            .is_empty()
    );

    // Not while a host runs on the data.
    let lock = stagehand::app::lock_data_dir(dir.path()).unwrap();
    let (ok, _, err) = cli(dir.path(), owned(&args)).await;
    assert!(!ok);
    assert!(
        err.contains("another Stagehand is already running"),
        "{err}"
    );
    drop(lock);
    assert_eq!(cluster.event_count("1001").await.unwrap(), 0);
    let (ok, out, err) = cli(dir.path(), owned(&args)).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("copied 3 events (0 were there already) and 1 key-value pairs of 1 plugins"),
        "{out}"
    );
    let (ok, out, err) = cli(dir.path(), owned(&args)).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("copied 0 events (3 were there already)"),
        "{out}"
    );
    assert_eq!(cluster.event_count("1001").await.unwrap(), 3);
    assert_eq!(
        cluster.plugin_kv("1001", "counter").await.unwrap()["follows"],
        "3"
    );
}

/// Runs the CLI off the async runtime (it blocks until the process ends).
async fn cli(data_dir: &Path, args: Vec<String>) -> (bool, String, String) {
    let data_dir = data_dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_cli(&data_dir, &args)
    })
    .await
    .unwrap()
}
