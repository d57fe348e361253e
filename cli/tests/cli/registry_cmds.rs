//! The registry commands against a spawned `strata serve`: a transcript of text and JSON
//! outputs, exit codes and error messages, compared with golden files.

use crate::harness::{golden, Registry, Workdir, ADDRESS, ORDER, ORDER_BAD, ORDER_V2, USER_PROTO};

/// Runs commands and records `$ strata ARGS`, stdout, the exit code and stderr.
struct Transcript<'a> {
    work: &'a Workdir,
    text: String,
}

impl Transcript<'_> {
    #[track_caller]
    fn run(&mut self, args: &[&str], code: i32) -> crate::harness::Run {
        let run = self.work.strata(args);
        self.text
            .push_str(&format!("$ strata {}\n", args.join(" ")));
        self.text.push_str(&run.stdout);
        if run.code != 0 {
            self.text.push_str(&format!("[exit {}]\n", run.code));
        }
        self.text.push_str(&run.stderr);
        run.expect(code, &args.join(" "))
    }
}

#[test]
fn registry_commands_print_text_and_json_and_exit_0_1_or_2() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    work.write("address.avsc", ADDRESS);
    work.write("order.avsc", ORDER);
    work.write("order_v2.avsc", ORDER_V2);
    work.write("order_bad.avsc", ORDER_BAD);
    work.write("user.proto", USER_PROTO);
    let mut t = Transcript {
        work: &work,
        text: String::new(),
    };

    t.run(&["register", "address-value", "address.avsc"], 0);
    let r = t.run(
        &[
            "register",
            "orders-value",
            "order.avsc",
            "--reference",
            "com.acme.Address:address-value:1",
            "--output",
            "json",
        ],
        0,
    );
    assert_eq!(r.json()["version"], 1);
    t.run(&["register", "users-value", "user.proto"], 0);
    t.run(
        &[
            "register",
            "orders-value",
            "order_v2.avsc",
            "--reference",
            "com.acme.Address:address-value:1",
        ],
        0,
    );
    // Incompatible: the registry's reasons and a hint, exit 1.
    t.run(
        &[
            "register",
            "orders-value",
            "order_bad.avsc",
            "--reference",
            "com.acme.Address:address-value:1",
        ],
        1,
    );

    t.run(&["subjects", "list"], 0);
    t.run(
        &["subjects", "list", "--prefix", "orders", "--output", "json"],
        0,
    );
    t.run(&["subjects", "versions", "orders-value"], 0);
    t.run(
        &["subjects", "versions", "orders-value", "--output", "json"],
        0,
    );
    t.run(&["subjects", "get", "orders-value", "--version", "1"], 0);
    t.run(&["subjects", "get", "orders-value", "--output", "json"], 0);
    t.run(&["subjects", "get", "nope-value"], 1);
    t.run(&["subjects", "get", "orders-value", "--version", "7"], 1);

    t.run(&["schema", "get", "3"], 0);
    t.run(&["schema", "get", "2", "--output", "json"], 0);
    t.run(&["schema", "get", "999"], 1);
    t.run(&["schema", "get", "2", "--format", "resolved"], 0);

    // Subjects with '/' and spaces are encoded in paths.
    t.run(&["register", "team/a b", "address.avsc"], 0);
    t.run(&["subjects", "versions", "team/a b"], 0);
    t.run(
        &[
            "config", "set", "team/a b", "FULL", "--policy", "LENIENT", "--output", "json",
        ],
        0,
    );
    t.run(&["config", "get", "team/a b"], 0);
    t.run(&["subjects", "delete", "team/a b", "--permanent"], 0);

    t.run(&["config", "get"], 0);
    t.run(&["config", "set", "orders-value", "FULL"], 0);
    t.run(&["config", "get", "orders-value", "--output", "json"], 0);
    t.run(&["config", "get", "users-value"], 1);
    t.run(&["config", "get", "users-value", "--default-to-global"], 0);
    t.run(&["config", "delete", "orders-value"], 0);
    t.run(&["config", "set", "FORWARD", "--output", "json"], 0);
    t.run(&["config", "set", "BACKWARD"], 0);
    t.run(&["config", "set", "orders-value", "SOMETIMES"], 2);

    t.run(&["mode", "get"], 0);
    t.run(&["mode", "set", "users-value", "READONLY"], 0);
    t.run(&["mode", "get", "users-value", "--output", "json"], 0);
    t.run(&["register", "users-value", "user.proto"], 1);
    t.run(&["mode", "set", "users-value", "READWRITE"], 0);
    t.run(&["mode", "set", "SIDEWAYS"], 2);

    t.run(&["subjects", "delete", "users-value", "--version", "1"], 0);
    t.run(&["subjects", "list", "--deleted"], 0);
    t.run(
        &[
            "subjects",
            "delete",
            "users-value",
            "--permanent",
            "--output",
            "json",
        ],
        0,
    );
    t.run(&["subjects", "list", "--deleted"], 0);
    // Referenced by orders-value: the registry refuses, the hint says why.
    t.run(&["subjects", "delete", "address-value"], 1);

    golden("registry/transcript.txt", &t.text);
}

