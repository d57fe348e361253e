//! Re-printing a parsed `.proto` file as text: the canonical form the registry stores and the
//! normalised form (`normalize=true`).
//!
//! The layout follows Confluent's `ProtobufSchemaUtils.toString` (8.x): syntax, package, imports,
//! file options, messages then enums, extends, services; inside a message: reserved, options,
//! fields, oneofs, groups, extension ranges, extends, nested messages then nested enums; two
//! spaces of indentation; aggregate option values printed as `{ key: value, ... }` blocks.
//! Comments are dropped. The printer works on a `FileDescriptorProto` "as written" (protox-parse
//! output: type names unresolved, options uninterpreted), so the canonical text keeps the user's
//! type names as Confluent's does. In normalised mode the caller supplies a copy whose type names
//! are fully qualified, and the printer sorts as Confluent's `toNormalizedString` does.
//!
//! This module must not compile or resolve anything itself: resolution is the caller's
//! [`Resolve`] hook.

use std::collections::BTreeMap;

use super::option_value::{self, ExtensionOptions, Opt, Value};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    uninterpreted_option::NamePart, DescriptorProto, EnumDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, ServiceDescriptorProto, SourceCodeInfo, UninterpretedOption,
};

/// A (line, column) position of source info.
type Pos = (Option<i32>, Option<i32>);

/// Highest message field number; Confluent prints ranges ending there as `max`.
const MAX_FIELD_NUMBER: i32 = 536_870_911;

/// Resolution of custom option names for the normalised form.
pub(crate) trait Resolve {
    /// The fully-qualified name (no leading dot) of the extension `name` as written in a scope
    /// whose package is the file's, or `None` if it is unknown.
    fn extension(&self, name: &str) -> Option<String>;
    /// Whether the extension (fully qualified) is a repeated field.
    fn is_repeated_extension(&self, full_name: &str) -> bool;
}

/// Print a `FileDescriptorProto` as Confluent's canonical text.
pub(crate) fn print(file: &FileDescriptorProto) -> String {
    Printer {
        maps: MapStyle::AsWritten,
        extensions: None,
        source: file.source_code_info.as_ref(),
        normalize: false,
        ignore_extensions: false,
        resolve: None,
    }
    .file(file)
}

/// Print without custom options (Confluent's own `confluent.*` ones stay), extension ranges and
/// `extend` blocks: Confluent's `format=ignore_extensions`.
pub(crate) fn print_ignoring_extensions(file: &FileDescriptorProto) -> String {
    Printer {
        maps: MapStyle::AsWritten,
        extensions: None,
        source: file.source_code_info.as_ref(),
        normalize: false,
        ignore_extensions: true,
        resolve: None,
    }
    .file(file)
}

/// Print a decoded serialized descriptor (type names already qualified). Map entries stay
/// explicit nested messages, as Confluent's `toProtoFile(FileDescriptorProto)` keeps them, so
/// message indexes count them as Confluent's (and confluent-kafka-python's) do.
pub(crate) fn print_descriptor(
    file: &FileDescriptorProto,
    extensions: &ExtensionOptions,
) -> String {
    Printer {
        maps: MapStyle::Explicit,
        extensions: Some(extensions),
        source: None,
        normalize: false,
        ignore_extensions: false,
        resolve: None,
    }
    .file(file)
}

/// Print the normalised form. `file` must carry fully-qualified type names (leading dot).
pub(crate) fn print_normalized(file: &FileDescriptorProto, resolve: &dyn Resolve) -> String {
    Printer {
        maps: MapStyle::Collapsed,
        extensions: None,
        source: None,
        normalize: true,
        ignore_extensions: false,
        resolve: Some(resolve),
    }
    .file(file)
}

struct Printer<'a> {
    maps: MapStyle,
    /// Extension options of a serialized descriptor, by descriptor path.
    extensions: Option<&'a ExtensionOptions>,
    /// Source locations of the text, to keep `reserved` statements as written.
    source: Option<&'a SourceCodeInfo>,
    normalize: bool,
    ignore_extensions: bool,
    resolve: Option<&'a dyn Resolve>,
}

fn indent(sb: &mut String, value: &str) {
    // Confluent's appendIndented: every line, trailing empty line dropped.
    let trimmed = value.strip_suffix('\n').unwrap_or(value);
    for line in trimmed.split('\n') {
        sb.push_str("  ");
        sb.push_str(line);
        sb.push('\n');
    }
}

/// Confluent's `ProtobufSchemaUtils.escapeChars`.
fn escape(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            _ => out.push(c),
        }
    }
    out
}

fn scalar_name(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

/// The type of a field as written: a scalar keyword or the type name.
fn field_type(field: &FieldDescriptorProto) -> String {
    match field.r#type.and_then(|t| Type::try_from(t).ok()) {
        Some(Type::Message) | Some(Type::Enum) | Some(Type::Group) | None => {
            field.type_name().to_string()
        }
        Some(t) => scalar_name(t).to_string(),
    }
}

/// protoc's `ToJsonName`: underscores dropped, the letter after each one upper-cased.
fn default_json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn last_component(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// How map fields and their entry messages are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MapStyle {
    /// Entries synthesised from `map<K, V>` syntax (protox-parse sets the interpreted
    /// `map_entry` option on them) print as `map<K, V>`; entries written out explicitly (an
    /// uninterpreted `option map_entry = true`) stay as written.
    AsWritten,
    /// Every entry prints as an explicit nested message with `option map_entry = true`, as
    /// Confluent's `toProtoFile(FileDescriptorProto)` renders a serialized descriptor.
    Explicit,
    /// Every entry, however written, prints as `map<K, V>` (Confluent's normaliser).
    Collapsed,
}

