//! Files every Protobuf schema may import without registering them: Google's well-known types
//! (`google/protobuf/*.proto`, shipped by protox) and Confluent's `confluent/meta.proto` and
//! `confluent/type/decimal.proto`.
//!
//! Confluent clients never register these (Confluent's `ProtobufSchema.KNOWN_DEPENDENCIES`
//! supplies them), so a schema importing them must parse with no reference at all. The two
//! Confluent files are written here from what they define; nothing is read from disk.

/// `confluent/meta.proto`: the `Meta` message and the `*_meta` custom options Confluent uses for
/// docs, params and tags (extension number 1088, as in Confluent's `MetaProto`).
pub(crate) const CONFLUENT_META: &str = r#"syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option java_package = "io.confluent.protobuf";
option java_outer_classname = "MetaProto";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}

extend google.protobuf.FileOptions {
  Meta file_meta = 1088;
}
extend google.protobuf.MessageOptions {
  Meta message_meta = 1088;
}
extend google.protobuf.FieldOptions {
  Meta field_meta = 1088;
}
extend google.protobuf.EnumOptions {
  Meta enum_meta = 1088;
}
extend google.protobuf.EnumValueOptions {
  Meta enum_value_meta = 1088;
}
"#;

/// `confluent/type/decimal.proto`: Confluent's arbitrary-precision decimal
/// (unscaled big-endian two's-complement `value`, `precision`, `scale`).
pub(crate) const CONFLUENT_DECIMAL: &str = r#"syntax = "proto3";
package confluent.type;

option java_package = "io.confluent.protobuf.type";
option java_outer_classname = "DecimalProto";

message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
"#;

/// Confluent's own built-in files, by import path.
pub(crate) fn confluent_file(name: &str) -> Option<&'static str> {
    match name {
        "confluent/meta.proto" => Some(CONFLUENT_META),
        "confluent/type/decimal.proto" => Some(CONFLUENT_DECIMAL),
        _ => None,
    }
}
