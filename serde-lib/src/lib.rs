//! strata-serde: Confluent wire format, serializers and the schema-validating Producer/Consumer.
