//! The outcome of `strata check` and its four renderings: `text`, `json`, `github` and `junit`.
//!
//! # The JSON shape (`--format json`)
//!
//! Stable: fields are only ever added, never renamed or removed.
//!
//! ```json
//! {
//!   "compatible": false,
//!   "level": "BACKWARD",
//!   "results": [
//!     {
//!       "file": "schemas/user.avsc",
//!       "against": "git:main:schemas/user.avsc",
//!       "compatible": false,
//!       "findings": [
//!         {
//!           "kind": "READER_FIELD_MISSING_DEFAULT_VALUE",
//!           "path": "/fields/2",
//!           "message": "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', ...}"
//!         }
//!       ],
//!       "error": null
//!     }
//!   ]
//! }
//! ```
//!
//! - `compatible`: true only when every result is compatible and none has an error.
//! - `level`: the compatibility level checked (`BACKWARD`, ..., `FULL_TRANSITIVE`).
//! - `results`: one entry per new file and old version compared (transitive levels compare
//!   each new file with every old version given, oldest first), in the order of the files on
//!   the command line. `against` is the old version (a path or `git:REV:PATH`), or `null`
//!   when the file has no old version (a new file: compatible, nothing to compare).
//! - `findings[].kind`: Confluent's difference type. `path` is where the difference is (Avro
//!   JSON pointer, Protobuf `#/Message/3`, JSON Schema `#/properties/a`); `message` is the entry
//!   as Confluent's verbose compatibility response renders it, with the roles filled in (`new`,
//!   `old`): FORWARD findings (the old schema reading new data) name the roles the other way
//!   round, and FULL lists FORWARD findings first, then BACKWARD ones.
//! - `subject`: only when strata.toml's subjects are checked (`strata check` without files):
//!   the subject the file is mapped to.
//! - `error`: why the file could not be checked (unreadable, unparsable), else `null`. A result
//!   with an error is not compatible.
//!
//! This module renders only; it does not decide compatibility.

use std::fmt::Write as _;

use serde::Serialize;

/// One finding: a difference that breaks compatibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Confluent's difference type (e.g. `READER_FIELD_MISSING_DEFAULT_VALUE`).
    pub kind: String,
    /// Where in the schema.
    pub path: String,
    /// Confluent's rendering of the difference.
    pub message: String,
}

/// The outcome for one new file against one old version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileResult {
    /// The new file, as given on the command line (or in strata.toml).
    pub file: String,
    /// The subject of strata.toml the file belongs to, when checking strata.toml.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The old version compared with, `None` for a file with no old version.
    pub against: Option<String>,
    /// Whether the new file is compatible with the old version.
    pub compatible: bool,
    /// Why it is not.
    pub findings: Vec<Finding>,
    /// Why the file could not be checked.
    pub error: Option<String>,
}

/// The whole outcome of one `strata check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// True when every result is compatible and none has an error.
    pub compatible: bool,
    /// The level checked.
    pub level: String,
    /// One entry per (new file, old version).
    pub results: Vec<FileResult>,
}

/// The `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per finding, then a summary.
    #[default]
    Text,
    /// One JSON document, {"compatible", "level", "results": [{"file", "against",
    /// "compatible", "findings": [{"kind", "path", "message"}], "error"}]}; stable (fields are
    /// only added). Described in the README, section CLI (strata check's formats).
    Json,
    /// GitHub Actions workflow commands (`::error file=...::...`).
    Github,
    /// JUnit XML: one testcase per file, one failure per finding.
    Junit,
}

impl Report {
    /// Build a report; `compatible` is derived from the results.
    pub fn new(level: &str, results: Vec<FileResult>) -> Self {
        let compatible = results.iter().all(|r| r.compatible && r.error.is_none());
        Report {
            compatible,
            level: level.to_string(),
            results,
        }
    }

    /// Whether any result has an error.
    pub fn has_errors(&self) -> bool {
        self.results.iter().any(|r| r.error.is_some())
    }

    fn counts(&self) -> (usize, usize, usize) {
        let errors = self.results.iter().filter(|r| r.error.is_some()).count();
        let incompatible = self
            .results
            .iter()
            .filter(|r| r.error.is_none() && !r.compatible)
            .count();
        (self.results.len(), incompatible, errors)
    }

