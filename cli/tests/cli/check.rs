//! `strata check` offline: files, directories and git revisions as old versions, every output
//! format against golden files, and the exit codes 0 (compatible), 1 (incompatible) and 2
//! (usage, parse or I/O errors).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const AVRO_V1: &str = r#"{"type":"record","name":"User","namespace":"com.acme","fields":[
  {"name":"id","type":"long"},{"name":"name","type":"string"}]}"#;
const AVRO_V2_OK: &str = r#"{"type":"record","name":"User","namespace":"com.acme","fields":[
  {"name":"id","type":"long"},{"name":"name","type":"string"},
  {"name":"email","type":"string","default":""}]}"#;
const AVRO_V2_BAD: &str = r#"{"type":"record","name":"User","namespace":"com.acme","fields":[
  {"name":"id","type":"long"},{"name":"name","type":"string"},{"name":"age","type":"int"}]}"#;

const PROTO_V1: &str =
    "syntax = \"proto3\";\npackage acme;\n\nmessage User {\n  int64 id = 1;\n  string name = 2;\n}\n";
const PROTO_V2_OK: &str = "syntax = \"proto3\";\npackage acme;\n\nmessage User {\n  int64 id = 1;\n  string name = 2;\n  string email = 3;\n}\n";
const PROTO_V2_BAD: &str = "syntax = \"proto3\";\npackage acme;\n\nmessage User {\n  int64 id = 1;\n  int32 name = 2;\n}\n";

const JSON_V1: &str = r#"{"type":"object","properties":{"id":{"type":"integer"}}}"#;
const JSON_V2_OK: &str = r#"{"type":"object","properties":{"id":{"type":"number"}}}"#;
const JSON_V2_BAD: &str = r#"{"type":"object","properties":{"id":{"type":"string"}}}"#;

/// A temporary working directory the binary runs in, so paths in its output are relative.
struct Workdir {
    dir: tempfile::TempDir,
}

/// What one run of `strata` produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Workdir {
    fn new() -> Self {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("create dirs");
        }
        fs::write(&p, text).expect("write file");
        p
    }

    fn strata(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("strata runs");
        Run {
            code: out.status.code().expect("exit code"),
            stdout: self.normalise(&String::from_utf8_lossy(&out.stdout)),
            stderr: self.normalise(&String::from_utf8_lossy(&out.stderr)),
        }
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(
            status.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }

    /// Temp paths replaced by `<TMP>`, so outputs compare with golden files.
    fn normalise(&self, s: &str) -> String {
        let mut out = s.to_string();
        if let Ok(canon) = self.path().canonicalize() {
            out = out.replace(&canon.display().to_string(), "<TMP>");
        }
        out.replace(&self.path().display().to_string(), "<TMP>")
    }
}

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&path, actual).expect("write golden file");
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read {}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// Check `new` against `old` written as files of `ext`, and return the run.
fn pair(ext: &str, old: &str, new: &str, extra: &[&str]) -> Run {
    let w = Workdir::new();
    w.write(&format!("old/user.{ext}"), old);
    w.write(&format!("new/user.{ext}"), new);
    let new_path = format!("new/user.{ext}");
    let old_path = format!("old/user.{ext}");
    let mut args = vec!["check", &new_path, "--against", &old_path];
    args.extend_from_slice(extra);
    w.strata(&args)
}

#[test]
fn an_avro_schema_with_a_defaulted_new_field_is_compatible_and_exits_0() {
    let run = pair("avsc", AVRO_V1, AVRO_V2_OK, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("new/user.avsc: ok"), "{}", run.stdout);
}

