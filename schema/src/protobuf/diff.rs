//! Confluent's Protobuf `SchemaDiff`: the differences between an original (writer) and an update
//! (reader) schema, with Confluent's 26 difference types, paths and compatibility set.
//!
//! Ported from `protobuf-provider/.../protobuf/diff/` (`SchemaDiff`, `MessageSchemaDiff`,
//! `FieldSchemaDiff`, `EnumSchemaDiff`, `Context`, `Difference`) at Confluent master (8.x,
//! with `ONEOF_FIELD_MOVED_TO_TOP_LEVEL`). Confluent walks Wire's syntax tree; we walk
//! prost-reflect descriptors and rebuild what the tree shows: proto3 fields without a label have
//! none, map fields are maps (their synthetic entry messages are invisible), synthetic oneofs of
//! proto3 `optional` fields are invisible, and groups are invisible (Wire keeps them apart from
//! fields and nested types).
//!
//! This module only compares; it does not parse or print.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use prost_reflect::{
    Cardinality, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
};

use super::parse::{Compiled, Origin};

/// The kind of a difference, named as Confluent's `Difference.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)] // The names are Confluent's and self-describing.
pub enum DifferenceType {
    PackageChanged,
    MessageAdded,
    MessageRemoved,
    MessageMoved,
    EnumAdded,
    EnumRemoved,
    EnumConstAdded,
    EnumConstChanged,
    EnumConstRemoved,
    FieldAdded,
    FieldRemoved,
    FieldNameChanged,
    FieldKindChanged,
    FieldScalarKindChanged,
    FieldNamedTypeChanged,
    FieldNumericLabelChanged,
    FieldStringOrBytesLabelChanged,
    RequiredFieldAdded,
    RequiredFieldRemoved,
    OneofAdded,
    OneofRemoved,
    OneofFieldAdded,
    OneofFieldRemoved,
    MultipleFieldsMovedToOneof,
    FieldMovedToExistingOneof,
    OneofFieldMovedToTopLevel,
}

impl DifferenceType {
    /// Confluent's upper-case name, e.g. `FIELD_KIND_CHANGED`.
    pub fn as_str(self) -> &'static str {
        use DifferenceType::*;
        match self {
            PackageChanged => "PACKAGE_CHANGED",
            MessageAdded => "MESSAGE_ADDED",
            MessageRemoved => "MESSAGE_REMOVED",
            MessageMoved => "MESSAGE_MOVED",
            EnumAdded => "ENUM_ADDED",
            EnumRemoved => "ENUM_REMOVED",
            EnumConstAdded => "ENUM_CONST_ADDED",
            EnumConstChanged => "ENUM_CONST_CHANGED",
            EnumConstRemoved => "ENUM_CONST_REMOVED",
            FieldAdded => "FIELD_ADDED",
            FieldRemoved => "FIELD_REMOVED",
            FieldNameChanged => "FIELD_NAME_CHANGED",
            FieldKindChanged => "FIELD_KIND_CHANGED",
            FieldScalarKindChanged => "FIELD_SCALAR_KIND_CHANGED",
            FieldNamedTypeChanged => "FIELD_NAMED_TYPE_CHANGED",
            FieldNumericLabelChanged => "FIELD_NUMERIC_LABEL_CHANGED",
            FieldStringOrBytesLabelChanged => "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
            RequiredFieldAdded => "REQUIRED_FIELD_ADDED",
            RequiredFieldRemoved => "REQUIRED_FIELD_REMOVED",
            OneofAdded => "ONEOF_ADDED",
            OneofRemoved => "ONEOF_REMOVED",
            OneofFieldAdded => "ONEOF_FIELD_ADDED",
            OneofFieldRemoved => "ONEOF_FIELD_REMOVED",
            MultipleFieldsMovedToOneof => "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
            FieldMovedToExistingOneof => "FIELD_MOVED_TO_EXISTING_ONEOF",
            OneofFieldMovedToTopLevel => "ONEOF_FIELD_MOVED_TO_TOP_LEVEL",
        }
    }

    /// Whether the change keeps the update able to read data written with the original:
    /// Confluent's `SchemaDiff.COMPATIBLE_CHANGES` (8.x: `PACKAGE_CHANGED` is not in it).
    pub fn is_compatible(self) -> bool {
        use DifferenceType::*;
        matches!(
            self,
            MessageAdded
                | MessageMoved
                | EnumAdded
                | EnumRemoved
                | EnumConstAdded
                | EnumConstChanged
                | EnumConstRemoved
                | FieldAdded
                | FieldRemoved
                | FieldNameChanged
                | FieldStringOrBytesLabelChanged
                | OneofAdded
                | OneofRemoved
                | OneofFieldAdded
                | OneofFieldMovedToTopLevel
        )
    }

    /// Confluent's description template (`Difference.error()`); `%s` is filled with the reader's
    /// then the writer's role. Compatible types have none.
    fn template(self) -> &'static str {
        use DifferenceType::*;
        match self {
            PackageChanged => {
                "The package at '{path}' in the %s schema does not match the package in the %s schema"
            }
            MessageRemoved => "The %s schema is missing a MESSAGE type at path '{path}' in the %s schema",
            FieldKindChanged => {
                "The type of a field at path '{path}' in the %s schema does not match the %s schema"
            }
            FieldScalarKindChanged => {
                "The kind of a SCALAR field at path '{path}' in the %s schema does not match its kind in the %s schema"
            }
            FieldNamedTypeChanged => {
                "The type of a MESSAGE field at path '{path}' in the %s schema does not match its type in the %s schema"
            }
            FieldNumericLabelChanged => {
                "The label for a NUMERIC field at path '{path}' in the %s schema does not match its label in the %s schema"
            }
            // Confluent's text has the double space.
            RequiredFieldAdded => "A required field  at path '{path}' in the %s schema is missing in the %s schema",
            RequiredFieldRemoved => {
                "The %s schema is missing a required field at path: '{path}' in the %s schema"
            }
            OneofFieldRemoved => "The %s schema is missing a oneof field at path '{path}' in the %s schema",
            MultipleFieldsMovedToOneof => {
                "Multiple fields in the oneof at path '{path}' in the %s schema are outside a oneof in the %s schema"
            }
            FieldMovedToExistingOneof => {
                "A field in the oneof at path '{path}' in the %s schema is outside an existing oneof in the %s schema"
            }
            _ => "",
        }
    }
}

