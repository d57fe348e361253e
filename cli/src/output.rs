//! How commands report: `--output text|json`, and the mapping of failures to messages, hints
//! and exit codes.
//!
//! Exit codes of the registry commands: 0 done; 1 the registry answered and refused or found
//! nothing (a 4xx such as subject not found, incompatible schema, operation not permitted);
//! 2 the command could not run (usage, configuration, files, network, a 5xx). Errors go to
//! stderr: with `--output text` as `error: …` followed, when there is one, by `hint: …` (what
//! to do next); with `--output json` as one JSON object on one line,
//! `{"error": "…", "hint": "…" | null, "exit_code": N}`. Stdout only ever holds the result.
//!
//! Progress (the export/import bar, produce/consume counters) goes to stderr, by default only
//! when stderr is a terminal; `--progress always|never` (`STRATA_PROGRESS`) overrides that.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::OnceLock;

use serde::Serialize;

/// The `--output` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// Compact text for people.
    #[default]
    Text,
    /// Stable JSON documents (see each command's docs).
    Json,
}

/// The `--progress` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProgressMode {
    /// Draw progress when stderr is a terminal.
    #[default]
    Auto,
    /// Always draw progress on stderr (e.g. for CI logs that keep it).
    Always,
    /// Never draw progress.
    Never,
}

/// `--progress`, flattened into the commands that draw progress (export, import, produce,
/// consume) and only those, so that no other command's help lists it.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct ProgressArgs {
    /// Progress on stderr (export/import bars, produce/consume counters): auto draws it only
    /// when stderr is a terminal.
    #[arg(long, value_enum, env = "STRATA_PROGRESS", default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

impl ProgressArgs {
    /// Make this the process's progress mode.
    pub fn apply(self) {
        set_progress(self.progress);
    }
}

static PROGRESS: OnceLock<ProgressMode> = OnceLock::new();

/// Set the progress mode for the process (once, from the command line).
pub fn set_progress(mode: ProgressMode) {
    let _ = PROGRESS.set(mode);
}

/// The progress mode of the process.
pub fn progress_mode() -> ProgressMode {
    PROGRESS.get().copied().unwrap_or_default()
}

/// Whether progress is drawn on stderr.
pub fn show_progress() -> bool {
    match progress_mode() {
        ProgressMode::Auto => std::io::stderr().is_terminal(),
        ProgressMode::Always => true,
        ProgressMode::Never => false,
    }
}

/// A negative result the command reports as such (exit 1), not a failure to run.
#[derive(Debug)]
pub struct Negative(pub String);

impl std::fmt::Display for Negative {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Negative {}

/// A negative result (exit 1) with this message: a value, record or schema that does not fit,
/// something the registry does not have or refuses.
pub fn negative(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Negative(message.into()))
}

/// Print `value` as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        // Serialising plain values and serde_json::Value cannot fail.
        Err(e) => eprintln!("error: cannot render the JSON output: {e}"),
    }
}

/// Print the `schema` of a registry answer as it is stored, ending with one newline.
pub fn print_schema(body: &serde_json::Value) {
    let text = body["schema"].as_str().unwrap_or_default();
    if text.ends_with('\n') {
        print!("{text}");
    } else {
        println!("{text}");
    }
}

/// Report `result` and turn it into the documented exit code.
pub fn finish(result: anyhow::Result<()>, output: Output) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (code, hint) = classify(&e);
            report_error(output, &format!("{e:#}"), hint, code);
            ExitCode::from(code)
        }
    }
}

