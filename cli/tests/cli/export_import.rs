//! `strata export` from one registry and `strata import` into a fresh one: ids, versions,
//! soft deletes, configs and modes survive.

use crate::harness::{golden, Registry, Workdir, ADDRESS, ORDER, ORDER_V2, USER_PROTO};

#[test]
fn export_then_import_preserves_ids_versions_configs_and_modes() {
    let source = Registry::start();
    let work = Workdir::new(&source);
    work.write("address.avsc", ADDRESS);
    work.write("order.avsc", ORDER);
    work.write("order_v2.avsc", ORDER_V2);
    work.write("user.proto", USER_PROTO);
    let reference = ["--reference", "com.acme.Address:address-value:1"];
    // Ids out of step with versions: a throwaway schema takes id 1.
    work.strata(&["register", "scratch-value", "user.proto"])
        .expect(0, "scratch");
    work.strata(&["register", "address-value", "address.avsc"])
        .expect(0, "address");
    let mut args = vec!["register", "orders-value", "order.avsc"];
    args.extend(reference);
    work.strata(&args).expect(0, "order");
    let mut args = vec!["register", "orders-value", "order_v2.avsc"];
    args.extend(reference);
    work.strata(&args).expect(0, "order v2");
    work.strata(&["register", "shared value/x", "address.avsc"])
        .expect(0, "same schema, second subject");
    work.strata(&["subjects", "delete", "orders-value", "--version", "1"])
        .expect(0, "soft delete");
    work.strata(&["subjects", "delete", "scratch-value", "--permanent"])
        .expect(0, "hard delete");
    work.strata(&["config", "set", "orders-value", "FULL"])
        .expect(0, "config");
    work.strata(&["config", "set", "FORWARD"])
        .expect(0, "global config");
    work.strata(&["mode", "set", "shared value/x", "READONLY"])
        .expect(0, "mode");

    let exported = work
        .strata(&["export", "backup", "--output", "json"])
        .expect(0, "export");
    assert_eq!(exported.json()["subjects"], 3, "{}", exported.stdout);
    assert_eq!(exported.json()["versions"], 4, "{}", exported.stdout);
    let manifest = work.read("backup/manifest.json");
    golden("export/manifest.json", &manifest);
    assert!(work
        .path()
        .join("backup/subjects/orders-value/v2.avsc")
        .is_file());
    work.strata(&["export", "backup"])
        .expect(2, "export into a non-empty directory");

    let target = Registry::start();
    let to = ["--registry", target.url.as_str()];
    let mut args = vec!["import", "backup"];
    args.extend(to);
    let imported = work.strata(&args).expect(0, "import");
    assert!(
        imported
            .stdout
            .starts_with("imported 3 subjects, 4 versions"),
        "{}",
        imported.stdout
    );

    // Same answers from both registries.
    let same = |what: &[&str]| {
        let a = work.strata(what).expect(0, &what.join(" ")).stdout;
        let mut there = what.to_vec();
        there.extend(to);
        let b = work.strata(&there).expect(0, &there.join(" ")).stdout;
        assert_eq!(a, b, "{}", what.join(" "));
    };
    for id in ["2", "3", "4"] {
        same(&["schema", "get", id, "--output", "json"]);
    }
    for s in ["address-value", "orders-value", "shared value/x"] {
        same(&["subjects", "versions", s, "--deleted", "--output", "json"]);
        same(&["subjects", "versions", s, "--output", "json"]);
        same(&["subjects", "get", s, "--output", "json"]);
    }
    same(&["subjects", "list", "--deleted"]);
    same(&["config", "get", "orders-value"]);
    same(&["config", "get"]);
    same(&["mode", "get", "shared value/x"]);
    // The target's global mode is back to what it was.
    let mut args = vec!["mode", "get"];
    args.extend(to);
    assert_eq!(work.strata(&args).expect(0, "mode").stdout, "READWRITE\n");

    // A second import refuses a non-empty target; with --force, versions already there with
    // the same ids are skipped.
    let mut args = vec!["import", "backup"];
    args.extend(to);
    let refused = work.strata(&args).expect(1, "non-empty target");
    assert!(
        refused.stderr.contains("already has subjects"),
        "{}",
        refused.stderr
    );
    args.push("--force");
    let again = work.strata(&args).expect(0, "forced re-import");
    assert!(
        again.stdout.contains("0 versions (4 already there"),
        "{}",
        again.stdout
    );
}

/// One version of a hand-written export: subject, id, schema text, references as
/// (name, subject), each version 1 of its subject.
type HandVersion<'a> = (&'a str, i32, &'a str, &'a [(&'a str, &'a str)]);

