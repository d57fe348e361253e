//! The typed schema tree the comparison walks: the JSON document read the way Confluent's
//! schema library (everit) reads it, one node per schema location, `$ref` kept as an edge so
//! recursive schemas stay finite. Nodes live in an arena and are addressed by [`NodeId`].

use indexmap::IndexMap;
use serde_json::{Number, Value};

/// Index of a node in [`Model::nodes`].
pub(crate) type NodeId = usize;

/// Identity of a JSON text within one model (see `loader::Contents`).
pub(crate) type ContentId = u32;

/// A loaded schema: its nodes and the root.
#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: NodeId,
    /// Whether any `$ref` was followed (only then can the comparison meet a cycle).
    pub(crate) has_references: bool,
}

impl Model {
    /// The node behind `id`, following `$ref` edges (a reference loop ends at an empty schema).
    pub(crate) fn deref(&self, mut id: NodeId) -> NodeId {
        for _ in 0..=self.nodes.len() {
            match self.nodes[id].kind {
                Kind::Reference(target) => id = target,
                _ => return id,
            }
        }
        id
    }

    /// The node `id`.
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }
}

/// One schema.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: Kind,
    pub(crate) meta: Meta,
    /// The schema's JSON text, as an id: equal keys mean equal texts, so equal schemas
    /// (Confluent collapses duplicate subschemas of a combined schema by comparing their JSON).
    pub(crate) key: ContentId,
}

/// The annotations every schema may carry.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Meta {
    pub(crate) id: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) default: Option<Value>,
    /// Kafka Connect's `connect.type` (Confluent treats two `bytes` schemas as equal).
    pub(crate) connect_type: Option<String>,
}

/// What a schema constrains. The variants mirror everit's schema classes, since Confluent
/// reports `TYPE_CHANGED` exactly when the classes differ.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Being loaded (only seen while a recursive schema is built).
    Placeholder,
    /// `{}` or a schema with no validation keyword.
    Empty,
    /// `true`.
    True,
    /// `false`.
    False,
    /// `"type": "boolean"`.
    Boolean,
    /// `"type": "null"`.
    Null,
    /// String constraints.
    String(StringKind),
    /// Number and integer constraints.
    Number(NumberKind),
    /// Object constraints.
    Object(Box<ObjectKind>),
    /// Array constraints.
    Array(Box<ArrayKind>),
    /// `enum`.
    Enum(Vec<Value>),
    /// `const`.
    Const(Value),
    /// `allOf`/`anyOf`/`oneOf`, a type list, or several kinds of keyword in one schema.
    Combined(Criterion, Vec<NodeId>),
    /// `not`.
    Not(NodeId),
    /// `$ref`, resolved.
    Reference(NodeId),
    /// `if`/`then`/`else` (not compared, as in Confluent).
    Conditional,
}

impl Kind {
    /// A number per everit class, for the class-equality test.
    pub(crate) fn class(&self) -> u8 {
        match self {
            Kind::Placeholder | Kind::Empty => 0,
            Kind::True => 1,
            Kind::False => 2,
            Kind::Boolean => 3,
            Kind::Null => 4,
            Kind::String(_) => 5,
            Kind::Number(_) => 6,
            Kind::Object(_) => 7,
            Kind::Array(_) => 8,
            Kind::Enum(_) => 9,
            Kind::Const(_) => 10,
            Kind::Combined(..) => 11,
            Kind::Not(_) => 12,
            Kind::Reference(_) => 13,
            Kind::Conditional => 14,
        }
    }

    /// everit's `EmptySchema` and its subclass `TrueSchema`.
    pub(crate) fn is_empty_like(&self) -> bool {
        matches!(self, Kind::Empty | Kind::True | Kind::Placeholder)
    }
}

/// How a combined schema combines its subschemas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Criterion {
    /// `allOf`.
    All,
    /// `anyOf`.
    Any,
    /// `oneOf`.
    One,
}

impl Criterion {
    /// The keyword, as used in difference paths (`#/allOf/1`).
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            Criterion::All => "allOf",
            Criterion::Any => "anyOf",
            Criterion::One => "oneOf",
        }
    }
}

/// String keywords.
#[derive(Debug, Clone, Default)]
pub(crate) struct StringKind {
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) pattern: Option<String>,
}

/// Number keywords.
#[derive(Debug, Clone, Default)]
pub(crate) struct NumberKind {
    pub(crate) maximum: Option<Number>,
    pub(crate) minimum: Option<Number>,
    pub(crate) exclusive_maximum: Option<Number>,
    pub(crate) exclusive_minimum: Option<Number>,
    pub(crate) multiple_of: Option<Number>,
    pub(crate) requires_integer: bool,
}

