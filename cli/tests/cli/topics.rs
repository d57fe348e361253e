//! `strata topics create|list|describe|alter|add-partitions|delete` on the bundled broker, run
//! as a user runs them, on a temp log directory.

use std::path::Path;

use serde_json::Value;
use strata_broker::{Broker, CleanupPolicy, ProducerConfig, ProducerRecord};

use crate::harness::{KafkaListener, Run};

/// `strata ARGS --log-dir DIR`.
fn strata(dir: &Path, args: &[&str]) -> Run {
    Run::on_log_dir(dir, args)
}

/// The `value` and `default` of one setting in a describe document.
fn setting<'a>(doc: &'a Value, key: &str) -> (&'a str, bool) {
    let c = doc["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .find(|c| c["name"] == key)
        .unwrap_or_else(|| panic!("no {key} in {doc}"));
    (
        c["value"].as_str().expect("value"),
        c["default"].as_bool().expect("default"),
    )
}

#[test]
fn topics_create_a_compacted_topic_with_retention_that_list_and_describe_show() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    strata(
        &log,
        &[
            "topics",
            "create",
            "orders",
            "--partitions",
            "3",
            "--config",
            "cleanup.policy=compact",
            "--config",
            "retention.ms=3600000",
            "--config",
            "min.compaction.lag.ms=1000",
        ],
    )
    .expect(0, "create");
    strata(&log, &["topics", "create", "audit"]).expect(0, "create with defaults");

    // The broker itself sees the settings.
    let broker = Broker::open(&log).unwrap();
    let d = broker.describe_topic("orders").unwrap();
    assert_eq!(d.partitions.len(), 3);
    assert_eq!(d.config.cleanup_policy, CleanupPolicy::Compact);
    assert_eq!(d.config.retention_ms, Some(3_600_000));
    assert_eq!(d.config.min_compaction_lag_ms, 1000);

    let list = strata(&log, &["topics", "list"]).expect(0, "list");
    assert_eq!(list.stdout, "audit\norders\n");
    let list = strata(&log, &["topics", "list", "--output", "json"]).expect(0, "list json");
    assert_eq!(
        list.json(),
        serde_json::json!({"topics": ["audit", "orders"]})
    );

    // Records in partition 1 show in its offsets.
    let producer = broker.producer(ProducerConfig::default());
    for i in 0..4 {
        producer
            .send(
                ProducerRecord::new("orders", format!("v{i}"))
                    .with_key(format!("k{i}"))
                    .with_partition(1),
            )
            .unwrap();
    }

    let doc = strata(&log, &["topics", "describe", "orders", "--output", "json"])
        .expect(0, "describe json")
        .json();
    assert_eq!(doc["topic"], "orders");
    assert_eq!(doc["partition_count"], 3);
    let p1 = &doc["partitions"][1];
    assert_eq!(
        (
            p1["partition"].as_i64(),
            p1["start_offset"].as_i64(),
            p1["end_offset"].as_i64()
        ),
        (Some(1), Some(0), Some(4))
    );
    assert_eq!(doc["partitions"][0]["end_offset"], 0);
    assert_eq!(setting(&doc, "cleanup.policy"), ("compact", false));
    assert_eq!(setting(&doc, "retention.ms"), ("3600000", false));
    assert_eq!(setting(&doc, "min.compaction.lag.ms"), ("1000", false));
    assert_eq!(setting(&doc, "segment.bytes"), ("1073741824", true));
    assert_eq!(setting(&doc, "max.message.bytes"), ("1048588", true));
    assert_eq!(setting(&doc, "retention.bytes"), ("-1", true));

    let text = strata(&log, &["topics", "describe", "orders"]).expect(0, "describe");
    assert!(
        text.stdout
            .starts_with("Topic: orders\tPartitionCount: 3\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("\tPartition: 1\tStartOffset: 0\tEndOffset: 4\t"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("\tcleanup.policy=compact\t(set)\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("\tsegment.bytes=1073741824\t(default)\n"),
        "{}",
        text.stdout
    );

    // An existing topic is refused (exit 1) and left as it was.
    let again = strata(&log, &["topics", "create", "orders"]).expect(1, "create again");
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(broker.describe_topic("orders").unwrap().partitions.len(), 3);
}

#[test]
fn topics_alter_changes_a_setting_and_delete_config_puts_it_back_to_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    strata(
        &log,
        &[
            "topics",
            "create",
            "t",
            "--config",
            "cleanup.policy=compact",
        ],
    )
    .expect(0, "create");
    let doc = strata(
        &log,
        &[
            "topics",
            "alter",
            "t",
            "--config",
            "retention.bytes=1048576",
            "--config",
            "max.message.bytes=2000000",
            "--delete-config",
            "cleanup.policy",
            "--output",
            "json",
        ],
    )
    .expect(0, "alter")
    .json();
    assert_eq!(setting(&doc, "retention.bytes"), ("1048576", false));
    assert_eq!(setting(&doc, "max.message.bytes"), ("2000000", false));
    assert_eq!(setting(&doc, "cleanup.policy"), ("delete", true));

    let broker = Broker::open(&log).unwrap();
    let config = broker.describe_topic("t").unwrap().config;
    assert_eq!(config.retention_bytes, Some(1_048_576));
    assert_eq!(config.max_message_bytes, 2_000_000);
    assert_eq!(config.cleanup_policy, CleanupPolicy::Delete);

    let text = strata(
        &log,
        &["topics", "alter", "t", "--delete-config", "retention.bytes"],
    )
    .expect(0, "reset");
    assert_eq!(text.stdout, "altered the settings of topic t\n");
    assert_eq!(
        broker.describe_topic("t").unwrap().config.retention_bytes,
        None
    );

    let missing = strata(
        &log,
        &["topics", "alter", "nope", "--config", "retention.ms=1"],
    )
    .expect(1, "alter a missing topic");
    assert!(
        missing.stderr.contains("`nope` does not exist"),
        "{}",
        missing.stderr
    );
}

