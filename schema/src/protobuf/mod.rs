//! Protobuf: parsing (.proto text or base64 FileDescriptorProto), canonical text, normalisation,
//! Confluent's SchemaDiff compatibility and the message-index helpers.
//!
//! - `parse`: protox compiles the text; imports resolve through the caller's [`Dependency`]
//!   values (name = import path), then the built-in files of `well_known` (Google's
//!   `google/protobuf/*` and `google/type/*`, `confluent/meta.proto`,
//!   `confluent/type/decimal.proto`), as Confluent's `KNOWN_DEPENDENCIES`.
//! - `lenient`: when that fails, Confluent's leniency: custom options that name no known
//!   extension are kept in the text but left out of the descriptors, and types resolve across
//!   every referenced schema whatever the import lines name.
//! - `canonical`: the re-printed `.proto` text (Confluent's `canonicalString()`) and the
//!   normalised text (Confluent's `normalize()`).
//! - `diff`: Confluent's `SchemaDiff` with its 26 difference types ([`diff()`] returns them
//!   all; [`FormatSchema::backward_differences`] only the incompatible ones).
//! - `index`: message indexes for the wire format ([`ProtobufSchema::message_indexes`],
//!   [`ProtobufSchema::message_at`]).
//!
//! A [`ProtobufSchema`] keeps its compiled [`DescriptorPool`], so a serializer can encode
//! dynamic messages without compiling again ([`ProtobufSchema::message_descriptor`],
//! [`ProtobufSchema::descriptor_pool`]). Nothing here does I/O.

mod canonical;
mod diff;
mod index;
mod lenient;
mod option_value;
mod parse;
mod well_known;

use std::fmt;

use base64::Engine as _;
use prost_reflect::{DescriptorPool, FileDescriptor, MessageDescriptor};
use prost_types::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto};

pub use self::diff::{Difference, DifferenceType};
use self::parse::Compiled;
use crate::{
    CompatibilityPolicy, Dependency, FormatSchema, Incompatibility, ParseOptions, Result,
    SchemaType,
};

/// A parsed Protobuf schema: its canonical text, its dependencies and its compiled descriptors.
///
/// ```
/// use strata_schema::{FormatSchema, ParseOptions, ProtobufSchema};
///
/// let old = ProtobufSchema::parse(
///     "syntax = \"proto3\";\npackage shop;\nmessage Order { int32 qty = 1; }\n",
///     &[],
///     ParseOptions::default(),
/// )?;
/// let new = ProtobufSchema::parse(
///     "syntax = \"proto3\";\npackage shop;\nmessage Order { string qty = 1; }\n",
///     &[],
///     ParseOptions::default(),
/// )?;
/// // BACKWARD: can the new schema read what the old one wrote?
/// let problems = new.backward_differences(&old, Default::default());
/// assert_eq!(problems[0].kind, "FIELD_SCALAR_KIND_CHANGED");
/// assert_eq!(problems[0].path, "#/Order/1");
///
/// // What a serializer needs: the message indexes and a descriptor to encode with.
/// assert_eq!(new.message_indexes("shop.Order"), Some(vec![0]));
/// let descriptor = new.message_descriptor("shop.Order").expect("defined");
/// let _message = prost_reflect::DynamicMessage::new(descriptor);
/// # Ok::<(), strata_schema::Error>(())
/// ```
pub struct ProtobufSchema {
    canonical: String,
    dependencies: Vec<Dependency>,
    // Boxed: the descriptors are large and `ParsedSchema` holds all formats in one enum.
    compiled: Box<Compiled>,
}