/// Synthesised from `map<K, V>` (or interpreted in a serialized descriptor).
pub(crate) fn is_synthetic_map_entry(m: &DescriptorProto) -> bool {
    m.options.as_ref().and_then(|o| o.map_entry) == Some(true)
}

/// Marked as a map entry in any way, including an explicit `option map_entry = true`.
fn is_any_map_entry(m: &DescriptorProto) -> bool {
    is_synthetic_map_entry(m)
        || m.options.as_ref().is_some_and(|o| {
            o.uninterpreted_option.iter().any(|u| {
                u.name.len() == 1
                    && !u.name[0].is_extension
                    && u.name[0].name_part == "map_entry"
                    && u.identifier_value.as_deref() == Some("true")
            })
        })
}

/// The descriptor path of `item` in `list` (by identity) under `base` and field `tag`.
fn child_path<T>(base: &[i32], tag: i32, list: &[T], item: &T) -> Option<Vec<i32>> {
    let index = list.iter().position(|x| std::ptr::eq(x, item))?;
    let mut path = base.to_vec();
    path.extend([tag, i32::try_from(index).ok()?]);
    Some(path)
}

impl Printer<'_> {
    /// Extension options of a serialized descriptor at `path` (none for source text).
    fn extra(&self, path: Option<&[i32]>) -> Vec<Opt> {
        match (self.extensions, path) {
            (Some(all), Some(path)) => all.get(path).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn is_map_entry(&self, m: &DescriptorProto) -> bool {
        match self.maps {
            MapStyle::AsWritten => is_synthetic_map_entry(m),
            MapStyle::Explicit => false,
            MapStyle::Collapsed => is_any_map_entry(m),
        }
    }

    /// The nested map-entry message a field points at, if the field prints as a map.
    fn map_entry<'m>(
        &self,
        parent: &'m DescriptorProto,
        field: &FieldDescriptorProto,
    ) -> Option<&'m DescriptorProto> {
        if field.label() != Label::Repeated {
            return None;
        }
        let name = last_component(field.type_name());
        parent
            .nested_type
            .iter()
            .find(|m| m.name() == name && self.is_map_entry(m))
    }
}

fn is_group(field: &FieldDescriptorProto) -> bool {
    field.r#type == Some(Type::Group as i32)
}

/// Names of nested messages that are the bodies of group fields.
fn group_bodies(m: &DescriptorProto) -> Vec<&str> {
    m.field
        .iter()
        .chain(m.extension.iter())
        .filter(|f| is_group(f))
        .map(|f| last_component(f.type_name()))
        .collect()
}

/// Oneofs that protoc synthesises for proto3 `optional` fields.
fn synthetic_oneofs(m: &DescriptorProto) -> Vec<bool> {
    (0..m.oneof_decl.len())
        .map(|i| {
            let members: Vec<&FieldDescriptorProto> = m
                .field
                .iter()
                .filter(|f| f.oneof_index == Some(i as i32))
                .collect();
            members.len() == 1 && members[0].proto3_optional == Some(true)
        })
        .collect()
}

// ---- options --------------------------------------------------------------------------------

fn uninterpreted(options: &[UninterpretedOption]) -> Vec<Opt> {
    options.iter().map(uninterpreted_one).collect()
}

fn uninterpreted_one(o: &UninterpretedOption) -> Opt {
    let parts = o
        .name
        .iter()
        .map(
            |NamePart {
                 name_part,
                 is_extension,
             }| (name_part.clone(), *is_extension),
        )
        .collect();
    let value = if let Some(id) = &o.identifier_value {
        Value::Prim(id.clone())
    } else if let Some(v) = o.positive_int_value {
        Value::Prim(v.to_string())
    } else if let Some(v) = o.negative_int_value {
        Value::Prim(v.to_string())
    } else if let Some(v) = o.double_value {
        Value::Prim(format_double(v))
    } else if let Some(v) = &o.string_value {
        Value::Str(String::from_utf8_lossy(v).into_owned())
    } else if let Some(v) = &o.aggregate_value {
        option_value::parse_aggregate(v)
    } else {
        Value::Prim(String::new())
    };
    Opt { parts, value }
}

/// A numeric literal in one spelling (Confluent's normaliser reformats numbers): hex and octal
/// integers in decimal, `1.0` as `1`. Confluent also rounds to three decimals; that loses
/// information, so we do not. Anything else (enum names, `inf`, `nan`) is left as is.
fn normalize_number(literal: &str) -> String {
    let (negative, digits) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    let integer = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(hex, 16).ok()
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        i128::from_str_radix(&digits[1..], 8).ok()
    } else {
        digits.parse::<i128>().ok()
    };
    if let Some(n) = integer {
        return if negative {
            (-n).to_string()
        } else {
            n.to_string()
        };
    }
    match literal.parse::<f64>() {
        Ok(v) if v.is_finite() => format_double(v),
        _ => literal.to_string(),
    }
}

fn format_double(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if v.is_nan() {
        "nan".into()
    } else {
        v.to_string()
    }
}

fn str_opt(out: &mut Vec<Opt>, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        out.push(Opt::simple(name, Value::Str(v.clone())));
    }
}

fn bool_opt(out: &mut Vec<Opt>, name: &str, v: Option<bool>) {
    if let Some(v) = v {
        out.push(Opt::simple(name, Value::Prim(v.to_string())));
    }
}

