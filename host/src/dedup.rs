//! A bounded, expiring set of recently seen ids: the cheap first line of
//! de-duplication in front of the database's unique constraint. Pure logic,
//! no clocks of its own: callers pass the time.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Remembers up to `capacity` ids for at most `ttl` each.
#[derive(Debug)]
pub struct RecentIds {
    capacity: usize,
    ttl: Duration,
    seen: HashMap<String, (Instant, u64)>,
    order: VecDeque<(String, Instant, u64)>,
    generation: u64,
}

impl RecentIds {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        RecentIds {
            capacity: capacity.max(1),
            ttl,
            seen: HashMap::new(),
            order: VecDeque::new(),
            generation: 0,
        }
    }

    /// Records `id` at `now`; true when it was not already remembered.
    pub fn insert(&mut self, id: &str, now: Instant) -> bool {
        self.expire(now);
        if self.seen.contains_key(id) {
            return false;
        }
        while self.seen.len() >= self.capacity {
            if !self.pop_oldest() {
                break;
            }
        }
        self.generation += 1;
        self.seen.insert(id.to_owned(), (now, self.generation));
        self.order.push_back((id.to_owned(), now, self.generation));
        true
    }

    /// Whether `id` is remembered at `now`.
    pub fn contains(&self, id: &str, now: Instant) -> bool {
        self.seen
            .get(id)
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) < self.ttl)
    }

    /// Forgets `id` (for example when storing it failed, so a retry is let through).
    pub fn remove(&mut self, id: &str) {
        self.seen.remove(id);
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        while let Some((_, at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.ttl {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) -> bool {
        let Some((id, _, generation)) = self.order.pop_front() else {
            return false;
        };
        // Only forget the id if this queue entry is the one that set it.
        if self.seen.get(&id).is_some_and(|(_, g)| *g == generation) {
            self.seen.remove(&id);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_new_once() {
        let mut ids = RecentIds::new(10, Duration::from_secs(60));
        let t = Instant::now();
        assert!(ids.insert("a", t));
        assert!(!ids.insert("a", t));
        assert!(ids.insert("b", t));
        assert!(ids.contains("a", t));
        assert_eq!(ids.len(), 2);
    }

    #[test]
    fn ids_expire_after_the_ttl() {
        let mut ids = RecentIds::new(10, Duration::from_secs(60));
        let t = Instant::now();
        ids.insert("a", t);
        assert!(ids.contains("a", t + Duration::from_secs(59)));
        assert!(!ids.contains("a", t + Duration::from_secs(60)));
        assert!(ids.insert("a", t + Duration::from_secs(61)));
    }

    #[test]
    fn capacity_bounds_memory_by_forgetting_the_oldest() {
        let mut ids = RecentIds::new(3, Duration::from_secs(60));
        let t = Instant::now();
        for id in ["a", "b", "c", "d"] {
            assert!(ids.insert(id, t));
        }
        assert_eq!(ids.len(), 3);
        assert!(!ids.contains("a", t));
        assert!(ids.contains("d", t));
    }

    #[test]
    fn a_removed_id_is_new_again() {
        let mut ids = RecentIds::new(3, Duration::from_secs(60));
        let t = Instant::now();
        ids.insert("a", t);
        ids.remove("a");
        assert!(ids.insert("a", t));
        // The stale queue entry of the first insert must not evict the second.
        ids.insert("b", t);
        ids.insert("c", t);
        assert!(ids.contains("a", t));
    }
}
