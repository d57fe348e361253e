//! `strata encode`, `decode`, `produce` and `consume`: the real binary against a real
//! `strata serve`, the bundled broker in a temp dir, and Kafka (librdkafka's mock cluster).

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use strata_broker::{Broker, ProducerRecord};

use crate::harness::golden;
use crate::serve::{spawn_serve_on_any_port, wait_up};

const USER_V1: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[
    {"name":"id","type":"long"},{"name":"name","type":"string"},
    {"name":"email","type":["null","string"],"default":null},
    {"name":"avatar","type":"bytes","default":""}]}"#;
/// `name` changes type: BACKWARD incompatible with V1.
const USER_BAD: &str = r#"{"type":"record","name":"User","namespace":"acme","fields":[
    {"name":"id","type":"long"},{"name":"name","type":"int"}]}"#;
const PERSON: &str = r#"{"type":"object","title":"Person","properties":{"name":{"type":"string"},
    "age":{"type":"integer","minimum":0}},"required":["name"],"additionalProperties":false}"#;
const ORDER_PROTO: &str = r#"syntax = "proto3";
package shop;
message Order { int64 id = 1; string item = 2; repeated string tags = 3; Line line = 4;
  message Line { bool gift = 1; } }
message Refund { string reason = 1; }
"#;

/// A `strata serve` on a fresh SQLite file, and a temp dir for schema files and the log.
struct Env {
    dir: tempfile::TempDir,
    base: String,
    server: Child,
}

impl Env {
    async fn start() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let (server, port) =
            spawn_serve_on_any_port(&format!("sqlite://{}/r.db", dir.path().display()));
        let base = format!("http://127.0.0.1:{port}");
        wait_up(&base).await;
        for (name, text) in [
            ("user.avsc", USER_V1),
            ("user-bad.avsc", USER_BAD),
            ("person.json", PERSON),
            ("order.proto", ORDER_PROTO),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write schema");
        }
        Env { dir, base, server }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn log_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("log")
    }

    /// Run `strata args...` with `stdin`, against this registry and log dir.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Out {
        run_with(args, stdin, &self.base, &self.log_dir())
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

struct Out {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Out {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    fn assert_ok(&self, what: &str) -> &Self {
        assert_eq!(self.code, 0, "{what}: {}{}", self.text(), self.stderr);
        self
    }

    /// A negative result (exit 1): data that does not fit, something the registry lacks.
    fn assert_clear_error(&self, what: &str, needle: &str) {
        self.assert_error_with_code(what, needle, 1);
    }

    /// The command could not run (exit 2): usage, configuration, files, network.
    fn assert_usage_error(&self, what: &str, needle: &str) {
        self.assert_error_with_code(what, needle, 2);
    }

    fn assert_error_with_code(&self, what: &str, needle: &str, code: i32) {
        assert_eq!(self.code, code, "{what}: {}{}", self.text(), self.stderr);
        assert!(
            self.stderr.contains(needle),
            "{what}: stderr lacks '{needle}': {}",
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "{what}: {}", self.stderr);
    }
}

fn run_with(args: &[&str], stdin: &[u8], registry: &str, log_dir: &Path) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .env("STRATA_REGISTRY_URL", registry)
        .env("STRATA_LOG_DIR", log_dir)
        .env_remove("STRATA_BOOTSTRAP_SERVERS")
        .env("STRATA_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata runs");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("strata finishes");
    writer.join().expect("stdin writer");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn lines(values: &[Value]) -> Vec<u8> {
    values
        .iter()
        .map(|v| format!("{v}\n"))
        .collect::<String>()
        .into_bytes()
}

#[tokio::test]
async fn encode_then_decode_round_trips_avro_json_schema_and_protobuf() {
    let env = Env::start().await;
    // (what, subject, schema file, extra flags, input, expected output)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<&'a str>,
        Vec<Value>,
        Vec<Value>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            "avro",
            "users-value",
            "user.avsc",
            vec![],
            // Plain and wrapped unions in; bytes as ISO-8859-1 characters.
            vec![
                json!({"id": 1, "name": "ada"}),
                json!({"id": 2, "name": "bob", "email": "b@x", "avatar": "\u{00ff}\u{0001}"}),
                json!({"id": 3, "name": "cy", "email": {"string": "c@x"}}),
            ],
            vec![
                json!({"id": 1, "name": "ada", "email": null, "avatar": ""}),
                json!({"id": 2, "name": "bob", "email": {"string": "b@x"}, "avatar": "\u{00ff}\u{0001}"}),
                json!({"id": 3, "name": "cy", "email": {"string": "c@x"}, "avatar": ""}),
            ],
        ),
        (
            "json schema",
            "people-value",
            "person.json",
            vec![],
            vec![json!({"name": "ada", "age": 36}), json!({"name": "bob"})],
            vec![json!({"name": "ada", "age": 36}), json!({"name": "bob"})],
        ),
        (
            "protobuf, first message",
            "orders-value",
            "order.proto",
            vec![],
            vec![json!({"id": "7", "item": "pen", "tags": ["a"], "line": {"gift": true}})],
            vec![json!({"id": "7", "item": "pen", "tags": ["a"], "line": {"gift": true}})],
        ),
        (
            "protobuf, a named message",
            "orders-value",
            "order.proto",
            vec!["--message", "shop.Refund"],
            vec![json!({"reason": "late"})],
            vec![json!({"reason": "late"})],
        ),
        (
            "protobuf, a nested message (indexes [0, 0])",
            "orders-value",
            "order.proto",
            vec!["--message", "shop.Order.Line"],
            vec![json!({"gift": true}), json!({})],
            // Fields at their default value are printed.
            vec![json!({"gift": true}), json!({"gift": false})],
        ),
    ];
    for (what, subject, file, extra, input, expected) in cases {
        let file = env.path(file);
        let mut args = vec![
            "encode",
            "--subject",
            subject,
            "--auto-register",
            "--schema",
        ];
        args.push(&file);
        args.extend(extra);
        let encoded = env.run(&args, &lines(&input));
        encoded.assert_ok(what);
        assert_eq!(encoded.text().lines().count(), input.len(), "{what}");
        let decoded = env.run(&["decode"], &encoded.stdout);
        decoded.assert_ok(what);
        assert_eq!(decoded.json_lines(), expected, "{what}");
    }

    // A schema file with a reference to a schema under another subject.
    std::fs::write(
        env.dir.path().join("address.avsc"),
        r#"{"type":"record","name":"Address","namespace":"acme","fields":[{"name":"zip","type":"string"}]}"#,
    )
    .unwrap();
    std::fs::write(
        env.dir.path().join("customer.avsc"),
        r#"{"type":"record","name":"Customer","namespace":"acme","fields":[{"name":"home","type":"acme.Address"}]}"#,
    )
    .unwrap();
    env.run(
        &[
            "encode",
            "--subject",
            "address-value",
            "--schema",
            &env.path("address.avsc"),
            "--auto-register",
        ],
        b"{\"zip\": \"1\"}",
    )
    .assert_ok("register the referenced schema");
    let encoded = env.run(
        &[
            "encode",
            "--subject",
            "customers-value",
            "--schema",
            &env.path("customer.avsc"),
            "--reference",
            "acme.Address:address-value:1",
            "--auto-register",
        ],
        b"{\"home\": {\"zip\": \"12345\"}}",
    );
    encoded.assert_ok("a schema with a reference");
    let decoded = env.run(&["decode"], &encoded.stdout);
    decoded.assert_ok("decode with a reference");
    assert_eq!(
        decoded.json_lines(),
        vec![json!({"home": {"zip": "12345"}})]
    );

    // Hex and binary encodings, the latest version, a GUID prefix, and --with-schema-id.
    let one = lines(&[json!({"id": 9, "name": "zed"})]);
    let hex = env.run(
        &["encode", "--subject", "users-value", "--encoding", "hex"],
        &one,
    );
    hex.assert_ok("hex");
    assert!(hex.text().starts_with("00000000"), "{}", hex.text());
    let back = env.run(
        &["decode", "--encoding", "hex", "--with-schema-id"],
        &hex.stdout,
    );
    back.assert_ok("hex decode");
    let shown = &back.json_lines()[0];
    assert_eq!(shown["value"]["name"], "zed");
    assert_eq!(shown["subjects"][0]["subject"], "users-value", "{shown}");
    let id = shown["schema_id"].as_i64().expect("schema id");

    let bin = env.run(
        &[
            "encode",
            "--schema-id",
            &id.to_string(),
            "--encoding",
            "binary",
            "--id-placement",
            "guid-prefix",
        ],
        &one,
    );
    bin.assert_ok("binary, guid prefix");
    assert_eq!(bin.stdout[0], 1, "magic byte 1 and a GUID");
    let back = env.run(
        &["decode", "--encoding", "binary", "--with-schema-id"],
        &bin.stdout,
    );
    back.assert_ok("binary decode");
    assert_eq!(back.json_lines()[0]["value"]["id"], 9);
    assert!(back.json_lines()[0]["schema_guid"].is_string());
}