impl fmt::Debug for ProtobufSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtobufSchema")
            .field("canonical", &self.canonical)
            .field(
                "dependencies",
                &self
                    .dependencies
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Every difference from `original` (the writer) to `update` (the reader), compatible ones
/// included: Confluent's `SchemaDiff.compare(original, update)`.
pub fn diff(original: &ProtobufSchema, update: &ProtobufSchema) -> Vec<Difference> {
    diff::compare(&original.compiled, &update.compiled)
}

impl ProtobufSchema {
    /// The compiled descriptors: this schema's file and every file it imports.
    pub fn descriptor_pool(&self) -> &DescriptorPool {
        &self.compiled.pool
    }

    /// This schema's own file in [`Self::descriptor_pool`].
    pub fn file_descriptor(&self) -> &FileDescriptor {
        &self.compiled.root
    }

    /// The message type `full_name` (e.g. `pkg.Outer.Inner`), from this schema or its imports.
    pub fn message_descriptor(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.compiled
            .pool
            .get_message_by_name(full_name.strip_prefix('.').unwrap_or(full_name))
    }

    /// The first message of the file (what Confluent serialises by default), if any.
    pub fn first_message(&self) -> Option<MessageDescriptor> {
        self.compiled.root.messages().next()
    }

    /// The message indexes of `full_name` in this schema (Confluent's `toMessageIndexes`):
    /// `[0]` for the first top-level message, `[1, 0]` for the first message nested in the
    /// second, ... `None` if the schema defines no such message.
    pub fn message_indexes(&self, full_name: &str) -> Option<Vec<i32>> {
        index::message_indexes(&self.compiled.written, full_name)
    }

    /// The full name of the message at `indexes` (Confluent's `toMessageName`); an empty slice
    /// means `[0]`. `None` if the indexes point nowhere.
    pub fn message_at(&self, indexes: &[i32]) -> Option<String> {
        index::message_at(&self.compiled.written, indexes)
    }

    /// The message descriptor at `indexes` (see [`Self::message_at`]).
    pub fn message_descriptor_at(&self, indexes: &[i32]) -> Option<MessageDescriptor> {
        let name = index::message_at(&self.compiled.written, indexes)?;
        self.compiled.pool.get_message_by_name(&name)
    }

    /// The schema as a base64 serialised `FileDescriptorProto` (`format=serialized`), custom
    /// options included.
    pub fn serialized(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.compiled.root.encode_to_vec())
    }

    /// The root file as written, with every type name replaced by its fully-qualified form.
    fn resolved_written(&self) -> FileDescriptorProto {
        let mut written = self.compiled.written.clone();
        let resolved = self.compiled.root.file_descriptor_proto();
        patch_fields(&mut written.extension, &resolved.extension);
        patch_messages(&mut written.message_type, &resolved.message_type);
        for (w, r) in written.service.iter_mut().zip(&resolved.service) {
            for (wm, rm) in w.method.iter_mut().zip(&r.method) {
                wm.input_type.clone_from(&rm.input_type);
                wm.output_type.clone_from(&rm.output_type);
            }
        }
        written
    }
}

fn patch_fields(written: &mut [FieldDescriptorProto], resolved: &[FieldDescriptorProto]) {
    for (w, r) in written.iter_mut().zip(resolved) {
        if w.type_name.is_some() {
            w.type_name.clone_from(&r.type_name);
        }
        if w.extendee.is_some() {
            w.extendee.clone_from(&r.extendee);
        }
    }
}

fn patch_messages(written: &mut [DescriptorProto], resolved: &[DescriptorProto]) {
    for (w, r) in written.iter_mut().zip(resolved) {
        patch_fields(&mut w.field, &r.field);
        patch_fields(&mut w.extension, &r.extension);
        patch_messages(&mut w.nested_type, &r.nested_type);
    }
}

/// Custom-option name resolution against a compiled pool, for the normalised text.
struct PoolResolve<'a> {
    pool: &'a DescriptorPool,
    package: &'a str,
}

