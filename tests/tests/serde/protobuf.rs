//! Protobuf serializers and deserializers against a live registry.

use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use strata_schema::{FormatSchema, ParseOptions, ProtobufSchema};
use strata_serde::wire;
use strata_serde::{
    Field, ProtobufDeserializer, ProtobufDynamicDeserializer, ProtobufDynamicSerializer,
    ProtobufSerializer, SerializerConfig,
};

use crate::harness::Registry;

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

crate::on_both_engines!(
    a_prost_message_carries_its_message_indexes_and_round_trips,
    a_dynamic_message_registers_its_file_and_decodes_as_the_prost_type,
);