#[tokio::test]
async fn decode_reads_what_the_library_serializers_wrote() {
    let env = Env::start().await;
    let client =
        strata_serde::RegistryClient::new(strata_serde::RegistryConfig::new(&env.base)).unwrap();
    use apache_avro::types::Value as Avro;
    let avro = strata_serde::AvroValueSerializer::new(
        client.clone(),
        USER_V1,
        strata_serde::SerializerConfig::default(),
    )
    .unwrap();
    let user = Avro::Record(vec![
        ("id".into(), Avro::Long(5)),
        ("name".into(), Avro::String("eve".into())),
        (
            "email".into(),
            Avro::Union(1, Box::new(Avro::String("e@x".into()))),
        ),
        ("avatar".into(), Avro::Bytes(vec![0, 255])),
    ]);
    let bytes = avro
        .serialize("users", strata_serde::wire::Field::Value, &user)
        .await
        .unwrap()
        .payload;
    let out = env.run(&["decode", "--encoding", "binary"], &bytes);
    out.assert_ok("avro from the library");
    assert_eq!(
        out.json_lines(),
        vec![
            json!({"id": 5, "name": "eve", "email": {"string": "e@x"}, "avatar": "\u{0000}\u{00ff}"})
        ]
    );

    let json_ser = strata_serde::JsonSerializer::<Value>::new(
        client,
        PERSON,
        strata_serde::SerializerConfig::default(),
    )
    .unwrap();
    let bytes = json_ser
        .serialize(
            "people",
            strata_serde::wire::Field::Value,
            &json!({"name": "ada", "age": 1}),
        )
        .await
        .unwrap()
        .payload;
    let out = env.run(&["decode", "--encoding", "binary"], &bytes);
    out.assert_ok("json from the library");
    assert_eq!(out.json_lines(), vec![json!({"name": "ada", "age": 1})]);
}

#[tokio::test]
async fn bad_values_schemas_and_bytes_are_clear_errors_and_write_nothing() {
    let env = Env::start().await;
    let user = env.path("user.avsc");
    env.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--schema",
            &user,
            "--auto-register",
        ],
        b"{\"id\": 1, \"name\": \"a\"}",
    )
    .assert_ok("register");

    // A value that does not fit: exit 1, the path in the message, nothing on stdout.
    let out = env.run(
        &["encode", "--subject", "users-value"],
        b"{\"id\": \"x\", \"name\": \"a\"}\n",
    );
    out.assert_clear_error("invalid value", "at $.id: expected a long");
    assert!(out.stdout.is_empty());
    let out = env.run(&["encode", "--subject", "users-value"], b"{\"id\": 1,\n");
    out.assert_clear_error("malformed JSON", "is not JSON (line 2");
    let out = env.run(
        &[
            "encode",
            "--subject",
            "people-value",
            "--schema",
            &env.path("person.json"),
        ],
        b"{\"name\": \"a\"}",
    );
    out.assert_clear_error("not registered", "pass --auto-register");

    // An incompatible schema: the registry's messages, nothing written anywhere.
    let bad = env.path("user-bad.avsc");
    let out = env.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--schema",
            &bad,
            "--auto-register",
        ],
        b"{\"id\": 1, \"name\": 2}",
    );
    out.assert_clear_error("incompatible (encode)", "TYPE_MISMATCH");
    assert!(out.stdout.is_empty());
    let out = env.run(
        &[
            "produce",
            "users",
            "--value-schema",
            &bad,
            "--auto-register",
        ],
        b"{\"id\": 1, \"name\": 2}\n",
    );
    out.assert_clear_error("incompatible (produce)", "as incompatible");
    let broker = Broker::open_or_create(env.log_dir()).unwrap();
    assert!(
        broker.describe_topic("users").is_err(),
        "no topic was created, nothing was written"
    );

    // An invalid line in produce: rejected with its line number, never written.
    let out = env.run(
        &["produce", "users"],
        b"{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2}\n{\"id\": 3, \"name\": \"c\"}\n",
    );
    out.assert_clear_error("produce, invalid line", "line 2 rejected");
    assert!(
        out.stderr.contains("1 record(s) produced"),
        "{}",
        out.stderr
    );
    assert_eq!(broker.offsets("users", 0).unwrap(), (0, 1), "only line 1");
    let out = env.run(
        &["produce", "users", "--on-invalid", "skip"],
        b"{\"id\": 1, \"name\": \"a\"}\nnot json\n{\"id\": 3, \"name\": \"c\"}\n",
    );
    out.assert_clear_error("produce, skip", "1 line(s) were rejected");
    assert!(out.stderr.contains("line 2 rejected"), "{}", out.stderr);
    assert_eq!(broker.offsets("users", 0).unwrap(), (0, 3), "lines 1 and 3");
    // A bare null line is a value like any other: here not a User, so not a tombstone.
    env.run(&["produce", "users"], b"null\n")
        .assert_clear_error("bare null", "expected record acme.User");
    assert_eq!(broker.offsets("users", 0).unwrap(), (0, 3));

    let out = env.run(
        &["encode", "--subject", "users-value", "--encoding", "binary"],
        b"{\"id\": 1, \"name\": \"a\"}\n{\"id\": 2, \"name\": \"b\"}\n",
    );
    out.assert_usage_error("binary holds one record", "exactly one record");

    // Unknown ids, garbage, truncated frames, text that is not base64 or hex.
    for (what, args, input, needle) in [
        (
            "unknown id",
            vec!["decode"],
            &b"AAAAAGMC\n"[..],
            "schema id 99, which the registry at",
        ),
        (
            "garbage",
            vec!["decode"],
            b"QUJD\n",
            "unknown magic byte 0x41",
        ),
        (
            "truncated id",
            vec!["decode", "--encoding", "hex"],
            b"0000\n",
            "needs 4 bytes after the magic byte",
        ),
        (
            "truncated datum",
            vec!["decode", "--encoding", "hex"],
            b"000000000102\n",
            "not valid Avro",
        ),
        (
            "not base64",
            vec!["decode"],
            b"**\n",
            "record 1 (line 1) cannot be decoded",
        ),
        (
            "not hex",
            vec!["decode", "--encoding", "hex"],
            b"zz\n",
            "is not hex",
        ),
        (
            "empty binary",
            vec!["decode", "--encoding", "binary"],
            b"",
            "the payload is empty",
        ),
    ] {
        env.run(&args, input).assert_clear_error(what, needle);
    }
}

fn consume(env: &Env, extra: &[&str]) -> Out {
    let mut args = vec!["consume", "users", "--idle-timeout", "1s"];
    args.extend_from_slice(extra);
    env.run(&args, b"")
}

