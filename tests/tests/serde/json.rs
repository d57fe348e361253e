//! JSON Schema serializers and deserializers against a live registry.

use serde::{Deserialize, Serialize};
use strata_serde::{Error, Field, JsonDeserializer, JsonSerializer, SerializerConfig};

use crate::harness::Registry;

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

crate::on_both_engines!(
    a_valid_json_value_round_trips,
    an_invalid_json_value_is_rejected_with_the_violations,
);
