//! A fake host for native unit tests: key-value storage, captured logs, a
//! settable clock and settings, one per test thread. Also builders for
//! events.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::{
    Badge, Ban, ChatMessage, Cheer, Clip, Discord, Donation, Event, EventData, Follow, Gift, Info,
    Level, Raid, Redemption, Resub, Reward, Source, StreamOffline, StreamOnline, Subscribe,
    SubscriptionEnd, Viewer, kinds,
};

/// What the host will learn from `describe` about plugin `P`: its
/// `describe()` completed with the crate's name and version, every kind
/// when it named none, and the roles it implements.
pub fn describe<P: crate::__export::Described>() -> Info {
    P::completed_info()
}

/// The fake host's state.
#[derive(Debug, Clone)]
pub struct FakeHost {
    pub kv: BTreeMap<String, String>,
    pub logs: Vec<(Level, String)>,
    pub now_ms: u64,
    /// JSON object text.
    pub settings: String,
}

impl Default for FakeHost {
    fn default() -> Self {
        FakeHost {
            kv: BTreeMap::new(),
            logs: Vec::new(),
            now_ms: 1_700_000_000_000,
            settings: "{}".into(),
        }
    }
}

thread_local! {
    static HOST: RefCell<FakeHost> = RefCell::new(FakeHost::default());
}

