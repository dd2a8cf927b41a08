//! One channel as the mock knows it: its broadcaster, its users, followers,
//! subscribers, VIPs, moderators, bans, clips and whether it is live (the
//! mock hosts several, see [`crate::channels`]). Both the triggers (which also
//! announce changes over EventSub) and the Helix endpoints read and write
//! this state, so what EventSub says and what Helix answers always agree.
//!
//! Memory-lean for benchmarks with a million followers: seeded followers
//! are synthesized from their index (id, login and follow time are
//! computed), so only the ones that unfollow cost memory.
//!
//! Pure: time comes in as arguments.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::ids::{derived_user_id, display_name};

/// First id of the seeded followers (`viewer0` is `SYNTHETIC_ID_BASE`).
pub const SYNTHETIC_ID_BASE: u64 = 300_000_000;
/// Login prefix of the seeded followers (`viewer0`, `viewer1`, ...).
pub const SYNTHETIC_LOGIN_PREFIX: &str = "viewer";
/// Seconds between two seeded followers' `followed_at`, newest first.
const SYNTHETIC_SPACING_SECS: i64 = 37;

/// A Twitch user as the mock knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// Numeric id, as a string (Twitch ids are strings).
    pub id: String,
    /// Lowercase login.
    pub login: String,
    /// Display name (the login with different case).
    pub display_name: String,
}

impl UserInfo {
    /// A user with a display name derived from the login.
    pub fn new(id: impl Into<String>, login: impl Into<String>) -> Self {
        let login = login.into();
        UserInfo {
            id: id.into(),
            display_name: display_name(&login),
            login,
        }
    }
}

/// A subscription to the channel (Helix `GET /subscriptions` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubInfo {
    /// "1000", "2000" or "3000".
    pub tier: String,
    /// Whether someone gifted it.
    pub is_gift: bool,
    /// The gifter's user id (when gifted and not anonymous).
    pub gifter_id: Option<String>,
}

/// A ban or timeout (Helix `GET /moderation/banned` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BanInfo {
    /// When the ban was made.
    pub created_at: DateTime<Utc>,
    /// When a timeout ends; `None` for a permanent ban.
    pub expires_at: Option<DateTime<Utc>>,
    /// The reason given ("" when none).
    pub reason: String,
    /// Who banned (user id).
    pub moderator_id: String,
}

/// A clip (Helix `GET /clips` row, minus the URLs derived from its id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClipInfo {
    /// Clip id (slug).
    pub id: String,
    /// Who made the clip (user id).
    pub creator_id: String,
    /// The clip's title.
    pub title: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// How often it was watched.
    pub view_count: u64,
    /// Length in seconds.
    pub duration: f64,
    /// Whether the broadcaster featured it.
    pub is_featured: bool,
}

/// The stream, while live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveStream {
    /// The stream id.
    pub id: String,
    /// When it went live.
    pub started_at: DateTime<Utc>,
}

/// A map that remembers insertion order: the lists Helix pages through.
#[derive(Debug, Clone)]
pub struct OrderedMap<V> {
    entries: BTreeMap<u64, (String, V)>,
    index: HashMap<String, u64>,
    next: u64,
}

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap {
            entries: BTreeMap::new(),
            index: HashMap::new(),
            next: 0,
        }
    }
}

impl<V> OrderedMap<V> {
    /// Inserts or replaces `key`, keeping its place when it was there.
    /// Returns the value replaced.
    pub fn upsert(&mut self, key: &str, value: V) -> Option<V> {
        if let Some(seq) = self.index.get(key)
            && let Some(entry) = self.entries.get_mut(seq)
        {
            return Some(std::mem::replace(&mut entry.1, value));
        }
        self.push_back(key, value)
    }

    /// Inserts `key` as the newest entry (moving it if it was there).
    /// Returns the value it had.
    pub fn push_back(&mut self, key: &str, value: V) -> Option<V> {
        let old = self.remove(key);
        let seq = self.next;
        self.next += 1;
        self.entries.insert(seq, (key.to_owned(), value));
        self.index.insert(key.to_owned(), seq);
        old
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<V> {
        let seq = self.index.remove(key)?;
        self.entries.remove(&seq).map(|(_, v)| v)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.index
            .get(key)
            .and_then(|seq| self.entries.get(seq))
            .map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &V)> {
        self.entries.values().map(|(k, v)| (k.as_str(), v))
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &V) -> bool) {
        let index = &mut self.index;
        self.entries.retain(|_, (key, value)| {
            let kept = keep(key, value);
            if !kept {
                index.remove(key.as_str());
            }
            kept
        });
    }
}

