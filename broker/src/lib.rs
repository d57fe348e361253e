//! strata-broker: the bundled log broker.
