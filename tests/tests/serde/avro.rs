//! Avro serializers and deserializers against a live registry.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use strata_schema::SchemaType;
use strata_serde::wire::{self, SchemaId, VALUE_SCHEMA_ID_HEADER};
use strata_serde::{
    AvroDeserializer, AvroSerializer, AvroValueDeserializer, AvroValueSerializer, Error, Field,
    RegistryClient, RegistryConfig, SchemaIdPlacement, SerializerConfig, SubjectNameStrategy,
};

use crate::harness::{use_latest_with_metadata, Registry};

pub const ORDER_V1: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
    {"name":"id","type":"long"},{"name":"item","type":"string"},
    {"name":"note","type":["null","string"],"default":null},{"name":"qty","type":"int"},
    {"name":"price","type":"double"},{"name":"tags","type":{"type":"array","items":"string"}}]}"#;

/// V1 plus a field with a default: BACKWARD compatible.
pub const ORDER_V2: &str = r#"{"type":"record","name":"Order","namespace":"shop","fields":[
    {"name":"id","type":"long"},{"name":"item","type":"string"},
    {"name":"note","type":["null","string"],"default":null},{"name":"qty","type":"int"},
    {"name":"price","type":"double"},{"name":"tags","type":{"type":"array","items":"string"}},
    {"name":"currency","type":"string","default":"EUR"}]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    pub item: String,
    pub note: Option<String>,
    pub qty: i32,
    pub price: f64,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderV2 {
    pub id: i64,
    pub item: String,
    pub note: Option<String>,
    pub qty: i32,
    pub price: f64,
    pub tags: Vec<String>,
    pub currency: String,
}

pub fn order() -> Order {
    Order {
        id: 7,
        item: "widget".into(),
        note: None,
        qty: 2,
        price: 3.25,
        tags: vec!["blue".into()],
    }
}

async fn a_typed_value_registers_its_schema_and_round_trips(registry: Registry) {
    let client = registry.client();
    let ser = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, SerializerConfig::default())
        .unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    let frame = wire::parse_prefix(&out.payload, false).unwrap();
    assert_eq!(frame.schema, SchemaId::Id(1));
    assert!(out.header.is_none());
    assert_eq!(client.versions("orders-value").await.unwrap(), vec![1]);

    let de = AvroDeserializer::<Order>::new(client);
    let back = de
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(back, order());
}

async fn a_new_reader_schema_reads_data_written_with_the_old_one(registry: Registry) {
    let client = registry.client();
    let ser = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, SerializerConfig::default())
        .unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();

    let de = AvroDeserializer::<OrderV2>::with_reader_schema(client, ORDER_V2).unwrap();
    let back = de
        .deserialize(Field::Value, &[], &out.payload)
        .await
        .unwrap();
    assert_eq!(
        back.currency, "EUR",
        "the reader's default fills the new field"
    );
    assert_eq!(back.item, "widget");
}

async fn header_placement_puts_the_guid_in_the_header_and_decodes(registry: Registry) {
    let client = registry.client();
    let config = SerializerConfig {
        schema_id_placement: SchemaIdPlacement::Header,
        ..SerializerConfig::default()
    };
    let ser = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, config).unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    let (name, value) = out.header.clone().expect("a header");
    assert_eq!(name, VALUE_SCHEMA_ID_HEADER);
    assert_eq!(value.len(), 17, "magic 0x01 and a 16-byte GUID");
    assert_eq!(value[0], wire::MAGIC_GUID);

    let headers = vec![(name.to_string(), bytes::Bytes::from(value))];
    let de = AvroDeserializer::<Order>::new(client);
    let back = de
        .deserialize(Field::Value, &headers, &out.payload)
        .await
        .unwrap();
    assert_eq!(back, order());
}

async fn a_guid_prefix_decodes_like_an_id_prefix(registry: Registry) {
    let client = registry.client();
    let ser = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, SerializerConfig::default())
        .unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    let registered = client.version("orders-value", Some(1)).await.unwrap();
    let guid = registered.guid.expect("the registry gives a GUID");
    let mut bytes = Vec::new();
    wire::write_prefix(&mut bytes, SchemaId::Guid(guid), None);
    bytes.extend_from_slice(&out.payload[5..]);
    let de = AvroDeserializer::<Order>::new(client);
    assert_eq!(
        de.deserialize(Field::Value, &[], &bytes).await.unwrap(),
        order()
    );
}

