//! Parsing Avro schema JSON into our [`Model`], following Java Avro's `Schema.Parser` rule for
//! rule: name resolution against the enclosing namespace then the null namespace, "Can't
//! redefine", union rules, reserved attributes versus custom properties.
//!
//! A schema parsed as new follows Avro 1.12.1 as Confluent 8.x applies it
//! (`AvroSchema.getParser()`): default validation, the strict (ASCII) name validator on names,
//! namespace parts, field names, enum symbols and aliases, and a record named only once its
//! fields are parsed (so an enclosing record without namespace cannot be reached by its short
//! name from a nested namespace). A stored schema is parsed as before, so what was accepted once
//! keeps loading: names checked with Unicode rules, no default validation.
//!
//! Error texts are Java Avro's where Java's are usable, because Confluent shows them to users in
//! its 42201 "Invalid schema" details; where Java's text would only name a Java class, we say
//! what is wrong instead.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::default::is_valid_default;
use super::jackson::{value_to_string, write_value};
use super::model::{Field, Kind, Model, Name, Node, NodeId, Order, Props};

/// Attributes Java Avro treats as part of the schema, never as custom properties.
const SCHEMA_RESERVED: &[&str] = &[
    "doc",
    "fields",
    "items",
    "name",
    "namespace",
    "size",
    "symbols",
    "values",
    "type",
    "aliases",
];
/// Field attributes that are not custom properties.
const FIELD_RESERVED: &[&str] = &["default", "doc", "name", "order", "type", "aliases"];

/// A Java `Schema.Parser`: named types persist across [`Parser::parse`] calls, so referenced
/// schemas parsed first are visible to the schema that references them (Confluent parses
/// `resolvedReferences` into the same parser before the main schema).
pub(crate) struct Parser<'m> {
    model: &'m mut Model,
    /// Full name to node, across every text parsed so far.
    names: HashMap<String, NodeId>,
    /// The default namespace while parsing a named type's body (`Names.space`).
    space: Option<String>,
    /// Parsing a new schema: Avro 1.12.1's default validation, strict names, late record names.
    as_new: bool,
    /// Records whose fields are being parsed (new schemas only): full name and node.
    in_progress: Vec<(String, NodeId)>,
}

type PResult<T> = Result<T, String>;

impl<'m> Parser<'m> {
    /// A parser adding nodes to `model`; `as_new`: the rules for a schema being registered.
    pub(crate) fn new(model: &'m mut Model, as_new: bool) -> Self {
        Parser {
            model,
            names: HashMap::new(),
            space: None,
            as_new,
            in_progress: Vec::new(),
        }
    }

    /// A name being defined, validated strictly for a new schema.
    fn defined_name(&self, name: &str, space: Option<&str>) -> PResult<Name> {
        let name = Name::new(name, space)?;
        if self.as_new {
            super::model::validate_strict(&name)?;
        }
        Ok(name)
    }

    /// A field name or enum symbol.
    fn check_simple_name(&self, name: &str) -> PResult<()> {
        super::model::validate_name(name)?;
        if self.as_new {
            super::model::validate_strict_name(name)?;
        }
        Ok(())
    }

    fn in_progress(&self, full: &str) -> Option<NodeId> {
        self.in_progress
            .iter()
            .rev()
            .find(|(n, _)| n == full)
            .map(|(_, id)| *id)
    }

    /// Parse one schema text; its named types stay known to later calls.
    pub(crate) fn parse(&mut self, text: &str) -> PResult<NodeId> {
        // Jackson reads the first JSON value; Avro 1.11.3+ then rejects anything but whitespace
        // after it.
        // Java Avro's JSON factory allows `/* */` and `//` comments.
        let text = &strip_comments(text);
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
        let json = match stream.next() {
            Some(Ok(v)) => v,
            Some(Err(e)) => return Err(format!("Invalid JSON: {e}")),
            None => return Err("Empty schema".into()),
        };
        let dangling = text[stream.byte_offset()..].trim();
        if !dangling.is_empty() {
            return Err(format!("dangling content after end of schema: {dangling}"));
        }
        self.space = None;
        self.in_progress.clear();
        self.parse_node(&json)
    }

