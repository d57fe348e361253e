//! The registry client's typed administration calls (listings, compatibility levels, modes,
//! deletes) and its named error codes, against a real strata registry on SQLite.

use strata_registry::{Application, ServerConfig, Settings};
use strata_schema::SchemaType;
use strata_serde::error_code::{
    self, SUBJECT_COMPATIBILITY_NOT_CONFIGURED, SUBJECT_MODE_NOT_CONFIGURED, SUBJECT_NOT_FOUND,
    SUBJECT_NOT_SOFT_DELETED, VERSION_NOT_FOUND,
};
use strata_serde::{RegistryClient, RegistryConfig, SchemaDef};

async fn registry(dir: &std::path::Path) -> RegistryClient {
    let app = Application::build(ServerConfig {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/registry.db", dir.display()),
        settings: Settings::default(),
    })
    .await
    .expect("registry starts");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(async move {
        app.run_until(std::future::pending::<()>())
            .await
            .expect("server runs")
    });
    RegistryClient::new(RegistryConfig::new(base)).unwrap()
}

fn def(field: &str) -> SchemaDef {
    SchemaDef::new(
        SchemaType::Avro,
        format!(r#"{{"type":"record","name":"M","fields":[{{"name":"{field}","type":"int"}}]}}"#),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_and_modes_are_read_set_and_removed_with_named_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let client = registry(dir.path()).await;
    client
        .register("orders-value", &def("a"), false)
        .await
        .unwrap();

    assert_eq!(client.compatibility(None, false).await.unwrap(), "BACKWARD");
    let e = client
        .compatibility(Some("orders-value"), false)
        .await
        .unwrap_err();
    assert_eq!(e.error_code(), Some(SUBJECT_COMPATIBILITY_NOT_CONFIGURED));
    assert_eq!(
        client
            .compatibility(Some("orders-value"), true)
            .await
            .unwrap(),
        "BACKWARD"
    );
    assert_eq!(
        client
            .set_compatibility(Some("orders-value"), "FULL")
            .await
            .unwrap(),
        "FULL"
    );
    assert_eq!(
        client
            .compatibility(Some("orders-value"), false)
            .await
            .unwrap(),
        "FULL"
    );
    assert_eq!(
        client
            .delete_compatibility(Some("orders-value"))
            .await
            .unwrap(),
        "FULL"
    );
    let e = client
        .set_compatibility(None, "SIDEWAYS")
        .await
        .unwrap_err();
    assert_eq!(
        e.error_code(),
        Some(error_code::INVALID_COMPATIBILITY_LEVEL)
    );

    assert_eq!(client.mode(None, false).await.unwrap(), "READWRITE");
    let e = client.mode(Some("orders-value"), false).await.unwrap_err();
    assert_eq!(e.error_code(), Some(SUBJECT_MODE_NOT_CONFIGURED));
    assert_eq!(
        client
            .set_mode(Some("orders-value"), "READONLY", false)
            .await
            .unwrap(),
        "READONLY"
    );
    let e = client
        .register("orders-value", &def("b"), false)
        .await
        .unwrap_err();
    assert_eq!(e.error_code(), Some(error_code::OPERATION_NOT_PERMITTED));
    assert_eq!(
        client.delete_mode("orders-value").await.unwrap(),
        "READONLY"
    );
    assert_eq!(
        client.mode(Some("orders-value"), true).await.unwrap(),
        "READWRITE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_are_listed_and_deleted_soft_then_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let client = registry(dir.path()).await;
    client.register("a-value", &def("a"), false).await.unwrap();
    client.register("b-value", &def("a"), false).await.unwrap();
    client
        .set_compatibility(Some("b-value"), "NONE")
        .await
        .unwrap();
    client.register("b-value", &def("b"), false).await.unwrap();
    assert_eq!(
        client.subjects(false).await.unwrap(),
        vec!["a-value", "b-value"]
    );

    assert_eq!(
        client.delete_version("b-value", None, false).await.unwrap(),
        2
    );
    let e = client
        .delete_version("b-value", Some(7), false)
        .await
        .unwrap_err();
    assert_eq!(e.error_code(), Some(VERSION_NOT_FOUND));

    let e = client.delete_subject("a-value", true).await.unwrap_err();
    assert_eq!(e.error_code(), Some(SUBJECT_NOT_SOFT_DELETED));
    assert_eq!(
        client.delete_subject("a-value", false).await.unwrap(),
        vec![1]
    );
    assert_eq!(client.subjects(false).await.unwrap(), vec!["b-value"]);
    assert_eq!(
        client.subjects(true).await.unwrap(),
        vec!["a-value", "b-value"]
    );
    assert_eq!(
        client.delete_subject("a-value", true).await.unwrap(),
        vec![1]
    );
    let e = client.delete_subject("a-value", false).await.unwrap_err();
    assert_eq!(e.error_code(), Some(SUBJECT_NOT_FOUND));
    assert!(error_code::is_not_found(SUBJECT_NOT_FOUND));
    assert!(!error_code::is_not_found(SUBJECT_NOT_SOFT_DELETED));
}
