//! Bearer tokens (OIDC): `Authorization: Bearer <JWT>` checked against the keys of a JWKS
//! (a file, or the provider's `jwks_uri`), with the expected issuer and audience and an
//! unexpired `exp`. A claim (`sub` by default) names the user, whose permissions come from the
//! users file as for Basic users.
//!
//! Tokens must carry a `kid` that the JWKS holds (or the JWKS must hold a single key); the
//! algorithm is the key's, never one the token chooses (no `none`, no HMAC with a public key).
//!
//! A JWKS URL is fetched at start (the server does not start without it), then again every
//! `jwks_refresh`, and when a token names a `kid` the keys do not hold (a provider rotating its
//! keys), at most once per [`MIN_FETCH_INTERVAL`] so that tokens with made-up `kid`s cannot make
//! the registry hammer the provider. A fetch that fails keeps the keys in force and logs why.
//! Keys are swapped atomically; a request never waits for a fetch unless its `kid` is unknown.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// The least time between two fetches of a JWKS URL caused by unknown `kid`s.
pub const MIN_FETCH_INTERVAL: Duration = Duration::from_secs(10);

/// How long a JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest JWKS accepted (a key set is a few kilobytes).
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum JwksSource {
    /// A JWKS file (`{"keys": [...]}`), e.g. saved from the provider's `jwks_uri`.
    File(PathBuf),
    /// The provider's `jwks_uri` (http or https), fetched and kept fresh.
    Url {
        /// The URL.
        url: String,
        /// How often it is fetched again.
        refresh: Duration,
    },
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            JwksSource::Url { url, .. } => write!(f, "{url}"),
        }
    }
}

/// How bearer tokens are checked.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The key set.
    pub jwks: JwksSource,
    /// The expected `iss`.
    pub issuer: String,
    /// The expected `aud` (one of the token's).
    pub audience: String,
    /// The claim naming the user (default `sub`).
    pub user_claim: String,
}

/// Why the OIDC settings could not be used.
#[derive(Debug, thiserror::Error)]
#[error("the OIDC key set {path} cannot be used: {message}")]
pub struct OidcError {
    path: String,
    message: String,
}

#[derive(Clone)]
struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Checks bearer tokens.
pub struct BearerValidator {
    keys: ArcSwap<Vec<Key>>,
    config: OidcConfig,
    client: reqwest::Client,
    /// When the JWKS URL was last fetched; held while fetching, so concurrent requests with an
    /// unknown `kid` cause one fetch.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for BearerValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerValidator")
            .field("config", &self.config)
            .field("keys", &self.keys.load().len())
            .finish()
    }
}

fn algorithm_of(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return format!("{alg:?}").parse().ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        // A symmetric key would let anyone holding the JWKS mint tokens.
        AlgorithmParameters::OctetKey(_) => None,
    }
}

/// The usable keys of a JWKS document.
fn parse_keys(text: &str) -> Result<Vec<Key>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let Some(algorithm) = algorithm_of(jwk) else {
            continue;
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        keys.push(Key {
            kid: jwk.common.key_id.clone(),
            algorithm,
            key,
        });
    }
    if keys.is_empty() {
        return Err("it holds no RSA, EC or OKP public key".into());
    }
    Ok(keys)
}

impl BearerValidator {
    /// Load the key set (read the file, or fetch the URL).
    pub async fn load(config: OidcConfig) -> Result<BearerValidator, OidcError> {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| OidcError {
                path: config.jwks.to_string(),
                message: e.to_string(),
            })?;
        let mut validator = BearerValidator {
            keys: ArcSwap::from_pointee(Vec::new()),
            config,
            client,
            last_fetch: tokio::sync::Mutex::new(None),
        };
        let keys = match &validator.config.jwks {
            JwksSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| e.to_string())
                .and_then(|text| parse_keys(&text)),
            // Not counted by the rate limit: a kid rotated in right after start is fetched.
            JwksSource::Url { .. } => validator.fetch().await,
        }
        .map_err(|message| OidcError {
            path: validator.config.jwks.to_string(),
            message,
        })?;
        validator.keys = ArcSwap::from_pointee(keys);
        Ok(validator)
    }

    /// Where the keys come from.
    pub fn source(&self) -> &JwksSource {
        &self.config.jwks
    }

    async fn fetch(&self) -> Result<Vec<Key>, String> {
        let JwksSource::Url { url, .. } = &self.config.jwks else {
            return Err("the key set is a file".into());
        };
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("the key set is larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        parse_keys(&String::from_utf8_lossy(&body))
    }

    /// Fetch the JWKS URL again now, unless it was fetched less than `min_interval` ago (then
    /// `false`). A failed fetch keeps the keys in force and is logged.
    async fn refresh(&self, min_interval: Duration) -> bool {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < min_interval) {
            return false;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::debug!(jwks = %self.config.jwks, keys = keys.len(), "JWKS fetched");
                self.keys.store(Arc::new(keys));
                true
            }
            Err(e) => {
                tracing::warn!(jwks = %self.config.jwks, error = %e, "fetching the JWKS failed; keeping the keys in force");
                false
            }
        }
    }

    /// Fetch a JWKS URL every `refresh` (forever: run as a task, abort to stop). Nothing to do
    /// for a file.
    pub async fn keep_fresh(self: Arc<Self>) {
        let JwksSource::Url { refresh, .. } = self.config.jwks else {
            return;
        };
        let refresh = refresh.max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(refresh).await;
            // Right after an unknown-kid fetch there is nothing new to see.
            self.refresh(refresh / 2).await;
        }
    }

    /// The user a valid token names, or why it is not valid.
    pub async fn validate(&self, token: &str) -> Result<String, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let mut keys = self.keys.load_full();
        if let (Some(kid), JwksSource::Url { .. }) = (&header.kid, &self.config.jwks) {
            let known = keys.iter().any(|k| k.kid.as_deref() == Some(kid));
            if !known && self.refresh(MIN_FETCH_INTERVAL).await {
                keys = self.keys.load_full();
            }
        }
        let key = match &header.kid {
            Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if keys.len() == 1 => keys.first(),
            None => None,
        }
        .ok_or("no key of the JWKS matches the token's kid")?;
        if header.alg != key.algorithm {
            return Err(format!(
                "the token is signed with {:?}, its key is for {:?}",
                header.alg, key.algorithm
            ));
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key.key,
            &validation,
        )
        .map_err(|e| e.to_string())?;
        data.claims
            .get(&self.config.user_claim)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("the token has no '{}' claim", self.config.user_claim))
    }
}
