//! Avro schemas compiled into plans: a flat arena of nodes, one per schema position, that the
//! encoder and decoder walk instead of apache-avro's `Schema` (no name lookups, no `Value`s).
//!
//! A plan is compiled once per writer schema (for writing), and once per (writer schema, reader
//! schema) pair (for reading), with Avro's resolution rules applied at compile time: writer
//! fields the reader lacks are skipped, reader fields the writer lacks read their default,
//! numbers and strings are promoted, enum symbols and union branches are mapped. A plan owns
//! no input and does no I/O.
//!
//! Schemas the plan does not model (the `decimal`, `big-decimal`, `uuid` and `duration` logical
//! types) fail to compile; callers then keep using apache-avro for them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use apache_avro::schema::{Name, NamesRef, RecordSchema, ResolvedSchema, Schema};

/// An index into [`Plan::nodes`].
pub(crate) type NodeId = u32;

/// One schema position. Nodes describe the writer's bytes; resolution nodes say what the
/// reader sees.
#[derive(Debug)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Fixed(usize),
    /// An enum read with its own symbols.
    Enum(Box<[Box<str>]>),
    /// A writer enum read as a reader enum: the reader symbol of each writer index (`None`: the
    /// reader has no such symbol and no default).
    EnumMap(Box<[Option<Box<str>>]>),
    Array(NodeId),
    Map(NodeId),
    /// A writer union. `reader_union`: the reader's schema is a union too (so options and
    /// variants apply).
    Union {
        branches: Box<[Branch]>,
        reader_union: bool,
    },
    /// A writer primitive read as a wider reader primitive.
    Promote(Promotion),
    /// A writer non-union read as a branch of a reader union.
    AsBranch(Branch),
    Record(Box<Record>),
    /// A writer branch the reader cannot read: an error when met in data.
    Fail(Box<str>),
}

/// A union branch as the reader sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Branch {
    /// The node reading the writer's branch.
    pub node: NodeId,
    /// The reader's branch index (the variant index of a Rust enum).
    pub reader_index: u32,
    /// The reader's branch is `null` (an `Option`'s `None`).
    pub null: bool,
}

/// Writer-to-reader promotions Avro allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Promotion {
    IntToLong,
    IntToFloat,
    IntToDouble,
    LongToFloat,
    LongToDouble,
    FloatToDouble,
    StringToBytes,
    BytesToString,
}

/// A record: its fields in writer order, then the reader fields only defaults provide.
#[derive(Debug)]
pub(crate) struct Record {
    /// The unqualified name (a struct's name picks a union branch by it).
    pub name: Box<str>,
    pub fields: Box<[Field]>,
    pub defaults: Box<[DefaultField]>,
}

/// A writer field.
#[derive(Debug)]
pub(crate) struct Field {
    /// The reader's name for it (the writer's name if skipped).
    pub name: Box<str>,
    pub node: NodeId,
    /// The reader has no such field: skip its bytes.
    pub skip: bool,
    /// The address of a `&'static str` (a derived struct's field name) already found equal to
    /// `name`: the encoder's check is then one comparison, not a `memcmp`.
    pub seen: AtomicUsize,
}