async fn use_latest_version_writes_with_the_latest_schema_and_strictness_refuses_mismatches(
    registry: Registry,
) {
    let client = registry.client();
    let writer =
        AvroSerializer::<Order>::new(client.clone(), ORDER_V1, SerializerConfig::default())
            .unwrap();
    writer
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();

    let latest = SerializerConfig {
        auto_register_schemas: false,
        use_latest_version: true,
        ..SerializerConfig::default()
    };
    let ser = AvroSerializer::<Order>::from_registry(client.clone(), latest.clone()).unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    assert_eq!(
        wire::parse_prefix(&out.payload, false).unwrap().schema,
        SchemaId::Id(1)
    );

    // A value schema the latest version cannot read is refused under strictness.
    let other = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"z","type":"int"}]}"#;
    #[derive(Serialize)]
    struct Z {
        z: i32,
    }
    let strict = AvroSerializer::<Z>::new(client, other, latest).unwrap();
    let err = strict
        .serialize("orders", Field::Value, &Z { z: 1 })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}

async fn use_latest_with_metadata_writes_with_the_version_its_properties_pick(registry: Registry) {
    // Two versions of orders-value, told apart by their metadata properties.
    let mut ids = Vec::new();
    for (schema, env) in [(ORDER_V1, "prod"), (ORDER_V2, "dev")] {
        ids.push(
            registry
                .register_with_metadata(
                    "orders-value",
                    SchemaType::Avro,
                    schema,
                    &[("app", "shop"), ("env", env)],
                )
                .await,
        );
    }
    let with = use_latest_with_metadata;
    let written_with = |payload: &[u8]| wire::parse_prefix(payload, false).unwrap().schema;
    // env=prod picks version 1 although version 2 is the latest.
    let ser = AvroSerializer::<Order>::new(
        registry.client(),
        ORDER_V1,
        with(&[("app", "shop"), ("env", "prod")]),
    )
    .unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    assert_eq!(written_with(&out.payload), SchemaId::Id(ids[0]));
    let de = AvroDeserializer::<Order>::new(registry.client());
    assert_eq!(
        de.deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap(),
        order()
    );
    // app=shop alone: the latest of both, version 2.
    let ser = AvroSerializer::<Order>::from_registry(registry.client(), with(&[("app", "shop")]))
        .unwrap();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    assert_eq!(written_with(&out.payload), SchemaId::Id(ids[1]));
    // No version matches: the registry's 40403, and nothing is written.
    let ser =
        AvroSerializer::<Order>::new(registry.client(), ORDER_V1, with(&[("env", "staging")]))
            .unwrap();
    let err = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(40403), "{err}");
    // Registering and picking by metadata at once is refused, as Confluent's clients do.
    let both = SerializerConfig {
        auto_register_schemas: true,
        ..with(&[("env", "prod")])
    };
    assert!(AvroSerializer::<Order>::new(registry.client(), ORDER_V1, both).is_err());
}

async fn use_latest_with_metadata_sees_a_newly_matching_version_once_the_ttl_runs_out(
    registry: Registry,
) {
    let register = |schema: &'static str| {
        registry.register_with_metadata(
            "orders-value",
            SchemaType::Avro,
            schema,
            &[("env", "prod")],
        )
    };
    let first = register(ORDER_V1).await;
    let ttl = Duration::from_millis(1000);
    let mut config = RegistryConfig::new(&registry.url);
    config.latest_ttl = ttl;
    let ser = AvroSerializer::<Order>::new(
        RegistryClient::new(config).unwrap(),
        ORDER_V1,
        use_latest_with_metadata(&[("env", "prod")]),
    )
    .unwrap();
    let written_with = |payload: &[u8]| wire::parse_prefix(payload, false).unwrap().schema;
    let cached_at = std::time::Instant::now();
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    assert_eq!(written_with(&out.payload), SchemaId::Id(first));
    // A second prod version: the cached choice holds until the time to live runs out
    // (checked only when this machine got here within it).
    let second = register(ORDER_V2).await;
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    if cached_at.elapsed() < ttl {
        assert_eq!(
            written_with(&out.payload),
            SchemaId::Id(first),
            "still cached"
        );
    }
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let out = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    assert_eq!(
        written_with(&out.payload),
        SchemaId::Id(second),
        "after the TTL"
    );
}

