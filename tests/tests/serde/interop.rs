//! Bytes written by confluent-kafka for Python's serializers (Avro, Protobuf with a nested
//! message and with an imported file as a schema reference, JSON Schema) decode in Strata, and
//! Strata's decode in Python, through one
//! `strata serve`-equivalent registry. Uses the venv `scripts/test.sh` creates
//! (target/interop-venv); without it the tests say so and pass, as the venv is CI's to provide.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use strata_schema::{FormatSchema, ParseOptions, ProtobufSchema};
use strata_serde::{
    wire, AvroDeserializer, AvroSerializer, Deserializer, Field, JsonDeserializer, JsonSerializer,
    ProtobufDynamicDeserializer, ProtobufDynamicSerializer, Serializer, SerializerConfig,
};

use crate::avro::{order, Order, ORDER_V1};
use crate::harness::{proto_dependency, proto_field, Registry};
use crate::json::{Person, PERSON};

/// confluent-kafka's AvroSerializer/AvroDeserializer (format `avro`) or
/// JSONSerializer/JSONDeserializer (`json`) on `topic`'s value; argv: url, format, schema,
/// topic, mode. Values go in and come out as JSON; the deserializers read with the registry's
/// copy of the writer schema.
const SCRIPT: &str = r#"
import json, sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

url, fmt, schema, topic, mode = sys.argv[1:6]
client = SchemaRegistryClient({"url": url})
ctx = SerializationContext(topic, MessageField.VALUE)
data = sys.stdin.read()
if mode == "serialize":
    ser = AvroSerializer(client, schema) if fmt == "avro" else JSONSerializer(schema, client)
    sys.stdout.write(ser(json.loads(data), ctx).hex())
else:
    de = AvroDeserializer(client) if fmt == "avro" else JSONDeserializer(None, schema_registry_client=client)
    sys.stdout.write(json.dumps(de(bytes.fromhex(data), ctx)))
"#;

fn python() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/interop-venv/bin/python");
    if venv.exists() {
        Some(venv)
    } else if std::env::var_os("CI").is_some() {
        // In CI scripts/test.sh has created the venv: its absence is a failure, not a skip.
        panic!(
            "no interop venv at {} in CI: scripts/test.sh must create it",
            venv.display()
        );
    } else {
        eprintln!(
            "skipping: no interop venv at {} (scripts/test.sh creates it)",
            venv.display()
        );
        None
    }
}

/// What both Protobuf scripts start with: the imports, and an empty descriptor `pool` for the
/// files a script builds at run time (no protoc).
const PROTOBUF_PRELUDE: &str = r#"
import sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf import timestamp_pb2

T = descriptor_pb2.FieldDescriptorProto
pool = descriptor_pool.DescriptorPool()
"#;

/// What both Protobuf scripts end with: confluent-kafka's ProtobufSerializer/Deserializer for
/// the message `name` of the files in `pool`, on `topic`'s value; argv: url, name, topic, mode.
/// Decoded messages are printed as JSON with the .proto field names.
const PROTOBUF_RUN: &str = r#"
url, name, topic, mode = sys.argv[1:5]
cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
client = SchemaRegistryClient({"url": url})
conf = {"use.deprecated.format": False}
ctx = SerializationContext(topic, MessageField.VALUE)
data = sys.stdin.read()
if mode == "serialize":
    msg = json_format.Parse(data, cls())
    sys.stdout.write(ProtobufSerializer(cls, client, conf)(msg, ctx).hex())
else:
    msg = ProtobufDeserializer(cls, conf)(bytes.fromhex(data), ctx)
    sys.stdout.write(json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=None))
"#;

