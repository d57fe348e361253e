//! Which schema a serde command writes with, and where the id travels: a schema id, a
//! subject's latest version (or its latest version whose metadata holds given properties), or
//! a local schema file looked up (or, with `--auto-register`, registered) under a subject.
//! Asks the registry; knows nothing of brokers.

use crate::output::negative;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, Context, Result};
use clap::ValueEnum;
use strata_schema::{ParseOptions, ParsedSchema, SchemaReference};
use strata_serde::wire::Field;
use strata_serde::{RegistryClient, SchemaDef, SubjectNameStrategy};

use crate::check::inputs::{self, TypeArg};
use crate::codec::{Codec, Writer};

/// Where a frame carries its schema id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Placement {
    /// Magic byte 0x00 and the 4-byte id before the payload (Confluent's default).
    #[default]
    Prefix,
    /// Magic byte 0x01 and the schema's 16-byte GUID before the payload (Confluent 8.0+).
    GuidPrefix,
    /// The GUID in a `__key_schema_id`/`__value_schema_id` record header; the payload is bare
    /// (Confluent 8.0+; produce only).
    Header,
}

/// `--subject-name-strategy`: how the subject is named from the topic and the schema, as
/// Confluent's serializers name it (`key.subject.name.strategy`/`value.subject.name.strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StrategyArg {
    /// `<topic>-key` / `<topic>-value` (TopicNameStrategy, the default).
    #[default]
    #[value(alias = "TopicNameStrategy")]
    Topic,
    /// The schema's full name: Avro record, Protobuf message, JSON Schema title
    /// (RecordNameStrategy).
    #[value(alias = "RecordNameStrategy")]
    Record,
    /// `<topic>-<full name>` (TopicRecordNameStrategy).
    #[value(alias = "TopicRecordNameStrategy")]
    TopicRecord,
}

impl From<StrategyArg> for SubjectNameStrategy {
    fn from(s: StrategyArg) -> Self {
        match s {
            StrategyArg::Topic => SubjectNameStrategy::Topic,
            StrategyArg::Record => SubjectNameStrategy::Record,
            StrategyArg::TopicRecord => SubjectNameStrategy::TopicRecord,
        }
    }
}

/// A subject named by a strategy, when no subject is given.
#[derive(Debug, Clone)]
pub struct Naming {
    /// The topic.
    pub topic: String,
    /// Key or value.
    pub field: Field,
    /// The strategy.
    pub strategy: StrategyArg,
}

impl Naming {
    /// The subject for a schema of full name `record_name` (Protobuf: the message written).
    fn subject(&self, record_name: Option<&str>) -> Result<String> {
        SubjectNameStrategy::from(self.strategy)
            .subject(&self.topic, self.field, record_name)
            .map_err(|e| anyhow!("{e}"))
    }
}

/// The flags a command gives its schema choice with, so that messages name flags it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChoiceFlags {
    /// The subcommand the flags belong to.
    pub command: &'static str,
    /// The subject flag.
    pub subject: &'static str,
    /// The schema file flag.
    pub schema: &'static str,
    /// The schema id flag.
    pub schema_id: &'static str,
    /// The flag that registers the schema file.
    pub auto_register: &'static str,
}

impl ChoiceFlags {
    /// `strata encode`.
    pub const ENCODE: ChoiceFlags = ChoiceFlags {
        command: "encode",
        subject: "--subject",
        schema: "--schema",
        schema_id: "--schema-id",
        auto_register: "--auto-register",
    };
    /// `strata produce`, for values.
    pub const PRODUCE_VALUE: ChoiceFlags = ChoiceFlags {
        command: "produce",
        subject: "--value-subject",
        schema: "--value-schema",
        schema_id: "--value-schema-id",
        auto_register: "--auto-register",
    };
    /// `strata produce`, for keys.
    pub const PRODUCE_KEY: ChoiceFlags = ChoiceFlags {
        command: "produce",
        subject: "--key-subject",
        schema: "--key-schema",
        schema_id: "--key-schema-id",
        auto_register: "--auto-register",
    };
    /// Every command's flags (for the test that they exist).
    #[cfg(test)]
    pub const ALL: [ChoiceFlags; 3] = [Self::ENCODE, Self::PRODUCE_VALUE, Self::PRODUCE_KEY];