    /// Java's `Names.get(String)`: primitives are fresh nodes; other names resolve in the current
    /// namespace first, then in the null namespace.
    fn resolve(&mut self, s: &str) -> PResult<Option<NodeId>> {
        if let Some(kind) = Kind::primitive(s) {
            return Ok(Some(self.model.push(Node::Primitive {
                kind,
                props: Vec::new(),
            })));
        }
        let name = Name::new(s, self.space.as_deref())?;
        if let Some(id) = self.names.get(&name.full) {
            return Ok(Some(*id));
        }
        let anonymous = Name::new(s, None)?;
        if let Some(id) = self.names.get(&anonymous.full) {
            return Ok(Some(*id));
        }
        // Avro 1.12: a record is named once its fields are parsed; until then a reference to it
        // is resolved later by the full name it has here, which must then be the record's.
        if let Some(id) = self.in_progress(&name.full) {
            return Ok(Some(id));
        }
        if self.in_progress(&anonymous.full).is_some() {
            return Err(format!("Undefined schema: {}", name.full));
        }
        Ok(None)
    }

    fn define(&mut self, name: &Name, id: NodeId) -> PResult<()> {
        if self.names.contains_key(&name.full) {
            return Err(format!("Can't redefine: {}", name.full));
        }
        self.names.insert(name.full.clone(), id);
        Ok(())
    }

    fn parse_node(&mut self, json: &Value) -> PResult<NodeId> {
        match json {
            Value::String(s) => match self.resolve(s)? {
                Some(id) => Ok(id),
                None => Err(format!("Undefined name: {}", value_to_string(json))),
            },
            Value::Object(obj) => self.parse_object(json, obj),
            Value::Array(items) => self.parse_union(items),
            _ => Err(format!(
                "Schema not yet supported: {}",
                value_to_string(json)
            )),
        }
    }

