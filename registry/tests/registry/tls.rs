//! HTTPS with rustls: certificates generated here (rcgen), real clients (reqwest with rustls)
//! trusting only them, credentials over TLS, and certificates re-read on SIGHUP.

use std::path::{Path, PathBuf};

use serde_json::json;
use strata_registry::{Application, ServerConfig, Settings};

use crate::harness::TestServer;

/// A self-signed certificate for localhost and 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("certificate generated");
    (cert.pem(), key_pair.serialize_pem())
}

fn write_pair(dir: &Path, cert: &str, key: &str) -> (PathBuf, PathBuf) {
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, cert).unwrap();
    std::fs::write(&k, key).unwrap();
    (c, k)
}

fn client_trusting(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

async fn https_server(dir: &tempfile::TempDir, cert: &Path, key: &Path) -> TestServer {
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: url.clone(),
        settings: Settings::default(),
    })
    .await
    .expect("registry starts")
    .with_tls(cert, key, None)
    .expect("certificate loads");
    let mut s = TestServer::serve(app, url, None);
    s.base = s.base.replacen("http://", "https://", 1);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_serves_https_to_clients_trusting_its_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, key_pem) = certificate();
    let (cert, key) = write_pair(dir.path(), &cert_pem, &key_pem);
    let mut s = https_server(&dir, &cert, &key).await;
    s.client = client_trusting(&cert_pem);
    let id = s
        .register_ok(
            "tls-value",
            &crate::harness::record("T", &[("a", "int", None)]),
        )
        .await;
    assert_eq!(s.get(&format!("/schemas/ids/{id}")).await.0, 200);
    assert_eq!(s.get("/subjects").await.1, json!(["tls-value"]));

    // A client that does not trust the certificate is refused by its own TLS check, and plain
    // HTTP gets no answer from the TLS port.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(format!("{}/", s.base)).send().await.is_err());
    let plain = s.base.replacen("https://", "http://", 1);
    let answer = reqwest::Client::new().get(format!("{plain}/")).send().await;
    assert!(answer.is_err() || !answer.unwrap().status().is_success());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_are_reread_on_sighup_and_a_broken_pair_keeps_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let (first_cert, first_key) = certificate();
    let (cert, key) = write_pair(dir.path(), &first_cert, &first_key);
    let s = https_server(&dir, &cert, &key).await;
    let first = client_trusting(&first_cert);
    assert!(first.get(format!("{}/", s.base)).send().await.is_ok());

    // A key that does not parse: the first certificate stays in force.
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    sighup().await;
    let fresh = client_trusting(&first_cert);
    assert!(fresh.get(format!("{}/", s.base)).send().await.is_ok());

    // A new pair: new connections get it.
    let (second_cert, second_key) = certificate();
    write_pair(dir.path(), &second_cert, &second_key);
    sighup().await;
    // The reload runs on the server's signal task: waited for (a bound that only stops a
    // hang), not assumed done after the pause in `sighup`, which a loaded machine can outlast.
    let second = client_trusting(&second_cert);
    let start = std::time::Instant::now();
    loop {
        let resp = second.get(format!("{}/", s.base)).send().await;
        if resp.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the new certificate was never served after SIGHUP"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let old = client_trusting(&first_cert);
    assert!(old.get(format!("{}/", s.base)).send().await.is_err());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_does_not_match_the_certificate_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, _) = certificate();
    let (_, other_key) = certificate();
    let (cert, key) = write_pair(dir.path(), &cert_pem, &other_key);
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/r.db", dir.path().display()),
        settings: Settings::default(),
    })
    .await
    .unwrap();
    let err = app
        .with_tls(&cert, &key, None)
        .expect_err("refused")
        .to_string();
    assert!(err.contains("does not match"), "{err}");
    let err = strata_registry::tls::CertificateStore::load(&dir.path().join("absent.pem"), &key)
        .expect_err("missing")
        .to_string();
    assert!(
        err.contains("could not read the certificate chain"),
        "{err}"
    );
}

async fn sighup() {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

/// A CA and a client certificate it issued for `cn`: (CA PEM, client certificate PEM, client
/// key PEM).
fn ca_and_client(cn: &str) -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "strata test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = params.signed_by(&client_key, &ca, &ca_key).unwrap();
    (ca.pem(), client.pem(), client_key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_requires_a_client_certificate_and_its_cn_names_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = certificate();
    let (cert, key) = write_pair(dir.path(), &server_cert, &server_key);
    let (ca_pem, team_cert, team_key) = ca_and_client("team");
    let ca = dir.path().join("client-ca.pem");
    std::fs::write(&ca, &ca_pem).unwrap();
    let users = dir.path().join("users.json");
    let salt =
        strata_registry::auth::password::random_salt(strata_registry::auth::Algorithm::Argon2id);
    let hash = strata_registry::auth::password::hash(
        strata_registry::auth::Algorithm::Argon2id,
        &salt,
        "admin-pw",
        0,
    )
    .unwrap();
    std::fs::write(
        &users,
        json!({"users": [{"username": "admin", "algorithm": "argon2id", "salt": salt, "password_hash": hash}],
               "permissions": [
                   {"username": "admin", "operation": "Write", "resource": ".*"},
                   {"username": "team", "operation": "Write", "resource": "Subject:team-.*"}]})
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
    .with_tls(&cert, &key, Some(&ca))
    .unwrap();
    let s = TestServer::serve(app, url, None);
    let base = s.base.replacen("http://", "https://", 1);
    let with_identity = |cert: &str, key: &str| {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(server_cert.as_bytes()).unwrap())
            .identity(reqwest::Identity::from_pem(format!("{cert}\n{key}").as_bytes()).unwrap())
            .build()
            .unwrap()
    };
    let team = with_identity(&team_cert, &team_key);
    let schema = json!({"schema": crate::harness::record("M", &[("a", "int", None)])}).to_string();
    let register = |client: reqwest::Client,
                    subject: &'static str,
                    auth: Option<(&'static str, &'static str)>| {
        let (base, schema) = (base.clone(), schema.clone());
        async move {
            let mut req = client
                .post(format!("{base}/subjects/{subject}/versions"))
                .header("Content-Type", "application/json")
                .body(schema);
            if let Some((u, p)) = auth {
                req = req.basic_auth(u, Some(p));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    // The certificate's CN is the user: team's permissions apply.
    assert_eq!(register(team.clone(), "team-a", None).await.0, 200);
    let (status, body) = register(team.clone(), "secret", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!(40401)));
    let listed = team.get(format!("{base}/subjects")).send().await.unwrap();
    assert_eq!(
        listed.json::<serde_json::Value>().await.unwrap(),
        json!(["team-a"])
    );
    // Credentials in the request take precedence over the certificate.
    assert_eq!(
        register(team.clone(), "secret", Some(("admin", "admin-pw")))
            .await
            .0,
        200
    );

    // No certificate, or one from another CA: no answer.
    let anonymous = client_trusting(&server_cert);
    assert!(anonymous
        .get(format!("{base}/subjects"))
        .send()
        .await
        .is_err());
    let (_, stranger_cert, stranger_key) = ca_and_client("team");
    let stranger = with_identity(&stranger_cert, &stranger_key);
    assert!(stranger
        .get(format!("{base}/subjects"))
        .send()
        .await
        .is_err());
    s.stop().await;
}
