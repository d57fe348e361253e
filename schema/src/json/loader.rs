//! Reading JSON documents into the typed [`Model`] the comparison walks.
//!
//! The mapping follows everit-json-schema's `SchemaLoader`, which Confluent's `SchemaDiff`
//! runs on: `enum`, `allOf`/`anyOf`/`oneOf`, `not`, `const`, `type` (or, without `type`, the
//! keywords that imply one) each make a schema, and a JSON object that makes several becomes a
//! synthetic `allOf` of them; a `type` list becomes an `anyOf`; up to draft 7 `$ref` replaces
//! its siblings. `$ref` is resolved within the document (JSON pointers, `$id` and anchors) and
//! into the referenced subjects' documents.
//!
//! Drafts 4 to 7 are read here as everit reads them; 2019-09 and 2020-12 schema objects are read
//! in [`translate`] as Confluent's translation of json-sKema's model gives them. (The 2019-09
//! branches left in [`Loader::object`] and [`Loader::array`] are reached only by drafts 4 to 7.)

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::draft::Draft;
use super::model::{
    ArrayKind, ContentId, Criterion, Extra, Kind, Meta, Model, Node, NodeId, NumberKind,
    ObjectKind, PatternKey, StringKind,
};
use super::uri;
use crate::{Error, Result, SchemaType};

mod translate;

/// One JSON document: the root schema or a referenced subject's schema.
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub(crate) value: &'a Value,
    /// The URI the document is known by (root: its `$id` or the default base; a dependency:
    /// its reference name resolved against the root's base, as Confluent registers it).
    pub(crate) uri: String,
    /// The reference name, for dependencies.
    pub(crate) name: Option<&'a str>,
    pub(crate) draft: Draft,
}

const OBJECT_KEYWORDS: &[&str] = &[
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "dependencies",
    "patternProperties",
    "additionalProperties",
    "propertyNames",
];
const OBJECT_KEYWORDS_2019: &[&str] = &[
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
];
const ARRAY_KEYWORDS: &[&str] = &[
    "items",
    "additionalItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
];
const ARRAY_KEYWORDS_2019: &[&str] = &[
    "unevaluatedItems",
    "minContains",
    "maxContains",
    "prefixItems",
];
const NUMBER_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const STRING_KEYWORDS: &[&str] = &["minLength", "maxLength", "pattern", "format"];

/// Keys whose values are data, not schemas: an `$id` inside them identifies nothing.
const DATA_KEYWORDS: &[&str] = &["enum", "const", "default", "examples"];

/// Load `docs[0]` (the root) with the others available to `$ref`.
pub(crate) fn load(docs: &[Document<'_>]) -> Result<Model> {
    let mut loader = Loader {
        docs,
        resources: HashMap::new(),
        memo: HashMap::new(),
        nodes: Vec::new(),
        synthetic: std::collections::HashSet::new(),
        contents: Contents::default(),
    };
    for (index, doc) in docs.iter().enumerate() {
        loader
            .resources
            .entry(doc.uri.clone())
            .or_insert((index, String::new()));
        if let Some(name) = doc.name {
            loader
                .resources
                .entry(name.to_string())
                .or_insert((index, String::new()));
        }
        loader.scan(index, doc.value, String::new(), doc.uri.clone(), doc.draft);
    }
    let root_uri = docs.first().map(|d| d.uri.clone()).unwrap_or_default();
    let root = loader.load_at(0, String::new(), &root_uri)?;
    let has_references = loader
        .nodes
        .iter()
        .any(|n| matches!(n.kind, Kind::Reference(_)));
    Ok(Model {
        nodes: loader.nodes,
        root,
        has_references,
    })
}

struct Loader<'a> {
    docs: &'a [Document<'a>],
    /// Absolute URI (or `uri#anchor`) → document and JSON pointer.
    resources: HashMap<String, (usize, String)>,
    memo: HashMap<(usize, String), NodeId>,
    nodes: Vec<Node>,
    /// Nodes that are the synthetic `allOf` of a schema object's several parts.
    synthetic: std::collections::HashSet<NodeId>,
    /// Content ids of the documents' values (see [`Contents`]).
    contents: Contents,
}

