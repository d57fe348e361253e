"""confluent-kafka for Python (pinned) against strata serve: the registry client and the Avro
serializer/deserializer, exactly as users call them."""

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

USER_V1 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "long"}, {"name": "name", "type": "string"}],
    }
)
USER_V2 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "name", "type": "string"},
            {"name": "email", "type": ["null", "string"], "default": None},
        ],
    }
)
USER_BAD = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "com.example",
        "fields": [{"name": "id", "type": "string"}],
    }
)


def test_client_registers_reads_looks_up_and_deletes(registry_url):
    client = SchemaRegistryClient({"url": registry_url})
    schema_id = client.register_schema("users-value", Schema(USER_V1, "AVRO"))
    assert schema_id >= 1

    fetched = client.get_schema(schema_id)
    assert fetched.schema_type == "AVRO"
    assert json.loads(fetched.schema_str) == json.loads(USER_V1)

    latest = client.get_latest_version("users-value")
    assert latest.schema_id == schema_id and latest.version == 1 and latest.subject == "users-value"
    assert client.get_version("users-value", 1).schema_id == schema_id

    found = client.lookup_schema("users-value", Schema(USER_V1, "AVRO"))
    assert found.schema_id == schema_id and found.version == 1

    assert client.test_compatibility("users-value", Schema(USER_V2, "AVRO")) is True
    assert client.test_compatibility("users-value", Schema(USER_BAD, "AVRO")) is False

    with pytest.raises(SchemaRegistryError) as err:
        client.register_schema("users-value", Schema(USER_BAD, "AVRO"))
    assert err.value.http_status_code == 409
    assert err.value.error_code == 409

    v2 = client.register_schema("users-value", Schema(USER_V2, "AVRO"))
    assert v2 != schema_id
    assert client.get_versions("users-value") == [1, 2]
    assert client.get_subjects() == ["users-value"]

    assert client.set_compatibility("users-value", "FULL")["compatibility"] == "FULL"
    assert client.get_compatibility("users-value") == "FULL"
    client.set_compatibility(level="FORWARD")
    assert client.get_compatibility() == "FORWARD"

    assert client.delete_version("users-value", 2) == 2
    assert client.get_versions("users-value") == [1]
    assert client.delete_subject("users-value") == [1]
    # Permanent deletion removes (and lists) the earlier soft-deleted version 2 as well.
    assert client.delete_subject("users-value", permanent=True) == [1, 2]
    # A fresh client: the first one caches the latest version.
    with pytest.raises(SchemaRegistryError) as err:
        SchemaRegistryClient({"url": registry_url}).get_latest_version("users-value")
    assert err.value.error_code == 40401
    assert client.get_subjects() == []


def test_avro_serializer_and_deserializer_round_trip(registry_url):
    client = SchemaRegistryClient({"url": registry_url})
    ctx = SerializationContext("orders", MessageField.VALUE)
    serializer = AvroSerializer(client, USER_V1)
    payload = serializer({"id": 42, "name": "Ada"}, ctx)
    # Confluent framing: magic byte 0 + 4-byte big-endian id.
    assert payload[0] == 0
    schema_id = int.from_bytes(payload[1:5], "big")
    assert client.get_schema(schema_id).schema_type == "AVRO"
    # The subject came from the topic-name strategy (after the associations 404 fallback).
    assert client.get_latest_version("orders-value").schema_id == schema_id

    deserializer = AvroDeserializer(client)
    assert deserializer(payload, ctx) == {"id": 42, "name": "Ada"}

    # A consumer with the newer schema reads old data through the registry.
    reader = AvroDeserializer(client, USER_V2)
    assert reader(payload, ctx) == {"id": 42, "name": "Ada", "email": None}

    # Evolving the producer's schema registers version 2 and still round-trips.
    payload2 = AvroSerializer(client, USER_V2)({"id": 7, "name": "Bo", "email": "b@x"}, ctx)
    assert int.from_bytes(payload2[1:5], "big") != schema_id
    assert deserializer(payload2, ctx) == {"id": 7, "name": "Bo", "email": "b@x"}
    assert client.get_versions("orders-value") == [1, 2]
