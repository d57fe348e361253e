//! Applying a compatibility level across a subject's history, and Confluent's message list.
//!
//! Mirrors Confluent's `CompatibilityChecker`/`SchemaValidatorBuilder` and the tail added by
//! `KafkaSchemaRegistry.isCompatibleWithPrevious`:
//! - BACKWARD: the new schema reads the old (roles `new`/`old`); FORWARD: the old reads the new
//!   (roles `old`/`new`); FULL: old-reads-new messages first, without the old schema appended,
//!   then new-reads-old messages followed by `{oldSchemaVersion: N}` and `{oldSchema: '...'}`
//!   (appended only when that second list is not empty, as Confluent does);
//! - transitive levels walk newest first and stop at the first version with messages;
//! - a version of another schema type yields only `Incompatible because of different schema
//!   type`;
//! - a non-empty list ends with `{validateFields: 'false', compatibility: 'LEVEL'}`.
//!
//! It knows no format: each format's differences arrive as [`crate::Incompatibility`] values.

use crate::{CompatibilityLevel, CompatibilityPolicy, Incompatibility, ParsedSchema};

/// The outcome of a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompatibilityResult {
    /// Whether the new schema may be registered.
    pub is_compatible: bool,
    /// Confluent's verbose message list (empty when compatible).
    pub messages: Vec<String>,
}

/// Confluent logs the old schema in full up to this many (UTF-16) characters.
const MAX_SCHEMA_SIZE_FOR_LOGGING: usize = 10 * 1024;

/// Check `new` against a subject's live versions (`previous`: `(version, schema)`, **newest
/// first**) at `level`. Non-transitive levels compare only the first entry; transitive ones walk
/// all and stop at the first failing version, as Confluent does.
pub fn check_compatibility(
    level: CompatibilityLevel,
    policy: CompatibilityPolicy,
    new: &ParsedSchema,
    previous: &[(i32, &ParsedSchema)],
) -> CompatibilityResult {
    if level == CompatibilityLevel::None || previous.is_empty() {
        return CompatibilityResult {
            is_compatible: true,
            messages: Vec::new(),
        };
    }
    let candidates = if level.is_transitive() {
        previous
    } else {
        &previous[..1]
    };
    let mut messages = Vec::new();
    for (version, old) in candidates {
        messages = messages_against(level, policy, new, *version, old);
        if !messages.is_empty() {
            break;
        }
    }
    if messages.is_empty() {
        return CompatibilityResult {
            is_compatible: true,
            messages,
        };
    }
    // Confluent: KafkaSchemaRegistry.isCompatibleWithPrevious appends the config in effect.
    messages.push(format!(
        "{{validateFields: 'false', compatibility: '{}'}}",
        level.as_str()
    ));
    CompatibilityResult {
        is_compatible: false,
        messages,
    }
}

/// The messages of one `strategy.validate(new, existing)` call.
fn messages_against(
    level: CompatibilityLevel,
    policy: CompatibilityPolicy,
    new: &ParsedSchema,
    version: i32,
    old: &ParsedSchema,
) -> Vec<String> {
    if new.schema_type() != old.schema_type() {
        // Confluent: SchemaValidatorBuilder.DIFFERENT_SCHEMA_TYPE, with nothing appended.
        return vec!["Incompatible because of different schema type".into()];
    }
    let mut out = Vec::new();
    let backward = level.checks_backward();
    if level.checks_forward() {
        let found = differences(old, new, policy, Role::Old, Role::New);
        // With FULL, Confluent appends the old schema only after the backward messages.
        let append = !backward;
        out.extend(format_messages(found, version, old, append));
    }
    if backward {
        let found = differences(new, old, policy, Role::New, Role::Old);
        out.extend(format_messages(found, version, old, true));
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    New,
    Old,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::New => "new",
            Role::Old => "old",
        }
    }
}

/// `reader.isBackwardCompatible(writer)` with Confluent's `%s` roles filled.
fn differences(
    reader: &ParsedSchema,
    writer: &ParsedSchema,
    policy: CompatibilityPolicy,
    reader_role: Role,
    writer_role: Role,
) -> Vec<String> {
    if let (ParsedSchema::Avro(r), ParsedSchema::Avro(w)) = (reader, writer) {
        // Avro renders its descriptions from the structured incompatibility, so the roles are
        // exact in both directions.
        return r
            .differences_with_roles(w, reader_role.as_str(), writer_role.as_str())
            .into_iter()
            .map(|d| d.message)
            .collect();
    }
    reader
        .backward_differences(writer, policy)
        .into_iter()
        .map(|d| with_roles(d, reader_role, writer_role))
        .collect()
}