/// Followers: the seeded ones (synthesized by index, newest first) and the
/// ones who followed since (explicit, in follow order).
#[derive(Debug, Clone)]
struct Followers {
    seeded: u64,
    /// `followed_at` of seeded follower 0; follower `i` followed
    /// `i * SYNTHETIC_SPACING_SECS` seconds earlier.
    seeded_newest_at: DateTime<Utc>,
    /// Seeded followers who unfollowed (or followed again, so are explicit).
    removed: BTreeSet<u64>,
    explicit: OrderedMap<DateTime<Utc>>,
}

impl Followers {
    fn seeded_followed_at(&self, index: u64) -> DateTime<Utc> {
        let secs = i64::try_from(index)
            .unwrap_or(i64::MAX / 64)
            .saturating_mul(SYNTHETIC_SPACING_SECS);
        self.seeded_newest_at - TimeDelta::seconds(secs)
    }

    fn seeded_index(&self, user_id: &str) -> Option<u64> {
        let id: u64 = user_id.parse().ok()?;
        let index = id.checked_sub(SYNTHETIC_ID_BASE)?;
        (index < self.seeded && !self.removed.contains(&index)).then_some(index)
    }

    fn total(&self) -> usize {
        self.explicit.len() + (self.seeded as usize - self.removed.len())
    }

    /// The `k`-th seeded follower still following (0-based, newest first).
    fn nth_seeded(&self, k: u64) -> u64 {
        let mut index = k;
        for &removed in &self.removed {
            if removed <= index {
                index += 1;
            } else {
                break;
            }
        }
        index
    }
}

/// The whole channel state.
#[derive(Debug, Clone)]
pub struct ChannelState {
    broadcaster: UserInfo,
    users_by_id: HashMap<String, UserInfo>,
    ids_by_login: HashMap<String, String>,
    followers: Followers,
    subscribers: OrderedMap<SubInfo>,
    vips: OrderedMap<()>,
    moderators: OrderedMap<()>,
    bans: OrderedMap<BanInfo>,
    clips: Vec<ClipInfo>,
    live: Option<LiveStream>,
}

/// How much state to seed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seed {
    /// Synthetic followers `viewer0..viewerN`.
    pub followers: u64,
    /// Subscribers `subscriber0..`.
    pub subscribers: usize,
    /// VIPs `vip0..`.
    pub vips: usize,
    /// Moderators `moderator0..`.
    pub moderators: usize,
    /// Bans `banned0..` (every third one a timeout).
    pub bans: usize,
    /// Clips by seeded users.
    pub clips: usize,
}

impl ChannelState {
    /// A channel of `broadcaster` seeded with `seed`, as of `now`.
    pub fn new(broadcaster: UserInfo, seed: Seed, now: DateTime<Utc>) -> Self {
        let mut state = ChannelState {
            broadcaster: broadcaster.clone(),
            users_by_id: HashMap::new(),
            ids_by_login: HashMap::new(),
            followers: Followers {
                seeded: seed.followers,
                seeded_newest_at: now - TimeDelta::seconds(SYNTHETIC_SPACING_SECS),
                removed: BTreeSet::new(),
                explicit: OrderedMap::default(),
            },
            subscribers: OrderedMap::default(),
            vips: OrderedMap::default(),
            moderators: OrderedMap::default(),
            bans: OrderedMap::default(),
            clips: Vec::new(),
            live: None,
        };
        state.insert_user(broadcaster);
        for i in 0..seed.subscribers {
            let user = state.user(&format!("subscriber{i}"));
            let tier = match i % 10 {
                0 => "3000",
                1 | 2 => "2000",
                _ => "1000",
            };
            let gifter = (i % 4 == 3).then(|| state.user("generous_gifter").id);
            state.subscribe(&user.id, tier, gifter.is_some(), gifter);
        }
        for i in 0..seed.vips {
            let user = state.user(&format!("vip{i}"));
            state.add_vip(&user.id);
        }
        for i in 0..seed.moderators {
            let user = state.user(&format!("moderator{i}"));
            state.add_moderator(&user.id);
        }
        let broadcaster_id = state.broadcaster.id.clone();
        for i in 0..seed.bans {
            let user = state.user(&format!("banned{i}"));
            let created_at = now - TimeDelta::minutes(i as i64 + 1);
            let expires_at = (i % 3 == 2).then(|| now + TimeDelta::hours(1));
            state.ban(
                &user.id,
                BanInfo {
                    created_at,
                    expires_at,
                    reason: format!("seeded ban {i}"),
                    moderator_id: broadcaster_id.clone(),
                },
            );
        }
        for i in 0..seed.clips {
            let creator = state.user(&format!("clipper{}", i % 5));
            state.add_clip(ClipInfo {
                id: format!("SeededClip{i}"),
                creator_id: creator.id,
                title: format!("Seeded clip {i}"),
                created_at: now - TimeDelta::hours(i as i64 + 1),
                view_count: (i as u64 * 7) % 100,
                duration: 30.0,
                is_featured: i % 5 == 0,
            });
        }
        state
    }

