//! `strata consume --offset`: kcat's forms (`N`, `-N`, `beginning`, `end`) on the bundled broker
//! and on Kafka (librdkafka's mock cluster).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::Registry;

const USER: &str = r#"{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}"#;

/// `strata ARGS` with `stdin`, against `registry` and the log in `dir`: exit code, stdout, stderr.
fn strata(
    registry: &Registry,
    dir: &std::path::Path,
    args: &[&str],
    stdin: &str,
) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .current_dir(dir)
        .env("STRATA_REGISTRY_URL", &registry.url)
        .env("STRATA_LOG_DIR", dir.join("log"))
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("STRATA_LOG", "warn")
        .env_remove("STRATA_BOOTSTRAP_SERVERS")
        .env_remove("STRATA_OUTPUT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("strata finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn consume_offset_takes_an_offset_a_count_from_the_end_beginning_or_end() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    std::fs::write(dir.join("user.avsc"), USER).expect("write schema");
    let input: String = (1..=5).map(|i| format!("{{\"id\": {i}}}\n")).collect();
    let (code, _, err) = strata(
        &registry,
        dir,
        &[
            "produce",
            "users",
            "--value-schema",
            "user.avsc",
            "--auto-register",
        ],
        &input,
    );
    assert_eq!(code, 0, "produce: {err}");

    let ids = |offset: &str, extra: &[&str]| -> Vec<i64> {
        let mut args = vec!["consume", "users", "--idle-timeout", "1s", "--value-only"];
        args.extend_from_slice(&["--offset", offset]);
        args.extend_from_slice(extra);
        let (code, out, err) = strata(&registry, dir, &args, "");
        assert_eq!(code, 0, "--offset {offset}: {err}");
        out.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a JSON line");
                v["id"].as_i64().expect("an id")
            })
            .collect()
    };
    for (offset, extra, expected, why) in [
        ("-2", &[][..], vec![4, 5], "the last two records"),
        ("-1", &[][..], vec![5], "the last record"),
        (
            "-10",
            &[][..],
            vec![1, 2, 3, 4, 5],
            "more than the partition holds",
        ),
        ("-0", &[][..], vec![], "nothing before the end"),
        ("3", &[][..], vec![4, 5], "an absolute offset"),
        (
            "beginning",
            &[][..],
            vec![1, 2, 3, 4, 5],
            "the first record",
        ),
        ("end", &[][..], vec![], "only new records"),
        (
            "-2",
            &["--group", "g", "--partition", "0"][..],
            vec![4, 5],
            "a group's commits do not count",
        ),
        (
            "beginning",
            &["--group", "g"][..],
            vec![1, 2, 3, 4, 5],
            "explicit, with a group",
        ),
    ] {
        assert_eq!(
            ids(offset, extra),
            expected,
            "--offset {offset} {extra:?}: {why}"
        );
    }

    let (code, _, err) = strata(
        &registry,
        dir,
        &[
            "consume",
            "users",
            "--offset",
            "soon",
            "--idle-timeout",
            "1s",
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'soon' is not an offset") && err.contains("-N (N records before the end)"),
        "{err}"
    );
}

#[test]
fn consume_offset_counts_from_the_end_and_takes_beginning_and_end_on_kafka() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    std::fs::write(dir.join("user.avsc"), USER).expect("write schema");
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("users", 1, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    let input: String = (1..=3).map(|i| format!("{{\"id\": {i}}}\n")).collect();
    let (code, _, err) = strata(
        &registry,
        dir,
        &[
            "produce",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--value-schema",
            "user.avsc",
            "--auto-register",
        ],
        &input,
    );
    assert_eq!(code, 0, "produce: {err}");
    for (offset, expected) in [
        ("-1", vec![3]),
        ("-2", vec![2, 3]),
        ("beginning", vec![1, 2, 3]),
        ("end", vec![]),
        ("1", vec![2, 3]),
    ] {
        let (code, out, err) = strata(
            &registry,
            dir,
            &[
                "consume",
                "users",
                "--bootstrap-servers",
                &bootstrap,
                "--offset",
                offset,
                "--idle-timeout",
                "3s",
                "--value-only",
            ],
            "",
        );
        assert_eq!(code, 0, "--offset {offset}: {err}");
        let ids: Vec<i64> = out
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a JSON line");
                v["id"].as_i64().expect("an id")
            })
            .collect();
        assert_eq!(ids, expected, "--offset {offset} on Kafka");
    }
}
