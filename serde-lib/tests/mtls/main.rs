//! The registry client with a client certificate against a registry that requires mutual TLS
//! (strata-registry with a client CA), certificates generated here with rcgen.

use std::path::Path;

use strata_registry::{Application, ServerConfig, Settings};
use strata_schema::SchemaType;
use strata_serde::{ClientIdentity, Error, RegistryClient, RegistryConfig, SchemaDef};

/// A CA, a server certificate for 127.0.0.1 it issued, and a client certificate it issued:
/// (CA PEM, server cert PEM, server key PEM, client cert PEM, client key PEM).
fn certificates() -> (String, String, String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "strata test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "team");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = params.signed_by(&client_key, &ca, &ca_key).unwrap();
    (
        ca.pem(),
        server.pem(),
        server_key.serialize_pem(),
        client.pem(),
        client_key.serialize_pem(),
    )
}

/// A registry on HTTPS requiring client certificates from `ca`; its base URL.
async fn mtls_registry(dir: &Path, ca: &str, cert: &str, key: &str) -> String {
    let (ca_path, cert_path, key_path) = (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server-key.pem"),
    );
    std::fs::write(&ca_path, ca).unwrap();
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/registry.db", dir.display()),
        settings: Settings::default(),
    })
    .await
    .expect("registry starts")
    .with_tls(&cert_path, &key_path, Some(&ca_path))
    .expect("certificates load");
    let base = format!("https://{}", app.local_addr());
    tokio::spawn(async move {
        app.run_until(std::future::pending::<()>())
            .await
            .expect("server runs")
    });
    base
}

fn config(base: &str, ca: &str, identity: Option<(&str, &str)>) -> RegistryConfig {
    let mut config = RegistryConfig::new(base);
    if !ca.is_empty() {
        config.root_certificates_pem.push(ca.as_bytes().to_vec());
    }
    config.client_identity = identity.map(|(cert, key)| ClientIdentity {
        cert_pem: cert.as_bytes().to_vec(),
        key_pem: key.as_bytes().to_vec(),
    });
    config
}

const SCHEMA: &str = r#"{"type":"record","name":"M","fields":[{"name":"a","type":"int"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_presents_its_certificate_to_a_registry_that_requires_one() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, server_cert, server_key, client_cert, client_key) = certificates();
    let base = mtls_registry(dir.path(), &ca, &server_cert, &server_key).await;
    let def = SchemaDef::new(SchemaType::Avro, SCHEMA);

    let client =
        RegistryClient::new(config(&base, &ca, Some((&client_cert, &client_key)))).unwrap();
    let registered = client.register("team-value", &def, false).await.unwrap();
    assert!(registered.id > 0);
    assert_eq!(client.versions("team-value").await.unwrap(), vec![1]);

    // Without a certificate the TLS handshake is refused.
    let anonymous = RegistryClient::new(config(&base, &ca, None)).unwrap();
    let err = anonymous.versions("team-value").await.unwrap_err();
    assert!(
        !matches!(err, Error::Registry { .. }),
        "no HTTP answer without a certificate: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_mismatched_client_key_is_a_clear_error_before_any_request() {
    let (_, _, _, client_cert, client_key) = certificates();
    let (_, _, _, _, other_key) = certificates();
    let base = "https://127.0.0.1:1";
    for (what, cert, key, expected) in [
        (
            "a key file holding a certificate",
            client_cert.as_str(),
            client_cert.as_str(),
            "holds no PEM private key",
        ),
        (
            "an empty key",
            client_cert.as_str(),
            "",
            "holds no PEM private key",
        ),
        (
            "a certificate file holding a key",
            client_key.as_str(),
            client_key.as_str(),
            "holds no PEM certificate",
        ),
        (
            "another certificate's key",
            client_cert.as_str(),
            other_key.as_str(),
            "does the key belong to the certificate?",
        ),
    ] {
        let err = RegistryClient::new(config(base, "", Some((cert, key)))).unwrap_err();
        assert!(
            matches!(err, Error::Config(_)) && err.to_string().contains(expected),
            "{what}: {err}"
        );
    }
}