#[test]
fn topics_add_partitions_grows_a_topic_and_refuses_to_shrink_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    strata(&log, &["topics", "create", "t", "--partitions", "2"]).expect(0, "create");
    let grown = strata(
        &log,
        &["topics", "add-partitions", "t", "--partitions", "5"],
    )
    .expect(0, "grow");
    assert_eq!(grown.stdout, "topic t now has 5 partition(s) (it had 2)\n");
    let broker = Broker::open(&log).unwrap();
    assert_eq!(broker.describe_topic("t").unwrap().partitions.len(), 5);

    for fewer in ["3", "5"] {
        let refused = strata(
            &log,
            &["topics", "add-partitions", "t", "--partitions", fewer],
        )
        .expect(1, "shrink");
        assert!(
            refused.stderr.contains("has 5 partition(s)")
                && refused.stderr.contains("never removed"),
            "{}",
            refused.stderr
        );
    }
    assert_eq!(broker.describe_topic("t").unwrap().partitions.len(), 5);

    let doc = strata(
        &log,
        &[
            "topics",
            "add-partitions",
            "t",
            "--partitions",
            "6",
            "--output",
            "json",
        ],
    )
    .expect(0, "grow json")
    .json();
    assert_eq!(doc["partition_count"], 6);
    assert_eq!(doc["partitions"][5]["end_offset"], 0);
}