/// A JSON text, structurally: two values have the same [`ContentId`] exactly when their JSON
/// texts are equal. Ids are built bottom-up, once per value, so identifying every subschema
/// costs time and memory linear in the document (copying each subschema's text would cost
/// its size times its depth).
#[derive(Debug, PartialEq, Eq, Hash)]
enum Content {
    /// A string, number, boolean or null, by its JSON text.
    Scalar(String),
    Array(Vec<ContentId>),
    /// Keys in document order, as the text has them.
    Object(Vec<(String, ContentId)>),
    /// A node the loader makes up (a part of a schema with several kinds of keyword).
    Derived(ContentId, &'static str, usize),
}

#[derive(Debug, Default)]
struct Contents {
    ids: HashMap<Content, ContentId>,
    /// By the value's address: the documents are borrowed, immutable, for the whole load.
    by_value: HashMap<*const Value, ContentId>,
}

impl Contents {
    fn intern(&mut self, content: Content) -> ContentId {
        let next = self.ids.len() as ContentId;
        *self.ids.entry(content).or_insert(next)
    }

    /// The id of `value`'s JSON text. Recursion is bounded: documents were parsed by
    /// serde_json, which stops at 128 levels.
    fn of(&mut self, value: &Value) -> ContentId {
        let address = value as *const Value;
        if let Some(&id) = self.by_value.get(&address) {
            return id;
        }
        let content = match value {
            Value::Array(items) => Content::Array(items.iter().map(|v| self.of(v)).collect()),
            Value::Object(map) => {
                Content::Object(map.iter().map(|(k, v)| (k.clone(), self.of(v))).collect())
            }
            scalar => Content::Scalar(scalar.to_string()),
        };
        let id = self.intern(content);
        self.by_value.insert(address, id);
        id
    }

