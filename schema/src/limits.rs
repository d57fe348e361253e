//! Format-independent limits checked on a schema's text before any recursive parser sees it.
//!
//! The parsers behind strata-schema recurse (protox over nested messages, serde_json and the
//! Avro and JSON Schema models over nested values), so a schema nested a few thousand levels
//! deep could exhaust a thread's stack, which aborts the process rather than failing one
//! request. [`check_nesting`] measures the nesting with a flat scan (no recursion, no
//! allocation, linear in the text) and refuses anything deeper than the limit, so a
//! recursive parser only ever sees a bounded depth.
//!
//! The scan counts brackets outside string literals (and, for Protobuf, outside comments). It
//! does not validate anything else: an unbalanced text passes and is then refused by the parser
//! with a precise message.

use std::cell::Cell;

use crate::{Dependency, Error, Result, SchemaType};

/// The nesting depth [`crate::ParsedSchema::parse`] always enforces, whatever a caller
/// configures: deep enough for any real schema (serde_json itself stops JSON at 128 levels),
/// shallow enough that every parser stays far within a 2 MiB stack.
pub const DEFAULT_MAX_NESTING_DEPTH: usize = 128;

/// The default of [`max_compared_pairs`].
pub const DEFAULT_MAX_COMPARED_PAIRS: usize = 250_000;

thread_local! {
    static MAX_COMPARED_PAIRS: Cell<usize> = const { Cell::new(DEFAULT_MAX_COMPARED_PAIRS) };
}

/// `max_compared_pairs`: how many pairs of subschemas one JSON Schema compatibility check may
/// compare (`anyOf` against `anyOf` compares every branch with every branch, at every level, so
/// nested combined schemas multiply). Past it the check stops and reports
/// [`LIMIT_EXCEEDED`] instead of working for minutes. [`DEFAULT_MAX_COMPARED_PAIRS`] unless
/// the calling thread is inside [`with_max_compared_pairs`].
pub fn max_compared_pairs() -> usize {
    MAX_COMPARED_PAIRS.with(Cell::get)
}

/// Run `f` with [`max_compared_pairs`] set to `pairs` on this thread.
pub fn with_max_compared_pairs<T>(pairs: usize, f: impl FnOnce() -> T) -> T {
    let previous = MAX_COMPARED_PAIRS.with(|c| c.replace(pairs.max(1)));
    let out = f();
    MAX_COMPARED_PAIRS.with(|c| c.set(previous));
    out
}

/// The `kind` of the [`crate::Incompatibility`] a check reports when it hit a complexity
/// limit rather than finding the schemas incompatible; callers should refuse the request
/// (the registry answers 42201) rather than report an incompatibility.
pub const LIMIT_EXCEEDED: &str = "COMPLEXITY_LIMIT_EXCEEDED";

/// The deepest bracket nesting of `text` read as `schema_type`, counted without recursion.
///
/// JSON (Avro and JSON Schema): `{` and `[` outside strings. Protobuf: `{`, `[`, `(` and `<`
/// outside string literals and comments (messages, enums, option aggregates and map types
/// all nest with these).
pub fn nesting_depth(schema_type: SchemaType, text: &str) -> usize {
    shape(schema_type, text).depth
}

/// The default of [`TextLimits::max_schema_nodes`].
pub const DEFAULT_MAX_SCHEMA_NODES: usize = 1_000_000;

/// Limits checked on a schema's text before any parser sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimits {
    /// `max_nesting_depth`: brackets (JSON) or blocks (Protobuf) nested deeper are refused.
    pub max_nesting_depth: usize,
    /// `max_schema_nodes`: objects and arrays (JSON) or blocks and statements (Protobuf) in
    /// one schema text; more are refused. Bounds what a parser allocates per schema.
    pub max_schema_nodes: usize,
}

impl Default for TextLimits {
    fn default() -> Self {
        TextLimits {
            max_nesting_depth: DEFAULT_MAX_NESTING_DEPTH,
            max_schema_nodes: DEFAULT_MAX_SCHEMA_NODES,
        }
    }
}

/// What a flat scan of a schema text measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    depth: usize,
    nodes: usize,
}

fn shape(schema_type: SchemaType, text: &str) -> Shape {
    match schema_type {
        SchemaType::Avro | SchemaType::Json => json_shape(text.as_bytes()),
        SchemaType::Protobuf => proto_shape(text.as_bytes()),
    }
}

/// Refuse `text` (and every dependency's text, at any depth of references) when it nests
/// deeper than `max_depth`. The error names the limit.
pub fn check_nesting(
    schema_type: SchemaType,
    text: &str,
    dependencies: &[Dependency],
    max_depth: usize,
) -> Result<()> {
    check_text(
        schema_type,
        text,
        dependencies,
        TextLimits {
            max_nesting_depth: max_depth,
            max_schema_nodes: usize::MAX,
        },
    )
}

