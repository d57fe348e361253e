//! Schemas as code: `strata.toml` maps subjects to schema files, their references and levels.
//! `strata check` (no files) checks them all, `strata apply` registers what changed, `strata
//! pull` writes them from a registry. This module owns the file format, finding and validating
//! the file, the dependency order and how references get their versions; it never decides
//! compatibility (the registry or `strata_schema` does).
//!
//! # Format
//!
//! ```toml
//! [registry]                  # optional: same keys as the config file's [registry] table
//! url = "http://localhost:8081"
//!
//! [defaults]                  # optional
//! compatibility = "BACKWARD"  # the level of subjects that declare none (unset: leave as is)
//! normalize = false           # register and look up with normalize=true
//!
//! [[subject]]
//! name = "address-value"
//! file = "schemas/address.avsc"          # relative to strata.toml; type from the extension
//!
//! [[subject]]
//! name = "orders-value"
//! file = "schemas/order.avsc"
//! type = "AVRO"                          # optional: AVRO, PROTOBUF or JSON
//! compatibility = "FULL"                 # optional
//! normalize = true                       # optional
//! references = [{ name = "com.acme.Address", subject = "address-value" }]
//! ```
//!
//! A reference without `version` takes, when its subject is in this file, the version that
//! holds that subject's file (just registered by `apply`, or found by lookup); otherwise the
//! subject's latest version in the registry. `version = N` pins it.
//!
//! The file is found at `--file PATH`, else in the current directory or the nearest parent.

pub mod apply;
pub mod pull;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use strata_serde::error_code;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use strata_schema::{CompatibilityLevel, SchemaReference, SchemaType};
use strata_serde::Method;

use crate::admin::{segment, Ctx};
use crate::check::inputs;
use crate::connection::FileRegistry;

/// The project file's name.
pub const FILE_NAME: &str = crate::connection::PROJECT_FILE;

/// `strata.toml` as written.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// How to reach the registry (a fallback after flags and the config file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<FileRegistry>,
    /// Settings of subjects that do not give their own.
    #[serde(default, skip_serializing_if = "Defaults::is_empty")]
    pub defaults: Defaults,
    /// The subjects.
    #[serde(default, rename = "subject")]
    pub subjects: Vec<SubjectEntry>,
}

/// `[defaults]`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// The level of subjects that declare none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<String>,
    /// Register and look up with `normalize=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
}

impl Defaults {
    pub(crate) fn is_empty(&self) -> bool {
        self.compatibility.is_none() && self.normalize.is_none()
    }
}

/// One `[[subject]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectEntry {
    /// The subject.
    pub name: String,
    /// The schema file, relative to strata.toml.
    pub file: String,
    /// AVRO, PROTOBUF or JSON; by default from the file's extension.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    /// The subject's level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compatibility: Option<String>,
    /// Register and look up with `normalize=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<bool>,
    /// References to other subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ReferenceEntry>,
}

/// One reference of a `[[subject]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceEntry {
    /// The name the schema uses (Avro full name, Protobuf import, JSON `$ref`).
    pub name: String,
    /// The referenced subject.
    pub subject: String,
    /// A pinned version; by default resolved (see the module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

/// A validated subject.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The subject.
    pub name: String,
    /// The file as written in strata.toml.
    pub shown: String,
    /// The file's path.
    pub path: PathBuf,
    /// Its format.
    pub schema_type: SchemaType,
    /// The declared level (its own, else the default), if any.
    pub level: Option<CompatibilityLevel>,
    /// Normalise when registering and looking up.
    pub normalize: bool,
    /// Its references.
    pub references: Vec<ReferenceEntry>,
}

/// A loaded, validated `strata.toml`.
#[derive(Debug)]
pub struct Project {
    /// The file.
    pub path: PathBuf,
    /// Its `[registry]` table.
    pub registry: Option<FileRegistry>,
    /// Its subjects, in dependency order (references first).
    pub subjects: Vec<Subject>,
}