    /// The id of the text `{"type":"<t>"}`.
    fn of_type(&mut self, t: &str) -> ContentId {
        let name = self.intern(Content::Scalar(Value::String(t.to_string()).to_string()));
        self.intern(Content::Object(vec![("type".to_string(), name)]))
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::invalid(SchemaType::Json, reason)
}

fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn display_pointer(ptr: &str) -> String {
    format!("#{ptr}")
}

impl Loader<'_> {
    /// Register every embedded `$id` and anchor of a document.
    fn scan(&mut self, doc: usize, value: &Value, ptr: String, base: String, draft: Draft) {
        match value {
            Value::Object(map) => {
                let mut base = base;
                if let Some(id) = map.get(draft.id_keyword()).and_then(Value::as_str) {
                    if let Some(anchor) = id.strip_prefix('#') {
                        if !anchor.is_empty() && !anchor.starts_with('/') {
                            self.resources
                                .entry(format!("{base}#{anchor}"))
                                .or_insert((doc, ptr.clone()));
                        }
                    } else {
                        let (id_uri, _) = uri::split_fragment(id);
                        base = uri::resolve(&base, id_uri);
                        self.resources
                            .entry(base.clone())
                            .or_insert((doc, ptr.clone()));
                    }
                }
                if draft >= Draft::Draft201909 {
                    for keyword in ["$anchor", "$dynamicAnchor"] {
                        if let Some(anchor) = map.get(keyword).and_then(Value::as_str) {
                            self.resources
                                .entry(format!("{base}#{anchor}"))
                                .or_insert((doc, ptr.clone()));
                        }
                    }
                }
                for (key, child) in map {
                    if DATA_KEYWORDS.contains(&key.as_str()) {
                        continue;
                    }
                    let child_ptr = format!("{ptr}/{}", escape_token(key));
                    self.scan(doc, child, child_ptr, base.clone(), draft);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.scan(doc, child, format!("{ptr}/{i}"), base.clone(), draft);
                }
            }
            _ => {}
        }
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Load the schema at `ptr` in document `doc` once; later loads (and `$ref` cycles) get
    /// the same node.
    fn load_at(&mut self, doc: usize, ptr: String, base: &str) -> Result<NodeId> {
        if let Some(&id) = self.memo.get(&(doc, ptr.clone())) {
            return Ok(id);
        }
        let docs = self.docs;
        let value = docs[doc]
            .value
            .pointer(&ptr)
            .ok_or_else(|| invalid(format!("No schema at '{}'", display_pointer(&ptr))))?;
        let id = self.push(Node {
            kind: Kind::Placeholder,
            meta: Meta::default(),
            key: ContentId::MAX,
        });
        self.memo.insert((doc, ptr.clone()), id);
        let (node, synthetic) = self.build(doc, &ptr, value, base)?;
        self.nodes[id] = node;
        if synthetic {
            self.synthetic.insert(id);
        }
        Ok(id)
    }

    fn child(&mut self, doc: usize, ptr: &str, keyword: &str, base: &str) -> Result<NodeId> {
        self.load_at(doc, format!("{ptr}/{}", escape_token(keyword)), base)
    }

    /// The subschema named `name` in the object under `keyword` (`properties`,
    /// `patternProperties`, `dependencies`, `dependentSchemas`).
    fn member(
        &mut self,
        doc: usize,
        ptr: &str,
        keyword: &str,
        name: &str,
        base: &str,
    ) -> Result<NodeId> {
        self.load_at(
            doc,
            format!("{ptr}/{}/{}", escape_token(keyword), escape_token(name)),
            base,
        )
    }

    /// The node for `value`, and whether it is the synthetic `allOf` of several parts.
    fn build(&mut self, doc: usize, ptr: &str, value: &Value, base: &str) -> Result<(Node, bool)> {
        let key = self.contents.of(value);
        let map = match value {
            Value::Bool(true) => return Ok((node(Kind::True, Meta::default(), key), false)),
            Value::Bool(false) => return Ok((node(Kind::False, Meta::default(), key), false)),
            Value::Object(map) => map,
            _ => {
                return Err(invalid(format!(
                    "The schema at '{}' must be a JSON object or a boolean",
                    display_pointer(ptr)
                )))
            }
        };
        let draft = self.docs[doc].draft;
        let mut base = base.to_string();
        if let Some(id) = map.get(draft.id_keyword()).and_then(Value::as_str) {
            if !id.starts_with('#') {
                base = uri::resolve(&base, uri::split_fragment(id).0);
            }
        }
        let meta = meta(map, draft);
        if translated(draft) {
            return self.build_translated(doc, ptr, map, &base, key, meta);
        }
        let mut parts: Vec<Kind> = Vec::new();

        if let Some(reference) = map.get("$ref") {
            let reference = reference.as_str().ok_or_else(|| {
                invalid(format!(
                    "'$ref' at '{}' must be a string",
                    display_pointer(ptr)
                ))
            })?;
            let (target_doc, target_ptr, target_base) =
                self.resolve_ref(doc, &base, reference, ptr)?;
            let target = self.load_at(target_doc, target_ptr, &target_base)?;
            // Up to draft 7 `$ref` replaces its siblings (everit's ReferenceLookup).
            if !draft.ref_has_siblings() {
                return Ok((node(Kind::Reference(target), meta, key), false));
            }
            parts.push(Kind::Reference(target));
        }
        if let Some(values) = map.get("enum") {
            let values = values.as_array().ok_or_else(|| {
                invalid(format!(
                    "'enum' at '{}' must be an array",
                    display_pointer(ptr)
                ))
            })?;
            let mut seen = super::model::ValueSet::default();
            let distinct: Vec<Value> = values.iter().filter(|v| seen.insert(v)).cloned().collect();
            parts.push(Kind::Enum(distinct));
        }
        let mut combined = Vec::new();
        for (keyword, criterion) in [
            ("allOf", Criterion::All),
            ("anyOf", Criterion::Any),
            ("oneOf", Criterion::One),
        ] {
            if let Some(subs) = map.get(keyword) {
                let subs = subs.as_array().ok_or_else(|| {
                    invalid(format!(
                        "'{keyword}' at '{}' must be an array",
                        display_pointer(ptr)
                    ))
                })?;
                let mut ids = Vec::with_capacity(subs.len());
                for i in 0..subs.len() {
                    ids.push(self.load_at(doc, format!("{ptr}/{keyword}/{i}"), &base)?);
                }
                combined.push(Kind::Combined(criterion, ids));
            }
        }
        match combined.len() {
            0 => {}
            1 => parts.extend(combined),
            _ => {
                let ids = combined
                    .into_iter()
                    .enumerate()
                    .map(|(i, kind)| {
                        let derived = self.contents.intern(Content::Derived(key, "combined", i));
                        self.push(node(kind, Meta::default(), derived))
                    })
                    .collect();
                parts.push(Kind::Combined(Criterion::All, ids));
            }
        }
        if map.contains_key("not") {
            parts.push(Kind::Not(self.child(doc, ptr, "not", &base)?));
        }
        // everit reads `const` from draft 6 on.
        if let Some(value) = map.get("const").filter(|_| draft >= Draft::Draft6) {
            parts.push(Kind::Const(value.clone()));
        }
        let mut consumed: Vec<&str> = Vec::new();
        match map.get("type") {
            Some(Value::String(t)) => {
                parts.push(self.typed(doc, ptr, map, &base, t)?);
                consumed.extend(keywords_of(t, draft));
            }
            Some(Value::Array(types)) => {
                let mut ids = Vec::with_capacity(types.len());
                for t in types {
                    let t = t.as_str().ok_or_else(|| {
                        invalid(format!(
                            "'type' at '{}' must be a string or an array of strings",
                            display_pointer(ptr)
                        ))
                    })?;
                    // everit gives each type of the list its keywords.
                    consumed.extend(keywords_of(t, draft));
                    let kind = self.typed(doc, ptr, map, &base, t)?;
                    let type_key = self.contents.of_type(t);
                    ids.push(self.push(node(kind, Meta::default(), type_key)));
                }
                parts.push(Kind::Combined(Criterion::Any, ids));
            }
            Some(_) => {
                return Err(invalid(format!(
                    "'type' at '{}' must be a string or an array of strings",
                    display_pointer(ptr)
                )))
            }
            None => {}
        }
        // Keywords of a type the schema does not name still constrain values of that type
        // (everit's PropertySnifferSchemaExtractor).
        let present = |keywords: &[&str]| {
            keywords
                .iter()
                .any(|k| !consumed.contains(k) && map.contains_key(*k))
        };
        if present(&array_keywords(draft)) {
            parts.push(self.array(doc, ptr, map, &base, draft)?);
        }
        if present(&object_keywords(draft)) {
            parts.push(self.object(doc, ptr, map, &base, draft)?);
        }
        if present(NUMBER_KEYWORDS) {
            parts.push(Kind::Number(number(map, draft, false)));
        }
        if present(STRING_KEYWORDS) {
            parts.push(Kind::String(string(map)));
        }
        if draft >= Draft::Draft7
            && (map.contains_key("if") || map.contains_key("then") || map.contains_key("else"))
        {
            parts.push(Kind::Conditional);
        }
        let synthetic = parts.len() > 1;
        let kind = match parts.len() {
            0 => Kind::Empty,
            1 => parts.pop().unwrap_or(Kind::Empty),
            _ => {
                let ids = parts
                    .into_iter()
                    .enumerate()
                    .map(|(i, kind)| {
                        let derived = self.contents.intern(Content::Derived(key, "part", i));
                        self.push(node(kind, Meta::default(), derived))
                    })
                    .collect();
                Kind::Combined(Criterion::All, ids)
            }
        };
        Ok((node(kind, meta, key), synthetic))
    }

    fn typed(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        t: &str,
    ) -> Result<Kind> {
        let draft = self.docs[doc].draft;
        Ok(match t {
            "string" => Kind::String(string(map)),
            "integer" => Kind::Number(number(map, draft, true)),
            "number" => Kind::Number(number(map, draft, false)),
            "boolean" => Kind::Boolean,
            "null" => Kind::Null,
            "object" => self.object(doc, ptr, map, base, draft)?,
            "array" => self.array(doc, ptr, map, base, draft)?,
            other => return Err(unknown_type(other, ptr)),
        })
    }

    fn extra(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        keyword: &str,
        base: &str,
    ) -> Result<Extra> {
        Ok(match map.get(keyword) {
            None | Some(Value::Bool(true)) => Extra::Allowed,
            Some(Value::Bool(false)) => Extra::Denied,
            Some(_) => Extra::Schema(self.child(doc, ptr, keyword, base)?),
        })
    }

    /// Loads `properties` into `object`; true when there was at least one.
    fn properties(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        object: &mut ObjectKind,
    ) -> Result<bool> {
        let Some(Value::Object(properties)) = map.get("properties") else {
            return Ok(false);
        };
        for name in properties.keys() {
            let id = self.member(doc, ptr, "properties", name, base)?;
            object.properties.insert(name.clone(), id);
        }
        Ok(!properties.is_empty())
    }

    /// Loads `patternProperties` into `object`; true when there was at least one.
    fn pattern_properties(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        object: &mut ObjectKind,
    ) -> Result<bool> {
        let Some(Value::Object(patterns)) = map.get("patternProperties") else {
            return Ok(false);
        };
        for pattern in patterns.keys() {
            let id = self.member(doc, ptr, "patternProperties", pattern, base)?;
            let key = PatternKey {
                regex: regex::Regex::new(pattern).ok(),
            };
            object.pattern_properties.push((key, id));
        }
        Ok(!patterns.is_empty())
    }

    fn object(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        draft: Draft,
    ) -> Result<Kind> {
        let mut object = ObjectKind {
            property_dependencies_keyword: "dependencies",
            schema_dependencies_keyword: "dependencies",
            ..ObjectKind::default()
        };
        self.properties(doc, ptr, map, base, &mut object)?;
        if let Some(Value::Array(required)) = map.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                // A set: linear in the number of names, duplicates collapse.
                if !object.required.contains(name) {
                    object.required.insert(name.to_string());
                }
            }
        }
        object.additional = self.extra(doc, ptr, map, "additionalProperties", base)?;
        if draft >= Draft::Draft201909 {
            object.unevaluated = self.extra(doc, ptr, map, "unevaluatedProperties", base)?;
        }
        self.pattern_properties(doc, ptr, map, base, &mut object)?;
        let legacy = !draft.uses_dependent_keywords()
            || !(map.contains_key("dependentRequired") || map.contains_key("dependentSchemas"));
        if legacy {
            if let Some(Value::Object(dependencies)) = map.get("dependencies") {
                for (name, dependency) in dependencies {
                    if let Value::Array(names) = dependency {
                        object
                            .property_dependencies
                            .insert(name.clone(), strings(names));
                    } else {
                        let id = self.member(doc, ptr, "dependencies", name, base)?;
                        object.schema_dependencies.insert(name.clone(), id);
                    }
                }
            }
        }
        if draft.uses_dependent_keywords() {
            if let Some(Value::Object(dependencies)) = map.get("dependentRequired") {
                object.property_dependencies_keyword = "dependentRequired";
                for (name, names) in dependencies {
                    if let Value::Array(names) = names {
                        object
                            .property_dependencies
                            .insert(name.clone(), strings(names));
                    }
                }
            }
            if let Some(Value::Object(dependencies)) = map.get("dependentSchemas") {
                object.schema_dependencies_keyword = "dependentSchemas";
                for name in dependencies.keys() {
                    let id = self.member(doc, ptr, "dependentSchemas", name, base)?;
                    object.schema_dependencies.insert(name.clone(), id);
                }
            }
        }
        object.max_properties = map.get("maxProperties").and_then(as_count);
        object.min_properties = map.get("minProperties").and_then(as_count);
        Ok(Kind::Object(Box::new(object)))
    }

