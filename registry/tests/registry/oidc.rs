//! Bearer tokens (OIDC) signed by the test itself: accepted with the right key, issuer,
//! audience and expiry; refused otherwise; the token's user gets the users file's permissions.

use base64::Engine as _;
use serde_json::{json, Value};
use strata_registry::auth::bearer::{JwksSource, OidcConfig};
use strata_registry::{Application, ServerConfig, Settings};

use crate::harness::{record, TestServer};

const ISSUER: &str = "https://issuer.example";
const AUDIENCE: &str = "strata";

struct Signer {
    key: jsonwebtoken::EncodingKey,
    jwk: Value,
}

fn signer(kid: &str) -> Signer {
    let pair = rcgen::KeyPair::generate().expect("P-256 key");
    let raw = pair.public_key_raw();
    assert_eq!((raw.len(), raw[0]), (65, 4), "an uncompressed P-256 point");
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    Signer {
        key: jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap(),
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                    "x": b64(&raw[1..33]), "y": b64(&raw[33..])}),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn token(signer: &Signer, kid: Option<&str>, claims: Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims, &signer.key).unwrap()
}

fn claims(user: &str) -> Value {
    json!({"sub": user, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 300})
}

async fn server(dir: &tempfile::TempDir, jwks: &Value) -> TestServer {
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks.to_string()).unwrap();
    server_with(dir, JwksSource::File(jwks_file)).await
}

async fn server_with(dir: &tempfile::TempDir, jwks: JwksSource) -> TestServer {
    let users = dir.path().join("users.json");
    std::fs::write(
        &users,
        json!({"users": [], "permissions": [
            {"username": "team", "operation": "Write", "resource": "Subject:team-.*"},
            {"username": "admin", "operation": "Write", "resource": ".*"},
        ]})
        .to_string(),
    )
    .unwrap();
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: url.clone(),
        settings: Settings::default(),
    })
    .await
    .unwrap()
    .with_auth_file(&users)
    .unwrap()
    .with_oidc(OidcConfig {
        jwks,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        user_claim: "sub".into(),
    })
    .await
    .unwrap();
    TestServer::serve(app, url, None)
}

