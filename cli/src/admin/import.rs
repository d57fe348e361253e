//! `strata import DIR`: restore what `strata export` wrote, preserving ids and versions.
//!
//! The target is switched to IMPORT mode (Confluent refuses this while live subjects exist;
//! `--force` asks anyway, for adding to a registry whose ids do not clash: versions already
//! there with the same id are skipped, and an id or version taken by something else stops the
//! import before anything is written). Every version is registered with its original id and
//! version in ascending id order (a reference always points at an earlier registration),
//! soft-deleted versions are soft-deleted again once all are registered, then configs (global
//! and per subject) and per-subject modes are restored. The target's own global mode is put
//! back at the end, also when a step fails; the exported global mode is not applied (a source
//! frozen READONLY for the move should not freeze the target).
//!
//! Only files inside the export directory are read: every `file` of the manifest must be a
//! relative path without `..` and, symlinks followed, lead inside the directory; otherwise the
//! import stops before reading any file or registering anything.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use strata_serde::error_code;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};
use strata_serde::Method;

use super::export::{dot_subject, ExportedVersion, Manifest, FORMAT};
use super::progress::Progress;
use super::settings::{config_update, set_mode};
use super::{block_on, segment, Ctx};
use crate::connection::RegistryArgs;
use crate::output::{print_json, Negative, Output};

const EXAMPLES: &str = "\
Examples:
  strata import backup/ --registry http://new-registry:8081
  strata import backup/ --force        # into a registry that already has subjects

Exit codes: 0 done, 1 the registry refused (e.g. the target is not empty), 2 could not run.";

/// `strata import`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ImportArgs {
    /// A directory written by `strata export`.
    dir: PathBuf,
    /// Import although the target has subjects (ids and versions must not clash).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    progress: crate::output::ProgressArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// What an import did.
#[derive(Debug, Default)]
struct Counts {
    subjects: usize,
    versions: usize,
    skipped: usize,
    deleted: usize,
    configs: usize,
    modes: usize,
}

/// Run `strata import`.
pub fn run(args: ImportArgs, output: Output) -> Result<()> {
    args.progress.apply();
    let manifest = read_manifest(&args.dir)?;
    if let Some(s) = manifest.subjects.iter().find(|s| dot_subject(&s.subject)) {
        bail!(
            "the export holds subject '{}', which no URL can name (registering it would send \
             /subjects/versions); nothing was imported. Remove it from manifest.json to import \
             the rest",
            s.subject
        );
    }
    let ctx = Ctx::new(&args.registry, output)?;
    let counts = block_on(async {
        let previous = ctx
            .get("/mode")
            .await
            .with_context(|| format!("cannot read the mode of {}", ctx.url))?["mode"]
            .as_str()
            .unwrap_or("READWRITE")
            .to_string();
        if let Err(e) = set_mode(&ctx, None, "IMPORT", args.force).await {
            if crate::admin::subjects::error_code(&e) == Some(error_code::OPERATION_NOT_PERMITTED)
                && !args.force
            {
                // Confluent refuses IMPORT while live subjects exist.
                return Err(anyhow::Error::new(Negative(format!(
                    "{} already has subjects: import into an empty registry, or pass --force \
                     to import next to them (ids and versions must not clash)",
                    ctx.url
                ))));
            }
            return Err(e);
        }
        let result = import(&ctx, &args.dir, &manifest, args.force).await;
        // Put the mode back whatever happened.
        let restored = set_mode(&ctx, None, &previous, true).await;
        let counts = result?;
        restored.context("the import is done but the previous global mode was not restored")?;
        Ok(counts)
    })?;
    match output {
        Output::Json => print_json(&json!({
            "subjects": counts.subjects,
            "versions": counts.versions,
            "skipped": counts.skipped,
            "deleted": counts.deleted,
            "configs": counts.configs,
            "modes": counts.modes,
        })),
        Output::Text => println!(
            "imported {} subjects, {} versions ({} already there, {} soft-deleted), {} configs, {} modes from {}",
            counts.subjects,
            counts.versions,
            counts.skipped,
            counts.deleted,
            counts.configs,
            counts.modes,
            args.dir.display()
        ),
    }
    Ok(())
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: give a directory written by `strata export`",
            path.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a strata export manifest", path.display()))?;
    if manifest.format != FORMAT {
        bail!(
            "{} has format '{}'; this strata reads '{FORMAT}'",
            path.display(),
            manifest.format
        );
    }
    Ok(manifest)
}