/// Runs `f` on this thread's fake host.
pub fn with<T>(f: impl FnOnce(&mut FakeHost) -> T) -> T {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Starts a test from a clean fake host.
pub fn reset() {
    with(|h| *h = FakeHost::default());
}

/// Sets the fake clock.
pub fn set_now_ms(ms: u64) {
    with(|h| h.now_ms = ms);
}

/// Sets what `host::settings()` returns.
pub fn set_settings(json: serde_json::Value) {
    with(|h| h.settings = json.to_string());
}

/// Log lines written so far.
pub fn logs() -> Vec<(Level, String)> {
    with(|h| h.logs.clone())
}

/// The stored key-value pairs.
pub fn kv() -> BTreeMap<String, String> {
    with(|h| h.kv.clone())
}

/// An event of `kind` carrying `data`, for channel "1000", from the
/// dashboard's test button (source `test`), about `viewer`.
pub fn event(kind: &str, viewer: Option<Viewer>, data: EventData) -> Event {
    Event {
        id: format!("test-{kind}-{}", with(|h| h.now_ms)),
        kind: kind.to_owned(),
        source: Source::Test,
        channel_id: "1000".into(),
        viewer,
        occurred_at_ms: with(|h| h.now_ms),
        data,
    }
}

/// A viewer whose login and display name derive from `name`.
pub fn viewer(id: &str, name: &str) -> Viewer {
    Viewer {
        id: id.into(),
        login: name.trim().to_lowercase(),
        display_name: name.into(),
    }
}

fn named(name: &str) -> Option<Viewer> {
    Some(viewer("4242", name))
}

/// `name` followed.
pub fn follow(name: &str) -> Event {
    let data = EventData::Follow(Follow {
        followed_at_ms: Some(with(|h| h.now_ms)),
    });
    event(kinds::FOLLOW, named(name), data)
}

/// `name` subscribed at `tier` (1000, 2000, 3000).
pub fn subscribe(name: &str, tier: u32) -> Event {
    let data = EventData::Subscribe(Subscribe {
        tier,
        is_gift: false,
    });
    event(kinds::SUBSCRIBE, named(name), data)
}

/// `name` was gifted a sub at `tier`.
pub fn gifted_sub(name: &str, tier: u32) -> Event {
    let data = EventData::Subscribe(Subscribe {
        tier,
        is_gift: true,
    });
    event(kinds::SUBSCRIBE, named(name), data)
}

/// `name`'s sub at `tier` ended.
pub fn subscription_end(name: &str, tier: u32) -> Event {
    let data = EventData::SubscriptionEnd(SubscriptionEnd { tier });
    event(kinds::SUBSCRIPTION_END, named(name), data)
}

/// `name` was banned for good by "Mod", for `reason`.
pub fn ban(name: &str, reason: &str) -> Event {
    let data = EventData::Ban(Ban {
        permanent: true,
        duration_seconds: None,
        expires_at_ms: None,
        reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
        moderator_name: Some("Mod".into()),
        moderator_id: Some("7".into()),
    });
    event(kinds::BAN, named(name), data)
}

/// `name` was timed out for `seconds` by "Mod".
pub fn timeout(name: &str, seconds: u64) -> Event {
    let now = with(|h| h.now_ms);
    let data = EventData::Ban(Ban {
        permanent: false,
        duration_seconds: Some(seconds),
        expires_at_ms: Some(now + seconds * 1000),
        reason: None,
        moderator_name: Some("Mod".into()),
        moderator_id: Some("7".into()),
    });
    event(kinds::BAN, named(name), data)
}

/// An event about `name` that carries nothing more: unfollow, unban,
/// timeout end, VIP and moderator changes (`kind` says which).
pub fn about(kind: &str, name: &str) -> Event {
    let data = match kind {
        kinds::UNFOLLOW => EventData::Unfollow,
        kinds::UNBAN => EventData::Unban,
        kinds::TIMEOUT_END => EventData::TimeoutEnd,
        kinds::VIP_ADD => EventData::VipAdd,
        kinds::VIP_REMOVE => EventData::VipRemove,
        kinds::MODERATOR_ADD => EventData::ModeratorAdd,
        kinds::MODERATOR_REMOVE => EventData::ModeratorRemove,
        other => panic!("{other} carries data; use its own builder"),
    };
    event(kind, named(name), data)
}

/// `broadcaster` went live.
pub fn stream_online(broadcaster: &str) -> Event {
    let data = EventData::StreamOnline(StreamOnline {
        broadcaster_name: broadcaster.into(),
        stream_type: "live".into(),
        started_at_ms: Some(with(|h| h.now_ms)),
    });
    event(kinds::STREAM_ONLINE, None, data)
}

/// `broadcaster` went offline.
pub fn stream_offline(broadcaster: &str) -> Event {
    let data = EventData::StreamOffline(StreamOffline {
        broadcaster_name: broadcaster.into(),
    });
    event(kinds::STREAM_OFFLINE, None, data)
}

/// `creator` made a clip called `title`.
pub fn clip(creator: &str, title: &str) -> Event {
    let data = EventData::Clip(Clip {
        title: title.into(),
        url: "https://clips.twitch.tv/Example".into(),
        creator_name: creator.into(),
        view_count: 0,
    });
    event(kinds::CLIP_CREATED, None, data)
}

/// `name` resubscribed for `months` with `message`.
pub fn resub(name: &str, months: u32, message: &str) -> Event {
    let data = EventData::Resub(Resub {
        tier: 1000,
        cumulative_months: months,
        message: message.into(),
    });
    event(kinds::RESUB, named(name), data)
}

/// `gifter` (None: anonymous) gave `total` tier 1 subs.
pub fn gift(gifter: Option<&str>, total: u32) -> Event {
    let data = EventData::Gift(Gift {
        tier: 1000,
        total,
        anonymous: gifter.is_none(),
    });
    event(kinds::GIFT, gifter.and_then(named), data)
}

/// `name` (empty: anonymous) cheered `bits` with `message`.
pub fn cheer(name: &str, bits: u32, message: &str) -> Event {
    let anonymous = name.is_empty();
    let data = EventData::Cheer(Cheer {
        bits,
        message: message.into(),
        anonymous,
    });
    event(
        kinds::CHEER,
        (!anonymous).then(|| viewer("4242", name)),
        data,
    )
}

/// `name` raided with `viewers`.
pub fn raid(name: &str, viewers: u32) -> Event {
    event(kinds::RAID, named(name), EventData::Raid(Raid { viewers }))
}

/// `name` redeemed `title` for `cost` points, typing `input`.
pub fn redemption(name: &str, title: &str, cost: u32, input: &str) -> Event {
    let data = EventData::Redemption(Redemption {
        reward: Reward {
            id: "reward-1".into(),
            title: title.into(),
            cost,
            prompt: String::new(),
        },
        user_input: input.into(),
        status: "unfulfilled".into(),
    });
    event(kinds::REDEMPTION, named(name), data)
}

/// `name` said `text` in chat, with `badges` (set ids, e.g. "moderator").
pub fn chat(name: &str, text: &str, badges: &[&str]) -> Event {
    let badges = badges
        .iter()
        .map(|set| Badge {
            set_id: (*set).into(),
            id: "1".into(),
            info: String::new(),
        })
        .collect();
    let data = EventData::ChatMessage(ChatMessage {
        text: text.into(),
        badges,
    });
    event(kinds::CHAT_MESSAGE, named(name), data)
}

/// An event of a kind Stagehand does not model, with its JSON fields.
pub fn other(kind: &str, fields: serde_json::Value) -> Event {
    event(kind, None, EventData::Other(fields.to_string()))
}

/// `name` gave `amount` (a decimal string like "5.00") in `currency`
/// through Ko-fi, with `message`, publicly or not. Source `external`, and
/// no viewer: a Ko-fi name is not a Twitch user.
pub fn donation(name: &str, amount: &str, currency: &str, message: &str, is_public: bool) -> Event {
    let data = EventData::Donation(Donation {
        username: name.into(),
        amount: amount.into(),
        currency: currency.into(),
        message: message.into(),
        is_public,
        source: "kofi".into(),
        donation_type: "Donation".into(),
        tier_name: String::new(),
    });
    let mut e = event(kinds::DONATION, None, data);
    e.source = Source::External;
    e
}

/// A Discord event of `kind` (one of the `kinds::DISCORD_*`) as the bot
/// sent it: `data` is its `data` object, with the bot's camelCase keys
/// (`userId`, `username`, `giveawayId`, `prize`, `winnerId`, `ticketId`),
/// which fill the record's fields as the host does. Source `external`, no
/// viewer.
pub fn discord(kind: &str, data: serde_json::Value) -> Event {
    let text = |key: &str| data[key].as_str().unwrap_or_default().to_owned();
    let record = Discord {
        guild_id: "900".into(),
        user_id: text("userId"),
        username: text("username"),
        giveaway_id: text("giveawayId"),
        prize: text("prize"),
        winner_id: text("winnerId"),
        ticket_id: text("ticketId"),
        data: data.to_string(),
    };
    let mut e = event(kind, None, EventData::Discord(record));
    e.source = Source::External;
    e
}