impl fmt::Display for DifferenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference between two Protobuf schemas.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Difference {
    /// What changed.
    pub kind: DifferenceType,
    /// Where, in Confluent's form: `#/Message/3`, `#/Message/oneofName/5`, `#/` for the package.
    pub path: String,
}

impl Difference {
    /// Confluent's description with the roles filled in: `reader` for the schema reading the
    /// data (`new` under BACKWARD), `writer` for the one that wrote it (`old`).
    pub fn description(&self, reader: &str, writer: &str) -> String {
        let template = self.kind.template().replace("{path}", &self.path);
        let mut parts = template.splitn(3, "%s");
        let mut out = String::new();
        out.push_str(parts.next().unwrap_or_default());
        if let Some(p) = parts.next() {
            out.push_str(reader);
            out.push_str(p);
        }
        if let Some(p) = parts.next() {
            out.push_str(writer);
            out.push_str(p);
        }
        out
    }

    /// The entry as Confluent renders it in verbose messages:
    /// `{errorType:"FIELD_KIND_CHANGED", description:"..."}` (`Difference.toString`), with the
    /// reader as `new` and the writer as `old`, as Confluent's BACKWARD check fills them.
    pub fn message(&self) -> String {
        format!(
            "{{errorType:\"{}\", description:\"{}\"}}",
            self.kind,
            self.description("new", "old")
        )
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.path)
    }
}

/// All differences from `original` to `update` (Confluent's `SchemaDiff.compare`).
pub(crate) fn compare(original: &Compiled, update: &Compiled) -> Vec<Difference> {
    let mut ctx = Ctx {
        original,
        update,
        path: Vec::new(),
        in_progress: Vec::new(),
        diffs: Vec::new(),
    };
    ctx.compare_files(&original.root, &update.root);
    ctx.diffs
}

struct Ctx<'a> {
    original: &'a Compiled,
    update: &'a Compiled,
    path: Vec<String>,
    /// Original messages being compared (Confluent's `SchemaScope`), against recursion.
    in_progress: Vec<String>,
    diffs: Vec<Difference>,
}

