//! The README's examples, run as written. A fenced block right after the line
//! `<!-- readme-test -->` is a console transcript: `$ COMMAND` lines (a command continues on the
//! next line after a trailing `\` or `|`), each followed by what it prints, stdout and stderr
//! together, as a terminal shows them. `…` in an expected line stands for any text; a line that
//! is only `…` for any number of lines. Every command must exit 0: a transcript shows a failure
//! as `COMMAND; echo "exit $?"` and the `exit N` line it prints.
//!
//! All marked blocks run in file order in one bash session (shell variables and background jobs
//! carry over, as they do in a reader's terminal), in a temporary directory holding a copy of
//! the repository's `schemas/`, with the `strata` binary cargo built first on `PATH`. The server
//! the README starts (`strata serve &`) listens on a free port instead of 8081: `STRATA_LISTEN`
//! and `STRATA_REGISTRY_URL` point there, `localhost:8081` in commands is rewritten to it and
//! back in what they print. Only marked blocks run, so sections that are not ready for it do not
//! break this test; the quick start and the REST walkthrough must be marked throughout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::serve::free_port;

const MARKER: &str = "<!-- readme-test -->";
/// Sections whose every shell block must be marked.
const TESTED_SECTIONS: &[&str] = &["## Quick start"];
const END_MARK: &str = "__STRATA_README_STEP_END__";

/// One command of a transcript and what the README shows it printing.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// The README line the command starts on (1-based).
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// A fenced block of the README.
#[derive(Debug)]
struct Block {
    /// The line of the opening fence (1-based).
    line: usize,
    info: String,
    marked: bool,
    /// The `## ` heading the block sits under.
    section: String,
    body: Vec<String>,
}

fn readme_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")
}

fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut marked = false;
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        if line.starts_with("## ") {
            section = line.to_string();
        }
        if line.trim() == MARKER {
            marked = true;
            continue;
        }
        if let Some(info) = line.strip_prefix("```") {
            let mut body = Vec::new();
            for (_, l) in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                body.push(l.to_string());
            }
            out.push(Block {
                line: i + 1,
                info: info.trim().to_string(),
                marked,
                section: section.clone(),
                body,
            });
        }
        if !line.trim().is_empty() {
            marked = false;
        }
    }
    out
}

/// The commands of a console transcript and their expected output.
fn steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for (i, line) in block.body.iter().enumerate() {
        if continuing {
            let step = steps.last_mut().expect("a command is open");
            step.command.push('\n');
            step.command.push_str(line);
        } else if let Some(command) = line.strip_prefix("$ ") {
            steps.push(Step {
                line: block.line + 1 + i,
                command: command.to_string(),
                expected: Vec::new(),
            });
        } else {
            let step = steps.last_mut().unwrap_or_else(|| {
                panic!(
                    "README line {}: output before the first `$ ` command",
                    block.line + 1 + i
                )
            });
            step.expected.push(line.trim_end().to_string());
        }
        let trimmed = line.trim_end();
        continuing = (continuing || line.starts_with("$ "))
            && (trimmed.ends_with('\\') || trimmed.ends_with('|'));
    }
    steps
}

/// Whether the command line puts itself in the background (`cmd &`, maybe with a comment).
fn backgrounded(command: &str) -> bool {
    let code = match command.find(" #") {
        Some(at) if !command[..at].contains(['\'', '"']) => &command[..at],
        _ => command,
    };
    let code = code.trim_end();
    code.ends_with('&') && !code.ends_with("&&")
}

/// Whether one expected line (with `…` for any text) matches an actual line.
fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &actual[first.len()..];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether the expected lines (a line `…` for any number of lines) match the actual ones.
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "…" => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((e, rest)) => match actual.split_first() {
            Some((a, arest)) => line_matches(e, a) && lines_match(rest, arest),
            None => false,
        },
    }
}