#[tokio::test]
async fn produce_then_consume_round_trips_on_the_bundled_broker() {
    let env = Env::start().await;
    let user = env.path("user.avsc");
    let input = lines(&[
        json!({"key": "k1", "value": {"id": 1, "name": "ada"}, "headers": {"trace": "t1"}}),
        json!({"key": "k2", "value": {"id": 2, "name": "bob"}, "partition": 1}),
        json!({"key": "k3", "value": {"id": 3, "name": "cy"}, "partition": 1}),
        json!({"key": "k4"}),
    ]);
    let out = env.run(
        &[
            "produce",
            "users",
            "--value-schema",
            &user,
            "--auto-register",
            "--with-keys",
            "--partitions",
            "2",
            "--acks",
            "all",
        ],
        &input,
    );
    out.assert_ok("produce");
    assert!(
        out.stderr.contains("4 record(s) produced"),
        "{}",
        out.stderr
    );

    let all = consume(&env, &["--from-beginning"]);
    all.assert_ok("consume all");
    let mut records = all.json_lines();
    records.sort_by_key(|r| r["key"].as_str().map(str::to_string));
    assert_eq!(records.len(), 4, "{}", all.text());
    assert_eq!(
        records[0]["value"],
        json!({"id": 1, "name": "ada", "email": null, "avatar": ""})
    );
    assert_eq!(records[0]["headers"], json!({"trace": "t1"}));
    assert!(records[0]["schema_id"].is_i64());
    assert_eq!(records[1]["partition"], 1);
    assert_eq!(records[3]["value"], Value::Null, "a tombstone");

    // Without --from-beginning and without a group: only new records.
    consume(&env, &[]).assert_ok("latest");
    assert!(consume(&env, &[]).stdout.is_empty());

    // A group resumes where it left off.
    let mut p1: Vec<&Value> = records.iter().filter(|r| r["partition"] == 1).collect();
    p1.sort_by_key(|r| r["offset"].as_i64());
    let p1_keys: Vec<Value> = p1.iter().map(|r| r["key"].clone()).collect();
    assert!(p1_keys.len() >= 2, "k2 and k3 were sent to partition 1");
    let first = consume(
        &env,
        &[
            "--group",
            "g",
            "--from-beginning",
            "--partition",
            "1",
            "--max-messages",
            "1",
        ],
    );
    first.assert_ok("group, first run");
    assert_eq!(first.json_lines()[0]["key"], p1_keys[0]);
    let rest = consume(
        &env,
        &["--group", "g", "--from-beginning", "--partition", "1"],
    );
    rest.assert_ok("group, second run");
    let keys: Vec<Value> = rest.json_lines().iter().map(|r| r["key"].clone()).collect();
    assert_eq!(keys, p1_keys[1..].to_vec());
    let subscribed = consume(
        &env,
        &["--group", "h", "--from-beginning", "--max-messages", "3"],
    );
    subscribed.assert_ok("subscribed group, first run");
    let again = consume(&env, &["--group", "h"]);
    again.assert_ok("subscribed group, second run");
    assert_eq!(
        subscribed.json_lines().len() + again.json_lines().len(),
        4,
        "{}\n{}",
        subscribed.text(),
        again.text()
    );

    // Explicit starting points.
    let from_offset = consume(&env, &["--partition", "1", "--offset", "1", "--value-only"]);
    from_offset.assert_ok("--offset");
    assert_eq!(from_offset.json_lines().len(), p1_keys.len() - 1);
    let since_epoch = consume(&env, &["--from-timestamp", "1970-01-02T00:00:00Z"]);
    since_epoch.assert_ok("--from-timestamp, old");
    assert_eq!(since_epoch.json_lines().len(), 4);
    let future = consume(&env, &["--from-timestamp", "4102444800000"]);
    future.assert_ok("--from-timestamp, future");
    assert!(future.stdout.is_empty());

    // A garbage record written raw by the broker API: fail, skip (counted), dead-letter.
    let broker = Broker::open_or_create(env.log_dir()).unwrap();
    broker
        .producer(Default::default())
        .send(ProducerRecord::new("users", "garbage").with_partition(0))
        .unwrap();
    let failed = consume(&env, &["--from-beginning", "--partition", "0"]);
    failed.assert_clear_error("fail policy", "unknown magic byte 0x67");
    failed.assert_clear_error("fail policy", "at offset");
    // An unknown schema id, in a partition of its own topic.
    broker
        .create_topic("unknown-ids", 1, Default::default())
        .unwrap();
    broker
        .producer(Default::default())
        .send(ProducerRecord::new(
            "unknown-ids",
            vec![0u8, 0, 0, 3, 231, 2],
        ))
        .unwrap();
    env.run(
        &[
            "consume",
            "unknown-ids",
            "--from-beginning",
            "--idle-timeout",
            "1s",
        ],
        b"",
    )
    .assert_clear_error("unknown id", "schema id 999, which the registry at");
    let skipped = consume(
        &env,
        &["--from-beginning", "--on-error", "skip", "--value-only"],
    );
    skipped.assert_ok("skip policy");
    assert_eq!(skipped.json_lines().len(), 4);
    assert!(skipped.stderr.contains("1 skipped"), "{}", skipped.stderr);
    assert!(
        skipped.stderr.contains("skipping a record"),
        "a log line: {}",
        skipped.stderr
    );
    let dlq = consume(&env, &["--from-beginning", "--on-error", "dlq:users-dlq"]);
    dlq.assert_ok("dead-letter policy");
    assert!(dlq.stderr.contains("1 dead-lettered"), "{}", dlq.stderr);
    let c = broker
        .consumer(strata_broker::ConsumerConfig::default())
        .unwrap();
    let tp = strata_broker::TopicPartition::new("users-dlq", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    c.seek_to_beginning(&tp).unwrap();
    let dead = c.poll(Duration::from_secs(2)).unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].value.as_deref(), Some(&b"garbage"[..]));
}

#[tokio::test]
async fn keys_with_schemas_and_header_placed_ids_round_trip() {
    let env = Env::start().await;
    std::fs::write(env.dir.path().join("key.avsc"), r#""string""#).unwrap();
    let out = env.run(
        &[
            "produce",
            "users",
            "--with-keys",
            "--key-schema",
            &env.path("key.avsc"),
            "--value-schema",
            &env.path("user.avsc"),
            "--auto-register",
            "--id-placement",
            "header",
        ],
        &lines(&[json!({"key": "k1", "value": {"id": 1, "name": "ada"}})]),
    );
    out.assert_ok("produce, header placement");
    let out = consume(&env, &["--from-beginning", "--key-format", "schema"]);
    out.assert_ok("consume, header placement");
    let record = &out.json_lines()[0];
    assert_eq!(record["key"], "k1");
    assert_eq!(record["value"]["name"], "ada");
    assert!(record["schema_id"].is_string(), "a GUID: {record}");
    assert!(record["headers"]["__value_schema_id"]["base64"].is_string());
    assert!(record["headers"]["__key_schema_id"]["base64"].is_string());

    // acks=0: buffered in the producer, written before the command ends.
    env.run(
        &[
            "produce",
            "users",
            "--acks",
            "0",
            "--value-subject",
            "users-value",
        ],
        &lines(&[json!({"id": 2, "name": "bob"})]),
    )
    .assert_ok("acks=0");
    let out = consume(&env, &["--from-beginning", "--value-only"]);
    assert_eq!(out.json_lines().len(), 2, "{}{}", out.text(), out.stderr);

    // Protobuf and JSON Schema values through a topic too.
    for (topic, file, value) in [
        (
            "orders",
            "order.proto",
            json!({"id": "7", "item": "pen", "tags": [], "line": {"gift": true}}),
        ),
        ("people", "person.json", json!({"name": "ada", "age": 3})),
    ] {
        env.run(
            &[
                "produce",
                topic,
                "--value-schema",
                &env.path(file),
                "--auto-register",
            ],
            &lines(std::slice::from_ref(&value)),
        )
        .assert_ok(topic);
        let out = env.run(
            &[
                "consume",
                topic,
                "--from-beginning",
                "--idle-timeout",
                "1s",
                "--value-only",
            ],
            b"",
        );
        out.assert_ok(topic);
        assert_eq!(out.json_lines(), vec![value], "{topic}");
    }

    // The raw bytes of a header-placed record are bare: decode needs the frame.
    let broker = Broker::open_or_create(env.log_dir()).unwrap();
    let c = broker
        .consumer(strata_broker::ConsumerConfig::default())
        .unwrap();
    let tp = strata_broker::TopicPartition::new("users", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    c.seek_to_beginning(&tp).unwrap();
    let raw = c.poll(Duration::from_secs(2)).unwrap();
    let value = raw[0].value.clone().unwrap();
    env.run(&["decode", "--encoding", "binary"], &value)
        .assert_clear_error("bare payload", "unknown magic byte");
}

#[tokio::test]
async fn produce_and_consume_go_through_kafka() {
    let env = Env::start().await;
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("users", 1, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    let user = env.path("user.avsc");
    let input = lines(&[
        json!({"key": "k1", "value": {"id": 1, "name": "ada"}, "headers": {"h": "v"}}),
        json!({"key": "k2", "value": {"id": 2, "name": "bob"}}),
    ]);
    let out = env.run(
        &[
            "produce",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--value-schema",
            &user,
            "--auto-register",
            "--with-keys",
            "-X",
            "message.timeout.ms=10000",
        ],
        &input,
    );
    out.assert_ok("produce to kafka");
    let out = env.run(
        &[
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--group",
            "g",
            "--from-beginning",
            "--max-messages",
            "2",
            "--idle-timeout",
            "20s",
            // After a member leaves, librdkafka's mock cluster waits for the group's session
            // timeout (less 1 s) before the next member may join (Kafka itself does not wait
            // for members that are gone); keep it short.
            "-X",
            "session.timeout.ms=3000",
        ],
        b"",
    );
    out.assert_ok("consume from kafka");
    let records = out.json_lines();
    let keys: Vec<&Value> = records.iter().map(|r| &r["key"]).collect();
    assert_eq!(keys, vec!["k1", "k2"], "{}", out.text());
    assert_eq!(records[0]["value"]["name"], "ada");
    assert_eq!(records[0]["headers"], json!({"h": "v"}));

    // An explicit partition and offset, without a group.
    let out = env.run(
        &[
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--partition",
            "0",
            "--offset",
            "1",
            "--max-messages",
            "1",
            "--idle-timeout",
            "10s",
            "--key-format",
            "none",
        ],
        b"",
    );
    out.assert_ok("consume from kafka at an offset");
    let records = out.json_lines();
    assert_eq!(records[0]["offset"], 1);
    assert_eq!(records[0]["key"], Value::Null);
    assert_eq!(records[0]["value"]["name"], "bob");

    // A garbage record sent raw: the group resumes after what it printed, skips it and
    // counts it.
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let raw: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .expect("producer");
    raw.send(
        FutureRecord::<str, str>::to("users").payload("garbage"),
        Duration::from_secs(10),
    )
    .await
    .expect("sent");
    let out = env.run(
        &[
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--group",
            "g",
            "--on-error",
            "skip",
            "--idle-timeout",
            "10s",
        ],
        b"",
    );
    out.assert_ok("consume from kafka, skip");
    assert!(out.stdout.is_empty(), "resumed after k2: {}", out.text());
    assert!(out.stderr.contains("1 skipped"), "{}", out.stderr);

    // From an offset, without a group, the garbage record to a dead-letter topic. (The mock
    // cluster cannot look offsets up by timestamp, so --from-timestamp is not tried here.)
    cluster.create_topic("users-dlq", 1, 1).expect("topic");
    let out = env.run(
        &[
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--offset",
            "0",
            "--on-error",
            "dlq:users-dlq",
            "--idle-timeout",
            "3s",
            "--value-only",
        ],
        b"",
    );
    out.assert_ok("consume from kafka, dead-letter");
    assert_eq!(out.json_lines().len(), 2, "{}{}", out.text(), out.stderr);
    assert!(out.stderr.contains("1 dead-lettered"), "{}", out.stderr);
    let out = env.run(
        &[
            "consume",
            "users-dlq",
            "--bootstrap-servers",
            &bootstrap,
            "--partition",
            "0",
            "--from-beginning",
            "--on-error",
            "skip",
            "--idle-timeout",
            "3s",
        ],
        b"",
    );
    out.assert_ok("consume the dead-letter topic");
    assert!(
        out.stderr.contains("1 skipped"),
        "the garbage arrived: {}",
        out.stderr
    );

    // Many records: sent without waiting for each acknowledgement, all counted, in order.
    cluster.create_topic("bulk", 1, 1).expect("topic");
    let many: Vec<Value> = (0..5000).map(|i| json!({"id": i, "name": "n"})).collect();
    let started = std::time::Instant::now();
    let out = env.run(
        &[
            "produce",
            "bulk",
            "--bootstrap-servers",
            &bootstrap,
            "--value-subject",
            "users-value",
        ],
        &lines(&many),
    );
    out.assert_ok("bulk produce to kafka");
    assert!(
        out.stderr.contains("5000 record(s) produced"),
        "{}",
        out.stderr
    );
    // Only a hang guard, generous for a loaded machine: the throughput of the pipelined
    // produce is a benchmark's figure, not something a timed test can check reliably.
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "5000 records took {:?}",
        started.elapsed()
    );
    let out = env.run(
        &[
            "consume",
            "bulk",
            "--bootstrap-servers",
            &bootstrap,
            "--from-beginning",
            "--max-messages",
            "5000",
            "--idle-timeout",
            "20s",
            "--value-only",
        ],
        b"",
    );
    out.assert_ok("bulk consume from kafka");
    let ids: Vec<i64> = out
        .json_lines()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (0..5000).collect::<Vec<_>>());
}

/// Records `$ strata ARGS`, the input lines (`< ...`), stdout, the exit code and stderr, with
/// the registry's URL, the temp dir, record timestamps and log lines normalised.
struct SerdeTranscript<'a> {
    env: &'a Env,
    text: String,
}