/// A field's type as Confluent's `FieldSchemaDiff` sees it.
enum FieldType {
    Scalar(Kind),
    Enum,
    Message(MessageDescriptor),
    Map(Box<FieldType>, Box<FieldType>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeKind {
    Scalar,
    Message,
    Map,
}

/// Wire-compatible scalar groups (`FieldSchemaDiff.ScalarKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarKind {
    GeneralNumber,
    SignedNumber,
    StringOrBytes,
    Fixed32,
    Fixed64,
    Float,
    Double,
}

/// A field's label as written (`None` for proto3 singular fields, oneof members and maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    Optional,
    Required,
    Repeated,
}

fn field_type(field: &FieldDescriptor) -> FieldType {
    match field.kind() {
        Kind::Message(m) if m.is_map_entry() => FieldType::Map(
            Box::new(field_type(&m.map_entry_key_field())),
            Box::new(field_type(&m.map_entry_value_field())),
        ),
        Kind::Message(m) => FieldType::Message(m),
        Kind::Enum(_) => FieldType::Enum,
        other => FieldType::Scalar(other),
    }
}

fn type_kind(t: &FieldType) -> TypeKind {
    match t {
        FieldType::Scalar(_) | FieldType::Enum => TypeKind::Scalar,
        FieldType::Message(_) => TypeKind::Message,
        FieldType::Map(..) => TypeKind::Map,
    }
}

fn scalar_kind(t: &FieldType) -> Option<ScalarKind> {
    Some(match t {
        FieldType::Enum => ScalarKind::GeneralNumber,
        FieldType::Scalar(k) => match k {
            Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool => {
                ScalarKind::GeneralNumber
            }
            Kind::Sint32 | Kind::Sint64 => ScalarKind::SignedNumber,
            Kind::String | Kind::Bytes => ScalarKind::StringOrBytes,
            Kind::Fixed32 | Kind::Sfixed32 => ScalarKind::Fixed32,
            Kind::Fixed64 | Kind::Sfixed64 => ScalarKind::Fixed64,
            Kind::Float => ScalarKind::Float,
            Kind::Double => ScalarKind::Double,
            Kind::Message(_) | Kind::Enum(_) => return None,
        },
        _ => return None,
    })
}

/// The real (non-synthetic) oneof a field belongs to.
fn real_oneof(field: &FieldDescriptor) -> Option<String> {
    field
        .containing_oneof()
        .filter(|o| !o.is_synthetic())
        .map(|o| o.name().to_string())
}

fn label(field: &FieldDescriptor) -> Option<Label> {
    if field.is_map() || real_oneof(field).is_some() {
        return None;
    }
    match field.cardinality() {
        Cardinality::Repeated => Some(Label::Repeated),
        Cardinality::Required => Some(Label::Required),
        Cardinality::Optional => {
            let proto = field.field_descriptor_proto();
            let proto3 = field.parent_file().file_descriptor_proto().syntax() == "proto3";
            if proto3 && proto.proto3_optional != Some(true) {
                None
            } else {
                Some(Label::Optional)
            }
        }
    }
}

/// Nested messages Confluent sees: no map entries, no group bodies.
fn visible_messages(
    messages: impl Iterator<Item = MessageDescriptor>,
    groups: &[String],
) -> Vec<MessageDescriptor> {
    messages
        .filter(|m| !m.is_map_entry() && !groups.iter().any(|g| g == m.full_name()))
        .collect()
}

fn group_bodies(m: &MessageDescriptor) -> Vec<String> {
    m.fields()
        .filter(|f| f.is_group())
        .filter_map(|f| match f.kind() {
            Kind::Message(g) => Some(g.full_name().to_string()),
            _ => None,
        })
        .collect()
}

/// Fields Confluent sees, by number (groups excluded).
fn fields_by_number(m: &MessageDescriptor) -> BTreeMap<u32, FieldDescriptor> {
    m.fields()
        .filter(|f| !f.is_group())
        .map(|f| (f.number(), f))
        .collect()
}