    /// The broadcaster.
    pub fn broadcaster(&self) -> &UserInfo {
        &self.broadcaster
    }

    /// Adds a user with a given id (bulk followers get ids from their own
    /// range, so they never collide with ids derived from logins).
    pub fn add_user(&mut self, user: UserInfo) {
        self.insert_user(user);
    }

    fn insert_user(&mut self, user: UserInfo) {
        self.ids_by_login
            .insert(user.login.clone(), user.id.clone());
        self.users_by_id.insert(user.id.clone(), user);
    }

    fn synthetic(&self, index: u64) -> UserInfo {
        UserInfo::new(
            (SYNTHETIC_ID_BASE + index).to_string(),
            format!("{SYNTHETIC_LOGIN_PREFIX}{index}"),
        )
    }

    /// The user with this id: known, or a seeded follower by its id.
    pub fn find_id(&self, id: &str) -> Option<UserInfo> {
        if let Some(user) = self.users_by_id.get(id) {
            return Some(user.clone());
        }
        let index = id.parse::<u64>().ok()?.checked_sub(SYNTHETIC_ID_BASE)?;
        (index < self.followers.seeded && id == (SYNTHETIC_ID_BASE + index).to_string())
            .then(|| self.synthetic(index))
    }

    /// The user with this login (case-insensitive), if known.
    pub fn find_login(&self, login: &str) -> Option<UserInfo> {
        let login = login.to_ascii_lowercase();
        if let Some(id) = self.ids_by_login.get(&login) {
            return self.users_by_id.get(id).cloned();
        }
        let index: u64 = login.strip_prefix(SYNTHETIC_LOGIN_PREFIX)?.parse().ok()?;
        if index >= self.followers.seeded || format!("{SYNTHETIC_LOGIN_PREFIX}{index}") != login {
            return None;
        }
        let id = (SYNTHETIC_ID_BASE + index).to_string();
        // A renamed seeded user is in the registry under its new login.
        (!self.users_by_id.contains_key(&id)).then(|| self.synthetic(index))
    }

    /// The user with this login, created on the fly (stable id derived from
    /// the login) when unknown.
    pub fn user(&mut self, login: &str) -> UserInfo {
        if let Some(user) = self.find_login(login) {
            return user;
        }
        let login = login.to_ascii_lowercase();
        let mut id = derived_user_id(&login);
        while self.find_id(&id.to_string()).is_some() {
            id += 1;
        }
        let user = UserInfo::new(id.to_string(), login);
        self.insert_user(user.clone());
        user
    }

    /// Gives a user a new login (and display name); the id stays. Fails when
    /// the user is unknown or the new login is taken.
    pub fn rename(&mut self, login: &str, new_login: &str) -> Result<(UserInfo, UserInfo), String> {
        let old = self
            .find_login(login)
            .ok_or_else(|| format!("unknown user {login}"))?;
        let new_login = new_login.to_ascii_lowercase();
        if new_login.is_empty() {
            return Err("the new login is empty".to_owned());
        }
        if let Some(other) = self.find_login(&new_login)
            && other.id != old.id
        {
            return Err(format!("the login {new_login} is taken"));
        }
        self.ids_by_login.remove(&old.login);
        let renamed = UserInfo::new(old.id.clone(), new_login);
        if self.broadcaster.id == old.id {
            self.broadcaster = renamed.clone();
        }
        self.insert_user(renamed.clone());
        Ok((old, renamed))
    }

    // --- followers -------------------------------------------------------

    /// Records a follow at `at`; a user already following moves to the top
    /// (as after unfollowing and following again).
    pub fn follow(&mut self, user_id: &str, at: DateTime<Utc>) {
        if let Some(index) = self.followers.seeded_index(user_id) {
            self.followers.removed.insert(index);
        }
        self.followers.explicit.push_back(user_id, at);
    }

