//! Reader/writer cases: each names the old (writer) and new (reader) schema and the exact
//! messages Confluent returns for `new.isBackwardCompatible(old)`.

use strata_schema::{CompatibilityPolicy, FormatSchema};

use crate::avro;

struct Case {
    description: &'static str,
    old: &'static str,
    new: &'static str,
    expected: &'static [&'static str],
}

fn type_mismatch(path: &str, reader: &str, writer: &str) -> String {
    format!(
        "{{errorType:'TYPE_MISMATCH', description:'The type (path '{path}') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: {reader} not compatible with writer type: {writer}'}}"
    )
}

const CASES: &[Case] = &[
    Case {
        description: "int is promoted to long",
        old: r#""int""#,
        new: r#""long""#,
        expected: &[],
    },
    Case {
        description: "int is promoted to float and double, long to float and double, float to double",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"},{"name":"c","type":"long"},{"name":"d","type":"long"},{"name":"e","type":"float"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"float"},{"name":"b","type":"double"},{"name":"c","type":"float"},{"name":"d","type":"double"},{"name":"e","type":"double"}]}"#,
        expected: &[],
    },
    Case {
        description: "string and bytes are interchangeable",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"string"},{"name":"b","type":"bytes"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"bytes"},{"name":"b","type":"string"}]}"#,
        expected: &[],
    },
    Case {
        description: "adding a field with a default is compatible",
        old: r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"},{"name":"f2","type":"string","default":"x"}]}"#,
        expected: &[],
    },
    Case {
        description: "removing a field is compatible",
        old: r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"},{"name":"f2","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"}]}"#,
        expected: &[],
    },
    Case {
        description: "adding a field without a default is READER_FIELD_MISSING_DEFAULT_VALUE",
        old: r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"f1","type":"int"},{"name":"f2","type":"string"}]}"#,
        expected: &["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'f2' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'f2'}"],
    },
    Case {
        description: "a pure namespace change is compatible (names compare unqualified)",
        old: r#"{"type":"record","name":"R","namespace":"a","fields":[]}"#,
        new: r#"{"type":"record","name":"R","namespace":"b","fields":[]}"#,
        expected: &[],
    },
    Case {
        description: "renaming a record is NAME_MISMATCH",
        old: r#"{"type":"record","name":"R","namespace":"a","fields":[]}"#,
        new: r#"{"type":"record","name":"S","namespace":"a","fields":[]}"#,
        expected: &["{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/name')', additionalInfo:'expected: a.R'}"],
    },
    Case {
        description: "a reader alias equal to the writer full name allows a rename",
        old: r#"{"type":"record","name":"R","namespace":"a","fields":[]}"#,
        new: r#"{"type":"record","name":"S","namespace":"b","aliases":["a.R"],"fields":[]}"#,
        expected: &[],
    },
    Case {
        description: "an unqualified alias resolves in the reader's namespace, so it does not match another namespace",
        old: r#"{"type":"record","name":"R","namespace":"a","fields":[]}"#,
        new: r#"{"type":"record","name":"S","namespace":"b","aliases":["R"],"fields":[]}"#,
        expected: &["{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/name')', additionalInfo:'expected: a.R'}"],
    },
    Case {
        description: "a field renamed with an alias to the old name is compatible",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"b","type":"int","aliases":["a"]}]}"#,
        expected: &[],
    },
    Case {
        description: "changing a field type is TYPE_MISMATCH at the field's type",
        old: r#"{"type":"record","name":"R","fields":[{"name":"f","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"f","type":"string"}]}"#,
        expected: &["{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: INT'}"],
    },
    Case {
        description: "removing an enum symbol is MISSING_ENUM_SYMBOLS",
        old: r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#,
        new: r#"{"type":"enum","name":"E","symbols":["A","B"]}"#,
        expected: &["{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols '[C]' at path '/symbols' in the old schema', additionalInfo:'[C]'}"],
    },
    Case {
        description: "missing enum symbols are listed sorted",
        old: r#"{"type":"enum","name":"E","symbols":["Z","A","M","B"]}"#,
        new: r#"{"type":"enum","name":"E","symbols":["A"]}"#,
        expected: &["{errorType:'MISSING_ENUM_SYMBOLS', description:'The new schema is missing enum symbols '[B, M, Z]' at path '/symbols' in the old schema', additionalInfo:'[B, M, Z]'}"],
    },
    Case {
        description: "a reader enum default covers removed symbols",
        old: r#"{"type":"enum","name":"E","symbols":["A","B","C"]}"#,
        new: r#"{"type":"enum","name":"E","symbols":["A","B"],"default":"A"}"#,
        expected: &[],
    },
    Case {
        description: "adding an enum symbol is compatible",
        old: r#"{"type":"enum","name":"E","symbols":["A"]}"#,
        new: r#"{"type":"enum","name":"E","symbols":["A","B"]}"#,
        expected: &[],
    },
    Case {
        description: "changing a fixed size is FIXED_SIZE_MISMATCH (expected is the writer size)",
        old: r#"{"type":"fixed","name":"F","size":16}"#,
        new: r#"{"type":"fixed","name":"F","size":8}"#,
        expected: &["{errorType:'FIXED_SIZE_MISMATCH', description:'The size of FIXED type field at path '/size' in the new schema does not match with the old schema', additionalInfo:'expected: 16, found: 8'}"],
    },
    Case {
        description: "renaming a fixed is NAME_MISMATCH",
        old: r#"{"type":"fixed","name":"F","size":4}"#,
        new: r#"{"type":"fixed","name":"G","size":4}"#,
        expected: &["{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/name')', additionalInfo:'expected: F'}"],
    },
    Case {
        description: "adding a union branch is compatible",
        old: r#"["null","string"]"#,
        new: r#"["null","string","int"]"#,
        expected: &[],
    },
    Case {
        description: "removing a union branch is MISSING_UNION_BRANCH at the branch index",
        old: r#"["null","string","int"]"#,
        new: r#"["null","string"]"#,
        expected: &["{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a union field at path '/2' in the old schema', additionalInfo:'reader union lacking writer type: INT'}"],
    },
    Case {
        description: "a union reader accepts a writer matching one branch",
        old: r#""string""#,
        new: r#"["null","string"]"#,
        expected: &[],
    },
    Case {
        description: "a union reader with no matching branch is MISSING_UNION_BRANCH",
        old: r#"{"type":"record","name":"R","fields":[{"name":"f","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"f","type":["null","string"]}]}"#,
        expected: &["{errorType:'MISSING_UNION_BRANCH', description:'The new schema is missing a type inside a union field at path '/fields/0/type' in the old schema', additionalInfo:'reader union lacking writer type: INT'}"],
    },
    Case {
        description: "a writer union read by a non-union reader is checked branch by branch with a fresh location (Avro 1.11)",
        old: r#"{"type":"record","name":"R","fields":[{"name":"f","type":["null","string"]}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"f","type":"string"}]}"#,
        expected: &["{errorType:'TYPE_MISMATCH', description:'The type (path '/') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: NULL'}"],
    },
    Case {
        description: "array items are compared at /items",
        old: r#"{"type":"array","items":"int"}"#,
        new: r#"{"type":"array","items":"string"}"#,
        expected: &["{errorType:'TYPE_MISMATCH', description:'The type (path '/items') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: INT'}"],
    },
    Case {
        description: "map values are compared at /values and promotions apply",
        old: r#"{"type":"map","values":"int"}"#,
        new: r#"{"type":"map","values":"long"}"#,
        expected: &[],
    },
    Case {
        description: "a recursive type compatible with itself terminates",
        old: r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#,
        new: r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"long"},{"name":"next","type":["null","Node"]}]}"#,
        expected: &[],
    },
    Case {
        description: "a recursive type reports its own change once (the pair in progress counts as compatible)",
        old: r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"]}]}"#,
        new: r#"{"type":"record","name":"Node","fields":[{"name":"v","type":"string"},{"name":"next","type":["null","Node"]}]}"#,
        expected: &["{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: INT'}"],
    },
    Case {
        description: "a named type used twice reports its memoised difference twice, at the first location (Java quirk)",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"Foo","fields":[{"name":"x","type":"int"}]}},{"name":"b","type":"Foo"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"Foo","fields":[{"name":"x","type":"string"}]}},{"name":"b","type":"Foo"}]}"#,
        expected: &[
            "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: INT'}",
            "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: STRING not compatible with writer type: INT'}",
        ],
    },
    Case {
        description: "a new enum field without field default but with an enum default is compared to the writer record (Java quirk)",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"e","type":{"type":"enum","name":"E","symbols":["X","Y"],"default":"X"}}]}"#,
        expected: &["{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/1/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: ENUM not compatible with writer type: RECORD'}"],
    },
    Case {
        description: "several differences come in field order",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"boolean"},{"name":"b","type":"int"}]}"#,
        expected: &[
            "{errorType:'TYPE_MISMATCH', description:'The type (path '/fields/0/type') of a field in the new schema does not match with the old schema', additionalInfo:'reader type: BOOLEAN not compatible with writer type: INT'}",
            "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'b'}",
        ],
    },
    Case {
        description: "a nested record rename is reported at its name",
        old: r#"{"type":"record","name":"R","fields":[{"name":"n","type":{"type":"record","name":"In","fields":[]}}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"n","type":{"type":"record","name":"Out","fields":[]}}]}"#,
        expected: &["{errorType:'NAME_MISMATCH', description:'The name of the schema has changed (path '/fields/0/type/name')', additionalInfo:'expected: In'}"],
    },
    Case {
        description: "logical types are not compared",
        old: r#"{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}"#,
        new: r#"{"type":"bytes","logicalType":"decimal","precision":9,"scale":3}"#,
        expected: &[],
    },
    Case {
        description: "a reader field matching two writer fields (name and alias) is Confluent's unexpected exception",
        old: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#,
        new: r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","aliases":["b"]}]}"#,
        expected: &["Unexpected exception during compatibility check: Reader record field a type:INT pos:0 matches multiple fields in writer record schema {\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},{\"name\":\"b\",\"type\":\"int\"}]}"],
    },
];

