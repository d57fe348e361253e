"""confluent-kafka for Python's Protobuf and JSON Schema serializers against strata serve.

The Protobuf serializer registers its schema as a base64 FileDescriptorProto, and nested or
second messages exercise message indexes other than [0]."""

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

import pytest


def _message_classes():
    """Build message classes at run time (no protoc here): interop/shop.proto with a nested
    message Order.Line and a second top-level message Refund."""
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "interop/shop.proto"
    fdp.package = "interop"
    fdp.syntax = "proto3"
    order = fdp.message_type.add()
    order.name = "Order"
    f = order.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64)
    f.label = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
    line = order.nested_type.add()
    line.name = "Line"
    line.field.add(name="sku", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                   label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    line.field.add(name="quantity", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
                   label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    order.field.add(name="lines", number=2, type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
                    type_name=".interop.Order.Line",
                    label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
    refund = fdp.message_type.add()
    refund.name = "Refund"
    refund.field.add(name="order_id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
                     label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = message_factory.GetMessageClass
    return (
        get(pool.FindMessageTypeByName("interop.Order")),
        get(pool.FindMessageTypeByName("interop.Order.Line")),
        get(pool.FindMessageTypeByName("interop.Refund")),
    )


@pytest.mark.parametrize("which", ["Order", "Order.Line", "Refund"])
def test_protobuf_serializer_round_trips_with_message_indexes(registry_url, which):
    Order, Line, Refund = _message_classes()
    client = SchemaRegistryClient({"url": registry_url})
    conf = {"use.deprecated.format": False}
    ctx = SerializationContext("shop", MessageField.VALUE)
    if which == "Order":
        cls, msg, indexes = Order, Order(id=7, lines=[Line(sku="a", quantity=2)]), b"\x00"
    elif which == "Order.Line":
        cls, msg, indexes = Line, Line(sku="b", quantity=3), b"\x04\x00\x00"  # [0, 0]
    else:
        cls, msg, indexes = Refund, Refund(order_id=9), b"\x02\x02"  # [1]
    payload = ProtobufSerializer(cls, client, conf)(msg, ctx)
    assert payload[0] == 0
    schema_id = int.from_bytes(payload[1:5], "big")
    assert payload[5 : 5 + len(indexes)] == indexes
    registered = client.get_schema(schema_id)
    assert registered.schema_type == "PROTOBUF"
    assert "message Order" in registered.schema_str and "message Refund" in registered.schema_str
    decoded = ProtobufDeserializer(cls, conf)(payload, ctx)
    assert decoded == msg


def test_json_serializer_validates_and_round_trips(registry_url):
    schema = """{
      "$schema": "http://json-schema.org/draft-07/schema#",
      "title": "Payment",
      "type": "object",
      "properties": {"id": {"type": "integer"}, "amount": {"type": "number", "minimum": 0}},
      "required": ["id", "amount"]
    }"""
    client = SchemaRegistryClient({"url": registry_url})
    ctx = SerializationContext("payments", MessageField.VALUE)
    serializer = JSONSerializer(schema, client)
    payload = serializer({"id": 1, "amount": 9.5}, ctx)
    assert payload[0] == 0
    schema_id = int.from_bytes(payload[1:5], "big")
    assert client.get_schema(schema_id).schema_type == "JSON"
    assert client.get_latest_version("payments-value").schema_id == schema_id
    assert JSONDeserializer(schema, schema_registry_client=client)(payload, ctx) == {"id": 1, "amount": 9.5}
    # Reading with the registry's copy of the schema (no local schema) works too.
    assert JSONDeserializer(None, schema_registry_client=client)(payload, ctx) == {"id": 1, "amount": 9.5}
