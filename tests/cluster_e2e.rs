//! The cluster under fire: two ingest nodes, two workers and two edges on
//! this machine's NATS and PostgreSQL, 50 channels of the Twitch
//! look-alike, 20,000 follows. One node of each role is SIGKILLed mid-stream
//! and started again. Afterwards every follow is stored exactly once, in its
//! channel's order, every overlay alert reached its channel's page and was
//! acknowledged (a page reconnects to the other edge when its edge dies), and
//! no channel saw another's data.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::cluster::{ChannelCreds, Cluster};
use tokio_tungstenite::tungstenite::Message;

const CHANNELS: usize = 50;
const FOLLOWS_PER_CHANNEL: usize = 400;
/// Per channel; 50 channels make 1,000 follows a second.
const PER_SECOND: f64 = 20.0;

/// What one channel's overlay page saw.
#[derive(Default)]
struct PageLog {
    /// Every alert id received, per connection (in order of connections).
    connections: Vec<Vec<String>>,
    /// Connections that ended because their edge went away.
    dropped: usize,
    /// Alerts whose event belongs to another channel (must stay empty).
    foreign: Vec<String>,
    acked: HashSet<String>,
}

/// An overlay page for one channel: connects to `edges[first]`, and when that
/// edge goes away, to the next one that answers; acks every alert.
async fn overlay_page(
    edges: Vec<String>,
    first: usize,
    key: String,
    log: Arc<Mutex<PageLog>>,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut which = first;
    while !stop.is_cancelled() {
        let url = format!("ws://{}/overlay/alerts/ws", edges[which % edges.len()]);
        let Ok(Ok((mut socket, _))) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio_tungstenite::connect_async(&url),
        )
        .await
        else {
            which += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        if socket
            .send(Message::Text(
                json!({"type": "hello", "key": key}).to_string().into(),
            ))
            .await
            .is_err()
        {
            which += 1;
            continue;
        }
        log.lock().unwrap().connections.push(Vec::new());
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => {
                    let _ = socket.close(None).await;
                    return;
                }
                next = socket.next() => next,
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    let message: Value = serde_json::from_str(&text).unwrap();
                    if message["type"] != "alert" {
                        continue;
                    }
                    let id = message["id"].as_str().unwrap().to_owned();
                    {
                        let mut log = log.lock().unwrap();
                        log.connections.last_mut().unwrap().push(id.clone());
                    }
                    if socket
                        .send(Message::Text(
                            json!({"type": "ack", "id": id}).to_string().into(),
                        ))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    log.lock().unwrap().acked.insert(id);
                }
                Some(Ok(_)) => {}
                _ => break,
            }
        }
        log.lock().unwrap().dropped += 1;
        which += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs NATS and PostgreSQL: cargo xtask test runs it"]