/// Write an error to stderr in the output format: `error:`/`hint:` lines, or one JSON object.
pub fn report_error(output: Output, message: &str, hint: Option<&str>, code: u8) {
    match output {
        Output::Text => {
            eprintln!("error: {message}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
        }
        Output::Json => eprintln!("{}", error_json(message, hint, code)),
    }
}

/// The one-line JSON form of an error.
pub fn error_json(message: &str, hint: Option<&str>, code: u8) -> serde_json::Value {
    serde_json::json!({"error": message, "hint": hint, "exit_code": code})
}

/// Write a line of stderr news (a skipped record, a summary) in the output format: `text` as
/// is, or `json` on one line.
pub fn notice(output: Output, text: &str, json: serde_json::Value) {
    match output {
        Output::Text => eprintln!("{text}"),
        Output::Json => eprintln!("{json}"),
    }
}

/// The exit code of an error and a hint of what to do about it.
pub fn classify(e: &anyhow::Error) -> (u8, Option<&'static str>) {
    // The registry's own answers decide first, wherever they sit in the chain: an unreachable
    // or failing registry is a failure to run (2) even under a negative result's message.
    for cause in e.chain() {
        if let Some(err) = cause.downcast_ref::<strata_serde::Error>() {
            match err {
                strata_serde::Error::Unreachable { .. } => {
                    return (
                        2,
                        Some(
                            "is the registry running at that URL? Give it with --registry URL, \
                             STRATA_REGISTRY_URL or the config file's [registry] url",
                        ),
                    )
                }
                strata_serde::Error::Registry { status, .. } if *status >= 500 => {
                    return (2, Some("the registry failed; see its logs, then try again"))
                }
                strata_serde::Error::ReferenceCycle { .. } => {
                    return (
                        2,
                        Some(
                            "the registry's data is broken: see the versions named with \
                             `strata subjects get SUBJECT --version N`",
                        ),
                    )
                }
                strata_serde::Error::Registry {
                    status, error_code, ..
                } => return (1, hint(*status, *error_code)),
                _ => {}
            }
        }
    }
    // A negative result given as context (`e.context(Negative(..))`) is seen by the error
    // itself, not by its chain.
    if e.downcast_ref::<Negative>().is_some() {
        return (1, None);
    }
    for cause in e.chain() {
        if cause.downcast_ref::<Negative>().is_some() {
            return (1, None);
        }
        if let Some(err) = cause.downcast_ref::<strata_serde::Error>() {
            // Data that does not fit its schema or frame is a negative result; anything else
            // the library reports (configuration, broker, Kafka) is a failure to run.
            return match err {
                strata_serde::Error::Frame(_)
                | strata_serde::Error::Serialize(_)
                | strata_serde::Error::Deserialize(_)
                | strata_serde::Error::Validation { .. } => (1, None),
                _ => (2, None),
            };
        }
    }
    (2, None)
}

/// What to do after a registry refusal, by Confluent error code.
fn hint(status: u16, code: i32) -> Option<&'static str> {
    use strata_serde::error_code::*;
    Some(match (status, code) {
        (401, _) => "the registry wants credentials: give --basic-auth USER:PASSWORD or --bearer-token TOKEN",
        (403, _) => "these credentials may not do this: ask the registry's administrator for access",
        (_, SUBJECT_NOT_FOUND) => "list the subjects with `strata subjects list` (add --deleted for soft-deleted ones)",
        (_, VERSION_NOT_FOUND) => "list the versions with `strata subjects versions SUBJECT --deleted`",
        (_, SCHEMA_NOT_FOUND) => "no schema has that id; find ids with `strata subjects get SUBJECT --output json`",
        (_, SUBJECT_SOFT_DELETED) | (_, VERSION_SOFT_DELETED) => "it is already soft-deleted; add --permanent to remove it for good",
        (_, SUBJECT_NOT_SOFT_DELETED) | (_, VERSION_NOT_SOFT_DELETED) => "soft-delete it first (without --permanent), then delete it with --permanent",
        (_, SUBJECT_COMPATIBILITY_NOT_CONFIGURED) => "the subject has no level of its own; add --default-to-global to see the one in force",
        (_, SUBJECT_MODE_NOT_CONFIGURED) => "the subject has no mode of its own; add --default-to-global to see the one in force",
        (_, INCOMPATIBLE_SCHEMA) | (_, INCOMPATIBLE_SCHEMA_40901) => "see why with `strata check FILE --subject SUBJECT`; change the schema or the subject's level (`strata config set SUBJECT LEVEL`)",
        (_, INVALID_SCHEMA) => "the schema does not parse as that type: check the file, --type and --reference",
        (_, INVALID_VERSION) => "a version is a number from 1, or latest",
        (_, INVALID_COMPATIBILITY_LEVEL) => "levels are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE",
        (_, INVALID_MODE) => "modes are READWRITE, READONLY, IMPORT (and FORWARD, global only)",
        (_, OPERATION_NOT_PERMITTED) => "the registry or subject mode forbids this: see `strata mode get [SUBJECT]`",
        (_, REFERENCE_EXISTS) => "other schemas reference it: delete those first (see GET /subjects/S/versions/V/referencedby)",
        _ => return None,
    })
}

