//! `strata pull [DIR]`: the latest version of each subject into a schema file, and a
//! strata.toml that maps them (references, and the level of subjects that have their own).
//!
//! Files go to `DIR/schemas/<subject>.<ext>` (`<subject>` percent-encoded as in `strata
//! export`; `avsc`, `proto` or `json`), or to the file an existing `DIR/strata.toml` already
//! maps the subject to. An existing strata.toml is edited in place: its comments, formatting,
//! `[registry]`, `[defaults]` and other subjects stay as they are; a pulled subject's `file`,
//! `compatibility` and `references` are updated (keys whose value does not change are not
//! touched, comments on them included), new subjects are appended. A reference whose subject
//! is pulled too, at its latest version, is written without a version (it follows that
//! subject's file); other references are pinned.
//!
//! # JSON output
//!
//! `{"file": "DIR/strata.toml", "subjects": [{"subject", "version", "id", "file"}]}`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use strata_serde::error_code;

use anyhow::{anyhow, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use super::{ProjectFile, ReferenceEntry, SubjectEntry, FILE_NAME};
use crate::admin::export::{dot_subject, subject_dir, versions_by_query};
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
    let existing = if toml_path.is_file() {
        Some(
            std::fs::read_to_string(&toml_path)
                .with_context(|| format!("cannot read {}", toml_path.display()))?,
        )
    } else {
        None
    };
    let mut project = match &existing {
        Some(text) => toml::from_str::<ProjectFile>(text)
            .map_err(|e| anyhow!("{} is not valid: {e}", toml_path.display()))?,
        None => ProjectFile::default(),
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
    let text = match &existing {
        Some(text) => {
            edit(text, &pulled).with_context(|| format!("cannot edit {}", toml_path.display()))?
        }
        None => render(&project)?,
    };
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
        let body = if dot_subject(name) {
            // No URL path can name it: the last of its live versions from the schema list.
            versions_by_query(ctx, name, false)
                .await?
                .pop()
                .with_context(|| format!("subject '{name}' has no live version"))?
        } else {
            ctx.get(&format!("/subjects/{}/versions/latest", segment(name)))
                .await
                .with_context(|| format!("cannot read the latest version of '{name}'"))?
        };
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
        // `/config/.` would be sent as `/config/` (the global level): no URL names the subject.
        let own = if dot_subject(name) {
            None
        } else {
            ctx.get_opt(
                &format!("/config/{}", segment(name)),
                &[
                    error_code::SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
                    error_code::SUBJECT_NOT_FOUND,
                ],
            )
            .await?
        };
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

/// `text` (a valid strata.toml) with the pulled subjects updated or appended, everything else
/// (comments, order, formatting) as it was.
fn edit(text: &str, pulled: &[Pulled]) -> Result<String> {
    use toml_edit::{value, ArrayOfTables, DocumentMut, Item, Table};
    let mut doc: DocumentMut = text.parse().context("it is not TOML")?;
    if !doc.contains_key("subject") {
        doc.insert("subject", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let subjects = doc["subject"]
        .as_array_of_tables_mut()
        .ok_or_else(|| anyhow!("'subject' is not an array of [[subject]] tables"))?;
    for p in pulled {
        let e = &p.entry;
        let position = subjects
            .iter()
            .position(|t| t.get("name").and_then(|n| n.as_str()) == Some(e.name.as_str()));
        let table = match position {
            Some(k) => subjects.get_mut(k).expect("the position was just found"),
            None => {
                let mut t = Table::new();
                t.insert("name", value(e.name.clone()));
                subjects.push(t);
                let last = subjects.len() - 1;
                subjects.get_mut(last).expect("the table was just pushed")
            }
        };
        set_str(table, "file", Some(&e.file));
        set_str(table, "compatibility", e.compatibility.as_deref());
        let references = references_item(&e.references);
        let same = match (table.get("references"), &references) {
            (Some(old), Some(new)) => {
                old.as_array().map(ToString::to_string).map(|s| squash(&s))
                    == new.as_array().map(ToString::to_string).map(|s| squash(&s))
            }
            (None, None) => true,
            _ => false,
        };
        if !same {
            match references {
                Some(item) => {
                    table.insert("references", item);
                }
                None => {
                    table.remove("references");
                }
            }
        }
    }
    Ok(doc.to_string())
}

/// Set (or remove, for `None`) a string key, leaving it alone when it already has that value.
fn set_str(table: &mut toml_edit::Table, key: &str, v: Option<&str>) {
    match v {
        Some(v) if table.get(key).and_then(|i| i.as_str()) == Some(v) => {}
        Some(v) => {
            table.insert(key, toml_edit::value(v));
        }
        None => {
            table.remove(key);
        }
    }
}

/// An array's text without whitespace, to compare arrays whatever their layout.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// `references = [ {...}, ... ]`, one reference per line as [`render`] writes them.
fn references_item(references: &[ReferenceEntry]) -> Option<toml_edit::Item> {
    if references.is_empty() {
        return None;
    }
    let mut array = toml_edit::Array::new();
    for r in references {
        let mut t = toml_edit::InlineTable::new();
        t.insert("name", r.name.as_str().into());
        t.insert("subject", r.subject.as_str().into());
        if let Some(v) = r.version {
            t.insert("version", i64::from(v).into());
        }
        array.push(t);
    }
    for v in array.iter_mut() {
        v.decor_mut().set_prefix("\n  ");
    }
    array.set_trailing_comma(true);
    array.set_trailing("\n");
    Some(toml_edit::value(array))
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

    #[test]
    fn an_existing_file_keeps_its_comments_and_gets_the_pulled_subjects() {
        let before = r#"# The shop's schemas.
[registry]
url = "http://r:8081" # staging

# Orders, owned by team A.
[[subject]]
name = "orders-value"
file = "schemas/orders.avsc" # keep this path
compatibility = "FULL"

[[subject]]
name = "local-only"
file = "schemas/local.avsc"
"#;
        let pulled = |name: &str, file: &str, compatibility: Option<&str>, refs| Pulled {
            entry: SubjectEntry {
                name: name.into(),
                file: file.into(),
                schema_type: None,
                compatibility: compatibility.map(str::to_string),
                normalize: None,
                references: refs,
            },
            version: 1,
            id: 1,
            schema: String::new(),
        };
        let after = edit(
            before,
            &[
                pulled("orders-value", "schemas/orders.avsc", None, vec![]),
                pulled(
                    "users-value",
                    "schemas/users-value.avsc",
                    Some("NONE"),
                    vec![ReferenceEntry {
                        name: "a.B".into(),
                        subject: "b".into(),
                        version: Some(2),
                    }],
                ),
            ],
        )
        .unwrap();
        assert!(after.starts_with("# The shop's schemas.\n[registry]\nurl = \"http://r:8081\" # staging\n\n# Orders, owned by team A.\n"), "{after}");
        assert!(
            after.contains("file = \"schemas/orders.avsc\" # keep this path\n"),
            "{after}"
        );
        assert!(
            !after.contains("FULL"),
            "the registry has no level of its own: {after}"
        );
        assert!(after.contains("name = \"local-only\""), "{after}");
        assert!(
            after.ends_with("[[subject]]\nname = \"users-value\"\nfile = \"schemas/users-value.avsc\"\ncompatibility = \"NONE\"\nreferences = [\n  { name = \"a.B\", subject = \"b\", version = 2 },\n]\n"),
            "{after}"
        );
        let parsed: ProjectFile = toml::from_str(&after).unwrap();
        assert_eq!(parsed.subjects.len(), 3);
    }
}
