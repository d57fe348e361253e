//! The plan encoder: a serde `Serializer` that walks a writer [`Plan`] and appends Avro binary
//! straight to the output buffer, validating as it goes (a value that does not fit the schema
//! is an error, and nothing is written that would not decode).
//!
//! It takes the serde shapes derived types produce (structs in schema field order, options,
//! sequences and maps of known length, unit variants as enum symbols). Anything else is an
//! error here; the caller then falls back to apache-avro's serializer, so the set of values
//! accepted, and their bytes, stay apache-avro's.

use serde::ser::{self, Impossible, Serialize};

use super::plan::{Node, Plan, PlanError, Record};

/// apache-avro writes arrays and maps in blocks of this many items; we match its bytes.
const BLOCK: usize = 1025;

/// The key of a map entry.
static STRING: Node = Node::String;

/// Append a zig-zag varint long, as Avro writes `int` and `long`.
#[inline]
pub fn write_long(out: &mut Vec<u8>, value: i64) {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[inline]
fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_long(out, bytes.len() as i64);
    out.extend_from_slice(bytes);
}

/// Append the Avro encoding of `value` with the plan's root schema.
pub(crate) fn encode<T: Serialize + ?Sized>(
    plan: &Plan,
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), PlanError> {
    value.serialize(Encoder {
        out,
        plan,
        node: plan.root(),
    })
}

struct Encoder<'a, 'p> {
    out: &'a mut Vec<u8>,
    plan: &'p Plan,
    node: &'p Node,
}

/// How well a node takes a serde shape: not at all, with a conversion, or exactly.
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Fit {
    No,
    Converts,
    Exact,
}

fn mismatch(what: &str) -> PlanError {
    PlanError::Shape(format!(
        "the plan encoder does not write {what} with this schema"
    ))
}

impl<'a, 'p> Encoder<'a, 'p> {
    /// The node to write a value with: this node, or the union branch that fits best (its
    /// index written first; the first exact fit wins, then the first conversion).
    #[inline]
    fn pick(&mut self, what: &str, fit: impl Fn(&Node) -> Fit) -> Result<&'p Node, PlanError> {
        match self.node {
            Node::Union { branches, .. } => {
                let mut best: Option<(usize, &'p Node, Fit)> = None;
                for (i, b) in branches.iter().enumerate() {
                    let node = self.plan.node(b.node);
                    let f = fit(node);
                    if f == Fit::Exact {
                        best = Some((i, node, f));
                        break;
                    }
                    if f == Fit::Converts && best.is_none() {
                        best = Some((i, node, f));
                    }
                }
                let (i, node, _) = best.ok_or_else(|| mismatch(what))?;
                write_long(self.out, i as i64);
                Ok(node)
            }
            node if fit(node) != Fit::No => Ok(node),
            _ => Err(mismatch(what)),
        }
    }

    #[inline]
    fn int(&mut self, v: i64, what: &str) -> Result<(), PlanError> {
        self.pick(what, |n| match n {
            Node::Int => Fit::Exact,
            Node::Long => Fit::Converts,
            _ => Fit::No,
        })?;
        write_long(self.out, v);
        Ok(())
    }

    #[inline]
    fn long(&mut self, v: i64, what: &str) -> Result<(), PlanError> {
        self.pick(what, |n| match n {
            Node::Long => Fit::Exact,
            _ => Fit::No,
        })?;
        write_long(self.out, v);
        Ok(())
    }
}

fn exact(want: fn(&Node) -> bool) -> impl Fn(&Node) -> Fit {
    move |n| if want(n) { Fit::Exact } else { Fit::No }
}

impl<'a, 'p> ser::Serializer for Encoder<'a, 'p> {
    type Ok = ();
    type Error = PlanError;
    type SerializeSeq = SeqEncoder<'a, 'p>;
    type SerializeTuple = Impossible<(), PlanError>;
    type SerializeTupleStruct = Impossible<(), PlanError>;
    type SerializeTupleVariant = Impossible<(), PlanError>;
    type SerializeMap = MapEncoder<'a, 'p>;
    type SerializeStruct = RecordEncoder<'a, 'p>;
    type SerializeStructVariant = Impossible<(), PlanError>;

    fn is_human_readable(&self) -> bool {
        // apache-avro's default (`util::DEFAULT_SERDE_HUMAN_READABLE`).
        false
    }

    fn serialize_bool(mut self, v: bool) -> Result<(), PlanError> {
        self.pick("a bool", exact(|n| matches!(n, Node::Boolean)))?;
        self.out.push(u8::from(v));
        Ok(())
    }

    fn serialize_i8(mut self, v: i8) -> Result<(), PlanError> {
        self.int(v.into(), "an i8")
    }

    fn serialize_i16(mut self, v: i16) -> Result<(), PlanError> {
        self.int(v.into(), "an i16")
    }