/// Fill a format's message for the roles. Confluent's unformatted descriptions carry `%s` for
/// the reader then the writer role (`String.format(e, reader, writer)`); a message already
/// rendered for the backward roles (`new` reader, `old` writer), as the Protobuf and JSON modules
/// do, gets its role words swapped when the roles are reversed.
fn with_roles(d: Incompatibility, reader: Role, writer: Role) -> String {
    let message = d.message;
    if message.contains("%s") {
        let mut out = String::with_capacity(message.len());
        let mut roles = [reader.as_str(), writer.as_str()].into_iter();
        let mut rest = message.as_str();
        while let Some(i) = rest.find("%s") {
            out.push_str(&rest[..i]);
            out.push_str(roles.next().unwrap_or("%s"));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        return out;
    }
    if reader == Role::New {
        return message;
    }
    swap_role_words(&message)
}

/// Exchange the role words `new` and `old` in one pass. Only whole words outside single-quoted
/// segments change: Confluent quotes paths and names (`at path '#/properties/new'`), and the
/// role words appear in every description template as plain words.
fn swap_role_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_quote = false;
    let mut prev_alnum = false;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        if c == '\'' {
            in_quote = !in_quote;
        }
        if !in_quote && !prev_alnum {
            let swapped = if rest.starts_with("new") {
                Some("old")
            } else if rest.starts_with("old") {
                Some("new")
            } else {
                None
            };
            // `swapped` implies the first three bytes are ASCII, so byte 3 is a boundary.
            let ends_word = swapped.is_some()
                && rest[3..]
                    .chars()
                    .next()
                    .is_none_or(|n| !n.is_alphanumeric());
            if let (Some(word), true) = (swapped, ends_word) {
                out.push_str(word);
                i += 3;
                prev_alnum = true;
                continue;
            }
        }
        out.push(c);
        prev_alnum = c.is_alphanumeric();
        i += c.len_utf8();
    }
    out
}

/// Confluent's `formatErrorMessages`: the old version and schema follow the messages.
fn format_messages(
    mut messages: Vec<String>,
    version: i32,
    old: &ParsedSchema,
    append_schema: bool,
) -> Vec<String> {
    if messages.is_empty() || !append_schema {
        return messages;
    }
    messages.push(format!("{{oldSchemaVersion: {version}}}"));
    let text = old.canonical();
    match truncate_utf16(text, MAX_SCHEMA_SIZE_FOR_LOGGING) {
        None => messages.push(format!("{{oldSchema: '{text}'}}")),
        Some(head) => messages.push(format!("{{oldSchema: <truncated> '{head}...'}}")),
    }
    messages
}

/// `None` when `s` has at most `limit` UTF-16 units (Java's `String.length()`), else its first
/// `limit` units (cut back to a character boundary).
fn truncate_utf16(s: &str, limit: usize) -> Option<&str> {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        let w = c.len_utf16();
        if units + w > limit {
            return Some(&s[..i]);
        }
        units += w;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_words_swap_in_one_pass_outside_quoted_paths() {
        assert_eq!(
            swap_role_words("in the new schema does not match with the old schema"),
            "in the old schema does not match with the new schema"
        );
        assert_eq!(
            swap_role_words(
                "{errorType:\"X\", description:\"The new has a closed model at path '#/properties/new' between the new and old schema, renewed é\"}"
            ),
            "{errorType:\"X\", description:\"The old has a closed model at path '#/properties/new' between the old and new schema, renewed é\"}"
        );
    }

    #[test]
    fn placeholders_are_filled_reader_first() {
        let d = Incompatibility {
            kind: "X".into(),
            path: String::new(),
            message: "{errorType:\"X\", description:\"in the %s schema, not in the %s schema\"}"
                .into(),
        };
        assert_eq!(
            with_roles(d, Role::Old, Role::New),
            "{errorType:\"X\", description:\"in the old schema, not in the new schema\"}"
        );
    }

    #[test]
    fn long_schemas_are_truncated_after_ten_kibi_utf16_units() {
        let s = "a".repeat(MAX_SCHEMA_SIZE_FOR_LOGGING);
        assert_eq!(truncate_utf16(&s, MAX_SCHEMA_SIZE_FOR_LOGGING), None);
        let s = format!("{s}b");
        assert_eq!(
            truncate_utf16(&s, MAX_SCHEMA_SIZE_FOR_LOGGING).map(str::len),
            Some(MAX_SCHEMA_SIZE_FOR_LOGGING)
        );
    }
}
