//! BACKWARD_TRANSITIVE check of a 50-field Protobuf message against 100 stored versions.
fn main() {}
