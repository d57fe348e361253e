//! Basic credentials checked against the users file, with a bounded cache of verified
//! credentials so argon2 and scrypt are paid once per credential, not per request.
//!
//! The cache is keyed by SHA-256 over a per-process random key and the `Authorization` header
//! as received: it holds no password, its keys are useless outside this process, and a lookup
//! costs one digest of the header (no base64 decoding, no allocation) and a read of one shard
//! of a concurrent map. Only successful verifications are cached (failures stay expensive),
//! the cache belongs to one loaded file (a reload starts an empty one), and it is cleared when
//! it reaches [`VERIFIED_CACHE_ENTRIES`]. Requests bringing the same new credentials at once
//! share one verification, and at most as many hashes as there are cores run together.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::http::HeaderValue;
use base64::Engine as _;
use dashmap::DashMap;
use rand::RngCore as _;
use sha2::Digest as _;

use super::users_file::{UserAccess, UsersFile, UsersFileError};

/// Most verified credentials remembered per loaded users file.
pub const VERIFIED_CACHE_ENTRIES: usize = 10_000;

/// A keyed SHA-256 digest of an `Authorization` header.
#[derive(Clone, Copy, PartialEq, Eq)]
struct HeaderDigest([u8; 32]);

impl std::hash::Hash for HeaderDigest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Already uniformly distributed and secret-keyed: its first 8 bytes are the hash.
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_ne_bytes(first));
    }
}

/// The hasher of [`HeaderDigest`] keys: the digest's first 8 bytes, as they are (a digest keyed
/// by a process secret cannot be aimed at one bucket, so SipHash would buy nothing).
#[derive(Default, Clone, Copy)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by `HeaderDigest`; a fold that stays correct for any key.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type VerifiedCache =
    DashMap<HeaderDigest, Arc<UserAccess>, std::hash::BuildHasherDefault<DigestHasher>>;

/// Verifications in progress, by header: requests that bring the same new credentials at once
/// (a fleet of clients starting together) wait for one verification rather than each paying
/// argon2.
type InFlight = DashMap<
    HeaderDigest,
    Arc<tokio::sync::OnceCell<bool>>,
    std::hash::BuildHasherDefault<DigestHasher>,
>;

struct Snapshot {
    users: UsersFile,
    verified: VerifiedCache,
    in_flight: InFlight,
}

impl Snapshot {
    fn new(users: UsersFile) -> Self {
        Snapshot {
            users,
            verified: VerifiedCache::default(),
            in_flight: InFlight::default(),
        }
    }
}

/// The users file in force and the verified-credentials cache.
pub struct Authenticator {
    path: PathBuf,
    current: ArcSwap<Snapshot>,
    cache_key: [u8; 32],
    /// Bounds the password hashes computed at once (argon2id takes 19 MiB each), whatever
    /// the number of new credentials arriving together.
    hashing: tokio::sync::Semaphore,
    verifications: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why a request's credentials were refused (logged; the client sees one 401 for all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    Missing,
    /// Not `Basic base64(user:password)`.
    Malformed,
    /// The user is not in the users file.
    UnknownUser(String),
    /// The password does not match.
    WrongPassword(String),
}

impl Refusal {
    /// The user named by the credentials, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            Refusal::UnknownUser(u) | Refusal::WrongPassword(u) => Some(u),
            _ => None,
        }
    }

    /// Why, for the log.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing => "no credentials",
            Refusal::Malformed => "malformed Authorization header",
            Refusal::UnknownUser(_) => "unknown user",
            Refusal::WrongPassword(_) => "wrong password",
        }
    }
}