/// The schema file a manifest names, which must lie inside the export directory: a relative
/// path without `..`, that (symlinks followed) still leads inside it. A manifest is data and
/// may come from anyone; it must not make the import read (and send to a registry) any other
/// file.
fn schema_file(dir: &Path, file: &str) -> Result<PathBuf> {
    use std::path::Component;
    let rel = Path::new(file);
    let inside = !file.is_empty()
        && rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        bail!(
            "the manifest names the schema file '{file}', which is not inside the export \
             directory: files must be relative paths without '..'"
        );
    }
    let path = dir.join(rel);
    let root = dir
        .canonicalize()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    let real = path
        .canonicalize()
        .with_context(|| format!("cannot read {}", path.display()))?;
    if !real.starts_with(&root) {
        bail!(
            "the manifest's schema file '{file}' is a link to {}, outside the export directory; \
             it is not read",
            real.display()
        );
    }
    Ok(real)
}

async fn import(ctx: &Ctx, dir: &Path, manifest: &Manifest, force: bool) -> Result<Counts> {
    let mut counts = Counts {
        subjects: manifest.subjects.len(),
        ..Counts::default()
    };
    let order = registration_order(manifest);
    let mut texts = Vec::with_capacity(order.len());
    // Every file is checked before any is read or anything is registered.
    let files = order
        .iter()
        .map(|(_, v)| schema_file(dir, &v.file))
        .collect::<Result<Vec<_>>>()?;
    for file in files {
        texts.push(
            std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?,
        );
    }
    // Into a registry that has subjects (--force): find what is there already, and refuse
    // before writing anything when an id or a version is taken by something else.
    let mut skip = vec![false; order.len()];
    if force {
        for (k, (subject, v)) in order.iter().enumerate() {
            skip[k] = already_there(ctx, subject, v).await?;
            if !skip[k] {
                id_free(ctx, v, &texts[k]).await?;
            }
        }
    }
    let progress = Progress::new(order.len() as u64, "importing versions");
    for (k, (subject, v)) in order.iter().enumerate() {
        if skip[k] {
            counts.skipped += 1;
            progress.inc();
            continue;
        }
        let text = &texts[k];
        let mut body = json!({
            "schema": text,
            "schemaType": v.schema_type,
            "references": v.references,
            "id": v.id,
            "version": v.version,
        });
        if let Some(m) = &v.metadata {
            body["metadata"] = m.clone();
        }
        if let Some(r) = &v.rule_set {
            body["ruleSet"] = r.clone();
        }
        ctx.send(
            Method::POST,
            &format!("/subjects/{}/versions", segment(subject)),
            Some(&body),
        )
        .await
        .with_context(|| {
            format!(
                "cannot import version {} (id {}) of '{subject}'",
                v.version, v.id
            )
        })?;
        counts.versions += 1;
        progress.inc();
    }
    progress.finish();
    for (subject, v) in order.iter().filter(|(_, v)| v.deleted) {
        let path = format!("/subjects/{}/versions/{}", segment(subject), v.version);
        if force
            && ctx
                .get_opt(
                    &path,
                    &[error_code::SUBJECT_NOT_FOUND, error_code::VERSION_NOT_FOUND],
                )
                .await?
                .is_none()
        {
            // Already soft-deleted there.
            continue;
        }
        ctx.send(
            Method::DELETE,
            &format!("/subjects/{}/versions/{}", segment(subject), v.version),
            None,
        )
        .await
        .with_context(|| format!("cannot soft-delete version {} of '{subject}'", v.version))?;
        counts.deleted += 1;
    }
    put_config(ctx, "/config", &manifest.config).await?;
    counts.configs += 1;
    for s in &manifest.subjects {
        if let Some(config) = &s.config {
            put_config(ctx, &format!("/config/{}", segment(&s.subject)), config).await?;
            counts.configs += 1;
        }
        if let Some(mode) = &s.mode {
            set_mode(ctx, Some(&s.subject), mode, true).await?;
            counts.modes += 1;
        }
    }
    Ok(counts)
}

