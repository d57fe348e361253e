//! Bytes written by confluent-kafka for Python's serializers (Avro, Protobuf with a nested
//! message and with an imported file as a schema reference, JSON Schema) decode in Strata, and
//! Strata's decode in Python, through one
//! `strata serve`-equivalent registry. Uses the venv `scripts/test.sh` creates
//! (target/interop-venv); without it the tests say so and pass, as the venv is CI's to provide.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use strata_schema::{FormatSchema, ParseOptions, ProtobufSchema};
use strata_serde::{
    wire, AvroDeserializer, AvroSerializer, Field, JsonDeserializer, JsonSerializer,
    ProtobufDynamicDeserializer, ProtobufDynamicSerializer, SerializerConfig,
};

use crate::avro::{order, Order, ORDER_V1};
use crate::harness::Registry;
use crate::json::{Person, PERSON};

const SCRIPT: &str = r#"
import json, sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

url, schema, mode = sys.argv[1], sys.argv[2], sys.argv[3]
client = SchemaRegistryClient({"url": url})
ctx = SerializationContext("interop", MessageField.VALUE)
data = sys.stdin.read()
if mode == "serialize":
    sys.stdout.write(AvroSerializer(client, schema)(json.loads(data), ctx).hex())
else:
    sys.stdout.write(json.dumps(AvroDeserializer(client)(bytes.fromhex(data), ctx)))
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

/// confluent-kafka's ProtobufSerializer/Deserializer for `interop.Order`, its nested
/// `interop.Order.Line` and a second message `interop.Refund`, with classes built at run time
/// (no protoc); argv: url, message name, mode. Decoded messages are printed as JSON with the
/// .proto field names.
const PROTOBUF_SCRIPT: &str = r#"
import json, sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

T = descriptor_pb2.FieldDescriptorProto
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
pool = descriptor_pool.DescriptorPool()
pool.Add(fdp)

url, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
client = SchemaRegistryClient({"url": url})
conf = {"use.deprecated.format": False}
ctx = SerializationContext("interop-proto", MessageField.VALUE)
data = sys.stdin.read()
if mode == "serialize":
    msg = json_format.Parse(data, cls())
    sys.stdout.write(ProtobufSerializer(cls, client, conf)(msg, ctx).hex())
else:
    msg = ProtobufDeserializer(cls, conf)(bytes.fromhex(data), ctx)
    sys.stdout.write(json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=None))
"#;

/// The same file as [`PROTOBUF_SCRIPT`] builds, as .proto text.
const SHOP_PROTO: &str = r#"syntax = "proto3";
package interop;
message Order {
  int64 id = 1;
  message Line { string sku = 1; int32 quantity = 2; }
  repeated Line lines = 2;
}
message Refund { int64 order_id = 1; }
"#;

/// confluent-kafka's ProtobufSerializer/Deserializer for `interop.Bill`, whose file
/// `interop/bill.proto` imports `interop/money.proto` (a schema reference) and the well-known
/// `google/protobuf/timestamp.proto` (never one); argv: url, mode. Python registers the import
/// first, under its import path, as Strata must read it.
const PROTOBUF_REFS_SCRIPT: &str = r#"
import sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf import timestamp_pb2

T = descriptor_pb2.FieldDescriptorProto
pool = descriptor_pool.DescriptorPool()
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

url, mode = sys.argv[1], sys.argv[2]
cls = message_factory.GetMessageClass(pool.FindMessageTypeByName("interop.Bill"))
client = SchemaRegistryClient({"url": url})
conf = {"use.deprecated.format": False}
ctx = SerializationContext("interop-refs", MessageField.VALUE)
data = sys.stdin.read()
if mode == "serialize":
    msg = json_format.Parse(data, cls())
    sys.stdout.write(ProtobufSerializer(cls, client, conf)(msg, ctx).hex())
else:
    msg = ProtobufDeserializer(cls, conf)(bytes.fromhex(data), ctx)
    sys.stdout.write(json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=None))
"#;

/// The files [`PROTOBUF_REFS_SCRIPT`] builds, as .proto text.
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

/// confluent-kafka's JSONSerializer/JSONDeserializer; argv: url, schema, mode. The
/// deserializer reads with the registry's copy of the writer schema.
const JSON_SCRIPT: &str = r#"
import json, sys
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

url, schema, mode = sys.argv[1], sys.argv[2], sys.argv[3]
client = SchemaRegistryClient({"url": url})
ctx = SerializationContext("interop-json", MessageField.VALUE)
data = sys.stdin.read()
if mode == "serialize":
    sys.stdout.write(JSONSerializer(schema, client)(json.loads(data), ctx).hex())
else:
    value = JSONDeserializer(None, schema_registry_client=client)(bytes.fromhex(data), ctx)
    sys.stdout.write(json.dumps(value))
