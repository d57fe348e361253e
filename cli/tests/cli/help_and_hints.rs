//! What the commands say: hints that name the flags the command has, help that lists only
//! options that apply and groups long option lists under headings.

use std::process::Command;

use crate::harness::{Registry, Workdir};

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env_remove("STRATA_OUTPUT")
        .output()
        .expect("strata runs");
    assert!(out.status.success(), "{args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn produce_to_a_subject_without_a_schema_names_produces_own_flags() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["produce", "users"])
        .current_dir(work.path())
        .env("STRATA_REGISTRY_URL", &registry.url)
        .env("STRATA_LOG_DIR", work.path().join("log"))
        .env_remove("STRATA_OUTPUT")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("strata runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("subject 'users-value' has no schema")
            && err.contains("give --value-schema FILE --auto-register"),
        "{err}"
    );
    assert!(!err.contains("--schema FILE"), "{err}");

    // encode's flag names work for the value too, rather than clap suggesting --key-schema.
    work.write(
        "user.avsc",
        r#"{"type":"record","name":"U","fields":[{"name":"id","type":"long"}]}"#,
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "produce",
            "users",
            "--schema",
            "user.avsc",
            "--auto-register",
        ])
        .current_dir(work.path())
        .env("STRATA_REGISTRY_URL", &registry.url)
        .env("STRATA_LOG_DIR", work.path().join("log"))
        .env_remove("STRATA_OUTPUT")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("strata runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"{\"id\": 1}\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("strata finishes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 record(s) produced to 'users'"), "{err}");
}

#[test]
fn serve_help_lists_only_the_options_a_server_has() {
    let text = help(&["serve", "--help"]);
    for absent in ["--output", "--progress"] {
        assert!(
            !text.contains(absent),
            "serve --help lists {absent}:\n{text}"
        );
    }
    assert!(text.contains("--log-format"), "{text}");
    // --output is still accepted, so a STRATA_OUTPUT exported for the other commands does not
    // stop it.
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["--output", "json", "serve", "--help"])
        .output()
        .expect("strata runs");
    assert!(out.status.success());
}

#[test]
fn progress_is_listed_only_by_the_commands_that_draw_it() {
    for command in ["export", "import", "produce", "consume"] {
        let text = help(&[command, "--help"]);
        assert!(
            text.contains("--progress"),
            "{command} --help lacks --progress"
        );
    }
    for command in ["check", "register", "subjects", "encode", "decode", "apply"] {
        let text = help(&[command, "--help"]);
        assert!(
            !text.contains("--progress"),
            "{command} --help lists --progress"
        );
    }
}

#[test]
fn check_help_describes_its_json_shape_and_where_to_read_more() {
    let text = help(&["check", "--help"]);
    assert!(
        text.contains(r#"{"compatible", "level", "results": [{"file""#),
        "{text}"
    );
    assert!(text.contains("README"), "{text}");
    assert!(!text.contains("module docs"), "{text}");
}

#[test]
fn produce_help_groups_its_options_under_headings() {
    let long = help(&["produce", "--help"]);
    let short = help(&["produce", "-h"]);
    for heading in [
        "Value schema:",
        "Key:",
        "Registration and framing:",
        "Input:",
        "Broker:",
        "Registry connection:",
    ] {
        assert!(long.lines().any(|l| l == heading), "--help lacks {heading}");
        assert!(short.lines().any(|l| l == heading), "-h lacks {heading}");
    }
    // -h is the summary: options and examples, the prose stays in --help.
    assert!(short.lines().count() < 120, "{}", short.lines().count());
    assert!(short.contains("strata produce --help"));
    assert!(long.contains("cleanup.policy delete"), "broker defaults");
}