    /// Removes a follow; false when the user was not following.
    pub fn unfollow(&mut self, user_id: &str) -> bool {
        if let Some(index) = self.followers.seeded_index(user_id) {
            self.followers.removed.insert(index);
            return true;
        }
        self.followers.explicit.remove(user_id).is_some()
    }

    /// When `user_id` followed, if following.
    pub fn followed_at(&self, user_id: &str) -> Option<DateTime<Utc>> {
        if let Some(at) = self.followers.explicit.get(user_id) {
            return Some(*at);
        }
        self.followers
            .seeded_index(user_id)
            .map(|index| self.followers.seeded_followed_at(index))
    }

    /// Number of followers.
    pub fn follower_total(&self) -> usize {
        self.followers.total()
    }

    /// Followers `start..end`, newest first by `followed_at`.
    pub fn followers_page(&self, start: usize, end: usize) -> Vec<(UserInfo, DateTime<Utc>)> {
        let end = end.min(self.follower_total());
        let mut page = Vec::with_capacity(end.saturating_sub(start));
        let explicit = self.followers.explicit.len();
        for (id, at) in self
            .followers
            .explicit
            .iter()
            .rev()
            .skip(start)
            .take(end.saturating_sub(start))
        {
            let user = self
                .find_id(id)
                .unwrap_or_else(|| UserInfo::new(id, format!("user{id}")));
            page.push((user, *at));
        }
        let seeded_from = start.max(explicit) - explicit;
        let seeded_to = end.max(explicit) - explicit;
        if seeded_to > seeded_from {
            let mut index = self.followers.nth_seeded(seeded_from as u64);
            for _ in seeded_from..seeded_to {
                while self.followers.removed.contains(&index) {
                    index += 1;
                }
                let user = self
                    .find_id(&(SYNTHETIC_ID_BASE + index).to_string())
                    .unwrap_or_else(|| self.synthetic(index));
                page.push((user, self.followers.seeded_followed_at(index)));
                index += 1;
            }
        }
        page
    }

    // --- subscribers -----------------------------------------------------

    /// Records (or updates) a subscription.
    pub fn subscribe(
        &mut self,
        user_id: &str,
        tier: &str,
        is_gift: bool,
        gifter_id: Option<String>,
    ) {
        self.subscribers.upsert(
            user_id,
            SubInfo {
                tier: tier.to_owned(),
                is_gift,
                gifter_id,
            },
        );
    }

    /// Ends a subscription, returning what it was.
    pub fn end_subscription(&mut self, user_id: &str) -> Option<SubInfo> {
        self.subscribers.remove(user_id)
    }

    /// The user's subscription, if any.
    pub fn subscription(&self, user_id: &str) -> Option<&SubInfo> {
        self.subscribers.get(user_id)
    }

    /// All subscriptions, oldest first.
    pub fn subscribers(&self) -> impl DoubleEndedIterator<Item = (&str, &SubInfo)> {
        self.subscribers.iter()
    }

    /// Number of subscribers.
    pub fn subscriber_total(&self) -> usize {
        self.subscribers.len()
    }

    // --- roles -----------------------------------------------------------

    /// Grants VIP; false when already a VIP.
    pub fn add_vip(&mut self, user_id: &str) -> bool {
        self.vips.upsert(user_id, ()).is_none()
    }

    /// Revokes VIP; false when not a VIP.
    pub fn remove_vip(&mut self, user_id: &str) -> bool {
        self.vips.remove(user_id).is_some()
    }

    /// Whether the user is a VIP.
    pub fn is_vip(&self, user_id: &str) -> bool {
        self.vips.get(user_id).is_some()
    }

    /// VIP user ids, in the order they were made VIP.
    pub fn vips(&self) -> Vec<&str> {
        self.vips.iter().map(|(id, _)| id).collect()
    }

    /// Grants moderator; false when already a moderator.
    pub fn add_moderator(&mut self, user_id: &str) -> bool {
        self.moderators.upsert(user_id, ()).is_none()
    }

    /// Revokes moderator; false when not a moderator.
    pub fn remove_moderator(&mut self, user_id: &str) -> bool {
        self.moderators.remove(user_id).is_some()
    }

    /// Whether the user is a moderator.
    pub fn is_moderator(&self, user_id: &str) -> bool {
        self.moderators.get(user_id).is_some()
    }

    /// Moderator user ids, in the order they were modded.
    pub fn moderators(&self) -> Vec<&str> {
        self.moderators.iter().map(|(id, _)| id).collect()
    }