"#;

fn run(python: &PathBuf, url: &str, mode: &str, input: &str) -> String {
    run_script(python, SCRIPT, &[url, ORDER_V1, mode], input)
}

/// Run `script` with `args`, `input` on stdin; its stdout, or a failure with its stderr.
fn run_script(python: &PathBuf, script: &str, args: &[&str], input: &str) -> String {
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
    let input = serde_json::to_string(&order()).unwrap();
    let url = registry.url.clone();
    let out = tokio::task::spawn_blocking(move || run(&python, &url, "serialize", &input))
        .await
        .unwrap();
    let bytes = unhex(out.trim());
    assert_eq!(bytes[0], 0, "magic byte");
    let de = AvroDeserializer::<Order>::new(registry.client());
    assert_eq!(
        de.deserialize(Field::Value, &[], &bytes).await.unwrap(),
        order()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avro_bytes_from_strata_decode_in_confluent_kafka_python() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let ser =
        AvroSerializer::<Order>::new(registry.client(), ORDER_V1, SerializerConfig::default())
            .unwrap();
    let out = ser
        .serialize("interop", Field::Value, &order())
        .await
        .unwrap();
    let url = registry.url.clone();
    let input = hex(&out.payload);
    let json = tokio::task::spawn_blocking(move || run(&python, &url, "deserialize", &input))
        .await
        .unwrap();
    let back: Order = serde_json::from_str(&json).unwrap();
    assert_eq!(back, order());
}

/// Run a Python script off the async runtime.
async fn python_blocking(
    python: PathBuf,
    script: &'static str,
    args: Vec<String>,
    input: String,
) -> String {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_script(&python, script, &args, &input)
    })
    .await
    .unwrap()
}

