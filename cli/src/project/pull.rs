//! `strata pull [DIR]`: the latest version of each subject into a schema file, and a
//! strata.toml that maps them (references, and the level of subjects that have their own).
//!
//! Files go to `DIR/schemas/<subject>.<ext>` (`<subject>` percent-encoded as in `strata
//! export`; `avsc`, `proto` or `json`), or to the file an existing `DIR/strata.toml` already
//! maps the subject to. An existing strata.toml keeps its `[registry]`, `[defaults]` and
//! other subjects; it is rewritten, so comments in it are not kept. A reference whose subject
//! is pulled too, at its latest version, is written without a version (it follows that
//! subject's file); other references are pinned.
//!
//! # JSON output
//!
//! `{"file": "DIR/strata.toml", "subjects": [{"subject", "version", "id", "file"}]}`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::{ProjectFile, ReferenceEntry, SubjectEntry, FILE_NAME};
use crate::admin::export::subject_dir;
use crate::admin::{block_on, extension, query, segment, Ctx};
use crate::connection::RegistryArgs;
use crate::output::{print_json, Output};

const EXAMPLES: &str = "\
Examples:
  strata pull                          # into ./schemas and ./strata.toml
  strata pull infra/ --subject-prefix orders
  strata pull && strata apply --dry-run   # nothing to do

Exit codes: 0 done, 1 the registry refused, 2 could not run.";

/// `strata pull`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PullArgs {
    /// Where strata.toml and schemas/ go.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Only subjects starting with this prefix.
    #[arg(long, value_name = "PREFIX")]
    subject_prefix: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// One pulled subject.
struct Pulled {
    entry: SubjectEntry,
    version: i64,
    id: i64,
    schema: String,
}

/// Run `strata pull`.
pub fn run(args: PullArgs, output: Output) -> Result<()> {
    let toml_path = args.dir.join(FILE_NAME);
    let mut project = if toml_path.is_file() {
        let text = std::fs::read_to_string(&toml_path)
            .with_context(|| format!("cannot read {}", toml_path.display()))?;
        toml::from_str::<ProjectFile>(&text)
            .map_err(|e| anyhow!("{} is not valid: {e}", toml_path.display()))?
    } else {
        ProjectFile::default()
    };
    let ctx = Ctx::with_project(&args.registry, output, project.registry.as_ref())?;
    let pulled = block_on(pull(&ctx, args.subject_prefix.as_deref(), &project))?;

    for p in &pulled {
        let path = args.dir.join(&p.entry.file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let mut text = p.schema.clone();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        match project.subjects.iter_mut().find(|s| s.name == p.entry.name) {
            Some(existing) => *existing = p.entry.clone(),
            None => project.subjects.push(p.entry.clone()),
        }
    }
    let text = render(&project)?;
    std::fs::write(&toml_path, text)
        .with_context(|| format!("cannot write {}", toml_path.display()))?;

    match output {
        Output::Json => print_json(&json!({
            "file": toml_path.display().to_string(),
            "subjects": pulled.iter().map(|p| json!({
                "subject": p.entry.name,
                "version": p.version,
                "id": p.id,
                "file": p.entry.file,
            })).collect::<Vec<_>>(),
        })),
        Output::Text => {
            for p in &pulled {
                println!(
                    "{}: version {} (id {}) -> {}",
                    p.entry.name, p.version, p.id, p.entry.file
                );
            }
            println!(
                "wrote {} ({} subject{} pulled)",
                toml_path.display(),
                pulled.len(),
                if pulled.len() == 1 { "" } else { "s" }
            );
        }
    }
    Ok(())
}

async fn pull(ctx: &Ctx, prefix: Option<&str>, project: &ProjectFile) -> Result<Vec<Pulled>> {
    let mut path = "/subjects".to_string();
    if let Some(p) = prefix {
        path.push_str(&format!("?subjectPrefix={}", query(p)));
    }
    let mut names: Vec<String> = serde_json::from_value(
        ctx.get(&path)
            .await
            .with_context(|| format!("cannot list the subjects of {}", ctx.url))?,
    )
    .context("the registry's subject list is not a list of strings")?;
    names.sort();
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    for name in &names {
        let body = ctx
            .get(&format!("/subjects/{}/versions/latest", segment(name)))
            .await
            .with_context(|| format!("cannot read the latest version of '{name}'"))?;
        latest.insert(name.clone(), body);
    }
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        let body = &latest[name];
        let schema_type = body["schemaType"].as_str().unwrap_or("AVRO");
        let existing = project.subjects.iter().find(|s| &s.name == name);
        let file = existing.map(|s| s.file.clone()).unwrap_or_else(|| {
            format!(
                "schemas/{}.{}",
                subject_dir(name),
                extension(Some(schema_type))
            )
        });
        let references = body["references"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let subject = r["subject"].as_str().unwrap_or_default().to_string();
                let version = r["version"].as_i64();
                let follows = latest
                    .get(&subject)
                    .is_some_and(|l| l["version"].as_i64() == version);
                ReferenceEntry {
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    subject,
                    version: if follows {
                        None
                    } else {
                        version.and_then(|v| i32::try_from(v).ok())
                    },
                }
            })
            .collect();
        let own = ctx
            .get_opt(&format!("/config/{}", segment(name)), &[40408, 40401])
            .await?;
        let compatibility = own
            .as_ref()
            .and_then(|c| c["compatibilityLevel"].as_str())
            .map(str::to_string);
        out.push(Pulled {
            entry: SubjectEntry {
                name: name.clone(),
                file,
                schema_type: existing.and_then(|s| s.schema_type.clone()),
                compatibility,
                normalize: existing.and_then(|s| s.normalize),
                references,
            },
            version: body["version"].as_i64().unwrap_or_default(),
            id: body["id"].as_i64().unwrap_or_default(),
            schema: body["schema"].as_str().unwrap_or_default().to_string(),
        });
    }
    Ok(out)
}