fn enum_opt(out: &mut Vec<Opt>, name: &str, v: Option<&str>) {
    if let Some(v) = v {
        out.push(Opt::simple(name, Value::Prim(v.to_string())));
    }
}

// Interpreted standard options appear only in decoded serialized descriptors; the order follows
// Confluent's `toProtoFile(FileDescriptorProto)`.
fn file_options(file: &FileDescriptorProto) -> Vec<Opt> {
    let mut out = Vec::new();
    if let Some(o) = &file.options {
        str_opt(&mut out, "java_package", &o.java_package);
        str_opt(&mut out, "java_outer_classname", &o.java_outer_classname);
        bool_opt(&mut out, "java_multiple_files", o.java_multiple_files);
        #[allow(deprecated)]
        bool_opt(
            &mut out,
            "java_generate_equals_and_hash",
            o.java_generate_equals_and_hash,
        );
        bool_opt(&mut out, "java_string_check_utf8", o.java_string_check_utf8);
        enum_opt(
            &mut out,
            "optimize_for",
            o.optimize_for.map(|_| o.optimize_for().as_str_name()),
        );
        str_opt(&mut out, "go_package", &o.go_package);
        bool_opt(&mut out, "cc_generic_services", o.cc_generic_services);
        bool_opt(&mut out, "java_generic_services", o.java_generic_services);
        bool_opt(&mut out, "py_generic_services", o.py_generic_services);
        bool_opt(&mut out, "deprecated", o.deprecated);
        bool_opt(&mut out, "cc_enable_arenas", o.cc_enable_arenas);
        str_opt(&mut out, "objc_class_prefix", &o.objc_class_prefix);
        str_opt(&mut out, "csharp_namespace", &o.csharp_namespace);
        str_opt(&mut out, "swift_prefix", &o.swift_prefix);
        str_opt(&mut out, "php_class_prefix", &o.php_class_prefix);
        str_opt(&mut out, "php_namespace", &o.php_namespace);
        str_opt(
            &mut out,
            "php_metadata_namespace",
            &o.php_metadata_namespace,
        );
        str_opt(&mut out, "ruby_package", &o.ruby_package);
        out.extend(uninterpreted(&o.uninterpreted_option));
    }
    out
}

fn message_options(m: &DescriptorProto) -> Vec<Opt> {
    let mut out = Vec::new();
    if let Some(o) = &m.options {
        bool_opt(
            &mut out,
            "no_standard_descriptor_accessor",
            o.no_standard_descriptor_accessor,
        );
        bool_opt(&mut out, "deprecated", o.deprecated);
        bool_opt(&mut out, "map_entry", o.map_entry);
        bool_opt(
            &mut out,
            "message_set_wire_format",
            o.message_set_wire_format,
        );
        out.extend(uninterpreted(&o.uninterpreted_option));
    }
    out
}

fn field_options(f: &FieldDescriptorProto) -> Vec<Opt> {
    let mut out = Vec::new();
    if let Some(o) = &f.options {
        enum_opt(&mut out, "ctype", o.ctype.map(|_| o.ctype().as_str_name()));
        bool_opt(&mut out, "packed", o.packed);
        enum_opt(
            &mut out,
            "jstype",
            o.jstype.map(|_| o.jstype().as_str_name()),
        );
        bool_opt(&mut out, "lazy", o.lazy);
        bool_opt(&mut out, "deprecated", o.deprecated);
        out.extend(uninterpreted(&o.uninterpreted_option));
    }
    out
}

fn enum_options(e: &EnumDescriptorProto) -> Vec<Opt> {
    let mut out = Vec::new();
    if let Some(o) = &e.options {
        bool_opt(&mut out, "allow_alias", o.allow_alias);
        bool_opt(&mut out, "deprecated", o.deprecated);
        out.extend(uninterpreted(&o.uninterpreted_option));
    }
    out
}

// ---- printer --------------------------------------------------------------------------------

