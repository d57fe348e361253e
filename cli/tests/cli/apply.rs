//! Schemas as code: strata.toml with `strata check` (no files), `strata apply` and `strata
//! pull`, against a spawned `strata serve`.

use crate::harness::{golden, Registry, Workdir, ADDRESS, ORDER, ORDER_BAD, ORDER_V2};

const PROJECT: &str = r#"[defaults]
compatibility = "BACKWARD"

# Listed before the subject it references: apply orders them.
[[subject]]
name = "orders-value"
file = "schemas/order.avsc"
compatibility = "FULL"
references = [{ name = "com.acme.Address", subject = "address-value" }]

[[subject]]
name = "address-value"
file = "schemas/address.avsc"
"#;

fn project(work: &Workdir) {
    work.write("strata.toml", PROJECT);
    work.write("schemas/address.avsc", ADDRESS);
    work.write("schemas/order.avsc", ORDER);
}

#[test]
fn apply_registers_references_first_sets_levels_and_then_has_nothing_to_do() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    project(&work);

    // Before apply: the new subjects are compatible (nothing to compare with), and the level
    // strata.toml declares is not the registry's yet, which check says.
    work.write("schemas/order.avsc", ORDER);
    let before = work.strata(&["check"]).expect(0, "check before apply");
    assert!(
        before
            .stderr
            .contains("note: orders-value declares FULL but the registry has BACKWARD"),
        "{}",
        before.stderr
    );
    // With --output json the note is a JSON line on stderr too.
    let before = work
        .strata(&["check", "--output", "json"])
        .expect(0, "check before apply, json");
    let note: serde_json::Value = serde_json::from_str(
        before
            .stderr
            .lines()
            .find(|l| l.contains("\"note\""))
            .unwrap_or_else(|| panic!("no JSON note: {}", before.stderr)),
    )
    .unwrap();
    assert_eq!(
        note,
        serde_json::json!({"note": {"subject": "orders-value", "declared": "FULL", "registry": "BACKWARD"}})
    );
    let plan = work.strata(&["apply", "--dry-run"]).expect(0, "dry run");
    golden("apply/dry-run.txt", &plan.stdout);
    let plan = work
        .strata(&["apply", "--dry-run", "--output", "json"])
        .expect(0, "dry run json");
    golden("apply/dry-run.json", &plan.stdout);
    // A dry run changes nothing.
    work.strata(&["subjects", "list"])
        .expect(0, "list")
        .stdout
        .is_empty()
        .then_some(())
        .expect("no subjects after a dry run");

    let applied = work.strata(&["apply"]).expect(0, "apply");
    golden("apply/applied.txt", &applied.stdout);
    let level = work
        .strata(&["config", "get", "orders-value"])
        .expect(0, "level");
    assert_eq!(level.stdout, "FULL\n");
    let again = work.strata(&["apply"]).expect(0, "apply again");
    assert!(
        again
            .stdout
            .ends_with("nothing to do: 2 subjects up to date\n"),
        "{}",
        again.stdout
    );

    // `strata check` without files checks every subject of strata.toml online.
    let check = work.strata(&["check"]).expect(0, "check");
    golden("apply/check-online.txt", &check.stdout);
    work.write("schemas/order.avsc", ORDER_BAD);
    let check = work
        .strata(&["check", "--output", "json"])
        .expect(1, "check incompatible");
    assert_eq!(check.json()["results"][1]["compatible"], false);
    assert_eq!(check.json()["results"][1]["subject"], "orders-value");
    // Offline against a directory of the old files, at the level strata.toml declares.
    work.write("old/schemas/order.avsc", ORDER);
    work.write("old/schemas/address.avsc", ADDRESS);
    let offline = work
        .strata(&["check", "--against", "old"])
        .expect(1, "offline");
    golden("apply/check-offline.txt", &offline.stdout);

    // A failing step stops apply with exit 1 and the registry's reasons.
    let failed = work.strata(&["apply"]).expect(1, "apply incompatible");
    golden(
        "apply/failed.txt",
        &format!("{}{}", failed.stdout, failed.stderr),
    );

    work.write("schemas/order.avsc", ORDER_V2);
    work.strata(&["check"]).expect(0, "check compatible change");
    let applied = work
        .strata(&["apply", "--output", "json"])
        .expect(0, "apply v2");
    let steps = applied.json()["steps"].clone();
    assert_eq!(steps[1]["action"], "register", "{steps}");
    assert_eq!(steps[1]["version"], 2, "{steps}");
}

#[test]
fn pull_writes_files_and_strata_toml_that_apply_finds_up_to_date() {
    let registry = Registry::start();
    let source = Workdir::new(&registry);
    project(&source);
    source.strata(&["apply"]).expect(0, "apply");
    source
        .strata(&["register", "users-value", "schemas/address.avsc"])
        .expect(0, "register");

    let work = Workdir::new(&registry);
    let pulled = work.strata(&["pull"]).expect(0, "pull");
    golden("apply/pull.txt", &pulled.stdout);
    golden("apply/pulled-strata.toml", &work.read("strata.toml"));
    assert!(work.read("schemas/orders-value.avsc").contains("Order"));
    let plan = work.strata(&["apply", "--dry-run"]).expect(0, "dry run");
    assert!(
        plan.stdout
            .ends_with("nothing to do: 3 subjects up to date\n"),
        "{}",
        plan.stdout
    );

    // The registry from strata.toml's [registry] table when nothing else names one.
    let toml = format!(
        "[registry]\nurl = \"{}\"\n\n{}",
        registry.url,
        work.read("strata.toml")
    );
    work.write("strata.toml", &toml);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["apply", "--dry-run"])
        .current_dir(work.path())
        .env_remove("STRATA_REGISTRY_URL")
        .env("XDG_CONFIG_HOME", work.path().join("none"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    // And for the other registry commands run in the project.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["subjects", "list"])
        .current_dir(work.path().join("schemas"))
        .env_remove("STRATA_REGISTRY_URL")
        .env("XDG_CONFIG_HOME", work.path().join("none"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "address-value\norders-value\nusers-value\n"
    );
}

#[test]
fn bad_strata_toml_files_exit_2_and_say_where() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    let none = work.strata(&["apply"]).expect(2, "no strata.toml");
    assert!(none.stderr.contains("no strata.toml in"), "{}", none.stderr);

    work.write("strata.toml", "[[subject]]\nname = \"a\"\nfile = 3\n");
    let bad = work.strata(&["apply", "--dry-run"]).expect(2, "malformed");
    assert!(bad.stderr.contains("line 3"), "{}", bad.stderr);

    work.write(
        "strata.toml",
        "[[subject]]\nname = \"a\"\nfile = \"a.avsc\"\nreferences = [{ name = \"B\", subject = \"b\" }]\n\
         [[subject]]\nname = \"b\"\nfile = \"b.avsc\"\nreferences = [{ name = \"A\", subject = \"a\" }]\n",
    );
    let cycle = work.strata(&["check"]).expect(2, "cycle");
    assert!(
        cycle.stderr.contains("cycle: a -> b -> a"),
        "{}",
        cycle.stderr
    );

    work.write(
        "strata.toml",
        "[[subject]]\nname = \"a\"\nfile = \"a.avsc\"\ncompatibility = \"SOMETIMES\"\n",
    );
    let level = work.strata(&["apply"]).expect(2, "bad level");
    assert!(level.stderr.contains("SOMETIMES"), "{}", level.stderr);
}