    fn serialize_i32(mut self, v: i32) -> Result<(), PlanError> {
        self.int(v.into(), "an i32")
    }

    fn serialize_i64(mut self, v: i64) -> Result<(), PlanError> {
        self.long(v, "an i64")
    }

    fn serialize_u8(mut self, v: u8) -> Result<(), PlanError> {
        self.int(v.into(), "a u8")
    }

    fn serialize_u16(mut self, v: u16) -> Result<(), PlanError> {
        self.int(v.into(), "a u16")
    }

    fn serialize_u32(mut self, v: u32) -> Result<(), PlanError> {
        self.long(v.into(), "a u32")
    }

    fn serialize_u64(mut self, v: u64) -> Result<(), PlanError> {
        let v = i64::try_from(v).map_err(|_| mismatch("a u64 beyond i64"))?;
        self.long(v, "a u64")
    }

    fn serialize_f32(mut self, v: f32) -> Result<(), PlanError> {
        self.pick("an f32", exact(|n| matches!(n, Node::Float)))?;
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_f64(mut self, v: f64) -> Result<(), PlanError> {
        self.pick("an f64", exact(|n| matches!(n, Node::Double)))?;
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }

    fn serialize_char(self, _: char) -> Result<(), PlanError> {
        Err(mismatch("a char"))
    }

    fn serialize_str(mut self, v: &str) -> Result<(), PlanError> {
        let node = self.pick("a string", |n| match n {
            Node::String => Fit::Exact,
            Node::Enum(symbols) if symbols.iter().any(|s| **s == *v) => Fit::Converts,
            _ => Fit::No,
        })?;
        match node {
            Node::Enum(symbols) => {
                let i = symbols.iter().position(|s| **s == *v).unwrap_or_default();
                write_long(self.out, i as i64);
            }
            _ => write_bytes(self.out, v.as_bytes()),
        }
        Ok(())
    }

    fn serialize_bytes(mut self, v: &[u8]) -> Result<(), PlanError> {
        let node = self.pick("bytes", |n| match n {
            Node::Bytes => Fit::Exact,
            Node::Fixed(size) if *size == v.len() => Fit::Converts,
            _ => Fit::No,
        })?;
        match node {
            Node::Fixed(_) => self.out.extend_from_slice(v),
            _ => write_bytes(self.out, v),
        }
        Ok(())
    }

    fn serialize_none(mut self) -> Result<(), PlanError> {
        self.pick("None", exact(|n| matches!(n, Node::Null)))?;
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), PlanError> {
        value.serialize(self)
    }

    fn serialize_unit(mut self) -> Result<(), PlanError> {
        self.pick("()", exact(|n| matches!(n, Node::Null)))?;
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), PlanError> {
        Err(mismatch("a unit struct"))
    }

    fn serialize_unit_variant(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), PlanError> {
        let node = self.pick("a unit variant", |n| match n {
            Node::Enum(symbols) if symbols.iter().any(|s| **s == *variant) => Fit::Exact,
            _ => Fit::No,
        })?;
        if let Node::Enum(symbols) = node {
            let i = symbols
                .iter()
                .position(|s| **s == *variant)
                .unwrap_or_default();
            write_long(self.out, i as i64);
        }
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), PlanError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), PlanError> {
        Err(mismatch("a newtype variant"))
    }

