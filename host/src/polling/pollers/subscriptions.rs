//! `subscriptions`: new subs (with the gift flag), renewals on new terms
//! (reported as resubs, see [`crate::polling::diff::subscriptions`]) and
//! ended subs.

use chrono::{DateTime, Utc};

use super::cycle::{Cycle, username};
use crate::event::data::{Resub, Subscribe, SubscriptionEnd, Tier};
use crate::event::{Event, EventData, Source, Viewer, now_ms};
use crate::polling::diff::subscriptions::{SubChange, Subscription, diff};
use crate::polling::{PollContext, PollError, PollFuture, PollReport, Poller};
use crate::store::subscriptions;
use crate::twitch::helix::Subscriber;
use crate::twitch::normalize::DomainChange;

/// The poller's name in `polling_config`.
pub const NAME: &str = "subscriptions";

/// Tiers the store accepts; anything else Helix might send is skipped
/// (recording it would fail, and the change would be found every cycle).
const TIERS: [&str; 3] = ["1000", "2000", "3000"];

/// Subscription changes.
pub struct SubscriptionsPoller {
    ctx: PollContext,
}

impl SubscriptionsPoller {
    /// The poller for the context's channel.
    pub fn new(ctx: PollContext) -> Self {
        SubscriptionsPoller { ctx }
    }

    async fn cycle(&self) -> Result<PollReport, PollError> {
        let mut cycle = Cycle::start(&self.ctx, NAME);
        let baseline = !cycle.has_baseline().await?;
        let listed = self.ctx.helix.subscriptions(&self.ctx.channel_id).await?;
        let detected_at = now_ms();
        let current: Vec<Subscription> = listed.iter().filter_map(listed_sub).collect();
        let channel = self.ctx.channel_id.clone();
        let known: Vec<Subscription> = self
            .ctx
            .store
            .read(move |c| subscriptions::active(c, &channel))
            .await?
            .into_iter()
            .map(|s| Subscription {
                viewer: s.viewer.to_viewer(),
                tier: s.terms.tier,
                is_gift: s.terms.is_gift,
                cumulative_months: s.terms.cumulative_months,
            })
            .collect();
        let diff = diff(&known, &current);
        if baseline {
            let renames = diff.renamed.into_iter().map(|viewer| {
                let sub = current.iter().find(|s| s.viewer.id == viewer.id);
                subscribed(
                    viewer,
                    sub.map_or("1000", |s| &s.tier),
                    sub.is_some_and(|s| s.is_gift),
                )
            });
            let changes: Vec<DomainChange> = diff
                .changes
                .into_iter()
                .map(|change| sub_event(&self.ctx.channel_id, change, detected_at).1)
                .chain(renames)
                .collect();
            return cycle.take_baseline(changes, detected_at).await;
        }
        cycle.rename(diff.renamed, detected_at).await?;
        for change in diff.changes {
            let (event, change) = sub_event(cycle.channel(), change, detected_at);
            cycle.send_change(event, change, detected_at).await?;
        }
        Ok(cycle.finish().await?.0)
    }
}

impl Poller for SubscriptionsPoller {
    fn name(&self) -> &'static str {
        NAME
    }

    fn poll(&self) -> PollFuture<'_> {
        Box::pin(self.cycle())
    }
}

/// A subscription as Helix lists it, in the diff's terms; `None` for a
/// tier the store does not know (logged).
pub(crate) fn listed_sub(s: &Subscriber) -> Option<Subscription> {
    if !TIERS.contains(&s.tier.as_str()) {
        tracing::warn!(user_id = %s.user_id, tier = %s.tier, "Helix listed a subscription with an unknown tier; skipped");
        return None;
    }
    Some(Subscription {
        viewer: Viewer::new(&s.user_id, &s.user_login, &s.user_name),
        tier: s.tier.clone(),
        is_gift: s.is_gift,
        cumulative_months: None,
    })
}

fn subscribed(viewer: Viewer, tier: &str, is_gift: bool) -> DomainChange {
    DomainChange::Subscribed {
        viewer,
        tier: tier.to_owned(),
        is_gift: Some(is_gift),
        cumulative_months: None,
    }
}

