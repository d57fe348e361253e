//! The fast path of [`avro_json`](super::avro_json): JSON text straight to Avro binary, and Avro
//! binary straight to JSON text, along a plan compiled once per schema. No `serde_json::Value`,
//! no apache-avro `Value`, no allocation per record beyond the output buffer.
//!
//! It is an accelerator, never an authority: it handles the common shapes (records in schema
//! order, missing fields with defaults, primitives, enums, arrays, maps on the way in, unions
//! whose branch the JSON token alone decides) and gives up ([`GiveUp`]) on anything else:
//! unusual JSON (escaped surrogates, numbers that are not plain integers where an integer is
//! due, fields out of schema order, duplicate keys), every logical type, maps on the way out,
//! invalid input of any kind. The caller then runs the `avro_json` + apache-avro path, which
//! decides and words the error. So the set of values accepted, the bytes written and the JSON
//! printed are that path's; the tests in `cli/tests/cli/serde_cmds.rs` and below compare both
//! on edge cases.

use std::collections::HashMap;

use apache_avro::Schema;
use serde_json::Value as Json;

use strata_serde::avro::write_long;

use super::avro_json::{branch_name, Names};

/// The fast path does not handle this input; use the general path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUp;

type R<T> = Result<T, GiveUp>;

/// Nesting deeper than this gives up (serde_json refuses JSON nested deeper than 128).
const MAX_DEPTH: usize = 120;

/// A JSON map with more keys than this gives up (the duplicate-key scan here is quadratic).
const MAX_DIRECT_MAP_KEYS: usize = 64;

type NodeId = u32;

/// The JSON token kinds a node accepts as a plain (unwrapped) union value.
const K_BOOL: u8 = 1;
const K_NUMBER: u8 = 2;
const K_STRING: u8 = 4;
const K_ARRAY: u8 = 8;
const K_OBJECT: u8 = 16;

#[derive(Debug)]
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    String,
    Bytes,
    Fixed(usize),
    /// Symbols, and each as a JSON string.
    Enum(Box<[Box<str>]>, Box<[Box<[u8]>]>),
    Array(NodeId),
    Map(NodeId),
    Record(Box<[Field]>),
    Union(Box<[Branch]>),
    /// A logical type, a named type that does not resolve, or a union holding such a branch.
    Unsupported,
}

#[derive(Debug)]
struct Field {
    name: Box<str>,
    node: NodeId,
    /// `"name":` as JSON.
    json_key: Box<[u8]>,
    /// The encoded default, when the field has one the fast path can encode.
    default: Option<Box<[u8]>>,
}

#[derive(Debug)]
struct Branch {
    name: Box<str>,
    node: NodeId,
    null: bool,
    /// Token kinds (K_*) this branch takes as a plain value.
    accepts: u8,
    /// `{"name":` as JSON.
    json_open: Box<[u8]>,
}

/// A schema compiled for the fast path.
#[derive(Debug)]
pub struct DirectPlan {
    nodes: Vec<Node>,
    root: NodeId,
}

/// The token kinds a (resolved) schema takes as a plain union value; `None`: not handled.
fn accepts(schema: &Schema) -> Option<u8> {
    Some(match schema {
        Schema::Null => 0,
        Schema::Boolean => K_BOOL,
        Schema::Int | Schema::Long => K_NUMBER,
        // "NaN", "Infinity" and "-Infinity" are strings.
        Schema::Float | Schema::Double => K_NUMBER | K_STRING,
        Schema::String | Schema::Bytes | Schema::Fixed(_) | Schema::Enum(_) => K_STRING,
        Schema::Array(_) => K_ARRAY,
        Schema::Map(_) | Schema::Record(_) => K_OBJECT,
        _ => return None,
    })
}

fn json_string(s: &str) -> Vec<u8> {
    // Writing to a Vec cannot fail.
    serde_json::to_vec(s).unwrap_or_default()
}

struct Compiler<'n, 's> {
    names: &'n Names<'s>,
    nodes: Vec<Node>,
    /// Records already compiled (or being compiled), by address: recursive types.
    records: HashMap<*const Schema, NodeId>,
    defaults: Vec<(NodeId, usize, Json)>,
}

impl Compiler<'_, '_> {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    fn node(&mut self, schema: &Schema) -> NodeId {
        let names = self.names;
        let schema = names.resolve(schema);
        let node = match schema {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int => Node::Int,
            Schema::Long => Node::Long,
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::String => Node::String,
            Schema::Bytes => Node::Bytes,
            Schema::Fixed(f) => Node::Fixed(f.size),
            Schema::Enum(e) => Node::Enum(
                e.symbols.iter().map(|s| s.as_str().into()).collect(),
                e.symbols
                    .iter()
                    .map(|s| json_string(s).into_boxed_slice())
                    .collect(),
            ),
            Schema::Array(a) => {
                let item = self.node(&a.items);
                Node::Array(item)
            }
            Schema::Map(m) => {
                let value = self.node(&m.types);
                Node::Map(value)
            }
            Schema::Union(u) => {
                let mut branches = Vec::with_capacity(u.variants().len());
                for v in u.variants() {
                    let resolved = names.resolve(v);
                    let Some(accepts) = accepts(resolved) else {
                        return self.push(Node::Unsupported);
                    };
                    let name = branch_name(v, names);
                    let mut json_open = b"{".to_vec();
                    json_open.extend_from_slice(&json_string(&name));
                    json_open.push(b':');
                    branches.push(Branch {
                        node: self.node(v),
                        null: matches!(resolved, Schema::Null),
                        accepts,
                        json_open: json_open.into_boxed_slice(),
                        name: name.into(),
                    });
                }
                Node::Union(branches.into_boxed_slice())
            }
            Schema::Record(r) => {
                let key = schema as *const Schema;
                if let Some(&id) = self.records.get(&key) {
                    return id;
                }
                let id = self.push(Node::Unsupported);
                self.records.insert(key, id);
                let mut fields = Vec::with_capacity(r.fields.len());
                for (i, f) in r.fields.iter().enumerate() {
                    let mut json_key = json_string(&f.name);
                    json_key.push(b':');
                    if let Some(d) = &f.default {
                        self.defaults.push((id, i, d.clone()));
                    }
                    fields.push(Field {
                        name: f.name.as_str().into(),
                        node: self.node(&f.schema),
                        json_key: json_key.into_boxed_slice(),
                        default: None,
                    });
                }
                self.nodes[id as usize] = Node::Record(fields.into_boxed_slice());
                return id;
            }
            _ => Node::Unsupported,
        };
        self.push(node)
    }
}