async fn get(s: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let resp = s
        .client
        .get(format!("{}{path}", s.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_name_a_user_whose_permissions_apply() {
    let dir = tempfile::tempdir().unwrap();
    let key = signer("k1");
    let s = server(&dir, &json!({"keys": [key.jwk]})).await;
    let admin = token(&key, Some("k1"), claims("admin"));
    let team = token(&key, Some("k1"), claims("team"));
    let schema = json!({"schema": record("O", &[("a", "int", None)])});
    for subject in ["team-a", "secret"] {
        let resp = s
            .client
            .post(format!("{}/subjects/{subject}/versions", s.base))
            .bearer_auth(&admin)
            .header("Content-Type", "application/json")
            .body(schema.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(
        get(&s, &admin, "/subjects").await.1,
        json!(["secret", "team-a"])
    );
    assert_eq!(get(&s, &team, "/subjects").await.1, json!(["team-a"]));
    assert_eq!(
        get(&s, &team, "/subjects/secret/versions").await.1["error_code"],
        40401
    );
    assert_eq!(get(&s, &team, "/config").await.0, 403);
    // A user the users file does not name is authenticated but may do nothing.
    let stranger = token(&key, Some("k1"), claims("stranger"));
    assert_eq!(get(&s, &stranger, "/subjects").await, (200, json!([])));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_with_a_wrong_issuer_audience_expiry_or_signature_answer_401() {
    let dir = tempfile::tempdir().unwrap();
    let key = signer("k1");
    let other = signer("k1");
    let s = server(&dir, &json!({"keys": [key.jwk]})).await;
    let mut wrong_issuer = claims("admin");
    wrong_issuer["iss"] = "https://elsewhere.example".into();
    let mut wrong_audience = claims("admin");
    wrong_audience["aud"] = "another-service".into();
    let mut expired = claims("admin");
    expired["exp"] = (now() - 3600).into();
    let mut no_expiry = claims("admin");
    no_expiry.as_object_mut().unwrap().remove("exp");
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some("k1".into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims("admin"),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    let cases = [
        ("a wrong issuer", token(&key, Some("k1"), wrong_issuer)),
        ("a wrong audience", token(&key, Some("k1"), wrong_audience)),
        ("an expired token", token(&key, Some("k1"), expired)),
        ("no expiry", token(&key, Some("k1"), no_expiry)),
        (
            "another key's signature",
            token(&other, Some("k1"), claims("admin")),
        ),
        ("an unknown kid", token(&key, Some("k2"), claims("admin"))),
        ("an HMAC token", hs256),
        ("not a JWT", "abc".to_string()),
    ];
    for (what, bad) in cases {
        let resp = s
            .client
            .get(format!("{}/subjects", s.base))
            .bearer_auth(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{what}");
        assert_eq!(resp.headers()["www-authenticate"], "Basic realm=\"strata\"");
    }
    // The same claims, rightly signed, pass; a single-key JWKS also takes tokens without kid.
    assert_eq!(
        get(&s, &token(&key, Some("k1"), claims("admin")), "/subjects")
            .await
            .0,
        200
    );
    assert_eq!(
        get(&s, &token(&key, None, claims("admin")), "/subjects")
            .await
            .0,
        200
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_without_a_users_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/r.db", dir.path().display()),
        settings: Settings::default(),
    })
    .await
    .unwrap();
    let err = app
        .with_oidc(OidcConfig {
            jwks: JwksSource::File(dir.path().join("jwks.json")),
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            user_claim: "sub".into(),
        })
        .await
        .expect_err("refused")
        .to_string();
    assert!(err.contains("need a users file"), "{err}");
}

/// A JWKS served on loopback by the test: what it serves can be changed, and fetches are
/// counted.
struct JwksServer {
    url: String,
    keys: std::sync::Arc<std::sync::Mutex<Value>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(keys: Value) -> JwksServer {
        use std::sync::atomic::Ordering;
        let keys = std::sync::Arc::new(std::sync::Mutex::new(keys));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (served, counted) = (keys.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().clone();
                async move { axum::Json(body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        JwksServer {
            url,
            keys,
            fetches,
            task,
        }
    }

    fn serve(&self, keys: Value) {
        *self.keys.lock().unwrap() = keys;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_url_is_fetched_at_start_and_again_for_an_unknown_kid_at_most_every_ten_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, k2, k3) = (signer("k1"), signer("k2"), signer("k3"));
    let jwks = JwksServer::start(json!({"keys": [k1.jwk]})).await;
    let s = server_with(
        &dir,
        JwksSource::Url {
            url: jwks.url.clone(),
            refresh: std::time::Duration::from_secs(3600),
        },
    )
    .await;
    assert_eq!(jwks.fetches(), 1, "fetched once at start");
    let admin = |key: &Signer, kid: &str| token(key, Some(kid), claims("admin"));
    assert_eq!(get(&s, &admin(&k1, "k1"), "/subjects").await.0, 200);
    assert_eq!(jwks.fetches(), 1, "a known kid needs no fetch");

    // The provider rotates to k2: the first token naming it makes the registry fetch again.
    jwks.serve(json!({"keys": [k1.jwk, k2.jwk]}));
    assert_eq!(get(&s, &admin(&k2, "k2"), "/subjects").await.0, 200);
    assert_eq!(jwks.fetches(), 2);
    // Another unknown kid right after: refused without a fetch (rate-limited), even though
    // the provider now has it.
    jwks.serve(json!({"keys": [k1.jwk, k2.jwk, k3.jwk]}));
    for _ in 0..5 {
        assert_eq!(get(&s, &admin(&k3, "k3"), "/subjects").await.0, 401);
    }
    assert_eq!(jwks.fetches(), 2, "unknown kids fetch at most every 10 s");
    // Made-up kids cost nothing either, and known keys keep working.
    assert_eq!(get(&s, &admin(&k1, "made-up"), "/subjects").await.0, 401);
    assert_eq!(get(&s, &admin(&k1, "k1"), "/subjects").await.0, 200);
    assert_eq!(jwks.fetches(), 2);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_url_is_refreshed_periodically_and_a_failed_fetch_keeps_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, k2) = (signer("k1"), signer("k2"));
    let jwks = JwksServer::start(json!({"keys": [k1.jwk]})).await;
    let s = server_with(
        &dir,
        JwksSource::Url {
            url: jwks.url.clone(),
            refresh: std::time::Duration::from_millis(200),
        },
    )
    .await;
    // Broken answers: the keys in force stay.
    jwks.serve(json!({"not": "a key set"}));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while jwks.fetches() < 3 {
        assert!(std::time::Instant::now() < deadline, "no periodic fetch");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let admin = |key: &Signer, kid: &str| token(key, Some(kid), claims("admin"));
    assert_eq!(get(&s, &admin(&k1, "k1"), "/subjects").await.0, 200);
    // Rotated without any token asking: the periodic fetch brings k2 in, and k1 goes.
    jwks.serve(json!({"keys": [k2.jwk]}));
    let seen = jwks.fetches();
    while jwks.fetches() < seen + 2 {
        assert!(std::time::Instant::now() < deadline, "no periodic fetch");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(get(&s, &admin(&k1, "k1"), "/subjects").await.0, 401);
    assert_eq!(get(&s, &admin(&k2, "k2"), "/subjects").await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_jwks_url_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(&users, json!({"users": [], "permissions": []}).to_string()).unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/r.db", dir.path().display()),
        settings: Settings::default(),
    })
    .await
    .unwrap()
    .with_auth_file(&users)
    .unwrap()
    .with_oidc(OidcConfig {
        jwks: JwksSource::Url {
            url: format!("http://127.0.0.1:{port}/jwks"),
            refresh: std::time::Duration::from_secs(300),
        },
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        user_claim: "sub".into(),
    })
    .await
    .expect_err("refused")
    .to_string();
    assert!(err.contains(&format!("127.0.0.1:{port}/jwks")), "{err}");
}