/// Builds `interop/shop.proto`: `interop.Order`, its nested `interop.Order.Line` and a second
/// message `interop.Refund` (see [`PROTOBUF_PRELUDE`] and [`PROTOBUF_RUN`]).
const SHOP_POOL: &str = r#"
fdp = descriptor_pb2.FileDescriptorProto(name="interop/shop.proto", package="interop", syntax="proto3")
order = fdp.message_type.add(name="Order")
order.field.add(name="id", number=1, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
line = order.nested_type.add(name="Line")
line.field.add(name="sku", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
line.field.add(name="quantity", number=2, type=T.TYPE_INT32, label=T.LABEL_OPTIONAL)
order.field.add(name="lines", number=2, type=T.TYPE_MESSAGE, type_name=".interop.Order.Line",
                label=T.LABEL_REPEATED)
refund = fdp.message_type.add(name="Refund")
refund.field.add(name="order_id", number=1, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
pool.Add(fdp)
"#;

/// The same file as [`SHOP_POOL`] builds, as .proto text.
const SHOP_PROTO: &str = r#"syntax = "proto3";
package interop;
message Order {
  int64 id = 1;
  message Line { string sku = 1; int32 quantity = 2; }
  repeated Line lines = 2;
}
message Refund { int64 order_id = 1; }
"#;

/// Builds `interop/bill.proto` (`interop.Bill`), which imports `interop/money.proto` (a schema
/// reference) and the well-known `google/protobuf/timestamp.proto` (never one). Python's
/// serializer registers the import first, under its import path, as Strata must read it.
const BILL_POOL: &str = r#"
ts = descriptor_pb2.FileDescriptorProto()
timestamp_pb2.DESCRIPTOR.CopyToProto(ts)
pool.Add(ts)
money = descriptor_pb2.FileDescriptorProto(name="interop/money.proto", package="interop", syntax="proto3")
m = money.message_type.add(name="Money")
m.field.add(name="currency", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
m.field.add(name="cents", number=2, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
pool.Add(money)
bill = descriptor_pb2.FileDescriptorProto(name="interop/bill.proto", package="interop", syntax="proto3",
    dependency=["interop/money.proto", "google/protobuf/timestamp.proto"])
b = bill.message_type.add(name="Bill")
b.field.add(name="id", number=1, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
b.field.add(name="total", number=2, type=T.TYPE_MESSAGE, type_name=".interop.Money", label=T.LABEL_OPTIONAL)
b.field.add(name="at", number=3, type=T.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp",
            label=T.LABEL_OPTIONAL)
pool.Add(bill)
"#;

/// The files [`BILL_POOL`] builds, as .proto text.
const MONEY_PROTO: &str = r#"syntax = "proto3";
package interop;
message Money { string currency = 1; int64 cents = 2; }
"#;
const BILL_PROTO: &str = r#"syntax = "proto3";
package interop;
import "interop/money.proto";
import "google/protobuf/timestamp.proto";
message Bill { int64 id = 1; Money total = 2; google.protobuf.Timestamp at = 3; }
"#;

/// Run `script` with `args`, `input` on stdin; its stdout, or a failure with its stderr.
fn run_script(python: &Path, script: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("stdin written");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_bytes_from_confluent_kafka_python_decode_in_strata() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let de = AvroDeserializer::<Order>::new(registry.client());
    let back = python_to_strata(&python, &registry, ("avro", ORDER_V1), &order(), &de).await;
    assert_eq!(back, order());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_bytes_from_strata_decode_in_confluent_kafka_python() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let ser =
        AvroSerializer::<Order>::new(registry.client(), ORDER_V1, SerializerConfig::default())
            .unwrap();
    let back = strata_to_python(&python, &registry, ("avro", ORDER_V1), &order(), &ser).await;
    assert_eq!(back, order());
}

/// `value` as JSON through confluent-kafka's serializer of `format` (avro, json) with
/// `schema`, then Strata's `de`: what Strata read. The topic is `interop-<format>`.
async fn python_to_strata<V: serde::Serialize>(
    python: &Path,
    registry: &Registry,
    (format, schema): (&str, &str),
    value: &V,
    de: &dyn Deserializer<V>,
) -> V {
    let topic = format!("interop-{format}");
    let out = python_with_schema(
        python,
        registry,
        (format, schema),
        &topic,
        "serialize",
        serde_json::to_string(value).unwrap(),
    )
    .await;
    let bytes = unhex(out.trim());
    assert_eq!(bytes[0], 0, "magic byte");
    de.deserialize(&topic, Field::Value, &[], &bytes)
        .await
        .unwrap()
}

/// `value` through Strata's `ser`, then confluent-kafka's deserializer of `format` (avro,
/// json) with `schema`: what Python read, from JSON. The topic is `interop-<format>`.
async fn strata_to_python<V: serde::de::DeserializeOwned>(
    python: &Path,
    registry: &Registry,
    (format, schema): (&str, &str),
    value: &V,
    ser: &dyn Serializer<V>,
) -> V {
    let topic = format!("interop-{format}");
    let out = ser.serialize(&topic, Field::Value, value).await.unwrap();
    let json = python_with_schema(
        python,
        registry,
        (format, schema),
        &topic,
        "deserialize",
        hex(&out.payload),
    )
    .await;
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Run [`SCRIPT`]: confluent-kafka's serializer (`mode` serialize: `input` is the value's JSON,
/// the answer hex) or deserializer (`input` hex, the answer JSON) of `format` (avro, json) with
/// `schema`, on `topic`'s value.
async fn python_with_schema(
    python: &Path,
    registry: &Registry,
    (format, schema): (&str, &str),
    topic: &str,
    mode: &str,
    input: String,
) -> String {
    python_blocking(
        python.to_path_buf(),
        SCRIPT.into(),
        vec![
            registry.url.clone(),
            format.into(),
            schema.into(),
            topic.into(),
            mode.into(),
        ],
        input,
    )
    .await
}

/// Run a Python script off the async runtime.
async fn python_blocking(
    python: PathBuf,
    script: String,
    args: Vec<String>,
    input: String,
) -> String {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_script(&python, &script, &args, &input)
    })
    .await
    .unwrap()
}

/// The files a Protobuf script builds into its `pool`, and the topic both sides write to.
#[derive(Clone, Copy)]
struct ProtoFiles {
    pool: &'static str,
    topic: &'static str,
}

/// `interop/shop.proto`.
const SHOP: ProtoFiles = ProtoFiles {
    pool: SHOP_POOL,
    topic: "interop-proto",
};

/// `interop/bill.proto`, importing `interop/money.proto`.
const BILLS: ProtoFiles = ProtoFiles {
    pool: BILL_POOL,
    topic: "interop-refs",
};

/// Run confluent-kafka's Protobuf serializer (`mode` serialize: `input` is the message's JSON,
/// the answer hex) or deserializer (`input` hex, the answer JSON) for the message `name` of
/// `files`.
async fn protobuf_python(
    python: &Path,
    registry: &Registry,
    files: ProtoFiles,
    name: &str,
    mode: &str,
    input: String,
) -> String {
    python_blocking(
        python.to_path_buf(),
        format!("{PROTOBUF_PRELUDE}{}{PROTOBUF_RUN}", files.pool),
        vec![
            registry.url.clone(),
            name.into(),
            files.topic.into(),
            mode.into(),
        ],
        input,
    )
    .await
}

/// The message `name` of `files`, given as JSON, through confluent-kafka's serializer, then
/// Strata's dynamic deserializer: the framed bytes, and what Strata read.
async fn protobuf_python_to_strata(
    python: &Path,
    registry: &Registry,
    files: ProtoFiles,
    name: &str,
    json: &str,
) -> (Vec<u8>, DynamicMessage) {
    let out = protobuf_python(python, registry, files, name, "serialize", json.into()).await;
    let bytes = unhex(out.trim());
    assert_eq!(bytes[0], 0, "{name}: magic byte");
    let m = ProtobufDynamicDeserializer::new(registry.client())
        .deserialize(Field::Value, &[], &bytes)
        .await
        .unwrap();
    assert_eq!(m.descriptor().full_name(), name);
    (bytes, m)
}

/// `m` through Strata's dynamic serializer, then confluent-kafka's deserializer for its
/// message of `files`: the framed bytes, and what Python read, as JSON.
async fn protobuf_strata_to_python(
    python: &Path,
    registry: &Registry,
    files: ProtoFiles,
    m: &DynamicMessage,
) -> (Vec<u8>, serde_json::Value) {
    let descriptor = m.descriptor();
    let ser = ProtobufDynamicSerializer::new(
        registry.client(),
        descriptor.clone(),
        SerializerConfig::default(),
    )
    .unwrap();
    let out = ser.serialize(files.topic, Field::Value, m).await.unwrap();
    let json = protobuf_python(
        python,
        registry,
        files,
        descriptor.full_name(),
        "deserialize",
        hex(&out.payload),
    )
    .await;
    let back = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    (out.payload, back)
}

fn shop() -> ProtobufSchema {
    ProtobufSchema::parse(SHOP_PROTO, &[], ParseOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bytes_from_confluent_kafka_python_decode_in_strata() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    // (message, its JSON, the message indexes on the wire, fields Strata must read)
    type Case<'a> = (&'a str, &'a str, &'a [u8], Vec<(&'a str, Value)>);
    let cases: [Case<'_>; 3] = [
        (
            "interop.Order",
            r#"{"id": "7", "lines": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 1}]}"#,
            &[0x00],
            vec![
                ("id", Value::I64(7)),
                ("lines.0.sku", Value::String("a".into())),
                ("lines.0.quantity", Value::I32(2)),
                ("lines.1.sku", Value::String("b".into())),
                ("lines.1.quantity", Value::I32(1)),
            ],
        ),
        (
            "interop.Order.Line",
            r#"{"sku": "c", "quantity": 3}"#,
            &[0x04, 0x00, 0x00],
            vec![
                ("sku", Value::String("c".into())),
                ("quantity", Value::I32(3)),
            ],
        ),
        (
            "interop.Refund",
            r#"{"order_id": "9"}"#,
            &[0x02, 0x02],
            vec![("order_id", Value::I64(9))],
        ),
    ];
    for (name, json, indexes, fields) in cases {
        let (bytes, m) = protobuf_python_to_strata(&python, &registry, SHOP, name, json).await;
        assert_eq!(
            &bytes[5..5 + indexes.len()],
            indexes,
            "{name}: message indexes"
        );
        for (path, want) in fields {
            assert_eq!(proto_field(&m, path), want, "{name}: {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bytes_from_strata_decode_in_confluent_kafka_python() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let schema = shop();

    // A nested message: indexes [0, 0].
    let mut line = DynamicMessage::new(schema.message_descriptor("interop.Order.Line").unwrap());
    line.set_field_by_name("sku", Value::String("d".into()));
    line.set_field_by_name("quantity", Value::I32(4));
    let (payload, back) = protobuf_strata_to_python(&python, &registry, SHOP, &line).await;
    let frame = wire::parse_prefix(&payload, true).unwrap();
    assert_eq!(frame.message_indexes, vec![0, 0]);
    assert_eq!(back, serde_json::json!({"sku": "d", "quantity": 4}));

    // The first message, holding nested ones: indexes [0], written as one 0x00.
    let mut order = DynamicMessage::new(schema.message_descriptor("interop.Order").unwrap());
    order.set_field_by_name("id", Value::I64(11));
    order.set_field_by_name("lines", Value::List(vec![Value::Message(line)]));
    let (payload, back) = protobuf_strata_to_python(&python, &registry, SHOP, &order).await;
    assert_eq!(payload[5], 0x00, "indexes [0] as a single zero byte");
    assert_eq!(
        back,
        serde_json::json!({"id": "11", "lines": [{"sku": "d", "quantity": 4}]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_references_registered_by_python_resolve_in_strata_and_back() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let json = r#"{"id": "3", "total": {"currency": "EUR", "cents": "1250"}, "at": "2026-01-02T03:04:05Z"}"#;
    // Strata resolves the reference when it fetches the root by id.
    let (_, m) = protobuf_python_to_strata(&python, &registry, BILLS, "interop.Bill", json).await;
    assert_eq!(proto_field(&m, "total.cents"), Value::I64(1250));
    // Python registered the import under its path and referenced it from the root.
    registry
        .assert_references(
            "interop-refs-value",
            &[("interop/money.proto", "interop/money.proto")],
        )
        .await;

    // Strata's serializer for the same files finds Python's registrations (the same import
    // subject and root), and Python reads its bytes.
    let parsed = ProtobufSchema::parse(
        BILL_PROTO,
        &[proto_dependency(
            "interop/money.proto",
            MONEY_PROTO,
            Vec::new(),
        )],
        ParseOptions::default(),
    )
    .unwrap();
    let bill = parsed.message_descriptor("interop.Bill").unwrap();
    let mut money = DynamicMessage::new(
        bill.parent_pool()
            .get_message_by_name("interop.Money")
            .unwrap(),
    );
    money.set_field_by_name("currency", Value::String("USD".into()));
    money.set_field_by_name("cents", Value::I64(99));
    let mut m = DynamicMessage::new(bill);
    m.set_field_by_name("id", Value::I64(4));
    m.set_field_by_name("total", Value::Message(money));
    let (_, back) = protobuf_strata_to_python(&python, &registry, BILLS, &m).await;
    assert_eq!(
        registry
            .get_json("/subjects/interop%2Fmoney.proto/versions")
            .await,
        serde_json::json!([1]),
        "the import is not registered twice"
    );
    assert_eq!(
        back,
        serde_json::json!({"id": "4", "total": {"currency": "USD", "cents": "99"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bytes_from_confluent_kafka_python_decode_in_strata() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let p = Person {
        name: "Grace".into(),
        age: 85,
    };
    let de = JsonDeserializer::<Person>::new(registry.client());
    let back = python_to_strata(&python, &registry, ("json", PERSON), &p, &de).await;
    assert_eq!(back, p);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bytes_from_strata_decode_in_confluent_kafka_python() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let ser = JsonSerializer::<Person>::new(registry.client(), PERSON, SerializerConfig::default())
        .unwrap();
    let p = Person {
        name: "Edsger".into(),
        age: 72,
    };
    let back = strata_to_python(&python, &registry, ("json", PERSON), &p, &ser).await;
    assert_eq!(back, p);
}