    fn array(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        draft: Draft,
    ) -> Result<Kind> {
        let mut array = ArrayKind::default();
        if draft.uses_prefix_items() {
            // Confluent reads 2019-09 and 2020-12 with json-sKema (2020-12 rules) and translates
            // to everit's model: `prefixItems` are the item schemas, and `items` is
            // `additionalItems: false` when false, nothing when true, otherwise the schema of
            // the items after `prefixItems`, or of every item without them.
            match map.get("prefixItems") {
                Some(Value::Array(items)) => {
                    let mut ids = Vec::with_capacity(items.len());
                    for i in 0..items.len() {
                        ids.push(self.load_at(doc, format!("{ptr}/prefixItems/{i}"), base)?);
                    }
                    array.item_schemas = Some(ids);
                }
                Some(_) => {
                    return Err(invalid(format!(
                        "'prefixItems' at '{}' must be an array of schemas",
                        display_pointer(ptr)
                    )))
                }
                None => {}
            }
            match map.get("items") {
                None | Some(Value::Bool(true)) => {}
                Some(Value::Bool(false)) => array.additional = Extra::Denied,
                Some(Value::Array(_)) => {
                    return Err(invalid(format!(
                        "'items' at '{}' must be a schema (expected boolean or object, found array); {} tuples are written with 'prefixItems'",
                        display_pointer(ptr),
                        if draft == Draft::Draft201909 { "as Confluent reads 2019-09 with 2020-12 rules," } else { "in 2020-12" }
                    )))
                }
                Some(_) => {
                    let id = self.child(doc, ptr, "items", base)?;
                    if array.item_schemas.is_some() {
                        array.additional = Extra::Schema(id);
                    } else {
                        array.all_items = Some(id);
                    }
                }
            }
        } else {
            match map.get("items") {
                Some(Value::Array(items)) => {
                    let mut ids = Vec::with_capacity(items.len());
                    for i in 0..items.len() {
                        ids.push(self.load_at(doc, format!("{ptr}/items/{i}"), base)?);
                    }
                    array.item_schemas = Some(ids);
                }
                Some(_) => array.all_items = Some(self.child(doc, ptr, "items", base)?),
                None => {}
            }
            array.additional = self.extra(doc, ptr, map, "additionalItems", base)?;
        }
        if draft >= Draft::Draft201909 {
            array.unevaluated = self.extra(doc, ptr, map, "unevaluatedItems", base)?;
            array.max_contains = map.get("maxContains").and_then(as_count);
            array.min_contains = map.get("minContains").and_then(as_count);
        }
        array.max_items = map.get("maxItems").and_then(as_count);
        array.min_items = map.get("minItems").and_then(as_count);
        array.unique_items = map
            .get("uniqueItems")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Kind::Array(Box::new(array)))
    }

    /// Find the document and JSON pointer `reference` points to.
    fn resolve_ref(
        &self,
        doc: usize,
        base: &str,
        reference: &str,
        at: &str,
    ) -> Result<(usize, String, String)> {
        let (uri_part, fragment) = uri::split_fragment(reference);
        let target_uri = uri::resolve(base, uri_part);
        let found = self
            .resources
            .get(&target_uri)
            .or_else(|| {
                (!uri_part.is_empty())
                    .then(|| self.resources.get(uri_part))
                    .flatten()
            })
            .cloned()
            .or_else(|| uri_part.is_empty().then(|| (doc, String::new())));
        let unresolved = || {
            invalid(format!(
                "'$ref' '{reference}' at '{}' does not resolve to a schema in this document or its references",
                display_pointer(at)
            ))
        };
        let (target_doc, mut target_ptr) = found.ok_or_else(unresolved)?;
        let resource_base = if uri_part.is_empty() {
            base.to_string()
        } else {
            target_uri.clone()
        };
        match fragment {
            None | Some("") => {}
            Some(f) if f.starts_with('/') => target_ptr.push_str(&uri::percent_decode(f)),
            Some(anchor) => {
                let key = format!("{target_uri}#{anchor}");
                let (anchor_doc, anchor_ptr) =
                    self.resources.get(&key).cloned().ok_or_else(unresolved)?;
                return Ok((anchor_doc, anchor_ptr, resource_base));
            }
        }
        if self.docs[target_doc].value.pointer(&target_ptr).is_none() {
            return Err(unresolved());
        }
        Ok((target_doc, target_ptr, resource_base))
    }
}

