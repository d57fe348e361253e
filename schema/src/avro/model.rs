//! Our Avro schema model: an arena of nodes that mirrors Java Avro's object graph.
//!
//! Java Avro shares one `Schema` object per named type and creates a fresh object for every other
//! occurrence (even `"int"` referenced twice gives two objects). Its compatibility checker
//! memoises by object identity, so the node ids here follow the same rule: named types are one
//! node, referenced by id wherever their name appears; everything else gets its own node. The
//! model holds no text and does no I/O.

use serde_json::Value;

/// Index of a node in [`Model::nodes`].
pub(crate) type NodeId = usize;

/// Custom properties in declaration order (Java Avro keeps insertion order).
pub(crate) type Props = Vec<(String, Value)>;

/// The fourteen Avro types, in Java's `Schema.Type` naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Record,
    Enum,
    Array,
    Map,
    Union,
    Fixed,
    String,
    Bytes,
    Int,
    Long,
    Float,
    Double,
    Boolean,
    Null,
}

impl Kind {
    /// `Schema.Type.name()`: what compatibility messages print (`INT`, `RECORD`).
    pub(crate) fn java_name(self) -> &'static str {
        match self {
            Kind::Record => "RECORD",
            Kind::Enum => "ENUM",
            Kind::Array => "ARRAY",
            Kind::Map => "MAP",
            Kind::Union => "UNION",
            Kind::Fixed => "FIXED",
            Kind::String => "STRING",
            Kind::Bytes => "BYTES",
            Kind::Int => "INT",
            Kind::Long => "LONG",
            Kind::Float => "FLOAT",
            Kind::Double => "DOUBLE",
            Kind::Boolean => "BOOLEAN",
            Kind::Null => "NULL",
        }
    }

    /// `Schema.Type.getName()`: the lower-case name used in schema text.
    pub(crate) fn avro_name(self) -> &'static str {
        match self {
            Kind::Record => "record",
            Kind::Enum => "enum",
            Kind::Array => "array",
            Kind::Map => "map",
            Kind::Union => "union",
            Kind::Fixed => "fixed",
            Kind::String => "string",
            Kind::Bytes => "bytes",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::Boolean => "boolean",
            Kind::Null => "null",
        }
    }

    /// The primitive named `s`, if any.
    pub(crate) fn primitive(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "bytes" => Kind::Bytes,
            "int" => Kind::Int,
            "long" => Kind::Long,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "boolean" => Kind::Boolean,
            "null" => Kind::Null,
            _ => return None,
        })
    }
}

/// A name with its namespace, as Java's `Schema.Name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    /// The simple name.
    pub name: String,
    /// The namespace; `None` for the null namespace (an empty namespace is null, as in Java).
    pub space: Option<String>,
    /// `space.name`, or `name` in the null namespace.
    pub full: String,
}

impl Name {
    /// Build a name as Java's `new Name(name, space)`: a dotted `name` carries its own namespace.
    /// The simple name is validated; the namespace is not (Java Avro 1.11 does not either).
    pub(crate) fn new(name: &str, space: Option<&str>) -> Result<Name, String> {
        let (space, simple) = match name.rfind('.') {
            Some(dot) => (Some(&name[..dot]), &name[dot + 1..]),
            None => (space, name),
        };
        validate_name(simple)?;
        let space = space.filter(|s| !s.is_empty()).map(str::to_string);
        let full = match &space {
            Some(s) => format!("{s}.{simple}"),
            None => simple.to_string(),
        };
        Ok(Name {
            name: simple.to_string(),
            space,
            full,
        })
    }

    /// Java's `Name.getQualified(defaultSpace)` (Avro 1.11.3+): the simple name when the
    /// namespace equals `default_space` and the simple name is not also a type name (`record`,
    /// `int`, ...), otherwise the full name (which is the simple name in the null namespace).
    pub(crate) fn qualified(&self, default_space: Option<&str>) -> &str {
        match &self.space {
            Some(s) if Some(s.as_str()) == default_space && !is_type_name(&self.name) => &self.name,
            _ => &self.full,
        }
    }
}