    /// A strategy that names the subject after the schema has no schema to go by.
    fn strategy_needs_schema(&self, strategy: &str) -> String {
        format!(
            "the {strategy} subject name strategy names the subject after the schema: give {} \
             FILE or {}",
            self.schema, self.schema_id
        )
    }

    /// Nothing names the schema.
    fn name_the_schema(&self) -> String {
        format!(
            "name the schema: give {} (its latest version), {}, or {} FILE with {}",
            self.subject, self.schema_id, self.schema, self.subject
        )
    }

    /// What to do when the schema file is not in the subject.
    fn register_first(&self) -> String {
        format!("register it first or pass {}", self.auto_register)
    }

    /// What to do when the subject has no schema.
    fn give_a_schema(&self) -> String {
        format!(
            "register one, or give {} FILE {}",
            self.schema, self.auto_register
        )
    }

    /// Every message that names flags, for the test that they exist.
    #[cfg(test)]
    pub fn messages(&self) -> Vec<String> {
        vec![
            self.strategy_needs_schema("record"),
            self.name_the_schema(),
            self.register_first(),
            self.give_a_schema(),
        ]
    }
}

impl Default for ChoiceFlags {
    fn default() -> Self {
        ChoiceFlags::ENCODE
    }
}

/// The choice of writer schema, from a command's flags.
#[derive(Debug, Clone, Default)]
pub struct SchemaChoice {
    /// The flags the command names this choice with (for messages).
    pub flags: ChoiceFlags,
    /// The subject (needed unless a schema id or a naming strategy is given).
    pub subject: Option<String>,
    /// Name the subject from a topic and the schema, when `subject` is `None`.
    pub naming: Option<Naming>,
    /// Write with this registered id.
    pub schema_id: Option<i32>,
    /// Write with this schema file.
    pub schema_file: Option<PathBuf>,
    /// The schema file's format (default from its extension).
    pub schema_type: Option<TypeArg>,
    /// The schema file's references to schemas registered under other subjects.
    pub references: Vec<SchemaReference>,
    /// Register the schema file under the subject if it is not there yet.
    pub auto_register: bool,
    /// Ask the registry to normalize on lookup and register.
    pub normalize: bool,
    /// The Protobuf message to write (default: the first).
    pub message: Option<String>,
    /// Without a schema file: write with the subject's latest version whose metadata
    /// properties hold all these pairs (Confluent's `use.latest.with.metadata`), not simply
    /// its latest version. Empty: not used.
    pub latest_with_metadata: Vec<(String, String)>,
}

/// A metadata property, `KEY=VALUE` (`--latest-with-metadata env=prod`).
pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!(
            "'{s}' is not KEY=VALUE (a metadata property, e.g. env=prod)"
        )),
    }
}

/// The properties as the registry's metadata lookup takes them; a key given twice is an
/// error, not a silent choice between its values.
fn properties(pairs: &[(String, String)]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(before) = out.insert(k.clone(), v.clone()) {
            return Err(anyhow!(
                "the metadata property '{k}' is given twice ({k}={before} and {k}={v}); a \
                 version's property has one value"
            ));
        }
    }
    Ok(out)
}

/// The full name record strategies use: the Protobuf message written, else the schema's
/// own name (Avro record, Protobuf first message, JSON Schema title).
fn record_name(parsed: &ParsedSchema, message: Option<&str>) -> Option<String> {
    match (parsed, message) {
        (ParsedSchema::Protobuf(_), Some(m)) => Some(m.to_string()),
        _ => parsed.record_name(),
    }
}