/// Whether a document of `draft` is read as Confluent reads it through json-sKema and its
/// translation to everit's model (2019-09 and 2020-12), rather than by everit directly.
fn translated(draft: Draft) -> bool {
    draft >= Draft::Draft201909
}

fn unknown_type(t: &str, ptr: &str) -> Error {
    invalid(format!(
        "Unknown type '{t}' at '{}'; expected one of string, integer, number, boolean, null, object, array",
        display_pointer(ptr)
    ))
}

fn node(kind: Kind, meta: Meta, key: ContentId) -> Node {
    Node { kind, meta, key }
}

fn meta(map: &Map<String, Value>, draft: Draft) -> Meta {
    let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_string);
    Meta {
        id: text(draft.id_keyword()),
        title: text("title"),
        description: text("description"),
        default: map.get("default").cloned(),
        connect_type: text("connect.type"),
    }
}

fn string(map: &Map<String, Value>) -> StringKind {
    StringKind {
        min_length: map.get("minLength").and_then(as_count),
        max_length: map.get("maxLength").and_then(as_count),
        pattern: map
            .get("pattern")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

fn number(map: &Map<String, Value>, draft: Draft, requires_integer: bool) -> NumberKind {
    let num = |k: &str| match map.get(k) {
        Some(Value::Number(n)) => Some(n.clone()),
        _ => None,
    };
    let (exclusive_maximum, exclusive_minimum) = if draft.numeric_exclusive_bounds() {
        (num("exclusiveMaximum"), num("exclusiveMinimum"))
    } else {
        // Draft 4's boolean flags modify maximum/minimum; everit keeps them as flags, which
        // Confluent's NumberSchemaDiff does not compare.
        (None, None)
    };
    NumberKind {
        maximum: num("maximum"),
        minimum: num("minimum"),
        exclusive_maximum,
        exclusive_minimum,
        multiple_of: num("multipleOf"),
        requires_integer,
    }
}

fn as_count(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        // Drafts 6+ allow 2.0 where an integer is expected.
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0)
            .map(|f| f as u64)
    })
}