async fn without_auto_register_an_unknown_schema_fails_with_the_registrys_code(registry: Registry) {
    let config = SerializerConfig {
        auto_register_schemas: false,
        ..SerializerConfig::default()
    };
    let ser = AvroSerializer::<Order>::new(registry.client(), ORDER_V1, config).unwrap();
    let err = ser
        .serialize("orders", Field::Value, &order())
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(40401), "{err}");
}

async fn record_name_strategies_name_the_subject_after_the_record(registry: Registry) {
    let client = registry.client();
    for (strategy, subject) in [
        (SubjectNameStrategy::Record, "shop.Order"),
        (SubjectNameStrategy::TopicRecord, "orders-shop.Order"),
    ] {
        let config = SerializerConfig {
            subject_name_strategy: strategy,
            ..SerializerConfig::default()
        };
        let ser = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, config).unwrap();
        ser.serialize("orders", Field::Value, &order())
            .await
            .unwrap();
        assert_eq!(
            client.versions(subject).await.unwrap(),
            vec![1],
            "{strategy:?}"
        );
    }
}

async fn an_incompatible_schema_is_refused_with_the_registrys_messages(registry: Registry) {
    let client = registry.client();
    let v1 = AvroSerializer::<Order>::new(client.clone(), ORDER_V1, SerializerConfig::default())
        .unwrap();
    v1.serialize("orders", Field::Value, &order())
        .await
        .unwrap();
    let breaking = r#"{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"string"}]}"#;
    #[derive(Serialize)]
    struct Broken {
        id: String,
    }
    let v2 = AvroSerializer::<Broken>::new(client, breaking, SerializerConfig::default()).unwrap();
    let err = v2
        .serialize("orders", Field::Value, &Broken { id: "x".into() })
        .await
        .unwrap_err();
    assert!(err.is_incompatible(), "{err}");
    assert!(err.to_string().contains("incompatible"), "{err}");
}

#[tokio::test]
async fn generic_values_serialize_and_deserialize() {
    use apache_avro::types::Value;
    let registry = Registry::start().await;
    let client = registry.client();
    let ser =
        AvroValueSerializer::new(client.clone(), r#""long""#, SerializerConfig::default()).unwrap();
    let out = ser
        .serialize("n", Field::Value, &Value::Long(5))
        .await
        .unwrap();
    assert!(ser
        .serialize("n", Field::Value, &Value::String("x".into()))
        .await
        .is_err());
    let de = AvroValueDeserializer::new(client, None).unwrap();
    assert_eq!(
        de.deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap(),
        Value::Long(5)
    );
}

async fn an_unknown_schema_id_is_a_40403_error(registry: Registry) {
    let de = AvroDeserializer::<Order>::new(registry.client());
    let err = de
        .deserialize(Field::Value, &[], &[0, 0, 0, 0, 99, 1])
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some(40403), "{err}");
    assert!(matches!(
        de.deserialize(Field::Value, &[], &[9, 9]).await,
        Err(Error::Frame(_))
    ));
}

async fn the_client_fails_over_to_the_next_url(registry: Registry) {
    let client = RegistryClient::new(RegistryConfig::with_urls([
        "http://127.0.0.1:1".to_string(),
        registry.url.clone(),
    ]))
    .unwrap();
    let ser = AvroSerializer::<Order>::new(client, ORDER_V1, SerializerConfig::default()).unwrap();
    ser.serialize("orders", Field::Value, &order())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_registry_is_a_transient_error() {
    let client = RegistryClient::new(RegistryConfig::new("http://127.0.0.1:1")).unwrap();
    let err = client.schema_by_id(1).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

crate::on_both_engines!(
    a_typed_value_registers_its_schema_and_round_trips,
    use_latest_with_metadata_writes_with_the_version_its_properties_pick,
    use_latest_with_metadata_sees_a_newly_matching_version_once_the_ttl_runs_out,
    a_new_reader_schema_reads_data_written_with_the_old_one,
    header_placement_puts_the_guid_in_the_header_and_decodes,
    a_guid_prefix_decodes_like_an_id_prefix,
    use_latest_version_writes_with_the_latest_schema_and_strictness_refuses_mismatches,
    without_auto_register_an_unknown_schema_fails_with_the_registrys_code,
    record_name_strategies_name_the_subject_after_the_record,
    an_incompatible_schema_is_refused_with_the_registrys_messages,
    an_unknown_schema_id_is_a_40403_error,
    the_client_fails_over_to_the_next_url,
);
