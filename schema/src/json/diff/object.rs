//! Objects: Confluent's `ObjectSchemaDiff` with its content models. An object is *open* when
//! anything may appear besides its properties, *closed* when nothing may, and *partially
//! open* when extra properties must match `patternProperties`, an `additionalProperties`
//! schema or (2019-09+) an `unevaluatedProperties` schema.

use super::{Ctx, DifferenceType as T};
use crate::json::model::{Extra, Kind, NodeId, ObjectKind};

pub(super) fn compare(ctx: &mut Ctx<'_>, original: &ObjectKind, update: &ObjectKind) {
    compare_required(ctx, original, update);
    compare_properties(ctx, original, update);
    compare_dependencies(ctx, original, update);
    compare_extra(
        ctx,
        "additionalProperties",
        original.additional,
        update.additional,
        ADDITIONAL,
    );
    compare_unevaluated(
        ctx,
        "unevaluatedProperties",
        original.unevaluated,
        update.unevaluated,
        UNEVALUATED,
    );
    compare_attributes(ctx, original, update);
}

const ADDITIONAL: [T; 4] = [
    T::ADDITIONAL_PROPERTIES_ADDED,
    T::ADDITIONAL_PROPERTIES_REMOVED,
    T::ADDITIONAL_PROPERTIES_NARROWED,
    T::ADDITIONAL_PROPERTIES_EXTENDED,
];
const UNEVALUATED: [T; 4] = [
    T::UNEVALUATED_PROPERTIES_ADDED,
    T::UNEVALUATED_PROPERTIES_REMOVED,
    T::UNEVALUATED_PROPERTIES_NARROWED,
    T::UNEVALUATED_PROPERTIES_EXTENDED,
];

/// `additionalProperties`/`additionalItems`-style keywords: boolean changes, then a schema
/// appearing (narrowed) or disappearing (extended), else the schemas compared.
pub(super) fn compare_extra(
    ctx: &mut Ctx<'_>,
    keyword: &str,
    original: Extra,
    update: Extra,
    [added, removed, narrowed, extended]: [T; 4],
) {
    ctx.push(keyword);
    if original.permits() != update.permits() {
        ctx.add(if update.permits() { added } else { removed });
    } else {
        match (original.schema(), update.schema()) {
            (None, Some(_)) => ctx.add(narrowed),
            (Some(_), None) => ctx.add(extended),
            (o, u) => ctx.compare(o, u),
        }
    }
    ctx.pop();
}

fn compare_attributes(ctx: &mut Ctx<'_>, original: &ObjectKind, update: &ObjectKind) {
    use T::*;
    super::scalar_bound(
        ctx,
        "maxProperties",
        original.max_properties,
        update.max_properties,
        [
            MAX_PROPERTIES_ADDED,
            MAX_PROPERTIES_REMOVED,
            MAX_PROPERTIES_INCREASED,
            MAX_PROPERTIES_DECREASED,
        ],
    );
    super::scalar_bound(
        ctx,
        "minProperties",
        original.min_properties,
        update.min_properties,
        [
            MIN_PROPERTIES_ADDED,
            MIN_PROPERTIES_REMOVED,
            MIN_PROPERTIES_INCREASED,
            MIN_PROPERTIES_DECREASED,
        ],
    );
}

