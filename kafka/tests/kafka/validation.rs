//! The ProduceValidator hook: a refused batch answers INVALID_RECORD and writes nothing.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use strata_broker::TopicConfig;
use strata_kafka::{InvalidRecord, KafkaConfig, ProduceValidator, RecordToValidate};

use crate::support::TestBroker;

/// Refuses any batch holding a value that starts with `bad`; tombstones pass.
struct NoBadValues;

impl ProduceValidator for NoBadValues {
    fn validate(
        &self,
        topic: &str,
        partition: i32,
        _config: &TopicConfig,
        records: &[RecordToValidate<'_>],
    ) -> Result<(), InvalidRecord> {
        for r in records {
            if r.value.is_some_and(|v| v.starts_with(b"bad")) {
                return Err(InvalidRecord {
                    index: r.index,
                    message: format!("record {} of {topic}-{partition} is bad", r.index),
                });
            }
        }
        Ok(())
    }
}

#[test]
fn a_batch_refused_by_the_validator_answers_invalid_record_and_writes_nothing() {
    let tb = TestBroker::start_full(KafkaConfig::default(), Some(Arc::new(NoBadValues)));
    tb.broker
        .create_topic("checked", 1, TopicConfig::default())
        .unwrap();
    let producer: BaseProducer = tb
        .client_config()
        .set("linger.ms", "0")
        .set("retries", "0")
        .create()
        .unwrap();

    producer
        .send(BaseRecord::to("checked").key("k").payload("good-1"))
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(tb.broker.offsets("checked", 0).unwrap(), (0, 1));

    // librdkafka reports INVALID_RECORD through the delivery report; flush returns once the
    // report is in, and the log is unchanged.
    let failing: BaseProducer<Reports> = tb
        .client_config()
        .set("linger.ms", "50")
        .set("retries", "0")
        .create_with_context(Reports::default())
        .unwrap();
    failing
        .send(BaseRecord::to("checked").key("k").payload("good-2"))
        .unwrap();
    failing
        .send(BaseRecord::to("checked").key("k").payload("bad-3"))
        .unwrap();
    failing.flush(Duration::from_secs(10)).unwrap();
    let errors = failing.context().0.lock().unwrap().clone();
    assert_eq!(
        errors.len(),
        2,
        "both records of the batch are refused: {errors:?}"
    );
    assert!(
        errors
            .iter()
            .all(|e| e.contains("InvalidRecord") || e.contains("validate record")),
        "INVALID_RECORD: {errors:?}"
    );
    assert_eq!(
        tb.broker.offsets("checked", 0).unwrap(),
        (0, 1),
        "nothing of the refused batch was written"
    );
}

/// Delivery errors as text.
#[derive(Default)]
struct Reports(std::sync::Mutex<Vec<String>>);

impl rdkafka::ClientContext for Reports {}

impl rdkafka::producer::ProducerContext for Reports {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &rdkafka::producer::DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.0.lock().unwrap().push(format!("{e:?} {e}"));
        }
    }
}
