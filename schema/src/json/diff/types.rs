//! Confluent's JSON Schema difference types (`Difference.Type`), which of them each policy
//! accepts (`SchemaDiff.COMPATIBLE_CHANGES_STRICT` / `_LENIENT`), and the message Confluent
//! renders for each (`Difference.toString`).

use std::fmt;

use crate::CompatibilityPolicy;

macro_rules! difference_types {
    ($($name:ident),* $(,)?) => {
        /// A kind of change between two JSON schemas, named as Confluent names it.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum DifferenceType {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name,
            )*
        }

        impl DifferenceType {
            /// Confluent's name, e.g. `TYPE_NARROWED`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(DifferenceType::$name => stringify!($name),)*
                }
            }
        }
    };
}

difference_types! {
    ID_CHANGED, DESCRIPTION_CHANGED, TITLE_CHANGED, DEFAULT_CHANGED,
    SCHEMA_ADDED, SCHEMA_REMOVED, TYPE_EXTENDED, TYPE_NARROWED, TYPE_CHANGED,

    MAX_LENGTH_ADDED, MAX_LENGTH_REMOVED, MAX_LENGTH_INCREASED, MAX_LENGTH_DECREASED,
    MIN_LENGTH_ADDED, MIN_LENGTH_REMOVED, MIN_LENGTH_INCREASED, MIN_LENGTH_DECREASED,
    PATTERN_ADDED, PATTERN_REMOVED, PATTERN_CHANGED,

    MAXIMUM_ADDED, MAXIMUM_REMOVED, MAXIMUM_INCREASED, MAXIMUM_DECREASED,
    MINIMUM_ADDED, MINIMUM_REMOVED, MINIMUM_INCREASED, MINIMUM_DECREASED,
    EXCLUSIVE_MAXIMUM_ADDED, EXCLUSIVE_MAXIMUM_REMOVED, EXCLUSIVE_MAXIMUM_INCREASED,
    EXCLUSIVE_MAXIMUM_DECREASED, EXCLUSIVE_MINIMUM_ADDED, EXCLUSIVE_MINIMUM_REMOVED,
    EXCLUSIVE_MINIMUM_INCREASED, EXCLUSIVE_MINIMUM_DECREASED,
    MULTIPLE_OF_ADDED, MULTIPLE_OF_REMOVED, MULTIPLE_OF_EXPANDED, MULTIPLE_OF_REDUCED,
    MULTIPLE_OF_CHANGED,

    REQUIRED_ATTRIBUTE_ADDED, REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED, REQUIRED_ATTRIBUTE_REMOVED,
    MAX_PROPERTIES_ADDED, MAX_PROPERTIES_REMOVED, MAX_PROPERTIES_INCREASED,
    MAX_PROPERTIES_DECREASED, MIN_PROPERTIES_ADDED, MIN_PROPERTIES_REMOVED,
    MIN_PROPERTIES_INCREASED, MIN_PROPERTIES_DECREASED,
    ADDITIONAL_PROPERTIES_ADDED, ADDITIONAL_PROPERTIES_REMOVED,
    ADDITIONAL_PROPERTIES_EXTENDED, ADDITIONAL_PROPERTIES_NARROWED,
    UNEVALUATED_PROPERTIES_ADDED, UNEVALUATED_PROPERTIES_REMOVED,
    UNEVALUATED_PROPERTIES_EXTENDED, UNEVALUATED_PROPERTIES_NARROWED,
    DEPENDENCY_ARRAY_ADDED, DEPENDENCY_ARRAY_REMOVED, DEPENDENCY_ARRAY_EXTENDED,
    DEPENDENCY_ARRAY_NARROWED, DEPENDENCY_ARRAY_CHANGED,
    DEPENDENCY_SCHEMA_ADDED, DEPENDENCY_SCHEMA_REMOVED,
    PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
    OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL,
    OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
    PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
    PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    RESERVED_PROPERTY_REMOVED, RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY,

    MAX_ITEMS_ADDED, MAX_ITEMS_REMOVED, MAX_ITEMS_INCREASED, MAX_ITEMS_DECREASED,
    MIN_ITEMS_ADDED, MIN_ITEMS_REMOVED, MIN_ITEMS_INCREASED, MIN_ITEMS_DECREASED,
    UNIQUE_ITEMS_ADDED, UNIQUE_ITEMS_REMOVED,
    MAX_CONTAINS_ADDED, MAX_CONTAINS_REMOVED, MAX_CONTAINS_INCREASED, MAX_CONTAINS_DECREASED,
    MIN_CONTAINS_ADDED, MIN_CONTAINS_REMOVED, MIN_CONTAINS_INCREASED, MIN_CONTAINS_DECREASED,
    ADDITIONAL_ITEMS_ADDED, ADDITIONAL_ITEMS_REMOVED, ADDITIONAL_ITEMS_EXTENDED,
    ADDITIONAL_ITEMS_NARROWED,
    UNEVALUATED_ITEMS_ADDED, UNEVALUATED_ITEMS_REMOVED, UNEVALUATED_ITEMS_EXTENDED,
    UNEVALUATED_ITEMS_NARROWED,
    ITEM_ADDED_TO_OPEN_CONTENT_MODEL, ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    ITEM_ADDED_TO_CLOSED_CONTENT_MODEL, ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL,
    ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,

    ENUM_ARRAY_EXTENDED, ENUM_ARRAY_NARROWED, ENUM_ARRAY_CHANGED,

    COMBINED_TYPE_EXTENDED, COMBINED_TYPE_CHANGED,
    PRODUCT_TYPE_EXTENDED, PRODUCT_TYPE_NARROWED, SUM_TYPE_EXTENDED, SUM_TYPE_NARROWED,
    COMBINED_TYPE_SUBSCHEMAS_CHANGED,
    NOT_TYPE_EXTENDED, NOT_TYPE_NARROWED,
}