impl SerdeTranscript<'_> {
    #[track_caller]
    fn run(&mut self, args: &[&str], stdin: &[u8], code: i32) -> Out {
        let out = self.env.run(args, stdin);
        let tmp = self.env.dir.path().display().to_string();
        self.text.push_str(&format!(
            "$ strata {}\n",
            args.join(" ").replace(&tmp, "<TMP>")
        ));
        for line in String::from_utf8_lossy(stdin).lines() {
            self.text.push_str(&format!("< {line}\n"));
        }
        self.text.push_str(&self.normalise(&out.text()));
        if out.code != 0 {
            self.text.push_str(&format!("[exit {}]\n", out.code));
        }
        self.text.push_str(&self.normalise(&out.stderr));
        assert_eq!(out.code, code, "{args:?}: {}{}", out.text(), out.stderr);
        out
    }

    fn normalise(&self, s: &str) -> String {
        let tmp = self.env.dir.path().display().to_string();
        let s = s
            .replace(&self.env.base, "<REGISTRY>")
            .replace(&tmp, "<TMP>");
        let mut out = String::new();
        for line in s.lines() {
            // Log lines (tracing, text or JSON) carry a time: keep their level and message.
            if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(line) {
                if let (Some(level), Some(message)) = (o.get("level"), o.get("fields")) {
                    out.push_str(&format!(
                        "<log {} {}>\n",
                        level.as_str().unwrap_or_default(),
                        message["message"].as_str().unwrap_or_default()
                    ));
                    continue;
                }
            }
            if let Some(at) = line.find(" WARN ") {
                let message = line[at..].split(": ").nth(1).unwrap_or_default();
                out.push_str(&format!(
                    "<log WARN {}>\n",
                    message.split("  ").next().unwrap_or_default()
                ));
                continue;
            }
            out.push_str(&mask_timestamps(line));
            out.push('\n');
        }
        out
    }
}

/// `"timestamp":1234` becomes `"timestamp":"<TS>"`.
fn mask_timestamps(line: &str) -> String {
    const KEY: &str = "\"timestamp\":";
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(KEY) {
        out.push_str(&rest[..at + KEY.len()]);
        rest = &rest[at + KEY.len()..];
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '-')
            .unwrap_or(rest.len());
        if digits > 0 {
            out.push_str("\"<TS>\"");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn serde_commands_match_their_golden_transcript_in_text_and_json() {
    let env = Env::start().await;
    let mut t = SerdeTranscript {
        env: &env,
        text: String::new(),
    };
    let user = env.path("user.avsc");
    let two = lines(&[
        json!({"id": 1, "name": "ada"}),
        json!({"id": 2, "name": "bob", "email": "b@x"}),
    ]);
    let encoded = t.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--schema",
            &user,
            "--auto-register",
        ],
        &two,
        0,
    );
    t.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--encoding",
            "hex",
            "--output",
            "json",
        ],
        &two,
        0,
    );
    let bad = b"{\"id\": \"x\", \"name\": \"a\"}\n";
    t.run(&["encode", "--subject", "users-value"], bad, 1);
    t.run(
        &["encode", "--subject", "users-value", "--output", "json"],
        bad,
        1,
    );
    t.run(&["encode", "--subject", "nope-value"], bad, 1);

    // decode: a garbage line among good ones, failing and skipping.
    let mut mixed = encoded.stdout.clone();
    mixed.extend_from_slice(b"QUJD\nnot base64!\n");
    mixed.extend_from_slice(&encoded.stdout);
    t.run(&["decode"], &mixed, 1);
    t.run(&["decode", "--output", "json"], &mixed, 1);
    t.run(&["decode", "--on-error", "skip"], &mixed, 0);
    t.run(
        &["decode", "--on-error", "skip", "--output", "json"],
        &mixed,
        0,
    );
    t.run(&["decode", "--with-schema-id"], &encoded.stdout, 0);

    // produce: JSON keys, a rejected line, text and JSON summaries.
    let records = lines(&[
        json!({"key": {"tenant": 7}, "value": {"id": 1, "name": "ada"}, "headers": {"trace": "t1"}}),
        json!({"key": [1, 2], "value": {"id": 2, "name": "bob"}}),
    ]);
    t.run(
        &["produce", "users", "--with-keys", "--key-format", "json"],
        &records,
        0,
    );
    t.run(
        &[
            "produce",
            "users",
            "--on-invalid",
            "skip",
            "--output",
            "json",
        ],
        b"{\"id\": 3, \"name\": \"cy\"}\n{\"id\": 4}\n",
        1,
    );
    t.run(&["produce", "users", "--output", "json"], b"not json\n", 1);

    // consume: JSON keys, text and JSON summaries, a record that cannot be decoded.
    t.run(
        &[
            "consume",
            "users",
            "--from-beginning",
            "--idle-timeout",
            "1s",
            "--key-format",
            "json",
        ],
        b"",
        0,
    );
    t.run(
        &[
            "consume",
            "users",
            "--from-beginning",
            "--max-messages",
            "2",
            "--value-only",
            "--output",
            "json",
        ],
        b"",
        0,
    );
    let broker = Broker::open_or_create(env.log_dir()).unwrap();
    broker
        .producer(Default::default())
        .send(ProducerRecord::new("users", "garbage"))
        .unwrap();
    t.run(
        &[
            "consume",
            "users",
            "--from-beginning",
            "--idle-timeout",
            "1s",
            "--value-only",
            "--output",
            "json",
        ],
        b"",
        1,
    );
    t.run(
        &[
            "consume",
            "users",
            "--from-beginning",
            "--idle-timeout",
            "1s",
            "--value-only",
            "--on-error",
            "skip",
            "--output",
            "json",
        ],
        b"",
        0,
    );

    // Subject name strategies, as Confluent names the subjects.
    let one = lines(&[json!({"id": 5, "name": "eve"})]);
    t.run(
        &[
            "encode",
            "--topic",
            "users",
            "--subject-name-strategy",
            "record",
            "--schema",
            &user,
            "--auto-register",
            "--encoding",
            "hex",
        ],
        &one,
        0,
    );
    t.run(
        &[
            "produce",
            "strategies",
            "--value-subject-name-strategy",
            "topic-record",
            "--value-schema",
            &user,
            "--auto-register",
        ],
        &one,
        0,
    );
    t.run(
        &[
            "encode",
            "--topic",
            "users",
            "--subject-name-strategy",
            "TopicRecordNameStrategy",
        ],
        &one,
        2,
    );
    t.run(&["subjects", "list"], b"", 0);

    golden("serde/transcript.txt", &t.text);
}