#[test]
fn an_unreachable_registry_exits_2_with_a_hint() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "subjects",
            "list",
            "--registry",
            "http://127.0.0.1:1",
            "--timeout",
            "2s",
        ])
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("hint: is the registry running"), "{stderr}");
}

#[test]
fn the_config_file_names_the_registry() {
    let registry = Registry::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[registry]\nurl = \"{}\"\ntimeout = \"5s\"\n", registry.url),
    )
    .expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["mode", "get", "--output", "json"])
        .env_remove("STRATA_REGISTRY_URL")
        .env("STRATA_CONFIG", &config)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "{\n  \"mode\": \"READWRITE\"\n}\n"
    );
}

/// Each line of stderr as JSON (json mode writes nothing else there).
fn stderr_json(run: &crate::harness::Run) -> Vec<serde_json::Value> {
    run.stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn with_output_json_errors_are_one_json_object_on_stderr_with_the_exit_code() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    work.write("address.avsc", ADDRESS);
    // (what, args, exit code, hint expected)
    let cases: [(&str, &[&str], i32, bool); 5] = [
        (
            "a registry refusal",
            &["subjects", "get", "nope-value", "--output", "json"],
            1,
            true,
        ),
        (
            "a usage error clap finds",
            &["--output", "json", "subjects", "frobnicate"],
            2,
            true,
        ),
        (
            "a bad value clap finds, --output=json",
            &["config", "set", "x-value", "SOMETIMES", "--output=json"],
            2,
            false,
        ),
        (
            "check cannot run",
            &[
                "check",
                "address.avsc",
                "address.avsc",
                "--against",
                "address.avsc",
                "--output",
                "json",
            ],
            2,
            false,
        ),
        (
            "a serde command",
            &["encode", "--subject", "nope-value", "--output", "json"],
            1,
            false,
        ),
    ];
    for (what, args, code, hint) in cases {
        let run = work.strata(args).expect(code, what);
        assert_eq!(run.stdout, "", "{what}: stdout holds only results");
        let errors = stderr_json(&run);
        assert_eq!(errors.len(), 1, "{what}: {}", run.stderr);
        assert!(
            errors[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}"
        );
        assert_eq!(errors[0]["exit_code"], code, "{what}");
        if hint {
            assert!(errors[0]["hint"].is_string(), "{what}: {}", run.stderr);
        }
    }
    // STRATA_OUTPUT=json does the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["schema", "get", "999"])
        .env("STRATA_REGISTRY_URL", &registry.url)
        .env("STRATA_OUTPUT", "json")
        .env("XDG_CONFIG_HOME", work.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let e: serde_json::Value = serde_json::from_slice(&out.stderr).expect("a JSON error");
    assert_eq!(e["exit_code"], 1);
    assert!(e["hint"]
        .as_str()
        .unwrap()
        .contains("no schema has that id"));
}

#[test]
fn pull_edits_an_existing_strata_toml_and_keeps_its_comments() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    work.write("address.avsc", ADDRESS);
    work.strata(&["register", "address-value", "address.avsc"])
        .expect(0, "register");
    work.write(
        "strata.toml",
        "# Schemas of the shop; see the wiki.\n\
         [defaults]\n\
         compatibility = \"FULL\" # agreed with the data team\n\
         \n\
         # Not in the registry yet.\n\
         [[subject]]\n\
         name = \"local-value\"\n\
         file = \"schemas/local.avsc\"\n",
    );
    let run = work.strata(&["pull"]).expect(0, "pull");
    assert!(
        run.stdout.contains("address-value: version 1"),
        "{}",
        run.stdout
    );
    let text = work.read("strata.toml");
    assert_eq!(
        text,
        "# Schemas of the shop; see the wiki.\n\
         [defaults]\n\
         compatibility = \"FULL\" # agreed with the data team\n\
         \n\
         # Not in the registry yet.\n\
         [[subject]]\n\
         name = \"local-value\"\n\
         file = \"schemas/local.avsc\"\n\
         \n\
         [[subject]]\n\
         name = \"address-value\"\n\
         file = \"schemas/address-value.avsc\"\n"
    );
    // A second pull changes nothing.
    work.strata(&["pull"]).expect(0, "pull again");
    assert_eq!(work.read("strata.toml"), text);
}