/// Whether `s` is one of the fourteen `Schema.Type` names.
fn is_type_name(s: &str) -> bool {
    Kind::primitive(s).is_some()
        || matches!(s, "record" | "enum" | "array" | "map" | "union" | "fixed")
}

/// Avro 1.12's `NameValidator.STRICT_VALIDATOR`, which Confluent applies to new schemas: an ASCII
/// letter or `_`, then ASCII letters, digits or `_`.
pub(crate) fn validate_strict_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("Empty name".into());
    };
    if !(first == '_' || first.is_ascii_alphabetic()) {
        return Err(format!("Illegal initial character: {name}"));
    }
    if chars.any(|c| !(c == '_' || c.is_ascii_alphanumeric())) {
        return Err(format!("Illegal character in: {name}"));
    }
    Ok(())
}

/// A defined name under Avro 1.12's strict validation: the simple name and every namespace part.
pub(crate) fn validate_strict(name: &Name) -> Result<(), String> {
    validate_strict_name(&name.name)?;
    if let Some(space) = &name.space {
        for part in space.split('.') {
            validate_strict_name(part)
                .map_err(|e| format!("Namespace part \"{part}\" is invalid: {e}"))?;
        }
    }
    Ok(())
}

/// Java Avro 1.11's `validateName`: a letter or `_`, then letters, digits or `_`.
/// Java tests UTF-16 units with `Character.isLetter` (categories Lu, Ll, Lt, Lm, Lo) and
/// `isLetterOrDigit` (plus Nd), so characters outside the Basic Multilingual Plane (surrogates)
/// are rejected.
pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err("Empty name".into());
    };
    if !(first == '_' || is_java_letter(first)) {
        return Err(format!("Illegal initial character: {name}"));
    }
    if chars.any(|c| !(c == '_' || is_java_letter(c) || is_java_digit(c))) {
        return Err(format!("Illegal character in: {name}"));
    }
    Ok(())
}

fn is_java_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    (c as u32) <= 0xFFFF && unicode_class(c, r"\p{L}")
}

fn is_java_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    (c as u32) <= 0xFFFF && unicode_class(c, r"\p{Nd}")
}

/// Whether `c` is in the Unicode class `class` (only `\p{L}` and `\p{Nd}` are used), using the
/// regex crate's Unicode tables; compiled once.
fn unicode_class(c: char, class: &str) -> bool {
    use std::sync::OnceLock;
    static LETTER: OnceLock<Option<regex::Regex>> = OnceLock::new();
    static DIGIT: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let cell = if class == r"\p{L}" { &LETTER } else { &DIGIT };
    let re = cell.get_or_init(|| regex::Regex::new(&format!("^{class}$")).ok());
    let mut buf = [0u8; 4];
    re.as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut buf)))
}

/// Field sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Ascending,
    Descending,
    Ignore,
}

impl Order {
    /// The lower-case form written in schema text.
    pub(crate) fn avro_name(self) -> &'static str {
        match self {
            Order::Ascending => "ascending",
            Order::Descending => "descending",
            Order::Ignore => "ignore",
        }
    }

    /// The Java enum constant name (`Order.toString()`), used by Confluent's normaliser.
    pub(crate) fn java_name(self) -> &'static str {
        match self {
            Order::Ascending => "ASCENDING",
            Order::Descending => "DESCENDING",
            Order::Ignore => "IGNORE",
        }
    }
}

/// A record field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub name: String,
    pub ty: NodeId,
    pub doc: Option<String>,
    /// The default as written (after Java's text-to-double conversion for float/double fields).
    pub default: Option<Value>,
    /// The default was a text `NaN`/`Infinity` converted to a non-finite double; it is kept as
    /// the text Jackson would print (`"NaN"`) but counts as a number.
    pub default_non_finite: bool,
    pub order: Order,
    /// Aliases in declaration order, without duplicates.
    pub aliases: Vec<String>,
    pub props: Props,
}

