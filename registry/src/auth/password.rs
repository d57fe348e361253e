//! Password hashes of the users file: Karapace's algorithms, derived exactly as Karapace's
//! `hash_password` does so that its existing entries verify, and argon2id, Strata's default for
//! new entries.
//!
//! Karapace: `sha1`/`sha256`/`sha512` are PBKDF2-HMAC over the UTF-8 password with the UTF-8
//! salt string (not decoded) as salt, `iterations` rounds (5000 when the entry has no
//! `iterations` field, Karapace's legacy count), the digest's length as output; `scrypt` is
//! scrypt(N=16384, r=8, p=1) with Python's default 64-byte output. The stored `password_hash`
//! is the standard base64 (with padding) of the derived bytes. Comparisons are constant-time.
//!
//! argon2id entries keep the whole PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) in
//! `password_hash`, so their cost can be raised later without breaking existing entries.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use rand::RngCore as _;
use subtle::ConstantTimeEq as _;

/// Karapace's PBKDF2 count for entries without an `iterations` field.
pub const LEGACY_PBKDF2_ITERATIONS: u32 = 5000;
/// The PBKDF2 count `strata auth mkpasswd` writes (Karapace's current default, OWASP's advice
/// for PBKDF2-HMAC-SHA512).
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 210_000;

/// A hash algorithm of the users file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// PBKDF2-HMAC-SHA1 (Karapace).
    Sha1,
    /// PBKDF2-HMAC-SHA256 (Karapace).
    Sha256,
    /// PBKDF2-HMAC-SHA512 (Karapace's default).
    Sha512,
    /// scrypt N=16384 r=8 p=1 (Karapace).
    Scrypt,
    /// argon2id with a PHC string (Strata's default).
    Argon2id,
}