#[test]
fn every_reader_writer_case_yields_confluents_messages() {
    for case in CASES {
        let old = avro(case.old);
        let new = avro(case.new);
        let got: Vec<String> = new
            .backward_differences(&old, CompatibilityPolicy::Strict)
            .into_iter()
            .map(|d| d.message)
            .collect();
        assert_eq!(got, case.expected, "{}", case.description);
    }
}

#[test]
fn narrowing_primitives_is_type_mismatch_at_the_root() {
    let pairs = [
        ("long", "int", "INT", "LONG"),
        ("double", "float", "FLOAT", "DOUBLE"),
        ("int", "boolean", "BOOLEAN", "INT"),
        ("null", "string", "STRING", "NULL"),
    ];
    for (old, new, reader, writer) in pairs {
        let got: Vec<String> = avro(&format!("\"{new}\""))
            .backward_differences(&avro(&format!("\"{old}\"")), CompatibilityPolicy::Strict)
            .into_iter()
            .map(|d| d.message)
            .collect();
        assert_eq!(
            got,
            vec![type_mismatch("/", reader, writer)],
            "{old} read as {new}"
        );
    }
}

#[test]
fn incompatibility_kind_and_path_are_exposed() {
    let old = avro(r#"{"type":"record","name":"R","fields":[{"name":"f","type":"int"}]}"#);
    let new = avro(r#"{"type":"record","name":"R","fields":[{"name":"f","type":"string"}]}"#);
    let d = new.backward_differences(&old, CompatibilityPolicy::Strict);
    assert_eq!(d[0].kind, "TYPE_MISMATCH");
    assert_eq!(d[0].path, "/fields/0/type");
}

#[test]
fn forward_roles_swap_new_and_old() {
    let old = avro(
        r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"int"}]}"#,
    );
    let new = avro(r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}"#);
    let d = old.differences_with_roles(&new, "old", "new");
    assert_eq!(
        d[0].message,
        "{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'b' at path '/fields/1' in the old schema has no default value and is missing in the new schema', additionalInfo:'b'}"
    );
}

#[test]
fn mutually_recursive_records_are_compared_without_looping() {
    let old = avro(
        r#"{"type":"record","name":"A","fields":[{"name":"v","type":"int"},{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]}]}}]}"#,
    );
    let new = avro(
        r#"{"type":"record","name":"A","fields":[{"name":"v","type":"long"},{"name":"b","type":{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]},{"name":"extra","type":"string","default":""}]}}]}"#,
    );
    assert!(new
        .backward_differences(&old, CompatibilityPolicy::Strict)
        .is_empty());
    let back: Vec<String> = old
        .backward_differences(&new, CompatibilityPolicy::Strict)
        .into_iter()
        .map(|d| d.message)
        .collect();
    assert_eq!(back, vec![type_mismatch("/fields/0/type", "INT", "LONG")]);
}