impl Project {
    /// `--file PATH`, else strata.toml in the current directory or the nearest parent.
    pub fn find(explicit: Option<&Path>) -> Result<Project> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let cwd = std::env::current_dir().context("cannot read the current directory")?;
                cwd.ancestors()
                    .map(|d| d.join(FILE_NAME))
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        anyhow!(
                            "no {FILE_NAME} in {} or its parents: create one (see `strata \
                             apply --help`), run `strata pull` to write one from a registry, \
                             or give --file PATH",
                            cwd.display()
                        )
                    })?
            }
        };
        Project::load(&path)
    }

    /// Read and validate `path`.
    pub fn load(path: &Path) -> Result<Project> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: ProjectFile =
            toml::from_str(&text).map_err(|e| anyhow!("{} is not valid: {e}", path.display()))?;
        let root = path.parent().unwrap_or(Path::new("."));
        let default_level = file
            .defaults
            .compatibility
            .as_deref()
            .map(|l| level(l, path, "[defaults]"))
            .transpose()?;
        let mut subjects = Vec::with_capacity(file.subjects.len());
        let mut seen = HashMap::new();
        for entry in &file.subjects {
            let at = format!("subject '{}'", entry.name);
            if entry.name.is_empty() {
                bail!("{}: a [[subject]] has an empty name", path.display());
            }
            if seen.insert(entry.name.clone(), ()).is_some() {
                bail!(
                    "{}: {at} is declared twice: keep one [[subject]] per subject",
                    path.display()
                );
            }
            let file_path = root.join(&entry.file);
            let schema_type = match &entry.schema_type {
                Some(t) => SchemaType::from_str(t).map_err(|_| {
                    anyhow!(
                        "{}: {at} has type '{t}': give AVRO, PROTOBUF or JSON",
                        path.display()
                    )
                })?,
                None => inputs::schema_type_of(&file_path, None)
                    .with_context(|| format!("{}: {at}", path.display()))?,
            };
            subjects.push(Subject {
                name: entry.name.clone(),
                shown: entry.file.clone(),
                path: file_path,
                schema_type,
                level: match &entry.compatibility {
                    Some(l) => Some(level(l, path, &at)?),
                    None => default_level,
                },
                normalize: entry.normalize.or(file.defaults.normalize).unwrap_or(false),
                references: entry.references.clone(),
            });
        }
        let subjects = dependency_order(subjects).with_context(|| path.display().to_string())?;
        Ok(Project {
            path: path.to_path_buf(),
            registry: file.registry,
            subjects,
        })
    }
}

fn level(s: &str, path: &Path, at: &str) -> Result<CompatibilityLevel> {
    CompatibilityLevel::from_str(s).map_err(|_| {
        anyhow!(
            "{}: {at} has compatibility '{s}': give NONE, BACKWARD, BACKWARD_TRANSITIVE, \
             FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE",
            path.display()
        )
    })
}