/// The versions in the order to register them: each after the versions it references (when
/// they are in the export), else by ascending id, subject and version.
fn registration_order(manifest: &Manifest) -> Vec<(&str, &ExportedVersion)> {
    let mut all: Vec<(&str, &ExportedVersion)> = manifest
        .subjects
        .iter()
        .flat_map(|s| s.versions.iter().map(move |v| (s.subject.as_str(), v)))
        .collect();
    all.sort_by_key(|(s, v)| (v.id, *s, v.version));
    let index: HashMap<(&str, i32), usize> = all
        .iter()
        .enumerate()
        .map(|(k, (s, v))| ((*s, v.version), k))
        .collect();
    // Kahn's algorithm; `ready` holds positions in id order, so the smallest id goes first.
    let mut waiting_on = vec![0usize; all.len()];
    let mut referrers: Vec<Vec<usize>> = vec![Vec::new(); all.len()];
    for (k, (_, v)) in all.iter().enumerate() {
        for r in &v.references {
            if let Some(&dep) = index.get(&(r.subject.as_str(), r.version)) {
                if dep != k {
                    waiting_on[k] += 1;
                    referrers[dep].push(k);
                }
            }
        }
    }
    let mut ready: BTreeSet<usize> = (0..all.len()).filter(|&k| waiting_on[k] == 0).collect();
    let mut done = vec![false; all.len()];
    let mut order = Vec::with_capacity(all.len());
    while let Some(k) = ready.pop_first() {
        done[k] = true;
        order.push(all[k]);
        for &r in &referrers[k] {
            waiting_on[r] -= 1;
            if waiting_on[r] == 0 {
                ready.insert(r);
            }
        }
    }
    // A cycle cannot be registered in any order; leave its versions in id order, and let the
    // registry say what is wrong.
    order.extend(
        all.iter()
            .enumerate()
            .filter(|(k, _)| !done[*k])
            .map(|(_, v)| *v),
    );
    order
}

/// With --force: whether the target already has this version with this id (skip it); a
/// version there with another id is an error, as ids must be preserved.
async fn already_there(ctx: &Ctx, subject: &str, v: &ExportedVersion) -> Result<bool> {
    let path = format!(
        "/subjects/{}/versions/{}?deleted=true",
        segment(subject),
        v.version
    );
    match ctx
        .get_opt(
            &path,
            &[error_code::SUBJECT_NOT_FOUND, error_code::VERSION_NOT_FOUND],
        )
        .await?
    {
        None => Ok(false),
        Some(there) if there["id"].as_i64() == Some(i64::from(v.id)) => Ok(true),
        Some(there) => Err(anyhow::Error::new(Negative(format!(
            "version {} of '{subject}' exists in the target with id {}, not {}: ids cannot be \
             preserved; import into an empty registry",
            v.version, there["id"], v.id
        )))),
    }
}

/// With --force: an id the target gives to another schema cannot be preserved.
async fn id_free(ctx: &Ctx, v: &ExportedVersion, text: &str) -> Result<()> {
    let there = ctx
        .get_opt(
            &format!("/schemas/ids/{}", v.id),
            &[error_code::SCHEMA_NOT_FOUND],
        )
        .await?;
    match there {
        Some(there) if there["schema"].as_str() != Some(text) => {
            Err(anyhow::Error::new(Negative(format!(
                "id {} is taken in the target by another schema: ids cannot be preserved; \
                 import into an empty registry",
                v.id
            ))))
        }
        _ => Ok(()),
    }
}

async fn put_config(ctx: &Ctx, path: &str, config: &Value) -> Result<()> {
    let update = config_update(config);
    if update.as_object().is_none_or(|m| m.is_empty()) {
        return Ok(());
    }
    ctx.send(Method::PUT, path, Some(&update))
        .await
        .with_context(|| format!("cannot restore the config at {path}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_schema::SchemaReference;

    fn version(id: i32, references: &[(&str, i32)]) -> ExportedVersion {
        ExportedVersion {
            version: 1,
            id,
            schema_type: "AVRO".into(),
            references: references
                .iter()
                .map(|(s, v)| SchemaReference {
                    name: format!("n.{s}"),
                    subject: s.to_string(),
                    version: *v,
                })
                .collect(),
            deleted: false,
            file: String::new(),
            metadata: None,
            rule_set: None,
        }
    }

    #[test]
    fn referenced_versions_come_before_referrers_whatever_their_ids() {
        let manifest: Manifest = Manifest {
            format: FORMAT.into(),
            config: Value::Null,
            mode: "READWRITE".into(),
            subjects: vec![
                subject("a", version(1, &[("c", 1)])),
                subject("b", version(2, &[])),
                subject("c", version(5, &[("d", 1)])),
                subject("d", version(9, &[])),
            ],
        };
        let order: Vec<&str> = registration_order(&manifest)
            .iter()
            .map(|(s, _)| *s)
            .collect();
        assert_eq!(order, ["b", "d", "c", "a"]);
    }

    fn subject(name: &str, v: ExportedVersion) -> super::super::export::ExportedSubject {
        super::super::export::ExportedSubject {
            subject: name.into(),
            config: None,
            mode: None,
            versions: vec![v],
        }
    }
}
