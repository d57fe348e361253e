//! `strata export DIR`: every subject (soft-deleted ones included, so that ids consumers may
//! still resolve survive a restore), every version with its id, type, references, metadata and
//! rule set, the global and per-subject config and mode.
//!
//! # Layout
//!
//! ```text
//! DIR/manifest.json                    what follows, and where each schema text is
//! DIR/subjects/<subject>/v<N>.<ext>    the schema text as the registry stores it
//! ```
//!
//! `<subject>` is the subject percent-encoded like a URL path segment (`/` → `%2F`, a leading
//! `.` → `%2E`); `<ext>` is `avsc`, `proto` or `json`. `manifest.json`:
//!
//! ```json
//! {
//!   "format": "strata-export/1",
//!   "config": {"compatibilityLevel": "BACKWARD"},
//!   "mode": "READWRITE",
//!   "subjects": [
//!     {
//!       "subject": "orders-value",
//!       "config": {"compatibilityLevel": "FULL"},
//!       "mode": null,
//!       "versions": [
//!         {"version": 1, "id": 3, "schemaType": "AVRO", "references": [],
//!          "deleted": false, "file": "subjects/orders-value/v1.avsc"}
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! `config`/`mode` of a subject are `null` when it has none of its own; a version's `metadata`
//! and `ruleSet` appear when the registry has them. Subjects are sorted by name, versions
//! ascending.

use std::path::{Path, PathBuf};
use strata_serde::error_code;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use strata_schema::SchemaReference;

use super::{block_on, extension, segment, Ctx};
use crate::connection::RegistryArgs;
use crate::output::{print_json, Output};

const EXAMPLES: &str = "\
Examples:
  strata export backup/ --registry http://old-registry:8081
  strata import backup/ --registry http://new-registry:8081

Exit codes: 0 done, 1 the registry refused, 2 could not run.";

/// The manifest's `format` value.
pub const FORMAT: &str = "strata-export/1";

/// `strata export`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ExportArgs {
    /// The directory to write (created; must be empty or not exist).
    dir: PathBuf,
    /// Leave soft-deleted subjects and versions out.
    #[arg(long)]
    no_deleted: bool,
    #[command(flatten)]
    progress: crate::output::ProgressArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// `manifest.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The global Config object.
    pub config: Value,
    /// The global mode.
    pub mode: String,
    /// Every subject.
    pub subjects: Vec<ExportedSubject>,
}

/// One subject of the manifest.
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportedSubject {
    /// The subject.
    pub subject: String,
    /// Its own Config object, if any.
    pub config: Option<Value>,
    /// Its own mode, if any.
    pub mode: Option<String>,
    /// Its versions, ascending.
    pub versions: Vec<ExportedVersion>,
}

/// One version of the manifest.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportedVersion {
    /// The version number.
    pub version: i32,
    /// The schema id.
    pub id: i32,
    /// `AVRO`, `PROTOBUF` or `JSON`.
    pub schema_type: String,
    /// Its references.
    #[serde(default)]
    pub references: Vec<SchemaReference>,
    /// Whether it is soft-deleted.
    #[serde(default)]
    pub deleted: bool,
    /// The schema text's file, relative to the export directory.
    pub file: String,
    /// Confluent metadata, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Confluent rule set, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<Value>,
}

/// A subject no URL path can name: `.` and `..` are dot segments, which URL normalisation
/// removes even percent-encoded (`/subjects/%2E/versions` is sent as `/subjects/versions`).
/// Their versions are read through `/schemas?subjectPrefix=` (a query is not normalised), see
/// [`versions_by_query`]; their config and mode cannot be read at all.
pub fn dot_subject(subject: &str) -> bool {
    subject == "." || subject == ".."
}

