//! strata-serde's Kafka transport against librdkafka's in-process mock cluster: pipelined
//! sends, assignment from a chosen start, seeks, exact-offset commits and commits on
//! revocation in a group of two.

mod group;
mod transport;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A mock cluster of one broker with `topic` of `partitions` partitions.
pub fn cluster(topic: &str, partitions: i32) -> MockCluster<'static, DefaultProducerContext> {
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(topic, partitions, 1).expect("topic");
    mock
}
