//! `strata check` without NEW files: every subject of strata.toml, online (the registry
//! judges each at its own level) or offline with `--against` (at the level strata.toml
//! declares, `--level` overriding). References between subjects of the file are resolved from
//! their files offline, and from what the registry holds for those files online.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use strata_serde::error_code;

use anyhow::{bail, Context, Result};

use super::report::{FileResult, OutputFormat, Report};
use super::{check_file, check_transitive, inputs, online, CheckArgs, Source};
use crate::admin::{segment, Ctx};
use crate::output::{notice, Output};
use crate::project::Project;

/// Every subject of strata.toml: offline with `--against`, else online.
pub fn check(args: &CheckArgs, format: OutputFormat) -> Result<Report> {
    let project = Project::find(args.project_file.as_deref())
        .context("without NEW files, strata check checks the subjects of strata.toml")?;
    if project.subjects.is_empty() {
        bail!(
            "{} declares no [[subject]]: add one, or run `strata pull` to write them",
            project.path.display()
        );
    }
    if args.against.is_empty() {
        return check_online(args, &project, format);
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let shown = |p: &Path| p.strip_prefix(&cwd).unwrap_or(p).to_path_buf();
    let sources = args
        .against
        .iter()
        .map(|a| Source::resolve(a, project.subjects.len()))
        .collect::<Result<Vec<_>>>()?;
    let mut results = Vec::new();
    let mut levels = BTreeSet::new();
    for subject in &project.subjects {
        let mut sub = args.clone();
        sub.level = args.level.or(subject.level);
        sub.schema_type = Some(inputs::TypeArg::from(subject.schema_type));
        sub.normalize = args.normalize || subject.normalize;
        // References to subjects of the file are read from their files.
        sub.reference
            .extend(subject.references.iter().filter_map(|r| {
                let target = project.subjects.iter().find(|s| s.name == r.subject)?;
                Some(inputs::ReferenceArg {
                    name: r.name.clone(),
                    path: target.path.clone(),
                })
            }));
        check_transitive(&sub).with_context(|| format!("subject '{}'", subject.name))?;
        levels.insert(sub.level().as_str());
        results.extend(
            check_file(&sub, &shown(&subject.path), &sources)
                .into_iter()
                .map(|r| FileResult {
                    subject: Some(subject.name.clone()),
                    ..r
                }),
        );
    }
    let level = match levels.len() {
        1 => levels.into_iter().next().unwrap_or("BACKWARD"),
        _ => "PER_SUBJECT",
    };
    Ok(Report::new(level, results))
}

/// Every subject of strata.toml against the registry, each at the level the registry has for
/// it. References without a version follow the file of their subject when it is registered,
/// else that subject's latest version.
fn check_online(args: &CheckArgs, project: &Project, format: OutputFormat) -> Result<Report> {
    let notes = match format {
        OutputFormat::Json => Output::Json,
        _ => Output::Text,
    };
    let ctx = Ctx::with_project(&args.registry, Output::Text, project.registry.as_ref())?;
    crate::admin::block_on(async {
        let mut known = BTreeMap::new();
        let mut texts = Vec::with_capacity(project.subjects.len());
        for subject in &project.subjects {
            let text = inputs::read_text(&subject.path);
            if let Ok(text) = &text {
                let refs = crate::project::resolve_references(&ctx, subject, &known).await;
                if let Ok(refs) = refs {
                    let body = crate::admin::schemas::schema_body(subject.schema_type, text, &refs);
                    if let Some(found) = crate::project::lookup(&ctx, subject, &body).await? {
                        if let Some(v) = found["version"]
                            .as_i64()
                            .and_then(|v| i32::try_from(v).ok())
                        {
                            known.insert(subject.name.clone(), v);
                        }
                    }
                }
            }
            texts.push(text);
        }
        let mut results = Vec::new();
        for (subject, text) in project.subjects.iter().zip(texts) {
            if let Some(declared) = subject.level {
                let path = format!("/config/{}?defaultToGlobal=true", segment(&subject.name));
                if let Ok(config) = ctx.get(&path).await {
                    let current = config["compatibilityLevel"].as_str().unwrap_or("BACKWARD");
                    if current != declared.as_str() {
                        // The registry judges at its own level; say so rather than mislead.
                        notice(
                            notes,
                            &format!(
                                "note: {} declares {declared} but the registry has {current}; \
                                 it is checked at {current} (`strata apply` sets {declared} \
                                 before registering)",
                                subject.name
                            ),
                            serde_json::json!({"note": {
                                "subject": subject.name,
                                "declared": declared.as_str(),
                                "registry": current,
                            }}),
                        );
                    }
                }
            }
            let error = |e: anyhow::Error| FileResult {
                file: subject.shown.clone(),
                subject: None,
                against: None,
                compatible: false,
                findings: Vec::new(),
                error: Some(format!("{e:#}")),
            };
            let text = match text {
                Ok(t) => t,
                Err(e) => {
                    results.push(error(e));
                    continue;
                }
            };
            let references = match crate::project::resolve_references(&ctx, subject, &known).await {
                Ok(r) => r,
                Err(e) => {
                    // A subject the registry does not have yet has nothing to be incompatible
                    // with, even when what it references is new too.
                    let versions = format!("/subjects/{}/versions", segment(&subject.name));
                    let result = match ctx
                        .get_opt(&versions, &[error_code::SUBJECT_NOT_FOUND])
                        .await
                    {
                        Ok(None) => FileResult {
                            file: subject.shown.clone(),
                            subject: None,
                            against: None,
                            compatible: true,
                            findings: Vec::new(),
                            error: None,
                        },
                        _ => error(e),
                    };
                    results.push(result);
                    continue;
                }
            };
            let target = online::Target {
                client: ctx.client.clone(),
                url: ctx.url.clone(),
                subject: subject.name.clone(),
                version: args.subject_version,
                references,
            };
            results.push(online::check(&target, &subject.shown, subject.schema_type, &text).await);
        }
        // One result per subject, in order.
        for (r, subject) in results.iter_mut().zip(&project.subjects) {
            r.subject = Some(subject.name.clone());
        }
        // The levels are the subjects' own, applied by the registry.
        Ok(Report::new("REGISTRY", results))
    })
}
