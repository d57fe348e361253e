//! [`ByteLru`]: a concurrent map bounded by bytes, evicting the least recently used entries.
//!
//! The map is split into shards, each behind a read-write lock, so reads of different keys
//! rarely meet and a read takes only a read lock (the use is recorded in an atomic). Each shard
//! holds at most its share of the byte budget; an insert that takes a shard over its share
//! evicts until it fits, choosing among a few entries sampled at random the one used least
//! recently (approximate LRU, as Redis does: O(1) per eviction, no list to maintain under the
//! read path). Sizes are what [`Weigh`] estimates, not exact allocations.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};

use indexmap::IndexMap;
use parking_lot::RwLock;

/// An estimate of the memory an entry holds, in bytes.
pub trait Weigh {
    /// The estimate.
    fn weigh(&self) -> usize;
}

/// How many shards a cache is split into.
const SHARDS: usize = 4;

/// How many entries an eviction samples.
const SAMPLES: usize = 8;

struct Entry<V> {
    value: V,
    bytes: usize,
    used: AtomicU64,
}

struct Shard<K, V> {
    map: IndexMap<K, Entry<V>>,
    bytes: usize,
    /// Counted per shard (under its read lock), so readers of different shards share no
    /// counter.
    hits: AtomicU64,
    misses: AtomicU64,
    evictions: u64,
}

/// What a cache did so far and holds now (for metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads that found their key.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Entries evicted to stay within the budget.
    pub evictions: u64,
    /// Entries held now.
    pub entries: usize,
    /// Bytes held now (estimated).
    pub bytes: usize,
}

/// A concurrent map bounded by bytes (keys and values, as [`Weigh`] estimates them).
pub struct ByteLru<K, V> {
    shards: Box<[RwLock<Shard<K, V>>]>,
    hasher: std::collections::hash_map::RandomState,
    shard_budget: usize,
    clock: AtomicU64,
}

impl<K, V> std::fmt::Debug for ByteLru<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByteLru")
            .field("max_bytes", &(self.shard_budget * SHARDS))
            .field(
                "bytes",
                &self.shards.iter().map(|s| s.read().bytes).sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Weigh, V: Clone + Weigh> ByteLru<K, V> {
    /// An empty cache holding at most about `max_bytes`.
    pub fn new(max_bytes: usize) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                RwLock::new(Shard {
                    map: IndexMap::new(),
                    bytes: 0,
                    hits: AtomicU64::new(0),
                    misses: AtomicU64::new(0),
                    evictions: 0,
                })
            })
            .collect();
        ByteLru {
            shards,
            hasher: Default::default(),
            shard_budget: (max_bytes / SHARDS).max(1),
            clock: AtomicU64::new(1),
        }
    }

    fn shard(&self, key: &K) -> &RwLock<Shard<K, V>> {
        let h = self.hasher.hash_one(key) as usize;
        &self.shards[h % SHARDS]
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// The value under `key`, marked as just used.
    pub fn get(&self, key: &K) -> Option<V> {
        let shard = self.shard(key).read();
        let Some(entry) = shard.map.get(key) else {
            shard.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        shard.hits.fetch_add(1, Ordering::Relaxed);
        entry.used.store(self.tick(), Ordering::Relaxed);
        Some(entry.value.clone())
    }

    /// Insert (or replace) `key`.
    pub fn insert(&self, key: K, value: V) {
        let bytes = key.weigh() + value.weigh();
        let mut shard = self.shard(&key).write();
        let entry = Entry {
            value,
            bytes,
            used: AtomicU64::new(self.tick()),
        };
        if let Some(old) = shard.map.insert(key, entry) {
            shard.bytes -= old.bytes;
        }
        shard.bytes += bytes;
        self.evict(&mut shard);
    }

    /// The value under `key`, inserting `value` when there is none.
    pub fn get_or_insert(&self, key: K, value: V) -> V {
        if let Some(hit) = self.get(&key) {
            return hit;
        }
        let bytes = key.weigh() + value.weigh();
        let mut shard = self.shard(&key).write();
        if let Some(entry) = shard.map.get(&key) {
            return entry.value.clone();
        }
        shard.map.insert(
            key,
            Entry {
                value: value.clone(),
                bytes,
                used: AtomicU64::new(self.tick()),
            },
        );
        shard.bytes += bytes;
        self.evict(&mut shard);
        value
    }

    /// Remove `key`.
    pub fn remove(&self, key: &K) {
        let mut shard = self.shard(key).write();
        if let Some(old) = shard.map.swap_remove(key) {
            shard.bytes -= old.bytes;
        }
    }

    /// Remove every entry.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut shard = shard.write();
            shard.map.clear();
            shard.bytes = 0;
        }
    }

    /// Bytes held now (estimated).
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.read().bytes).sum()
    }

    /// Entries held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().map.len()).sum()
    }

    /// Hits, misses and evictions so far, and what is held now.
    pub fn stats(&self) -> CacheStats {
        self.shards
            .iter()
            .fold(CacheStats::default(), |mut total, shard| {
                let shard = shard.read();
                total.hits += shard.hits.load(Ordering::Relaxed);
                total.misses += shard.misses.load(Ordering::Relaxed);
                total.evictions += shard.evictions;
                total.entries += shard.map.len();
                total.bytes += shard.bytes;
                total
            })
    }

    /// Evict sampled least-recently-used entries until the shard fits its budget. An entry
    /// larger than the whole budget is evicted too: the cache never holds more than it may.
    fn evict(&self, shard: &mut Shard<K, V>) {
        let mut seed = self.tick().wrapping_mul(0x9E37_79B9_7F4A_7C15);
        while shard.bytes > self.shard_budget && !shard.map.is_empty() {
            let len = shard.map.len();
            let mut victim = 0;
            let mut oldest = u64::MAX;
            // A small shard is scanned whole (exact LRU); a large one sampled.
            let exact = len <= 4 * SAMPLES;
            for n in 0..if exact { len } else { SAMPLES } {
                let i = if exact {
                    n
                } else {
                    // xorshift: cheap and good enough to pick samples.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % len as u64) as usize
                };
                let used = shard.map[i].used.load(Ordering::Relaxed);
                if used < oldest {
                    oldest = used;
                    victim = i;
                }
            }
            if let Some((_, old)) = shard.map.swap_remove_index(victim) {
                shard.bytes -= old.bytes;
                shard.evictions += 1;
            }
        }
    }
}