#[test]
fn topics_delete_removes_a_topic_and_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    strata(&log, &["topics", "create", "gone"]).expect(0, "create");
    strata(&log, &["topics", "create", "kept"]).expect(0, "create");
    let out = strata(&log, &["topics", "delete", "gone", "--output", "json"]).expect(0, "delete");
    assert_eq!(
        out.json(),
        serde_json::json!({"topic": "gone", "deleted": true})
    );
    assert!(!log.join("topics/gone").exists());
    assert_eq!(
        strata(&log, &["topics", "list"]).expect(0, "list").stdout,
        "kept\n"
    );
    let again = strata(&log, &["topics", "delete", "gone"]).expect(1, "delete again");
    assert!(
        again.stderr.contains("`gone` does not exist"),
        "{}",
        again.stderr
    );
    let describe = strata(&log, &["topics", "describe", "gone"]).expect(1, "describe");
    assert!(
        describe.stderr.contains("does not exist"),
        "{}",
        describe.stderr
    );
}

#[test]
fn topics_refuse_unknown_keys_and_bad_values_naming_them_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");

    let unknown = strata(
        &log,
        &["topics", "create", "t", "--config", "retention.hours=1"],
    )
    .expect(2, "unknown key");
    assert!(
        unknown
            .stderr
            .contains("unknown topic setting `retention.hours`")
            && unknown.stderr.contains("cleanup.policy")
            && unknown.stderr.contains("retention.ms"),
        "{}",
        unknown.stderr
    );
    let policy = strata(
        &log,
        &[
            "topics",
            "create",
            "t",
            "--config",
            "cleanup.policy=forever",
        ],
    )
    .expect(2, "bad policy");
    assert!(
        policy.stderr.contains("`cleanup.policy` = `forever`")
            && policy
                .stderr
                .contains("`delete`, `compact` or `compact,delete`"),
        "{}",
        policy.stderr
    );
    let number = strata(
        &log,
        &["topics", "create", "t", "--config", "retention.ms=soon"],
    )
    .expect(2, "bad number");
    assert!(
        number.stderr.contains("`retention.ms` = `soon`") && number.stderr.contains("whole number"),
        "{}",
        number.stderr
    );
    let small = strata(
        &log,
        &["topics", "create", "t", "--config", "segment.bytes=10"],
    )
    .expect(2, "segment too small");
    assert!(small.stderr.contains("at least 1024"), "{}", small.stderr);
    let shape = strata(&log, &["topics", "create", "t", "--config", "retention.ms"])
        .expect(2, "not KEY=VALUE");
    assert!(
        shape.stderr.contains("is not KEY=VALUE"),
        "{}",
        shape.stderr
    );
    assert_eq!(
        strata(&log, &["topics", "list"]).expect(0, "list").stdout,
        "",
        "nothing was created"
    );

    // The same in alter and delete-config, with the error as JSON.
    strata(
        &log,
        &["topics", "create", "t", "--config", "retention.ms=5000"],
    )
    .expect(0, "create");
    let bad = strata(
        &log,
        &[
            "topics",
            "alter",
            "t",
            "--config",
            "retention.ms=100",
            "--config",
            "max.message.bytes=big",
            "--output",
            "json",
        ],
    )
    .expect(2, "bad alter");
    let err: Value = serde_json::from_str(bad.stderr.trim()).expect("JSON error");
    assert_eq!(err["exit_code"], 2);
    assert!(
        err["error"]
            .as_str()
            .unwrap()
            .contains("`max.message.bytes` = `big`"),
        "{err}"
    );
    strata(&log, &["topics", "alter", "t", "--delete-config", "colour"])
        .expect(2, "unknown delete-config");
    let config = Broker::open(&log)
        .unwrap()
        .describe_topic("t")
        .unwrap()
        .config;
    assert_eq!(
        config.retention_ms,
        Some(5000),
        "the first setting was not applied alone"
    );
}

