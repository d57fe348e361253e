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

/// The subcommands a `--help` lists under `Commands:` (clap's own `help` left out).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_command_and_subcommand_has_examples_in_its_help() {
    // Walk the whole tree from `strata --help`, so a new command cannot be forgotten.
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = strata(&args);
        assert!(
            help.contains("\nExamples:\n"),
            "`strata {}` has no examples in its help",
            path.join(" ")
        );
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
        seen += 1;
    }
    assert!(seen >= 27, "only {seen} commands were found");
}

#[test]
fn completions_print_as_json_with_output_json() {
    let out = strata(&["completions", "bash", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["shell"], "bash");
    assert!(v["script"].as_str().unwrap().contains("strata"));
}