/// strata.toml as people write it: `[registry]` and `[defaults]` first, then one
/// `[[subject]]` per subject with its references inline.
fn render(project: &ProjectFile) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Head<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        registry: Option<&'a crate::connection::FileRegistry>,
        #[serde(skip_serializing_if = "super::Defaults::is_empty")]
        defaults: &'a super::Defaults,
    }
    let mut out = toml::to_string_pretty(&Head {
        registry: project.registry.as_ref(),
        defaults: &project.defaults,
    })
    .context("cannot render strata.toml")?;
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    for s in &project.subjects {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!(
            "[[subject]]\nname = {}\nfile = {}\n",
            q(&s.name),
            q(&s.file)
        ));
        if let Some(t) = &s.schema_type {
            out.push_str(&format!("type = {}\n", q(t)));
        }
        if let Some(c) = &s.compatibility {
            out.push_str(&format!("compatibility = {}\n", q(c)));
        }
        if let Some(n) = s.normalize {
            out.push_str(&format!("normalize = {n}\n"));
        }
        if !s.references.is_empty() {
            out.push_str("references = [\n");
            for r in &s.references {
                let version = r
                    .version
                    .map(|v| format!(", version = {v}"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  {{ name = {}, subject = {}{version} }},\n",
                    q(&r.name),
                    q(&r.subject)
                ));
            }
            out.push_str("]\n");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_files_read_back_the_same() {
        let project: ProjectFile = toml::from_str(
            r#"
[registry]
url = "http://r:8081"
[defaults]
compatibility = "FULL"
[[subject]]
name = "a \"quoted\" subject"
file = "schemas/a.avsc"
[[subject]]
name = "b"
file = "schemas/b.proto"
type = "PROTOBUF"
compatibility = "NONE"
normalize = true
references = [{ name = "a.proto", subject = "a \"quoted\" subject", version = 2 }, { name = "c", subject = "c" }]
"#,
        )
        .unwrap();
        let text = render(&project).unwrap();
        let again: ProjectFile = toml::from_str(&text).unwrap();
        assert_eq!(render(&again).unwrap(), text);
        assert!(
            text.contains("references = [\n  { name = \"a.proto\""),
            "{text}"
        );
        assert!(
            text.starts_with("[registry]\nurl = \"http://r:8081\"\n"),
            "{text}"
        );
    }
}
