//! Files every Protobuf schema may import without registering them: Google's well-known types
//! (`google/protobuf/*.proto`, shipped by protox), Google's common types (`google/type/*.proto`)
//! and Confluent's `confluent/meta.proto` and `confluent/type/decimal.proto`.
//!
//! Confluent clients never register these (Confluent's `ProtobufSchema.KNOWN_DEPENDENCIES`
//! supplies them), so a schema importing them must parse with no reference at all. The Confluent
//! and `google/type` files are written here from what they define (messages, enums, field
//! numbers; comments left out); nothing is read from disk.

/// `confluent/meta.proto`: the `Meta` message (doc, params, tags, rules) and the `*_meta` custom
/// options Confluent uses on files, messages, fields, enums and enum values (extension number
/// 1088, as in Confluent's `MetaProto` and confluent-kafka-python's `meta_pb2`).
pub(crate) const CONFLUENT_META: &str = r#"syntax = "proto3";
package confluent;

import "google/protobuf/descriptor.proto";

option java_package = "io.confluent.protobuf";
option java_outer_classname = "MetaProto";

message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
  repeated Rule rules = 4;
}

message Rule {
  string name = 1;
  string doc = 2;
  string expr = 3;
  string sql = 4;
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

/// The `google/type/*.proto` files Confluent knows (`ProtobufSchema.KNOWN_DEPENDENCIES`).
const GOOGLE_TYPES: &[(&str, &str)] = &[
    (
        "google/type/calendar_period.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"CalendarPeriodProto\";\nenum CalendarPeriod {\n  CALENDAR_PERIOD_UNSPECIFIED = 0;\n  DAY = 1;\n  WEEK = 2;\n  FORTNIGHT = 3;\n  MONTH = 4;\n  QUARTER = 5;\n  HALF = 6;\n  YEAR = 7;\n}\n",
    ),
    (
        "google/type/color.proto",
        "syntax = \"proto3\";\npackage google.type;\nimport \"google/protobuf/wrappers.proto\";\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"ColorProto\";\nmessage Color {\n  float red = 1;\n  float green = 2;\n  float blue = 3;\n  google.protobuf.FloatValue alpha = 4;\n}\n",
    ),
    (
        "google/type/date.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"DateProto\";\nmessage Date {\n  int32 year = 1;\n  int32 month = 2;\n  int32 day = 3;\n}\n",
    ),
    (
        "google/type/datetime.proto",
        "syntax = \"proto3\";\npackage google.type;\nimport \"google/protobuf/duration.proto\";\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"DateTimeProto\";\nmessage DateTime {\n  int32 year = 1;\n  int32 month = 2;\n  int32 day = 3;\n  int32 hours = 4;\n  int32 minutes = 5;\n  int32 seconds = 6;\n  int32 nanos = 7;\n  oneof time_offset {\n    google.protobuf.Duration utc_offset = 8;\n    TimeZone time_zone = 9;\n  }\n}\nmessage TimeZone {\n  string id = 1;\n  string version = 2;\n}\n",
    ),
    (
        "google/type/dayofweek.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"DayOfWeekProto\";\nenum DayOfWeek {\n  DAY_OF_WEEK_UNSPECIFIED = 0;\n  MONDAY = 1;\n  TUESDAY = 2;\n  WEDNESDAY = 3;\n  THURSDAY = 4;\n  FRIDAY = 5;\n  SATURDAY = 6;\n  SUNDAY = 7;\n}\n",
    ),
    (
        "google/type/decimal.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"DecimalProto\";\nmessage Decimal {\n  string value = 1;\n}\n",
    ),
    (
        "google/type/expr.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"ExprProto\";\nmessage Expr {\n  string expression = 1;\n  string title = 2;\n  string description = 3;\n  string location = 4;\n}\n",
    ),
    (
        "google/type/fraction.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"FractionProto\";\nmessage Fraction {\n  int64 numerator = 1;\n  int64 denominator = 2;\n}\n",
    ),
    (
        "google/type/interval.proto",
        "syntax = \"proto3\";\npackage google.type;\nimport \"google/protobuf/timestamp.proto\";\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"IntervalProto\";\nmessage Interval {\n  google.protobuf.Timestamp start_time = 1;\n  google.protobuf.Timestamp end_time = 2;\n}\n",
    ),
    (
        "google/type/latlng.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"LatLngProto\";\nmessage LatLng {\n  double latitude = 1;\n  double longitude = 2;\n}\n",
    ),
    (
        "google/type/money.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"MoneyProto\";\nmessage Money {\n  string currency_code = 1;\n  int64 units = 2;\n  int32 nanos = 3;\n}\n",
    ),
    (
        "google/type/month.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"MonthProto\";\nenum Month {\n  MONTH_UNSPECIFIED = 0;\n  JANUARY = 1;\n  FEBRUARY = 2;\n  MARCH = 3;\n  APRIL = 4;\n  MAY = 5;\n  JUNE = 6;\n  JULY = 7;\n  AUGUST = 8;\n  SEPTEMBER = 9;\n  OCTOBER = 10;\n  NOVEMBER = 11;\n  DECEMBER = 12;\n}\n",
    ),
    (
        "google/type/phone_number.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"PhoneNumberProto\";\nmessage PhoneNumber {\n  message ShortCode {\n    string region_code = 1;\n    string number = 2;\n  }\n  oneof kind {\n    string e164_number = 1;\n    ShortCode short_code = 2;\n  }\n  string extension = 3;\n}\n",
    ),
    (
        "google/type/postal_address.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"PostalAddressProto\";\nmessage PostalAddress {\n  int32 revision = 1;\n  string region_code = 2;\n  string language_code = 3;\n  string postal_code = 4;\n  string sorting_code = 5;\n  string administrative_area = 6;\n  string locality = 7;\n  string sublocality = 8;\n  repeated string address_lines = 9;\n  repeated string recipients = 10;\n  string organization = 11;\n}\n",
    ),
    (
        "google/type/quaternion.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"QuaternionProto\";\nmessage Quaternion {\n  double x = 1;\n  double y = 2;\n  double z = 3;\n  double w = 4;\n}\n",
    ),
    (
        "google/type/timeofday.proto",
        "syntax = \"proto3\";\npackage google.type;\noption java_package = \"com.google.type\";\noption java_multiple_files = true;\noption java_outer_classname = \"TimeOfDayProto\";\nmessage TimeOfDay {\n  int32 hours = 1;\n  int32 minutes = 2;\n  int32 seconds = 3;\n  int32 nanos = 4;\n}\n",
    ),
];

/// The built-in files written here (Confluent's and `google/type`), by import path. Google's
/// `google/protobuf/*.proto` come from protox.
pub(crate) fn builtin_file(name: &str) -> Option<&'static str> {
    match name {
        "confluent/meta.proto" => Some(CONFLUENT_META),
        "confluent/type/decimal.proto" => Some(CONFLUENT_DECIMAL),
        _ => GOOGLE_TYPES
            .iter()
            .find(|(path, _)| *path == name)
            .map(|(_, text)| *text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FormatSchema, ParseOptions, ProtobufSchema};

    #[test]
    fn every_builtin_file_compiles() {
        let names = GOOGLE_TYPES
            .iter()
            .map(|(name, _)| *name)
            .chain(["confluent/meta.proto", "confluent/type/decimal.proto"]);
        for name in names {
            let text = format!("syntax = \"proto3\";\nimport \"{name}\";\nmessage M {{}}\n");
            let parsed = ProtobufSchema::parse(&text, &[], ParseOptions::default());
            assert!(parsed.is_ok(), "{name}: {parsed:?}");
        }
    }
}
