//! Message indexes: the path of message positions the Confluent wire format writes after the
//! schema ID, to say which message of the schema a payload holds.
//!
//! Follows Confluent's `ProtobufSchema.toMessageIndexes` / `getMessageAtIndex`: indexes address
//! message types only (enums are skipped); the first is the position among top-level messages,
//! each next one the position among the previous message's nested messages. Confluent counts
//! over the `.proto` syntax tree, so we count over the file as written: entries synthesised
//! from `map<K, V>` and group bodies do not exist there, while map-entry messages written out
//! explicitly (as Confluent prints a serialized descriptor) do. Encoding the array (zig-zag
//! varints) is the serde library's job.

use prost_types::{field_descriptor_proto::Type, DescriptorProto, FileDescriptorProto};

use super::canonical::is_synthetic_map_entry;

/// The nested messages an index counts over, in declaration order.
fn counted(m: &DescriptorProto) -> Vec<&DescriptorProto> {
    let groups: Vec<&str> = m
        .field
        .iter()
        .filter(|f| f.r#type == Some(Type::Group as i32))
        .map(|f| f.type_name().rsplit('.').next().unwrap_or_default())
        .collect();
    m.nested_type
        .iter()
        .filter(|n| !is_synthetic_map_entry(n) && !groups.contains(&n.name()))
        .collect()
}

/// The indexes of the message `full_name` (e.g. `pkg.Outer.Inner`) in `file` (as written).
pub(crate) fn message_indexes(file: &FileDescriptorProto, full_name: &str) -> Option<Vec<i32>> {
    let full_name = full_name.strip_prefix('.').unwrap_or(full_name);
    let package = file.package();
    let local = if package.is_empty() {
        full_name
    } else {
        full_name.strip_prefix(package)?.strip_prefix('.')?
    };
    let mut indexes = Vec::new();
    let mut level: Vec<&DescriptorProto> = file.message_type.iter().collect();
    let mut parts = local.split('.').peekable();
    while let Some(part) = parts.next() {
        let position = level.iter().position(|m| m.name() == part)?;
        indexes.push(i32::try_from(position).ok()?);
        if parts.peek().is_some() {
            level = counted(level[position]);
        }
    }
    Some(indexes)
}

/// The full name of the message at `indexes` in `file` (as written). An empty slice means
/// `[0]`, as Confluent's deserializer reads a count of 0.
pub(crate) fn message_at(file: &FileDescriptorProto, indexes: &[i32]) -> Option<String> {
    let indexes: &[i32] = if indexes.is_empty() { &[0] } else { indexes };
    let mut level: Vec<&DescriptorProto> = file.message_type.iter().collect();
    let mut name = file.package().to_string();
    for &index in indexes {
        let message = *level.get(usize::try_from(index).ok()?)?;
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(message.name());
        level = counted(message);
    }
    Some(name)
}