impl Authenticator {
    /// Load the users file at `path` (refused with the reason when it is not valid).
    pub fn load(path: &Path) -> Result<Authenticator, UsersFileError> {
        let users = UsersFile::load(path)?;
        let mut cache_key = [0u8; 32];
        rand::rng().fill_bytes(&mut cache_key);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Authenticator {
            path: path.to_path_buf(),
            current: ArcSwap::from_pointee(Snapshot::new(users)),
            cache_key,
            hashing: tokio::sync::Semaphore::new(cores.max(2)),
            verifications: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The users file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-read the users file. A file that does not load keeps the one in force; the error
    /// says why. Returns the number of users now in force.
    pub fn reload(&self) -> Result<usize, UsersFileError> {
        let users = UsersFile::load(&self.path)?;
        let count = users.len();
        self.current.store(Arc::new(Snapshot::new(users)));
        Ok(count)
    }

    /// Reload and log the outcome (SIGHUP, a changed file).
    pub fn reload_and_log(&self) {
        match self.reload() {
            Ok(users) => tracing::info!(path = %self.path.display(), users, "users file reloaded"),
            Err(e) => tracing::error!(
                path = %self.path.display(),
                error = %e,
                "the users file was not reloaded; the previous one stays in force"
            ),
        }
    }

    fn digest(&self, header: &HeaderValue) -> HeaderDigest {
        let mut h = sha2::Sha256::new();
        h.update(self.cache_key);
        h.update(header.as_bytes());
        HeaderDigest(h.finalize().into())
    }

    /// The user of an `Authorization` header verified before (the hot path: one digest of the
    /// header and a map lookup, no allocation). `None` when it must be checked
    /// ([`Authenticator::authenticate`]).
    pub fn cached(&self, header: Option<&HeaderValue>) -> Option<Arc<UserAccess>> {
        let key = self.digest(header?);
        self.current
            .load()
            .verified
            .get(&key)
            .map(|hit| hit.clone())
    }

    /// The permissions of a user authenticated by other means (a bearer token).
    pub fn access_for(&self, name: &str) -> Arc<UserAccess> {
        self.current.load().users.access_for(name)
    }

    /// Check a request's `Authorization` header. Password hashing runs on the blocking pool.
    pub async fn authenticate(
        &self,
        header: Option<&HeaderValue>,
    ) -> Result<Arc<UserAccess>, Refusal> {
        let header = header.ok_or(Refusal::Missing)?;
        let key = self.digest(header);
        // A guard, not a clone of the Arc: no shared reference count touched per request.
        if let Some(hit) = self.current.load().verified.get(&key) {
            return Ok(hit.clone());
        }
        let (user, password) = parse_basic(header).ok_or(Refusal::Malformed)?;
        let snapshot = self.current.load_full();
        let access = snapshot
            .users
            .user(&user)
            .cloned()
            .ok_or_else(|| Refusal::UnknownUser(user.clone()))?;
        // One verification per header at a time; the others wait for its outcome.
        let (cell, registered) = match snapshot.in_flight.entry(key) {
            dashmap::Entry::Occupied(e) => (e.get().clone(), false),
            dashmap::Entry::Vacant(e) => (e.insert(Default::default()).clone(), true),
        };
        // The request that registered the verification removes it.
        let _in_flight = registered.then(|| InFlightEntry {
            map: &snapshot.in_flight,
            key,
            cell: &cell,
        });
        // Verified (and out of flight) since the lookup above.
        if let Some(hit) = snapshot.verified.get(&key) {
            return Ok(hit.clone());
        }
        let checked = access.clone();
        let ok = *cell
            .get_or_init(|| async move {
                let Ok(_permit) = self.hashing.acquire().await else {
                    return false;
                };
                self.verifications
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::spawn_blocking(move || checked.verify(&password))
                    .await
                    .unwrap_or(false)
            })
            .await;
        if ok {
            if snapshot.verified.len() >= VERIFIED_CACHE_ENTRIES {
                snapshot.verified.clear();
            }
            snapshot.verified.insert(key, access.clone());
        }
        // `_in_flight` leaves only now, after the outcome is cached: a request arriving
        // meanwhile finds one or the other.
        if !ok {
            return Err(Refusal::WrongPassword(user));
        }
        Ok(access)
    }

    /// Password verifications (argon2, scrypt, PBKDF2) computed so far.
    pub fn verifications(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A verification in progress, removed from the in-flight map when the request that
/// registered it is done or dropped (a client that went away leaves nothing behind; requests
/// waiting on it carry on, one of them computing the hash).
struct InFlightEntry<'a> {
    map: &'a InFlight,
    key: HeaderDigest,
    cell: &'a Arc<tokio::sync::OnceCell<bool>>,
}

impl Drop for InFlightEntry<'_> {
    fn drop(&mut self) {
        self.map
            .remove_if(&self.key, |_, pending| Arc::ptr_eq(pending, self.cell));
    }
}

/// `Basic base64(user:password)`: the user is everything before the first colon.
fn parse_basic(header: &HeaderValue) -> Option<(String, String)> {
    let value = header.to_str().ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(
            parse_basic(&h(&format!("Basic {}", enc("alice:pa:ss")))),
            Some(("alice".into(), "pa:ss".into()))
        );
        assert_eq!(
            parse_basic(&h(&format!("basic {}", enc("a:")))),
            Some(("a".into(), "".into()))
        );
        assert_eq!(parse_basic(&h(&format!("Basic {}", enc("nocolon")))), None);
        assert_eq!(parse_basic(&h("Bearer abc")), None);
        assert_eq!(parse_basic(&h("Basic !!!")), None);
    }

    #[tokio::test]
    async fn only_verified_headers_are_remembered_and_a_reload_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        // Karapace's sha256 vector: the password is "hunter2".
        let file = serde_json::json!({
            "users": [{"username": "u", "algorithm": "sha256", "salt": "karapace-salt",
                       "password_hash": "zJDQF6sEAst4kxpPh2YQ/3rhIYenknOoMC/3k8Cih5A="}],
            "permissions": [],
        });
        std::fs::write(&path, file.to_string()).unwrap();
        let auth = Authenticator::load(&path).unwrap();
        let header = |scheme: &str, credentials: &str| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            HeaderValue::from_str(&format!("{scheme} {encoded}")).unwrap()
        };
        let good = header("Basic", "u:hunter2");
        assert!(auth.cached(None).is_none());
        assert!(auth.cached(Some(&good)).is_none(), "not verified yet");
        assert_eq!(auth.authenticate(Some(&good)).await.unwrap().name(), "u");
        assert_eq!(auth.cached(Some(&good)).unwrap().name(), "u");
        // Another spelling of the same credentials is a header of its own: checked, then kept.
        let spelled = header("basic", "u:hunter2");
        assert!(auth.cached(Some(&spelled)).is_none());
        assert_eq!(auth.authenticate(Some(&spelled)).await.unwrap().name(), "u");
        assert!(auth.cached(Some(&spelled)).is_some());
        // Refusals are never remembered.
        let wrong = header("Basic", "u:hunter3");
        assert_eq!(
            auth.authenticate(Some(&wrong)).await.unwrap_err(),
            Refusal::WrongPassword("u".into())
        );
        assert!(auth.cached(Some(&wrong)).is_none());
        let unknown = header("Basic", "nobody:hunter2");
        assert!(auth.authenticate(Some(&unknown)).await.is_err());
        assert!(auth.cached(Some(&unknown)).is_none());
        auth.reload().unwrap();
        assert!(
            auth.cached(Some(&good)).is_none(),
            "a reload starts an empty cache"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_bringing_the_same_new_credentials_at_once_share_one_verification() {
        use crate::auth::password;
        use crate::auth::Algorithm;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.json");
        let salt = password::random_salt(Algorithm::Argon2id);
        let hash = password::hash(Algorithm::Argon2id, &salt, "pw", 1000).unwrap();
        let file = serde_json::json!({
            "users": [{"username": "u", "algorithm": "argon2id", "salt": salt,
                       "password_hash": hash}],
            "permissions": [],
        });
        std::fs::write(&path, file.to_string()).unwrap();
        let auth = Arc::new(Authenticator::load(&path).unwrap());
        let header = |credentials: &str| {
            let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
        };
        let good = header("u:pw");
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (auth, good) = (auth.clone(), good.clone());
                tokio::spawn(async move { auth.authenticate(Some(&good)).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().name(), "u");
        }
        assert_eq!(auth.verifications(), 1, "one argon2 for 32 requests");
        assert!(
            auth.current.load().in_flight.is_empty(),
            "nothing left in flight"
        );
        // A wrong password is verified again on every attempt (refusals are not cached).
        let wrong = header("u:nope");
        for _ in 0..2 {
            assert!(auth.authenticate(Some(&wrong)).await.is_err());
        }
        assert_eq!(auth.verifications(), 3);
    }
}
