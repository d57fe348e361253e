//! A concurrent map of once-initialised values: the first caller of a missing key runs the
//! fetch, concurrent callers of the same key wait for that one fetch, and a failed fetch leaves
//! the key empty so the next caller tries again (errors, transient ones above all, are never
//! cached).

use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use tokio::sync::OnceCell;

use crate::Result;

/// Once-initialised values by key, optionally expiring after a time to live.
pub(crate) struct OnceMap<K, V> {
    cells: DashMap<K, Arc<OnceCell<(Instant, V)>>>,
    ttl: Option<Duration>,
}

impl<K: Eq + Hash + Clone, V: Clone> OnceMap<K, V> {
    /// Values that never expire.
    pub(crate) fn new() -> Self {
        OnceMap {
            cells: DashMap::new(),
            ttl: None,
        }
    }

    /// Values that expire `ttl` after they were fetched.
    pub(crate) fn with_ttl(ttl: Duration) -> Self {
        OnceMap {
            cells: DashMap::new(),
            ttl: Some(ttl),
        }
    }

    /// The value of `key` if it is present and fresh, without fetching.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let cell = self.cells.get(key)?;
        let (at, value) = cell.get()?;
        self.fresh(*at).then(|| value.clone())
    }

    /// Run `f` on the value of `key` if it is present and fresh, without fetching and without
    /// cloning it (the map's shard stays read-locked while `f` runs: keep `f` short).
    pub(crate) fn with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let cell = self.cells.get(key)?;
        let (at, value) = cell.get()?;
        self.fresh(*at).then(|| f(value))
    }

    fn fresh(&self, at: Instant) -> bool {
        self.ttl.is_none_or(|ttl| at.elapsed() < ttl)
    }

    /// The value of `key`, fetched with `fetch` if missing or expired; concurrent misses of
    /// one key share one fetch.
    pub(crate) async fn get_or_try_init<F, Fut>(&self, key: K, fetch: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let cell = {
            let mut entry = self.cells.entry(key).or_default();
            let stale = entry.value().get().is_some_and(|(at, _)| !self.fresh(*at));
            if stale {
                // Replace only this expired cell; callers already holding it keep its value.
                let fresh: Arc<OnceCell<(Instant, V)>> = Arc::default();
                *entry.value_mut() = fresh.clone();
                fresh
            } else {
                entry.clone()
            }
        };
        let (_, value) = cell
            .get_or_try_init(|| async { Ok::<_, crate::Error>((Instant::now(), fetch().await?)) })
            .await?;
        Ok(value.clone())
    }

    /// Forget `key`.
    pub(crate) fn remove<Q>(&self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.cells.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_misses_of_one_key_collapse_into_one_fetch() {
        let map: Arc<OnceMap<u32, u32>> = Arc::new(OnceMap::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (map, calls) = (map.clone(), calls.clone());
                tokio::spawn(async move {
                    map.get_or_try_init(1, || async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok(7)
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_cached() {
        let map: OnceMap<u32, u32> = OnceMap::new();
        let err = map
            .get_or_try_init(1, || async {
                Err(crate::Error::Unreachable {
                    url: "x".into(),
                    reason: "down".into(),
                })
            })
            .await;
        assert!(err.is_err());
        assert_eq!(map.get_or_try_init(1, || async { Ok(2) }).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn expired_values_are_fetched_again() {
        // A TTL long enough that the read right after the fetch is fresh even on a loaded
        // machine; the freshness check is asserted only when that read really came within it.
        let ttl = Duration::from_millis(500);
        let map: OnceMap<u32, u32> = OnceMap::with_ttl(ttl);
        let fetched = Instant::now();
        assert_eq!(map.get_or_try_init(1, || async { Ok(1) }).await.unwrap(), 1);
        let fresh = map.get(&1);
        if fetched.elapsed() < ttl {
            assert_eq!(fresh, Some(1));
        }
        tokio::time::sleep(ttl + Duration::from_millis(50)).await;
        assert_eq!(map.get(&1), None);
        assert_eq!(map.get_or_try_init(1, || async { Ok(2) }).await.unwrap(), 2);
    }
}
