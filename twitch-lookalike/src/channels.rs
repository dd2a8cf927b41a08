//! Every channel the look-alike hosts, keyed by broadcaster id. Each
//! channel is a [`ChannelState`] of its own (followers, subscribers, roles,
//! bans, clips, live), so a follow in one channel is not in another's
//! list, as on Twitch. The first channel is the default one: the channel
//! of [`MockOptions`](crate::MockOptions), of the pre-issued token and of
//! every trigger that names no channel.
//!
//! Users are known per channel (each channel's registry creates the users
//! its triggers name, with ids derived from the login, so the same login
//! gets the same id everywhere); lookups across channels ask each one.
//!
//! Pure: time comes in as an argument.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::state::{ChannelState, Seed, UserInfo};

/// First id handed to an added channel's broadcaster (the default
/// channel's broadcaster is `100000001`; added ones follow it).
const ADDED_CHANNEL_ID_BASE: u64 = 100_000_002;

/// The channels, the default one first.
#[derive(Debug, Clone)]
pub struct Channels {
    channels: Vec<ChannelState>,
    /// Broadcaster id → position in `channels`.
    by_id: HashMap<String, usize>,
    /// Broadcaster login → position (logins of added channels; a renamed
    /// broadcaster is still found by a scan).
    by_login: HashMap<String, usize>,
    next_id: u64,
}

impl Channels {
    /// The channels with `default` as the only (and default) one.
    pub fn new(default: ChannelState) -> Self {
        let mut channels = Channels {
            channels: Vec::new(),
            by_id: HashMap::new(),
            by_login: HashMap::new(),
            next_id: ADDED_CHANNEL_ID_BASE,
        };
        channels.push(default);
        channels
    }

    fn push(&mut self, channel: ChannelState) -> usize {
        let index = self.channels.len();
        let broadcaster = channel.broadcaster();
        self.by_id.insert(broadcaster.id.clone(), index);
        self.by_login.insert(broadcaster.login.clone(), index);
        self.channels.push(channel);
        index
    }

    /// The default channel (the first).
    pub fn default_channel(&self) -> &ChannelState {
        &self.channels[0]
    }

    /// The channel of broadcaster `id`.
    pub fn get(&self, id: &str) -> Option<&ChannelState> {
        self.by_id.get(id).map(|&index| &self.channels[index])
    }

    /// The channel of broadcaster `id`, to change.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut ChannelState> {
        self.by_id.get(id).map(|&index| &mut self.channels[index])
    }

    /// The position of the channel named by a broadcaster id or login
    /// (case-insensitive).
    fn position(&self, id_or_login: &str) -> Option<usize> {
        if let Some(&index) = self.by_id.get(id_or_login) {
            return Some(index);
        }
        let login = id_or_login.to_ascii_lowercase();
        match self.by_login.get(&login) {
            Some(&index) if self.channels[index].broadcaster().login == login => Some(index),
            _ => self
                .channels
                .iter()
                .position(|c| c.broadcaster().login == login),
        }
    }

    /// The channel a trigger or control call names (broadcaster id or
    /// login), or the default channel for `None`.
    pub fn select(&self, channel: Option<&str>) -> Result<&ChannelState, String> {
        match channel {
            None => Ok(self.default_channel()),
            Some(name) => self
                .position(name)
                .map(|index| &self.channels[index])
                .ok_or_else(|| format!("unknown channel {name:?}")),
        }
    }

    /// [`select`](Self::select), to change.
    pub fn select_mut(&mut self, channel: Option<&str>) -> Result<&mut ChannelState, String> {
        let index = match channel {
            None => 0,
            Some(name) => self
                .position(name)
                .ok_or_else(|| format!("unknown channel {name:?}"))?,
        };
        Ok(&mut self.channels[index])
    }

    /// Adds a channel for `login` seeded with `seed`; a login that already
    /// has a channel gets that one back (so setups can be run twice).
    /// Fails for an empty login.
    pub fn add(&mut self, login: &str, seed: Seed, now: DateTime<Utc>) -> Result<UserInfo, String> {
        let login = login.trim().to_ascii_lowercase();
        if login.is_empty() {
            return Err("the channel's login is empty".to_owned());
        }
        if let Some(index) = self.position(&login) {
            return Ok(self.channels[index].broadcaster().clone());
        }
        let id = loop {
            let id = self.next_id.to_string();
            self.next_id += 1;
            if !self.by_id.contains_key(&id) && self.find_user_id(&id).is_none() {
                break id;
            }
        };
        let broadcaster = UserInfo::new(id, login);
        self.push(ChannelState::new(broadcaster.clone(), seed, now));
        Ok(broadcaster)
    }

    /// Every channel, the default one first.
    pub fn iter(&self) -> impl Iterator<Item = &ChannelState> {
        self.channels.iter()
    }

    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// Whether there are no channels (never: the default one is always
    /// there).
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// Whether `user_id` is the broadcaster of a channel here (these users
    /// authorised the client: conduit subscriptions may name them).
    pub fn is_broadcaster(&self, user_id: &str) -> bool {
        self.by_id.contains_key(user_id)
    }

    /// The user with this id in any channel (the default channel asked
    /// first).
    pub fn find_user_id(&self, id: &str) -> Option<UserInfo> {
        if let Some(channel) = self.get(id) {
            return Some(channel.broadcaster().clone());
        }
        self.channels.iter().find_map(|c| c.find_id(id))
    }

    /// The user with this login in any channel (the default channel asked
    /// first).
    pub fn find_user_login(&self, login: &str) -> Option<UserInfo> {
        if let Some(index) = self.position(login) {
            return Some(self.channels[index].broadcaster().clone());
        }
        self.channels.iter().find_map(|c| c.find_login(login))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channels() -> Channels {
        let default = UserInfo::new("100000001", "stagehand_demo");
        Channels::new(ChannelState::new(default, Seed::default(), Utc::now()))
    }

    #[test]
    fn added_channels_get_new_ids_and_independent_state() {
        let mut channels = channels();
        let second = channels.add("Second", Seed::default(), Utc::now()).unwrap();
        assert_eq!(second.login, "second");
        assert_eq!(second.id, "100000002");
        assert_eq!(
            channels.add("second", Seed::default(), Utc::now()).unwrap(),
            second
        );
        assert_eq!(channels.len(), 2);

        let channel = channels.select_mut(Some("second")).unwrap();
        let fan = channel.user("fan");
        channel.follow(&fan.id, Utc::now());
        assert_eq!(channels.get(&second.id).unwrap().follower_total(), 1);
        assert_eq!(channels.default_channel().follower_total(), 0);
        assert_eq!(channels.find_user_login("fan").unwrap().id, fan.id);
        assert_eq!(channels.find_user_id(&second.id).unwrap().login, "second");
        assert!(channels.select(Some("nobody")).is_err());
        assert_eq!(channels.select(None).unwrap().broadcaster().id, "100000001");
        assert!(channels.add(" ", Seed::default(), Utc::now()).is_err());
    }
}
