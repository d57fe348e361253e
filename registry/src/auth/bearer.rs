//! Bearer tokens (OIDC): `Authorization: Bearer <JWT>` checked against the keys of a JWKS
//! file, with the expected issuer and audience and an unexpired `exp`. A claim (`sub` by
//! default) names the user, whose permissions come from the users file as for Basic users.
//!
//! Tokens must carry a `kid` that the JWKS holds (or the JWKS must hold a single key); the
//! algorithm is the key's, never one the token chooses (no `none`, no HMAC with a public key).

use std::path::Path;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// How bearer tokens are checked.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The JWKS file (`{"keys": [...]}`), e.g. saved from the provider's `jwks_uri`.
    pub jwks_file: std::path::PathBuf,
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

struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Checks bearer tokens.
pub struct BearerValidator {
    keys: Vec<Key>,
    config: OidcConfig,
}

impl std::fmt::Debug for BearerValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerValidator")
            .field("config", &self.config)
            .field("keys", &self.keys.len())
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

impl BearerValidator {
    /// Load the JWKS file.
    pub fn load(config: OidcConfig) -> Result<BearerValidator, OidcError> {
        let error = |message: String| OidcError {
            path: config.jwks_file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(&config.jwks_file).map_err(|e| error(e.to_string()))?;
        let set: JwkSet = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let Some(algorithm) = algorithm_of(jwk) else {
                continue;
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| error(e.to_string()))?;
            keys.push(Key {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key,
            });
        }
        if keys.is_empty() {
            return Err(error("it holds no RSA, EC or OKP public key".into()));
        }
        Ok(BearerValidator { keys, config })
    }

    /// The JWKS file.
    pub fn path(&self) -> &Path {
        &self.config.jwks_file
    }

    /// The user a valid token names, or why it is not valid.
    pub fn validate(&self, token: &str) -> Result<String, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let key = match &header.kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            None if self.keys.len() == 1 => self.keys.first(),
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
