//! Avro values to and from JSON, walking the schema so that every JSON value lands on the
//! Avro type the schema asks for, and every error names where in the value it is.
//!
//! The JSON form is Avro's JSON encoding (the one Confluent's console tools print):
//! - a union is `null` or `{"<branch>": value}`, the branch named by its type (`"string"`,
//!   `"long"`, or a named type's full name, e.g. `"com.acme.Address"`). On input the plain
//!   value is accepted too when exactly one branch fits it (`"x"` for `["null","string"]`);
//!   when several fit (`5` for `["int","long"]`) the wrapped form is required;
//! - `bytes` and `fixed` are strings whose characters U+0000..U+00FF are the bytes
//!   (ISO-8859-1, as the Avro specification's JSON encoding);
//! - enums are their symbol; logical types are their underlying type (a date is an `int`, a
//!   timestamp a `long`, a decimal its two's-complement bytes), except `uuid`, a string;
//! - a record field missing from the input takes the schema's default; a field the schema
//!   does not know is an error.
//!
//! This module converts only; encoding and validation are apache-avro's.

use std::collections::HashMap;

use apache_avro::schema::{Name, Namespace, RecordSchema, UnionSchema};
use apache_avro::types::Value;
use apache_avro::Schema;
use serde_json::{Map, Number, Value as Json};

/// A conversion error: where in the value, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// A JSON-path-like location, `$` for the root: `$.address.zip`, `$.tags[2]`.
    pub path: String,
    /// What was expected and found.
    pub message: String,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: {}", self.path, self.message)
    }
}

type Result<T> = std::result::Result<T, ConvertError>;

/// Named types of a schema, by full name.
pub struct Names<'s> {
    names: HashMap<String, &'s Schema>,
}

impl<'s> Names<'s> {
    /// Collect the named types of `schema`.
    pub fn of(schema: &'s Schema) -> Self {
        let mut names = HashMap::new();
        collect(schema, &None, &mut names);
        Names { names }
    }

    pub(crate) fn resolve<'a>(&'a self, schema: &'a Schema) -> &'a Schema {
        match schema {
            Schema::Ref { name } => self
                .names
                .get(&name.fullname(None))
                .copied()
                .unwrap_or(schema),
            other => other,
        }
    }
}

fn collect<'s>(schema: &'s Schema, ns: &Namespace, out: &mut HashMap<String, &'s Schema>) {
    let mut add = |name: &Name| {
        let full = name.fully_qualified_name(ns);
        let child_ns = full.namespace.clone();
        out.insert(full.fullname(None), schema);
        child_ns
    };
    match schema {
        Schema::Record(r) => {
            let child_ns = add(&r.name);
            for f in &r.fields {
                collect(&f.schema, &child_ns, out);
            }
        }
        Schema::Enum(e) => {
            add(&e.name);
        }
        Schema::Fixed(f) => {
            add(&f.name);
        }
        Schema::Decimal(d) => collect(&d.inner, ns, out),
        Schema::Array(a) => collect(&a.items, ns, out),
        Schema::Map(m) => collect(&m.types, ns, out),
        Schema::Union(u) => {
            for v in u.variants() {
                collect(v, ns, out);
            }
        }
        _ => {}
    }
}

fn err<T>(path: &str, message: impl Into<String>) -> Result<T> {
    Err(ConvertError {
        path: path.to_string(),
        message: message.into(),
    })
}

fn kind(json: &Json) -> String {
    let text = json.to_string();
    let short: String = text.chars().take(40).collect();
    let shown = if short.len() < text.len() {
        format!("{short}...")
    } else {
        short
    };
    let what = match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    };
    format!("{what} ({shown})")
}

/// The name a union branch goes by in Avro's JSON encoding.
pub(crate) fn branch_name(schema: &Schema, names: &Names<'_>) -> String {
    match names.resolve(schema) {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int | Schema::Date | Schema::TimeMillis => "int".into(),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes | Schema::BigDecimal => "bytes".into(),
        Schema::String | Schema::Uuid => "string".into(),
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Union(_) => "union".into(),
        Schema::Record(r) => r.name.fullname(None),
        Schema::Enum(e) => e.name.fullname(None),
        Schema::Fixed(f) => f.name.fullname(None),
        Schema::Decimal(d) => branch_name(&d.inner, names),
        Schema::Duration => "fixed".into(),
        Schema::Ref { name } => name.fullname(None),
    }
}