fn compare_dependencies(ctx: &mut Ctx<'_>, original: &ObjectKind, update: &ObjectKind) {
    let keyword = if original.property_dependencies.is_empty() {
        update.property_dependencies_keyword
    } else {
        original.property_dependencies_keyword
    };
    ctx.push(keyword);
    for key in union_keys(
        original.property_dependencies.keys(),
        update.property_dependencies.keys(),
    ) {
        let (o, u) = (
            original.property_dependencies.get(key),
            update.property_dependencies.get(key),
        );
        let kind = match (o, u) {
            (_, None) => Some(T::DEPENDENCY_ARRAY_REMOVED),
            (None, Some(_)) => Some(T::DEPENDENCY_ARRAY_ADDED),
            (Some(o), Some(u)) => {
                let has_all = |a: &Vec<String>, b: &Vec<String>| b.iter().all(|x| a.contains(x));
                if has_all(o, u) && has_all(u, o) {
                    None
                } else if has_all(u, o) {
                    Some(T::DEPENDENCY_ARRAY_EXTENDED)
                } else if has_all(o, u) {
                    Some(T::DEPENDENCY_ARRAY_NARROWED)
                } else {
                    Some(T::DEPENDENCY_ARRAY_CHANGED)
                }
            }
        };
        if let Some(kind) = kind {
            ctx.add_at(key, kind);
        }
    }
    ctx.pop();

    let keyword = if original.schema_dependencies.is_empty() {
        update.schema_dependencies_keyword
    } else {
        original.schema_dependencies_keyword
    };
    ctx.push(keyword);
    for key in union_keys(
        original.schema_dependencies.keys(),
        update.schema_dependencies.keys(),
    ) {
        match (
            original.schema_dependencies.get(key),
            update.schema_dependencies.get(key),
        ) {
            (_, None) => ctx.add_at(key, T::DEPENDENCY_SCHEMA_REMOVED),
            (None, Some(_)) => ctx.add_at(key, T::DEPENDENCY_SCHEMA_ADDED),
            (Some(&o), Some(&u)) => {
                ctx.push(key.as_str());
                ctx.compare(Some(o), Some(u));
                ctx.pop();
            }
        }
    }
    ctx.pop();
}

fn union_keys<'k>(
    a: impl Iterator<Item = &'k String>,
    b: impl Iterator<Item = &'k String>,
) -> Vec<&'k String> {
    // In order, distinct, with a set: linear in the number of keys.
    let mut seen: std::collections::HashSet<&String> = std::collections::HashSet::new();
    a.chain(b).filter(|k| seen.insert(k)).collect()
}

/// What an `unevaluatedItems`/`unevaluatedProperties` keyword says, as Confluent's diff reads
/// the translated schema: absent, `false`, `true` or `{}` (everit's `EmptySchema`), or a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unevaluated {
    Absent,
    False,
    Empty,
    Schema(NodeId),
}

impl Unevaluated {
    /// `extra` of the original (`side_a`) or the update model.
    pub(super) fn of(ctx: &Ctx<'_>, extra: Extra, side_a: bool) -> Self {
        match extra {
            Extra::Allowed => Unevaluated::Absent,
            Extra::Denied => Unevaluated::False,
            Extra::Schema(id) => {
                let kind = if side_a {
                    ctx.node_a(id)
                } else {
                    ctx.node_b(id)
                };
                match kind {
                    Kind::False => Unevaluated::False,
                    k if k.is_empty_like() => Unevaluated::Empty,
                    _ => Unevaluated::Schema(id),
                }
            }
        }
    }

    /// Whether it leaves the content model open (absent, `true` or `{}`).
    pub(super) fn open(self) -> bool {
        matches!(self, Unevaluated::Absent | Unevaluated::Empty)
    }

    /// The schema extra members must match, when it constrains them.
    pub(super) fn schema(self) -> Option<NodeId> {
        match self {
            Unevaluated::Schema(id) => Some(id),
            _ => None,
        }
    }
}

/// Confluent's `compareUnevaluatedItems` (and its properties counterpart): unlike
/// `additionalItems`, a `true` or `{}` that appears narrows and one that goes extends.
pub(super) fn compare_unevaluated(
    ctx: &mut Ctx<'_>,
    keyword: &str,
    original: Extra,
    update: Extra,
    [added, removed, narrowed, extended]: [T; 4],
) {
    use Unevaluated::*;
    let (o, u) = (
        Unevaluated::of(ctx, original, true),
        Unevaluated::of(ctx, update, false),
    );
    if (o, u) == (Absent, Absent) {
        return;
    }
    ctx.push(keyword);
    match (o, u) {
        (Absent, False) => ctx.add(removed),
        (Absent, _) => ctx.add(narrowed),
        (False, Absent) => ctx.add(added),
        (_, Absent) => ctx.add(extended),
        (False, False) => {}
        (False, _) => ctx.add(added),
        (_, False) => ctx.add(removed),
        (Empty, Empty) => {}
        (Empty, _) => ctx.add(narrowed),
        (_, Empty) => ctx.add(extended),
        (Schema(o), Schema(u)) => ctx.compare(Some(o), Some(u)),
    }
    ctx.pop();
}

