//! Message indexes: the path of message positions the Confluent wire format writes after the
//! schema ID, to say which message of the schema a payload holds.
//!
//! Follows Confluent's `ProtobufSchema.toMessageIndexes` / `getMessageAtIndex`: indexes address
//! message types only (enums are skipped); the first is the position among top-level messages,
//! each next one the position among the previous message's nested messages. Synthetic map-entry
//! messages and group bodies do not count, because Confluent counts over the `.proto` syntax
//! tree, where they do not exist. Encoding the array (zig-zag varints) is the serde library's job.

use prost_reflect::{FileDescriptor, Kind, MessageDescriptor};

/// The messages an index counts over, in declaration order.
fn counted(
    messages: impl Iterator<Item = MessageDescriptor>,
    parent: Option<&MessageDescriptor>,
) -> Vec<MessageDescriptor> {
    let groups: Vec<String> = parent
        .map(|p| {
            p.fields()
                .filter(|f| f.is_group())
                .filter_map(|f| match f.kind() {
                    Kind::Message(m) => Some(m.full_name().to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    messages
        .filter(|m| !m.is_map_entry() && !groups.iter().any(|g| g == m.full_name()))
        .collect()
}

/// The indexes of the message `full_name` (e.g. `pkg.Outer.Inner`) in `file`.
pub(crate) fn message_indexes(file: &FileDescriptor, full_name: &str) -> Option<Vec<i32>> {
    let full_name = full_name.strip_prefix('.').unwrap_or(full_name);
    let package = file.package_name();
    let local = if package.is_empty() {
        full_name
    } else {
        full_name.strip_prefix(package)?.strip_prefix('.')?
    };
    let mut indexes = Vec::new();
    let mut level = counted(file.messages(), None);
    let mut parts = local.split('.').peekable();
    while let Some(part) = parts.next() {
        let position = level.iter().position(|m| m.name() == part)?;
        indexes.push(i32::try_from(position).ok()?);
        if parts.peek().is_some() {
            let message = level[position].clone();
            level = counted(message.child_messages(), Some(&message));
        }
    }
    Some(indexes)
}

/// The message at `indexes` in `file`. An empty slice means `[0]`, as Confluent's deserializer
/// reads a count of 0.
pub(crate) fn message_at(file: &FileDescriptor, indexes: &[i32]) -> Option<MessageDescriptor> {
    let indexes: &[i32] = if indexes.is_empty() { &[0] } else { indexes };
    let mut level = counted(file.messages(), None);
    let mut found: Option<MessageDescriptor> = None;
    for &index in indexes {
        let message = level.get(usize::try_from(index).ok()?)?.clone();
        level = counted(message.child_messages(), Some(&message));
        found = Some(message);
    }
    found
}
