"""Kafka clients nobody here wrote against `strata serve --kafka-listen`: kcat (Debian's package,
librdkafka's command-line tool), kafka-python (a pure-Python client with its own protocol code)
and kafkajs (a pure JavaScript client, from npm, run by tests/interop/kafkajs/roundtrip.js).
scripts/test.sh installs them; a test skips, saying why, only when its client is not
installed. Each test checks every record read back exactly once and, per partition, in the
order it was produced."""

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict

import pytest
from strata_process import free_port, strata_serve

try:
    import kafka  # kafka-python
except ImportError:  # pragma: no cover - reported as a skip below
    kafka = None


@pytest.fixture()
def bootstrap():
    with tempfile.TemporaryDirectory() as tmp:
        kafka_port = free_port()
        with strata_serve(tmp, "--kafka-listen", f"127.0.0.1:{kafka_port}", "--log-dir", f"{tmp}/log"):
            yield f"127.0.0.1:{kafka_port}"


def kcat():
    path = shutil.which("kcat") or shutil.which("kafkacat")
    if path is None:
        pytest.skip("kcat is not installed (scripts/test.sh installs it with `apt-get install kcat` when run as root)")
    return path


def run(args, stdin=None, timeout=60):
    proc = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"{args} failed: {proc.stderr.decode(errors='replace')}"
    return proc.stdout


def check_once_in_order(produced, read):
    """`produced`: (key, value) in send order; `read`: (partition, offset, key, value)."""
    assert sorted(v for _, _, _, v in read) == sorted(v for _, v in produced), "every record exactly once"
    by_partition = defaultdict(list)
    for partition, offset, key, value in read:
        by_partition[partition].append((offset, key, value))
    order = {v: i for i, (_, v) in enumerate(produced)}
    for partition, records in by_partition.items():
        offsets = [o for o, _, _ in records]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets), f"partition {partition}: offsets in order"
        positions = [order[v] for _, _, v in records]
        assert positions == sorted(positions), f"partition {partition}: records in the order produced"


def create_topic(bootstrap, name, partitions):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(timeout=10)


def test_kcat_lists_metadata_produces_and_consumes_every_record_once_in_order(bootstrap):
    binary = kcat()
    create_topic(bootstrap, "kc-orders", 3)

    meta = json.loads(run([binary, "-b", bootstrap, "-L", "-J"]))
    assert [b["id"] for b in meta["brokers"]] == [0]
    (topic,) = [t for t in meta["topics"] if t["topic"] == "kc-orders"]
    assert sorted(p["partition"] for p in topic["partitions"]) == [0, 1, 2]

    produced = [(f"k{i % 7}", f"kcat-{i:05d}") for i in range(3000)]
    lines = "".join(f"{k}:{v}\n" for k, v in produced).encode()
    run([binary, "-b", bootstrap, "-P", "-t", "kc-orders", "-K", ":", "-X", "acks=all"], stdin=lines)

    out = run([binary, "-b", bootstrap, "-C", "-t", "kc-orders", "-o", "beginning", "-e", "-J", "-q"])
    read = []
    for line in out.decode().splitlines():
        m = json.loads(line)
        read.append((m["partition"], m["offset"], m["key"], m["payload"]))
    check_once_in_order(produced, read)
    for _, _, key, value in read:
        assert key == f"k{int(value.split('-')[1]) % 7}", "the key travels with its value"


def test_kcat_balanced_consumer_group_reads_every_record_once(bootstrap):
    binary = kcat()
    create_topic(bootstrap, "kc-grouped", 2)
    produced = [(f"g{i % 5}", f"grp-{i:05d}") for i in range(1000)]
    lines = "".join(f"{k}:{v}\n" for k, v in produced).encode()
    run([binary, "-b", bootstrap, "-P", "-t", "kc-grouped", "-K", ":"], stdin=lines)

    out = run(
        [
            binary,
            "-b",
            bootstrap,
            "-G",
            "kc-group",
            "-o",
            "beginning",
            "-e",
            "-J",
            "-q",
            "-X",
            "topic.auto.offset.reset=earliest",
            "kc-grouped",
        ],
        timeout=60,
    )
    read = []
    for line in out.decode().splitlines():
        m = json.loads(line)
        read.append((m["partition"], m["offset"], m["key"], m["payload"]))
    check_once_in_order(produced, read)