#[test]
fn topics_create_describe_grow_and_delete_on_kafka_through_the_admin_api() {
    let kafka = KafkaListener::start();
    kafka
        .strata(&[
            "topics",
            "create",
            "remote",
            "--partitions",
            "2",
            "--config",
            "cleanup.policy=compact",
            "--config",
            "retention.ms=60000",
        ])
        .expect(0, "create on Kafka");
    let broker = Broker::open(&kafka.log).unwrap();
    let config = broker.describe_topic("remote").unwrap().config;
    assert_eq!(config.cleanup_policy, CleanupPolicy::Compact);
    assert_eq!(config.retention_ms, Some(60_000));

    let list = kafka.strata(&["topics", "list"]).expect(0, "list on Kafka");
    assert!(
        list.stdout.lines().any(|l| l == "remote"),
        "{}",
        list.stdout
    );

    let producer = broker.producer(ProducerConfig::default());
    for i in 0..3 {
        producer
            .send(
                ProducerRecord::new("remote", format!("v{i}"))
                    .with_key("k")
                    .with_partition(1),
            )
            .unwrap();
    }
    let doc = kafka
        .strata(&["topics", "describe", "remote", "--output", "json"])
        .expect(0, "describe on Kafka")
        .json();
    assert_eq!(doc["partition_count"], 2);
    assert_eq!(doc["partitions"][1]["end_offset"], 3);
    assert_eq!(setting(&doc, "cleanup.policy"), ("compact", false));
    assert_eq!(setting(&doc, "retention.ms"), ("60000", false));
    assert!(setting(&doc, "segment.bytes").1, "{doc}");

    kafka
        .strata(&["topics", "create", "remote"])
        .expect(1, "create an existing topic on Kafka");
    kafka
        .strata(&["topics", "add-partitions", "remote", "--partitions", "4"])
        .expect(0, "grow on Kafka");
    assert_eq!(broker.describe_topic("remote").unwrap().partitions.len(), 4);
    kafka
        .strata(&["topics", "add-partitions", "remote", "--partitions", "3"])
        .expect(1, "shrink on Kafka");
    kafka
        .strata(&["topics", "delete", "remote"])
        .expect(0, "delete on Kafka");
    assert!(!broker
        .list_topics()
        .unwrap()
        .contains(&"remote".to_string()));
    let gone = kafka
        .strata(&["topics", "describe", "remote"])
        .expect(1, "describe a deleted topic on Kafka");
    assert!(gone.stderr.contains("does not exist"), "{}", gone.stderr);
    assert!(
        !broker
            .list_topics()
            .unwrap()
            .contains(&"remote".to_string()),
        "describe did not create the topic again"
    );
}

#[test]
fn topics_alter_on_kafka_rewrites_the_overrides_and_refuses_a_bad_setting_changing_nothing() {
    let kafka = KafkaListener::start();
    kafka
        .strata(&[
            "topics",
            "create",
            "remote",
            "--config",
            "retention.ms=60000",
            "--config",
            "cleanup.policy=compact",
        ])
        .expect(0, "create");
    kafka
        .strata(&[
            "topics",
            "alter",
            "remote",
            "--config",
            "retention.ms=120000",
            "--delete-config",
            "cleanup.policy",
        ])
        .expect(0, "alter on Kafka");
    let broker = Broker::open(&kafka.log).unwrap();
    let config = broker.describe_topic("remote").unwrap().config;
    assert_eq!(config.retention_ms, Some(120_000));
    assert_eq!(config.cleanup_policy, CleanupPolicy::Delete);
    let doc = kafka
        .strata(&["topics", "describe", "remote", "--output", "json"])
        .expect(0, "describe")
        .json();
    assert_eq!(setting(&doc, "retention.ms"), ("120000", false));
    assert_eq!(setting(&doc, "cleanup.policy"), ("delete", true));

    // A bad value is refused, naming the key, and nothing changes.
    let before = kafka
        .strata(&["topics", "describe", "remote", "--output", "json"])
        .expect(0, "describe")
        .json();
    let out = kafka.strata(&[
        "topics",
        "alter",
        "remote",
        "--config",
        "retention.ms=5000",
        "--config",
        "segment.bytes=10",
    ]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("segment.bytes"),
        "the error names the key: {}",
        out.stderr
    );
    let after = kafka
        .strata(&["topics", "describe", "remote", "--output", "json"])
        .expect(0, "describe")
        .json();
    assert_eq!(before, after);
}