#[tokio::test]
async fn normalize_finds_a_schema_registered_in_normalized_form() {
    let env = Env::start().await;
    // Custom properties out of order: normalization sorts them.
    std::fs::write(
        env.dir.path().join("props.avsc"),
        r#"{"type":"record","name":"User","namespace":"acme","fields":[
            {"name":"id","type":"long","zz":1,"aa":2},{"name":"name","type":"string"}],
            "zprop":"1","aprop":"2"}"#,
    )
    .unwrap();
    let user = env.path("props.avsc");
    // Registered with normalize=true: stored with its properties sorted.
    env.run(&["register", "norm-value", &user, "--normalize"], b"")
        .assert_ok("register normalized");
    let one = lines(&[json!({"id": 1, "name": "ada"})]);
    let args = ["encode", "--subject", "norm-value", "--schema", &user];
    env.run(&args, &one).assert_clear_error(
        "the file as written is another schema",
        "pass --auto-register",
    );
    let mut with = args.to_vec();
    with.push("--normalize");
    let out = env.run(&with, &one);
    out.assert_ok("--normalize looks it up normalized");
    let back = env.run(&["decode"], &out.stdout);
    back.assert_ok("decode");
    assert_eq!(back.json_lines()[0]["name"], "ada");
    // produce too.
    env.run(
        &[
            "produce",
            "norm",
            "--value-subject",
            "norm-value",
            "--value-schema",
            &user,
            "--normalize",
        ],
        &one,
    )
    .assert_ok("produce --normalize");
    let out = env.run(
        &[
            "produce",
            "norm",
            "--value-subject",
            "norm-value",
            "--value-schema",
            &user,
        ],
        &one,
    );
    out.assert_clear_error("produce without --normalize", "pass --auto-register");
}

#[tokio::test]
async fn key_and_value_subject_name_strategies_name_subjects_as_confluent_does() {
    let env = Env::start().await;
    std::fs::write(
        env.dir.path().join("key.avsc"),
        r#"{"type":"record","name":"UserKey","namespace":"acme","fields":[{"name":"tenant","type":"int"}]}"#,
    )
    .unwrap();
    let out = env.run(
        &[
            "produce",
            "users",
            "--with-keys",
            "--key-schema",
            &env.path("key.avsc"),
            "--key-subject-name-strategy",
            "record",
            "--value-schema",
            &env.path("order.proto"),
            "--message",
            "shop.Refund",
            "--value-subject-name-strategy",
            "topic-record",
            "--auto-register",
        ],
        &lines(&[json!({"key": {"tenant": 1}, "value": {"reason": "late"}})]),
    );
    out.assert_ok("produce with strategies");
    let subjects = env.run(&["subjects", "list", "--output", "json"], b"");
    subjects.assert_ok("subjects");
    let listed: Value = serde_json::from_slice(&subjects.stdout).unwrap();
    // The Protobuf message written names the record subject, as Confluent does.
    assert_eq!(listed, json!(["acme.UserKey", "users-shop.Refund"]));
    let out = consume(&env, &["--from-beginning", "--key-format", "schema"]);
    out.assert_ok("consume");
    let record = &out.json_lines()[0];
    assert_eq!(record["key"], json!({"tenant": 1}));
    assert_eq!(record["value"], json!({"reason": "late"}));
    // The topic strategy with --key names <topic>-key.
    let out = env.run(
        &[
            "encode",
            "--topic",
            "users",
            "--key",
            "--schema",
            &env.path("key.avsc"),
            "--auto-register",
        ],
        &lines(&[json!({"tenant": 2})]),
    );
    out.assert_ok("encode a key");
    let subjects = env.run(&["subjects", "list", "--output", "json"], b"");
    let listed: Value = serde_json::from_slice(&subjects.stdout).unwrap();
    assert_eq!(
        listed,
        json!(["acme.UserKey", "users-key", "users-shop.Refund"])
    );
}

#[tokio::test]
async fn latest_with_metadata_writes_with_the_version_whose_metadata_matches() {
    let env = Env::start().await;
    // Two versions of users-value told apart by their metadata properties; both are team a's,
    // so team=a alone picks the later one.
    let v2 = USER_V1.replacen("\"fields\":[", "\"doc\":\"v2\",\"fields\":[", 1);
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for (schema, env_name) in [(USER_V1, "prod"), (v2.as_str(), "dev")] {
        let body: Value = http
            .post(format!("{}/subjects/users-value/versions", env.base))
            .json(&json!({
                "schema": schema,
                "metadata": {"properties": {"env": env_name, "team": "a"}},
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(body["id"].as_i64().unwrap_or_else(|| panic!("{body}")));
    }
    assert_ne!(ids[0], ids[1]);
    let one = lines(&[json!({"id": 1, "name": "ada"})]);
    let encode = |properties: &[&str]| {
        let mut args = vec!["encode", "--subject", "users-value", "--output", "json"];
        for p in properties {
            args.extend(["--latest-with-metadata", p]);
        }
        env.run(&args, &one)
    };
    for (properties, id) in [
        (&["env=prod"][..], ids[0]),
        (&["env=dev"][..], ids[1]),
        (&["team=a", "env=prod"][..], ids[0]),
        (&["team=a"][..], ids[1]),
    ] {
        let what = format!("encode {properties:?}");
        let out = encode(properties);
        out.assert_ok(&what);
        let written = &out.json_lines()[0];
        assert_eq!(written["schema_id"], id, "{what}");
        let framed = format!("{}\n", written["base64"].as_str().unwrap());
        let back = env.run(&["decode", "--with-schema-id"], framed.as_bytes());
        back.assert_ok(&format!("decode {what}"));
        let decoded = &back.json_lines()[0];
        assert_eq!(decoded["schema_id"], id, "{what}");
        assert_eq!(decoded["value"]["name"], "ada", "{what}");
    }
    // Confluent's option name works too.
    let out = env.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--use-latest-with-metadata",
            "env=prod",
            "--output",
            "json",
        ],
        &one,
    );
    out.assert_ok("--use-latest-with-metadata");
    assert_eq!(out.json_lines()[0]["schema_id"], ids[0]);
    // No version matches: a negative result naming the properties; nothing is written.
    let out = encode(&["env=staging"]);
    out.assert_clear_error("no match", "no version whose metadata holds env=staging");
    assert!(out.stdout.is_empty());
    // Not KEY=VALUE, or a key twice: usage errors.
    encode(&["staging"]).assert_usage_error("not KEY=VALUE", "is not KEY=VALUE");
    encode(&["env=prod", "env=dev"]).assert_usage_error("a key twice", "given twice");
    env.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--schema",
            &env.path("user.avsc"),
            "--latest-with-metadata",
            "env=prod",
        ],
        &one,
    )
    .assert_usage_error("with a schema file", "cannot be used with");

    // produce: the value's version chosen the same way.
    let out = env.run(
        &[
            "produce",
            "users",
            "--value-latest-with-metadata",
            "env=prod",
        ],
        &one,
    );
    out.assert_ok("produce --value-latest-with-metadata");
    let out = env.run(
        &[
            "produce",
            "users",
            "--value-latest-with-metadata",
            "env=dev",
        ],
        &one,
    );
    out.assert_ok("produce --value-latest-with-metadata env=dev");
    let out = consume(&env, &["--from-beginning"]);
    out.assert_ok("consume");
    let written: Vec<Value> = out
        .json_lines()
        .iter()
        .map(|r| r["schema_id"].clone())
        .collect();
    assert_eq!(written, [json!(ids[0]), json!(ids[1])], "{}", out.text());
}