    /// Render in `format`.
    pub fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Text => self.text(),
            OutputFormat::Json => self.json(),
            OutputFormat::Github => self.github(),
            OutputFormat::Junit => self.junit(),
        }
    }

    fn summary(&self) -> String {
        let (checked, incompatible, errors) = self.counts();
        let verdict = if self.compatible {
            "compatible"
        } else {
            "NOT compatible"
        };
        format!(
            "{verdict} ({}): {checked} checked, {incompatible} incompatible, {errors} could not be checked",
            self.level
        )
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let file = match &r.subject {
                Some(s) => format!("{} ({s})", r.file),
                None => r.file.clone(),
            };
            let against = r.against.as_deref().unwrap_or("(no old version)");
            if let Some(e) = &r.error {
                let _ = writeln!(out, "{file}: error: {e}");
                continue;
            }
            for f in &r.findings {
                let path = if f.path.is_empty() { "/" } else { &f.path };
                let _ = writeln!(
                    out,
                    "{file}: {path}: {}: {} (against {against})",
                    f.kind, f.message
                );
            }
            match (&r.against, r.compatible) {
                (Some(a), true) => {
                    let _ = writeln!(out, "{file}: ok (against {a})");
                }
                (None, true) => {
                    let _ = writeln!(out, "{file}: ok (new file, no old version)");
                }
                _ => {}
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    fn json(&self) -> String {
        // Serialising these plain structs cannot fail; fall back to a valid document anyway.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string());
        s.push('\n');
        s
    }

    fn github(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let against = r.against.as_deref().unwrap_or("(no old version)");
            if let Some(e) = &r.error {
                let _ = writeln!(
                    out,
                    "::error file={},title={}::{}",
                    gh_property(&r.file),
                    gh_property("strata check could not check this file"),
                    gh_data(e)
                );
                continue;
            }
            for f in &r.findings {
                let title = if f.path.is_empty() {
                    f.kind.clone()
                } else {
                    format!("{} at {}", f.kind, f.path)
                };
                let _ = writeln!(
                    out,
                    "::error file={},title={}::{}",
                    gh_property(&r.file),
                    gh_property(&title),
                    gh_data(&format!("{} (against {against})", f.message))
                );
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    fn junit(&self) -> String {
        let (checked, incompatible, errors) = self.counts();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let name = format!("strata check ({})", self.level);
        let _ = writeln!(
            out,
            "<testsuites name=\"{}\" tests=\"{checked}\" failures=\"{incompatible}\" errors=\"{errors}\">",
            xml(&name)
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{checked}\" failures=\"{incompatible}\" errors=\"{errors}\">",
            xml(&name)
        );
        for r in &self.results {
            let case = match &r.against {
                Some(a) => format!("{} against {a}", r.file),
                None => r.file.clone(),
            };
            let _ = write!(
                out,
                "    <testcase classname=\"strata.check\" name=\"{}\" file=\"{}\"",
                xml(&case),
                xml(&r.file)
            );
            if r.error.is_none() && r.findings.is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            if let Some(e) = &r.error {
                let _ = writeln!(out, "      <error message=\"{}\" type=\"error\"/>", xml(e));
            }
            for f in &r.findings {
                let path = if f.path.is_empty() { "/" } else { &f.path };
                let _ = writeln!(
                    out,
                    "      <failure message=\"{} at {}\" type=\"{}\">{}</failure>",
                    xml(&f.kind),
                    xml(path),
                    xml(&f.kind),
                    xml(&f.message)
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

/// Escape XML text and attribute values.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape the message of a GitHub workflow command.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property (`file=`, `title=`) of a GitHub workflow command.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_properties_escape_colons_and_commas() {
        assert_eq!(gh_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn a_result_with_an_error_makes_the_report_incompatible() {
        let r = Report::new(
            "BACKWARD",
            vec![FileResult {
                file: "a.avsc".into(),
                subject: None,
                against: None,
                compatible: true,
                findings: vec![],
                error: Some("boom".into()),
            }],
        );
        assert!(!r.compatible);
        assert!(r.has_errors());
    }
}
