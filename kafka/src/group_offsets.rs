//! FindCoordinator, OffsetCommit and OffsetFetch over the bundled broker's group offsets, the
//! same ones `strata consume --group` and strata-broker's consumers commit, so a group's
//! progress is shared between Kafka clients and the library. Membership is the
//! [`crate::coordinator::Coordinator`]'s: a member commits with its generation, a client that
//! assigns partitions itself with generation -1.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use strata_broker::{Consumer, ConsumerConfig, TopicPartition};

use crate::error::{broker_error_code, code};
use crate::metadata::NODE_ID;
use crate::server::{blocking, State};

/// A topic and its partitions' committed offsets (-1: none).
type Committed = (String, Vec<(i32, i64)>);

/// Key type 0 is a consumer group; 1 (transactions) is not served.
const GROUP_KEY: i8 = 0;

pub(crate) fn find_coordinator(
    state: &State,
    req: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let resp = FindCoordinatorResponse::default();
    if req.key_type != GROUP_KEY {
        let resp = resp.with_error_code(code::COORDINATOR_NOT_AVAILABLE);
        return if version >= 1 {
            resp.with_error_message(Some(StrBytes::from_static_str(
                "transactions are not supported by Strata's broker",
            )))
        } else {
            resp
        };
    }
    resp.with_node_id(BrokerId(NODE_ID))
        .with_host(StrBytes::from_string(state.host.clone()))
        .with_port(state.port)
}

fn group_consumer(state: &State, group: &str) -> strata_broker::Result<Consumer> {
    state.broker.consumer(ConsumerConfig {
        group_id: Some(group.to_owned()),
        enable_auto_commit: false,
        ..ConsumerConfig::default()
    })
}

pub(crate) async fn offset_commit(
    state: &Arc<State>,
    req: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let st = state.clone();
    let group = req.group_id.0.to_string();
    let membership = state
        .coordinator
        .check_commit(
            &group,
            req.member_id.as_str(),
            req.generation_id_or_member_epoch,
        )
        .await;
    let topics = req.topics;
    let shape: Vec<(TopicName, Vec<i32>)> = topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let result = blocking(move || {
        if membership != code::NONE {
            return Ok(Err(membership));
        }
        let offsets: Vec<(TopicPartition, i64)> = topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    (
                        TopicPartition::new(t.name.0.to_string(), p.partition_index),
                        p.committed_offset,
                    )
                })
            })
            .collect();
        group_consumer(&st, &group)
            .and_then(|c| c.commit_offsets(&offsets))
            .map(Ok)
    })
    .await;
    let error = match result {
        Ok(Ok(Ok(()))) => code::NONE,
        Ok(Ok(Err(membership))) => membership,
        Ok(Err(strata_broker::Error::InvalidConfig { .. })) => code::INVALID_GROUP_ID,
        Ok(Err(e)) => broker_error_code(&e),
        Err(e) => {
            tracing::error!(error = %e, "OffsetCommit failed");
            code::UNKNOWN_SERVER_ERROR
        }
    };
    OffsetCommitResponse::default().with_topics(
        shape
            .into_iter()
            .map(|(name, parts)| {
                OffsetCommitResponseTopic::default()
                    .with_name(name)
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|p| {
                                OffsetCommitResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(error)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

pub(crate) async fn offset_fetch(
    state: &Arc<State>,
    req: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let st = state.clone();
    let group = req.group_id.0.to_string();
    let wanted: Option<Vec<(String, Vec<i32>)>> = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    let result = blocking(move || -> strata_broker::Result<Vec<Committed>> {
        match wanted {
            Some(topics) => {
                let c = group_consumer(&st, &group)?;
                topics
                    .into_iter()
                    .map(|(name, parts)| {
                        let found = parts
                            .into_iter()
                            .map(|p| {
                                let tp = TopicPartition::new(name.clone(), p);
                                Ok((p, c.committed(&tp)?.unwrap_or(-1)))
                            })
                            .collect::<strata_broker::Result<Vec<_>>>()?;
                        Ok((name, found))
                    })
                    .collect()
            }
            // Every partition with a committed offset.
            None => match st.broker.describe_group(&group) {
                Ok(d) => {
                    let mut out: Vec<Committed> = Vec::new();
                    for lag in d.offsets {
                        let tp = lag.topic_partition;
                        match out.last_mut() {
                            Some((t, parts)) if *t == tp.topic => {
                                parts.push((tp.partition, lag.committed))
                            }
                            _ => out.push((tp.topic, vec![(tp.partition, lag.committed)])),
                        }
                    }
                    Ok(out)
                }
                Err(strata_broker::Error::UnknownGroup { .. }) => Ok(Vec::new()),
                Err(e) => Err(e),
            },
        }
    })
    .await;
    let topics = match result {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let code = match e {
                strata_broker::Error::InvalidConfig { .. } => code::INVALID_GROUP_ID,
                other => broker_error_code(&other),
            };
            let resp = OffsetFetchResponse::default();
            // The top-level error code exists from v2 on.
            return if version >= 2 {
                resp.with_error_code(code)
            } else {
                resp
            };
        }
        Err(e) => {
            tracing::error!(error = %e, "OffsetFetch failed");
            let resp = OffsetFetchResponse::default();
            return if version >= 2 {
                resp.with_error_code(code::UNKNOWN_SERVER_ERROR)
            } else {
                resp
            };
        }
    };
    OffsetFetchResponse::default().with_topics(
        topics
            .into_iter()
            .map(|(name, parts)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(
                        parts
                            .into_iter()
                            .map(|(p, offset)| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(offset)
                                    .with_metadata(Some(StrBytes::default()))
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}