    // --- bans ------------------------------------------------------------

    /// Bans (or times out, when `expires_at` is set) a user, replacing an
    /// earlier ban.
    pub fn ban(&mut self, user_id: &str, ban: BanInfo) {
        self.bans.push_back(user_id, ban);
    }

    /// Lifts a ban or timeout, returning it (`None` when not banned).
    pub fn unban(&mut self, user_id: &str, now: DateTime<Utc>) -> Option<BanInfo> {
        self.expire_timeouts(now);
        self.bans.remove(user_id)
    }

    /// Ends a timeout now, as if it had run out; false when the user has no
    /// running timeout.
    pub fn end_timeout(&mut self, user_id: &str, now: DateTime<Utc>) -> bool {
        self.expire_timeouts(now);
        match self.bans.get(user_id) {
            Some(ban) if ban.expires_at.is_some() => self.bans.remove(user_id).is_some(),
            _ => false,
        }
    }

    /// Forgets timeouts that have run out (Twitch drops them from the list).
    pub fn expire_timeouts(&mut self, now: DateTime<Utc>) {
        self.bans
            .retain(|_, ban| ban.expires_at.is_none_or(|expires| expires > now));
    }

    /// The user's ban, if banned and not expired at `now`.
    pub fn ban_of(&self, user_id: &str, now: DateTime<Utc>) -> Option<&BanInfo> {
        self.bans
            .get(user_id)
            .filter(|ban| ban.expires_at.is_none_or(|expires| expires > now))
    }

    /// Active bans and timeouts at `now`, newest first.
    pub fn bans(&self, now: DateTime<Utc>) -> Vec<(&str, &BanInfo)> {
        self.bans
            .iter()
            .rev()
            .filter(|(_, ban)| ban.expires_at.is_none_or(|expires| expires > now))
            .collect()
    }

    // --- clips and stream --------------------------------------------------

    /// Adds a clip.
    pub fn add_clip(&mut self, clip: ClipInfo) {
        self.clips.push(clip);
    }

    /// All clips, oldest first.
    pub fn clips(&self) -> &[ClipInfo] {
        &self.clips
    }

    /// Marks the stream live (`Some`) or offline (`None`).
    pub fn set_live(&mut self, live: Option<LiveStream>) {
        self.live = live;
    }

    /// The stream, while live.
    pub fn live(&self) -> Option<&LiveStream> {
        self.live.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
    }

    fn channel(seed: Seed) -> ChannelState {
        ChannelState::new(UserInfo::new("100000001", "stagehand_demo"), seed, now())
    }

    fn ids(page: &[(UserInfo, DateTime<Utc>)]) -> Vec<String> {
        page.iter().map(|(u, _)| u.login.clone()).collect()
    }

    #[test]
    fn unknown_users_get_stable_ids_and_known_ones_are_found() {
        let mut state = channel(Seed::default());
        let user = state.user("Cool_User");
        assert_eq!(user.login, "cool_user");
        assert_eq!(state.user("cool_user"), user);
        assert_eq!(state.find_id(&user.id), Some(user.clone()));
        assert_eq!(state.find_login("stagehand_demo").unwrap().id, "100000001");
        let mut other = channel(Seed::default());
        assert_eq!(other.user("cool_user").id, user.id);
    }

    #[test]
    fn a_million_seeded_followers_cost_nothing_and_page_newest_first() {
        let mut state = channel(Seed {
            followers: 1_000_000,
            ..Seed::default()
        });
        assert_eq!(state.follower_total(), 1_000_000);
        let first = state.followers_page(0, 3);
        assert_eq!(ids(&first), ["viewer0", "viewer1", "viewer2"]);
        assert!(first[0].1 > first[1].1);
        let last = state.followers_page(999_999, 1_000_005);
        assert_eq!(ids(&last), ["viewer999999"]);

        let newcomer = state.user("newcomer");
        state.follow(&newcomer.id, now());
        assert_eq!(state.follower_total(), 1_000_001);
        assert_eq!(ids(&state.followers_page(0, 2)), ["newcomer", "viewer0"]);

        // viewer1 unfollows: the list closes the gap.
        let viewer1 = state.find_login("viewer1").unwrap();
        assert!(state.unfollow(&viewer1.id));
        assert!(!state.unfollow(&viewer1.id));
        assert_eq!(state.follower_total(), 1_000_000);
        assert_eq!(
            ids(&state.followers_page(1, 4)),
            ["viewer0", "viewer2", "viewer3"]
        );
        assert_eq!(state.followed_at(&viewer1.id), None);
    }