impl DirectPlan {
    /// Compile `schema`; every position the fast path does not model gives up when met.
    pub fn new(schema: &Schema) -> DirectPlan {
        let names = Names::of(schema);
        let mut c = Compiler {
            names: &names,
            nodes: Vec::new(),
            records: HashMap::new(),
            defaults: Vec::new(),
        };
        let root = c.node(schema);
        let defaults = std::mem::take(&mut c.defaults);
        let mut plan = DirectPlan {
            nodes: c.nodes,
            root,
        };
        // A missing field takes its default; a union's default belongs to its first branch
        // (as `avro_json::default_value` reads it).
        for (record, field, default) in defaults {
            let Node::Record(fields) = &plan.nodes[record as usize] else {
                continue;
            };
            let node = fields[field].node;
            let text = default.to_string();
            let mut out = Vec::new();
            let encoded = match &plan.nodes[node as usize] {
                Node::Union(branches) => match branches.first() {
                    Some(first) => {
                        write_long(&mut out, 0);
                        plan.encode_json_with(first.node, text.as_bytes(), &mut out)
                    }
                    None => Err(GiveUp),
                },
                _ => plan.encode_json_with(node, text.as_bytes(), &mut out),
            };
            if encoded.is_ok() {
                if let Node::Record(fields) = &mut plan.nodes[record as usize] {
                    fields[field].default = Some(out.into_boxed_slice());
                }
            }
        }
        plan
    }

    /// Append the Avro encoding of the one JSON value in `json` (whitespace around it allowed);
    /// on [`GiveUp`], `out` is as it was.
    pub fn encode_json(&self, json: &[u8], out: &mut Vec<u8>) -> R<()> {
        let start = out.len();
        let result = self.encode_json_with(self.root, json, out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_json_with(&self, node: NodeId, json: &[u8], out: &mut Vec<u8>) -> R<()> {
        thread_local! {
            /// Unescaped strings, kept from value to value.
            static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut e = Enc {
            plan: self,
            c: Cursor { s: json, i: 0 },
            scratch: SCRATCH.take(),
        };
        let result = e.value(node, out, 0).and_then(|()| {
            e.c.ws();
            if e.c.i == e.c.s.len() {
                Ok(())
            } else {
                Err(GiveUp)
            }
        });
        SCRATCH.set(e.scratch);
        result
    }

    /// Append `payload` (one Avro datum that fills it exactly) as JSON text, as
    /// `serde_json::to_writer(avro_json::to_json(..))` prints it; on [`GiveUp`], `out` is as
    /// it was.
    pub fn decode_to_json(&self, payload: &[u8], out: &mut Vec<u8>) -> R<()> {
        let start = out.len();
        let mut input = payload;
        let mut result = self.decode(self.root, &mut input, out, 0);
        if result.is_ok() && !input.is_empty() {
            result = Err(GiveUp);
        }
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn decode(&self, node: NodeId, input: &mut &[u8], out: &mut Vec<u8>, depth: usize) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        match &self.nodes[node as usize] {
            Node::Null => out.extend_from_slice(b"null"),
            Node::Boolean => match take(input, 1)? {
                [0] => out.extend_from_slice(b"false"),
                [1] => out.extend_from_slice(b"true"),
                _ => return Err(GiveUp),
            },
            Node::Int => {
                let v = read_long(input)?;
                let v = i32::try_from(v).map_err(|_| GiveUp)?;
                write_int(out, i64::from(v));
            }
            Node::Long => write_int(out, read_long(input)?),
            Node::Float => {
                let b = take(input, 4)?;
                let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                write_float(out, f64::from(f));
            }
            Node::Double => {
                let b = take(input, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                write_float(out, f64::from_le_bytes(a));
            }
            Node::String => {
                let len = read_len(input)?;
                let s = std::str::from_utf8(take(input, len)?).map_err(|_| GiveUp)?;
                write_str(out, s);
            }
            Node::Bytes => {
                let len = read_len(input)?;
                write_latin1(out, take(input, len)?);
            }
            Node::Fixed(size) => write_latin1(out, take(input, *size)?),
            Node::Enum(_, json) => {
                let i = usize::try_from(read_long(input)?).map_err(|_| GiveUp)?;
                out.extend_from_slice(json.get(i).ok_or(GiveUp)?);
            }
            Node::Array(item) => {
                out.push(b'[');
                let mut first = true;
                loop {
                    let mut count = read_long(input)?;
                    if count == 0 {
                        break;
                    }
                    if count < 0 {
                        count = count.checked_neg().ok_or(GiveUp)?;
                        read_long(input)?;
                    }
                    // Zero-width items could claim any count: the general path bounds them.
                    if count as u64 > input.len() as u64 {
                        return Err(GiveUp);
                    }
                    for _ in 0..count {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        self.decode(*item, input, out, depth + 1)?;
                    }
                }
                out.push(b']');
            }
            Node::Record(fields) => {
                out.push(b'{');
                for (i, f) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&f.json_key);
                    self.decode(f.node, input, out, depth + 1)?;
                }
                out.push(b'}');
            }
            Node::Union(branches) => {
                let i = usize::try_from(read_long(input)?).map_err(|_| GiveUp)?;
                let b = branches.get(i).ok_or(GiveUp)?;
                if b.null {
                    out.extend_from_slice(b"null");
                } else {
                    out.extend_from_slice(&b.json_open);
                    self.decode(b.node, input, out, depth + 1)?;
                    out.push(b'}');
                }
            }
            Node::Map(value) => {
                // Printed sorted by key (as `avro_json::to_json`): values go to a buffer first.
                let mut entries: Vec<(&str, usize, usize)> = Vec::new();
                let mut values = Vec::new();
                loop {
                    let mut count = read_long(input)?;
                    if count == 0 {
                        break;
                    }
                    if count < 0 {
                        count = count.checked_neg().ok_or(GiveUp)?;
                        read_long(input)?;
                    }
                    if count as u64 > input.len() as u64 {
                        return Err(GiveUp);
                    }
                    for _ in 0..count {
                        let len = read_len(input)?;
                        let key = std::str::from_utf8(take(input, len)?).map_err(|_| GiveUp)?;
                        let start = values.len();
                        self.decode(*value, input, &mut values, depth + 1)?;
                        entries.push((key, start, values.len()));
                    }
                }
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                // A repeated key keeps one value in apache-avro's map: the general path's.
                if entries.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(GiveUp);
                }
                out.push(b'{');
                for (i, (key, start, end)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, key);
                    out.push(b':');
                    out.extend_from_slice(&values[*start..*end]);
                }
                out.push(b'}');
            }
            Node::Unsupported => return Err(GiveUp),
        }
        Ok(())
    }
}

