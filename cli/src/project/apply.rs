//! `strata apply`: make the registry hold what strata.toml says, subject by subject in
//! dependency order (references first).
//!
//! For each subject: when its declared level differs from the level in force for it, the
//! level is set first (so that the new level governs the registration that follows, which is
//! usually why it changed); then, when the file is not already registered under the subject
//! (`POST /subjects/{s}` answers 404), it is registered. A failing step (e.g. 409,
//! incompatible) stops the run with exit 1 and the registry's messages; earlier steps stay
//! applied. `--dry-run` computes the same plan and changes nothing.
//!
//! # JSON output
//!
//! ```json
//! {
//!   "dry_run": false,
//!   "changes": 2,
//!   "steps": [
//!     {"subject": "address-value", "action": "unchanged", "file": "schemas/address.avsc",
//!      "version": 1, "id": 1, "status": "unchanged"},
//!     {"subject": "orders-value", "action": "set_compatibility", "from": "BACKWARD",
//!      "to": "FULL", "status": "done"},
//!     {"subject": "orders-value", "action": "register", "file": "schemas/order.avsc",
//!      "version": 2, "id": 3, "status": "done"}
//!   ]
//! }
//! ```
//!
//! `status` is `planned` (dry run), `done`, `failed` (with `error`) or `unchanged`; absent
//! fields are omitted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::json;
use strata_serde::Method;

use super::{lookup, resolve_references, Project, Subject};
use crate::admin::schemas::schema_body;
use crate::admin::{block_on, segment, Ctx};
use crate::check::inputs;
use crate::connection::RegistryArgs;
use crate::output::{print_json, Output};

const EXAMPLES: &str = "\
Examples:
  strata apply --dry-run             # show the plan, change nothing
  strata apply                       # register what changed, references first; set levels
  strata apply --file infra/strata.toml --registry https://registry.example.com