    fn serialize_seq(mut self, len: Option<usize>) -> Result<SeqEncoder<'a, 'p>, PlanError> {
        let len = len.ok_or_else(|| mismatch("a sequence of unknown length"))?;
        let node = self.pick("a sequence", exact(|n| matches!(n, Node::Array(_))))?;
        let Node::Array(items) = node else {
            return Err(mismatch("a sequence"));
        };
        Ok(SeqEncoder {
            items: self.plan.node(*items),
            blocks: Blocks::start(len),
            out: self.out,
            plan: self.plan,
        })
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, PlanError> {
        Err(mismatch("a tuple"))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, PlanError> {
        Err(mismatch("a tuple struct"))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, PlanError> {
        Err(mismatch("a tuple variant"))
    }

    fn serialize_map(mut self, len: Option<usize>) -> Result<MapEncoder<'a, 'p>, PlanError> {
        let len = len.ok_or_else(|| mismatch("a map of unknown length"))?;
        let node = self.pick("a map", exact(|n| matches!(n, Node::Map(_))))?;
        let Node::Map(values) = node else {
            return Err(mismatch("a map"));
        };
        Ok(MapEncoder {
            values: self.plan.node(*values),
            blocks: Blocks::start(len),
            out: self.out,
            plan: self.plan,
        })
    }

    fn serialize_struct(
        mut self,
        name: &'static str,
        _: usize,
    ) -> Result<RecordEncoder<'a, 'p>, PlanError> {
        // A record node (not a union) takes any struct: no name to compare.
        let node = if matches!(self.node, Node::Record(_)) {
            self.node
        } else {
            self.pick("a struct", |n| match n {
                Node::Record(r) if *r.name == *name => Fit::Exact,
                Node::Record(_) => Fit::Converts,
                _ => Fit::No,
            })?
        };
        let Node::Record(record) = node else {
            return Err(mismatch("a struct"));
        };
        Ok(RecordEncoder {
            out: self.out,
            plan: self.plan,
            record,
            next: 0,
            later: Vec::new(),
        })
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, PlanError> {
        Err(mismatch("a struct variant"))
    }
}

/// Block framing of arrays and maps: counts written as apache-avro writes them.
struct Blocks {
    /// Items still to come.
    left: usize,
    /// Items still to come in the current block.
    in_block: usize,
}

impl Blocks {
    fn start(len: usize) -> Blocks {
        Blocks {
            left: len,
            in_block: 0,
        }
    }

    /// Before each item: open a block when the last one is full.
    #[inline]
    fn item(&mut self, out: &mut Vec<u8>) -> Result<(), PlanError> {
        if self.left == 0 {
            return Err(mismatch("more items than the sequence announced"));
        }
        if self.in_block == 0 {
            self.in_block = self.left.min(BLOCK);
            write_long(out, self.in_block as i64);
        }
        self.in_block -= 1;
        self.left -= 1;
        Ok(())
    }

    #[inline]
    fn end(self, out: &mut Vec<u8>) -> Result<(), PlanError> {
        if self.left != 0 {
            return Err(mismatch("fewer items than the sequence announced"));
        }
        out.push(0);
        Ok(())
    }
}

pub(crate) struct SeqEncoder<'a, 'p> {
    out: &'a mut Vec<u8>,
    plan: &'p Plan,
    items: &'p Node,
    blocks: Blocks,
}

impl ser::SerializeSeq for SeqEncoder<'_, '_> {
    type Ok = ();
    type Error = PlanError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PlanError> {
        self.blocks.item(self.out)?;
        value.serialize(Encoder {
            out: self.out,
            plan: self.plan,
            node: self.items,
        })
    }

    fn end(self) -> Result<(), PlanError> {
        self.blocks.end(self.out)
    }
}

pub(crate) struct MapEncoder<'a, 'p> {
    out: &'a mut Vec<u8>,
    plan: &'p Plan,
    values: &'p Node,
    blocks: Blocks,
}

impl ser::SerializeMap for MapEncoder<'_, '_> {
    type Ok = ();
    type Error = PlanError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), PlanError> {
        self.blocks.item(self.out)?;
        key.serialize(Encoder {
            out: self.out,
            plan: self.plan,
            node: &STRING,
        })
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), PlanError> {
        value.serialize(Encoder {
            out: self.out,
            plan: self.plan,
            node: self.values,
        })
    }

    fn end(self) -> Result<(), PlanError> {
        self.blocks.end(self.out)
    }
}

pub(crate) struct RecordEncoder<'a, 'p> {
    out: &'a mut Vec<u8>,
    plan: &'p Plan,
    record: &'p Record,
    /// Fields before this one are written.
    next: usize,
    /// Fields that came before their turn, encoded aside (empty while fields come in schema
    /// order, which is the common case and allocates nothing).
    later: Vec<Option<Vec<u8>>>,
}

impl ser::SerializeStruct for RecordEncoder<'_, '_> {
    type Ok = ();
    type Error = PlanError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PlanError> {
        let fields = &self.record.fields;
        if self.later.is_empty() {
            if let Some(field) = fields.get(self.next).filter(|f| f.is(key)) {
                // In schema order: straight into the output.
                self.next += 1;
                return value.serialize(Encoder {
                    out: self.out,
                    plan: self.plan,
                    node: self.plan.node(field.node),
                });
            }
            self.later = vec![None; fields.len()];
        }
        // Out of order: encode aside, write in schema order at the end. (apache-avro 0.21's
        // direct serializer writes fields in the order they come, which corrupts the datum.)
        let i = fields
            .iter()
            .position(|f| f.is(key))
            .filter(|i| *i >= self.next && self.later[*i].is_none())
            .ok_or_else(|| mismatch("a struct field the schema lacks, or twice"))?;
        let mut buf = Vec::new();
        value.serialize(Encoder {
            out: &mut buf,
            plan: self.plan,
            node: self.plan.node(fields[i].node),
        })?;
        self.later[i] = Some(buf);
        Ok(())
    }

    fn end(self) -> Result<(), PlanError> {
        let fields = self.record.fields.len();
        if self.later.is_empty() {
            if self.next != fields {
                return Err(mismatch("a struct missing schema fields"));
            }
            return Ok(());
        }
        for buf in &self.later[self.next..] {
            let buf = buf
                .as_ref()
                .ok_or_else(|| mismatch("a struct missing schema fields"))?;
            self.out.extend_from_slice(buf);
        }
        Ok(())
    }
}