    fn parse_object(
        &mut self,
        json: &Value,
        obj: &serde_json::Map<String, Value>,
    ) -> PResult<NodeId> {
        let Some(ty) = text(obj, "type") else {
            return Err(format!("No type: {}", value_to_string(json)));
        };
        let named = matches!(ty, "record" | "error" | "enum" | "fixed");
        let saved_space = self.space.clone();
        let mut name = None;
        let mut doc = None;
        if named {
            let space = text(obj, "namespace")
                .map(str::to_string)
                .or_else(|| self.space.clone());
            doc = text(obj, "doc").map(str::to_string);
            let Some(simple) = text(obj, "name") else {
                return Err(format!("No name in schema: {}", value_to_string(json)));
            };
            let n = self.defined_name(simple, space.as_deref())?;
            if n.space.is_none() && Kind::primitive(&n.full).is_some() {
                return Err(format!(
                    "Schemas may not be named after primitives: {}",
                    n.full
                ));
            }
            self.space = n.space.clone();
            name = Some(n);
        }
        let reserved: &[&str] = SCHEMA_RESERVED;
        let id = if let Some(kind) = Kind::primitive(ty) {
            self.model.push(Node::Primitive {
                kind,
                props: Vec::new(),
            })
        } else if ty == "record" || ty == "error" {
            let name = name.clone().ok_or("No name in schema")?;
            let id = self.model.push(Node::Record {
                name: name.clone(),
                doc: doc.clone(),
                fields: None,
                props: Vec::new(),
                aliases: Vec::new(),
                is_error: ty == "error",
            });
            // Avro 1.11 (stored schemas) names the record before its fields; Avro 1.12 (new
            // schemas) after them, fields reaching it meanwhile by its full name only.
            if self.as_new {
                if self.names.contains_key(&name.full) {
                    return Err(format!("Can't redefine: {}", name.full));
                }
                self.in_progress.push((name.full.clone(), id));
            } else {
                self.define(&name, id)?;
            }
            let fields_json = match obj.get("fields") {
                Some(Value::Array(f)) => f,
                _ => return Err(format!("Record has no fields: {}", value_to_string(json))),
            };
            let mut fields = Vec::with_capacity(fields_json.len());
            for fj in fields_json {
                fields.push(self.parse_field(fj)?);
            }
            if self.as_new {
                self.in_progress.pop();
                self.define(&name, id)?;
            }
            // A set of names seen so far keeps this linear in the number of fields (a record of
            // 50k fields was quadratic); the first position is looked up only on a duplicate.
            let mut seen_fields: HashSet<&str> = HashSet::with_capacity(fields.len());
            for (i, f) in fields.iter().enumerate() {
                if seen_fields.insert(f.name.as_str()) {
                    continue;
                }
                if let Some(first) = fields[..i].iter().position(|g| g.name == f.name) {
                    let kind = |f: &Field| self.model.node(f.ty).kind().java_name();
                    return Err(format!(
                        "Duplicate field {} in record {}: {} type:{} pos:{} and {} type:{} pos:{}.",
                        f.name,
                        name.full,
                        f.name,
                        kind(f),
                        i,
                        fields[first].name,
                        kind(&fields[first]),
                        first
                    ));
                }
            }
            if let Node::Record { fields: slot, .. } = &mut self.model.nodes[id] {
                *slot = Some(fields);
            }
            id
        } else if ty == "enum" {
            let name = name.clone().ok_or("No name in schema")?;
            let symbols_json = match obj.get("symbols") {
                Some(Value::Array(s)) => s,
                _ => return Err(format!("Enum has no symbols: {}", value_to_string(json))),
            };
            let mut symbols: Vec<String> = Vec::with_capacity(symbols_json.len());
            let mut seen_symbols: HashSet<&str> = HashSet::with_capacity(symbols_json.len());
            for s in symbols_json {
                let Some(s) = s.as_str() else {
                    return Err(format!(
                        "Enum symbol {} of {} is not a string",
                        value_to_string(s),
                        name.full
                    ));
                };
                self.check_simple_name(s)?;
                if !seen_symbols.insert(s) {
                    return Err(format!("Duplicate enum symbol: {s}"));
                }
                symbols.push(s.to_string());
            }
            let default = text(obj, "default").map(str::to_string);
            if let Some(d) = &default {
                if !symbols.contains(d) {
                    return Err(format!(
                        "The Enum Default: {d} is not in the enum symbol set: [{}]",
                        symbols.join(", ")
                    ));
                }
            }
            let id = self.model.push(Node::Enum {
                name: name.clone(),
                doc: doc.clone(),
                symbols,
                default,
                props: Vec::new(),
                aliases: Vec::new(),
            });
            self.define(&name, id)?;
            id
        } else if ty == "array" {
            let Some(items) = obj.get("items") else {
                return Err(format!(
                    "Array has no items type: {}",
                    value_to_string(json)
                ));
            };
            let items = self.parse_node(items)?;
            self.model.push(Node::Array {
                items,
                props: Vec::new(),
            })
        } else if ty == "map" {
            let Some(values) = obj.get("values") else {
                return Err(format!("Map has no values type: {}", value_to_string(json)));
            };
            let values = self.parse_node(values)?;
            self.model.push(Node::Map {
                values,
                props: Vec::new(),
            })
        } else if ty == "fixed" {
            let name = name.clone().ok_or("No name in schema")?;
            let size = match obj.get("size") {
                Some(Value::Number(n))
                    if !n.is_f64() && n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) =>
                {
                    n.as_i64().unwrap_or(0) as i32
                }
                _ => return Err(format!("Invalid or no size: {}", value_to_string(json))),
            };
            if size < 0 {
                return Err(format!("Invalid fixed size: {size}"));
            }
            let id = self.model.push(Node::Fixed {
                name: name.clone(),
                doc: doc.clone(),
                size,
                props: Vec::new(),
                aliases: Vec::new(),
            });
            self.define(&name, id)?;
            id
        } else {
            // Java Avro: `{"type": "Name"}` refers to a named type, looked up in the current
            // namespace only, and its other attributes are ignored.
            let n = Name::new(ty, self.space.as_deref())?;
            return match self.names.get(&n.full).copied() {
                Some(id) => Ok(id),
                None => self
                    .in_progress(&n.full)
                    .ok_or_else(|| format!("Type not supported: {ty}")),
            };
        };
        let is_enum = ty == "enum";
        let props: Props = obj
            .iter()
            .filter(|(k, _)| {
                !(reserved.contains(&k.as_str()) || (is_enum && k.as_str() == "default"))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.space = saved_space;
        let aliases = if named {
            let own_space = name.as_ref().and_then(|n| n.space.clone());
            let mut out: Vec<Name> = Vec::new();
            for a in parse_aliases(obj, json)? {
                let alias = self.defined_name(&a, own_space.as_deref())?;
                if !out.iter().any(|x| x.full == alias.full) {
                    out.push(alias);
                }
            }
            out
        } else {
            Vec::new()
        };
        match &mut self.model.nodes[id] {
            Node::Primitive { props: p, .. }
            | Node::Array { props: p, .. }
            | Node::Map { props: p, .. } => *p = props,
            Node::Record {
                props: p,
                aliases: a,
                ..
            }
            | Node::Enum {
                props: p,
                aliases: a,
                ..
            }
            | Node::Fixed {
                props: p,
                aliases: a,
                ..
            } => {
                *p = props;
                *a = aliases;
            }
            Node::Union { .. } => {}
        }
        Ok(id)
    }

    fn parse_field(&mut self, json: &Value) -> PResult<Field> {
        let Value::Object(obj) = json else {
            return Err(format!("No field name: {}", value_to_string(json)));
        };
        let Some(name) = text(obj, "name") else {
            return Err(format!("No field name: {}", value_to_string(json)));
        };
        let doc = text(obj, "doc").map(str::to_string);
        let Some(type_json) = obj.get("type") else {
            return Err(format!("No field type: {}", value_to_string(json)));
        };
        if let Value::String(t) = type_json {
            if self.resolve(t)?.is_none() {
                return Err(format!(
                    "{} is not a defined name. The type of the \"{name}\" field must be a defined name or a {{\"type\": ...}} expression.",
                    value_to_string(type_json)
                ));
            }
        }
        let ty = self.parse_node(type_json)?;
        let order = match obj.get("order") {
            None => Order::Ascending,
            Some(v) => match v.as_str().map(str::to_ascii_uppercase).as_deref() {
                Some("ASCENDING") => Order::Ascending,
                Some("DESCENDING") => Order::Descending,
                Some("IGNORE") => Order::Ignore,
                _ => {
                    return Err(format!(
                        "Invalid order {} for field {name}: use \"ascending\", \"descending\" or \"ignore\"",
                        value_to_string(v)
                    ))
                }
            },
        };
        let mut default = obj.get("default").cloned();
        let mut default_non_finite = false;
        let kind = self.model.node(ty).kind();
        if let (Some(Value::String(s)), Kind::Float | Kind::Double) = (&default, kind) {
            // Java Avro turns a text default of a float/double field into a DoubleNode.
            match java_parse_double(s) {
                Some(d) if d.is_finite() => {
                    default = serde_json::Number::from_f64(d).map(Value::Number);
                }
                Some(d) => {
                    default_non_finite = true;
                    default = Some(Value::String(super::jackson::java_double(d)));
                }
                None => return Err(format!("For input string: \"{s}\"")),
            }
        }
        self.check_simple_name(name)?;
        if self.as_new {
            if let Some(d) = &default {
                let valid = (default_non_finite && matches!(kind, Kind::Float | Kind::Double))
                    || is_valid_default(self.model, ty, d)?;
                if !valid {
                    let mut schema_text = String::new();
                    super::canonical::write_inline(self.model, ty, &mut schema_text);
                    let mut d_text = String::new();
                    write_value(&mut d_text, d);
                    return Err(format!(
                        "Invalid default for field {name}: {d_text} not a {schema_text}"
                    ));
                }
            }
        }
        let props: Props = obj
            .iter()
            .filter(|(k, _)| !FIELD_RESERVED.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut aliases: Vec<String> = Vec::new();
        for a in parse_aliases(obj, json)? {
            if !aliases.contains(&a) {
                aliases.push(a);
            }
        }
        Ok(Field {
            name: name.to_string(),
            ty,
            doc,
            default,
            default_non_finite,
            order,
            aliases,
            props,
        })
    }

    fn parse_union(&mut self, items: &[Value]) -> PResult<NodeId> {
        let mut branches = Vec::with_capacity(items.len());
        for item in items {
            branches.push(self.parse_node(item)?);
        }
        let id = self.model.push(Node::Union {
            branches: branches.clone(),
        });
        let mut seen: Vec<&str> = Vec::new();
        for b in &branches {
            let node = self.model.node(*b);
            if node.kind() == Kind::Union {
                let mut s = String::new();
                super::canonical::write_inline(self.model, id, &mut s);
                return Err(format!("Nested union: {s}"));
            }
            let full = node.full_name();
            if seen.contains(&full) {
                return Err(format!("Duplicate in union:{full}"));
            }
            seen.push(full);
        }
        Ok(id)
    }
}

/// Replace JSON comments (outside strings) by a space, as Jackson's `ALLOW_COMMENTS` reads them.
/// An unterminated block comment is left in place for the JSON parser to report.
fn strip_comments(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('/') {
        return std::borrow::Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut start = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        match (b, bytes.get(i + 1)) {
            (b'"', _) => {
                in_string = true;
                i += 1;
            }
            (b'/', Some(b'/')) => {
                out.push_str(&text[start..i]);
                out.push(' ');
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                start = i;
            }
            (b'/', Some(b'*')) => match text[i + 2..].find("*/") {
                Some(end) => {
                    out.push_str(&text[start..i]);
                    out.push(' ');
                    i += 2 + end + 2;
                    start = i;
                }
                None => break,
            },
            _ => i += 1,
        }
    }
    out.push_str(&text[start..]);
    std::borrow::Cow::Owned(out)
}

/// `getOptionalText`: the attribute's text, `None` when absent or not a string.
fn text<'a>(obj: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn parse_aliases(obj: &serde_json::Map<String, Value>, json: &Value) -> PResult<Vec<String>> {
    match obj.get("aliases") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|a| match a {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("alias not a string: {}", value_to_string(other))),
            })
            .collect(),
        Some(_) => Err(format!("aliases not an array: {}", value_to_string(json))),
    }
}