#[tokio::test]
async fn consume_from_kafka_by_timestamp_and_with_json_keys() {
    let env = Env::start().await;
    let cluster = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("users", 1, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    let user = env.path("user.avsc");
    let produce = |n: i64| {
        env.run(
            &[
                "produce",
                "users",
                "--bootstrap-servers",
                &bootstrap,
                "--value-schema",
                &user,
                "--auto-register",
                "--with-keys",
                "--key-format",
                "json",
            ],
            &lines(&[json!({"key": {"n": n}, "value": {"id": n, "name": "x"}})]),
        )
    };
    produce(1).assert_ok("produce");
    produce(2).assert_ok("produce");

    // JSON keys read back as JSON.
    let out = env.run(
        &[
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--from-beginning",
            "--max-messages",
            "2",
            "--idle-timeout",
            "20s",
            "--key-format",
            "json",
        ],
        b"",
    );
    out.assert_ok("consume json keys");
    let keys: Vec<Value> = out.json_lines().iter().map(|r| r["key"].clone()).collect();
    assert_eq!(keys, vec![json!({"n": 1}), json!({"n": 2})]);

    // --from-timestamp after the last record: librdkafka's mock cluster answers every
    // timestamp lookup with "no such record" (it does not index times), which Kafka also
    // answers for a time after the last record: the consumer starts at the end and reads
    // only what is written after it started.
    let mut consumer = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--from-timestamp",
            "2100-01-01T00:00:00Z",
            "--max-messages",
            "1",
            "--idle-timeout",
            "30s",
            "--value-only",
        ])
        .env("STRATA_REGISTRY_URL", &env.base)
        .env("STRATA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("consume runs");
    // The consumer's start is resolved asynchronously: keep writing new records until one
    // arrives, and check that it is not one written before it started.
    let mut n = 3;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if consumer.try_wait().expect("wait").is_some() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "nothing consumed");
        produce(n).assert_ok("produce after the consumer started");
        n += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let out = consumer.wait_with_output().expect("consume ends");
    assert!(out.status.success(), "{out:?}");
    let value: Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert!(
        value["id"].as_i64().unwrap() >= 3,
        "a record written before the consumer started: {value}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 record(s) consumed"),
        "{out:?}"
    );

    // A bad timestamp is a clear error.
    env.run(
        &[
            "consume",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--from-timestamp",
            "yesterday",
        ],
        b"",
    )
    .assert_usage_error("bad time", "neither ms since the epoch nor RFC 3339");
}

/// With a real Kafka (KAFKA_BOOTSTRAP_SERVERS), --from-timestamp finds the first record at or
/// after the time; librdkafka's mock cluster cannot look times up.
#[tokio::test]
async fn consume_from_a_real_kafka_by_timestamp_when_one_is_given() {
    let Ok(bootstrap) = std::env::var("KAFKA_BOOTSTRAP_SERVERS") else {
        eprintln!("KAFKA_BOOTSTRAP_SERVERS is not set: skipped");
        return;
    };
    let env = Env::start().await;
    let topic = format!("strata-cli-ts-{}", std::process::id());
    let user = env.path("user.avsc");
    let produce = |n: i64| {
        env.run(
            &[
                "produce",
                &topic,
                "--bootstrap-servers",
                &bootstrap,
                "--value-schema",
                &user,
                "--auto-register",
            ],
            &lines(&[json!({"id": n, "name": "x"})]),
        )
    };
    produce(1).assert_ok("produce before");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    tokio::time::sleep(Duration::from_millis(100)).await;
    produce(2).assert_ok("produce after");
    let out = env.run(
        &[
            "consume",
            &topic,
            "--bootstrap-servers",
            &bootstrap,
            "--from-timestamp",
            &since,
            "--idle-timeout",
            "10s",
            "--value-only",
        ],
        b"",
    );
    out.assert_ok("consume by timestamp");
    let ids: Vec<i64> = out
        .json_lines()
        .iter()
        .map(|v| v["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![2]);
}

/// Byte positions of the batches in a bundled-broker segment file.
fn batch_positions(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        out.push(at);
        at += 4 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    out
}

#[tokio::test]
async fn damage_in_the_log_fails_consume_or_is_skipped_and_verify_and_repair_remove_it() {
    let env = Env::start().await;
    let user = env.path("user.avsc");
    let input = lines(&[json!({"id": 0, "name": "n0"})]);
    env.run(
        &[
            "produce",
            "users",
            "--value-schema",
            &user,
            "--auto-register",
        ],
        &input,
    )
    .assert_ok("produce");
    // 20 records in 20 batches: the framed value sent again one record at a time.
    let broker = Broker::open(env.log_dir()).unwrap();
    let c = broker
        .consumer(strata_broker::ConsumerConfig::default())
        .unwrap();
    let tp = strata_broker::TopicPartition::new("users", 0);
    c.assign(std::slice::from_ref(&tp)).unwrap();
    c.seek_to_beginning(&tp).unwrap();
    let framed = c.poll(Duration::from_secs(2)).unwrap()[0]
        .value
        .clone()
        .unwrap();
    let p = broker.producer(Default::default());
    for _ in 1..20 {
        p.send(ProducerRecord::new("users", framed.to_vec()).with_partition(0))
            .unwrap();
    }
    drop((c, p, broker));
    let seg = env
        .log_dir()
        .join("topics/users/0/00000000000000000000.log");
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = batch_positions(&bytes)[5] + 45;
    bytes[at] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();

    let failed = consume(&env, &["--from-beginning"]);
    failed.assert_usage_error("a damaged batch", "users-0 is corrupt");
    assert!(
        failed.stderr.contains("offsets 5 to 5"),
        "{}",
        failed.stderr
    );
    assert_eq!(
        failed.json_lines().len(),
        5,
        "the records before the damage"
    );

    let skipped = consume(&env, &["--from-beginning", "--on-error", "skip"]);
    skipped.assert_ok("skip past the damage");
    let offsets: Vec<i64> = skipped
        .json_lines()
        .iter()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, (0..20).filter(|o| *o != 5).collect::<Vec<_>>());
    assert!(
        skipped
            .stderr
            .contains("skipping records the log cannot read"),
        "{}",
        skipped.stderr
    );
    assert!(
        skipped.stderr.contains("1 unreadable offset(s)"),
        "{}",
        skipped.stderr
    );

    // Appends are refused until the partition is repaired.
    let refused = env.run(&["produce", "users", "--value-schema", &user], &input);
    assert_ne!(refused.code, 0, "{}", refused.stderr);
    assert!(refused.stderr.contains("is corrupt"), "{}", refused.stderr);

    let verify = env.run(&["topics", "verify"], b"");
    verify.assert_clear_error("verify finds the damage", "damage in users-0");
    assert!(
        verify.text().contains("users-0: 19 intact batch(es)"),
        "{}",
        verify.text()
    );
    assert!(
        verify.text().contains("offset 5 damaged"),
        "{}",
        verify.text()
    );
    let verify = env.run(&["topics", "verify", "users", "--output", "json"], b"");
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["corrupt"], true);
    assert_eq!(report["partitions"][0]["damage"][0]["first_offset"], 5);

    let repair = env.run(&["topics", "repair", "users", "--partition", "0"], b"");
    repair.assert_ok("repair");
    assert!(
        repair.text().contains("removed 1 damaged stretch(es)"),
        "{}",
        repair.text()
    );
    assert!(
        repair.text().contains("every intact batch was kept"),
        "{}",
        repair.text()
    );
    env.run(&["topics", "verify", "users"], b"")
        .assert_ok("verify after the repair");
    env.run(&["produce", "users", "--value-schema", &user], &input)
        .assert_ok("produce after the repair");
    let all = consume(&env, &["--from-beginning"]);
    all.assert_ok("consume after the repair");
    let offsets: Vec<i64> = all
        .json_lines()
        .iter()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect();
    let mut want: Vec<i64> = (0..20).filter(|o| *o != 5).collect();
    want.push(20);
    assert_eq!(offsets, want, "kept offsets, and no offset given twice");
}