impl Algorithm {
    /// Every algorithm, in the order `--help` lists them.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Argon2id,
        Algorithm::Sha512,
        Algorithm::Sha256,
        Algorithm::Sha1,
        Algorithm::Scrypt,
    ];

    /// The name used in the users file.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
            Algorithm::Scrypt => "scrypt",
            Algorithm::Argon2id => "argon2id",
        }
    }

    fn is_pbkdf2(self) -> bool {
        matches!(
            self,
            Algorithm::Sha1 | Algorithm::Sha256 | Algorithm::Sha512
        )
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An algorithm name that is not one of [`Algorithm::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown hash algorithm '{0}': use argon2id, sha512, sha256, sha1 or scrypt")]
pub struct UnknownAlgorithm(pub String);

impl std::str::FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlgorithm(s.to_string()))
    }
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// PBKDF2 needs at least one round.
    #[error("the PBKDF2 iteration count must be at least 1")]
    ZeroIterations,
    /// argon2 refused its input.
    #[error("argon2id failed: {0}")]
    Argon2(String),
}

/// Derive the stored hash of `password` as Karapace (PBKDF2, scrypt) or Strata (argon2id) does.
/// For argon2id `salt` must be a PHC salt (B64 without padding); the result is a PHC string.
pub fn hash(
    algorithm: Algorithm,
    salt: &str,
    password: &str,
    iterations: u32,
) -> Result<String, HashError> {
    let (pw, salt_bytes) = (password.as_bytes(), salt.as_bytes());
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    if algorithm.is_pbkdf2() && iterations == 0 {
        return Err(HashError::ZeroIterations);
    }
    Ok(match algorithm {
        Algorithm::Sha1 => b64(&pbkdf2::pbkdf2_hmac_array::<sha1::Sha1, 20>(
            pw, salt_bytes, iterations,
        )),
        Algorithm::Sha256 => b64(&pbkdf2::pbkdf2_hmac_array::<sha2::Sha256, 32>(
            pw, salt_bytes, iterations,
        )),
        Algorithm::Sha512 => b64(&pbkdf2::pbkdf2_hmac_array::<sha2::Sha512, 64>(
            pw, salt_bytes, iterations,
        )),
        Algorithm::Scrypt => {
            // Python's hashlib.scrypt: n=16384 (log2 14), r=8, p=1, dklen=64.
            let params =
                scrypt::Params::new(14, 8, 1, 64).map_err(|e| HashError::Argon2(e.to_string()))?;
            let mut out = [0u8; 64];
            scrypt::scrypt(pw, salt_bytes, &params, &mut out)
                .map_err(|e| HashError::Argon2(e.to_string()))?;
            b64(&out)
        }
        Algorithm::Argon2id => {
            let salt = SaltString::from_b64(salt).map_err(|e| HashError::Argon2(e.to_string()))?;
            argon2::Argon2::default()
                .hash_password(pw, &salt)
                .map_err(|e| HashError::Argon2(e.to_string()))?
                .to_string()
        }
    })
}

/// A fresh random salt for `algorithm`: Karapace's `secrets.token_urlsafe(16)` shape (22
/// URL-safe characters) for its algorithms, a PHC salt for argon2id.
pub fn random_salt(algorithm: Algorithm) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    match algorithm {
        Algorithm::Argon2id => base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        _ => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    }
}

/// A stored credential: algorithm, salt, hash and (PBKDF2) iteration count.
#[derive(Clone)]
pub struct StoredPassword {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// The salt as written in the file.
    pub salt: String,
    /// The stored hash (base64, or a PHC string for argon2id).
    pub hash: String,
    /// PBKDF2 rounds (ignored by scrypt and argon2id).
    pub iterations: u32,
}

impl std::fmt::Debug for StoredPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the hash.
        f.debug_struct("StoredPassword")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl StoredPassword {
    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &str) -> bool {
        match self.algorithm {
            Algorithm::Argon2id => match PasswordHash::new(&self.hash) {
                // argon2's verify compares the outputs in constant time.
                Ok(parsed) => argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
                Err(_) => false,
            },
            algorithm => match hash(algorithm, &self.salt, password, self.iterations) {
                Ok(computed) => computed.as_bytes().ct_eq(self.hash.as_bytes()).into(),
                Err(_) => false,
            },
        }
    }

    /// Check that the stored hash can ever verify (a PHC string that parses, base64 of the
    /// algorithm's output length): a malformed entry is refused when the file is loaded.
    pub fn check_shape(&self) -> Result<(), String> {
        let expected = match self.algorithm {
            Algorithm::Argon2id => {
                return PasswordHash::new(&self.hash)
                    .map(|_| ())
                    .map_err(|e| format!("password_hash is not an argon2id PHC string: {e}"));
            }
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 | Algorithm::Scrypt => 64,
        };
        match base64::engine::general_purpose::STANDARD.decode(&self.hash) {
            Ok(bytes) if bytes.len() == expected => Ok(()),
            Ok(bytes) => Err(format!(
                "password_hash decodes to {} bytes; {} gives {expected}",
                bytes.len(),
                self.algorithm
            )),
            Err(e) => Err(format!("password_hash is not base64: {e}")),
        }
    }
}

/// A users-file entry for `username` with a fresh salt, as `karapace_mkpasswd` prints one
/// (PBKDF2 entries carry their `iterations`, as Karapace's current mkpasswd writes them).
pub fn user_entry(
    username: &str,
    algorithm: Algorithm,
    password: &str,
    iterations: u32,
) -> Result<serde_json::Value, HashError> {
    let salt = random_salt(algorithm);
    let hash = hash(algorithm, &salt, password, iterations)?;
    let mut entry = serde_json::json!({
        "username": username,
        "algorithm": algorithm.as_str(),
        "salt": salt,
        "password_hash": hash,
    });
    if algorithm.is_pbkdf2() {
        entry["iterations"] = iterations.into();
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed the way Karapace's hash_password computes them, with Python 3:
    //   base64.b64encode(hashlib.pbkdf2_hmac(alg, b"hunter2", b"karapace-salt", 5000))
    //   base64.b64encode(hashlib.scrypt(b"hunter2", salt=b"karapace-salt", n=16384, r=8, p=1))
    pub(crate) const SALT: &str = "karapace-salt";
    pub(crate) const PASSWORD: &str = "hunter2";
    pub(crate) const VECTORS: &[(Algorithm, &str)] = &[
        (Algorithm::Sha1, "30QM19RNUt+Ih2UluGSbdNGK/jU="),
        (Algorithm::Sha256, "zJDQF6sEAst4kxpPh2YQ/3rhIYenknOoMC/3k8Cih5A="),
        (Algorithm::Sha512, "+wCOauu3hbauhEt3gY43q5RRxM5eo68/JxBHR6t/BK0TCSz599a2mZD+yt4/ArKyeGKt3zh9cb0qcSYpbG4ASg=="),
        (Algorithm::Scrypt, "YOAwS0Z1uyJfJPh896GKrrNyPXccp382yb9fvyRBbnF85kCV8OCAKTESBfh4pBvWD6XQpp4CYiqprA+EHSgknQ=="),
    ];

    #[test]
    fn karapace_hashes_are_reproduced_exactly() {
        for (algorithm, expected) in VECTORS {
            assert_eq!(
                hash(*algorithm, SALT, PASSWORD, LEGACY_PBKDF2_ITERATIONS).unwrap(),
                *expected,
                "{algorithm}"
            );
            let stored = StoredPassword {
                algorithm: *algorithm,
                salt: SALT.into(),
                hash: expected.to_string(),
                iterations: LEGACY_PBKDF2_ITERATIONS,
            };
            assert!(stored.verify(PASSWORD), "{algorithm} verifies");
            assert!(
                !stored.verify("hunter3"),
                "{algorithm} rejects a wrong password"
            );
            assert!(stored.check_shape().is_ok(), "{algorithm} shape");
        }
    }

    #[test]
    fn pbkdf2_entries_with_an_iterations_field_use_that_count() {
        let salt = "s";
        let stored = StoredPassword {
            algorithm: Algorithm::Sha256,
            salt: salt.into(),
            hash: hash(Algorithm::Sha256, salt, "pw", 1000).unwrap(),
            iterations: 1000,
        };
        assert!(stored.verify("pw"));
        let legacy = StoredPassword {
            iterations: LEGACY_PBKDF2_ITERATIONS,
            ..stored
        };
        assert!(!legacy.verify("pw"), "another count gives another hash");
    }

    #[test]
    fn mkpasswd_entries_verify_with_every_algorithm() {
        for algorithm in Algorithm::ALL {
            let entry =
                user_entry("alice", algorithm, "s3cret", DEFAULT_PBKDF2_ITERATIONS).unwrap();
            assert_eq!(entry["username"], "alice");
            assert_eq!(entry["algorithm"], algorithm.as_str());
            let stored = StoredPassword {
                algorithm,
                salt: entry["salt"].as_str().unwrap().into(),
                hash: entry["password_hash"].as_str().unwrap().into(),
                iterations: entry["iterations"]
                    .as_u64()
                    .map_or(LEGACY_PBKDF2_ITERATIONS, |i| i as u32),
            };
            assert!(stored.check_shape().is_ok(), "{algorithm}");
            assert!(stored.verify("s3cret"), "{algorithm}");
            assert!(!stored.verify("s3cret "), "{algorithm}");
        }
    }

    #[test]
    fn argon2id_is_the_phc_string() {
        let salt = random_salt(Algorithm::Argon2id);
        let phc = hash(Algorithm::Argon2id, &salt, "pw", 0).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(phc.contains(&salt));
    }

    #[test]
    fn malformed_hashes_are_refused_by_shape() {
        let stored = StoredPassword {
            algorithm: Algorithm::Sha512,
            salt: "x".into(),
            hash: "not base64!".into(),
            iterations: 5000,
        };
        assert!(stored.check_shape().is_err());
        assert!(!stored.verify("x"));
        assert!("md5".parse::<Algorithm>().is_err());
    }
}
