//! `strata check`: are new schema files compatible with their old versions?
//!
//! Offline: old versions come from files, a directory or a git revision; no registry is
//! contacted. Online (`--subject S`, the registry from `--registry`, `STRATA_REGISTRY_URL` or
//! the config file; in `online.rs`): the registry checks the file against the subject, latest
//! or all versions as the subject's level asks. Without NEW files, every subject of
//! strata.toml is checked: online at the level the registry has for it, or offline with
//! `--against` at the level strata.toml declares (`--level` overrides). Everything about
//! schemas (parsing, normalising, compatibility) is asked of
//! `strata_schema`; this module only wires the flags, the inputs (`inputs.rs`, `git.rs`) and
//! the report (`report.rs`, which documents the JSON shape).
//!
//! Exit codes: 0 compatible, 1 incompatible findings, 2 usage, configuration, parse or I/O
//! errors (2 wins over 1: a run where something could not be checked is never reported as a
//! mere incompatibility, and never as success).

mod git;
pub(crate) mod inputs;
pub(crate) mod online;
mod project;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use strata_schema::{
    check_compatibility, CompatibilityLevel, CompatibilityPolicy, Dependency, Incompatibility,
    ParseOptions, ParsedSchema, SchemaType,
};

use self::git::{GitRevision, ObjectKind};
use self::inputs::{ReferenceArg, TypeArg};
use self::report::{FileResult, Finding, OutputFormat, Report};
use crate::admin::Ctx;
use crate::connection::RegistryArgs;
use crate::output::Output;

