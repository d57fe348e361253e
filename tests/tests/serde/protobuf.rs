//! Protobuf serializers and deserializers against a live registry.

use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use strata_schema::{FormatSchema, ParseOptions, ProtobufSchema, SchemaType};
use strata_serde::wire;
use strata_serde::{
    Field, ProtoImport, ProtobufDeserializer, ProtobufDynamicDeserializer,
    ProtobufDynamicSerializer, ProtobufSerializer, ReferenceSubjectNameStrategy, SerializerConfig,
};

use crate::harness::{
    proto_dependency, proto_field, use_latest_with_metadata, CountingRelay, Registry,
};

const PROTO: &str = r#"syntax = "proto3";
package shop;
message Other { string x = 1; }
message Order { int64 id = 1; string item = 2; }
"#;

#[derive(Clone, PartialEq, prost::Message)]
struct Order {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(string, tag = "2")]
    item: String,
}

impl prost::Name for Order {
    const NAME: &'static str = "Order";
    const PACKAGE: &'static str = "shop";
}

#[derive(Clone, PartialEq, prost::Message)]
struct Other {
    #[prost(string, tag = "1")]
    x: String,
}

impl prost::Name for Other {
    const NAME: &'static str = "Other";
    const PACKAGE: &'static str = "shop";
}

fn order() -> Order {
    Order {
        id: 5,
        item: "lamp".into(),
    }
}

async fn a_prost_message_carries_its_message_indexes_and_round_trips(registry: Registry) {
    let client = registry.client();
    let ser = ProtobufSerializer::<Order>::new(client.clone(), PROTO, SerializerConfig::default())
        .unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    assert_eq!(&out.payload[5..7], &[0x02, 0x02], "indexes [1]");
    let frame = wire::parse_prefix(&out.payload, true).unwrap();
    assert_eq!(frame.message_indexes, vec![1]);

    let de = ProtobufDeserializer::<Order>::new(client.clone());
    assert_eq!(
        de.deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap(),
        order()
    );
    // The payload holds an Order, not an Other.
    let wrong = ProtobufDeserializer::<Other>::new(client.clone());
    assert!(wrong
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .is_err());

    let dynamic = ProtobufDynamicDeserializer::new(client);
    let m = dynamic
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(m.descriptor().full_name(), "shop.Order");
    assert_eq!(
        m.get_field_by_name("item").as_deref(),
        Some(&Value::String("lamp".into()))
    );
}

async fn a_dynamic_message_registers_its_file_and_decodes_as_the_prost_type(registry: Registry) {
    let client = registry.client();
    let schema = ProtobufSchema::parse(PROTO, &[], ParseOptions::default()).unwrap();
    let descriptor = schema.message_descriptor("shop.Order").unwrap();
    let mut m = DynamicMessage::new(descriptor.clone());
    m.set_field_by_name("id", Value::I64(9));
    m.set_field_by_name("item", Value::String("desk".into()));
    let ser =
        ProtobufDynamicSerializer::new(client.clone(), descriptor, SerializerConfig::default())
            .unwrap();
    let out = ser.serialize("dyn", Field::Value, &m).await.unwrap();
    let de = ProtobufDeserializer::<Order>::new(client);
    let back = de
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(
        back,
        Order {
            id: 9,
            item: "desk".into()
        }
    );
    // A message of another type is refused by this serializer.
    let other = DynamicMessage::new(schema.message_descriptor("shop.Other").unwrap());
    assert!(ser.serialize("dyn", Field::Value, &other).await.is_err());
}

/// Imported by [`WITH_IMPORT`]; itself imports a well-known type, which is never a reference.
const COMMON: &str = r#"syntax = "proto3";
package common;
import "google/protobuf/timestamp.proto";
message Money { string currency = 1; int64 cents = 2; }
message Stamp { google.protobuf.Timestamp at = 1; }
"#;

const WITH_IMPORT: &str = r#"syntax = "proto3";
package billing;
import "common/money.proto";
message Invoice { int64 id = 1; common.Money total = 2; }
"#;

#[derive(Clone, PartialEq, prost::Message)]
struct Money {
    #[prost(string, tag = "1")]
    currency: String,
    #[prost(int64, tag = "2")]
    cents: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Invoice {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(message, optional, tag = "2")]
    total: Option<Money>,
}