fn bytes_of(path: &str, s: &str) -> Result<Vec<u8>> {
    s.chars()
        .map(|c| {
            u8::try_from(u32::from(c)).or_else(|_| {
                err(
                    path,
                    format!(
                        "bytes are written as a string of characters U+0000..U+00FF (one per \
                         byte), but it contains '{c}'"
                    ),
                )
            })
        })
        .collect()
}

fn string_of_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn integer(path: &str, json: &Json, what: &str) -> Result<i64> {
    match json {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => err(
                path,
                format!("expected {what} (a whole number), found {}", kind(json)),
            ),
        },
        other => err(path, format!("expected {what}, found {}", kind(other))),
    }
}

fn int(path: &str, json: &Json, what: &str) -> Result<i32> {
    let i = integer(path, json, what)?;
    i32::try_from(i).or_else(|_| err(path, format!("{i} does not fit {what} (32 bits)")))
}

fn float(path: &str, json: &Json, what: &str) -> Result<f64> {
    match json {
        Json::Number(n) => n
            .as_f64()
            .map_or_else(|| err(path, format!("expected {what}")), Ok),
        // Avro's JSON encoding has no literal for these.
        Json::String(s) if s == "NaN" => Ok(f64::NAN),
        Json::String(s) if s == "Infinity" => Ok(f64::INFINITY),
        Json::String(s) if s == "-Infinity" => Ok(f64::NEG_INFINITY),
        other => err(path, format!("expected {what}, found {}", kind(other))),
    }
}

fn string<'a>(path: &str, json: &'a Json, what: &str) -> Result<&'a str> {
    match json {
        Json::String(s) => Ok(s),
        other => err(path, format!("expected {what}, found {}", kind(other))),
    }
}

/// Convert `json` to a value of `schema`.
pub fn from_json(json: &Json, schema: &Schema, names: &Names<'_>) -> Result<Value> {
    convert(json, schema, names, "$")
}

fn leaf(path: &str, base: Value, schema: &Schema) -> Result<Value> {
    base.resolve(schema).or_else(|e| {
        err(
            path,
            format!("the value does not fit the logical type: {e}"),
        )
    })
}

fn convert(json: &Json, schema: &Schema, names: &Names<'_>, path: &str) -> Result<Value> {
    let schema = names.resolve(schema);
    match schema {
        Schema::Null => match json {
            Json::Null => Ok(Value::Null),
            other => err(path, format!("expected null, found {}", kind(other))),
        },
        Schema::Boolean => match json {
            Json::Bool(b) => Ok(Value::Boolean(*b)),
            other => err(path, format!("expected a boolean, found {}", kind(other))),
        },
        Schema::Int => Ok(Value::Int(int(path, json, "an int")?)),
        Schema::Long => Ok(Value::Long(integer(path, json, "a long")?)),
        Schema::Float => Ok(Value::Float(float(path, json, "a float")? as f32)),
        Schema::Double => Ok(Value::Double(float(path, json, "a double")?)),
        Schema::String => Ok(Value::String(string(path, json, "a string")?.to_string())),
        Schema::Bytes => Ok(Value::Bytes(bytes_of(
            path,
            string(path, json, "bytes (a string)")?,
        )?)),
        Schema::Uuid => leaf(
            path,
            Value::String(string(path, json, "a uuid string")?.to_string()),
            schema,
        ),
        Schema::Date | Schema::TimeMillis => {
            leaf(path, Value::Int(int(path, json, "an int")?), schema)
        }
        Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => {
            leaf(path, Value::Long(integer(path, json, "a long")?), schema)
        }
        Schema::Decimal(d) => {
            let bytes = bytes_of(path, string(path, json, "decimal bytes (a string)")?)?;
            if let Schema::Fixed(f) = names.resolve(&d.inner) {
                if bytes.len() != f.size {
                    return err(
                        path,
                        format!(
                            "a decimal in fixed {} needs {} bytes, found {}",
                            f.name.fullname(None),
                            f.size,
                            bytes.len()
                        ),
                    );
                }
            }
            Ok(Value::Decimal(apache_avro::Decimal::from(bytes)))
        }
        Schema::BigDecimal => err(
            path,
            "big-decimal values cannot be written from JSON; use the bytes form of decimal",
        ),
        Schema::Duration => {
            let bytes = bytes_of(path, string(path, json, "a duration (12 bytes)")?)?;
            let array: [u8; 12] = bytes.as_slice().try_into().or_else(|_| {
                err(
                    path,
                    format!("a duration is 12 bytes, found {}", bytes.len()),
                )
            })?;
            Ok(Value::Duration(apache_avro::Duration::from(array)))
        }
        Schema::Fixed(f) => {
            let bytes = bytes_of(path, string(path, json, "fixed bytes (a string)")?)?;
            if bytes.len() != f.size {
                return err(
                    path,
                    format!(
                        "fixed {} is {} bytes, found {}",
                        f.name.fullname(None),
                        f.size,
                        bytes.len()
                    ),
                );
            }
            Ok(Value::Fixed(f.size, bytes))
        }
        Schema::Enum(e) => {
            let symbol = string(path, json, "an enum symbol (a string)")?;
            match e.symbols.iter().position(|s| s == symbol) {
                Some(i) => Ok(Value::Enum(i as u32, symbol.to_string())),
                None => err(
                    path,
                    format!(
                        "'{symbol}' is not a symbol of enum {} (symbols: {})",
                        e.name.fullname(None),
                        e.symbols.join(", ")
                    ),
                ),
            }
        }
        Schema::Array(a) => match json {
            Json::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| convert(item, &a.items, names, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            other => err(path, format!("expected an array, found {}", kind(other))),
        },
        Schema::Map(m) => match json {
            Json::Object(entries) => entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), convert(v, &m.types, names, &child(path, k))?)))
                .collect::<Result<HashMap<_, _>>>()
                .map(Value::Map),
            other => err(
                path,
                format!("expected a map (an object), found {}", kind(other)),
            ),
        },
        Schema::Record(r) => record(json, r, names, path),
        Schema::Union(u) => union(json, u, names, path),
        Schema::Ref { name } => err(
            path,
            format!("the schema names an unknown type {}", name.fullname(None)),
        ),
    }
}

