//! JSON Schema serializers and deserializers against a live registry.

use serde::{Deserialize, Serialize};
use strata_schema::SchemaType;
use strata_serde::wire::{self, SchemaId};
use strata_serde::{Error, Field, JsonDeserializer, JsonSerializer, SerializerConfig};

use crate::harness::{use_latest_with_metadata, Registry};

pub const PERSON: &str = r#"{"type":"object","title":"Person","properties":{
    "name":{"type":"string","minLength":1},"age":{"type":"integer","minimum":0}},
    "required":["name"]}"#;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub age: i64,
}

async fn a_valid_json_value_round_trips(registry: Registry) {
    let client = registry.client();
    let ser =
        JsonSerializer::<Person>::new(client.clone(), PERSON, SerializerConfig::default()).unwrap();
    let p = Person {
        name: "Ada".into(),
        age: 36,
    };
    let out = ser.serialize("people", Field::Value, &p).await.unwrap();
    assert_eq!(out.payload[0], 0);
    assert_eq!(&out.payload[5..], br#"{"name":"Ada","age":36}"#);
    let de = JsonDeserializer::<Person>::new(client);
    assert_eq!(
        de.deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap(),
        p
    );
}

async fn an_invalid_json_value_is_rejected_with_the_violations(registry: Registry) {
    let ser = JsonSerializer::<Person>::new(registry.client(), PERSON, SerializerConfig::default())
        .unwrap();
    let err = ser
        .serialize(
            "people",
            Field::Value,
            &Person {
                name: String::new(),
                age: -1,
            },
        )
        .await
        .unwrap_err();
    match err {
        Error::Validation { messages, .. } => assert_eq!(messages.len(), 2, "{messages:?}"),
        other => panic!("expected a validation error, got {other}"),
    }
}

async fn use_latest_with_metadata_writes_json_with_the_version_its_properties_pick(
    registry: Registry,
) {
    // Two versions told apart by their metadata (the second only adds a description).
    let v2 = PERSON.replacen('{', r#"{"description":"someone","#, 1);
    let mut ids = Vec::new();
    for (schema, env) in [(PERSON, "prod"), (v2.as_str(), "dev")] {
        ids.push(
            registry
                .register_with_metadata("people-value", SchemaType::Json, schema, &[("env", env)])
                .await,
        );
    }
    assert_ne!(ids[0], ids[1]);
    let p = Person {
        name: "Ada".into(),
        age: 36,
    };
    for (env, id) in [("prod", ids[0]), ("dev", ids[1])] {
        let config = use_latest_with_metadata(&[("env", env)]);
        let ser = JsonSerializer::<Person>::new(registry.client(), PERSON, config).unwrap();
        let out = ser.serialize("people", Field::Value, &p).await.unwrap();
        assert_eq!(
            wire::parse_prefix(&out.payload, false).unwrap().schema,
            SchemaId::Id(id),
            "env={env}"
        );
        let back = JsonDeserializer::<Person>::new(registry.client())
            .deserialize(Field::Value, &[], &out.payload)
            .await
            .unwrap();
        assert_eq!(back, p, "env={env}");
    }
}

crate::on_both_engines!(
    a_valid_json_value_round_trips,
    an_invalid_json_value_is_rejected_with_the_violations,
    use_latest_with_metadata_writes_json_with_the_version_its_properties_pick,
);
