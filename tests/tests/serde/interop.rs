//! Bytes written by confluent-kafka for Python's serializers decode in Strata, and Strata's
//! decode in Python. Uses the venv `scripts/test.sh` creates (target/interop-venv); without it
//! the tests say so and pass, as the venv is CI's to provide.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use strata_serde::{AvroDeserializer, AvroSerializer, Field, SerializerConfig};

use crate::avro::{order, Order, ORDER_V1};
use crate::harness::Registry;

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

fn run(python: &PathBuf, url: &str, mode: &str, input: &str) -> String {
    let mut child = Command::new(python)
        .args(["-c", SCRIPT, url, ORDER_V1, mode])
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