/// The name of a type relative to its file's package (Confluent's "local name").
fn local_name(full_name: &str, file: &FileDescriptor) -> String {
    let package = file.package_name();
    if !package.is_empty() {
        if let Some(rest) = full_name
            .strip_prefix(package)
            .and_then(|r| r.strip_prefix('.'))
        {
            return rest.to_string();
        }
    }
    full_name.to_string()
}

impl Ctx<'_> {
    fn add(&mut self, kind: DifferenceType) {
        let path = format!("#/{}", self.path.join("/"));
        self.diffs.push(Difference { kind, path });
    }

    fn add_at(&mut self, segments: &[&str], kind: DifferenceType) {
        for s in segments {
            self.path.push((*s).to_string());
        }
        self.add(kind);
        for _ in segments {
            self.path.pop();
        }
    }

    fn compare_files(&mut self, original: &FileDescriptor, update: &FileDescriptor) {
        if original.package_name() != update.package_name() {
            self.add(DifferenceType::PackageChanged);
        }
        self.compare_types(
            visible_messages(original.messages(), &[]),
            original.enums().collect(),
            visible_messages(update.messages(), &[]),
            update.enums().collect(),
        );
    }

    /// `SchemaDiff.compareTypeElements`.
    fn compare_types(
        &mut self,
        original_messages: Vec<MessageDescriptor>,
        original_enums: Vec<EnumDescriptor>,
        update_messages: Vec<MessageDescriptor>,
        update_enums: Vec<EnumDescriptor>,
    ) {
        let index = |ms: Vec<MessageDescriptor>| -> HashMap<String, (usize, MessageDescriptor)> {
            ms.into_iter()
                .enumerate()
                .map(|(i, m)| (m.name().to_string(), (i, m)))
                .collect()
        };
        let originals = index(original_messages);
        let updates = index(update_messages);
        let names: BTreeSet<&String> = originals.keys().chain(updates.keys()).collect();
        for name in names {
            self.path.push(name.clone());
            match (originals.get(name), updates.get(name)) {
                (Some(_), None) => self.add(DifferenceType::MessageRemoved),
                (None, Some(_)) => self.add(DifferenceType::MessageAdded),
                (Some((oi, o)), Some((ui, u))) => {
                    self.compare_messages(o, u);
                    // Moving or reordering a message is compatible: serialized message indexes
                    // are relative to the schema of the writer's ID (Confluent's comment).
                    if oi != ui {
                        self.add(DifferenceType::MessageMoved);
                    }
                }
                (None, None) => {}
            }
            self.path.pop();
        }

        let enums = |es: Vec<EnumDescriptor>| -> HashMap<String, EnumDescriptor> {
            es.into_iter().map(|e| (e.name().to_string(), e)).collect()
        };
        let originals = enums(original_enums);
        let updates = enums(update_enums);
        let names: BTreeSet<&String> = originals.keys().chain(updates.keys()).collect();
        for name in names {
            self.path.push(name.clone());
            match (originals.get(name), updates.get(name)) {
                (Some(_), None) => self.add(DifferenceType::EnumRemoved),
                (None, Some(_)) => self.add(DifferenceType::EnumAdded),
                (Some(o), Some(u)) => self.compare_enums(o, u),
                (None, None) => {}
            }
            self.path.pop();
        }
    }

    /// `EnumSchemaDiff.compare`: constants matched by number (the last alias wins, as in
    /// Confluent's map).
    fn compare_enums(&mut self, original: &EnumDescriptor, update: &EnumDescriptor) {
        let by_number = |e: &EnumDescriptor| -> BTreeMap<i32, String> {
            e.values()
                .map(|v| (v.number(), v.name().to_string()))
                .collect()
        };
        let originals = by_number(original);
        let updates = by_number(update);
        let numbers: BTreeSet<&i32> = originals.keys().chain(updates.keys()).collect();
        for n in numbers {
            let segment = n.to_string();
            match (originals.get(n), updates.get(n)) {
                (Some(_), None) => self.add_at(&[&segment], DifferenceType::EnumConstRemoved),
                (None, Some(_)) => self.add_at(&[&segment], DifferenceType::EnumConstAdded),
                (Some(o), Some(u)) if o != u => {
                    self.add_at(&[&segment], DifferenceType::EnumConstChanged)
                }
                _ => {}
            }
        }
    }

    /// `MessageSchemaDiff.compare`.
    fn compare_messages(&mut self, original: &MessageDescriptor, update: &MessageDescriptor) {
        let key = original.full_name().to_string();
        if !self.in_progress.contains(&key) {
            self.in_progress.push(key);
            self.compare_message_fields(original, update);
            self.in_progress.pop();
        }
        let original_groups = group_bodies(original);
        let update_groups = group_bodies(update);
        self.compare_types(
            visible_messages(original.child_messages(), &original_groups),
            original.child_enums().collect(),
            visible_messages(update.child_messages(), &update_groups),
            update.child_enums().collect(),
        );
    }

    fn compare_message_fields(&mut self, original: &MessageDescriptor, update: &MessageDescriptor) {
        use DifferenceType::*;
        let original_fields = fields_by_number(original);
        let update_fields = fields_by_number(update);
        let oneof_of = |fields: &BTreeMap<u32, FieldDescriptor>| -> HashMap<u32, String> {
            fields
                .iter()
                .filter_map(|(n, f)| real_oneof(f).map(|o| (*n, o)))
                .collect()
        };
        let original_tag_oneof = oneof_of(&original_fields);
        let update_tag_oneof = oneof_of(&update_fields);
        let oneofs = |m: &MessageDescriptor| -> BTreeMap<String, Vec<u32>> {
            m.oneofs()
                .filter(|o| !o.is_synthetic())
                .map(|o| {
                    let members = o
                        .fields()
                        .filter(|f| !f.is_group())
                        .map(|f| f.number())
                        .collect();
                    (o.name().to_string(), members)
                })
                .collect()
        };
        let original_oneofs = oneofs(original);
        let update_oneofs = oneofs(update);

        // A oneof removed by name with none of its members surviving anywhere is a complete
        // deletion, which Confluent treats as compatible.
        let completely_deleted: HashSet<&String> = original_oneofs
            .iter()
            .filter(|(name, members)| {
                !update_oneofs.contains_key(*name)
                    && !members.iter().any(|n| update_fields.contains_key(n))
            })
            .map(|(name, _)| name)
            .collect();

        // Newly introduced mutual exclusivity: pre-existing members of an update oneof that come
        // from more than one original group (a oneof, or a top-level field each).
        for oneof in update.oneofs().filter(|o| !o.is_synthetic()) {
            let mut groups: HashSet<String> = HashSet::new();
            let mut top_level_moved_in = 0;
            for field in oneof.fields().filter(|f| !f.is_group()) {
                let n = field.number();
                if let Some(o) = original_tag_oneof.get(&n) {
                    groups.insert(format!("oneof:{o}"));
                } else if original_fields.contains_key(&n) {
                    groups.insert(format!("field:{n}"));
                    top_level_moved_in += 1;
                }
            }
            if groups.len() > 1 {
                let kind = if top_level_moved_in > 1 {
                    MultipleFieldsMovedToOneof
                } else {
                    FieldMovedToExistingOneof
                };
                self.add_at(&[oneof.name()], kind);
            }
        }

        let all_oneofs: BTreeSet<&String> =
            original_oneofs.keys().chain(update_oneofs.keys()).collect();
        for name in all_oneofs {
            if !update_oneofs.contains_key(name) {
                self.add_at(&[name], OneofRemoved);
            } else if !original_oneofs.contains_key(name) {
                self.add_at(&[name], OneofAdded);
            }
        }

        let tags: BTreeSet<&u32> = original_fields.keys().chain(update_fields.keys()).collect();
        for tag in tags {
            let segment = tag.to_string();
            let original_oneof = original_tag_oneof.get(tag);
            let update_oneof = update_tag_oneof.get(tag);
            match (original_fields.get(tag), update_fields.get(tag)) {
                (Some(o), None) => match original_oneof {
                    Some(oneof) => {
                        if !completely_deleted.contains(oneof) {
                            self.add_at(&[oneof, &segment], OneofFieldRemoved);
                        }
                    }
                    None => {
                        let kind = if o.cardinality() == Cardinality::Required {
                            RequiredFieldRemoved
                        } else {
                            FieldRemoved
                        };
                        self.add_at(&[&segment], kind);
                    }
                },
                (None, Some(u)) => match update_oneof {
                    Some(oneof) => self.add_at(&[oneof, &segment], OneofFieldAdded),
                    None => {
                        let kind = if u.cardinality() == Cardinality::Required {
                            RequiredFieldAdded
                        } else {
                            FieldAdded
                        };
                        self.add_at(&[&segment], kind);
                    }
                },
                (Some(o), Some(u)) => {
                    if original_oneof.is_some() && update_oneof.is_none() {
                        self.add_at(&[&segment], OneofFieldMovedToTopLevel);
                    }
                    let pushed = match update_oneof {
                        Some(oneof) => {
                            self.path.push(oneof.clone());
                            self.path.push(segment.clone());
                            2
                        }
                        None => {
                            self.path.push(segment.clone());
                            1
                        }
                    };
                    self.compare_fields(o, u);
                    for _ in 0..pushed {
                        self.path.pop();
                    }
                }
                (None, None) => {}
            }
        }
    }

    /// `FieldSchemaDiff.compare`.
    fn compare_fields(&mut self, original: &FieldDescriptor, update: &FieldDescriptor) {
        if original.name() != update.name() {
            self.add(DifferenceType::FieldNameChanged);
        }
        self.compare_labels_and_types(
            label(original),
            label(update),
            &field_type(original),
            &field_type(update),
        );
    }

    fn compare_labels_and_types(
        &mut self,
        original_label: Option<Label>,
        update_label: Option<Label>,
        original: &FieldType,
        update: &FieldType,
    ) {
        let kind = type_kind(original);
        if kind != type_kind(update) {
            self.add(DifferenceType::FieldKindChanged);
            return;
        }
        match (original, update) {
            (FieldType::Message(o), FieldType::Message(u)) => self.compare_message_types(o, u),
            (FieldType::Map(ok, ov), FieldType::Map(uk, uv)) => {
                self.compare_labels_and_types(None, None, ok, uk);
                self.compare_labels_and_types(None, None, ov, uv);
            }
            _ => {
                let original_kind = scalar_kind(original);
                if original_kind != scalar_kind(update) {
                    self.add(DifferenceType::FieldScalarKindChanged);
                } else if let (Some(ol), Some(ul)) = (original_label, update_label) {
                    if ol != ul {
                        match original_kind {
                            Some(ScalarKind::StringOrBytes) => {
                                self.add(DifferenceType::FieldStringOrBytesLabelChanged)
                            }
                            Some(_) => self.add(DifferenceType::FieldNumericLabelChanged),
                            None => {}
                        }
                    }
                }
            }
        }
    }

    /// `FieldSchemaDiff.compareMessageTypes`: compare package-stripped names, then recurse into
    /// the referenced messages unless both come from the same subject and version.
    fn compare_message_types(&mut self, original: &MessageDescriptor, update: &MessageDescriptor) {
        let original_file = original.parent_file();
        let update_file = update.parent_file();
        let original_local = local_name(original.full_name(), &original_file);
        let update_local = local_name(update.full_name(), &update_file);
        if original_local != update_local {
            self.add(DifferenceType::FieldNamedTypeChanged);
            return;
        }
        let original_origin = self.original.origin(original_file.name());
        let update_origin = self.update.origin(update_file.name());
        let same_reference = match (original_origin, update_origin) {
            (Origin::Root, Origin::Root) => true,
            (Origin::Reference(os, ov), Origin::Reference(us, uv)) => os == us && ov == uv,
            _ => false,
        };
        if same_reference {
            return;
        }
        // Comparing two copies of the same file finds nothing; skip the walk (built-in files, or
        // the same dependency text under both schemas).
        if original_file.name() == update_file.name() {
            let original_source = self.original.sources.get(original_file.name());
            let update_source = self.update.sources.get(update_file.name());
            if original_source == update_source {
                return;
            }
        }
        let mut sub = Ctx {
            original: self.original,
            update: self.update,
            path: original_local.split('.').map(str::to_string).collect(),
            in_progress: self.in_progress.clone(),
            diffs: Vec::new(),
        };
        sub.compare_messages(original, update);
        let incompatible = sub.diffs.iter().any(|d| !d.kind.is_compatible());
        self.diffs.append(&mut sub.diffs);
        if incompatible {
            self.add(DifferenceType::FieldNamedTypeChanged);
        }
    }
}
