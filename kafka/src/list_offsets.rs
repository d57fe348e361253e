//! ListOffsets: the earliest (-2) or latest (-1) offset of a partition, or the first offset
//! whose timestamp is at least the one given.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use strata_broker::{ConsumerConfig, TopicPartition};

use crate::error::{broker_error_code, code};
use crate::server::{blocking, State};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;

pub(crate) async fn handle(state: &Arc<State>, req: ListOffsetsRequest) -> ListOffsetsResponse {
    let st = state.clone();
    let topics = req.topics;
    let answer = blocking(move || {
        topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| lookup(&st, &name, p.partition_index, p.timestamp))
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect()
    })
    .await;
    match answer {
        Ok(topics) => ListOffsetsResponse::default().with_topics(topics),
        Err(e) => {
            tracing::error!(error = %e, "ListOffsets failed");
            ListOffsetsResponse::default()
        }
    }
}

fn lookup(
    state: &State,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> ListOffsetsPartitionResponse {
    let answer = ListOffsetsPartitionResponse::default().with_partition_index(partition);
    let found = match timestamp {
        LATEST | EARLIEST => state
            .broker
            .offsets(topic, partition)
            .map(|(start, end)| Some((if timestamp == LATEST { end } else { start }, -1))),
        ts if ts >= 0 => state
            .broker
            .consumer(ConsumerConfig {
                enable_auto_commit: false,
                ..ConsumerConfig::default()
            })
            .and_then(|c| c.offsets_for_times(&[(TopicPartition::new(topic, partition), ts)]))
            .map(|found| {
                found
                    .into_iter()
                    .next()
                    .flatten()
                    .map(|o| (o.offset, o.timestamp))
            }),
        other => {
            // -3 (max timestamp) and the tiered-storage specs are not served.
            tracing::debug!(
                timestamp = other,
                "ListOffsets with an unsupported timestamp spec"
            );
            return answer.with_error_code(code::UNSUPPORTED_VERSION);
        }
    };
    match found {
        // Kafka answers -1/-1 when no record is that recent.
        Ok(None) => answer.with_offset(-1).with_timestamp(-1),
        Ok(Some((offset, ts))) => answer.with_offset(offset).with_timestamp(ts),
        Err(e) => answer
            .with_error_code(broker_error_code(&e))
            .with_offset(-1)
            .with_timestamp(-1),
    }
}
