//! Metadata: this one broker, at the advertised address, leads every partition. Topics named
//! by the client are created when it asks and `auto_create_topics` allows it.

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use strata_broker::TopicConfig;

use crate::error::{broker_error_code, code};
use crate::server::{blocking, State};

/// The node id of this broker in every answer.
pub(crate) const NODE_ID: i32 = 0;

pub(crate) async fn handle(
    state: &Arc<State>,
    req: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    // v0: an empty list means every topic; v1+: a null list does.
    let wanted: Option<Vec<String>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .map(|t| t.name.map(|n| n.0.to_string()).unwrap_or_default())
                .collect(),
        ),
    };
    // Before v4 a request cannot say, and Kafka auto-creates.
    let allow_create =
        state.config.auto_create_topics && (version < 4 || req.allow_auto_topic_creation);
    let st = state.clone();
    let topics = blocking(move || topics(&st, wanted, allow_create))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "Metadata failed");
            Vec::new()
        });
    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(NODE_ID))
            .with_host(StrBytes::from_string(state.host.clone()))
            .with_port(state.port)])
        .with_cluster_id(Some(StrBytes::from_static_str("strata")))
        .with_controller_id(BrokerId(NODE_ID))
        .with_topics(topics)
}

fn topics(
    state: &State,
    wanted: Option<Vec<String>>,
    allow_create: bool,
) -> Vec<MetadataResponseTopic> {
    let names = match wanted {
        Some(n) => n,
        None => match state.broker.list_topics() {
            Ok(n) => n,
            Err(e) => {
                broker_error_code(&e);
                return Vec::new();
            }
        },
    };
    names
        .into_iter()
        .map(|name| {
            let topic = MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(name.clone()))));
            match partition_count(state, &name, allow_create) {
                Ok(n) => topic.with_partitions(
                    (0..n as i32)
                        .map(|p| {
                            MetadataResponsePartition::default()
                                .with_partition_index(p)
                                .with_leader_id(BrokerId(NODE_ID))
                                // -1: no leader epochs, so clients skip KIP-320 checks.
                                .with_leader_epoch(-1)
                                .with_replica_nodes(vec![BrokerId(NODE_ID)])
                                .with_isr_nodes(vec![BrokerId(NODE_ID)])
                        })
                        .collect(),
                ),
                Err(e) => topic.with_error_code(e),
            }
        })
        .collect()
}

fn partition_count(state: &State, name: &str, allow_create: bool) -> Result<u32, i16> {
    match state.producer_leader.partitions_for(name) {
        Ok(n) => Ok(n),
        Err(strata_broker::Error::UnknownTopic { .. }) if allow_create => {
            match state.broker.create_topic(
                name,
                state.config.default_partitions,
                TopicConfig::default(),
            ) {
                Ok(()) | Err(strata_broker::Error::TopicAlreadyExists { .. }) => {
                    tracing::info!(topic = name, "auto-created topic for a Kafka client");
                    state
                        .producer_leader
                        .partitions_for(name)
                        .map_err(|e| broker_error_code(&e))
                }
                Err(e) => Err(broker_error_code(&e)),
            }
        }
        Err(strata_broker::Error::UnknownTopic { .. }) => Err(code::UNKNOWN_TOPIC_OR_PARTITION),
        Err(e) => Err(broker_error_code(&e)),
    }
}
