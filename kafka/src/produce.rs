//! Produce: record batches (v2, CRC-32C checked by the codec) are decoded and appended to the
//! bundled broker's partitions, one broker batch per partition. acks=0 and acks=1 answer once
//! the batch is written to the operating system (acks=0 sends no answer at all); acks=all once
//! it is fsynced.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordSet;
use strata_broker::{Producer, RecordRef};

use crate::decompress::{decode_batches, DecodeError};
use crate::error::{broker_error_code, code};
use crate::idempotence::{hold, idem_code, Sequences, Verdict};
use crate::server::{blocking, State};
use crate::validate::RecordToValidate;

pub(crate) async fn handle(state: &Arc<State>, req: ProduceRequest) -> ProduceResponse {
    let st = state.clone();
    let acks = req.acks;
    let transactional = req
        .transactional_id
        .as_ref()
        .is_some_and(|t| !t.0.is_empty());
    let topics = req.topic_data;
    let names: Vec<_> = topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.partition_data.iter().map(|p| p.index).collect::<Vec<_>>(),
            )
        })
        .collect();
    let responses = match blocking(move || {
        topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let partitions = t
                    .partition_data
                    .into_iter()
                    .map(|p| {
                        if transactional {
                            failed(
                                p.index,
                                idem_code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                                Some("transactions are not supported by Strata's broker".into()),
                            )
                        } else {
                            append(&st, acks, &name, p.index, p.records)
                        }
                    })
                    .collect::<Vec<_>>();
                TopicProduceResponse::default()
                    .with_name(t.name)
                    .with_partition_responses(partitions)
            })
            .collect::<Vec<_>>()
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "Produce failed");
            names
                .into_iter()
                .map(|(name, parts)| {
                    TopicProduceResponse::default()
                        .with_name(name)
                        .with_partition_responses(
                            parts
                                .into_iter()
                                .map(|index| failed(index, code::UNKNOWN_SERVER_ERROR, None))
                                .collect(),
                        )
                })
                .collect()
        }
    };
    ProduceResponse::default().with_responses(responses)
}

/// The producer id, epoch and first and last sequence of idempotent batches; `None` for a
/// plain producer. Transactions are refused.
fn idempotence_of(sets: &[RecordSet]) -> Result<Option<(i64, i16, i32, i32)>, String> {
    let Some(first) = sets.iter().flat_map(|s| s.records.iter()).next() else {
        return Ok(None);
    };
    let all = || sets.iter().flat_map(|s| s.records.iter());
    if all().any(|r| r.transactional || r.control) {
        return Err("transactions are not supported by Strata's broker".into());
    }
    if first.producer_id < 0 {
        return Ok(None);
    }
    if all().any(|r| r.producer_id != first.producer_id || r.producer_epoch != first.producer_epoch)
    {
        return Err("the batches of one partition come from several producers".into());
    }
    let count = all().count() as i32;
    let last = first.sequence.wrapping_add(count - 1);
    Ok(Some((
        first.producer_id,
        first.producer_epoch,
        first.sequence,
        last,
    )))
}

fn failed(index: i32, error: i16, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(error)
        .with_base_offset(-1)
        .with_error_message(message.map(StrBytes::from_string))
}