use DifferenceType::*;

/// Confluent's `COMPATIBLE_CHANGES_STRICT`: the 57 types of Confluent 7.x plus the
/// `minContains`/`maxContains` and `unevaluated*` relaxations of the 2019-09+ keywords.
const STRICT: &[DifferenceType] = &[
    ID_CHANGED,
    DESCRIPTION_CHANGED,
    TITLE_CHANGED,
    DEFAULT_CHANGED,
    SCHEMA_REMOVED,
    TYPE_EXTENDED,
    MAX_LENGTH_INCREASED,
    MAX_LENGTH_REMOVED,
    MIN_LENGTH_DECREASED,
    MIN_LENGTH_REMOVED,
    PATTERN_REMOVED,
    MAXIMUM_INCREASED,
    MAXIMUM_REMOVED,
    MINIMUM_DECREASED,
    MINIMUM_REMOVED,
    EXCLUSIVE_MAXIMUM_INCREASED,
    EXCLUSIVE_MAXIMUM_REMOVED,
    EXCLUSIVE_MINIMUM_DECREASED,
    EXCLUSIVE_MINIMUM_REMOVED,
    MULTIPLE_OF_REDUCED,
    MULTIPLE_OF_REMOVED,
    REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED,
    REQUIRED_ATTRIBUTE_REMOVED,
    DEPENDENCY_ARRAY_NARROWED,
    DEPENDENCY_ARRAY_REMOVED,
    DEPENDENCY_SCHEMA_REMOVED,
    MAX_PROPERTIES_INCREASED,
    MAX_PROPERTIES_REMOVED,
    MIN_PROPERTIES_DECREASED,
    MIN_PROPERTIES_REMOVED,
    ADDITIONAL_PROPERTIES_ADDED,
    ADDITIONAL_PROPERTIES_EXTENDED,
    PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL,
    OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL,
    PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL,
    PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    MAX_ITEMS_INCREASED,
    MAX_ITEMS_REMOVED,
    MIN_ITEMS_DECREASED,
    MIN_ITEMS_REMOVED,
    UNIQUE_ITEMS_REMOVED,
    ADDITIONAL_ITEMS_ADDED,
    ADDITIONAL_ITEMS_EXTENDED,
    ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL,
    ITEM_ADDED_TO_CLOSED_CONTENT_MODEL,
    ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL,
    ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    ENUM_ARRAY_EXTENDED,
    COMBINED_TYPE_EXTENDED,
    PRODUCT_TYPE_NARROWED,
    SUM_TYPE_EXTENDED,
    NOT_TYPE_NARROWED,
    // 2019-09 / 2020-12 keywords.
    MAX_CONTAINS_INCREASED,
    MAX_CONTAINS_REMOVED,
    MIN_CONTAINS_DECREASED,
    MIN_CONTAINS_REMOVED,
    UNEVALUATED_PROPERTIES_ADDED,
    UNEVALUATED_PROPERTIES_EXTENDED,
    UNEVALUATED_ITEMS_ADDED,
    UNEVALUATED_ITEMS_EXTENDED,
];

/// The 10 types Confluent 8.2's `COMPATIBLE_CHANGES_LENIENT` adds to the strict set: changes
/// that are safe when producers only write the properties they declare.
const LENIENT_EXTRA: &[DifferenceType] = &[
    ADDITIONAL_PROPERTIES_NARROWED,
    ADDITIONAL_PROPERTIES_REMOVED,
    UNEVALUATED_PROPERTIES_NARROWED,
    UNEVALUATED_PROPERTIES_REMOVED,
    PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL,
    REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL,
    PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL,
    PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
    PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL,
];

impl DifferenceType {
    /// Whether `policy` accepts this change.
    pub fn is_compatible(self, policy: CompatibilityPolicy) -> bool {
        STRICT.contains(&self)
            || (policy == CompatibilityPolicy::Lenient && LENIENT_EXTRA.contains(&self))
    }

