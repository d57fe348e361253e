//! Confluent's Protobuf `SchemaDiff`: the differences between an original (writer) and an update
//! (reader) schema, with Confluent's 26 difference types, paths and compatibility set.
//!
//! Ported from `protobuf-provider/.../protobuf/diff/` (`SchemaDiff`, `MessageSchemaDiff`,
//! `FieldSchemaDiff`, `EnumSchemaDiff`, `Context`, `Difference`) at Confluent master (8.x,
//! with `ONEOF_FIELD_MOVED_TO_TOP_LEVEL`). Confluent walks Wire's syntax tree; we extract a
//! [`Model`] from the prost-reflect descriptors once per schema (so a transitive check against
//! many stored versions walks plain vectors) and rebuild what the tree shows: proto3 fields
//! without a label have none, map fields are maps (their synthetic entry messages are
//! invisible), synthetic oneofs of proto3 `optional` fields are invisible, and groups are
//! invisible (Wire keeps them apart from fields and nested types).
//!
//! This module only compares; it does not parse or print.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};

use super::parse::{Compiled, Origin};

/// The kind of a difference, named as Confluent's `Difference.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DifferenceType {
    /// The file's package changed (incompatible since Confluent 8.0).
    PackageChanged,
    /// A message type was added.
    MessageAdded,
    /// A message type was removed.
    MessageRemoved,
    /// A message type changed position among its siblings.
    MessageMoved,
    /// An enum type was added.
    EnumAdded,
    /// An enum type was removed.
    EnumRemoved,
    /// An enum constant number was added.
    EnumConstAdded,
    /// An enum constant number got another name.
    EnumConstChanged,
    /// An enum constant number was removed.
    EnumConstRemoved,
    /// A field number was added.
    FieldAdded,
    /// A field number was removed.
    FieldRemoved,
    /// A field number got another name.
    FieldNameChanged,
    /// A field changed between scalar, message and map.
    FieldKindChanged,
    /// A scalar field moved to another wire-compatible group.
    FieldScalarKindChanged,
    /// A message field points at another (or incompatibly changed) message.
    FieldNamedTypeChanged,
    /// A numeric field's label (optional/required/repeated) changed.
    FieldNumericLabelChanged,
    /// A string or bytes field's label changed.
    FieldStringOrBytesLabelChanged,
    /// A required field was added.
    RequiredFieldAdded,
    /// A required field was removed.
    RequiredFieldRemoved,
    /// A oneof was added.
    OneofAdded,
    /// A oneof was removed.
    OneofRemoved,
    /// A new field was added inside a oneof.
    OneofFieldAdded,
    /// A field was removed from a oneof that still exists in some form.
    OneofFieldRemoved,
    /// Several independent fields were moved into one oneof.
    MultipleFieldsMovedToOneof,
    /// A field was moved into a oneof with fields from elsewhere.
    FieldMovedToExistingOneof,
    /// A oneof member became a top-level field (Confluent master).
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
    let (o, u) = (&original.model, &update.model);
    if o.package != u.package {
        ctx.add(DifferenceType::PackageChanged);
    }
    ctx.compare_types(
        &o.root_messages,
        &o.root_enums,
        &u.root_messages,
        &u.root_enums,
    );
    ctx.diffs
}

// ---- the model ------------------------------------------------------------------------------

/// What Confluent's diff looks at, extracted once per schema from its descriptors so that a
/// compatibility check against many stored versions walks plain vectors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    package: String,
    messages: Vec<Msg>,
    root_messages: Vec<usize>,
    root_enums: Vec<Enm>,
}

#[derive(Debug, Clone)]
struct Msg {
    name: String,
    /// The name without its file's package (Confluent's "local name").
    local_name: String,
    /// The file that defines it.
    file: String,
    /// Fields Confluent sees (groups excluded), sorted by number.
    fields: Vec<Fld>,
    /// Real (non-synthetic) oneofs in declaration order: name and member numbers.
    oneofs: Vec<(String, Vec<u32>)>,
    /// Nested messages Confluent sees (no map entries, no group bodies), in order.
    nested: Vec<usize>,
    enums: Vec<Enm>,
}