/// An export directory written by hand.
fn write_export(work: &Workdir, dir: &str, versions: &[HandVersion<'_>]) {
    let subjects: Vec<serde_json::Value> = versions
        .iter()
        .map(|(subject, id, text, refs)| {
            let file = format!("subjects/{subject}/v1.avsc");
            work.write(&format!("{dir}/{file}"), text);
            serde_json::json!({
                "subject": subject,
                "config": null,
                "mode": null,
                "versions": [{
                    "version": 1,
                    "id": id,
                    "schemaType": "AVRO",
                    "references": refs.iter().map(|(name, s)| serde_json::json!({
                        "name": name, "subject": s, "version": 1
                    })).collect::<Vec<_>>(),
                    "deleted": false,
                    "file": file,
                }],
            })
        })
        .collect();
    let manifest = serde_json::json!({
        "format": "strata-export/1",
        "config": {"compatibilityLevel": "BACKWARD"},
        "mode": "READWRITE",
        "subjects": subjects,
    });
    work.write(
        &format!("{dir}/manifest.json"),
        &serde_json::to_string_pretty(&manifest).unwrap(),
    );
}

#[test]
fn import_registers_a_referenced_schema_first_even_when_its_id_is_higher() {
    let target = Registry::start();
    let work = Workdir::new(&target);
    // orders-value (id 5) references address-value (id 10): ascending ids would register the
    // referrer before what it references, and the registry would refuse it.
    write_export(
        &work,
        "backup",
        &[
            (
                "orders-value",
                5,
                ORDER,
                &[("com.acme.Address", "address-value")],
            ),
            ("address-value", 10, ADDRESS, &[]),
        ],
    );
    let imported = work
        .strata(&["import", "backup", "--output", "json"])
        .expect(0, "import");
    assert_eq!(imported.json()["versions"], 2, "{}", imported.stdout);
    let order = work
        .strata(&["subjects", "get", "orders-value", "--output", "json"])
        .expect(0, "orders-value")
        .json();
    assert_eq!(order["id"], 5);
    assert_eq!(order["references"][0]["subject"], "address-value");
    let address = work
        .strata(&["schema", "get", "10", "--output", "json"])
        .expect(0, "id 10")
        .json();
    assert!(
        address["schema"].as_str().unwrap().contains("Address"),
        "{address}"
    );
}

#[test]
fn progress_is_drawn_on_stderr_when_forced_and_hidden_when_stderr_is_not_a_terminal() {
    let registry = Registry::start();
    let work = Workdir::new(&registry);
    // 25 versions: long enough for a bar on a terminal.
    let texts: Vec<String> = (0..25)
        .map(|i| {
            format!(r#"{{"type":"record","name":"R{i}","fields":[{{"name":"f","type":"long"}}]}}"#)
        })
        .collect();
    let names: Vec<String> = (0..25).map(|i| format!("s{i:02}-value")).collect();
    let versions: Vec<HandVersion<'_>> = (0..25)
        .map(|i| (names[i].as_str(), i as i32 + 1, texts[i].as_str(), &[][..]))
        .collect();
    write_export(&work, "backup", &versions);

    // The tests' stderr is a pipe: no bar by default.
    let quiet = work.strata(&["import", "backup"]).expect(0, "import");
    assert_eq!(quiet.stderr, "", "no progress on a pipe by default");
    assert!(quiet
        .stdout
        .starts_with("imported 25 subjects, 25 versions"));
    let quiet = work.strata(&["export", "out1"]).expect(0, "export");
    assert_eq!(quiet.stderr, "", "no progress on a pipe by default");

    // Forced: the bar is drawn on stderr and stdout holds only the result.
    let forced = work
        .strata(&["export", "out2", "--progress", "always"])
        .expect(0, "export, forced progress");
    assert!(
        forced.stderr.contains("exporting subjects") && forced.stderr.contains("25/25"),
        "{:?}",
        forced.stderr
    );
    assert!(forced.stdout.starts_with("exported"), "{}", forced.stdout);
    let target = Registry::start();
    let into = Workdir::new(&target);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["import", "backup", "--output", "json"])
        .current_dir(work.path())
        .env("STRATA_REGISTRY_URL", &target.url)
        .env("STRATA_PROGRESS", "always")
        .env("XDG_CONFIG_HOME", into.path())
        .output()
        .expect("strata runs");
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("importing versions") && stderr.contains("25/25"),
        "{stderr:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON stdout");
    assert_eq!(summary["versions"], 25);
    // --progress never wins over a terminal; here it simply stays quiet.
    let never = work
        .strata(&["export", "out3", "--progress", "never"])
        .expect(0, "export, no progress");
    assert_eq!(never.stderr, "");
}