    #[test]
    fn following_again_moves_to_the_top() {
        let mut state = channel(Seed {
            followers: 3,
            ..Seed::default()
        });
        let viewer2 = state.find_login("viewer2").unwrap();
        let later = now() + TimeDelta::seconds(5);
        state.follow(&viewer2.id, later);
        assert_eq!(state.follower_total(), 3);
        assert_eq!(
            ids(&state.followers_page(0, 10)),
            ["viewer2", "viewer0", "viewer1"]
        );
        assert_eq!(state.followed_at(&viewer2.id), Some(later));
    }

    #[test]
    fn pages_across_the_explicit_and_seeded_boundary_are_contiguous() {
        let mut state = channel(Seed {
            followers: 5,
            ..Seed::default()
        });
        for i in 0..3 {
            let user = state.user(&format!("fan{i}"));
            state.follow(&user.id, now() + TimeDelta::seconds(i));
        }
        let seeded2 = state.find_login("viewer2").unwrap();
        state.unfollow(&seeded2.id);
        let mut all = Vec::new();
        for start in (0..state.follower_total()).step_by(2) {
            all.extend(ids(&state.followers_page(start, start + 2)));
        }
        assert_eq!(
            all,
            [
                "fan2", "fan1", "fan0", "viewer0", "viewer1", "viewer3", "viewer4"
            ]
        );
    }

    #[test]
    fn renaming_keeps_the_id() {
        let mut state = channel(Seed {
            followers: 2,
            ..Seed::default()
        });
        let (old, new) = state.rename("viewer1", "shiny_name").unwrap();
        assert_eq!(old.id, new.id);
        assert_eq!(state.find_login("viewer1"), None);
        assert_eq!(state.find_login("shiny_name").unwrap().id, old.id);
        assert_eq!(ids(&state.followers_page(0, 2)), ["viewer0", "shiny_name"]);
        state.user("taken");
        assert!(state.rename("shiny_name", "taken").is_err());
        assert!(state.rename("nobody_here", "x").is_err());
    }

    #[test]
    fn timeouts_disappear_when_they_expire() {
        let mut state = channel(Seed::default());
        let troll = state.user("troll");
        let spammer = state.user("spammer");
        state.ban(
            &troll.id,
            BanInfo {
                created_at: now(),
                expires_at: None,
                reason: "bad".into(),
                moderator_id: "100000001".into(),
            },
        );
        state.ban(
            &spammer.id,
            BanInfo {
                created_at: now(),
                expires_at: Some(now() + TimeDelta::seconds(60)),
                reason: String::new(),
                moderator_id: "100000001".into(),
            },
        );
        assert_eq!(state.bans(now()).len(), 2);
        let later = now() + TimeDelta::seconds(61);
        let active: Vec<&str> = state.bans(later).iter().map(|(id, _)| *id).collect();
        assert_eq!(active, [troll.id.as_str()]);
        assert!(state.ban_of(&spammer.id, later).is_none());
        assert!(!state.end_timeout(&troll.id, now()));
        assert!(state.unban(&troll.id, now()).is_some());
        let left: Vec<&str> = state.bans(now()).iter().map(|(id, _)| *id).collect();
        assert_eq!(left, [spammer.id.as_str()]);
        assert!(state.end_timeout(&spammer.id, now()));
        assert!(state.bans(now()).is_empty());
    }

    #[test]
    fn seeding_fills_every_list() {
        let state = channel(Seed {
            followers: 10,
            subscribers: 8,
            vips: 2,
            moderators: 3,
            bans: 4,
            clips: 5,
        });
        assert_eq!(state.subscriber_total(), 8);
        assert!(state.subscribers().any(|(_, s)| s.is_gift));
        assert_eq!(state.vips().len(), 2);
        assert_eq!(state.moderators().len(), 3);
        assert_eq!(state.bans(now()).len(), 4);
        assert_eq!(state.clips().len(), 5);
    }

    #[test]
    fn roles_report_whether_they_changed() {
        let mut state = channel(Seed::default());
        let user = state.user("helper");
        assert!(state.add_vip(&user.id));
        assert!(!state.add_vip(&user.id));
        assert!(state.is_vip(&user.id));
        assert!(state.remove_vip(&user.id));
        assert!(!state.remove_vip(&user.id));
        assert!(state.add_moderator(&user.id));
        assert!(state.is_moderator(&user.id));
        assert!(state.remove_moderator(&user.id));
    }
}