#[inline]
fn take<'a>(input: &mut &'a [u8], n: usize) -> R<&'a [u8]> {
    if input.len() < n {
        return Err(GiveUp);
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

#[inline]
fn read_long(input: &mut &[u8]) -> R<i64> {
    let mut v: u64 = 0;
    let mut shift = 0;
    loop {
        let (&b, rest) = input.split_first().ok_or(GiveUp)?;
        *input = rest;
        if shift == 63 && b > 1 {
            return Err(GiveUp);
        }
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return Err(GiveUp);
        }
    }
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

#[inline]
fn read_len(input: &mut &[u8]) -> R<usize> {
    let len = usize::try_from(read_long(input)?).map_err(|_| GiveUp)?;
    if len > input.len() {
        return Err(GiveUp);
    }
    Ok(len)
}

/// Append an integer in decimal.
#[inline]
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[i..]);
}

/// A float as `avro_json::float_json` shows it: a JSON number, or "NaN"/"Infinity"/"-Infinity".
fn write_float(out: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 {
            b"\"Infinity\""
        } else {
            b"\"-Infinity\""
        });
    } else {
        // serde_json prints finite numbers with ryu, as it prints a `Number` holding one.
        let _ = serde_json::to_writer(&mut *out, &f);
    }
}

/// A string as serde_json escapes it.
#[inline]
fn write_str(out: &mut Vec<u8>, s: &str) {
    let plain = s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Bytes as a string of U+0000..U+00FF, one character per byte.
fn write_latin1(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_ascii() {
        // Valid UTF-8 as it is.
        if let Ok(s) = std::str::from_utf8(bytes) {
            write_str(out, s);
            return;
        }
    }
    let s: String = bytes.iter().map(|&b| char::from(b)).collect();
    write_str(out, &s);
}

/// A position in JSON text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    /// The next non-blank byte, not consumed.
    #[inline]
    fn peek(&mut self) -> R<u8> {
        self.ws();
        self.s.get(self.i).copied().ok_or(GiveUp)
    }

    #[inline]
    fn eat(&mut self, b: u8) -> R<()> {
        if self.peek()? == b {
            self.i += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// After an element of an array or object closed by `close`: consumes a `,` (true: more
    /// follow) or `close` (false: the end).
    #[inline]
    fn more(&mut self, close: u8) -> R<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Ok(true)
            }
            b if b == close => {
                self.i += 1;
                Ok(false)
            }
            _ => Err(GiveUp),
        }
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> R<()> {
        self.ws();
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// A JSON string (the cursor at its opening quote, after blanks), unescaped: borrowed from
    /// the input when it has no escapes, else written to `scratch`.
    #[inline]
    fn string<'b>(&mut self, scratch: &'b mut Vec<u8>) -> R<&'b [u8]>
    where
        'a: 'b,
    {
        self.eat(b'"')?;
        let start = self.i;
        let s = self.s;
        let mut i = start;
        while i < s.len() {
            match s[i] {
                b'"' => {
                    self.i = i + 1;
                    return Ok(&s[start..i]);
                }
                b'\\' => break,
                b if b < 0x20 => return Err(GiveUp),
                _ => i += 1,
            }
        }
        // Escapes: unescape into the scratch buffer.
        scratch.clear();
        scratch.extend_from_slice(&s[start..i]);
        while i < s.len() {
            match s[i] {
                b'"' => {
                    self.i = i + 1;
                    return Ok(&scratch[..]);
                }
                b'\\' => {
                    let e = *s.get(i + 1).ok_or(GiveUp)?;
                    i += 2;
                    let c = match e {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let hex = s.get(i..i + 4).ok_or(GiveUp)?;
                            i += 4;
                            let code = hex4(hex)?;
                            // Surrogates (pairs included) are the general path's.
                            let ch = char::from_u32(code).ok_or(GiveUp)?;
                            let mut buf = [0u8; 4];
                            scratch.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            continue;
                        }
                        _ => return Err(GiveUp),
                    };
                    scratch.push(c);
                }
                b if b < 0x20 => return Err(GiveUp),
                b => {
                    scratch.push(b);
                    i += 1;
                }
            }
        }
        Err(GiveUp)
    }

    /// A JSON number token: `(text, is_integer)`.
    #[inline]
    fn number(&mut self) -> R<(&'a [u8], bool)> {
        self.ws();
        let s = self.s;
        let start = self.i;
        let mut i = start;
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = s.get(i) {
                    i += 1;
                }
            }
            _ => return Err(GiveUp),
        }
        let mut integer = true;
        if s.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            let digits = i;
            while let Some(b'0'..=b'9') = s.get(i) {
                i += 1;
            }
            if i == digits {
                return Err(GiveUp);
            }
        }
        if let Some(b'e' | b'E') = s.get(i) {
            integer = false;
            i += 1;
            if let Some(b'+' | b'-') = s.get(i) {
                i += 1;
            }
            let digits = i;
            while let Some(b'0'..=b'9') = s.get(i) {
                i += 1;
            }
            if i == digits {
                return Err(GiveUp);
            }
        }
        self.i = i;
        Ok((&s[start..i], integer))
    }

    /// A plain integer that serde_json reads as an `i64` (`-0` is a float to it).
    #[inline]
    fn integer(&mut self) -> R<i64> {
        let (text, integer) = self.number()?;
        if !integer || text == b"-0" {
            return Err(GiveUp);
        }
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let mut v: u64 = 0;
        for &d in digits {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or(GiveUp)?;
        }
        if negative {
            if v > 1 << 63 {
                return Err(GiveUp);
            }
            Ok((v as i64).wrapping_neg())
        } else {
            i64::try_from(v).map_err(|_| GiveUp)
        }
    }
}