/// References first, otherwise in file order; a cycle is an error that names it.
fn dependency_order(subjects: Vec<Subject>) -> Result<Vec<Subject>> {
    let index: HashMap<&str, usize> = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    // 0 unvisited, 1 on the current path, 2 done.
    let mut state = vec![0u8; subjects.len()];
    let mut order = Vec::with_capacity(subjects.len());
    fn visit(
        i: usize,
        subjects: &[Subject],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        path: &mut Vec<usize>,
        order: &mut Vec<usize>,
    ) -> Result<()> {
        match state[i] {
            2 => return Ok(()),
            1 => {
                let start = path.iter().position(|&p| p == i).unwrap_or(0);
                let cycle: Vec<&str> = path[start..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&p| subjects[p].name.as_str())
                    .collect();
                bail!(
                    "the references form a cycle: {}; a subject cannot reference itself, \
                     even through others",
                    cycle.join(" -> ")
                );
            }
            _ => {}
        }
        state[i] = 1;
        path.push(i);
        for r in &subjects[i].references {
            if let Some(&j) = index.get(r.subject.as_str()) {
                visit(j, subjects, index, state, path, order)?;
            }
        }
        path.pop();
        state[i] = 2;
        order.push(i);
        Ok(())
    }
    let mut path = Vec::new();
    for i in 0..subjects.len() {
        visit(i, &subjects, &index, &mut state, &mut path, &mut order)?;
    }
    let mut slots: Vec<Option<Subject>> = subjects.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// The registry's answer for a file: its version object under the subject, when registered.
pub async fn lookup(
    ctx: &Ctx,
    subject: &Subject,
    body: &serde_json::Value,
) -> Result<Option<serde_json::Value>> {
    let path = format!(
        "/subjects/{}?normalize={}",
        segment(&subject.name),
        subject.normalize
    );
    match ctx.send(Method::POST, &path, Some(body)).await {
        Ok(found) => Ok(Some(found)),
        // Confluent: no such subject, or the schema is not among its versions.
        Err(e)
            if matches!(
                crate::admin::subjects::error_code(&e),
                Some(error_code::SUBJECT_NOT_FOUND | error_code::SCHEMA_NOT_FOUND)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.context(format!(
            "cannot look up {} under subject '{}'",
            subject.shown, subject.name
        ))),
    }
}

/// The versions of `subject`'s references: pinned, else `known` (this project's subjects as
/// registered), else the referenced subject's latest version.
pub async fn resolve_references(
    ctx: &Ctx,
    subject: &Subject,
    known: &BTreeMap<String, i32>,
) -> Result<Vec<SchemaReference>> {
    let mut out = Vec::with_capacity(subject.references.len());
    for r in &subject.references {
        let version = match r.version.or_else(|| known.get(&r.subject).copied()) {
            Some(v) => v,
            None => {
                let latest = ctx
                    .get_opt(
                        &format!("/subjects/{}/versions/latest", segment(&r.subject)),
                        &[error_code::SUBJECT_NOT_FOUND, error_code::VERSION_NOT_FOUND],
                    )
                    .await?;
                latest
                    .and_then(|l| l["version"].as_i64())
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(|| {
                        anyhow!(
                            "subject '{}' references '{}' (as {}), which has no registered \
                             version: add it to {FILE_NAME} or register it first, or pin \
                             version = N",
                            subject.name,
                            r.subject,
                            r.name
                        )
                    })?
            }
        };
        out.push(SchemaReference {
            name: r.name.clone(),
            subject: r.subject.clone(),
            version,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join(FILE_NAME);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn references_come_first_and_cycles_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            r#"
[[subject]]
name = "orders"
file = "o.avsc"
references = [{ name = "A", subject = "address" }]

[[subject]]
name = "address"
file = "a.avsc"
compatibility = "FULL"
"#,
        );
        let project = Project::load(&p).unwrap();
        let names: Vec<&str> = project.subjects.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["address", "orders"]);
        assert_eq!(project.subjects[0].level, Some(CompatibilityLevel::Full));

        let p = write(
            dir.path(),
            r#"
[[subject]]
name = "a"
file = "a.avsc"
references = [{ name = "B", subject = "b" }]
[[subject]]
name = "b"
file = "b.avsc"
references = [{ name = "A", subject = "a" }]
"#,
        );
        let err = format!("{:#}", Project::load(&p).unwrap_err());
        assert!(err.contains("cycle: a -> b -> a"), "{err}");
    }

    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "[[subject]]\nname = \"a\"\nfile = 3\n");
        let err = format!("{:#}", Project::load(&p).unwrap_err());
        assert!(err.contains("line 3"), "{err}");
        let p = write(
            dir.path(),
            "[[subject]]\nname = \"a\"\nfile = \"a.avsc\"\ncompatibility = \"SOMETIMES\"\n",
        );
        let err = format!("{:#}", Project::load(&p).unwrap_err());
        assert!(err.contains("SOMETIMES"), "{err}");
    }
}
