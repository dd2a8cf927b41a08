//! A plugin's key-value storage as its instances see it: loaded once,
//! read from memory, written back to SQLite by the worker after each call,
//! and held to the plugin's quota (it all lives in the host's memory).

use std::collections::HashMap;
use std::sync::Mutex;

use super::super::quotas::{
    MAX_KV_BYTES, MAX_KV_KEY_BYTES, MAX_KV_KEYS, MAX_KV_VALUE_BYTES, MAX_KV_WRITE_PER_CALL,
};

/// Why a write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvQuotaError {
    #[error("kv key of {0} bytes; keys are at most {MAX_KV_KEY_BYTES} bytes")]
    KeyTooLong(usize),
    #[error("kv value of {0} bytes; values are at most {MAX_KV_VALUE_BYTES} bytes")]
    ValueTooLong(usize),
    #[error(
        "kv quota exceeded: {keys} keys and {bytes} bytes after this write; a plugin keeps at most {MAX_KV_KEYS} keys and {MAX_KV_BYTES} bytes"
    )]
    Full { keys: usize, bytes: usize },
    #[error(
        "kv writes of {0} bytes in one call; a call writes at most {MAX_KV_WRITE_PER_CALL} bytes (spread bigger data over several calls)"
    )]
    TooMuchAtOnce(usize),
}

/// The storage of one plugin, shared by its instances.
#[derive(Default)]
pub struct KvCache {
    inner: Mutex<KvInner>,
}

#[derive(Default)]
struct KvInner {
    values: HashMap<String, String>,
    /// Bytes of every key and value held.
    bytes: usize,
    /// Changes since the last flush, latest per key (`None` = deleted).
    dirty: HashMap<String, Option<String>>,
    /// Bytes of keys and values written since the last flush (one call).
    written: usize,
}

impl KvCache {
    /// The cache of what the store holds.
    pub fn new(values: HashMap<String, String>) -> Self {
        let bytes = values.iter().map(|(k, v)| k.len() + v.len()).sum();
        KvCache {
            inner: Mutex::new(KvInner {
                values,
                bytes,
                dirty: HashMap::new(),
                written: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KvInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lock().values.get(key).cloned()
    }

    /// Stores (`Some`) or deletes (`None`) `key`, unless that would take
    /// the plugin over its quota.
    pub fn set(&self, key: String, value: Option<String>) -> Result<(), KvQuotaError> {
        self.apply(vec![(key, value)])
    }

    /// Applies changes in order, all or none: if any would break the quota
    /// (counting the changes before it), nothing is applied.
    pub fn apply(&self, changes: Vec<(String, Option<String>)>) -> Result<(), KvQuotaError> {
        for (key, value) in &changes {
            if key.len() > MAX_KV_KEY_BYTES {
                return Err(KvQuotaError::KeyTooLong(key.len()));
            }
            if let Some(v) = value
                && v.len() > MAX_KV_VALUE_BYTES
            {
                return Err(KvQuotaError::ValueTooLong(v.len()));
            }
        }
        let mut inner = self.lock();
        let written = inner.written
            + changes
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, String::len))
                .sum::<usize>();
        if written > MAX_KV_WRITE_PER_CALL {
            return Err(KvQuotaError::TooMuchAtOnce(written));
        }
        // Sizes as they would be after the changes so far (None: absent).
        let mut after: HashMap<&str, Option<usize>> = HashMap::new();
        let (mut bytes, mut keys) = (inner.bytes, inner.values.len());
        for (key, value) in &changes {
            let old = match after.get(key.as_str()) {
                Some(size) => *size,
                None => inner.values.get(key).map(|v| key.len() + v.len()),
            };
            let new = value.as_ref().map(|v| key.len() + v.len());
            bytes = bytes - old.unwrap_or(0) + new.unwrap_or(0);
            keys = keys + usize::from(old.is_none() && new.is_some())
                - usize::from(old.is_some() && new.is_none());
            let growing = new.unwrap_or(0) > old.unwrap_or(0);
            if growing && (bytes > MAX_KV_BYTES || keys > MAX_KV_KEYS) {
                return Err(KvQuotaError::Full { keys, bytes });
            }
            after.insert(key, new);
        }
        drop(after);
        inner.bytes = bytes;
        inner.written = written;
        for (key, value) in changes {
            match &value {
                Some(v) => inner.values.insert(key.clone(), v.clone()),
                None => inner.values.remove(&key),
            };
            inner.dirty.insert(key, value);
        }
        Ok(())
    }

    /// Changes since the last call (`None` = deleted).
    pub fn take_dirty(&self) -> Vec<(String, Option<String>)> {
        let mut inner = self.lock();
        inner.written = 0;
        std::mem::take(&mut inner.dirty).into_iter().collect()
    }

    /// Starts a call's share of writes ([`MAX_KV_WRITE_PER_CALL`] is per
    /// call, however many calls run between two write-backs).
    pub fn begin_call(&self) {
        self.lock().written = 0;
    }

    /// Bytes written so far by the call in progress.
    pub fn written_this_call(&self) -> usize {
        self.lock().written
    }

    /// (keys, bytes) held now.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.values.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_count_against_the_quota_and_deletes_free_it() {
        let kv = KvCache::default();
        let big = "x".repeat(MAX_KV_VALUE_BYTES);
        let fits = MAX_KV_BYTES / (MAX_KV_VALUE_BYTES + 8);
        for i in 0..fits {
            kv.set(format!("k{i:06}"), Some(big.clone())).unwrap();
            kv.take_dirty(); // one write per call
        }
        let err = kv.set("one-more".into(), Some(big.clone())).unwrap_err();
        assert!(matches!(err, KvQuotaError::Full { .. }), "{err}");
        assert!(err.to_string().contains("kv quota exceeded"));
        // Shrinking and deleting are always allowed, and make room.
        kv.set("k000000".into(), Some("small".into())).unwrap();
        kv.set("k000001".into(), None).unwrap();
        kv.set("one-more".into(), Some(big)).unwrap();
        assert_eq!(kv.usage().0, fits);
    }