impl prost::Name for Invoice {
    const NAME: &'static str = "Invoice";
    const PACKAGE: &'static str = "billing";
}

fn invoice() -> Invoice {
    Invoice {
        id: 42,
        total: Some(Money {
            currency: "EUR".into(),
            cents: 1999,
        }),
    }
}

async fn imports_are_registered_first_and_referenced_by_the_root_schema(registry: Registry) {
    let client = registry.client();
    let ser = ProtobufSerializer::<Invoice>::with_imports(
        client.clone(),
        WITH_IMPORT,
        vec![ProtoImport::new("common/money.proto", COMMON)],
        SerializerConfig::default(),
    )
    .unwrap();
    let out = ser
        .serialize("invoices", Field::Value, &invoice())
        .await
        .unwrap();
    // The imported file under a subject named after its import path, the root referencing it.
    let common = registry.latest("common%2Fmoney.proto").await;
    assert_eq!(common["version"], 1, "{common}");
    registry
        .assert_references(
            "invoices-value",
            &[("common/money.proto", "common/money.proto")],
        )
        .await;
    let root = registry.latest("invoices-value").await;
    let frame = wire::parse_prefix(&out.payload, true).unwrap();
    assert_eq!(
        Some(i64::from(match frame.schema {
            wire::SchemaId::Id(id) => id,
            other => panic!("{other:?}"),
        })),
        root["id"].as_i64()
    );
    // Deserializers resolve the reference when they fetch the schema by id.
    let de = ProtobufDeserializer::<Invoice>::new(client.clone());
    assert_eq!(
        de.deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap(),
        invoice()
    );
    let dynamic = ProtobufDynamicDeserializer::new(client.clone());
    let m = dynamic
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(m.descriptor().full_name(), "billing.Invoice");
    assert_eq!(proto_field(&m, "total.cents"), Value::I64(1999));

    // A dynamic message of a file with the same import references it the same way, by its
    // import path. (Its serialized descriptor spells `.google.protobuf.Timestamp` where the
    // text spells `google.protobuf.Timestamp`, so the registry keeps it as another version of
    // the import: which version is not this test's concern.)
    let parsed = ProtobufSchema::parse(
        WITH_IMPORT,
        &[proto_dependency("common/money.proto", COMMON, Vec::new())],
        ParseOptions::default(),
    )
    .unwrap();
    let descriptor = parsed.message_descriptor("billing.Invoice").unwrap();
    let mut m = DynamicMessage::new(descriptor.clone());
    m.set_field_by_name("id", Value::I64(7));
    let ser =
        ProtobufDynamicSerializer::new(client.clone(), descriptor, SerializerConfig::default())
            .unwrap();
    let out = ser
        .serialize("invoices-dyn", Field::Value, &m)
        .await
        .unwrap();
    let root = registry.latest("invoices-dyn-value").await;
    assert_eq!(
        root["references"][0]["name"], "common/money.proto",
        "{root}"
    );
    assert_eq!(
        root["references"][0]["subject"], "common/money.proto",
        "{root}"
    );
    let back = ProtobufDeserializer::<Invoice>::new(client)
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(back.id, 7);
}

/// Subjects named `<topic>-<field>-<import path as a dotted name>`, as a team might name
/// references to keep each topic's imports apart.
fn per_topic_reference_subjects() -> ReferenceSubjectNameStrategy {
    ReferenceSubjectNameStrategy::custom(|topic, field, import| {
        format!(
            "{topic}-{}-{}",
            field.suffix(),
            import.trim_end_matches(".proto").replace('/', ".")
        )
    })
}