async fn twenty_thousand_follows_survive_killing_one_node_of_each_role() {
    let mut cluster =
        Cluster::start(&["--lease-secs", "3", "--poll-secs", "3", "--partitions", "8"]).await;
    let edge_a = cluster.spawn("edge", "edge-a", &[]);
    let edge_b = cluster.spawn("edge", "edge-b", &[]);
    let worker_a = cluster.spawn("worker", "worker-a", &[]);
    let worker_b = cluster.spawn("worker", "worker-b", &[]);
    cluster.wait_ready(edge_a, Duration::from_secs(30)).await;
    cluster.wait_ready(edge_b, Duration::from_secs(30)).await;

    let package = support::cluster::package(cluster.dir.path(), "follow-alert");
    let mut channels: Vec<ChannelCreds> = Vec::new();
    for n in 0..CHANNELS {
        let creds = cluster.add_channel(n % 2, &format!("chan{n:02}")).await;
        cluster
            .install(n % 2, &creds, "follow-alert", &package)
            .await;
        let r = cluster
            .http
            .put(format!(
                "{}/api/plugins/follow-alert/settings",
                cluster.url(n % 2)
            ))
            .bearer_auth(&creds.dashboard_token)
            .json(&json!({"speak": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        channels.push(creds);
    }
    let ingest_a = cluster.spawn("ingest", "ingest-a", &[]);
    let ingest_b = cluster.spawn("ingest", "ingest-b", &[]);
    for node in [worker_a, worker_b, ingest_a, ingest_b] {
        cluster.wait_ready(node, Duration::from_secs(60)).await;
    }
    // Both ingest nodes hold shards (the conduit grew to four) before the
    // stream starts.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for node in [ingest_a, ingest_b] {
        cluster.wait_ready(node, Duration::from_secs(30)).await;
    }

    // Overlay pages: half start on each edge.
    let edges = vec![
        cluster.nodes[edge_a].addr.clone().unwrap(),
        cluster.nodes[edge_b].addr.clone().unwrap(),
    ];
    let stop_pages = tokio_util::sync::CancellationToken::new();
    let mut logs = Vec::new();
    for (n, channel) in channels.iter().enumerate() {
        let log = Arc::new(Mutex::new(PageLog::default()));
        logs.push(log.clone());
        tokio::spawn(overlay_page(
            edges.clone(),
            n % 2,
            channel.overlay_key.clone(),
            log,
            stop_pages.clone(),
        ));
    }

    // The stream: every channel at once.
    let started = Instant::now();
    let control = cluster.twitch.control();
    let mut senders = Vec::new();
    for channel in &channels {
        let control = control.clone();
        let id = channel.id.clone();
        senders.push(tokio::spawn(async move {
            control
                .bulk_follows(&id, FOLLOWS_PER_CHANNEL, Some(PER_SECOND))
                .await
                .unwrap()
        }));
    }
    // Mid-stream: one node of each role dies without warning, and comes back.
    for (at, node) in [(5, ingest_a), (8, worker_a), (11, edge_a)] {
        tokio::time::sleep_until((started + Duration::from_secs(at)).into()).await;
        eprintln!(
            "SIGKILL {} at {:?}",
            cluster.nodes[node].name,
            started.elapsed()
        );
        cluster.kill(node);
        tokio::time::sleep(Duration::from_secs(2)).await;
        cluster.restart(node);
        eprintln!(
            "restarted {} at {:?}",
            cluster.nodes[node].name,
            started.elapsed()
        );
    }
    let mut sent = 0;
    for s in senders {
        sent += s.await.unwrap().follows;
    }
    assert_eq!(sent, CHANNELS * FOLLOWS_PER_CHANNEL);
    eprintln!("all follows sent after {:?}", started.elapsed());

    // Every follow arrives (lost ones through the follower poller).
    let db = database(&cluster).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let stored: i64 = db
            .query_one("SELECT count(*) FROM events", &[])
            .await
            .unwrap()
            .get(0);
        if stored as usize >= sent {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} of {sent} events stored after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("all stored after {:?}", started.elapsed());

    // The stream's order per channel (what the cluster received, in the
    // order it received it): the workers must store in exactly that order,
    // whatever worker held the partition.
    let stream_order = stream_order(&cluster).await;

    // Exactly once, in order, per channel.
    let mut polled_total = 0;
    let mut out_of_twitch_order = 0;
    let mut event_channel: HashMap<String, String> = HashMap::new();
    for channel in &channels {
        let rows = db
            .query(
                "SELECT seq, id, source, body FROM events WHERE channel_id = $1 ORDER BY seq",
                &[&channel.id],
            )
            .await
            .unwrap();
        assert_eq!(
            rows.len(),
            FOLLOWS_PER_CHANNEL,
            "{}: every follow once",
            channel.login
        );
        let mut followers = HashSet::new();
        let mut last: Option<u64> = None;
        let positions: HashMap<&str, usize> = stream_order
            .get(&channel.id)
            .map(|ids| {
                ids.iter()
                    .enumerate()
                    .map(|(i, id)| (id.as_str(), i))
                    .rev()
                    .collect()
            })
            .unwrap_or_default();
        let mut last_position: Option<usize> = None;
        for row in &rows {
            let id: String = row.get(1);
            let source: String = row.get(2);
            let body: Value = serde_json::from_str(&row.get::<_, String>(3)).unwrap();
            assert_eq!(body["channel_id"], channel.id.as_str());
            let login = body["viewer"]["login"].as_str().unwrap().to_owned();
            assert!(
                followers.insert(login.clone()),
                "{}: {login} stored twice",
                channel.login
            );
            let n: u64 = login.trim_start_matches("bulk_follower").parse().unwrap();
            let position = *positions.get(id.as_str()).unwrap_or_else(|| {
                panic!("{}: {id} stored but never on the stream", channel.login)
            });
            if let Some(before) = last_position {
                assert!(
                    position > before,
                    "{}: {login} stored after an event that followed it on the stream",
                    channel.login
                );
            }
            last_position = Some(position);
            if source == "eventsub" {
                // Twitch's order: a conduit may deliver out of it when its
                // shards change (a retry goes to another shard); counted.
                if last.is_some_and(|last| n < last) {
                    out_of_twitch_order += 1;
                }
                last = Some(last.map_or(n, |l| l.max(n)));
            } else {
                polled_total += 1;
            }
            event_channel.insert(id, channel.id.clone());
        }
    }
    eprintln!(
        "{polled_total} follows recovered by the follower poller; \
         {out_of_twitch_order} delivered by the conduit out of Twitch's order"
    );

    // Every alert reached its page and was acknowledged.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = db
            .query_one(
                "SELECT count(*) FROM overlay_alerts WHERE acked_at IS NULL",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} alerts never acknowledged"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop_pages.cancel();
    let mut redelivered = 0;
    for (channel, log) in channels.iter().zip(&logs) {
        let rows = db
            .query(
                "SELECT id, event_id FROM overlay_alerts WHERE channel_id = $1",
                &[&channel.id],
            )
            .await
            .unwrap();
        assert_eq!(
            rows.len(),
            FOLLOWS_PER_CHANNEL,
            "{}: one alert per follow",
            channel.login
        );
        let log = log.lock().unwrap();
        let mut seen: HashSet<&str> = HashSet::new();
        for (c, connection) in log.connections.iter().enumerate() {
            let mut here = HashSet::new();
            for id in connection {
                assert!(
                    here.insert(id),
                    "{}: alert {id} sent twice on one connection",
                    channel.login
                );
                if !seen.insert(id) {
                    // Only a page whose connection died may see an alert again
                    // (its ack may have died with the edge).
                    assert!(
                        c > 0 && log.dropped > 0,
                        "{}: alert {id} again without a reconnect",
                        channel.login
                    );
                    redelivered += 1;
                }
            }
        }
        for row in &rows {
            let id: String = row.get(0);
            let event: String = row.get(1);
            assert!(
                seen.contains(id.as_str()),
                "{}: alert {id} never reached the page",
                channel.login
            );
            assert_eq!(
                event_channel.get(&event),
                Some(&channel.id),
                "alert of another channel's event"
            );
        }
        assert!(log.foreign.is_empty());
        assert_eq!(
            seen.len(),
            FOLLOWS_PER_CHANNEL,
            "{}: the page saw only its alerts",
            channel.login
        );
    }
    eprintln!("{redelivered} alerts shown again after their edge died");

    // No channel's token or key reaches another's data.
    for channel in channels.iter().take(5) {
        let events = cluster.events(edge_b, &channel.dashboard_token, 500).await;
        assert_eq!(events.len(), FOLLOWS_PER_CHANNEL);
        assert!(
            events
                .iter()
                .all(|e| e["event"]["channel_id"] == channel.id.as_str())
        );
    }
    cluster.delete_stream().await;
}

/// Every event id on the test's stream, per channel, in stream order.
async fn stream_order(cluster: &Cluster) -> HashMap<String, Vec<String>> {
    use async_nats::jetstream::consumer::pull::OrderedConfig;
    let client = async_nats::connect(support::cluster::nats_url())
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    let stream = js
        .get_stream(format!("{}_EVENTS", cluster.prefix.to_uppercase()))
        .await
        .unwrap();
    let last = stream.cached_info().state.last_sequence;
    let consumer = stream
        .create_consumer(OrderedConfig::default())
        .await
        .unwrap();
    let mut messages = consumer.messages().await.unwrap();
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("the stream reads back")
            .unwrap()
            .unwrap();
        let channel = message.subject.rsplit('.').next().unwrap().to_owned();
        let envelope: Value = serde_json::from_slice(&message.payload).unwrap();
        let id = envelope["event"]["id"].as_str().unwrap().to_owned();
        order.entry(channel).or_default().push(id);
        if message.info().unwrap().stream_sequence >= last {
            return order;
        }
    }
}

async fn database(cluster: &Cluster) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&cluster.database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}