/// Java's `Double.valueOf(String)` for the forms people write: decimal numbers with optional
/// sign, exponent and `d`/`f` suffix, `NaN` and `Infinity`. Surrounding whitespace is allowed.
fn java_parse_double(s: &str) -> Option<f64> {
    let t = s.trim();
    let (sign, body) = match t.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    match body {
        "NaN" => return Some(f64::NAN),
        "Infinity" => return Some(sign * f64::INFINITY),
        _ => {}
    }
    let body = body.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(body);
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    body.parse::<f64>().ok().map(|d| sign * d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_removed_outside_strings() {
        assert_eq!(
            strip_comments("{/* c */\"a\": \"x//y\" // tail\n}"),
            "{ \"a\": \"x//y\"  \n}"
        );
        assert_eq!(strip_comments("\"a\\\"/*\""), "\"a\\\"/*\"");
    }

    #[test]
    fn java_double_parsing_accepts_java_forms() {
        assert_eq!(java_parse_double("1.5"), Some(1.5));
        assert_eq!(java_parse_double("-2e3"), Some(-2000.0));
        assert_eq!(java_parse_double("3d"), Some(3.0));
        assert!(java_parse_double("NaN").is_some_and(f64::is_nan));
        assert_eq!(java_parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(java_parse_double("abc"), None);
    }
}