/// Confluent's `isOpenContentModel`, with `unevaluatedProperties` absent, `true` or `{}`.
fn is_open(ctx: &Ctx<'_>, object: &ObjectKind, side_a: bool) -> bool {
    object.pattern_properties.is_empty()
        && object.additional == Extra::Allowed
        && Unevaluated::of(ctx, object.unevaluated, side_a).open()
}

/// The schema a property not named by `object` must match, if `object` is partially open: a
/// matching `patternProperties` schema, the `additionalProperties` schema, or without
/// `additionalProperties` an `unevaluatedProperties` schema.
fn partial_schema(
    ctx: &Ctx<'_>,
    object: &ObjectKind,
    property: &str,
    side_a: bool,
) -> Option<NodeId> {
    for (pattern, id) in &object.pattern_properties {
        // Java's `Matcher.find`: the pattern may match anywhere in the name.
        if pattern.regex.as_ref().is_some_and(|r| r.is_match(property)) {
            return Some(*id);
        }
    }
    match object.additional {
        Extra::Schema(id) => Some(id),
        Extra::Allowed => Unevaluated::of(ctx, object.unevaluated, side_a).schema(),
        Extra::Denied => None,
    }
}

fn compare_properties(ctx: &mut Ctx<'_>, original: &ObjectKind, update: &ObjectKind) {
    ctx.push("properties");
    for key in union_keys(original.properties.keys(), update.properties.keys()) {
        ctx.push(key.as_str());
        match (
            original.properties.get(key).copied(),
            update.properties.get(key).copied(),
        ) {
            (Some(o), None) => property_removed(ctx, o, update, key),
            (None, Some(u)) => property_added(ctx, u, original, update, key),
            (o, u) => ctx.compare(o, u),
        }
        ctx.pop();
    }
    ctx.pop();
}

/// Only the update's content model matters: it must still accept the property.
fn property_removed(ctx: &mut Ctx<'_>, o: NodeId, update: &ObjectKind, key: &str) {
    if is_open(ctx, update, false) {
        return ctx.add(T::PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL);
    }
    if let Some(partial) = partial_schema(ctx, update, key, false) {
        let found = ctx.sub(|c| c.compare(Some(o), Some(partial)));
        let compatible = ctx.compatible(&found);
        ctx.extend(found);
        ctx.add(if compatible {
            T::PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        } else {
            T::PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        });
    } else if ctx.original_is_false(o) {
        ctx.add(T::PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL);
    } else {
        ctx.add(T::PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL);
    }
}

/// Only the original's content model matters: old data may already carry the property.
fn property_added(
    ctx: &mut Ctx<'_>,
    u: NodeId,
    original: &ObjectKind,
    update: &ObjectKind,
    key: &str,
) {
    let required = update.required.contains(key);
    if is_open(ctx, original, true) {
        // Confluent 8.x splits the 7.x PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL by requiredness.
        let kind = if ctx.update_is_empty(u) {
            T::PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
        } else if !required {
            T::OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
        } else if ctx.update_has_default(u) {
            T::REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL
        } else {
            T::REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL
        };
        return ctx.add(kind);
    }
    if let Some(partial) = partial_schema(ctx, original, key, true) {
        let found = ctx.sub(|c| c.compare(Some(partial), Some(u)));
        let compatible = ctx.compatible(&found);
        ctx.extend(found);
        ctx.add(if compatible {
            T::PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        } else {
            T::PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        });
    }
    // For both closed and partially open models.
    ctx.add(if !required {
        T::OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
    } else if ctx.update_has_default(u) {
        T::REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL
    } else {
        T::REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL
    });
}

fn compare_required(ctx: &mut Ctx<'_>, original: &ObjectKind, update: &ObjectKind) {
    ctx.push("required");
    for (key, &u) in &update.properties {
        if !original.properties.contains_key(key) {
            continue;
        }
        let was = original.required.contains(key);
        let is = update.required.contains(key);
        if was && !is {
            ctx.add_at(key, T::REQUIRED_ATTRIBUTE_REMOVED);
        } else if !was && is {
            let kind = if ctx.update_has_default(u) {
                T::REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
            } else {
                T::REQUIRED_ATTRIBUTE_ADDED
            };
            ctx.add_at(key, kind);
        }
    }
    ctx.pop();
}
