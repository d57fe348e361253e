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
    .with_tls(cert, key)
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
    let second = client_trusting(&second_cert);
    let resp = second.get(format!("{}/", s.base)).send().await;
    assert!(resp.is_ok_and(|r| r.status().is_success()));
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
    let err = app.with_tls(&cert, &key).expect_err("refused").to_string();
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