/// Every version object of `subject` (all of them with `deleted`, else the live ones), read
/// through `/schemas?subjectPrefix=`, page by page, for subjects a path cannot name.
pub async fn versions_by_query(ctx: &Ctx, subject: &str, deleted: bool) -> Result<Vec<Value>> {
    const PAGE: usize = 1000;
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page: Vec<Value> = serde_json::from_value(
            ctx.get(&format!(
                "/schemas?subjectPrefix={}&deleted={deleted}&offset={offset}&limit={PAGE}",
                super::query(subject)
            ))
            .await
            .with_context(|| format!("cannot list the schemas of '{subject}'"))?,
        )
        .context("the registry's schema list is not a list")?;
        let n = page.len();
        out.extend(page.into_iter().filter(|s| s["subject"] == subject));
        if n < PAGE {
            break;
        }
        offset += PAGE;
    }
    out.sort_by_key(|s| s["version"].as_i64());
    Ok(out)
}

/// The file (or directory) name of a subject: the one encoder from subject to file name.
/// Percent-encoded as a URL path segment (`/` → `%2F`, non-ASCII bytes → `%XX`), and a leading
/// `.` → `%2E`, so `.`, `..` and hidden names never mean anything to the file system.
pub fn subject_dir(subject: &str) -> String {
    let s = segment(subject);
    match s.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => s,
    }
}

/// Run `strata export`.
pub fn run(args: ExportArgs, output: Output) -> Result<()> {
    args.progress.apply();
    let ctx = Ctx::new(&args.registry, output)?;
    prepare(&args.dir)?;
    let manifest = block_on(export(&ctx, &args.dir, !args.no_deleted))?;
    let text = serde_json::to_string_pretty(&manifest).context("cannot render the manifest")?;
    let path = args.dir.join("manifest.json");
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    let versions: usize = manifest.subjects.iter().map(|s| s.versions.len()).sum();
    let mut ids: Vec<i32> = manifest
        .subjects
        .iter()
        .flat_map(|s| s.versions.iter().map(|v| v.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match output {
        Output::Json => print_json(&json!({
            "directory": args.dir.display().to_string(),
            "subjects": manifest.subjects.len(),
            "versions": versions,
            "schemas": ids.len(),
        })),
        Output::Text => println!(
            "exported {} subjects, {versions} versions ({} schemas) to {}",
            manifest.subjects.len(),
            ids.len(),
            args.dir.display()
        ),
    }
    Ok(())
}

fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}: give a directory", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} is not empty: export into a new or empty directory",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir.join("subjects"))
        .with_context(|| format!("cannot create {}", dir.display()))
}

async fn export(ctx: &Ctx, dir: &Path, deleted: bool) -> Result<Manifest> {
    let config = ctx
        .get("/config")
        .await
        .with_context(|| format!("cannot read the global config of {}", ctx.url))?;
    let mode = ctx
        .get("/mode")
        .await
        .context("cannot read the global mode")?["mode"]
        .as_str()
        .unwrap_or("READWRITE")
        .to_string();
    let mut names: Vec<String> =
        serde_json::from_value(ctx.get(&format!("/subjects?deleted={deleted}")).await?)
            .context("the registry's subject list is not a list of strings")?;
    names.sort();
    let progress = super::progress::Progress::new(names.len() as u64, "exporting subjects");
    let mut subjects = Vec::with_capacity(names.len());
    for name in names {
        subjects.push(export_subject(ctx, dir, &name, deleted).await?);
        progress.inc();
    }
    progress.finish();
    Ok(Manifest {
        format: FORMAT.into(),
        config,
        mode,
        subjects,
    })
}

/// Writes one version's schema text and describes it for the manifest.
fn write_version(
    dir: &Path,
    sub_dir: &str,
    name: &str,
    v: i32,
    body: &Value,
    deleted: bool,
) -> Result<ExportedVersion> {
    let schema_type = body["schemaType"].as_str().unwrap_or("AVRO").to_string();
    let file = format!("{sub_dir}/v{v}.{}", extension(Some(&schema_type)));
    std::fs::write(dir.join(&file), body["schema"].as_str().unwrap_or_default())
        .with_context(|| format!("cannot write {}", dir.join(&file).display()))?;
    let present = |k: &str| body.get(k).filter(|x| !x.is_null()).cloned();
    Ok(ExportedVersion {
        version: v,
        id: body["id"]
            .as_i64()
            .and_then(|i| i32::try_from(i).ok())
            .with_context(|| format!("version {v} of '{name}' has no id"))?,
        schema_type,
        references: serde_json::from_value(body.get("references").cloned().unwrap_or(json!([])))
            .unwrap_or_default(),
        deleted,
        file,
        metadata: present("metadata"),
        rule_set: present("ruleSet"),
    })
}