/// Every hint the commands can print (for the test that the flags and commands they name
/// exist).
#[cfg(test)]
pub(crate) fn every_hint() -> Vec<&'static str> {
    let codes = (40400..=40410).chain([409, 40901]).chain(42200..=42210);
    let mut out: Vec<&'static str> = [(401, 0), (403, 0)]
        .into_iter()
        .chain(codes.map(|c| (400, c)))
        .filter_map(|(status, code)| hint(status, code))
        .collect();
    for e in [
        strata_serde::Error::Unreachable {
            url: "http://x".into(),
            reason: "refused".into(),
        },
        strata_serde::Error::Registry {
            status: 500,
            error_code: 50001,
            message: "failed".into(),
        },
        strata_serde::Error::ReferenceCycle {
            chain: vec!["a v1".into(), "a v1".into()],
        },
    ] {
        out.extend(classify(&anyhow::Error::new(e)).1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_that_does_not_fit_exits_1_and_failures_to_run_exit_2() {
        let unreachable = || strata_serde::Error::Unreachable {
            url: "http://localhost:1".into(),
            reason: "connection refused".into(),
        };
        // A negative result given as context: 1, unless the registry could not be reached.
        let bad_record = anyhow::anyhow!("not a frame").context(Negative("record 1".into()));
        assert_eq!(classify(&bad_record).0, 1);
        let behind = anyhow::Error::new(unreachable()).context(Negative("record 1".into()));
        assert_eq!(classify(&behind).0, 2);
        assert_eq!(classify(&negative("2 line(s) were rejected")).0, 1);
        let invalid = anyhow::Error::new(strata_serde::Error::Validation {
            schema: "1".into(),
            messages: vec!["at $.id: expected a long".into()],
        });
        assert_eq!(classify(&invalid).0, 1);
        // Usage, files, configuration: 2.
        assert_eq!(classify(&anyhow::anyhow!("--latest needs --subject")).0, 2);
        let config = anyhow::Error::new(strata_serde::Error::Config("bad".into()));
        assert_eq!(classify(&config).0, 2);
    }

    #[test]
    fn registry_refusals_exit_1_and_the_network_exits_2() {
        let refused = anyhow::Error::new(strata_serde::Error::Registry {
            status: 404,
            error_code: 40401,
            message: "Subject 'x' not found.".into(),
        })
        .context("cannot get subject 'x'");
        assert_eq!(classify(&refused).0, 1);
        assert!(classify(&refused).1.is_some());
        let down = anyhow::Error::new(strata_serde::Error::Unreachable {
            url: "http://x".into(),
            reason: "refused".into(),
        });
        assert_eq!(classify(&down).0, 2);
        // References that form a cycle are the registry's fault, even under a bad record.
        let cycle = anyhow::Error::new(strata_serde::Error::ReferenceCycle {
            chain: vec!["a v1".into(), "b v1".into(), "a v1".into()],
        })
        .context(Negative("record 1".into()));
        assert_eq!(classify(&cycle).0, 2);
        assert!(classify(&cycle).1.is_some());
        assert_eq!(classify(&anyhow::anyhow!("bad flag")).0, 2);
        assert_eq!(classify(&anyhow::Error::new(Negative("no".into()))).0, 1);
    }

    #[test]
    fn json_errors_are_one_object_with_the_hint_and_exit_code() {
        let shown = error_json("it broke", Some("fix it"), 2).to_string();
        assert_eq!(
            shown,
            r#"{"error":"it broke","hint":"fix it","exit_code":2}"#
        );
        assert!(!shown.contains('\n'));
    }
}
