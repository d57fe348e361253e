//! 2019-09 and 2020-12 documents as Confluent reads them: json-sKema loads the document, and
//! Confluent's `SchemaTranslator` turns json-sKema's model into everit's, which its
//! `SchemaDiff` compares.
//!
//! json-sKema makes one subschema per keyword of a schema object, in the order of the Java
//! `HashMap` Confluent's Jackson deserializer builds the object into (so by the keywords'
//! hash codes, not the document order). The translator visits them in that order and joins
//! each product with the next (`SchemaContext.join`):
//! - two string, number, object or array parts merge into one;
//! - a part of a type that a type list (a synthetic `anyOf` of bare types) holds merges into
//!   that type's branch;
//! - inside `allOf`/`anyOf`/`oneOf` each subschema is appended, a synthetic `allOf` spliced;
//! - anything else becomes a synthetic `allOf` of the parts (merging parts of one class).
//!
//! `format` and a true `readOnly`/`writeOnly` (ignored by the translator) still yield an empty
//! synthetic `allOf`, which breaks the merge into a type list's branch when it comes first:
//! `{"type": ["string","boolean"], "maxLength": 5, "format": "email"}` is
//! `allOf[anyOf[string, boolean], string(maxLength)]` while without `format` it is
//! `anyOf[string(maxLength), boolean]`. Then `properties`,
//! `patternProperties` and the `unevaluated*` keywords are joined, in that order. A synthetic
//! `allOf` left with no part is `{}`, with one part that part.

use serde_json::{Map, Value};

use super::{as_count, display_pointer, invalid, node, strings, unknown_type, Content, Loader};
use crate::json::model::{
    ArrayKind, ContentId, Criterion, Extra, Kind, Meta, Node, NodeId, NumberKind, ObjectKind,
    StringKind,
};
use crate::Result;

/// Fresh content ids for the parts of one schema object: a function of the object's text
/// and the order parts are made in, so equal texts still get equal ids.
struct Fresh {
    key: ContentId,
    next: usize,
}

/// The order Java's `HashMap` iterates `keys` inserted in document order: by bucket
/// (`String.hashCode` spread as `h ^ (h >>> 16)`, masked by the table size, which doubles
/// from 16 while more than three quarters full), and in insertion order within a bucket.
pub(crate) fn java_hash_map_order<'k>(keys: impl Iterator<Item = &'k str>) -> Vec<&'k str> {
    let keys: Vec<&str> = keys.collect();
    let mut capacity: usize = 16;
    while keys.len() * 4 > capacity * 3 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = k.encode_utf16().fold(0u32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(u32::from(unit))
        });
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut ordered: Vec<(usize, usize, &str)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (bucket(k), i, *k))
        .collect();
    ordered.sort_unstable();
    ordered.into_iter().map(|(_, _, k)| k).collect()
}

fn object_kind() -> ObjectKind {
    ObjectKind {
        property_dependencies_keyword: "dependentRequired",
        schema_dependencies_keyword: "dependentSchemas",
        ..ObjectKind::default()
    }
}

/// A type with no keyword (`SchemaTranslator.typeToSchema`).
fn bare_type(t: &str) -> Option<Kind> {
    Some(match t {
        "string" => Kind::String(StringKind::default()),
        "integer" => Kind::Number(NumberKind {
            requires_integer: true,
            ..NumberKind::default()
        }),
        "number" => Kind::Number(NumberKind::default()),
        "boolean" => Kind::Boolean,
        "null" => Kind::Null,
        "object" => Kind::Object(Box::new(object_kind())),
        "array" => Kind::Array(Box::default()),
        _ => return None,
    })
}

/// Whether everit's builders merge two schemas of this class (`SchemaUtils.merge`).
fn mergeable(kind: &Kind) -> bool {
    matches!(
        kind,
        Kind::String(_) | Kind::Number(_) | Kind::Object(_) | Kind::Array(_)
    )
}