#[test]
fn an_avro_field_added_without_default_is_incompatible_and_exits_1() {
    let run = pair("avsc", AVRO_V1, AVRO_V2_BAD, &["--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(v["compatible"], false);
    assert_eq!(
        v["results"][0]["findings"][0]["kind"],
        "READER_FIELD_MISSING_DEFAULT_VALUE"
    );
}

#[test]
fn an_avro_schema_missing_a_default_passes_at_forward_level() {
    let run = pair("avsc", AVRO_V1, AVRO_V2_BAD, &["--level", "FORWARD"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn full_level_names_the_roles_of_each_direction() {
    let run = pair(
        "proto",
        PROTO_V1,
        PROTO_V2_BAD,
        &["--level", "FULL", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    let findings = v["results"][0]["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "one per direction: {findings:?}");
    let first = findings[0]["message"].as_str().expect("message");
    let second = findings[1]["message"].as_str().expect("message");
    assert!(
        first.contains("in the old schema does not match its kind in the new"),
        "{first}"
    );
    assert!(
        second.contains("in the new schema does not match its kind in the old"),
        "{second}"
    );
}

#[test]
fn an_unparsable_old_version_is_named_in_the_error() {
    let run = pair("avsc", "{oops", AVRO_V1, &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("the old AVRO schema old/user.avsc does not parse"),
        "{}",
        run.stdout
    );
}

#[test]
fn normalize_and_lenient_policy_are_accepted_for_a_compatible_change() {
    let run = pair(
        "proto",
        PROTO_V1,
        PROTO_V2_OK,
        &["--normalize", "--policy", "lenient"],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn schema_json_and_avro_json_extensions_name_their_format() {
    let w = Workdir::new();
    w.write("old/user.schema.json", JSON_V1);
    w.write("user.schema.json", JSON_V2_BAD);
    w.write("old/user.avro.json", AVRO_V1);
    w.write("user.avro.json", AVRO_V2_OK);
    let run = w.strata(&[
        "check",
        "user.schema.json",
        "user.avro.json",
        "--against",
        "old",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(
        v["results"][0]["compatible"], false,
        "JSON Schema type change"
    );
    assert_eq!(
        v["results"][1]["compatible"], true,
        "Avro field with default"
    );
}

#[test]
fn a_protobuf_field_added_is_compatible_and_exits_0() {
    let run = pair("proto", PROTO_V1, PROTO_V2_OK, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_protobuf_field_kind_change_is_incompatible_and_exits_1() {
    let run = pair("proto", PROTO_V1, PROTO_V2_BAD, &["--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(v["results"][0]["compatible"], false);
    assert!(!v["results"][0]["findings"]
        .as_array()
        .expect("array")
        .is_empty());
}

#[test]
fn a_json_schema_widening_integer_to_number_is_compatible_and_exits_0() {
    let run = pair("json", JSON_V1, JSON_V2_OK, &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_json_schema_type_change_is_incompatible_and_exits_1() {
    let run = pair("json", JSON_V1, JSON_V2_BAD, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
}

#[test]
fn the_type_flag_overrides_an_unknown_extension() {
    let w = Workdir::new();
    w.write("old.txt", AVRO_V1);
    w.write("new.txt", AVRO_V2_BAD);
    let run = w.strata(&["check", "new.txt", "--against", "old.txt", "--type", "avro"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let run = w.strata(&["check", "new.txt", "--against", "old.txt"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("--type"), "{}", run.stdout);
}

#[test]
fn a_directory_of_old_versions_is_matched_by_file_name() {
    let w = Workdir::new();
    w.write("released/user.avsc", AVRO_V1);
    w.write("released/order.proto", PROTO_V1);
    w.write("schemas/user.avsc", AVRO_V2_OK);
    w.write("schemas/order.proto", PROTO_V2_BAD);
    w.write("schemas/brand_new.json", JSON_V1);
    let run = w.strata(&[
        "check",
        "schemas/user.avsc",
        "schemas/order.proto",
        "schemas/brand_new.json",
        "--against",
        "released",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["compatible"], true);
    assert_eq!(results[1]["compatible"], false);
    assert_eq!(
        results[2]["against"],
        Value::Null,
        "a new file has no old version"
    );
    assert_eq!(results[2]["compatible"], true);
}

#[test]
fn git_head_is_read_without_touching_the_working_tree() {
    let w = Workdir::new();
    w.git(&["init", "-q"]);
    w.write("schemas/user.avsc", AVRO_V1);
    w.write("schemas/user.proto", PROTO_V1);
    w.git(&["add", "."]);
    w.git(&["commit", "-q", "-m", "v1"]);
    w.write("schemas/user.avsc", AVRO_V2_BAD);
    w.write("schemas/user.proto", PROTO_V2_OK);

    let run = w.strata(&[
        "check",
        "schemas/user.avsc",
        "schemas/user.proto",
        "--against",
        "git:HEAD",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(v["results"][0]["against"], "git:HEAD:schemas/user.avsc");
    assert_eq!(v["results"][0]["compatible"], false);
    assert_eq!(v["results"][1]["compatible"], true);
    let now = fs::read_to_string(w.path().join("schemas/user.avsc")).expect("read");
    assert_eq!(now, AVRO_V2_BAD, "the working tree is left as it was");
}

#[test]
fn git_revision_with_a_directory_matches_files_by_name() {
    let w = Workdir::new();
    w.git(&["init", "-q"]);
    w.write("released/user.avsc", AVRO_V1);
    w.git(&["add", "."]);
    w.git(&["commit", "-q", "-m", "v1"]);
    w.write("user.avsc", AVRO_V2_OK);
    let run = w.strata(&["check", "user.avsc", "--against", "git:HEAD:released"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("git:HEAD:released/user.avsc"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unknown_git_revision_exits_2_and_says_what_to_give() {
    let w = Workdir::new();
    w.git(&["init", "-q"]);
    w.write("user.avsc", AVRO_V1);
    let run = w.strata(&["check", "user.avsc", "--against", "git:no-such-branch"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no-such-branch"), "{}", run.stderr);
}

#[test]
fn transitive_levels_compare_with_every_old_version() {
    let w = Workdir::new();
    w.write("v1/user.avsc", AVRO_V1);
    w.write("v2/user.avsc", AVRO_V2_OK);
    // Drops the defaulted `email` of v2 and adds `age` without default: fails against both.
    w.write("user.avsc", AVRO_V2_BAD);
    let run = w.strata(&[
        "check",
        "user.avsc",
        "--against",
        "v1/user.avsc",
        "--against",
        "v2/user.avsc",
        "--level",
        "BACKWARD_TRANSITIVE",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(v["level"], "BACKWARD_TRANSITIVE");
    assert_eq!(v["results"].as_array().expect("results").len(), 2);
    assert_eq!(v["results"][0]["against"], "v1/user.avsc");
}

#[test]
fn several_old_versions_at_a_non_transitive_level_exit_2() {
    let w = Workdir::new();
    w.write("v1.avsc", AVRO_V1);
    w.write("v2.avsc", AVRO_V1);
    w.write("user.avsc", AVRO_V1);
    let run = w.strata(&[
        "check",
        "user.avsc",
        "--against",
        "v1.avsc",
        "--against",
        "v2.avsc",
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("BACKWARD_TRANSITIVE"), "{}", run.stderr);
}

#[test]
fn avro_references_are_given_as_name_equals_path() {
    let w = Workdir::new();
    let address = r#"{"type":"record","name":"Address","namespace":"com.acme","fields":[{"name":"street","type":"string"}]}"#;
    let order = r#"{"type":"record","name":"Order","namespace":"com.acme","fields":[{"name":"to","type":"com.acme.Address"}]}"#;
    w.write("address.avsc", address);
    w.write("old/order.avsc", order);
    w.write("order.avsc", order);
    let run = w.strata(&["check", "order.avsc", "--against", "old/order.avsc"]);
    assert_eq!(
        run.code, 2,
        "without the reference: {}{}",
        run.stdout, run.stderr
    );
    let run = w.strata(&[
        "check",
        "order.avsc",
        "--against",
        "old/order.avsc",
        "--reference",
        "com.acme.Address=address.avsc",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn protobuf_imports_are_resolved_from_the_proto_path() {
    let w = Workdir::new();
    w.write(
        "proto/acme/money.proto",
        "syntax = \"proto3\";\npackage acme;\nmessage Money { int64 cents = 1; }\n",
    );
    let order = "syntax = \"proto3\";\npackage acme;\nimport \"acme/money.proto\";\nmessage Order { acme.Money total = 1; }\n";
    w.write("old/order.proto", order);
    w.write("order.proto", order);
    let run = w.strata(&[
        "check",
        "order.proto",
        "--against",
        "old/order.proto",
        "--proto-path",
        "proto",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn an_unparsable_new_file_exits_2_with_the_reason() {
    let run = pair("avsc", AVRO_V1, "{not json", &["--format", "json"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let v = json(&run);
    assert_eq!(v["compatible"], false);
    let error = v["results"][0]["error"].as_str().expect("an error");
    assert!(error.contains("does not parse"), "{error}");
}

#[test]
fn a_missing_new_file_exits_2() {
    let w = Workdir::new();
    w.write("old.avsc", AVRO_V1);
    let run = w.strata(&["check", "missing.avsc", "--against", "old.avsc"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("cannot read missing.avsc"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_missing_against_path_exits_2() {
    let w = Workdir::new();
    w.write("user.avsc", AVRO_V1);
    let run = w.strata(&["check", "user.avsc", "--against", "nowhere"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
}

#[test]
fn a_bad_flag_or_level_exits_2() {
    let w = Workdir::new();
    w.write("user.avsc", AVRO_V1);
    let run = w.strata(&["check", "user.avsc", "--against", "user.avsc", "--bogus"]);
    assert_eq!(run.code, 2);
    let run = w.strata(&[
        "check",
        "user.avsc",
        "--against",
        "user.avsc",
        "--level",
        "SIDEWAYS",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("Invalid compatibility level"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_shows_examples_and_exit_codes() {
    let w = Workdir::new();
    let run = w.strata(&["check", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--against git:main"), "{}", run.stdout);
    assert!(run.stdout.contains("Exit codes"), "{}", run.stdout);
}

/// The fixture shared by the golden tests: one compatible, one incompatible and one
/// unparsable file against a directory.
fn golden_run(format: &str) -> Run {
    let w = Workdir::new();
    w.write("old/user.avsc", AVRO_V1);
    w.write("old/order.proto", PROTO_V1);
    w.write("old/broken.json", JSON_V1);
    w.write("new/user.avsc", AVRO_V2_BAD);
    w.write("new/order.proto", PROTO_V2_OK);
    w.write("new/broken.json", "{\"type\": 12");
    w.strata(&[
        "check",
        "new/order.proto",
        "new/user.avsc",
        "new/broken.json",
        "--against",
        "old",
        "--format",
        format,
    ])
}

#[test]
fn text_output_matches_the_golden_file() {
    let run = golden_run("text");
    assert_eq!(run.code, 2, "{}", run.stderr);
    golden("check.txt", &run.stdout);
}

#[test]
fn json_output_matches_the_golden_file() {
    let run = golden_run("json");
    assert_eq!(run.code, 2, "{}", run.stderr);
    golden("check.json", &run.stdout);
}

#[test]
fn github_output_matches_the_golden_file() {
    let run = golden_run("github");
    assert_eq!(run.code, 2, "{}", run.stderr);
    golden("check.github", &run.stdout);
}

#[test]
fn junit_output_matches_the_golden_file() {
    let run = golden_run("junit");
    assert_eq!(run.code, 2, "{}", run.stderr);
    golden("check.junit.xml", &run.stdout);
}