/// What an object or array allows beyond the properties or items it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Extra {
    /// Absent or `true`.
    #[default]
    Allowed,
    /// `false`.
    Denied,
    /// A schema.
    Schema(NodeId),
}

impl Extra {
    /// everit's `permitsAdditionalProperties`/`permitsAdditionalItems`.
    pub(crate) fn permits(self) -> bool {
        !matches!(self, Extra::Denied)
    }

    /// everit's `getSchemaOfAdditional...`.
    pub(crate) fn schema(self) -> Option<NodeId> {
        match self {
            Extra::Schema(id) => Some(id),
            _ => None,
        }
    }
}

/// Object keywords.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectKind {
    pub(crate) properties: IndexMap<String, NodeId>,
    pub(crate) required: indexmap::IndexSet<String>,
    pub(crate) additional: Extra,
    pub(crate) unevaluated: Extra,
    /// `patternProperties` in document order (the first match covers a property).
    pub(crate) pattern_properties: Vec<(PatternKey, NodeId)>,
    pub(crate) property_dependencies: IndexMap<String, Vec<String>>,
    pub(crate) schema_dependencies: IndexMap<String, NodeId>,
    /// Where dependencies are reported: `dependencies` up to draft 7,
    /// `dependentRequired`/`dependentSchemas` from 2019-09.
    pub(crate) property_dependencies_keyword: &'static str,
    pub(crate) schema_dependencies_keyword: &'static str,
    pub(crate) max_properties: Option<u64>,
    pub(crate) min_properties: Option<u64>,
}

/// A `patternProperties` key compiled (`None` if our regex engine cannot
/// compile it; such a pattern then covers no property).
#[derive(Debug, Clone)]
pub(crate) struct PatternKey {
    pub(crate) regex: Option<regex::Regex>,
}

/// Array keywords.
#[derive(Debug, Clone, Default)]
pub(crate) struct ArrayKind {
    /// `items` as one schema for every item.
    pub(crate) all_items: Option<NodeId>,
    /// Tuple items: `items` as an array (up to draft 7) or `prefixItems` (2019-09 and 2020-12,
    /// which Confluent reads with 2020-12 rules). Reported at `#/items/N` either way, as
    /// Confluent's translation to everit's model does.
    pub(crate) item_schemas: Option<Vec<NodeId>>,
    /// `additionalItems` (or, from 2019-09, `items` after `prefixItems`, and `items: false`),
    /// reported at `#/additionalItems`.
    pub(crate) additional: Extra,
    pub(crate) unevaluated: Extra,
    pub(crate) max_items: Option<u64>,
    pub(crate) min_items: Option<u64>,
    pub(crate) unique_items: bool,
    pub(crate) max_contains: Option<u64>,
    pub(crate) min_contains: Option<u64>,
}

/// A set of JSON values with serde_json's equality, linear to fill: scalars are found by a
/// hash of their text, arrays and objects (rare in `enum`) by comparison.
#[derive(Debug, Default)]
pub(crate) struct ValueSet<'v> {
    scalars: std::collections::HashSet<String>,
    compound: Vec<&'v Value>,
}

impl<'v> ValueSet<'v> {
    /// The set of `values`.
    pub(crate) fn of(values: &'v [Value]) -> Self {
        let mut set = ValueSet::default();
        for v in values {
            set.insert(v);
        }
        set
    }

    /// Add `v`; whether it was not there yet.
    pub(crate) fn insert(&mut self, v: &'v Value) -> bool {
        match scalar_key(v) {
            Some(key) => self.scalars.insert(key),
            None if self.compound.contains(&v) => false,
            None => {
                self.compound.push(v);
                true
            }
        }
    }

    /// Whether `v` is in the set.
    pub(crate) fn contains(&self, v: &Value) -> bool {
        match scalar_key(v) {
            Some(key) => self.scalars.contains(&key),
            None => self.compound.contains(&v),
        }
    }
}

/// A scalar's identity as serde_json compares it (`1` and `1.0` differ, `0.0` and `-0.0` not).
fn scalar_key(v: &Value) -> Option<String> {
    match v {
        Value::Array(_) | Value::Object(_) => None,
        Value::Number(n) if n.as_f64() == Some(0.0) && n.is_f64() => Some("f0".into()),
        Value::Number(n) if n.is_f64() => Some(format!("f{n}")),
        Value::Number(n) => Some(format!("i{n}")),
        Value::String(s) => Some(format!("s{s}")),
        other => Some(other.to_string()),
    }
}