async fn a_reference_subject_name_strategy_names_the_subjects_imports_are_registered_under(
    registry: Registry,
) {
    let client = registry.client();
    let config = SerializerConfig {
        reference_subject_name_strategy: per_topic_reference_subjects(),
        ..SerializerConfig::default()
    };
    let ser = ProtobufSerializer::<Invoice>::with_imports(
        client.clone(),
        WITH_IMPORT,
        vec![ProtoImport::new("common/money.proto", COMMON)],
        config.clone(),
    )
    .unwrap();
    // Each topic's root references the import under the subject the strategy names for it.
    let mut payloads = Vec::new();
    for topic in ["invoices", "refunds"] {
        let out = ser
            .serialize(topic, Field::Value, &invoice())
            .await
            .unwrap();
        let import = format!("{topic}-value-common.money");
        assert_eq!(registry.latest(&import).await["version"], 1, "{import}");
        registry
            .assert_references(
                &format!("{topic}-value"),
                &[("common/money.proto", &import)],
            )
            .await;
        payloads.push(out.payload);
    }
    // A chain of imports: each file's references name its import's custom subject.
    let m = bill(&bill_proto(""), 3);
    let dynamic = ProtobufDynamicSerializer::new(client.clone(), m.descriptor(), config).unwrap();
    let bills = dynamic.serialize("bills", Field::Value, &m).await.unwrap();
    registry
        .assert_references(
            "bills-value-billing.line",
            &[("common/money.proto", "bills-value-common.money")],
        )
        .await;
    registry
        .assert_references(
            "bills-value",
            &[("billing/line.proto", "bills-value-billing.line")],
        )
        .await;
    // Nothing was registered under an import path.
    assert_eq!(
        registry.subjects().await,
        [
            "bills-value",
            "bills-value-billing.line",
            "bills-value-common.money",
            "invoices-value",
            "invoices-value-common.money",
            "refunds-value",
            "refunds-value-common.money",
        ]
    );
    // Deserializers follow the references wherever they point.
    let de = ProtobufDeserializer::<Invoice>::new(client.clone());
    for payload in &payloads {
        assert_eq!(
            de.deserialize(Field::Value, &[], payload).await.unwrap(),
            invoice()
        );
    }
    let back = ProtobufDynamicDeserializer::new(client)
        .deserialize(Field::Value, &[], &bills.payload)
        .await
        .unwrap();
    assert_eq!(proto_field(&back, "id"), Value::I64(3));
}

async fn without_auto_register_a_missing_import_is_the_registrys_error(registry: Registry) {
    let ser = ProtobufSerializer::<Invoice>::with_imports(
        registry.client(),
        WITH_IMPORT,
        vec![ProtoImport::new("common/money.proto", COMMON)],
        SerializerConfig {
            auto_register_schemas: false,
            ..SerializerConfig::default()
        },
    )
    .unwrap();
    let err = ser
        .serialize("invoices", Field::Value, &invoice())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(40401), "{err}");
    // An import the schema needs but the caller left out is a clear error up front.
    assert!(ProtobufSerializer::<Invoice>::new(
        registry.client(),
        WITH_IMPORT,
        SerializerConfig::default()
    )
    .is_err());
}

/// Imports [`COMMON`] in turn: a chain root → `billing/line.proto` → `common/money.proto`.
const LINE: &str = r#"syntax = "proto3";
package billing;
import "common/money.proto";
message Line { string sku = 1; common.Money price = 2; }
"#;

/// A root importing [`LINE`]; `extra` makes a second root schema (another id) with the same
/// import.
fn bill_proto(extra: &str) -> String {
    format!(
        "syntax = \"proto3\";\npackage billing;\nimport \"billing/line.proto\";\n\
         message Bill {{ int64 id = 1; repeated Line lines = 2; }}\n{extra}"
    )
}

/// A `billing.Bill` dynamic message of `root` (which imports the line → money chain).
fn bill(root: &str, id: i64) -> DynamicMessage {
    let parsed = ProtobufSchema::parse(
        root,
        &[proto_dependency(
            "billing/line.proto",
            LINE,
            vec![proto_dependency("common/money.proto", COMMON, Vec::new())],
        )],
        ParseOptions::default(),
    )
    .unwrap();
    let descriptor = parsed.message_descriptor("billing.Bill").unwrap();
    let pool = descriptor.parent_pool().clone();
    let mut money = DynamicMessage::new(pool.get_message_by_name("common.Money").unwrap());
    money.set_field_by_name("currency", Value::String("EUR".into()));
    money.set_field_by_name("cents", Value::I64(250));
    let mut line = DynamicMessage::new(pool.get_message_by_name("billing.Line").unwrap());
    line.set_field_by_name("sku", Value::String("lamp".into()));
    line.set_field_by_name("price", Value::Message(money));
    let mut m = DynamicMessage::new(descriptor);
    m.set_field_by_name("id", Value::I64(id));
    m.set_field_by_name("lines", Value::List(vec![Value::Message(line)]));
    m
}

