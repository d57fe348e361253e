//! Applying a compatibility level across a subject's history, and Confluent's message list.

use crate::{CompatibilityLevel, CompatibilityPolicy, ParsedSchema};

/// The outcome of a compatibility check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompatibilityResult {
    /// Whether the new schema may be registered.
    pub is_compatible: bool,
    /// Confluent's verbose message list (empty when compatible).
    pub messages: Vec<String>,
}

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
    for (version, old) in candidates {
        let mut found = Vec::new();
        // Confluent lists old-reads-new (forward) messages first for FULL.
        if level.checks_forward() {
            found.extend(old.backward_differences(new, policy));
        }
        if level.checks_backward() {
            found.extend(new.backward_differences(old, policy));
        }
        if !found.is_empty() {
            let mut messages: Vec<String> = found.into_iter().map(|d| d.message).collect();
            messages.push(format!("{{oldSchemaVersion: {version}}}"));
            messages.push(format!("{{oldSchema: '{}'}}", truncate(old.canonical())));
            messages.push(format!(
                "{{validateFields: 'false', compatibility: '{}'}}",
                level.as_str()
            ));
            return CompatibilityResult {
                is_compatible: false,
                messages,
            };
        }
    }
    CompatibilityResult {
        is_compatible: true,
        messages: Vec::new(),
    }
}

/// Confluent truncates the old schema in messages after 10 KiB.
fn truncate(s: &str) -> &str {
    const LIMIT: usize = 10 * 1024;
    if s.len() <= LIMIT {
        return s;
    }
    let mut end = LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
