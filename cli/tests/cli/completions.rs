//! `strata completions` and `--help`.

use std::process::Command;

fn strata(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("strata runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completions_know_the_subcommands() {
    let script = strata(&["completions", "bash"]);
    for sub in [
        "subjects", "register", "apply", "pull", "export", "import", "check",
    ] {
        assert!(
            script.contains(sub),
            "{sub} missing from the bash completions"
        );
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(!strata(&["completions", shell]).is_empty(), "{shell}");
    }
}

#[test]
fn every_command_has_examples_in_its_help() {
    for cmd in [
        &["check"][..],
        &["apply"],
        &["pull"],
        &["subjects", "get"],
        &["schema", "get"],
        &["register"],
        &["config", "set"],
        &["mode", "set"],
        &["export"],
        &["import"],
        &["completions"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let help = strata(&args);
        assert!(help.contains("Examples:"), "{cmd:?} --help has no examples");
    }
}
