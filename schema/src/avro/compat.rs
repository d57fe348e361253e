//! Reader/writer compatibility: Java Avro 1.11's `SchemaCompatibility` (which Confluent's
//! `AvroSchema.isBackwardCompatible` calls unchanged), rendered as Confluent's `Difference`.
//!
//! The walk is Java's, quirks included, because the registry's answers and messages must match:
//! - results are memoised per (reader node, writer node) pair; a pair met again while still in
//!   progress counts as compatible (recursive types), and a finished pair's incompatibilities are
//!   re-reported with the location of their first visit;
//! - union branches are checked with a fresh location, so only the union-level
//!   `MISSING_UNION_BRANCH` carries the outer path;
//! - names compare unqualified (`getName()`), or by a reader alias equal to the writer's full
//!   name; logical types are not compared;
//! - a reader field missing from the writer whose type is an enum with a default is compared
//!   against the writer record itself (Java does this; it yields a `TYPE_MISMATCH`).

use std::collections::{BTreeSet, HashMap};

use super::canonical::write_inline;
use super::model::{Field, Kind, Model, Node, NodeId};
use crate::Incompatibility;

/// One step of a location: Java pushes strings; we keep them unrendered until an
/// incompatibility is recorded, which keeps the walk free of allocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// A literal such as `fields`, `type`, `items`, or the empty root token.
    Lit(&'static str),
    /// A field position or union branch index.
    Index(usize),
}

impl Token {
    fn render(self) -> String {
        match self {
            Token::Lit(s) => s.to_string(),
            Token::Index(i) => i.to_string(),
        }
    }
}

/// One of Java's `SchemaIncompatibilityType`s with its message and location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JavaIncompatibility {
    pub kind: &'static str,
    /// `Incompatibility.getMessage()`, Confluent's `additionalInfo`.
    pub info: String,
    /// The location tokens, root first (the root token is the empty string).
    pub location: Vec<Token>,
}

impl JavaIncompatibility {
    /// `getLocation()`: a JSON pointer built from the tokens after the root.
    pub(crate) fn path(&self) -> String {
        let parts: Vec<String> = self
            .location
            .iter()
            .skip(1)
            .map(|t| t.render().replace('~', "~0").replace('/', "~1"))
            .collect();
        format!("/{}", parts.join("/"))
    }
}

enum Memo {
    InProgress,
    Done(Vec<JavaIncompatibility>),
}

struct Checker<'a> {
    r: &'a Model,
    w: &'a Model,
    memo: HashMap<(NodeId, NodeId), Memo, BuildPairHasher>,
}

/// A cheap hasher for node-id pairs (the memo is hit for every visited pair).
#[derive(Default, Clone, Copy)]
struct BuildPairHasher;

impl std::hash::BuildHasher for BuildPairHasher {
    type Hasher = PairHasher;
    fn build_hasher(&self) -> PairHasher {
        PairHasher(0)
    }
}

/// Multiply-rotate mixing (FxHash's constant); ids are small dense integers.
struct PairHasher(u64);

impl std::hash::Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// Java throws from `lookupWriterField` when a reader field matches several writer fields;
/// Confluent turns that into a single "Unexpected exception" message.
type CResult = Result<Vec<JavaIncompatibility>, String>;

/// The incompatibilities of reading data written with `writer` using `reader`, in Java's order.
/// `Err` carries the text of the exception Java would throw.
pub(crate) fn check(
    reader: &Model,
    reader_root: NodeId,
    writer: &Model,
    writer_root: NodeId,
) -> Result<Vec<JavaIncompatibility>, String> {
    let mut c = Checker {
        r: reader,
        w: writer,
        // Roughly one memo entry per reader node is visited; sizing up front avoids rehashing.
        memo: HashMap::with_capacity_and_hasher(reader.nodes.len().min(4096), BuildPairHasher),
    };
    c.fresh(reader_root, writer_root)
}

