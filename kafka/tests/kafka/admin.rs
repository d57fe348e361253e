//! The admin APIs through librdkafka's AdminClient.

use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use strata_broker::{ProducerConfig, ProducerRecord};

use crate::support::TestBroker;

#[test]
fn librdkafka_admin_creates_describes_grows_trims_and_deletes_topics() {
    let tb = TestBroker::start();
    let admin: AdminClient<DefaultClientContext> = tb.client_config().create().unwrap();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let topic = NewTopic::new("admin-made", 3, TopicReplication::Fixed(1))
            .set("retention.ms", "3600000");
        let r = admin.create_topics([&topic], &opts).await.unwrap();
        assert_eq!(r, vec![Ok("admin-made".to_owned())]);
        let d = tb.broker.describe_topic("admin-made").unwrap();
        assert_eq!(d.partitions.len(), 3);
        assert_eq!(d.config.retention_ms, Some(3_600_000));

        let r = admin.create_topics([&topic], &opts).await.unwrap();
        assert_eq!(
            r[0].as_ref().unwrap_err().1,
            RDKafkaErrorCode::TopicAlreadyExists
        );
        let replicated = NewTopic::new("replicated", 1, TopicReplication::Fixed(3));
        let r = admin.create_topics([&replicated], &opts).await.unwrap();
        assert_eq!(
            r[0].as_ref().unwrap_err().1,
            RDKafkaErrorCode::InvalidReplicationFactor
        );
        let bad = NewTopic::new("bad-config", 1, TopicReplication::Fixed(1))
            .set("cleanup.policy", "sometimes");
        let r = admin.create_topics([&bad], &opts).await.unwrap();
        assert_eq!(
            r[0].as_ref().unwrap_err().1,
            RDKafkaErrorCode::InvalidConfig
        );
        assert!(!tb
            .broker
            .list_topics()
            .unwrap()
            .contains(&"bad-config".to_owned()));

        let r = admin
            .describe_configs([&ResourceSpecifier::Topic("admin-made")], &opts)
            .await
            .unwrap();
        let config = r[0].as_ref().expect("the topic's configs");
        let retention = config.get("retention.ms").expect("retention.ms");
        assert_eq!(retention.value.as_deref(), Some("3600000"));
        assert_eq!(retention.source, ConfigSource::DynamicTopic);
        let cleanup = config.get("cleanup.policy").expect("cleanup.policy");
        assert_eq!(cleanup.value.as_deref(), Some("delete"));
        assert_eq!(cleanup.source, ConfigSource::Default);

        let r = admin
            .create_partitions([&NewPartitions::new("admin-made", 5)], &opts)
            .await
            .unwrap();
        assert_eq!(r, vec![Ok("admin-made".to_owned())]);
        assert_eq!(
            tb.broker
                .describe_topic("admin-made")
                .unwrap()
                .partitions
                .len(),
            5
        );
        let r = admin
            .create_partitions([&NewPartitions::new("admin-made", 2)], &opts)
            .await
            .unwrap();
        assert_eq!(
            r[0].as_ref().unwrap_err().1,
            RDKafkaErrorCode::InvalidPartitions
        );

        let p = tb.broker.producer(ProducerConfig::default());
        for i in 0..10 {
            p.send(ProducerRecord::new("admin-made", format!("r{i}")).with_partition(0))
                .unwrap();
        }
        let mut before = TopicPartitionList::new();
        before
            .add_partition_offset("admin-made", 0, Offset::Offset(4))
            .unwrap();
        let r = admin.delete_records(&before, &opts).await.unwrap();
        assert_eq!(
            r.find_partition("admin-made", 0).unwrap().offset(),
            Offset::Offset(4),
            "the new low watermark"
        );
        assert_eq!(tb.broker.offsets("admin-made", 0).unwrap(), (4, 10));

        let r = admin.delete_topics(&["admin-made"], &opts).await.unwrap();
        assert_eq!(r, vec![Ok("admin-made".to_owned())]);
        assert!(!tb
            .broker
            .list_topics()
            .unwrap()
            .contains(&"admin-made".to_owned()));
        let r = admin.delete_topics(&["admin-made"], &opts).await.unwrap();
        assert_eq!(
            r[0].as_ref().unwrap_err().1,
            RDKafkaErrorCode::UnknownTopicOrPartition
        );
    });
}