const EXAMPLES: &str = "\
Examples:
  # One file against its previous version
  strata check schemas/user.avsc --against old/user.avsc

  # Every file against the same file name in a directory
  strata check schemas/*.avsc --against released/

  # Against the files committed on main (no checkout), as GitHub annotations
  strata check schemas/*.proto --against git:main --format github

  # Against a directory of a tag, with imports resolved from proto/
  strata check proto/orders.proto --against git:v1.2.0:proto --proto-path proto

  # Transitively against several old versions, oldest first
  strata check user.avsc --against v1/user.avsc --against v2/user.avsc --level BACKWARD_TRANSITIVE

  # A reference, named as the schema names it
  strata check order.avsc --against git:HEAD --reference com.acme.Address=address.avsc

  # Online: may this file be registered under the subject, at the subject's level?
  strata check user.avsc --registry http://localhost:8081 --subject users-value

  # Every subject of strata.toml, online (registry from flags, config or strata.toml)
  strata check

  # Every subject of strata.toml, offline against main, at the levels strata.toml declares
  strata check --against git:main

Exit codes: 0 compatible, 1 incompatible, 2 usage, configuration, parse or I/O error.";

/// Flags of `strata check`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct CheckArgs {
    /// New schema files to check; none: every subject of strata.toml.
    #[arg(value_name = "NEW")]
    files: Vec<PathBuf>,

    /// Old versions: a file, a directory (matched by relative path, then by file name) or
    /// git:REV[:PATH] (read with git show, nothing is checked out). Repeat for transitive
    /// levels, oldest first.
    #[arg(long, value_name = "OLD", conflicts_with = "subject")]
    against: Vec<String>,

    /// Online mode: the subject to check against (one NEW file).
    #[arg(long, value_name = "SUBJECT")]
    subject: Option<String>,

    /// The project file when no NEW file is given (default: strata.toml here or in the
    /// nearest parent).
    #[arg(long = "file", value_name = "PATH")]
    project_file: Option<PathBuf>,

    /// Online mode: compare with this version only, instead of what the subject's level asks.
    #[arg(long, value_name = "N", requires = "subject")]
    subject_version: Option<i32>,

    /// Online mode: a reference as Confluent writes it, NAME:SUBJECT:VERSION. Repeatable.
    #[arg(long, value_name = "NAME:SUBJECT:VERSION", value_parser = online::parse_registry_reference, requires = "subject")]
    registry_reference: Vec<strata_schema::SchemaReference>,

    /// Online mode: how to reach the registry.
    #[command(flatten)]
    registry: RegistryArgs,

    /// Schema format; by default from the extension (.avsc/.avro.json, .proto, .json).
    #[arg(long = "type", value_enum, value_name = "TYPE")]
    schema_type: Option<TypeArg>,

    /// A referenced schema, NAME=PATH (NAME as the schema refers to it). Repeatable.
    #[arg(long, value_name = "NAME=PATH", value_parser = inputs::parse_reference)]
    reference: Vec<ReferenceArg>,

    /// A directory where Protobuf imports are looked up. Repeatable.
    #[arg(long, value_name = "DIR")]
    proto_path: Vec<PathBuf>,

    /// Compatibility level: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE,
    /// FULL or FULL_TRANSITIVE [default: BACKWARD, or what strata.toml declares].
    #[arg(long, value_parser = parse_level)]
    level: Option<CompatibilityLevel>,

    /// Compatibility policy: STRICT or LENIENT.
    #[arg(long, default_value = "STRICT", value_parser = parse_policy)]
    policy: CompatibilityPolicy,

    /// Normalise both schemas before comparing (as the registry's normalize=true).
    #[arg(long)]
    normalize: bool,

    /// Output format [default: text, or json with --output json].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
}

impl CheckArgs {
    /// The level to check at.
    fn level(&self) -> CompatibilityLevel {
        self.level.unwrap_or(CompatibilityLevel::Backward)
    }
}

fn parse_level(s: &str) -> Result<CompatibilityLevel, String> {
    CompatibilityLevel::from_str(s).map_err(|e| e.to_string())
}

fn parse_policy(s: &str) -> Result<CompatibilityPolicy, String> {
    CompatibilityPolicy::from_str(s).map_err(|e| e.to_string())
}

/// Run `strata check` and map its outcome to the documented exit code.
pub fn run(args: CheckArgs, output: Output) -> ExitCode {
    let format = args.format.unwrap_or(match output {
        Output::Json => OutputFormat::Json,
        Output::Text => OutputFormat::Text,
    });
    match check(&args, format) {
        Ok(report) => {
            print!("{}", report.render(format));
            if report.has_errors() {
                ExitCode::from(2)
            } else if !report.compatible {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let (_, hint) = crate::output::classify(&e);
            // Never 0 nor 1 when something could not be checked.
            crate::output::report_error(output, &format!("{e:#}"), hint, 2);
            ExitCode::from(2)
        }
    }
}

/// Where old versions come from, as resolved before any file is checked.
#[derive(Debug)]
enum Source {
    /// One file, for a single NEW file.
    File(PathBuf),
    /// A directory.
    Dir(PathBuf),
    /// A single file at a git revision.
    GitFile(GitRevision, String),
    /// A directory at a git revision (`None`: each NEW file's own path in the repository).
    GitDir(GitRevision, Option<String>),
}

impl Source {
    /// Resolve one `--against` value; errors here are configuration errors.
    fn resolve(value: &str, new_files: usize) -> Result<Self> {
        let single = |what: &str| -> Result<()> {
            if new_files > 1 {
                bail!(
                    "--against {what} is a single file but {new_files} NEW files were given: \
                     give a directory or git:REV to check several files, or one NEW file"
                );
            }
            Ok(())
        };
        if let Some(spec) = value.strip_prefix("git:") {
            let (rev, path) = match spec.split_once(':') {
                Some((rev, path)) => (rev, Some(path.trim_matches('/'))),
                None => (spec, None),
            };
            if rev.is_empty() {
                bail!("--against {value}: name a revision, e.g. git:main or git:HEAD~1:schemas");
            }
            let repo = GitRevision::open(Path::new("."), rev)?;
            return Ok(match path {
                None => Source::GitDir(repo, None),
                Some(p) => match repo.kind(p)? {
                    Some(ObjectKind::Blob) => {
                        single(value)?;
                        Source::GitFile(repo, p.to_string())
                    }
                    Some(ObjectKind::Tree) => Source::GitDir(repo, Some(p.to_string())),
                    None => bail!(
                        "--against {value}: '{p}' does not exist at revision {rev} \
                         (paths are relative to the repository root; see `git ls-tree -r {rev}`)"
                    ),
                },
            });
        }
        let path = PathBuf::from(value);
        if path.is_dir() {
            Ok(Source::Dir(path))
        } else if path.is_file() {
            single(value)?;
            Ok(Source::File(path))
        } else {
            bail!(
                "--against {value} does not exist: give an existing file, a directory, \
                 or git:REV[:PATH]"
            )
        }
    }

    /// The old version of `new`: its label and text, or `None` when there is none.
    fn old_version(&self, new: &Path) -> Result<Option<(String, String)>> {
        let relative = new.is_relative().then(|| slash_path(new));
        let name = inputs::file_name(new);
        match self {
            Source::File(p) => Ok(Some((p.display().to_string(), inputs::read_text(p)?))),
            Source::Dir(dir) => {
                let candidates = relative
                    .iter()
                    .map(|r| dir.join(r))
                    .chain(std::iter::once(dir.join(&name)));
                for c in candidates {
                    if c.is_file() {
                        return Ok(Some((c.display().to_string(), inputs::read_text(&c)?)));
                    }
                }
                Ok(None)
            }
            Source::GitFile(repo, p) => read_git(repo, p),
            Source::GitDir(repo, None) => {
                let rel = repo.relative(new).ok_or_else(|| {
                    anyhow!(
                        "{} is not inside the git repository {}: run strata check from the \
                         repository that holds the file",
                        new.display(),
                        repo.root.display()
                    )
                })?;
                read_git(repo, &rel)
            }
            Source::GitDir(repo, Some(dir)) => {
                let join = |r: &str| {
                    if dir.is_empty() {
                        r.to_string()
                    } else {
                        format!("{dir}/{r}")
                    }
                };
                let candidates = relative
                    .iter()
                    .map(|r| join(r))
                    .chain(std::iter::once(join(&name)));
                for c in candidates {
                    if let Some(found) = read_git(repo, &c)? {
                        return Ok(Some(found));
                    }
                }
                Ok(None)
            }
        }
    }
}

fn read_git(repo: &GitRevision, path: &str) -> Result<Option<(String, String)>> {
    Ok(repo
        .read(path)?
        .map(|text| (format!("git:{}:{path}", repo.rev), text)))
}

/// `path` with `/` separators and without a leading `./`.
fn slash_path(path: &Path) -> String {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Check every NEW file; configuration errors end the run, per-file errors go in the report.
fn check(args: &CheckArgs, format: OutputFormat) -> Result<Report> {
    if args.files.is_empty() {
        if args.subject.is_some() {
            bail!("--subject checks one NEW file: give the file to check");
        }
        return project::check(args, format);
    }
    if let Some(subject) = &args.subject {
        return check_online(args, subject);
    }
    if args.against.is_empty() {
        bail!(
            "nothing to compare with: give --against OLD (offline: a file, a directory or \
             git:REV) or --subject SUBJECT (online, with --registry URL)"
        );
    }
    check_transitive(args)?;
    let sources = args
        .against
        .iter()
        .map(|a| Source::resolve(a, args.files.len()))
        .collect::<Result<Vec<_>>>()?;
    let mut results = Vec::new();
    for file in &args.files {
        results.extend(check_file(args, file, &sources));
    }
    Ok(Report::new(args.level().as_str(), results))
}

/// A non-transitive level compares with one old version only.
fn check_transitive(args: &CheckArgs) -> Result<()> {
    let level = args.level();
    if !level.is_transitive() && args.against.len() > 1 {
        bail!(
            "--level {level} compares with one old version but --against was given {} times: \
             give --against once, or use {level}_TRANSITIVE to compare with several (oldest first)",
            args.against.len(),
        );
    }
    Ok(())
}

/// Online mode: each NEW file against the subject, judged by the registry.
fn check_online(args: &CheckArgs, subject: &str) -> Result<Report> {
    if args.files.len() > 1 {
        bail!(
            "--subject checks one file but {} were given: run strata check once per subject",
            args.files.len()
        );
    }
    let ctx = Ctx::new(&args.registry, Output::Text)?;
    let target = online::Target {
        client: ctx.client.clone(),
        url: ctx.url.clone(),
        subject: subject.to_string(),
        version: args.subject_version,
        references: args.registry_reference.clone(),
    };
    let runtime = crate::connection::runtime()?;
    let mut results = Vec::new();
    for file in &args.files {
        let shown = file.display().to_string();
        let loaded = inputs::schema_type_of(file, args.schema_type)
            .and_then(|t| Ok((t, inputs::read_text(file)?)));
        results.push(match loaded {
            Ok((schema_type, text)) => {
                runtime.block_on(online::check(&target, &shown, schema_type, &text))
            }
            Err(e) => FileResult {
                file: shown,
                subject: None,
                against: None,
                compatible: false,
                findings: Vec::new(),
                error: Some(format!("{e:#}")),
            },
        });
    }
    // The level is the subject's own, applied by the registry: reported as REGISTRY.
    Ok(Report::new("REGISTRY", results))
}

/// The results of one NEW file: one per old version found, or one with its error.
fn check_file(args: &CheckArgs, file: &Path, sources: &[Source]) -> Vec<FileResult> {
    let shown = file.display().to_string();
    let error = |against: Option<String>, e: anyhow::Error| FileResult {
        file: shown.clone(),
        subject: None,
        against,
        compatible: false,
        findings: Vec::new(),
        error: Some(format!("{e:#}")),
    };
    let new = match load(args, file, &shown, None) {
        Ok(n) => n,
        Err(e) => return vec![error(None, e)],
    };
    // Oldest first on the command line, one result per old version in that order.
    let mut olds = Vec::new();
    for source in sources {
        match source.old_version(file) {
            Ok(Some((label, text))) => match load(args, file, &label, Some(&text)) {
                Ok(old) => olds.push((label, old)),
                Err(e) => return vec![error(Some(label), e)],
            },
            Ok(None) => {}
            Err(e) => return vec![error(None, e)],
        }
    }
    if olds.is_empty() {
        // A new file: nothing to be incompatible with, as a subject's first registration.
        return vec![FileResult {
            file: shown,
            subject: None,
            against: None,
            compatible: true,
            findings: Vec::new(),
            error: None,
        }];
    }
    olds.into_iter()
        .map(|(label, old)| compare(args, &shown, &new, label, &old))
        .collect()
}

/// Parse and optionally normalise one schema: the NEW `file` (read from disk) when `old_text`
/// is `None`, else an old version of it, shown as `shown` in messages. The format is the NEW
/// file's.
fn load(
    args: &CheckArgs,
    file: &Path,
    shown: &str,
    old_text: Option<&str>,
) -> Result<ParsedSchema> {
    let as_new = old_text.is_none();
    let schema_type = inputs::schema_type_of(file, args.schema_type)?;
    let text = old_text;
    let text = match text {
        Some(t) => t.to_string(),
        None => inputs::read_text(file)?,
    };
    let mut deps: Vec<Dependency> =
        inputs::reference_dependencies(&args.reference, args.schema_type, schema_type)?;
    if schema_type == SchemaType::Protobuf {
        let found = inputs::proto_dependencies(&text, &args.proto_path, &deps)?;
        deps.extend(found);
    }
    let what = if as_new { "new" } else { "old" };
    let parsed = ParsedSchema::parse(
        schema_type,
        &text,
        &deps,
        // Old versions are parsed leniently, as the registry parses stored schemas.
        ParseOptions {
            validate_as_new: as_new,
        },
    )
    .with_context(|| {
        format!(
            "the {what} {schema_type} schema {shown} does not parse: fix it, or pass --type if \
             the format is not {schema_type}, and --reference/--proto-path for what it imports"
        )
    })?;
    if args.normalize {
        return parsed
            .normalize()
            .with_context(|| format!("cannot normalise the {what} schema {shown}"));
    }
    Ok(parsed)
}

/// Compare one new schema with one old version.
fn compare(
    args: &CheckArgs,
    file: &str,
    new: &ParsedSchema,
    label: String,
    old: &ParsedSchema,
) -> FileResult {
    let verdict = check_compatibility(args.level(), args.policy, new, &[(1, old)]);
    let mut findings = Vec::new();
    if args.level() != CompatibilityLevel::None {
        // FULL lists the old-reads-new findings first, as Confluent's messages do.
        if args.level().checks_forward() {
            findings.extend(direction(args, CompatibilityLevel::Forward, new, old));
        }
        if args.level().checks_backward() {
            findings.extend(direction(args, CompatibilityLevel::Backward, new, old));
        }
    }
    if !verdict.is_compatible && findings.is_empty() {
        findings.extend(verdict.messages.iter().map(|m| Finding {
            kind: "INCOMPATIBLE".into(),
            path: String::new(),
            message: m.clone(),
        }));
    }
    FileResult {
        file: file.to_string(),
        subject: None,
        against: Some(label),
        compatible: verdict.is_compatible && findings.is_empty(),
        findings,
        error: None,
    }
}

/// The findings of one direction (`Forward`: the old schema reads new data; `Backward`: the
/// new schema reads old data). Kinds and paths come from `backward_differences`; messages
/// from `check_compatibility` at that level, which renders the roles (`new`, `old`) the way
/// Confluent does for that direction. Its list holds one message per difference, in the same
/// order, followed by what Confluent appends (at least the config in effect).
fn direction(
    args: &CheckArgs,
    level: CompatibilityLevel,
    new: &ParsedSchema,
    old: &ParsedSchema,
) -> Vec<Finding> {
    let (reader, writer, reader_role, writer_role) = if level == CompatibilityLevel::Forward {
        (old, new, "old", "new")
    } else {
        (new, old, "new", "old")
    };
    let found = reader.backward_differences(writer, args.policy);
    let rendered = check_compatibility(level, args.policy, new, &[(1, old)]).messages;
    let aligned = rendered.len() > found.len();
    found
        .into_iter()
        .enumerate()
        .map(|(k, i)| match rendered.get(k).filter(|_| aligned) {
            Some(message) => Finding {
                kind: i.kind,
                path: i.path,
                message: message.clone(),
            },
            None => finding(i, reader_role, writer_role),
        })
        .collect()
}

/// A finding with Confluent's `%s` placeholders filled with the reader and writer roles.
fn finding(i: Incompatibility, reader: &str, writer: &str) -> Finding {
    let mut message = String::new();
    let mut rest = i.message.as_str();
    let mut roles = [reader, writer].into_iter().cycle();
    while let Some(at) = rest.find("%s") {
        message.push_str(&rest[..at]);
        message.push_str(roles.next().unwrap_or(reader));
        rest = &rest[at + 2..];
    }
    message.push_str(rest);
    Finding {
        kind: i.kind,
        path: i.path,
        message,
    }
}