/// The event for one subscription change, and its change to
/// viewer_subscriptions: `channel.subscribe` (username, tier, is_gift),
/// `channel.subscription.message` (username, tier, cumulative_months as
/// last known from EventSub, 0 when never told, and an empty message:
/// Helix says neither) or `channel.subscription.end` (username, tier).
pub(crate) fn sub_event(
    channel: &str,
    change: SubChange,
    detected_at: DateTime<Utc>,
) -> (Event, DomainChange) {
    let tier = |t: &str| Tier::parse(t).unwrap_or_default();
    let (viewer, data, change) = match change {
        SubChange::New(sub) => {
            let data = EventData::Subscribe(Subscribe {
                username: username(&sub.viewer),
                tier: tier(&sub.tier),
                is_gift: sub.is_gift,
            });
            let change = subscribed(sub.viewer.clone(), &sub.tier, sub.is_gift);
            (sub.viewer, data, change)
        }
        SubChange::Renewed { current: sub, .. } => {
            let data = EventData::Resub(Resub {
                username: username(&sub.viewer),
                tier: tier(&sub.tier),
                cumulative_months: sub.cumulative_months.unwrap_or(0),
                message: String::new(),
            });
            let change = subscribed(sub.viewer.clone(), &sub.tier, sub.is_gift);
            (sub.viewer, data, change)
        }
        SubChange::Ended(sub) => {
            let data = EventData::SubscriptionEnd(SubscriptionEnd {
                username: username(&sub.viewer),
                tier: tier(&sub.tier),
            });
            let change = DomainChange::SubscriptionEnded {
                viewer: sub.viewer.clone(),
            };
            (sub.viewer, data, change)
        }
    };
    let event = Event::of(data, Source::Poll, channel)
        .with_viewer(viewer)
        .at(detected_at);
    (event, change)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::EventKind;

    fn sub(tier: &str, is_gift: bool, months: Option<u32>) -> Subscription {
        Subscription {
            viewer: Viewer::new("5", "fan", "Fan"),
            tier: tier.into(),
            is_gift,
            cumulative_months: months,
        }
    }

    fn details(event: &Event) -> serde_json::Value {
        serde_json::Value::Object(event.details())
    }

    #[test]
    fn subscription_events_have_the_table_details() {
        let at = now_ms();
        let (new, change) = sub_event("1", SubChange::New(sub("1000", true, None)), at);
        assert_eq!(new.kind, EventKind::Subscribe);
        assert_eq!(
            details(&new),
            json!({"username": "Fan", "tier": "1000", "is_gift": true})
        );
        assert!(matches!(
            change,
            DomainChange::Subscribed {
                is_gift: Some(true),
                ..
            }
        ));

        let renewed = SubChange::Renewed {
            current: sub("2000", false, Some(9)),
            previous_tier: "1000".into(),
        };
        let (resub, change) = sub_event("1", renewed, at);
        assert_eq!(resub.kind, EventKind::SubscriptionMessage);
        assert_eq!(
            details(&resub),
            json!({"username": "Fan", "tier": "2000", "cumulative_months": 9, "message": ""})
        );
        assert!(matches!(
            change,
            DomainChange::Subscribed {
                cumulative_months: None,
                ..
            }
        ));

        let (end, change) = sub_event("1", SubChange::Ended(sub("3000", false, None)), at);
        assert_eq!(end.kind, EventKind::SubscriptionEnd);
        assert_eq!(details(&end), json!({"username": "Fan", "tier": "3000"}));
        assert!(matches!(change, DomainChange::SubscriptionEnded { .. }));
        assert_eq!(end.source, Source::Poll);
        assert_eq!(end.occurred_at, at);
    }

    #[test]
    fn an_unknown_tier_is_skipped() {
        let listed: Subscriber = serde_json::from_value(json!({
            "user_id": "5", "user_login": "fan", "user_name": "Fan", "tier": "prime", "is_gift": false
        }))
        .unwrap();
        assert_eq!(listed_sub(&listed), None);
    }
}