impl Printer<'_> {
    fn file(&self, file: &FileDescriptorProto) -> String {
        let mut sb = String::new();
        let proto3 = file.syntax.as_deref() == Some("proto3");
        // protox-parse drops an explicit `syntax = "proto2"`; its source info still records it.
        let explicit_proto2 = file.syntax.as_deref() == Some("proto2")
            || (file.syntax.is_none()
                && file
                    .source_code_info
                    .as_ref()
                    .is_some_and(|s| s.location.iter().any(|l| l.path == [12])));
        if proto3 || (explicit_proto2 && !self.normalize) {
            sb.push_str(if proto3 {
                "syntax = \"proto3\";\n"
            } else {
                "syntax = \"proto2\";\n"
            });
        }
        if let Some(package) = file.package.as_deref().filter(|p| !p.is_empty()) {
            sb.push_str("package ");
            sb.push_str(package);
            sb.push_str(";\n");
        }
        if !file.dependency.is_empty() {
            sb.push('\n');
            let mut imports = Vec::new();
            let mut public = Vec::new();
            for (i, dep) in file.dependency.iter().enumerate() {
                if file.public_dependency.contains(&(i as i32)) {
                    public.push(dep.as_str());
                } else {
                    imports.push(dep.as_str());
                }
            }
            if self.normalize {
                imports.sort_unstable();
                imports.dedup();
                public.sort_unstable();
                public.dedup();
            }
            for i in imports {
                sb.push_str(&format!("import \"{i}\";\n"));
            }
            for i in public {
                sb.push_str(&format!("import public \"{i}\";\n"));
            }
        }
        let mut options = file_options(file);
        options.extend(self.extra(Some(&[])));
        let options = self.filter_options(options);
        if !options.is_empty() {
            sb.push('\n');
            for o in &options {
                sb.push_str(&self.option_statement(o));
            }
        }
        if !file.message_type.is_empty() || !file.enum_type.is_empty() {
            sb.push('\n');
            // Order of message types is significant: clients serialise message indexes against
            // the stored (non-normalised) text. Confluent prints messages, then enums.
            for (i, m) in file.message_type.iter().enumerate() {
                sb.push_str(&self.message(m, proto3, &[4, i as i32]));
            }
            for (i, e) in file.enum_type.iter().enumerate() {
                sb.push_str(&self.enumeration(e, &[5, i as i32]));
            }
        }
        if !self.ignore_extensions && !file.extension.is_empty() {
            sb.push('\n');
            for block in self.extends(&file.extension, proto3, &[7]) {
                sb.push_str(&block);
            }
        }
        if !file.service.is_empty() {
            sb.push('\n');
            for (i, s) in file.service.iter().enumerate() {
                sb.push_str(&self.service(s, &[6, i as i32]));
            }
        }
        sb
    }

    fn service(&self, s: &ServiceDescriptorProto, path: &[i32]) -> String {
        let mut sb = format!("service {} {{", s.name());
        let mut opts = Vec::new();
        if let Some(o) = &s.options {
            bool_opt(&mut opts, "deprecated", o.deprecated);
            opts.extend(uninterpreted(&o.uninterpreted_option));
        }
        opts.extend(self.extra(Some(path)));
        let opts = self.filter_options(opts);
        if !opts.is_empty() {
            sb.push('\n');
            for o in &opts {
                indent(&mut sb, &self.option_statement(o));
            }
        }
        if !s.method.is_empty() {
            sb.push('\n');
            for (j, m) in s.method.iter().enumerate() {
                let method_path: Vec<i32> = path.iter().copied().chain([2, j as i32]).collect();
                let mut line = format!("rpc {} (", m.name());
                if m.client_streaming() {
                    line.push_str("stream ");
                }
                line.push_str(m.input_type());
                line.push_str(") returns (");
                if m.server_streaming() {
                    line.push_str("stream ");
                }
                line.push_str(m.output_type());
                line.push(')');
                let mut mopts = Vec::new();
                if let Some(o) = &m.options {
                    bool_opt(&mut mopts, "deprecated", o.deprecated);
                    enum_opt(
                        &mut mopts,
                        "idempotency_level",
                        o.idempotency_level
                            .map(|_| o.idempotency_level().as_str_name()),
                    );
                    mopts.extend(uninterpreted(&o.uninterpreted_option));
                }
                mopts.extend(self.extra(Some(&method_path)));
                let mopts = self.filter_options(mopts);
                if !mopts.is_empty() {
                    line.push_str(" {\n");
                    for o in &mopts {
                        indent(&mut line, &self.option_statement(o));
                    }
                    line.push('}');
                }
                line.push_str(";\n");
                indent(&mut sb, &line);
            }
        }
        sb.push_str("}\n");
        sb
    }

    fn enumeration(&self, e: &EnumDescriptorProto, path: &[i32]) -> String {
        let mut sb = format!("enum {} {{", e.name());
        let mut reserved: Vec<(i64, String)> = e
            .reserved_range
            .iter()
            .map(|r| {
                (
                    i64::from(r.start()),
                    self.range(r.start(), r.end(), i32::MAX),
                )
            })
            .collect();
        let names: Vec<(i64, String)> = e
            .reserved_name
            .iter()
            .map(|n| (i64::MAX, n.clone()))
            .collect();
        let lines = self.reserved_lines(&mut reserved, names, path, (4, 5));
        if !lines.is_empty() {
            sb.push('\n');
            for l in &lines {
                indent(&mut sb, l);
            }
        }
        let mut options = enum_options(e);
        options.extend(self.extra(Some(path)));
        let options = self.filter_options(options);
        if lines.is_empty() && (!options.is_empty() || !e.value.is_empty()) {
            sb.push('\n');
        }
        for o in &options {
            indent(&mut sb, &self.option_statement(o));
        }
        let mut values: Vec<_> = e.value.iter().collect();
        if self.normalize {
            values.sort_by(|a, b| a.number().cmp(&b.number()).then(a.name().cmp(b.name())));
        }
        for v in values {
            let mut line = format!("{} = {}", v.name(), v.number());
            let mut opts = Vec::new();
            if let Some(o) = &v.options {
                bool_opt(&mut opts, "deprecated", o.deprecated);
                opts.extend(uninterpreted(&o.uninterpreted_option));
            }
            opts.extend(self.extra(child_path(path, 2, &e.value, v).as_deref()));
            let opts = self.filter_options(opts);
            if !opts.is_empty() {
                line.push(' ');
                line.push_str(&self.option_list(&opts));
            }
            line.push_str(";\n");
            indent(&mut sb, &line);
        }
        sb.push_str("}\n");
        sb
    }

    /// A reserved or extension range `[start, end]` (end inclusive).
    fn range(&self, start: i32, end_inclusive: i32, max: i32) -> String {
        if start == end_inclusive {
            start.to_string()
        } else if end_inclusive >= max {
            format!("{start} to max")
        } else {
            format!("{start} to {end_inclusive}")
        }
    }

    /// `reserved` statements: as written, one for numbers and one for names; normalised, one per
    /// value sorted by start (names last), as Confluent's normaliser splits them.
    fn reserved_lines(
        &self,
        numbers: &mut Vec<(i64, String)>,
        names: Vec<(i64, String)>,
        path: &[i32],
        tags: (i32, i32),
    ) -> Vec<String> {
        if !self.normalize {
            if let Some(lines) = self.reserved_as_written(numbers, &names, path, tags) {
                return lines;
            }
        }
        if self.maps == MapStyle::Explicit {
            // Confluent's toProtoFile makes one reserved element per range and per name.
            return numbers
                .drain(..)
                .map(|(_, s)| format!("reserved {s};\n"))
                .chain(names.iter().map(|(_, n)| format!("reserved \"{n}\";\n")))
                .collect();
        }
        let quote = |n: &str| format!("\"{n}\"");
        if self.normalize {
            let mut all: Vec<(i64, String, String)> = numbers
                .drain(..)
                .map(|(k, s)| (k, s.clone(), s))
                .chain(names.into_iter().map(|(k, n)| (k, n.clone(), quote(&n))))
                .collect();
            all.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
            all.into_iter()
                .map(|(_, _, s)| format!("reserved {s};\n"))
                .collect()
        } else {
            let mut out = Vec::new();
            if !numbers.is_empty() {
                let joined: Vec<String> = numbers.drain(..).map(|(_, s)| s).collect();
                out.push(format!("reserved {};\n", joined.join(", ")));
            }
            if !names.is_empty() {
                let joined: Vec<String> = names.iter().map(|(_, n)| quote(n)).collect();
                out.push(format!("reserved {};\n", joined.join(", ")));
            }
            out
        }
    }

    /// `reserved` statements grouped as in the source text (Confluent keeps one element per
    /// statement), from the source locations protox-parse records. `None` without them.
    fn reserved_as_written(
        &self,
        numbers: &[(i64, String)],
        names: &[(i64, String)],
        path: &[i32],
        (range_tag, name_tag): (i32, i32),
    ) -> Option<Vec<String>> {
        let source = self.source?;
        if numbers.is_empty() && names.is_empty() {
            return Some(Vec::new());
        }
        let start = |span: &[i32]| (span.first().copied(), span.get(1).copied());
        let end = |span: &[i32]| match span.len() {
            3 => (span.first().copied(), span.get(2).copied()),
            _ => (span.get(2).copied(), span.get(3).copied()),
        };
        let located = |tag: i32, j: usize| {
            source
                .location
                .iter()
                .find(|l| {
                    l.path.len() == path.len() + 2
                        && l.path.starts_with(path)
                        && l.path[path.len()] == tag
                        && l.path[path.len() + 1] == j as i32
                })
                .map(|l| start(&l.span))
        };
        // Statements: locations whose path is exactly the reserved field's.
        let mut statements: Vec<(i32, Pos, Pos)> = source
            .location
            .iter()
            .filter(|l| {
                l.path.len() == path.len() + 1
                    && l.path.starts_with(path)
                    && (l.path[path.len()] == range_tag || l.path[path.len()] == name_tag)
            })
            .map(|l| (l.path[path.len()], start(&l.span), end(&l.span)))
            .collect();
        statements.sort_by_key(|s| s.1);
        let mut lines = Vec::new();
        let mut used = 0;
        for (tag, from, to) in statements {
            let items: Vec<String> = if tag == range_tag {
                (0..numbers.len())
                    .filter(|&j| located(tag, j).is_some_and(|p| p >= from && p <= to))
                    .map(|j| numbers[j].1.clone())
                    .collect()
            } else {
                (0..names.len())
                    .filter(|&j| located(tag, j).is_some_and(|p| p >= from && p <= to))
                    .map(|j| format!("\"{}\"", names[j].1))
                    .collect()
            };
            if !items.is_empty() {
                used += items.len();
                lines.push(format!("reserved {};\n", items.join(", ")));
            }
        }
        (used == numbers.len() + names.len()).then_some(lines)
    }

    fn message(&self, m: &DescriptorProto, proto3: bool, path: &[i32]) -> String {
        let mut sb = format!("message {} {{", m.name());
        let mut reserved: Vec<(i64, String)> = m
            .reserved_range
            .iter()
            .map(|r| {
                (
                    i64::from(r.start()),
                    self.range(r.start(), r.end() - 1, MAX_FIELD_NUMBER),
                )
            })
            .collect();
        let names = m
            .reserved_name
            .iter()
            .map(|n| (i64::MAX, n.clone()))
            .collect();
        let lines = self.reserved_lines(&mut reserved, names, path, (9, 10));
        if !lines.is_empty() {
            sb.push('\n');
            for l in &lines {
                indent(&mut sb, l);
            }
        }
        let mut options = message_options(m);
        options.extend(self.extra(Some(path)));
        let options = self.filter_options(options);
        if !options.is_empty() {
            sb.push('\n');
            for o in &options {
                indent(&mut sb, &self.option_statement(o));
            }
        }

        let synthetic = synthetic_oneofs(m);
        let in_real_oneof = |f: &FieldDescriptorProto| {
            f.oneof_index
                .is_some_and(|i| !synthetic.get(i as usize).copied().unwrap_or(false))
        };
        let mut fields: Vec<&FieldDescriptorProto> = m
            .field
            .iter()
            .filter(|f| !in_real_oneof(f) && !is_group(f))
            .collect();
        if self.normalize {
            fields.sort_by_key(|f| f.number());
        }
        if !fields.is_empty() {
            sb.push('\n');
            for f in fields {
                let field_path = child_path(path, 2, &m.field, f);
                indent(
                    &mut sb,
                    &self.field(m, f, proto3, false, field_path.as_deref()),
                );
            }
        }

        let mut oneofs: Vec<(usize, Vec<&FieldDescriptorProto>)> = m
            .oneof_decl
            .iter()
            .enumerate()
            .filter(|(i, _)| !synthetic.get(*i).copied().unwrap_or(false))
            .map(|(i, _)| {
                let members = m
                    .field
                    .iter()
                    .filter(|f| f.oneof_index == Some(i as i32) && !is_group(f))
                    .collect();
                (i, members)
            })
            .collect();
        if self.normalize {
            oneofs.retain(|(_, fs)| !fs.is_empty());
            for (_, fs) in &mut oneofs {
                fs.sort_by_key(|f| f.number());
            }
            oneofs.sort_by_key(|(_, fs)| fs.first().map(|f| f.number()));
        }
        if !oneofs.is_empty() {
            sb.push('\n');
            for (i, members) in &oneofs {
                let decl = &m.oneof_decl[*i];
                let mut block = format!("oneof {} {{", decl.name());
                let mut opts = Vec::new();
                if let Some(o) = &decl.options {
                    opts.extend(uninterpreted(&o.uninterpreted_option));
                }
                opts.extend(self.extra(child_path(path, 8, &m.oneof_decl, decl).as_deref()));
                let opts = self.filter_options(opts);
                if !opts.is_empty() {
                    block.push('\n');
                    for o in &opts {
                        indent(&mut block, &self.option_statement(o));
                    }
                }
                if !members.is_empty() {
                    block.push('\n');
                    for f in members {
                        let field_path = child_path(path, 2, &m.field, f);
                        indent(
                            &mut block,
                            &self.field(m, f, proto3, true, field_path.as_deref()),
                        );
                    }
                }
                let groups: Vec<&FieldDescriptorProto> = m
                    .field
                    .iter()
                    .filter(|f| f.oneof_index == Some(*i as i32) && is_group(f))
                    .collect();
                if !groups.is_empty() {
                    block.push('\n');
                    for g in groups {
                        indent(&mut block, &self.group(m, g, proto3, true));
                    }
                }
                block.push_str("}\n");
                indent(&mut sb, &block);
            }
        }

        let mut groups: Vec<&FieldDescriptorProto> = m
            .field
            .iter()
            .filter(|f| is_group(f) && !in_real_oneof(f))
            .collect();
        if self.normalize {
            groups.sort_by_key(|f| f.number());
        }
        if !groups.is_empty() {
            sb.push('\n');
            for g in groups {
                indent(&mut sb, &self.group(m, g, proto3, false));
            }
        }

        if !self.ignore_extensions && !m.extension_range.is_empty() {
            sb.push('\n');
            let mut ranges: Vec<(i32, String)> = m
                .extension_range
                .iter()
                .map(|r| {
                    (
                        r.start(),
                        self.range(r.start(), r.end() - 1, MAX_FIELD_NUMBER),
                    )
                })
                .collect();
            if self.normalize {
                ranges.sort_by_key(|r| r.0);
                for (_, r) in ranges {
                    indent(&mut sb, &format!("extensions {r};\n"));
                }
            } else {
                let joined: Vec<String> = ranges.into_iter().map(|(_, r)| r).collect();
                indent(&mut sb, &format!("extensions {};\n", joined.join(", ")));
            }
        }
        if !self.ignore_extensions && !m.extension.is_empty() {
            sb.push('\n');
            let extension_base: Vec<i32> = path.iter().copied().chain([6]).collect();
            for block in self.extends(&m.extension, proto3, &extension_base) {
                indent(&mut sb, &block);
            }
        }

        let groups = group_bodies(m);
        let nested: Vec<(usize, &DescriptorProto)> = m
            .nested_type
            .iter()
            .enumerate()
            .filter(|(_, n)| !self.is_map_entry(n) && !groups.contains(&n.name()))
            .collect();
        if !nested.is_empty() || !m.enum_type.is_empty() {
            sb.push('\n');
            for (i, n) in nested {
                let child: Vec<i32> = path.iter().copied().chain([3, i as i32]).collect();
                indent(&mut sb, &self.message(n, proto3, &child));
            }
            for (i, e) in m.enum_type.iter().enumerate() {
                let child: Vec<i32> = path.iter().copied().chain([4, i as i32]).collect();
                indent(&mut sb, &self.enumeration(e, &child));
            }
        }
        sb.push_str("}\n");
        sb
    }

    /// `extend` blocks, grouping consecutive fields with the same extendee.
    /// `base` is the path of the extension list (`[7]` in a file, `[.., 6]` in a message).
    fn extends(&self, fields: &[FieldDescriptorProto], proto3: bool, base: &[i32]) -> Vec<String> {
        let mut blocks: Vec<(String, Vec<&FieldDescriptorProto>)> = Vec::new();
        for f in fields {
            let extendee = f.extendee().to_string();
            let found = if self.normalize {
                blocks.iter_mut().find(|(e, _)| *e == extendee)
            } else {
                blocks.last_mut().filter(|(e, _)| *e == extendee)
            };
            match found {
                Some((_, list)) => list.push(f),
                None => blocks.push((extendee, vec![f])),
            }
        }
        let empty = DescriptorProto::default();
        blocks
            .into_iter()
            .map(|(extendee, mut list)| {
                if self.normalize {
                    list.sort_by_key(|f| f.number());
                }
                let mut sb = format!("extend {extendee} {{");
                if !list.is_empty() {
                    sb.push('\n');
                    for f in list {
                        let index = fields.iter().position(|x| std::ptr::eq(x, f));
                        let path: Option<Vec<i32>> =
                            index.map(|i| base.iter().copied().chain([i as i32]).collect());
                        indent(
                            &mut sb,
                            &self.field(&empty, f, proto3, false, path.as_deref()),
                        );
                    }
                }
                sb.push_str("}\n");
                sb
            })
            .collect()
    }

    fn label(
        &self,
        f: &FieldDescriptorProto,
        proto3: bool,
        in_oneof: bool,
    ) -> Option<&'static str> {
        match f.label() {
            Label::Repeated => Some("repeated"),
            Label::Required => Some("required"),
            Label::Optional => {
                if in_oneof {
                    None
                } else if proto3 {
                    (f.proto3_optional == Some(true)).then_some("optional")
                } else {
                    Some("optional")
                }
            }
        }
    }

    fn group(
        &self,
        parent: &DescriptorProto,
        g: &FieldDescriptorProto,
        proto3: bool,
        in_oneof: bool,
    ) -> String {
        let name = last_component(g.type_name());
        let mut sb = String::new();
        if let Some(label) = self.label(g, proto3, in_oneof) {
            sb.push_str(label);
            sb.push(' ');
        }
        sb.push_str(&format!("group {} = {} {{", name, g.number()));
        if let Some(body) = parent.nested_type.iter().find(|n| n.name() == name) {
            let mut fields: Vec<&FieldDescriptorProto> = body.field.iter().collect();
            if self.normalize {
                fields.sort_by_key(|f| f.number());
            }
            if !fields.is_empty() {
                sb.push('\n');
                for f in fields {
                    indent(&mut sb, &self.field(body, f, proto3, false, None));
                }
            }
        }
        sb.push_str("}\n");
        sb
    }

    /// `path` is the field's descriptor path, for the extension options of a serialized
    /// descriptor.
    fn field(
        &self,
        parent: &DescriptorProto,
        f: &FieldDescriptorProto,
        proto3: bool,
        in_oneof: bool,
        path: Option<&[i32]>,
    ) -> String {
        let mut sb = String::new();
        let ty = match self.map_entry(parent, f) {
            Some(entry) => {
                let key = entry.field.iter().find(|k| k.number() == 1);
                let value = entry.field.iter().find(|k| k.number() == 2);
                let key = key.map(field_type).unwrap_or_default();
                let value = value.map(field_type).unwrap_or_default();
                format!("map<{key}, {value}>")
            }
            None => {
                if let Some(label) = self.label(f, proto3, in_oneof) {
                    sb.push_str(label);
                    sb.push(' ');
                }
                field_type(f)
            }
        };
        sb.push_str(&ty);
        sb.push(' ');
        sb.push_str(f.name());
        sb.push_str(" = ");
        sb.push_str(&f.number().to_string());

        let mut opts = field_options(f);
        opts.extend(self.extra(path));
        if let Some(default) = &f.default_value {
            // Confluent's toKind: strings quoted, bool/enum bare, numbers bare. Bytes are quoted
            // too so that the text parses again (Confluent prints them bare).
            let value = match f.r#type.and_then(|t| Type::try_from(t).ok()) {
                Some(Type::String) => Value::Str(default.clone()),
                Some(Type::Bytes) => Value::Prim(format!("\"{default}\"")),
                _ if self.normalize => Value::Prim(normalize_number(default)),
                _ => Value::Prim(default.clone()),
            };
            opts.push(Opt::simple("default", value));
        }
        if let Some(json) = &f.json_name {
            // Compilers fill in every field's JSON name; a serialized descriptor's default ones
            // are left out so that it prints as its source did.
            let implied = self.maps == MapStyle::Explicit && *json == default_json_name(f.name());
            if !implied {
                opts.push(Opt::simple("json_name", Value::Str(json.clone())));
            }
        }
        let opts = self.filter_options(opts);
        if !opts.is_empty() {
            sb.push(' ');
            sb.push_str(&self.option_list(&opts));
        }
        sb.push_str(";\n");
        sb
    }

    // ---- options -----------------------------------------------------------------------------

    /// Confluent's `FormatContext.filterOptions` in normalised mode: custom option names
    /// qualified, `(a).b = v` turned into `(a) = { b: v }`, sorted by name, non-repeated
    /// extensions merged.
    fn filter_options(&self, mut options: Vec<Opt>) -> Vec<Opt> {
        if self.ignore_extensions {
            options.retain(|o| {
                !o.is_parenthesized()
                    || o.parts
                        .first()
                        .is_some_and(|p| p.0.trim_start_matches('.').starts_with("confluent."))
            });
        }
        if !self.normalize || options.is_empty() {
            return options;
        }
        let mut transformed: Vec<(String, Opt)> = options
            .into_iter()
            .map(|o| {
                let o = self.qualify(o);
                (o.parts.first().map(|p| p.0.clone()).unwrap_or_default(), o)
            })
            .collect();
        transformed.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<Opt> = Vec::new();
        for (name, o) in transformed {
            let repeated = self.resolve.is_some_and(|r| r.is_repeated_extension(&name));
            if o.is_parenthesized() && !repeated {
                if let Some(prev) = out
                    .last_mut()
                    .filter(|p| p.parts.first().map(|x| &x.0) == Some(&name))
                {
                    prev.value = merge(prev.value.clone(), o.value);
                    continue;
                }
            }
            out.push(o);
        }
        out
    }

    /// Qualify an extension name and fold a dotted option name into a map value.
    fn qualify(&self, mut o: Opt) -> Opt {
        if let (Some(first), Some(resolve)) = (o.parts.first_mut(), self.resolve) {
            if first.1 {
                let written = first.0.trim_start_matches('.');
                if let Some(full) = resolve.extension(written) {
                    first.0 = full;
                }
            }
        }
        if o.is_parenthesized() && o.parts.len() > 1 {
            let mut value = o.value;
            for (part, ext) in o.parts.drain(1..).rev() {
                let key = if ext { format!("[{part}]") } else { part };
                value = Value::Map(vec![(key, value)]);
            }
            o.value = value;
        }
        o
    }

    fn option_statement(&self, o: &Opt) -> String {
        format!("option {};\n", self.option(o))
    }

    fn option_name(o: &Opt) -> String {
        o.parts
            .iter()
            .map(|(p, ext)| if *ext { format!("({p})") } else { p.clone() })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// Confluent's `toString(OptionElement)`.
    fn option(&self, o: &Opt) -> String {
        let mut sb = Self::option_name(o);
        match &o.value {
            Value::Str(s) => {
                sb.push_str(" = \"");
                sb.push_str(&escape(s));
                sb.push('"');
            }
            Value::Prim(p) => {
                sb.push_str(" = ");
                sb.push_str(p);
            }
            Value::Map(entries) => {
                sb.push_str(" = {\n");
                self.option_map(&mut sb, entries);
                sb.push('}');
            }
            Value::List(items) => {
                sb.push_str(" = ");
                sb.push_str(&self.value_list(items));
            }
        }
        sb
    }

    /// Confluent's `appendOptions` for a field's or enum value's `[...]`.
    fn option_list(&self, opts: &[Opt]) -> String {
        if opts.len() == 1 {
            return format!("[{}]", self.option(&opts[0]));
        }
        let mut sb = String::from("[\n");
        for (i, o) in opts.iter().enumerate() {
            let endl = if i + 1 < opts.len() { "," } else { "" };
            indent(&mut sb, &format!("{}{endl}", self.option(o)));
        }
        sb.push(']');
        sb
    }

    fn value_list(&self, items: &[Value]) -> String {
        if items.len() == 1 {
            return format!("[{}]", self.value(&items[0]));
        }
        let mut sb = String::from("[\n");
        for (i, v) in items.iter().enumerate() {
            let endl = if i + 1 < items.len() { "," } else { "" };
            indent(&mut sb, &format!("{}{endl}", self.value(v)));
        }
        sb.push(']');
        sb
    }

    fn option_map(&self, sb: &mut String, entries: &[(String, Value)]) {
        let sorted: Vec<(String, Value)>;
        let entries = if self.normalize {
            let mut map: BTreeMap<String, Value> = BTreeMap::new();
            for (k, v) in entries {
                if matches!(v, Value::List(l) if l.is_empty()) {
                    continue;
                }
                let key = match (
                    k.strip_prefix('[').and_then(|k| k.strip_suffix(']')),
                    self.resolve,
                ) {
                    (Some(inner), Some(r)) => r
                        .extension(inner)
                        .map_or_else(|| k.clone(), |full| format!("[{full}]")),
                    _ => k.clone(),
                };
                map.entry(key).or_insert_with(|| v.clone());
            }
            sorted = map.into_iter().collect();
            &sorted
        } else {
            entries
        };
        for (i, (k, v)) in entries.iter().enumerate() {
            let endl = if i + 1 < entries.len() { "," } else { "" };
            indent(sb, &format!("{k}: {}{endl}", self.value(v)));
        }
    }

    /// Confluent's `formatOptionMapOrListValue`.
    fn value(&self, v: &Value) -> String {
        match v {
            Value::Str(s) => format!("\"{}\"", escape(s)),
            Value::Prim(p) => p.clone(),
            Value::Map(entries) => {
                let mut sb = String::from("{\n");
                self.option_map(&mut sb, entries);
                sb.push('}');
                sb
            }
            Value::List(items) => {
                if self.normalize && items.len() == 1 {
                    return self.value(&items[0]);
                }
                let mut sb = String::from("[\n");
                for (i, item) in items.iter().enumerate() {
                    let endl = if i + 1 < items.len() { "," } else { "" };
                    indent(&mut sb, &format!("{}{endl}", self.value(item)));
                }
                sb.push(']');
                sb
            }
        }
    }
}