    /// Confluent's description with the two `%s` filled by `first` and `second`
    /// (Confluent renders them as `new` and `old`); empty for types without one.
    pub(crate) fn description(self, path: &str, first: &str, second: &str) -> String {
        match self {
            MAXIMUM_ADDED | MINIMUM_ADDED | EXCLUSIVE_MAXIMUM_ADDED | EXCLUSIVE_MINIMUM_ADDED
            | MULTIPLE_OF_ADDED | MAX_LENGTH_ADDED | MIN_LENGTH_ADDED | PATTERN_ADDED
            | REQUIRED_ATTRIBUTE_ADDED | MAX_PROPERTIES_ADDED | MIN_PROPERTIES_ADDED
            | DEPENDENCY_ARRAY_ADDED | DEPENDENCY_SCHEMA_ADDED | MAX_ITEMS_ADDED | MIN_ITEMS_ADDED
            | UNIQUE_ITEMS_ADDED | ADDITIONAL_ITEMS_REMOVED | ADDITIONAL_PROPERTIES_REMOVED
            | MAX_CONTAINS_ADDED | MIN_CONTAINS_ADDED | UNEVALUATED_ITEMS_REMOVED
            | UNEVALUATED_PROPERTIES_REMOVED => format!(
                "The keyword at path '{path}' in the {first} schema is not present in the {second} schema"
            ),
            MIN_LENGTH_INCREASED | MINIMUM_INCREASED | EXCLUSIVE_MINIMUM_INCREASED
            | MIN_PROPERTIES_INCREASED | MULTIPLE_OF_EXPANDED | MIN_ITEMS_INCREASED
            | MIN_CONTAINS_INCREASED => format!(
                "The value at path '{path}' in the {first} schema is more than its value in the {second} schema"
            ),
            MAX_LENGTH_DECREASED | MAXIMUM_DECREASED | MAX_ITEMS_DECREASED
            | EXCLUSIVE_MAXIMUM_DECREASED | MAX_PROPERTIES_DECREASED | MAX_CONTAINS_DECREASED => format!(
                "The value at path '{path}' in the {first} schema is less than its value in the {second} schema"
            ),
            PATTERN_CHANGED | MULTIPLE_OF_CHANGED | DEPENDENCY_ARRAY_CHANGED => format!(
                "The value at path '{path}' is different between the {first} and {second} schema"
            ),
            ADDITIONAL_ITEMS_NARROWED | ENUM_ARRAY_NARROWED | SUM_TYPE_NARROWED
            | ADDITIONAL_PROPERTIES_NARROWED | UNEVALUATED_ITEMS_NARROWED
            | UNEVALUATED_PROPERTIES_NARROWED => format!(
                "An array or combined type at path '{path}' has fewer elements in the {first} schema than the {second} schema"
            ),
            DEPENDENCY_ARRAY_EXTENDED | PRODUCT_TYPE_EXTENDED | SUM_TYPE_EXTENDED
            | NOT_TYPE_EXTENDED => format!(
                "An array or combined type at path '{path}' has more elements in the {first} schema than the {second} schema"
            ),
            TYPE_CHANGED | TYPE_NARROWED | COMBINED_TYPE_CHANGED | COMBINED_TYPE_SUBSCHEMAS_CHANGED
            | ENUM_ARRAY_CHANGED => format!(
                "A type at path '{path}' is different between the {first} schema and the {second} schema"
            ),
            ITEM_ADDED_TO_OPEN_CONTENT_MODEL | REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
            | REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL
            | OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL => format!(
                "The {first} schema has an open content model and has a property or item at path '{path}' which is missing in the {second} schema"
            ),
            REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL => format!(
                "The {first} schema has an unopen content model and has a required property at path '{path}' which is missing in the {second} schema"
            ),
            // Sic: Confluent writes "The %s has a closed content model" without "schema".
            PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL | ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL => format!(
                "The {first} has a closed content model and is missing a property or item present at path '{path}' in the {second} schema"
            ),
            PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            | ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL => format!(
                "A property or item is missing in the {first} schema but present at path '{path}' in the {second} schema and is not covered by its partially open content model"
            ),
            PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
            | ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL => format!(
                "The {first} schema has a property or item at path '{path}' which is missing in the {second} schema and is not covered by its partially open content model"
            ),
            RESERVED_PROPERTY_REMOVED => format!(
                "The {first} schema has reserved property '{path}' removed from its metadata which is present in the {second} schema."
            ),
            RESERVED_PROPERTY_CONFLICTS_WITH_PROPERTY => format!(
                "The {first} schema has property at path '{path}' that conflicts with the reserved properties which is missing in the {second} schema."
            ),
            _ => String::new(),
        }
    }
}

impl fmt::Display for DifferenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_set_has_65_types_and_lenient_adds_10() {
        assert_eq!(STRICT.len(), 65);
        assert_eq!(LENIENT_EXTRA.len(), 10);
        assert!(LENIENT_EXTRA.iter().all(|t| !STRICT.contains(t)));
    }

    #[test]
    fn lenient_accepts_optional_property_added_to_open_model_and_strict_does_not() {
        let t = OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL;
        assert!(!t.is_compatible(CompatibilityPolicy::Strict));
        assert!(t.is_compatible(CompatibilityPolicy::Lenient));
    }
}
