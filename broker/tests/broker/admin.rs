//! Admin: topics and their configuration.

use strata_broker::{CleanupPolicy, Error, ProducerConfig, ProducerRecord, TopicConfig};

use crate::support::broker;

#[test]
fn topics_can_be_created_listed_described_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("b", 2, TopicConfig::default()).unwrap();
    b.create_topic("a", 1, TopicConfig::default()).unwrap();
    assert_eq!(b.list_topics().unwrap(), vec!["a", "b"]);
    b.producer(ProducerConfig::default())
        .send(ProducerRecord::new("b", "x").with_partition(1))
        .unwrap();
    let d = b.describe_topic("b").unwrap();
    assert_eq!(d.partitions.len(), 2);
    assert_eq!(d.partitions[1].log_end_offset, 1);
    assert!(d.partitions[1].size_bytes > 0);
    b.delete_topic("b").unwrap();
    assert_eq!(b.list_topics().unwrap(), vec!["a"]);
    assert!(matches!(
        b.describe_topic("b"),
        Err(Error::UnknownTopic { .. })
    ));
    // The name can be used again.
    b.create_topic("b", 1, TopicConfig::default()).unwrap();
    assert_eq!(b.offsets("b", 0).unwrap(), (0, 0));
}

#[test]
fn creating_an_existing_topic_or_a_bad_name_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let e = b.create_topic("t", 1, TopicConfig::default()).unwrap_err();
    assert!(matches!(e, Error::TopicAlreadyExists { .. }), "{e}");
    let e = b
        .create_topic("no/slash", 1, TopicConfig::default())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidTopicName { .. }), "{e}");
    let e = b
        .create_topic("zero", 0, TopicConfig::default())
        .unwrap_err();
    assert!(e.to_string().contains("at least one partition"), "{e}");
}

#[test]
fn altered_config_is_seen_by_another_broker_handle_on_the_same_directory() {
    let dir = tempfile::tempdir().unwrap();
    let b1 = broker(dir.path());
    b1.create_topic("t", 1, TopicConfig::default()).unwrap();
    let b2 = broker(dir.path());
    assert_eq!(
        b2.describe_topic("t").unwrap().config.cleanup_policy,
        CleanupPolicy::Delete
    );
    let mut c = TopicConfig::default();
    c.set("cleanup.policy", "compact").unwrap();
    c.set("retention.ms", "1000").unwrap();
    b1.alter_topic_config("t", c.clone()).unwrap();
    assert_eq!(b2.describe_topic("t").unwrap().config, c);
}

#[test]
fn partitions_can_grow_but_not_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 2, TopicConfig::default()).unwrap();
    b.create_partitions("t", 5).unwrap();
    assert_eq!(b.describe_topic("t").unwrap().partitions.len(), 5);
    let md = b
        .producer(ProducerConfig::default())
        .send(ProducerRecord::new("t", "x").with_partition(4))
        .unwrap();
    assert_eq!(md.partition, 4);
    let e = b.create_partitions("t", 3).unwrap_err();
    assert!(matches!(e, Error::InvalidPartitions { .. }), "{e}");
}

#[test]
fn a_deleted_topic_is_unknown_to_its_producers() {
    let dir = tempfile::tempdir().unwrap();
    let b = broker(dir.path());
    b.create_topic("t", 1, TopicConfig::default()).unwrap();
    let p = b.producer(ProducerConfig::default());
    p.send(ProducerRecord::new("t", "x")).unwrap();
    b.delete_topic("t").unwrap();
    let e = p.send(ProducerRecord::new("t", "x")).unwrap_err();
    assert!(matches!(e, Error::UnknownTopic { .. }), "{e}");
    assert!(e.to_string().contains("create it first"), "{e}");
}