impl<'a> Checker<'a> {
    /// Java's two-argument `getCompatibility(reader, writer)`: a new location stack.
    fn fresh(&mut self, r: NodeId, w: NodeId) -> CResult {
        let mut location = Vec::new();
        self.get(Token::Lit(""), r, w, &mut location)
    }

    fn get(&mut self, token: Token, r: NodeId, w: NodeId, location: &mut Vec<Token>) -> CResult {
        location.push(token);
        let result = match self.memo.get(&(r, w)) {
            Some(Memo::InProgress) => Ok(Vec::new()),
            Some(Memo::Done(found)) => Ok(found.clone()),
            None => {
                self.memo.insert((r, w), Memo::InProgress);
                let found = self.calculate(r, w, location);
                match &found {
                    Ok(v) => {
                        self.memo.insert((r, w), Memo::Done(v.clone()));
                    }
                    Err(_) => {
                        self.memo.remove(&(r, w));
                    }
                }
                found
            }
        };
        location.pop();
        result
    }

    fn incompatible(
        kind: &'static str,
        info: String,
        location: &[Token],
    ) -> Vec<JavaIncompatibility> {
        vec![JavaIncompatibility {
            kind,
            info,
            location: location.to_vec(),
        }]
    }

    fn type_mismatch(&self, r: NodeId, w: NodeId, location: &[Token]) -> Vec<JavaIncompatibility> {
        Self::incompatible(
            "TYPE_MISMATCH",
            format!(
                "reader type: {} not compatible with writer type: {}",
                self.r.node(r).kind().java_name(),
                self.w.node(w).kind().java_name()
            ),
            location,
        )
    }

    fn calculate(&mut self, r: NodeId, w: NodeId, location: &mut Vec<Token>) -> CResult {
        // Borrow the models for 'a, not through `self`, so recursion can take `&mut self`.
        let (rm, wm): (&'a Model, &'a Model) = (self.r, self.w);
        let rn = rm.node(r);
        let wn = wm.node(w);
        let (rk, wk) = (rn.kind(), wn.kind());
        if rk == wk {
            return match (rn, wn) {
                (Node::Array { items: ri, .. }, Node::Array { items: wi, .. }) => {
                    let (ri, wi) = (*ri, *wi);
                    self.get(Token::Lit("items"), ri, wi, location)
                }
                (Node::Map { values: rv, .. }, Node::Map { values: wv, .. }) => {
                    let (rv, wv) = (*rv, *wv);
                    self.get(Token::Lit("values"), rv, wv, location)
                }
                (Node::Fixed { size: rs, .. }, Node::Fixed { size: ws, .. }) => {
                    let mut out = self.check_names(r, w, location);
                    if rs != ws {
                        location.push(Token::Lit("size"));
                        out.extend(Self::incompatible(
                            "FIXED_SIZE_MISMATCH",
                            format!("expected: {ws}, found: {rs}"),
                            location,
                        ));
                        location.pop();
                    }
                    Ok(out)
                }
                (Node::Enum { .. }, Node::Enum { .. }) => {
                    let mut out = self.check_names(r, w, location);
                    out.extend(self.check_enum_symbols(r, w, location));
                    Ok(out)
                }
                (Node::Record { .. }, Node::Record { .. }) => {
                    let mut out = self.check_names(r, w, location);
                    out.extend(self.check_fields(r, w, location)?);
                    Ok(out)
                }
                (Node::Union { .. }, Node::Union { branches: wb }) => {
                    let mut out = Vec::new();
                    for (i, &b) in wb.iter().enumerate() {
                        location.push(Token::Index(i));
                        if !self.fresh(r, b)?.is_empty() {
                            out.extend(Self::incompatible(
                                "MISSING_UNION_BRANCH",
                                format!(
                                    "reader union lacking writer type: {}",
                                    self.w.node(b).kind().java_name()
                                ),
                                location,
                            ));
                        }
                        location.pop();
                    }
                    Ok(out)
                }
                // Same primitive type.
                _ => Ok(Vec::new()),
            };
        }
        // A reader compatible with every branch of a writer union is compatible.
        if let Node::Union { branches } = wn {
            let mut out = Vec::new();
            for &b in branches {
                out.extend(self.fresh(r, b)?);
            }
            return Ok(out);
        }
        let promotable = match rk {
            Kind::Long => wk == Kind::Int,
            Kind::Float => matches!(wk, Kind::Int | Kind::Long),
            Kind::Double => matches!(wk, Kind::Int | Kind::Long | Kind::Float),
            Kind::Bytes => wk == Kind::String,
            Kind::String => wk == Kind::Bytes,
            _ => false,
        };
        if promotable {
            return Ok(Vec::new());
        }
        if let Node::Union { branches } = rn {
            for &b in branches {
                if self.fresh(b, w)?.is_empty() {
                    return Ok(Vec::new());
                }
            }
            return Ok(Self::incompatible(
                "MISSING_UNION_BRANCH",
                format!("reader union lacking writer type: {}", wk.java_name()),
                location,
            ));
        }
        Ok(self.type_mismatch(r, w, location))
    }