/// Powers of ten a double holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A JSON number token (already checked by [`Cursor::number`]) with at most 18 digits and a
/// decimal exponent within ±22, read with the operations serde_json (without its
/// `float_roundtrip` feature) applies to such a token: the digits as one integer, converted,
/// then multiplied or divided by an exact power of ten. So the bits are serde_json's; any other
/// token is left to serde_json itself.
#[inline]
fn short_float(text: &[u8]) -> Option<f64> {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut significand: u64 = 0;
    let mut digits = 0;
    let mut exponent: i32 = 0;
    let mut i = 0;
    let mut fraction = false;
    while i < body.len() {
        match body[i] {
            d @ b'0'..=b'9' => {
                significand = significand * 10 + u64::from(d - b'0');
                digits += 1;
                if digits > 18 {
                    return None;
                }
                if fraction {
                    exponent -= 1;
                }
            }
            b'.' => fraction = true,
            b'e' | b'E' => {
                let rest = &body[i + 1..];
                let (sign, rest) = match rest.split_first() {
                    Some((b'-', r)) => (-1, r),
                    Some((b'+', r)) => (1, r),
                    _ => (1, rest),
                };
                if rest.len() > 3 {
                    return None;
                }
                let mut e: i32 = 0;
                for &d in rest {
                    e = e * 10 + i32::from(d - b'0');
                }
                exponent += sign * e;
                break;
            }
            _ => return None,
        }
        i += 1;
    }
    let pow = *POW10.get(exponent.unsigned_abs() as usize)?;
    let mut f = significand as f64;
    if exponent >= 0 {
        f *= pow;
    } else {
        f /= pow;
    }
    Some(if negative { -f } else { f })
}

fn hex4(hex: &[u8]) -> R<u32> {
    let mut v = 0u32;
    for &h in hex {
        let d = match h {
            b'0'..=b'9' => h - b'0',
            b'a'..=b'f' => h - b'a' + 10,
            b'A'..=b'F' => h - b'A' + 10,
            _ => return Err(GiveUp),
        };
        v = v * 16 + u32::from(d);
    }
    Ok(v)
}

/// The encoder: one JSON text along the plan.
struct Enc<'p, 'a> {
    plan: &'p DirectPlan,
    c: Cursor<'a>,
    scratch: Vec<u8>,
}

impl Enc<'_, '_> {
    fn float(&mut self) -> R<f64> {
        if self.c.peek()? == b'"' {
            // Avro's JSON encoding has no literal for these (as `avro_json::float`).
            return match self.c.string(&mut self.scratch)? {
                b"NaN" => Ok(f64::NAN),
                b"Infinity" => Ok(f64::INFINITY),
                b"-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(GiveUp),
            };
        }
        let (text, _) = self.c.number()?;
        if let Some(f) = short_float(text) {
            return Ok(f);
        }
        // serde_json's own number reading, so the value is bit for bit the general path's.
        let text = std::str::from_utf8(text).map_err(|_| GiveUp)?;
        serde_json::from_str::<f64>(text).map_err(|_| GiveUp)
    }

