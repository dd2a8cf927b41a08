//! The cluster event bus against a real NATS server (JetStream enabled;
//! `STAGEHAND_TEST_NATS_URL`, `nats://127.0.0.1:4222` by default):
//! per-partition order, de-duplication by message id, a consumer reopened
//! at a cursor, batch acknowledgement, the partition count check, hostile
//! channel ids, the alert and live feeds, lag.
//!
//! Every test uses its own subject prefix (so its own stream), so they run
//! in parallel on one server, and deletes its stream at the end, even when
//! it fails.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures_util::{FutureExt, StreamExt};
use stagehand::cluster::bus::{
    BusConfig, BusError, BusMessage, Bytes, ChannelFeed, EventBus, PartitionConsumer,
};
use stagehand::cluster::subjects::{ChannelSubject, SubjectError, partition_of};

fn url() -> String {
    std::env::var("STAGEHAND_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A prefix no other test (of this run or another) uses.
fn config(name: &str, partitions: u32) -> BusConfig {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    BusConfig {
        prefix: format!(
            "shtest-{name}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ),
        partitions,
        client_name: format!("stagehand-test-{name}"),
        // A stream left by a crashed run empties itself.
        max_age: Duration::from_secs(3600),
        ..BusConfig::default()
    }
}

/// Connects with `config`, runs the test and deletes the stream whatever
/// the outcome.
async fn run<F, Fut>(config: BusConfig, test: F)
where
    F: FnOnce(EventBus) -> Fut,
    Fut: Future<Output = ()>,
{
    let bus = EventBus::connect(&url(), config)
        .await
        .expect("connect to NATS");
    let outcome = AssertUnwindSafe(test(bus.clone())).catch_unwind().await;
    bus.delete_stream().await.expect("delete the test stream");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `n` channel ids whose events go to `partition`.
fn channels_in(partitions: u32, partition: u32, n: usize) -> Vec<ChannelSubject> {
    (1000u64..)
        .map(|id| ChannelSubject::parse(&id.to_string()).unwrap())
        .filter(|c| partition_of(c, partitions) == partition)
        .take(n)
        .collect()
}

fn text(message: &BusMessage) -> String {
    String::from_utf8(message.payload.to_vec()).unwrap()
}

/// Fetches until `n` events came (or 10 s passed).
async fn fetch_n(consumer: &mut PartitionConsumer, n: usize) -> Vec<BusMessage> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let want = n - got.len();
        got.extend(
            consumer
                .fetch(want, Duration::from_millis(500))
                .await
                .unwrap(),
        );
    }
    assert_eq!(got.len(), n, "{got:?}");
    got
}

/// Publishes `n` events to `channel` with ids `<tag>-<i>` and payloads
/// `<channel>:<i>`; answers their stream sequences.
async fn publish_n(bus: &EventBus, channel: &ChannelSubject, tag: &str, n: usize) -> Vec<u64> {
    let mut sequences = Vec::new();
    for i in 0..n {
        let ack = bus
            .publish_event(
                channel,
                &format!("{tag}-{i}"),
                Bytes::from(format!("{channel}:{i}")),
            )
            .await
            .unwrap();
        assert!(!ack.duplicate);
        sequences.push(ack.sequence);
    }
    sequences
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn events_keep_their_order_within_a_partition() {
    run(config("order", 4), |bus| async move {
        let shared = channels_in(4, 1, 2);
        let other = channels_in(4, 2, 1).remove(0);
        let channels = [shared[0].clone(), shared[1].clone(), other.clone()];

        // Many publishes in flight at once, as an ingest node has them.
        let mut pending = Vec::new();
        for i in 0..30 {
            let channel = &channels[i % 3];
            let ack = bus
                .start_publish_event(
                    channel,
                    &format!("m-{i}"),
                    Bytes::from(format!("{channel}:{i}")),
                )
                .await
                .unwrap();
            assert_eq!(ack.partition(), partition_of(channel, 4));
            pending.push(ack);
        }
        let mut sequences = Vec::new();
        for ack in pending {
            sequences.push(ack.await.unwrap().sequence);
        }
        assert!(
            sequences.windows(2).all(|w| w[0] < w[1]),
            "published in order: {sequences:?}"
        );

        let mut p1 = PartitionConsumer::open(&bus, 1, None).await.unwrap();
        let got = fetch_n(&mut p1, 20).await;
        assert!(got.windows(2).all(|w| w[0].sequence < w[1].sequence));
        let expected: Vec<String> = (0..30)
            .filter(|i| i % 3 != 2)
            .map(|i| format!("{}:{i}", channels[i % 3]))
            .collect();
        assert_eq!(got.iter().map(text).collect::<Vec<_>>(), expected);
        for (message, i) in got.iter().zip((0..30).filter(|i| i % 3 != 2)) {
            assert_eq!(message.channel, channels[i % 3]);
            assert_eq!(message.partition, 1);
            assert_eq!(message.delivered, 1);
            assert_eq!(message.msg_id.as_deref(), Some(format!("m-{i}").as_str()));
            assert_eq!(message.sequence, sequences[i]);
        }
        p1.ack_through(got.last().unwrap()).await.unwrap();

        let mut p2 = PartitionConsumer::open(&bus, 2, None).await.unwrap();
        let got = fetch_n(&mut p2, 10).await;
        assert!(got.iter().all(|m| m.channel == other && m.partition == 2));
        // Nothing more anywhere: partitions 0 and 3 got nothing.
        for p in [0, 3] {
            let mut c = PartitionConsumer::open(&bus, p, None).await.unwrap();
            assert!(
                c.fetch(10, Duration::from_millis(200))
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn a_repeated_message_id_is_dropped_within_the_window() {
    run(config("dedup", 2), |bus| async move {
        let channel = ChannelSubject::parse("141981764").unwrap();
        let first = bus
            .publish_event(&channel, "twitch-1", Bytes::from("first"))
            .await
            .unwrap();
        let again = bus
            .publish_event(&channel, "twitch-1", Bytes::from("again"))
            .await
            .unwrap();
        let next = bus
            .publish_event(&channel, "twitch-2", Bytes::from("next"))
            .await
            .unwrap();
        assert!(!first.duplicate);
        assert!(again.duplicate);
        assert_eq!(again.sequence, first.sequence);
        assert!(!next.duplicate);
        assert_eq!(next.sequence, first.sequence + 1);

        let partition = partition_of(&channel, 2);
        let mut consumer = PartitionConsumer::open(&bus, partition, None)
            .await
            .unwrap();
        let got = consumer
            .fetch(10, Duration::from_millis(500))
            .await
            .unwrap();
        assert_eq!(got.iter().map(text).collect::<Vec<_>>(), ["first", "next"]);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn a_reopened_consumer_resumes_right_after_its_cursor() {
    run(config("cursor", 3), |bus| async move {
        let channel = channels_in(3, 0, 1).remove(0);
        let sequences = publish_n(&bus, &channel, "c", 10).await;

        let mut first_owner = PartitionConsumer::open(&bus, 0, None).await.unwrap();
        let got = fetch_n(&mut first_owner, 4).await;
        // Its work up to the 4th event is committed; it dies before acking.
        let cursor = got[3].sequence;
        assert_eq!(cursor, sequences[3]);

        let mut next_owner = PartitionConsumer::open(&bus, 0, Some(cursor))
            .await
            .unwrap();
        let got = fetch_n(&mut next_owner, 6).await;
        assert_eq!(got[0].sequence, sequences[4]);
        assert_eq!(
            got.iter().map(text).collect::<Vec<_>>(),
            (4..10)
                .map(|i| format!("{channel}:{i}"))
                .collect::<Vec<_>>()
        );
        assert!(
            next_owner
                .fetch(10, Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty(),
            "nothing after the last"
        );

        // Without a cursor a new owner starts from the beginning.
        let mut from_start = PartitionConsumer::open(&bus, 0, None).await.unwrap();
        let got = fetch_n(&mut from_start, 10).await;
        assert_eq!(got[0].sequence, sequences[0]);

        // At the last sequence: nothing to do.
        let mut caught_up = PartitionConsumer::open(&bus, 0, Some(sequences[9]))
            .await
            .unwrap();
        assert!(
            caught_up
                .fetch(10, Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(caught_up.pending().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn acking_a_message_acks_the_batch_before_it() {
    let config = BusConfig {
        ack_wait: Duration::from_secs(1),
        ..config("ack", 2)
    };
    run(config, |bus| async move {
        let channel = channels_in(2, 1, 1).remove(0);
        publish_n(&bus, &channel, "a", 5).await;
        let mut consumer = PartitionConsumer::open(&bus, 1, None).await.unwrap();
        let got = fetch_n(&mut consumer, 5).await;

        // Acking the 3rd acks 1-3; 4 and 5 come again once the wait passes.
        consumer.ack_through(&got[2]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let again = fetch_n(&mut consumer, 2).await;
        assert_eq!(
            again
                .iter()
                .map(|m| (m.sequence, m.delivered))
                .collect::<Vec<_>>(),
            [(got[3].sequence, 2), (got[4].sequence, 2)]
        );

        // Acking the last acks everything: nothing comes again.
        consumer.ack_through(&again[1]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after = consumer
            .fetch(10, Duration::from_millis(500))
            .await
            .unwrap();
        assert!(after.is_empty(), "redelivered after the ack: {after:?}");
        assert_eq!(consumer.pending().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn a_stream_made_for_another_partition_count_is_refused() {
    let config4 = config("count", 4);
    let config8 = BusConfig {
        partitions: 8,
        ..config4.clone()
    };
    run(config4.clone(), |_bus| async move {
        // The same count again is fine (a second node starting).
        EventBus::connect(&url(), config4).await.unwrap();
        let Err(err) = EventBus::connect(&url(), config8).await else {
            panic!("a node with 8 partitions ran on a stream of 4");
        };
        assert!(
            matches!(
                err,
                BusError::PartitionMismatch {
                    found: 4,
                    configured: 8,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("for 4 partitions") && text.contains("configured for 8"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn hostile_channel_ids_and_message_ids_never_reach_the_bus() {
    run(config("hostile", 2), |bus| async move {
        // Everything under the prefix, as a listener on the server sees it.
        let client = async_nats::connect(url()).await.unwrap();
        let mut everything = client
            .subscribe(format!("{}.>", bus.subjects().prefix()))
            .await
            .unwrap();
        client.flush().await.unwrap();

        for hostile in ["1.2", "*", ">", "1 2", "", "12\r\nPUB x 1", "1.>", "abc"] {
            assert!(
                matches!(
                    ChannelSubject::parse(hostile),
                    Err(SubjectError::InvalidChannel { .. })
                ),
                "{hostile:?}"
            );
        }
        let channel = ChannelSubject::parse("42").unwrap();
        for hostile in ["", "id with space", "id\r\nNats-Msg-Id: other"] {
            let err = bus
                .publish_event(&channel, hostile, Bytes::from("x"))
                .await
                .unwrap_err();
            assert!(matches!(err, BusError::InvalidMessageId { .. }), "{err}");
        }
        bus.flush().await.unwrap();
        let heard = tokio::time::timeout(Duration::from_millis(300), everything.next()).await;
        assert!(heard.is_err(), "something was published: {heard:?}");

        // The check is not refusing everything: a good publish arrives.
        bus.publish_event(&channel, "ok-1", Bytes::from("fine"))
            .await
            .unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(5), everything.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(heard.subject.as_str(), bus.subjects().event(&channel).1);
    })
    .await;
}

/// The next `(channel, payload)` of a feed, within 5 s.
async fn next(feed: &mut ChannelFeed) -> (String, String) {
    let (channel, payload) = tokio::time::timeout(Duration::from_secs(5), feed.next())
        .await
        .expect("a message in time")
        .expect("the feed is open");
    (
        channel.into_string(),
        String::from_utf8(payload.to_vec()).unwrap(),
    )
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn edges_hear_alerts_and_live_updates_by_channel() {
    run(config("feeds", 2), |bus| async move {
        let mut alerts = bus.subscribe_alerts().await.unwrap();
        let mut live = bus.subscribe_live().await.unwrap();
        bus.flush().await.unwrap();

        let one = ChannelSubject::parse("1001").unwrap();
        let two = ChannelSubject::parse("2002").unwrap();
        // A stranger publishing under the prefix without a channel id.
        let client = async_nats::connect(url()).await.unwrap();
        let prefix = bus.subjects().prefix().to_owned();
        client
            .publish(format!("{prefix}.alerts.not-a-channel"), "evil".into())
            .await
            .unwrap();
        client.flush().await.unwrap();

        bus.publish_alert(&one, Bytes::from("alert one"))
            .await
            .unwrap();
        bus.publish_live(&two, Bytes::from("live two"))
            .await
            .unwrap();
        bus.publish_alert(&two, Bytes::from("alert two"))
            .await
            .unwrap();
        bus.flush().await.unwrap();

        assert_eq!(next(&mut alerts).await, ("1001".into(), "alert one".into()));
        assert_eq!(next(&mut alerts).await, ("2002".into(), "alert two".into()));
        assert_eq!(next(&mut live).await, ("2002".into(), "live two".into()));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn lag_is_what_the_partition_has_not_delivered() {
    run(config("lag", 2), |bus| async move {
        let channel = channels_in(2, 0, 1).remove(0);
        let mut consumer = PartitionConsumer::open(&bus, 0, None).await.unwrap();
        assert_eq!(consumer.pending().await.unwrap(), 0);
        publish_n(&bus, &channel, "l", 10).await;
        assert_eq!(consumer.pending().await.unwrap(), 10);
        let got = fetch_n(&mut consumer, 4).await;
        assert_eq!(consumer.pending().await.unwrap(), 6);
        // Each delivery says how many are left behind it.
        let left: Vec<u64> = got.iter().map(|m| m.pending).collect();
        assert_eq!(left, [9, 8, 7, 6]);
        consumer.ack_through(&got[3]).await.unwrap();
        assert_eq!(consumer.pending().await.unwrap(), 6);
        // The other partition's consumer has nothing to do.
        let other = PartitionConsumer::open(&bus, 1, None).await.unwrap();
        assert_eq!(other.pending().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn a_fetch_answers_with_what_waits_or_the_first_arrival() {
    run(config("arrival", 2), |bus| async move {
        let channel = channels_in(2, 0, 1).remove(0);
        let mut consumer = PartitionConsumer::open(&bus, 0, None).await.unwrap();
        // What is waiting comes in one batch, at once, though the fetch
        // could wait for more.
        publish_n(&bus, &channel, "w", 5).await;
        let started = Instant::now();
        let waiting = consumer.fetch(100, Duration::from_secs(5)).await.unwrap();
        assert_eq!(waiting.len(), 5, "{waiting:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "a fetch with events waiting held on for a full batch ({:?})",
            started.elapsed()
        );
        consumer.ack_through(&waiting[4]).await.unwrap();
        // With nothing waiting, the first event to arrive ends the wait.
        let publisher = {
            let bus = bus.clone();
            let channel = channel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                publish_n(&bus, &channel, "a", 1).await
            })
        };
        let started = Instant::now();
        let arrived = consumer.fetch(100, Duration::from_secs(5)).await.unwrap();
        let took = started.elapsed();
        let sequences = publisher.await.unwrap();
        assert_eq!(
            arrived.iter().map(|m| m.sequence).collect::<Vec<_>>(),
            sequences
        );
        assert!(
            took < Duration::from_secs(4),
            "the fetch waited out its expiry ({took:?}) though an event arrived after 300 ms"
        );
        // And with nothing at all it answers empty at its expiry.
        let started = Instant::now();
        assert!(
            consumer
                .fetch(100, Duration::from_millis(400))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(started.elapsed() >= Duration::from_millis(350));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn an_owner_whose_lease_is_ending_stops_pulling() {
    run(config("lease", 2), |bus| async move {
        let channel = channels_in(2, 1, 1).remove(0);
        publish_n(&bus, &channel, "e", 1).await;
        let mut consumer = PartitionConsumer::open(&bus, 1, None).await.unwrap();
        consumer.hold_until(
            Instant::now() + Duration::from_secs(60),
            Duration::from_secs(60),
        );
        assert_eq!(
            consumer
                .fetch(5, Duration::from_millis(200))
                .await
                .unwrap()
                .len(),
            1
        );
        // A 12 s lease keeps a 2 s margin: ending in 2 s, no pull at all.
        consumer.hold_until(
            Instant::now() + Duration::from_secs(2),
            Duration::from_secs(12),
        );
        let err = consumer.fetch(5, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, BusError::LeaseEnding { .. }), "{err}");
        // A 3 s lease keeps half a second: ending in 1.5 s, the pull may
        // wait a second at most, not the five asked.
        consumer.hold_until(
            Instant::now() + Duration::from_millis(1500),
            Duration::from_secs(3),
        );
        let started = Instant::now();
        assert!(
            consumer
                .fetch(5, Duration::from_secs(5))
                .await
                .unwrap()
                .is_empty()
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(800) && took < Duration::from_secs(4),
            "the pull waited {took:?}, not until the margin before the lease's end"
        );
        assert!(matches!(
            PartitionConsumer::open(&bus, 2, None).await,
            Err(BusError::Subject(SubjectError::PartitionOutOfRange {
                partition: 2,
                partitions: 2
            }))
        ));
    })
    .await;
}

#[tokio::test]
#[ignore = "needs NATS: cargo xtask test runs it"]
async fn a_stray_message_in_a_partition_is_skipped_and_not_redelivered() {
    let config = BusConfig {
        ack_wait: Duration::from_secs(1),
        ..config("stray", 2)
    };
    run(config, |bus| async move {
        // Published by something other than a Stagehand node: no valid
        // channel in the subject.
        let client = async_nats::connect(url()).await.unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let prefix = bus.subjects().prefix().to_owned();
        jetstream
            .publish(format!("{prefix}.events.0.not-a-channel"), "stray".into())
            .await
            .unwrap()
            .await
            .unwrap();
        let mut consumer = PartitionConsumer::open(&bus, 0, None).await.unwrap();
        assert!(
            consumer
                .fetch(10, Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(consumer.malformed(), 1);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            consumer
                .fetch(10, Duration::from_millis(300))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(consumer.malformed(), 1, "the stray message came again");

        // A real event after it is delivered.
        let channel = channels_in(2, 0, 1).remove(0);
        publish_n(&bus, &channel, "r", 1).await;
        let got = fetch_n(&mut consumer, 1).await;
        assert_eq!(got[0].channel, channel);
    })
    .await;
}
