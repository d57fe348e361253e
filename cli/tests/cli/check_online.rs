//! `strata check --registry URL --subject S`: the real binary against a real `strata serve`.

use std::process::Command;

use serde_json::{json, Value};

use crate::serve::{spawn_serve_on_any_port, wait_up};

const V1: &str = r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}"#;
const V2_OK: &str = r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}"#;
const V2_BAD: &str = r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"email","type":"string"}]}"#;

fn check(dir: &std::path::Path, schema: &str, args: &[&str]) -> (i32, String, String) {
    let file = dir.join("user.avsc");
    std::fs::write(&file, schema).expect("write schema");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("check")
        .arg(&file)
        .args(args)
        .output()
        .expect("strata check runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn online_check_asks_the_registry_and_exits_0_1_or_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut server, port) =
        spawn_serve_on_any_port(&format!("sqlite://{}/r.db", dir.path().display()));
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base).await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/subjects/users-value/versions"))
        .header("Content-Type", "application/json")
        .body(json!({"schema": V1}).to_string())
        .send()
        .await
        .expect("register");
    assert!(resp.status().is_success());

    let online = ["--registry", base.as_str(), "--subject", "users-value"];
    let (code, stdout, stderr) = check(dir.path(), V2_OK, &online);
    assert_eq!(code, 0, "compatible: {stdout}{stderr}");

    let mut json_args = online.to_vec();
    json_args.extend(["--format", "json"]);
    let (code, stdout, stderr) = check(dir.path(), V2_BAD, &json_args);
    assert_eq!(code, 1, "incompatible: {stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(report["compatible"], false);
    let finding = &report["results"][0]["findings"][0];
    assert_eq!(
        finding["kind"], "READER_FIELD_MISSING_DEFAULT_VALUE",
        "{report}"
    );
    assert_eq!(finding["path"], "/fields/1", "{report}");

    // Against an explicit version, and a subject that does not exist yet (compatible, as
    // Confluent answers for a first registration).
    let mut v1 = online.to_vec();
    v1.extend(["--subject-version", "1"]);
    assert_eq!(check(dir.path(), V2_BAD, &v1).0, 1);
    let fresh = ["--registry", base.as_str(), "--subject", "nobody-value"];
    assert_eq!(check(dir.path(), V2_BAD, &fresh).0, 0);

    // A registry that cannot be reached is an error (2), never a pass.
    server.kill().expect("kill");
    server.wait().expect("reaped");
    let (code, stdout, _) = check(dir.path(), V2_OK, &online);
    assert_eq!(code, 2, "unreachable registry: {stdout}");
}

#[test]
fn online_and_offline_modes_cannot_be_mixed() {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "check",
            "x.avsc",
            "--against",
            "y.avsc",
            "--registry",
            "http://127.0.0.1:1",
            "--subject",
            "s",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
