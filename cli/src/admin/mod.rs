//! The registry commands: `subjects`, `schema get`, `register`, `config`, `mode`, `export` and
//! `import`. Each parses its flags, calls the registry through `strata_serde::RegistryClient`
//! (Confluent's REST API, nothing else) and renders the answer; none holds schema logic.
//!
//! # Output
//!
//! `--output text` (default) is compact and for people. `--output json` is stable (fields are
//! only ever added):
//!
//! | Command | JSON on stdout |
//! |---|---|
//! | `subjects list` | `["a-value", "b-value"]` |
//! | `subjects versions S` | `[1, 2, 3]` |
//! | `subjects get S` | the registry's Schema object `{subject, version, id, schemaType, references, schema, ...}` |
//! | `subjects delete S` | `{"subject": S, "versions": [1, 2], "permanent": false}` |
//! | `schema get ID` | the registry's SchemaString object `{schema, schemaType, references, ...}` |
//! | `register S FILE` | `{"subject": S, "id": 7, "version": 3}` |
//! | `config get/set/delete` | the registry's Config object (`compatibilityLevel`; `compatibility` for set) |
//! | `mode get/set` | `{"mode": "READWRITE"}` (set adds `"subject"` when one is given) |
//! | `export DIR` | `{"directory", "subjects", "versions", "schemas"}` counts |
//! | `import DIR` | `{"subjects", "versions", "skipped", "deleted", "configs", "modes"}` counts |
//!
//! Exit codes are in `output.rs`: 0 done, 1 the registry refused or found nothing, 2 could not
//! run.

pub mod export;
pub mod import;
pub mod progress;
pub mod schemas;
pub mod settings;
pub mod subjects;

use anyhow::Result;
use serde_json::Value;
use strata_serde::{Method, RegistryClient};

use crate::connection::{self, FileRegistry, RegistryArgs};
use crate::output::Output;

/// What every registry command runs with.
pub struct Ctx {
    /// The registry.
    pub client: RegistryClient,
    /// Where the answers go.
    pub output: Output,
    /// The registry's URL(s), for messages.
    pub url: String,
}

impl Ctx {
    /// Connect (lazily: nothing is sent yet) as `args` say.
    /// The strata.toml found from the current directory upwards, if any, names the registry
    /// when flags, variables and an explicit config file do not.
    pub fn new(args: &RegistryArgs, output: Output) -> Result<Self> {
        let project = connection::project_registry_table()?;
        Self::with_project(args, output, project.as_ref())
    }

    /// As [`Ctx::new`], with a project's `[registry]` table as a fallback.
    pub fn with_project(
        args: &RegistryArgs,
        output: Output,
        project: Option<&FileRegistry>,
    ) -> Result<Self> {
        let config = args.registry_config_with(project)?;
        let url = config.urls.join(",");
        let client = RegistryArgs::client_for(config)?;
        Ok(Ctx {
            client,
            output,
            url,
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Result<Value> {
        Ok(self.client.call(Method::GET, path, None).await?)
    }

    /// `GET path`, `None` when the registry answers one of `absent` (error codes).
    pub async fn get_opt(&self, path: &str, absent: &[i32]) -> Result<Option<Value>> {
        match self.client.call(Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.error_code().is_some_and(|c| absent.contains(&c)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A request with a JSON body.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        Ok(self.client.call(method, path, body).await?)
    }
}

/// Run `f` on a fresh runtime with a context for `args`.
pub fn block_on<F, T>(f: F) -> Result<T>
where
    F: std::future::Future<Output = Result<T>>,
{
    connection::runtime()?.block_on(f)
}

/// Percent-encode a subject for a URL path segment (subjects may hold `/`, `:` and spaces).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encode a query value.
pub fn query(s: &str) -> String {
    segment(s)
}

/// The file extension of a schema type (`AVRO` when absent, as Confluent omits it).
pub fn extension(schema_type: Option<&str>) -> &'static str {
    match schema_type.unwrap_or("AVRO") {
        "PROTOBUF" => "proto",
        "JSON" => "json",
        _ => "avsc",
    }
}

/// A version argument: a number from 1 or `latest`.
pub fn parse_version(s: &str) -> Result<String, String> {
    if s.eq_ignore_ascii_case("latest") {
        return Ok("latest".into());
    }
    match s.parse::<i32>() {
        Ok(n) if n >= 1 => Ok(n.to_string()),
        _ => Err(format!(
            "'{s}' is not a version: give a number from 1, or latest"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_become_file_names_that_mean_nothing_to_the_file_system() {
        use super::export::subject_dir;
        for (subject, file) in [
            (".", "%2E"),
            ("..", "%2E."),
            (".hidden", "%2Ehidden"),
            ("a/b", "a%2Fb"),
            ("../../etc", "%2E.%2F..%2Fetc"),
            ("ü", "%C3%BC"),
            ("orders-value", "orders-value"),
        ] {
            assert_eq!(subject_dir(subject), file, "{subject}");
        }
    }

    #[test]
    fn subjects_are_encoded_for_paths() {
        assert_eq!(segment("a b/c:d-e.f"), "a%20b%2Fc%3Ad-e.f");
        assert_eq!(parse_version("LATEST").unwrap(), "latest");
        assert!(parse_version("0").is_err());
    }
}
