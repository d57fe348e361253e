//! The project's own Protobuf cases.
