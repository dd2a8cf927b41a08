//! Sharing work among the live nodes of a role with leases: stream
//! partitions among workers, conduit shards and channel pollers among ingest
//! nodes. Each node holds `<node prefix><node id>` while alive and
//! `<item prefix><item>` for each item it works on. Pure, so the rules are
//! tested without a database; the roles carry the plan out.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::storage::Lease;

/// A family of leases: who is alive, and who holds which item.
#[derive(Debug, Clone, Copy)]
pub struct LeaseFamily {
    /// e.g. `worker-node-`
    pub nodes: &'static str,
    /// e.g. `worker-partition-`
    pub items: &'static str,
}

/// Workers and the stream partitions they consume.
pub const WORKER_PARTITIONS: LeaseFamily = LeaseFamily {
    nodes: "worker-node-",
    items: "worker-partition-",
};

/// Ingest nodes and the conduit shards they keep a session on.
pub const INGEST_SHARDS: LeaseFamily = LeaseFamily {
    nodes: "ingest-node-",
    items: "ingest-shard-",
};

/// Ingest nodes and the channels whose pollers they run.
pub const INGEST_POLLERS: LeaseFamily = LeaseFamily {
    nodes: "ingest-node-",
    items: "ingest-poll-",
};

impl LeaseFamily {
    /// The lease a node renews while it is alive.
    pub fn node_lease(&self, node: &str) -> String {
        format!("{}{node}", self.nodes)
    }

    /// The lease of one item.
    pub fn item_lease(&self, item: &str) -> String {
        format!("{}{item}", self.items)
    }

    /// The common prefix to list this family's leases with.
    pub fn prefix(&self) -> &'static str {
        let (a, b) = (self.nodes.as_bytes(), self.items.as_bytes());
        let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        &self.nodes[..common]
    }
}

/// What to change.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Items to try to take (free or expired), in order.
    pub acquire: Vec<String>,
    /// Items to give up, so a node that joined gets its share.
    pub release: Vec<String>,
}

/// The fair share of `items` items for one of `nodes` live nodes.
pub fn share(items: usize, nodes: usize) -> usize {
    items.div_ceil(nodes.max(1))
}

/// Plans `me`'s next step: take free items up to the fair share, give up what
/// is above it. Expired leases count as free, so a dead node's items are
/// taken over once its leases run out.
pub fn plan(
    family: LeaseFamily,
    items: &[String],
    me: &str,
    leases: &[Lease],
    now: DateTime<Utc>,
) -> Plan {
    let live = |l: &&Lease| l.expires_at > now;
    let nodes: BTreeSet<&str> = leases
        .iter()
        .filter(live)
        .filter_map(|l| l.name.strip_prefix(family.nodes))
        .chain(std::iter::once(me))
        .collect();
    let fair = share(items.len(), nodes.len());
    let wanted: BTreeSet<&str> = items.iter().map(String::as_str).collect();
    let mut mine = BTreeSet::new();
    let mut taken = BTreeSet::new();
    for lease in leases.iter().filter(live) {
        let Some(item) = lease.name.strip_prefix(family.items) else {
            continue;
        };
        if lease.holder == me {
            mine.insert(item.to_owned());
        } else {
            taken.insert(item.to_owned());
        }
    }
    let mut plan = Plan::default();
    // Items that are no longer wanted (a channel removed) are given up.
    let (keep, gone): (BTreeSet<String>, BTreeSet<String>) =
        mine.into_iter().partition(|i| wanted.contains(i.as_str()));
    plan.release.extend(gone);
    if keep.len() > fair {
        // Give up the last ones first: deterministic, easy to follow.
        plan.release
            .extend(keep.iter().rev().take(keep.len() - fair).cloned());
        return plan;
    }
    // Start the search at a place that differs per node, so nodes that start
    // together do not all contend for the same items first.
    let offset = stable_offset(me, items.len());
    plan.acquire = (0..items.len())
        .map(|i| &items[(i + offset) % items.len()])
        .filter(|i| !keep.contains(*i) && !taken.contains(*i))
        .take(fair - keep.len())
        .cloned()
        .collect();
    plan
}

fn stable_offset(me: &str, n: usize) -> usize {
    let mut h: u32 = 2_166_136_261;
    for b in me.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(16_777_619);
    }
    (h as usize) % n.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    const F: LeaseFamily = WORKER_PARTITIONS;

    fn lease(name: &str, holder: &str, alive: bool) -> Lease {
        let now = Utc::now();
        Lease {
            name: name.to_owned(),
            holder: holder.to_owned(),
            expires_at: if alive {
                now + TimeDelta::seconds(10)
            } else {
                now - TimeDelta::seconds(1)
            },
        }
    }

    fn items(n: u32) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn a_lone_node_takes_everything() {
        let plan = plan(
            F,
            &items(4),
            "a",
            &[lease("worker-node-a", "a", true)],
            Utc::now(),
        );
        let mut got = plan.acquire.clone();
        got.sort();
        assert_eq!(got, items(4));
        assert!(plan.release.is_empty());
    }

    #[test]
    fn a_node_holding_too_much_gives_some_up_when_another_joins() {
        let mut leases = vec![
            lease("worker-node-a", "a", true),
            lease("worker-node-b", "b", true),
        ];
        for p in 0..4 {
            leases.push(lease(&F.item_lease(&p.to_string()), "a", true));
        }
        let plan_a = plan(F, &items(4), "a", &leases, Utc::now());
        assert_eq!(plan_a.release, vec!["3".to_owned(), "2".to_owned()]);
        let plan_b = plan(F, &items(4), "b", &leases, Utc::now());
        assert!(plan_b.acquire.is_empty(), "all taken until a releases");
    }

    #[test]
    fn expired_leases_of_a_dead_node_are_taken_over() {
        let leases = vec![
            lease("worker-node-a", "a", false),
            lease("worker-node-b", "b", true),
            lease(&F.item_lease("0"), "a", false),
            lease(&F.item_lease("1"), "a", false),
            lease(&F.item_lease("2"), "b", true),
            lease(&F.item_lease("3"), "b", true),
        ];
        let mut got = plan(F, &items(4), "b", &leases, Utc::now()).acquire;
        got.sort();
        assert_eq!(got, vec!["0".to_owned(), "1".to_owned()]);
    }

    #[test]
    fn items_no_longer_wanted_are_released() {
        let leases = vec![
            lease("ingest-node-a", "a", true),
            lease(&INGEST_POLLERS.item_lease("42"), "a", true),
        ];
        let plan = plan(INGEST_POLLERS, &["7".to_owned()], "a", &leases, Utc::now());
        assert_eq!(plan.release, vec!["42".to_owned()]);
        assert_eq!(plan.acquire, vec!["7".to_owned()]);
    }

    #[test]
    fn shares_round_up_and_prefixes_are_common() {
        assert_eq!(share(16, 3), 6);
        assert_eq!(share(16, 0), 16);
        assert_eq!(share(1, 4), 1);
        assert_eq!(WORKER_PARTITIONS.prefix(), "worker-");
        assert_eq!(INGEST_SHARDS.prefix(), "ingest-");
    }
}