async fn a_chain_of_imports_is_registered_innermost_first_and_each_reference_fetched_once(
    registry: Registry,
) {
    let client = registry.client();
    let (root_a, root_b) = (
        bill_proto(""),
        bill_proto("message Note { string text = 1; }\n"),
    );
    let mut payloads = Vec::new();
    for (topic, root, id) in [("bills-a", &root_a, 1), ("bills-b", &root_b, 2)] {
        let m = bill(root, id);
        let ser = ProtobufDynamicSerializer::new(
            client.clone(),
            m.descriptor(),
            SerializerConfig::default(),
        )
        .unwrap();
        payloads.push(
            ser.serialize(topic, Field::Value, &m)
                .await
                .unwrap()
                .payload,
        );
    }
    // Each file under its import path, each referencing what it imports (the registry refuses
    // a reference to a subject that does not exist yet, so this also shows the order).
    let common = registry.latest("common%2Fmoney.proto").await;
    assert_eq!(common["version"], 1, "{common}");
    assert!(
        common["references"].as_array().is_none_or(|r| r.is_empty()),
        "the well-known import is no reference: {common}"
    );
    registry
        .assert_references(
            "billing%2Fline.proto",
            &[("common/money.proto", "common/money.proto")],
        )
        .await;
    for subject in ["bills-a-value", "bills-b-value"] {
        registry
            .assert_references(subject, &[("billing/line.proto", "billing/line.proto")])
            .await;
    }

    // A consumer's client resolves the chain when it fetches a root by id, and fetches each
    // referenced version once, however many roots reference it.
    let relay = CountingRelay::start(&registry).await;
    let de = ProtobufDynamicDeserializer::new(relay.client());
    for (payload, id) in payloads.iter().zip([1, 2]) {
        let m = de.deserialize(Field::Value, &[], payload).await.unwrap();
        assert_eq!(m.descriptor().full_name(), "billing.Bill");
        assert_eq!(proto_field(&m, "id"), Value::I64(id));
        assert_eq!(proto_field(&m, "lines.0.price.cents"), Value::I64(250));
    }
    for path in [
        "/subjects/billing%2Fline.proto/versions/1",
        "/subjects/common%2Fmoney.proto/versions/1",
    ] {
        assert_eq!(
            relay.count(&format!("GET {path}")),
            1,
            "{path}: {:?}",
            relay.requests()
        );
    }
}

async fn use_latest_with_metadata_picks_the_protobuf_version_and_its_message_indexes(
    registry: Registry,
) {
    // Version 1 (prod) has Order second; version 2 (dev) puts it first: the indexes written
    // must be those of the version the metadata picks.
    let v2 = r#"syntax = "proto3";
package shop;
message Order { int64 id = 1; string item = 2; }
message Other { string x = 1; }
"#;
    let mut ids = Vec::new();
    for (schema, env) in [(PROTO, "prod"), (v2, "dev")] {
        ids.push(
            registry
                .register_with_metadata(
                    "orders-value",
                    SchemaType::Protobuf,
                    schema,
                    &[("env", env)],
                )
                .await,
        );
    }
    let config = |env: &str| use_latest_with_metadata(&[("env", env)]);
    for (env, id, indexes) in [("prod", ids[0], vec![1]), ("dev", ids[1], vec![0])] {
        let ser = ProtobufSerializer::<Order>::new(registry.client(), PROTO, config(env)).unwrap();
        let out = ser
            .serialize("orders", Field::Value, &order())
            .await
            .unwrap();
        let frame = wire::parse_prefix(&out.payload, true).unwrap();
        assert_eq!(
            (frame.schema, frame.message_indexes),
            (wire::SchemaId::Id(id), indexes),
            "env={env}"
        );
        let back = ProtobufDeserializer::<Order>::new(registry.client())
            .deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap();
        assert_eq!(back, order(), "env={env}");
    }
    let err = ProtobufSerializer::<Order>::new(registry.client(), PROTO, config("staging"))
        .unwrap()
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(40403), "{err}");
}