/// The bash script that runs `steps`, printing END_MARK and the exit code after each.
fn script(steps: &[Step], port: u16) -> String {
    let mut s = String::new();
    for step in steps {
        let command = step
            .command
            .replace("localhost:8081", &format!("localhost:{port}"));
        s.push_str(&format!(
            "{{\n{command}\n}} 2>&1\n__rc=$?\nprintf '\\n{END_MARK} %d\\n' \"$__rc\"\n"
        ));
        if backgrounded(&step.command) && step.command.contains("strata serve") {
            // A reader types the next command seconds later; the script waits for the port.
            s.push_str(&format!(
                "for __i in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done\n"
            ));
        }
    }
    s.push_str("kill $(jobs -p) 2>/dev/null\nwait\n");
    s
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Run the script in `dir`; its stdout, or a panic after `timeout` (the process group is killed).
fn run_script(script: &str, dir: &Path, port: u16, timeout: Duration) -> String {
    use std::os::unix::process::CommandExt;
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_strata"));
    let bin_dir = bin.parent().expect("the binary's directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script_dir = tempfile::tempdir().expect("temp dir");
    let script_path = script_dir.path().join("readme.sh");
    std::fs::write(&script_path, script).expect("write the script");
    let mut child = Command::new("bash")
        .arg(&script_path)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join(".no-config"))
        .env("LANG", "C.UTF-8")
        .env("STRATA_LISTEN", format!("127.0.0.1:{port}"))
        .env("STRATA_REGISTRY_URL", format!("http://localhost:{port}"))
        .env("STRATA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .expect("bash runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait().expect("wait for bash").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            let out = reader.join().unwrap_or_default();
            panic!("the README's commands did not finish in {timeout:?}; output so far:\n{out}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("stdout reader")
}

/// What each step printed and its exit code, from the script's output.
fn split_output(out: &str, port: u16) -> Vec<(Vec<String>, i32)> {
    let out = out
        .replace(&format!("localhost:{port}"), "localhost:8081")
        .replace(&format!("127.0.0.1:{port}"), "localhost:8081");
    let mut results = Vec::new();
    let mut current = String::new();
    for line in out.split_inclusive('\n') {
        if let Some(code) = line.trim_end().strip_prefix(END_MARK) {
            // The marker starts with a newline of its own: drop it.
            let text = current.strip_suffix('\n').unwrap_or(&current);
            let lines = text.lines().map(|l| l.trim_end().to_string()).collect();
            results.push((lines, code.trim().parse().unwrap_or(-1)));
            current.clear();
        } else {
            current.push_str(line);
        }
    }
    results
}

#[test]
fn readme_transcripts_run_as_written_and_print_what_the_readme_shows() {
    for tool in ["curl", "jq"] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        assert!(
            found,
            "the README's examples need {tool} (scripts/test.sh installs it)"
        );
    }
    let text = std::fs::read_to_string(readme_path()).expect("read README.md");
    let steps: Vec<Step> = blocks(&text)
        .iter()
        .filter(|b| b.marked)
        .flat_map(steps)
        .collect();
    assert!(steps.len() >= 10, "only {} marked commands", steps.len());
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"),
        &dir.path().join("schemas"),
    );
    let port = free_port();
    let out = run_script(
        &script(&steps, port),
        dir.path(),
        port,
        Duration::from_secs(180),
    );
    let results = split_output(&out, port);
    let mut failures = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let Some((actual, code)) = results.get(i) else {
            failures.push(format!(
                "README line {}: `{}` did not run",
                step.line, step.command
            ));
            continue;
        };
        if *code != 0 || !lines_match(&step.expected, actual) {
            failures.push(format!(
                "README line {}: `{}`\n  exit {code}\n  the README shows:\n    {}\n  it printed:\n    {}",
                step.line,
                step.command,
                step.expected.join("\n    "),
                actual.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_shell_block_of_the_quick_start_is_marked_as_a_transcript() {
    let text = std::fs::read_to_string(readme_path()).expect("read README.md");
    let all = blocks(&text);
    for section in TESTED_SECTIONS {
        let shell: Vec<&Block> = all
            .iter()
            .filter(|b| &b.section == section)
            .filter(|b| ["sh", "bash", "shell", "console"].contains(&b.info.as_str()))
            .collect();
        assert!(shell.len() >= 2, "{section}: {} shell blocks", shell.len());
        for b in shell {
            assert!(
                b.marked && b.info == "console",
                "README line {}: a shell block of '{section}' that is not a marked console transcript",
                b.line
            );
        }
    }
    for b in all.iter().filter(|b| b.marked) {
        assert_eq!(b.info, "console", "README line {}: marked block", b.line);
        assert!(
            b.body.first().is_some_and(|l| l.starts_with("$ ")),
            "README line {}: a transcript starts with a `$ ` command",
            b.line
        );
    }
}

#[test]
fn an_ellipsis_stands_for_variable_text_and_nothing_else_is_loose() {
    let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (expected, actual, ok, why) in [
        (vec!["a"], vec!["a"], true, "equal"),
        (vec!["a"], vec!["b"], false, "different"),
        (vec!["a"], vec![], false, "missing line"),
        (vec![], vec!["a"], false, "extra line"),
        (vec!["id …, v…"], vec!["id 7, v2"], true, "two holes"),
        (
            vec!["id …, v…"],
            vec!["id 7 v2"],
            false,
            "text between holes",
        ),
        (vec!["{\"id\":…}"], vec!["{\"id\":1,\"x\":2}"], true, "json"),
        (vec!["ab…ba"], vec!["aba"], false, "overlap"),
        (vec!["…"], vec![], true, "no lines"),
        (
            vec!["a", "…", "z"],
            vec!["a", "b", "c", "z"],
            true,
            "elided lines",
        ),
        (
            vec!["a", "…", "z"],
            vec!["a", "b"],
            false,
            "elision needs the end",
        ),
    ] {
        assert_eq!(
            lines_match(&l(&expected), &l(&actual)),
            ok,
            "{why}: {expected:?} against {actual:?}"
        );
    }
}

#[test]
fn transcripts_split_into_commands_outputs_and_background_jobs() {
    let readme = "## S\n<!-- readme-test -->\n```console\n$ strata serve &   # a comment\n$ echo a |\n  cat; echo \"exit $?\"\na\nexit 0\n```\n```console\n$ not marked\n```\n";
    let all = blocks(readme);
    assert_eq!(all.len(), 2);
    assert!(all[0].marked && !all[1].marked);
    let s = steps(&all[0]);
    assert_eq!(s.len(), 2);
    assert!(backgrounded(&s[0].command));
    assert!(!backgrounded(&s[1].command));
    assert_eq!(s[1].command, "echo a |\n  cat; echo \"exit $?\"");
    assert_eq!(s[1].expected, vec!["a", "exit 0"]);
    assert_eq!(s[1].line, 5);
    assert!(!backgrounded("a && b"));
    assert!(!backgrounded("echo '# &'"));
}