/// One schema node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Primitive {
        kind: Kind,
        props: Props,
    },
    Record {
        name: Name,
        doc: Option<String>,
        /// `None` while the record's own fields are being parsed (Java: "fields not set yet").
        fields: Option<Vec<Field>>,
        props: Props,
        aliases: Vec<Name>,
        is_error: bool,
    },
    Enum {
        name: Name,
        doc: Option<String>,
        symbols: Vec<String>,
        default: Option<String>,
        props: Props,
        aliases: Vec<Name>,
    },
    Fixed {
        name: Name,
        doc: Option<String>,
        size: i32,
        props: Props,
        aliases: Vec<Name>,
    },
    Array {
        items: NodeId,
        props: Props,
    },
    Map {
        values: NodeId,
        props: Props,
    },
    Union {
        branches: Vec<NodeId>,
    },
}

impl Node {
    /// The node's type.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Node::Primitive { kind, .. } => *kind,
            Node::Record { .. } => Kind::Record,
            Node::Enum { .. } => Kind::Enum,
            Node::Fixed { .. } => Kind::Fixed,
            Node::Array { .. } => Kind::Array,
            Node::Map { .. } => Kind::Map,
            Node::Union { .. } => Kind::Union,
        }
    }

    /// The name of a record, enum or fixed.
    pub(crate) fn name(&self) -> Option<&Name> {
        match self {
            Node::Record { name, .. } | Node::Enum { name, .. } | Node::Fixed { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }

    /// Java's `getName()`: the simple name of a named type, else the type name.
    pub(crate) fn simple_name(&self) -> &str {
        match self.name() {
            Some(n) => &n.name,
            None => self.kind().avro_name(),
        }
    }

    /// Java's `getFullName()`: the full name of a named type, else the type name.
    pub(crate) fn full_name(&self) -> &str {
        match self.name() {
            Some(n) => &n.full,
            None => self.kind().avro_name(),
        }
    }

    /// The aliases of a named type (Java's `getAliases()`: full names).
    pub(crate) fn aliases(&self) -> &[Name] {
        match self {
            Node::Record { aliases, .. }
            | Node::Enum { aliases, .. }
            | Node::Fixed { aliases, .. } => aliases,
            _ => &[],
        }
    }

    /// The custom properties (unions have none).
    pub(crate) fn props(&self) -> &[(String, Value)] {
        match self {
            Node::Primitive { props, .. }
            | Node::Record { props, .. }
            | Node::Enum { props, .. }
            | Node::Fixed { props, .. }
            | Node::Array { props, .. }
            | Node::Map { props, .. } => props,
            Node::Union { .. } => &[],
        }
    }

    /// The documentation of a named type.
    pub(crate) fn doc(&self) -> Option<&str> {
        match self {
            Node::Record { doc, .. } | Node::Enum { doc, .. } | Node::Fixed { doc, .. } => {
                doc.as_deref()
            }
            _ => None,
        }
    }
}

/// Logical types Java Avro 1.11 recognises (`LogicalTypes.fromSchemaIgnoreInvalid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogicalType {
    Decimal { precision: i32, scale: i32 },
    Uuid,
    Date,
    TimeMillis,
    TimeMicros,
    TimestampMillis,
    TimestampMicros,
    LocalTimestampMillis,
    LocalTimestampMicros,
}

impl LogicalType {
    /// The `logicalType` value.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            LogicalType::Decimal { .. } => "decimal",
            LogicalType::Uuid => "uuid",
            LogicalType::Date => "date",
            LogicalType::TimeMillis => "time-millis",
            LogicalType::TimeMicros => "time-micros",
            LogicalType::TimestampMillis => "timestamp-millis",
            LogicalType::TimestampMicros => "timestamp-micros",
            LogicalType::LocalTimestampMillis => "local-timestamp-millis",
            LogicalType::LocalTimestampMicros => "local-timestamp-micros",
        }
    }
}