#[derive(Debug, Clone)]
struct Fld {
    number: u32,
    name: String,
    label: Option<Label>,
    required: bool,
    /// Index into the message's `oneofs`.
    oneof: Option<usize>,
    ty: Ty,
}

/// A field's type as Confluent's `FieldSchemaDiff` sees it.
#[derive(Debug, Clone)]
enum Ty {
    Scalar(ScalarKind),
    Enum,
    Message(usize),
    Map(Box<Ty>, Box<Ty>),
}

#[derive(Debug, Clone)]
struct Enm {
    name: String,
    /// Constants by number (the last alias wins, as in Confluent's map), sorted.
    values: Vec<(i32, String)>,
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

impl Model {
    /// Extract the model of `root` (and every message of the pool it may reach).
    pub(crate) fn build(pool: &DescriptorPool, root: &prost_reflect::FileDescriptor) -> Model {
        let all: Vec<MessageDescriptor> = pool.all_messages().collect();
        let index: HashMap<&str, usize> = all
            .iter()
            .enumerate()
            .map(|(i, m)| (m.full_name(), i))
            .collect();
        let messages = all.iter().map(|m| Msg::build(m, &index)).collect();
        let find = |m: &MessageDescriptor| index.get(m.full_name()).copied();
        Model {
            package: root.package_name().to_string(),
            messages,
            root_messages: root.messages().filter_map(|m| find(&m)).collect(),
            root_enums: root.enums().map(|e| Enm::build(&e)).collect(),
        }
    }
}

impl Msg {
    fn build(m: &MessageDescriptor, index: &HashMap<&str, usize>) -> Msg {
        let file = m.parent_file();
        let proto3 = file.file_descriptor_proto().syntax() == "proto3";
        let oneofs: Vec<(String, Vec<u32>)> = m
            .oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|o| {
                let members = o
                    .fields()
                    .filter(|f| !f.is_group())
                    .map(|f| f.number())
                    .collect();
                (o.name().to_string(), members)
            })
            .collect();
        let mut fields: Vec<Fld> = m
            .fields()
            .filter(|f| !f.is_group())
            .map(|f| {
                let oneof = f
                    .containing_oneof()
                    .filter(|o| !o.is_synthetic())
                    .and_then(|o| oneofs.iter().position(|(n, _)| n == o.name()));
                Fld {
                    number: f.number(),
                    name: f.name().to_string(),
                    label: label(&f, proto3, oneof.is_some()),
                    required: f.cardinality() == Cardinality::Required,
                    oneof,
                    ty: ty(&f, index),
                }
            })
            .collect();
        fields.sort_by_key(|f| f.number);
        let groups: Vec<String> = m
            .fields()
            .filter(|f| f.is_group())
            .filter_map(|f| match f.kind() {
                Kind::Message(g) => Some(g.full_name().to_string()),
                _ => None,
            })
            .collect();
        let nested = m
            .child_messages()
            .filter(|n| !n.is_map_entry() && !groups.iter().any(|g| g == n.full_name()))
            .filter_map(|n| index.get(n.full_name()).copied())
            .collect();
        let package = file.package_name();
        let full_name = m.full_name();
        let local_name = if package.is_empty() {
            full_name
        } else {
            full_name
                .strip_prefix(package)
                .and_then(|r| r.strip_prefix('.'))
                .unwrap_or(full_name)
        };
        Msg {
            name: m.name().to_string(),
            local_name: local_name.to_string(),
            file: file.name().to_string(),
            fields,
            oneofs,
            nested,
            enums: m.child_enums().map(|e| Enm::build(&e)).collect(),
        }
    }
}

impl Enm {
    fn build(e: &EnumDescriptor) -> Enm {
        let mut values: Vec<(i32, String)> = Vec::new();
        for v in e.values() {
            match values.iter_mut().find(|(n, _)| *n == v.number()) {
                Some(slot) => slot.1 = v.name().to_string(),
                None => values.push((v.number(), v.name().to_string())),
            }
        }
        values.sort_by_key(|v| v.0);
        Enm {
            name: e.name().to_string(),
            values,
        }
    }
}