#[test]
fn topics_create_and_alter_take_the_schema_validation_settings_and_their_redpanda_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    strata(
        &log,
        &[
            "topics",
            "create",
            "checked",
            "--config",
            "redpanda.value.schema.id.validation=true",
            "--config",
            "redpanda.value.subject.name.strategy=TopicRecordNameStrategy",
        ],
    )
    .expect(0, "create");
    let doc = strata(
        &log,
        &[
            "topics",
            "alter",
            "checked",
            "--config",
            "strata.value.schema.validation=full",
            "--config",
            "confluent.key.schema.validation=true",
            "--output",
            "json",
        ],
    )
    .expect(0, "alter")
    .json();
    assert_eq!(
        setting(&doc, "confluent.value.schema.validation"),
        ("true", false)
    );
    assert_eq!(
        setting(&doc, "confluent.value.subject.name.strategy"),
        (
            "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy",
            false
        )
    );
    assert_eq!(
        setting(&doc, "strata.value.schema.validation"),
        ("full", false)
    );
    assert_eq!(
        setting(&doc, "confluent.key.schema.validation"),
        ("true", false)
    );
    let config = Broker::open(&log).unwrap().topic_config("checked").unwrap();
    assert_eq!(
        config.value_schema_validation.mode,
        strata_broker::ValidationMode::Full
    );

    let bad = strata(
        &log,
        &[
            "topics",
            "alter",
            "checked",
            "--config",
            "confluent.value.subject.name.strategy=SubjectStrategy",
        ],
    )
    .expect(2, "a bad strategy");
    assert!(bad.stderr.contains("SubjectStrategy"), "{}", bad.stderr);
}

#[test]
fn topics_alter_delete_config_takes_a_redpanda_alias_on_the_bundled_broker_and_on_kafka() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let kafka = KafkaListener::start();
    let create = [
        "topics",
        "create",
        "aliased",
        "--config",
        "confluent.value.schema.validation=true",
        "--config",
        "confluent.value.subject.name.strategy=RecordNameStrategy",
    ];
    strata(&log, &create).expect(0, "create on the bundled broker");
    kafka.strata(&create).expect(0, "create on Kafka");
    let delete = [
        "topics",
        "alter",
        "aliased",
        "--delete-config",
        "redpanda.value.schema.id.validation",
        "--delete-config",
        "redpanda.value.subject.name.strategy",
        "--output",
        "json",
    ];
    for (what, doc, log) in [
        ("bundled", strata(&log, &delete), log.as_path()),
        ("Kafka", kafka.strata(&delete), kafka.log.as_path()),
    ] {
        let doc = doc.expect(0, what).json();
        assert_eq!(
            setting(&doc, "confluent.value.schema.validation"),
            ("false", true),
            "{what}: deleting the alias deleted the Confluent setting"
        );
        assert_eq!(
            setting(&doc, "confluent.value.subject.name.strategy"),
            (
                "io.confluent.kafka.serializers.subject.TopicNameStrategy",
                true
            ),
            "{what}"
        );
        let config = Broker::open(log).unwrap().topic_config("aliased").unwrap();
        assert_eq!(
            config.value_schema_validation,
            strata_broker::SchemaValidation::default(),
            "{what}"
        );
    }
    // And set back through the alias.
    let set = [
        "topics",
        "alter",
        "aliased",
        "--config",
        "redpanda.value.schema.id.validation=true",
    ];
    strata(&log, &set).expect(0, "bundled");
    kafka.strata(&set).expect(0, "Kafka");
    for log in [log.as_path(), kafka.log.as_path()] {
        let config = Broker::open(log).unwrap().topic_config("aliased").unwrap();
        assert_eq!(
            config.value_schema_validation.mode,
            strata_broker::ValidationMode::SchemaId
        );
    }
}