impl Weigh for i64 {
    fn weigh(&self) -> usize {
        8
    }
}

impl Weigh for (String, i32) {
    fn weigh(&self) -> usize {
        self.0.len() + 32
    }
}

impl Weigh for std::sync::Arc<[Box<str>]> {
    fn weigh(&self) -> usize {
        self.iter().map(|s| s.len() + 16).sum::<usize>() + 32
    }
}

impl Weigh for axum::body::Bytes {
    fn weigh(&self) -> usize {
        self.len() + 48
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct Blob(usize);

    impl Weigh for Blob {
        fn weigh(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_keeps_what_is_used() {
        let cache: ByteLru<i64, Blob> = ByteLru::new(SHARDS * 10_000);
        // A hot entry, read between every insert.
        cache.insert(-1, Blob(100));
        for i in 0..10_000 {
            cache.insert(i, Blob(1_000));
            assert!(cache.get(&-1).is_some(), "the hot entry was evicted at {i}");
        }
        assert!(cache.bytes() <= SHARDS * 10_000, "{} bytes", cache.bytes());
        assert!(cache.len() < 200, "{} entries", cache.len());
        assert!(cache.get(&9_999).is_some(), "the newest entry is kept");
    }

    #[test]
    fn an_entry_larger_than_the_budget_is_not_kept() {
        let cache: ByteLru<i64, Blob> = ByteLru::new(SHARDS * 100);
        cache.insert(1, Blob(10_000));
        assert!(cache.get(&1).is_none());
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn get_or_insert_keeps_the_first_value_and_remove_frees_its_bytes() {
        let cache: ByteLru<i64, Blob> = ByteLru::new(1 << 20);
        assert_eq!(cache.get_or_insert(1, Blob(10)).0, 10);
        assert_eq!(cache.get_or_insert(1, Blob(20)).0, 10);
        assert_eq!(cache.bytes(), 18);
        cache.remove(&1);
        assert_eq!((cache.bytes(), cache.len()), (0, 0));
    }

    #[test]
    fn stats_count_hits_misses_and_evictions() {
        let cache: ByteLru<i64, Blob> = ByteLru::new(SHARDS * 100);
        // Larger than a shard's budget: evicted at once (first, so that it is the only entry
        // its shard could evict, whichever shard it hashes to).
        cache.insert(3, Blob(1_000));
        cache.insert(1, Blob(10));
        assert!(cache.get(&1).is_some());
        assert!(cache.get(&2).is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.evictions), (1, 1, 1));
        assert_eq!((stats.entries, stats.bytes), (1, 18));
    }
}