fn label(field: &FieldDescriptor, proto3: bool, in_oneof: bool) -> Option<Label> {
    if field.is_map() || in_oneof {
        return None;
    }
    match field.cardinality() {
        Cardinality::Repeated => Some(Label::Repeated),
        Cardinality::Required => Some(Label::Required),
        Cardinality::Optional => {
            if proto3 && field.field_descriptor_proto().proto3_optional != Some(true) {
                None
            } else {
                Some(Label::Optional)
            }
        }
    }
}

fn ty(field: &FieldDescriptor, index: &HashMap<&str, usize>) -> Ty {
    match field.kind() {
        Kind::Message(m) if m.is_map_entry() => Ty::Map(
            Box::new(ty(&m.map_entry_key_field(), index)),
            Box::new(ty(&m.map_entry_value_field(), index)),
        ),
        Kind::Message(m) => match index.get(m.full_name()) {
            Some(i) => Ty::Message(*i),
            None => Ty::Enum, // unreachable: every message of the pool is indexed
        },
        Kind::Enum(_) => Ty::Enum,
        Kind::Int32 | Kind::Int64 | Kind::Uint32 | Kind::Uint64 | Kind::Bool => {
            Ty::Scalar(ScalarKind::GeneralNumber)
        }
        Kind::Sint32 | Kind::Sint64 => Ty::Scalar(ScalarKind::SignedNumber),
        Kind::String | Kind::Bytes => Ty::Scalar(ScalarKind::StringOrBytes),
        Kind::Fixed32 | Kind::Sfixed32 => Ty::Scalar(ScalarKind::Fixed32),
        Kind::Fixed64 | Kind::Sfixed64 => Ty::Scalar(ScalarKind::Fixed64),
        Kind::Float => Ty::Scalar(ScalarKind::Float),
        Kind::Double => Ty::Scalar(ScalarKind::Double),
    }
}

fn type_kind(t: &Ty) -> TypeKind {
    match t {
        Ty::Scalar(_) | Ty::Enum => TypeKind::Scalar,
        Ty::Message(_) => TypeKind::Message,
        Ty::Map(..) => TypeKind::Map,
    }
}

fn scalar_kind(t: &Ty) -> Option<ScalarKind> {
    match t {
        // Confluent: an enum is a GENERAL_NUMBER scalar.
        Ty::Enum => Some(ScalarKind::GeneralNumber),
        Ty::Scalar(k) => Some(*k),
        _ => None,
    }
}

// ---- the comparison -------------------------------------------------------------------------

struct Ctx<'a> {
    original: &'a Compiled,
    update: &'a Compiled,
    path: Vec<String>,
    /// Original messages being compared (Confluent's `SchemaScope`), against recursion.
    in_progress: Vec<usize>,
    diffs: Vec<Difference>,
}