fn child(path: &str, key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Json::String(key.to_string()))
    }
}

fn record(json: &Json, r: &RecordSchema, names: &Names<'_>, path: &str) -> Result<Value> {
    let Json::Object(object) = json else {
        return err(
            path,
            format!(
                "expected record {} (an object), found {}",
                r.name.fullname(None),
                kind(json)
            ),
        );
    };
    if let Some(unknown) = object.keys().find(|k| !r.lookup.contains_key(*k)) {
        return err(
            path,
            format!(
                "record {} has no field '{unknown}' (fields: {})",
                r.name.fullname(None),
                r.fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let mut fields = Vec::with_capacity(r.fields.len());
    for f in &r.fields {
        let p = child(path, &f.name);
        let value = match (object.get(&f.name), &f.default) {
            (Some(v), _) => convert(v, &f.schema, names, &p)?,
            (None, Some(default)) => default_value(default, &f.schema, names, &p)?,
            (None, None) => {
                return err(
                    &p,
                    format!(
                        "the field is missing and has no default in record {}",
                        r.name.fullname(None)
                    ),
                )
            }
        };
        fields.push((f.name.clone(), value));
    }
    Ok(Value::Record(fields))
}

/// A field default: for a union, the default belongs to the first branch.
fn default_value(default: &Json, schema: &Schema, names: &Names<'_>, path: &str) -> Result<Value> {
    match names.resolve(schema) {
        Schema::Union(u) => {
            let first = u
                .variants()
                .first()
                .map_or_else(|| err(path, "the union is empty"), Ok)?;
            Ok(Value::Union(
                0,
                Box::new(convert(default, first, names, path)?),
            ))
        }
        other => convert(default, other, names, path),
    }
}

fn union(json: &Json, u: &UnionSchema, names: &Names<'_>, path: &str) -> Result<Value> {
    let variants = u.variants();
    if json.is_null() {
        return match variants
            .iter()
            .position(|v| matches!(names.resolve(v), Schema::Null))
        {
            Some(i) => Ok(Value::Union(i as u32, Box::new(Value::Null))),
            None => err(path, "null is not a branch of the union"),
        };
    }
    let branch_names: Vec<String> = variants.iter().map(|v| branch_name(v, names)).collect();
    // The wrapped form, {"<branch>": value}.
    if let Json::Object(object) = json {
        if object.len() == 1 {
            if let Some((key, inner)) = object.iter().next() {
                if let Some(i) = branch_names.iter().position(|n| n == key) {
                    let value = convert(inner, &variants[i], names, &child(path, key))?;
                    return Ok(Value::Union(i as u32, Box::new(value)));
                }
            }
        }
    }
    // The plain form: exactly one branch must take it.
    let mut fits = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        if matches!(names.resolve(v), Schema::Null) {
            continue;
        }
        match convert(json, v, names, path) {
            Ok(value) => fits.push((i, value)),
            Err(e) => errors.push(format!("{}: {}", branch_names[i], e.message)),
        }
    }
    match fits.len() {
        1 => {
            let (i, value) = fits.remove(0);
            Ok(Value::Union(i as u32, Box::new(value)))
        }
        0 => err(
            path,
            format!(
                "no branch of the union [{}] takes {} ({})",
                branch_names.join(", "),
                kind(json),
                errors.join("; ")
            ),
        ),
        _ => err(
            path,
            format!(
                "{} fits several branches of the union ({}); write it as {{\"<branch>\": value}}, \
                 e.g. {{\"{}\": {}}}",
                kind(json),
                fits.iter()
                    .map(|(i, _)| branch_names[*i].as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                branch_names[fits[0].0],
                json
            ),
        ),
    }
}

/// Convert a decoded value of `schema` to JSON (Avro's JSON encoding).
pub fn to_json(value: &Value, schema: &Schema, names: &Names<'_>) -> Json {
    let schema = names.resolve(schema);
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int(i) | Value::Date(i) | Value::TimeMillis(i) => Json::from(*i),
        Value::Long(i)
        | Value::TimeMicros(i)
        | Value::TimestampMillis(i)
        | Value::TimestampMicros(i)
        | Value::TimestampNanos(i)
        | Value::LocalTimestampMillis(i)
        | Value::LocalTimestampMicros(i)
        | Value::LocalTimestampNanos(i) => Json::from(*i),
        Value::Float(f) => float_json(f64::from(*f)),
        Value::Double(f) => float_json(*f),
        Value::Bytes(b) | Value::Fixed(_, b) => Json::String(string_of_bytes(b)),
        Value::String(s) => Json::String(s.clone()),
        Value::Enum(_, s) => Json::String(s.clone()),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::Decimal(d) => match Vec::<u8>::try_from(d) {
            Ok(bytes) => Json::String(string_of_bytes(&bytes)),
            Err(e) => Json::String(format!("<decimal: {e}>")),
        },
        Value::BigDecimal(d) => Json::String(d.to_string()),
        Value::Duration(d) => {
            let bytes: [u8; 12] = (*d).into();
            Json::String(string_of_bytes(&bytes))
        }
        Value::Union(i, inner) => {
            if matches!(**inner, Value::Null) {
                return Json::Null;
            }
            let variant = match schema {
                Schema::Union(u) => u.variants().get(*i as usize),
                _ => None,
            };
            match variant {
                Some(v) => {
                    let mut object = Map::new();
                    object.insert(branch_name(v, names), to_json(inner, v, names));
                    Json::Object(object)
                }
                None => to_json(inner, schema, names),
            }
        }
        Value::Array(items) => {
            let item_schema = match schema {
                Schema::Array(a) => &*a.items,
                other => other,
            };
            Json::Array(
                items
                    .iter()
                    .map(|v| to_json(v, item_schema, names))
                    .collect(),
            )
        }
        Value::Map(entries) => {
            let value_schema = match schema {
                Schema::Map(m) => &*m.types,
                other => other,
            };
            // HashMap order is arbitrary: sort for stable output.
            let mut keys: Vec<&String> = entries.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), to_json(&entries[k], value_schema, names)))
                    .collect(),
            )
        }
        Value::Record(fields) => {
            let record = match schema {
                Schema::Record(r) => Some(r),
                _ => None,
            };
            Json::Object(
                fields
                    .iter()
                    .map(|(name, v)| {
                        let field_schema = record
                            .and_then(|r| r.lookup.get(name).map(|&i| &r.fields[i].schema))
                            .unwrap_or(&Schema::Null);
                        (name.clone(), to_json(v, field_schema, names))
                    })
                    .collect(),
            )
        }
    }
}

