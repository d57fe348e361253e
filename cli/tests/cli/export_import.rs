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
