//! `strata subjects list|versions|get|delete`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use serde_json::json;
use strata_serde::error_code;

use super::{block_on, parse_version, query, segment, Ctx};
use crate::connection::RegistryArgs;
use crate::output::{print_json, print_schema, Output};

const EXAMPLES: &str = "\
Examples:
  strata subjects list --prefix orders
  strata subjects versions orders-value --deleted
  strata subjects get orders-value --version 2 > order-v2.avsc
  strata subjects get orders-value --output json
  strata subjects delete orders-value --version 1
  strata subjects delete orders-value --permanent

Exit codes: 0 done, 1 the registry refused or found nothing (e.g. unknown subject), 2 could not run.";

/// `strata subjects`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct SubjectsArgs {
    #[command(subcommand)]
    command: SubjectsCommand,
}

#[derive(Debug, Subcommand)]
enum SubjectsCommand {
    /// List subjects.
    #[command(after_help = EXAMPLES)]
    List {
        /// Only subjects starting with this prefix.
        #[arg(long, value_name = "PREFIX")]
        prefix: Option<String>,
        /// Include soft-deleted subjects.
        #[arg(long)]
        deleted: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// List a subject's versions.
    #[command(after_help = EXAMPLES)]
    Versions {
        /// The subject.
        subject: String,
        /// Include soft-deleted versions.
        #[arg(long)]
        deleted: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Print a version's schema (text) or the registry's version object (--output json).
    #[command(after_help = EXAMPLES, disable_version_flag = true)]
    Get {
        /// The subject.
        subject: String,
        /// A version number or latest.
        #[arg(long, value_name = "N|latest", default_value = "latest", value_parser = parse_version)]
        version: String,
        /// Also find soft-deleted versions.
        #[arg(long)]
        deleted: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Delete a subject or one version: soft by default (ids stay resolvable); --permanent
    /// soft-deletes then hard-deletes, as Confluent requires.
    #[command(after_help = EXAMPLES, disable_version_flag = true)]
    Delete {
        /// The subject.
        subject: String,
        /// Only this version.
        #[arg(long, value_name = "N|latest", value_parser = parse_version)]
        version: Option<String>,
        /// Remove for good (soft delete first when needed, then hard delete).
        #[arg(long)]
        permanent: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// Run `strata subjects …`.
pub fn run(args: SubjectsArgs, output: Output) -> Result<()> {
    match args.command {
        SubjectsCommand::List {
            prefix,
            deleted,
            registry,
        } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(list(&ctx, prefix.as_deref(), deleted))
        }
        SubjectsCommand::Versions {
            subject,
            deleted,
            registry,
        } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(versions(&ctx, &subject, deleted))
        }
        SubjectsCommand::Get {
            subject,
            version,
            deleted,
            registry,
        } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(get(&ctx, &subject, &version, deleted))
        }
        SubjectsCommand::Delete {
            subject,
            version,
            permanent,
            registry,
        } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(delete(&ctx, &subject, version.as_deref(), permanent))
        }
    }
}

async fn list(ctx: &Ctx, prefix: Option<&str>, deleted: bool) -> Result<()> {
    let mut path = format!("/subjects?deleted={deleted}");
    if let Some(p) = prefix {
        path.push_str(&format!("&subjectPrefix={}", query(p)));
    }
    let subjects = ctx
        .get(&path)
        .await
        .with_context(|| format!("cannot list the subjects of {}", ctx.url))?;
    match ctx.output {
        Output::Json => print_json(&subjects),
        Output::Text => {
            for s in subjects.as_array().into_iter().flatten() {
                println!("{}", s.as_str().unwrap_or_default());
            }
        }
    }
    Ok(())
}

async fn versions(ctx: &Ctx, subject: &str, deleted: bool) -> Result<()> {
    let versions = ctx
        .get(&format!(
            "/subjects/{}/versions?deleted={deleted}",
            segment(subject)
        ))
        .await
        .with_context(|| format!("cannot list the versions of subject '{subject}'"))?;
    match ctx.output {
        Output::Json => print_json(&versions),
        Output::Text => {
            for v in versions.as_array().into_iter().flatten() {
                println!("{v}");
            }
        }
    }
    Ok(())
}

async fn get(ctx: &Ctx, subject: &str, version: &str, deleted: bool) -> Result<()> {
    let body = ctx
        .get(&format!(
            "/subjects/{}/versions/{version}?deleted={deleted}",
            segment(subject)
        ))
        .await
        .with_context(|| format!("cannot get version {version} of subject '{subject}'"))?;
    match ctx.output {
        Output::Json => print_json(&body),
        Output::Text => print_schema(&body),
    }
    Ok(())
}

async fn delete(ctx: &Ctx, subject: &str, version: Option<&str>, permanent: bool) -> Result<()> {
    let what = match version {
        Some(v) => format!("version {v} of subject '{subject}'"),
        None => format!("subject '{subject}'"),
    };
    // A version argument is a number or `latest` (checked by its parser).
    let number = version.and_then(|v| v.parse::<i32>().ok());
    let delete = |permanent: bool| async move {
        match version {
            None => ctx.client.delete_subject(subject, permanent).await,
            Some(_) => ctx
                .client
                .delete_version(subject, number, permanent)
                .await
                .map(|v| vec![v]),
        }
    };
    let deleted = match delete(false).await {
        Ok(v) => v,
        // Confluent: already soft-deleted (the subject, or the version); fine before a
        // permanent delete.
        Err(e)
            if permanent
                && matches!(
                    e.error_code(),
                    Some(error_code::SUBJECT_SOFT_DELETED | error_code::VERSION_SOFT_DELETED)
                ) =>
        {
            Vec::new()
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("cannot delete {what}"))),
    };
    let versions = if permanent {
        delete(true)
            .await
            .with_context(|| format!("cannot permanently delete {what}"))?
    } else {
        deleted
    };
    match ctx.output {
        Output::Json => print_json(&json!({
            "subject": subject,
            "versions": versions,
            "permanent": permanent,
        })),
        Output::Text => {
            let list: Vec<String> = versions.iter().map(i32::to_string).collect();
            let how = if permanent {
                "permanently deleted"
            } else {
                "soft-deleted (ids stay resolvable; --permanent removes them for good)"
            };
            println!(
                "{subject}: version{} {} {how}",
                if list.len() == 1 { "" } else { "s" },
                list.join(", ")
            );
        }
    }
    Ok(())
}

/// The registry error code inside an error, if any.
pub fn error_code(e: &anyhow::Error) -> Option<i32> {
    e.chain()
        .find_map(|c| c.downcast_ref::<strata_serde::Error>())
        .and_then(strata_serde::Error::error_code)
}
