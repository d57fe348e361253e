//! Arrays: Confluent's `ArraySchemaDiff`. Tuple items (`items` as an array, or 2019-09/2020-12
//! `prefixItems`) follow the same open/closed/partially-open content models as properties,
//! with `additionalItems` (2019-09/2020-12: `items`) as the partial schema. Paths are everit's
//! (`#/items/N`, `#/additionalItems`) whatever the draft, as Confluent reports them.

use super::object::{compare_extra, compare_unevaluated, Unevaluated};
use super::{Ctx, DifferenceType as T};
use crate::json::model::{ArrayKind, Extra, NodeId};

pub(super) fn compare(ctx: &mut Ctx<'_>, original: &ArrayKind, update: &ArrayKind) {
    ctx.push("items");
    ctx.compare(original.all_items, update.all_items);
    ctx.pop();
    compare_item_schemas(ctx, original, update);
    compare_extra(
        ctx,
        "additionalItems",
        original.additional,
        update.additional,
        [
            T::ADDITIONAL_ITEMS_ADDED,
            T::ADDITIONAL_ITEMS_REMOVED,
            T::ADDITIONAL_ITEMS_NARROWED,
            T::ADDITIONAL_ITEMS_EXTENDED,
        ],
    );
    compare_unevaluated(
        ctx,
        "unevaluatedItems",
        original.unevaluated,
        update.unevaluated,
        [
            T::UNEVALUATED_ITEMS_ADDED,
            T::UNEVALUATED_ITEMS_REMOVED,
            T::UNEVALUATED_ITEMS_NARROWED,
            T::UNEVALUATED_ITEMS_EXTENDED,
        ],
    );
    use T::*;
    super::scalar_bound(
        ctx,
        "maxItems",
        original.max_items,
        update.max_items,
        [
            MAX_ITEMS_ADDED,
            MAX_ITEMS_REMOVED,
            MAX_ITEMS_INCREASED,
            MAX_ITEMS_DECREASED,
        ],
    );
    super::scalar_bound(
        ctx,
        "minItems",
        original.min_items,
        update.min_items,
        [
            MIN_ITEMS_ADDED,
            MIN_ITEMS_REMOVED,
            MIN_ITEMS_INCREASED,
            MIN_ITEMS_DECREASED,
        ],
    );
    if original.unique_items != update.unique_items {
        ctx.add_at(
            "uniqueItems",
            if original.unique_items {
                UNIQUE_ITEMS_REMOVED
            } else {
                UNIQUE_ITEMS_ADDED
            },
        );
    }
    super::scalar_bound(
        ctx,
        "maxContains",
        original.max_contains,
        update.max_contains,
        [
            MAX_CONTAINS_ADDED,
            MAX_CONTAINS_REMOVED,
            MAX_CONTAINS_INCREASED,
            MAX_CONTAINS_DECREASED,
        ],
    );
    super::scalar_bound(
        ctx,
        "minContains",
        original.min_contains,
        update.min_contains,
        [
            MIN_CONTAINS_ADDED,
            MIN_CONTAINS_REMOVED,
            MIN_CONTAINS_INCREASED,
            MIN_CONTAINS_DECREASED,
        ],
    );
}

/// Confluent's `isOpenContentModel`: no `additionalItems` (or `true`), and `unevaluatedItems`
/// absent, `true` or `{}`.
fn is_open(ctx: &Ctx<'_>, array: &ArrayKind, side_a: bool) -> bool {
    array.additional == Extra::Allowed && Unevaluated::of(ctx, array.unevaluated, side_a).open()
}

/// Confluent's `schemaFromPartiallyOpenContentModel`: the `additionalItems` schema, or without
/// `additionalItems` an `unevaluatedItems` schema.
fn partial_schema(ctx: &Ctx<'_>, array: &ArrayKind, side_a: bool) -> Option<NodeId> {
    match array.additional {
        Extra::Schema(id) => Some(id),
        Extra::Allowed => Unevaluated::of(ctx, array.unevaluated, side_a).schema(),
        Extra::Denied => None,
    }
}

fn compare_item_schemas(ctx: &mut Ctx<'_>, original: &ArrayKind, update: &ArrayKind) {
    let empty = Vec::new();
    let os = original.item_schemas.as_ref().unwrap_or(&empty);
    let us = update.item_schemas.as_ref().unwrap_or(&empty);
    for index in 0..os.len().max(us.len()) {
        ctx.push(format!("items/{index}"));
        match (os.get(index).copied(), us.get(index).copied()) {
            (Some(o), Some(u)) => ctx.compare(Some(o), Some(u)),
            (Some(o), None) => item_removed(ctx, o, update),
            (None, Some(u)) => item_added(ctx, u, original),
            (None, None) => {}
        }
        ctx.pop();
    }
}

fn item_removed(ctx: &mut Ctx<'_>, o: NodeId, update: &ArrayKind) {
    if is_open(ctx, update, false) {
        return ctx.add(T::ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL);
    }
    if let Some(partial) = partial_schema(ctx, update, false) {
        let found = ctx.sub(|c| c.compare(Some(o), Some(partial)));
        let compatible = ctx.compatible(&found);
        ctx.extend(found);
        ctx.add(if compatible {
            T::ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        } else {
            T::ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        });
    } else if ctx.original_is_false(o) {
        ctx.add(T::ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL);
    } else {
        ctx.add(T::ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL);
    }
}

fn item_added(ctx: &mut Ctx<'_>, u: NodeId, original: &ArrayKind) {
    if is_open(ctx, original, true) {
        return ctx.add(if ctx.update_is_empty(u) {
            T::ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL
        } else {
            T::ITEM_ADDED_TO_OPEN_CONTENT_MODEL
        });
    }
    if let Some(partial) = partial_schema(ctx, original, true) {
        let found = ctx.sub(|c| c.compare(Some(partial), Some(u)));
        let compatible = ctx.compatible(&found);
        ctx.extend(found);
        ctx.add(if compatible {
            T::ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        } else {
            T::ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL
        });
    } else {
        ctx.add(T::ITEM_ADDED_TO_CLOSED_CONTENT_MODEL);
    }
}