    fn value(&mut self, node: NodeId, out: &mut Vec<u8>, depth: usize) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        let plan = self.plan;
        match &plan.nodes[node as usize] {
            Node::Null => self.c.literal(b"null")?,
            Node::Boolean => match self.c.peek()? {
                b't' => {
                    self.c.literal(b"true")?;
                    out.push(1);
                }
                _ => {
                    self.c.literal(b"false")?;
                    out.push(0);
                }
            },
            Node::Int => {
                let v = i32::try_from(self.c.integer()?).map_err(|_| GiveUp)?;
                write_long(out, i64::from(v));
            }
            Node::Long => write_long(out, self.c.integer()?),
            Node::Float => {
                let f = self.float()? as f32;
                out.extend_from_slice(&f.to_le_bytes());
            }
            Node::Double => {
                let f = self.float()?;
                out.extend_from_slice(&f.to_le_bytes());
            }
            Node::String => {
                let s = self.c.string(&mut self.scratch)?;
                write_long(out, s.len() as i64);
                out.extend_from_slice(s);
            }
            Node::Bytes => {
                let s = self.c.string(&mut self.scratch)?;
                // The length (in characters, one byte each) goes before the bytes.
                let at = out.len();
                let n = latin1(s, out)?;
                insert_count(out, at, n as i64);
                if n == 0 {
                    out.push(0);
                }
            }
            Node::Fixed(size) => {
                let s = self.c.string(&mut self.scratch)?;
                if latin1(s, out)? != *size {
                    return Err(GiveUp);
                }
            }
            Node::Enum(symbols, _) => {
                let s = self.c.string(&mut self.scratch)?;
                let i = symbols
                    .iter()
                    .position(|sym| sym.as_bytes() == s)
                    .ok_or(GiveUp)?;
                write_long(out, i as i64);
            }
            Node::Array(item) => {
                self.c.eat(b'[')?;
                let start = out.len();
                let mut count = 0i64;
                if self.c.peek()? == b']' {
                    self.c.i += 1;
                } else {
                    loop {
                        self.value(*item, out, depth + 1)?;
                        count += 1;
                        if !self.c.more(b']')? {
                            break;
                        }
                    }
                }
                insert_count(out, start, count);
                out.push(0);
            }
            Node::Map(value) => {
                self.c.eat(b'{')?;
                let start = out.len();
                let mut count = 0i64;
                // Key positions in `out`, to refuse duplicates (serde_json keeps the last).
                let mut keys: Vec<(usize, usize)> = Vec::new();
                if self.c.peek()? == b'}' {
                    self.c.i += 1;
                } else {
                    loop {
                        let key = self.c.string(&mut self.scratch)?;
                        write_long(out, key.len() as i64);
                        let at = out.len();
                        out.extend_from_slice(key);
                        // The scan is quadratic in the keys: a large map takes the general
                        // path, which is linear.
                        if keys.len() >= MAX_DIRECT_MAP_KEYS
                            || keys.iter().any(|&(s, e)| out[s..e] == out[at..])
                        {
                            return Err(GiveUp);
                        }
                        keys.push((at, out.len()));
                        self.c.eat(b':')?;
                        self.value(*value, out, depth + 1)?;
                        count += 1;
                        if !self.c.more(b'}')? {
                            break;
                        }
                    }
                }
                insert_count(out, start, count);
                out.push(0);
            }
            Node::Record(fields) => {
                self.c.eat(b'{')?;
                let mut next = 0;
                if self.c.peek()? == b'}' {
                    self.c.i += 1;
                } else {
                    loop {
                        let key = self.c.string(&mut self.scratch)?;
                        // Fields in schema order; skipped ones take their defaults.
                        let at = fields[next..]
                            .iter()
                            .position(|f| f.name.as_bytes() == key)
                            .ok_or(GiveUp)?
                            + next;
                        for f in &fields[next..at] {
                            out.extend_from_slice(f.default.as_deref().ok_or(GiveUp)?);
                        }
                        self.c.eat(b':')?;
                        self.value(fields[at].node, out, depth + 1)?;
                        next = at + 1;
                        if !self.c.more(b'}')? {
                            break;
                        }
                    }
                }
                for f in &fields[next..] {
                    out.extend_from_slice(f.default.as_deref().ok_or(GiveUp)?);
                }
            }
            Node::Union(branches) => self.union(branches, out, depth)?,
            Node::Unsupported => return Err(GiveUp),
        }
        Ok(())
    }

    fn union(&mut self, branches: &[Branch], out: &mut Vec<u8>, depth: usize) -> R<()> {
        let kind = match self.c.peek()? {
            b'n' => {
                let i = branches.iter().position(|b| b.null).ok_or(GiveUp)?;
                self.c.literal(b"null")?;
                write_long(out, i as i64);
                return Ok(());
            }
            b'{' => {
                // The wrapped form {"<branch>": value}, when the object's only key names a
                // branch; else a plain object.
                let back = self.c.i;
                self.c.i += 1;
                if self.c.peek()? == b'"' {
                    let key = self.c.string(&mut self.scratch)?;
                    if let Some(i) = branches.iter().position(|b| b.name.as_bytes() == key) {
                        self.c.eat(b':')?;
                        write_long(out, i as i64);
                        self.value(branches[i].node, out, depth + 1)?;
                        // More members: not the wrapped form after all.
                        return self.c.eat(b'}');
                    }
                }
                self.c.i = back;
                K_OBJECT
            }
            b'"' => K_STRING,
            b'[' => K_ARRAY,
            b't' | b'f' => K_BOOL,
            b'-' | b'0'..=b'9' => K_NUMBER,
            _ => return Err(GiveUp),
        };
        // The plain form: the token kind must leave exactly one branch that could take it.
        let mut fits = branches
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.null && b.accepts & kind != 0);
        let (i, b) = fits.next().ok_or(GiveUp)?;
        if fits.next().is_some() {
            return Err(GiveUp);
        }
        write_long(out, i as i64);
        self.value(b.node, out, depth + 1)
    }
}

/// Write the characters of `s` (UTF-8) as bytes, each U+0000..U+00FF; returns the count.
fn latin1(s: &[u8], out: &mut Vec<u8>) -> R<usize> {
    if s.is_ascii() {
        out.extend_from_slice(s);
        return Ok(s.len());
    }
    let text = std::str::from_utf8(s).map_err(|_| GiveUp)?;
    let mut n = 0;
    for c in text.chars() {
        out.push(u8::try_from(u32::from(c)).map_err(|_| GiveUp)?);
        n += 1;
    }
    Ok(n)
}

/// Put an array or map block's item count before its items (written from `start`).
fn insert_count(out: &mut Vec<u8>, start: usize, count: i64) {
    if count == 0 {
        return;
    }
    let mut head = [0u8; 10];
    let mut v = ((count << 1) ^ (count >> 63)) as u64;
    let mut n = 0;
    while v >= 0x80 {
        head[n] = (v as u8) | 0x80;
        v >>= 7;
        n += 1;
    }
    head[n] = v as u8;
    out.splice(start..start, head[..=n].iter().copied());
}

#[cfg(test)]
mod tests {
    //! The fast path against the general one (`avro_json` + apache-avro): whatever the fast
    //! path takes, it must write the same bytes and print the same text; what it gives up on,
    //! the general path decides.
    use super::*;
    use crate::codec::avro_json::{from_json, to_json};
    use strata_serde::AvroCodec;