/// `b`'s present fields over `a`'s (`copyGenericAttrs`).
fn overlay(a: &Meta, b: &Meta) -> Meta {
    Meta {
        id: b.id.clone().or_else(|| a.id.clone()),
        title: b.title.clone().or_else(|| a.title.clone()),
        description: b.description.clone().or_else(|| a.description.clone()),
        default: b.default.clone().or_else(|| a.default.clone()),
        connect_type: b.connect_type.clone().or_else(|| a.connect_type.clone()),
    }
}

fn merge_extra(a: Extra, b: Extra) -> Extra {
    match b {
        Extra::Allowed => a,
        other => other,
    }
}

/// `SchemaUtils.merge(toBuilder(a), b)` for two schemas of the same mergeable class.
fn merge_kinds(a: &Kind, b: &Kind) -> Option<Kind> {
    Some(match (a, b) {
        (Kind::String(a), Kind::String(b)) => Kind::String(StringKind {
            min_length: b.min_length.or(a.min_length),
            max_length: b.max_length.or(a.max_length),
            pattern: b.pattern.clone().or_else(|| a.pattern.clone()),
        }),
        (Kind::Number(a), Kind::Number(b)) => Kind::Number(NumberKind {
            maximum: b.maximum.clone().or_else(|| a.maximum.clone()),
            minimum: b.minimum.clone().or_else(|| a.minimum.clone()),
            exclusive_maximum: b
                .exclusive_maximum
                .clone()
                .or_else(|| a.exclusive_maximum.clone()),
            exclusive_minimum: b
                .exclusive_minimum
                .clone()
                .or_else(|| a.exclusive_minimum.clone()),
            multiple_of: b.multiple_of.clone().or_else(|| a.multiple_of.clone()),
            requires_integer: a.requires_integer || b.requires_integer,
        }),
        (Kind::Object(a), Kind::Object(b)) => {
            let mut merged = (**a).clone();
            for (name, id) in &b.properties {
                merged.properties.insert(name.clone(), *id);
            }
            for name in &b.required {
                merged.required.insert(name.clone());
            }
            merged.additional = merge_extra(a.additional, b.additional);
            merged.unevaluated = merge_extra(a.unevaluated, b.unevaluated);
            merged
                .pattern_properties
                .extend(b.pattern_properties.iter().cloned());
            for (name, names) in &b.property_dependencies {
                let entry = merged
                    .property_dependencies
                    .entry(name.clone())
                    .or_default();
                for n in names {
                    if !entry.contains(n) {
                        entry.push(n.clone());
                    }
                }
            }
            for (name, id) in &b.schema_dependencies {
                merged.schema_dependencies.insert(name.clone(), *id);
            }
            merged.max_properties = b.max_properties.or(a.max_properties);
            merged.min_properties = b.min_properties.or(a.min_properties);
            Kind::Object(Box::new(merged))
        }
        (Kind::Array(a), Kind::Array(b)) => {
            let mut merged = (**a).clone();
            if b.all_items.is_some() {
                merged.all_items = b.all_items;
            }
            if let Some(items) = &b.item_schemas {
                merged
                    .item_schemas
                    .get_or_insert_with(Vec::new)
                    .extend(items.iter().copied());
            }
            merged.additional = merge_extra(a.additional, b.additional);
            merged.unevaluated = merge_extra(a.unevaluated, b.unevaluated);
            merged.max_items = b.max_items.or(a.max_items);
            merged.min_items = b.min_items.or(a.min_items);
            merged.unique_items = a.unique_items || b.unique_items;
            merged.max_contains = b.max_contains.or(a.max_contains);
            merged.min_contains = b.min_contains.or(a.min_contains);
            Kind::Array(Box::new(merged))
        }
        _ => return None,
    })
}