fn shop() -> ProtobufSchema {
    ProtobufSchema::parse(SHOP_PROTO, &[], ParseOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bytes_from_confluent_kafka_python_decode_in_strata() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let de = ProtobufDynamicDeserializer::new(registry.client());
    // (message, its JSON, the message indexes on the wire)
    let cases: [(&str, &str, &[u8]); 3] = [
        (
            "interop.Order",
            r#"{"id": "7", "lines": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 1}]}"#,
            &[0x00],
        ),
        (
            "interop.Order.Line",
            r#"{"sku": "c", "quantity": 3}"#,
            &[0x04, 0x00, 0x00],
        ),
        ("interop.Refund", r#"{"order_id": "9"}"#, &[0x02, 0x02]),
    ];
    for (name, json, indexes) in cases {
        let out = python_blocking(
            python.clone(),
            PROTOBUF_SCRIPT,
            vec![registry.url.clone(), name.into(), "serialize".into()],
            json.into(),
        )
        .await;
        let bytes = unhex(out.trim());
        assert_eq!(bytes[0], 0, "{name}: magic byte");
        assert_eq!(
            &bytes[5..5 + indexes.len()],
            indexes,
            "{name}: message indexes"
        );
        let m = de.deserialize(Field::Value, &[], &bytes).await.unwrap();
        assert_eq!(m.descriptor().full_name(), name);
        match name {
            "interop.Order" => {
                assert_eq!(m.get_field_by_name("id").as_deref(), Some(&Value::I64(7)));
                let lines = m.get_field_by_name("lines").unwrap();
                let lines = lines.as_list().unwrap();
                assert_eq!(lines.len(), 2);
                let first = lines[0].as_message().unwrap();
                assert_eq!(
                    first.get_field_by_name("sku").as_deref(),
                    Some(&Value::String("a".into()))
                );
                assert_eq!(
                    first.get_field_by_name("quantity").as_deref(),
                    Some(&Value::I32(2))
                );
            }
            "interop.Order.Line" => {
                assert_eq!(
                    m.get_field_by_name("sku").as_deref(),
                    Some(&Value::String("c".into()))
                );
                assert_eq!(
                    m.get_field_by_name("quantity").as_deref(),
                    Some(&Value::I32(3))
                );
            }
            _ => assert_eq!(
                m.get_field_by_name("order_id").as_deref(),
                Some(&Value::I64(9))
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_bytes_from_strata_decode_in_confluent_kafka_python() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let schema = shop();

    // A nested message: indexes [0, 0].
    let line = schema.message_descriptor("interop.Order.Line").unwrap();
    let mut m = DynamicMessage::new(line.clone());
    m.set_field_by_name("sku", Value::String("d".into()));
    m.set_field_by_name("quantity", Value::I32(4));
    let ser = ProtobufDynamicSerializer::new(registry.client(), line, SerializerConfig::default())
        .unwrap();
    let out = ser
        .serialize("interop-proto", Field::Value, &m)
        .await
        .unwrap();
    let frame = wire::parse_prefix(&out.payload, true).unwrap();
    assert_eq!(frame.message_indexes, vec![0, 0]);
    let json = python_blocking(
        python.clone(),
        PROTOBUF_SCRIPT,
        vec![
            registry.url.clone(),
            "interop.Order.Line".into(),
            "deserialize".into(),
        ],
        hex(&out.payload),
    )
    .await;
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back, serde_json::json!({"sku": "d", "quantity": 4}));

    // The first message, holding nested ones: indexes [0], written as one 0x00.
    let order_type = schema.message_descriptor("interop.Order").unwrap();
    let mut order = DynamicMessage::new(order_type.clone());
    order.set_field_by_name("id", Value::I64(11));
    order.set_field_by_name("lines", Value::List(vec![Value::Message(m)]));
    let ser =
        ProtobufDynamicSerializer::new(registry.client(), order_type, SerializerConfig::default())
            .unwrap();
    let out = ser
        .serialize("interop-proto", Field::Value, &order)
        .await
        .unwrap();
    assert_eq!(out.payload[5], 0x00, "indexes [0] as a single zero byte");
    let json = python_blocking(
        python,
        PROTOBUF_SCRIPT,
        vec![
            registry.url.clone(),
            "interop.Order".into(),
            "deserialize".into(),
        ],
        hex(&out.payload),
    )
    .await;
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
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
    let out = python_blocking(
        python.clone(),
        PROTOBUF_REFS_SCRIPT,
        vec![registry.url.clone(), "serialize".into()],
        json.into(),
    )
    .await;
    let bytes = unhex(out.trim());
    // Python registered the import under its path and referenced it from the root.
    let root: serde_json::Value = reqwest::get(format!(
        "{}/subjects/interop-refs-value/versions/1",
        registry.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        root["references"],
        serde_json::json!([{"name": "interop/money.proto", "subject": "interop/money.proto", "version": 1}]),
        "{root}"
    );
    // Strata resolves the reference when it fetches the root by id.
    let m = ProtobufDynamicDeserializer::new(registry.client())
        .deserialize(Field::Value, &[], &bytes)
        .await
        .unwrap();
    assert_eq!(m.descriptor().full_name(), "interop.Bill");
    let total = m.get_field_by_name("total").unwrap();
    assert_eq!(
        total
            .as_message()
            .unwrap()
            .get_field_by_name("cents")
            .as_deref(),
        Some(&Value::I64(1250))
    );

    // Strata's serializer for the same files finds Python's registrations (the same import
    // subject and root), and Python reads its bytes.
    let parsed = ProtobufSchema::parse(
        BILL_PROTO,
        &[strata_schema::Dependency {
            name: "interop/money.proto".into(),
            subject: "interop/money.proto".into(),
            version: 1,
            schema_type: strata_schema::SchemaType::Protobuf,
            schema: MONEY_PROTO.into(),
            dependencies: Vec::new(),
        }],
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
    let mut m = DynamicMessage::new(bill.clone());
    m.set_field_by_name("id", Value::I64(4));
    m.set_field_by_name("total", Value::Message(money));
    let ser = ProtobufDynamicSerializer::new(registry.client(), bill, SerializerConfig::default())
        .unwrap();
    let out = ser
        .serialize("interop-refs", Field::Value, &m)
        .await
        .unwrap();
    let money_versions: Vec<i32> = reqwest::get(format!(
        "{}/subjects/interop%2Fmoney.proto/versions",
        registry.url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        money_versions,
        vec![1],
        "the import is not registered twice"
    );
    let json = python_blocking(
        python,
        PROTOBUF_REFS_SCRIPT,
        vec![registry.url.clone(), "deserialize".into()],
        hex(&out.payload),
    )
    .await;
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back,
        serde_json::json!({"id": "4", "total": {"currency": "USD", "cents": "99"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bytes_from_confluent_kafka_python_decode_in_strata() {
    let Some(python) = python() else { return };
    let registry = Registry::start().await;
    let out = python_blocking(
        python,
        JSON_SCRIPT,
        vec![registry.url.clone(), PERSON.into(), "serialize".into()],
        r#"{"name": "Grace", "age": 85}"#.into(),
    )
    .await;
    let bytes = unhex(out.trim());
    assert_eq!(bytes[0], 0, "magic byte");
    let de = JsonDeserializer::<Person>::new(registry.client());
    assert_eq!(
        de.deserialize(Field::Value, &[], &bytes).await.unwrap(),
        Person {
            name: "Grace".into(),
            age: 85
        }
    );
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
    let out = ser
        .serialize("interop-json", Field::Value, &p)
        .await
        .unwrap();
    let json = python_blocking(
        python,
        JSON_SCRIPT,
        vec![registry.url.clone(), PERSON.into(), "deserialize".into()],
        hex(&out.payload),
    )
    .await;
    let back: Person = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
}