/// Find the writer schema `choice` names.
pub async fn choose(
    client: &RegistryClient,
    registry: &str,
    choice: &SchemaChoice,
) -> Result<Writer> {
    let (fetched, subject) = if let Some(id) = choice.schema_id {
        let fetched = client
            .schema_by_id(id)
            .await
            .map_err(|e| match e.error_code() {
                Some(40403) | Some(404) => negative(format!(
                    "schema id {id} is not in the registry at {registry} ({e})"
                )),
                _ => anyhow!("cannot fetch schema id {id} from the registry at {registry}: {e}"),
            })?;
        let subject = match (&choice.subject, &choice.naming) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(naming)) => Some(
                naming
                    .subject(record_name(&fetched.parsed, choice.message.as_deref()).as_deref())?,
            ),
            (None, None) => None,
        };
        (fetched, subject)
    } else {
        let named_later = choice.subject.is_none()
            && choice
                .naming
                .as_ref()
                .is_some_and(|n| n.strategy != StrategyArg::Topic);
        let mut subject = match (&choice.subject, &choice.naming) {
            (Some(s), _) => s.clone(),
            (None, Some(naming)) if !named_later => naming.subject(None)?,
            (None, Some(naming)) if choice.schema_file.is_none() => {
                return Err(anyhow!(choice.flags.strategy_needs_schema(
                    &naming
                        .strategy
                        .to_possible_value()
                        .map_or_else(String::new, |v| v.get_name().to_string())
                )))
            }
            (None, Some(_)) => String::new(),
            (None, None) => return Err(anyhow!(choice.flags.name_the_schema())),
        };
        let id = match &choice.schema_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the schema file {}", path.display()))?;
                let schema_type = inputs::schema_type_of(path, choice.schema_type)?;
                let (def, parsed) = if choice.references.is_empty() {
                    let parsed =
                        ParsedSchema::parse(schema_type, &text, &[], ParseOptions::default())
                            .with_context(|| {
                                format!("the schema file {} is not valid", path.display())
                            })?;
                    (SchemaDef::new(schema_type, parsed.canonical()), parsed)
                } else {
                    // The referenced schemas come from the registry: parse with them.
                    let mut def = SchemaDef::new(schema_type, text);
                    def.references = choice.references.clone();
                    let parsed = client.parse(&def).await.with_context(|| {
                        format!(
                            "the schema file {} is not valid with its references",
                            path.display()
                        )
                    })?;
                    (def, parsed)
                };
                if named_later {
                    if let Some(naming) = &choice.naming {
                        subject = naming
                            .subject(record_name(&parsed, choice.message.as_deref()).as_deref())
                            .with_context(|| format!("{} has no name", path.display()))?;
                    }
                }
                if choice.auto_register {
                    let registered = client
                        .register(&subject, &def, choice.normalize)
                        .await
                        .map_err(|e| {
                            if e.is_incompatible() {
                                negative(format!(
                                    "the registry at {registry} refused {} for subject '{subject}' \
                                     as incompatible; nothing was written: {e}",
                                    path.display()
                                ))
                            } else {
                                anyhow!(
                                    "cannot register {} under subject '{subject}' at {registry}: {e}",
                                    path.display()
                                )
                            }
                        })?;
                    registered.id
                } else {
                    let found = client
                        .lookup(&subject, &def, choice.normalize)
                        .await
                        .map_err(|e| match e.error_code() {
                            Some(40401) | Some(40403) | Some(404) => negative(format!(
                                "{} is not registered under subject '{subject}' at {registry}; \
                                 {} ({e})",
                                path.display(),
                                choice.flags.register_first()
                            )),
                            _ => anyhow!(
                                "cannot look {} up under subject '{subject}' at {registry}: {e}",
                                path.display()
                            ),
                        })?;
                    found.id
                }
            }
            None if !choice.latest_with_metadata.is_empty() => {
                let properties = properties(&choice.latest_with_metadata)?;
                let shown = properties
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let latest = client
                    .latest_with_metadata(&subject, &properties)
                    .await
                    .map_err(|e| match e.error_code() {
                        // Confluent answers 40403 when no version's metadata matches.
                        Some(40401) | Some(40402) | Some(40403) | Some(404) => negative(format!(
                            "subject '{subject}' has no version whose metadata holds {shown} \
                             at {registry} ({e})"
                        )),
                        _ => anyhow!(
                            "cannot find the version of subject '{subject}' with metadata \
                             {shown} at {registry}: {e}"
                        ),
                    })?;
                latest.id
            }
            None => {
                let latest = client
                    .latest_version(&subject)
                    .await
                    .map_err(|e| match e.error_code() {
                        Some(40401) | Some(40402) | Some(404) => negative(format!(
                            "subject '{subject}' has no schema at {registry}; {} ({e})",
                            choice.flags.give_a_schema()
                        )),
                        _ => anyhow!(
                            "cannot read the latest version of subject '{subject}' at {registry}: {e}"
                        ),
                    })?;
                latest.id
            }
        };
        let fetched = client.schema_by_id(id).await.with_context(|| {
            format!("cannot fetch schema id {id} from the registry at {registry}")
        })?;
        (fetched, Some(subject))
    };
    let codec = Codec::new(fetched)?;
    let message = codec.message(choice.message.as_deref())?;
    Ok(Writer {
        codec: Arc::new(codec),
        subject,
        message,
    })
}
