//! The pollers, one per family of channel state: each reads what the store
//! knows, fetches Helix, runs its pure diff ([`crate::polling::diff`]) and
//! sends every change as a `source = poll` event whose store hook applies
//! it to the tables EventSub updates too, so a change both sources see is
//! stored once. The first poll of a channel records the state silently (its
//! baseline).

mod bans;
mod clips;
mod cycle;
mod followers;
mod followers_full;
mod roles;
mod subscriptions;

use std::sync::Arc;

pub use bans::BansPoller;
pub use clips::ClipsPoller;
pub use followers::{FollowersPoller, MAX_WALK_PAGES};
pub use followers_full::FollowersFullPoller;
pub use roles::RolePoller;
pub use subscriptions::SubscriptionsPoller;
// The event builders and Helix readers, shared with cluster mode's list
// pollers so both modes announce a change the same way.
pub(crate) use bans::{ban_event, listed_ban};
pub(crate) use roles::role_event;
pub(crate) use subscriptions::{listed_sub, sub_event};

use super::{PollContext, Poller};

/// Every poller for the context's channel, named as their
/// `polling_config` rows: `followers`, `followers_full`, `subscriptions`,
/// `vips`, `moderators`, `bans`, `clips`. The scheduler runs each at its
/// own interval; they share the context (one Helix client, one store).
pub fn all(ctx: PollContext) -> Vec<Arc<dyn Poller>> {
    vec![
        Arc::new(FollowersPoller::new(ctx.clone())),
        Arc::new(FollowersFullPoller::new(ctx.clone())),
        Arc::new(SubscriptionsPoller::new(ctx.clone())),
        Arc::new(RolePoller::vips(ctx.clone())),
        Arc::new(RolePoller::moderators(ctx.clone())),
        Arc::new(BansPoller::new(ctx.clone())),
        Arc::new(ClipsPoller::new(ctx)),
    ]
}
