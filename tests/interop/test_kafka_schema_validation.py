"""Broker-side schema validation in `strata serve --kafka-listen`, driven by confluent-kafka for
Python: its AdminClient sets the topic configs, its AvroSerializer (with Strata's registry)
frames the records, and what does not fit is refused with INVALID_RECORD."""

import struct
import tempfile
import time

import pytest
from strata_process import free_port, strata_serve
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

ORDER = """{"type": "record", "name": "Order", "namespace": "shop",
 "fields": [{"name": "id", "type": "long"}, {"name": "item", "type": "string"}]}"""
OTHER = """{"type": "record", "name": "Other", "namespace": "shop",
 "fields": [{"name": "s", "type": "string"}]}"""


@pytest.fixture()
def served():
    with tempfile.TemporaryDirectory() as tmp:
        kafka_port = free_port()
        with strata_serve(tmp, "--kafka-listen", f"127.0.0.1:{kafka_port}", "--log-dir", f"{tmp}/log") as port:
            yield f"http://127.0.0.1:{port}", f"127.0.0.1:{kafka_port}"


def produce_one(bootstrap, topic, value, key=None):
    """Produce one record in its own batch; the delivery error, or None."""
    result = []
    producer = Producer({"bootstrap.servers": bootstrap, "retries": 0, "message.timeout.ms": 10000})
    producer.produce(topic, key=key, value=value, on_delivery=lambda err, msg: result.append(err))
    assert producer.flush(20) == 0
    return result[0]


def read_all(bootstrap, topic):
    """Every record of partition 0 up to its end offset, asked first: the records produced
    before the call, however long a loaded machine takes (a fixed read window missed some)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{topic}", "enable.auto.commit": False})
    _, end = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    got = []
    next_offset = 0
    deadline = time.time() + 60
    while next_offset < end:
        assert time.time() < deadline, f"read {len(got)} records of {topic}, not up to offset {end}"
        msg = consumer.poll(0.2)
        if msg is not None and not msg.error():
            got.append(msg.value())
            next_offset = msg.offset() + 1
    consumer.close()
    return got


def create_topic(admin, name, config):
    futures = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)])
    futures[name].result(timeout=10)


def test_avro_serializer_records_pass_and_raw_unknown_and_foreign_ids_are_refused_with_invalid_record(served):
    registry_url, bootstrap = served
    admin = AdminClient({"bootstrap.servers": bootstrap})
    create_topic(
        admin,
        "orders",
        {
            "confluent.value.schema.validation": "true",
            "confluent.value.subject.name.strategy": "io.confluent.kafka.serializers.subject.TopicNameStrategy",
        },
    )
    client = SchemaRegistryClient({"url": registry_url})
    serializer = AvroSerializer(client, ORDER)
    ctx = SerializationContext("orders", MessageField.VALUE)
    good = serializer({"id": 1, "item": "tea"}, ctx)
    assert produce_one(bootstrap, "orders", good) is None, "the AvroSerializer's record is accepted"

    other_id = client.register_schema("elsewhere-value", Schema(OTHER, "AVRO"))
    refused = {
        "raw bytes": b'{"id": 2, "item": "tea"}',
        "an unknown id": b"\x00" + struct.pack(">i", 424242) + good[5:],
        "an id registered under another subject": b"\x00" + struct.pack(">i", other_id) + b"\x02x",
    }
    for what, value in refused.items():
        err = produce_one(bootstrap, "orders", value)
        assert err is not None, f"{what} was accepted"
        assert err.code() == KafkaError.INVALID_RECORD, f"{what}: {err}"
    # A tombstone passes.
    assert produce_one(bootstrap, "orders", None, key=b"k") is None

    assert read_all(bootstrap, "orders") == [good, None], "only the accepted records are in the log"

    # DescribeConfigs shows the settings.
    resource = ConfigResource(ConfigResource.Type.TOPIC, "orders")
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["confluent.value.schema.validation"].value == "true"


def test_full_mode_set_with_incremental_alter_configs_refuses_bytes_that_do_not_fit_the_schema(served):
    registry_url, bootstrap = served
    admin = AdminClient({"bootstrap.servers": bootstrap})
    create_topic(admin, "strict", {"redpanda.value.schema.id.validation": "true"})
    client = SchemaRegistryClient({"url": registry_url})
    serializer = AvroSerializer(client, ORDER)
    good = serializer({"id": 1, "item": "tea"}, SerializationContext("strict", MessageField.VALUE))
    # The frame is right but the datum is cut short: schema-id validation lets it through...
    broken = good[:-2]
    assert produce_one(bootstrap, "strict", broken) is None

    resource = ConfigResource(
        ConfigResource.Type.TOPIC,
        "strict",
        incremental_configs=[ConfigEntry("strata.value.schema.validation", "full", incremental_operation=AlterConfigOpType.SET)],
    )
    admin.incremental_alter_configs([resource])[resource].result(timeout=10)
    described = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "strict")])
    (only,) = described.values()
    assert only.result(timeout=10)["strata.value.schema.validation"].value == "full"

    # ...full validation decodes it and refuses it, in a batch with a good record: neither is written.
    errors = []
    producer = Producer({"bootstrap.servers": bootstrap, "retries": 0, "linger.ms": 200})
    for value in (good, broken):
        producer.produce("strict", value=value, on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(20) == 0
    assert len(errors) == 2 and all(e is not None and e.code() == KafkaError.INVALID_RECORD for e in errors), errors
    assert produce_one(bootstrap, "strict", good) is None
    assert read_all(bootstrap, "strict") == [broken, good]