    #[test]
    fn too_many_keys_is_refused() {
        let kv = KvCache::default();
        for i in 0..MAX_KV_KEYS {
            kv.set(i.to_string(), Some(String::new())).unwrap();
        }
        assert!(matches!(
            kv.set("another".into(), Some(String::new())),
            Err(KvQuotaError::Full { .. })
        ));
        // Overwriting an existing key is not a new key.
        kv.set("7".into(), Some("seven".into())).unwrap();
    }

    #[test]
    fn oversized_keys_and_values_are_refused_by_name() {
        let kv = KvCache::default();
        assert_eq!(
            kv.set("k".repeat(MAX_KV_KEY_BYTES + 1), Some(String::new())),
            Err(KvQuotaError::KeyTooLong(MAX_KV_KEY_BYTES + 1))
        );
        assert_eq!(
            kv.set("k".into(), Some("v".repeat(MAX_KV_VALUE_BYTES + 1))),
            Err(KvQuotaError::ValueTooLong(MAX_KV_VALUE_BYTES + 1))
        );
        assert!(kv.take_dirty().is_empty());
    }

    #[test]
    fn a_batch_over_the_quota_applies_nothing() {
        let kv = KvCache::default();
        kv.set("keep".into(), Some("1".into())).unwrap();
        kv.take_dirty();
        let value = "x".repeat(MAX_KV_VALUE_BYTES);
        // Nearly full, over many calls.
        let mut n = 0;
        while kv.usage().1 + 2 * (MAX_KV_VALUE_BYTES + 16) < MAX_KV_BYTES {
            kv.set(format!("fill{n}"), Some(value.clone())).unwrap();
            kv.take_dirty();
            n += 1;
        }
        let before = kv.usage();
        let flood: Vec<_> = (0..3)
            .map(|i| (format!("junk{i}"), Some(value.clone())))
            .collect();
        assert!(matches!(kv.apply(flood), Err(KvQuotaError::Full { .. })));
        assert_eq!(kv.usage(), before, "nothing of the batch was kept");
        assert!(kv.take_dirty().is_empty(), "and nothing is written back");
        // A batch that frees room first and then fills it fits.
        kv.apply(vec![("keep".into(), None), ("a".into(), Some("b".into()))])
            .unwrap();
        assert_eq!(kv.get("a").as_deref(), Some("b"));
        assert_eq!(kv.get("keep"), None);
    }

    #[test]
    fn one_call_writes_at_most_its_share_and_the_next_call_starts_afresh() {
        let kv = KvCache::default();
        let value = "x".repeat(60 << 10);
        let burst: Vec<_> = (0..20)
            .map(|i| (format!("burst{i}"), Some(value.clone())))
            .collect();
        let err = kv.apply(burst.clone()).unwrap_err();
        assert!(matches!(err, KvQuotaError::TooMuchAtOnce(_)), "{err}");
        assert!(err.to_string().contains("in one call"), "{err}");
        assert_eq!(kv.usage(), (0, 0), "refused whole");
        // Within the share, one write at a time, until the share is used.
        let share = MAX_KV_WRITE_PER_CALL / ((60 << 10) + "burstNN".len());
        for (i, change) in burst.iter().take(share).enumerate() {
            kv.apply(vec![change.clone()])
                .unwrap_or_else(|e| panic!("write {i}: {e}"));
        }
        assert!(matches!(
            kv.apply(vec![burst[share].clone()]),
            Err(KvQuotaError::TooMuchAtOnce(_))
        ));
        // The call returned: its writes were saved, a new share begins.
        assert_eq!(kv.take_dirty().len(), share);
        kv.apply(vec![burst[share].clone()]).unwrap();
    }

    #[test]
    fn dirty_keeps_the_latest_change_per_key() {
        let kv = KvCache::default();
        for i in 0..1000 {
            kv.set("k".into(), Some(i.to_string())).unwrap();
        }
        kv.set("gone".into(), Some("x".into())).unwrap();
        kv.set("gone".into(), None).unwrap();
        let mut dirty = kv.take_dirty();
        dirty.sort();
        assert_eq!(
            dirty,
            vec![("gone".into(), None), ("k".into(), Some("999".into()))]
        );
        assert!(kv.take_dirty().is_empty());
    }
}