impl Field {
    /// Whether a serde struct field name is this field's name.
    #[inline]
    pub(crate) fn is(&self, key: &'static str) -> bool {
        // Static strings never move or change: the same address and length is the same name.
        if self.seen.load(Ordering::Relaxed) == key.as_ptr() as usize
            && self.name.len() == key.len()
        {
            return true;
        }
        if *self.name == *key {
            self.seen.store(key.as_ptr() as usize, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// A reader field the writer lacks: its default, pre-encoded with the reader's schema.
#[derive(Debug)]
pub(crate) struct DefaultField {
    pub name: Box<str>,
    pub node: NodeId,
    pub bytes: Box<[u8]>,
}

/// A compiled schema (or schema pair).
#[derive(Debug)]
pub(crate) struct Plan {
    nodes: Vec<Node>,
    root: NodeId,
}

impl Plan {
    /// The plan for writing (or reading without resolution) with `schema`.
    pub(crate) fn writer(schema: &Schema) -> Result<Plan, String> {
        Plan::resolved(schema, schema)
    }

    /// The plan for reading data written with `writer` as `reader`.
    pub(crate) fn resolved(writer: &Schema, reader: &Schema) -> Result<Plan, String> {
        let wnames = names(writer)?;
        let rnames = names(reader)?;
        let mut c = Compiler {
            nodes: Vec::new(),
            names: [wnames, rnames],
            memo: HashMap::new(),
        };
        let root = c.compile((writer, Side::Writer), (reader, Side::Reader))?;
        Ok(Plan {
            nodes: c.nodes,
            root,
        })
    }

    /// The root node.
    pub(crate) fn root(&self) -> &Node {
        self.node(self.root)
    }

    /// A node by id. Ids come from this plan only, so the index is in bounds.
    #[inline]
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }
}

fn names(schema: &Schema) -> Result<NamesRef<'_>, String> {
    ResolvedSchema::try_from(schema)
        .map(|r| r.get_names().clone())
        .map_err(|e| format!("the schema's named types do not resolve: {e}"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Writer,
    Reader,
}

type Sided<'s> = (&'s Schema, Side);

struct Compiler<'s> {
    nodes: Vec<Node>,
    names: [NamesRef<'s>; 2],
    /// Named pairs already compiled (or being compiled: recursive types point back here).
    memo: HashMap<(Side, Name, Side, Name), NodeId>,
}

/// The primitive a schema is encoded as; logical types we model map to their base type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prim {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
}

fn prim(schema: &Schema) -> Result<Option<Prim>, String> {
    Ok(Some(match schema {
        Schema::Null => Prim::Null,
        Schema::Boolean => Prim::Boolean,
        Schema::Int | Schema::Date | Schema::TimeMillis => Prim::Int,
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Prim::Long,
        Schema::Float => Prim::Float,
        Schema::Double => Prim::Double,
        Schema::Bytes => Prim::Bytes,
        Schema::String => Prim::String,
        Schema::Decimal(_) | Schema::BigDecimal | Schema::Uuid | Schema::Duration => {
            return Err(format!(
                "the plan does not model the logical type of {}",
                schema.canonical_form()
            ))
        }
        _ => return Ok(None),
    }))
}

fn promotion(w: Prim, r: Prim) -> Option<Promotion> {
    Some(match (w, r) {
        (Prim::Int, Prim::Long) => Promotion::IntToLong,
        (Prim::Int, Prim::Float) => Promotion::IntToFloat,
        (Prim::Int, Prim::Double) => Promotion::IntToDouble,
        (Prim::Long, Prim::Float) => Promotion::LongToFloat,
        (Prim::Long, Prim::Double) => Promotion::LongToDouble,
        (Prim::Float, Prim::Double) => Promotion::FloatToDouble,
        (Prim::String, Prim::Bytes) => Promotion::StringToBytes,
        (Prim::Bytes, Prim::String) => Promotion::BytesToString,
        _ => return None,
    })
}

fn prim_node(p: Prim) -> Node {
    match p {
        Prim::Null => Node::Null,
        Prim::Boolean => Node::Boolean,
        Prim::Int => Node::Int,
        Prim::Long => Node::Long,
        Prim::Float => Node::Float,
        Prim::Double => Node::Double,
        Prim::Bytes => Node::Bytes,
        Prim::String => Node::String,
    }
}

/// The name of a named schema.
fn name_of(schema: &Schema) -> Option<&Name> {
    match schema {
        Schema::Record(r) => Some(&r.name),
        Schema::Enum(e) => Some(&e.name),
        Schema::Fixed(f) => Some(&f.name),
        _ => None,
    }
}

/// Whether a reader named type reads a writer named type: the same unqualified name, the same
/// full name, or a reader alias naming the writer (Avro specification, "Schema Resolution").
fn names_match(w: &Schema, r: &Schema) -> bool {
    let (Some(wn), Some(rn)) = (name_of(w), name_of(r)) else {
        return false;
    };
    if wn.name == rn.name {
        return true;
    }
    let aliases = match r {
        Schema::Record(s) => s.aliases.as_ref(),
        Schema::Enum(s) => s.aliases.as_ref(),
        Schema::Fixed(s) => s.aliases.as_ref(),
        _ => None,
    };
    let wfull = wn.fullname(None);
    aliases.is_some_and(|aliases| {
        aliases.iter().any(|a| {
            let full = a.fullname(rn.namespace.clone());
            full == wfull || a.name() == wn.name
        })
    })
}

impl<'s> Compiler<'s> {
    fn deref(&self, (schema, side): Sided<'s>) -> Result<Sided<'s>, String> {
        match schema {
            Schema::Ref { name } => self.names[side as usize]
                .get(name)
                .map(|s| (*s, side))
                .ok_or_else(|| format!("the type {} is not defined", name.fullname(None))),
            _ => Ok((schema, side)),
        }
    }

    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    /// The reader branch a writer schema resolves to: the first of the same type (and name),
    /// else the first it promotes to.
    fn pick_branch(&self, w: Sided<'s>, branches: &'s [Schema], rside: Side) -> Option<usize> {
        let w = self.deref(w).ok()?;
        let derefed: Vec<Sided<'s>> = branches
            .iter()
            .filter_map(|b| self.deref((b, rside)).ok())
            .collect();
        if derefed.len() != branches.len() {
            return None;
        }
        let wp = prim(w.0).ok()?;
        let exact = derefed.iter().position(|r| match (wp, r.0) {
            (Some(wp), rs) => prim(rs).ok().flatten() == Some(wp),
            (None, rs) => match (w.0, rs) {
                (Schema::Array(_), Schema::Array(_)) | (Schema::Map(_), Schema::Map(_)) => true,
                (Schema::Record(_), Schema::Record(_))
                | (Schema::Enum(_), Schema::Enum(_))
                | (Schema::Fixed(_), Schema::Fixed(_)) => names_match(w.0, rs),
                _ => false,
            },
        });
        exact.or_else(|| {
            let wp = wp?;
            derefed.iter().position(|r| {
                prim(r.0)
                    .ok()
                    .flatten()
                    .is_some_and(|rp| promotion(wp, rp).is_some())
            })
        })
    }

    fn compile(&mut self, w: Sided<'s>, r: Sided<'s>) -> Result<NodeId, String> {
        let w = self.deref(w)?;
        let r = self.deref(r)?;
        let key = match (name_of(w.0), name_of(r.0)) {
            (Some(wn), Some(rn)) => Some((w.1, wn.clone(), r.1, rn.clone())),
            _ => None,
        };
        if let Some(key) = &key {
            if let Some(&id) = self.memo.get(key) {
                return Ok(id);
            }
        }
        match (w.0, r.0) {
            (Schema::Union(wu), Schema::Union(ru)) => {
                let mut branches = Vec::with_capacity(wu.variants().len());
                for wb in wu.variants() {
                    branches.push(self.union_branch((wb, w.1), ru.variants(), r.1)?);
                }
                Ok(self.push(Node::Union {
                    branches: branches.into(),
                    reader_union: true,
                }))
            }
            (Schema::Union(wu), _) => {
                let mut branches = Vec::with_capacity(wu.variants().len());
                for wb in wu.variants() {
                    let node = match self.compile((wb, w.1), r) {
                        Ok(node) => node,
                        Err(e) => self.push(Node::Fail(e.into())),
                    };
                    branches.push(Branch {
                        node,
                        reader_index: 0,
                        null: false,
                    });
                }
                Ok(self.push(Node::Union {
                    branches: branches.into(),
                    reader_union: false,
                }))
            }
            (_, Schema::Union(ru)) => {
                let branch = self.union_branch(w, ru.variants(), r.1)?;
                if matches!(self.nodes[branch.node as usize], Node::Fail(_)) {
                    return Err(format!(
                        "no branch of the reader's union reads the writer's {}",
                        w.0.canonical_form()
                    ));
                }
                Ok(self.push(Node::AsBranch(branch)))
            }
            (Schema::Record(wr), Schema::Record(rr)) => {
                // Reserve the slot first: recursive fields refer back to it.
                let id = self.push(Node::Null);
                if let Some(key) = key {
                    self.memo.insert(key, id);
                }
                match self.record(wr, w.1, rr, r.1) {
                    Ok(node) => {
                        self.nodes[id as usize] = node;
                        Ok(id)
                    }
                    Err(e) => {
                        // Never leave the placeholder reachable.
                        self.nodes[id as usize] = Node::Fail(e.as_str().into());
                        Err(e)
                    }
                }
            }
            (Schema::Enum(we), Schema::Enum(re)) => {
                let node = if we.symbols == re.symbols {
                    Node::Enum(we.symbols.iter().map(|s| s.as_str().into()).collect())
                } else {
                    Node::EnumMap(
                        we.symbols
                            .iter()
                            .map(|s| {
                                re.symbols
                                    .iter()
                                    .find(|rs| *rs == s)
                                    .or(re.default.as_ref())
                                    .map(|s| s.as_str().into())
                            })
                            .collect(),
                    )
                };
                let id = self.push(node);
                if let Some(key) = key {
                    self.memo.insert(key, id);
                }
                Ok(id)
            }
            (Schema::Fixed(wf), Schema::Fixed(rf)) => {
                if wf.size != rf.size {
                    return Err(format!(
                        "the writer's fixed {} has {} bytes, the reader's {}",
                        wf.name.fullname(None),
                        wf.size,
                        rf.size
                    ));
                }
                Ok(self.push(Node::Fixed(wf.size)))
            }
            (Schema::Array(wa), Schema::Array(ra)) => {
                let id = self.push(Node::Null);
                let items = self.compile((&wa.items, w.1), (&ra.items, r.1))?;
                self.nodes[id as usize] = Node::Array(items);
                Ok(id)
            }
            (Schema::Map(wm), Schema::Map(rm)) => {
                let id = self.push(Node::Null);
                let values = self.compile((&wm.types, w.1), (&rm.types, r.1))?;
                self.nodes[id as usize] = Node::Map(values);
                Ok(id)
            }
            (ws, rs) => {
                let (Some(wp), Some(rp)) = (prim(ws)?, prim(rs)?) else {
                    return Err(format!(
                        "the reader's {} cannot read the writer's {}",
                        rs.canonical_form(),
                        ws.canonical_form()
                    ));
                };
                if wp == rp {
                    return Ok(self.push(prim_node(wp)));
                }
                match promotion(wp, rp) {
                    Some(p) => Ok(self.push(Node::Promote(p))),
                    None => Err(format!(
                        "the reader's {} cannot read the writer's {}",
                        rs.canonical_form(),
                        ws.canonical_form()
                    )),
                }
            }
        }
    }

    fn union_branch(
        &mut self,
        w: Sided<'s>,
        reader: &'s [Schema],
        rside: Side,
    ) -> Result<Branch, String> {
        let Some(index) = self.pick_branch(w, reader, rside) else {
            let node = self.push(Node::Fail(
                format!(
                    "no branch of the reader's union reads the writer's {}",
                    w.0.canonical_form()
                )
                .into(),
            ));
            return Ok(Branch {
                node,
                reader_index: 0,
                null: false,
            });
        };
        let rb = &reader[index];
        let node = self.compile(w, (rb, rside))?;
        Ok(Branch {
            node,
            reader_index: index as u32,
            null: matches!(rb, Schema::Null),
        })
    }

    fn record(
        &mut self,
        wr: &'s RecordSchema,
        wside: Side,
        rr: &'s RecordSchema,
        rside: Side,
    ) -> Result<Node, String> {
        let mut used = vec![false; rr.fields.len()];
        let mut fields = Vec::with_capacity(wr.fields.len());
        for wf in &wr.fields {
            let found = rr.fields.iter().position(|rf| {
                rf.name == wf.name || rf.aliases.as_ref().is_some_and(|a| a.contains(&wf.name))
            });
            match found {
                Some(i) => {
                    used[i] = true;
                    let rf = &rr.fields[i];
                    fields.push(Field {
                        name: rf.name.as_str().into(),
                        node: self.compile((&wf.schema, wside), (&rf.schema, rside))?,
                        skip: false,
                        seen: AtomicUsize::new(0),
                    });
                }
                None => fields.push(Field {
                    name: wf.name.as_str().into(),
                    node: self.compile((&wf.schema, wside), (&wf.schema, wside))?,
                    skip: true,
                    seen: AtomicUsize::new(0),
                }),
            }
        }
        let mut defaults = Vec::new();
        for (rf, _) in rr.fields.iter().zip(&used).filter(|(_, used)| !**used) {
            let Some(default) = &rf.default else {
                return Err(format!(
                    "the reader's field '{}' has no default and the writer has no such field",
                    rf.name
                ));
            };
            let node = self.compile((&rf.schema, rside), (&rf.schema, rside))?;
            let mut bytes = Vec::new();
            self.encode_default(node, default, &mut bytes, 0)?;
            defaults.push(DefaultField {
                name: rf.name.as_str().into(),
                node,
                bytes: bytes.into(),
            });
        }
        Ok(Node::Record(Box::new(Record {
            name: rr.name.name.as_str().into(),
            fields: fields.into(),
            defaults: defaults.into(),
        })))
    }

    /// Encode a JSON default value (Avro's JSON encoding of defaults) with an identity node.
    fn encode_default(
        &self,
        id: NodeId,
        json: &serde_json::Value,
        out: &mut Vec<u8>,
        depth: usize,
    ) -> Result<(), String> {
        use serde_json::Value as J;
        if depth > super::decode::MAX_DEPTH {
            return Err("a default value nests too deeply".into());
        }
        let bad = || format!("the default {json} does not fit its field's schema");
        match (&self.nodes[id as usize], json) {
            (Node::Null, J::Null) => {}
            (Node::Boolean, J::Bool(b)) => out.push(u8::from(*b)),
            (Node::Int, J::Number(n)) => {
                let v = n
                    .as_i64()
                    .and_then(|v| i32::try_from(v).ok())
                    .ok_or_else(bad)?;
                super::encode::write_long(out, i64::from(v));
            }
            (Node::Long, J::Number(n)) => {
                super::encode::write_long(out, n.as_i64().ok_or_else(bad)?);
            }
            (Node::Float, J::Number(n)) => {
                out.extend_from_slice(&(n.as_f64().ok_or_else(bad)? as f32).to_le_bytes())
            }
            (Node::Double, J::Number(n)) => {
                out.extend_from_slice(&n.as_f64().ok_or_else(bad)?.to_le_bytes())
            }
            (Node::String, J::String(s)) => {
                super::encode::write_long(out, s.len() as i64);
                out.extend_from_slice(s.as_bytes());
            }
            (Node::Bytes, J::String(s)) => {
                let bytes = latin1(s).ok_or_else(bad)?;
                super::encode::write_long(out, bytes.len() as i64);
                out.extend_from_slice(&bytes);
            }
            (Node::Fixed(n), J::String(s)) => {
                let bytes = latin1(s).ok_or_else(bad)?;
                if bytes.len() != *n {
                    return Err(bad());
                }
                out.extend_from_slice(&bytes);
            }
            (Node::Enum(symbols), J::String(s)) => {
                let i = symbols.iter().position(|x| **x == **s).ok_or_else(bad)?;
                super::encode::write_long(out, i as i64);
            }
            (Node::Array(items), J::Array(values)) => {
                if !values.is_empty() {
                    super::encode::write_long(out, values.len() as i64);
                    for v in values {
                        self.encode_default(*items, v, out, depth + 1)?;
                    }
                }
                out.push(0);
            }
            (Node::Map(items), J::Object(values)) => {
                if !values.is_empty() {
                    super::encode::write_long(out, values.len() as i64);
                    for (k, v) in values {
                        super::encode::write_long(out, k.len() as i64);
                        out.extend_from_slice(k.as_bytes());
                        self.encode_default(*items, v, out, depth + 1)?;
                    }
                }
                out.push(0);
            }
            (Node::Union { branches, .. }, v) => {
                // Avro: a union's default matches its first branch; apache-avro accepts any.
                let start = out.len();
                for (i, b) in branches.iter().enumerate() {
                    super::encode::write_long(out, i as i64);
                    if self.encode_default(b.node, v, out, depth + 1).is_ok() {
                        return Ok(());
                    }
                    out.truncate(start);
                }
                return Err(bad());
            }
            (Node::Record(rec), J::Object(values)) => {
                for f in rec.fields.iter() {
                    let v = values.get(&*f.name).ok_or_else(bad)?;
                    self.encode_default(f.node, v, out, depth + 1)?;
                }
            }
            _ => return Err(bad()),
        }
        Ok(())
    }
}

/// Avro's JSON encoding of bytes: each code point 0..=255 is one byte.
fn latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Why the plan encoder or decoder gave up.
#[derive(Debug)]
pub(crate) enum PlanError {
    /// The bytes are not valid for the schema (truncated, a bad length, nesting too deep):
    /// final, apache-avro would fail too.
    Data(String),
    /// The plan does not present this value or Rust type as apache-avro does (or the value does
    /// not fit): callers retry with apache-avro, whose error (if any) users see.
    Shape(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Data(m) | PlanError::Shape(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for PlanError {}

impl serde::ser::Error for PlanError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        PlanError::Shape(msg.to_string())
    }
}

impl serde::de::Error for PlanError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        PlanError::Shape(msg.to_string())
    }
}