strata.toml:
  [registry]
  url = \"http://localhost:8081\"
  [defaults]
  compatibility = \"BACKWARD\"
  [[subject]]
  name = \"address-value\"
  file = \"schemas/address.avsc\"
  [[subject]]
  name = \"orders-value\"
  file = \"schemas/order.avsc\"
  compatibility = \"FULL\"
  references = [{ name = \"com.acme.Address\", subject = \"address-value\" }]

Exit codes: 0 applied or nothing to do, 1 the registry refused a step (e.g. incompatible),
2 could not run (strata.toml invalid, registry unreachable).";

/// `strata apply`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ApplyArgs {
    /// Show the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The project file (default: strata.toml here or in the nearest parent).
    #[arg(long, value_name = "PATH")]
    file: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// One step of the plan.
#[derive(Debug, Serialize)]
struct Step {
    subject: String,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Step {
    fn new(subject: &Subject, action: &'static str, status: &'static str) -> Self {
        Step {
            subject: subject.name.clone(),
            action,
            file: None,
            from: None,
            to: None,
            version: None,
            id: None,
            after: None,
            status,
            error: None,
        }
    }

    fn text(&self, dry_run: bool) -> String {
        let file = self.file.as_deref().unwrap_or_default();
        let at = |v: &Option<i64>, id: &Option<i64>| match (v, id) {
            (Some(v), Some(id)) => format!(" as version {v} (id {id})"),
            _ => String::new(),
        };
        let body = match (self.action, self.status) {
            ("unchanged", _) => format!(
                "up to date ({file} is version {})",
                self.version.unwrap_or_default()
            ),
            ("set_compatibility", status) => format!(
                "{}set compatibility {} -> {}",
                match (dry_run, status) {
                    (true, _) => "would ",
                    (false, "failed") => "could not ",
                    _ => "",
                },
                self.from.as_deref().unwrap_or("?"),
                self.to.as_deref().unwrap_or("?")
            ),
            ("register", "planned") => format!(
                "would register {file}{}",
                self.after
                    .as_ref()
                    .map(|a| format!(" (after {a})"))
                    .unwrap_or_default()
            ),
            ("register", "failed") => format!("could not register {file} (see the error below)"),
            ("register", _) => format!("registered {file}{}", at(&self.version, &self.id)),
            _ => String::new(),
        };
        format!("{}: {body}", self.subject)
    }
}

/// Run `strata apply`.
pub fn run(args: ApplyArgs, output: Output) -> Result<()> {
    let project = Project::find(args.file.as_deref())?;
    let ctx = Ctx::with_project(&args.registry, output, project.registry.as_ref())?;
    let mut steps = Vec::new();
    let result = block_on(apply(&ctx, &project, args.dry_run, &mut steps));
    let changes = steps.iter().filter(|s| s.action != "unchanged").count();
    match output {
        Output::Json => print_json(&json!({
            "dry_run": args.dry_run,
            "changes": changes,
            "steps": steps,
        })),
        Output::Text => {
            for s in &steps {
                println!("{}", s.text(args.dry_run));
            }
            if result.is_ok() {
                if changes == 0 {
                    println!(
                        "nothing to do: {} subject{} up to date",
                        project.subjects.len(),
                        if project.subjects.len() == 1 { "" } else { "s" }
                    );
                } else if args.dry_run {
                    println!("dry run: {changes} change(s) planned, nothing applied");
                } else {
                    println!("applied {changes} change(s)");
                }
            }
        }
    }
    result
}

async fn apply(ctx: &Ctx, project: &Project, dry_run: bool, steps: &mut Vec<Step>) -> Result<()> {
    // This project's subjects as registered: the version its file is (or just became).
    let mut known: BTreeMap<String, i32> = BTreeMap::new();
    // Subjects a dry run would register: their next version is not known yet.
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for subject in &project.subjects {
        let s = segment(&subject.name);
        if let Some(level) = subject.level {
            let config = ctx
                .get(&format!("/config/{s}?defaultToGlobal=true"))
                .await
                .with_context(|| format!("cannot read the level of '{}'", subject.name))?;
            let current = config["compatibilityLevel"].as_str().unwrap_or("BACKWARD");
            if current != level.as_str() {
                let mut step = Step::new(subject, "set_compatibility", "planned");
                step.from = Some(current.to_string());
                step.to = Some(level.as_str().to_string());
                if !dry_run {
                    let put = ctx
                        .send(
                            Method::PUT,
                            &format!("/config/{s}"),
                            Some(&json!({ "compatibility": level.as_str() })),
                        )
                        .await;
                    if let Err(e) = put {
                        step.status = "failed";
                        step.error = Some(format!("{e:#}"));
                        steps.push(step);
                        return Err(e.context(format!(
                            "strata apply stopped at '{}': the steps before it are applied",
                            subject.name
                        )));
                    }
                    step.status = "done";
                }
                steps.push(step);
            }
        }

        let text = inputs::read_text(&subject.path)?;
        let waits_for = subject
            .references
            .iter()
            .find(|r| r.version.is_none() && pending.contains(&r.subject))
            .map(|r| r.subject.clone());
        let mut step = Step::new(subject, "register", "planned");
        step.file = Some(subject.shown.clone());
        if let Some(dep) = waits_for {
            // A reference gets a new version, so this schema's references change with it.
            step.after = Some(dep);
            pending.insert(subject.name.clone());
            steps.push(step);
            continue;
        }
        let refs = resolve_references(ctx, subject, &known).await?;
        let body = schema_body(subject.schema_type, &text, &refs);
        if let Some(found) = lookup(ctx, subject, &body).await? {
            step.action = "unchanged";
            step.status = "unchanged";
            step.version = found["version"].as_i64();
            step.id = found["id"].as_i64();
            if let Some(v) = step.version.and_then(|v| i32::try_from(v).ok()) {
                known.insert(subject.name.clone(), v);
            }
            steps.push(step);
            continue;
        }
        if dry_run {
            pending.insert(subject.name.clone());
            steps.push(step);
            continue;
        }
        let registered = ctx
            .send(
                Method::POST,
                &format!("/subjects/{s}/versions?normalize={}", subject.normalize),
                Some(&body),
            )
            .await;
        let registered = match registered {
            Ok(r) => r,
            Err(e) => {
                step.status = "failed";
                step.error = Some(format!("{e:#}"));
                steps.push(step);
                return Err(e.context(format!(
                    "strata apply stopped at '{}' ({}): the steps before it are applied",
                    subject.name, subject.shown
                )));
            }
        };
        step.status = "done";
        step.id = registered["id"].as_i64();
        step.version = match registered["version"].as_i64() {
            Some(v) => Some(v),
            // Pre-7.5 registries answer only the id.
            None => lookup(ctx, subject, &body)
                .await?
                .and_then(|f| f["version"].as_i64()),
        };
        if let Some(v) = step.version.and_then(|v| i32::try_from(v).ok()) {
            known.insert(subject.name.clone(), v);
        }
        steps.push(step);
    }
    Ok(())
}
