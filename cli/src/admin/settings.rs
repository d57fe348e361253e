//! `strata config get|set|delete` (compatibility level and policy) and `strata mode get|set`.

use std::str::FromStr;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use strata_schema::{CompatibilityLevel, CompatibilityPolicy};
use strata_serde::Method;

use super::{block_on, segment, Ctx};
use crate::connection::RegistryArgs;
use crate::output::{print_json, Output};

const CONFIG_EXAMPLES: &str = "\
Examples:
  strata config get                              # the global level
  strata config get orders-value --default-to-global
  strata config set FULL                         # the global level
  strata config set orders-value BACKWARD_TRANSITIVE
  strata config set orders-value FULL --policy LENIENT
  strata config delete orders-value              # back to the global level

Exit codes: 0 done, 1 the registry refused (e.g. no subject-level config), 2 could not run.";

const MODE_EXAMPLES: &str = "\
Examples:
  strata mode get
  strata mode get orders-value --default-to-global
  strata mode set READONLY
  strata mode set orders-value READWRITE
  strata mode set IMPORT --force                 # even though subjects exist

Exit codes: 0 done, 1 the registry refused, 2 could not run.";

/// `strata config`.
#[derive(Debug, Args)]
#[command(after_help = CONFIG_EXAMPLES)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the global or a subject's compatibility settings.
    #[command(after_help = CONFIG_EXAMPLES)]
    Get {
        /// The subject; the global settings when absent.
        subject: Option<String>,
        /// For a subject without settings of its own, print the global ones.
        #[arg(long)]
        default_to_global: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Set the global or a subject's compatibility level: `set LEVEL` or `set SUBJECT LEVEL`.
    #[command(after_help = CONFIG_EXAMPLES)]
    Set {
        /// [SUBJECT] LEVEL. LEVEL: NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD,
        /// FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE.
        #[arg(value_name = "SUBJECT|LEVEL", num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// Compatibility policy: STRICT or LENIENT.
        #[arg(long, value_name = "POLICY")]
        policy: Option<String>,
        /// Whether the registry normalises schemas of this scope.
        #[arg(long, value_name = "true|false")]
        normalize: Option<bool>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Remove a subject's own settings (it follows the global ones again).
    #[command(after_help = CONFIG_EXAMPLES)]
    Delete {
        /// The subject.
        subject: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// `strata mode`.
#[derive(Debug, Args)]
#[command(after_help = MODE_EXAMPLES)]
pub struct ModeArgs {
    #[command(subcommand)]
    command: ModeCommand,
}

#[derive(Debug, Subcommand)]
enum ModeCommand {
    /// Print the global or a subject's mode.
    #[command(after_help = MODE_EXAMPLES)]
    Get {
        /// The subject; the global mode when absent.
        subject: Option<String>,
        /// For a subject without a mode of its own, print the global one.
        #[arg(long)]
        default_to_global: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Set the global or a subject's mode: `set MODE` or `set SUBJECT MODE`.
    #[command(after_help = MODE_EXAMPLES)]
    Set {
        /// [SUBJECT] MODE. MODE: READWRITE, READONLY, IMPORT (FORWARD: global only).
        #[arg(value_name = "SUBJECT|MODE", num_args = 1..=2, required = true)]
        args: Vec<String>,
        /// Allow IMPORT although subjects exist.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// `/config` or `/config/{s}`.
fn config_path(subject: Option<&str>) -> String {
    match subject {
        Some(s) => format!("/config/{}", segment(s)),
        None => "/config".into(),
    }
}

/// `/mode` or `/mode/{s}`.
fn mode_path(subject: Option<&str>) -> String {
    match subject {
        Some(s) => format!("/mode/{}", segment(s)),
        None => "/mode".into(),
    }
}

/// `[SUBJECT] VALUE` from one or two positional values.
fn subject_and_value(args: &[String]) -> (Option<&str>, &str) {
    match args {
        [value] => (None, value),
        [subject, value, ..] => (Some(subject), value),
        [] => (None, ""),
    }
}

fn scope(subject: Option<&str>) -> String {
    subject.map_or_else(|| "global".to_string(), |s| format!("'{s}'"))
}

/// Text rendering of a Config object: the level first, then the other settings.
fn config_text(config: &Value) -> String {
    let mut lines = Vec::new();
    if let Some(map) = config.as_object() {
        for key in ["compatibilityLevel", "compatibility"] {
            if let Some(level) = map.get(key).and_then(Value::as_str) {
                lines.push(level.to_string());
            }
        }
        for (k, v) in map {
            if k != "compatibilityLevel" && k != "compatibility" && !v.is_null() {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                lines.push(format!("{k}: {v}"));
            }
        }
    }
    lines.join("\n")
}

/// Run `strata config …`.
pub fn run_config(args: ConfigArgs, output: Output) -> Result<()> {
    match args.command {
        ConfigCommand::Get {
            subject,
            default_to_global,
            registry,
        } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(async {
                let path = format!(
                    "{}?defaultToGlobal={default_to_global}",
                    config_path(subject.as_deref())
                );
                let config = ctx.get(&path).await.with_context(|| {
                    format!("cannot get the {} config", scope(subject.as_deref()))
                })?;
                match ctx.output {
                    Output::Json => print_json(&config),
                    Output::Text => println!("{}", config_text(&config)),
                }
                Ok(())
            })
        }
        ConfigCommand::Set {
            args,
            policy,
            normalize,
            registry,
        } => {
            let (subject, level) = subject_and_value(&args);
            let level = CompatibilityLevel::from_str(level).map_err(|_| {
                anyhow::anyhow!(
                    "'{level}' is not a compatibility level: give NONE, BACKWARD, \
                     BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL or FULL_TRANSITIVE"
                )
            })?;
            let mut body = Map::new();
            body.insert("compatibility".into(), json!(level.as_str()));
            if let Some(p) = policy {
                let p = CompatibilityPolicy::from_str(&p).map_err(|_| {
                    anyhow::anyhow!("'{p}' is not a compatibility policy: give STRICT or LENIENT")
                })?;
                body.insert("compatibilityPolicy".into(), json!(p.as_str()));
            }
            if let Some(n) = normalize {
                body.insert("normalize".into(), json!(n));
            }
            let ctx = Ctx::new(&registry, output)?;
            block_on(async {
                let echo = ctx
                    .send(
                        Method::PUT,
                        &config_path(subject),
                        Some(&Value::Object(body)),
                    )
                    .await
                    .with_context(|| format!("cannot set the {} config", scope(subject)))?;
                match ctx.output {
                    Output::Json => print_json(&echo),
                    Output::Text => println!(
                        "{} compatibility set to {}",
                        scope(subject),
                        echo["compatibility"].as_str().unwrap_or(level.as_str())
                    ),
                }
                Ok(())
            })
        }
        ConfigCommand::Delete { subject, registry } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(async {
                let previous = ctx
                    .send(Method::DELETE, &config_path(Some(&subject)), None)
                    .await
                    .with_context(|| format!("cannot delete the config of '{subject}'"))?;
                match ctx.output {
                    Output::Json => print_json(&previous),
                    Output::Text => println!(
                        "'{subject}' config removed (was {}); it follows the global config",
                        previous["compatibilityLevel"].as_str().unwrap_or("unset")
                    ),
                }
                Ok(())
            })
        }
    }
}

/// Run `strata mode …`.
pub fn run_mode(args: ModeArgs, output: Output) -> Result<()> {
    match args.command {
        ModeCommand::Get {
            subject,
            default_to_global,
            registry,
        } => {
            let ctx = Ctx::new(&registry, output)?;
            block_on(async {
                let path = format!(
                    "{}?defaultToGlobal={default_to_global}",
                    mode_path(subject.as_deref())
                );
                let mode = ctx.get(&path).await.with_context(|| {
                    format!("cannot get the {} mode", scope(subject.as_deref()))
                })?;
                match ctx.output {
                    Output::Json => print_json(&mode),
                    Output::Text => println!("{}", mode["mode"].as_str().unwrap_or_default()),
                }
                Ok(())
            })
        }
        ModeCommand::Set {
            args,
            force,
            registry,
        } => {
            let (subject, mode) = subject_and_value(&args);
            let mode = mode.to_ascii_uppercase();
            if ![
                "READWRITE",
                "READONLY",
                "READONLY_OVERRIDE",
                "IMPORT",
                "FORWARD",
            ]
            .contains(&mode.as_str())
            {
                bail!("'{mode}' is not a mode: give READWRITE, READONLY or IMPORT (FORWARD: global only)");
            }
            let ctx = Ctx::new(&registry, output)?;
            block_on(async {
                let echo = set_mode(&ctx, subject, &mode, force).await?;
                match ctx.output {
                    Output::Json => {
                        let mut echo = echo;
                        if let Some(s) = subject {
                            echo["subject"] = json!(s);
                        }
                        print_json(&echo)
                    }
                    Output::Text => println!(
                        "{} mode set to {}",
                        scope(subject),
                        echo["mode"].as_str().unwrap_or(&mode)
                    ),
                }
                Ok(())
            })
        }
    }
}

/// `PUT /mode[/{s}]`.
pub async fn set_mode(ctx: &Ctx, subject: Option<&str>, mode: &str, force: bool) -> Result<Value> {
    ctx.send(
        Method::PUT,
        &format!("{}?force={force}", mode_path(subject)),
        Some(&json!({ "mode": mode })),
    )
    .await
    .with_context(|| format!("cannot set the {} mode to {mode}", scope(subject)))
}

/// A Config object (GET shape) as a ConfigUpdateRequest (PUT shape).
pub fn config_update(config: &Value) -> Value {
    let mut map = config.as_object().cloned().unwrap_or_default();
    if let Some(level) = map.shift_remove("compatibilityLevel") {
        map.insert("compatibility".into(), level);
    }
    map.retain(|_, v| !v.is_null());
    Value::Object(map)
}
