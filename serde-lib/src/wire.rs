//! The Confluent wire format: how a schema id travels with a payload.
//!
//! - Prefix, magic `0x00`: `00 | id (i32 big-endian) | [message indexes] | payload`.
//! - Prefix, magic `0x01`: `01 | GUID (16 bytes) | [message indexes] | payload`.
//! - Header (Confluent 8.0+): header `__key_schema_id` / `__value_schema_id` holds
//!   `01 | GUID | [message indexes]` and the payload is the bare encoding.
//!
//! Message indexes exist only for Protobuf: a zig-zag varint count, then that many zig-zag
//! varint indexes; the path `[0]` is written as the single byte `00`, and a count of 0 reads as
//! `[0]` (Kafka's `ByteUtils.writeVarint`, Confluent's `MessageIndexes`).
//!
//! This module only frames bytes: it never looks a schema up and never panics on input,
//! however truncated or garbled.

use uuid::Uuid;

use crate::{Error, Result};

/// Magic byte of the integer-id prefix.
pub const MAGIC_ID: u8 = 0x00;
/// Magic byte of the GUID prefix and of the header value.
pub const MAGIC_GUID: u8 = 0x01;
/// Header carrying the key's schema GUID.
pub const KEY_SCHEMA_ID_HEADER: &str = "__key_schema_id";
/// Header carrying the value's schema GUID.
pub const VALUE_SCHEMA_ID_HEADER: &str = "__value_schema_id";

/// Upper bound on the number of message indexes accepted on read; a nesting deeper than this
/// is garbage, not a schema (and bounds the allocation a hostile frame can cause).
const MAX_INDEXES: usize = 256;

/// Which part of a record is framed: Confluent names the headers and subjects after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The record key.
    Key,
    /// The record value.
    Value,
}

impl Field {
    /// The header carrying this field's schema GUID.
    pub fn header(self) -> &'static str {
        match self {
            Field::Key => KEY_SCHEMA_ID_HEADER,
            Field::Value => VALUE_SCHEMA_ID_HEADER,
        }
    }

    /// The subject suffix of the topic name strategy (`key` / `value`).
    pub fn suffix(self) -> &'static str {
        match self {
            Field::Key => "key",
            Field::Value => "value",
        }
    }
}

/// How a payload names its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaId {
    /// The registry's integer id (magic `0x00`).
    Id(i32),
    /// The schema's GUID (magic `0x01`, Confluent 8.0+).
    Guid(Uuid),
}

impl std::fmt::Display for SchemaId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaId::Id(id) => write!(f, "id {id}"),
            SchemaId::Guid(g) => write!(f, "guid {g}"),
        }
    }
}

/// A parsed frame: the schema reference, the Protobuf message indexes (empty for Avro and
/// JSON) and the payload, borrowed from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The schema the payload was written with.
    pub schema: SchemaId,
    /// Protobuf message indexes (`[0]` when the frame carried the shortcut); empty when the
    /// format has none.
    pub message_indexes: Vec<i32>,
    /// The encoded datum.
    pub payload: &'a [u8],
}

/// Append a zig-zag varint (Kafka `ByteUtils.writeVarint`).
pub fn write_varint(out: &mut Vec<u8>, value: i32) {
    let mut v = ((value << 1) ^ (value >> 31)) as u32;
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read a zig-zag varint from the front of `input`, advancing it.
pub fn read_varint(input: &mut &[u8]) -> Result<i32> {
    let mut value: u32 = 0;
    for i in 0..5 {
        let Some((&byte, rest)) = input.split_first() else {
            return Err(Error::Frame("a varint is cut short".into()));
        };
        *input = rest;
        if i == 4 && byte & 0xf0 != 0 {
            return Err(Error::Frame("a varint is longer than 32 bits".into()));
        }
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(((value >> 1) as i32) ^ -((value & 1) as i32));
        }
    }
    Err(Error::Frame("a varint is longer than 32 bits".into()))
}

/// Append the message-index array; `[0]` (and the empty path) is the single byte `00`.
pub fn write_message_indexes(out: &mut Vec<u8>, indexes: &[i32]) {
    if indexes.is_empty() || indexes == [0] {
        out.push(0);
        return;
    }
    // The count never exceeds i32 in practice; clamp rather than panic.
    write_varint(out, i32::try_from(indexes.len()).unwrap_or(i32::MAX));
    for &i in indexes {
        write_varint(out, i);
    }
}