fn strings(values: &[Value]) -> Vec<String> {
    // Distinct, in order, with a set: linear in the number of values.
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    values
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| seen.insert(s))
        .map(str::to_string)
        .collect()
}

fn object_keywords(draft: Draft) -> Vec<&'static str> {
    let mut k = OBJECT_KEYWORDS.to_vec();
    if draft == Draft::Draft4 {
        // A draft-6 keyword (everit's `SpecificationVersion.objectKeywords`).
        k.retain(|&keyword| keyword != "propertyNames");
    }
    if draft >= Draft::Draft201909 {
        k.extend_from_slice(OBJECT_KEYWORDS_2019);
    }
    k
}

fn array_keywords(draft: Draft) -> Vec<&'static str> {
    let mut k = ARRAY_KEYWORDS.to_vec();
    if draft == Draft::Draft4 {
        // A draft-6 keyword (everit's `SpecificationVersion.arrayKeywords`).
        k.retain(|&keyword| keyword != "contains");
    }
    if draft >= Draft::Draft201909 {
        k.extend_from_slice(ARRAY_KEYWORDS_2019);
    }
    if draft.uses_prefix_items() {
        // Not a 2020-12 keyword: json-sKema leaves it unprocessed.
        k.retain(|&keyword| keyword != "additionalItems");
    }
    k
}

fn keywords_of(t: &str, draft: Draft) -> Vec<&'static str> {
    match t {
        "string" => STRING_KEYWORDS.to_vec(),
        "integer" | "number" => NUMBER_KEYWORDS.to_vec(),
        "object" => object_keywords(draft),
        "array" => array_keywords(draft),
        _ => Vec::new(),
    }
}
