//! Subscriptions: new, renewed with other terms, ended.
//!
//! Helix lists who is subscribed, at which tier, and whether it was a
//! gift; it never says when a subscription renews or for how many months.
//! A change of tier or gift flag on a known subscription can only happen
//! at a renewal (Twitch applies a tier change at the next billing, and a
//! gifted sub becomes a paid one when the viewer renews it), so it is
//! reported as a resub (`channel.subscription.message`: an existing
//! subscriber renewed), not as a new `channel.subscribe`.

use std::collections::{HashMap, HashSet};

use crate::event::Viewer;

/// A subscription as the store or Helix knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The subscriber (for a gift, the recipient).
    pub viewer: Viewer,
    /// "1000", "2000" or "3000".
    pub tier: String,
    /// Whether someone gifted it.
    pub is_gift: bool,
    /// Months subscribed, known only from EventSub resub messages (Helix
    /// never says); `None` on the Helix side.
    pub cumulative_months: Option<u32>,
}

/// One change to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubChange {
    /// Listed, not known: `channel.subscribe`.
    New(Subscription),
    /// Known with another tier or gift flag: renewed on new terms, a
    /// resub. `current` carries the months the store knew.
    Renewed {
        /// The new terms, with the months the store knew.
        current: Subscription,
        /// The tier before the renewal.
        previous_tier: String,
    },
    /// Known, no longer listed: `channel.subscription.end`, with the tier
    /// it had.
    Ended(Subscription),
}

/// What changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubDiff {
    /// New and renewed in list order, then ended.
    pub changes: Vec<SubChange>,
    /// Unchanged subscriptions whose viewer now has other names.
    pub renamed: Vec<Viewer>,
}

/// Compares known subscriptions with the listed ones, by Twitch user id.
pub fn diff(known: &[Subscription], current: &[Subscription]) -> SubDiff {
    let known_by_id: HashMap<&str, &Subscription> =
        known.iter().map(|s| (s.viewer.id.as_str(), s)).collect();
    let mut listed = HashSet::with_capacity(current.len());
    let mut diff = SubDiff::default();
    for sub in current {
        if !listed.insert(sub.viewer.id.as_str()) {
            continue;
        }
        match known_by_id.get(sub.viewer.id.as_str()) {
            None => diff.changes.push(SubChange::New(sub.clone())),
            Some(was) if was.tier != sub.tier || was.is_gift != sub.is_gift => {
                diff.changes.push(SubChange::Renewed {
                    current: Subscription {
                        cumulative_months: was.cumulative_months,
                        ..sub.clone()
                    },
                    previous_tier: was.tier.clone(),
                });
            }
            Some(was) if super::renamed(&was.viewer, &sub.viewer) => {
                diff.renamed.push(sub.viewer.clone());
            }
            Some(_) => {}
        }
    }
    let mut ended = HashSet::new();
    for sub in known {
        let id = sub.viewer.id.as_str();
        if !listed.contains(id) && ended.insert(id) {
            diff.changes.push(SubChange::Ended(sub.clone()));
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, tier: &str, is_gift: bool, months: Option<u32>) -> Subscription {
        Subscription {
            viewer: Viewer::new(id, format!("user{id}"), format!("User{id}")),
            tier: tier.into(),
            is_gift,
            cumulative_months: months,
        }
    }

    #[test]
    fn new_and_ended_subscriptions_are_found() {
        let known = [
            sub("1", "1000", false, Some(4)),
            sub("2", "1000", true, None),
        ];
        let current = [sub("2", "1000", true, None), sub("3", "2000", true, None)];
        let d = diff(&known, &current);
        assert_eq!(
            d.changes,
            vec![
                SubChange::New(sub("3", "2000", true, None)),
                SubChange::Ended(sub("1", "1000", false, Some(4))),
            ]
        );
    }

    #[test]
    fn a_tier_change_is_a_renewal_keeping_the_known_months() {
        let known = [sub("1", "1000", false, Some(7))];
        let current = [sub("1", "3000", false, None)];
        let d = diff(&known, &current);
        assert_eq!(
            d.changes,
            vec![SubChange::Renewed {
                current: sub("1", "3000", false, Some(7)),
                previous_tier: "1000".into(),
            }]
        );
    }

    #[test]
    fn a_gift_turning_into_a_paid_sub_is_a_renewal() {
        let known = [sub("1", "1000", true, None)];
        let current = [sub("1", "1000", false, None)];
        assert!(matches!(
            diff(&known, &current).changes.as_slice(),
            [SubChange::Renewed { .. }]
        ));
    }

    #[test]
    fn unchanged_terms_give_nothing_and_a_rename_only_renames() {
        let known = [sub("1", "1000", false, Some(3))];
        assert_eq!(
            diff(&known, &[sub("1", "1000", false, None)]),
            SubDiff::default()
        );
        let mut renamed = sub("1", "1000", false, None);
        renamed.viewer.login = "new_login".into();
        let d = diff(&known, &[renamed.clone()]);
        assert!(d.changes.is_empty());
        assert_eq!(d.renamed, vec![renamed.viewer]);
    }
}