/// Read a message-index array, advancing `input`. A count of 0 means `[0]`.
pub fn read_message_indexes(input: &mut &[u8]) -> Result<Vec<i32>> {
    let count = read_varint(input)?;
    if count == 0 {
        return Ok(vec![0]);
    }
    let count = usize::try_from(count)
        .map_err(|_| Error::Frame(format!("the message-index count {count} is negative")))?;
    // Every index takes at least one byte, so a count beyond the input is garbage.
    if count > MAX_INDEXES || count > input.len() {
        return Err(Error::Frame(format!(
            "the message-index count {count} does not fit the {} remaining bytes",
            input.len()
        )));
    }
    let mut indexes = Vec::with_capacity(count);
    for _ in 0..count {
        let i = read_varint(input)?;
        if i < 0 {
            return Err(Error::Frame(format!("the message index {i} is negative")));
        }
        indexes.push(i);
    }
    Ok(indexes)
}

/// Append the prefix for `schema` (magic, id or GUID, then the message indexes when given).
pub fn write_prefix(out: &mut Vec<u8>, schema: SchemaId, message_indexes: Option<&[i32]>) {
    match schema {
        SchemaId::Id(id) => {
            out.push(MAGIC_ID);
            out.extend_from_slice(&id.to_be_bytes());
        }
        SchemaId::Guid(guid) => {
            out.push(MAGIC_GUID);
            out.extend_from_slice(&strata_schema::guid::guid_to_bytes(&guid));
        }
    }
    if let Some(indexes) = message_indexes {
        write_message_indexes(out, indexes);
    }
}

/// The value of the `__key_schema_id`/`__value_schema_id` header: `01 | GUID | [indexes]`.
pub fn header_value(guid: Uuid, message_indexes: Option<&[i32]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(18);
    write_prefix(&mut out, SchemaId::Guid(guid), message_indexes);
    out
}

/// Parse a prefix frame (magic `0x00` or `0x01`). `with_indexes` says whether the format
/// carries message indexes (Protobuf).
pub fn parse_prefix(bytes: &[u8], with_indexes: bool) -> Result<Frame<'_>> {
    let Some((&magic, rest)) = bytes.split_first() else {
        return Err(Error::Frame(
            "the payload is empty, so it has no magic byte".into(),
        ));
    };
    let (schema, mut rest) = match magic {
        MAGIC_ID => {
            let (id, rest) = split_array::<4>(rest, "schema id")?;
            (SchemaId::Id(i32::from_be_bytes(id)), rest)
        }
        MAGIC_GUID => {
            let (guid, rest) = split_array::<16>(rest, "schema GUID")?;
            (
                SchemaId::Guid(strata_schema::guid::guid_from_bytes(guid)),
                rest,
            )
        }
        other => {
            return Err(Error::Frame(format!(
                "unknown magic byte 0x{other:02x} (expected 0x00 or 0x01); was it written by a \
                 schema-registry serializer?"
            )))
        }
    };
    let message_indexes = if with_indexes {
        read_message_indexes(&mut rest)?
    } else {
        Vec::new()
    };
    Ok(Frame {
        schema,
        message_indexes,
        payload: rest,
    })
}

/// Parse a schema-id header value (`01 | GUID | [indexes]`); the payload is bare.
pub fn parse_header<'a>(header: &[u8], payload: &'a [u8], with_indexes: bool) -> Result<Frame<'a>> {
    let frame = parse_prefix(header, with_indexes)?;
    if !frame.payload.is_empty() {
        return Err(Error::Frame(format!(
            "the schema-id header has {} unexpected trailing bytes",
            frame.payload.len()
        )));
    }
    Ok(Frame {
        schema: frame.schema,
        message_indexes: frame.message_indexes,
        payload,
    })
}

/// Confluent's `DualSchemaIdDeserializer`: the schema-id header for `field` if present, else
/// the payload prefix (magic `0x00` or `0x01`).
pub fn parse_dual<'a>(
    field: Field,
    headers: &[(String, impl AsRef<[u8]>)],
    payload: &'a [u8],
    with_indexes: bool,
) -> Result<Frame<'a>> {
    let name = field.header();
    // The last header of a name wins, as Kafka's `Headers.lastHeader`.
    match headers.iter().rev().find(|(k, _)| k == name) {
        Some((_, value)) => parse_header(value.as_ref(), payload, with_indexes),
        None => parse_prefix(payload, with_indexes),
    }
}