    const SCHEMA: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
        {"name":"id","type":"long"},
        {"name":"name","type":"string"},
        {"name":"email","type":["null","string"],"default":null},
        {"name":"age","type":"int","default":7},
        {"name":"score","type":"double"},
        {"name":"active","type":"boolean","default":true},
        {"name":"ratio","type":"float","default":0.5},
        {"name":"kind","type":{"type":"enum","name":"Kind","symbols":["A","B","C"]},"default":"B"},
        {"name":"raw","type":"bytes","default":"\u00ff"},
        {"name":"code","type":{"type":"fixed","name":"Code","size":2},"default":"ab"},
        {"name":"tags","type":{"type":"array","items":"string"},"default":[]},
        {"name":"attrs","type":{"type":"map","values":"long"},"default":{}},
        {"name":"n","type":["null","int","long"],"default":null},
        {"name":"either","type":["string","double"],"default":"x"},
        {"name":"addr","type":["null",{"type":"record","name":"Addr","fields":[
            {"name":"zip","type":"string"},{"name":"next","type":["null","Addr"],"default":null}]}],"default":null},
        {"name":"again","type":["null","Addr"],"default":null}]}"#;

    struct Both {
        schema: Schema,
        codec: AvroCodec,
        plan: DirectPlan,
    }

    impl Both {
        fn new(text: &str) -> Both {
            let schema = Schema::parse_str(text).unwrap();
            Both {
                codec: AvroCodec::from_schema(schema.clone()).unwrap(),
                plan: DirectPlan::new(&schema),
                schema,
            }
        }

        /// The general path: parse, convert, encode.
        fn general(&self, text: &str) -> Result<Vec<u8>, String> {
            let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let names = Names::of(&self.schema);
            let value = from_json(&json, &self.schema, &names).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            self.codec
                .encode_value(&value, &mut out)
                .map_err(|e| e.to_string())?;
            Ok(out)
        }

        fn fast(&self, text: &str) -> Option<Vec<u8>> {
            let mut out = vec![9, 9];
            match self.plan.encode_json(text.as_bytes(), &mut out) {
                Ok(()) => Some(out.split_off(2)),
                Err(GiveUp) => {
                    assert_eq!(out, [9, 9], "{text}: a give-up leaves the output as it was");
                    None
                }
            }
        }

        /// What decode prints through the general path.
        fn general_text(&self, bytes: &[u8]) -> Result<String, String> {
            let value = self.codec.decode(bytes).map_err(|e| e.to_string())?;
            let names = Names::of(&self.schema);
            Ok(serde_json::to_string(&to_json(&value, &self.schema, &names)).unwrap())
        }

        fn fast_text(&self, bytes: &[u8]) -> Option<String> {
            let mut out = b"x".to_vec();
            match self.plan.decode_to_json(bytes, &mut out) {
                Ok(()) => Some(String::from_utf8(out.split_off(1)).unwrap()),
                Err(GiveUp) => {
                    assert_eq!(out, b"x", "a give-up leaves the output as it was");
                    None
                }
            }
        }

        /// The fast path agrees with the general one on `text`; returns whether it took it.
        fn agree(&self, text: &str) -> bool {
            let general = self.general(text);
            let Some(fast) = self.fast(text) else {
                return false;
            };
            let general = general.unwrap_or_else(|e| {
                panic!("{text}: the fast path took what the general path refuses: {e}")
            });
            assert_eq!(fast, general, "{text}: the bytes differ");
            true
        }

        /// Decoding `bytes`: the fast path agrees with the general one; returns whether it took
        /// them.
        fn agree_decoding(&self, bytes: &[u8]) -> bool {
            let general = self.general_text(bytes);
            let Some(fast) = self.fast_text(bytes) else {
                return false;
            };
            let general = general.unwrap_or_else(|e| {
                panic!("{bytes:?}: the fast path decoded what the general path refuses: {e}")
            });
            assert_eq!(fast, general, "{bytes:?}: the text differs");
            true
        }
    }

    const FULL: &str = r#"{"id": 1, "name": "ada", "email": "a@b.c", "age": 36, "score": 1.5,
        "active": false, "ratio": 0.25, "kind": "C", "raw": "\u0000é\u00ff", "code": "zz",
        "tags": ["x", "y"], "attrs": {"k": 5}, "n": {"long": 5}, "either": 2.5,
        "addr": {"zip": "123", "next": {"shop.Addr": {"zip": "456"}}},
        "again": {"shop.Addr": {"zip": "9"}}}"#;

    #[test]
    fn the_fast_path_writes_the_general_paths_bytes_for_the_values_it_takes() {
        let both = Both::new(SCHEMA);
        let taken = [
            FULL.to_string(),
            // Defaults for everything that has one, in schema order.
            r#"{"id": 1, "name": "", "score": 0}"#.into(),
            r#"{"id":-9223372036854775808,"name":"x","age":-2147483648,"score":-0.0}"#.into(),
            r#"{"id": 9223372036854775807, "name": "x", "age": 2147483647, "score": 1e308}"#.into(),
            r#"{"id": 0, "name": "x", "score": 5e-324, "ratio": 3.4028235e38}"#.into(),
            r#"{"id": 0, "name": "x", "score": 0.1, "ratio": 0.1}"#.into(),
            r#"{"id": 0, "name": "x", "score": 12345678901234567890123}"#.into(),
            r#"{"id": 0, "name": "x", "score": "NaN", "ratio": "-Infinity"}"#.into(),
            r#"{"id": 0, "name": "x", "score": "Infinity"}"#.into(),
            // Unions: null, plain and wrapped.
            r#"{"id": 0, "name": "x", "email": null, "score": 1, "addr": null}"#.into(),
            r#"{"id": 0, "name": "x", "email": {"string": "q"}, "score": 1}"#.into(),
            r#"{"id": 0, "name": "x", "score": 1, "either": {"double": 3}}"#.into(),
            r#"{"id": 0, "name": "x", "score": 1, "n": {"int": -1}}"#.into(),
            r#"{"id": 0, "name": "x", "score": 1, "addr": {"zip": "1"}}"#.into(),
            // Escapes, unicode and blanks.
            r#"{"id": 0, "name": "\"\\\/\b\f\n\r\t\u0001\u00e9\u4e2d", "score": 1}"#.into(),
            "{\"id\": 0, \"name\": \"日本語 é 😀\", \"score\": 1}".into(),
            " \t{ \"id\" : 0 ,\"name\":\"x\" , \"score\" : 1 } \r\n".into(),
            r#"{"id": 0, "name": "x", "score": 1, "raw": "", "tags": [], "attrs": {}}"#.into(),
            format!(
                r#"{{"id": 0, "name": "{}", "score": 1, "raw": "{}", "tags": [{}]}}"#,
                "long ".repeat(40),
                "b".repeat(300),
                vec!["\"t\""; 200].join(",")
            ),
        ];
        for text in &taken {
            assert!(both.agree(text), "the fast path gives up on {text}");
        }
    }

    #[test]
    fn what_the_fast_path_gives_up_on_the_general_path_decides() {
        let both = Both::new(SCHEMA);
        // Valid values the fast path leaves to the general path, and invalid input of every
        // kind: none may be taken differently.
        for text in [
            // Fields out of schema order, duplicate keys, a surrogate pair.
            r#"{"name": "x", "id": 0, "score": 1}"#,
            r#"{"id": 0, "id": 1, "name": "x", "score": 1}"#,
            r#"{"id": 0, "name": "\ud83d\ude00", "score": 1}"#,
            // Ambiguous and unknown union values.
            r#"{"id": 0, "name": "x", "score": 1, "n": 5}"#,
            // A string could be "NaN" for the double branch too.
            r#"{"id": 0, "name": "x", "score": 1, "either": "s"}"#,
            r#"{"id": 0, "name": "x", "email": 5, "score": 1}"#,
            r#"{"id": 0, "name": "x", "score": 1, "either": true}"#,
            r#"{"id": 0, "name": "x", "email": {"string": "a", "x": 1}, "score": 1}"#,
            // Numbers that are not the type.
            r#"{"id": 1.0, "name": "x", "score": 1}"#,
            r#"{"id": 1e2, "name": "x", "score": 1}"#,
            r#"{"id": -0, "name": "x", "score": 1}"#,
            r#"{"id": 9223372036854775808, "name": "x", "score": 1}"#,
            r#"{"id": -9223372036854775809, "name": "x", "score": 1}"#,
            r#"{"id": 0, "name": "x", "age": 2147483648, "score": 1}"#,
            r#"{"id": 0, "name": "x", "score": 1e400}"#,
            r#"{"id": 0, "name": "x", "score": "nan"}"#,
            r#"{"id": 01, "name": "x", "score": 1}"#,
            // Bad strings, enums, bytes, fixed.
            r#"{"id": 0, "name": "\ud800", "score": 1}"#,
            r#"{"id": 0, "name": "\x", "score": 1}"#,
            "{\"id\": 0, \"name\": \"a\u{1}b\", \"score\": 1}",
            r#"{"id": 0, "name": "x", "score": 1, "kind": "D"}"#,
            r#"{"id": 0, "name": "x", "score": 1, "raw": "\u0100"}"#,
            r#"{"id": 0, "name": "x", "score": 1, "code": "abc"}"#,
            // Missing, unknown and mistyped fields; bad JSON.
            r#"{"id": 0, "score": 1}"#,
            r#"{"id": 0, "name": "x", "score": 1, "extra": 1}"#,
            r#"{"id": 0, "name": null, "score": 1}"#,
            r#"{"id": 0, "name": "x", "score": 1, "tags": [1,]}"#,
            r#"{"id": 0, "name": "x", "score": 1, "attrs": {"a": 1, "a": 2}}"#,
            r#"{"id": 0, "name": "x", "score": 1} x"#,
            r#"{"id": 0, "name": "x", "score": 1}{}"#,
            r#"{"id": 0, "name": "x", "score": 1"#,
            r#"[1]"#,
            "",
            "nul",
        ] {
            both.agree(text);
        }
        // The ones that are invalid are invalid for both, with the general path's words.
        assert!(both.fast(r#"{"id": 0, "score": 1}"#).is_none());
        assert!(both
            .general(r#"{"id": 0, "score": 1}"#)
            .unwrap_err()
            .contains("$.name"));
    }

    #[test]
    fn every_cut_and_flipped_byte_of_the_text_is_taken_alike_or_given_up() {
        let both = Both::new(SCHEMA);
        let text = FULL.replace('\n', " ");
        for cut in 0..text.len() {
            if let Some(t) = text.get(..cut) {
                both.agree(t);
            }
        }
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            for b in [
                b'"', b'{', b'}', b'1', b',', b' ', b'\\', b'n', b'-', b'.', b'e',
            ] {
                let mut mutated = bytes.to_vec();
                mutated[i] = b;
                if let Ok(t) = std::str::from_utf8(&mutated) {
                    both.agree(t);
                }
            }
        }
    }

    #[test]
    fn short_floats_read_bit_for_bit_as_serde_json_reads_them() {
        let mut taken = 0;
        for text in [
            "0",
            "-0",
            "1",
            "-1",
            "0.1",
            "0.2",
            "0.3",
            "1.165",
            "15.801",
            "99.999",
            "-0.0",
            "1e0",
            "1e22",
            "1e-22",
            "1.5e10",
            "2.5E-3",
            "123456789012345678",
            "0.000001",
            "3.141592653589793",
            "9007199254740993",
            "1.7976931348623157",
            "4.35",
            "0.1e1",
            "123456789.123456789",
            "1e23",
            "1e-23",
            "1234567890123456789",
            "5e-324",
        ] {
            let expected: f64 = serde_json::from_str(text).unwrap();
            if let Some(f) = short_float(text.as_bytes()) {
                assert_eq!(f.to_bits(), expected.to_bits(), "{text}");
                taken += 1;
            }
        }
        assert!(taken >= 20, "{taken}");
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 1_000_000_000_000_000) as f64;
            let scale = (x >> 60) as i32;
            let text = format!("{}", digits / 10f64.powi(scale));
            let expected: f64 = serde_json::from_str(&text).unwrap();
            if let Some(f) = short_float(text.as_bytes()) {
                assert_eq!(f.to_bits(), expected.to_bits(), "{text}");
            }
        }
    }

    #[test]
    fn maps_with_several_entries_encode_to_the_same_value() {
        // apache-avro writes map entries in its HashMap's order, so compare the values.
        let both = Both::new(SCHEMA);
        let text = r#"{"id": 0, "name": "x", "score": 1, "attrs": {"a": 1, "b": -2, "c": 3}}"#;
        let fast = both.fast(text).expect("the fast path takes maps");
        assert_eq!(
            both.codec.decode(&fast).unwrap(),
            both.codec.decode(&both.general(text).unwrap()).unwrap()
        );
    }

    #[test]
    fn a_map_with_more_keys_than_the_bound_is_left_to_the_general_path() {
        let both = Both::new(SCHEMA);
        let map = |n: usize| {
            let entries: Vec<String> = (0..n).map(|i| format!(r#""k{i}": {i}"#)).collect();
            format!(
                r#"{{"id": 0, "name": "x", "score": 1, "attrs": {{{}}}}}"#,
                entries.join(", ")
            )
        };
        assert!(both.fast(&map(MAX_DIRECT_MAP_KEYS)).is_some());
        assert!(both.fast(&map(MAX_DIRECT_MAP_KEYS + 1)).is_none());
        assert!(both.general(&map(10_000)).is_ok());
    }

    #[test]
    fn the_fast_decoder_prints_what_the_general_path_prints() {
        let both = Both::new(SCHEMA);
        let mut taken = 0;
        for text in [
            FULL.replace(r#""attrs": {"k": 5}"#, r#""attrs": {}"#),
            r#"{"id": -5, "name": "\"\\\u0001é😀", "score": -0.0, "ratio": 0.1}"#.into(),
            r#"{"id": 0, "name": "x", "score": "NaN", "ratio": "-Infinity", "raw": "\u0000\u007f\u0080"}"#.into(),
            r#"{"id": 0, "name": "x", "score": 1e300, "n": {"int": 3}, "either": "s"}"#.into(),
            r#"{"id": 0, "name": "x", "score": 0.30000000000000004, "ratio": 3.4028235e38}"#.into(),
        ] {
            let bytes = both.general(&text).unwrap();
            assert!(both.agree_decoding(&bytes), "the fast path gives up on {text}");
            taken += 1;
        }
        assert_eq!(taken, 5);
        // Maps are printed sorted by key.
        let with_map = both
            .general(
                r#"{"id": 0, "name": "x", "score": 1, "attrs": {"b": 1, "a": 2, "é": 3, "B": 4}}"#,
            )
            .unwrap();
        assert!(both.agree_decoding(&with_map));
    }

    #[test]
    fn every_cut_and_flipped_byte_of_a_payload_is_decoded_alike_or_given_up() {
        let both = Both::new(SCHEMA);
        let bytes = both
            .general(&FULL.replace(r#""attrs": {"k": 5}"#, r#""attrs": {}"#))
            .unwrap();
        for cut in 0..bytes.len() {
            both.agree_decoding(&bytes[..cut]);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(both.fast_text(&longer).is_none(), "trailing bytes");
        for i in 0..bytes.len() {
            for b in [0x00, 0x01, 0x02, 0x7f, 0x80, 0xc3, 0xff] {
                let mut mutated = bytes.clone();
                mutated[i] = b;
                both.agree_decoding(&mutated);
            }
        }
    }

    #[test]
    fn logical_types_are_left_to_the_general_path() {
        let both = Both::new(
            r#"{"type":"record","name":"L","fields":[
            {"name":"d","type":{"type":"int","logicalType":"date"}},
            {"name":"u","type":["null",{"type":"string","logicalType":"uuid"}]}]}"#,
        );
        assert!(!both.agree(r#"{"d": 1, "u": null}"#));
        let bytes = both.general(r#"{"d": 1, "u": null}"#).unwrap();
        assert!(!both.agree_decoding(&bytes));
    }

    #[test]
    fn deep_recursive_values_give_up_instead_of_overflowing() {
        let both = Both::new(SCHEMA);
        let mut text = String::from(r#"{"id": 0, "name": "x", "score": 1, "addr": "#);
        for _ in 0..5000 {
            text.push_str(r#"{"zip": "z", "next": "#);
        }
        text.push_str("null");
        text.push_str(&"}".repeat(5001));
        assert!(both.fast(&text).is_none());
        // id, name, email, age, score, active, ratio, kind, raw, code, tags, attrs, n, either
        let mut bytes = b"\x00\x02x\x00\x00".to_vec();
        bytes.extend_from_slice(&1f64.to_le_bytes());
        bytes.push(1);
        bytes.extend_from_slice(&1f32.to_le_bytes());
        bytes.extend_from_slice(b"\x00\x00ab\x00\x00\x00\x00\x00");
        let shallow = [&bytes[..], b"\x02\x02z\x00\x00"].concat();
        assert!(both.agree_decoding(&shallow), "the prefix is right");
        // addr: the Addr branch, whose next is the Addr branch, ...
        bytes.push(2);
        for _ in 0..100_000 {
            bytes.extend_from_slice(b"\x02z\x02");
        }
        bytes.extend_from_slice(b"\x02z\x00\x00");
        assert!(both.fast_text(&bytes).is_none());
    }
}
