//! Fetch: reads each requested partition from its fetch offset through a short-lived consumer
//! of the bundled broker (manual assignment, no group), long-polling until `min_bytes` have
//! arrived or `max_wait_ms` has passed, then answers (with empty record sets after the wait).
//! Records are re-encoded as record batches v2 starting at the requested offset, so a fetch
//! from the middle of what the producer sent as one batch starts at that record.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use strata_broker::{AutoOffsetReset, ConsumerConfig, TopicPartition};

use crate::error::{broker_error_code, code};
use crate::server::{blocking, State};

/// The longest a fetch waits, whatever the client asks (Kafka clients ask for 0.1–0.5 s).
const MAX_WAIT_CAP: Duration = Duration::from_secs(30);

struct Wanted {
    topic: String,
    partition: i32,
    offset: i64,
    max_bytes: usize,
    /// Error found before reading, or the offsets of the partition.
    error: i16,
    log_start: i64,
    high_watermark: i64,
    records: Vec<Record>,
    bytes: usize,
}

pub(crate) async fn handle(state: &Arc<State>, req: FetchRequest) -> FetchResponse {
    let max_wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP);
    let min_bytes = req.min_bytes.max(0) as usize;
    let max_bytes = if req.max_bytes <= 0 {
        usize::MAX
    } else {
        req.max_bytes as usize
    };
    let mut wanted = Vec::new();
    for t in &req.topics {
        for p in &t.partitions {
            wanted.push(Wanted {
                topic: t.topic.0.to_string(),
                partition: p.partition,
                offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes.max(0) as usize,
                error: code::NONE,
                log_start: -1,
                high_watermark: -1,
                records: Vec::new(),
                bytes: 0,
            });
        }
    }
    if wanted.is_empty() {
        // Nothing to read (an empty fetch session): answer after the wait, as Kafka does.
        tokio::time::sleep(max_wait).await;
        return FetchResponse::default();
    }
    let st = state.clone();
    let wanted = match blocking(move || {
        read(&st, &mut wanted, max_wait, min_bytes, max_bytes);
        wanted
    })
    .await
    {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "Fetch failed");
            return FetchResponse::default().with_error_code(code::UNKNOWN_SERVER_ERROR);
        }
    };
    let mut topics: Vec<FetchableTopicResponse> = Vec::new();
    for w in wanted {
        let records = encode(&w.records);
        let part = PartitionData::default()
            .with_partition_index(w.partition)
            .with_error_code(w.error)
            .with_high_watermark(w.high_watermark)
            .with_last_stable_offset(w.high_watermark)
            .with_log_start_offset(w.log_start)
            .with_aborted_transactions(Some(Vec::new()))
            // Never null: librdkafka refuses a null record set.
            .with_records(Some(records));
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == w.topic => t.partitions.push(part),
            _ => topics.push(
                FetchableTopicResponse::default()
                    .with_topic(TopicName(StrBytes::from_string(w.topic)))
                    .with_partitions(vec![part]),
            ),
        }
    }
    FetchResponse::default().with_responses(topics)
}

/// Reads into `wanted` until `min_bytes` have arrived in all or `max_wait` has passed.
fn read(
    state: &State,
    wanted: &mut [Wanted],
    max_wait: Duration,
    min_bytes: usize,
    max_bytes: usize,
) {
    // min_bytes 0 asks for an answer at once, with whatever is there.
    let deadline = Instant::now()
        + if min_bytes == 0 {
            Duration::ZERO
        } else {
            max_wait
        };
    let mut readable: HashMap<TopicPartition, usize> = HashMap::new();
    for (i, w) in wanted.iter_mut().enumerate() {
        match state.broker.offsets(&w.topic, w.partition) {
            Ok((start, end)) => {
                w.log_start = start;
                w.high_watermark = end;
                if w.offset < start || w.offset > end {
                    w.error = code::OFFSET_OUT_OF_RANGE;
                } else {
                    readable.insert(TopicPartition::new(w.topic.clone(), w.partition), i);
                }
            }
            Err(e) => w.error = broker_error_code(&e),
        }
    }
    if readable.is_empty() {
        return;
    }
    let per_partition = wanted.iter().map(|w| w.max_bytes).max().unwrap_or(1 << 20);
    let consumer = match state.broker.consumer(ConsumerConfig {
        group_id: None,
        auto_offset_reset: AutoOffsetReset::None,
        enable_auto_commit: false,
        max_poll_records: 100_000,
        max_partition_fetch_bytes: per_partition.clamp(1, 64 << 20),
        ..ConsumerConfig::default()
    }) {
        Ok(c) => c,
        Err(e) => {
            let code = broker_error_code(&e);
            wanted.iter_mut().for_each(|w| w.error = code);
            return;
        }
    };
    let tps: Vec<TopicPartition> = readable.keys().cloned().collect();
    let assigned = consumer.assign(&tps).and_then(|()| {
        tps.iter()
            .try_for_each(|tp| consumer.seek(tp, wanted[readable[tp]].offset))
    });
    if let Err(e) = assigned {
        let code = broker_error_code(&e);
        wanted.iter_mut().for_each(|w| w.error = code);
        return;
    }
    let mut total = 0usize;
    loop {
        let timeout = deadline.saturating_duration_since(Instant::now());
        let polled = match consumer.poll_records(timeout) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "a Kafka fetch could not read the log");
                break;
            }
        };
        for r in polled.iter() {
            let tp = TopicPartition::new(r.topic, r.partition);
            let Some(&i) = readable.get(&tp) else {
                continue;
            };
            let w = &mut wanted[i];
            let size = r.key.map_or(0, <[u8]>::len)
                + r.value.map_or(0, <[u8]>::len)
                + r.headers()
                    .map(|(k, v)| k.len() + v.len() + 2)
                    .sum::<usize>()
                + 16;
            // As Kafka (KIP-74), the first record is returned even when it is over a limit.
            if (w.bytes > 0 && w.bytes + size > w.max_bytes)
                || (total > 0 && total + size > max_bytes)
            {
                // This partition is done: nothing after a skipped record may be sent.
                readable.remove(&tp);
                let _ = consumer.pause(std::slice::from_ref(&tp));
                continue;
            }
            w.bytes += size;
            total += size;
            let mut headers = IndexMap::new();
            for (k, v) in r.headers() {
                headers.insert(
                    StrBytes::from_string(k.to_owned()),
                    Some(Bytes::copy_from_slice(v)),
                );
            }
            let sequence = (r.offset - w.offset) as i32;
            w.records.push(Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: r.offset,
                // Encoded batches group records whose offset minus sequence agree: keep
                // them in one batch.
                sequence,
                timestamp: r.timestamp,
                key: r.key.map(Bytes::copy_from_slice),
                value: r.value.map(Bytes::copy_from_slice),
                headers,
            });
        }
        if total >= min_bytes
            || readable.is_empty()
            || total >= max_bytes
            || Instant::now() >= deadline
        {
            break;
        }
    }
    for w in wanted.iter_mut().filter(|w| w.error == code::NONE) {
        if let Ok((start, end)) = state.broker.offsets(&w.topic, w.partition) {
            w.log_start = start;
            w.high_watermark = end;
        }
    }
}

fn encode(records: &[Record]) -> Bytes {
    if records.is_empty() {
        return Bytes::new();
    }
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    match RecordBatchEncoder::encode(&mut buf, records, &options) {
        Ok(()) => buf.freeze(),
        Err(e) => {
            tracing::error!(error = %e, "could not encode fetched records");
            Bytes::new()
        }
    }
}