/// Appends one partition's record batches; the answer for that partition.
fn append(
    state: &State,
    acks: i16,
    topic: &str,
    partition: i32,
    records: Option<Bytes>,
) -> PartitionProduceResponse {
    let producer: &Producer = match acks {
        0 | 1 => &state.producer_leader,
        -1 => &state.producer_all,
        other => {
            return failed(
                partition,
                code::INVALID_REQUIRED_ACKS,
                Some(format!("acks={other} is not one of -1, 0 and 1")),
            )
        }
    };
    let Some(bytes) = records else {
        return failed(partition, code::CORRUPT_MESSAGE, Some("no records".into()));
    };
    let sets = match decode_batches(bytes, state.config.max_uncompressed_batch_bytes) {
        Ok(s) => s,
        Err(DecodeError::TooLarge { max }) => {
            return failed(
                partition,
                code::MESSAGE_TOO_LARGE,
                Some(format!(
                    "the batches decompress to more than {max} bytes (max_uncompressed_batch_bytes)"
                )),
            )
        }
        Err(DecodeError::Corrupt(e)) => return failed(partition, code::CORRUPT_MESSAGE, Some(e)),
    };
    let records: Vec<_> = sets.iter().flat_map(|s| s.records.iter()).collect();
    if records.is_empty() {
        return failed(
            partition,
            code::CORRUPT_MESSAGE,
            Some("an empty record batch".into()),
        );
    }
    // Kafka keeps a null header value; the bundled broker stores headers as bytes, so a null
    // header value is stored as empty.
    let headers: Vec<Vec<(&str, &[u8])>> = records
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref().unwrap_or(&[])))
                .collect()
        })
        .collect();
    if let Some(validator) = &state.validator {
        let config = match state.broker.topic_config(topic) {
            Ok(c) => c,
            Err(e) => return failed(partition, broker_error_code(&e), Some(e.to_string())),
        };
        let views: Vec<RecordToValidate<'_>> = records
            .iter()
            .zip(&headers)
            .enumerate()
            .map(|(index, (r, h))| RecordToValidate {
                index,
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: h,
            })
            .collect();
        if let Err(refusal) = validator.validate(topic, partition, &config, &views) {
            // Kafka's INVALID_RECORD carries the failing record's index and the reason
            // (record_errors from Produce v8 on, error_message from v8 too).
            tracing::debug!(topic, partition, index = refusal.index, reason = %refusal.message, "refused a produced batch");
            return failed(
                partition,
                code::INVALID_RECORD,
                Some(refusal.message.clone()),
            )
            .with_record_errors(vec![BatchIndexAndErrorMessage::default()
                .with_batch_index(refusal.index as i32)
                .with_batch_index_error_message(Some(StrBytes::from_string(refusal.message)))]);
        }
    }
    // Idempotent producers: check the sequence numbers, and hold this producer's state on
    // this partition until the append is done.
    let idempotent = match idempotence_of(&sets) {
        Ok(i) => i,
        Err(message) => return failed(partition, code::CORRUPT_MESSAGE, Some(message)),
    };
    let sequences: Option<Arc<Mutex<Sequences>>> = match idempotent {
        Some((pid, ..)) => match state.producers.sequences(pid, topic, partition) {
            Some(s) => Some(s),
            None => {
                return failed(
                    partition,
                    idem_code::UNKNOWN_PRODUCER_ID,
                    Some(format!("producer id {pid} is not known to this broker")),
                )
            }
        },
        None => None,
    };
    let mut held = match (&sequences, idempotent) {
        (Some(s), Some((_, epoch, first, last))) => {
            let mut g = hold(s);
            match g.check(epoch, first, last) {
                Verdict::Append => Some((g, first, last)),
                Verdict::Duplicate(base) => {
                    return PartitionProduceResponse::default()
                        .with_index(partition)
                        .with_base_offset(base)
                        .with_log_append_time_ms(-1)
                }
                Verdict::Refuse(error, message) => return failed(partition, error, Some(message)),
            }
        }
        _ => None,
    };
    let refs = records.iter().zip(&headers).map(|(r, h)| RecordRef {
        partition: Some(partition),
        key: r.key.as_deref(),
        value: r.value.as_deref(),
        headers: h,
        timestamp: Some(r.timestamp),
    });
    match producer.send_batch_ref(topic, refs) {
        Ok(positions) => {
            let base = positions.first().map_or(-1, |p| p.offset);
            if let (Some((g, first, last)), Some((pid, epoch, ..))) = (held.as_mut(), idempotent) {
                g.appended(*first, *last, base);
                state.producers.appended(
                    pid,
                    epoch,
                    topic,
                    partition,
                    *first,
                    *last,
                    base,
                    acks == -1,
                );
            }
            PartitionProduceResponse::default()
                .with_index(partition)
                .with_base_offset(base)
                .with_log_append_time_ms(-1)
        }
        Err(e) => failed(partition, broker_error_code(&e), Some(e.to_string())),
    }
}