async fn built_in_imports_are_never_registered_as_references(registry: Registry) {
    // Confluent's clients and registries have google/protobuf, google/type and confluent files
    // built in: only the user's own import becomes a reference.
    let root = r#"syntax = "proto3";
package billing;
import "common/money.proto";
import "google/type/date.proto";
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
message Due { common.Money amount = 1; google.type.Date on = 2; google.protobuf.Timestamp at = 3; }
"#;
    let parsed = ProtobufSchema::parse(
        root,
        &[proto_dependency("common/money.proto", COMMON, Vec::new())],
        ParseOptions::default(),
    )
    .unwrap();
    let descriptor = parsed.message_descriptor("billing.Due").unwrap();
    let pool = descriptor.parent_pool().clone();
    let mut date = DynamicMessage::new(pool.get_message_by_name("google.type.Date").unwrap());
    date.set_field_by_name("year", Value::I32(2026));
    let mut m = DynamicMessage::new(descriptor.clone());
    m.set_field_by_name("on", Value::Message(date));
    let client = registry.client();
    let ser =
        ProtobufDynamicSerializer::new(client.clone(), descriptor, SerializerConfig::default())
            .unwrap();
    let out = ser.serialize("dues", Field::Value, &m).await.unwrap();
    registry
        .assert_references(
            "dues-value",
            &[("common/money.proto", "common/money.proto")],
        )
        .await;
    assert_eq!(
        registry.subjects().await,
        ["common/money.proto", "dues-value"],
        "only the import and the root"
    );
    let back = ProtobufDynamicDeserializer::new(client)
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(proto_field(&back, "on.year"), Value::I32(2026));
}

#[derive(Clone, PartialEq, prost::Message)]
struct Due {
    #[prost(int32, tag = "1")]
    x: i32,
}

impl prost::Name for Due {
    const NAME: &'static str = "Due";
    const PACKAGE: &'static str = "b";
}

async fn a_reference_to_a_built_in_file_is_not_fetched_when_decoding(registry: Registry) {
    // A root registered (by some other client) with a reference to confluent/meta.proto, which
    // Confluent's deserializers skip in favour of their built-in copy.
    const ROOT: &str = "syntax = \"proto3\";\npackage b;\nimport \"confluent/meta.proto\";\n\
                        message Due { int32 x = 1; }\n";
    let meta = registry
        .post_version(
            "confluent%2Fmeta.proto",
            serde_json::json!({"schemaType": "PROTOBUF",
                "schema": "syntax = \"proto3\";\npackage confluent;\nmessage Placeholder {}\n"}),
        )
        .await;
    assert_eq!(meta["version"], 1, "{meta}");
    let root = registry
        .post_version(
            "dues-value",
            serde_json::json!({"schemaType": "PROTOBUF", "schema": ROOT, "references": [
                {"name": "confluent/meta.proto", "subject": "confluent/meta.proto", "version": 1}]}),
        )
        .await;
    let id = root["id"].as_i64().unwrap_or_else(|| panic!("{root}")) as i32;

    let relay = CountingRelay::start(&registry).await;
    let ser = ProtobufSerializer::<Due>::new(
        relay.client(),
        ROOT,
        SerializerConfig {
            auto_register_schemas: false,
            use_schema_id: Some(id),
            ..SerializerConfig::default()
        },
    )
    .unwrap();
    let out = ser
        .serialize("dues", Field::Value, &Due { x: 5 })
        .await
        .unwrap();
    let back = ProtobufDeserializer::<Due>::new(relay.client())
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(back, Due { x: 5 });
    let requests = relay.requests();
    assert!(
        requests
            .iter()
            .all(|r| !r.contains("confluent%2Fmeta.proto")),
        "{requests:?}"
    );
    assert!(
        relay.count(&format!("GET /schemas/ids/{id}")) >= 1,
        "{requests:?}"
    );
}

crate::on_both_engines!(
    a_prost_message_carries_its_message_indexes_and_round_trips,
    a_dynamic_message_registers_its_file_and_decodes_as_the_prost_type,
    imports_are_registered_first_and_referenced_by_the_root_schema,
    a_reference_subject_name_strategy_names_the_subjects_imports_are_registered_under,
    without_auto_register_a_missing_import_is_the_registrys_error,
    a_chain_of_imports_is_registered_innermost_first_and_each_reference_fetched_once,
    built_in_imports_are_never_registered_as_references,
    a_reference_to_a_built_in_file_is_not_fetched_when_decoding,
    use_latest_with_metadata_picks_the_protobuf_version_and_its_message_indexes,
);