#[test]
fn import_reads_only_files_inside_its_directory() {
    let target = Registry::start();
    let work = Workdir::new(&target);
    work.write("secret.txt", "{\"type\": \"string\", \"doc\": \"s3cr3t\"}");
    let secret = work.path().join("secret.txt");
    let outside = secret.display().to_string();
    for (what, file, needle) in [
        (
            "a parent path",
            "../secret.txt",
            "not inside the export directory",
        ),
        (
            "an absolute path",
            outside.as_str(),
            "not inside the export directory",
        ),
        (
            "a symlink out",
            "subjects/x-value/v1.avsc",
            "outside the export directory",
        ),
    ] {
        write_export(&work, "backup", &[("x-value", 1, ADDRESS, &[])]);
        let manifest_path = work.path().join("backup/manifest.json");
        let mut manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
        manifest["subjects"][0]["versions"][0]["file"] = serde_json::json!(file);
        std::fs::write(&manifest_path, manifest.to_string()).unwrap();
        if what == "a symlink out" {
            let link = work.path().join("backup/subjects/x-value/v1.avsc");
            std::fs::remove_file(&link).unwrap();
            std::os::unix::fs::symlink(&secret, &link).unwrap();
        }
        let run = work.strata(&["import", "backup"]).expect(2, what);
        assert!(run.stderr.contains(needle), "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("s3cr3t"), "{what}: {}", run.stderr);
        std::fs::remove_dir_all(work.path().join("backup")).unwrap();
    }
    let subjects = work
        .strata(&["subjects", "list", "--output", "json"])
        .expect(0, "nothing was registered")
        .json();
    assert_eq!(subjects, serde_json::json!([]));
    // A symlink that stays inside is followed.
    write_export(&work, "backup", &[("x-value", 1, ADDRESS, &[])]);
    std::fs::rename(
        work.path().join("backup/subjects/x-value/v1.avsc"),
        work.path().join("backup/real.avsc"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        work.path().join("backup/real.avsc"),
        work.path().join("backup/subjects/x-value/v1.avsc"),
    )
    .unwrap();
    work.strata(&["import", "backup"])
        .expect(0, "a symlink inside");
}

/// Registers `schema` under `subject` with the path sent exactly as written (an HTTP client
/// would remove a `.` or `..` segment).
fn register_raw(url: &str, subject: &str, schema: &str) {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let body = serde_json::json!({ "schema": schema }).to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /subjects/{subject}/versions HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{subject}: {answer}");
}

#[test]
fn export_and_pull_handle_subjects_named_dot_and_dot_dot() {
    let source = Registry::start();
    let work = Workdir::new(&source);
    register_raw(&source.url, ".", r#""string""#);
    register_raw(&source.url, "..", r#""long""#);
    work.write("address.avsc", ADDRESS);
    work.strata(&["register", "a/b", "address.avsc"])
        .expect(0, "a subject with a slash");
    work.strata(&["config", "set", "FORWARD"])
        .expect(0, "global config");

    let exported = work
        .strata(&["export", "backup", "--output", "json"])
        .expect(0, "export");
    assert_eq!(exported.json()["subjects"], 3, "{}", exported.stdout);
    assert!(
        exported.stderr.contains("config and mode not exported"),
        "{}",
        exported.stderr
    );
    assert_eq!(work.read("backup/subjects/%2E/v1.avsc"), r#""string""#);
    assert_eq!(work.read("backup/subjects/%2E./v1.avsc"), r#""long""#);
    assert!(work.path().join("backup/subjects/a%2Fb/v1.avsc").is_file());
    let manifest: serde_json::Value =
        serde_json::from_str(&work.read("backup/manifest.json")).unwrap();
    let names: Vec<&str> = manifest["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![".", "..", "a/b"]);
    assert!(
        manifest["subjects"][0]["config"].is_null(),
        "not the global config"
    );

    work.strata(&["pull", "project"]).expect(0, "pull");
    assert_eq!(work.read("project/schemas/%2E.avsc").trim(), r#""string""#);
    assert_eq!(work.read("project/schemas/%2E..avsc").trim(), r#""long""#);
    let toml = work.read("project/strata.toml");
    assert!(
        !toml.contains("FORWARD"),
        "the global level is not the subject's: {toml}"
    );

    // Registering such a subject cannot be sent: import says so before changing anything.
    let target = Registry::start();
    let run = work
        .strata(&["import", "backup", "--registry", target.url.as_str()])
        .expect(2, "import");
    assert!(run.stderr.contains("subject '.'"), "{}", run.stderr);
}