/// A parsed schema graph plus the node the text defined.
#[derive(Debug, Clone, Default)]
pub(crate) struct Model {
    pub nodes: Vec<Node>,
}

impl Model {
    /// The node with id `id`.
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Add a node, returning its id.
    pub(crate) fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// The fields of a record node (empty for anything else or while unset).
    pub(crate) fn fields(&self, id: NodeId) -> &[Field] {
        match self.node(id) {
            Node::Record {
                fields: Some(fields),
                ..
            } => fields,
            _ => &[],
        }
    }

    /// The logical type of `id` if its `logicalType` property names a valid one; invalid ones
    /// are ignored, as Java Avro does.
    pub(crate) fn logical_type(&self, id: NodeId) -> Option<LogicalType> {
        let node = self.node(id);
        let prop = |key: &str| node.props().iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let name = prop("logicalType")?.as_str()?;
        let kind = node.kind();
        let int_prop = |key: &str| -> Option<Option<i32>> {
            match prop(key) {
                None => Some(None),
                // Java reads these with getObjectProp and requires an Integer.
                Some(v) => v
                    .as_i64()
                    .filter(|i| i32::try_from(*i).is_ok())
                    .map(|i| Some(i as i32)),
            }
        };
        let lt = match name {
            "decimal" => {
                let precision = int_prop("precision")??;
                let scale = int_prop("scale")?.unwrap_or(0);
                if !matches!(kind, Kind::Bytes | Kind::Fixed) || precision <= 0 {
                    return None;
                }
                if let Node::Fixed { size, .. } = node {
                    let max = ((8.0 * f64::from(*size) - 1.0) * 2f64.log10())
                        .floor()
                        .round();
                    if f64::from(precision) > max {
                        return None;
                    }
                }
                if scale < 0 || scale > precision {
                    return None;
                }
                LogicalType::Decimal { precision, scale }
            }
            "uuid" if kind == Kind::String => LogicalType::Uuid,
            "date" if kind == Kind::Int => LogicalType::Date,
            "time-millis" if kind == Kind::Int => LogicalType::TimeMillis,
            "time-micros" if kind == Kind::Long => LogicalType::TimeMicros,
            "timestamp-millis" if kind == Kind::Long => LogicalType::TimestampMillis,
            "timestamp-micros" if kind == Kind::Long => LogicalType::TimestampMicros,
            "local-timestamp-millis" if kind == Kind::Long => LogicalType::LocalTimestampMillis,
            "local-timestamp-micros" if kind == Kind::Long => LogicalType::LocalTimestampMicros,
            _ => return None,
        };
        Some(lt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_carry_their_own_namespace() {
        let n = Name::new("a.b.C", Some("x")).expect("valid");
        assert_eq!(n.full, "a.b.C");
        assert_eq!(n.space.as_deref(), Some("a.b"));
        let n = Name::new("C", Some("")).expect("valid");
        assert_eq!(n.space, None);
    }

    #[test]
    fn names_are_validated_as_java_avro_does() {
        assert_eq!(validate_name(""), Err("Empty name".to_string()));
        assert_eq!(
            validate_name("1a"),
            Err("Illegal initial character: 1a".to_string())
        );
        assert_eq!(
            validate_name("a-b"),
            Err("Illegal character in: a-b".to_string())
        );
        assert!(validate_name("_ok9").is_ok());
        assert!(validate_name("été").is_ok());
        // Letter numbers (Nl) and superscripts (No) are not Java letters or digits.
        assert!(validate_name("\u{2160}").is_err());
        assert!(validate_name("a\u{00B2}").is_err());
        assert!(validate_name("a\u{0663}").is_ok());
        assert!(validate_name("a\u{1F600}").is_err());
    }
}