def test_kafka_python_producer_and_group_consumer_see_every_record_once_in_order(bootstrap):
    if kafka is None:
        pytest.skip("kafka-python is not installed (scripts/test.sh installs it into target/interop-venv)")
    from kafka import KafkaConsumer, KafkaProducer

    create_topic(bootstrap, "kp-orders", 2)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    produced = [(f"p{i % 3}", f"kp-{i:05d}") for i in range(2000)]
    futures = [producer.send("kp-orders", key=k.encode(), value=v.encode()) for k, v in produced]
    producer.flush(30)
    metas = [f.get(timeout=30) for f in futures]
    producer.close()
    assert len({(m.partition, m.offset) for m in metas}) == len(produced), "one offset per record"

    consumer = KafkaConsumer(
        "kp-orders",
        bootstrap_servers=bootstrap,
        group_id="kp-group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    read = []
    deadline = time.time() + 60
    while len(read) < len(produced) and time.time() < deadline:
        for msg in consumer:
            read.append((msg.partition, msg.offset, msg.key.decode(), msg.value.decode()))
    # Nothing more arrives: no record twice.
    extra = consumer.poll(timeout_ms=1000)
    assert not any(extra.values()), "an extra record arrived"
    consumer.commit()
    consumer.close()
    check_once_in_order(produced, read)


KAFKAJS_MODULES = os.path.join(os.path.dirname(__file__), "..", "..", "target", "interop-node", "node_modules")


def test_kafkajs_admin_producers_and_a_group_of_two_that_rebalances_see_every_record_once_in_order(bootstrap):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/test.sh installs nodejs and npm with apt-get when run as root)")
    modules = os.path.abspath(KAFKAJS_MODULES)
    if not os.path.isdir(os.path.join(modules, "kafkajs")):
        pytest.skip(f"kafkajs is not installed in {modules} (scripts/test.sh installs it with npm)")
    script = os.path.join(os.path.dirname(__file__), "kafkajs", "roundtrip.js")
    env = dict(os.environ, NODE_PATH=modules, KAFKAJS_NO_PARTITIONER_WARNING="1")
    proc = subprocess.run(
        [node, script, bootstrap, "js-orders", "3000"], capture_output=True, timeout=120, env=env
    )
    assert proc.returncode == 0, f"kafkajs failed: {proc.stderr.decode(errors='replace')}"
    out = json.loads(proc.stdout)

    assert out["created"] is True, "admin.createTopics made the topic"
    assert out["described"]["retention.ms"] == {"value": "3600000", "isDefault": False}
    assert out["described"]["cleanup.policy"] == {"value": "delete", "isDefault": True}

    members = out["members"]
    assert sorted(members["a"] + members["b"]) == [0, 1, 2], f"the group split the partitions: {members}"
    assert out["rebalanced"] == [0, 1, 2], "after b left, a has every partition"
    produced = [tuple(p) for p in out["produced"]]
    assert len(produced) == 3300
    read = [(p, o, k, v) for p, o, k, v, _ in out["read"]]
    check_once_in_order(produced, read)
    for partition, _, key, value, member in out["read"]:
        if int(value.split("-")[1]) < 3000:
            assert partition in members[member], f"{value} was read by the member that owns partition {partition}"
        else:
            assert member == "a", f"{value}, produced after b left, was read by a"
        assert key == f"js{int(value.split('-')[1]) % 11}", "the key travels with its value"