    /// `schemaNameEquals`: unqualified names, or a reader alias equal to the writer full name.
    fn check_names(
        &self,
        r: NodeId,
        w: NodeId,
        location: &mut Vec<Token>,
    ) -> Vec<JavaIncompatibility> {
        let rn = self.r.node(r);
        let wn = self.w.node(w);
        let equal = rn.simple_name() == wn.simple_name()
            || rn.aliases().iter().any(|a| a.full == wn.full_name());
        if equal {
            return Vec::new();
        }
        location.push(Token::Lit("name"));
        let out = Self::incompatible(
            "NAME_MISMATCH",
            format!("expected: {}", wn.full_name()),
            location,
        );
        location.pop();
        out
    }

    fn check_enum_symbols(
        &self,
        r: NodeId,
        w: NodeId,
        location: &mut Vec<Token>,
    ) -> Vec<JavaIncompatibility> {
        let (
            Node::Enum {
                symbols: rs,
                default: rd,
                ..
            },
            Node::Enum { symbols: ws, .. },
        ) = (self.r.node(r), self.w.node(w))
        else {
            return Vec::new();
        };
        // A TreeSet of the writer symbols the reader lacks.
        let missing: BTreeSet<JavaOrdered<'_>> = ws
            .iter()
            .filter(|s| !rs.contains(s))
            .map(JavaOrdered)
            .collect();
        if missing.is_empty() || rd.as_ref().is_some_and(|d| rs.contains(d)) {
            return Vec::new();
        }
        location.push(Token::Lit("symbols"));
        let list: Vec<&str> = missing.iter().map(|s| s.0.as_str()).collect();
        let out = Self::incompatible(
            "MISSING_ENUM_SYMBOLS",
            format!("[{}]", list.join(", ")),
            location,
        );
        location.pop();
        out
    }

    fn check_fields(&mut self, r: NodeId, w: NodeId, location: &mut Vec<Token>) -> CResult {
        let mut out = Vec::new();
        location.push(Token::Lit("fields"));
        let rm: &'a Model = self.r;
        let mut index = None;
        for (pos, rf) in rm.fields(r).iter().enumerate() {
            location.push(Token::Index(pos));
            match self.lookup_writer_field(w, rf, pos, &mut index)? {
                None => {
                    if rf.default.is_none() {
                        let enum_default = matches!(
                            rm.node(rf.ty),
                            Node::Enum {
                                default: Some(_),
                                ..
                            }
                        );
                        if enum_default {
                            out.extend(self.get(Token::Lit("type"), rf.ty, w, location)?);
                        } else {
                            out.extend(Self::incompatible(
                                "READER_FIELD_MISSING_DEFAULT_VALUE",
                                rf.name.clone(),
                                location,
                            ));
                        }
                    }
                }
                Some(wty) => out.extend(self.get(Token::Lit("type"), rf.ty, wty, location)?),
            }
            location.pop();
        }
        location.pop();
        Ok(out)
    }