fn float_json(f: f64) -> Json {
    match Number::from_f64(f) {
        Some(n) => Json::Number(n),
        None if f.is_nan() => Json::String("NaN".into()),
        None if f > 0.0 => Json::String("Infinity".into()),
        None => Json::String("-Infinity".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"id","type":"long"},
        {"name":"note","type":["null","string"],"default":null},
        {"name":"n","type":["null","int","long"],"default":null},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B"]}},
        {"name":"raw","type":"bytes","default":""},
        {"name":"tags","type":{"type":"map","values":"int"},"default":{}},
        {"name":"addr","type":["null",{"type":"record","name":"Addr","fields":[{"name":"zip","type":"string"}]}],"default":null},
        {"name":"again","type":["null","Addr"],"default":null}]}"#;

    fn schema() -> Schema {
        Schema::parse_str(SCHEMA).unwrap()
    }

    #[test]
    fn plain_and_wrapped_unions_both_read_and_output_is_wrapped() {
        let s = schema();
        let names = Names::of(&s);
        let plain = json!({"id": 1, "note": "hi", "kind": "B", "raw": "\u{00ff}\u{0000}",
            "addr": {"zip": "123"}, "again": {"shop.Addr": {"zip": "9"}}});
        let wrapped = json!({"id": 1, "note": {"string": "hi"}, "kind": "B", "raw": "\u{00ff}\u{0000}",
            "addr": {"shop.Addr": {"zip": "123"}}, "again": {"shop.Addr": {"zip": "9"}}});
        let a = from_json(&plain, &s, &names).unwrap();
        let b = from_json(&wrapped, &s, &names).unwrap();
        assert_eq!(a, b);
        assert!(a.validate(&s));
        let out = to_json(&a, &s, &names);
        assert_eq!(out["note"], json!({"string": "hi"}));
        assert_eq!(out["addr"], json!({"shop.Addr": {"zip": "123"}}));
        assert_eq!(out["raw"], json!("\u{00ff}\u{0000}"));
        assert_eq!(out["n"], Json::Null);
        assert_eq!(from_json(&out, &s, &names).unwrap(), a, "output reads back");
    }

    #[test]
    fn errors_name_the_path_and_the_problem() {
        let s = schema();
        let names = Names::of(&s);
        for (value, path, needle) in [
            (json!({"kind": "A"}), "$.id", "missing"),
            (json!({"id": "x", "kind": "A"}), "$.id", "expected a long"),
            (json!({"id": 1, "kind": "C"}), "$.kind", "not a symbol"),
            (
                json!({"id": 1, "kind": "A", "extra": 1}),
                "$",
                "no field 'extra'",
            ),
            (
                json!({"id": 1, "kind": "A", "n": 5}),
                "$.n",
                "several branches",
            ),
            (
                json!({"id": 1, "kind": "A", "tags": {"a": 1.5}}),
                "$.tags.a",
                "whole number",
            ),
            (
                json!({"id": 1, "kind": "A", "raw": "\u{0100}"}),
                "$.raw",
                "U+0000..U+00FF",
            ),
            (json!([1]), "$", "expected record shop.Order"),
        ] {
            let e = from_json(&value, &s, &names).unwrap_err();
            assert_eq!(e.path, path, "{value}: {e}");
            assert!(e.message.contains(needle), "{value}: {e}");
        }
        let ok = from_json(&json!({"id": 1, "kind": "A", "n": {"long": 5}}), &s, &names);
        assert!(ok.is_ok());
    }

    #[test]
    fn logical_types_are_their_underlying_type_and_round_trip() {
        let s = Schema::parse_str(
            r#"{"type":"record","name":"L","fields":[
            {"name":"d","type":{"type":"int","logicalType":"date"}},
            {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
            {"name":"u","type":{"type":"string","logicalType":"uuid"}},
            {"name":"dec","type":{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}},
            {"name":"f","type":{"type":"fixed","name":"F","size":2}},
            {"name":"x","type":"float"},
            {"name":"opt","type":["null",{"type":"long","logicalType":"timestamp-millis"}]}]}"#,
        )
        .unwrap();
        let names = Names::of(&s);
        let input = json!({"d": 19000, "ts": 1700000000000i64,
            "u": "6f1c1b0e-9b4a-4c8e-8f7e-0a1b2c3d4e5f", "dec": "\u{0004}\u{00d2}", "f": "ab",
            "x": 1.5, "opt": 5});
        let value = from_json(&input, &s, &names).unwrap();
        assert!(value.validate(&s), "{value:?}");
        let out = to_json(&value, &s, &names);
        let mut expected = input.clone();
        expected["opt"] = json!({"long": 5});
        assert_eq!(out, expected);
        let bad_uuid =
            json!({"d": 1, "ts": 1, "u": "nope", "dec": "", "f": "ab", "x": 1, "opt": null});
        let e = from_json(&bad_uuid, &s, &names).unwrap_err();
        assert_eq!(e.path, "$.u", "{e}");
        let short = json!({"d": 1, "ts": 1, "u": "6f1c1b0e-9b4a-4c8e-8f7e-0a1b2c3d4e5f", "dec": "", "f": "a", "x": 1, "opt": null});
        assert!(from_json(&short, &s, &names)
            .unwrap_err()
            .message
            .contains("2 bytes"));
    }
}
