"""confluent-kafka for Python (librdkafka) against `strata serve --kafka-listen` (preview)."""

import tempfile
import time

import pytest
from strata_process import free_port, strata_serve
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition


@pytest.fixture()
def kafka_bootstrap():
    with tempfile.TemporaryDirectory() as tmp:
        kafka_port = free_port()
        with strata_serve(tmp, "--kafka-listen", f"127.0.0.1:{kafka_port}", "--log-dir", f"{tmp}/log"):
            yield f"127.0.0.1:{kafka_port}"


def test_confluent_kafka_idempotent_producer_and_reader_see_every_record_once_in_order(kafka_bootstrap):
    errors = []
    delivered = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.value()))

    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5}
    )
    values = [f"py-{i:05d}".encode() for i in range(2000)]
    for i, v in enumerate(values):
        producer.produce("py-orders", key=f"k{i % 5}".encode(), value=v, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(20) == 0, "every record delivered"
    assert errors == []
    assert sorted(o for _, o, _ in delivered) == list(range(len(values))), "offsets 0..n-1, once each"

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": "py-readers",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
        }
    )
    consumer.assign([TopicPartition("py-orders", 0, OFFSET_BEGINNING)])
    got = []
    deadline = time.time() + 20
    while len(got) < len(values) and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append((msg.offset(), msg.value()))
    # Nothing more arrives: no record twice.
    end = time.time() + 0.5
    while time.time() < end:
        msg = consumer.poll(0.1)
        assert msg is None or msg.error(), "an extra record arrived"
    assert [v for _, v in got] == values, "every record once, in the order produced"
    assert [o for o, _ in got] == list(range(len(values)))

    # OffsetCommit / OffsetFetch round trip through the bundled broker's group offsets.
    consumer.commit(offsets=[TopicPartition("py-orders", 0, 1234)], asynchronous=False)
    committed = consumer.committed([TopicPartition("py-orders", 0)], timeout=10)
    assert committed[0].offset == 1234
    consumer.close()


def test_confluent_kafka_group_consumer_with_subscribe_reads_every_record_once(kafka_bootstrap):
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all"})
    values = [f"grp-{i:04d}".encode() for i in range(500)]
    for v in values:
        producer.produce("py-grouped", value=v)
    assert producer.flush(20) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": "py-group",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "fetch.wait.max.ms": 100,
        }
    )
    consumer.subscribe(["py-grouped"])
    got = []
    deadline = time.time() + 30
    while len(got) < len(values) and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append(msg.value())
    assert got == values, "every record once, in order, through JoinGroup/SyncGroup"
    consumer.commit(asynchronous=False)
    committed = consumer.committed([TopicPartition("py-grouped", 0)], timeout=10)
    assert committed[0].offset == len(values)
    consumer.close()


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_confluent_kafka_compressed_batches_are_stored_and_read_back(kafka_bootstrap, codec):
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "compression.type": codec, "linger.ms": 20}
    )
    values = [(f"{codec}-{i:04d}-" + "x" * 200).encode() for i in range(300)]
    for v in values:
        producer.produce(f"py-{codec}", value=v)
    assert producer.flush(20) == 0
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": "py-codec", "fetch.wait.max.ms": 100}
    )
    consumer.assign([TopicPartition(f"py-{codec}", 0, OFFSET_BEGINNING)])
    got = []
    deadline = time.time() + 20
    while len(got) < len(values) and time.time() < deadline:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            raise KafkaException(msg.error())
        got.append(msg.value())
    consumer.close()
    assert got == values


def test_confluent_kafka_incremental_alter_configs_sets_and_deletes_topic_configs_that_describe_configs_shows(
    kafka_bootstrap,
):
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic("py-altered", num_partitions=1, replication_factor=1)])["py-altered"].result(timeout=10)

    def alter(*entries):
        resource = ConfigResource(ConfigResource.Type.TOPIC, "py-altered", incremental_configs=list(entries))
        return admin.incremental_alter_configs([resource])[resource]

    def described():
        resource = ConfigResource(ConfigResource.Type.TOPIC, "py-altered")
        return admin.describe_configs([resource])[resource].result(timeout=10)

    # SET, with a Confluent key and a Redpanda alias.
    alter(
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("redpanda.value.schema.id.validation", "true", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry(
            "redpanda.value.subject.name.strategy", "RecordNameStrategy", incremental_operation=AlterConfigOpType.SET
        ),
    ).result(timeout=10)
    configs = described()
    assert configs["retention.ms"].value == "7200000" and not configs["retention.ms"].is_default
    assert configs["confluent.value.schema.validation"].value == "true"
    assert (
        configs["confluent.value.subject.name.strategy"].value
        == "io.confluent.kafka.serializers.subject.RecordNameStrategy"
    )

    # A bad value is refused naming the key, and changes nothing.
    with pytest.raises(KafkaException) as refused:
        alter(
            ConfigEntry("retention.ms", "60000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry("cleanup.policy", "sometimes", incremental_operation=AlterConfigOpType.SET),
        ).result(timeout=10)
    assert "cleanup.policy" in str(refused.value)
    assert described()["retention.ms"].value == "7200000"

    # DELETE returns a setting to its default, through its alias as through its own name.
    alter(
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
        ConfigEntry("redpanda.value.schema.id.validation", None, incremental_operation=AlterConfigOpType.DELETE),
        ConfigEntry("redpanda.value.subject.name.strategy", None, incremental_operation=AlterConfigOpType.DELETE),
    ).result(timeout=10)
    configs = described()
    assert configs["retention.ms"].is_default and configs["retention.ms"].value == "604800000"
    assert configs["confluent.value.schema.validation"].value == "false"
    assert configs["confluent.value.schema.validation"].is_default
    assert (
        configs["confluent.value.subject.name.strategy"].value
        == "io.confluent.kafka.serializers.subject.TopicNameStrategy"
    )