/// Confluent's `ProtobufSchema.merge` for two option values of the same non-repeated extension.
fn merge(existing: Value, replacement: Value) -> Value {
    match (existing, replacement) {
        (Value::Map(mut a), Value::Map(b)) => {
            for (k, v) in b {
                if let Some(slot) = a.iter_mut().find(|(ek, _)| *ek == k) {
                    let mut items = match std::mem::replace(&mut slot.1, Value::List(Vec::new())) {
                        Value::List(l) => l,
                        other => vec![other],
                    };
                    match v {
                        Value::List(l) => items.extend(l),
                        other => items.push(other),
                    }
                    let mut unique: Vec<Value> = Vec::new();
                    for i in items {
                        if !unique.contains(&i) {
                            unique.push(i);
                        }
                    }
                    slot.1 = Value::List(unique);
                } else {
                    a.push((k, v));
                }
            }
            Value::Map(a)
        }
        (_, replacement) => replacement,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_get_one_spelling_when_normalized() {
        assert_eq!(normalize_number("0x10"), "16");
        assert_eq!(normalize_number("-010"), "-8");
        assert_eq!(normalize_number("1.0"), "1");
        assert_eq!(normalize_number("1e3"), "1000");
        assert_eq!(normalize_number("0.25"), "0.25");
        assert_eq!(normalize_number("inf"), "inf");
        assert_eq!(normalize_number("FOO"), "FOO");
    }

    #[test]
    fn escape_follows_confluent() {
        assert_eq!(escape("a\"b\n"), "a\\\"b\\n");
    }
}