/// Refuse `text` (and every dependency's text, at any depth of references) when it breaks one
/// of `limits`. The error names the limit.
pub fn check_text(
    schema_type: SchemaType,
    text: &str,
    dependencies: &[Dependency],
    limits: TextLimits,
) -> Result<()> {
    let refuse = |what: &str, shape: Shape| -> Option<String> {
        if shape.depth > limits.max_nesting_depth {
            Some(format!(
                "{what} nesting depth exceeds the limit: deeper than {} levels \
                 (max_nesting_depth); flatten the schema or raise the limit",
                limits.max_nesting_depth
            ))
        } else if shape.nodes > limits.max_schema_nodes {
            Some(format!(
                "{what} has more than {} nodes (max_schema_nodes); split the schema or raise \
                 the limit",
                limits.max_schema_nodes
            ))
        } else {
            None
        }
    };
    if let Some(reason) = refuse("Schema", shape(schema_type, text)) {
        return Err(Error::invalid(schema_type, reason));
    }
    // References nest at most a few levels; an explicit stack keeps even that flat.
    let mut pending: Vec<&Dependency> = dependencies.iter().collect();
    while let Some(dep) = pending.pop() {
        let what = format!("Referenced schema '{}'", dep.name);
        if let Some(reason) = refuse(&what, shape(dep.schema_type, &dep.schema)) {
            return Err(Error::invalid(schema_type, reason));
        }
        pending.extend(dep.dependencies.iter());
    }
    Ok(())
}

fn json_shape(bytes: &[u8]) -> Shape {
    let (mut depth, mut max, mut nodes) = (0usize, 0usize, 0usize);
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                nodes += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Shape { depth: max, nodes }
}