impl Loader<'_> {
    /// The node for the schema object `map` of a 2019-09/2020-12 document, and whether it is
    /// synthetic (a translated `allOf` of parts or a type list's `anyOf`).
    pub(super) fn build_translated(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        key: ContentId,
        meta: Meta,
    ) -> Result<(Node, bool)> {
        let mut fresh = Fresh { key, next: 0 };
        let mut product: Option<NodeId> = None;
        for keyword in java_hash_map_order(map.keys().map(String::as_str)) {
            if let Some(part) = self.keyword_part(doc, ptr, map, base, keyword, &mut fresh)? {
                product = Some(match product {
                    None => part,
                    Some(previous) => self.join(previous, part, &mut fresh),
                });
            }
        }
        // `visitChildren` of a schema without subschemas: an empty synthetic allOf.
        let mut product = match product {
            Some(p) => p,
            None => self.part(Kind::Combined(Criterion::All, Vec::new()), true, &mut fresh),
        };
        // Every property is an object part, all merged into one.
        let mut object = object_kind();
        if self.properties(doc, ptr, map, base, &mut object)? {
            let part = self.part(Kind::Object(Box::new(object)), false, &mut fresh);
            product = self.join(product, part, &mut fresh);
        }
        let mut object = object_kind();
        if self.pattern_properties(doc, ptr, map, base, &mut object)? {
            let part = self.part(Kind::Object(Box::new(object)), false, &mut fresh);
            product = self.join(product, part, &mut fresh);
        }
        if map.contains_key("unevaluatedItems") {
            // Kept as a schema even when `true` or `false`: Confluent's diff tells them from
            // an absent keyword.
            let array = ArrayKind {
                unevaluated: Extra::Schema(self.child(doc, ptr, "unevaluatedItems", base)?),
                ..ArrayKind::default()
            };
            let part = self.part(Kind::Array(Box::new(array)), false, &mut fresh);
            product = self.join(product, part, &mut fresh);
        }
        if map.contains_key("unevaluatedProperties") {
            let object = ObjectKind {
                unevaluated: Extra::Schema(self.child(doc, ptr, "unevaluatedProperties", base)?),
                ..object_kind()
            };
            let part = self.part(Kind::Object(Box::new(object)), false, &mut fresh);
            product = self.join(product, part, &mut fresh);
        }
        // A synthetic allOf of no part is `{}`, of one part that part.
        let mut result = product;
        if let Some(subs) = self.synthetic_subs(product, Criterion::All) {
            match subs.as_slice() {
                [] => {
                    return Ok((node(Kind::Empty, meta, key), false));
                }
                [only] => result = *only,
                _ => {}
            }
        }
        let kind = self.nodes[result].kind.clone();
        let synthetic = self.synthetic.contains(&result);
        let meta = overlay(&self.nodes[result].meta, &meta);
        Ok((node(kind, meta, key), synthetic))
    }

    /// A part made by the translation.
    fn part(&mut self, kind: Kind, synthetic: bool, fresh: &mut Fresh) -> NodeId {
        self.part_with_meta(kind, Meta::default(), synthetic, fresh)
    }

    fn part_with_meta(
        &mut self,
        kind: Kind,
        meta: Meta,
        synthetic: bool,
        fresh: &mut Fresh,
    ) -> NodeId {
        let key = self
            .contents
            .intern(Content::Derived(fresh.key, "translated", fresh.next));
        fresh.next += 1;
        let id = self.push(node(kind, meta, key));
        if synthetic {
            self.synthetic.insert(id);
        }
        id
    }

    /// The subschemas of `id` if it is a synthetic combined schema of `criterion`.
    fn synthetic_subs(&self, id: NodeId, criterion: Criterion) -> Option<Vec<NodeId>> {
        match &self.nodes[id].kind {
            Kind::Combined(c, subs) if *c == criterion && self.synthetic.contains(&id) => {
                Some(subs.clone())
            }
            _ => None,
        }
    }

    /// `flatten`: a synthetic allOf's parts, or the schema itself.
    fn flatten(&self, id: NodeId) -> Vec<NodeId> {
        self.synthetic_subs(id, Criterion::All)
            .unwrap_or_else(|| vec![id])
    }

    /// `containsType`: whether a subschema of the combined `combined` has `id`'s class.
    fn contains_class(&self, combined: &[NodeId], id: NodeId) -> bool {
        let class = self.nodes[id].kind.class();
        combined
            .iter()
            .any(|&s| self.nodes[s].kind.class() == class)
    }

    /// Merge `b` into `a` when both are of one mergeable class.
    fn merge(&mut self, a: NodeId, b: NodeId, fresh: &mut Fresh) -> Option<NodeId> {
        let kind = merge_kinds(&self.nodes[a].kind, &self.nodes[b].kind)?;
        let meta = overlay(&self.nodes[a].meta, &self.nodes[b].meta);
        Some(self.part_with_meta(kind, meta, false, fresh))
    }

    /// `accumulate(product, current)`: merge into the first part of the same mergeable class,
    /// or append.
    fn accumulate(
        &mut self,
        mut product: Vec<NodeId>,
        current: NodeId,
        fresh: &mut Fresh,
    ) -> Vec<NodeId> {
        let class = self.nodes[current].kind.class();
        if mergeable(&self.nodes[current].kind) {
            if let Some(i) = product
                .iter()
                .position(|&p| self.nodes[p].kind.class() == class)
            {
                if let Some(merged) = self.merge(product[i], current, fresh) {
                    product[i] = merged;
                    return product;
                }
            }
        }
        product.push(current);
        product
    }

    /// `SchemaContext.join(parent, current)` of a schema object's product so far and its
    /// next part.
    fn join(&mut self, schema: NodeId, current: NodeId, fresh: &mut Fresh) -> NodeId {
        if let Some(merged) = self.merge(schema, current, fresh) {
            return merged;
        }
        if let Some(subs) = self.synthetic_subs(schema, Criterion::Any) {
            if self.contains_class(&subs, current) {
                let subs = self.accumulate(subs, current, fresh);
                return self.part(Kind::Combined(Criterion::Any, subs), true, fresh);
            }
        }
        if let Some(subs) = self.synthetic_subs(current, Criterion::Any) {
            if self.contains_class(&subs, schema) {
                let subs = self.accumulate(subs, schema, fresh);
                return self.part(Kind::Combined(Criterion::Any, subs), true, fresh);
            }
        }
        // Under a schema object (inside `allOf`/`anyOf`/`oneOf` the subschemas are appended
        // and a synthetic allOf spliced instead: see `keyword_part`).
        let mut all = self.flatten(schema);
        all.extend(self.flatten(current));
        let mut subs = Vec::with_capacity(all.len());
        for part in all {
            subs = self.accumulate(subs, part, fresh);
        }
        self.part(Kind::Combined(Criterion::All, subs), true, fresh)
    }

    /// The part json-sKema makes of `keyword`, translated; `None` for keywords that make none
    /// (annotations, `properties` and the like handled after, unknown keywords).
    fn keyword_part(
        &mut self,
        doc: usize,
        ptr: &str,
        map: &Map<String, Value>,
        base: &str,
        keyword: &str,
        fresh: &mut Fresh,
    ) -> Result<Option<NodeId>> {
        let Some(value) = map.get(keyword) else {
            return Ok(None);
        };
        let string = |s: StringKind| Some(Kind::String(s));
        let number = |n: NumberKind| Some(Kind::Number(n));
        let array = |a: ArrayKind| Some(Kind::Array(Box::new(a)));
        let object = |o: ObjectKind| Some(Kind::Object(Box::new(o)));
        let num = || match value {
            Value::Number(n) => Some(n.clone()),
            _ => None,
        };
        let kind = match keyword {
            "type" => match value {
                Value::String(t) => Some(bare_type(t).ok_or_else(|| unknown_type(t, ptr))?),
                Value::Array(types) => {
                    let mut ids = Vec::with_capacity(types.len());
                    for t in types {
                        let t = t.as_str().ok_or_else(|| {
                            invalid(format!(
                                "'type' at '{}' must be a string or an array of strings",
                                display_pointer(ptr)
                            ))
                        })?;
                        let kind = bare_type(t).ok_or_else(|| unknown_type(t, ptr))?;
                        let type_key = self.contents.of_type(t);
                        ids.push(self.push(node(kind, Meta::default(), type_key)));
                    }
                    return Ok(Some(self.part(
                        Kind::Combined(Criterion::Any, ids),
                        true,
                        fresh,
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                        "'type' at '{}' must be a string or an array of strings",
                        display_pointer(ptr)
                    )))
                }
            },
            "minLength" => string(StringKind {
                min_length: as_count(value),
                ..StringKind::default()
            }),
            "maxLength" => string(StringKind {
                max_length: as_count(value),
                ..StringKind::default()
            }),
            "pattern" => string(StringKind {
                pattern: value.as_str().map(str::to_string),
                ..StringKind::default()
            }),
            // Ignored by the translator, yet still an (empty) synthetic allOf; json-sKema makes
            // a part of `readOnly`/`writeOnly` only when true.
            "readOnly" | "writeOnly" if value != &Value::Bool(true) => None,
            "format" | "readOnly" | "writeOnly" => {
                return Ok(Some(self.part(
                    Kind::Combined(Criterion::All, Vec::new()),
                    true,
                    fresh,
                )))
            }
            "minimum" => number(NumberKind {
                minimum: num(),
                ..NumberKind::default()
            }),
            "maximum" => number(NumberKind {
                maximum: num(),
                ..NumberKind::default()
            }),
            "exclusiveMinimum" => number(NumberKind {
                exclusive_minimum: num(),
                ..NumberKind::default()
            }),
            "exclusiveMaximum" => number(NumberKind {
                exclusive_maximum: num(),
                ..NumberKind::default()
            }),
            "multipleOf" => number(NumberKind {
                multiple_of: num(),
                ..NumberKind::default()
            }),
            "minItems" => array(ArrayKind {
                min_items: as_count(value),
                ..ArrayKind::default()
            }),
            "maxItems" => array(ArrayKind {
                max_items: as_count(value),
                ..ArrayKind::default()
            }),
            "uniqueItems" => array(ArrayKind {
                unique_items: value.as_bool().unwrap_or(false),
                ..ArrayKind::default()
            }),
            "contains" => array(ArrayKind {
                max_contains: map.get("maxContains").and_then(as_count),
                min_contains: map.get("minContains").and_then(as_count),
                ..ArrayKind::default()
            }),
            "prefixItems" => {
                let Value::Array(items) = value else {
                    return Err(invalid(format!(
                        "'prefixItems' at '{}' must be an array of schemas",
                        display_pointer(ptr)
                    )));
                };
                let mut ids = Vec::with_capacity(items.len());
                for i in 0..items.len() {
                    ids.push(self.load_at(doc, format!("{ptr}/prefixItems/{i}"), base)?);
                }
                array(ArrayKind {
                    item_schemas: Some(ids),
                    ..ArrayKind::default()
                })
            }
            "items" => {
                let prefix_items =
                    matches!(map.get("prefixItems"), Some(Value::Array(a)) if !a.is_empty());
                match value {
                    Value::Bool(true) => array(ArrayKind::default()),
                    Value::Bool(false) => array(ArrayKind {
                        additional: Extra::Denied,
                        ..ArrayKind::default()
                    }),
                    Value::Array(_) => {
                        return Err(invalid(format!(
                            "'items' at '{}' must be a schema (expected boolean or object, found array); {} tuples are written with 'prefixItems'",
                            display_pointer(ptr),
                            if self.docs[doc].draft == crate::json::Draft::Draft201909 {
                                "as Confluent reads 2019-09 with 2020-12 rules,"
                            } else {
                                "in 2020-12"
                            }
                        )))
                    }
                    _ => {
                        let id = self.child(doc, ptr, "items", base)?;
                        if prefix_items {
                            array(ArrayKind {
                                additional: Extra::Schema(id),
                                ..ArrayKind::default()
                            })
                        } else {
                            array(ArrayKind {
                                all_items: Some(id),
                                ..ArrayKind::default()
                            })
                        }
                    }
                }
            }
            "required" => {
                let mut o = object_kind();
                if let Value::Array(names) = value {
                    for name in names.iter().filter_map(Value::as_str) {
                        if !o.required.contains(name) {
                            o.required.insert(name.to_string());
                        }
                    }
                }
                object(o)
            }
            "additionalProperties" => object(ObjectKind {
                additional: self.extra(doc, ptr, map, "additionalProperties", base)?,
                ..object_kind()
            }),
            "minProperties" => object(ObjectKind {
                min_properties: as_count(value),
                ..object_kind()
            }),
            "maxProperties" => object(ObjectKind {
                max_properties: as_count(value),
                ..object_kind()
            }),
            "propertyNames" => object(object_kind()),
            "dependentRequired" => {
                let mut o = object_kind();
                if let Value::Object(dependencies) = value {
                    for (name, names) in dependencies {
                        if let Value::Array(names) = names {
                            o.property_dependencies.insert(name.clone(), strings(names));
                        }
                    }
                }
                object(o)
            }
            "dependentSchemas" => {
                let mut o = object_kind();
                if let Value::Object(dependencies) = value {
                    for name in dependencies.keys() {
                        let id = self.member(doc, ptr, "dependentSchemas", name, base)?;
                        o.schema_dependencies.insert(name.clone(), id);
                    }
                }
                object(o)
            }
            "enum" => {
                let values = value.as_array().ok_or_else(|| {
                    invalid(format!(
                        "'enum' at '{}' must be an array",
                        display_pointer(ptr)
                    ))
                })?;
                let mut seen = crate::json::model::ValueSet::default();
                Some(Kind::Enum(
                    values.iter().filter(|v| seen.insert(v)).cloned().collect(),
                ))
            }
            "const" => Some(Kind::Const(value.clone())),
            "not" => Some(Kind::Not(self.child(doc, ptr, "not", base)?)),
            "if" => Some(Kind::Conditional),
            "$ref" => {
                let reference = value.as_str().ok_or_else(|| {
                    invalid(format!(
                        "'$ref' at '{}' must be a string",
                        display_pointer(ptr)
                    ))
                })?;
                let (target_doc, target_ptr, target_base) =
                    self.resolve_ref(doc, base, reference, ptr)?;
                Some(Kind::Reference(self.load_at(
                    target_doc,
                    target_ptr,
                    &target_base,
                )?))
            }
            "allOf" | "anyOf" | "oneOf" => {
                let criterion = match keyword {
                    "allOf" => Criterion::All,
                    "anyOf" => Criterion::Any,
                    _ => Criterion::One,
                };
                let subs = value.as_array().ok_or_else(|| {
                    invalid(format!(
                        "'{keyword}' at '{}' must be an array",
                        display_pointer(ptr)
                    ))
                })?;
                // Joined under the combiner, each subschema is appended, a synthetic allOf
                // spliced (linear: no intermediate products are built).
                let mut ids = Vec::with_capacity(subs.len());
                for i in 0..subs.len() {
                    let id = self.load_at(doc, format!("{ptr}/{keyword}/{i}"), base)?;
                    ids.extend(self.flatten(id));
                }
                Some(Kind::Combined(criterion, ids))
            }
            _ => None,
        };
        Ok(kind.map(|kind| self.part(kind, false, fresh)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_come_in_java_hash_map_order() {
        // Checked against java.util.HashMap with these keys put in this order.
        let order = |keys: &[&'static str]| java_hash_map_order(keys.iter().copied());
        assert_eq!(
            order(&["type", "maxLength", "format"]),
            ["format", "type", "maxLength"]
        );
        assert_eq!(order(&["type", "maxLength"]), ["type", "maxLength"]);
        assert_eq!(order(&["$schema", "allOf"]), ["allOf", "$schema"]);
        assert_eq!(order(&["items", "prefixItems"]), ["prefixItems", "items"]);
        // 32 keys: the table has grown to 64 buckets.
        let keys = "type,maxLength,format,minLength,pattern,minimum,maximum,exclusiveMinimum,exclusiveMaximum,multipleOf,items,prefixItems,properties,required,additionalProperties,enum,const,not,allOf,anyOf,oneOf,$ref,if,then,else,minItems,maxItems,uniqueItems,contains,title,description,default";
        let java = "const,minLength,pattern,description,type,title,required,exclusiveMaximum,allOf,not,oneOf,default,else,exclusiveMinimum,if,multipleOf,maxItems,prefixItems,format,anyOf,then,enum,minItems,contains,uniqueItems,maximum,additionalProperties,minimum,items,$ref,maxLength,properties";
        assert_eq!(java_hash_map_order(keys.split(',')).join(","), java);
    }
}