impl canonical::Resolve for PoolResolve<'_> {
    fn extension(&self, name: &str) -> Option<String> {
        if let Some(absolute) = name.strip_prefix('.') {
            return self
                .pool
                .get_extension_by_name(absolute)
                .map(|e| e.full_name().to_string());
        }
        // Protobuf scoping: innermost package prefix first (Confluent's Context.resolve).
        let parts: Vec<&str> = if self.package.is_empty() {
            Vec::new()
        } else {
            self.package.split('.').collect()
        };
        for i in (0..=parts.len()).rev() {
            let candidate = if i == 0 {
                name.to_string()
            } else {
                format!("{}.{name}", parts[..i].join("."))
            };
            if let Some(e) = self.pool.get_extension_by_name(&candidate) {
                return Some(e.full_name().to_string());
            }
        }
        None
    }

    fn is_repeated_extension(&self, full_name: &str) -> bool {
        self.pool
            .get_extension_by_name(full_name)
            .is_some_and(|e| e.is_list())
    }
}

impl FormatSchema for ProtobufSchema {
    const TYPE: SchemaType = SchemaType::Protobuf;

    fn parse(text: &str, dependencies: &[Dependency], _options: ParseOptions) -> Result<Self> {
        let compiled = Box::new(parse::compile(text, dependencies)?);
        let canonical = canonical::print(&compiled.written);
        Ok(ProtobufSchema {
            canonical,
            dependencies: dependencies.to_vec(),
            compiled,
        })
    }

    fn canonical(&self) -> &str {
        &self.canonical
    }

    /// Confluent's `normalize()`: imports and options sorted, custom option names and type names
    /// fully qualified, fields, oneofs, enum constants and reserved ranges sorted. Messages keep
    /// their order (message indexes depend on it).
    fn normalize(&self) -> Result<Self> {
        let resolve = PoolResolve {
            pool: &self.compiled.pool,
            package: self.compiled.root.package_name(),
        };
        let text = canonical::print_normalized(&self.resolved_written(), &resolve);
        let compiled = Box::new(parse::compile(&text, &self.dependencies)?);
        Ok(ProtobufSchema {
            canonical: text,
            dependencies: self.dependencies.clone(),
            compiled,
        })
    }

    fn backward_differences(
        &self,
        writer: &Self,
        _policy: CompatibilityPolicy,
    ) -> Vec<Incompatibility> {
        // Confluent: new.isBackwardCompatible(old) runs SchemaDiff.compare(old, new) and keeps
        // the differences outside COMPATIBLE_CHANGES.
        diff(writer, self)
            .into_iter()
            .filter(|d| !d.kind.is_compatible())
            .map(|d| Incompatibility {
                kind: d.kind.as_str().to_string(),
                message: d.message(),
                path: d.path,
            })
            .collect()
    }

    fn record_name(&self) -> Option<String> {
        // Confluent's ProtobufSchema.name(): the first message, else the first enum.
        let root = &self.compiled.root;
        root.messages()
            .next()
            .map(|m| m.full_name().to_string())
            .or_else(|| root.enums().next().map(|e| e.full_name().to_string()))
    }

    fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    /// Confluent's `formattedString`: `serialized` (base64 `FileDescriptorProto`),
    /// `ignore_extensions` (custom options other than Confluent's, extension ranges and `extend`
    /// blocks left out), `default` or empty (the canonical text). Unknown formats give the
    /// canonical text, as Confluent does for forward compatibility.
    fn formatted(&self, format: &str) -> Result<String> {
        Ok(match format.trim() {
            "serialized" => self.serialized(),
            "ignore_extensions" => canonical::print_ignoring_extensions(&self.compiled.written),
            _ => self.canonical.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProtobufSchema {
        ProtobufSchema::parse(text, &[], ParseOptions::default()).expect("parses")
    }

    #[test]
    fn canonical_text_round_trips() {
        let schema = parse(
            r#"syntax = "proto3";
package acme.v1;
import "google/protobuf/timestamp.proto";
option java_package = "com.acme";
// A comment that is dropped.
message Order {
  reserved 5, 8 to 10;
  reserved "legacy";
  string id = 1 [json_name = "ID"];
  map<string, Line> lines = 2;
  google.protobuf.Timestamp at = 3;
  optional int64 total = 4;
  oneof payment { string card = 6; bytes token = 7; }
  message Line { int32 qty = 1; }
  enum State { option allow_alias = true; NEW = 0; OPEN = 1; ALSO_OPEN = 1; }
}
service Orders { rpc Get (Order) returns (stream Order); }
"#,
        );
        let again = parse(schema.canonical());
        assert_eq!(schema.canonical(), again.canonical());
        assert!(schema.canonical().contains("map<string, Line> lines = 2;"));
        assert!(schema.canonical().contains("optional int64 total = 4;"));
        assert!(!schema.canonical().contains("comment"));
    }

    #[test]
    fn reserved_statements_keep_their_grouping() {
        let schema = parse(
            "syntax = \"proto3\";\nmessage M {\n  reserved 14;\n  reserved 15, 9 to 11;\n  reserved \"foo\";\n  reserved \"bar\", \"baz\";\n  enum E { reserved 3, 5 to max; X = 0; }\n}\n",
        );
        let text = schema.canonical();
        assert!(
            text.contains("  reserved 14;\n  reserved 15, 9 to 11;\n  reserved \"foo\";\n  reserved \"bar\", \"baz\";\n"),
            "{text}"
        );
        assert!(text.contains("reserved 3, 5 to max;"), "{text}");
        assert_eq!(parse(text).canonical(), text);
        let normalized = schema.normalize().expect("normalizes");
        assert!(normalized.canonical().contains(
            "  reserved 9 to 11;\n  reserved 14;\n  reserved 15;\n  reserved \"bar\";\n"
        ));
    }

    #[test]
    fn normalize_sorts_options_imports_and_fields() {
        let a = parse(
            r#"syntax = "proto3";
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
option java_package = "x";
option go_package = "y";
message M { google.protobuf.Duration d = 2; google.protobuf.Timestamp t = 1; }
"#,
        );
        let b = parse(
            r#"syntax = "proto3";
import "google/protobuf/duration.proto";
import "google/protobuf/timestamp.proto";
option go_package = "y";
option java_package = "x";
message M {
  google.protobuf.Timestamp t = 1;
  .google.protobuf.Duration d = 2;
}
"#,
        );
        assert_ne!(a.canonical(), b.canonical());
        let (na, nb) = (a.normalize().expect("a"), b.normalize().expect("b"));
        assert_eq!(na.canonical(), nb.canonical());
        assert_eq!(na.normalize().expect("again").canonical(), na.canonical());
    }

    #[test]
    fn message_indexes_skip_enums_and_map_entries() {
        let schema = parse(
            r#"syntax = "proto3";
package p;
enum E { X = 0; }
message A { map<string, string> m = 1; message B {} message C {} }
message D {}
"#,
        );
        assert_eq!(schema.message_indexes("p.A"), Some(vec![0]));
        assert_eq!(schema.message_indexes("p.A.C"), Some(vec![0, 1]));
        assert_eq!(schema.message_indexes("p.D"), Some(vec![1]));
        assert_eq!(schema.message_indexes("p.Nope"), None);
        assert_eq!(schema.message_at(&[0, 1]).as_deref(), Some("p.A.C"));
        assert_eq!(schema.message_at(&[]).as_deref(), Some("p.A"));
        assert_eq!(schema.message_at(&[2]), None);
        assert_eq!(schema.record_name().as_deref(), Some("p.A"));
    }

    #[test]
    fn serialized_descriptor_parses_to_the_same_canonical_text() {
        let schema = parse("syntax = \"proto3\";\npackage p;\nmessage A { string s = 1; }\n");
        let again = ProtobufSchema::parse(&schema.serialized(), &[], ParseOptions::default())
            .expect("base64 parses");
        assert_eq!(again.message_indexes("p.A"), Some(vec![0]));
        assert_eq!(again.diff_count(&schema), 0);
    }

    #[test]
    fn invalid_text_reports_line_and_column() {
        let err = ProtobufSchema::parse(
            "syntax = \"proto3\";\nmessage A {\n  string s = 1\n}\n",
            &[],
            ParseOptions::default(),
        )
        .expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("line 4"), "{text}");
    }

    impl ProtobufSchema {
        fn diff_count(&self, other: &ProtobufSchema) -> usize {
            diff(self, other).len()
        }
    }
}