fn proto_shape(bytes: &[u8]) -> Shape {
    let (mut depth, mut max, mut nodes) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 1;
            }
            b'{' | b'[' | b'(' | b'<' => {
                depth += 1;
                nodes += 1;
                max = max.max(depth);
            }
            b';' => nodes += 1,
            b'}' | b']' | b')' | b'>' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Shape { depth: max, nodes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_proto(levels: usize) -> String {
        let mut s = String::from("syntax = \"proto3\";\n");
        for i in 0..levels {
            s.push_str(&format!("message M{i} {{\n"));
        }
        s.push_str(&"}\n".repeat(levels));
        s
    }

    #[test]
    fn json_depth_counts_objects_and_arrays_outside_strings() {
        assert_eq!(nesting_depth(SchemaType::Avro, r#""string""#), 0);
        assert_eq!(nesting_depth(SchemaType::Json, r#"{"a":[{"b":1}]}"#), 3);
        assert_eq!(
            nesting_depth(SchemaType::Json, r#"{"doc":"{{{[[[ \" {{{"}"#),
            1,
            "brackets inside strings, escaped quotes included, are not nesting"
        );
    }

    #[test]
    fn proto_depth_skips_strings_and_comments() {
        assert_eq!(nesting_depth(SchemaType::Protobuf, &nested_proto(3)), 3);
        let text = "// {{{{\n/* {{{{ */ message A { string s = 1 [default = \"{{{{\"]; }";
        assert_eq!(nesting_depth(SchemaType::Protobuf, text), 2);
        assert_eq!(
            nesting_depth(
                SchemaType::Protobuf,
                "message A { map<string, int32> m = 1; }"
            ),
            2
        );
    }

    #[test]
    fn unbalanced_text_is_measured_without_panicking() {
        assert_eq!(nesting_depth(SchemaType::Json, "]]]}}}{"), 1);
        assert_eq!(
            nesting_depth(SchemaType::Protobuf, "}}} /* unterminated"),
            0
        );
        assert_eq!(nesting_depth(SchemaType::Protobuf, "\"unterminated \\"), 0);
    }

    #[test]
    fn check_nesting_names_the_limit_and_checks_dependencies() {
        let deep = nested_proto(10);
        let err = check_nesting(SchemaType::Protobuf, &deep, &[], 5).unwrap_err();
        assert!(err.to_string().contains("max_nesting_depth"), "{err}");
        assert!(check_nesting(SchemaType::Protobuf, &deep, &[], 10).is_ok());
        let dep = Dependency {
            name: "deep.proto".into(),
            subject: "deep".into(),
            version: 1,
            schema_type: SchemaType::Protobuf,
            schema: deep,
            dependencies: Vec::new(),
        };
        let err = check_nesting(SchemaType::Protobuf, "message A {}", &[dep], 5).unwrap_err();
        assert!(err.to_string().contains("deep.proto"), "{err}");
    }

    fn nested_any_of(depth: usize, tag: &mut usize) -> serde_json::Value {
        if depth == 0 {
            *tag += 1;
            return serde_json::json!({"type": "object", "properties": {format!("p{tag}"): {"type": "string"}}});
        }
        let branches: Vec<_> = (0..3).map(|_| nested_any_of(depth - 1, tag)).collect();
        serde_json::json!({ "anyOf": branches })
    }

    fn json(value: &serde_json::Value) -> crate::ParsedSchema {
        crate::ParsedSchema::parse(
            SchemaType::Json,
            &value.to_string(),
            &[],
            crate::ParseOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_json_comparison_past_max_compared_pairs_stops_and_says_so() {
        let (mut ta, mut tb) = (0, 1000);
        let a = json(&nested_any_of(5, &mut ta));
        let b = json(&nested_any_of(5, &mut tb));
        let policy = crate::CompatibilityPolicy::default();
        let found = with_max_compared_pairs(1_000, || b.backward_differences(&a, policy));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, LIMIT_EXCEEDED);
        assert!(found[0].message.contains("max_compared_pairs"));
        // The default admits it, and the limit is restored after the call.
        assert_eq!(max_compared_pairs(), DEFAULT_MAX_COMPARED_PAIRS);
        let found = b.backward_differences(&a, policy);
        assert!(found.iter().all(|d| d.kind != LIMIT_EXCEEDED), "{found:?}");
    }

    #[test]
    fn repeated_subschemas_are_compared_once_per_distinct_pair() {
        // 3^6 branches, all the same object: without the memo every pair of paths is
        // compared; with it, each distinct pair of texts once.
        let leaf = serde_json::json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let mut value = leaf.clone();
        for level in 0..6 {
            // Branches differ by a title so they are not collapsed as duplicates.
            let branches: Vec<_> = (0..3)
                .map(|i| serde_json::json!({"title": format!("l{level}b{i}"), "anyOf": [value.clone(), leaf.clone()]}))
                .collect();
            value = serde_json::json!({ "anyOf": branches });
        }
        let a = json(&value);
        let found =
            with_max_compared_pairs(20_000, || a.backward_differences(&a, Default::default()));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn wide_json_schemas_parse_and_compare_pairs_linear_in_their_properties() {
        // Quadratic duplicate checks made 40k properties take 28 s and 40k enum values 21 s
        // (debug build); with sets these sizes take well under a second each. The time is
        // measured by `cargo bench --bench hostile_sizes` (group parse_wide); here the
        // comparison's work is counted instead: one pair per property and two more (the root
        // and `required`), so a budget of twice the properties holds where comparing every
        // property with every other would not.
        let n = 60_000;
        let properties: serde_json::Map<String, serde_json::Value> = (0..n)
            .map(|i| (format!("p{i}"), serde_json::json!({"type": "string"})))
            .collect();
        let required: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
        let wide = json(
            &serde_json::json!({"type": "object", "properties": properties, "required": required}),
        );
        let found = with_max_compared_pairs(2 * n, || {
            wide.backward_differences(&wide, Default::default())
        });
        assert!(found.is_empty(), "{found:?}");
        let values: Vec<String> = (0..100_000).map(|i| format!("v{i}")).collect();
        let mut fewer = values.clone();
        fewer.pop();
        let e1 = json(&serde_json::json!({ "enum": values }));
        let e2 = json(&serde_json::json!({ "enum": fewer }));
        let found = e2.backward_differences(&e1, Default::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_ne!(found[0].kind, LIMIT_EXCEEDED, "{found:?}");
    }

    #[test]
    fn a_large_json_schema_nested_deep_parses_and_compares_one_pair_per_level() {
        // Each subschema used to keep a copy of its own text: size times depth (an 8 MB
        // schema nested 60 deep took about 23 s in a debug build); now about 2 s. That time is
        // measured by `cargo bench --bench hostile_sizes` (group parse_deep: the same text
        // nested 1 and 60 deep), not by a clock here, which flaked on a loaded machine. The
        // comparison's work is counted: one pair per level and the root's.
        let mut value = serde_json::json!({"type": "string", "description": "x".repeat(8_000_000)});
        for _ in 0..60 {
            value = serde_json::json!({"type": "object", "properties": {"a": value}});
        }
        let parsed = json(&value);
        let found = with_max_compared_pairs(62, || {
            parsed.backward_differences(&parsed, Default::default())
        });
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn check_text_counts_nodes_and_names_max_schema_nodes() {
        let text = format!("[{}]", vec!["{}"; 1000].join(","));
        let limits = TextLimits {
            max_nesting_depth: 10,
            max_schema_nodes: 1000,
        };
        let err = check_text(SchemaType::Json, &text, &[], limits).unwrap_err();
        assert!(err.to_string().contains("max_schema_nodes"), "{err}");
        let text = format!("[{}]", vec!["{}"; 999].join(","));
        assert!(check_text(SchemaType::Json, &text, &[], limits).is_ok());
        let proto = "message A { string a = 1; string b = 2; }";
        let two = TextLimits {
            max_nesting_depth: 10,
            max_schema_nodes: 2,
        };
        assert!(check_text(SchemaType::Protobuf, proto, &[], two).is_err());
    }

    #[test]
    fn a_schema_nested_thousands_deep_is_refused_by_parse_before_protox_sees_it() {
        // 800 levels overflowed a 2 MiB stack inside protox; the pre-check refuses it first.
        let err = crate::ParsedSchema::parse(
            SchemaType::Protobuf,
            &nested_proto(5000),
            &[],
            crate::ParseOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("max_nesting_depth"), "{err}");
    }
}