    /// `lookupWriterField`: by name, then by each reader alias; more than one match throws.
    /// `index` is the writer record's fields by name, built by the first lookup that needs it
    /// and kept for the record's other fields (so a reordered record costs linear time).
    fn lookup_writer_field(
        &self,
        w: NodeId,
        rf: &Field,
        pos: usize,
        index: &mut FieldIndex<'a>,
    ) -> Result<Option<NodeId>, String> {
        let wm: &'a Model = self.w;
        let wfields: &'a [Field] = wm.fields(w);
        let mut by_name = |name: &str| -> Option<NodeId> {
            index
                .get_or_insert_with(|| {
                    // Field names are unique within a record (the parser refuses duplicates).
                    wfields.iter().map(|f| (f.name.as_str(), f.ty)).collect()
                })
                .get(name)
                .copied()
        };
        let mut found: Vec<NodeId> = Vec::new();
        // Try the same position first (the common case of an evolved record), then the index.
        let direct = match wfields.get(pos) {
            Some(f) if f.name == rf.name => Some(f.ty),
            _ => by_name(&rf.name),
        };
        found.extend(direct);
        for alias in &rf.aliases {
            found.extend(by_name(alias));
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(found[0])),
            _ => {
                let mut writer_text = String::new();
                write_inline(self.w, w, &mut writer_text);
                Err(format!(
                    "Reader record field {} type:{} pos:{pos} matches multiple fields in writer record schema {writer_text}",
                    rf.name,
                    self.r.node(rf.ty).kind().java_name()
                ))
            }
        }
    }
}

/// A writer record's fields by name (see `lookup_writer_field`).
type FieldIndex<'m> = Option<HashMap<&'m str, NodeId>>;

/// A string ordered as Java's `String.compareTo`.
#[derive(PartialEq, Eq)]
struct JavaOrdered<'a>(&'a String);

impl PartialOrd for JavaOrdered<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for JavaOrdered<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        super::jackson::java_cmp(self.0, other.0)
    }
}

/// Confluent's `Difference.error()` with the `%s` roles filled: `reader_role` and `writer_role`
/// are "new"/"old" as Confluent's `SchemaValidatorBuilder` passes them.
pub(crate) fn render(
    inc: &JavaIncompatibility,
    reader_role: &str,
    writer_role: &str,
) -> Incompatibility {
    let path = inc.path();
    let info = &inc.info;
    let description = match inc.kind {
        "FIXED_SIZE_MISMATCH" => format!(
            "The size of FIXED type field at path '{path}' in the {reader_role} schema does not match with the {writer_role} schema"
        ),
        "TYPE_MISMATCH" => format!(
            "The type (path '{path}') of a field in the {reader_role} schema does not match with the {writer_role} schema"
        ),
        "NAME_MISMATCH" => format!("The name of the schema has changed (path '{path}')"),
        "MISSING_ENUM_SYMBOLS" => format!(
            "The {reader_role} schema is missing enum symbols '{info}' at path '{path}' in the {writer_role} schema"
        ),
        "MISSING_UNION_BRANCH" => format!(
            "The {reader_role} schema is missing a type inside a union field at path '{path}' in the {writer_role} schema"
        ),
        "READER_FIELD_MISSING_DEFAULT_VALUE" => format!(
            "The field '{info}' at path '{path}' in the {reader_role} schema has no default value and is missing in the {writer_role} schema"
        ),
        _ => String::new(),
    };
    Incompatibility {
        kind: inc.kind.to_string(),
        path: path.clone(),
        message: format!(
            "{{errorType:'{}', description:'{description}', additionalInfo:'{info}'}}",
            inc.kind
        ),
    }
}

/// Confluent's answer when the check itself throws.
pub(crate) fn unexpected(message: &str) -> Incompatibility {
    Incompatibility {
        kind: "UNEXPECTED_EXCEPTION".into(),
        path: String::new(),
        message: format!("Unexpected exception during compatibility check: {message}"),
    }
}