#[tokio::test]
async fn decode_refuses_hostile_frames_without_allocating_or_printing_null() {
    let env = Env::start().await;
    let schema = r#"{"type":"record","name":"H","fields":[
        {"name":"xs","type":{"type":"array","items":"int"}},{"name":"s","type":"string"}]}"#;
    std::fs::write(env.dir.path().join("h.avsc"), schema).unwrap();
    let out = env.run(
        &[
            "encode",
            "--subject",
            "h-value",
            "--schema",
            &env.path("h.avsc"),
            "--auto-register",
            "--encoding",
            "hex",
        ],
        b"{\"xs\": [1], \"s\": \"a\"}\n",
    );
    out.assert_ok("register and encode");
    let good = out.text().trim().to_string();
    let prefix = &good[..10];
    // 1,000,000,000 as a varint: zig-zag 500,000,000.
    let claim = "8094ebdc03";
    for (what, datum, needle) in [
        (
            "a 10-byte frame claiming 500M ints",
            format!("{claim}02040608"),
            "claims 500000000 item(s)",
        ),
        (
            "a string claiming 5 bytes, none there",
            "000a".to_string(),
            "a string claims 5 byte(s)",
        ),
        (
            "a string claiming 500M bytes",
            format!("00{claim}"),
            "a string claims 500000000 byte(s)",
        ),
        (
            "bytes after the datum",
            format!("{}ff", &good[10..]),
            "1 byte(s) are left after the datum",
        ),
    ] {
        let input = format!("{prefix}{datum}\n");
        let out = env.run(&["decode", "--encoding", "hex"], input.as_bytes());
        out.assert_clear_error(what, needle);
        out.assert_clear_error(what, "record 1 (line 1)");
        assert!(out.stdout.is_empty(), "{what}: {}", out.text());
    }
    env.run(
        &["decode", "--encoding", "hex"],
        format!("{good}\n").as_bytes(),
    )
    .assert_ok("the intact frame");
}

/// `strata consume ARGS` started in the background, stdout piped.
fn spawn_consume(env: &Env, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("consume")
        .args(args)
        .env("STRATA_REGISTRY_URL", &env.base)
        .env("STRATA_LOG_DIR", env.log_dir())
        .env_remove("STRATA_BOOTSTRAP_SERVERS")
        .env("STRATA_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata runs")
}

/// (partition, offset) of every record line in `stdout`.
fn positions(stdout: &[u8]) -> Vec<(i64, i64)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["partition"].as_i64().unwrap(),
                v["offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// 4,000 records over 4 partitions of `users`.
fn produce_4000(env: &Env) {
    let values: Vec<Value> = (0..4000)
        .map(|i| json!({"value": {"id": i, "name": format!("n{i}")}, "partition": i % 4}))
        .collect();
    env.run(
        &[
            "produce",
            "users",
            "--value-schema",
            &env.path("user.avsc"),
            "--auto-register",
            "--with-keys",
            "--partitions",
            "4",
        ],
        &lines(&values),
    )
    .assert_ok("produce 4000");
}

#[tokio::test]
async fn two_group_members_in_parallel_print_each_record_about_once_and_leave_nothing() {
    let env = Env::start().await;
    produce_4000(&env);
    let args = [
        "users",
        "--group",
        "g",
        "--from-beginning",
        "--idle-timeout",
        "3s",
    ];
    let one = spawn_consume(&env, &args);
    let two = spawn_consume(&env, &args);
    // Both outputs drained at once: a member blocked on a full pipe would go idle.
    let one = std::thread::spawn(move || one.wait_with_output().unwrap());
    let two = std::thread::spawn(move || two.wait_with_output().unwrap());
    let (one, two) = (one.join().unwrap(), two.join().unwrap());
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(
        two.status.success(),
        "{}",
        String::from_utf8_lossy(&two.stderr)
    );
    let all: Vec<(i64, i64)> = positions(&one.stdout)
        .into_iter()
        .chain(positions(&two.stdout))
        .collect();
    let distinct: std::collections::BTreeSet<_> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 4000, "every record was printed");
    let duplicates = all.len() - distinct.len();
    assert!(duplicates < 200, "{duplicates} duplicates of {}", all.len());
    let third = consume(&env, &["--group", "g", "--from-beginning"]);
    third.assert_ok("a third run");
    assert!(third.stdout.is_empty(), "{}", third.text());
}

#[tokio::test]
async fn a_group_member_killed_after_a_periodic_commit_leaves_nothing_to_redeliver() {
    use std::io::BufRead;
    let env = Env::start().await;
    produce_4000(&env);
    let mut member = spawn_consume(&env, &["users", "--group", "g", "--from-beginning"]);
    let stdout = member.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut n = 0;
        for line in std::io::BufReader::new(stdout).lines() {
            line.unwrap();
            n += 1;
            if n == 4000 {
                break;
            }
        }
        n
    });
    assert_eq!(reader.join().unwrap(), 4000);
    // Wait for the periodic commit (every 5 s) to cover everything printed, then SIGKILL: no
    // exit commit runs. (A fixed sleep past the interval raced the commit on a loaded machine.)
    let log = Broker::open(env.log_dir()).expect("the log directory");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let d = log.describe_group("g").expect("the group");
        if d.offsets.iter().map(|o| o.committed).sum::<i64>() == 4000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no periodic commit covered the 4000 records: {:?}",
            d.offsets
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    member.kill().unwrap();
    member.wait().unwrap();
    let again = consume(&env, &["--group", "g", "--from-beginning"]);
    again.assert_ok("after the kill");
    assert!(
        again.json_lines().is_empty(),
        "{} records delivered again",
        again.json_lines().len()
    );
}

/// `kill -INT pid`: what Ctrl-C sends.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT");
}

/// Per partition of `topic`, the offset group `g` committed in the log directory `log`.
fn committed_by_g(log: &Path, topic: &str) -> std::collections::BTreeMap<i32, i64> {
    match Broker::open(log).and_then(|b| b.describe_group("g")) {
        Ok(d) => d
            .offsets
            .iter()
            .filter(|o| o.topic_partition.topic == topic)
            .map(|o| (o.topic_partition.partition, o.committed))
            .collect(),
        Err(_) => Default::default(),
    }
}