impl<'a> Ctx<'a> {
    fn original_msg(&self, i: usize) -> &'a Msg {
        &self.original.model.messages[i]
    }

    fn update_msg(&self, i: usize) -> &'a Msg {
        &self.update.model.messages[i]
    }

    fn add(&mut self, kind: DifferenceType) {
        let mut path = String::from("#/");
        for (i, segment) in self.path.iter().enumerate() {
            if i > 0 {
                path.push('/');
            }
            path.push_str(segment);
        }
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

    /// `SchemaDiff.compareTypeElements`.
    fn compare_types(
        &mut self,
        original_messages: &[usize],
        original_enums: &[Enm],
        update_messages: &[usize],
        update_enums: &[Enm],
    ) {
        let names: BTreeSet<&str> = original_messages
            .iter()
            .map(|&i| self.original_msg(i).name.as_str())
            .chain(
                update_messages
                    .iter()
                    .map(|&i| self.update_msg(i).name.as_str()),
            )
            .collect();
        for name in names {
            let o = original_messages
                .iter()
                .position(|&i| self.original_msg(i).name == name);
            let u = update_messages
                .iter()
                .position(|&i| self.update_msg(i).name == name);
            self.path.push(name.to_string());
            match (o, u) {
                (Some(_), None) => self.add(DifferenceType::MessageRemoved),
                (None, Some(_)) => self.add(DifferenceType::MessageAdded),
                (Some(oi), Some(ui)) => {
                    self.compare_messages(original_messages[oi], update_messages[ui]);
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

        let names: BTreeSet<&str> = original_enums
            .iter()
            .chain(update_enums.iter())
            .map(|e| e.name.as_str())
            .collect();
        for name in names {
            let o = original_enums.iter().find(|e| e.name == name);
            let u = update_enums.iter().find(|e| e.name == name);
            self.path.push(name.to_string());
            match (o, u) {
                (Some(_), None) => self.add(DifferenceType::EnumRemoved),
                (None, Some(_)) => self.add(DifferenceType::EnumAdded),
                (Some(o), Some(u)) => self.compare_enums(o, u),
                (None, None) => {}
            }
            self.path.pop();
        }
    }

    /// `EnumSchemaDiff.compare`: constants matched by number.
    fn compare_enums(&mut self, original: &Enm, update: &Enm) {
        let numbers: BTreeSet<i32> = original
            .values
            .iter()
            .chain(update.values.iter())
            .map(|v| v.0)
            .collect();
        for n in numbers {
            let segment = n.to_string();
            let o = original.values.iter().find(|v| v.0 == n);
            let u = update.values.iter().find(|v| v.0 == n);
            match (o, u) {
                (Some(_), None) => self.add_at(&[&segment], DifferenceType::EnumConstRemoved),
                (None, Some(_)) => self.add_at(&[&segment], DifferenceType::EnumConstAdded),
                (Some(o), Some(u)) if o.1 != u.1 => {
                    self.add_at(&[&segment], DifferenceType::EnumConstChanged)
                }
                _ => {}
            }
        }
    }

    /// `MessageSchemaDiff.compare`.
    fn compare_messages(&mut self, original: usize, update: usize) {
        if !self.in_progress.contains(&original) {
            self.in_progress.push(original);
            self.compare_message_fields(self.original_msg(original), self.update_msg(update));
            self.in_progress.pop();
        }
        let (o, u) = (self.original_msg(original), self.update_msg(update));
        self.compare_types(&o.nested, &o.enums, &u.nested, &u.enums);
    }

    fn compare_message_fields(&mut self, original: &'a Msg, update: &'a Msg) {
        use DifferenceType::*;
        let original_field = |n: u32| original.fields.iter().find(|f| f.number == n);
        let update_field = |n: u32| update.fields.iter().find(|f| f.number == n);
        let original_oneof = |f: &Fld| f.oneof.map(|i| original.oneofs[i].0.as_str());
        let update_oneof = |f: &Fld| f.oneof.map(|i| update.oneofs[i].0.as_str());

        // A oneof removed by name with none of its members surviving anywhere is a complete
        // deletion, which Confluent treats as compatible.
        let completely_deleted: Vec<&str> = original
            .oneofs
            .iter()
            .filter(|(name, members)| {
                !update.oneofs.iter().any(|(n, _)| n == name)
                    && !members.iter().any(|&n| update_field(n).is_some())
            })
            .map(|(name, _)| name.as_str())
            .collect();

        // Newly introduced mutual exclusivity: pre-existing members of an update oneof that come
        // from more than one original group (a oneof, or a top-level field each).
        for (name, members) in &update.oneofs {
            let mut groups: HashSet<(bool, &str, u32)> = HashSet::new();
            let mut top_level_moved_in = 0;
            for &n in members {
                if let Some(f) = original_field(n) {
                    match original_oneof(f) {
                        Some(o) => {
                            groups.insert((true, o, 0));
                        }
                        None => {
                            groups.insert((false, "", n));
                            top_level_moved_in += 1;
                        }
                    }
                }
            }
            if groups.len() > 1 {
                let kind = if top_level_moved_in > 1 {
                    MultipleFieldsMovedToOneof
                } else {
                    FieldMovedToExistingOneof
                };
                self.add_at(&[name], kind);
            }
        }

        let oneof_names: BTreeSet<&str> = original
            .oneofs
            .iter()
            .chain(update.oneofs.iter())
            .map(|(n, _)| n.as_str())
            .collect();
        for name in oneof_names {
            let in_original = original.oneofs.iter().any(|(n, _)| n == name);
            let in_update = update.oneofs.iter().any(|(n, _)| n == name);
            if !in_update {
                self.add_at(&[name], OneofRemoved);
            } else if !in_original {
                self.add_at(&[name], OneofAdded);
            }
        }

        // Both field lists are sorted by number: merge them.
        let (mut i, mut j) = (0, 0);
        while i < original.fields.len() || j < update.fields.len() {
            let o = original.fields.get(i);
            let u = update.fields.get(j);
            let (o, u) = match (o, u) {
                (Some(o), Some(u)) if o.number == u.number => {
                    i += 1;
                    j += 1;
                    (Some(o), Some(u))
                }
                (Some(o), Some(u)) if o.number < u.number => {
                    i += 1;
                    (Some(o), None)
                }
                (Some(_), Some(u)) => {
                    j += 1;
                    (None, Some(u))
                }
                (Some(o), None) => {
                    i += 1;
                    (Some(o), None)
                }
                (None, Some(u)) => {
                    j += 1;
                    (None, Some(u))
                }
                (None, None) => break,
            };
            match (o, u) {
                (Some(o), None) => {
                    let segment = o.number.to_string();
                    match original_oneof(o) {
                        Some(oneof) => {
                            if !completely_deleted.contains(&oneof) {
                                self.add_at(&[oneof, &segment], OneofFieldRemoved);
                            }
                        }
                        None => {
                            let kind = if o.required {
                                RequiredFieldRemoved
                            } else {
                                FieldRemoved
                            };
                            self.add_at(&[&segment], kind);
                        }
                    }
                }
                (None, Some(u)) => {
                    let segment = u.number.to_string();
                    match update_oneof(u) {
                        Some(oneof) => self.add_at(&[oneof, &segment], OneofFieldAdded),
                        None => {
                            let kind = if u.required {
                                RequiredFieldAdded
                            } else {
                                FieldAdded
                            };
                            self.add_at(&[&segment], kind);
                        }
                    }
                }
                (Some(o), Some(u)) => {
                    let segment = o.number.to_string();
                    if o.oneof.is_some() && u.oneof.is_none() {
                        self.add_at(&[&segment], OneofFieldMovedToTopLevel);
                    }
                    let pushed = match update_oneof(u) {
                        Some(oneof) => {
                            self.path.push(oneof.to_string());
                            self.path.push(segment);
                            2
                        }
                        None => {
                            self.path.push(segment);
                            1
                        }
                    };
                    // FieldSchemaDiff.compare
                    if o.name != u.name {
                        self.add(FieldNameChanged);
                    }
                    self.compare_labels_and_types(o.label, u.label, &o.ty, &u.ty);
                    for _ in 0..pushed {
                        self.path.pop();
                    }
                }
                (None, None) => {}
            }
        }
    }

    fn compare_labels_and_types(
        &mut self,
        original_label: Option<Label>,
        update_label: Option<Label>,
        original: &Ty,
        update: &Ty,
    ) {
        if type_kind(original) != type_kind(update) {
            self.add(DifferenceType::FieldKindChanged);
            return;
        }
        match (original, update) {
            (Ty::Message(o), Ty::Message(u)) => self.compare_message_types(*o, *u),
            (Ty::Map(ok, ov), Ty::Map(uk, uv)) => {
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
    fn compare_message_types(&mut self, original: usize, update: usize) {
        let (o, u) = (self.original_msg(original), self.update_msg(update));
        if o.local_name != u.local_name {
            self.add(DifferenceType::FieldNamedTypeChanged);
            return;
        }
        let same_reference = match (self.original.origin(&o.file), self.update.origin(&u.file)) {
            (Origin::Root, Origin::Root) => true,
            (Origin::Reference(os, ov), Origin::Reference(us, uv)) => os == us && ov == uv,
            _ => false,
        };
        if same_reference {
            return;
        }
        // Comparing two copies of the same file finds nothing; skip the walk (built-in files, or
        // the same dependency text under both schemas).
        if o.file == u.file
            && self.original.sources.get(&o.file) == self.update.sources.get(&u.file)
        {
            return;
        }
        let mut sub = Ctx {
            original: self.original,
            update: self.update,
            path: o.local_name.split('.').map(str::to_string).collect(),
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