/// [`export_subject`] for `.` and `..` (see [`dot_subject`]): versions through the schema
/// list; config and mode left out, with a notice, since no request can name the subject.
async fn export_dot_subject(
    ctx: &Ctx,
    dir: &Path,
    name: &str,
    deleted: bool,
) -> Result<ExportedSubject> {
    let all = versions_by_query(ctx, name, deleted).await?;
    let live: Vec<i64> = versions_by_query(ctx, name, false)
        .await?
        .iter()
        .filter_map(|b| b["version"].as_i64())
        .collect();
    let sub_dir = format!("subjects/{}", subject_dir(name));
    std::fs::create_dir_all(dir.join(&sub_dir))
        .with_context(|| format!("cannot create {}", dir.join(&sub_dir).display()))?;
    let mut versions = Vec::with_capacity(all.len());
    for body in &all {
        let v = body["version"]
            .as_i64()
            .and_then(|v| i32::try_from(v).ok())
            .with_context(|| format!("a version of '{name}' has no number"))?;
        versions.push(write_version(
            dir,
            &sub_dir,
            name,
            v,
            body,
            !live.contains(&i64::from(v)),
        )?);
    }
    crate::output::notice(
        ctx.output,
        &format!(
            "subject '{name}': versions exported; its config and mode are not (no URL can name \
             a subject called '{name}')"
        ),
        json!({"notice": "config and mode not exported", "subject": name}),
    );
    Ok(ExportedSubject {
        subject: name.to_string(),
        config: None,
        mode: None,
        versions,
    })
}

async fn export_subject(
    ctx: &Ctx,
    dir: &Path,
    name: &str,
    deleted: bool,
) -> Result<ExportedSubject> {
    if dot_subject(name) {
        return export_dot_subject(ctx, dir, name, deleted).await;
    }
    let s = segment(name);
    let all: Vec<i32> = serde_json::from_value(
        ctx.get(&format!("/subjects/{s}/versions?deleted={deleted}"))
            .await
            .with_context(|| format!("cannot list the versions of '{name}'"))?,
    )
    .context("the registry's version list is not a list of numbers")?;
    // A subject whose versions are all soft-deleted has no live list (SUBJECT_NOT_FOUND).
    let live: Vec<i32> = match ctx
        .get_opt(
            &format!("/subjects/{s}/versions"),
            &[error_code::SUBJECT_NOT_FOUND],
        )
        .await?
    {
        Some(v) => serde_json::from_value(v).unwrap_or_default(),
        None => Vec::new(),
    };
    let sub_dir = format!("subjects/{}", subject_dir(name));
    std::fs::create_dir_all(dir.join(&sub_dir))
        .with_context(|| format!("cannot create {}", dir.join(&sub_dir).display()))?;
    let mut versions = Vec::with_capacity(all.len());
    for v in all {
        let body = ctx
            .get(&format!("/subjects/{s}/versions/{v}?deleted=true"))
            .await
            .with_context(|| format!("cannot read version {v} of '{name}'"))?;
        versions.push(write_version(
            dir,
            &sub_dir,
            name,
            v,
            &body,
            !live.contains(&v),
        )?);
    }
    let config = ctx
        .get_opt(
            &format!("/config/{s}"),
            &[
                error_code::SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
                error_code::SUBJECT_NOT_FOUND,
            ],
        )
        .await?;
    let mode = ctx
        .get_opt(
            &format!("/mode/{s}"),
            &[
                error_code::SUBJECT_MODE_NOT_CONFIGURED,
                error_code::SUBJECT_NOT_FOUND,
            ],
        )
        .await?
        .and_then(|m| m["mode"].as_str().map(str::to_string));
    Ok(ExportedSubject {
        subject: name.to_string(),
        config,
        mode,
        versions,
    })
}