/// Two members of a group on Kafka, the second joining while the first is in the middle of
/// every partition. The broker is `strata serve --kafka-listen`, whose group coordinator keeps
/// Kafka's rules: librdkafka's mock cluster refuses commits while members rejoin and starts a
/// new round when a follower's SyncGroup reaches it after the leader's, so there the first
/// member's revocation commit failed whenever the joining member was slow (about 1 run in 5
/// on a loaded machine) and the second member read its partitions again from the start.
/// The members stop on Ctrl-C once the group has printed and committed everything, not after
/// a quiet spell, and what they commit on the way out moves no offset back (the first member
/// printed part of the partitions it gave up: committed again at exit, they would go back).
#[tokio::test]
async fn kafka_group_members_commit_on_revocation_so_a_joining_member_goes_on_after_them() {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};
    let env = Env::start().await;
    let kafka = crate::harness::KafkaListener::start();
    kafka
        .strata(&["topics", "create", "users", "--partitions", "4"])
        .expect(0, "create the topic");
    let bootstrap = kafka.servers.clone();
    let values: Vec<Value> = (0..4000)
        .map(|i| json!({"value": {"id": i, "name": format!("n{i}")}, "partition": i % 4}))
        .collect();
    env.run(
        &[
            "produce",
            "users",
            "--bootstrap-servers",
            &bootstrap,
            "--value-schema",
            &env.path("user.avsc"),
            "--auto-register",
            "--with-keys",
            // Small batches, fetched a few at a time (below): a member reads every partition
            // a little at a time, not one after the other.
            "-X",
            "batch.size=2048",
        ],
        &lines(&values),
    )
    .assert_ok("produce 4000 to Kafka");
    // The idle timeout only bounds how long a broken build leaves the members running.
    let args = [
        "users",
        "--group",
        "g",
        "--from-beginning",
        "--idle-timeout",
        "120s",
        "--bootstrap-servers",
        &bootstrap,
        "-X",
        "heartbeat.interval.ms=200",
        "-X",
        "max.partition.fetch.bytes=2048",
    ];
    // (partition, offset) of every line each member printed, as it is read.
    let printed = [
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    ];
    let read =
        |stdout: std::process::ChildStdout, into: Arc<Mutex<Vec<(i64, i64)>>>, pace: Duration| {
            std::thread::spawn(move || {
                use std::io::BufRead;
                for line in std::io::BufReader::new(stdout).lines() {
                    into.lock()
                        .unwrap()
                        .extend(positions(line.unwrap().as_bytes()));
                    std::thread::sleep(pace);
                }
            })
        };
    let mut one = spawn_consume(&env, &args);
    // The first member is read slowly (4,000 lines in 20 s or more), so the second joins while
    // it is in the middle of every partition.
    let first = read(
        one.stdout.take().unwrap(),
        printed[0].clone(),
        Duration::from_millis(5),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while printed[0].lock().unwrap().len() < 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first member printed {} records",
            printed[0].lock().unwrap().len()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut two = spawn_consume(&env, &args);
    let second = read(
        two.stdout.take().unwrap(),
        printed[1].clone(),
        Duration::ZERO,
    );
    // Wait until the group has printed every record and committed them all (periodically,
    // every 5 s).
    let all_committed =
        std::collections::BTreeMap::from([(0, 1000), (1, 1000), (2, 1000), (3, 1000)]);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let distinct = printed
            .iter()
            .flat_map(|p| p.lock().unwrap().clone())
            .collect::<BTreeSet<_>>()
            .len();
        let committed = committed_by_g(&kafka.log, "users");
        if distinct == 4000 && committed == all_committed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{distinct} distinct records printed, committed {committed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The second member stops first: the first one, told to stop after it, must not commit
    // the positions it printed in the partitions it gave up.
    for (name, mut member) in [("second", two), ("first", one)] {
        interrupt(&member);
        let status = member.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(member.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.success(), "{name} member: {err}");
    }
    first.join().unwrap();
    second.join().unwrap();
    let [first, second] = printed.map(|p| p.lock().unwrap().clone());
    assert!(
        !second.is_empty(),
        "the second member got partitions in the rebalance"
    );
    // The first member had printed part of each partition it gave up: without its commit
    // on revocation, the second would print that part again.
    for taken in second.iter().map(|(p, _)| *p).collect::<BTreeSet<_>>() {
        let before = first.iter().filter(|(p, _)| *p == taken).count();
        assert!(
            0 < before && before < 1000,
            "the first member printed {before} records of partition {taken} before the second took it"
        );
    }
    let all: Vec<(i64, i64)> = first.iter().chain(second.iter()).copied().collect();
    let distinct: BTreeSet<_> = all.iter().copied().collect();
    assert_eq!(distinct.len(), 4000, "every record was printed");
    let duplicates = all.len() - distinct.len();
    assert!(duplicates < 200, "{duplicates} duplicates of {}", all.len());
    assert_eq!(
        committed_by_g(&kafka.log, "users"),
        all_committed,
        "the members' exit commits moved no offset back"
    );
    let third = env.run(
        &[
            "consume",
            "users",
            "--group",
            "g",
            "--from-beginning",
            "--idle-timeout",
            "6s",
            "--bootstrap-servers",
            &bootstrap,
        ],
        b"",
    );
    third.assert_ok("a third run");
    assert!(third.stdout.is_empty(), "{}", third.text());
}

/// Lines the fast path (JSON text straight to Avro and back) takes, mixed with lines it leaves
/// to the general path (fields out of order, escaped surrogate pairs): `encode` writes the
/// bytes `encode --output json` (the general path only) writes, `decode` prints what
/// `decode --with-schema-id` (the general path only) prints, `produce` and `consume` carry the
/// same values, and bad lines give the same errors naming the value and line.
#[tokio::test]
async fn the_fast_and_general_paths_write_the_same_bytes_and_give_the_same_errors() {
    let env = Env::start().await;
    let user = env.path("user.avsc");
    let good = concat!(
        "{\"id\": 1, \"name\": \"ada\"}\n",
        "{\"id\": 9223372036854775807, \"name\": \"\\u00e9\\\"\\\\\\n\\t\\u0001 \u{4e2d}\", \"email\": null}\n",
        "\n",
        "  {\"id\": -9223372036854775808, \"name\": \"\", \"email\": {\"string\": \"a@b\"}, \"avatar\": \"\\u00ff\\u0000\"}  \n",
        "{\"id\": 0, \"name\": \"x\", \"email\": \"plain@union\", \"avatar\": \"\u{e9}\"}\r\n",
        // The general path from here on in encode; line by line in produce.
        "{\"name\": \"out of order\", \"id\": 5}\n",
        "{\"id\": 6, \"name\": \"\\ud83d\\ude00\"}\n",
        "{\"id\": 7, \"name\": \"after\"}\n",
    );
    let fast = env.run(
        &[
            "encode",
            "--subject",
            "users-value",
            "--schema",
            &user,
            "--auto-register",
        ],
        good.as_bytes(),
    );
    fast.assert_ok("encode");
    let general = env.run(
        &["encode", "--subject", "users-value", "--output", "json"],
        good.as_bytes(),
    );
    general.assert_ok("encode --output json");
    let general_frames: Vec<String> = general
        .json_lines()
        .iter()
        .map(|o| o["base64"].as_str().expect("base64").to_string())
        .collect();
    let fast_frames: Vec<String> = fast.text().lines().map(str::to_string).collect();
    assert_eq!(fast_frames.len(), 7);
    assert_eq!(fast_frames, general_frames, "the same bytes");

    let decoded = env.run(&["decode"], fast.text().as_bytes());
    decoded.assert_ok("decode");
    let with_id = env.run(&["decode", "--with-schema-id"], fast.text().as_bytes());
    with_id.assert_ok("decode --with-schema-id");
    let general_values: Vec<String> = with_id
        .json_lines()
        .iter()
        .map(|o| o["value"].to_string())
        .collect();
    let fast_values: Vec<String> = decoded.text().lines().map(str::to_string).collect();
    assert_eq!(fast_values, general_values, "the same text");
    assert_eq!(
        fast_values[1],
        r#"{"id":9223372036854775807,"name":"é\"\\\n\t\u0001 中","email":null,"avatar":""}"#
    );
    assert_eq!(
        fast_values[2],
        r#"{"id":-9223372036854775808,"name":"","email":{"string":"a@b"},"avatar":"ÿ\u0000"}"#
    );
    assert_eq!(
        fast_values[5],
        r#"{"id":6,"name":"😀","email":null,"avatar":""}"#
    );

    // produce and consume carry the same values.
    env.run(&["produce", "users"], good.as_bytes())
        .assert_ok("produce");
    let consumed = consume(&env, &["--from-beginning", "--value-only"]);
    consumed.assert_ok("consume");
    assert_eq!(consumed.text(), decoded.text());
    let records = consume(&env, &["--from-beginning"]).json_lines();
    assert_eq!(records.len(), 7);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["offset"], json!(i), "{r}");
        assert_eq!(r["value"].to_string(), fast_values[i], "{r}");
        assert_eq!(r["headers"], json!({}), "{r}");
        assert!(r["schema_id"].is_i64(), "{r}");
    }

    // Errors: the value's number and line, whichever path read the lines before.
    for (input, needle, written) in [
        (
            "{\"id\": 1, \"name\": \"a\"}\n\n{\"id\": \"x\", \"name\": \"b\"}\n",
            "value 2 does not fit",
            1,
        ),
        (
            "{\"id\": 1, \"name\": \"a\"}\n{\"id\": 9223372036854775808, \"name\": \"b\"}\n",
            "value 2 does not fit",
            1,
        ),
        (
            "{\"id\": 1, \"name\": \"a\"}\n\n{\"id\": 2, \"name\": \"b\"}\n{\"id\": 1,, }\n",
            "value 3 is not JSON (line 4, column 10)",
            2,
        ),
        (
            "{\"name\": \"a\", \"id\": 1}\n{\"id\": 2, \"name\": \"b\"}\n{\"id\": 1,, }\n",
            "value 3 is not JSON (line 3, column 10)",
            2,
        ),
    ] {
        for output in ["text", "json"] {
            let out = env.run(
                &["encode", "--subject", "users-value", "--output", output],
                input.as_bytes(),
            );
            out.assert_clear_error(input, needle);
            assert_eq!(
                out.text().lines().count(),
                written,
                "{input}: the values before it are written"
            );
        }
    }

    // produce: the lines before a bad one are produced, and the bad one is named.
    let input = "{\"id\": 10, \"name\": \"a\"}\n{\"id\": 11, \"name\": \"b\"}\n{\"id\": \"x\"}\n{\"id\": 13, \"name\": \"d\"}\n";
    let out = env.run(
        &["produce", "fresh", "--value-subject", "users-value"],
        input.as_bytes(),
    );
    out.assert_clear_error("produce", "line 3 rejected, nothing of it was written");
    assert!(
        out.stderr
            .contains("2 record(s) produced to 'fresh', 1 line(s) rejected"),
        "{}",
        out.stderr
    );
    let out = env.run(
        &[
            "produce",
            "fresh",
            "--value-subject",
            "users-value",
            "--on-invalid",
            "skip",
        ],
        input.as_bytes(),
    );
    out.assert_clear_error("produce --on-invalid skip", "line 3 rejected");
    assert!(
        out.stderr
            .contains("3 record(s) produced to 'fresh', 1 line(s) rejected"),
        "{}",
        out.stderr
    );
    let values = env
        .run(
            &[
                "consume",
                "fresh",
                "--idle-timeout",
                "1s",
                "--from-beginning",
                "--value-only",
            ],
            b"",
        )
        .json_lines();
    let ids: Vec<i64> = values
        .iter()
        .map(|v| v["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(ids, [10, 11, 10, 11, 13]);
}