fn split_array<'a, const N: usize>(bytes: &'a [u8], what: &str) -> Result<([u8; N], &'a [u8])> {
    if bytes.len() < N {
        return Err(Error::Frame(format!(
            "the {what} needs {N} bytes after the magic byte but only {} remain",
            bytes.len()
        )));
    }
    let (head, rest) = bytes.split_at(N);
    let mut array = [0u8; N];
    array.copy_from_slice(head);
    Ok((array, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn indexes_bytes(indexes: &[i32]) -> Vec<u8> {
        let mut out = Vec::new();
        write_message_indexes(&mut out, indexes);
        out
    }

    #[test]
    fn message_indexes_match_confluent_vectors() {
        assert_eq!(indexes_bytes(&[0]), vec![0x00], "[0] is the single byte 00");
        assert_eq!(indexes_bytes(&[1]), vec![0x02, 0x02], "[1]");
        assert_eq!(indexes_bytes(&[0, 2]), vec![0x04, 0x00, 0x04], "[0, 2]");
        assert_eq!(read_message_indexes(&mut &[0x00][..]).ok(), Some(vec![0]));
        assert_eq!(
            read_message_indexes(&mut &[0x04, 0x00, 0x04][..]).ok(),
            Some(vec![0, 2])
        );
    }

    #[test]
    fn an_id_prefix_is_magic_zero_and_a_big_endian_id() {
        let mut out = Vec::new();
        write_prefix(&mut out, SchemaId::Id(258), None);
        out.extend_from_slice(b"xyz");
        assert_eq!(out, vec![0, 0, 0, 1, 2, b'x', b'y', b'z']);
        let frame = parse_prefix(&out, false).unwrap();
        assert_eq!(frame.schema, SchemaId::Id(258));
        assert_eq!(frame.payload, b"xyz");
    }

    #[test]
    fn a_guid_prefix_carries_sixteen_bytes_and_indexes() {
        let guid = Uuid::from_bytes([7; 16]);
        let mut out = Vec::new();
        write_prefix(&mut out, SchemaId::Guid(guid), Some(&[1, 0]));
        out.push(9);
        let frame = parse_prefix(&out, true).unwrap();
        assert_eq!(frame.schema, SchemaId::Guid(guid));
        assert_eq!(frame.message_indexes, vec![1, 0]);
        assert_eq!(frame.payload, &[9]);
    }

    #[test]
    fn the_dual_parser_prefers_the_header_and_falls_back_to_the_prefix() {
        let guid = Uuid::from_bytes([3; 16]);
        let headers = vec![(
            VALUE_SCHEMA_ID_HEADER.to_string(),
            header_value(guid, Some(&[0])),
        )];
        let frame = parse_dual(Field::Value, &headers, b"bare", true).unwrap();
        assert_eq!(frame.schema, SchemaId::Guid(guid));
        assert_eq!(frame.message_indexes, vec![0]);
        assert_eq!(frame.payload, b"bare");

        // The key has no header, so its prefix is read.
        let frame = parse_dual(Field::Key, &headers, &[0, 0, 0, 0, 5, 1], false).unwrap();
        assert_eq!(frame.schema, SchemaId::Id(5));
        assert_eq!(frame.payload, &[1]);
    }

    #[test]
    fn truncated_and_unknown_frames_are_errors() {
        for (bytes, why) in [
            (&[][..], "empty"),
            (&[0, 0, 0][..], "id cut short"),
            (&[1, 1, 2, 3][..], "guid cut short"),
            (&[2, 0, 0, 0, 1][..], "unknown magic"),
        ] {
            assert!(
                matches!(parse_prefix(bytes, false), Err(Error::Frame(_))),
                "{why}"
            );
        }
        // Count 2 but one index.
        assert!(parse_prefix(&[0, 0, 0, 0, 1, 0x04, 0x02], true).is_err());
        // Negative count.
        assert!(parse_prefix(&[0, 0, 0, 0, 1, 0x01], true).is_err());
        // Varint that never ends.
        assert!(parse_prefix(&[0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], true).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(bytes in proptest::collection::vec(any::<u8>(), 0..64), idx in any::<bool>()) {
            let _ = parse_prefix(&bytes, idx);
            let _ = parse_header(&bytes, &[], idx);
            let _ = read_varint(&mut &bytes[..]);
        }

        #[test]
        fn varints_round_trip(v in any::<i32>()) {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            let mut input = &out[..];
            prop_assert_eq!(read_varint(&mut input).ok(), Some(v));
            prop_assert!(input.is_empty());
        }

        #[test]
        fn frames_round_trip(
            id in any::<i32>(),
            guid in any::<[u8; 16]>(),
            use_guid in any::<bool>(),
            indexes in proptest::option::of(proptest::collection::vec(0..1000i32, 1..6)),
            payload in proptest::collection::vec(any::<u8>(), 0..32),
        ) {
            let schema = if use_guid { SchemaId::Guid(Uuid::from_bytes(guid)) } else { SchemaId::Id(id) };
            let mut out = Vec::new();
            write_prefix(&mut out, schema, indexes.as_deref());
            out.extend_from_slice(&payload);
            let frame = parse_prefix(&out, indexes.is_some()).unwrap();
            prop_assert_eq!(frame.schema, schema);
            prop_assert_eq!(frame.message_indexes, indexes.unwrap_or_default());
            prop_assert_eq!(frame.payload, &payload[..]);
        }
    }
}
